/**
 * The validation queue taken as a sweep over the meters in (meter, time) order (takeQueue): where
 * each batch starts and stops, that a meter's instants are taken in time order, that a batch holding
 * instants neither loses nor doubles those written meanwhile, and that a failed batch leaves its
 * instants queued. Expectations worked out by hand from the instants written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenedDb, Queryable } from '../../src/db/index.js';
import { writeReadingRows } from '../../src/readings/bulk-write.js';
import { runBatch } from '../../src/validation/batch.js';
import { takeQueue } from '../../src/validation/load.js';
import { DEFAULT_VALIDATION_SETTINGS } from '../../src/vee/index.js';
import { openTestDb, TEST_ENGINE } from '../engine.js';

let opened: OpenedDb;
let building: number;
const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const at = (i: number) => new Date(T0 + i * H).toISOString();

beforeAll(async () => {
  opened = await openTestDb();
  const org = (await opened.db.query(`INSERT INTO organisations (name) VALUES ('sweep') RETURNING id`)).rows[0].id;
  building = Number((await opened.db.query(`INSERT INTO buildings (org_id, address) VALUES ($1, 'sweep 1') RETURNING id`, [org])).rows[0].id);
}, 120_000);
afterAll(() => opened?.close());

/** Cold-water meters, ids ascending. */
async function meters(n: number): Promise<number[]> {
  const { rows } = await opened.db.query(
    `INSERT INTO meters (placement, building_id, resource, make, serial_number)
     SELECT 'building', $1, 'cold_water', 'T', 'Q-' || md5(random()::text) FROM generate_series(1, $2) RETURNING id`, [building, n]);
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

/** Register readings at hours `hours` (value = 100 + hour / 100: a steady series), queued as ingest queues them. */
function write(q: Queryable, meterId: number, hours: number[], version = 1) {
  return writeReadingRows(q, hours.map((i) => ({
    meterId, time: at(i), quantity: 'volume_m3', value: 100 + i / 100, unit: 'm3', source: 'telemetry' as const, version, quality: [],
  })));
}

const hoursOf = (es: ReadonlyArray<{ meterId: number; time: Date }>) => es.map((e) => [e.meterId, (e.time.getTime() - T0) / H]);
const settings = DEFAULT_VALIDATION_SETTINGS;

describe('validation queue sweep', () => {
  it('takes meters in id order from after the last one taken, each meter\'s instants in time order, and wraps round', async () => {
    await opened.db.query('DELETE FROM vee_queue');
    const [a, b, c] = await meters(3);
    // Written newest meter first and out of time order: the order taken does not depend on it.
    await opened.db.tx(async (q) => {
      await write(q, c, [0]);
      await write(q, b, [1, 0]);
      await write(q, a, [4, 2, 0, 3, 1]);
    });
    const take = (limit: number, after: number) => opened.db.tx(async (q) => hoursOf(await takeQueue(q, limit, [], undefined, after)));
    // From the start: a's first three instants.
    expect(await take(3, 0)).toEqual([[a, 0], [a, 1], [a, 2]]);
    // Going on after a: b and c first, then round to a (a is not passed over, only put after them).
    expect(await take(4, a)).toEqual([[b, 0], [b, 1], [c, 0], [a, 0]]);
    // After the last meter: straight round to the first.
    expect(await take(2, c)).toEqual([[a, 0], [a, 1]]);
    // A meter in back-off is skipped; onlyMeters narrows to one meter.
    expect(await opened.db.tx(async (q) => hoursOf(await takeQueue(q, 10, [a, c], undefined, 0)))).toEqual([[b, 0], [b, 1]]);
    expect(await opened.db.tx(async (q) => hoursOf(await takeQueue(q, 10, [], [c], c)))).toEqual([[c, 0]]);
    await opened.db.query('DELETE FROM vee_queue');
  });

  it('a meter with a deep queue holds one batch per sweep: the others are judged in the next batch', async () => {
    await opened.db.query('DELETE FROM vee_queue');
    const [deep, small1, small2] = await meters(3);
    await opened.db.tx(async (q) => {
      await write(q, deep, Array.from({ length: 30 }, (_, i) => i));
      await write(q, small1, [0]);
      await write(q, small2, [0]);
    });
    const batch = (after: number) => opened.db.tx((q) => runBatch(q, { batchSize: 10, skipMeters: [], settings, after }));
    const first = await batch(0);
    expect(hoursOf(first.taken)).toEqual(Array.from({ length: 10 }, (_, i) => [deep, i]));
    // The sweep stands at `deep`: the next batch serves the two other meters before deep's next ten.
    const second = await batch(first.taken.at(-1)!.meterId);
    expect(hoursOf(second.taken)).toEqual([[small1, 0], [small2, 0], ...Array.from({ length: 8 }, (_, i) => [deep, 10 + i])]);
    // Judged once each: the successor of deep's hour 9 (hour 10) was in the queue, so the first batch left it.
    expect(first.verdicts.map((v) => (Date.parse(v.timeKey) - T0) / H).sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    await opened.db.query('DELETE FROM vee_queue');
  });

  it('a late reading before the judged range is judged with its successor; the rest of the series is not judged again', async () => {
    await opened.db.query('DELETE FROM vee_queue');
    const [m] = await meters(1);
    await opened.db.tx((q) => write(q, m, [0, 1, 2, 4, 5]));
    const first = await opened.db.tx((q) => runBatch(q, { batchSize: 100, skipMeters: [], settings }));
    expect(first.verdicts.map((v) => [(Date.parse(v.timeKey) - T0) / H, v.status])).toEqual([[0, 'valid'], [1, 'valid'], [2, 'valid'], [4, 'valid'], [5, 'valid']]);
    // Hour 3 arrives late: queued alone; its batch judges it and hour 4, whose predecessor it now is.
    await opened.db.tx((q) => write(q, m, [3]));
    const late = await opened.db.tx((q) => runBatch(q, { batchSize: 100, skipMeters: [], settings, after: m }));
    expect(hoursOf(late.taken)).toEqual([[m, 3]]);
    expect(late.verdicts.map((v) => (Date.parse(v.timeKey) - T0) / H).sort()).toEqual([3, 4]);
    expect((await opened.db.query('SELECT count(*)::int AS n FROM reading_validations WHERE meter_id = $1', [m])).rows[0].n).toBe(6);
  });

  it('a batch that fails after taking its instants leaves them queued (the take, the verdicts and the delete are one transaction)', async () => {
    await opened.db.query('DELETE FROM vee_queue');
    const [m] = await meters(1);
    await opened.db.tx((q) => write(q, m, [0, 1]));
    await expect(opened.db.tx(async (q) => {
      const r = await runBatch(q, { batchSize: 100, skipMeters: [], settings });
      expect(r.verdicts).toHaveLength(2);
      throw new Error('crash between the batch and its commit');
    })).rejects.toThrow('crash between');
    expect(hoursOf(await opened.db.tx((q) => takeQueue(q, 10, [], [m])))).toEqual([[m, 0], [m, 1]]);
    expect((await opened.db.query('SELECT count(*)::int AS n FROM reading_validations WHERE meter_id = $1', [m])).rows[0].n).toBe(0);
    await opened.db.query('DELETE FROM vee_queue');
  });

  // Two transactions at once need two connections: the server's pool (the embedded engine has one).
  it.runIf(TEST_ENGINE === 'server')('instants written while a batch holds a meter\'s first instants are judged once each, by a second worker or after it', async () => {
    await opened.db.query('DELETE FROM vee_queue');
    const [m] = await meters(1);
    await opened.db.tx((q) => write(q, m, [1, 2, 3]));
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let held!: () => void;
    const holding = new Promise<void>((r) => { held = r; });
    // Worker 1 takes and judges hours 1–3, then holds them (uncommitted) while the rest happens.
    const w1 = opened.db.tx(async (q) => {
      const r = await runBatch(q, { batchSize: 100, skipMeters: [], settings });
      held();
      await gate;
      return r;
    });
    await holding;
    // Hours 4 and 5 arrive; a second version of hour 2 too, whose queue row worker 1 holds: its
    // enqueue waits for worker 1 (ON CONFLICT DO UPDATE), it does not skip the held row.
    await opened.db.tx((q) => write(q, m, [4, 5]));
    const correction = opened.db.tx((q) => write(q, m, [2], 2));
    // Worker 2 skips the held rows and takes hours 4 and 5.
    const w2 = await opened.db.tx((q) => runBatch(q, { batchSize: 100, skipMeters: [], settings }));
    expect(hoursOf(w2.taken)).toEqual([[m, 4], [m, 5]]);
    release();
    const r1 = await w1;
    await correction;
    expect(hoursOf(r1.taken)).toEqual([[m, 1], [m, 2], [m, 3]]);
    // Hours 1–5 judged once each across the two workers.
    const judged = [...r1.verdicts, ...w2.verdicts].map((v) => (Date.parse(v.timeKey) - T0) / H).sort();
    expect(judged).toEqual([1, 2, 3, 4, 5]);
    // The correction's instant is queued again after worker 1 removed its row: not lost.
    expect(hoursOf(await opened.db.tx((q) => takeQueue(q, 10, [], [m])))).toEqual([[m, 2]]);
    const w3 = await opened.db.tx((q) => runBatch(q, { batchSize: 100, skipMeters: [], settings }));
    // Hour 2's two versions and its successor, hour 3 (its predecessor changed).
    expect(w3.verdicts.map((v) => [(Date.parse(v.timeKey) - T0) / H, v.version]).sort()).toEqual([[2, 1], [2, 2], [3, 1]]);
  });
});
