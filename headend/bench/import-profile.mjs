#!/usr/bin/env node
/**
 * Where a readings import's chunk spends its time (not a test, not part of `npm run bench`): the same
 * flats × 4 months as bench/import.bench.mjs, judged and staged chunk by chunk as
 * exchange/readings-import.ts does, with each step timed — the judge's statements one by one, its JS
 * (zod, Date handling, the pure judge), plannedVersions, the staging statement — and the chunk's whole
 * transaction. Prints the mean per chunk and per row of each step in CPU time of the process (on the
 * server engine the database's own work is not in it: there the statements' times are mostly waiting).
 *
 * `--engine server`: a TimescaleDB server of its own (scripts/pg-server.mjs) instead of the embedded engine.
 * Knobs (env): PROFILE_FLATS (5000), PROFILE_CHUNK_ROWS (1000), PROFILE_EXPLAIN (a chunk number: its
 * statements are shown with EXPLAIN ANALYZE).
 */
import { pino } from 'pino';
import { loadConfig, startHeadend, fixedClock } from '../dist/index.js';
import { judgeReadingsBatch, plannedVersions } from '../dist/readings/write.js';
import { openImport, stageVersions, discardImport } from '../dist/readings/import-staging.js';
import { importReadingRows, ReadingImportRow } from '../dist/exchange/readings-import.js';
import { startBenchDatabase } from '../../scripts/pg-server.mjs';
import { seedImportBuilding } from './import-setup.mjs';

