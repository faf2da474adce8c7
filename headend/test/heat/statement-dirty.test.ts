/**
 * The outdated sweep is driven by the dirty mark (readings/statement-marks.ts, migrations/047), not by polling the
 * signed months: what it reads is counted here through a logging handle on the real database (every
 * statement it sends), both engines.
 *
 * Three buildings A, B, C, one heat meter each, daily records of 1 000 kWh on 1 and 2 February
 * (Moscow, records starting at local midnight), each February signed by its engineer. After the first
 * sweep (each month compared once, as never compared since signing):
 *   - nothing written: the sweep sends 3 statements (the database's now, the marks, the never-compared
 *     months), reads no archive record and no reading, computes no statement;
 *   - a live register poll of B's meter on 10 February: a register is no statement value, no mark;
 *   - B's day 3 back-filled late (500 kWh): ONE mark (B's meter, 2026-02-03); the sweep computes B's
 *     statement only (2 000 → 2 500 kWh: outdated, one alert) and removes the mark;
 *   - a record of C's meter starting 1 March 00:00 local (a day of an unsigned month): its mark's day is
 *     2026-03-01, whose day before is in February, so C's February (signed) is compared: unchanged
 *     (the record is March's), no alert, the mark removed;
 *   - a file import's version of A's 1 February heat (1 000 → 1 100 kWh): staged hidden, no mark (the
 *     statement cannot see it); its switch marks 2026-02-01 in the same statement, and the sweep
 *     finds A's February outdated (2 000 → 2 100 kWh);
 *   - a record of A's meter on 10 March (no signed month touched): the mark is kept while younger than
 *     the margin (a sign-off may commit after the sweep read it), dropped after; no statement computed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveQuantity, type ReadingsMessage } from '@amr/protocols';
import { startHarness, type Harness } from '../api/harness.js';
import { registerGateway, readings, type Fixture, dailyArchiveMessage } from '../ingest/fixtures.js';
import { writeReadings } from '../../src/ingest/index.js';
import { checkSignedStatements } from '../../src/heat/outdated.js';
import { openImport, stageVersions, switchImport } from '../../src/readings/import-staging.js';
import type { Database, Queryable } from '../../src/db/types.js';
import { fixedClock } from '../../src/util/clock.js';

let h: Harness;
const clock = fixedClock('2026-03-15T09:00:00Z');
const checkAt = new Date('2026-03-16T08:00:00Z');
type Site = Fixture & { building: number; token: string };
let A: Site, B: Site, C: Site;
const channels = [{ channel: 'webhook' as const, target: 'https://hooks.example.org/amr' }];

/** A daily record of `gatewayId`'s calculator starting at a Moscow midnight (`date` local). */
function dailyOn(gatewayId: string, seq: number, date: string, kwh: number): ReadingsMessage {
  const time = new Date(Date.parse(`${date}T00:00:00Z`) - 3 * 3600_000).toISOString();
  const m = dailyArchiveMessage({ gatewayId }, 1, kwh);
  const r = m.readings[0];
  return { ...m, readings: [{ ...r, seq, values: r.values.map((v) => ({ ...v, time })), archive: { kind: 'daily', record: `${date}T00:00:00`, stamp: 'start', seconds: 86_400, nsCodes: [] } }] };
}

/** The real database behind a handle that records every statement sent (text and parameters). */
function logging(db: Database): { db: Database; sent: { text: string; params: unknown[] }[] } {
  const sent: { text: string; params: unknown[] }[] = [];
  const wrap = (q: Queryable): Queryable => ({ query: (text: string, params?: unknown[]) => { sent.push({ text, params: params ?? [] }); return q.query(text, params); } });
  return { sent, db: { ...wrap(db), tx: (fn) => db.tx((q) => fn(wrap(q))) } };
}
/** Statements that read a meter's archive records (the statement's own loads). */
const archiveProbes = (sent: { text: string; params: unknown[] }[]) => sent.filter((s) => /meter_archive_ns/.test(s.text));
/** The buildings whose statement was computed (service.ts loads the building first). */
const statementsOf = (sent: { text: string; params: unknown[] }[]) => sent.filter((s) => /JOIN organisations o ON o\.id = b\.org_id WHERE b\.id = \$1/.test(s.text)).map((s) => Number(s.params[0]));
const marks = async () => (await h.opened.db.query<{ meter_id: string; day: string }>(`SELECT meter_id, to_char(day, 'YYYY-MM-DD') AS day FROM heat_statement_dirty ORDER BY meter_id, day`)).rows
  .map((r) => [Number(r.meter_id), r.day]);
