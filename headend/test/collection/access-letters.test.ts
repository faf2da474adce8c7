/**
 * Residents' access through the API on the embedded database: invite letters for a building as one PDF
 * (read back page by page: the text, and the QR code's modules against the link printed beside it), the
 * printed codes signing in once each, "without a code" skipping live codes, revocation, and tenancy —
 * another organisation's engineer can neither print, issue, revoke nor list this building's accounts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import QRCode from 'qrcode';
import { seedAccessOrganisations } from './access-seed.js';
import { startHarness, type Harness } from '../api/harness.js';
import { fixedClock } from '../../src/util/clock.js';
import { QR_OPTIONS } from '../../src/collection/letters.js';
import { modulesOf, pdfPages, type PdfPage } from './pdf-pages.js';

const NOW = new Date('2026-11-14T10:00:00+03:00');
let h: Harness;
let bA: number, bB: number;
let accs: number[];
let engA: string, engB: string, opA: string;

interface AccessRow { account_id: number; account_number: string; premise_number: string; state: string; issued_by: string | null; revoked_at: string | null }

async function letters(token: string, building: number, accounts: 'all' | 'without_code') {
  const res = await h.app.inject({ method: 'POST', url: `/buildings/${building}/access-codes`, headers: { authorization: `Bearer ${token}` }, payload: { accounts } });
  return { status: res.statusCode, headers: res.headers, pdf: res.rawPayload, json: () => JSON.parse(res.body) as { message: string } };
}
const signIn = (account_number: string, code: string) => h.call('POST', '/resident/sign-in', null, { account_number, code }).then((r) => r.status);
/** Account number, code and link as one letter page prints them. */
function printed(page: PdfPage) {
  const code = /Ваш одноразовый код:\n([A-Z2-9]{10})\n/.exec(page.text)?.[1];
  const account = /Лицевой счёт: (\S+)/.exec(page.text)?.[1];
  // A long link wraps: its lines run from the one starting with http to the next heading.
  const from = page.lines.findIndex((l) => l.startsWith('http'));
  const link = page.lines.slice(from, page.lines.indexOf('Как передавать показания')).join('');
  return { code: code!, account: account!, link };
}
const list = (token: string, building: number) => h.call<{ items: AccessRow[] }>('GET', `/buildings/${building}/access-codes`, token);

beforeAll(async () => {
  // Printed from the office's LAN address; residents open the public one.
  h = await startHarness({ clock: fixedClock(NOW), PUBLIC_URL: 'https://meters.uk-sever.example/' });
  ({ bA, bB, accs } = await seedAccessOrganisations(h, ['1', '2', '10']));
  engA = await h.userToken('engineer', { username: 'eng-a', buildingIds: [bA] });
  engB = await h.userToken('engineer', { username: 'eng-b', buildingIds: [bB] });
  opA = await h.userToken('operator', { username: 'op-a', buildingIds: [bA] });
}, 60_000);
afterAll(async () => { await h?.close(); });

