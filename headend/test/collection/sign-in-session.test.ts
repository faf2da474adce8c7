/**
 * What a resident's first and later sign-ins leave behind, now that the session opens in fewer
 * statements (auth/users.ts residentUserFor: the user found or created in one; the binding and the
 * code's spender in one; the audit rows in one insert) and a token's principal is read in one: the
 * resident user created once without a password and audited as a creation by the system, then the
 * sign-in audited by the resident; bound to the account; the code marked spent by that user; a second
 * code reuses the user and adds only its sign-in; the session sees only its own premise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { startHarness, type Harness } from '../api/harness.js';
import { fixedClock } from '../../src/util/clock.js';

let h: Harness;
let account: number, premise: number, otherPremise: number;

beforeAll(async () => {
  h = await startHarness({ clock: fixedClock('2026-03-20T10:00:00Z'), SECRETS_KEY: randomBytes(32).toString('base64') });
  const t = h.adminToken;
  const org = (await h.call('POST', '/organisations', t, { name: 'УК Вход' })).body.id;
  const b = (await h.call('POST', '/buildings', t, { org_id: org, external_id: 'S', address: 'ул. Входная, 1', timezone: 'UTC' })).body.id;
  premise = (await h.call('POST', '/premises', t, { building_id: b, number: '1' })).body.id;
  otherPremise = (await h.call('POST', '/premises', t, { building_id: b, number: '2' })).body.id;
  account = (await h.call('POST', '/accounts', t, { org_id: org, number: 'LS-S1', premise_id: premise })).body.id;
  await h.call('POST', '/accounts', t, { org_id: org, number: 'LS-S2', premise_id: otherPremise });
  for (const [p, serial] of [[premise, 'S-1'], [otherPremise, 'S-2']] as const) {
    const r = await h.call('POST', '/meters', t, { placement: 'apartment', building_id: b, premise_id: p, resource: 'cold_water', serial_number: serial, make: 'X' });
    expect(r.status).toBe(201);
  }
}, 60_000);
afterAll(async () => { await h?.close(); });

const code = async () => (await h.call('POST', `/accounts/${account}/access-code`, h.adminToken, {})).body.code as string;
const audits = async () => (await h.opened.db.query<{ action: string; entity: string; actor_kind: string; actor_name: string; entity_id: string; username: string | null; has_hash: boolean }>(
  `SELECT action, entity, actor_kind, actor_name, entity_id, after->>'username' AS username, after ? 'password_hash' AS has_hash FROM audit_log
    WHERE (entity = 'user' AND action = 'create' AND after->>'role' = 'resident') OR action = 'sign_in' ORDER BY id`)).rows;

describe("a resident's sign-in", () => {
  it('first: the resident user created (audited by the system, no password hash), bound, the code spent by it, the sign-in audited; second: the same user, one more sign-in row', async () => {
    const first = await h.call('POST', '/resident/sign-in', null, { account_number: 'LS-S1', code: await code() });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const userId = first.body.user_id as number;
    const username = `account-${account}`;
    expect(await audits()).toEqual([
      { action: 'create', entity: 'user', actor_kind: 'system', actor_name: 'system', entity_id: String(userId), username, has_hash: false },
      { action: 'sign_in', entity: 'resident_access_code', actor_kind: 'user', actor_name: username, entity_id: String(account), username: null, has_hash: null },
    ]);
    const user = (await h.opened.db.query<{ password_hash: string | null; role: string }>('SELECT password_hash, role FROM users WHERE id = $1', [userId])).rows[0];
    expect(user).toEqual({ password_hash: null, role: 'resident' });
    expect((await h.opened.db.query('SELECT personal_account_id::int AS a FROM user_accounts WHERE user_id = $1', [userId])).rows).toEqual([{ a: account }]);
    expect((await h.opened.db.query('SELECT used_by::int AS u FROM resident_access_codes WHERE account_id = $1 AND used_at IS NOT NULL', [account])).rows).toEqual([{ u: userId }]);

    const second = await h.call('POST', '/resident/sign-in', null, { account_number: 'LS-S1', code: await code() });
    expect(second.status).toBe(200);
    expect(second.body.user_id).toBe(userId);
    expect((await audits()).map((a) => a.action)).toEqual(['create', 'sign_in', 'sign_in']);
    expect((await h.opened.db.query('SELECT count(*)::int AS n FROM users WHERE role = $1', ['resident'])).rows[0].n).toBe(1);

    // The session's principal (read in one statement): its own premise's meter only.
    const meters = await h.call('GET', '/resident/meters', second.body.token);
    expect(meters.status).toBe(200);
    expect(meters.body.items.map((m: { serial_number: string; premise_id: number }) => [m.serial_number, m.premise_id])).toEqual([['S-1', premise]]);
  });
});
