/**
 * Loads what the pure accrual needs for one building and month from the database: tariffs, norms
 * and rules in force, the accounts with their premises and meters, the measured consumption of each
 * apartment metering point (readings/consumption.ts, the one consumption function), the meter's measured history
 * and how many periods right before were already charged by average (both from stored lines). A meter
 * replaced during the month is one metering point with the meter it replaced (meteringPoints).
 */
import type { Resource } from '@amr/protocols';
import type { Queryable } from '../../db/types.js';
import { registerQuantity, zoneQuantities } from '@amr/protocols';
import type { RegisterPoint } from '../../vee/index.js';
import { countingReadings, loadPointConsumption, LOOKAROUND_DAYS } from '../../readings/consumption-store.js';
import type { AttributedBy, RegisterConsumption } from '../../readings/consumption.js';
import { billedByArea, BillingRules, subtractQuantities, sumQuantities, Tariff, tariffFor, toBillingUnit, type AccountBillingInput, type MeterBillingInput, type MonthHistory, type TariffVersion } from '../index.js';

export class BillingError extends Error {
  constructor(readonly code: 'not_found' | 'closed' | 'invalid', message: string) {
    super(message);
    this.name = 'BillingError';
  }
}

/** 'YYYY-MM' → first day of the month as 'YYYY-MM-01'. */
export function periodDate(period: string): string {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(period)) throw new BillingError('invalid', `period must be YYYY-MM, got ${period}`);
  return `${period}-01`;
}
export function nextPeriod(periodFirstDay: string): string {
  const [y, m] = periodFirstDay.split('-').map(Number);
  return m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
}
export function prevPeriod(periodFirstDay: string): string {
  const [y, m] = periodFirstDay.split('-').map(Number);
  return m === 1 ? `${y - 1}-12-01` : `${y}-${String(m - 1).padStart(2, '0')}-01`;
}

export interface SourceRef { meterId: number; time: string; version: number }
export interface BuildingInputs {
  orgId: number;
  period: { start: Date; end: Date };
  tariffs: TariffVersion[];
  rules: BillingRules;
  accounts: AccountBillingInput[];
  /** Readings each meter's measured value came from (provenance of a line). */
  sources: Map<string, SourceRef[]>;
  /** Heat is charged by area from the building meter (no apartment heat meters): no norm lines for heat. */
  heatingByArea: boolean;
}

/**
 * The reading that counts at each instant of a meter, around the period (readings/consumption-store:
 * provenance, rejected versions and estimates excluded), for callers that show registers.
 */
export async function meterPoints(q: Queryable, meterId: number, quantity: string, start: Date, end: Date): Promise<Array<RegisterPoint & { version: number }>> {
  return countingReadings(q, meterId, quantity, new Date(start.getTime() - LOOKAROUND_DAYS * 86_400_000), new Date(end.getTime() + LOOKAROUND_DAYS * 86_400_000));
}

interface HistoryRow { period: string; meter_id: string; method: string; quantity: number; parts: Array<{ quantity: number }>; adjustment_kind: string | null; at: string }

/** The stored lines before `period` of all the given meters, in one query, by meter id (for meterHistory). */
async function historyRows(q: Queryable, meterIds: readonly string[], period: string): Promise<Map<string, HistoryRow[]>> {
  const { rows } = await q.query<HistoryRow>(
    `SELECT to_char(COALESCE(adjusts_period, period), 'YYYY-MM-DD') AS period, meter_id, method, quantity, parts, adjustment_kind,
            CASE WHEN kind = 'regular' THEN '0' ELSE (extract(epoch FROM computed_at) * 1000000)::bigint::text END AS at
       FROM accrual_lines WHERE meter_id = ANY($1::bigint[]) AND COALESCE(adjusts_period, period) < $2::date
        AND (kind = 'regular' OR adjustment_kind IN ('reversal', 'recalculated'))`,
    [meterIds, period],
  );
  const byMeter = new Map<string, HistoryRow[]>();
  for (const r of rows) {
    const id = String(r.meter_id);
    if (!byMeter.has(id)) byMeter.set(id, []);
    byMeter.get(id)!.push(r);
  }
  return byMeter;
}

