/**
 * An inspector's entry that waited on the phone without signal is dated by when it was taken: the
 * collection window is judged at `taken_at` (readings core, judge.ts queuedEntryInstant), for every staff
 * entry path. Building in UTC, window 15th–25th (the defaults). The head-end's clock is fixed at
 * 26 March 2026 00:10 UTC — the window closed ten minutes ago.
 *
 * By hand: taken 25 March 23:50 → inside the March window → dated at the window's start, 15 March 00:00,
 * like every March entry. An operator (no right to enter outside the window) sending the same value now
 * without `taken_at` is refused "window closed". A `taken_at` ahead of the clock (a phone set to the
 * wrong day) or more than 72 h old is refused and names why; nothing is written by a refused request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';
import { fixedClock } from '../../src/util/clock.js';
import { queuedEntryInstant } from '../../src/readings/judge.js';

let h: Harness;
let premise: number, building: number, m1: number, m2: number, odpu: number;
let operator: string;

const stored = async (m: number) => (await h.opened.db.query<{ time: Date; value: number; version: number; source: string }>(
  'SELECT time, value, version, source FROM readings WHERE meter_id = $1 ORDER BY time, version', [m])).rows
  .map((r) => [new Date(r.time).toISOString(), Number(r.value), Number(r.version), r.source]);

beforeAll(async () => {
  h = await startHarness({ clock: fixedClock('2026-03-26T00:10:00Z') });
  const t = h.adminToken;
  const org = (await h.call('POST', '/organisations', t, { name: 'УК Подвал' })).body.id;
  building = (await h.call('POST', '/buildings', t, { org_id: org, external_id: 'QE', address: 'ул. Подвальная, 3', timezone: 'UTC' })).body.id;
  premise = (await h.call('POST', '/premises', t, { building_id: building, number: '7', residents: 1 })).body.id;
  const meter = async (serial: string, placement: string, premiseId: number | null) => {
    const r = await h.call('POST', '/meters', t, { placement, building_id: building, ...(premiseId ? { premise_id: premiseId } : {}), resource: 'cold_water', serial_number: serial, make: 'X', installed_on: '2020-01-10' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.id as number;
  };
  m1 = await meter('QE-1', 'apartment', premise);
  m2 = await meter('QE-2', 'apartment', premise);
  odpu = await meter('QE-B', 'building', null);
  operator = await h.userToken('operator', { buildingIds: [building] });
}, 60_000);
afterAll(async () => { await h?.close(); });

describe('an entry queued on a phone', () => {
  it('sent after the window closed without taken_at: refused, window closed (the operator may not enter outside it)', async () => {
    const r = await h.call('POST', `/premises/${premise}/readings`, operator, { readings: [{ meter_id: m1, value: 12.5 }] });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('collection window is closed');
    expect(await stored(m1)).toEqual([]);
  });

  it('taken at 23:50 on the 25th, sent at 00:10 on the 26th: accepted and dated in the March window, as if sent when taken', async () => {
    const r = await h.call('POST', `/premises/${premise}/readings`, operator, { readings: [{ meter_id: m1, value: 12.5, taken_at: '2026-03-25T23:50:00Z' }] });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.readings).toEqual([expect.objectContaining({ meter_id: m1, time: '2026-03-15T00:00:00.000Z', value: 12.5, version: 1 })]);
    // Sent again (the answer was lost on the way back): the stored version answers, nothing new.
    const again = await h.call('POST', `/premises/${premise}/readings`, operator, { readings: [{ meter_id: m1, value: 12.5, taken_at: '2026-03-25T23:50:00Z' }] });
    expect(again.status).toBe(201);
    expect(again.body.readings[0]).toMatchObject({ version: 1, unchanged: true });
    expect(await stored(m1)).toEqual([['2026-03-15T00:00:00.000Z', 12.5, 1, 'staff']]);
    // An auditor asking who entered after the window closed sees it was taken before: on the version and in the journal.
    const why = (await h.opened.db.query<{ reason: string }>('SELECT reason FROM readings WHERE meter_id = $1', [m1])).rows[0].reason;
    expect(why).toBe('queued offline, taken at 2026-03-25T23:50:00.000Z');
    const journal = (await h.opened.db.query<{ reason: string }>("SELECT reason FROM audit_log WHERE entity = 'reading' AND entity_id LIKE $1", [`${m1}/%`])).rows;
    expect(journal).toEqual([{ reason: 'queued offline, taken at 2026-03-25T23:50:00.000Z' }]);
  });

  it('the building meters path judges taken_at the same way', async () => {
    const r = await h.call('POST', `/buildings/${building}/readings`, operator, { readings: [{ meter_id: odpu, value: 900, taken_at: '2026-03-24T09:00:00+03:00' }] });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(await stored(odpu)).toEqual([['2026-03-15T00:00:00.000Z', 900, 1, 'staff']]);
  });

  it('taken_at ahead of the server clock (no sent_at to measure the wait by): refused, names the clocks; nothing written', async () => {
    const r = await h.call('POST', `/premises/${premise}/readings`, operator, { readings: [{ meter_id: m2, value: 3, taken_at: '2026-03-26T09:00:00Z' }] });
    expect(r.status).toBe(400);
    expect(r.body.details).toEqual([expect.objectContaining({ path: 'readings.0', message: expect.stringContaining("ahead of the server's clock") })]);
    expect(await stored(m2)).toEqual([]);
  });

  it('taken more than 72 h before sending: refused, enter it again; one bad item refuses the whole request', async () => {
    const r = await h.call('POST', `/premises/${premise}/readings`, operator, { readings: [
      { meter_id: m1, value: 13, taken_at: '2026-03-25T20:00:00Z' },
      { meter_id: m2, value: 3, taken_at: '2026-03-22T23:00:00Z' },
    ] });
    expect(r.status).toBe(400);
    expect(r.body.details).toEqual([expect.objectContaining({ path: 'readings.1', message: expect.stringContaining('more than 72 h before it was sent') })]);
    expect(await stored(m2)).toEqual([]);
    expect(await stored(m1)).toEqual([['2026-03-15T00:00:00.000Z', 12.5, 1, 'staff']]);
  });

  it("a phone whose clock is a day behind: taken_at and sent_at on its clock measure a 20-minute wait, so it is dated in the window", async () => {
    // The phone thinks it is 25 March 00:10 when sending; it took the reading 20 minutes earlier by its clock.
    // On the server's clock that is 25 March 23:50 — inside the window.
    const r = await h.call('POST', `/premises/${premise}/readings`, operator, { readings: [{ meter_id: m2, value: 4, taken_at: '2026-03-24T23:50:00Z' }], sent_at: '2026-03-25T00:10:00Z' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(await stored(m2)).toEqual([['2026-03-15T00:00:00.000Z', 4, 1, 'staff']]);
    // A phone claiming it sent before it took: the wait is negative, i.e. ahead of the server clock.
    const odd = await h.call('POST', `/premises/${premise}/readings`, operator, { readings: [{ meter_id: m2, value: 5, taken_at: '2026-03-25T01:00:00Z' }], sent_at: '2026-03-25T00:10:00Z' });
    expect(odd.status).toBe(400);
    expect(odd.body.details[0].message).toContain("ahead of the server's clock");
  });

  it('the bounds, by the pure rule: exactly 72 h old and 5 min ahead are accepted; a second more of either is refused', () => {
    const now = new Date('2026-03-26T00:10:00Z');
    const s = { enabled: true, window_start_day: 15, window_end_day: 25, integer_only: false, accept_expired_verification: false, reminder_days: [], warn_factor: 3 };
    const at = (iso: string) => queuedEntryInstant(new Date(iso), now, 'UTC', s);
    expect(at('2026-03-23T00:10:00Z')).toEqual({ time: new Date('2026-03-15T00:00:00Z'), inWindow: true });
    expect(at('2026-03-23T00:09:59Z')).toMatchObject({ code: 'taken_too_long_ago' });
    // Taken after the window closed (and within the bounds): dated when taken, outside the window.
    expect(at('2026-03-26T00:15:00Z')).toEqual({ time: new Date('2026-03-26T00:15:00Z'), inWindow: false });
    // …to the minute, so a resend whose wait is measured a few ms differently lands on the same instant.
    expect(at('2026-03-26T00:01:59.997Z')).toEqual({ time: new Date('2026-03-26T00:01:00Z'), inWindow: false });
    expect(at('2026-03-26T00:15:01Z')).toMatchObject({ code: 'future' });
  });
});
