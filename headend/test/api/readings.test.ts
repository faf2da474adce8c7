/**
 * Readings, corrections, meter replacement, gateways/bindings, quarantine and dead letters through the
 * API on a real embedded PGlite-TimescaleDB; also OpenAPI at /docs, /metrics, and token expiry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';
import { fixedClock } from '../../src/util/clock.js';
import { verifySecret } from '../../src/broker/credentials.js';

let h: Harness;
let bA: number, flat: number, meter: number;

beforeAll(async () => {
  // The API's clock stands at 25 Jan 2025 18:00 Moscow (15:00 UTC; window 15–25 open): dates below are judged
  // against it, never against today's.
  h = await startHarness({ TOKEN_TTL: '2h', clock: fixedClock(new Date('2025-01-25T15:00:00Z')) });
  const t = h.adminToken;
  const org = (await h.call('POST', '/organisations', t, { name: 'УК' })).body.id;
  bA = (await h.call('POST', '/buildings', t, { org_id: org, external_id: 'A', address: 'пр. Мира, 5' })).body.id;
  flat = (await h.call('POST', '/premises', t, { building_id: bA, number: '7' })).body.id;
  meter = (await h.call('POST', '/meters', t, { placement: 'apartment', premise_id: flat, resource: 'hot_water', make: 'Itelma', serial_number: 'HW-7' })).body.id;
  // Telemetry rows as ingestion writes them: hourly register over three days of January.
  await h.opened.db.query(
    `INSERT INTO readings (meter_id, time, quantity, value, unit, source)
     SELECT $1, t, 'volume_m3', 100 + extract(epoch FROM t - '2025-01-01')::float8 / 3600 * 0.01, 'm3', 'telemetry'
       FROM generate_series('2025-01-01'::timestamptz, '2025-01-03 23:00'::timestamptz, interval '1 hour') t`, [meter]);
  await h.opened.db.query(`CALL refresh_continuous_aggregate('readings_hourly', '2024-12-01', '2025-03-01')`);
  await h.opened.db.query(`CALL refresh_continuous_aggregate('readings_daily', '2024-12-01', '2025-03-01')`);
}, 120_000);
afterAll(async () => { await h?.close(); });

const range = 'from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z';

describe('readings by resolution', () => {
  it('raw, hour, day and month agree with the inserted register', async () => {
    const raw = await h.call('GET', `/meters/${meter}/readings?${range}&resolution=raw`, h.adminToken);
    expect(raw.status).toBe(200);
    expect(raw.body.raw).toHaveLength(72);
    const hour = await h.call('GET', `/meters/${meter}/readings?${range}&resolution=hour`, h.adminToken);
    expect(hour.body.buckets).toHaveLength(72);
    const day = await h.call('GET', `/meters/${meter}/readings?${range}&resolution=day`, h.adminToken);
    expect(day.body.buckets.map((b: { bucket: string; samples: number }) => [b.bucket.slice(0, 10), b.samples])).toEqual([['2025-01-01', 24], ['2025-01-02', 24], ['2025-01-03', 24]]);
    expect(day.body.buckets[2].last_value).toBeCloseTo(100 + 71 * 0.01, 9);
    const month = await h.call('GET', `/meters/${meter}/readings?${range}&resolution=month`, h.adminToken);
    expect(month.body.buckets).toHaveLength(1);
    expect(month.body.buckets[0]).toMatchObject({ bucket: '2025-01-01T00:00:00.000Z', samples: 72, first_value: 100 });
    expect(month.body.buckets[0].last_value).toBeCloseTo(100.71, 9);
  });

  it('hour and day include readings that arrived after the last aggregate refresh (real-time aggregation)', async () => {
    await h.opened.db.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, '2025-01-04T05:00:00Z', 'volume_m3', 101, 'm3', 'telemetry')`, [meter]);
    const hour = await h.call('GET', `/meters/${meter}/readings?from=2025-01-04T00:00:00Z&to=2025-01-05T00:00:00Z&resolution=hour`, h.adminToken);
    expect(hour.body.buckets).toMatchObject([{ bucket: '2025-01-04T05:00:00.000Z', last_value: 101, samples: 1 }]);
    const day = await h.call('GET', `/meters/${meter}/readings?from=2025-01-04T00:00:00Z&to=2025-01-05T00:00:00Z&resolution=day`, h.adminToken);
    expect(day.body.buckets).toMatchObject([{ bucket: '2025-01-04T00:00:00.000Z', last_value: 101 }]);
  });

  it('a reversed range is a 400 naming the field', async () => {
    const r = await h.call('GET', `/meters/${meter}/readings?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z`, h.adminToken);
    expect(r.status).toBe(400);
    expect(r.body.details[0].path).toBe('querystring.from');
  });
});

describe('manual entry and corrections', () => {
  it('staff entry is source staff, version 1; a correction is version 2 with who and why, the old row kept', async () => {
    const e = await h.call('POST', `/meters/${meter}/readings`, h.adminToken, { time: '2025-01-10T09:00:00Z', value: 104.5 });
    expect(e.status).toBe(201);
    expect(e.body).toMatchObject({ source: 'staff', version: 1, value: 104.5, quantity: 'volume_m3', created_by: 'admin' });
    const c = await h.call('POST', `/meters/${meter}/readings/corrections`, h.adminToken, { time: '2025-01-10T09:00:00Z', quantity: 'volume_m3', value: 105.4, reason: 'digits swapped on entry' });
    expect(c.status).toBe(201);
    expect(c.body.previous.version).toBe(1);
    expect(c.body.current).toMatchObject({ version: 2, value: 105.4, reason: 'digits swapped on entry', created_by: 'admin' });
    const cur = await h.call('GET', `/meters/${meter}/readings?from=2025-01-10T00:00:00Z&to=2025-01-11T00:00:00Z`, h.adminToken);
    expect(cur.body.raw.map((r: { version: number; value: number }) => [r.version, r.value])).toEqual([[2, 105.4]]);
    const all = await h.call('GET', `/meters/${meter}/readings?from=2025-01-10T00:00:00Z&to=2025-01-11T00:00:00Z&versions=all`, h.adminToken);
    expect(all.body.raw.map((r: { version: number; value: number }) => [r.version, r.value])).toEqual([[1, 104.5], [2, 105.4]]);
    const audit = (await h.opened.db.query("SELECT before, after, reason FROM audit_log WHERE entity = 'reading' AND action = 'correct'")).rows;
    expect(audit).toHaveLength(1);
    expect(audit[0].before.value).toBe(104.5);
    expect(audit[0].after.value).toBe(105.4);
  });

  it('an inspector enters readings only in granted buildings', async () => {
    const other = await h.userToken('operator');
    expect((await h.call('POST', `/meters/${meter}/readings`, other, { time: '2025-01-12T09:00:00Z', value: 104.9 })).status).toBe(404);
    const granted = await h.userToken('operator', { buildingIds: [bA] });
    // The default collection window is days 15–25: an operator (no outside-window privilege) cannot
    // date a reading on the 12th through this route either; nothing is stored.
    const outside = await h.call('POST', `/meters/${meter}/readings`, granted, { time: '2025-01-12T09:00:00Z', value: 105.9 });
    expect(outside.status).toBe(400);
    expect(outside.body.details[0]).toMatchObject({ path: 'body.time', message: expect.stringContaining('readings:enter_outside_window') });
    // Inside the window, and not below the corrected 105.4 of the 10th.
    const below = await h.call('POST', `/meters/${meter}/readings`, granted, { time: '2025-01-16T09:00:00Z', value: 104.9 });
    expect(below.status).toBe(400);
    expect(below.body.details[0].message).toContain('less than the previous reading 105.4');
    const r = await h.call('POST', `/meters/${meter}/readings`, granted, { time: '2025-01-16T09:00:00Z', value: 105.9 });
    expect(r.status).toBe(201);
    expect(r.body.created_by).toMatch(/^operator/);
    expect((await h.call('POST', `/meters/${meter}/readings/corrections`, granted, { time: '2025-01-16T09:00:00Z', quantity: 'volume_m3', value: 1, reason: 'not allowed' })).status).toBe(403);
  });

  it('a correction of a reading that does not exist is a 404', async () => {
    const r = await h.call('POST', `/meters/${meter}/readings/corrections`, h.adminToken, { time: '2025-01-11T09:00:00Z', quantity: 'volume_m3', value: 1, reason: 'test case' });
    expect(r.status).toBe(404);
  });
});

describe('meter replacement', () => {
  it('refuses a date not after the last reading and a removal reading below it', async () => {
    const early = await h.call('POST', `/meters/${meter}/replacement`, h.adminToken, { replaced_at: '2025-01-05T10:00:00Z', removal_reading: 110, installation_reading: 0, new_meter: { make: 'Itelma', serial_number: 'HW-8' } });
    expect(early.status).toBe(400);
    expect(early.body.details[0].path).toBe('body.replaced_at');
    const low = await h.call('POST', `/meters/${meter}/replacement`, h.adminToken, { replaced_at: '2025-01-20T10:00:00Z', removal_reading: 50, installation_reading: 0, new_meter: { make: 'Itelma', serial_number: 'HW-8' } });
    expect(low.status).toBe(400);
    expect(low.body.details[0].path).toBe('body.removal_reading');
  });

  it('records removal and installation readings, removes the old meter, and allows one per day', async () => {
    const r = await h.call('POST', `/meters/${meter}/replacement`, h.adminToken, { replaced_at: '2025-01-20T10:00:00Z', removal_reading: 106.25, installation_reading: 0.01, work_order: 'WO-17', new_meter: { make: 'Itelma', serial_number: 'HW-8', register_digits: 5 } });
    expect(r.status).toBe(201);
    const newId = r.body.new_meter.id;
    expect(r.body.new_meter).toMatchObject({ premise_id: flat, resource: 'hot_water', status: 'active', installed_on: '2025-01-20' });
    expect((await h.call('GET', `/meters/${meter}`, h.adminToken)).body).toMatchObject({ status: 'removed', decommissioned_on: '2025-01-20' });
    const oldR = await h.call('GET', `/meters/${meter}/readings?from=2025-01-20T00:00:00Z&to=2025-01-21T00:00:00Z`, h.adminToken);
    expect(oldR.body.raw).toMatchObject([{ value: 106.25, source: 'staff' }]);
    const newR = await h.call('GET', `/meters/${newId}/readings?from=2025-01-20T00:00:00Z&to=2025-01-21T00:00:00Z`, h.adminToken);
    expect(newR.body.raw).toMatchObject([{ value: 0.01, source: 'staff' }]);
    const again = await h.call('POST', `/meters/${newId}/replacement`, h.adminToken, { replaced_at: '2025-01-20T15:00:00Z', removal_reading: 0.01, installation_reading: 0, new_meter: { make: 'Itelma', serial_number: 'HW-9' } });
    expect(again.status).toBe(409);
    const late = await h.call('POST', `/meters/${meter}/readings`, h.adminToken, { time: '2025-01-25T10:00:00Z', value: 107 });
    expect(late.status).toBe(400);
    expect(late.body.details[0].path).toBe('body.time');
    const list = await h.call('GET', `/meters/${newId}/replacements`, h.adminToken);
    expect(list.body).toMatchObject([{ old_meter_id: meter, new_meter_id: newId, removal_reading: 106.25, installation_reading: 0.01, work_order: 'WO-17' }]);
  });
});

describe('gateways, bindings, quarantine, dead letters', () => {
  it('creating a gateway returns its MQTT password once and stores only a salted hash of it', async () => {
    const r = await h.call('POST', '/gateways', h.adminToken, { id: 'gw-a1', name: 'Подвал', building_id: bA });
    expect(r.status).toBe(201);
    expect(r.body.mqtt.username).toBe('gw-a1');
    const stored = (await h.opened.db.query('SELECT credential_hash FROM gateways WHERE id = $1', ['gw-a1'])).rows[0].credential_hash;
    // An issued secret is random (256 bits): one salted SHA-256 is as safe as scrypt for it and costs no pool place.
    expect(stored).toMatch(/^sha256\$/);
    expect(stored).not.toContain(r.body.mqtt.password);
    expect(await verifySecret(r.body.mqtt.password, stored)).toBe(true);
    expect(await verifySecret(`${r.body.mqtt.password}x`, stored)).toBe(false);
    expect(JSON.stringify((await h.call('GET', '/gateways/gw-a1', h.adminToken)).body)).not.toContain('sha256');
    expect((await h.call('POST', '/gateways', h.adminToken, { id: 'gw-a1' })).status).toBe(409);
  });

  it('rebinding an address closes the previous binding instead of deleting it', async () => {
    const m2 = (await h.call('POST', '/meters', h.adminToken, { placement: 'building', building_id: bA, resource: 'cold_water', make: 'Взлёт', serial_number: 'V-1' })).body.id;
    const b1 = await h.call('POST', '/gateways/gw-a1/bindings', h.adminToken, { bus: 'mbus0', address: '5', meter_id: meter });
    expect(b1.status, JSON.stringify(b1.body)).toBe(201);
    const b2 = await h.call('POST', '/gateways/gw-a1/bindings', h.adminToken, { bus: 'mbus0', address: '5', meter_id: m2 });
    expect(b2.status).toBe(201);
    const cur = await h.call('GET', '/gateways/gw-a1/bindings', h.adminToken);
    expect(cur.body.map((b: { meter_id: number }) => b.meter_id)).toEqual([m2]);
    const all = await h.call('GET', '/gateways/gw-a1/bindings?all=true', h.adminToken);
    expect(all.body).toHaveLength(2);
    expect(all.body.find((b: { meter_id: number }) => b.meter_id === meter).valid_to).not.toBeNull();
  });

  it('lists quarantine and resolves an item once; lists dead letters', async () => {
    await h.opened.db.query(`INSERT INTO quarantine (gateway_id, seq, meter_ref, reading, reason) VALUES ('gw-x', 1, '{"bus":"b","address":"9"}', '{}', 'unknown_gateway')`);
    await h.opened.db.query(`INSERT INTO dead_letters (topic, gateway_id, payload, reason) VALUES ('amr/v1/gw-x/readings', 'gw-x', '{bad', 'invalid JSON')`);
    const q = await h.call('GET', '/quarantine', h.adminToken);
    expect(q.body).toMatchObject([{ gateway_id: 'gw-x', reason: 'unknown_gateway', resolved_at: null }]);
    const r = await h.call('POST', `/quarantine/${q.body[0].id}/resolve`, h.adminToken, { resolution: 'test gateway, rejected' });
    expect(r.body).toMatchObject({ resolved_by: 'admin', resolution: 'test gateway, rejected' });
    expect((await h.call('POST', `/quarantine/${q.body[0].id}/resolve`, h.adminToken, { resolution: 'again' })).status).toBe(409);
    expect((await h.call('GET', '/quarantine', h.adminToken)).body).toEqual([]);
    const d = await h.call('GET', '/dead-letters', h.adminToken);
    expect(d.body).toMatchObject([{ reason: 'invalid JSON', payload: '{bad' }]);
    const op = await h.userToken('operator', { buildingIds: [bA] });
    expect((await h.call('GET', '/quarantine', op)).status).toBe(403);
  });
});

describe('service endpoints', () => {
  it('serves the OpenAPI document with the routes', async () => {
    const r = await h.app.inject({ method: 'GET', url: '/docs/json' });
    expect(r.statusCode).toBe(200);
    const doc = JSON.parse(r.body);
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/meters', '/meters/{id}/readings', '/import/registry', '/auth/login']));
    expect((await h.app.inject({ method: 'GET', url: '/docs' })).statusCode).toBeLessThan(400);
  });

  it('works over real HTTP too: login, then an authenticated request', async () => {
    const url = await h.app.listen({ port: 0, host: '127.0.0.1' });
    const login = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'admin-password' }) });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    const me = await fetch(`${url}/meters/${meter}`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { serial_number: string }).serial_number).toBe('HW-7');
    expect((await fetch(`${url}/meters/${meter}`)).status).toBe(401);
  });

  it('/metrics counts HTTP requests by route pattern', async () => {
    const r = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(r.statusCode).toBe(200);
    expect(r.body).toMatch(/amr_http_requests_total\{method="GET",route="\/meters\/:id\/readings",status="200"\} \d+/);
    expect(r.body).toContain('amr_http_request_duration_seconds_bucket');
  });

  it('a token stops working after TOKEN_TTL', async () => {
    const t = await h.userToken('billing', { buildingIds: [bA] });
    expect((await h.call('GET', '/auth/me', t)).status).toBe(200);
    // Expire it in the database rather than sleeping: the check is expires_at > now().
    await h.opened.db.query("UPDATE auth_tokens SET expires_at = now() - interval '1 second' WHERE id = (SELECT max(id) FROM auth_tokens)");
    const r = await h.call('GET', '/auth/me', t);
    expect(r.status).toBe(401);
    expect(r.body.message).toMatch(/expired/);
    const row = (await h.opened.db.query('SELECT expires_at - created_at AS ttl FROM auth_tokens ORDER BY id LIMIT 1')).rows[0];
    expect(row.ttl).toMatchObject({ hours: 2 });
  });
});
