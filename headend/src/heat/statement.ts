/**
 * The monthly heat statement (ведомость учёта тепловой энергии и теплоносителя) of one building heat
 * meter, composed from its archive records. Pure: the store (store.ts) loads the records, the
 * documents (documents.ts) print what this returns.
 *
 * - Source: the month's DAILY records when the meter has any, else its HOURLY records summed to days
 *   of the building's time zone (the store gives each record its local day).
 * - Each record is judged (ns.ts: the meter's НС codes, Тр/Тнс) and its Q accounted (ns.ts: off time
 *   calculated from the mean hourly Q of the normal records before it, at most 72 h back, never before
 *   the month). The statement's Q is the accounted Q; the measured Q and what was added stay visible.
 * - A row per day of the month; a day without a record has no values (null), never zeros.
 *   t1, t2: mean of the day's records weighted by M1 (M2) when every record has its mass and they add
 *   up to more than 0, else the plain mean. M1, M2, M1−M2, Q (kWh; Гкал = kWh ÷ 1163, as billing
 *   converts), Тр and Тнс (hours): sums of the day's records.
 * - A record whose heat amount (its current version) an engineer rejected on review is left out whole
 *   (its values belong together): its interval is missing data like a record that never came — not
 *   counted, not calculated — and the day says how many were left out (`rejected`), the statement
 *   lists them with who and why. A validation verdict alone leaves nothing out: the only verdict that
 *   says invalid on a record is power off with Тр = 0, which the НС rules above account for.
 * - Rounding (half up, exact decimals): t to 0.01 °C, M to 0.001 t, Q to 0.001 kWh and 0.001 Гкал,
 *   hours to 0.01 h — each day's value from its records' exact sum. The totals row is the sum of the
 *   rounded day values (so the printed columns add up as the supplier checks them); its t1/t2 are the
 *   month's means by the same weighting over every record.
 */
import * as decimalJs from 'decimal.js';
import { KWH_PER_GCAL } from '../billing/units.js';
import { accountedHeat, nsReasons, REASON_TEXT_RU, type Calculation, type NsReason, type RecordFacts } from './ns.js';
import { HEAT_RECORD_QUANTITIES } from '@amr/protocols';

const Decimal = decimalJs.default as unknown as typeof decimalJs.Decimal;
const D = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP, toExpNeg: -40, toExpPos: 40 });
type Dec = InstanceType<typeof D>;
const dec = (x: number): Dec => new D(String(x));
const round = (x: Dec, places: number): number => x.toDecimalPlaces(places).toNumber();

/** The quantities a record carries, by their hourly names (contract, protocols/src/contract/quantities.ts); a daily record stores them under the day names (archiveQuantity), the store maps them back. */
export const RECORD_QUANTITIES = HEAT_RECORD_QUANTITIES;
export type RecordQuantity = (typeof RECORD_QUANTITIES)[number];

/** One archive record as the store loads it. */
export interface LoadedRecord {
  kind: 'hourly' | 'daily';
  /** Start of its interval, UTC ms. */
  startMs: number;
  seconds: number;
  /** Its start as the building's local time, 'YYYY-MM-DDTHH:MM' (the day it belongs to: the first 10). */
  localStart: string;
  /** Its end the same way. */
  localEnd: string;
  codes: string[];
  values: Partial<Record<RecordQuantity, number | null>>;
  /** Its heat amount's current version rejected on review (by whom, why); absent or null: it counts. */
  rejected?: { by: string; reason: string } | null;
}

export interface StatementRow {
  date: string;
  records: number;
  t1: number | null;
  t2: number | null;
  m1: number | null;
  m2: number | null;
  dm: number | null;
  qKwh: number | null;
  qGcal: number | null;
  /** Q as the meter counted it, kWh. */
  qMeasuredKwh: number | null;
  /** Heat added for off time (calculated), kWh; 0 when none. */
  qCalculatedKwh: number | null;
  workingHours: number | null;
  nsHours: number | null;
  /** Any record of the day under НС. */
  ns: boolean;
  /** Records of the day left out: rejected on review (their intervals are missing data). */
  rejected: number;
}

/** A record left out of the statement: its heat amount rejected on review. */
export interface RejectedEntry { from: string; to: string; kind: 'hourly' | 'daily'; by: string; reason: string }

export interface NsEntry {
  from: string;
  to: string;
  kind: 'hourly' | 'daily';
  /** The meter's own codes. */
  codes: string[];
  reasons: NsReason[];
  /** The reasons in words (RU), with durations. */
  text: string;
  calculation: Calculation | null;
}

