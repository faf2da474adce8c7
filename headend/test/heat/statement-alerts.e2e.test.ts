/**
 * The heat statement alerts end to end through real peers: a real Redis (bullmq, unique prefix,
 * removed afterwards) running the `heat.statements.outdated` job and the alerts' notify job, and a
 * real webhook receiver. A late day in a signed month → the job raises the outdated alert and its
 * webhook arrives once (a second run does not notify again); a delivery to a blocked folder failing
 * its fifth attempt → its alert's webhook arrives, handed to the notify job by the run as the
 * head-end's wiring does (server/features.ts). Both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { OpenedDb, Db } from '../../src/db/index.js';
import { openTestDb } from '../engine.js';
import { JobRunner } from '../../src/jobs/index.js';
import { channelsOf, defineAlertJobs, enqueueNotifications, type AlertDeps } from '../../src/alerts/index.js';
import { defineHeatJobs, HEAT_OUTDATED_JOB } from '../../src/heat/jobs.js';
import { signOffStatement } from '../../src/heat/service.js';
import { runExchange } from '../../src/exchange/run.js';
import { writeReadings } from '../../src/ingest/index.js';
import { SYSTEM_ACTOR } from '../../src/audit/index.js';
import { fixedClock } from '../../src/util/clock.js';
import { registerGateway, type Fixture, dailyArchiveMessage } from '../ingest/fixtures.js';
import { startWebhookReceiver, waitFor, type WebhookReceiver } from '../alerts/receivers.js';
import { REDIS_URL, removeRedisKeys } from '../redis.js';

const prefix = `amrtest-heat-alerts-${randomUUID()}`;
const NOW = new Date('2026-03-05T09:00:00Z');
const clock = fixedClock(NOW.toISOString());
let opened: OpenedDb;
let db: Db;
let runner: JobRunner;
let webhook: WebhookReceiver;
let deps: AlertDeps;
let fx: Fixture;
let building = 0;
let org = 0;
let root = '';

const day = (d: number, kwh: number) => dailyArchiveMessage(fx, d, kwh);

const hooksFor = (subject: string, event?: string) => webhook.hooks.filter((h) => h.alert.subject === subject && (!event || h.event === event));

beforeAll(async () => {
  opened = await openTestDb();
  db = opened.db;
  webhook = await startWebhookReceiver();
  root = await mkdtemp(join(tmpdir(), 'amr-heat-alerts-e2e-'));
  fx = await registerGateway(db, 'gw-heat-e2e', 1);
  const r = (await db.query<{ building_id: string; org_id: string }>('SELECT m.building_id, b.org_id FROM meters m JOIN buildings b ON b.id = m.building_id WHERE m.id = $1', [fx.meterIds[0]])).rows[0];
  building = Number(r.building_id);
  org = Number(r.org_id);
  await db.query(`UPDATE buildings SET timezone = 'Europe/Moscow' WHERE id = $1`, [building]);
  await writeReadings(db, [day(1, 1000), day(2, 1000)], { clock });
  await db.tx((q) => signOffStatement(q, building, '2026-02', SYSTEM_ACTOR, NOW));
  const logger = pino({ level: 'silent' });
  runner = new JobRunner({ redisUrl: REDIS_URL, prefix, logger });
  deps = {
    db, logger, notifyAttempts: 2, webhookTimeoutMs: 5000, clock,
    config: { METER_SILENT_MINUTES: 100 * 24 * 60, GATEWAY_SILENT_MINUTES: 100 * 24 * 60, ALERT_WEBHOOK_URL: webhook.url, SMTP_FROM: 'amr-headend@example.org' },
  };
  await defineAlertJobs(runner, deps);
  defineHeatJobs(runner, { db, logger, config: deps.config, clock, schedule: false });
}, 120_000);

afterAll(async () => {
  await runner?.close();
  await webhook?.close();
  await opened?.close();
  await removeRedisKeys(prefix);
  if (root) await rm(root, { recursive: true, force: true });
});

describe('heat statement alerts through the jobs', () => {
  it('a late day in a signed month: the outdated job raises the alert and its webhook arrives once', async () => {
    const subject = `heat-statement:${building}:2026-02`;
    const done = async () => (await runner.depths())[HEAT_OUTDATED_JOB]?.completed ?? 0;
    // Unchanged: the first run compares and raises nothing.
    await runner.enqueue(HEAT_OUTDATED_JOB, {});
    await waitFor('first comparison', async () => (await done()) >= 1);
    expect((await db.query(`SELECT 1 FROM alerts WHERE kind = 'heat_statement_outdated'`)).rows).toEqual([]);

    await writeReadings(db, [day(3, 500)], { clock });
    await runner.enqueue(HEAT_OUTDATED_JOB, {});
    const [hook] = await waitFor('outdated webhook', () => (hooksFor(subject, 'raised').length ? hooksFor(subject, 'raised') : null));
    expect(hook.alert).toMatchObject({ kind: 'heat_statement_outdated', building_id: building, severity: 'warning', cleared_at: null });
    expect((hook.alert.data as { changes: { total: string; signed: number; now: number }[] }).changes.find((c) => c.total === 'q_kwh')).toEqual({ total: 'q_kwh', signed: 2000, now: 2500 });
    // Another run: nothing marked since, nothing compared, nothing notified again.
    const before = await done();
    await runner.enqueue(HEAT_OUTDATED_JOB, {});
    await waitFor('another comparison', async () => (await done()) > before);
    await new Promise((r) => setTimeout(r, 500));
    expect(hooksFor(subject)).toHaveLength(1);
  });

  it('the fifth failed delivery: its alert\'s webhook arrives through the notify job', async () => {
    const blocked = join(root, 'blocked');
    await writeFile(blocked, 'not a folder');
    const cfg = Number((await db.query<{ id: string }>(
      `INSERT INTO exchange_configs (org_id, direction, folder, cron, period_days, transport, enabled, created_at) VALUES ($1, 'heat_statements', $2, '0 6 * * *', 1, 'folder', false, '2026-03-01T00:00:00Z') RETURNING id`,
      [org, join(blocked, 'inbox')])).rows[0].id);
    const subject = `heat-delivery:${cfg}:${building}:2026-02`;
    const run = () => runExchange({ db, now: clock, alertChannels: channelsOf(deps.config), onAlertNotifications: (ids) => enqueueNotifications(runner, ids, deps) }, cfg);
    for (let i = 0; i < 4; i++) await run();
    expect(hooksFor(subject)).toEqual([]);
    await run();
    const [hook] = await waitFor('delivery webhook', () => (hooksFor(subject, 'raised').length ? hooksFor(subject, 'raised') : null));
    expect(hook.alert).toMatchObject({ kind: 'heat_delivery_failed', building_id: building, data: { month: '2026-02', version: 1, config_id: cfg, attempts: 5 } });
    expect(String(hook.alert.message)).toContain(`версия 1 не доставлена конфигурацией обмена ${cfg}`);
  });
});
