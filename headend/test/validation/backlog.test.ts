/**
 * The validator's backlog on /metrics: what waits in vee_queue and how long the oldest has waited,
 * against the head-end's clock (injected here), read at scrape time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenedDb } from '../../src/db/index.js';
import { createRegistry } from '../../src/metrics/index.js';
import { registerValidationBacklog } from '../../src/validation/backlog.js';
import { openTestDb } from '../engine.js';

let opened: OpenedDb;
const NOW = new Date('2026-11-01T12:00:00Z');

beforeAll(async () => {
  opened = await openTestDb();
}, 120_000);
afterAll(() => opened?.close());

async function scrape(r: ReturnType<typeof createRegistry>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of await r.getMetricsAsJSON()) out[m.name] = m.values[0]?.value ?? NaN;
  return out;
}

describe('validation backlog metrics', () => {
  it('count the queued instants and age the oldest by the head-end clock; an empty queue reads 0 and 0', async () => {
    const r = createRegistry();
    registerValidationBacklog(r, opened.db, () => NOW);
    expect(await scrape(r)).toEqual({ amr_validation_queued: 0, amr_validation_oldest_seconds: 0 });
    // Three instants queued 90 s, 30 s and 5 s before "now" (meter ids need no meter: the queue has no key to meters).
    await opened.db.query(
      `INSERT INTO vee_queue (meter_id, time, enqueued_at) VALUES
         (1, '2026-11-01T10:00:00Z', '2026-11-01T11:58:30Z'),
         (1, '2026-11-01T10:15:00Z', '2026-11-01T11:59:30Z'),
         (2, '2026-11-01T10:00:00Z', '2026-11-01T11:59:55Z')`);
    expect(await scrape(r)).toEqual({ amr_validation_queued: 3, amr_validation_oldest_seconds: 90 });
    await opened.db.query(`DELETE FROM vee_queue WHERE enqueued_at = '2026-11-01T11:58:30Z'`);
    expect(await scrape(r)).toEqual({ amr_validation_queued: 2, amr_validation_oldest_seconds: 30 });
    await opened.db.query('DELETE FROM vee_queue');
  });
});
