/**
 * Scheduled XML exchange on a real embedded DB and real bullmq (Redis 127.0.0.1:6379, unique prefix,
 * removed afterwards): a config scheduled every second writes an XML file with the structure
 * docs/exchange/README.md documents and logs an ok run; an inbox import moves a good file to processed/
 * and a bad one to failed/ with a failed run naming the reading and attribute.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { JobRunner } from '../../src/jobs/index.js';
import { defineExchangeJobs } from '../../src/exchange/index.js';
import { startHarness, type Harness } from '../api/harness.js';
import { fixedClock } from '../../src/util/clock.js';
import { finishedRuns as finishedRunsOf, seedExportReadings, seedRegistry, until, type Fixture } from './fixtures.js';
import { expectDocumentedXml } from './xml-check.js';
import { REDIS_URL, removeRedisKeys } from '../redis.js';

const prefix = `amrtest-exchange-${randomUUID()}`;
let runner: JobRunner;
let h: Harness;
let f: Fixture;
let dir: string;

const finishedRuns = (configId: number) => finishedRunsOf(h, configId);

/** The runs' and the API's "now": the seeded readings and files are dated from it, never from today. */
const CLOCK = fixedClock('2026-11-15T12:00:00+03:00');

beforeAll(async () => {
  runner = new JobRunner({ redisUrl: REDIS_URL, prefix, logger: pino({ level: 'silent' }) });
  h = await startHarness({ jobs: runner, clock: CLOCK });
  await defineExchangeJobs(runner, { db: h.opened.db, now: CLOCK });
  f = await seedRegistry(h.opened.db);
  await seedExportReadings(h.opened.db, f, CLOCK());
  dir = await mkdtemp(join(tmpdir(), 'amr-exchange-'));
}, 120_000);

afterAll(async () => {
  await runner?.close();
  await h?.close();
  await removeRedisKeys(prefix);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('scheduled XML export', () => {
  it('a config scheduled every second writes the documented XML and logs an ok run', async () => {
    const out = join(dir, 'out');
    const c = await h.call('POST', '/exchange/configs', h.adminToken, { org_id: f.orgId, building_id: f.buildingId, direction: 'export', folder: out, cron: '* * * * * *', period_days: 1 });
    expect(c.status).toBe(201);
    const [run] = await until(async () => { const r = await finishedRuns(c.body.id); return r.length ? r : null; }, `a finished run of exchange config ${c.body.id}`);
    // Stop the schedule before looking, so no further files appear.
    expect((await h.call('PATCH', `/exchange/configs/${c.body.id}`, h.adminToken, { enabled: false })).status).toBe(200);
    expect(run).toMatchObject({ config_id: c.body.id, status: 'ok', counts: { files: 1, readings: 2 }, message: expect.stringMatching(/^wrote readings-org\d+-b\d+-.*\.xml \(2 readings\)$/) });
    expect(run.finished_at).not.toBeNull();

    const files = (await readdir(out)).filter((n) => n.endsWith('.xml')).sort();
    expect(files.length).toBeGreaterThanOrEqual(1);
    expect((await readdir(out)).some((n) => n.endsWith('.part'))).toBe(false);
    // The structure docs/exchange/README.md (and readings.xsd) describe.
    const { root, readings } = expectDocumentedXml(await readFile(join(out, files[0]), 'utf8'));
    expect(root).toMatchObject({ org_id: String(f.orgId), building_id: String(f.buildingId), count: '2' });
    expect(Date.parse(root.to) - Date.parse(root.from)).toBe(86_400_000);
    expect(readings.map((r) => [r.serial, r.account, r.premise, r.quantity, r.value, r.unit, r.source, r.version])).toEqual([
      ['CW-1', '7001', '1', 'volume_m3', '12.5', 'm3', 'staff', '1'],
      ['CW-2', '7002', '2', 'volume_m3', '31', 'm3', 'staff', '2'],
    ]);
  }, 60_000);
});

describe('XML import from an inbox folder', () => {
  it('a good file is applied and moved to processed/; a bad one to failed/ with a failed run naming the reading', async () => {
    const inbox = join(dir, 'inbox');
    const c = await h.call('POST', '/exchange/configs', h.adminToken, { org_id: f.orgId, direction: 'import', folder: inbox, cron: '0 3 * * *', enabled: false });
    expect(c.status).toBe(201);
    const header = `<?xml version="1.0" encoding="UTF-8"?>\n<readings format_version="1" org_id="${f.orgId}" from="2026-10-01T00:00:00Z" to="2026-11-01T00:00:00Z" generated_at="2026-11-01T00:00:00Z"`;
    const t = new Date(CLOCK().getTime() - 86_400_000 * 2).toISOString();
    await mkdir(inbox, { recursive: true });
    await writeFile(join(inbox, 'a-good.xml'), `${header} count="1">\n  <reading serial="HW-1" account="7001" time="${t}" value="6.5"/>\n</readings>\n`);
    await writeFile(join(inbox, 'b-bad.xml'), `${header} count="2">\n  <reading serial="CW-2" account="7002" time="${t}" value="30.5"/>\n  <reading serial="CW-2" account="7002" time="${t}" value="abc"/>\n</readings>\n`);

    const run = await h.call('POST', `/exchange/configs/${c.body.id}/run`, h.adminToken);
    expect(run.status).toBe(202);
    const [logged] = await until(async () => { const r = await finishedRuns(c.body.id); return r.length ? r : null; }, `a finished run of exchange config ${c.body.id}`);
    expect(logged).toMatchObject({ status: 'failed', counts: { files: 2, files_ok: 1, files_failed: 1, inserted: 1 } });
    expect(logged.message).toContain('b-bad.xml: reading 2 [value]: not a number: "abc"');

    expect(await readdir(join(inbox, 'processed'))).toEqual(['a-good.xml']);
    expect((await readdir(join(inbox, 'failed'))).sort()).toEqual(['b-bad.xml', 'b-bad.xml.errors.txt']);
    expect(existsSync(join(inbox, 'b-bad.xml'))).toBe(false);
    // Nothing of the bad file applied (its good first reading included); the good file's reading is stored.
    const cw2 = (await h.opened.db.query(`SELECT count(*)::int AS n FROM readings WHERE meter_id = $1 AND value = 30.5`, [f.meters['CW-2']])).rows[0].n;
    expect(cw2).toBe(0);
    const hw1 = (await h.opened.db.query(`SELECT value, source, created_by, reason FROM readings WHERE meter_id = $1 AND value = 6.5`, [f.meters['HW-1']])).rows;
    expect(hw1).toEqual([{ value: 6.5, source: 'import', created_by: `exchange:${c.body.id}`, reason: 'a-good.xml' }]);
  }, 60_000);
});