/**
 * History of a metering point from its meters' stored lines (historyRows): every meter it had (a
 * replaced meter's months count for its successor). Each past month counts as it stands now: its
 * regular lines, or — when a closed month was recalculated — the latest recalculation's lines (a
 * batch of reversals alone leaves nothing).
 */
function meterHistory(all: readonly HistoryRow[], period: string): { history: MonthHistory[]; averagePeriodsUsed: number; substituted: Map<string, number[]> } {
  const latest = new Map<string, bigint>();
  for (const r of all) {
    const k = `${r.period}|${r.meter_id}`;
    if (!latest.has(k) || BigInt(r.at) > latest.get(k)!) latest.set(k, BigInt(r.at));
  }
  const sums = new Map<string, { period: string; method: string; quantity: number }>();
  // What each past month charged by a substitute (average or norm), per tariff part (zone): a window
  // reading after a month without one covers that month too, and that charge is deducted from it.
  const substituted = new Map<string, number[]>();
  for (const r of all) {
    if (BigInt(r.at) !== latest.get(`${r.period}|${r.meter_id}`) || r.adjustment_kind === 'reversal') continue;
    const k = `${r.period}|${r.method}`;
    const c = sums.get(k) ?? { period: r.period, method: r.method, quantity: 0 };
    c.quantity = sumQuantities([c.quantity, Number(r.quantity)]);
    sums.set(k, c);
    if (r.method === 'average' || r.method === 'norm') {
      const acc = substituted.get(r.period) ?? [];
      (r.parts ?? []).forEach((p, i) => { acc[i] = sumQuantities([acc[i] ?? 0, Number(p.quantity)]); });
      substituted.set(r.period, acc);
    }
  }
  const rows = [...sums.values()].sort((a, b) => a.period.localeCompare(b.period));
  const history: MonthHistory[] = rows.filter((r) => r.method === 'measured').map((r) => {
    const s = new Date(`${r.period}T00:00:00Z`);
    const e = new Date(`${nextPeriod(r.period)}T00:00:00Z`);
    return { periodStart: s, consumption: Number(r.quantity), days: Math.round((e.getTime() - s.getTime()) / 86_400_000) };
  });
  // Consecutive periods right before this one charged by average.
  const byPeriod = new Map<string, Set<string>>();
  for (const r of rows) byPeriod.set(r.period, (byPeriod.get(r.period) ?? new Set()).add(r.method));
  let used = 0;
  for (let p = prevPeriod(period); byPeriod.get(p)?.has('average') && !byPeriod.get(p)?.has('measured'); p = prevPeriod(p)) used++;
  return { history, averagePeriodsUsed: used, substituted };
}

/** A stretch of the period during which one physical meter stood at a metering point. */
export interface Segment {
  meterId: string;
  from: Date;
  to: Date;
  /** Installation reading at `from` / removal reading at `to` from the replacement record, when the bound is a replacement. */
  startValue: number | null;
  endValue: number | null;
}

/**
 * A metering point of a premise and resource over the period: the meter now standing there and the
 * ones it replaced during the period (oldest first). One charge per point, named by the current meter.
 */
export interface MeteringPoint {
  meterId: string;
  premiseId: string;
  resource: Resource;
  segments: Segment[];
  /** The earlier of failure and verification expiry, as a date (the accrual's unusableFrom) and as the local instant it begins. */
  unusableFrom: Date | null;
  unusableAt: Date | null;
}

const dateOnly = (d: string | null) => (d ? new Date(`${d}T00:00:00Z`) : null);
const earliest = (...ds: Array<Date | null>) => ds.filter((d): d is Date => d !== null).sort((a, b) => a.getTime() - b.getTime())[0] ?? null;

/**
 * The building's apartment metering points during [start, end): each meter's time in service runs
 * from its installation by a replacement (or always) to its removal by one (or its decommissioning
 * day, or forever). Meters linked by a replacement inside the period form one point.
 */
