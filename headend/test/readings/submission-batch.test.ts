/**
 * Residents' submissions judged and written in batches (readings/submissions.ts): the 25th evening,
 * when a thousand flats submit within minutes. Requests arriving within the linger share ONE
 * transaction, and each must still get exactly the answer it gets alone: its own 201, 400, 404 or 409,
 * nothing of a refused request written, nothing of the others lost. Two organisations (a resident of
 * B tries A's meter inside A's batch), two requests for one meter in the same instant (the later one is
 * judged after the earlier is written), and a database error inside a batch (the others are written
 * again alone, the failing one answers its own error).
 *
 * Buildings in UTC, collection window 15th–25th (the defaults), clock fixed at 20 March 2026 10:00 UTC:
 * every entry is dated at the window's start, 15 March 00:00 UTC. Meters installed 2020-01-10.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';
import { fixedClock } from '../../src/util/clock.js';
import { SubmissionBatcher } from '../../src/readings/submissions.js';
import { rightsFor, type WriteOptions, type WrittenReading } from '../../src/readings/write.js';
import type { Principal } from '../../src/auth/index.js';
import { HttpError } from '../../src/http/errors.js';

const NOW = new Date('2026-03-20T10:00:00Z');
const WINDOW_START = '2026-03-15T00:00:00.000Z';
const FLATS = 50;
let h: Harness;
let orgA: number, bA: number, bB: number;
/** Flat i of building A and its cold-water meter. */
const flatsA: number[] = [];
const metersA: number[] = [];
let flatB: number, meterB: number;

const resident = (premise: number, building: number, id: number): Principal => ({
  kind: 'user', id, name: `resident-${id}`, role: 'resident', buildingIds: new Set([building]), premiseIds: new Set([premise]), organisationId: null, tokenId: null,
});
/** A resident's submission options as POST /resident/readings gives them. */
const asResident = (premise: number, building: number, id: number, over: Partial<WriteOptions> = {}): WriteOptions => {
  const p = resident(premise, building, id);
  return { source: 'resident', actor: { kind: 'user', id, name: p.name }, rights: rightsFor(p, 'resident'), scope: { principal: p }, now: NOW, confirm: false, requestId: `req-${id}`, ...over };
};
const ofA = (i: number, over: Partial<WriteOptions> = {}) => asResident(flatsA[i], bA, 1000 + i, over);

/** Every version of a meter: [time, value, version, source, created_by]. */
const versions = async (m: number) => (await h.opened.db.query<{ time: Date; value: number; version: number; source: string; created_by: string }>(
  'SELECT time, value, version, source, created_by FROM readings WHERE meter_id = $1 ORDER BY time, version', [m])).rows
  .map((r) => [new Date(r.time).toISOString(), Number(r.value), Number(r.version), r.source, r.created_by]);
const audits = async (m: number) => (await h.opened.db.query<{ action: string; actor_name: string; request_id: string; reason: string | null; value: number }>(
  "SELECT action, actor_name, request_id, reason, (after->>'value')::float8 AS value FROM audit_log WHERE entity = 'reading' AND entity_id LIKE $1 ORDER BY id", [`${m}/%`])).rows;

/** A batcher whose linger is long enough that everything sent in one turn lands in one batch; records the batches. */
function batcher(over: { maxBatch?: number } = {}) {
  const batches: Array<{ size: number; retriedAlone: boolean; error?: string }> = [];
  const b = new SubmissionBatcher(h.opened.db, { lingerMs: 40, maxBatch: over.maxBatch ?? 200, onBatch: (x) => batches.push({ size: x.size, retriedAlone: x.retriedAlone, error: x.error?.message }) });
  return { b, batches };
}
/** The outcome of a submission: its readings, or the HttpError's status, code and details. */
async function outcome(p: Promise<WrittenReading[]>) {
  try { return { status: 201, readings: await p }; } catch (e) {
    if (e instanceof HttpError) return { status: e.statusCode, code: e.code, details: e.details ?? [], message: e.message };
    return { status: 500, message: (e as Error).message };
  }
}

