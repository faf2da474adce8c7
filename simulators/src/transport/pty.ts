// A linked pseudo-terminal pair made by socat — the way a USB–RS-485 or USB–M-Bus adapter shows
// up to a master (/dev/pts/N). The simulator opens one end through `serialport`, the client gets the
// other path. socat prints the two pty names on stderr with -d -d; we parse them from there.
import { spawn, type ChildProcess } from 'node:child_process';
import { readlink } from 'node:fs/promises';

export interface PtyPair {
  /** End the simulator opens. */
  devicePath: string;
  /** End handed to the master (gateway, mbpoll, libmbus). */
  clientPath: string;
  close(): Promise<void>;
}

/**
 * `link`: a fixed path (symlink made by socat, removed when it ends) for the client end, as udev's
 * /dev/serial/by-id names are: the same path again after the pair is made anew (a device unplugged
 * and plugged back), whatever /dev/pts/N the kernel hands out.
 */
export async function createPtyPair(opts: { timeoutMs?: number; link?: string } = {}): Promise<PtyPair> {
  const client = opts.link ? `pty,raw,echo=0,link=${opts.link}` : 'pty,raw,echo=0';
  const child: ChildProcess = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', client], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const paths = await new Promise<string[]>((resolve, reject) => {
    let err = '';
    const found: string[] = [];
    const timer = setTimeout(() => fail(new Error(`socat did not report two ptys within ${opts.timeoutMs ?? 5000} ms: ${err}`)), opts.timeoutMs ?? 5000);
    const fail = (e: Error) => { clearTimeout(timer); child.kill('SIGTERM'); reject(e); };
    child.once('error', (e) => fail(new Error(`cannot start socat (apt-get install socat): ${e.message}`)));
    child.once('exit', (code) => fail(new Error(`socat exited (${code}) before opening ptys: ${err}`)));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      err += s;
      for (const m of s.matchAll(/PTY is (\/dev\/pts\/\d+)/g)) found.push(m[1]);
      if (found.length >= 2) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(found.slice(0, 2));
      }
    });
  });
  // socat reports the second pty before its link is in place, and a pair ended just before (an unplug)
  // may still be removing the same link as it exits: hand the path out only once it names this pty.
  if (opts.link) await linkReady(opts.link, paths[1], opts.timeoutMs ?? 5000, () => child.kill('SIGTERM'));
  let closed = false;
  return {
    devicePath: paths[0],
    clientPath: opts.link ?? paths[1],
    close: () =>
      new Promise<void>((resolve) => {
        if (closed || child.exitCode !== null || child.signalCode !== null) return resolve();
        closed = true;
        // 'exit' is not always delivered inside vitest's forked workers; poll the exit state as well.
        const poll = setInterval(() => {
          if (child.exitCode !== null || child.signalCode !== null) done();
        }, 20);
        const done = () => { clearInterval(poll); resolve(); };
        child.once('exit', done);
        child.kill('SIGTERM');
        setTimeout(() => { child.kill('SIGKILL'); done(); }, 2000).unref();
      }),
  };
}

/** Waits until `link` is a symlink to `target`; fails naming both after `timeoutMs` (then `onFail`). */
async function linkReady(link: string, target: string, timeoutMs: number, onFail: () => void): Promise<void> {
  const until = Date.now() + timeoutMs;
  let seen = 'missing';
  for (;;) {
    try {
      seen = await readlink(link);
      if (seen === target) return;
    } catch {
      seen = 'missing';
    }
    if (Date.now() > until) {
      onFail();
      throw new Error(`socat's link ${link} does not point to ${target} after ${timeoutMs} ms (it is ${seen}); another process may own that path`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
