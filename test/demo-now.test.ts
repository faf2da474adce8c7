// `npm run demo` ends its simulated period at now (here a fixed --now, never today's date), so that the
// dashboard it leaves behind is alive: readings stored up to that instant, every meter seen within one
// poll step of it, the gateway online, and the head-end's silence check — judging by the head-end's
// clock, which runs on from now — finds no silent meter or gateway. Short (3 days: daily polls, then
// every 3 h in the last day), with 1 L pulses so the run's imbalance is still checked against the truth.
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_ENGINE } from '../headend/test/engine.js';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { root, runDemo } from './demo-run.js';

interface Dashboard {
  checkedAt: string;
  lastReadingAt: string | null;
  metersLastSeen: { oldest: string | null; newest: string | null; never: number };
  gateways: Array<{ id: string; online: boolean }>;
  silenceCheck: { raised: string[] };
  openAlerts: Array<{ kind: string; subject: string }>;
}
interface DemoJson { now: string; polls: number; failedPolls: number; allWithinTolerance: boolean; period: { from: string; to: string; kind: string }; flagged: unknown[]; dashboard: Dashboard }

const NOW = '2026-03-10T12:00:00Z';
const STEP_MS = 3 * 3_600_000;

// `npm run demo` runs on the embedded engine by design (scripts/demo.mjs unsets DATABASE_URL): the
// server project would run the very same embedded demo again.
describe.skipIf(TEST_ENGINE === 'server')('npm run demo ends at now', () => {
  beforeAll(() => {
    execFileSync(join(root, 'node_modules/.bin/tsc'), ['-b'], { cwd: root, stdio: 'inherit' });
  }, 120_000);

  it(`with --now ${NOW}: the last readings are at that instant and nothing is silent afterwards`, async () => {
    const run = await runDemo(['--json', '--now', NOW, '--days', '3', '--pulse-weight', '1', '--no-jobs'], { killAfterMs: 240_000 });
    expect(run.code, run.diagnosis).toBe(0);
    const res = run.json as DemoJson;
    const now = Date.parse(NOW);

    expect(res.now).toBe(new Date(now).toISOString());
    expect(res.period).toEqual({ kind: 'run', from: '2026-03-07T12:00:00.000Z', to: '2026-03-10T12:00:00.000Z' });
    // 7 Mar 12:00, 8 and 9 Mar 00:00, then 9 Mar 12:00 … 10 Mar 12:00 every 3 h.
    expect(res.polls).toBe(12);
    expect(res.allWithinTolerance).toBe(true);
    // Daily readings followed by 3-hourly ones are no gap or spike to the validator.
    expect(res.flagged).toEqual([]);

    const d = res.dashboard;
    expect(d.lastReadingAt).toBe(new Date(now).toISOString());
    expect(d.metersLastSeen.never).toBe(0);
    expect(Date.parse(d.metersLastSeen.oldest!), `oldest last_seen ${d.metersLastSeen.oldest}`).toBeGreaterThanOrEqual(now - STEP_MS);
    expect(Date.parse(d.metersLastSeen.newest!)).toBe(now);
    // The head-end's clock ran on from now while the demo computed its tables: judged after now, not before.
    expect(Date.parse(d.checkedAt)).toBeGreaterThan(now);
    expect(Date.parse(d.checkedAt)).toBeLessThan(now + 10 * 60_000);
    expect(d.gateways).toEqual([expect.objectContaining({ id: 'demo-gw-1', online: true })]);
    expect(d.silenceCheck.raised).toEqual([]);
    expect(d.openAlerts.filter((a) => a.kind === 'meter_silent' || a.kind === 'gateway_silent')).toEqual([]);
  }, 270_000);
});
