/**
 * sideBySide: at most `width` steps at once, started in order, and after a failure nothing new starts
 * and the running steps end before the error is thrown (a caller's clean-up must not run beside a
 * step still writing). Steps are promises the test resolves by hand: no timing.
 */
import { describe, expect, it } from 'vitest';
import { sideBySide } from '../../src/util/side-by-side.js';

/** A step the test ends by hand; `log` records starts and ends in order. */
function gated(log: string[]) {
  const open = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  const run = (n: number) => new Promise<void>((resolve, reject) => {
    log.push(`start ${n}`);
    open.set(n, { resolve: () => { log.push(`end ${n}`); resolve(); }, reject });
  });
  return { run, open };
}
const turn = () => new Promise((r) => setImmediate(r));

describe('steps side by side', () => {
  it('width 2 over 5 steps: two at a time, each next one started as one ends, in order', async () => {
    const log: string[] = [];
    const { run, open } = gated(log);
    const all = sideBySide([1, 2, 3, 4, 5], 2, run);
    await turn();
    expect(log).toEqual(['start 1', 'start 2']);
    open.get(2)!.resolve();
    await turn();
    expect(log).toEqual(['start 1', 'start 2', 'end 2', 'start 3']);
    for (const n of [1, 3, 4, 5]) {
      await turn();
      open.get(n)!.resolve();
    }
    await all;
    expect(log.filter((l) => l.startsWith('start'))).toEqual(['start 1', 'start 2', 'start 3', 'start 4', 'start 5']);
    expect(log.filter((l) => l.startsWith('end'))).toHaveLength(5);
  });

  it('width 1 is one after another; a width of 0 or less still runs them (one lane)', async () => {
    for (const width of [1, 0, -3]) {
      const order: number[] = [];
      let running = 0;
      let most = 0;
      await sideBySide([1, 2, 3], width, async (n) => {
        running++;
        most = Math.max(most, running);
        await turn();
        order.push(n);
        running--;
      });
      expect(order).toEqual([1, 2, 3]);
      expect(most).toBe(1);
    }
  });

  it('a failure: no step starts after it, the running one ends first, then the first error is thrown', async () => {
    const log: string[] = [];
    const { run, open } = gated(log);
    let settled = false;
    const all = sideBySide([1, 2, 3, 4], 2, run).finally(() => { settled = true; });
    await turn();
    open.get(1)!.reject(new Error('step 1 refused'));
    await turn();
    // Step 2 still runs: the call has not ended, and step 3 never started.
    expect(settled).toBe(false);
    expect(log).toEqual(['start 1', 'start 2']);
    open.get(2)!.resolve();
    await expect(all).rejects.toThrow('step 1 refused');
    expect(log).toEqual(['start 1', 'start 2', 'end 2']);
  });

  it('steps from a generator are drawn one at a time, as lanes free up', async () => {
    const drawn: number[] = [];
    function* steps() {
      for (let n = 1; n <= 4; n++) {
        drawn.push(n);
        yield n;
      }
    }
    const log: string[] = [];
    const { run, open } = gated(log);
    const all = sideBySide(steps(), 2, run);
    await turn();
    expect(drawn).toEqual([1, 2]);
    open.get(1)!.resolve();
    await turn();
    expect(drawn).toEqual([1, 2, 3]);
    for (const n of [2, 3, 4]) {
      await turn();
      open.get(n)!.resolve();
    }
    await all;
    expect(drawn).toEqual([1, 2, 3, 4]);
  });
});
