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

export function fmtDate(iso, timeZone) {
  if (!iso) return NONE();
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'short', ...(timeZone ? { timeZone } : {}) }).format(new Date(iso));
}

/** "2025-01" → "янв. 2025" / "Jan 2025". */
export function fmtMonth(period) {
  const [y, m] = period.split('-').map(Number);
  return new Intl.DateTimeFormat(locale(), { month: 'short', year: 'numeric', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, 1)));
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
