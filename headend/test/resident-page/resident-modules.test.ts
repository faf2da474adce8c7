/**
 * The residents' page's pure browser modules under Node: both dictionaries complete (same keys, same
 * placeholders, every resource), the widget line in both languages with Russian plurals, reading what
 * a resident typed, and every refusal and warning the one write path (src/readings/judge.ts, write.ts,
 * the real ones) can give a resident worded from its code and params by the one catalogue
 * (web-shared/errors.js) rather than left in the API's English, zones included, and a zone meter's fields: one per zone, each refusal back on the zone it
 * was sent for.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../../src/collection/rules.js';
import { judgeReading, type JudgeContext, type Judgement, type MeterForWrite, type NeighbourFacts } from '../../src/readings/judge.js';
import { quantityOf } from '../../src/readings/write.js';
import type { MeterRowForWrite } from '../../src/readings/write-store.js';

// Plain JS served as-is to the browser; imported by a computed specifier so the test tsconfig (no allowJs) does not type them.
const dir = '../../resident/';

/** What this test calls of resident/i18n.js. */
interface I18nModule {
  DICTIONARIES: Record<string, Record<string, string>>;
  setLanguage(lang: string, opts: { persist: boolean }): void;
  t(key: string, vars?: Record<string, string>): string;
  initialLanguage(stored: string | null, browser: string | undefined): string;
}
/** What the resident typed in one field: nothing, a value, or the dictionary key of why not. */
type Parsed = { value: number } | { error: string } | null;
/** A detail of a refusal as the API gives it, and a reading as it was sent. */
interface Detail { path?: string; message: string; code?: string; params?: Record<string, unknown> }
interface Sent { meter_id: number; value: number; zone?: number }
/** What this test calls of resident/format.js (and, through it, web-shared/entry-fields.js). */
interface FormatModule {
  widgetText(summary: { state: string; submitted: number; total: number; due?: string; opens_on?: string | null; opens_in_days?: number | null }): string;
  parseReading(text: string, integerOnly: boolean): Parsed;
  explain(detail: Detail | string): string;
  messagesByMeter(details: Detail[], sent: Sent[]): Map<number, string[]>;
  messagesByField(details: Detail[], sent: Sent[]): Map<string, string[]>;
  zonesOf(meter: { zones?: number }): number[];
  fieldKey(meterId: number, zone?: number | null): string;
  meterItems(meter: { id: number; zones?: number }, read: (zone: number | null) => Parsed, missingZone: string): { items: Sent[]; errors: [string, string][] };
  readInvite(href: string): { account: string; code: string; cleanUrl: string } | null;
  fmtDay(day: string): string;
  fmtMonth(period: string): string;
  retryMinutes(retryAfter: string | null): number;
}
let i18n: I18nModule;
let fmt: FormatModule;
beforeAll(async () => {
  i18n = await import(/* @vite-ignore */ `${dir}i18n.js`) as I18nModule;
  fmt = await import(/* @vite-ignore */ `${dir}format.js`) as FormatModule;
});

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('dictionaries', () => {
  it('RU and EN have the same keys and the same placeholders, none empty', () => {
    const { ru, en } = i18n.DICTIONARIES;
    expect(Object.keys(ru).sort()).toEqual(Object.keys(en).sort());
    for (const k of Object.keys(ru)) {
      expect(ru[k], `ru ${k}`).not.toBe('');
      expect(en[k], `en ${k}`).not.toBe('');
      expect(placeholders(ru[k]), k).toEqual(placeholders(en[k]));
    }
  });

  it('every resource, unit and plural form is there in both languages', () => {
    const keys = [
      ...['heat', 'hot_water', 'cold_water', 'wastewater', 'electricity', 'gas'].map((r) => `resource.${r}`),
      'unit.m3', 'unit.kwh',
      ...['one', 'few', 'many', 'other'].flatMap((f) => [`widget.meter.${f}`, `widget.day.${f}`]),
    ];
    for (const lang of ['ru', 'en']) for (const k of keys) expect(i18n.DICTIONARIES[lang], `${lang} ${k}`).toHaveProperty([k]);
  });

  it('language: remembered choice, else the browser language (ru/uk/be → Russian), else English', () => {
    expect(i18n.initialLanguage('en', 'ru-RU')).toBe('en');
    expect(i18n.initialLanguage(null, 'ru-RU')).toBe('ru');
    expect(i18n.initialLanguage(null, 'be-BY')).toBe('ru');
    expect(i18n.initialLanguage('de', 'de-DE')).toBe('en');
    expect(() => i18n.setLanguage('de', { persist: false })).toThrow(/unknown language "de"/);
  });
});

