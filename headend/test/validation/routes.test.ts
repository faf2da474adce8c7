/**
 * Validation API on a real embedded PGlite-TimescaleDB: verdicts per meter, a building's flagged
 * readings, accept/reject reviews (audited, re-validated, permission- and scope-checked) and gap
 * estimates (source 'estimate', flagged 'estimated', never over a stored reading).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { camelKeys } from '../dashboard/wire-keys.js';
import { startHarness, type Harness } from '../api/harness.js';
import { startValidator, type Validator } from '../../src/validation/index.js';
import type { AffectedPeriod } from '../../src/imbalance/types.js';

let h: Harness;
let v: Validator;
const affected: AffectedPeriod[] = [];
let bA: number, bB: number, flat: number, mA: number, mB: number, mGap: number;
let engineerA: string, engineerB: string, operatorA: string;
const H = 3_600_000;
const T0 = Date.UTC(2025, 0, 1);
const at = (i: number) => new Date(T0 + i * H).toISOString();
const range = `from=${at(0)}&to=${at(100)}`;

/** A row of GET /meters/:id/validations (the fields this test reads); verdict null until validated. */
interface ValidationRow {
  time: string; value: number; version: number; source: string; created_by: string | null;
  verdict: { status: string; reasons: { code: string }[] } | null; review: unknown;
}
interface ValidationsOut { quantity: string; rows: ValidationRow[] }
/** The answer of POST /meters/:id/estimates: the estimated readings. */
interface EstimatesOut { method: string; rows: { time: string; value: number; created_by: string }[] }

async function tele(meterId: number, rows: Array<[string, number]>) {
  await h.opened.db.query(
    `INSERT INTO readings (meter_id, time, quantity, value, unit, source)
     SELECT $1, t, 'volume_m3', v, 'm3', 'telemetry' FROM unnest($2::timestamptz[], $3::float8[]) AS k(t, v)`,
    [meterId, rows.map((r) => r[0]), rows.map((r) => r[1])],
  );
}

beforeAll(async () => {
  h = await startHarness();
  const t = h.adminToken;
  const org = (await h.call('POST', '/organisations', t, { name: 'УК' })).body.id;
  bA = (await h.call('POST', '/buildings', t, { org_id: org, external_id: 'A', address: 'A' })).body.id;
  bB = (await h.call('POST', '/buildings', t, { org_id: org, external_id: 'B', address: 'B' })).body.id;
  flat = (await h.call('POST', '/premises', t, { building_id: bA, number: '12' })).body.id;
  mA = (await h.call('POST', '/meters', t, { placement: 'apartment', premise_id: flat, resource: 'cold_water', make: 'T', serial_number: 'CW-12' })).body.id;
  mB = (await h.call('POST', '/meters', t, { placement: 'building', building_id: bB, resource: 'cold_water', make: 'T', serial_number: 'B-1' })).body.id;
  mGap = (await h.call('POST', '/meters', t, { placement: 'apartment', premise_id: flat, resource: 'hot_water', make: 'T', serial_number: 'HW-12' })).body.id;
  engineerA = await h.userToken('engineer', { buildingIds: [bA] });
  engineerB = await h.userToken('engineer', { buildingIds: [bB] });
  operatorA = await h.userToken('operator', { buildingIds: [bA] });
  // mA: a steady day before the range (a spike needs a day of baseline), then a decrease at t5 and a
  // jump at t6 back to the trend.
  await tele(mA, Array.from({ length: 24 }, (_, i): [string, number] => [at(i - 24), Number((9.76 + i * 0.01).toFixed(2))]));
  await tele(mA, [[at(0), 10], [at(1), 10.01], [at(2), 10.02], [at(3), 10.03], [at(4), 10.04], [at(5), 9], [at(6), 10.06]]);
  await tele(mB, [[at(0), 1], [at(1), 0.5]]);
  v = startValidator({ db: h.opened.db, logger: pino({ level: 'silent' }), intervalMs: 3_600_000, onAffected: (a) => { affected.push(...a); } });
}, 120_000);
afterAll(async () => {
  await v?.stop();
  await h?.close();
});

