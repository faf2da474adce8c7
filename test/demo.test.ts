// `npm run demo` end to end, as a child process: simulated building → gateway → MQTT → head-end →
// database → VEE imbalance, compared with the simulator's truth. Kept short (a few simulated days,
// coarse steps, 1 L pulse weight so pulse quantisation stays far below the tolerance), but it
// still compares computed and true imbalance for every resource, and checks nothing is left running.
import { describe, expect, it, beforeAll } from 'vitest';
import { TEST_ENGINE } from '../headend/test/engine.js';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Row { resource: string; odpu: number | null; sumIpu: number; imbalancePct: number | null; truthPct: number | null; diffPp: number | null; withinTolerance: boolean }
interface DemoJson { allWithinTolerance: boolean; tolerancePp: number; readings: number; failedPolls: number; period: { from: string; to: string; kind: string }; resources: Row[] }

function socatChildrenOf(pid: number): string {
  try {
    return execFileSync('pgrep', ['-P', String(pid), 'socat'], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

// `npm run demo` runs on the embedded engine by design (scripts/demo.mjs unsets DATABASE_URL): the
// server project would run the very same embedded demo again.
describe.skipIf(TEST_ENGINE === 'server')('npm run demo', () => {
  beforeAll(() => {
    // The demo runs the built packages: build them (incremental) so the test never runs a stale dist.
    execFileSync(join(root, 'node_modules/.bin/tsc'), ['-b'], { cwd: root, stdio: 'inherit' });
  }, 120_000);

  it('computes each resource\'s imbalance from stored readings within 0.5 pp of the truth and exits 0', async () => {
    const child = spawn(process.execPath, ['scripts/demo.mjs', '--json', '--now', '2026-01-04T00:00:00Z', '--days', '3', '--step', '12h', '--pulse-weight', '1', '--no-jobs'], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let socatSeen = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (!socatSeen) socatSeen = socatChildrenOf(child.pid!);
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code, `demo exited ${code}; stderr:\n${err.slice(-3000)}`).toBe(0);
    const res = JSON.parse(out.trim().split('\n').at(-1)!) as DemoJson;
    expect(res.period.kind).toBe('run');
    expect(res.tolerancePp).toBe(0.5);
    expect(res.failedPolls).toBe(0);
    expect(res.readings).toBeGreaterThan(0);
    expect(res.resources.map((r) => r.resource).sort()).toEqual(['cold_water', 'electricity', 'heat', 'hot_water']);
    for (const r of res.resources) {
      expect(r.odpu, r.resource).toBeGreaterThan(0);
      expect(r.sumIpu, r.resource).toBeGreaterThan(0);
      expect(r.truthPct, r.resource).toBeGreaterThan(0);
      expect(Math.abs(r.imbalancePct! - r.truthPct!), r.resource).toBeLessThanOrEqual(0.5);
      expect(r.withinTolerance, r.resource).toBe(true);
    }
    expect(res.allWithinTolerance).toBe(true);
    // The simulator's socat processes (children of the demo) are gone with it.
    expect(socatSeen, 'socat children were seen while the demo ran').not.toBe('');
    for (const pid of socatSeen.trim().split('\n')) expect(() => process.kill(Number(pid), 0), `socat ${pid} still running`).toThrow();
  }, 150_000);
});
