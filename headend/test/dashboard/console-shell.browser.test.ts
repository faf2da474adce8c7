/**
 * The console's shell in Chromium: the UI libraries load through the import map under the pages' real
 * CSP, the menu shows per role, an unknown route says so, and the buildings screen passes the screen
 * check (both languages, both viewports, axe, no sideways scroll on a phone).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkScreen, startConsole, type Console } from './console.js';

let c: Console;

beforeAll(async () => {
  c = await startConsole('console-shell');
  await c.h.userToken('engineer', { username: 'eng-shell' });
  await c.h.userToken('billing', { username: 'bill-shell' });
}, 120_000);

afterAll(async () => { await c?.close(); });

/** The status of a GET, its body read to the end (an unread body keeps the connection busy and the server's close waiting). */
const statusOf = async (url: string) => {
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.status;
};

describe('console shell', () => {
  it('serves the UI libraries by the import map, allowed by its hash in the CSP', async () => {
    const res = await fetch(`${c.base}/dashboard/`);
    const body = await res.text();
    const map = /<script type="importmap">([^<]+)<\/script>/.exec(body);
    expect(map, 'import map inline in the page').not.toBeNull();
    const imports = JSON.parse(map![1]).imports as Record<string, string>;
    expect(Object.keys(imports)).toEqual(expect.arrayContaining(['preact', 'preact/hooks', 'htm/preact', 'wouter-preact', 'i18next']));
    const { createHash } = await import('node:crypto');
    const hash = createHash('sha256').update(map![1]).digest('base64');
    expect(res.headers.get('content-security-policy')).toContain(`'sha256-${hash}'`);
    for (const url of Object.values(imports)) expect(await statusOf(`${c.base}${url}`), url).toBe(200);
    // Only the listed packages' modules: nothing else from node_modules.
    expect(await statusOf(`${c.base}/vendor/pg/lib/index.js`)).toBe(404);
    expect(await statusOf(`${c.base}/vendor/preact/package.json`)).toBe(404);
  });

  it('signs in, shows the role in the user language, an unknown route says so, no page errors', async () => {
    await c.signIn('eng-shell');
    expect(await c.byTestId('whoami').textContent()).toBe('eng-shell · инженер');
    await c.open('/no/such/screen', 'not-found');
    expect(await c.byTestId('not-found').textContent()).toContain('Такой страницы нет');
    expect(c.browser.pageErrors).toEqual([]);
  }, 60_000);

  it('buildings screen: both languages and viewports, no serious accessibility violation', async () => {
    const r = await checkScreen(c, 'buildings', '/', 'buildings-table');
    expect(r.shots).toHaveLength(4);
    expect(r.problems).toEqual([]);
  }, 120_000);
});
