/**
 * A 100 000-row readings import on either engine (headend/test/engine.ts) while a gateway publishes:
 * the import judges and stages hidden rows in short transactions and makes them visible with one small switch at the end, so the gateway's PUBACKs (sent after commit) and
 * /health keep answering during it. Every reading of the file stored exactly once; one bad row near
 * the end (row 99 999) stores nothing and is named; a dry run stores nothing. Nothing here is timed.
 *
 * Data, worked by hand: 25 000 flats, account A<i>, one cold-water meter S<i> each; four readings per
 * meter on the 1st of Sep–Dec 2026, value 100 + 4·k (k = 0..3): 100, 104, 108, 112 — 4 m³ a month, the
 * same every month, so no high-consumption query; a first reading of 100 m³ is far under what a flat
 * could use in a meter's 15-year service life (12 m³ × 180 months × 3). 25 000 × 4 = 100 000 rows, file
 * rows 2..100 001 (row 1 is the header), meter i's month k on row 2 + 4·(i − 1) + k.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, dbEnv, TEST_ENGINE, type TestDatabase } from '../engine.js';
import { pino } from 'pino';
import mqtt from 'mqtt';
import { loadConfig } from '../../src/config/index.js';
import { startHeadend, fixedClock, type Headend } from '../../src/server/index.js';
import { hashSecret } from '../../src/broker/index.js';
import { createUser } from '../../src/auth/index.js';
import type { ReadingsImportReport } from '../../src/exchange/readings-import.js';

const FLATS = 25_000;
const MONTHS = ['2026-09-01', '2026-10-01', '2026-11-01', '2026-12-01'];
const SECRET = 'bulk-gateway-secret';
let he: Headend;
let database: TestDatabase | undefined;
let token = '';
let orgId = 0;
let gwMeter = 0;

function csv(bad?: { row: number; value: number }): string {
  const lines = ['account,serial,date,value'];
  for (let i = 1; i <= FLATS; i++) {
    for (const [k, date] of MONTHS.entries()) {
      const row = lines.length + 1;
      lines.push(`A${i},S${i},${date},${bad?.row === row ? bad.value : 100 + 4 * k}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** POST /import/readings: the import's report, or on a refusal the error (its message). */
async function importCsv(body: string, query = ''): Promise<{ status: number; body: ReadingsImportReport & { message?: string } }> {
  const res = await fetch(`${he.httpUrl}/import/readings?org_id=${orgId}&file_name=bulk.csv${query}`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, body,
  });
  return { status: res.status, body: await res.json() as ReadingsImportReport & { message?: string } };
}

const imported = async () => (await he.db.query<{ n: string; keys: string }>(
  `SELECT count(*) AS n, count(DISTINCT (meter_id, time)) AS keys FROM readings WHERE source = 'import'`)).rows[0];

