/**
 * A record rejected on review is left out of the heat statement, and a rejection after sign-off makes
 * the signed month outdated (heat/statement.ts, heat/store.ts loadRecords, readings/statement-marks.ts). Both engines.
 *
 * Figures, worked by hand: building R (Moscow), its calculator's 24 hourly records of 10 February
 * (local 00:00 … 23:00), each Q 10 kWh, Тр 3 600 s, Тнс 0, no НС:
 *   - as read: 24 records, Q 240 kWh = 240 ÷ 1 163 = 0.206 Гкал, Тр 24 h;
 *   - the 13:00 hour's heat amount rejected by an engineer: the record is left out whole and its hour
 *     is missing data, as for an hour that never came — the statement's rule for missing hours is that
 *     it adds nothing for them (no substitute, no calculation: only a record's own off time Тр + Тнс
 *     short of its interval is calculated, ns.ts), so the day is 23 records, Q 230 kWh
 *     = 230 ÷ 1 163 = 0.19776 → 0.198 Гкал, Тр 23 h; the day says `rejected: 1` and the statement
 *     lists the record with who and why;
 *   - the month was signed at 240 kWh: the rejection marks the day (2026-02-10) and the sweep raises
 *     `heat_statement_outdated` with q_kwh 240 → 230, q_measured_kwh 240 → 230, q_gcal 0.206 → 0.198,
 *     records 24 → 23, working_hours 24 → 23;
 *   - accepted afterwards (a later review overrides): 240 kWh again, the next sweep clears the alert.
 * Another organisation's engineer cannot reject R's record (404), and nothing changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';
import { registerGateway, hourlyArchiveMessage, type Fixture } from '../ingest/fixtures.js';
import { writeReadings } from '../../src/ingest/index.js';
import { checkSignedStatements } from '../../src/heat/outdated.js';
import { fixedClock } from '../../src/util/clock.js';

let h: Harness;
const clock = fixedClock('2026-03-05T09:00:00Z');
const checkAt = new Date('2026-03-06T08:00:00Z');
const channels = [{ channel: 'webhook' as const, target: 'https://hooks.example.org/amr' }];
let R: Fixture & { building: number };
let engineer = '', stranger = '';
const hourUtc = (hh: number) => new Date(Date.UTC(2026, 1, 10, hh) - 3 * 3600_000).toISOString();
const statement = () => h.call('GET', `/buildings/${R.building}/heat-statement?period=2026-02`, engineer);
const check = () => checkSignedStatements(h.opened.db, { at: checkAt, channels, margin: '0 seconds' });
const review = (token: string, decision: 'accept' | 'reject', reason: string) =>
  h.call('POST', `/meters/${R.meterIds[0]}/readings/review`, token, { time: hourUtc(13), quantity: 'energy_delta_kwh', decision, reason });
const openAlerts = async () => (await h.opened.db.query<{ subject: string; data: { changes: unknown } }>(
  `SELECT subject, data FROM alerts WHERE kind = 'heat_statement_outdated' AND cleared_at IS NULL ORDER BY id`)).rows;

beforeAll(async () => {
  h = await startHarness({ clock });
  const fx = await registerGateway(h.opened.db, 'gw-heat-rejected', 1);
  const building = Number((await h.opened.db.query<{ building_id: string }>('SELECT building_id FROM meters WHERE id = $1', [fx.meterIds[0]])).rows[0].building_id);
  R = { ...fx, building };
  const hours = Array.from({ length: 24 }, (_, hh) =>
    hourlyArchiveMessage(fx.gatewayId, 100 + hh, hourUtc(hh), `2026-02-10T${String(hh).padStart(2, '0')}:00:00`, { q: 10, tr: 3600, tns: 0, codes: [] }));
  const w = await writeReadings(h.opened.db, hours, { clock });
  if (w.stored !== 72) throw new Error(`seed: ${JSON.stringify(w)}`);
  engineer = await h.userToken('engineer', { buildingIds: [building], username: 'petrova' });
  const other = await registerGateway(h.opened.db, 'gw-heat-rejected-other', 1);
  const otherBuilding = Number((await h.opened.db.query<{ building_id: string }>('SELECT building_id FROM meters WHERE id = $1', [other.meterIds[0]])).rows[0].building_id);
  stranger = await h.userToken('engineer', { buildingIds: [otherBuilding], username: 'mallory' });
}, 120_000);
afterAll(async () => {
  await h?.close();
});

describe('a record rejected on review', () => {
  it('as read: 24 records, 240 kWh, 24 h; signed; the first sweep finds it unchanged', async () => {
    const s = await statement();
    expect(s.status).toBe(200);
    const day = s.body.rows.find((r: { date: string }) => r.date === '2026-02-10');
    expect([day.records, day.q_kwh, day.q_gcal, day.working_hours, day.rejected]).toEqual([24, 240, 0.206, 24, 0]);
    expect(s.body.rejected).toEqual([]);
    const signed = await h.call('POST', `/buildings/${R.building}/heat-statement/sign-off`, engineer, { period: '2026-02' });
    expect(signed.status).toBe(200);
    expect([(await check()).checked, (await openAlerts()).length]).toEqual([1, 0]);
  });

  it('another organisation\'s engineer cannot reject it: 404, no review, no mark, the statement unchanged', async () => {
    const r = await review(stranger, 'reject', 'not mine to judge');
    expect(r.status).toBe(404);
    expect((await h.opened.db.query('SELECT 1 FROM reading_reviews')).rows).toEqual([]);
    expect((await h.opened.db.query('SELECT 1 FROM heat_statement_dirty')).rows).toEqual([]);
    expect((await statement()).body.totals.q_kwh).toBe(240);
  });

  it('rejected: the hour is left out (230 kWh, 23 h), the day says so, and the signed month is outdated', async () => {
    const r = await review(engineer, 'reject', 'скачок после замены датчика');
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const s = await statement();
    const day = s.body.rows.find((x: { date: string }) => x.date === '2026-02-10');
    expect([day.records, day.q_kwh, day.q_gcal, day.q_measured_kwh, day.working_hours, day.rejected]).toEqual([23, 230, 0.198, 230, 23, 1]);
    expect([s.body.totals.q_kwh, s.body.totals.records, s.body.totals.working_hours]).toEqual([230, 23, 23]);
    expect(s.body.rejected).toEqual([{ from: '2026-02-10T13:00', to: '2026-02-10T14:00', kind: 'hourly', by: 'petrova', reason: 'скачок после замены датчика' }]);
    expect(s.body.changed_since_sign_off).toBe(true);
    // Another day is untouched: no records, no rejection.
    expect(s.body.rows.find((x: { date: string }) => x.date === '2026-02-11')).toMatchObject({ records: 0, q_kwh: null, rejected: 0 });

    expect((await h.opened.db.query<{ day: string }>(`SELECT to_char(day, 'YYYY-MM-DD') AS day FROM heat_statement_dirty`)).rows).toEqual([{ day: '2026-02-10' }]);
    const swept = await check();
    expect([swept.marks, swept.checked, swept.outdated]).toEqual([1, 1, 1]);
    const [alert] = await openAlerts();
    expect(alert.subject).toBe(`heat-statement:${R.building}:2026-02`);
    expect(alert.data.changes).toEqual([
      { total: 'q_gcal', signed: 0.206, now: 0.198 }, { total: 'q_kwh', signed: 240, now: 230 }, { total: 'q_measured_kwh', signed: 240, now: 230 },
      { total: 'records', signed: 24, now: 23 }, { total: 'working_hours', signed: 24, now: 23 },
    ]);
  });

  it('accepted afterwards: the hour counts again and the next sweep clears the alert', async () => {
    expect((await review(engineer, 'accept', 'проверено: значение верное')).status).toBe(201);
    const s = await statement();
    expect([s.body.totals.q_kwh, s.body.rejected, s.body.changed_since_sign_off]).toEqual([240, [], false]);
    const swept = await check();
    expect([swept.checked, swept.cleared]).toEqual([1, 1]);
    expect(await openAlerts()).toEqual([]);
  });
});
