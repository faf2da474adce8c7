/**
 * Bearer tokens' principals looked up together (auth/sessions.ts principalsFromTokens, and
 * tokenPrincipals coalescing the lookups of concurrent requests into one statement): each token gets
 * exactly its own principal — an engineer its granted buildings, a resident its premises, an admin
 * everything — and a revoked, unknown or deactivated user's token null, whatever it is looked up beside.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';
import { principalsFromTokens, tokenPrincipals } from '../../src/auth/index.js';
import type { Queryable } from '../../src/db/types.js';

let h: Harness;
let b1: number, b2: number, flat: number;
let engineer: string, resident: string, revoked: string, gone: string;

beforeAll(async () => {
  h = await startHarness();
  const t = h.adminToken;
  const org = (await h.call('POST', '/organisations', t, { name: 'УК Токены' })).body.id;
  b1 = (await h.call('POST', '/buildings', t, { org_id: org, external_id: 'T1', address: 'ул. Токенная, 1' })).body.id;
  b2 = (await h.call('POST', '/buildings', t, { org_id: org, external_id: 'T2', address: 'ул. Токенная, 2' })).body.id;
  flat = (await h.call('POST', '/premises', t, { building_id: b2, number: '7' })).body.id;
  const acc = (await h.call('POST', '/accounts', t, { org_id: org, number: 'LS-T7', premise_id: flat })).body.id;
  engineer = await h.userToken('engineer', { buildingIds: [b1], username: 'eng-t' });
  resident = await h.userToken('resident', { accountIds: [acc], username: 'res-t' });
  revoked = await h.userToken('engineer', { buildingIds: [b1], username: 'eng-revoked' });
  expect((await h.call('POST', '/auth/logout', revoked)).status).toBeLessThan(300);
  gone = await h.userToken('engineer', { buildingIds: [b2], username: 'eng-gone' });
  await h.opened.db.query("UPDATE users SET active = false WHERE username = 'eng-gone'");
}, 60_000);
afterAll(async () => { await h?.close(); });

const summary = (p: Awaited<ReturnType<typeof principalsFromTokens>>[number]) => p && ({
  name: p.name, role: p.role, buildings: p.buildingIds && [...p.buildingIds].sort(), premises: p.premiseIds && [...p.premiseIds],
});

describe('principals of several tokens at once', () => {
  it('one statement: each token its own principal; revoked, unknown and deactivated null; a token given twice answered twice', async () => {
    const got = await principalsFromTokens(h.opened.db, [engineer, 'amrt_not-a-token', resident, revoked, h.adminToken, gone, engineer]);
    expect(got.map(summary)).toEqual([
      { name: 'eng-t', role: 'engineer', buildings: [b1], premises: null },
      null,
      { name: 'res-t', role: 'resident', buildings: [b2], premises: [flat] },
      null,
      { name: 'admin', role: 'admin', buildings: null, premises: null },
      null,
      { name: 'eng-t', role: 'engineer', buildings: [b1], premises: null },
    ]);
  });

  it('lookups asked while one is in flight go together in the next statement', async () => {
    let statements = 0;
    const counted: Queryable = { query: (sql, params) => { statements++; return h.opened.db.query(sql, params); } };
    const lookup = tokenPrincipals(counted);
    const got = await Promise.all([engineer, resident, revoked, h.adminToken, resident].map((t) => lookup(t)));
    // The first goes at once, alone; the four asked meanwhile go in one more statement.
    expect(statements).toBe(2);
    expect(got.map((p) => p?.name ?? null)).toEqual(['eng-t', 'res-t', null, 'admin', 'res-t']);
    // Idle again: the next lookup goes at once.
    expect((await lookup(engineer))?.buildingIds).toEqual(new Set([b1]));
    expect(statements).toBe(3);
  });
});
