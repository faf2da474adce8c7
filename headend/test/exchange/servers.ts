/**
 * Real file servers for the remote exchange tests, on 127.0.0.1 and free ports, each serving a
 * temporary folder: an FTP server (ftp-srv, in process) and Debian's OpenSSH sshd started as a
 * child process with its own configuration, host key and authorized key (internal-sftp); and a
 * server that never answers.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { FtpSrv } from 'ftp-srv';
import { freePort } from '../free-port.js';

export { freePort };

export interface TestFtp {
  port: number; root: string; username: string; password: string;
  /** FTPS: the server's self-signed certificate (PEM), to be trusted as a CA; null for plain FTP. */
  ca: string | null;
  /** Every login the server was asked for (user names), to show when none was attempted. */
  logins: string[];
  close(): Promise<void>;
}

/** bunyan's interface, silent (ftp-srv logs every command otherwise). */
const quiet: Record<string, unknown> = {};
for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) quiet[level] = () => undefined;
quiet.child = () => quiet;

/**
 * FTP with one user. A wrong login is refused with a message that repeats the password it was given
 * (the worst a server could do), so the tests show the head-end never passes a password on.
 */
export async function startFtp(opts: { tls?: boolean } = {}): Promise<TestFtp> {
  const root = await mkdtemp(join(tmpdir(), 'amr-ftp-'));
  const files = join(root, 'files');
  await mkdir(files);
  let tls: { key: string; cert: string } | null = null;
  if (opts.tls) {
    // A self-signed certificate for 127.0.0.1, made by OpenSSL: explicit FTPS (AUTH TLS) on the FTP port.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=amr test ftps',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(root, 'key.pem'), '-out', join(root, 'cert.pem')], { stdio: 'ignore' });
    tls = { key: await readFile(join(root, 'key.pem'), 'utf8'), cert: await readFile(join(root, 'cert.pem'), 'utf8') };
  }
  const port = await freePort();
  const username = 'amr-ftp';
  const password = `ftp-secret-${Math.random().toString(36).slice(2)}`;
  // Passive data ports: a random window; ftp-srv skips ports in it that are taken.
  const pasvMin = 40_000 + Math.floor(Math.random() * 200) * 100;
  const server = new FtpSrv({
    url: `ftp://127.0.0.1:${port}`, pasv_url: '127.0.0.1', pasv_min: pasvMin, pasv_max: pasvMin + 99, anonymous: false, log: quiet, greeting: 'amr test ftp',
    tls: tls ?? false,
  });
  const logins: string[] = [];
  server.on('login', ({ username: u, password: p }, resolve, reject) => {
    logins.push(u);
    if (u === username && p === password) resolve({ root: files });
    else reject(new Error(`login refused for ${u} with password ${p}`));
  });
  await server.listen();
  return {
    port, root: files, username, password, ca: tls?.cert ?? null, logins,
    async close() {
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export interface TestSshd {
  port: number;
  /** Served as is (no chroot): SFTP paths are absolute paths under this folder. */
  root: string;
  username: string;
  privateKey: string;
  /** The host key's fingerprint as OpenSSH's ssh-keygen prints it. */
  hostKeySha256: string;
  /** The fingerprint of some other host key, for the "wrong key pinned" case. */
  otherHostKeySha256: string;
  /** A private key the server does not authorize. */
  unknownPrivateKey: string;
  close(): Promise<void>;
}

const fingerprintOf = (pubFile: string) => /\b(SHA256:[A-Za-z0-9+/]{43})\b/.exec(execFileSync('ssh-keygen', ['-lf', pubFile], { encoding: 'utf8' }))![1];

/** Debian's sshd on a free port with key-only login for the user running the tests (root here). */
export async function startSshd(): Promise<TestSshd> {
  const dir = await mkdtemp(join(tmpdir(), 'amr-sshd-'));
  const root = join(dir, 'files');
  await mkdir(root);
  const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'amr-test', '-f', join(dir, file)]);
  keygen('host_ed25519');
  keygen('other_host_ed25519');
  keygen('client_ed25519');
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'client_ed25519.pub')));
  await chmod(join(dir, 'authorized_keys'), 0o600);
  // sshd's privilege separation directory; Debian's service unit creates it, a bare start must.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const username = userInfo().username;
  await writeFile(join(dir, 'sshd_config'), [
    `Port ${port}`, 'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_ed25519')}`, `PidFile ${join(dir, 'sshd.pid')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    // The temporary folder's modes are not sshd's business here; the real ones are.
    'StrictModes no', 'UsePAM no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
    // Tests run as root: key login only, as Debian's default for root.
    'PermitRootLogin prohibit-password', `AllowUsers ${username}`,
    'Subsystem sftp internal-sftp', 'ForceCommand internal-sftp', 'LogLevel INFO', '',
  ].join('\n'));
  // sshd re-executes itself, so it must be started by its absolute path.
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes(`Server listening on 127.0.0.1 port ${port}`)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`sshd exited (${code}): ${log}`)));
    child.once('error', reject);
  });
  return {
    port, root, username,
    privateKey: await readFile(join(dir, 'client_ed25519'), 'utf8'),
    hostKeySha256: fingerprintOf(join(dir, 'host_ed25519.pub')),
    otherHostKeySha256: fingerprintOf(join(dir, 'other_host_ed25519.pub')),
    unknownPrivateKey: await readFile(join(dir, 'other_host_ed25519'), 'utf8'),
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP server that accepts connections and never says a word: what a hung server looks like. */
export async function startSilent(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const srv = createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => undefined); });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    port: (srv.address() as { port: number }).port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => srv.close(resolve));
    },
  };
}