export async function meteringPoints(q: Queryable, buildingId: number, start: Date, end: Date): Promise<MeteringPoint[]> {
  const { rows } = await q.query<{
    id: string; premise_id: string; resource: Resource; status: string; failed_on: string | null; next_verification_on: string | null; removed_by: Date | null;
    unusable_at: Date | null; in_at: Date | null; installation_reading: number | null; old_meter_id: string | null; out_at: Date | null; removal_reading: number | null;
  }>(
    `SELECT m.id, m.premise_id, m.resource, m.status, m.failed_on::text, m.next_verification_on::text,
            CASE WHEN m.status = 'removed' AND m.decommissioned_on IS NOT NULL THEN (m.decommissioned_on + 1)::timestamp AT TIME ZONE b.timezone END AS removed_by,
            LEAST(m.failed_on, m.next_verification_on)::timestamp AT TIME ZONE b.timezone AS unusable_at,
            rin.replaced_at AS in_at, rin.installation_reading, rin.old_meter_id, rout.replaced_at AS out_at, rout.removal_reading
       FROM meters m JOIN buildings b ON b.id = m.building_id
       LEFT JOIN meter_replacements rout ON rout.old_meter_id = m.id AND rout.undone_at IS NULL
       LEFT JOIN LATERAL (SELECT r.replaced_at, r.installation_reading, r.old_meter_id FROM meter_replacements r
                           WHERE r.new_meter_id = m.id AND r.undone_at IS NULL ORDER BY r.replaced_at DESC LIMIT 1) rin ON true
      WHERE m.building_id = $1 AND m.placement = 'apartment' ORDER BY m.id`,
    [buildingId],
  );
  const inPeriod = new Map<string, (typeof rows)[number] & { from: Date; to: Date }>();
  for (const r of rows) {
    const inAt = r.in_at ? new Date(r.in_at) : null;
    // Removed without a replacement or a decommissioning day: out of service (as before: status <> 'removed').
    const outAt = r.out_at ? new Date(r.out_at) : r.removed_by ? new Date(r.removed_by) : r.status === 'removed' ? null : new Date(8.64e15);
    if (!outAt || outAt <= start || (inAt && inAt >= end)) continue;
    inPeriod.set(r.id, { ...r, from: inAt && inAt > start ? inAt : start, to: outAt < end ? outAt : end });
  }
  const successorOf = new Set([...inPeriod.values()].filter((r) => r.old_meter_id && inPeriod.has(r.old_meter_id)).map((r) => r.old_meter_id!));
  const out: MeteringPoint[] = [];
  for (const head of inPeriod.values()) {
    if (successorOf.has(head.id)) continue; // not the current meter of its point
    const chain = [head];
    for (let m = head; m.old_meter_id && inPeriod.has(m.old_meter_id) && m.from > start;) {
      m = inPeriod.get(m.old_meter_id)!;
      chain.unshift(m);
    }
    out.push({
      meterId: head.id, premiseId: head.premise_id, resource: head.resource,
      segments: chain.map((m) => ({
        meterId: m.id, from: m.from, to: m.to,
        startValue: m.from > start && m.installation_reading !== null ? Number(m.installation_reading) : null,
        endValue: m.to < end && m.removal_reading !== null ? Number(m.removal_reading) : null,
      })),
      // A failed meter or an expired verification: no reading from the earlier of the two dates.
      unusableFrom: earliest(dateOnly(head.failed_on), dateOnly(head.next_verification_on)),
      unusableAt: head.unusable_at ? new Date(head.unusable_at) : null,
    });
  }
  return out;
}

/**
 * Consumption of a metering point's registers in the month: the one consumption function over the
 * chain of meters that stood there (a replacement is bridged by its removal and installation
 * readings, never read as a rollover), cut at the day the meter became unusable. Each register says
 * measured (with the readings used), no reading, or an implausible drop (billing falls back and the
 * line's note says why).
 */
export async function pointConsumption(q: Queryable, mp: MeteringPoint, quantities: readonly string[], start: Date, end: Date): Promise<{ registers: Record<string, RegisterConsumption>; attributedBy: AttributedBy }> {
  const segs = mp.segments;
  const pc = await loadPointConsumption(q, {
    meterIds: segs.map((s) => Number(s.meterId)), quantities, recordQuantity: registerQuantity(mp.resource),
    period: { start, end }, span: { start: segs[0].from, end: segs[segs.length - 1].to }, unusableFrom: mp.unusableAt,
  });
  return { registers: pc.registers, attributedBy: pc.attributedBy };
}