describe('widget', () => {
  it('open, done, closed and nothing collected — Russian with plurals', () => {
    i18n.setLanguage('ru', { persist: false });
    expect(fmt.widgetText({ state: 'open', submitted: 1, total: 2, due: '2026-11-25' })).toBe('1 из 2 счётчиков, до 25.11.2026');
    expect(fmt.widgetText({ state: 'open', submitted: 0, total: 1, due: '2026-11-25' })).toBe('0 из 1 счётчика, до 25.11.2026');
    expect(fmt.widgetText({ state: 'open', submitted: 2, total: 2, due: '2026-11-25' })).toBe('Показания переданы (2 из 2)');
    expect(fmt.widgetText({ state: 'closed', submitted: 0, total: 2, opens_on: '2026-12-15', opens_in_days: 5 })).toBe('Приём откроется через 5 дней (15.12.2026)');
    expect(fmt.widgetText({ state: 'closed', submitted: 0, total: 2, opens_on: '2026-12-11', opens_in_days: 1 })).toBe('Приём откроется через 1 день (11.12.2026)');
    expect(fmt.widgetText({ state: 'closed', submitted: 0, total: 2, opens_on: '2026-12-13', opens_in_days: 3 })).toBe('Приём откроется через 3 дня (13.12.2026)');
    expect(fmt.widgetText({ state: 'closed', submitted: 0, total: 0, opens_on: null, opens_in_days: null })).toBe('Приём показаний сейчас не ведётся');
  });

  it('English', () => {
    i18n.setLanguage('en', { persist: false });
    expect(fmt.widgetText({ state: 'open', submitted: 1, total: 2, due: '2026-11-25' })).toBe('1 of 2 meters submitted, due by 25/11/2026');
    expect(fmt.widgetText({ state: 'closed', submitted: 0, total: 2, opens_on: '2026-12-11', opens_in_days: 1 })).toBe('Submission opens in 1 day (11/12/2026)');
  });
});

describe('reading what was typed', () => {
  it('comma or point, spaces ignored; empty skips the meter; refusals name the reason', () => {
    expect(fmt.parseReading('', false)).toBeNull();
    expect(fmt.parseReading('  ', true)).toBeNull();
    expect(fmt.parseReading('123,45', false)).toEqual({ value: 123.45 });
    expect(fmt.parseReading('1 234.5', false)).toEqual({ value: 1234.5 });
    expect(fmt.parseReading('00150', true)).toEqual({ value: 150 });
    expect(fmt.parseReading('150,5', true)).toEqual({ error: 'err.integerOnly' });
    expect(fmt.parseReading('-3', false)).toEqual({ error: 'err.negative' });
    expect(fmt.parseReading('12abc', false)).toEqual({ error: 'err.notNumber' });
    expect(fmt.parseReading('1,2,3', false)).toEqual({ error: 'err.notNumber' });
    expect(fmt.parseReading('1e5', false)).toEqual({ error: 'err.notNumber' });
  });
});

/** A judgement as write.ts puts it in the error's details: its code, its params with the register's unit, the English sentence. */
const detailOf = (j: Judgement, unit: string): Detail => (j.ok
  ? { code: j.warnings[0].code, params: { ...j.warnings[0].params, unit }, message: j.warnings[0].message }
  : { code: j.code, params: { ...j.params, unit }, message: j.reason });

