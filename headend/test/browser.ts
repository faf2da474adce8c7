/**
 * Debian's Chromium for the pages' browser tests, driven by playwright-core: one persistent profile in
 * a temporary folder per test file, removed by close(). A missing browser fails with the fix, never a
 * silent skip. Page errors are collected for the tests to assert there were none.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots of the browser tests (gitignored). */
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

export interface Browser { context: BrowserContext; page: Page; pageErrors: string[]; close(): Promise<void> }

/**
 * The page's globals as the tests read them inside page.evaluate, whose callbacks run in the browser
 * (the test tsconfig has no DOM lib): `(globalThis as unknown as PageGlobals)`, a type only, so nothing
 * of it is sent to the page. Only what the tests use.
 */
export interface PageGlobals {
  location: { hash: string };
  localStorage: { getItem(key: string): string | null };
  sessionStorage: { getItem(key: string): string | null };
  document: {
    querySelector(selector: string): unknown;
    documentElement: { scrollWidth: number };
    activeElement: { getAttribute(name: string): string | null } | null;
  };
  echarts: { getInstanceByDom(element: unknown): EChart | undefined };
}
/** An ECharts instance: the option it holds (what the chart really draws) and its width. */
export interface EChart {
  getOption(): { xAxis: { data?: unknown[] }[]; series: { id: string; name: string; type: string; data: unknown[] }[] };
  getWidth(): number;
}
/** A form field in the page, for its constraint validation. */
export interface PageField { validity: { valid: boolean } }

export async function launchChromium(name: string, opts: Omit<Parameters<typeof chromium.launchPersistentContext>[1], 'executablePath' | 'headless' | 'args'>): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: run \`bash scripts/ensure-system-deps.sh\` (installs Debian chromium)`);
  const profile = await mkdtemp(join(tmpdir(), `amr-${name}-chromium-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ...opts,
  });
  const page = context.pages()[0] ?? await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return {
    context, page, pageErrors,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