/** 'YYYY-MM-01' of the local month an instant falls in. */
function localMonth(t: Date, timezone: string): string {
  const p = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit' }).formatToParts(t);
  return `${p.find((x) => x.type === 'year')!.value}-${p.find((x) => x.type === 'month')!.value}-01`;
}

/**
 * A window reading whose previous closing reading is older than last month covers the months in
 * between too (ПП 354 п. 61): what those months were charged by average or norm is deducted, per
 * zone, so no consumption is charged twice. Returns the deduction per register and the months, or null.
 */
function coveredSubstitutes(opening: Date, period: string, timezone: string, substituted: ReadonlyMap<string, number[]>, registers: number): { perRegister: number[]; months: string[] } | null {
  const from = nextPeriod(localMonth(opening, timezone));
  const months = [...substituted.keys()].filter((p) => p >= from && p < period).sort();
  if (months.length === 0) return null;
  const perRegister = Array.from({ length: registers }, (_, i) => sumQuantities(months.flatMap((p) => (registers === 1 ? substituted.get(p)! : [substituted.get(p)![i] ?? 0]))));
  return { perRegister, months: months.map((p) => p.slice(0, 7)) };
}

const sourcesOf = (r: RegisterConsumption): SourceRef[] => (r.status !== 'measured' ? [] : r.readings
  .filter((p) => (p.version ?? 0) > 0 && p.meterId !== undefined)
  .map((p) => ({ meterId: p.meterId!, time: p.time.toISOString(), version: p.version! })));