describe('refusals from the real judge of entered readings, worded from their codes', () => {
  // Cold water, digits unknown; the October reading 100 (1 Oct), August's 80 (1 Aug): 20 m³ over 61 days
  // = 2.004 months, 9.98 m³ a month. The window 1–31 is open on 20 Nov; the entry is dated 1 Nov.
  const meter = (over: Partial<MeterForWrite> = {}): MeterForWrite => ({
    id: 42, serial: 'SN-42', resource: 'cold_water', placement: 'apartment', status: 'active', zones: 1, registerDigits: null,
    installedOn: null, decommissionedOn: null, nextVerificationOn: null, timezone: 'Europe/Moscow', ...over,
  });
  const facts = (over: Partial<NeighbourFacts> = {}): NeighbourFacts => ({
    previous: { time: new Date('2026-10-01T00:00:00Z'), value: 100 }, next: null,
    earliestInThreeMonths: { time: new Date('2026-08-01T00:00:00Z'), value: 80 },
    atInstant: null, staffAtInstant: null, replacementAtInstant: null, plausibleMonthly: 24, ...over,
  });
  const ctx = (over: Partial<JudgeContext> = {}): JudgeContext => ({
    source: 'resident', rights: { write: true, outsideWindow: false, correct: false }, now: new Date('2026-11-20T09:00:00Z'),
    settings: { ...DEFAULT_SETTINGS, window_start_day: 1, window_end_day: 31 }, confirmed: false, ...over,
  });
  const at = new Date('2026-11-01T00:00:00Z');
  const reason = (value: number, f = facts(), c = ctx(), m = meter(), inWindow = true) => detailOf(judgeReading({ value }, m, f, c, at, inWindow), 'm3');

  const cases: [string, Detail, string, string][] = [];
  beforeAll(() => {
    cases.push(
      ['below previous', reason(95), 'Показание 95 меньше предыдущего (100)', 'Reading 95 is less than the previous one (100)'],
      ['integer only', reason(105.5, facts(), ctx({ settings: { ...ctx().settings, integer_only: true } })), 'Для этого счётчика принимаются только целые числа', 'Only whole numbers are accepted for this meter'],
      // A window 15–18 is closed on 20 Nov: the last one 15–18 Nov, the next opens 15 Dec.
      ['window closed', reason(105, facts(), ctx({ settings: { ...ctx().settings, window_start_day: 15, window_end_day: 18 } }), meter(), false),
        'Приём показаний закрыт: был с 15.11.2026 по 18.11.2026, следующий откроется 15.12.2026', 'Submission is closed: it was open 15/11/2026 – 18/11/2026, next opens 15/12/2026'],
      ['verification expired', reason(105, facts(), ctx(), meter({ nextVerificationOn: '2020-01-01' })),
        'Срок поверки истёк 01.01.2020: показания этого счётчика не принимаются, обратитесь в управляющую компанию', 'Verification expired on 01/01/2020: readings of this meter are not accepted, contact your managing company'],
      ['disabled', reason(105, facts(), ctx({ settings: { ...ctx().settings, enabled: false } })), 'Показания по этому ресурсу в доме не принимаются', 'Readings of this resource are not collected in this building'],
      ['taken by staff', reason(107, facts({ staffAtInstant: { value: 106.5 } })), 'Показание за этот период уже снято управляющей компанией (106,5). Если не согласны, обратитесь в управляющую компанию',
        'This period\'s reading was already taken by your managing company (106.5). To dispute it, contact them'],
      // 150 − 100 = 50 in 31 days (a month at least): more than 3 × 9.98.
      ['high consumption', reason(150),
        'Расход 50 м³ более чем в 3 раза превышает средний за 3 месяца (9,98 м³ в месяц)', 'Consumption 50 m³ is more than 3× the 3-month average (9.98 m³ a month)'],
    );
  });

  it('each in Russian and English; the sentence names the meter by its serial, never its id', () => {
    for (const [what, detail, ru, en] of cases) {
      expect(detail.message, what).toMatch(/^meter SN-42: /);
      expect(detail.message, what).not.toMatch(/\b42\b(?!:)/);
      i18n.setLanguage('ru', { persist: false });
      expect(fmt.explain(detail), what).toBe(ru);
      i18n.setLanguage('en', { persist: false });
      expect(fmt.explain(detail), what).toBe(en);
    }
    // A code the catalogue does not know (a newer server): the server's words without the meter's name.
    expect(fmt.explain({ code: 'something_new', message: 'meter SN-42: something new' })).toBe('something new');
    expect(fmt.explain('meter 42: something new')).toBe('something new');
  });

  it('details go to the meter the path points at (index into what was sent), else the meter the message names', () => {
    i18n.setLanguage('en', { persist: false });
    const sent = [{ meter_id: 7, value: 1 }, { meter_id: 42, value: 95 }];
    const byMeter = fmt.messagesByMeter([
      { path: 'readings.1', message: 'meter SN-42: 95 is less than the previous reading 100', code: 'below_previous', params: { serial: 'SN-42', value: 95, previous: 100, unit: 'm3' } },
      { message: 'meter 7: given twice' },
      { path: 'body.readings', message: 'no meter here' },
      { path: 'body.readings.0.value', message: 'Invalid input: expected number', code: 'invalid_type', params: { expected: 'number' } },
    ], sent);
    expect([...byMeter]).toEqual([[42, ['Reading 95 is less than the previous one (100)']], [7, ['given twice', 'Wrong type of value']]]);
  });
});

