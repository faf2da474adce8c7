/**
 * Meter replacement through the HTTP API on a real embedded head-end: undo of the last operation
 * (state, withdrawn readings, audit), undo refused once billed or when not the last operation, one
 * operation per LOCAL day of the building (Europe/Moscow, UTC+3), and the removal/installation
 * readings changed only through the replacement — a hand edit is refused, a correction through
 * PATCH /replacements/:id reaches both the record and billing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';
import { fixedClock } from '../../src/util/clock.js';

let h: Harness;
let org = 0;
let b = 0;
let flats = 0;

async function one<T = unknown>(sql: string, params: unknown[] = []): Promise<T> {
  return (await h.opened.db.query<T>(sql, params)).rows[0];
}
/** A flat with an account and a cold-water meter in the Moscow building. */
async function flatWithMeter(): Promise<{ premise: number; meter: number }> {
  const n = ++flats;
  const premise = (await h.call('POST', '/premises', h.adminToken, { building_id: b, number: String(n), residents: 2, area_m2: 50 })).body.id;
  await one(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3)`, [org, `LS-${n}`, premise]);
  const meter = (await h.call('POST', '/meters', h.adminToken, { placement: 'apartment', premise_id: premise, resource: 'cold_water', make: 'Pulsar', serial_number: `CW-${n}` })).body.id;
  return { premise, meter };
}
async function enter(meter: number, time: string, value: number) {
  const r = await h.call('POST', `/meters/${meter}/readings`, h.adminToken, { time, value });
  expect(r.status).toBe(201);
}
async function replace(meter: number, replaced_at: string, removal: number, installation: number, serial: string) {
  return h.call('POST', `/meters/${meter}/replacement`, h.adminToken, { replaced_at, removal_reading: removal, installation_reading: installation, work_order: `WO-${serial}`, new_meter: { make: 'Pulsar', serial_number: serial } });
}
/** The current version at one instant (versions=current), or undefined. */
async function currentAt(meter: number, iso: string) {
  const to = new Date(new Date(iso).getTime() + 1000).toISOString();
  const r = await h.call('GET', `/meters/${meter}/readings?from=${iso}&to=${to}`, h.adminToken);
  return r.body.raw[0];
}
async function januaryLines() {
  const c = await h.call('POST', '/billing/periods/2025-01/compute', h.adminToken, { building_id: b });
  expect(c.status).toBe(200);
  const { rows } = await h.opened.db.query(`SELECT meter_id, method, quantity, amount_kop FROM accrual_lines WHERE period = '2025-01-01' AND building_id = $1 ORDER BY meter_id`, [b]);
  return rows.map((r) => [Number(r.meter_id), r.method, Number(r.quantity), Number(r.amount_kop)]);
}

beforeAll(async () => {
  // The API's "now" is fixed after every date below (2025 and March 2026), so no case depends on the day it runs.
  h = await startHarness({ clock: fixedClock('2026-04-15T12:00:00+03:00') });
  org = (await h.call('POST', '/organisations', h.adminToken, { name: 'УК Заречье' })).body.id;
  // Readings here close a month at its bound (1 Feb 00:00 closes January): the calendar rule, interpolated
  // to the month's bounds (the window rule would give a 1 Feb reading to February).
  b = (await h.call('POST', '/buildings', h.adminToken, { org_id: org, external_id: 'Z-1', address: 'ул. Садовая, 3', timezone: 'Europe/Moscow', period_attribution: 'calendar' })).body.id;
  await one(`INSERT INTO billing_tariffs (org_id, resource, valid_from, tariff) VALUES ($1, 'cold_water', '2025-01-01', '{"kind":"single","price":50}')`, [org]);
  await one(`INSERT INTO billing_norms (org_id, resource, valid_from, per_resident) VALUES ($1, 'cold_water', '2025-01-01', 4.5)`, [org]);
}, 120_000);
afterAll(async () => { await h?.close(); });

describe('undo of the last replacement', () => {
  it('puts both meters back, withdraws the two readings as NULL versions, audits, and billing sees no replacement', async () => {
    const { meter } = await flatWithMeter();
    await enter(meter, '2025-01-01T00:00:00+03:00', 100);
    await enter(meter, '2025-01-10T00:00:00+03:00', 109);
    // The wrong flat's meter was swapped (removal reading 110): the whole swap is undone.
    const r = await replace(meter, '2025-01-15T09:00:00Z', 110, 0, 'U-NEW');
    expect(r.status).toBe(201);
    const rep = r.body.replacement.id;
    const neu = r.body.new_meter.id;

    const u = await h.call('DELETE', `/meters/${meter}/replacement?reason=wrong%20flat`, h.adminToken);
    expect(u.status).toBe(200);
    expect(u.body).toMatchObject({ id: rep, undone_by: 'admin', undo_reason: 'wrong flat' });
    expect(u.body.undone_at).not.toBeNull();
    // The old meter as before the replacement; the one the replacement created is out of service.
    expect((await h.call('GET', `/meters/${meter}`, h.adminToken)).body).toMatchObject({ status: 'active', decommissioned_on: null });
    expect((await h.call('GET', `/meters/${neu}`, h.adminToken)).body).toMatchObject({ status: 'removed', installed_on: null, decommissioned_on: null });
    // Readings are never deleted: version 1 (110) stays, version 2 is the NULL withdrawal naming who and why.
    const all = await h.call('GET', `/meters/${meter}/readings?from=2025-01-15T09:00:00Z&to=2025-01-15T09:00:01Z&versions=all`, h.adminToken);
    expect(all.body.raw.map((x: { version: number; value: number | null }) => [x.version, x.value])).toEqual([[1, 110], [2, null]]);
    expect(all.body.raw[1].reason).toBe(`replacement ${rep} undone by admin: wrong flat`);
    expect((await currentAt(neu, '2025-01-15T09:00:00Z')).value).toBeNull();
    // Audited: the undo, both withdrawals, the old meter restored, the new one removed.
    const { rows: audit } = await h.opened.db.query(
      `SELECT action, entity, entity_id FROM audit_log WHERE id > (SELECT max(id) FROM audit_log WHERE entity = 'meter_replacement' AND action = 'create' AND entity_id = $1) ORDER BY id`, [String(rep)]);
    expect(audit.map((a) => `${a.action} ${a.entity} ${a.entity_id.split('/')[0]}`)).toEqual([
      `withdraw reading ${meter}`, `withdraw reading ${neu}`, `restore meter ${meter}`, `remove meter ${neu}`, `undo meter_replacement ${rep}`,
    ]);
    // The list shows the row, marked undone.
    expect((await h.call('GET', `/meters/${meter}/replacements`, h.adminToken)).body).toMatchObject([{ id: rep, undone_by: 'admin' }]);

    // Billing as if no replacement happened: only the old meter. Its next reading is 140 on 10 Feb, so 1 Feb is
    // interpolated between 109 (10 Jan) and 140 (10 Feb): 31 m³ over 31 days, 22 days to 1 Feb → 109 + 22 = 131;
    // January = 131 − 100 = 31 m³ × 50 ₽ = 1550 ₽. Had the withdrawn 110 (15 Jan 12:00 local) still counted, 1 Feb
    // would be interpolated from it: 110 + 30 × 16.5/25.5 days ≈ 129.41, i.e. ≈ 29.41 m³ (1470.59 ₽); had the undone replacement
    // still counted, the point would be named by the new meter (which has no reading) and charged by norm.
    await enter(meter, '2025-02-10T00:00:00+03:00', 140);
    const jan = (await januaryLines()).filter(([m]) => m === meter || m === neu);
    expect(jan.map(([m, method, , kop]) => [m, method, kop])).toEqual([[meter, 'measured', 155000]]);
    expect(jan[0][2]).toBeCloseTo(31, 9);

    // Undone, nothing is left to undo.
    expect((await h.call('DELETE', `/meters/${meter}/replacement`, h.adminToken)).status).toBe(404);
  });

  it('an undone replacement does not count for the one-a-day rule; the same meters can be swapped again at the same instant', async () => {
    const { meter } = await flatWithMeter();
    await enter(meter, '2025-01-02T00:00:00Z', 50);
    const first = await replace(meter, '2025-01-16T09:00:00Z', 51, 0, 'R-NEW');
    expect((await h.call('DELETE', `/meters/${meter}/replacement`, h.adminToken)).status).toBe(200);
    // The new meter (now removed, with a withdrawn reading at that instant) goes in again by id.
    const again = await h.call('POST', `/meters/${meter}/replacement`, h.adminToken, { replaced_at: '2025-01-16T09:00:00Z', removal_reading: 51.5, installation_reading: 0.5, new_meter_id: first.body.new_meter.id });
    expect(again.status).toBe(201);
    expect((await currentAt(meter, '2025-01-16T09:00:00Z'))).toMatchObject({ value: 51.5, version: 3 });
    expect((await h.call('GET', `/meters/${first.body.new_meter.id}`, h.adminToken)).body.status).toBe('active');
  });

  it('is refused with 409 once a billing period from the replacement month on was computed', async () => {
    const { meter } = await flatWithMeter();
    await enter(meter, '2025-01-01T00:00:00+03:00', 200);
    const r = await replace(meter, '2025-01-20T10:00:00Z', 205, 1, 'B-NEW');
    const neu = r.body.new_meter.id;
    await enter(neu, '2025-02-01T00:00:00+03:00', 4);
    // (205 − 200) + (4 − 1) = 8 m³ × 50 ₽ = 400 ₽, one line named by the new meter.
    expect((await januaryLines()).filter(([m]) => m === neu)).toEqual([[neu, 'measured', 8, 40000]]);
    const u = await h.call('DELETE', `/meters/${neu}/replacement`, h.adminToken);
    expect(u.status).toBe(409);
    expect(u.body.message).toBe(`replacement ${r.body.replacement.id} cannot be undone: its readings were already used in the billing of 2025-01 (meter ${neu}); `
      + `correct its readings with PATCH /replacements/${r.body.replacement.id} instead, or recalculate after a correction`);
    expect((await h.call('GET', `/meters/${meter}`, h.adminToken)).body.status).toBe('removed');
    expect((await currentAt(meter, '2025-01-20T10:00:00Z')).value).toBe(205);
  });

  /** An organisation of its own (closing a month is organisation-wide): a Moscow building with a cold-water tariff and norm. */
  async function ownOrg(name: string): Promise<{ orgId: number; building: number }> {
    const orgId = (await h.call('POST', '/organisations', h.adminToken, { name })).body.id;
    const building = (await h.call('POST', '/buildings', h.adminToken, { org_id: orgId, external_id: name, address: `ул. ${name}, 1`, timezone: 'Europe/Moscow', period_attribution: 'calendar' })).body.id;
    await one(`INSERT INTO billing_tariffs (org_id, resource, valid_from, tariff) VALUES ($1, 'cold_water', '2025-01-01', '{"kind":"single","price":50}')`, [orgId]);
    await one(`INSERT INTO billing_norms (org_id, resource, valid_from, per_resident) VALUES ($1, 'cold_water', '2025-01-01', 4.5)`, [orgId]);
    return { orgId, building };
  }

  it('is refused with 409 once the replacement month is closed, even when no line names its meters', async () => {
    const { orgId, building } = await ownOrg('Закрытая');
    // Flat 1 has an account and no meter (a norm line); flat 2 has a meter and no account (no line at all).
    const p1 = (await h.call('POST', '/premises', h.adminToken, { building_id: building, number: '1', residents: 2, area_m2: 50 })).body.id;
    await one(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, 'LS-C1', $2)`, [orgId, p1]);
    const p2 = (await h.call('POST', '/premises', h.adminToken, { building_id: building, number: '2', residents: 1, area_m2: 30 })).body.id;
    const meter = (await h.call('POST', '/meters', h.adminToken, { placement: 'apartment', premise_id: p2, resource: 'cold_water', make: 'Pulsar', serial_number: 'CL-1' })).body.id;
    await enter(meter, '2025-01-01T00:00:00+03:00', 10);
    const r = await replace(meter, '2025-01-20T10:00:00Z', 12, 0, 'CL-2');
    expect(r.status).toBe(201);
    expect((await h.call('POST', '/billing/periods/2025-01/compute', h.adminToken, { building_id: building })).status).toBe(200);
    const named = await one<{ n: number }>(`SELECT count(*)::int AS n FROM accrual_lines WHERE meter_id = ANY($1::bigint[])`, [[meter, r.body.new_meter.id]]);
    expect(named.n).toBe(0);
    expect((await h.call('POST', '/billing/periods/2025-01/close', h.adminToken, { org_id: orgId })).status).toBe(204);
    const u = await h.call('DELETE', `/meters/${meter}/replacement`, h.adminToken);
    expect(u.status).toBe(409);
    expect(u.body.message).toBe(`replacement ${r.body.replacement.id} cannot be undone: billing period 2025-01 is closed; `
      + `correct its readings with PATCH /replacements/${r.body.replacement.id} instead, or recalculate after a correction`);
    expect((await h.call('GET', `/meters/${meter}`, h.adminToken)).body.status).toBe('removed');
    expect((await currentAt(meter, '2025-01-20T10:00:00Z')).value).toBe(12);
  });

  it('of a building meter (ОДПУ) is refused once its building was billed for that resource: common-house lines name no meter', async () => {
    const { orgId, building } = await ownOrg('Общедомовая');
    const odpu = (await h.call('POST', '/meters', h.adminToken, { placement: 'building', building_id: building, resource: 'cold_water', make: 'Взлёт', serial_number: 'OD-1' })).body.id;
    const flat = (await h.call('POST', '/premises', h.adminToken, { building_id: building, number: '1', residents: 2, area_m2: 50 })).body.id;
    await one(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, 'LS-OD1', $2)`, [orgId, flat]);
    await enter(odpu, '2025-01-01T00:00:00+03:00', 1000);
    const r = await replace(odpu, '2025-01-20T10:00:00Z', 1040, 0, 'OD-2');
    expect(r.status).toBe(201);
    await enter(r.body.new_meter.id, '2025-02-01T00:00:00+03:00', 25);
    expect((await h.call('POST', '/billing/periods/2025-01/compute', h.adminToken, { building_id: building })).status).toBe(200);
    // The flat's lines exist (norm, and common-house when the ОДПУ is read); none names the ОДПУ.
    const lines = await one<{ n: number; named: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE meter_id IS NOT NULL)::int AS named FROM accrual_lines WHERE building_id = $1 AND resource = 'cold_water'`, [building]);
    expect(lines.n).toBeGreaterThan(0);
    expect(lines.named).toBe(0);
    const u = await h.call('DELETE', `/meters/${odpu}/replacement`, h.adminToken);
    expect(u.status).toBe(409);
    expect(u.body.message).toBe(`replacement ${r.body.replacement.id} cannot be undone: its readings were already used in the billing of 2025-01 `
      + `(building ${building}, cold_water: a building meter); correct its readings with PATCH /replacements/${r.body.replacement.id} instead, or recalculate after a correction`);
    expect((await h.call('GET', `/meters/${odpu}`, h.adminToken)).body.status).toBe('removed');
  });

  it('is refused for an operation that is not the last one: A → B, then B → C; undo B → C first', async () => {
    const { meter: a } = await flatWithMeter();
    await enter(a, '2025-03-01T00:00:00Z', 10);
    const ab = await replace(a, '2025-03-02T09:00:00Z', 11, 0, 'L-B');
    const bId = ab.body.new_meter.id;
    const bc = await replace(bId, '2025-03-04T09:00:00Z', 2, 0, 'L-C');
    expect(bc.status).toBe(201);
    const u = await h.call('DELETE', `/meters/${a}/replacement`, h.adminToken);
    expect(u.status).toBe(409);
    expect(u.body.message).toMatch(new RegExp(`^replacement ${ab.body.replacement.id} is not the last operation of its meters: replacement ${bc.body.replacement.id} .*undo that one first$`));
    expect((await h.call('DELETE', `/meters/${bId}/replacement`, h.adminToken)).body.id).toBe(bc.body.replacement.id);
    expect((await h.call('DELETE', `/meters/${a}/replacement`, h.adminToken)).status).toBe(200);
    expect((await h.call('GET', `/meters/${a}`, h.adminToken)).body.status).toBe('active');
  });

  it('an engineer of another organisation cannot undo (the meter is not found for them)', async () => {
    const { meter } = await flatWithMeter();
    await enter(meter, '2025-03-01T00:00:00Z', 1);
    expect((await replace(meter, '2025-03-03T09:00:00Z', 2, 0, 'X-NEW')).status).toBe(201);
    const otherOrg = (await h.call('POST', '/organisations', h.adminToken, { name: 'УК Чужая' })).body.id;
    const otherB = (await h.call('POST', '/buildings', h.adminToken, { org_id: otherOrg, external_id: 'X', address: 'ул. Чужая, 1' })).body.id;
    const t = await h.userToken('engineer', { buildingIds: [otherB] });
    expect((await h.call('DELETE', `/meters/${meter}/replacement`, t)).status).toBe(404);
    expect((await h.call('GET', `/meters/${meter}`, h.adminToken)).body.status).toBe('removed');
  });

  it('another organisation\'s engineer cannot correct a replacement, and the 404 reads as for an id that does not exist', async () => {
    const { meter } = await flatWithMeter();
    await enter(meter, '2025-03-01T00:00:00Z', 1);
    const r = await replace(meter, '2025-03-03T09:00:00Z', 2, 0, 'P-NEW');
    expect(r.status).toBe(201);
    const id = r.body.replacement.id;
    const otherOrg = (await h.call('POST', '/organisations', h.adminToken, { name: 'УК Соседняя' })).body.id;
    const otherB = (await h.call('POST', '/buildings', h.adminToken, { org_id: otherOrg, external_id: 'S', address: 'ул. Соседняя, 2' })).body.id;
    const t = await h.userToken('engineer', { buildingIds: [otherB] });
    const theirs = await h.call('PATCH', `/replacements/${id}`, t, { removal_reading: 3, reason: 'probing' });
    const none = await h.call('PATCH', `/replacements/${id + 100000}`, t, { removal_reading: 3, reason: 'probing' });
    expect([theirs.status, none.status]).toEqual([404, 404]);
    // The tenancy resolver answers both alike, naming no id.
    expect(theirs.body.message).toBe('replacement not found');
    expect(none.body.message).toBe(theirs.body.message);
    // Nothing changed: the record is at version 1 and the removal reading is still 2.
    expect((await h.call('GET', `/meters/${meter}/replacements`, h.adminToken)).body).toMatchObject([{ id, version: 1, removal_reading: 2 }]);
    expect((await currentAt(meter, '2025-03-03T09:00:00Z')).value).toBe(2);
  });
});

