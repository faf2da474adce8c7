/**
 * An archive record read back after a gap belongs to the device read, and that device is bound to its
 * address only since its binding began. A heat calculator's address is re-bound to a second meter on
 * 11 February 00:00 (Moscow; 10 February 21:00 UTC) through the bindings API — a replacement or a
 * registry correction, which the head-end cannot tell apart — and a back-fill read on 1 March brings
 * records of 5 and 15 February and two hourly records stamped at their ends, one ending exactly at the
 * re-binding (measured 20:00–21:00 UTC, before it) and the next. The records from before the
 * re-binding go to quarantine (`binding_changed`, naming both meters): neither meter's statement gets
 * them. The later ones and a live poll of 1 March land on the second meter.
 *
 * An M-Bus meter's stored register values (month end, due date) are checked the same way, by their
 * record's instant on the meter's clock placed in the building's zone: address 1 re-bound at
 * 10 February 21:00 UTC; the value of record 2026-02-11T00:00:00 is 10 February 21:00 UTC in Moscow
 * (UTC+3: exactly at the re-binding, the second meter's) but 19:00 UTC in Yekaterinburg (UTC+5: two
 * hours before it, quarantined); the month end 2026-02-01T00:00:00 is before it in both; 2026-03-01 is
 * after it in both. Both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveQuantity, type MeterReading, type ReadingsMessage } from '@amr/protocols';
import { startHarness, type Harness } from '../api/harness.js';
import { registerGateway, type Fixture } from '../ingest/fixtures.js';
import { writeReadings } from '../../src/ingest/index.js';
import { fixedClock } from '../../src/util/clock.js';

let h: Harness;
let fx: Fixture;
let building = 0;
const clock = fixedClock('2026-03-05T09:00:00Z');
const REBOUND = '2026-02-10T21:00:00.000Z';
const READ = '2026-03-01T08:00:00.000Z';

/** A record of address 1 as a back-fill on 1 March sends it. */
function record(seq: number, kind: 'daily' | 'hourly', utc: string, local: string, stamp: 'start' | 'end', kwh: number): MeterReading {
  return {
    seq, meter: { meterKey: 'tv7', bus: 'm1', protocol: 'modbus', address: '1' }, gatewayTime: READ, quality: ['archive'],
    values: [['energy_delta_kwh', kwh, 'kWh'], ['operating_time_delta_s', kind === 'daily' ? 86_400 : 3600, 's'], ['error_time_delta_s', 0, 's']].map(([q, value, unit]) =>
      ({ quantity: archiveQuantity(q as string, kind), value: value as number, unit: unit as string, time: utc, quality: ['archive' as const] })),
    archive: { kind, record: local, stamp, seconds: kind === 'daily' ? 86_400 : 3600, nsCodes: [] },
  };
}

beforeAll(async () => {
  h = await startHarness({ clock });
  fx = await registerGateway(h.opened.db, 'gw-heat-rebind', 2);
  building = Number((await h.opened.db.query<{ building_id: string }>('SELECT building_id FROM meters WHERE id = $1', [fx.meterIds[0]])).rows[0].building_id);
  await h.opened.db.query(`UPDATE buildings SET timezone = 'Europe/Moscow' WHERE id = $1`, [building]);
}, 120_000);
afterAll(async () => { await h?.close(); });

const recordsOf = async (meterId: number) => (await h.opened.db.query<{ time: Date; kind: string }>(
  'SELECT time, kind FROM meter_archive_ns WHERE meter_id = $1 ORDER BY time', [meterId])).rows.map((r) => `${r.kind} ${new Date(r.time).toISOString()}`);

