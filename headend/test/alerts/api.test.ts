/**
 * The alerts API on the test harness (embedded DB, real fastify): listing with filters, one alert with
 * its notifications, acknowledging with audit, permissions and building scope.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';
import { clearAlert, raiseAlert } from '../../src/alerts/index.js';
import { seedBuilding } from './seed.js';
import { camelKeys } from '../dashboard/wire-keys.js';
import { triageSuite } from './triage.js';

let h: Harness;
let bA: number;
let bB: number;
const ids: Record<string, number> = {};
let engineerA: string;
let engineerB: string;
let operatorA: string;

beforeAll(async () => {
  h = await startHarness();
  const db = h.opened.db;
  bA = await db.tx((q) => seedBuilding(q));
  bB = await db.tx((q) => seedBuilding(q));
  const channels = [{ channel: 'webhook' as const, target: 'http://hooks.example/x' }];
  const at = (s: string) => new Date(s);
  ids.meterA = (await raiseAlert(db, { kind: 'meter_silent', subject: 'meter:1', buildingId: bA, meterId: null, severity: 'warning', message: 'meter A', data: {} }, at('2026-01-01T00:00:00Z'), channels)).alertId;
  ids.imbB = (await raiseAlert(db, { kind: 'imbalance', subject: `building:${bB}:heat`, buildingId: bB, resource: 'heat', severity: 'warning', message: 'imbalance B', data: { status: 'high_loss' } }, at('2026-01-02T00:00:00Z'), channels)).alertId;
  ids.gwNone = (await raiseAlert(db, { kind: 'gateway_silent', subject: 'gateway:gw-x', buildingId: null, gatewayId: 'gw-x', severity: 'critical', message: 'gateway without building', data: {} }, at('2026-01-03T00:00:00Z'), channels)).alertId;
  ids.clearedA = (await raiseAlert(db, { kind: 'gateway_silent', subject: 'gateway:gw-a', buildingId: bA, gatewayId: 'gw-a', severity: 'critical', message: 'gateway A', data: {} }, at('2026-01-04T00:00:00Z'), channels)).alertId;
  await clearAlert(db, 'gateway_silent', 'gateway:gw-a', at('2026-01-05T00:00:00Z'), 'seen again', channels);
  engineerA = await h.userToken('engineer', { buildingIds: [bA], username: 'eng-a' });
  engineerB = await h.userToken('engineer', { buildingIds: [bB], username: 'eng-b' });
  operatorA = await h.userToken('operator', { buildingIds: [bA], username: 'op-a' });
}, 120_000);
afterAll(async () => { await h?.close(); });

const idsOf = (body: { id: number }[]) => body.map((a) => a.id);

describe('GET /alerts', () => {
  it('needs a login', async () => {
    expect((await h.call('GET', '/alerts')).status).toBe(401);
  });

  it('admin sees every alert, newest first; filters by open, kind, building and limit', async () => {
    const all = await h.call('GET', '/alerts', h.adminToken);
    expect(all.status).toBe(200);
    expect(idsOf(all.body)).toEqual([ids.clearedA, ids.gwNone, ids.imbB, ids.meterA]);
    expect(all.body[0]).toMatchObject({ kind: 'gateway_silent', subject: 'gateway:gw-a', building_id: bA, gateway_id: 'gw-a', severity: 'critical', raised_at: '2026-01-04T00:00:00.000Z', cleared_at: '2026-01-05T00:00:00.000Z', acknowledged_at: null });
    expect(idsOf((await h.call('GET', '/alerts?open=true', h.adminToken)).body)).toEqual([ids.gwNone, ids.imbB, ids.meterA]);
    expect(idsOf((await h.call('GET', '/alerts?open=false', h.adminToken)).body)).toEqual([ids.clearedA]);
    expect(idsOf((await h.call('GET', '/alerts?kind=gateway_silent', h.adminToken)).body)).toEqual([ids.clearedA, ids.gwNone]);
    expect(idsOf((await h.call('GET', `/alerts?building_id=${bA}&open=true`, h.adminToken)).body)).toEqual([ids.meterA]);
    expect(idsOf((await h.call('GET', '/alerts?limit=1', h.adminToken)).body)).toEqual([ids.clearedA]);
    expect((await h.call('GET', '/alerts?kind=nope', h.adminToken)).status).toBe(400);
    expect((await h.call('GET', '/alerts?open=maybe', h.adminToken)).status).toBe(400);
  });

  it('others see only alerts of their buildings; building-less alerts are admin-only', async () => {
    expect(idsOf((await h.call('GET', '/alerts', engineerA)).body)).toEqual([ids.clearedA, ids.meterA]);
    expect(idsOf((await h.call('GET', '/alerts', operatorA)).body)).toEqual([ids.clearedA, ids.meterA]);
    expect(idsOf((await h.call('GET', '/alerts', engineerB)).body)).toEqual([ids.imbB]);
    expect(idsOf((await h.call('GET', `/alerts?building_id=${bB}`, engineerA)).body)).toEqual([]);
  });
});

describe('GET /alerts/:id', () => {
  it('returns the alert with its notifications', async () => {
    const r = await h.call('GET', `/alerts/${ids.clearedA}`, engineerA);
    expect(r.status).toBe(200);
    expect(r.body.notifications.map((n: { event: string; channel: string; status: string; attempts: number; target: string }) => [n.event, n.channel, n.status, n.attempts, n.target])).toEqual([
      ['raised', 'webhook', 'pending', 0, 'http://hooks.example/x'],
      ['cleared', 'webhook', 'pending', 0, 'http://hooks.example/x'],
    ]);
    expect(r.body.data).toEqual({ cleared_reason: 'seen again' });
  });

  it('answers 404 alike for an alert out of scope, a building-less one and a missing one', async () => {
    for (const [token, id] of [[engineerA, ids.imbB], [engineerA, ids.gwNone], [engineerB, ids.meterA], [h.adminToken, 999999]] as const) {
      const r = await h.call('GET', `/alerts/${id}`, token);
      expect(r.status).toBe(404);
      expect(r.body.message).toBe('alert not found');
    }
    expect((await h.call('GET', `/alerts/${ids.gwNone}`, h.adminToken)).status).toBe(200);
  });
});

describe('POST /alerts/:id/ack', () => {
  it('an operator can read but not acknowledge', async () => {
    const r = await h.call('POST', `/alerts/${ids.meterA}/ack`, operatorA, {});
    expect(r.status).toBe(403);
    expect(r.body.message).toBe('role "operator" lacks permission "alerts:manage"');
  });

  it('an engineer of another building gets 404', async () => {
    expect((await h.call('POST', `/alerts/${ids.meterA}/ack`, engineerB, {})).status).toBe(404);
    expect((await h.call('POST', `/alerts/${ids.gwNone}/ack`, engineerA, {})).status).toBe(404);
  });

  it('an engineer of the building acknowledges once, with the comment in the audit journal', async () => {
    const r = await h.call('POST', `/alerts/${ids.meterA}/ack`, engineerA, { comment: 'выехал на объект' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: ids.meterA, acknowledged_by: 'eng-a', cleared_at: null });
    expect(r.body.acknowledged_at).toEqual(expect.any(String));
    const audit = (await h.opened.db.query(`SELECT actor_name, action, entity, entity_id, building_id, reason, after FROM audit_log WHERE entity = 'alert'`)).rows;
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_name: 'eng-a', action: 'acknowledge', entity_id: String(ids.meterA), reason: 'выехал на объект', after: { acknowledged_by: 'eng-a' } });
    expect(Number(audit[0].building_id)).toBe(bA);

    const again = await h.call('POST', `/alerts/${ids.meterA}/ack`, engineerA, {});
    expect(again.status).toBe(409);
    expect(again.body.message).toMatch(new RegExp(`^alert ${ids.meterA} was already acknowledged by eng-a at `));
  });

  it("acknowledging another organisation's alert is a 404 like a missing one, and the alert and the journal stay as they were", async () => {
    const before = (await h.opened.db.query('SELECT acknowledged_at, acknowledged_by FROM alerts WHERE id = $1', [ids.imbB])).rows[0];
    const journal = async () => (await h.opened.db.query(`SELECT count(*)::int AS n FROM audit_log WHERE entity = 'alert' AND entity_id = $1`, [String(ids.imbB)])).rows[0].n;
    const foreign = await h.call('POST', `/alerts/${ids.imbB}/ack`, engineerA, { comment: 'not ours' });
    const missing = await h.call('POST', '/alerts/99999999/ack', engineerA, { comment: 'not ours' });
    expect([foreign.status, missing.status]).toEqual([404, 404]);
    expect(foreign.body.message).toBe(missing.body.message);
    expect(before).toEqual({ acknowledged_at: null, acknowledged_by: null });
    expect((await h.opened.db.query('SELECT acknowledged_at, acknowledged_by FROM alerts WHERE id = $1', [ids.imbB])).rows[0]).toEqual(before);
    expect(await journal()).toBe(0);
  });

  it('admin acknowledges a building-less alert without a body', async () => {
    const r = await h.call('POST', `/alerts/${ids.gwNone}/ack`, h.adminToken);
    expect(r.status).toBe(200);
    expect(r.body.acknowledged_by).toBe('admin');
    expect((await h.call('POST', '/alerts/999999/ack', h.adminToken, {})).status).toBe(404);
  });
});

describe('one casing', () => {
  it("an alert's figures go out snake_case like the rest (an imbalance alert carries the report's thresholds)", async () => {
    const db = h.opened.db;
    const id = (await raiseAlert(db, {
      kind: 'imbalance', subject: `building:${bA}:cold_water`, buildingId: bA, resource: 'cold_water', severity: 'warning', message: 'imbalance A',
      data: { status: 'high_loss', imbalance_pct: 12.5, thresholds: { highLossPct: 10, negativePct: 5, minCoverage: 0.9 } },
    }, new Date('2026-01-06T00:00:00Z'), [{ channel: 'email', target: 'ops@example.test' }])).alertId;
    const one = await h.call('GET', `/alerts/${id}`, engineerA);
    expect(one.status).toBe(200);
    expect(one.body.data.thresholds).toEqual({ high_loss_pct: 10, negative_pct: 5, min_coverage: 0.9 });
    expect(one.body.notifications).toEqual([expect.objectContaining({ event: 'raised', channel: 'email', status: 'pending', attempts: 0 })]);
    const list = await h.call('GET', `/alerts?building_id=${bA}`, engineerA);
    expect(list.body.map((a: { id: number }) => a.id)).toContain(id);
    expect([...camelKeys(one.body), ...camelKeys(list.body)]).toEqual([]);
  });
});

describe('OpenAPI', () => {
  it('documents the alert routes under the alerts tag', async () => {
    const r = await h.call<{ paths: Record<string, Record<string, { tags: string[] }>> }>('GET', '/docs/json');
    expect(r.status).toBe(200);
    expect(r.body.paths['/alerts'].get.tags).toEqual(['alerts']);
    expect(r.body.paths['/alerts/{id}'].get.tags).toEqual(['alerts']);
    expect(r.body.paths['/alerts/{id}/ack'].post.tags).toEqual(['alerts']);
  });
});

describe('triage: groups, facts as data, bulk acknowledge', () => {
  triageSuite(() => h);
});
