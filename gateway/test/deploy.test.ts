// deploy/pi: the installer staged into a temporary root (DESTDIR) lays down a runnable gateway,
// a valid unit, the udev rule and logrotate config, and keeps a site-edited config on reinstall.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const repo = fileURLToPath(new URL('../../', import.meta.url));

describe('deploy/pi installer', () => {
  // Two staged installs copy the runtime node_modules: 40–55 s on a loaded 2-core machine, so the
  // test waits as long as the script is allowed to run (the suite's 30 s default cut it short).
  it('stages a working install (test-install.sh)', { timeout: 100_000 }, async () => {
    const r = await promisify(execFile)('bash', [join(repo, 'deploy/pi/test-install.sh')], { timeout: 90_000 }).catch((e: { stdout: string; stderr: string; code: number }) => e);
    expect('code' in r ? `${r.code} ${r.stderr}` : '', 'test-install.sh failed').toBe('');
    expect(r.stdout).toMatch(/test-install: ok/);
  });
});
