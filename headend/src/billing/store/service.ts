/**
 * Accrual runs and period close. A building's month = the individual accruals (inputs.ts + the pure
 * accrueAccount), the common-house volume (common-house.ts) and heating by area (heating.ts).
 * Inputs are read BEFORE the transaction that writes lines (one
 * embedded connection: never the pool inside tx). Recomputing an open period replaces its regular
 * lines; a closed period is never written again: recomputing it yields adjustment lines (reversal +
 * recalculated, by the pure adjustmentLines) in the next open period.
 */
import { createHash } from 'node:crypto';
import type { Database, Queryable } from '../../db/types.js';
import { accrueAccount, adjustmentLines, sumKopecks, type AccrualLine, type AdjustmentLine } from '../index.js';
import { BillingError, loadBuildingInputs, nextPeriod, type SourceRef } from './inputs.js';
import { commonHouseLines, type CommonHouseSummary, type StorableLine } from './common-house.js';
import { heatingLines, type HeatingSummary } from './heating.js';

export type StoredLine = StorableLine & {
  id: number;
  period: string;
  buildingId: number;
  kind: 'regular' | 'adjustment';
  adjustmentKind: 'reversal' | 'recalculated' | null;
  adjustsPeriod: string | null;
  exportId: string;
};

/** Deterministic: the same line of the same run keeps its id across recomputes and pulls. */
export function exportId(parts: ReadonlyArray<string | number | null>): string {
  return createHash('sha256').update(parts.map((p) => String(p ?? '')).join('|')).digest('hex').slice(0, 32);
}

async function ensureOpenPeriod(q: Queryable, orgId: number, period: string): Promise<'open' | 'closed'> {
  await q.query('INSERT INTO billing_periods (org_id, period) VALUES ($1, $2) ON CONFLICT DO NOTHING', [orgId, period]);
  const { rows } = await q.query<{ status: 'open' | 'closed' }>('SELECT status FROM billing_periods WHERE org_id = $1 AND period = $2', [orgId, period]);
  return rows[0].status;
}

/** A month's status for an organisation: null before anything was computed for it. */
export async function periodStatus(q: Queryable, orgId: number, period: string): Promise<'open' | 'closed' | null> {
  const { rows } = await q.query<{ status: 'open' | 'closed' }>('SELECT status FROM billing_periods WHERE org_id = $1 AND period = $2', [orgId, period]);
  return rows[0]?.status ?? null;
}

async function computeLines(db: Queryable, buildingId: number, period: string): Promise<{
  orgId: number; lines: StorableLine[]; sources: Map<string, SourceRef[]>; commonHouse: CommonHouseSummary[]; heating: HeatingSummary | null;
}> {
  const inputs = await loadBuildingInputs(db, buildingId, period);
  const lines = inputs.accounts.flatMap((a) => {
    try {
      return accrueAccount(a);
    } catch (e) {
      // Missing tariff / norm / zone readings: name the account so the setting can be fixed.
      throw new BillingError('invalid', `account ${a.accountId}: ${(e as Error).message}`);
    }
  });
  const ctx = { buildingId, orgId: inputs.orgId, period, start: inputs.period.start, end: inputs.period.end, tariffs: inputs.tariffs, rules: inputs.rules, heatingByArea: inputs.heatingByArea };
  let common: { lines: StorableLine[]; summaries: CommonHouseSummary[] };
  try {
    common = await commonHouseLines(db, ctx, lines);
  } catch (e) {
    throw new BillingError('invalid', `common-house volume of building ${buildingId}: ${(e as Error).message}`);
  }
  let heating: { lines: StorableLine[]; summary: HeatingSummary | null };
  try {
    heating = await heatingLines(db, ctx);
  } catch (e) {
    throw new BillingError('invalid', `heating by area of building ${buildingId}: ${(e as Error).message}`);
  }
  return { orgId: inputs.orgId, lines: [...lines, ...common.lines, ...heating.lines], sources: inputs.sources, commonHouse: common.summaries, heating: heating.summary };
}

type InsertableLine = StorableLine | (AdjustmentLine & Pick<StorableLine, 'heatingMethod'>);
interface LineRow { line: InsertableLine; sources: SourceRef[]; exportId: string; adj: { kind: string; correctsPeriod: string } | null }

