/**
 * Reading a password for the CLI without putting it on the command line (other users see argv in
 * the process list): from a file, from piped stdin (its first line), or from the terminal without
 * echo, asked twice.
 */
import { readFileSync } from 'node:fs';

/** First line, without the line end: `echo pw | amr-headend ...` and files written by editors end in a newline. */
const firstLine = (s: string) => s.split(/\r?\n/)[0];

function readStdin(): Promise<string> {
  return new Promise((res, rej) => {
    let buf = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (c: string) => { buf += c; });
    process.stdin.once('end', () => res(buf));
    process.stdin.once('error', rej);
  });
}

/** One line from the terminal in raw mode, echoing nothing. */
function askHidden(prompt: string): Promise<string> {
  return new Promise((res, rej) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    stdin.resume();
    let pw = '';
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) rej(err);
      else res(pw);
    };
    const onData = (s: string) => {
      for (const ch of s) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') pw = pw.slice(0, -1);
        else pw += ch;
      }
    };
    stdin.on('data', onData);
  });
}

export async function readPassword(o: { file?: string; prompt: string; confirm: string }): Promise<string> {
  if (o.file) {
    try {
      return firstLine(readFileSync(o.file, 'utf8'));
    } catch (e) {
      throw new Error(`cannot read --password-file ${o.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  if (!process.stdin.isTTY) return firstLine(await readStdin());
  const a = await askHidden(o.prompt);
  const b = await askHidden(o.confirm);
  if (a !== b) throw new Error('the two passwords differ; nothing was changed');
  return a;
}
