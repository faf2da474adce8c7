/**
 * Pure helpers: number/date formatting in the current locale, month arithmetic and the series the
 * charts draw. No DOM, no fetch — so what the charts show is decided here, in one readable place.
 */
import { locale, t } from './i18n.js';

const NONE = () => t('common.none');

export function fmtNumber(v, digits = 1) {
  if (v == null || !Number.isFinite(Number(v))) return NONE();
  return new Intl.NumberFormat(locale(), { minimumFractionDigits: 0, maximumFractionDigits: digits }).format(Number(v));
}

/** Imbalance percentages always with one decimal ("12.0 %", "12,0 %"). */
export function fmtPct(v) {
  if (v == null || !Number.isFinite(Number(v))) return NONE();
  return `${new Intl.NumberFormat(locale(), { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(Number(v))} %`;
}

export function fmtDateTime(iso, timeZone) {
  if (!iso) return NONE();
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return NONE();
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'short', timeStyle: 'short', ...(timeZone ? { timeZone } : {}) }).format(d);
}

export function monthOf(date) {
  return `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}`;
}

export function shiftMonth(period, n) {
  const [y, m] = period.split('-').map(Number);
  return monthOf(new Date(Date.UTC(y, m - 1 + n, 1)));
}

/** The month before the current one: the last month with a complete imbalance report. */
export const previousMonth = (now = new Date()) => shiftMonth(monthOf(now), -1);

/** Every month from `from` to `to`, inclusive. */
export function monthsBetween(from, to) {
  const out = [];
  for (let p = from; p <= to && out.length < 120; p = shiftMonth(p, 1)) out.push(p);
  return out;
}

/** [from month start, the month after `to`) as ISO instants (UTC). */
export function monthRange(from, to) {
  return { from: `${from}-01T00:00:00Z`, to: `${shiftMonth(to, 1)}-01T00:00:00Z` };
}

/**
 * Daily consumption of a cumulative register from day buckets (GET /meters/:id/readings?resolution=day):
 * the difference of consecutive `last_value`s, dated by the later day. A day after a gap gets the
 * consumption since the previous bucket; a negative difference (replacement, rollover) is shown as is
 * so the engineer sees it, not smoothed away.
 */
export function dailyConsumption(buckets) {
  const rows = [...buckets].filter((b) => b.last_value != null).sort((a, b) => a.bucket.localeCompare(b.bucket));
  const out = [];
  for (let i = 1; i < rows.length; i++) out.push({ day: rows[i].bucket.slice(0, 10), value: rows[i].last_value - rows[i - 1].last_value });
  return out;
}

/**
 * Heat-carrier parameters per hour from hourly buckets of flow_temp_c, return_temp_c, volume_flow_m3h
 * and power_w (averages over the hour); ΔT = flow − return; power in kW.
 */
export function heatParameters(buckets) {
  const byHour = new Map();
  for (const b of buckets) {
    const row = byHour.get(b.bucket) ?? { time: b.bucket, flow: null, ret: null, volumeFlow: null, powerKw: null };
    if (b.quantity === 'flow_temp_c') row.flow = b.avg_value;
    else if (b.quantity === 'return_temp_c') row.ret = b.avg_value;
    else if (b.quantity === 'volume_flow_m3h') row.volumeFlow = b.avg_value;
    else if (b.quantity === 'power_w') row.powerKw = b.avg_value == null ? null : b.avg_value / 1000;
    else continue;
    byHour.set(b.bucket, row);
  }
  return [...byHour.values()]
    .sort((a, b) => a.time.localeCompare(b.time))
    .map((r) => ({ ...r, deltaT: r.flow != null && r.ret != null ? r.flow - r.ret : null }));
}

/** Month rows for one resource, one per month of the range (a month without a report has nulls). */
export function imbalanceByMonth(reports, resource, from, to) {
  const byPeriod = new Map(reports.filter((r) => r.resource === resource).map((r) => [r.period, r]));
  return monthsBetween(from, to).map((period) => {
    const r = byPeriod.get(period);
    return {
      period,
      building_consumption: r?.building_consumption ?? null,
      apartments_consumption: r?.apartments_consumption ?? null,
      other_consumption: r?.other_consumption ?? null,
      imbalance: r?.imbalance ?? null,
      imbalance_pct: r?.imbalance_pct ?? null,
      coverage: r?.coverage ?? null,
      status: r?.status ?? null,
    };
  });
}

