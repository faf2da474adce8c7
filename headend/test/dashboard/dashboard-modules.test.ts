/**
 * The dashboard's pure browser modules run under Node too: dictionaries complete in both languages
 * (every status, reason code, resource the API can return), language choice, and the series the
 * charts draw (daily consumption from day-end registers, heat-carrier parameters, months of a range).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { REASON_CODES } from '../../src/vee/types.js';

// Plain JS served as-is to the browser; imported by a computed specifier so the test tsconfig
// (no allowJs) does not try to type them.
const dir = '../../dashboard/';

/** What this test calls of dashboard/i18n.js. */
interface I18nModule {
  DICTIONARIES: Record<string, Record<string, string>>;
  setLanguage(lang: string, opts: { persist: boolean }): void;
  t(key: string, vars?: Record<string, string>): string;
  tc(group: string, code: string): string;
  initialLanguage(stored: string | null, browser: string | undefined): string;
}
/** A month of the imbalance reports as dashboard/format.js lays them out for the chart. */
interface MonthRow { period: string; building_consumption: number | null; apartments_consumption: number | null; imbalance_pct: number | null; status: string | null }
/** What this test calls of dashboard/format.js. */
interface FormatModule {
  fmtPct(v: number | null): string;
  fmtNumber(v: number): string;
  monthsBetween(from: string, to: string): string[];
  shiftMonth(period: string, n: number): string;
  previousMonth(now: Date): string;
  monthRange(from: string, to: string): { from: string; to: string };
  dailyConsumption(buckets: { bucket: string; last_value: number | null }[]): { day: string; value: number }[];
  heatParameters(buckets: { bucket: string; quantity: string; avg_value: number }[]): unknown[];
  imbalanceByMonth(reports: (MonthRow & { resource: string })[], resource: string, from: string, to: string): MonthRow[];
  fmtMonthLong(period: string): string;
  dayStart(ymd: string, timeZone: string): string;
  localDay(iso: string, timeZone: string): string;
  rangePreset(name: string, today: string): { from: string; to: string };
  readingConsumption(readings: { time: string; value: number | null }[], previous: { value: number } | null): { time: string; value: number; consumption: number | null }[];
  consumptionSeries(rows: { time: string; consumption: number | null }[], from: string, to: string, timeZone: string): { by: string; keys: string[]; values: (number | null)[] } | null;
}
/** What this test calls of dashboard/ui/units.js. */
interface UnitsModule {
  unitLabel(unit: string | null, lang?: string): string;
  fmtQty(value: number | null, unit: string, digits?: number): string;
  quantityUnit(quantity: string): string | null;
}
let i18n: I18nModule;
let fmt: FormatModule;
let units: UnitsModule;
beforeAll(async () => {
  units = await import(/* @vite-ignore */ `${dir}ui/units.js`) as UnitsModule;
  i18n = await import(/* @vite-ignore */ `${dir}i18n.js`) as I18nModule;
  fmt = await import(/* @vite-ignore */ `${dir}format.js`) as FormatModule;
});

describe('dictionaries', () => {
  it('RU and EN have the same keys, none empty', () => {
    const { ru, en } = i18n.DICTIONARIES;
    expect(Object.keys(ru).sort()).toEqual(Object.keys(en).sort());
    for (const d of [ru, en]) for (const [k, v] of Object.entries(d)) expect(v, k).not.toBe('');
  });

  it('every code the API returns is translated in both languages', () => {
    const codes = [
      ...['ok', 'high_loss', 'negative_imbalance', 'insufficient_data', 'not_applicable'].map((c) => `status.${c}`),
      ...REASON_CODES.map((c) => `reason.${c}`),
      ...['heat', 'hot_water', 'cold_water', 'electricity', 'wastewater', 'gas'].map((c) => `resource.${c}`),
      ...['valid', 'suspect', 'invalid'].map((c) => `verdict.${c}`),
      ...['apartment', 'non_residential', 'building', 'common_area'].map((c) => `placement.${c}`),
      ...['telemetry', 'resident', 'staff', 'import', 'estimate'].map((c) => `source.${c}`),
      ...['imbalance', 'meter_silent', 'gateway_silent', 'policy_job', 'access_code_key', 'heat_delivery_failed', 'heat_mail_failed', 'heat_statement_outdated'].map((c) => `alertKind.${c}`),
      ...['info', 'warning', 'critical'].map((c) => `severity.${c}`),
      'decision.accept', 'decision.reject',
    ];
    for (const lang of ['ru', 'en']) for (const k of codes) expect(i18n.DICTIONARIES[lang], `${lang} ${k}`).toHaveProperty([k]);
  });

  it('translates codes and fills placeholders; unknown codes are shown as they are', () => {
    i18n.setLanguage('ru', { persist: false });
    expect(i18n.tc('status', 'high_loss')).toBe('большие потери');
    // A resource billed by area has no imbalance: said in words, not as a percentage.
    expect(i18n.tc('status', 'not_applicable')).toBe('не применимо');
    expect(i18n.tc('reason', 'register_decreased')).toBe('показание уменьшилось');
    expect(i18n.t('buildings.imbalance', { resource: 'ХВС' })).toBe('Небаланс ХВС');
    expect(i18n.tc('reason', 'brand_new_rule')).toBe('brand_new_rule');
    i18n.setLanguage('en', { persist: false });
    expect(i18n.tc('resource', 'hot_water')).toBe('hot water');
    expect(i18n.tc('status', 'not_applicable')).toBe('not applicable');
    expect(() => i18n.setLanguage('de', { persist: false })).toThrow(/unknown language "de"/);
  });

  it('language: remembered choice, else the browser language (ru/uk/be → Russian), else English', () => {
    expect(i18n.initialLanguage('en', 'ru-RU')).toBe('en');
    expect(i18n.initialLanguage(null, 'ru-RU')).toBe('ru');
    expect(i18n.initialLanguage(null, 'uk')).toBe('ru');
    expect(i18n.initialLanguage('xx', 'de-DE')).toBe('en');
    expect(i18n.initialLanguage(null, undefined)).toBe('en');
  });
});