describe('GET /meters/:id/validations', () => {
  it('shows rows with verdict null until validated, then status and reasons', async () => {
    const before = await h.call<ValidationsOut>('GET', `/meters/${mA}/validations?${range}`, h.adminToken);
    expect(before.status).toBe(200);
    expect(before.body.quantity).toBe('volume_m3');
    expect(before.body.rows).toHaveLength(7);
    expect(before.body.rows.every((r) => r.verdict === null && r.review === null)).toBe(true);
    await v.drain();
    const after = await h.call('GET', `/meters/${mA}/validations?${range}`, h.adminToken);
    expect(after.body.rows[5]).toMatchObject({ time: at(5), value: 9, version: 1, source: 'telemetry', verdict: { status: 'invalid', reasons: [{ code: 'register_decreased' }] } });
    expect(after.body.rows[4].verdict.status).toBe('valid');
    const flagged = await h.call<ValidationsOut>('GET', `/meters/${mA}/validations?${range}&status=flagged`, h.adminToken);
    expect(flagged.body.rows.map((r) => r.time)).toEqual([at(5), at(6)]);
    const valid = await h.call('GET', `/meters/${mA}/validations?${range}&status=valid`, h.adminToken);
    expect(valid.body.rows).toHaveLength(5);
  });

  it('a reversed range is a 400; an unknown meter a 404', async () => {
    expect((await h.call('GET', `/meters/${mA}/validations?from=${at(5)}&to=${at(1)}`, h.adminToken)).status).toBe(400);
    const r = await h.call('GET', `/meters/999999/validations?${range}`, h.adminToken);
    expect(r.status).toBe(404);
    expect(r.body.message).toMatch(/meter/);
  });

  it('another building\'s engineer gets 404 (scope), the right one 200', async () => {
    expect((await h.call('GET', `/meters/${mA}/validations?${range}`, engineerB)).status).toBe(404);
    expect((await h.call('GET', `/meters/${mA}/validations?${range}`, engineerA)).status).toBe(200);
  });
});

describe('GET /buildings/:id/flagged', () => {
  it('lists unreviewed suspect/invalid current readings with meter, serial, placement, premise', async () => {
    const r = await h.call<{ rows: { time: string }[] }>('GET', `/buildings/${bA}/flagged?${range}`, engineerA);
    expect(r.status).toBe(200);
    expect(r.body.rows.map((x) => x.time)).toEqual([at(5), at(6)]);
    expect(r.body.rows[0]).toMatchObject({ meter_id: mA, serial_number: 'CW-12', placement: 'apartment', premise_number: '12', value: 9, status: 'invalid', reasons: [{ code: 'register_decreased' }] });
    const b = await h.call('GET', `/buildings/${bB}/flagged?${range}`, engineerB);
    expect(b.body.rows).toMatchObject([{ meter_id: mB, premise_number: null, placement: 'building', status: 'invalid' }]);
  });

  it('other building: 404 for a scoped engineer', async () => {
    expect((await h.call('GET', `/buildings/${bB}/flagged?${range}`, engineerA)).status).toBe(404);
    expect((await h.call('GET', `/buildings/999999/flagged?${range}`, h.adminToken)).status).toBe(404);
  });
});

