/**
 * Alerts in a real embedded database: the open-alert upsert, clearing, the silence check at a given
 * `now`, and imbalance reports raising/clearing (no Redis: notification rows are only created here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenedDb, Db } from '../../src/db/index.js';
import { openTestDb } from '../engine.js';
import { applyImbalanceReport, clearAlert, raiseAlert, runSilenceCheck, type ChannelTarget } from '../../src/alerts/index.js';
import { seedBuilding, seedGateway, seedMeter, storeMonthReport } from './seed.js';

const CHANNELS: ChannelTarget[] = [{ channel: 'webhook', target: 'http://hooks.example/x' }, { channel: 'email', target: 'ops@example.org' }];
const CONFIG = { METER_SILENT_MINUTES: 24 * 60, GATEWAY_SILENT_MINUTES: 60, SMTP_FROM: 'amr@localhost' };

let opened: OpenedDb;
let db: Db;
let buildingId: number;

beforeAll(async () => {
  opened = await openTestDb();
  db = opened.db;
  buildingId = await db.tx((q) => seedBuilding(q));
});
afterAll(async () => { await opened?.close(); });

const notifications = async (alertId: number) => (await db.query(`SELECT event, channel, target, status, attempts FROM alert_notifications WHERE alert_id = $1 ORDER BY id`, [alertId])).rows;
const openAlerts = async (kind: string) => (await db.query(`SELECT * FROM alerts WHERE kind = $1 AND cleared_at IS NULL ORDER BY subject`, [kind])).rows;

describe('raise and clear', () => {
  const base = { kind: 'meter_silent' as const, subject: 'meter:999', buildingId: null, severity: 'warning' as const };

  it('a second raise of an open alert refreshes it, never duplicates, and notifies only once', async () => {
    const at = new Date('2026-01-10T00:00:00Z');
    const first = await raiseAlert(db, { ...base, message: 'first', data: { n: 1 } }, at, CHANNELS);
    expect(first.raised).toBe(true);
    expect(first.notificationIds).toHaveLength(2);
    const second = await raiseAlert(db, { ...base, message: 'second', data: { n: 2 } }, new Date('2026-01-10T01:00:00Z'), CHANNELS);
    expect(second).toEqual({ alertId: first.alertId, raised: false, notificationIds: [] });
    const rows = (await db.query(`SELECT * FROM alerts WHERE subject = 'meter:999'`)).rows;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ message: 'second', data: { n: 2 } });
    expect(new Date(rows[0].raised_at).toISOString()).toBe(at.toISOString()); // raised_at is when it began
    expect(await notifications(first.alertId)).toEqual([
      { event: 'raised', channel: 'webhook', target: 'http://hooks.example/x', status: 'pending', attempts: 0 },
      { event: 'raised', channel: 'email', target: 'ops@example.org', status: 'pending', attempts: 0 },
    ]);
  });

  it('clearing closes the open alert once (idempotent) and a later raise opens a new one', async () => {
    const open = (await openAlerts('meter_silent')).find((a) => a.subject === 'meter:999')!;
    const cleared = await clearAlert(db, 'meter_silent', 'meter:999', new Date('2026-01-10T02:00:00Z'), 'seen again', CHANNELS);
    expect(cleared?.alertId).toBe(Number(open.id));
    expect(cleared?.notificationIds).toHaveLength(2);
    expect(await clearAlert(db, 'meter_silent', 'meter:999', new Date(), 'seen again', CHANNELS)).toBeNull();
    const row = (await db.query(`SELECT cleared_at, data FROM alerts WHERE id = $1`, [open.id])).rows[0];
    expect(row.data).toMatchObject({ n: 2, cleared_reason: 'seen again' });
    const again = await raiseAlert(db, { ...base, message: 'again', data: {} }, new Date('2026-01-11T00:00:00Z'), []);
    expect(again.raised).toBe(true);
    expect(again.alertId).not.toBe(Number(open.id));
    expect((await db.query(`SELECT count(*)::int AS n FROM alerts WHERE subject = 'meter:999'`)).rows[0].n).toBe(2);
    await clearAlert(db, 'meter_silent', 'meter:999', new Date(), 'test', []);
  });

  it('without channels an alert is still recorded, with no notification rows', async () => {
    const r = await raiseAlert(db, { ...base, subject: 'meter:998', message: 'm', data: {} }, new Date(), []);
    expect(r.raised).toBe(true);
    expect(await notifications(r.alertId)).toEqual([]);
    await clearAlert(db, 'meter_silent', 'meter:998', new Date(), 'test', []);
  });
});

describe('silence check at a given now', () => {
  const NOW = new Date('2030-06-01T12:00:00Z');
  const ago = (min: number) => new Date(NOW.getTime() - min * 60_000);
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    await db.tx(async (q) => {
      ids.silent = await seedMeter(q, buildingId, { lastSeenAt: ago(25 * 60), createdAt: ago(100 * 60) });
      ids.fresh = await seedMeter(q, buildingId, { lastSeenAt: ago(60), createdAt: ago(100 * 60) });
      ids.manual = await seedMeter(q, buildingId, { remote: false, lastSeenAt: null, createdAt: ago(100 * 60) }); // not remote-read: never silent
      ids.failed = await seedMeter(q, buildingId, { status: 'failed', lastSeenAt: ago(100 * 60), createdAt: ago(100 * 60) });
      ids.neverOld = await seedMeter(q, buildingId, { lastSeenAt: null, createdAt: ago(30 * 60) });
      ids.neverNew = await seedMeter(q, buildingId, { lastSeenAt: null, createdAt: ago(60) });
      await seedGateway(q, 'gw-silent', buildingId, { lastSeenAt: ago(61), createdAt: ago(1000) });
      await seedGateway(q, 'gw-fresh', buildingId, { lastSeenAt: ago(59), createdAt: ago(1000) });
      await seedGateway(q, 'gw-off', null, { lastSeenAt: ago(1000), createdAt: ago(1000), status: 'disabled' });
      await seedGateway(q, 'gw-lost', null, { lastSeenAt: null, createdAt: ago(120) });
    });
  });

  it('raises meter_silent and gateway_silent for exactly the silent, watched subjects', async () => {
    const res = await runSilenceCheck(db, CONFIG, CHANNELS, NOW);
    expect(res.raised.sort()).toEqual([`meter:${ids.silent}`, `meter:${ids.neverOld}`, 'gateway:gw-silent', 'gateway:gw-lost'].sort());
    expect(res.cleared).toEqual([]);
    expect(res.notificationIds).toHaveLength(8);
    const gw = (await openAlerts('gateway_silent')).map((a) => ({ subject: a.subject, building_id: a.building_id === null ? null : Number(a.building_id), gateway_id: a.gateway_id, severity: a.severity }));
    expect(gw).toEqual([
      { subject: 'gateway:gw-lost', building_id: null, gateway_id: 'gw-lost', severity: 'critical' },
      { subject: 'gateway:gw-silent', building_id: buildingId, gateway_id: 'gw-silent', severity: 'critical' },
    ]);
    const m = (await openAlerts('meter_silent')).find((a) => a.subject === `meter:${ids.silent}`)!;
    expect(Number(m.meter_id)).toBe(ids.silent);
    expect(m.message).toContain('silent since 2030-05-31 11:00 UTC');
    expect(m.data).toMatchObject({ threshold_minutes: 1440, last_seen_at: ago(25 * 60).toISOString() });
  });

  it('a second run at the same now changes nothing', async () => {
    expect(await runSilenceCheck(db, CONFIG, CHANNELS, NOW)).toEqual({ raised: [], cleared: [], notificationIds: [] });
  });

  it('clears when seen again or when no longer watched', async () => {
    await db.query(`UPDATE meters SET last_seen_at = $2 WHERE id = $1`, [ids.silent, ago(5)]);
    await db.query(`UPDATE gateways SET status = 'disabled' WHERE id = 'gw-lost'`);
    const res = await runSilenceCheck(db, CONFIG, CHANNELS, NOW);
    expect(res.raised).toEqual([]);
    expect(res.cleared.sort()).toEqual([`meter:${ids.silent}`, 'gateway:gw-lost'].sort());
    expect(res.notificationIds).toHaveLength(4);
    const gwLost = (await db.query(`SELECT cleared_at, data FROM alerts WHERE subject = 'gateway:gw-lost'`)).rows[0];
    expect(new Date(gwLost.cleared_at).toISOString()).toBe(NOW.toISOString());
    expect(gwLost.data.cleared_reason).toBe('gateway disabled');
  });
});

describe('a meter behind a silent gateway', () => {
  const NOW = new Date('2031-03-01T12:00:00Z');
  const ago = (min: number) => new Date(NOW.getTime() - min * 60_000);
  const other = { building: 0, meter: 0 };

  it('is not raised while its gateway has an open alert, and is raised once the gateway is back and it is not', async () => {
    await db.tx(async (q) => {
      other.building = await seedBuilding(q);
      other.meter = await seedMeter(q, other.building, { lastSeenAt: ago(3 * 24 * 60), createdAt: ago(10 * 24 * 60) });
      await seedGateway(q, 'gw-behind', other.building, { lastSeenAt: ago(3 * 24 * 60), createdAt: ago(10 * 24 * 60) });
      await q.query(`INSERT INTO bindings (gateway_id, bus, address, meter_id) VALUES ('gw-behind', 'mbus0', '5', $1)`, [other.meter]);
    });
    const first = await runSilenceCheck(db, CONFIG, [], NOW);
    expect(first.raised).toContain('gateway:gw-behind');
    expect(first.raised).not.toContain(`meter:${other.meter}`);
    await db.query(`UPDATE gateways SET last_seen_at = $1 WHERE id = 'gw-behind'`, [ago(1)]);
    const second = await runSilenceCheck(db, CONFIG, [], NOW);
    expect(second.cleared).toContain('gateway:gw-behind');
    expect(second.raised).toContain(`meter:${other.meter}`);
  });
});

describe('imbalance reports', () => {
  const dec = [new Date('2029-11-30T21:00:00Z'), new Date('2029-12-31T21:00:00Z')] as const;
  const jan = [new Date('2029-12-31T21:00:00Z'), new Date('2030-01-31T21:00:00Z')] as const;
  const feb = [new Date('2030-01-31T21:00:00Z'), new Date('2030-02-28T21:00:00Z')] as const;
  const imbalanceAlerts = async () => (await db.query(`SELECT subject, cleared_at, data, message FROM alerts WHERE kind = 'imbalance' ORDER BY id`)).rows;

  it('ok → high_loss → negative (refresh) → older month recomputed → insufficient_data → ok', async () => {
    const apply = async (p: readonly [Date, Date], status: Parameters<typeof storeMonthReport>[4], pct: number | null) =>
      applyImbalanceReport(db, await db.tx((q) => storeMonthReport(q, buildingId, p[0], p[1], status, pct)), CHANNELS, new Date());

    expect(await apply(jan, 'ok', 3)).toEqual({ action: 'clear', changed: false, notificationIds: [] });
    const raised = await apply(jan, 'high_loss', 14.2);
    expect(raised).toMatchObject({ action: 'raise', changed: true });
    expect(raised.notificationIds).toHaveLength(2);
    let alerts = await imbalanceAlerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0].subject).toBe(`building:${buildingId}:heat`);
    expect(alerts[0].message).toContain('2030-01: loss 14.2% above the 10% threshold');

    // Still bad, now the other way: the open alert is refreshed, not doubled, not notified again.
    expect(await apply(jan, 'negative_imbalance', -6)).toEqual({ action: 'raise', changed: false, notificationIds: [] });
    alerts = await imbalanceAlerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0].data).toMatchObject({ status: 'negative_imbalance', imbalance_pct: -6, month: '2030-01' });

    // December recomputed as ok: an older month does not clear January's alert.
    expect((await apply(dec, 'ok', 1)).action).toBe('none');
    // February begins with little data: January's alert stays open.
    expect((await apply(feb, 'insufficient_data', null)).action).toBe('none');
    expect((await imbalanceAlerts())[0].cleared_at).toBeNull();

    const cleared = await apply(feb, 'ok', 2);
    expect(cleared).toMatchObject({ action: 'clear', changed: true });
    expect(cleared.notificationIds).toHaveLength(2);
    alerts = await imbalanceAlerts();
    expect(alerts[0].cleared_at).not.toBeNull();
    expect(alerts[0].data.cleared_reason).toBe('month 2030-02 ok');
  });

  it('not_applicable (heat billed by area) never raises, and clears the false 100 % "loss" raised before it was known', async () => {
    const b = await seedBuilding(db);
    const apply = async (p: readonly [Date, Date], status: Parameters<typeof storeMonthReport>[4], pct: number | null) =>
      applyImbalanceReport(db, await db.tx((q) => storeMonthReport(q, b, p[0], p[1], status, pct)), CHANNELS, new Date());
    const mine = async () => (await db.query(`SELECT cleared_at, data FROM alerts WHERE kind = 'imbalance' AND building_id = $1 ORDER BY id`, [b])).rows;
    // The old verdict: ОДПУ heat against no apartment heat meters = a 100 % loss, alerted.
    expect((await apply(jan, 'high_loss', 100)).action).toBe('raise');
    // Recomputed as not applicable: the alert is cleared, saying why.
    expect(await apply(jan, 'not_applicable', null)).toMatchObject({ action: 'clear', changed: true });
    const [a] = await mine();
    expect(a.cleared_at).not.toBeNull();
    expect(a.data.cleared_reason).toBe('month 2030-01: not applicable (heat billed by area, no apartment side)');
    // The next month is not applicable too: nothing raised, nothing changed.
    expect(await apply(feb, 'not_applicable', null)).toEqual({ action: 'clear', changed: false, notificationIds: [] });
    expect(await mine()).toHaveLength(1);
  });
});
