/**
 * Closed periods are never rewritten. When a late or corrected reading changes a closed period's
 * result, the next open period gets a reversal of each affected original line and the recomputed
 * line, both named as a recalculation (перерасчёт) of the closed period.
 */
import type { AccrualLine } from './accrual.js';
import { sumKopecks } from './money.js';

export interface AdjustmentLine extends AccrualLine {
  kind: 'reversal' | 'recalculated';
  /** The closed period this line corrects (its start, ISO date). */
  correctsPeriod: string;
}

const key = (l: AccrualLine) => `${l.accountId}|${l.resource}|${l.meterId ?? ''}`;

export function adjustmentLines(closedPeriodStart: Date, original: readonly AccrualLine[], recomputed: readonly AccrualLine[]): AdjustmentLine[] {
  const correctsPeriod = closedPeriodStart.toISOString().slice(0, 10);
  const group = (ls: readonly AccrualLine[]) => {
    const m = new Map<string, AccrualLine[]>();
    for (const l of ls) m.set(key(l), [...(m.get(key(l)) ?? []), l]);
    return m;
  };
  const before = group(original);
  const after = group(recomputed);
  const out: AdjustmentLine[] = [];
  for (const k of new Set([...before.keys(), ...after.keys()])) {
    const b = before.get(k) ?? [];
    const a = after.get(k) ?? [];
    const sum = (ls: AccrualLine[]) => sumKopecks(ls.map((l) => l.amount));
    const sameQ = (x: AccrualLine[], y: AccrualLine[]) => x.length === y.length && x.every((l, i) => l.quantity === y[i].quantity && l.method === y[i].method);
    if (sum(b) === sum(a) && sameQ(b, a)) continue;
    for (const l of b) out.push({ ...l, kind: 'reversal', correctsPeriod, quantity: -l.quantity, amount: -l.amount, parts: l.parts.map((p) => ({ ...p, quantity: -p.quantity, amount: -p.amount })) });
    for (const l of a) out.push({ ...l, kind: 'recalculated', correctsPeriod });
  }
  return out;
}
