/**
 * Alert triage on the API: a storm of 60 alerts counted per building and kind, each alert's facts as
 * data with its building's address and zone, and acknowledging many with one reason — all or nothing,
 * every id checked for the caller's buildings. Run by api.test.ts on its harness (one database start
 * for both), after its own tests: the storm's buildings are new, so its earlier figures stay as they were.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from '../api/harness.js';
import { seedStorm, type Storm } from './storm.js';

interface Alert { id: number; kind: string; building_id: number | null; acknowledged_at: string | null; acknowledged_by: string | null; building_address: string | null; building_timezone: string | null; params: Record<string, unknown> }
interface Group { building_id: number | null; building_address: string | null; kind: string; count: number; unacknowledged: number; severity: string }

export function triageSuite(harness: () => Harness): void {
  let h: Harness;
  let s: Storm;
  let engA: string;
  let engB: string;
  let operatorA: string;

  beforeAll(async () => {
    h = harness();
    // The storm starts on a quiet night: the earlier tests' alerts name made-up subjects ('meter:1') that
    // the storm's real meters would otherwise refresh instead of raising their own.
    await h.opened.db.query(`UPDATE alerts SET cleared_at = '2026-11-01T00:00:00Z' WHERE cleared_at IS NULL`);
    s = await seedStorm(h.opened.db);
    engA = await h.userToken('engineer', { username: 'eng-north', buildingIds: [s.lenina, s.kosmonavtov] });
    engB = await h.userToken('engineer', { username: 'eng-south', buildingIds: [s.other] });
    operatorA = await h.userToken('operator', { username: 'op-north', buildingIds: [s.lenina] });
  }, 60_000);

  const alerts = async (token: string, q = '') => (await h.call<Alert[]>('GET', `/alerts?limit=1000${q}`, token)).body;

  describe('alert triage API', () => {
    it('a storm of 60 alerts reads as four groups per building and kind, with their counts', async () => {
      expect(await alerts(engA)).toHaveLength(60);
      const res = await h.call<Group[]>('GET', '/alerts/groups?open=true', engA);
      expect(res.status).toBe(200);
      expect(res.body.map((g) => [g.building_address, g.kind, g.count, g.unacknowledged, g.severity])).toEqual([
        ['ул. Ленина, 1', 'meter_silent', 30, 30, 'warning'],
        ['пр. Космонавтов, 5', 'meter_silent', 28, 28, 'warning'],
        ['пр. Космонавтов, 5', 'gateway_silent', 1, 1, 'critical'],
        ['ул. Ленина, 1', 'imbalance', 1, 1, 'warning'],
      ]);
      // The other organisation's engineer counts only their own alert.
      expect((await h.call<Group[]>('GET', '/alerts/groups', engB)).body.map((g) => [g.building_address, g.count])).toEqual([['ул. Садовая, 9', 1]]);
      // Filters narrow the groups: severity, period (raised before the storm: none).
      expect((await h.call<Group[]>('GET', '/alerts/groups?severity=critical', engA)).body.map((g) => g.kind)).toEqual(['gateway_silent']);
      expect((await h.call<Group[]>('GET', '/alerts/groups?to=2026-11-20T08:00:00Z', engA)).body).toEqual([]);
      expect((await h.call('GET', '/alerts/groups?from=yesterday', engA)).status).toBe(400);
    });

    it('each alert carries its facts as data with the building address and time zone', async () => {
      const ekb = (await alerts(engA, `&building_id=${s.kosmonavtov}`)).find((a) => a.params.serial_number === s.ekbSerial)!;
      expect(ekb).toMatchObject({ kind: 'meter_silent', building_address: 'пр. Космонавтов, 5', building_timezone: 'Asia/Yekaterinburg' });
      expect(ekb.params).toMatchObject({ resource: 'hot_water', make: 'Пульсар', last_seen_at: '2026-11-19T20:30:00.000Z', silent_since: '2026-11-19T20:30:00.000Z', threshold_minutes: 360 });
      const gw = (await alerts(engA, '&kind=gateway_silent'))[0];
      expect(gw.params).toMatchObject({ gateway_id: 'gw-ekb-storm', gateway_name: 'Щиток, 1 подъезд', last_seen_at: '2026-11-20T07:40:00.000Z', threshold_minutes: 60 });
      const imb = (await alerts(engA, '&kind=imbalance'))[0];
      expect(imb.params).toMatchObject({ resource: 'heat', month: '2026-10', status: 'high_loss', imbalance_pct: 17.4, high_loss_pct: 10, negative_pct: 2 });
    });

    it('bulk acknowledge with another organisation\'s alert id is refused whole, naming it; nothing changes', async () => {
      const mine = (await alerts(engA, `&building_id=${s.lenina}&kind=meter_silent`)).slice(0, 3).map((a) => a.id);
      const theirs = (await alerts(engB))[0].id;
      const res = await h.call('POST', '/alerts/ack', engA, { ids: [...mine, theirs], comment: 'крупное отключение' });
      expect(res.status).toBe(400);
      expect(res.body.message).toContain(`ids[3]: alert ${theirs}`);
      expect((await alerts(engA, '&acknowledged=true'))).toEqual([]);
      expect((await alerts(engB, '&acknowledged=true'))).toEqual([]);
      // And the other way round: their engineer cannot acknowledge ours either.
      expect((await h.call('POST', '/alerts/ack', engB, { ids: [theirs, mine[0]], comment: 'x' })).status).toBe(400);
      expect((await alerts(engB, '&acknowledged=true'))).toEqual([]);
    });

    it("a filter naming another organisation's building, or no building at all, acknowledges none of theirs", async () => {
      const named = await h.call<{ acknowledged: number[]; already: number[] }>('POST', '/alerts/ack', engA, { filter: { building_id: s.other }, comment: 'чужой дом' });
      expect(named.status).toBe(200);
      expect(named.body).toEqual({ acknowledged: [], already: [] });
      expect((await alerts(engB, '&acknowledged=true'))).toEqual([]);
      // Engineer B's "everything" is only B's: one alert, and none of A's 60 is touched.
      const everything = await h.call<{ acknowledged: number[] }>('POST', '/alerts/ack', engB, { filter: {}, comment: 'всё моё' });
      expect(everything.body.acknowledged).toHaveLength(1);
      expect((await alerts(engA, '&acknowledged=true'))).toEqual([]);
      // Put back, so the next cases start from every alert unacknowledged.
      await h.opened.db.query('UPDATE alerts SET acknowledged_at = NULL, acknowledged_by = NULL WHERE id = ANY($1::bigint[])', [everything.body.acknowledged]);
    });

    it('bad bulk requests say what is wrong; an operator may not acknowledge', async () => {
      const noReason = await h.call('POST', '/alerts/ack', engA, { ids: [1] });
      expect(noReason.status).toBe(400);
      const both = await h.call('POST', '/alerts/ack', engA, { ids: [1], filter: { kind: 'imbalance' }, comment: 'x' });
      expect(both.status).toBe(400);
      expect(both.body.message).toContain('either ids or filter');
      expect((await h.call('POST', '/alerts/ack', operatorA, { filter: { kind: 'imbalance' }, comment: 'x' })).status).toBe(403);
    });

    it('one group acknowledged in bulk with a reason: all its alerts by that user with that reason, the others still open', async () => {
      const res = await h.call<{ acknowledged: number[]; already: number[] }>('POST', '/alerts/ack', engA,
        { filter: { building_id: s.lenina, kind: 'meter_silent', open: 'true' }, comment: 'отключение подстанции, бригада выехала' });
      expect(res.status).toBe(200);
      expect(res.body.acknowledged).toHaveLength(30);
      const group = await alerts(engA, `&building_id=${s.lenina}&kind=meter_silent`);
      expect(group.every((a) => a.acknowledged_by === 'eng-north' && a.acknowledged_at !== null)).toBe(true);
      expect((await alerts(engA, '&acknowledged=false')).map((a) => a.kind).sort()).toEqual([...Array(28).fill('meter_silent'), 'gateway_silent', 'imbalance'].sort());
      const audit = await h.opened.db.query<{ actor: string; n: string }>(
        `SELECT actor_name AS actor, count(*) AS n FROM audit_log WHERE entity = 'alert' AND action = 'acknowledge' AND reason = $1 GROUP BY actor_name`, ['отключение подстанции, бригада выехала']);
      expect(audit.rows.map((r) => [r.actor, Number(r.n)])).toEqual([['eng-north', 30]]);
      // A selection overlapping the acknowledged group: the new ones are acknowledged, the old ones left as they were.
      const ekb = (await alerts(engA, `&building_id=${s.kosmonavtov}&kind=meter_silent`)).slice(0, 2).map((a) => a.id);
      const again = await h.call<{ acknowledged: number[]; already: number[] }>('POST', '/alerts/ack', engA, { ids: [group[0].id, ...ekb], comment: 'проверяем связь' });
      expect(again.body).toEqual({ acknowledged: ekb, already: [group[0].id] });
      expect((await h.call('GET', '/alerts/groups?acknowledged=false', engA)).body.map((g: Group) => [g.kind, g.count])).toEqual([['meter_silent', 26], ['gateway_silent', 1], ['imbalance', 1]]);
    });
  });
}
