// Exchange folders are confined to EXCHANGE_ROOT: a user with exchange:run cannot point the head-end
// at any other folder (it writes files there and moves *.xml out of inboxes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';
import { seedRegistry, type Fixture } from './fixtures.js';

let h: Harness;
let f: Fixture;
beforeAll(async () => {
  h = await startHarness({ EXCHANGE_ROOT: '/srv/amr-exchange' });
  f = await seedRegistry(h.opened.db);
}, 60_000);
afterAll(() => h?.close());

describe('EXCHANGE_ROOT', () => {
  const body = (folder: string) => ({ org_id: f.orgId, direction: 'export', folder, cron: '0 2 * * *', enabled: false });

  it('accepts a folder under the root and refuses one outside it, naming the root', async () => {
    const ok = await h.call('POST', '/exchange/configs', h.adminToken, body('/srv/amr-exchange/billing/out'));
    expect(ok.status).toBe(201);
    for (const folder of ['/etc', '/srv/amr-exchange-other/out', '/srv']) {
      const bad = await h.call('POST', '/exchange/configs', h.adminToken, body(folder));
      expect(bad.status, folder).toBe(400);
      expect(bad.body.message).toContain('EXCHANGE_ROOT (/srv/amr-exchange)');
    }
    // Moving an existing configuration out of the root is refused too, and changes nothing.
    const moved = await h.call('PATCH', `/exchange/configs/${ok.body.id}`, h.adminToken, { folder: '/tmp/elsewhere' });
    expect(moved.status).toBe(400);
    const list = await h.call<Array<{ id: number; folder: string }>>('GET', '/exchange/configs', h.adminToken);
    expect(list.body.find((c) => c.id === ok.body.id)?.folder).toBe('/srv/amr-exchange/billing/out');
  });
});