/** A run's lines in one INSERT (in order, so ids follow the run's order), not one statement per line. */
async function insertLines(q: Queryable, orgId: number, period: string, buildingId: number, rows: readonly LineRow[]): Promise<void> {
  if (rows.length === 0) return;
  const json = rows.map(({ line: l, sources, exportId: eid, adj }) => ({
    account_id: l.accountId, resource: l.resource, meter_id: l.meterId, method: l.method, quantity: l.quantity, parts: l.parts, amount_kop: l.amount,
    note: l.note ?? null, sources, kind: adj ? 'adjustment' : 'regular', adjustment_kind: adj?.kind ?? null, adjusts_period: adj?.correctsPeriod ?? null,
    export_id: eid, heating_method: ('heatingMethod' in l ? l.heatingMethod : null) ?? null,
  }));
  await q.query(
    `INSERT INTO accrual_lines (org_id, period, building_id, account_id, resource, meter_id, method, quantity, parts, amount_kop, note, sources, kind, adjustment_kind, adjusts_period, export_id, heating_method)
     SELECT $1, $2, $3, (x->>'account_id')::bigint, x->>'resource', (x->>'meter_id')::bigint, x->>'method', (x->>'quantity')::double precision, x->'parts',
            (x->>'amount_kop')::bigint, x->>'note', x->'sources', x->>'kind', x->>'adjustment_kind', (x->>'adjusts_period')::date, x->>'export_id', x->>'heating_method'
       FROM jsonb_array_elements($4::jsonb) WITH ORDINALITY AS e(x, n) ORDER BY n`,
    [orgId, period, buildingId, JSON.stringify(json)],
  );
}

const occurrence = () => {
  const seen = new Map<string, number>();
  return (k: string) => { const n = seen.get(k) ?? 0; seen.set(k, n + 1); return n; };
};

/** Computes a building's month and stores it; an open period's regular lines are replaced. */
export async function computePeriod(db: Database, buildingId: number, period: string): Promise<{
  orgId: number; lines: number; amountKop: number; commonHouse: CommonHouseSummary[]; heating: HeatingSummary | null;
}> {
  const { orgId, lines, sources, commonHouse, heating } = await computeLines(db, buildingId, period);
  await db.tx(async (q) => {
    if (await ensureOpenPeriod(q, orgId, period) === 'closed') {
      throw new BillingError('closed', `period ${period.slice(0, 7)} is closed: recompute it as a recalculation (adjustments go to the next open period)`);
    }
    await q.query(`DELETE FROM accrual_lines WHERE org_id = $1 AND period = $2 AND building_id = $3 AND kind = 'regular'`, [orgId, period, buildingId]);
    const nth = occurrence();
    await insertLines(q, orgId, period, buildingId, lines.map((l) => {
      const k = `${l.accountId}|${l.resource}|${l.meterId ?? ''}`;
      return { line: l, sources: l.meterId && l.method === 'measured' ? (sources.get(l.meterId) ?? []) : [], exportId: exportId([orgId, period, 'regular', k, nth(k)]), adj: null };
    }));
  });
  return { orgId, lines: lines.length, amountKop: sumKopecks(lines.map((l) => l.amount)), commonHouse, heating };
}

export async function closePeriod(db: Database, orgId: number, period: string, by: string): Promise<void> {
  await db.tx(async (q) => {
    const st = await periodStatus(q, orgId, period);
    if (st === null) throw new BillingError('not_found', `period ${period.slice(0, 7)} has no accruals for organisation ${orgId}`);
    if (st === 'closed') throw new BillingError('closed', `period ${period.slice(0, 7)} is already closed`);
    await q.query(`UPDATE billing_periods SET status = 'closed', closed_at = now(), closed_by = $3 WHERE org_id = $1 AND period = $2`, [orgId, period, by]);
  });
}

/** An accrual_lines row as LINE_COLUMNS selects it (bigint and numeric columns arrive as strings). */
export interface LineDbRow {
  id: string | number; period: string; building_id: string | number; account_id: string | number; resource: StoredLine['resource'];
  meter_id: string | number | null; method: StoredLine['method']; quantity: string | number; parts: StoredLine['parts']; amount_kop: string | number;
  note: string | null; kind: StoredLine['kind']; adjustment_kind: StoredLine['adjustmentKind']; adjusts_period: string | null; export_id: string;
  heating_method: StoredLine['heatingMethod'] | null;
}
export function rowToLine(r: LineDbRow): StoredLine {
  return {
    id: Number(r.id), period: r.period, buildingId: Number(r.building_id), accountId: String(r.account_id), resource: r.resource,
    meterId: r.meter_id === null ? null : String(r.meter_id), method: r.method, quantity: Number(r.quantity), parts: r.parts,
    amount: Number(r.amount_kop), ...(r.note ? { note: r.note } : {}), ...(r.heating_method ? { heatingMethod: r.heating_method } : {}), kind: r.kind, adjustmentKind: r.adjustment_kind,
    adjustsPeriod: r.adjusts_period, exportId: r.export_id,
  };
}
export const LINE_COLUMNS = `id, to_char(period, 'YYYY-MM-DD') AS period, building_id, account_id, resource, meter_id, method, quantity, parts, amount_kop, note,
  kind, adjustment_kind, to_char(adjusts_period, 'YYYY-MM-DD') AS adjusts_period, export_id, heating_method`;

/**
 * The lines of an organisation's month, optionally of one building, only of the buildings the caller
 * sees (`buildingIds` null: all), in building, account, id order.
 */