export interface Statement {
  period: string;
  /** Daily records, hourly ones summed to days, or both (daily where the day has one, else hourly). */
  source: 'daily' | 'hourly' | 'mixed' | null;
  records: number;
  rows: StatementRow[];
  totals: Omit<StatementRow, 'date' | 'ns' | 'rejected'> | null;
  ns: NsEntry[];
  /** Records whose Q was calculated (off time), for the "calculated" mark. */
  calculated: NsEntry[];
  /** Records of the month left out, rejected on review (the signed totals do not carry them: the sums do). */
  rejected: RejectedEntry[];
  /** Set when the month has no record: what to tell the reader instead of zeros. */
  message: string | null;
}

/** The days of a month 'YYYY-MM' as 'YYYY-MM-DD'. */
export function daysOf(period: string): string[] {
  const [y, m] = period.split('-').map(Number);
  const n = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return Array.from({ length: n }, (_, i) => `${period}-${String(i + 1).padStart(2, '0')}`);
}

const hoursText = (s: number) => `${String(round(dec(s).div(3600), 2)).replace('.', ',')} ч`;

function reasonsText(reasons: readonly NsReason[], calc: Calculation | null): string {
  const parts = reasons.map((r) => `${REASON_TEXT_RU[r.code]}${r.meterCode && r.code === 'ns_unknown' ? ` (${r.meterCode})` : ''}${r.seconds ? `: ${hoursText(r.seconds)}` : ''}`);
  if (calc?.basis === 'mean_hourly') {
    parts.push(`Q за ${hoursText(calc.offSeconds)} рассчитано по среднечасовому Q нормальной работы (${String(round(dec(calc.meanHourlyKwh), 3)).replace('.', ',')} кВт·ч/ч): +${String(calc.addedKwh).replace('.', ',')} кВт·ч`);
  } else if (calc?.basis === 'none') {
    parts.push('Q за время отключения не рассчитано: нет часов нормальной работы в предшествующие 3 суток периода');
  }
  return [...new Set(parts)].join('; ');
}

/** Mean of t weighted by m when every record has its m and Σm > 0, else the plain mean; null when no t. */
function meanTemp(pairs: readonly { t: number | null | undefined; m: number | null | undefined }[]): Dec | null {
  const withT = pairs.filter((p) => p.t !== null && p.t !== undefined);
  if (!withT.length) return null;
  const weighted = withT.every((p) => p.m !== null && p.m !== undefined);
  const mSum = weighted ? withT.reduce((s, p) => s.plus(dec(p.m!)), new D(0)) : new D(0);
  if (weighted && mSum.gt(0)) return withT.reduce((s, p) => s.plus(dec(p.t!).times(dec(p.m!))), new D(0)).div(mSum);
  return withT.reduce((s, p) => s.plus(dec(p.t!)), new D(0)).div(withT.length);
}

/** Σ of a quantity over records, exact; null when none of them has it. */
function sumOf(recs: readonly LoadedRecord[], q: RecordQuantity): Dec | null {
  const vs = recs.map((r) => r.values[q]).filter((v): v is number => v !== null && v !== undefined);
  return vs.length ? vs.reduce((s, v) => s.plus(dec(v)), new D(0)) : null;
}

const sumRounded = (vs: readonly (number | null)[], places: number): number | null => {
  const xs = vs.filter((v): v is number => v !== null);
  return xs.length ? round(xs.reduce((s, v) => s.plus(dec(v)), new D(0)), places) : null;
};

export const facts = (r: LoadedRecord): RecordFacts => ({
  startMs: r.startMs, seconds: r.seconds, codes: r.codes,
  workingSeconds: r.values.operating_time_delta_s ?? null, nsSeconds: r.values.error_time_delta_s ?? null, energyKwh: r.values.energy_delta_kwh ?? null,
});

/**
 * The statement of `period` ('YYYY-MM') from the meter's records of it (both kinds as loaded; records
 * outside the month's days are ignored). `periodStartMs`: the month's first instant in the building's zone.
 */