beforeAll(async () => {
  h = await startHarness({ clock: fixedClock(NOW) });
  const t = h.adminToken;
  const building = async (org: number, ext: string) => (await h.call('POST', '/buildings', t, { org_id: org, external_id: ext, address: `ул. Пакетная, ${ext}`, timezone: 'UTC' })).body.id as number;
  const premise = async (b: number, n: string) => (await h.call('POST', '/premises', t, { building_id: b, number: n, residents: 1 })).body.id as number;
  const meter = async (b: number, p: number, serial: string) => {
    const r = await h.call('POST', '/meters', t, { placement: 'apartment', building_id: b, premise_id: p, resource: 'cold_water', serial_number: serial, make: 'X', installed_on: '2020-01-10' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.id as number;
  };
  orgA = (await h.call('POST', '/organisations', t, { name: 'УК А' })).body.id;
  const orgB = (await h.call('POST', '/organisations', t, { name: 'УК Б' })).body.id;
  bA = await building(orgA, 'A');
  bB = await building(orgB, 'B');
  for (let i = 0; i < FLATS + 7; i++) {
    flatsA.push(await premise(bA, String(i + 1)));
    metersA.push(await meter(bA, flatsA[i], `A-${i + 1}`));
  }
  flatB = await premise(bB, '1');
  meterB = await meter(bB, flatB, 'B-1');
}, 120_000);
afterAll(async () => { await h?.close(); });

describe('a batch of residents\' submissions', () => {
  it('50 residents of different flats at once: one batch, all accepted, each reading stored once with its value, its resident and its audit row', async () => {
    const { b, batches } = batcher();
    // Flat i submits 100 + i m³ (its first reading: far below 3 × 12 m³ × 74 months, no confirmation).
    const results = await Promise.all(Array.from({ length: FLATS }, (_, i) => outcome(b.submit([{ meterId: metersA[i], value: 100 + i, path: 'readings.0' }], ofA(i)))));
    expect(batches).toEqual([{ size: FLATS, retriedAlone: false, error: undefined }]);
    for (const [i, r] of results.entries()) {
      expect(r.status, JSON.stringify(r)).toBe(201);
      expect(r.readings).toMatchObject([{ meter_id: metersA[i], value: 100 + i, version: 1, unchanged: false, previous: null, consumption: null, quantity: 'volume_m3' }]);
      expect(r.readings![0].time.toISOString()).toBe(WINDOW_START);
    }
    for (let i = 0; i < FLATS; i++) {
      expect(await versions(metersA[i])).toEqual([[WINDOW_START, 100 + i, 1, 'resident', `resident-${1000 + i}`]]);
      expect(await audits(metersA[i])).toEqual([{ action: 'submit', actor_name: `resident-${1000 + i}`, request_id: `req-${1000 + i}`, reason: null, value: 100 + i }]);
    }
  });

  it('the same values sent again in one batch (answers lost): the stored version 1 answered, nothing written', async () => {
    const { b, batches } = batcher();
    const results = await Promise.all([0, 1, 2].map((i) => outcome(b.submit([{ meterId: metersA[i], value: 100 + i }], ofA(i)))));
    expect(batches.map((x) => x.size)).toEqual([3]);
    for (const [i, r] of results.entries()) expect(r).toMatchObject({ status: 201, readings: [{ meter_id: metersA[i], value: 100 + i, version: 1, unchanged: true }] });
    for (const i of [0, 1, 2]) {
      expect(await versions(metersA[i])).toEqual([[WINDOW_START, 100 + i, 1, 'resident', `resident-${1000 + i}`]]);
      expect((await audits(metersA[i])).length).toBe(1);
    }
  });

  it('a value below the previous reading in a batch of good ones: only that request 400 (below_previous), nothing of it written, the others stored', async () => {
    const [good1, bad, good2] = [FLATS, FLATS + 1, FLATS + 2];
    // Flat `bad` read 200 in February; it now sends 150.
    await h.opened.db.query("INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, '2026-02-15T00:00:00Z', 'volume_m3', 200, 'm3', 'resident')", [metersA[bad]]);
    const { b, batches } = batcher();
    const [r1, r2, r3] = await Promise.all([
      outcome(b.submit([{ meterId: metersA[good1], value: 10 }], ofA(good1))),
      outcome(b.submit([{ meterId: metersA[bad], value: 150 }], ofA(bad))),
      outcome(b.submit([{ meterId: metersA[good2], value: 20 }], ofA(good2))),
    ]);
    expect(batches.map((x) => x.size)).toEqual([3]);
    expect(r1).toMatchObject({ status: 201, readings: [{ value: 10, version: 1 }] });
    expect(r3).toMatchObject({ status: 201, readings: [{ value: 20, version: 1 }] });
    expect(r2).toMatchObject({ status: 400, code: 'bad_request', details: [{ path: 'readings.0', code: 'below_previous', column: 'value', params: { value: 150, previous: 200, serial: `A-${bad + 1}` } }] });
    expect(await versions(metersA[bad])).toEqual([['2026-02-15T00:00:00.000Z', 200, 1, 'resident', null]]);
    expect(await audits(metersA[bad])).toEqual([]);
    expect(await versions(metersA[good1])).toEqual([[WINDOW_START, 10, 1, 'resident', `resident-${1000 + good1}`]]);
    expect(await versions(metersA[good2])).toEqual([[WINDOW_START, 20, 1, 'resident', `resident-${1000 + good2}`]]);
  });

  it("a resident of organisation B naming A's meters inside A's batch: 404 for that request alone, nothing of it written, A's stored", async () => {
    const target = FLATS + 3;
    const { b, batches } = batcher();
    const [own, intruder, other] = await Promise.all([
      outcome(b.submit([{ meterId: metersA[target], value: 30 }], ofA(target))),
      // B's resident sends its own meter and A's: all or nothing, so neither is written.
      outcome(b.submit([{ meterId: meterB, value: 5 }, { meterId: metersA[target + 1], value: 999 }], asResident(flatB, bB, 2000))),
      outcome(b.submit([{ meterId: metersA[target + 1], value: 40 }], ofA(target + 1))),
    ]);
    // The intruder names a meter of the third request: that one waits for the next batch (one meter, one request at a time).
    expect(batches.map((x) => x.size)).toEqual([2, 1]);
    expect(own).toMatchObject({ status: 201, readings: [{ value: 30, version: 1 }] });
    expect(intruder).toMatchObject({ status: 404, code: 'not_found', details: [{ path: 'readings.1', code: 'meter_not_found', params: { meter_id: metersA[target + 1] } }] });
    // The same answer as a meter that does not exist: nothing said about A.
    expect(intruder.message).toBe(`meter ${metersA[target + 1]} not found`);
    expect(await versions(meterB)).toEqual([]);
    expect(other).toMatchObject({ status: 201, readings: [{ value: 40, version: 1, previous: null }] });
    expect(await versions(metersA[target + 1])).toEqual([[WINDOW_START, 40, 1, 'resident', `resident-${1000 + target + 1}`]]);
    expect((await audits(metersA[target + 1])).map((a) => a.actor_name)).toEqual([`resident-${1000 + target + 1}`]);
  });

  it('high consumption in a batch: that request 409 confirmation_required and nothing written; sent again confirmed, stored with the reason', async () => {
    const high = FLATS + 5;
    // 10 m³ a month: 80, 90, 100 in December, January, February; 400 now is 300 m³ in a month (above 3 × 10).
    for (const [t, v] of [['2025-12-15', 80], ['2026-01-15', 90], ['2026-02-15', 100]] as const) {
      await h.opened.db.query("INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, $2, 'volume_m3', $3, 'm3', 'resident')", [metersA[high], `${t}T00:00:00Z`, v]);
    }
    const { b, batches } = batcher();
    const [asked, fine] = await Promise.all([
      outcome(b.submit([{ meterId: metersA[high], value: 400 }], ofA(high))),
      outcome(b.submit([{ meterId: metersA[0], value: 101 }], ofA(0))),
    ]);
    expect(batches.map((x) => x.size)).toEqual([2]);
    expect(asked).toMatchObject({ status: 409, code: 'confirmation_required', details: [{ path: 'readings.0', code: 'high_consumption' }] });
    expect(await versions(metersA[high])).toHaveLength(3);
    // Flat 0 changed its mind: 101 is version 2 at the window's instant, consumption from nothing before it.
    expect(fine).toMatchObject({ status: 201, readings: [{ value: 101, version: 2, unchanged: false }] });
    const confirmed = await outcome(b.submit([{ meterId: metersA[high], value: 400 }], ofA(high, { confirm: true })));
    expect(confirmed).toMatchObject({ status: 201, readings: [{ value: 400, version: 1, consumption: 300, previous: 100 }] });
    const a = await audits(metersA[high]);
    expect(a).toHaveLength(1);
    expect(a[0].reason).toMatch(/^confirmed: meter A-56: /);
  });
});

describe('two requests for the same meter', () => {
  it('sent at once with different values: judged one after the other (two batches), stored as versions 1 and 2 as sequential requests would be', async () => {
    const m = metersA[FLATS + 6];
    const { b, batches } = batcher();
    const [first, second] = await Promise.all([
      outcome(b.submit([{ meterId: m, value: 50 }], ofA(FLATS + 6, { requestId: 'first' }))),
      outcome(b.submit([{ meterId: m, value: 55 }], ofA(FLATS + 6, { requestId: 'second' }))),
    ]);
    expect(batches.map((x) => x.size)).toEqual([1, 1]);
    expect(first).toMatchObject({ status: 201, readings: [{ value: 50, version: 1 }] });
    expect(second).toMatchObject({ status: 201, readings: [{ value: 55, version: 2 }] });
    expect((await versions(m)).map((v) => v.slice(1, 3))).toEqual([[50, 1], [55, 2]]);
    expect((await audits(m)).map((x) => [x.request_id, x.value])).toEqual([['first', 50], ['second', 55]]);
    // The same value a third time, behind them in the same wave: the stored version 2, unchanged.
    const third = await outcome(b.submit([{ meterId: m, value: 55 }], ofA(FLATS + 6)));
    expect(third).toMatchObject({ status: 201, readings: [{ value: 55, version: 2, unchanged: true }] });
  });

  it('a request for a meter waits behind an earlier queued request for it, while later requests of other meters go ahead', async () => {
    const { b, batches } = batcher();
    // Flat 1 twice, then flat 2: the first batch is [flat 1, flat 2], flat 1's second request the next.
    const r = await Promise.all([
      outcome(b.submit([{ meterId: metersA[1], value: 102 }], ofA(1))),
      outcome(b.submit([{ meterId: metersA[1], value: 103 }], ofA(1))),
      outcome(b.submit([{ meterId: metersA[2], value: 104 }], ofA(2))),
    ]);
    expect(batches.map((x) => x.size)).toEqual([2, 1]);
    expect(r.map((x) => x.readings?.[0].version)).toEqual([2, 3, 2]);
    expect((await audits(metersA[1])).map((a) => a.value)).toEqual([101, 102, 103]);
    expect((await versions(metersA[1])).map((v) => v.slice(1, 3))).toEqual([[101, 1], [102, 2], [103, 3]]);
  });
});

describe('a database error inside a batch', () => {
  it('the batch is written again request by request: the failing one answers its error, the others are stored once, nothing lost', async () => {
    // A real refusal by the database (not by the judge): a trigger that fails the row of value 666.666.
    await h.opened.db.query(`CREATE OR REPLACE FUNCTION test_refuse_666() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.value = 666.666 THEN RAISE EXCEPTION 'test: the database refuses 666.666'; END IF; RETURN NEW; END $$`);
    await h.opened.db.query('CREATE TRIGGER test_refuse_666 BEFORE INSERT ON reading_rows FOR EACH ROW EXECUTE FUNCTION test_refuse_666()');
    try {
      const [x, y, z] = [10, 11, 12];
      const { b, batches } = batcher();
      const [rx, ry, rz] = await Promise.all([
        outcome(b.submit([{ meterId: metersA[x], value: 210 }], ofA(x))),
        outcome(b.submit([{ meterId: metersA[y], value: 666.666 }], ofA(y))),
        outcome(b.submit([{ meterId: metersA[z], value: 212 }], ofA(z))),
      ]);
      expect(batches).toEqual([{ size: 3, retriedAlone: true, error: expect.stringContaining('666.666') }]);
      expect(rx).toMatchObject({ status: 201, readings: [{ value: 210, version: 2 }] });
      expect(rz).toMatchObject({ status: 201, readings: [{ value: 212, version: 2 }] });
      expect(ry.status).toBe(500);
      expect(ry.message).toContain('the database refuses 666.666');
      expect((await versions(metersA[x])).map((v) => v.slice(1, 3))).toEqual([[110, 1], [210, 2]]);
      expect((await versions(metersA[y])).map((v) => v.slice(1, 3))).toEqual([[111, 1]]);
      expect((await versions(metersA[z])).map((v) => v.slice(1, 3))).toEqual([[112, 1], [212, 2]]);
      expect((await audits(metersA[x])).map((a) => a.value)).toEqual([110, 210]);
      expect((await audits(metersA[y])).map((a) => a.value)).toEqual([111]);
    } finally {
      await h.opened.db.query('DROP TRIGGER test_refuse_666 ON reading_rows');
    }
  });
});

describe('POST /resident/readings goes through the batcher', () => {
  it("concurrent residents over HTTP: each gets its own answer (201, and 404 for another organisation's meter)", async () => {
    const accounts = async (premise: number, number: string, org: number) => (await h.call('POST', '/accounts', h.adminToken, { org_id: org, number, premise_id: premise })).body.id as number;
    const t20 = await h.userToken('resident', { accountIds: [await accounts(flatsA[20], 'LS-20', orgA)] });
    const t21 = await h.userToken('resident', { accountIds: [await accounts(flatsA[21], 'LS-21', orgA)] });
    const [a, c] = await Promise.all([
      h.call('POST', '/resident/readings', t20, { readings: [{ meter_id: metersA[20], value: 220 }] }),
      // Resident of flat 21 names flat 20's meter too: 404, nothing of it written.
      h.call('POST', '/resident/readings', t21, { readings: [{ meter_id: metersA[21], value: 221 }, { meter_id: metersA[22], value: 1 }] }),
    ]);
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    expect(a.body.readings).toMatchObject([{ meter_id: metersA[20], value: 220, version: 2 }]);
    expect(c.status).toBe(404);
    expect(c.body.details).toMatchObject([{ path: 'readings.1', code: 'meter_not_found' }]);
    expect((await versions(metersA[21])).map((v) => v.slice(1, 3))).toEqual([[121, 1]]);
  });
});