describe('POST /meters/:id/readings/review', () => {
  it('operator cannot review (403); other building 404; short reason 400; missing reading 404 naming it', async () => {
    expect((await h.call('POST', `/meters/${mA}/readings/review`, operatorA, { time: at(5), decision: 'reject', reason: 'bad value' })).status).toBe(403);
    expect((await h.call('POST', `/meters/${mA}/readings/review`, engineerB, { time: at(5), decision: 'reject', reason: 'bad value' })).status).toBe(404);
    expect((await h.call('POST', `/meters/${mA}/readings/review`, engineerA, { time: at(5), decision: 'reject', reason: 'no' })).status).toBe(400);
    const missing = await h.call('POST', `/meters/${mA}/readings/review`, engineerA, { time: at(50), decision: 'reject', reason: 'bad value' });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toContain(`reading of volume_m3 at ${at(50)}`);
    const noVersion = await h.call('POST', `/meters/${mA}/readings/review`, engineerA, { time: at(5), version: 3, decision: 'reject', reason: 'bad value' });
    expect(noVersion.status).toBe(404);
    expect(noVersion.body.message).toContain('version 3');
  });

  it('reject: stored, audited, shown in validations, gone from flagged; the next reading re-validated; onAffected fires', async () => {
    const r = await h.call('POST', `/meters/${mA}/readings/review`, engineerA, { time: at(5), decision: 'reject', reason: 'misread digit' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ meter_id: mA, quantity: 'volume_m3', version: 1, decision: 'reject', reason: 'misread digit' });
    const auditRows = (await h.opened.db.query(`SELECT action, reason FROM audit_log WHERE entity = 'reading' AND action = 'reject'`)).rows;
    expect(auditRows).toEqual([{ action: 'reject', reason: 'misread digit' }]);
    affected.length = 0;
    await v.drain();
    expect(affected).toContainEqual({ buildingId: bA, resource: 'cold_water', from: new Date(at(5)), to: new Date(at(6)) });
    const rows = (await h.call('GET', `/meters/${mA}/validations?${range}`, engineerA)).body.rows;
    expect(rows[5].review).toMatchObject({ decision: 'reject', reason: 'misread digit' });
    expect(rows[5].review.by).toMatch(/^engineer/);
    // t6 followed 9 (a 1.06 jump, a spike); without the rejected row it follows 10.04 and is plain.
    expect(rows[6].verdict).toMatchObject({ status: 'valid', reasons: [] });
    const flagged = (await h.call('GET', `/buildings/${bA}/flagged?${range}`, engineerA)).body.rows;
    expect(flagged).toEqual([]);
  });

  it('accept after reject: the latest decision counts', async () => {
    const r = await h.call('POST', `/meters/${mA}/readings/review`, h.adminToken, { time: at(5), decision: 'accept', reason: 'confirmed on site' });
    expect(r.status).toBe(201);
    await v.drain();
    const rows = (await h.call('GET', `/meters/${mA}/validations?${range}`, engineerA)).body.rows;
    expect(rows[5].review).toMatchObject({ decision: 'accept', by: 'admin' });
    expect(rows[6].verdict.status).not.toBe('valid'); // 9 is back in the history
  });

  it('a correction gets its own verdict; versions=all shows both versions', async () => {
    const c = await h.call('POST', `/meters/${mA}/readings/corrections`, h.adminToken, { time: at(5), quantity: 'volume_m3', value: 10.05, reason: 'value from photo' });
    expect(c.status).toBe(201);
    await v.drain();
    const all = (await h.call<ValidationsOut>('GET', `/meters/${mA}/validations?${range}&versions=all`, engineerA)).body.rows.filter((r) => r.time === at(5));
    expect(all.map((r) => [r.version, r.value, r.verdict?.status, r.created_by])).toEqual([[1, 9, 'invalid', null], [2, 10.05, 'valid', 'admin']]);
    expect(all[1].review).toBeNull(); // the review was of version 1
    const cur = (await h.call('GET', `/meters/${mA}/validations?${range}`, engineerA)).body.rows;
    expect(cur[5].version).toBe(2);
    expect(cur[6].verdict.status).toBe('valid');
  });
});

