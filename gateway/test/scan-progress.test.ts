// `scan` progress: one line at the start and then at every tick (the CLI ticks each second), with
// address n of N, the finds so far and an estimate from the time per address; the clock is injected.
import { describe, expect, it } from 'vitest';
import { scanProgressLine, scanWithProgress } from '../src/cli/scan-progress.js';
import type { BusDriver, ScanHit } from '../src/drivers/types.js';

describe('scan progress', () => {
  it('estimates what is left from the time per finished address', () => {
    expect(scanProgressLine({ mode: 'primary', done: 10, total: 251, current: 10, found: 2, probes: 0, elapsedMs: 15_000 })).toBe(
      'scan: address 10 (11 of 251), found 2, elapsed 15 s, about 6 min 2 s left',
    );
    expect(scanProgressLine({ mode: 'secondary', done: 3, total: 10, current: null, found: 1, probes: 42, elapsedMs: 30_000 })).toBe(
      'scan: secondary search, branch 4 of 10, 42 probes, found 1, elapsed 30 s, about 70 s left',
    );
  });

  it('ticks while a slow scan runs, one address at a time', async () => {
    let t = 0; // simulated clock: each address costs 1.5 s
    const asked: string[] = [];
    const driver = {
      scan: async (o: { from?: number; to?: number }): Promise<ScanHit[]> => {
        asked.push(`${o.from}-${o.to}`);
        await new Promise((r) => setTimeout(r, 15));
        t += 1500;
        return o.from === 2 ? [{ address: '2' }] : [];
      },
    } as unknown as BusDriver;
    const lines: string[] = [];
    const hits = await scanWithProgress(driver, { mode: 'primary', from: 0, to: 3 }, (l) => lines.push(l), () => t, 5);
    expect(hits).toEqual([{ address: '2' }]);
    expect(asked).toEqual(['0-0', '1-1', '2-2', '3-3']);
    expect(lines[0]).toBe('scan: address - (0 of 4), found 0, elapsed 0 s, about unknown yet left');
    expect(lines).toContain('scan: address 3 (4 of 4), found 1, elapsed 5 s, about 2 s left'); // 4.5 s for 3 → 1.5 s each → 1.5 s ≈ 2 s
    expect(lines.at(-1)).toBe('scan: done, 4 addresses, found 1 in 6 s');
  });
});