const outdatedAlerts = async () => (await h.opened.db.query<{ subject: string }>(`SELECT subject FROM alerts WHERE kind = 'heat_statement_outdated' ORDER BY id`)).rows.map((r) => r.subject);

async function seed(gw: string): Promise<Site> {
  const fx = await registerGateway(h.opened.db, gw, 1);
  const building = Number((await h.opened.db.query<{ building_id: string }>('SELECT building_id FROM meters WHERE id = $1', [fx.meterIds[0]])).rows[0].building_id);
  await writeReadings(h.opened.db, [dailyArchiveMessage(fx, 1, 1000), dailyArchiveMessage(fx, 2, 1000)], { clock });
  const token = await h.userToken('engineer', { buildingIds: [building] });
  const signed = await h.call('POST', `/buildings/${building}/heat-statement/sign-off`, token, { period: '2026-02' });
  if (signed.status !== 200) throw new Error(`sign-off ${gw}: ${signed.status} ${JSON.stringify(signed.body)}`);
  return { ...fx, building, token };
}

beforeAll(async () => {
  h = await startHarness({ clock });
  A = await seed('gw-heat-dirty-a');
  B = await seed('gw-heat-dirty-b');
  C = await seed('gw-heat-dirty-c');
  // The first sweep: each signed month compared once (never compared since signing), the seeding's marks taken.
  const first = await checkSignedStatements(h.opened.db, { at: checkAt, channels, margin: '0 seconds' });
  if (first.checked !== 3 || first.outdated !== 0) throw new Error(`first sweep: ${JSON.stringify(first)}`);
}, 120_000);
afterAll(async () => {
  await h?.close();
});

