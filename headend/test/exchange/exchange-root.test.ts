// Exchange folders are confined to the organisation's own folder EXCHANGE_ROOT/org-<id>/: a user with
// exchange:run cannot point the head-end at any other folder (it writes files there and moves *.xml out
// of inboxes), nor at another organisation's folder, nor through a symbolic link planted inside the root.
import { mkdir, mkdtemp, rm, symlink, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';
import { seedRegistry, type Fixture } from './fixtures.js';
import { runExchange } from '../../src/exchange/index.js';

let h: Harness;
let f: Fixture;
let other: { orgId: number };
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'amr-exchange-root-'));
  h = await startHarness({ EXCHANGE_ROOT: root });
  f = await seedRegistry(h.opened.db);
  other = { orgId: Number((await h.opened.db.query(`INSERT INTO organisations (name) VALUES ('УК Чужая') RETURNING id`)).rows[0].id) };
}, 60_000);
afterAll(async () => {
  await h?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('EXCHANGE_ROOT per organisation', () => {
  const body = (folder: string, orgId = f.orgId) => ({ org_id: orgId, direction: 'export', folder, cron: '0 2 * * *', enabled: false });

  it('accepts a folder inside the organisation\'s folder (absolute or relative) and refuses one outside it, naming the root', async () => {
    const ok = await h.call('POST', '/exchange/configs', h.adminToken, body(`${root}/org-${f.orgId}/billing/out`));
    expect(ok.status).toBe(201);
    expect(ok.body.folder).toBe(`${root}/org-${f.orgId}/billing/out`);
    // A relative folder is taken inside the organisation's folder.
    const rel = await h.call('POST', '/exchange/configs', h.adminToken, body('billing/in'));
    expect(rel.status).toBe(201);
    expect(rel.body.folder).toBe(`${root}/org-${f.orgId}/billing/in`);
    for (const folder of ['/etc', `${root}-other/out`, '/srv', `${root}/billing/out`, `${root}/org-${other.orgId}/in`, `${root}/org-${f.orgId}0/in`]) {
      const bad = await h.call('POST', '/exchange/configs', h.adminToken, body(folder));
      expect(bad.status, folder).toBe(400);
      expect(bad.body.message).toContain(`EXCHANGE_ROOT (${root})`);
      expect(bad.body.message).toContain(`${root}/org-${f.orgId}`);
    }
    // Moving an existing configuration out of its folder is refused too, and changes nothing.
    for (const folder of ['/tmp/elsewhere', `${root}/org-${other.orgId}/in`]) {
      const moved = await h.call('PATCH', `/exchange/configs/${ok.body.id}`, h.adminToken, { folder });
      expect(moved.status, folder).toBe(400);
    }
    const list = await h.call<Array<{ id: number; folder: string }>>('GET', '/exchange/configs', h.adminToken);
    expect(list.body.find((c) => c.id === ok.body.id)?.folder).toBe(`${root}/org-${f.orgId}/billing/out`);
  });

  it('refuses a folder reached through a symbolic link inside the root, on create, change and run', async () => {
    // org A's folder holds a link to org B's inbox (a file of B's waits there).
    const bInbox = join(root, `org-${other.orgId}`, 'inbox');
    await mkdir(bInbox, { recursive: true });
    await writeFile(join(bInbox, 'b.xml'), '<readings/>');
    await mkdir(join(root, `org-${f.orgId}`), { recursive: true });
    await symlink(bInbox, join(root, `org-${f.orgId}`, 'sneaky'));
    for (const folder of ['sneaky', 'sneaky/deeper', `${root}/org-${f.orgId}/sneaky`]) {
      const r = await h.call('POST', '/exchange/configs', h.adminToken, { ...body(folder), direction: 'import' });
      expect(r.status, folder).toBe(400);
      expect(r.body.message).toContain('symbolic link');
    }
    const plain = await h.call('POST', '/exchange/configs', h.adminToken, { ...body('plain-inbox'), direction: 'import' });
    expect(plain.status).toBe(201);
    expect((await h.call('PATCH', `/exchange/configs/${plain.body.id}`, h.adminToken, { folder: 'sneaky' })).status).toBe(400);
    // The folder replaced by a link after the config was made: "run now" refuses, and B's file stays where it was.
    await symlink(bInbox, join(root, `org-${f.orgId}`, 'plain-inbox'));
    const run = await h.call('POST', `/exchange/configs/${plain.body.id}/run`, h.adminToken);
    expect(run.status).toBe(409);
    expect(run.body.message).toContain('symbolic link');
    expect(await readdir(bInbox)).toEqual(['b.xml']);
    // The scheduled job checks at every run too: a failed run naming the link, and B's file still untouched.
    const scheduled = await runExchange({ db: h.opened.db, exchangeRoot: root }, plain.body.id);
    expect(scheduled.status).toBe('failed');
    expect(scheduled.message).toContain('symbolic link');
    expect(await readdir(bInbox)).toEqual(['b.xml']);
  });
});
