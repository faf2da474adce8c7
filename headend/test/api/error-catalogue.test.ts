/**
 * The one catalogue of error texts (web-shared/errors.js) against what the server can send people: every
 * code a reading's refusal or warning carries (the judge's and write.ts's own lists), every schema
 * refusal's code, every code the error handler gives, and every code a route throws (found in the
 * sources: `new HttpError(status, 'code'` and the helpers). Each has a text in Russian and in English
 * with the same placeholders; and the texts are worded from params, not left with a raw {placeholder}.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { REFUSAL_CODES, WARNING_CODES } from '../../src/readings/judge.js';
import { WRITE_REFUSAL_CODES } from '../../src/readings/write.js';
import { HANDLER_CODES, VALIDATION_CODES } from '../../src/http/plugins/errors.js';

type Texts = Record<'ru' | 'en', Record<string, string>>;
interface I18n { t(key: string, params?: Record<string, unknown>): string; has(key: string): boolean; locale(): string }
interface ErrorsModule {
  ERROR_TEXTS: Texts;
  detailText(detail: { code?: string; params?: Record<string, unknown>; message?: string }, i18n: I18n, opts?: { withMeter?: boolean }): string | null;
}
let mod: ErrorsModule;
beforeAll(async () => { mod = await import(/* @vite-ignore */ `${'../../web-shared/'}errors.js`) as ErrorsModule; });

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...await sources(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Codes routes throw: HttpError(status, 'code', …) and the helpers notFound / conflict / badRequest. */
async function thrownCodes(): Promise<Set<string>> {
  const codes = new Set<string>();
  for (const f of await sources(SRC)) {
    const text = await readFile(f, 'utf8');
    for (const m of text.matchAll(/HttpError\(\s*\d{3},\s*'([a-z_]+)'/g)) codes.add(m[1]);
    if (/\bnotFound\(/.test(text)) codes.add('not_found');
    if (/\bconflict\(/.test(text)) codes.add('conflict');
    if (/\bbadRequest\(/.test(text)) codes.add('bad_request');
  }
  return codes;
}

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('error catalogue', () => {
  it('has a Russian and an English text for every code the server can send people', async () => {
    const thrown = await thrownCodes();
    expect(thrown.size).toBeGreaterThan(8); // the scan found the routes' codes (not an empty match)
    const codes = new Set<string>([...REFUSAL_CODES, ...WARNING_CODES, ...WRITE_REFUSAL_CODES, ...VALIDATION_CODES, ...HANDLER_CODES, ...thrown]);
    const missing: string[] = [];
    for (const lang of ['ru', 'en'] as const) {
      for (const c of codes) if (!mod.ERROR_TEXTS[lang][`error.${c}`]) missing.push(`${lang} error.${c}`);
      // A meter given twice in one submission reads differently from a record that already exists.
      if (!mod.ERROR_TEXTS[lang]['error.duplicate_reading']) missing.push(`${lang} error.duplicate_reading`);
    }
    expect(missing).toEqual([]);
  });

  it('both languages have the same keys and the same placeholders, none empty', () => {
    const { ru, en } = mod.ERROR_TEXTS;
    expect(Object.keys(ru).sort()).toEqual(Object.keys(en).sort());
    for (const k of Object.keys(ru)) {
      expect(ru[k], k).not.toBe('');
      expect(placeholders(ru[k]), k).toEqual(placeholders(en[k]));
    }
  });

  it('words a refusal from its params in each language: numbers, dates and units localized, the meter by its serial', () => {
    for (const lang of ['ru', 'en'] as const) {
      const dict = mod.ERROR_TEXTS[lang];
      const i18n: I18n = {
        has: (k) => k in dict,
        locale: () => (lang === 'ru' ? 'ru-RU' : 'en-GB'),
        t: (k, p = {}) => dict[k].replace(/\{(\w+)\}/g, (_, n: string) => (n in p ? String(p[n]) : `{${n}}`)),
      };
      const below = { code: 'below_previous', params: { serial: 'SN-5', value: 1, previous: 317.92, zone: 2, unit: 'kwh' }, message: 'meter SN-5: …' };
      const closed = { code: 'window_closed', params: { serial: 'SN-5', start_day: 15, end_day: 25, last_start: '2026-11-15', last_end: '2026-11-25', opens_on: '2026-12-15' } };
      const high = { code: 'high_consumption', params: { serial: 'SN-5', consumption: 1234.5, factor: 3, average: 9.98, unit: 'm3' } };
      if (lang === 'ru') {
        expect(mod.detailText(below, i18n, { withMeter: true })).toBe('Счётчик № SN-5, ночь: Показание 1 меньше предыдущего (317,92)');
        expect(mod.detailText(closed, i18n)).toBe('Приём показаний закрыт: был с 15.11.2026 по 25.11.2026, следующий откроется 15.12.2026');
        expect(mod.detailText(high, i18n)?.replace(/\u00a0/g, ' ')).toBe('Расход 1 234,5 м³ более чем в 3 раза превышает средний за 3 месяца (9,98 м³ в месяц)');
      } else {
        expect(mod.detailText(below, i18n, { withMeter: true })).toBe('Meter No. SN-5, night: Reading 1 is less than the previous one (317.92)');
        expect(mod.detailText(closed, i18n)).toBe('Submission is closed: it was open 15/11/2026 – 25/11/2026, next opens 15/12/2026');
        expect(mod.detailText(high, i18n)).toBe('Consumption 1,234.5 m³ is more than 3× the 3-month average (9.98 m³ a month)');
      }
      // No code, or one the catalogue does not know: null, so the page falls back to the server's words.
      expect(mod.detailText({ message: 'x' }, i18n)).toBeNull();
      expect(mod.detailText({ code: 'brand_new', message: 'x' }, i18n)).toBeNull();
    }
  });
});
