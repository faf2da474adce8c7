/**
 * The import's chunk size (exchange/readings-import.ts fitChunk): a chunk should hold the connection
 * about 100 ms; the pace goes down at once after a slow chunk and up a fifth of the way after a fast
 * one; 500 rows at least, 8 000 at most. Every figure worked by hand in the comment beside it.
 */
import { describe, expect, it } from 'vitest';
import { fitChunk } from '../../src/exchange/readings-import.js';

describe('the import chunk size', () => {
  it('first chunk: its own pace (500 rows in 50 ms = 10 rows/ms → 1 000 rows for 100 ms)', () => {
    expect(fitChunk(null, 500, 50)).toEqual({ rowsPerMs: 10, rows: 1000 });
  });

  it('a fast chunk moves the pace up a fifth of the way; a slow one brings it down at once', () => {
    // 1 000 rows in 25 ms = 40 rows/ms: 10 + (40 − 10) / 5 = 16 → 1 600 rows.
    expect(fitChunk(10, 1000, 25)).toEqual({ rowsPerMs: 16, rows: 1600 });
    // 1 600 rows in 200 ms = 8 rows/ms, below 16: the pace is 8 → 800 rows.
    expect(fitChunk(16, 1600, 200)).toEqual({ rowsPerMs: 8, rows: 800 });
  });

  it('after one chunk stalled by a garbage collection, the size comes back over several chunks, not at once', () => {
    // Pace 30 rows/ms; 3 000 rows held 180 ms → 16.67 → 1 667 rows.
    let step = fitChunk(30, 3000, 180);
    expect(step.rows).toBe(1667);
    // Then the machine's true pace, 30 rows/ms: 16.67 + 13.33 / 5 = 19.33 → 1 933; 19.33 + 10.67 / 5 = 21.47 → 2 147.
    step = fitChunk(step.rowsPerMs, 1667, 1667 / 30);
    expect(step.rows).toBe(1933);
    step = fitChunk(step.rowsPerMs, 1933, 1933 / 30);
    expect(step.rows).toBe(2147);
  });

  it('keeps to 500 … 8 000 rows, and a chunk timed at 0 ms counts as 1 ms', () => {
    // 800 rows in 400 ms = 2 rows/ms → 200 rows → the floor, 500.
    expect(fitChunk(8, 800, 400)).toEqual({ rowsPerMs: 2, rows: 500 });
    // 4 000 rows in 10 ms = 400 rows/ms → 40 000 rows → the ceiling, 8 000.
    expect(fitChunk(null, 4000, 10)).toEqual({ rowsPerMs: 400, rows: 8000 });
    expect(fitChunk(null, 500, 0)).toEqual({ rowsPerMs: 500, rows: 8000 });
  });
});
