/**
 * Corrections of what is not a register: a heat calculator's daily record holds the day's heat
 * (`energy_day_kwh`, an amount) and the day's mean temperatures, so a corrected day below the day
 * before is no decrease and a corrected mean may be below zero. A register's correction keeps every
 * check. Records of 1–3 February (Moscow) arrive as a back-fill would send them; each correction is a
 * new version with its reason, the earlier one kept. Both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveQuantity, type MeterReading } from '@amr/protocols';
import { startHarness, type Harness } from '../api/harness.js';
import { registerGateway, type Fixture } from '../ingest/fixtures.js';
import { writeReadings } from '../../src/ingest/index.js';
import { fixedClock } from '../../src/util/clock.js';

let h: Harness;
let fx: Fixture;
const clock = fixedClock('2026-03-05T09:00:00Z');
const READ = '2026-03-01T08:00:00.000Z';
// Local midnights of 1–3 February in Moscow (UTC+3).
const DAY = ['2026-01-31T21:00:00.000Z', '2026-02-01T21:00:00.000Z', '2026-02-02T21:00:00.000Z'];

function daily(seq: number, utc: string, kwh: number, tReturn: number): MeterReading {
  const v = (q: string, value: number, unit: string) => ({ quantity: archiveQuantity(q, 'daily'), value, unit, time: utc, quality: ['archive' as const] });
  return {
    seq, meter: { meterKey: 'tv7', bus: 'm1', protocol: 'modbus', address: '1' }, gatewayTime: READ, quality: ['archive'],
    values: [v('energy_delta_kwh', kwh, 'kWh'), v('return_temp_mean_c', tReturn, '°C'), v('operating_time_delta_s', 86_400, 's'), v('error_time_delta_s', 0, 's')],
    archive: { kind: 'daily', record: `2026-02-0${seq}T00:00:00`, stamp: 'start', seconds: 86_400, nsCodes: [] },
  };
}

beforeAll(async () => {
  h = await startHarness({ clock });
  fx = await registerGateway(h.opened.db, 'gw-correct-interval', 1);
  await h.opened.db.query(`UPDATE buildings SET timezone = 'Europe/Moscow' WHERE id = (SELECT building_id FROM meters WHERE id = $1)`, [fx.meterIds[0]]);
  const r = await writeReadings(h.opened.db, [{ v: 1, gatewayId: fx.gatewayId, sentAt: READ, readings: [daily(1, DAY[0], 2000, 41), daily(2, DAY[1], 2400, 42), daily(3, DAY[2], 2300, 43)] }], { clock });
  expect(r.quarantined).toEqual({});
}, 120_000);
afterAll(async () => { await h?.close(); });

const correct = (quantity: string, time: string, value: number) =>
  h.call('POST', `/meters/${fx.meterIds[0]}/readings/corrections`, h.adminToken, { time, quantity, value, reason: 'checked against the calculator display' });

describe('corrections of amounts and means', () => {
  it("a day's heat corrected below the day before and above the day after is stored as version 2", async () => {
    const day = archiveQuantity('energy_delta_kwh', 'daily');
    // 2 February: 2 400 → 1 500 kWh, below 1 February's 2 000 (a register would be refused 'below_previous').
    const lower = await correct(day, DAY[1], 1500);
    expect(lower.status, JSON.stringify(lower.body)).toBe(201);
    expect([lower.body.previous.value, lower.body.current.value, lower.body.current.version]).toEqual([2400, 1500, 2]);
    // 1 February: 2 000 → 9 000 kWh, above 2 February's 1 500 (a register: 'above_next').
    const higher = await correct(day, DAY[0], 9000);
    expect(higher.status, JSON.stringify(higher.body)).toBe(201);
    expect(higher.body.current.value).toBe(9000);
    const versions = (await h.opened.db.query<{ version: number; value: number; reason: string | null }>(
      'SELECT version, value, reason FROM reading_rows WHERE meter_id = $1 AND quantity = $2 AND time = $3 ORDER BY version', [fx.meterIds[0], day, DAY[1]])).rows;
    expect(versions.map((x) => [x.version, x.value])).toEqual([[1, 2400], [2, 1500]]);
    expect(versions[1].reason).toBe('checked against the calculator display');
  });

  it('a mean temperature may be corrected below zero; an amount may not', async () => {
    const mean = await correct(archiveQuantity('return_temp_mean_c', 'daily'), DAY[2], -2.5);
    expect(mean.status, JSON.stringify(mean.body)).toBe(201);
    expect(mean.body.current.value).toBe(-2.5);
    const negative = await correct(archiveQuantity('energy_delta_kwh', 'daily'), DAY[2], -1);
    expect(negative.status).toBe(400);
    expect(negative.body.details[0].code).toBe('not_a_number');
  });

  it('a register keeps its checks: below the previous reading is refused', async () => {
    await h.opened.db.query(
      `INSERT INTO readings (meter_id, time, quantity, value, unit, source, version) VALUES ($1, $2, 'energy_kwh', 100000, 'kWh', 'telemetry', 1), ($1, $3, 'energy_kwh', 102000, 'kWh', 'telemetry', 1)`,
      [fx.meterIds[0], DAY[0], DAY[1]]);
    const r = await correct('energy_kwh', DAY[1], 99_000);
    expect(r.status).toBe(400);
    expect(r.body.details[0].code).toBe('below_previous');
  });
});
