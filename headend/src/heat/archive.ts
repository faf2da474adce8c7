/**
 * A heat meter's archive records as the meter page shows them (GET /meters/:id/archive): per record its
 * interval, t1, t2, ΔT, M1, M2, Q as the meter counted it, Тр, Тнс, the mean flow and power over the
 * interval, and its НС reasons by the same judge as the statement (ns.ts). Pure: the store loads the
 * records (store.ts loadRecords), this only shapes one kind of them.
 *
 * Rounding as the statement's (half up, exact decimals): t and ΔT to 0.01 °C (ΔT from the unrounded
 * t1 − t2), M to 0.001 t, Q to 0.001 kWh, hours to 0.01 h, flow to 0.001 t/h and power to 0.001 kW (both
 * over the record's whole interval, so an hour with 20 min off shows the hour's mean, not a peak).
 * Q here is the MEASURED one: the heat added for off time belongs to the monthly statement, which
 * decides it from the month's normal hours.
 */
import * as decimalJs from 'decimal.js';
import { nsReasons, type NsReason } from './ns.js';
import { facts, type LoadedRecord } from './statement.js';

const Decimal = decimalJs.default as unknown as typeof decimalJs.Decimal;
const D = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP, toExpNeg: -40, toExpPos: 40 });
type Dec = InstanceType<typeof D>;
const dec = (x: number): Dec => new D(String(x));
const round = (x: Dec | null, places: number): number | null => (x === null ? null : x.toDecimalPlaces(places).toNumber());
const val = (x: number | null | undefined): Dec | null => (x === null || x === undefined ? null : dec(x));

export type ArchiveKind = 'hourly' | 'daily';

export interface ArchiveRow {
  kind: ArchiveKind;
  /** Start and end of the interval, UTC ISO. */
  time: string;
  end: string;
  /** Start and end in the building's zone, 'YYYY-MM-DDTHH:MM'. */
  localStart: string;
  localEnd: string;
  seconds: number;
  t1: number | null;
  t2: number | null;
  dt: number | null;
  m1: number | null;
  m2: number | null;
  qKwh: number | null;
  /** Тр and Тнс, hours. */
  workingHours: number | null;
  nsHours: number | null;
  /** M1 per hour of the interval, t/h. */
  flowTph: number | null;
  /** Q per hour of the interval, kW. */
  powerKw: number | null;
  codes: string[];
  /** [] = a normal record. */
  reasons: NsReason[];
}

/** The records of `kind` among `records`, in time order, each with its values and НС reasons. */
export function archiveRows(records: readonly LoadedRecord[], kind: ArchiveKind): ArchiveRow[] {
  return records.filter((r) => r.kind === kind).sort((a, b) => a.startMs - b.startMs).map((r) => {
    const v = r.values;
    const t1 = val(v.flow_temp_mean_c);
    const t2 = val(v.return_temp_mean_c);
    const m1 = val(v.mass_delta_t);
    const q = val(v.energy_delta_kwh);
    const hours = new D(r.seconds).div(3600);
    const perHour = (x: Dec | null) => (x === null || hours.lte(0) ? null : x.div(hours));
    return {
      kind: r.kind,
      time: new Date(r.startMs).toISOString(),
      end: new Date(r.startMs + r.seconds * 1000).toISOString(),
      localStart: r.localStart,
      localEnd: r.localEnd,
      seconds: r.seconds,
      t1: round(t1, 2),
      t2: round(t2, 2),
      dt: t1 === null || t2 === null ? null : round(t1.minus(t2), 2),
      m1: round(m1, 3),
      m2: round(val(v.return_mass_delta_t), 3),
      qKwh: round(q, 3),
      workingHours: round(val(v.operating_time_delta_s)?.div(3600) ?? null, 2),
      nsHours: round(val(v.error_time_delta_s)?.div(3600) ?? null, 2),
      flowTph: round(perHour(m1), 3),
      powerKw: round(perHour(q), 3),
      codes: r.codes,
      reasons: nsReasons(facts(r)),
    };
  });
}

/** The kind to show when none is asked: daily when there are daily records (a long range stays readable), else hourly. */
export const defaultKind = (counts: Readonly<Record<ArchiveKind, number>>): ArchiveKind => (counts.daily > 0 ? 'daily' : 'hourly');