describe('replacement date against the clock (the API\'s now: 15 Apr 2026 12:00 Moscow)', () => {
  it('a typo\'d year in the future or the distant past is refused naming replaced_at; the meter stays in service', async () => {
    const { meter } = await flatWithMeter();
    await enter(meter, '2026-03-01T00:00:00Z', 10);
    const future = await replace(meter, '2062-04-10T09:00:00Z', 12, 0, 'Y-2062');
    expect(future.status).toBe(400);
    expect(future.body.message).toBe('replaced_at 2062-04-10T09:00:00.000Z is in the future; a replacement is dated when it was done');
    expect(future.body.details).toEqual([{ path: 'body.replaced_at', message: future.body.message }]);
    const past = await replace(meter, '1926-04-10T09:00:00Z', 12, 0, 'Y-1926');
    expect(past.status).toBe(400);
    expect(past.body.message).toBe('replaced_at 1926-04-10T09:00:00.000Z is not a plausible date; check the year');
    expect((await h.call('GET', `/meters/${meter}`, h.adminToken)).body.status).toBe('active');
    expect((await h.call('GET', `/meters/${meter}/replacements`, h.adminToken)).body).toEqual([]);
    // Three minutes after the clock (within the readings core's 5-minute skew) is accepted: 12:03 Moscow = 09:03Z.
    expect((await replace(meter, '2026-04-15T09:03:00Z', 12, 0, 'Y-NOW')).status).toBe(201);
  });
});