export function composeStatement(period: string, periodStartMs: number, all: readonly LoadedRecord[]): Statement {
  const days = daysOf(period);
  const month = all.filter((r) => r.localStart.slice(0, 7) === period);
  const rejected: RejectedEntry[] = month.filter((r) => r.rejected)
    .map((r) => ({ from: r.localStart, to: r.localEnd, kind: r.kind, by: r.rejected!.by, reason: r.rejected!.reason }));
  const rejectedOn = (date: string) => month.filter((r) => r.rejected && r.localStart.slice(0, 10) === date).length;
  // A rejected record is as if it never came: a day whose daily record was rejected takes its hourly ones.
  const inMonth = month.filter((r) => !r.rejected);
  // Per day: the calculator's own daily record where it has one, else that day's hourly records
  // summed. A month with daily records for some days only (a daily read started mid-month, a gap
  // back-filled by the hour) keeps every day it has data for.
  const dailyDays = new Set(inMonth.filter((r) => r.kind === 'daily').map((r) => r.localStart.slice(0, 10)));
  const chosen = inMonth.filter((r) => r.kind === 'daily' || !dailyDays.has(r.localStart.slice(0, 10)));
  const kinds = new Set(chosen.map((r) => r.kind));
  const source: Statement['source'] = kinds.size === 2 ? 'mixed' : kinds.has('daily') ? 'daily' : kinds.size ? 'hourly' : null;
  if (!source) {
    return {
      period, source: null, records: 0, rows: [], totals: null, ns: [], calculated: [], rejected,
      message: `no archive records of the meter for ${period}${rejected.length ? ` but ${rejected.length} rejected on review` : ''}: nothing to state (no values, not zeros)`,
    };
  }
  const recs = chosen.sort((a, b) => a.startMs - b.startMs);
  const accounted = accountedHeat(recs.map(facts), periodStartMs);
  const ns: NsEntry[] = [];
  const calculated: NsEntry[] = [];
  recs.forEach((r, i) => {
    const reasons = nsReasons(facts(r));
    const calc = accounted[i].calculation ?? null;
    if (!reasons.length) return;
    const entry: NsEntry = { from: r.localStart, to: r.localEnd, kind: r.kind, codes: r.codes, reasons, text: reasonsText(reasons, calc), calculation: calc };
    ns.push(entry);
    if (calc) calculated.push(entry);
  });

  const rows: StatementRow[] = days.map((date) => {
    const idx = recs.map((r, i) => (r.localStart.slice(0, 10) === date ? i : -1)).filter((i) => i >= 0);
    const day = idx.map((i) => recs[i]);
    if (!day.length) {
      return { date, records: 0, t1: null, t2: null, m1: null, m2: null, dm: null, qKwh: null, qGcal: null, qMeasuredKwh: null, qCalculatedKwh: null, workingHours: null, nsHours: null, ns: false, rejected: rejectedOn(date) };
    }
    const m1 = sumOf(day, 'mass_delta_t');
    const m2 = sumOf(day, 'return_mass_delta_t');
    const t1 = meanTemp(day.map((r) => ({ t: r.values.flow_temp_mean_c, m: r.values.mass_delta_t })));
    const t2 = meanTemp(day.map((r) => ({ t: r.values.return_temp_mean_c, m: r.values.return_mass_delta_t })));
    const hasQ = day.some((r) => r.values.energy_delta_kwh !== null && r.values.energy_delta_kwh !== undefined) || idx.some((i) => accounted[i].calculation);
    const q = idx.reduce((s, i) => s.plus(dec(accounted[i].kwh)), new D(0));
    const qm = idx.reduce((s, i) => s.plus(dec(accounted[i].measuredKwh)), new D(0));
    const tr = sumOf(day, 'operating_time_delta_s');
    const tns = sumOf(day, 'error_time_delta_s');
    const m1r = m1 === null ? null : round(m1, 3);
    const m2r = m2 === null ? null : round(m2, 3);
    return {
      date,
      records: day.length,
      t1: t1 === null ? null : round(t1, 2),
      t2: t2 === null ? null : round(t2, 2),
      m1: m1r,
      m2: m2r,
      dm: m1r === null || m2r === null ? null : round(dec(m1r).minus(dec(m2r)), 3),
      qKwh: hasQ ? round(q, 3) : null,
      qGcal: hasQ ? round(q.div(KWH_PER_GCAL), 3) : null,
      qMeasuredKwh: hasQ ? round(qm, 3) : null,
      qCalculatedKwh: hasQ ? round(q.minus(qm), 3) : null,
      workingHours: tr === null ? null : round(tr.div(3600), 2),
      nsHours: tns === null ? null : round(tns.div(3600), 2),
      ns: idx.some((i) => nsReasons(facts(recs[i])).length > 0),
      rejected: rejectedOn(date),
    };
  });

  const col = <K extends keyof StatementRow>(k: K) => rows.map((r) => r[k] as number | null);
  const t1 = meanTemp(recs.map((r) => ({ t: r.values.flow_temp_mean_c, m: r.values.mass_delta_t })));
  const t2 = meanTemp(recs.map((r) => ({ t: r.values.return_temp_mean_c, m: r.values.return_mass_delta_t })));
  const totals = {
    records: recs.length,
    t1: t1 === null ? null : round(t1, 2),
    t2: t2 === null ? null : round(t2, 2),
    m1: sumRounded(col('m1'), 3), m2: sumRounded(col('m2'), 3), dm: sumRounded(col('dm'), 3),
    qKwh: sumRounded(col('qKwh'), 3), qGcal: sumRounded(col('qGcal'), 3), qMeasuredKwh: sumRounded(col('qMeasuredKwh'), 3), qCalculatedKwh: sumRounded(col('qCalculatedKwh'), 3),
    workingHours: sumRounded(col('workingHours'), 2), nsHours: sumRounded(col('nsHours'), 2),
  };
  return { period, source, records: recs.length, rows, totals, ns, calculated, rejected, message: null };
}
