/**
 * Late readings and the imbalance reports they change: the ingest writer marks the building ×
 * resource × periods a register reading older than its meter's newest touches (imbalance_dirty, one
 * statement per batch), the drain recomputes exactly those and clears the marks; a current reading
 * marks nothing, nor does a meter archive record's interval amount (no report reads it). The
 * validator queues the late instants and re-judges the reading after them. Runs on both engines.
 *
 * The building (Moscow): a heat ОДПУ read daily at 12:00 from 1 to 18 March 2026 except the 10th and
 * 11th, two apartment heat meters read remotely (so day reports apply). "Now" is 18 March 13:00.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { MeterReading, ReadingsMessage } from '@amr/protocols';
import type { OpenedDb } from '../../src/db/index.js';
import { writeReadings } from '../../src/ingest/index.js';
import { hashSecret } from '../../src/broker/index.js';
import { computeBuildingImbalance, dirtyMarks, recomputeDirty } from '../../src/imbalance/index.js';
import { startValidator } from '../../src/validation/index.js';
import { openTestDb } from '../engine.js';
import * as f from './fixtures.js';

let opened: OpenedDb;
const clock = () => new Date('2026-03-18T10:00:00Z');
/** 12:00 Moscow of March `d` as UTC. */
const noon = (d: number) => new Date(Date.UTC(2026, 2, d, 9)).toISOString();
/** Local midnight starting March `d` (Moscow) as UTC. */
const day = (d: number) => new Date(Date.UTC(2026, 2, d - 1, 21)).toISOString();
const MARCH = '2026-02-28T21:00:00.000Z';

let b: number;
let odpu: number;
let gw: string;
let seq = 0;

function message(address: string, values: { time: string; value: number; quantity?: string }[], archive?: MeterReading['archive']): ReadingsMessage {
  return {
    v: 1, gatewayId: gw, sentAt: clock().toISOString(),
    readings: values.map((x) => ({
      seq: ++seq,
      meter: { meterKey: `m${address}`, bus: 'm1', protocol: 'mbus' as const, address },
      gatewayTime: x.time,
      quality: [],
      values: [{ quantity: x.quantity ?? 'energy_kwh', value: x.value, unit: 'kWh', time: x.time, quality: [] }],
      ...(archive ? { archive } : {}),
    })),
  };
}

const marks = async () => (await dirtyMarks(opened.db)).filter((m) => m.buildingId === b).map((m) => `${m.resource} ${m.kind} ${m.periodStart.toISOString()}`).sort();

beforeAll(async () => {
  opened = await openTestDb();
  const q = opened.db;
  b = await f.building(q, await f.org(q));
  odpu = await f.meter(q, b, { placement: 'building', resource: 'heat' });
  const apts = [await f.meter(q, b, { placement: 'apartment', resource: 'heat', remote: true }), await f.meter(q, b, { placement: 'apartment', resource: 'heat', remote: true })];
  gw = `gw-late-${process.pid}`;
  await q.query(`INSERT INTO gateways (id, name, building_id, credential_hash) VALUES ($1, $1, $2, $3)`, [gw, b, await hashSecret('pw-late-readings')]);
  for (const [i, m] of [odpu, ...apts].entries()) await q.query(`INSERT INTO bindings (gateway_id, bus, address, meter_id) VALUES ($1, 'm1', $2, $3)`, [gw, String(i + 1), m]);
  // Stored through the writer too, in time order (each the newest of its meter when it came): no marks.
  const days = Array.from({ length: 18 }, (_, i) => i + 1);
  await writeReadings(q, [message('1', days.filter((d) => d !== 10 && d !== 11).map((d) => ({ time: noon(d), value: 1000 + 100 * (d - 1) })))], { clock });
  for (const [i] of apts.entries()) await writeReadings(q, [message(String(i + 2), days.map((d) => ({ time: noon(d), value: 500 + 40 * (d - 1) })))], { clock });
}, 120_000);
afterAll(() => opened?.close());