describe('one replacement operation per meter per local day (Europe/Moscow, UTC+3)', () => {
  it('consecutive local days on one UTC date are allowed; one local day across two UTC dates is refused', async () => {
    const { meter: x } = await flatWithMeter();
    await enter(x, '2026-03-01T00:00:00Z', 10);
    // 2026-03-10T10:00Z = 10 March 13:00 in Moscow.
    const xy = await replace(x, '2026-03-10T10:00:00Z', 12, 0, 'D-Y');
    expect(xy.status).toBe(201);
    const y = xy.body.new_meter.id;
    // 2026-03-10T22:30Z = 11 March 01:30 in Moscow: the next local day, though the same UTC date as above.
    const yz = await replace(y, '2026-03-10T22:30:00Z', 1, 0, 'D-Z');
    expect(yz.status).toBe(201);
    const z = yz.body.new_meter.id;
    // 2026-03-11T20:00Z = 11 March 23:00 in Moscow: the same local day as Y → Z, though another UTC date.
    const zw = await replace(z, '2026-03-11T20:00:00Z', 1, 0, 'D-W');
    expect(zw.status).toBe(409);
    expect(zw.body.message).toBe(`meter ${z} already has a replacement on 2026-03-11 (Europe/Moscow): replacement ${yz.body.replacement.id}; one replacement operation per meter per day`);
    // The removal/installation days are local too: Y went in on 10 March and out on 11 March.
    expect((await h.call('GET', `/meters/${y}`, h.adminToken)).body).toMatchObject({ installed_on: '2026-03-10', decommissioned_on: '2026-03-11' });
  });

  it('two offices replacing the same meter at once: one wins (201), the other is told it was removed (409); one record, one new meter', async () => {
    const { meter } = await flatWithMeter();
    await enter(meter, '2026-03-01T00:00:00Z', 10);
    const [a, b2] = await Promise.all([replace(meter, '2026-03-20T09:00:00Z', 12, 0, 'RACE-A'), replace(meter, '2026-03-20T10:00:00Z', 12.5, 0, 'RACE-B')]);
    expect([a.status, b2.status].sort()).toEqual([201, 409]);
    const lost = a.status === 409 ? a : b2;
    expect(lost.body.message).toBe(`meter ${meter} was already removed`);
    expect((await h.call('GET', `/meters/${meter}/replacements`, h.adminToken)).body).toHaveLength(1);
    const created = await one<{ n: number }>(`SELECT count(*)::int AS n FROM meters WHERE serial_number IN ('RACE-A', 'RACE-B')`);
    expect(created.n).toBe(1);
  });
});

