// A real small disk for disk-full tests: a tmpfs of a given size mounted on a fresh temporary
// directory (needs root; the tests skip with this reason otherwise), and a filler file that takes
// every free byte of it and can be removed to give the space back.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Tmpfs = { ok: true; path: string; unmount(): void } | { ok: false; why: string };

export function mountTmpfs(prefix: string, size = '256k'): Tmpfs {
  if (process.platform !== 'linux') return { ok: false, why: `tmpfs needs Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, why: 'mounting a tmpfs needs root (run the tests as root or in a container with CAP_SYS_ADMIN)' };
  const path = mkdtempSync(join(tmpdir(), `amr-${prefix}-`));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    rmSync(path, { recursive: true, force: true });
    const err = e as { stderr?: Buffer; message: string };
    return { ok: false, why: `mount -t tmpfs refused: ${err.stderr?.toString().trim() || err.message}` };
  }
  return {
    ok: true,
    path,
    unmount: () => {
      execFileSync('umount', [path]);
      rmdirSync(path);
    },
  };
}

/** Writes `file` until the disk says ENOSPC; returns the bytes it took. */
export function fillDisk(file: string): number {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(4096, 0x55);
  let total = 0;
  try {
    for (;;) {
      let n: number;
      try {
        n = writeSync(fd, chunk);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return total;
        throw e;
      }
      total += n;
      if (n < chunk.length) {
        // the last partial page: one more byte must fail
        try {
          writeSync(fd, chunk, 0, 1);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return total;
          throw e;
        }
        total += 1;
      }
    }
  } finally {
    closeSync(fd);
  }
}