describe('archive records and bindings', () => {
  it('a record measured before the re-binding goes to neither meter but to quarantine, naming both', async () => {
    const [first, second] = fx.meterIds;
    const rebind = await h.call('POST', `/gateways/${fx.gatewayId}/bindings`, h.adminToken, { bus: 'm1', address: '1', meter_id: second, valid_from: REBOUND });
    expect(rebind.status, JSON.stringify(rebind.body)).toBe(201);
    const poll: MeterReading = { seq: 10, meter: { meterKey: 'tv7', bus: 'm1', protocol: 'modbus', address: '1' }, gatewayTime: READ, quality: [], values: [{ quantity: 'energy_kwh', value: 123_456, unit: 'kWh', time: READ, quality: [] }] };
    const msg: ReadingsMessage = {
      v: 1, gatewayId: fx.gatewayId, sentAt: READ,
      readings: [
        record(1, 'daily', '2026-02-04T21:00:00.000Z', '2026-02-05T00:00:00', 'start', 1000),
        record(2, 'daily', '2026-02-14T21:00:00.000Z', '2026-02-15T00:00:00', 'start', 1500),
        // 23:00–24:00 of 10 February (Moscow), stamped at its end: the re-binding's instant. Measured by the first meter.
        record(3, 'hourly', REBOUND, '2026-02-11T00:00:00', 'end', 40),
        // 00:00–01:00 of 11 February, stamped at its end: the second meter's.
        record(4, 'hourly', '2026-02-10T22:00:00.000Z', '2026-02-11T01:00:00', 'end', 41),
        poll,
      ],
    };
    expect(await writeReadings(h.opened.db, [msg], { clock })).toMatchObject({ quarantined: { binding_changed: 2 } });

    expect(await recordsOf(first)).toEqual([]);
    expect(await recordsOf(second)).toEqual(['hourly 2026-02-10T22:00:00.000Z', 'daily 2026-02-14T21:00:00.000Z']);
    const polled = (await h.opened.db.query<{ meter_id: string }>(`SELECT meter_id FROM readings WHERE quantity = 'energy_kwh' AND value = 123456`)).rows;
    expect(polled.map((r) => Number(r.meter_id))).toEqual([second]);
    // Not a value of either meter: the first meter has no readings at all.
    const firstRows = (await h.opened.db.query<{ n: number }>('SELECT count(*)::int AS n FROM readings WHERE meter_id = $1', [first])).rows[0].n;
    expect(firstRows).toBe(0);

    const q = (await h.opened.db.query<{ seq: string; reason: string; detail: string }>(
      `SELECT seq, reason, detail FROM quarantine WHERE gateway_id = $1 ORDER BY seq`, [fx.gatewayId])).rows;
    expect(q.map((r) => [Number(r.seq), r.reason])).toEqual([[1, 'binding_changed'], [3, 'binding_changed']]);
    expect(q[0].detail).toContain(`before meter ${second} was bound to this address (${REBOUND})`);
    expect(q[0].detail).toContain(`meter ${first} was bound then`);
    expect(q[1].detail).toContain('began 2026-02-10T20:00:00.000Z');

    // The statements: the first meter's February has no records (a message, not zeros); the second's is
    // 11 February's hour (41, no daily record that day) and the 15th's daily record (1 500): 1 541, mixed.
    const of = (meter: number) => h.call('GET', `/buildings/${building}/heat-statement?period=2026-02&meter_id=${meter}`, h.adminToken);
    const a = await of(first);
    const b = await of(second);
    expect([a.status, a.body.source, a.body.totals]).toEqual([200, null, null]);
    expect([b.status, b.body.source, b.body.totals?.q_kwh]).toEqual([200, 'mixed', 1541]);
  });

  it('stored register values (month end, due date): their instant in the building\'s zone against the binding\'s start', async () => {
    const stored = (seq: number, kind: 'month_end' | 'due_date', record: string, kwh: number): MeterReading => ({
      seq, meter: { meterKey: 'heat-1', bus: 'm1', protocol: 'mbus', address: '1' }, gatewayTime: READ, quality: ['archive'],
      values: [{ quantity: 'energy_kwh', value: kwh, unit: 'kWh', storage: 1, quality: [] }],
      archive: { kind, record, date: record.slice(0, 10), storage: 1, nsCodes: [] },
    });
    const outcome = async (gw: string, zone: string) => {
      const site = await registerGateway(h.opened.db, gw, 2);
      await h.opened.db.query(`UPDATE buildings SET timezone = $2 WHERE id = (SELECT building_id FROM meters WHERE id = $1)`, [site.meterIds[0], zone]);
      const rebind = await h.call('POST', `/gateways/${site.gatewayId}/bindings`, h.adminToken, { bus: 'm1', address: '1', meter_id: site.meterIds[1], valid_from: REBOUND });
      expect(rebind.status, JSON.stringify(rebind.body)).toBe(201);
      const res = await writeReadings(h.opened.db, [{ v: 1, gatewayId: site.gatewayId, sentAt: READ, readings: [
        stored(1, 'month_end', '2026-02-01T00:00:00', 30_000), stored(2, 'due_date', '2026-02-11T00:00:00', 30_400), stored(3, 'month_end', '2026-03-01T00:00:00', 31_000)] }], { clock });
      const kept = (await h.opened.db.query<{ meter_id: string; time: Date; value: number }>(
        `SELECT meter_id, time, value FROM readings WHERE meter_id = ANY($1::bigint[]) ORDER BY time`, [site.meterIds])).rows
        .map((r) => [Number(r.meter_id) === site.meterIds[1] ? 'second' : 'first', new Date(r.time).toISOString(), Number(r.value)]);
      const q = (await h.opened.db.query<{ seq: string; reason: string; detail: string }>(`SELECT seq, reason, detail FROM quarantine WHERE gateway_id = $1 ORDER BY seq`, [site.gatewayId])).rows;
      return { res, kept, q: q.map((r) => [Number(r.seq), r.reason]), details: q.map((r) => r.detail), site };
    };
    const msk = await outcome('gw-mbus-rebind-msk', 'Europe/Moscow');
    expect(msk.res.quarantined).toEqual({ binding_changed: 1 });
    expect(msk.kept).toEqual([['second', REBOUND, 30_400], ['second', '2026-02-28T21:00:00.000Z', 31_000]]);
    expect(msk.q).toEqual([[1, 'binding_changed']]);
    expect(msk.details[0]).toBe(`month_end value 2026-02-01T00:00:00 (meter clock; 2026-01-31T21:00:00.000Z in Europe/Moscow) was stored, before meter ${msk.site.meterIds[1]} was bound to this address (${REBOUND}); `
      + `meter ${msk.site.meterIds[0]} was bound then. If the same device measured it (the binding was a registry correction), assign it to meter ${msk.site.meterIds[0]} and replay it; `
      + 'if the device was replaced, it is not this address\'s measurement: resolve it as rejected');

    const yek = await outcome('gw-mbus-rebind-yek', 'Asia/Yekaterinburg');
    expect(yek.res.quarantined).toEqual({ binding_changed: 2 });
    expect(yek.kept).toEqual([['second', '2026-02-28T19:00:00.000Z', 31_000]]);
    expect(yek.q).toEqual([[1, 'binding_changed'], [2, 'binding_changed']]);
    expect(yek.details[1]).toContain('due_date value 2026-02-11T00:00:00 (meter clock; 2026-02-10T19:00:00.000Z in Asia/Yekaterinburg) was stored, before meter');
  });
});
