/**
 * Staff resend the reading already stored (the office screen lost the answer, the inspector taps
 * "send" twice): same meter, same instant, same value, by staff → no new version, the stored one is the
 * answer, as residents already get. The rule is the readings core's (judge.ts), so both staff paths —
 * POST /meters/:id/readings (an explicit time) and POST /premises/:id/readings (dated by the window) —
 * get it; a different value still makes a version, and a correction with the same value is still written.
 *
 * Building in UTC, collection window 15th–25th (the defaults). Clock fixed at 20 March 2026 10:00 UTC
 * (window open: an entry is dated at the window's start, 15 March 00:00 UTC).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';
import { fixedClock } from '../../src/util/clock.js';

const WINDOW_START = '2026-03-15T00:00:00.000Z';
let h: Harness;
let premise: number, meter: number, meter2: number;
let staff: string;

const versions = async (m: number) => (await h.opened.db.query<{ time: Date; value: number; version: number; source: string }>(
  'SELECT time, value, version, source FROM readings WHERE meter_id = $1 ORDER BY time, version', [m])).rows
  .map((r) => [new Date(r.time).toISOString(), Number(r.value), Number(r.version), r.source]);
const audits = async (m: number) => (await h.opened.db.query<{ n: number }>(
  "SELECT count(*)::int AS n FROM audit_log WHERE entity = 'reading' AND entity_id LIKE $1", [`${m}/%`])).rows[0].n;

beforeAll(async () => {
  h = await startHarness({ clock: fixedClock('2026-03-20T10:00:00Z') });
  const t = h.adminToken;
  const org = (await h.call('POST', '/organisations', t, { name: 'УК Повтор' })).body.id;
  const b = (await h.call('POST', '/buildings', t, { org_id: org, external_id: 'RS', address: 'ул. Повторная, 1', timezone: 'UTC' })).body.id;
  premise = (await h.call('POST', '/premises', t, { building_id: b, number: '1', residents: 2 })).body.id;
  const m = async (serial: string) => {
    const r = await h.call('POST', '/meters', t, { placement: 'apartment', building_id: b, premise_id: premise, resource: 'cold_water', serial_number: serial, make: 'X', installed_on: '2020-01-10' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.id as number;
  };
  meter = await m('RS-1');
  meter2 = await m('RS-2');
  staff = await h.userToken('engineer', { buildingIds: [b] });
}, 60_000);
afterAll(async () => { await h?.close(); });

describe('a staff resend of the stored reading', () => {
  it('POST /meters/:id/readings: the same value at the same instant answers the stored version 1 and writes nothing; another value is version 2', async () => {
    const body = { time: '2026-03-16T08:00:00Z', value: 123.5, reason: 'обход' };
    const first = await h.call('POST', `/meters/${meter}/readings`, staff, body);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toMatchObject({ value: 123.5, version: 1, source: 'staff' });
    const auditsBefore = await audits(meter);
    const again = await h.call('POST', `/meters/${meter}/readings`, staff, body);
    expect(again.status).toBe(201);
    // The stored version itself, received when it was first written.
    expect(again.body).toEqual(first.body);
    expect(await versions(meter)).toEqual([['2026-03-16T08:00:00.000Z', 123.5, 1, 'staff']]);
    expect(await audits(meter)).toBe(auditsBefore);
    // A different value at the instant is a real change: version 2.
    const changed = await h.call('POST', `/meters/${meter}/readings`, staff, { ...body, value: 124 });
    expect(changed.status).toBe(201);
    expect(changed.body).toMatchObject({ value: 124, version: 2 });
    expect(await versions(meter)).toEqual([['2026-03-16T08:00:00.000Z', 123.5, 1, 'staff'], ['2026-03-16T08:00:00.000Z', 124, 2, 'staff']]);
  });

  it('POST /premises/:id/readings: the window entry sent twice is unchanged the second time, like a resident\'s', async () => {
    const first = await h.call('POST', `/premises/${premise}/readings`, staff, { readings: [{ meter_id: meter2, value: 40 }] });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body.readings).toEqual([expect.objectContaining({ meter_id: meter2, time: WINDOW_START, value: 40, version: 1, unchanged: false })]);
    const again = await h.call('POST', `/premises/${premise}/readings`, staff, { readings: [{ meter_id: meter2, value: 40 }] });
    expect(again.status).toBe(201);
    expect(again.body.readings).toEqual([expect.objectContaining({ meter_id: meter2, time: WINDOW_START, value: 40, version: 1, unchanged: true })]);
    expect(await versions(meter2)).toEqual([[WINDOW_START, 40, 1, 'staff']]);
  });

  it('a correction with the same value is deliberate: it is written as a new version with its reason', async () => {
    const r = await h.call('POST', `/meters/${meter2}/readings/corrections`, staff, { time: WINDOW_START, quantity: 'volume_m3', value: 40, reason: 'сверка с актом' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.current).toMatchObject({ value: 40, version: 2, reason: 'сверка с актом' });
    expect(await versions(meter2)).toEqual([[WINDOW_START, 40, 1, 'staff'], [WINDOW_START, 40, 2, 'staff']]);
  });
});