describe('removal and installation readings change only through the replacement', () => {
  it('a hand entry, a correction or a rejection at that instant is refused; PATCH /replacements/:id reaches the record and billing', async () => {
    const { meter } = await flatWithMeter();
    await enter(meter, '2025-01-01T00:00:00+03:00', 300);
    const at = '2025-01-15T12:00:00Z';
    const r = await replace(meter, at, 310, 2, 'C-NEW');
    const rep = r.body.replacement.id;
    const neu = r.body.new_meter.id;
    await enter(neu, '2025-02-01T00:00:00+03:00', 7);

    const hand = await h.call('POST', `/meters/${meter}/readings`, h.adminToken, { time: at, value: 308 });
    expect(hand.status).toBe(409);
    expect(hand.body.message).toBe(`meter ${(await h.call('GET', `/meters/${meter}`, h.adminToken)).body.serial_number}: the reading at 2025-01-15T12:00:00.000Z is the removal reading of replacement ${rep}; `
      + `correct it through the replacement: PATCH /replacements/${rep} with removal_reading and reason`);
    const corr = await h.call('POST', `/meters/${neu}/readings/corrections`, h.adminToken, { time: at, quantity: 'volume_m3', value: 3, reason: 'typo' });
    expect(corr.status).toBe(409);
    expect(corr.body.message).toMatch(`is the installation reading of replacement ${rep}`);
    const reject = await h.call('POST', `/meters/${meter}/readings/review`, h.adminToken, { time: at, decision: 'reject', reason: 'looks wrong' });
    expect(reject.status).toBe(409);
    // Nothing was written by the refused calls: still one version.
    expect((await currentAt(meter, at))).toMatchObject({ value: 310, version: 1 });

    // A removal reading below the last reading (300) is refused, not read as a rollover.
    const low = await h.call('PATCH', `/replacements/${rep}`, h.adminToken, { removal_reading: 299, reason: 'typo on the work order' });
    expect(low.status).toBe(400);
    expect(low.body.details[0].path).toBe('body.removal_reading');
    const none = await h.call('PATCH', `/replacements/${rep}`, h.adminToken, { reason: 'nothing' });
    expect(none.status).toBe(400);

    const ok = await h.call('PATCH', `/replacements/${rep}`, h.adminToken, { removal_reading: 308, reason: 'typo on the work order' });
    expect(ok.status).toBe(200);
    expect(ok.body.replacement).toMatchObject({ id: rep, version: 2, removal_reading: 308, installation_reading: 2 });
    expect(ok.body.versions.map((v: { version: number; removal_reading: number | null; installation_reading: number | null; changed_by: string; reason: string | null }) => [v.version, v.removal_reading, v.installation_reading, v.changed_by, v.reason])).toEqual([
      [1, 310, 2, 'admin', null], [2, 308, 2, 'admin', 'typo on the work order'],
    ]);
    const cur = await currentAt(meter, at);
    expect(cur).toMatchObject({ value: 308, version: 2, created_by: 'admin' });
    expect(cur.reason).toBe(`removal reading, correction of replacement ${rep} by admin: typo on the work order`);
    expect((await one<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'correct' AND entity = 'meter_replacement' AND entity_id = $1 AND reason = 'typo on the work order'`, [String(rep)])).n).toBe(1);

    // Billing: (removal − last of old) + (current − installation of new) = (308 − 300) + (7 − 2) = 13 m³ × 50 ₽ = 650 ₽.
    expect((await januaryLines()).filter(([m]) => m === neu)).toEqual([[neu, 'measured', 13, 65000]]);
  });
});

describe("the replacement's readings pass the readings core's rules", () => {
  it('an installation reading that does not fit the new meter\'s 5 digits is refused, naming it; nothing changes', async () => {
    const { meter } = await flatWithMeter();
    await enter(meter, '2025-01-10T00:00:00+03:00', 120);
    const r = await h.call('POST', `/meters/${meter}/replacement`, h.adminToken, {
      replaced_at: '2025-01-18T10:00:00Z', removal_reading: 121, installation_reading: 123456, work_order: 'WO-D5',
      new_meter: { make: 'Pulsar', serial_number: `D5-${meter}`, register_digits: 5 },
    });
    // 123 456 needs 6 digits; a 5-digit register shows at most 99 999 (readings/judge.ts too_many_digits).
    expect(r.status).toBe(400);
    expect(r.body.details[0]).toMatchObject({ path: 'body.installation_reading', message: expect.stringContaining("does not fit the register's 5 digits") });
    expect((await h.call('GET', `/meters/${meter}`, h.adminToken)).body.status).toBe('active');
    expect((await one<{ n: number }>(`SELECT count(*)::int AS n FROM meters WHERE serial_number = $1`, [`D5-${meter}`])).n).toBe(0);
  });
});
