/**
 * Loads what the pure accrual needs for one building and month from the database: tariffs, norms
 * and rules in force, the accounts with their premises and meters, the measured consumption of each
 * apartment meter (current reading versions, rejected ones excluded), the meter's measured history
 * and how many periods right before were already charged by average (both from stored lines).
 */
import type { ReadingSource, Resource } from '@amr/protocols';
import type { Queryable } from '../db/types.js';
import { periodConsumption, type RegisterPoint } from '../vee/index.js';
import { primaryQuantity } from '../api/services/readings.js';
import { BillingRules, preferredReading, Tariff, tariffFor, type AccountBillingInput, type MeterBillingInput, type MonthHistory, type TariffVersion } from '../billing/index.js';

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
}

/**
 * The reading that counts at each instant of a meter, around the period: among the versions not
 * rejected on review, the pure preferredReading (staff/import > telemetry > resident, then the latest
 * version). Estimates are not readings: a month without a reading is charged by the fallback.
 */
export async function meterPoints(q: Queryable, meterId: number, quantity: string, start: Date, end: Date): Promise<Array<RegisterPoint & { version: number }>> {
  const { rows } = await q.query<{ time: Date; value: number; version: number; source: ReadingSource }>(
    `SELECT r.time, r.value, r.version, r.source
       FROM readings r
      WHERE r.meter_id = $1 AND r.quantity = $2 AND r.time BETWEEN $3::timestamptz - interval '45 days' AND $4::timestamptz + interval '45 days'
        AND r.value IS NOT NULL AND r.source <> 'estimate'
        AND NOT EXISTS (SELECT 1 FROM (SELECT decision FROM reading_reviews v
                                        WHERE v.meter_id = r.meter_id AND v.quantity = r.quantity AND v.time = r.time AND v.version = r.version
                                        ORDER BY v.reviewed_at DESC, v.id DESC LIMIT 1) last WHERE last.decision = 'reject')
      ORDER BY r.time, r.version`,
    [meterId, quantity, start, end],
  );
  const byTime = new Map<number, typeof rows>();
  for (const r of rows) {
    const t = new Date(r.time).getTime();
    byTime.set(t, [...(byTime.get(t) ?? []), { ...r, version: Number(r.version) }]);
  }
  return [...byTime.entries()].map(([t, cands]) => {
    const best = preferredReading(cands)!;
    return { time: new Date(t), value: Number(best.value), version: best.version };
  });
}

/**
 * Measured consumption needs a reading inside the period (start, end]: bounds are then aligned by
 * interpolation. Without one the month is "no reading" and the fallback charges it.
 */
export function measured(points: Array<RegisterPoint & { version: number }>, start: Date, end: Date): { q: number; used: typeof points } | null {
  const inside = points.filter((p) => p.time > start && p.time <= end);
  if (inside.length === 0) return null;
  const pc = periodConsumption(points, { start, end }, {}, { maxExtrapolationMs: 0 });
  if (!pc) return null;
  const used = points.filter((p) => p.time >= start && p.time <= end);
  return { q: pc.consumption, used };
}

async function meterHistory(q: Queryable, meterId: number, period: string): Promise<{ history: MonthHistory[]; averagePeriodsUsed: number }> {
  const { rows } = await q.query<{ period: string; method: string; quantity: number }>(
    `SELECT to_char(period, 'YYYY-MM-DD') AS period, method, sum(quantity) AS quantity
       FROM accrual_lines WHERE meter_id = $1 AND kind = 'regular' AND period < $2::date
      GROUP BY period, method ORDER BY period`,
    [meterId, period],
  );
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
  return { history, averagePeriodsUsed: used };
}

export async function loadBuildingInputs(q: Queryable, buildingId: number, period: string): Promise<BuildingInputs> {
  const b = await q.query<{ org_id: string; start: Date; end: Date }>(
    `SELECT org_id, ($2::timestamp AT TIME ZONE timezone) AS start, (($2::timestamp + interval '1 month') AT TIME ZONE timezone) AS end
       FROM buildings WHERE id = $1`,
    [buildingId, period],
  );
  if (!b.rows[0]) throw new BillingError('not_found', `building ${buildingId} not found`);
  const orgId = Number(b.rows[0].org_id);
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
  const meters = await q.query<{ id: string; premise_id: string; resource: Resource; status: string; decommissioned_on: string | null; next_verification_on: string | null }>(
    `SELECT id, premise_id, resource, status, decommissioned_on::text, next_verification_on::text FROM meters
      WHERE building_id = $1 AND placement = 'apartment' AND status <> 'removed' ORDER BY id`, [buildingId]);

  const sources = new Map<string, SourceRef[]>();
  const accounts: AccountBillingInput[] = [];
  for (const a of acc.rows) {
    const own = meters.rows.filter((m) => m.premise_id === a.premise_id && billable.has(m.resource));
    const inputs: MeterBillingInput[] = [];
    for (const m of own) {
      // A zone tariff is charged from the zone registers (energy_t1_kwh …); all of them are needed.
      const t = tariffFor(tariffs, m.resource, periodKey);
      const quantities = t.kind === 'zones' ? t.prices.map((_, i) => `energy_t${i + 1}_kwh`) : [primaryQuantity(m.resource)];
      const perQ = [];
      for (const qn of quantities) perQ.push(measured(await meterPoints(q, Number(m.id), qn, start, end), start, end));
      const complete = perQ.every((x) => x !== null);
      const value = !complete ? null : t.kind === 'zones' ? perQ.map((x) => x!.q) : perQ[0]!.q;
      if (complete) sources.set(m.id, perQ.flatMap((x) => x!.used.map((p) => ({ meterId: Number(m.id), time: p.time.toISOString(), version: p.version }))));
      const h = await meterHistory(q, Number(m.id), period);
      // An expired verification makes the meter unusable from that date (the fallback charges the rest).
      const unusableFrom = m.next_verification_on ? new Date(`${m.next_verification_on}T00:00:00Z`) : null;
      inputs.push({ meterId: m.id, resource: m.resource, measured: value, history: h.history, averagePeriodsUsed: h.averagePeriodsUsed, unusableFrom });
    }
    const metered = new Set(own.map((m) => m.resource));
    const unmetered = [...billable].filter((r) => !metered.has(r) && norms[r] !== undefined);
    // The accrual's period is the calendar month as dates (tariffs and rules are dated), not the local instants.
    accounts.push({ accountId: a.id, period: { start: periodKey, end: new Date(`${nextPeriod(period)}T00:00:00Z`) }, residents: Number(a.residents), meters: inputs, unmeteredResources: unmetered, norms, tariffs, rules });
  }
  return { orgId, period: { start, end }, tariffs, rules, accounts, sources };
}