describe('the one write path\'s messages (src/readings), worded from their codes', () => {
  const meter = (over: Partial<MeterForWrite> = {}): MeterForWrite => ({
    id: 42, serial: 'SN-42', resource: 'electricity', placement: 'apartment', status: 'active', zones: 2, registerDigits: null,
    installedOn: null, decommissionedOn: null, nextVerificationOn: null, timezone: 'Europe/Moscow', ...over,
  });
  const facts = (over: Partial<NeighbourFacts> = {}): NeighbourFacts => ({
    previous: { time: new Date('2026-09-30T21:00:00Z'), value: 500 }, next: null,
    earliestInThreeMonths: { time: new Date('2026-07-31T21:00:00Z'), value: 400 },
    atInstant: null, staffAtInstant: null, replacementAtInstant: null, plausibleMonthly: 300, ...over,
  });
  const ctx: JudgeContext = {
    source: 'resident', rights: { write: true, outsideWindow: false, correct: false }, now: new Date('2026-11-20T09:00:00Z'),
    settings: { ...DEFAULT_SETTINGS, window_start_day: 1, window_end_day: 31 }, confirmed: false,
  };
  const at = new Date('2026-10-31T21:00:00Z'); // 1 November, Moscow: the window's reading of November
  const said = (value: number, m = meter(), f = facts()) => detailOf(judgeReading({ value }, m, f, ctx, at, true), 'kwh');
  const row = (zones: number) => ({ ...meter({ zones }), buildingId: 1, premiseId: 1, orgId: 1, resource: 'electricity' }) as MeterRowForWrite;
  const zoneError = (zones: number, zone?: number): Detail => {
    const q = quantityOf(row(zones), { meterId: 42, value: 1, zone });
    return 'error' in q ? { code: q.code, params: q.params, message: q.error } : { message: '' };
  };

  const cases: [string, () => Detail, string, string][] = [
    // 450 < 500 and no register digits: a decrease, refused (the message carries the date and why it is no rollover).
    ['below previous, with its date', () => said(450), 'Показание 450 меньше предыдущего (500)', 'Reading 450 is less than the previous one (500)'],
    // 5 digits wrap at 100 000: 100 000 − 99 990 + 15 = 25, small against the register: a rollover to confirm.
    ['rollover', () => said(15, meter({ registerDigits: 5 }), facts({ previous: { time: new Date('2026-09-30T21:00:00Z'), value: 99990 }, earliestInThreeMonths: null })),
      'Показание 15 меньше предыдущего (99 990): если счётчик прошёл через ноль, расход 25 кВт·ч', 'Reading 15 is below the previous one (99,990): if the meter went past zero, consumption is 25 kWh'],
    // 99 790 → 99 990 over Aug–Oct (61 days = 2.004 months) is about 99.8 kWh a month; 2 000 would wrap by
    // 100 000 − 99 990 + 2 000 = 2 010: within a tenth of the register, but far above 10 × the usual: refused, with why.
    ['no plausible rollover, with why', () => said(2000, meter({ registerDigits: 5 }), facts({ previous: { time: new Date('2026-09-30T21:00:00Z'), value: 99990 }, earliestInThreeMonths: { time: new Date('2026-07-31T21:00:00Z'), value: 99790 } })),
      'Показание 2 000 меньше предыдущего (99 990)', 'Reading 2,000 is less than the previous one (99,990)'],
    // No previous reading, installation not recorded: a service life of 180 months, 300 × 180 × 3 = 162 000 is the most that is plausible.
    ['first reading', () => said(200000, meter(), facts({ previous: null, earliestInThreeMonths: null })),
      'Первое показание 200 000 кВт·ч больше, чем могло набежать с установки (около 162 000 кВт·ч)', 'First reading 200,000 kWh is more than could have been used since installation (about 162,000 kWh)'],
    ['register digits', () => said(123456, meter({ registerDigits: 5 })), 'Число 123 456 не помещается в 5 разрядов счётчика, проверьте показание', '123,456 does not fit the meter\'s 5 digits; check the reading'],
    ['zone meter without a zone', () => zoneError(2), 'Счётчик многотарифный: введите показание каждой зоны (день, ночь) отдельно', 'This is a multi-rate meter: enter the reading of each zone (day, night) separately'],
  ];

  it('each in Russian and English (with the unit of electricity)', () => {
    for (const [what, detail, ru, en] of cases) {
      const d = detail();
      expect(d.message, what).toMatch(/^meter SN-42: /);
      i18n.setLanguage('ru', { persist: false });
      expect(fmt.explain(d).replace(/\u00a0/g, ' '), what).toBe(ru);
      i18n.setLanguage('en', { persist: false });
      expect(fmt.explain(d), what).toBe(en);
    }
  });
});

