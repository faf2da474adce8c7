// deploy/pi: the installer staged into a temporary root (DESTDIR) lays down a runnable gateway,
// a valid unit, the udev rule and logrotate config, and keeps a site-edited config on reinstall.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const repo = fileURLToPath(new URL('../../', import.meta.url));

describe('deploy/pi installer', () => {
  it('stages a working install (test-install.sh)', async () => {
    const r = await promisify(execFile)('bash', [join(repo, 'deploy/pi/test-install.sh')], { timeout: 170_000 }).catch((e: { stdout: string; stderr: string; code: number }) => e);
    expect('code' in r ? `${r.code} ${r.stderr}` : '', 'test-install.sh failed').toBe('');
    expect(r.stdout).toMatch(/test-install: ok/);
    // Copies the built packages: seconds on an idle disk, half a minute on a busy shared one.
  }, 180_000);
});

describe('deploy/pi unit', () => {
  it('starts Node with flags this Node accepts, and the gateway runs under them', async () => {
    const unit = readFileSync(join(repo, 'deploy/pi/amr-gateway.service'), 'utf8');
    const flags = /^ExecStart=@NODE@\s+(.*?)\s*\S*amr-gateway\.js run/m.exec(unit)?.[1]?.split(/\s+/).filter(Boolean);
    expect(flags, 'ExecStart names Node flags before the script').toEqual(expect.arrayContaining(['--max-semi-space-size=1']));
    // An unknown or refused flag makes Node exit 9 before the script; `check` of the shipped sample
    // config then runs the gateway's code (config, profiles, register maps) under those flags.
    const r = await promisify(execFile)(process.execPath, [...flags!, join(repo, 'gateway/bin/amr-gateway.js'), 'check', '--config', join(repo, 'gateway/config/gateway.sample.yaml')], { timeout: 60_000 })
      .catch((e: { stdout: string; stderr: string; code: number }) => e);
    expect('code' in r ? `${r.code} ${r.stderr}` : '').toBe('');
  }, 90_000);
});
