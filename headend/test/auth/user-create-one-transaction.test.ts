/**
 * `amr-headend user create <login> --role R --org N` through the real admin socket on a real embedded
 * PGlite-TimescaleDB: the user and its grants on every building of organisation N are one transaction.
 * The second step is made to fail by the database itself (a trigger refusing grants of one building),
 * as a constraint or a dropped connection would: no user is left without its grants.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminRequest, adminSocketPath, startAdminChannel, type AdminChannel } from '../../src/admin/channel.js';
import type { OpenedDb } from '../../src/db/index.js';
import { openTestDb } from '../engine.js';

let dir: string;
let opened: OpenedDb;
let channel: AdminChannel;
let org: number;
let b1: number;
let b2: number;

const one = async (sql: string, params: unknown[]) => Number((await opened.db.query<{ id: string }>(sql, params)).rows[0].id);
const create = (login: string, o: number) => adminRequest(adminSocketPath(dir), { cmd: 'user.create', login, role: 'engineer', org: o, password: 'Correct-Horse-7' });
const usersNamed = async (login: string) => (await opened.db.query<{ id: string }>('SELECT id FROM users WHERE username = $1', [login])).rows;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'amr-user-create-'));
  opened = await openTestDb();
  org = await one(`INSERT INTO organisations (name) VALUES ('УК Рассвет') RETURNING id`, []);
  b1 = await one(`INSERT INTO buildings (org_id, address) VALUES ($1, 'ул. Рассветная, 1') RETURNING id`, [org]);
  b2 = await one(`INSERT INTO buildings (org_id, address) VALUES ($1, 'ул. Рассветная, 3') RETURNING id`, [org]);
  channel = await startAdminChannel({ db: opened.db, dataDir: dir, log: () => undefined });
}, 120_000);
afterAll(async () => {
  await channel?.close();
  await opened?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('user create --org', () => {
  it('when granting the organisation\'s buildings fails, no user is left behind and nothing is audited', async () => {
    await opened.db.query(`CREATE FUNCTION refuse_grant() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.building_id = ${b2} THEN RAISE EXCEPTION 'grant of building % refused', NEW.building_id; END IF; RETURN NEW; END $$`);
    await opened.db.query('CREATE TRIGGER refuse_grant BEFORE INSERT ON user_building_grants FOR EACH ROW EXECUTE FUNCTION refuse_grant()');
    try {
      const r = await create('half-made', org);
      expect(r).toEqual({ ok: false, error: `grant of building ${b2} refused` });
      expect(await usersNamed('half-made')).toEqual([]);
      expect((await opened.db.query('SELECT 1 FROM user_building_grants')).rows).toEqual([]);
      expect((await opened.db.query(`SELECT 1 FROM audit_log WHERE entity = 'user'`)).rows).toEqual([]);
    } finally {
      await opened.db.query('DROP TRIGGER refuse_grant ON user_building_grants');
      await opened.db.query('DROP FUNCTION refuse_grant()');
    }
  });

  it('the same command then succeeds: one user with both buildings of the organisation, two audit rows (create, grant)', async () => {
    const r = await create('half-made', org);
    expect(r.ok).toBe(true);
    const [u] = await usersNamed('half-made');
    const grants = (await opened.db.query<{ building_id: string }>('SELECT building_id FROM user_building_grants WHERE user_id = $1 ORDER BY 1', [u.id])).rows.map((x) => Number(x.building_id));
    expect(grants).toEqual([b1, b2]);
    const audit = (await opened.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE entity = 'user' AND entity_id = $1 ORDER BY id`, [u.id])).rows.map((x) => x.action);
    expect(audit).toEqual(['create', 'grant']);
  });

  it('an organisation that does not exist, or a taken login, is refused and adds no user', async () => {
    const before = Number((await opened.db.query<{ n: string }>('SELECT count(*) AS n FROM users')).rows[0].n);
    expect(await create('nobody-org', 999_999)).toEqual({ ok: false, error: 'organisation 999999 does not exist' });
    const taken = await create('HALF-MADE', org);
    expect(taken.ok).toBe(false);
    expect(Number((await opened.db.query<{ n: string }>('SELECT count(*) AS n FROM users')).rows[0].n)).toBe(before);
  });
});