describe('zone meters: fields and where the API\'s answer lands', () => {
  it('one field per zone (at most three), none for a single register', () => {
    expect(fmt.zonesOf({ zones: 1 })).toEqual([]);
    expect(fmt.zonesOf({})).toEqual([]);
    expect(fmt.zonesOf({ zones: 2 })).toEqual([1, 2]);
    expect(fmt.zonesOf({ zones: 3 })).toEqual([1, 2, 3]);
    expect(fmt.zonesOf({ zones: 4 })).toEqual([1, 2, 3]); // the API takes zones 1–3
    expect([fmt.fieldKey(12), fmt.fieldKey(12, null), fmt.fieldKey(12, 2)]).toEqual(['12', '12', '12-2']);
  });

  it('all zones or none: a zone left empty beside a filled one is named; nothing typed sends nothing; the staff entry view uses the same piece', async () => {
    const zones = { id: 42, zones: 2 };
    const typed = (values: Record<string, string>) => (z: number | null) => fmt.parseReading(values[String(z)] ?? '', false);
    // Day 1234,5 typed, night empty: nothing of the meter is sent, the night field says why.
    expect(fmt.meterItems(zones, typed({ 1: '1234,5' }), 'err.zoneMissing')).toEqual({ items: [], errors: [['42-2', 'err.zoneMissing']] });
    // Both: one item per zone, 1234,5 read as 1234.5.
    expect(fmt.meterItems(zones, typed({ 1: '1234,5', 2: '450' }), 'err.zoneMissing')).toEqual({
      items: [{ meter_id: 42, value: 1234.5, zone: 1 }, { meter_id: 42, value: 450, zone: 2 }], errors: [] });
    // Neither: the meter is simply not submitted this time.
    expect(fmt.meterItems(zones, typed({}), 'err.zoneMissing')).toEqual({ items: [], errors: [] });
    // Night "-3": its own error, not "missing"; a single register: one item without a zone, or its error.
    expect(fmt.meterItems(zones, typed({ 1: '5', 2: '-3' }), 'err.zoneMissing')).toEqual({ items: [], errors: [['42-2', 'err.negative']] });
    expect(fmt.meterItems({ id: 7 }, typed({ null: '12' }), 'err.zoneMissing')).toEqual({ items: [{ meter_id: 7, value: 12 }], errors: [] });
    expect(fmt.meterItems({ id: 7 }, typed({ null: 'abc' }), 'err.zoneMissing')).toEqual({ items: [], errors: [['7', 'err.notNumber']] });
    const entry = await import(/* @vite-ignore */ `${'../../dashboard/screens/entry/'}fields.js`);
    expect(entry.zonesOf).toBe(fmt.zonesOf);
    expect(entry.fieldKey).toBe(fmt.fieldKey);
  });

  it('zone names in both languages', () => {
    i18n.setLanguage('ru', { persist: false });
    expect([1, 2, 3].map((z) => i18n.t(`zone.${z}`))).toEqual(['День', 'Ночь', 'Пик']);
    i18n.setLanguage('en', { persist: false });
    expect([1, 2, 3].map((z) => i18n.t(`zone.${z}`))).toEqual(['Day', 'Night', 'Peak']);
  });

  it('a refusal at readings.<i> goes to the zone item i was sent for; a meter-wide one to the meter; each warning its own line', () => {
    i18n.setLanguage('en', { persist: false });
    // Sent: cold water 7, then meter 42 day (index 1) and night (index 2).
    const sent = [{ meter_id: 7, value: 10 }, { meter_id: 42, value: 1234.5, zone: 1 }, { meter_id: 42, value: 450, zone: 2 }];
    const byField = fmt.messagesByField([
      { path: 'readings.2', message: 'meter E-42: 450 is less than the previous reading 500 of 2026-10-31', code: 'below_previous', params: { serial: 'E-42', value: 450, previous: 500, zone: 2, unit: 'kwh' } },
      { path: 'readings.0', message: 'meter C-7: given twice', code: 'duplicate', params: { serial: 'C-7', zone: null } },
      { message: 'meter 42: is failed' }, // an older server's answer: the meter its message names
      { path: 'readings.1', message: 'meter E-42: consumption 400 …', code: 'high_consumption', params: { serial: 'E-42', consumption: 400, factor: 3, average: 50, zone: 1, unit: 'kwh' } },
      { path: 'readings.1', message: 'meter E-42: 1234.5 is above the next reading 1200 …', code: 'rollover_next', params: { serial: 'E-42', value: 1234.5, next: 1200, zone: 1, unit: 'kwh' } },
    ], sent);
    expect([...byField]).toEqual([
      ['42-2', ['Reading 450 is less than the previous one (500)']],
      ['7', ['The meter is given twice']],
      ['42', ['is failed']],
      ['42-1', ['Consumption 400 kWh is more than 3× the 3-month average (50 kWh a month)', 'Reading 1,234.5 is above the next one (1,200): that would be the meter going past zero']],
    ]);
    // Per meter (zones merged), as before.
    expect(fmt.messagesByMeter([{ path: 'readings.2', message: 'meter E-42: given twice for zone 2', code: 'duplicate', params: { serial: 'E-42', zone: 2 } }], sent)).toEqual(new Map([[42, ['The meter is given twice']]]));
  });
});

describe('invite link and dates', () => {
  it('takes account and code out of the address, keeping the rest', () => {
    expect(fmt.readInvite('http://h/resident/?account=LS-1&code=ABCD2345XY')).toEqual({ account: 'LS-1', code: 'ABCD2345XY', cleanUrl: '/resident/' });
    expect(fmt.readInvite('http://h/resident/?code=X&lang=en&account=%D0%9B%D0%A1-7#/history')).toEqual({ account: 'ЛС-7', code: 'X', cleanUrl: '/resident/?lang=en#/history' });
    expect(fmt.readInvite('http://h/resident/#/history')).toBeNull();
  });

  it('a window day is that calendar day in any zone; Retry-After in whole minutes', () => {
    i18n.setLanguage('ru', { persist: false });
    expect(fmt.fmtDay('2026-01-01')).toBe('01.01.2026');
    expect(fmt.fmtMonth('2026-03')).toMatch(/^мар/);
    expect(fmt.retryMinutes('900')).toBe(15);
    expect(fmt.retryMinutes('61')).toBe(2);
    expect(fmt.retryMinutes(null)).toBe(1);
  });
});
