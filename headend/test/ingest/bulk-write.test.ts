/**
 * The ingest hot path (readings/bulk-write.ts under ingest/writer.ts, batches pipelined by the
 * batcher): nothing lost, nothing duplicated, whatever the delivery does — a message delivered twice
 * (in one batch, in two, in batches committing at the same time), one reading the database refuses
 * among good ones, and a batch cut off mid-way followed by a restart and the gateway re-sending its
 * outbox packed differently. Runs on both engines (on the server the pool lets batches overlap).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { topics, type ReadingsMessage } from '@amr/protocols';
import type { OpenedDb } from '../../src/db/index.js';
import { createIngest, writeReadings } from '../../src/ingest/index.js';
import { coreMetrics, createRegistry } from '../../src/metrics/index.js';
import { MissingMetersError, writeReadingRows } from '../../src/readings/bulk-write.js';
import { openTestDb } from '../engine.js';
import { readings, registerGateway, type Fixture } from './fixtures.js';

let opened: OpenedDb;
const count = async (sql: string, p: unknown[] = []) => (await opened.db.query<{ n: number }>(sql, p)).rows[0].n;
const rowsOf = (fx: Fixture) => count('SELECT count(*)::int AS n FROM readings WHERE meter_id = ANY($1)', [fx.meterIds]);
const logOf = (fx: Fixture) => count('SELECT count(*)::int AS n FROM ingest_log WHERE gateway_id = $1', [fx.gatewayId]);
const at = (minute: number) => new Date(Date.UTC(2026, 10, 1, 10, minute)).toISOString();
const clock = () => new Date('2026-11-02T00:00:00Z');

function ingestFor(batchSize: number, concurrency = 1) {
  const metrics = coreMetrics(createRegistry());
  const ingest = createIngest({
    db: opened.db, metrics, logger: pino({ level: 'silent' }), batchSize, lingerMs: 60_000, maxPending: 10_000, concurrency, clock,
  });
  const publish = (m: ReadingsMessage) => ingest.handle(topics.readings(m.gatewayId), Buffer.from(JSON.stringify(m)));
  return { ingest, metrics, publish };
}

beforeAll(async () => {
  opened = await openTestDb({ poolMax: 6 });
}, 120_000);
afterAll(() => opened?.close());

describe('ingest bulk write', () => {
  it('a message delivered twice — in one batch, then again in a later one — stores each reading once', async () => {
    const fx = await registerGateway(opened.db, 'gw-bulk-dup', 3);
    const msg = readings(fx.gatewayId, [
      { seq: 1, address: '1', value: 10, time: at(0) },
      { seq: 2, address: '2', value: 20, time: at(0) },
      { seq: 3, address: '3', value: 30, time: at(0) },
    ]);
    const first = await writeReadings(opened.db, [msg, msg], { clock });
    expect(first).toEqual({ stored: 3, duplicates: 3, quarantined: {} });
    // Again: each reading's key (meter, quantity, time) is stored with the same value → 3 duplicates.
    const again = await writeReadings(opened.db, [msg], { clock });
    expect(again).toEqual({ stored: 0, duplicates: 3, quarantined: {} });
    expect(await rowsOf(fx)).toBe(3);
    // Stored readings claim no (gateway, seq): their rows' keys block a redelivery.
    expect(await logOf(fx)).toBe(0);
    // Queued for validation once per instant, by the batch that inserted them.
    expect(await count('SELECT count(*)::int AS n FROM vee_queue WHERE meter_id = ANY($1)', [fx.meterIds])).toBe(3);
    const { rows } = await opened.db.query('SELECT value, quality, source, version, seq FROM readings WHERE meter_id = $1', [fx.meterIds[1]]);
    expect(rows).toEqual([{ value: 20, quality: [], source: 'telemetry', version: 1, seq: 2 }]);
  });

  it('batches committing at the same time, full of each other\'s redeliveries, store every reading once and keep quality flags', async () => {
    const fx = await registerGateway(opened.db, 'gw-bulk-par', 5);
    // 10 messages of 5 readings (seq 100..149), each delivered 3 times, shuffled into 4 parallel slots.
    const msgs: ReadingsMessage[] = [];
    for (let m = 0; m < 10; m++) {
      const msg = readings(fx.gatewayId, Array.from({ length: 5 }, (_, i) => ({ seq: 100 + m * 5 + i, address: String(i + 1), value: m * 10 + i, time: at(m) })));
      msg.readings[0].quality = ['clock_far_off'];
      msg.readings[0].values[0].quality = ['estimated'];
      msgs.push(msg);
    }
    const deliveries = [...msgs, ...msgs.slice().reverse(), ...msgs.filter((_, i) => i % 2 === 0), ...msgs.filter((_, i) => i % 2 === 1)];
    const { ingest, metrics, publish } = ingestFor(4, 4);
    await Promise.all(deliveries.map(publish));
    await ingest.drain();
    expect(await rowsOf(fx)).toBe(50);
    expect(await logOf(fx)).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM quarantine WHERE gateway_id = $1`, [fx.gatewayId])).toBe(0);
    expect((await metrics.readingsStored.get()).values[0].value + (await metrics.duplicates.get()).values[0].value).toBe(150);
    expect((await metrics.duplicates.get()).values[0].value).toBe(100);
    // Message m's first reading carried a reading-level and a value-level flag: both kept, on 10 rows.
    const flagged = await opened.db.query<{ quality: string[] }>(
      `SELECT DISTINCT quality FROM readings WHERE meter_id = $1 AND quality <> '{}'`, [fx.meterIds[0]]);
    expect(flagged.rows.map((r) => [...r.quality].sort())).toEqual([['clock_far_off', 'estimated']]);
    expect(await count(`SELECT count(*)::int AS n FROM readings WHERE meter_id = $1 AND quality <> '{}'`, [fx.meterIds[0]])).toBe(10);
    const seen = await opened.db.query<{ last_seen_at: Date }>('SELECT last_seen_at FROM meters WHERE id = $1', [fx.meterIds[4]]);
    expect(seen.rows[0].last_seen_at.toISOString()).toBe(at(9));
  });

  it('one reading the database refuses costs only its own message (a dead letter, kept whole); the batch\'s other messages commit', async () => {
    const fx = await registerGateway(opened.db, 'gw-bulk-bad', 3);
    const good1 = readings(fx.gatewayId, [{ seq: 1, address: '1', value: 1, time: at(0) }]);
    const bad = readings(fx.gatewayId, [{ seq: 2, address: '2', value: 2, time: at(0) }, { seq: 3, address: '3', value: 3, time: at(0) }]);
    bad.readings[1].values[0].unit = 'k\u0000Wh'; // passes the contract (a short string), refused by PostgreSQL text
    const good2 = readings(fx.gatewayId, [{ seq: 4, address: '2', value: 4, time: at(1) }]);
    const { ingest, publish } = ingestFor(3);
    await Promise.all([good1, bad, good2].map(publish)); // one batch of three
    await ingest.drain();
    const { rows } = await opened.db.query<{ seq: number }>('SELECT seq FROM readings WHERE meter_id = ANY($1) ORDER BY seq', [fx.meterIds]);
    expect(rows.map((r) => r.seq)).toEqual([1, 4]);
    const dead = await opened.db.query<{ payload_b64: string; reason: string }>('SELECT payload_b64, reason FROM dead_letters WHERE gateway_id = $1', [fx.gatewayId]);
    expect(dead.rows).toHaveLength(1);
    expect(JSON.parse(Buffer.from(dead.rows[0].payload_b64, 'base64').toString('utf8')).readings.map((r: { seq: number }) => r.seq)).toEqual([2, 3]);
    expect(dead.rows[0].reason).toMatch(/^database refused the readings: /);
    // The refused message left nothing behind (no row, no claim): re-sent fixed, it lands.
    expect(await logOf(fx)).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM quarantine WHERE gateway_id = $1', [fx.gatewayId])).toBe(0);
  });

  it('a batch cut off mid-way commits nothing and is not acknowledged; after a restart the outbox, packed differently, lands once', async () => {
    const fx = await registerGateway(opened.db, 'gw-bulk-restart', 4);
    const a = readings(fx.gatewayId, [{ seq: 1, address: '1', value: 1, time: at(0) }, { seq: 2, address: '2', value: 2, time: at(0) }]);
    const b = readings(fx.gatewayId, [{ seq: 3, address: '3', value: 3, time: at(0) }, { seq: 4, address: '4', value: 4, time: at(0) }]);
    const first = ingestFor(2);
    const alone = first.publish(a); // alone in its batch… (batch size 2: written by the drain)
    await first.ingest.drain();
    await alone;
    expect(await rowsOf(fx)).toBe(2);
    // …then a batch of a again and b fails at its last statement, after the readings were written in
    // its transaction (the gateways row refuses the update, as a server going away at that point would).
    await opened.db.query(`CREATE FUNCTION bulk_test_cut() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'connection lost (test)'; END $$`);
    await opened.db.query(`CREATE TRIGGER bulk_test_cut BEFORE UPDATE ON gateways FOR EACH ROW WHEN (OLD.id = '${fx.gatewayId}') EXECUTE FUNCTION bulk_test_cut()`);
    const outcomes = await Promise.allSettled([first.publish(a), first.publish(b)]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(await rowsOf(fx)).toBe(2);
    expect(await logOf(fx)).toBe(0);
    await opened.db.query('DROP TRIGGER bulk_test_cut ON gateways');
    await opened.db.query('DROP FUNCTION bulk_test_cut()');
    // Restart: a new ingest; the gateway re-sends every unacknowledged reading as one message.
    const restarted = ingestFor(10);
    const repacked = readings(fx.gatewayId, [
      { seq: 1, address: '1', value: 1, time: at(0) }, { seq: 2, address: '2', value: 2, time: at(0) },
      { seq: 3, address: '3', value: 3, time: at(0) }, { seq: 4, address: '4', value: 4, time: at(0) },
    ]);
    const done = restarted.publish(repacked);
    await restarted.ingest.drain();
    await done;
    const { rows } = await opened.db.query<{ seq: number; value: number }>('SELECT seq, value FROM readings WHERE meter_id = ANY($1) ORDER BY seq', [fx.meterIds]);
    expect(rows).toEqual([{ seq: 1, value: 1 }, { seq: 2, value: 2 }, { seq: 3, value: 3 }, { seq: 4, value: 4 }]);
    expect(await logOf(fx)).toBe(0);
    // seq 1 and 2 were stored before the cut: found by their keys, same values → 2 duplicates, 2 stored.
    expect((await restarted.metrics.duplicates.get()).values[0].value).toBe(2);
    expect((await restarted.metrics.readingsStored.get()).values[0].value).toBe(2);
    expect(await count('SELECT count(*)::int AS n FROM quarantine WHERE gateway_id = $1', [fx.gatewayId])).toBe(0);
  });

  it('a batch delivered twice, and a reading re-packed into another message under its seq, leave one row per reading and no quarantine entry', async () => {
    const fx = await registerGateway(opened.db, 'gw-bulk-again', 3);
    const m1 = readings(fx.gatewayId, [{ seq: 1, address: '1', value: 10, time: at(0) }, { seq: 2, address: '2', value: 20, time: at(0) }]);
    const m2 = readings(fx.gatewayId, [{ seq: 3, address: '3', value: 30, time: at(0) }]);
    expect(await writeReadings(opened.db, [m1, m2], { clock })).toEqual({ stored: 3, duplicates: 0, quarantined: {} });
    // The gateway's last seen is set by a batch that adds nothing too (it did deliver): cleared to see it.
    await opened.db.query('UPDATE gateways SET last_seen_at = NULL WHERE id = $1', [fx.gatewayId]);
    await opened.db.query('UPDATE meters SET last_seen_at = NULL WHERE id = $1', [fx.meterIds[0]]);
    // The same batch again: seq 1, 2, 3 all found by their keys with the same values → 3 duplicates.
    expect(await writeReadings(opened.db, [m1, m2], { clock })).toEqual({ stored: 0, duplicates: 3, quarantined: {} });
    const seen = await opened.db.query<{ last_seen_at: Date | null }>('SELECT last_seen_at FROM gateways WHERE id = $1', [fx.gatewayId]);
    expect(seen.rows[0].last_seen_at).not.toBeNull();
    const meterSeen = await opened.db.query<{ last_seen_at: Date }>('SELECT last_seen_at FROM meters WHERE id = $1', [fx.meterIds[0]]);
    expect(meterSeen.rows[0].last_seen_at.toISOString()).toBe(at(0));
    // After a restart the gateway packs seq 2 with a new reading (seq 4) into one message: 1 duplicate, 1 stored.
    const repacked = readings(fx.gatewayId, [{ seq: 2, address: '2', value: 20, time: at(0) }, { seq: 4, address: '1', value: 11, time: at(1) }]);
    expect(await writeReadings(opened.db, [repacked], { clock })).toEqual({ stored: 1, duplicates: 1, quarantined: {} });
    // 4 readings → 4 rows, each key once, no quarantine entry, no claim, 4 instants queued for validation once.
    const { rows } = await opened.db.query<{ seq: number; value: number }>('SELECT seq, value FROM readings WHERE meter_id = ANY($1) ORDER BY seq', [fx.meterIds]);
    expect(rows).toEqual([{ seq: 1, value: 10 }, { seq: 2, value: 20 }, { seq: 3, value: 30 }, { seq: 4, value: 11 }]);
    expect(await count('SELECT count(*)::int AS n FROM quarantine WHERE gateway_id = $1', [fx.gatewayId])).toBe(0);
    expect(await logOf(fx)).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM vee_queue WHERE meter_id = ANY($1)', [fx.meterIds])).toBe(4);
  });

  it('a reading put in quarantine and delivered again leaves exactly one quarantine entry, even once its meter is bound', async () => {
    const fx = await registerGateway(opened.db, 'gw-bulk-qagain', 1);
    const unbound = readings(fx.gatewayId, [{ seq: 7, address: '9', value: 5, time: at(0) }]);
    const stranger = readings('gw-bulk-nobody', [{ seq: 1, address: '1', value: 1, time: at(0) }]);
    // seq 8 is stored; seq 9 reads another value for the same key → conflicting_value.
    const stored = readings(fx.gatewayId, [{ seq: 8, address: '1', value: 100, time: at(0) }]);
    const conflicting = readings(fx.gatewayId, [{ seq: 9, address: '1', value: 101, time: at(0) }]);
    expect(await writeReadings(opened.db, [unbound, stranger, stored], { clock }))
      .toEqual({ stored: 1, duplicates: 0, quarantined: { unknown_meter: 1, unknown_gateway: 1 } });
    expect(await writeReadings(opened.db, [conflicting], { clock })).toEqual({ stored: 0, duplicates: 0, quarantined: { conflicting_value: 1 } });
    // Each quarantined reading claimed its (gateway, seq); the stored one claimed nothing.
    const claims = await opened.db.query<{ gateway_id: string; seq: number; outcome: string }>(
      `SELECT gateway_id, seq, outcome FROM ingest_log WHERE gateway_id IN ($1, 'gw-bulk-nobody') ORDER BY gateway_id, seq`, [fx.gatewayId]);
    expect(claims.rows).toEqual([
      { gateway_id: 'gw-bulk-nobody', seq: 1, outcome: 'quarantined' },
      { gateway_id: fx.gatewayId, seq: 7, outcome: 'quarantined' },
      { gateway_id: fx.gatewayId, seq: 9, outcome: 'quarantined' },
    ]);
    // All four delivered again in one batch: 4 duplicates (3 by their claims, seq 8 by its key), nothing written.
    expect(await writeReadings(opened.db, [unbound, stranger, stored, conflicting], { clock })).toEqual({ stored: 0, duplicates: 4, quarantined: {} });
    // The engineer binds address 9 meanwhile; the gateway delivers seq 7 once more: still a duplicate, no row.
    const m = (await opened.db.query<{ id: number }>(
      `INSERT INTO meters (placement, building_id, resource, make, serial_number)
       SELECT 'building', building_id, 'heat', 'TEST', 'qagain-9' FROM gateways WHERE id = $1 RETURNING id`, [fx.gatewayId])).rows[0].id;
    await opened.db.query(`INSERT INTO bindings (gateway_id, bus, address, meter_id) VALUES ($1, 'm1', '9', $2)`, [fx.gatewayId, m]);
    expect(await writeReadings(opened.db, [unbound], { clock })).toEqual({ stored: 0, duplicates: 1, quarantined: {} });
    expect(await count('SELECT count(*)::int AS n FROM readings WHERE meter_id = $1', [m])).toBe(0);
    const entries = await opened.db.query<{ gateway_id: string; seq: number; reason: string }>(
      `SELECT gateway_id, seq, reason FROM quarantine WHERE gateway_id IN ($1, 'gw-bulk-nobody') ORDER BY gateway_id, seq`, [fx.gatewayId]);
    expect(entries.rows).toEqual([
      { gateway_id: 'gw-bulk-nobody', seq: 1, reason: 'unknown_gateway' },
      { gateway_id: fx.gatewayId, seq: 7, reason: 'unknown_meter' },
      { gateway_id: fx.gatewayId, seq: 9, reason: 'conflicting_value' },
    ]);
    const kept = await opened.db.query<{ seq: number; value: number }>('SELECT seq, value FROM readings WHERE meter_id = $1', [fx.meterIds[0]]);
    expect(kept.rows).toEqual([{ seq: 8, value: 100 }]);
  });

  it('batches committing at the same time, each with the same unbound reading, put it in quarantine once', async () => {
    const fx = await registerGateway(opened.db, 'gw-bulk-qpar', 1);
    // seq 1..4 unbound (address 9), each delivered 3 times in a row, one message per batch, 4 batches
    // at once (on a server each on its own connection, so the copies of one seq commit side by side):
    // 4 entries; the other 8 deliveries are duplicates.
    const msgs = [1, 2, 3, 4].map((seq) => readings(fx.gatewayId, [{ seq, address: '9', value: seq, time: at(seq) }]));
    const { ingest, metrics, publish } = ingestFor(1, 4);
    await Promise.all(msgs.flatMap((m) => [m, m, m]).map(publish));
    await ingest.drain();
    const entries = await opened.db.query<{ seq: number }>('SELECT seq FROM quarantine WHERE gateway_id = $1 ORDER BY seq', [fx.gatewayId]);
    expect(entries.rows.map((r) => Number(r.seq))).toEqual([1, 2, 3, 4]);
    expect(await logOf(fx)).toBe(4);
    expect((await metrics.duplicates.get()).values[0].value).toBe(8);
    expect((await metrics.quarantined.get()).values.find((v) => v.labels.reason === 'unknown_meter')?.value).toBe(4);
  });

  it('the bulk core refuses a batch naming a meter that does not exist, and says which', async () => {
    const fx = await registerGateway(opened.db, 'gw-bulk-missing', 1);
    const row = { meterId: fx.meterIds[0], time: at(0), quantity: 'energy_kwh', value: 1, unit: 'kWh', source: 'import' as const, version: 1, quality: [] };
    const err = await opened.db.tx((q) => writeReadingRows(q, [row, { ...row, meterId: 987_654_321 }])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingMetersError);
    expect((err as MissingMetersError).message).toBe('readings refer to meters that do not exist: 987654321; register the meters (or fix the ids) and write again');
    expect((err as MissingMetersError).code).toBe('23503');
    expect(await rowsOf(fx)).toBe(0);
    // …and a meter with readings cannot be deleted from under them.
    expect(await opened.db.tx((q) => writeReadingRows(q, [row]))).toEqual({ inserted: 1, skipped: [] });
    // Written again beside two new keys: the taken key is named by its index, the others inserted.
    const later = (minute: number) => ({ ...row, time: at(minute) });
    expect(await opened.db.tx((q) => writeReadingRows(q, [later(1), row, later(2)]))).toEqual({ inserted: 2, skipped: [1] });
    await expect(opened.db.query('DELETE FROM meters WHERE id = $1', [fx.meterIds[0]])).rejects.toThrow(`meter ${fx.meterIds[0]} has readings and cannot be deleted; decommission it instead`);
  });
});