describe('POST /meters/:id/estimates', () => {
  beforeAll(async () => {
    await tele(mGap, [[at(0), 100], [at(1), 101], [at(2), 102], [at(8), 108], [at(9), 109]]);
  });

  it('operator cannot estimate (403); other building 404; no bracketing reading 404', async () => {
    expect((await h.call('POST', `/meters/${mGap}/estimates`, operatorA, { from: at(2), to: at(8), reason: 'gateway down' })).status).toBe(403);
    expect((await h.call('POST', `/meters/${mGap}/estimates`, engineerB, { from: at(2), to: at(8), reason: 'gateway down' })).status).toBe(404);
    const r = await h.call('POST', `/meters/${mGap}/estimates`, engineerA, { from: at(2), to: at(20), reason: 'gateway down' });
    expect(r.status).toBe(404);
    expect(r.body.message).toContain('at or after');
  });

  it('fills the gap linearly at the telemetry interval as source estimate / quality estimated, audited and flagged', async () => {
    const r = await h.call<EstimatesOut>('POST', `/meters/${mGap}/estimates`, engineerA, { from: at(2), to: at(8), reason: 'gateway down' });
    expect(r.status).toBe(201);
    expect(r.body.method).toBe('linear');
    expect(r.body.rows.map((x) => x.time)).toEqual([at(3), at(4), at(5), at(6), at(7)]);
    r.body.rows.forEach((x, i) => expect(x.value).toBeCloseTo(103 + i, 9));
    expect(r.body.rows[0]).toMatchObject({ source: 'estimate', quality: ['estimated'], version: 1, reason: 'gateway down', quantity: 'volume_m3' });
    expect(r.body.rows[0].created_by).toMatch(/^engineer/);
    expect((await h.opened.db.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'estimate'`)).rows[0].n).toBe(1);
    await v.drain();
    const rows = (await h.call<ValidationsOut>('GET', `/meters/${mGap}/validations?${range}`, engineerA)).body.rows;
    expect(rows.filter((x) => x.source === 'estimate').map((x) => x.verdict?.reasons.map((c) => c.code))).toEqual([['estimated'], ['estimated'], ['estimated'], ['estimated'], ['estimated']]);
    expect(rows.find((x) => x.time === at(8))?.verdict?.status).toBe('valid'); // the gap is closed
  });

  it('never over a stored reading: a second estimate of the same stretch is a 409 and adds nothing', async () => {
    const r = await h.call('POST', `/meters/${mGap}/estimates`, engineerA, { from: at(2), to: at(8), reason: 'again' });
    expect(r.status).toBe(409);
    const n = (await h.opened.db.query(`SELECT count(*)::int AS n FROM readings WHERE meter_id = $1 AND source = 'estimate'`, [mGap])).rows[0].n;
    expect(n).toBe(5);
  });

  it('a register that went down across the gap is not interpolated', async () => {
    const r = await h.call('POST', `/meters/${mA}/estimates`, h.adminToken, { from: at(6), to: at(30), reason: 'try' });
    expect(r.status).toBe(404); // nothing after t6 on mA
    await tele(mB, [[at(10), 0.2]]);
    const d = await h.call('POST', `/meters/${mB}/estimates`, h.adminToken, { from: at(1), to: at(10), reason: 'try' });
    expect(d.status).toBe(409);
    expect(d.body.message).toContain('went down');
  });

  it('a long gap follows the meter\'s own hour-of-week profile', async () => {
    const m = (await h.call('POST', '/meters', h.adminToken, { placement: 'apartment', premise_id: flat, resource: 'cold_water', make: 'T', serial_number: 'PROF-1' })).body.id;
    // Two weeks of hourly readings: 1 m³ an hour from 06:00 to 09:00 UTC, nothing the rest of the day.
    const value = (hour: number) => 100 + Math.floor(hour / 24) * 3 + Math.min(Math.max((hour % 24) - 6, 0), 3);
    const rows: Array<[string, number]> = Array.from({ length: 14 * 24 + 1 }, (_, i) => [at(i), value(i)]);
    rows.push([at(17 * 24), value(17 * 24)]);
    await tele(m, rows);
    const r = await h.call<EstimatesOut>('POST', `/meters/${m}/estimates`, engineerA, { from: at(14 * 24), to: at(17 * 24), reason: 'gateway down' });
    expect(r.status).toBe(201);
    expect(r.body.method).toBe('profile');
    expect(r.body.rows).toHaveLength(3 * 24 - 1);
    const byTime = new Map(r.body.rows.map((x) => [x.time, x.value]));
    expect(byTime.get(at(14 * 24 + 5))).toBeCloseTo(value(14 * 24), 6); // night: flat
    expect(byTime.get(at(14 * 24 + 12))).toBeCloseTo(value(14 * 24) + 3, 6); // after the morning use
    expect(byTime.get(at(16 * 24 + 12))).toBeCloseTo(value(16 * 24) + 3, 6);
  });
});

describe("another organisation's meter and building", () => {
  it('review, estimates, verdicts and flagged answer 404 like missing ones; no review, queue entry, estimate or journal entry is written', async () => {
    const t = h.adminToken;
    const org2 = (await h.call('POST', '/organisations', t, { name: 'УК Соседи' })).body.id;
    const b2 = (await h.call('POST', '/buildings', t, { org_id: org2, external_id: 'N', address: 'N' })).body.id;
    const m2 = (await h.call('POST', '/meters', t, { placement: 'building', building_id: b2, resource: 'cold_water', make: 'T', serial_number: 'N-1' })).body.id;
    await tele(m2, [[at(0), 1], [at(1), 0.5], [at(9), 2]]);
    const count = async (sql: string) => (await h.opened.db.query(sql, [m2])).rows[0].n;
    const state = async () => [
      await count('SELECT count(*)::int AS n FROM reading_reviews WHERE meter_id = $1'),
      await count('SELECT count(*)::int AS n FROM readings WHERE meter_id = $1'),
      await count(`SELECT count(*)::int AS n FROM audit_log WHERE entity = 'reading' AND entity_id LIKE $1::text || '/%'`),
    ];
    const before = await state();
    const pairs = [
      ['POST', `/meters/${m2}/readings/review`, '/meters/99999999/readings/review', { time: at(1), decision: 'reject', reason: 'bad value' }],
      ['POST', `/meters/${m2}/estimates`, '/meters/99999999/estimates', { from: at(1), to: at(9), reason: 'gateway down' }],
      ['GET', `/meters/${m2}/validations?${range}`, `/meters/99999999/validations?${range}`, undefined],
      ['GET', `/buildings/${b2}/flagged?${range}`, `/buildings/99999999/flagged?${range}`, undefined],
    ] as const;
    for (const [method, foreign, missing, body] of pairs) {
      const f = await h.call(method, foreign, engineerA, body);
      const m = await h.call(method, missing, engineerA, body);
      expect([f.status, m.status], foreign).toEqual([404, 404]);
      expect(f.body.message, foreign).toBe(m.body.message);
    }
    expect(await state()).toEqual(before);
    expect(before).toEqual([0, 3, 0]);
  });

  it('every key of the verdicts and the flagged list is snake_case', async () => {
    const verdicts = await h.call('GET', `/meters/${mA}/validations?${range}&versions=all`, engineerA);
    const flagged = await h.call('GET', `/buildings/${bB}/flagged?${range}`, engineerB);
    expect([verdicts.status, flagged.status]).toEqual([200, 200]);
    expect(verdicts.body.rows.some((r: { verdict: unknown }) => r.verdict)).toBe(true);
    expect([...camelKeys(verdicts.body), ...camelKeys(flagged.body)]).toEqual([]);
  });
});

describe('OpenAPI', () => {
  it('documents the validation routes under the validation tag', async () => {
    const doc = JSON.parse((await h.app.inject({ method: 'GET', url: '/docs/json' })).body);
    for (const [path, method] of [['/meters/{id}/validations', 'get'], ['/buildings/{id}/flagged', 'get'], ['/meters/{id}/readings/review', 'post'], ['/meters/{id}/estimates', 'post']]) {
      expect(doc.paths[path]?.[method]?.tags, `${method} ${path}`).toEqual(['validation']);
    }
  });
});