describe('formatting and chart series', () => {
  it('percentages with one decimal in the current locale; missing values are a dash', () => {
    i18n.setLanguage('ru', { persist: false });
    expect(fmt.fmtPct(12)).toBe('12,0 %');
    expect(fmt.fmtNumber(1000)).toBe('1\u00a0000');
    expect(fmt.fmtPct(null)).toBe('—');
    i18n.setLanguage('en', { persist: false });
    expect(fmt.fmtPct(-2.345)).toBe('-2.3 %');
  });

  it('months of a range, across a year end', () => {
    expect(fmt.monthsBetween('2024-11', '2025-02')).toEqual(['2024-11', '2024-12', '2025-01', '2025-02']);
    expect(fmt.monthsBetween('2025-03', '2025-02')).toEqual([]);
    expect(fmt.shiftMonth('2025-01', -1)).toBe('2024-12');
    expect(fmt.previousMonth(new Date('2025-01-15T00:00:00Z'))).toBe('2024-12');
    expect(fmt.monthRange('2024-12', '2025-02')).toEqual({ from: '2024-12-01T00:00:00Z', to: '2025-03-01T00:00:00Z' });
  });

  it('daily consumption: differences of day-end registers; a gap day gets everything since the last bucket; a drop stays visible', () => {
    const b = (day: string, v: number | null) => ({ bucket: `${day}T00:00:00.000Z`, last_value: v });
    expect(fmt.dailyConsumption([b('2025-01-03', 112), b('2025-01-01', 100), b('2025-01-02', 105), b('2025-01-05', null), b('2025-01-06', 110)]))
      .toEqual([{ day: '2025-01-02', value: 5 }, { day: '2025-01-03', value: 7 }, { day: '2025-01-06', value: -2 }]);
    expect(fmt.dailyConsumption([])).toEqual([]);
  });

  it('heat parameters per hour: ΔT = flow − return, power in kW, other quantities ignored', () => {
    const at = '2025-02-27T00:00:00.000Z';
    const rows = fmt.heatParameters([
      { bucket: at, quantity: 'flow_temp_c', avg_value: 90 }, { bucket: at, quantity: 'return_temp_c', avg_value: 62.5 },
      { bucket: at, quantity: 'power_w', avg_value: 140000 }, { bucket: at, quantity: 'energy_kwh', avg_value: 5000 },
      { bucket: '2025-02-27T01:00:00.000Z', quantity: 'volume_flow_m3h', avg_value: 4 },
    ]);
    expect(rows).toEqual([
      { time: at, flow: 90, ret: 62.5, volumeFlow: null, powerKw: 140, deltaT: 27.5 },
      { time: '2025-02-27T01:00:00.000Z', flow: null, ret: null, volumeFlow: 4, powerKw: null, deltaT: null },
    ]);
  });

  it('imbalance by month: one row per month of the range for the resource, nulls where no report', () => {
    const rows = fmt.imbalanceByMonth([
      { resource: 'heat', period: '2025-01', building_consumption: 1000, apartments_consumption: 880, imbalance_pct: 12, status: 'high_loss' },
      { resource: 'cold_water', period: '2025-01', building_consumption: 10, apartments_consumption: 9, imbalance_pct: 10, status: 'ok' },
    ], 'heat', '2024-12', '2025-01');
    expect(rows.map((r) => [r.period, r.building_consumption, r.apartments_consumption, r.imbalance_pct, r.status]))
      .toEqual([['2024-12', null, null, null, null], ['2025-01', 1000, 880, 12, 'high_loss']]);
  });
});