export async function loadBuildingInputs(q: Queryable, buildingId: number, period: string): Promise<BuildingInputs> {
  const b = await q.query<{ org_id: string; timezone: string; start: Date; end: Date }>(
    `SELECT org_id, timezone, ($2::timestamp AT TIME ZONE timezone) AS start, (($2::timestamp + interval '1 month') AT TIME ZONE timezone) AS end
       FROM buildings WHERE id = $1`,
    [buildingId, period],
  );
  if (!b.rows[0]) throw new BillingError('not_found', `building ${buildingId} not found`);
  const orgId = Number(b.rows[0].org_id);
  const timezone = b.rows[0].timezone;
  const start = new Date(b.rows[0].start);
  const end = new Date(b.rows[0].end);

  const t = await q.query<{ resource: Resource; valid_from: string; tariff: unknown }>(
    `SELECT resource, to_char(valid_from, 'YYYY-MM-DD') AS valid_from, tariff FROM billing_tariffs WHERE org_id = $1`, [orgId]);
  const tariffs: TariffVersion[] = t.rows.map((r) => ({ resource: r.resource, validFrom: new Date(`${r.valid_from}T00:00:00Z`), tariff: Tariff.parse(r.tariff) }));
  const rr = await q.query<{ effective_from: string; rules: object }>(
    `SELECT to_char(effective_from, 'YYYY-MM-DD') AS effective_from, rules FROM billing_rules
      WHERE org_id = $1 AND effective_from <= $2::date ORDER BY effective_from DESC LIMIT 1`, [orgId, period]);
  // Without an edition of the rules the defaults of the regulations apply (BillingRules' defaults).
  const rules = BillingRules.parse({ ...(rr.rows[0]?.rules ?? {}), effectiveFrom: rr.rows[0]?.effective_from ?? '1970-01-01' });
  const n = await q.query<{ resource: Resource; per_resident: number }>(
    `SELECT DISTINCT ON (resource) resource, per_resident FROM billing_norms
      WHERE org_id = $1 AND basis = 'resident' AND valid_from <= $2::date ORDER BY resource, valid_from DESC`, [orgId, period]);
  const norms: Partial<Record<Resource, number>> = Object.fromEntries(n.rows.map((r) => [r.resource, Number(r.per_resident)]));
  const periodKey = new Date(`${period}T00:00:00Z`);
  const billable = new Set(tariffs.filter((x) => x.validFrom <= periodKey).map((x) => x.resource));

  const acc = await q.query<{ id: string; premise_id: string; residents: number }>(
    `SELECT a.id, a.premise_id, p.residents FROM personal_accounts a JOIN premises p ON p.id = a.premise_id
      WHERE p.building_id = $1 AND a.org_id = $2 AND a.active AND p.kind = 'residential' ORDER BY a.id`, [buildingId, orgId]);
  const points = await meteringPoints(q, buildingId, start, end);
  // Heating by area (distribution.ts heatingShare): a building heat meter and no apartment heat meters.
  const heatOdpu = await q.query(`SELECT 1 FROM meters WHERE building_id = $1 AND placement = 'building' AND resource = 'heat' AND status <> 'removed' LIMIT 1`, [buildingId]);
  const heatingByArea = billable.has('heat') && billedByArea('heat', { building: heatOdpu.rows.length, apartment: points.filter((p) => p.resource === 'heat').length });

  // Every point's history in one query, not one per meter.
  const histories = await historyRows(q, points.flatMap((p) => p.segments.map((x) => x.meterId)), period);
  const sources = new Map<string, SourceRef[]>();
  const accounts: AccountBillingInput[] = [];
  for (const a of acc.rows) {
    const own = points.filter((m) => m.premiseId === a.premise_id && billable.has(m.resource));
    const inputs: MeterBillingInput[] = [];
    for (const m of own) {
      // A zone tariff is charged from the zone registers (energy_t1_kwh …); all of them are needed, or
      // the month falls back (split by the zone shares).
      const t = tariffFor(tariffs, m.resource, periodKey);
      const quantities = t.kind === 'zones' ? zoneQuantities(t.prices.length) : [registerQuantity(m.resource)];
      const pc = await pointConsumption(q, m, quantities, start, end);
      const perQ = quantities.map((qn) => pc.registers[qn]);
      const complete = perQ.every((x) => x.status === 'measured');
      const quantityOf = (x: RegisterConsumption) => (x.status === 'measured' ? x.quantity : 0);
      const h = meterHistory(m.segments.flatMap((x) => histories.get(String(x.meterId)) ?? []), period);
      // Heat registers count kWh, heat tariffs and norms are per Gcal.
      let value: number | number[] | null = !complete ? null : t.kind === 'zones' ? perQ.map(quantityOf) : toBillingUnit(m.resource, quantityOf(perQ[0]));
      let measuredNote: string | undefined;
      const first = perQ[0];
      if (value !== null && pc.attributedBy === 'window' && first.status === 'measured' && first.readings.length > 0) {
        const covered = coveredSubstitutes(first.readings[0].time, period, timezone, h.substituted, quantities.length);
        if (covered) {
          value = typeof value === 'number' ? subtractQuantities(value, covered.perRegister[0]) : value.map((v, i) => subtractQuantities(v, covered.perRegister[i]));
          measuredNote = `readings ${first.readings[0].time.toISOString().slice(0, 10)} – ${first.readings[first.readings.length - 1].time.toISOString().slice(0, 10)} cover ${covered.months.join(', ')} too: `
            + `their substitute charge (${covered.perRegister.map((x) => String(x)).join(' + ')}) deducted`;
        }
      }
      if (complete) sources.set(m.meterId, perQ.flatMap(sourcesOf));
      const why = perQ.map((x, i) => (x.status === 'implausible_drop' ? `${quantities[i]}: ${x.message}` : null)).filter((x) => x !== null).join('; ');
      inputs.push({
        meterId: m.meterId, resource: m.resource, measured: value, history: h.history, averagePeriodsUsed: h.averagePeriodsUsed, unusableFrom: m.unusableFrom,
        ...(value === null && why ? { noReadingReason: why } : {}), ...(measuredNote ? { measuredNote } : {}),
      });
    }
    const metered = new Set(own.map((m) => m.resource));
    const unmetered = [...billable].filter((r) => !metered.has(r) && norms[r] !== undefined && !(r === 'heat' && heatingByArea));
    // The accrual's period is the calendar month as dates (tariffs and rules are dated), not the local instants.
    accounts.push({ accountId: a.id, period: { start: periodKey, end: new Date(`${nextPeriod(period)}T00:00:00Z`) }, residents: Number(a.residents), meters: inputs, unmeteredResources: unmetered, norms, tariffs, rules });
  }
  return { orgId, period: { start, end }, tariffs, rules, accounts, sources, heatingByArea };
}