const FLATS = Number(process.env.PROFILE_FLATS ?? 5000);
const CHUNK = Number(process.env.PROFILE_CHUNK_ROWS ?? 1000);
const ENGINE = process.argv.includes('--engine') ? process.argv[process.argv.indexOf('--engine') + 1] : 'embedded';
let server = null;
const extra = {};
if (ENGINE === 'server') {
  let url;
  ({ server, url } = await startBenchDatabase('amr_profile'));
  extra.DATABASE_URL = url;
}
const config = loadConfig({ ...process.env, DATA_DIR: 'memory://', DATABASE_URL: '', DB_PORT: '0', MQTT_URL: '', MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent', ...extra });
const he = await startHeadend({ config, logger: pino({ level: 'silent' }), jobs: false, clock: fixedClock('2027-01-15T12:00:00+03:00') });
const { orgId } = await seedImportBuilding(he.db, { name: 'profile import', flats: FLATS });
const meters = (await he.db.query(`SELECT m.id FROM meters m JOIN buildings b ON b.id = m.building_id WHERE b.org_id = $1 ORDER BY m.id`, [orgId])).rows.map((r) => Number(r.id));
const months = ['2026-08-31T21:00:00Z', '2026-09-30T21:00:00Z', '2026-10-31T21:00:00Z', '2026-11-30T21:00:00Z'];
const actor = { kind: 'system', id: null, name: 'profile' };
const now = new Date('2027-01-15T09:00:00Z');
const opts = { source: 'import', rights: { write: true, outsideWindow: true, correct: true }, scope: { orgId, buildingIds: null }, now, confirm: false, reason: 'profile.csv', requestId: null, skipUnchanged: true, auditEach: false };

/** CPU time of this process (ms): the embedded engine runs on its thread, so a step's own cost even on a loaded machine. */
const clock = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const sum = new Map();
const wallSum = new Map();
const add = (k, ms) => sum.set(k, (sum.get(k) ?? 0) + ms);
/** Wall time of a step: on the server engine the statements' own time is the server's, not in this process's CPU. */
const addWall = (k, ms) => wallSum.set(k, (wallSum.get(k) ?? 0) + ms);
/** A transaction handle whose statements are timed under the first words of their SQL. */
let explainNow = false;
const timed = (q, prefix) => ({
  query: async (sql, params) => {
    if (explainNow && process.env.PROFILE_EXPLAIN && !/^\s*SELECT _timescaledb/.test(sql)) {
      const plan = (await q.query(`EXPLAIN (ANALYZE, COSTS OFF) ${sql}`, params)).rows.map((r) => r['QUERY PLAN']).join('\n');
      console.log(`--- ${prefix}: ${sql.replace(/\s+/g, ' ').trim().slice(0, 60)}\n${plan}`);
      if (/^\s*WITH k AS MATERIALIZED/.test(sql)) return { rows: [{ inserted: params[0].length, missing: null, skipped: null }] };
    }
    const t = clock();
    const w = performance.now();
    const name = `${prefix} sql: ${sql.replace(/\s+/g, ' ').trim().slice(0, 70)}`;
    try { return await q.query(sql, params); } finally { add(name, clock() - t); addWall(name, performance.now() - w); }
  },
});

const cpu0 = process.cpuUsage();
const t0 = performance.now();
let importId = null;
let chunks = 0;
const holds = [];
for (let i = 0; i < meters.length; i += CHUNK / 4) {
  const part = meters.slice(i, i + CHUNK / 4);
  const items = part.flatMap((m, k) => months.map((t, j) => ({ meterId: m, value: 100 + 4 * j, time: new Date(t), path: `row ${(i + k) * 4 + j}` })));
  const start = clock();
  const wall = performance.now();
  explainNow = chunks === Number(process.env.PROFILE_EXPLAIN ?? -1);
  await he.db.tx(async (q0) => {
    const tx = clock();
    add('0 tx begin (checkout + BEGIN)', tx - start);
    const q = timed(q0, '1 judge');
    const j0 = clock();
    const judged = await judgeReadingsBatch(q, items, opts);
    add('1 judge total', clock() - j0);
    const p0 = clock();
    const versions = plannedVersions(judged.planned, { ...opts, actor });
    add('2 plannedVersions', clock() - p0);
    if (judged.errors.length || judged.warnings.length || judged.missing.length) throw new Error(`refused: ${JSON.stringify(judged.errors[0] ?? judged.warnings[0] ?? judged.missing[0])}`);
    const s0 = clock();
    importId ??= await openImport(q0, { orgId, fileName: 'profile.csv', createdBy: actor.name });
    await stageVersions(timed(q0, '3 stage'), importId, versions);
    add('3 stage total', clock() - s0);
    add('4 in tx', clock() - tx);
  });
  holds.push(performance.now() - wall);
  add('5 chunk incl. COMMIT', clock() - start);
  chunks++;
  await new Promise((r) => setImmediate(r));
}
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const rows = meters.length * 4;
console.log(`import chunk profile [${ENGINE}]: ${rows} rows in ${chunks} chunks of ${CHUNK}; ${(rows / seconds).toFixed(0)} rows/s (judge + stage only), CPU ${((cpu.user + cpu.system) / 1e3 / (rows / 1000)).toFixed(0)} ms per 1 000 rows`);
holds.sort((a, b) => a - b);
console.log(`  chunk hold: median ${holds[Math.floor(holds.length / 2)].toFixed(1)} ms, p95 ${holds[Math.floor(holds.length * 0.95)].toFixed(1)} ms`);
console.log('  CPU ms/chunk, CPU us/row, wall ms/chunk (statements only)');
for (const [k, ms] of [...sum].sort()) console.log(`  ${(ms / chunks).toFixed(2).padStart(8)} ${(ms * 1000 / rows).toFixed(1).padStart(7)} ${wallSum.has(k) ? (wallSum.get(k) / chunks).toFixed(2).padStart(8) : '        '}  ${k}`);
await discardImport(he.db, importId);

// The whole import through the exchange (parse, resolve, chunks, switch, settle), for the rows/s the bench sees.
const lines = [];
for (let i = 1; i <= FLATS; i++) ['2026-09-01', '2026-10-01', '2026-11-01', '2026-12-01'].forEach((d, k) => lines.push({ row: lines.length + 2, values: { account: `A${i}`, serial: `S${i}`, date: d, value: String(100 + 4 * k) } }));
// The file's cells through zod alone (the parse step, before any chunk), for its share of the whole.
const z0 = clock();
for (const l of lines) ReadingImportRow.safeParse(l.values);
console.log(`zod parse of the rows: ${((clock() - z0) * 1000 / lines.length).toFixed(1)} us/row CPU`);
const c1 = process.cpuUsage();
const t1 = performance.now();
const rep = await importReadingRows(he.db, 'csv', ['account', 'serial', 'date', 'value'], lines, { orgId, dryRun: false, actor, fileName: 'p2.csv', buildingIds: null, now, rights: opts.rights });
const s1 = (performance.now() - t1) / 1000;
const cpuB = process.cpuUsage(c1);
console.log(`whole importReadingRows: ok=${rep.ok} insert=${rep.summary.insert}, ${(rows / s1).toFixed(0)} rows/s, CPU ${((cpuB.user + cpuB.system) / 1e3 / (rows / 1000)).toFixed(0)} ms per 1 000 rows`);
await he.close();
await server?.stop();