beforeAll(async () => {
  database = await testDatabase();
  const config = loadConfig({
    DATA_DIR: 'memory://', ...dbEnv(database), DB_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent',
  });
  he = await startHeadend({ config, logger: pino({ level: 'error' }), jobs: false, clock: fixedClock('2027-01-15T12:00:00+03:00') });
  await createUser(he.db, { username: 'admin', password: 'admin-password', role: 'admin' });
  const login = await fetch(`${he.httpUrl}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'admin-password' }) });
  token = ((await login.json()) as { token: string }).token;
  await he.db.tx(async (q) => {
    orgId = Number((await q.query(`INSERT INTO organisations (name) VALUES ('УК Большой файл') RETURNING id`)).rows[0].id);
    const b = Number((await q.query(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, 'ул. Длинная, 1', 'Europe/Moscow') RETURNING id`, [orgId])).rows[0].id);
    await q.query(`INSERT INTO premises (building_id, number) SELECT $1, i::text FROM generate_series(1, $2::int) i`, [b, FLATS]);
    await q.query(`INSERT INTO personal_accounts (org_id, number, premise_id) SELECT $1, 'A' || number, id FROM premises WHERE building_id = $2`, [orgId, b]);
    await q.query(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number)
                   SELECT 'apartment', $1, id, 'cold_water', 'S' || number FROM premises WHERE building_id = $1`, [b]);
    await q.query(`INSERT INTO gateways (id, building_id, credential_hash) VALUES ('gw-bulk', $1, $2)`, [b, await hashSecret(SECRET)]);
    gwMeter = Number((await q.query(`INSERT INTO meters (placement, building_id, resource, make, serial_number) VALUES ('building', $1, 'heat', 'X', 'ODPU-1') RETURNING id`, [b])).rows[0].id);
    await q.query(`INSERT INTO bindings (gateway_id, bus, address, meter_id) VALUES ('gw-bulk', 'm1', '1', $1)`, [gwMeter]);
  });
}, 120_000);
afterAll(async () => { await he?.close(); await database?.drop(); }, 60_000);

describe(`a 100 000-row readings import (${TEST_ENGINE})`, () => {
  it('a dry run judges every row and stores nothing', async () => {
    const r = await importCsv(csv(), '&dry_run=true');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, dry_run: true, applied: false, summary: { insert: 100_000, unchanged: 0 }, errors: [] });
    // Meter S2's December reading: row 2 + 4·1 + 3 = 9, 112 after 108.
    expect(r.body.changes[7]).toMatchObject({ row: 9, serial: 'S2', value: 112, previous: 108, version: 1, action: 'insert' });
    expect(Number((await imported()).n)).toBe(0);
  }, 300_000);

  it('one bad row at row 99 999 stores nothing and names the row', async () => {
    // Row 99 999 = 2 + 4·(i − 1) + k → i = 25 000, k = 1: S25000's October reading; 90 < September's 100.
    const r = await importCsv(csv({ row: 99_999, value: 90 }));
    expect(r.status).toBe(422);
    expect(r.body.applied).toBe(false);
    expect(r.body.errors).toEqual([expect.objectContaining({ row: 99_999, column: 'value', message: expect.stringContaining('90 is less than the previous reading 100') })]);
    expect(Number((await imported()).n)).toBe(0);
  }, 300_000);

  it('stores every row exactly once while a gateway keeps publishing and every gateway reading is committed', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${he.mqttPort}`, { username: 'gw-bulk', password: SECRET, clientId: 'gw-bulk', reconnectPeriod: 0 });
    let done = false;
    let seq = 0;
    let ackedDuringImport = 0;
    let healthDuringImport = 0;
    const publishing = (async () => {
      // Publish one message of 5 readings at a time until the import answered, then 20 more.
      let after = 0;
      while (!done || after++ < 20) {
        const readings = Array.from({ length: 5 }, () => {
          const s = seq++;
          return { seq: s, meter: { meterKey: 'm1', bus: 'm1', protocol: 'mbus', address: '1' }, gatewayTime: new Date(Date.parse('2026-12-01T00:00:00Z') + s * 60_000).toISOString(),
            quality: [], values: [{ quantity: 'energy_kwh', value: s * 0.5, unit: 'kWh', quality: [] }] };
        });
        await client.publishAsync('amr/v1/gw-bulk/readings', JSON.stringify({ v: 1, gatewayId: 'gw-bulk', sentAt: '2026-12-01T00:00:00Z', readings }), { qos: 1 });
        if (!done) ackedDuringImport++;
      }
    })();
    const health = (async () => {
      while (!done) {
        if ((await fetch(`${he.httpUrl}/health`)).status === 200) healthDuringImport++;
      }
    })();
    const r = await importCsv(csv());
    done = true;
    await publishing;
    await health;
    await client.endAsync();
    expect({ status: r.status, message: r.body.message }).toEqual({ status: 200, message: undefined });
    expect(r.body).toMatchObject({ ok: true, applied: true, summary: { insert: 100_000, unchanged: 0 } });
    // 25 000 meters × 4 months, each (meter, time) once, version 1.
    const all = await imported();
    expect([Number(all.n), Number(all.keys)]).toEqual([100_000, 100_000]);
    const v = (await he.db.query(`SELECT max(version) AS v, min(value) AS lo, max(value) AS hi FROM readings WHERE source = 'import'`)).rows[0];
    expect([Number(v.v), Number(v.lo), Number(v.hi)]).toEqual([1, 100, 112]);
    // The gateway kept being answered while the import ran, and every acknowledged reading is stored.
    expect(ackedDuringImport).toBeGreaterThan(0);
    expect(healthDuringImport).toBeGreaterThan(0);
    const tele = (await he.db.query(`SELECT count(*) AS n FROM readings WHERE meter_id = $1 AND source = 'telemetry'`, [gwMeter])).rows[0];
    expect(Number(tele.n)).toBe(seq);
    // One audit row for the file.
    const a = (await he.db.query(`SELECT count(*) AS n FROM audit_log WHERE action = 'import' AND reason = 'bulk.csv'`)).rows[0];
    expect(Number(a.n)).toBe(1);
  }, 300_000);
});
