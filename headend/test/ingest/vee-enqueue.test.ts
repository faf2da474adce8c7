// The ingest writer queues the instants it stores for validation in one statement (migrations/017)
// instead of the per-row trigger; every other writer still goes through the trigger.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenedDb } from '../../src/db/index.js';
import { openTestDb } from '../engine.js';
import { writeReadings } from '../../src/ingest/index.js';
import { readings, registerGateway, type Fixture } from './fixtures.js';

let opened: OpenedDb;
let fx: Fixture;
const queued = async () =>
  (await opened.db.query<{ meter_id: string; time: Date }>('SELECT meter_id, time FROM vee_queue ORDER BY meter_id, time')).rows.map((r) => `${r.meter_id}@${new Date(r.time).toISOString()}`);

beforeAll(async () => {
  opened = await openTestDb();
  fx = await registerGateway(opened.db, 'gw-vee-enqueue', 2);
}, 60_000);
afterAll(() => opened?.close());

describe('validation queue', () => {
  it('holds one entry per meter instant written by the ingest writer, and the bulk mark ends with its transaction', async () => {
    const msg = readings(fx.gatewayId, [
      { seq: 1, address: '1', value: 10, time: '2026-11-01T10:00:00Z' },
      { seq: 2, address: '1', value: 11, time: '2026-11-01T10:15:00Z' },
      { seq: 3, address: '2', value: 20, time: '2026-11-01T10:00:00Z' },
    ]);
    // A second quantity at the same instant of meter 1: still one queue entry for that instant.
    msg.readings[0].values.push({ quantity: 'volume_m3', value: 1.5, unit: 'm3', quality: [] });
    const res = await writeReadings(opened.db, [msg]);
    expect(res.stored).toBe(4);
    const [m1, m2] = fx.meterIds;
    expect(await queued()).toEqual([`${m1}@2026-11-01T10:00:00.000Z`, `${m1}@2026-11-01T10:15:00.000Z`, `${m2}@2026-11-01T10:00:00.000Z`].sort());
    expect((await opened.db.query(`SELECT coalesce(current_setting('amr.vee_bulk', true), '') AS v`)).rows[0].v).toBe('');

    // Any other writer (here plain SQL, as a staff entry or an import would) goes through the trigger.
    await opened.db.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, '2026-11-02T00:00:00Z', 'energy_kwh', 12, 'kWh', 'staff')`, [m1]);
    expect(await queued()).toContain(`${m1}@2026-11-02T00:00:00.000Z`);
  });
});
