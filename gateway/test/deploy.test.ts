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
  // Two staged installs copy the runtime node_modules: 40–55 s on a loaded 2-core machine (seconds on an idle disk), so the
  // test waits as long as the script is allowed to run (the suite's 30 s default cut it short).
  it('stages a working install (test-install.sh)', { timeout: 180_000 }, async () => {
    const r = await promisify(execFile)('bash', [join(repo, 'deploy/pi/test-install.sh')], { timeout: 170_000 }).catch((e: { stdout: string; stderr: string; code: number }) => e);
    expect('code' in r ? `${r.code} ${r.stderr}` : '', 'test-install.sh failed').toBe('');
    expect(r.stdout).toMatch(/test-install: ok/);
  });
});

describe('deploy/pi unit', () => {
  it('starts Node with flags this Node accepts, and the gateway runs under them', async () => {
    const unit = readFileSync(join(repo, 'deploy/pi/amr-gateway.service'), 'utf8');
    const flags = /^ExecStart=@NODE@\s+(.*?)\s*\S*amr-gateway\.js run/m.exec(unit)?.[1]?.split(/\s+/).filter(Boolean);
    expect(flags, 'ExecStart names Node flags before the script').toEqual(expect.arrayContaining(['--max-semi-space-size=1']));
    // An unknown or refused flag makes Node exit 9 before the script; `check --offline` of the shipped
    // sample config then runs the gateway's code (config, profiles, register maps) under those flags.
    // The sample names the site's serial devices, absent here: exit 1 naming them, nothing else.
    const r = await promisify(execFile)(process.execPath, [...flags!, join(repo, 'gateway/bin/amr-gateway.js'), 'check', '--offline', '--config', join(repo, 'gateway/config/gateway.sample.yaml')], { timeout: 60_000 })
      .then((ok) => ({ ...ok, code: 0 }), (e: { stdout: string; stderr: string; code: number }) => e);
    expect(r.code, r.stderr).toBeLessThanOrEqual(1);
    const keys = [...r.stderr.matchAll(/^\s+(\S+): /gm)].map((m) => m[1]);
    for (const k of keys) expect(k, r.stderr).toMatch(/\.port$|^mqtt\.passwordFile$|^mqtt\.tls\.(ca|cert|key)$|bufferDir$|rawLog\.dir$/);
  }, 90_000);
});
