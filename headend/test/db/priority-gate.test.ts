/**
 * Telemetry first for the database's connections (db/priority-gate.ts), but never for ever: the pure
 * gate's order worked out by hand, then a real one-connection database (both engines) where a
 * gateway batch queued behind three API transactions runs right after the one holding the connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PriorityGate, type Priority } from '../../src/db/priority-gate.js';
import { openTestDb, TEST_ENGINE } from '../engine.js';
import type { OpenedDb } from '../../src/db/index.js';

/** Runs `order` through a one-slot gate whose slot is held until all are queued; returns the run order. */
async function orderThrough(gate: PriorityGate, order: Array<[string, Priority]>): Promise<string[]> {
  const ran: string[] = [];
  let open!: () => void;
  const held = gate.run('normal', () => new Promise<void>((r) => { open = r; }));
  const all = order.map(([name, p]) => gate.run(p, async () => { ran.push(name); }));
  expect(gate.waiting).toBe(order.length);
  open();
  await Promise.all([held, ...all]);
  expect(gate.waiting).toBe(0);
  return ran;
}

describe('priority gate', () => {
  it('a waiting telemetry caller goes before waiting normal ones; normal ones keep their order', async () => {
    expect(await orderThrough(new PriorityGate(1), [['api1', 'normal'], ['api2', 'normal'], ['gw1', 'telemetry'], ['api3', 'normal']]))
      .toEqual(['gw1', 'api1', 'api2', 'api3']);
  });

  it('after 3 telemetry grants in a row a waiting normal caller gets the next one', async () => {
    expect(await orderThrough(new PriorityGate(1, 3), [['api1', 'normal'], ...[1, 2, 3, 4, 5].map((i): [string, Priority] => [`gw${i}`, 'telemetry']), ['api2', 'normal']]))
      .toEqual(['gw1', 'gw2', 'gw3', 'api1', 'gw4', 'gw5', 'api2']);
  });

  it('as many at once as it has slots; a failure frees its slot', async () => {
    const gate = new PriorityGate(2);
    let running = 0;
    let most = 0;
    const job = (fail: boolean) => gate.run('normal', async () => {
      running++; most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      if (fail) throw new Error('statement failed');
    });
    const results = await Promise.allSettled([job(false), job(true), job(false), job(true), job(false)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect(most).toBe(2);
    expect(gate.waiting).toBe(0);
  });
});

describe(`telemetry first on one connection (${TEST_ENGINE})`, () => {
  let opened: OpenedDb;
  beforeAll(async () => { opened = await openTestDb({ poolMax: 1 }); });
  afterAll(async () => { await opened?.close(); });

  it('a gateway batch queued behind three API transactions runs right after the one holding the connection', async () => {
    const db = opened.db;
    await db.query('CREATE TABLE gate_probe (n serial PRIMARY KEY, who text NOT NULL)');
    const mark = (who: string) => async (q: { query: (s: string, p?: unknown[]) => Promise<unknown> }) => { await q.query('INSERT INTO gate_probe (who) VALUES ($1)', [who]); };
    const holder = db.tx(async (q) => { await q.query('SELECT pg_sleep(0.3)'); await mark('holder')(q); });
    await new Promise((r) => setTimeout(r, 50)); // the holder has the connection
    const api = ['api1', 'api2', 'api3'].map((who) => db.tx(mark(who)));
    const gw = db.tx(mark('gateway'), { priority: 'telemetry' });
    expect(db.stats().waiting).toBe(4);
    await Promise.all([holder, ...api, gw]);
    const { rows } = await db.query<{ who: string }>('SELECT who FROM gate_probe ORDER BY n');
    expect(rows.map((r) => r.who)).toEqual(['holder', 'gateway', 'api1', 'api2', 'api3']);
  });
});
