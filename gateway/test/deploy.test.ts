// deploy/pi: the installer staged into a temporary root (DESTDIR) lays down a runnable gateway,
// a valid unit that logs to the journal, the udev rule, and keeps a site-edited config on reinstall.
// The unit's sandbox: every hardening directive checked statically, and `systemd-analyze security`
// scoring it (offline) where the tool exists.
import { describe, expect, it } from 'vitest';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** The unit's [Service] directives: name → values in order (a directive may repeat). */
function serviceDirectives(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) { section = s[1]; continue; }
    const eq = line.indexOf('=');
    if (section !== 'Service' || eq < 0) continue;
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

const unitPath = join(repo, 'deploy/pi/amr-gateway.service');

describe('deploy/pi unit sandbox', () => {
  const d = serviceDirectives(readFileSync(unitPath, 'utf8'));
  const one = (k: string) => d.get(k)?.at(-1);

  it('logs to the journal, not to a file', () => {
    expect(one('StandardOutput')).toBe('journal');
    expect(one('StandardError')).toBe('journal');
    expect(existsSync(join(repo, 'deploy/pi/amr-gateway.logrotate'))).toBe(false);
  });

  it('runs as its own user with serial access only, nothing else writable or reachable', () => {
    expect(one('User')).toBe('amr-gateway');
    expect(one('SupplementaryGroups')).toBe('dialout');
    expect(one('ProtectSystem')).toBe('strict');
    // The outbox (bufferDir of the sample config) and the folder set_config rewrites.
    expect(one('ReadWritePaths')?.split(/\s+/)).toEqual(expect.arrayContaining(['/var/lib/amr-gateway', '/etc/amr-gateway']));
    expect(one('StateDirectory')).toBe('amr-gateway');
    for (const [k, v] of Object.entries({ PrivateTmp: 'true', ProtectHome: 'true', NoNewPrivileges: 'true', DevicePolicy: 'closed', CapabilityBoundingSet: '', AmbientCapabilities: '', SystemCallArchitectures: 'native', RestrictNamespaces: 'true', RestrictSUIDSGID: 'true', LockPersonality: 'true', ProtectKernelModules: 'true', ProtectKernelTunables: 'true', ProtectControlGroups: 'true', ProtectClock: 'true', SystemCallErrorNumber: 'EPERM' })) {
      expect(one(k), k).toBe(v);
    }
    expect(one('RestrictAddressFamilies')?.split(/\s+/).sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_UNIX']);
    expect(d.get('SystemCallFilter')?.[0]).toBe('@system-service');
    expect(d.get('DeviceAllow')).toEqual(expect.arrayContaining(['char-ttyUSB rw', 'char-ttyAMA rw', 'char-ttyS rw']));
    // Not set: V8's JIT needs writable code pages; a private /dev would hide the serial ports.
    expect(d.has('MemoryDenyWriteExecute')).toBe(false);
    expect(one('PrivateDevices')).toBeUndefined();
  });

  it('keeps the watchdog: notify service, the helper process may speak for it, pinged well within the limit', () => {
    expect(one('Type')).toBe('notify');
    expect(one('NotifyAccess')).toBe('all'); // systemd-notify runs as a child (gateway/src/cli/watchdog.ts)
    expect(Number(one('WatchdogSec'))).toBeGreaterThanOrEqual(10);
    expect(one('Restart')).toBe('always');
    // The helper reaches systemd over a UNIX socket and must be allowed to exec.
    expect(one('RestrictAddressFamilies')).toContain('AF_UNIX');
    expect(readFileSync(join(repo, 'gateway/src/cli/watchdog.ts'), 'utf8')).toContain("'systemd-notify'");
  });

  // `systemd-analyze security --offline=yes` needs systemd 250 or newer.
  const version = (() => {
    try {
      return Number(/systemd (\d+)/.exec(execFileSync('systemd-analyze', ['--version'], { encoding: 'utf8' }))?.[1] ?? 0);
    } catch {
      return 0;
    }
  })();
  const skipWhy = version === 0 ? ' (skipped: systemd-analyze is not installed)' : version < 250 ? ` (skipped: systemd ${version} has no --offline, needs 250+)` : '';
  it.skipIf(skipWhy !== '')(`scores 3.0 or less in systemd-analyze security${skipWhy}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'amr-unit-'));
    try {
      // As install.sh writes it: the node path filled in.
      const unit = join(dir, 'amr-gateway.service');
      writeFileSync(unit, readFileSync(unitPath, 'utf8').replaceAll('@NODE@', process.execPath));
      const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', unit], { encoding: 'utf8', timeout: 30_000 });
      const m = /Overall exposure level for amr-gateway\.service: (\d+\.\d)/.exec(r.stdout);
      expect(m, `no score in:\n${r.stdout}\n${r.stderr}`).not.toBeNull();
      expect(Number(m![1]), r.stdout.split('\n').filter((l) => l.startsWith('✗')).join('\n')).toBeLessThanOrEqual(3.0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