export const round = (v, digits = 3) => (v == null ? null : Math.round(v * 10 ** digits) / 10 ** digits);

/** "2026-11" → «ноябрь 2026» / "November 2026": the month's own name (nominative), no "г.". */
export function fmtMonthLong(period) {
  const [y, m] = period.split('-').map(Number);
  const parts = new Intl.DateTimeFormat(locale(), { month: 'long', year: 'numeric', timeZone: 'UTC' }).formatToParts(new Date(Date.UTC(y, m - 1, 1)));
  const part = (type) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('month')} ${part('year')}`;
}

/** "2025-01-15" → "15.01.2025" / "15/01/2025" (a calendar day, no time zone shift). */
export function fmtDay(ymd) {
  const [y, m, d] = ymd.split('-').map(Number);
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'short', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, d)));
}

const DAY = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
export const isDay = (s) => typeof s === 'string' && DAY.test(s);
export const isMonth = (s) => typeof s === 'string' && /^\d{4}-(0[1-9]|1[0-2])$/.test(s);

/** The calendar day ("YYYY-MM-DD") an instant falls on in a time zone. */
export function localDay(iso, timeZone) {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date(iso));
  const part = (type) => parts.find((p) => p.type === type).value;
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/** The current month ("YYYY-MM") in a time zone. */
export const localMonth = (now, timeZone) => localDay(now, timeZone).slice(0, 7);

export function addDays(ymd, n) {
  const [y, m, d] = ymd.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/**
 * The instant a calendar day starts in a time zone, as ISO: a building's day starts at its own midnight
 * (Moscow's 1 January starts at 31 December 21:00 UTC). The zone's offset is read at that moment, so
 * daylight-saving zones come out right too.
 */
export function dayStart(ymd, timeZone) {
  const [y, m, d] = ymd.split('-').map(Number);
  const guess = Date.UTC(y, m - 1, d);
  const offsetAt = (ms) => {
    const p = Object.fromEntries(new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
    return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second)) - ms;
  };
  const first = guess - offsetAt(guess);
  return new Date(guess - offsetAt(first)).toISOString();
}

/**
 * The meter page's date-range presets, as calendar days [from, to] inclusive, counted from `today`
 * (the building's calendar day): this month so far, last month whole, the 12 months up to today.
 */
export function rangePreset(name, today) {
  const month = today.slice(0, 7);
  if (name === 'this_month') return { from: `${month}-01`, to: today };
  if (name === 'last_month') { const p = shiftMonth(month, -1); return { from: `${p}-01`, to: addDays(`${month}-01`, -1) }; }
  if (name === 'year') return { from: addDays(`${shiftMonth(month, -12)}-${today.slice(8)}`, 1), to: today };
  throw new Error(`unknown range preset "${name}"`);
}

/**
 * Consumption of each reading of a cumulative register: its value minus the previous reading's (the
 * reading just before the range, `previous`, for the first one). Readings are the current versions,
 * in any order; the answer is oldest first. A drop stays negative so the engineer sees it.
 */
export function readingConsumption(readings, previous) {
  const rows = [...readings].filter((r) => r.value != null).sort((a, b) => new Date(a.time) - new Date(b.time));
  let before = previous?.value ?? null;
  return rows.map((r) => {
    const consumption = before == null ? null : r.value - before;
    before = r.value;
    return { time: r.time, value: r.value, consumption };
  });
}

/**
 * The meter chart's series over [from, to] (calendar days in the building's zone): consumption summed
 * per day for ranges up to two months, per month beyond. Buckets without a reading are null (a gap,
 * not a zero). Null when there is no consumption at all: the page says "no data", it draws no axis.
 */
export function consumptionSeries(rows, from, to, timeZone) {
  const byMonth = monthsBetween(from.slice(0, 7), to.slice(0, 7)).length > 2;
  const keys = [];
  if (byMonth) keys.push(...monthsBetween(from.slice(0, 7), to.slice(0, 7)));
  else for (let d = from; d <= to && keys.length < 93; d = addDays(d, 1)) keys.push(d);
  const sums = new Map();
  for (const r of rows) {
    if (r.consumption == null) continue;
    const day = localDay(r.time, timeZone);
    const key = byMonth ? day.slice(0, 7) : day;
    sums.set(key, (sums.get(key) ?? 0) + r.consumption);
  }
  if (!sums.size) return null;
  return { by: byMonth ? 'month' : 'day', keys, values: keys.map((k) => (sums.has(k) ? round(sums.get(k)) : null)) };
}