describe('invite letters', () => {
  let pages: PdfPage[];

  it('one PDF page per account: address, flat, account, code, the link with both, its QR code, instructions in Russian', async () => {
    const r = await letters(engA, bA, 'without_code');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/pdf');
    expect(r.headers['x-letters']).toBe('3');
    expect(r.headers['content-disposition']).toBe(`attachment; filename="invites-${bA}-2026-11-14.pdf"`);
    pages = pdfPages(r.pdf);
    expect(pages).toHaveLength(3);
    expect(pages.map((p) => /кв\. (\S+)/.exec(p.text)?.[1])).toEqual(['1', '2', '10']);
    for (const [i, page] of pages.entries()) {
      const { code, account, link } = printed(page);
      expect(account).toBe(['ЛС-100', 'ЛС-200', 'ЛС-1000'][i]);
      expect(page.text).toContain('Адрес: Тверь, ул. Ленина, 5, кв.');
      expect(page.text).toContain('УК «Северная»');
      expect(page.text).toContain('Код одноразовый: после первого входа он больше не действует.');
      const url = new URL(link);
      expect(url.origin).toBe('https://meters.uk-sever.example');
      expect(url.pathname).toBe('/resident/');
      expect([url.searchParams.get('account'), url.searchParams.get('code')]).toEqual([account, code]);
      // The QR code drawn on the page is exactly the symbol of the printed link.
      const symbol = QRCode.create(link, QR_OPTIONS).modules;
      const expected = Array.from({ length: symbol.size }, (_, row) => Array.from({ length: symbol.size }, (__, col) => !!symbol.get(row, col)));
      expect(modulesOf(page.rects)).toEqual(expected);
    }
    expect(new Set(pages.map((p) => printed(p).code)).size).toBe(3);
  });

  it('the printed codes sign in, each exactly once', async () => {
    for (const p of pages) {
      const { account, code } = printed(p);
      expect(await signIn(account, code)).toBe(200);
      expect(await signIn(account, code)).toBe(401);
    }
    expect((await list(engA, bA)).body.items.map((r) => [r.premise_number, r.state, r.issued_by])).toEqual([['1', 'used', 'eng-a'], ['2', 'used', 'eng-a'], ['10', 'used', 'eng-a']]);
  });

  it('"without a code" skips an account with a live code; revoking makes that code fail to sign in', async () => {
    const single = await h.call('POST', `/accounts/${accs[0]}/access-code`, engA, {});
    expect(single.status).toBe(201);
    const r = await letters(engA, bA, 'without_code');
    expect(r.headers['x-letters']).toBe('2');
    const again = pdfPages(r.pdf);
    expect(again.map((p) => printed(p).account)).toEqual(['ЛС-200', 'ЛС-1000']);
    expect((await list(engA, bA)).body.items.map((x) => x.state)).toEqual(['active', 'active', 'active']);

    const revoked = await h.call('DELETE', `/accounts/${accs[0]}/access-code`, engA);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toEqual({ account_id: accs[0], account_number: 'ЛС-100', revoked: true });
    expect(await signIn('ЛС-100', single.body.code)).toBe(401);
    const row = (await list(engA, bA)).body.items[0];
    expect([row.state, row.revoked_at === null]).toEqual(['revoked', false]);
    const twice = await h.call('DELETE', `/accounts/${accs[0]}/access-code`, engA);
    expect([twice.status, twice.body.message]).toEqual([409, 'personal account ЛС-100 has no live access code to revoke (none issued, or it was used, expired or revoked)']);
    // The letters of the other two still work.
    expect(await signIn('ЛС-200', printed(again[0]).code)).toBe(200);
  });

  it('nothing to print answers 409 saying how to print anyway; every code issued is audited without the code', async () => {
    await h.call('POST', `/accounts/${accs[0]}/access-code`, engA, {});
    await h.call('POST', `/accounts/${accs[1]}/access-code`, engA, {});
    const r = await letters(engA, bA, 'without_code');
    expect(r.status).toBe(409);
    expect(r.json().message).toContain("choose accounts 'all'");
    const audit = await h.opened.db.query<{ action: string; n: number; leaked: number }>(
      `SELECT action, count(*)::int AS n, count(*) FILTER (WHERE after::text ~ '[A-Z2-9]{10}')::int AS leaked FROM audit_log
        WHERE entity = 'resident_access_code' AND building_id = $1 AND action IN ('issue', 'revoke') GROUP BY action ORDER BY action`, [bA]);
    expect(audit.rows).toEqual([{ action: 'issue', n: 3 + 1 + 2 + 2, leaked: 0 }, { action: 'revoke', n: 1, leaked: 0 }]);
  });

  it('another organisation\'s engineer cannot print, issue, revoke or list; an operator may not print', async () => {
    const before = Number((await h.opened.db.query('SELECT count(*)::int AS n FROM resident_access_codes')).rows[0].n);
    expect((await letters(engB, bA, 'all')).status).toBe(404);
    expect((await h.call('POST', `/accounts/${accs[2]}/access-code`, engB, {})).status).toBe(404);
    expect((await h.call('DELETE', `/accounts/${accs[1]}/access-code`, engB)).status).toBe(404);
    expect((await list(engB, bA)).status).toBe(404);
    expect((await list(engB, bB)).body.items.map((x) => x.account_number)).toEqual(['ЛС-900']);
    expect((await letters(opA, bA, 'all')).status).toBe(403);
    expect(Number((await h.opened.db.query('SELECT count(*)::int AS n FROM resident_access_codes')).rows[0].n)).toBe(before);
    expect((await list(engA, bA)).body.items[1].state).toBe('active');
  });
});