describe('the outdated sweep reads the dirty marks, not the signed months', () => {
  it('nothing written since: three statements, no archive record read, no statement computed', async () => {
    expect(await marks()).toEqual([]);
    const log = logging(h.opened.db);
    const r = await checkSignedStatements(log.db, { at: checkAt, channels });
    expect([r.marks, r.checked, r.outdated, r.cleared]).toEqual([0, 0, 0, 0]);
    expect(log.sent).toHaveLength(3);
    expect(archiveProbes(log.sent)).toEqual([]);
    expect(log.sent.filter((s) => /\breadings\b/.test(s.text))).toEqual([]);
    expect(statementsOf(log.sent)).toEqual([]);
  });

  it('a live register poll of a signed month marks nothing', async () => {
    const poll = await writeReadings(h.opened.db, [readings(B.gatewayId, [{ seq: 500, address: '1', value: 123_456, time: '2026-02-10T10:00:00Z' }])], { clock });
    expect(poll.stored).toBe(1);
    expect(await marks()).toEqual([]);
  });

  it('one day back-filled late: one mark, only that building\'s statement computed, the alert raised, the mark gone', async () => {
    await writeReadings(h.opened.db, [dailyArchiveMessage(B, 3, 500)], { clock });
    expect(await marks()).toEqual([[B.meterIds[0], '2026-02-03']]);
    const log = logging(h.opened.db);
    const r = await checkSignedStatements(log.db, { at: checkAt, channels, margin: '0 seconds' });
    expect([r.marks, r.checked, r.outdated, r.cleared]).toEqual([1, 1, 1, 0]);
    expect(statementsOf(log.sent)).toEqual([B.building]);
    // The statement's archive loads name B's meter only (loadRecords: the meter; the meter list: the building).
    expect(archiveProbes(log.sent).map((s) => Number(s.params[0])).sort()).toEqual([B.building, B.meterIds[0]].sort());
    expect(await outdatedAlerts()).toEqual([`heat-statement:${B.building}:2026-02`]);
    expect(await marks()).toEqual([]);
    const shown = await h.call('GET', `/buildings/${B.building}/heat-statement?period=2026-02`, B.token);
    expect([shown.body.totals.q_kwh, shown.body.changed_since_sign_off]).toEqual([2500, true]);
    // And the next sweep reads nothing again.
    const again = await checkSignedStatements(h.opened.db, { at: checkAt, channels });
    expect([again.marks, again.checked]).toEqual([0, 0]);
  });

  it('a corrected value of a signed month marks its day through the readings core', async () => {
    const time = new Date(Date.UTC(2026, 1, 2) - 3 * 3600_000).toISOString();
    const corr = await h.call('POST', `/meters/${A.meterIds[0]}/readings/corrections`, A.token,
      { time, quantity: archiveQuantity('operating_time_delta_s', 'daily'), value: 86_400, reason: 'перечитано: без изменений' });
    expect(corr.status, JSON.stringify(corr.body)).toBe(201);
    expect(await marks()).toEqual([[A.meterIds[0], '2026-02-02']]);
    const r = await checkSignedStatements(h.opened.db, { at: checkAt, channels, margin: '0 seconds' });
    // The same value again: compared, unchanged, nothing raised.
    expect([r.marks, r.checked, r.outdated]).toEqual([1, 1, 0]);
    expect(await outdatedAlerts()).toEqual([`heat-statement:${B.building}:2026-02`]);
  });

  it('a record of 1 March marks 2026-03-01, which touches February (an end-stamped record there is February\'s): compared, unchanged', async () => {
    await writeReadings(h.opened.db, [dailyOn(C.gatewayId, 301, '2026-03-01', 700)], { clock });
    expect(await marks()).toEqual([[C.meterIds[0], '2026-03-01']]);
    const log = logging(h.opened.db);
    const r = await checkSignedStatements(log.db, { at: checkAt, channels, margin: '0 seconds' });
    expect([r.marks, r.checked, r.outdated]).toEqual([1, 1, 0]);
    expect(statementsOf(log.sent)).toEqual([C.building]);
    expect(await marks()).toEqual([]);
  });

  it('a file import: its hidden rows mark nothing, its switch marks their day', async () => {
    const orgId = Number((await h.opened.db.query<{ org_id: string }>('SELECT org_id FROM buildings WHERE id = $1', [A.building])).rows[0].org_id);
    const id = await h.opened.db.tx((q) => openImport(q, { orgId, fileName: 'heat-fix.csv', createdBy: 'office' }));
    const time = new Date(Date.UTC(2026, 1, 1) - 3 * 3600_000).toISOString();
    await h.opened.db.tx((q) => stageVersions(q, id, [{ meterId: A.meterIds[0], time, quantity: archiveQuantity('energy_delta_kwh', 'daily'), value: 1100, source: 'import', createdBy: 'office', reason: 'файл поставщика', version: 2 }]));
    expect(await marks()).toEqual([]);
    expect(await h.opened.db.tx((q) => switchImport(q, id, 1))).toEqual({ ok: true });
    expect(await marks()).toEqual([[A.meterIds[0], '2026-02-01']]);
    const r = await checkSignedStatements(h.opened.db, { at: checkAt, channels, margin: '0 seconds' });
    expect([r.marks, r.checked, r.outdated]).toEqual([1, 1, 1]);
    expect(await outdatedAlerts()).toEqual([`heat-statement:${B.building}:2026-02`, `heat-statement:${A.building}:2026-02`]);
  });

  it('a day of an unsigned month: no statement computed; the mark is kept within the margin, dropped after it', async () => {
    await writeReadings(h.opened.db, [dailyOn(A.gatewayId, 310, '2026-03-10', 900)], { clock });
    expect(await marks()).toEqual([[A.meterIds[0], '2026-03-10']]);
    const kept = await checkSignedStatements(h.opened.db, { at: checkAt, channels });
    expect([kept.marks, kept.checked]).toEqual([1, 0]);
    expect(await marks()).toEqual([[A.meterIds[0], '2026-03-10']]);
    const dropped = await checkSignedStatements(h.opened.db, { at: checkAt, channels, margin: '0 seconds' });
    expect([dropped.marks, dropped.checked]).toEqual([1, 0]);
    expect(await marks()).toEqual([]);
  });

  it('a known record\'s value that arrives later (a re-read that has it) marks its day through the values\' bulk write', async () => {
    // 4 February's record first without its heat amount: the record (meter_archive_ns) and its day marked.
    const first = dailyOn(C.gatewayId, 41, '2026-02-04', 700);
    const heatName = archiveQuantity('energy_delta_kwh', 'daily');
    await writeReadings(h.opened.db, [{ ...first, readings: first.readings.map((r) => ({ ...r, values: r.values.filter((v) => v.quantity !== heatName) })) }], { clock });
    expect(await marks()).toEqual([[C.meterIds[0], '2026-02-04']]);
    await h.opened.db.query('DELETE FROM heat_statement_dirty');
    // The same record again with its 700 kWh: the record is known (no new record row), the value is new.
    const again = await writeReadings(h.opened.db, [dailyOn(C.gatewayId, 42, '2026-02-04', 700)], { clock });
    expect(again.stored).toBe(1);
    expect(await marks()).toEqual([[C.meterIds[0], '2026-02-04']]);
    // Taken away unswept (C's February has changed; nothing after this reads it).
    await h.opened.db.query('DELETE FROM heat_statement_dirty');
  });
});
