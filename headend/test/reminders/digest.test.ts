/**
 * The digest planner and delivery on the embedded database, with a chosen clock: the cursor passes
 * settled submissions and stays behind young ones; a rerun plans nothing; buildings with staff
 * notifications off (or nobody to tell) skip their submissions for good; rows planned but never sent
 * (a crash) are found by the sweep; delivery errors name what failed (a real webhook receiver).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenedDb, Db } from '../../src/db/index.js';
import { openTestDb } from '../engine.js';
import { planDigest, CURSOR_LAG_MS } from '../../src/reminders/digest.js';
import { deliver } from '../../src/reminders/send.js';
import { loadNotification, stalePending } from '../../src/reminders/store.js';
import { startWebhookReceiver, type WebhookReceiver } from '../alerts/receivers.js';

let opened: OpenedDb;
let db: Db;
let hook: WebhookReceiver;
let b1: number, b2: number, m1: number, m2: number;
const NOW = new Date('2026-11-23T12:00:00Z');
const minutes = (k: number) => new Date(NOW.getTime() + k * 60_000);

const one = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await db.query<T>(sql, params)).rows[0];
const cursor = async () => Number((await one(`SELECT position FROM notification_cursors WHERE name = 'submissions'`)).position);
async function submit(meter: number, building: number, at: Date, value = 1): Promise<number> {
  const after = { meter_id: meter, time: '2026-11-14T21:00:00.000Z', quantity: 'volume_m3', value, version: 1 };
  return Number((await one(
    `INSERT INTO audit_log (at, actor_kind, actor_id, actor_name, action, entity, entity_id, building_id, after)
     VALUES ($1, 'user', 1, 'account-1', 'submit', 'reading', $2, $3, $4::jsonb) RETURNING id`,
    [at, `${meter}/volume_m3/2026-11-14T21:00:00.000Z`, building, JSON.stringify(after)])).id);
}

beforeAll(async () => {
  opened = await openTestDb();
  db = opened.db;
  hook = await startWebhookReceiver(() => 500);
  const org = Number((await one(`INSERT INTO organisations (name) VALUES ('УК') RETURNING id`)).id);
  const building = async (address: string) => Number((await one('INSERT INTO buildings (org_id, address) VALUES ($1, $2) RETURNING id', [org, address])).id);
  b1 = await building('ул. Первая, 1');
  b2 = await building('ул. Вторая, 2');
  const meter = async (b: number, serial: string) => {
    const p = Number((await one(`INSERT INTO premises (building_id, number) VALUES ($1, '1') RETURNING id`, [b])).id);
    await db.query(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3)`, [org, `LS-${serial}`, p]);
    return Number((await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) VALUES ('apartment', $1, $2, 'cold_water', $3) RETURNING id`, [b, p, serial])).id);
  };
  m1 = await meter(b1, 'A');
  m2 = await meter(b2, 'B');
  const u = Number((await one(`INSERT INTO users (username, email, password_hash, role) VALUES ('eng', 'eng@example.org', 'x', 'engineer') RETURNING id`)).id);
  await db.query('INSERT INTO user_building_grants (user_id, building_id) VALUES ($1, $2), ($1, $3)', [u, b1, b2]);
}, 120_000);

afterAll(async () => {
  await hook?.close();
  await opened?.close();
});

describe('planDigest', () => {
  it('notifies settled and young submissions once; the cursor passes only those older than the lag', async () => {
    const start = await cursor();
    const old = await submit(m1, b1, new Date(NOW.getTime() - CURSOR_LAG_MS - 60_000));
    const young = await submit(m1, b1, minutes(-1), 2);
    const r = await planDigest(db, { now: NOW, mail: true });
    expect(r).toMatchObject({ notified: 2, skipped: 0, held: 0, cursor: old });
    expect(r.notificationIds).toHaveLength(1);
    expect(start).toBeLessThan(old);
    const again = await planDigest(db, { now: minutes(10), mail: true });
    expect(again).toMatchObject({ notified: 0, notificationIds: [], cursor: old });
    // Once the young one is older than the lag, the cursor passes it (already notified: nothing is sent).
    const later = await planDigest(db, { now: new Date(NOW.getTime() + CURSOR_LAG_MS + 60_000), mail: true });
    expect(later).toMatchObject({ notified: 0, notificationIds: [], cursor: young });
  });

  it('a building with staff notifications off skips its submissions for good; the other building is digested', async () => {
    await db.query(`INSERT INTO notification_settings (building_id, staff_digest) VALUES ($1, false)`, [b2]);
    await submit(m2, b2, minutes(100));
    await submit(m1, b1, minutes(100), 3);
    const r = await planDigest(db, { now: minutes(101), mail: true });
    expect(r).toMatchObject({ notified: 1, skipped: 1 });
    const row = await loadNotification(db, r.notificationIds[0]);
    expect(row).toMatchObject({ channel: 'email', recipient: 'eng@example.org', building_ids: [b1], status: 'pending' });
    expect((await one(`SELECT note FROM notification_digest_items WHERE building_id = $1`, [b2])).note).toBe('staff notifications are off');
    await db.query(`UPDATE notification_settings SET staff_digest = true WHERE building_id = $1`, [b2]);
    expect((await planDigest(db, { now: minutes(200), mail: true })).notified).toBe(0);
  });

  it('without SMTP and without a webhook nobody can be told: skipped, naming why', async () => {
    await submit(m2, b2, minutes(300));
    const r = await planDigest(db, { now: minutes(301), mail: false });
    expect(r).toMatchObject({ notified: 0, skipped: 1, notificationIds: [] });
    expect((await one(`SELECT note FROM notification_digest_items ORDER BY audit_id DESC LIMIT 1`)).note).toBe('no SMTP_URL and no webhook');
  });

  it('rows planned but never sent (a crash before delivery) are found by the sweep', async () => {
    const pending = await stalePending(db, minutes(10_000));
    expect(pending.length).toBeGreaterThanOrEqual(2);
    expect(await stalePending(db, NOW)).toEqual([]);
  });
});

describe('deliver', () => {
  it('a webhook refused or no longer configured fails naming why', async () => {
    await db.query(`INSERT INTO notification_settings (building_id, webhook_url) VALUES ($1, $2)`, [b1, hook.url]);
    await submit(m1, b1, minutes(400), 4);
    const r = await planDigest(db, { now: minutes(401), mail: false });
    expect(r.notificationIds).toHaveLength(1);
    const row = (await loadNotification(db, r.notificationIds[0]))!;
    expect(row).toMatchObject({ channel: 'webhook', kind: 'submissions' });
    await expect(deliver(db, row, null, 5000)).rejects.toThrow(/webhook http:\/\/127\.0\.0\.1:\d+\/alert-hook: HTTP 500 receiver says no/);
    expect((hook.hooks as unknown as { event: string; id: string }[]).map((h) => [h.event, h.id])).toEqual([['resident_submissions', row.dedup_key]]);
    await db.query(`UPDATE notification_settings SET webhook_url = NULL WHERE building_id = $1`, [b1]);
    await expect(deliver(db, row, null, 5000)).rejects.toThrow(`no webhook URL is set for building ${b1} any more`);
    await expect(deliver(db, { ...row, channel: 'email' }, null, 5000)).rejects.toThrow('SMTP_URL is no longer set');
  });
});
