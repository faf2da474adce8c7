// End to end: a simulated building with a 12 % heat loss and a 3 % water leak (no common-area
// use, so the truth's imbalance is exactly the loss), polled by a gateway over real ptys into the
// head-end; the month's imbalance comes from the head-end's stored report (its imbalance service), and
// the head-end's validator flags the faults injected after that month: an apartment cold-water meter
// that stops moving and a building hot-water meter that runs backwards. Run through `npm run demo`
// (the same code a user runs) with Redis jobs on.
import { describe, expect, it, beforeAll } from 'vitest';
import { TEST_ENGINE } from '../headend/test/engine.js';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { root, runDemo } from './demo-run.js';

interface Row { resource: string; odpu: number | null; sumIpu: number; imbalancePct: number | null; truthPct: number | null; truthLossPct: number | null; diffPp: number | null; status: string; apartmentMeters: string }
interface Flag { meter: string; role: string; resource: string; worst: string; readings: number; since: string; codes: string[] }
interface Validator { precision: number | null; recall: number | null; falsePositives: unknown[]; misses: unknown[]; faults: Array<{ meter: string; expected: string; flaggedAt: string | null }> }
interface DemoJson { allWithinTolerance: boolean; source: string; failedPolls: number; period: { from: string; to: string; kind: string }; validated: number; flagged: Flag[]; validator: Validator; resources: Row[] }

// `npm run demo` runs on the embedded engine by design (scripts/demo.mjs unsets DATABASE_URL): the
// server project would run the very same embedded demo again.
describe.skipIf(TEST_ENGINE === 'server')('imbalance and validation end to end', () => {
  beforeAll(() => {
    execFileSync(join(root, 'node_modules/.bin/tsc'), ['-b'], { cwd: root, stdio: 'inherit' });
  }, 120_000);

  it('computes the month\'s imbalance within 0.5 pp of the configured loss and flags a stuck ИПУ and a reverse-flow ОДПУ', async () => {
    const args = [
      '--json', '--config', 'test/fixtures/building-loss.yaml', '--now', '2026-02-06T00:00:00Z', '--days', '36', '--step', '12h',
      // After the compared month (January), so they do not distort it.
      '--fault', 'apt-3-cold_water=stuck@31.5', '--fault', 'odpu-hot_water=reverseFlow@31.5',
    ];
    // A hung run fails with where it hung instead of holding the suite.
    const run = await runDemo(args, { killAfterMs: 480_000 });
    expect(run.code, run.diagnosis).toBe(0);
    const res = run.json as DemoJson;

    expect(res.period).toMatchObject({ kind: 'month', from: '2026-01-01T00:00:00.000Z', to: '2026-02-01T00:00:00.000Z' });
    expect(res.source).toMatch(/stored imbalance report/);
    expect(res.failedPolls).toBe(0);
    const by = new Map(res.resources.map((r) => [r.resource, r]));
    const expected: Record<string, { loss: number; status: string }> = {
      heat: { loss: 12, status: 'high_loss' },
      cold_water: { loss: 3, status: 'ok' },
      hot_water: { loss: 3, status: 'ok' },
    };
    for (const [resource, e] of Object.entries(expected)) {
      const r = by.get(resource)!;
      expect(r, resource).toBeDefined();
      expect(r.truthLossPct, resource).toBeCloseTo(e.loss, 6);
      expect(r.truthPct, resource).toBeCloseTo(e.loss, 6); // no common-area use: imbalance = loss
      expect(Math.abs(r.imbalancePct! - e.loss), `${resource}: ${r.imbalancePct} % vs ${e.loss} %`).toBeLessThanOrEqual(0.5);
      expect(r.status, resource).toBe(e.status);
      expect(r.apartmentMeters, resource).toBe('12/12');
    }
    expect(res.allWithinTolerance).toBe(true);

    // Validation: every register reading has a verdict; the injected faults are flagged with the right reasons.
    expect(res.validated).toBeGreaterThan(1000);
    const flag = (meter: string) => res.flagged.find((f) => f.meter === meter);
    const reverse = flag('odpu-hot_water');
    expect(reverse, JSON.stringify(res.flagged)).toBeDefined();
    expect(reverse!.codes).toContain('reverse_flow');
    expect(reverse!.codes).toContain('register_decreased');
    expect(reverse!.worst).toBe('invalid');
    expect(Date.parse(reverse!.since)).toBeGreaterThanOrEqual(Date.parse('2026-02-01T12:00:00Z'));
    const stuck = flag('apt-3-cold_water');
    expect(stuck, JSON.stringify(res.flagged)).toBeDefined();
    expect(stuck!.codes).toContain('stuck_register');
    // No other building meter is flagged, and nothing but these two carries those reasons.
    expect(res.flagged.filter((f) => f.role === 'building').map((f) => f.meter)).toEqual(['odpu-hot_water']);
    expect(res.flagged.filter((f) => f.codes.includes('stuck_register')).map((f) => f.meter)).toEqual(['apt-3-cold_water']);
    expect(res.flagged.filter((f) => f.codes.includes('reverse_flow')).map((f) => f.meter)).toEqual(['odpu-hot_water']);
    // Measured against the truth: 36 days of 52 meters without one false alarm (50 of them clean all
    // along, the two faulted ones clean for the first month), both faults flagged with their code.
    expect(res.validator.falsePositives, JSON.stringify(res.validator.falsePositives)).toEqual([]);
    expect(res.validator.precision).toBe(1);
    expect(res.validator.faults.map((f) => [f.meter, f.expected, f.flaggedAt !== null])).toEqual([
      ['apt-3-cold_water', 'stuck_register', true],
      ['odpu-hot_water', 'reverse_flow', true],
    ]);
    expect(res.validator.recall).toBe(1);
  }, 540_000);
});
