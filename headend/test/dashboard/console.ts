/**
 * The console's browser-test kit: a real head-end API on an embedded PGlite-TimescaleDB (the API
 * harness, listening on a port), Debian's Chromium, sign-in through the form, and `checkScreen()`,
 * which looks at one screen the way the proof asks: at 1366×768 and 390×844, in Russian and in English,
 * with a screenshot of each kept in test-artifacts/, no sideways scroll on the phone, no untranslated
 * key on screen, and axe-core finding no serious or critical accessibility violation.
 *
 * axe-core is run through page.evaluate (the DevTools protocol), which the pages' CSP does not govern:
 * the page itself still runs with its real CSP.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { ARTIFACTS, launchChromium, type Browser } from '../browser.js';
import { startHarness, type Harness } from '../api/harness.js';
import type { Clock } from '../../src/util/clock.js';
import type { JobRunner } from '../../src/jobs/index.js';
import type { CommandSender } from '../../src/commands/service.js';

export const VIEWPORTS = [
  { name: 'desktop', width: 1366, height: 768 },
  { name: 'phone', width: 390, height: 844 },
] as const;
export const LANGS = ['ru', 'en'] as const;
export type Lang = (typeof LANGS)[number];

export interface Console {
  h: Harness;
  base: string;
  browser: Browser;
  page: Page;
  byTestId(id: string): ReturnType<Page['locator']>;
  /** Signs in through the form as this user (password-123 for users made by h.userToken). */
  signIn(username: string, password?: string): Promise<void>;
  /** Goes to a hash route ('/registry/buildings') and waits for the test id to show. */
  open(route: string, testid: string): Promise<void>;
  setLanguage(lang: Lang): Promise<void>;
  close(): Promise<void>;
}

/**
 * `jobs`: a JobRunner on the test Redis, for screens that show background jobs (absent: the head-end runs without).
 * `commands`: a command sender for the gateway routes (without one they answer 503, as a head-end without a broker).
 * `exchangeRoot`: the head-end's EXCHANGE_ROOT (local exchange folders are made inside it, per organisation).
 */
export async function startConsole(name: string, opts: { clock?: Clock; jobs?: JobRunner; commands?: (h: Harness) => CommandSender; exchangeRoot?: string } = {}): Promise<Console> {
  let sender: CommandSender | undefined;
  // The sender needs the harness's database, which exists only once the harness does: it is looked up per call.
  const lazy: CommandSender | undefined = opts.commands ? { get timeoutMs() { return sender!.timeoutMs; }, send: (c) => sender!.send(c) } : undefined;
  const h = await startHarness({ clock: opts.clock, jobs: opts.jobs, commands: lazy, EXCHANGE_ROOT: opts.exchangeRoot });
  if (opts.commands) sender = opts.commands(h);
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  const browser = await launchChromium(name, { locale: 'ru-RU', viewport: { width: 1366, height: 768 } });
  const page = browser.page;
  const byTestId = (id: string) => page.locator(`[data-testid="${id}"]`);
  const c: Console = {
    h, base, browser, page, byTestId,
    async signIn(username, password = 'password-123') {
      await page.goto(`${base}/dashboard/#/`);
      const out = byTestId('logout');
      if (await out.count()) { await out.click(); }
      await byTestId('login-form').waitFor();
      await page.fill('input[name="username"]', username);
      await page.fill('input[name="password"]', password);
      await page.click('form[data-testid="login-form"] button[type="submit"]');
      await byTestId('whoami').waitFor();
    },
    async open(route, testid) {
      await page.evaluate((r) => { (globalThis as unknown as { location: { hash: string } }).location.hash = `#${r}`; }, route);
      await byTestId(testid).first().waitFor({ timeout: 15_000 });
    },
    async setLanguage(lang) {
      const now = await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { lang: string } } }).document.documentElement.lang);
      if (now !== lang) await byTestId('lang-toggle').click();
      await page.waitForFunction((l) => (globalThis as unknown as { document: { documentElement: { lang: string } } }).document.documentElement.lang === l, lang);
    },
    async close() {
      // Each step bounded and named, so a stuck shutdown says which part hung instead of a bare hook timeout.
      await within(25_000, 'closing Chromium', browser.close());
      await within(25_000, 'closing the head-end (API server and database)', h.close());
    },
  };
  return c;
}

async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} took more than ${ms / 1000} s`)), ms); });
  try { return await Promise.race([p, late]); } finally { clearTimeout(timer); }
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation { id: string; impact: string | null; help: string; nodes: string[] }

/** axe-core on the current page: the serious and critical WCAG 2 A/AA violations (empty when none). */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const g = globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[] }> }; document: unknown };
    const r = await g.axe.run(g.document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
  });
}

export interface ScreenFindings {
  /** `<shot>`: what was wrong in that language and viewport (axe, sideways scroll, raw keys). Empty when all is well. */
  problems: string[];
  shots: string[];
}

/**
 * Looks at the screen at `route` in both languages and both viewports: waits for `testid`, saves a
 * screenshot, runs axe, checks the phone has no sideways scroll and no raw translation key (a text
 * like "billing.title") shows. `ready` may wait for more (data loaded) after the test id shows.
 */
export async function checkScreen(c: Console, name: string, route: string, testid: string, ready?: (page: Page) => Promise<void>): Promise<ScreenFindings> {
  const problems: string[] = [];
  const shots: string[] = [];
  await mkdir(ARTIFACTS, { recursive: true });
  for (const lang of LANGS) {
    for (const vp of VIEWPORTS) {
      await c.page.setViewportSize({ width: vp.width, height: vp.height });
      await c.open(route, testid);
      await c.setLanguage(lang);
      await c.byTestId(testid).first().waitFor();
      await ready?.(c.page);
      const shot = `console-${name}-${lang}-${vp.name}.png`;
      await c.page.screenshot({ path: join(ARTIFACTS, shot), fullPage: true });
      shots.push(shot);
      for (const v of await axeViolations(c.page)) problems.push(`${shot}: axe ${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(', ')}`);
      const sizes = await c.page.evaluate(() => {
        const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number }; body: { innerText: string } } }).document;
        return { scroll: d.documentElement.scrollWidth, client: d.documentElement.clientWidth, text: d.body.innerText };
      });
      if (vp.name === 'phone' && sizes.scroll > sizes.client + 1) problems.push(`${shot}: the page scrolls sideways (${sizes.scroll} px wide in ${sizes.client} px)`);
      const raw = sizes.text.match(/\b[a-z]+(?:[A-Z][a-zA-Z]*)?\.[a-z][a-zA-Z_]+(?:\.[a-zA-Z_]+)*\b/g)?.filter((k) => !/\.(ru|com|org|net|pdf|xlsx|csv|json|js|png)$/.test(k) && !/^\w+\.\w+@/.test(k));
      if (raw?.length) problems.push(`${shot}: untranslated keys on screen: ${[...new Set(raw)].slice(0, 5).join(', ')}`);
    }
  }
  await c.page.setViewportSize({ width: 1366, height: 768 });
  return { problems, shots };
}