describe('units, month names and the meter page\'s range', () => {
  it('units in the user\'s language from the API\'s spellings; a value with its unit; no value is a dash', () => {
    i18n.setLanguage('ru', { persist: false });
    expect(['kWh', 'm3', 'm³', 'Gcal', 'W', 'm3/h', '°C'].map((u) => units.unitLabel(u))).toEqual(['кВт·ч', 'м³', 'м³', 'Гкал', 'Вт', 'м³/ч', '°C']);
    expect(units.fmtQty(1000, 'kWh')).toBe('1\u00a0000 кВт·ч');
    expect(units.fmtQty(null, 'kWh')).toBe('—');
    expect(units.quantityUnit('energy_t2_kwh')).toBe('kWh');
    expect(units.quantityUnit('volume_m3')).toBe('m3');
    i18n.setLanguage('en', { persist: false });
    expect(['kWh', 'm3', 'Gcal', 'kW'].map((u) => units.unitLabel(u))).toEqual(['kWh', 'm³', 'Gcal', 'kW']);
    expect(units.fmtQty(12.5, 'm3')).toBe('12.5 m³');
    expect(units.unitLabel('bar')).toBe('bar');
  });

  it('months by their own name: «ноябрь 2026» / "November 2026", no "г."', () => {
    i18n.setLanguage('ru', { persist: false });
    expect(fmt.fmtMonthLong('2026-11')).toBe('ноябрь 2026');
    expect(fmt.fmtMonthLong('2025-01')).toBe('январь 2025');
    i18n.setLanguage('en', { persist: false });
    expect(fmt.fmtMonthLong('2026-11')).toBe('November 2026');
  });

  it('a building\'s day starts at its own midnight, daylight saving included', () => {
    expect(fmt.dayStart('2025-01-01', 'Europe/Moscow')).toBe('2024-12-31T21:00:00.000Z');
    expect(fmt.dayStart('2025-03-30', 'Europe/Berlin')).toBe('2025-03-29T23:00:00.000Z');
    expect(fmt.dayStart('2025-03-31', 'Europe/Berlin')).toBe('2025-03-30T22:00:00.000Z');
    expect(fmt.localDay('2025-01-14T21:00:00Z', 'Europe/Moscow')).toBe('2025-01-15');
    expect(fmt.localDay('2025-01-14T21:00:00Z', 'UTC')).toBe('2025-01-14');
  });

  it('range presets counted from the building\'s today', () => {
    expect(fmt.rangePreset('this_month', '2026-12-06')).toEqual({ from: '2026-12-01', to: '2026-12-06' });
    expect(fmt.rangePreset('last_month', '2026-03-31')).toEqual({ from: '2026-02-01', to: '2026-02-28' });
    expect(fmt.rangePreset('last_month', '2026-01-15')).toEqual({ from: '2025-12-01', to: '2025-12-31' });
    expect(fmt.rangePreset('year', '2026-12-06')).toEqual({ from: '2025-12-07', to: '2026-12-06' });
    expect(() => fmt.rangePreset('week', '2026-12-06')).toThrow(/unknown range preset "week"/);
  });

  it('consumption of each reading since the one before (the one before the range for the first); a drop stays negative', () => {
    const rows = fmt.readingConsumption([{ time: '2025-01-20T00:00:00Z', value: 190 }, { time: '2025-01-15T00:00:00Z', value: 212 }], { value: 205 });
    expect(rows.map((r) => r.consumption)).toEqual([7, -22]);
    expect(fmt.readingConsumption([{ time: '2025-01-15T00:00:00Z', value: 212 }], null)[0].consumption).toBeNull();
  });

  it('chart series: per day (building zone) up to two months, per month beyond; gaps are null; nothing at all is null, not zeros', () => {
    const rows = [{ time: '2025-01-14T22:00:00Z', consumption: 7 }, { time: '2025-01-20T00:00:00Z', consumption: -22 }, { time: '2025-01-20T05:00:00Z', consumption: 2 }];
    const days = fmt.consumptionSeries(rows, '2025-01-14', '2025-01-20', 'Europe/Moscow')!;
    expect(days.by).toBe('day');
    expect(days.keys).toEqual(['2025-01-14', '2025-01-15', '2025-01-16', '2025-01-17', '2025-01-18', '2025-01-19', '2025-01-20']);
    // 22:00 UTC on the 14th is 01:00 on the 15th in Moscow.
    expect(days.values).toEqual([null, 7, null, null, null, null, -20]);
    const months = fmt.consumptionSeries(rows, '2024-12-01', '2025-02-28', 'Europe/Moscow')!;
    expect([months.by, months.keys, months.values]).toEqual(['month', ['2024-12', '2025-01', '2025-02'], [null, -13, null]]);
    expect(fmt.consumptionSeries([{ time: '2025-01-15T00:00:00Z', consumption: null }], '2025-01-01', '2025-01-31', 'Europe/Moscow')).toBeNull();
    expect(fmt.consumptionSeries([], '2025-03-01', '2025-03-31', 'Europe/Moscow')).toBeNull();
  });
});