export async function listLines(q: Queryable, f: {
  orgId: number; period: string; buildingId?: number; resource?: string; method?: StoredLine['method']; buildingIds: ReadonlySet<number> | null;
}): Promise<StoredLine[]> {
  const params: unknown[] = [f.orgId, f.period];
  let where = 'org_id = $1 AND period = $2';
  if (f.buildingId !== undefined) { params.push(f.buildingId); where += ` AND building_id = $${params.length}`; }
  if (f.resource !== undefined) { params.push(f.resource); where += ` AND resource = $${params.length}`; }
  if (f.method !== undefined) { params.push(f.method); where += ` AND method = $${params.length}`; }
  if (f.buildingIds !== null) { params.push([...f.buildingIds]); where += ` AND building_id = ANY($${params.length}::bigint[])`; }
  const { rows } = await q.query<LineDbRow>(`SELECT ${LINE_COLUMNS} FROM accrual_lines WHERE ${where} ORDER BY building_id, account_id, id`, params);
  return rows.map(rowToLine);
}

/**
 * What lines add up to, per building and in all: sums of the rounded lines' kopecks (never of
 * unrounded amounts), so a bill's total is the total of its lines.
 */
export function lineTotals(lines: readonly StoredLine[]): { amount: number; buildings: Array<{ buildingId: number; lines: number; amount: number }> } {
  const by = new Map<number, number[]>();
  for (const l of lines) {
    const list = by.get(l.buildingId) ?? [];
    list.push(l.amount);
    by.set(l.buildingId, list);
  }
  return {
    amount: sumKopecks(lines.map((l) => l.amount)),
    buildings: [...by].map(([buildingId, ks]) => ({ buildingId, lines: ks.length, amount: sumKopecks(ks) })),
  };
}

/** A month of an organisation: open or closed (and by whom, when), or never computed (null). */
export async function periodState(q: Queryable, orgId: number, period: string): Promise<{ status: 'open' | 'closed'; closedAt: string | null; closedBy: string | null } | null> {
  const { rows } = await q.query<{ status: 'open' | 'closed'; closed_at: Date | string | null; closed_by: string | null }>(
    'SELECT status, closed_at, closed_by FROM billing_periods WHERE org_id = $1 AND period = $2', [orgId, period]);
  const r = rows[0];
  if (!r) return null;
  return { status: r.status, closedAt: r.closed_at === null ? null : new Date(r.closed_at).toISOString(), closedBy: r.closed_by };
}

/**
 * Recomputes a CLOSED period (after a late or corrected reading) and books the difference as
 * adjustment lines in the first open period after it. What the closed period currently stands at is
 * its regular lines, each key superseded by its latest recalculation; a second run with nothing new
 * adds nothing.
 */
export async function recalculateClosed(db: Database, buildingId: number, period: string): Promise<{ target: string; lines: number; amountKop: number }> {
  const { orgId, lines } = await computeLines(db, buildingId, period);
  return db.tx(async (q) => {
    if (await periodStatus(q, orgId, period) !== 'closed') throw new BillingError('invalid', `period ${period.slice(0, 7)} is not closed: compute it instead`);
    const { rows } = await q.query<LineDbRow & { computed_at: Date }>(`SELECT ${LINE_COLUMNS}, computed_at FROM accrual_lines WHERE org_id = $1 AND building_id = $2
       AND ((period = $3 AND kind = 'regular') OR (adjusts_period = $3 AND adjustment_kind = 'recalculated')) ORDER BY id`, [orgId, buildingId, period]);
    const key = (l: StorableLine) => `${l.accountId}|${l.resource}|${l.meterId ?? ''}`;
    // Latest batch of each key wins: a recalculation supersedes the original and earlier ones. Lines
    // written by one run share computed_at (now() is the transaction's time).
    const current = new Map<string, { at: number; lines: StoredLine[] }>();
    for (const r of rows) {
      const l = rowToLine(r);
      const at = l.kind === 'regular' ? 0 : new Date(r.computed_at).getTime();
      const c = current.get(key(l));
      if (!c || at > c.at) current.set(key(l), { at, lines: [l] });
      else if (at === c.at) c.lines.push(l);
    }
    const original = [...current.values()].flatMap((c) => c.lines);
    // adjustmentLines compares methods only for equality, so a 'common_house' method passes through as is.
    const adj = adjustmentLines(new Date(`${period}T00:00:00Z`), original as AccrualLine[], lines as AccrualLine[]);
    let target = nextPeriod(period);
    while (await ensureOpenPeriod(q, orgId, target) === 'closed') target = nextPeriod(target);
    const gen = (await q.query<{ n: string }>(`SELECT count(*) AS n FROM accrual_lines WHERE org_id = $1 AND building_id = $2 AND adjusts_period = $3`, [orgId, buildingId, period])).rows[0].n;
    const nth = occurrence();
    await insertLines(q, orgId, target, buildingId, adj.map((l) => {
      const k = `${l.kind}|${key(l)}`;
      return { line: l, sources: [], exportId: exportId([orgId, target, 'adjustment', period, gen, k, nth(k)]), adj: { kind: l.kind, correctsPeriod: period } };
    }));
    return { target, lines: adj.length, amountKop: sumKopecks(adj.map((l) => l.amount)) };
  });
}