describe('late readings mark the imbalance periods they change', () => {
  it('readings that arrive in order mark nothing', async () => {
    expect(await marks()).toEqual([]);
  });

  it('a late batch for last week marks exactly the month, days and stored hour it touches; the drain recomputes them and clears the marks', async () => {
    const q = opened.db;
    // Reports computed before the late readings came: the 10th (its bounds interpolated between the
    // 9th and 12th: 100 a day), an hour of the 10th and one of the 14th (stored, so they can go stale).
    const before = await computeBuildingImbalance(q, b, 'heat', 'day', new Date(day(10)));
    expect(before.report.buildingConsumption).toBeCloseTo(100, 9);
    await computeBuildingImbalance(q, b, 'heat', 'hour', new Date('2026-03-10T11:30:00Z'));
    await computeBuildingImbalance(q, b, 'heat', 'hour', new Date('2026-03-14T11:30:00Z'));

    // The 10th and 11th arrive a week late, 60 kWh above the straight line.
    const res = await writeReadings(q, [message('1', [{ time: noon(10), value: 1960 }, { time: noon(11), value: 2060 }])], { clock });
    expect(res.stored).toBe(2);
    // The 10th at noon lies between the 9th and the 11th at noon; the 11th between the 10th and the
    // 12th: the bounds at the starts of the 10th, 11th and 12th move, so days 9…12 change (the 9th's
    // end, the 12th's start), and March. The 10th's stored hour report (11:00–12:00 UTC, inside the
    // stretch) too; the 14th's not.
    expect(await marks()).toEqual([
      `heat day ${day(9)}`, `heat day ${day(10)}`, `heat day ${day(11)}`, `heat day ${day(12)}`,
      'heat hour 2026-03-10T11:00:00.000Z',
      `heat month ${MARCH}`,
    ].sort());

    const drained = await recomputeDirty(q);
    expect(drained).toEqual({ recomputed: 6, skipped: 0, failed: 0 });
    expect(await marks()).toEqual([]);
    // The 10th now: start between 1800 (9th) and 1960 (10th) at midnight = 1880, end between 1960 and 2060 = 2010.
    const { rows } = await q.query(`SELECT building_consumption, computed_at FROM imbalance_reports WHERE building_id = $1 AND period_kind = 'day' AND period_start = $2`, [b, day(10)]);
    expect(rows[0].building_consumption).toBeCloseTo(130, 9);
    // The 14th's hour report was left alone.
    const h14 = await q.query(`SELECT computed_at FROM imbalance_reports WHERE building_id = $1 AND period_kind = 'hour' AND period_start = '2026-03-14T11:00:00Z'`, [b]);
    const h10 = await q.query(`SELECT computed_at FROM imbalance_reports WHERE building_id = $1 AND period_kind = 'hour' AND period_start = '2026-03-10T11:00:00Z'`, [b]);
    expect(new Date(h10.rows[0].computed_at).getTime()).toBeGreaterThan(new Date(h14.rows[0].computed_at).getTime());
  });

  it('a current reading marks nothing; a redelivered late one adds no mark; an archive record\'s amounts mark nothing', async () => {
    const q = opened.db;
    await writeReadings(q, [message('1', [{ time: '2026-03-18T09:30:00Z', value: 2745 }])], { clock });
    await writeReadings(q, [message('1', [{ time: noon(10), value: 1960 }])], { clock });
    await writeReadings(q, [message('1', [{ time: noon(5), quantity: 'energy_delta_kwh', value: 4.2 }], { kind: 'hourly', record: '2026-03-05T12:00:00', stamp: 'start', seconds: 3600, nsCodes: [] })], { clock });
    expect(await marks()).toEqual([]);
  });

  it('a period marked again while it is being recomputed keeps its mark for the next round', async () => {
    const q = opened.db;
    // 15:00 Moscow on the 13th: between the 13th's and the 14th's noon → the 13th, the 14th and March.
    await writeReadings(q, [message('1', [{ time: '2026-03-13T12:00:00Z', value: 2250 }])], { clock });
    const marked = [`heat day ${day(13)}`, `heat day ${day(14)}`, `heat month ${MARCH}`].sort();
    expect(await marks()).toEqual(marked);
    let again = false;
    const out = await recomputeDirty(q, {
      // Another late reading of the 13th lands after the first report is stored: it marks the same periods.
      onReport: async () => {
        if (again) return;
        again = true;
        await writeReadings(q, [message('1', [{ time: '2026-03-13T15:00:00Z', value: 2260 }])], { clock });
      },
    });
    expect(out).toEqual({ recomputed: 3, skipped: 0, failed: 0 });
    expect(await marks()).toEqual(marked);
    expect(await recomputeDirty(q)).toEqual({ recomputed: 3, skipped: 0, failed: 0 });
    expect(await marks()).toEqual([]);
  });

  it('the validator takes the late instants and re-judges the reading after them', async () => {
    const q = opened.db;
    const validator = startValidator({ db: q, logger: pino({ level: 'silent' }), intervalMs: 3_600_000 });
    try {
      while ((await validator.drain()) > 0);
      // The 17th's reading comes late (a day is missing between the 16th and the 18th).
      await q.query(`DELETE FROM reading_validations WHERE meter_id = $1`, [odpu]);
      await writeReadings(q, [message('1', [{ time: '2026-03-17T06:00:00Z', value: 2560 }])], { clock });
      const queued = await q.query(`SELECT time FROM vee_queue WHERE meter_id = $1`, [odpu]);
      expect(queued.rows.map((r) => new Date(r.time).toISOString())).toEqual(['2026-03-17T06:00:00.000Z']);
      while ((await validator.drain()) > 0);
      const judged = await q.query(`SELECT time FROM reading_validations WHERE meter_id = $1 ORDER BY time`, [odpu]);
      // The late reading and its successor (the 17th at noon, whose predecessor changed) — nothing else.
      expect(judged.rows.map((r) => new Date(r.time).toISOString())).toEqual(['2026-03-17T06:00:00.000Z', noon(17)]);
    } finally {
      await validator.stop();
    }
  });
});
