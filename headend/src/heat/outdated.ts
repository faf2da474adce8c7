/**
 * The "signed statement outdated" alert: a signed month whose statement, computed now, has other
 * totals than were signed — an archive record back-filled late, a value corrected (a new version, by
 * an engineer, an import, an accepted quarantine entry), a record's heat amount rejected on review —
 * raises `heat_statement_outdated` for the building-month through the alerts core, naming each
 * changed total as signed and as now and that the month can be signed again with `correct: true`; a
 * month that computes its signed totals again (it was re-signed, or the change was undone) clears it.
 *
 * Driven by the dirty mark (readings/statement-marks.ts, migrations/047), not by polling the signed months: every
 * writer of what a statement reads marks the meter's day in its own transaction (one SQL, at each
 * table's one writer), and a sweep reads only
 *   - the marks, oldest first, with the signed months each touches (an index probe per mark), and
 *   - the signed months never compared since they were signed (a partial index: the sign-off computed
 *     its totals in its own transaction, so a value written meanwhile is caught by this first comparison);
 * recomputes those months only, raises/refreshes/clears their alerts, and removes the marks it took
 * unless they were marked again meanwhile (marked_at moved: kept for the next round). With nothing
 * marked and every month compared, a run reads no statement at all, however many months were signed.
 * A mark touching no signed month is dropped once older than `margin` (a sign-off committing after
 * the sweep read it is then caught by its first comparison); younger, it is kept for the next round.
 * The comparison is the statement's own (service.ts heatStatement: `changedSinceSignOff`), so the
 * alert says exactly what the heat screen says.
 */
import type { Database } from '../db/types.js';
import { clearAlert, heatStatementOutdatedMessage, heatStatementSubject, joinMessage, raiseAlert, severityOf, type ChannelTarget, type TotalChange } from '../alerts/index.js';
import { heatStatement } from './service.js';
import { clearMarks, databaseNow, markChecked, takeMarks, uncomparedSignedMonths, type SignedMonthToCheck } from './store.js';

/**
 * A mark touching no signed month is kept this long before it is dropped. A safety margin, not the
 * guarantee: a month signed after the sweep read such a mark is compared as never compared anyway, and
 * that comparison sees every value committed before it.
 */
export const OUTDATED_MARGIN = '10 minutes';

export interface OutdatedCheck {
  /** Dirty marks read this run (each an index probe of the sign-offs, no statement). */
  marks: number;
  /** Statements recomputed and compared. */
  checked: number;
  /** Building-months found outdated this run (alerts raised or refreshed). */
  outdated: number;
  /** Alerts cleared (the month computes its signed totals again). */
  cleared: number;
  /** Months whose statement could not be computed (e.g. the signed meter left the building), with why. */
  skipped: { buildingId: number; period: string; error: string }[];
  /** Alert notification rows written (raised or cleared), for the caller to enqueue. */
  notificationIds: number[];
}

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const numberOrNull = (v: unknown) => (typeof v === 'number' ? v : null);

/** Each total whose signed value differs from the one computed now, under the API's names (q_kwh, m1, …). */
export function changedTotals(signed: unknown, now: unknown): TotalChange[] {
  const a = (signed && typeof signed === 'object' ? signed : {}) as Record<string, unknown>;
  const b = (now && typeof now === 'object' ? now : {}) as Record<string, unknown>;
  // Sorted: jsonb gives the signed totals' keys back in its own order.
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => numberOrNull(a[k]) !== numberOrNull(b[k])).map((k) => ({ total: snake(k), signed: numberOrNull(a[k]), now: numberOrNull(b[k]) }));
}

/** Compares the signed months marked dirty (and those never compared) with their statements now; raises, refreshes or clears their alerts. */
export async function checkSignedStatements(db: Database, o: { at: Date; channels: readonly ChannelTarget[]; limit?: number; margin?: string }): Promise<OutdatedCheck> {
  const started = await databaseNow(db);
  const limit = o.limit ?? 200;
  const marks = await takeMarks(db, limit * 5, o.margin ?? OUTDATED_MARGIN);
  const out: OutdatedCheck = { marks: marks.length, checked: 0, outdated: 0, cleared: 0, skipped: [], notificationIds: [] };
  // Each month once, whether it was never compared, marked on several days, or both.
  const months = new Map<string, SignedMonthToCheck>();
  for (const m of [...await uncomparedSignedMonths(db, limit), ...marks.flatMap((k) => k.months)]) months.set(`${m.buildingId}|${m.period}`, m);
  for (const m of months.values()) {
    out.checked++;
    const subject = heatStatementSubject(m.buildingId, m.period);
    let s;
    try {
      s = await heatStatement(db, m.buildingId, m.period, m.meterId);
    } catch (e) {
      out.skipped.push({ buildingId: m.buildingId, period: m.period, error: (e as Error).message });
      await markChecked(db, m, started);
      continue;
    }
    const signOff = s.signOff;
    // Signed again between the listing and now: the new version is compared as never compared.
    if (!signOff || signOff.version !== m.version) continue;
    if (s.changedSinceSignOff) {
      const changes = changedTotals(signOff.totals, s.statement.totals);
      const message = heatStatementOutdatedMessage({ buildingId: m.buildingId, address: s.building.address, period: m.period, version: signOff.version, signedBy: signOff.by, signedAt: signOff.at, changes });
      const raised = await raiseAlert(db, {
        kind: 'heat_statement_outdated', subject, buildingId: m.buildingId, meterId: m.meterId, resource: 'heat', severity: severityOf('heat_statement_outdated'),
        message: joinMessage(message), data: { month: m.period, version: signOff.version, signed_by: signOff.by, signed_at: signOff.at, changes },
      }, o.at, o.channels);
      out.notificationIds.push(...raised.notificationIds);
      out.outdated++;
    } else {
      const cleared = await clearAlert(db, 'heat_statement_outdated', subject, o.at, `version ${signOff.version} matches the statement`, o.channels);
      if (cleared) {
        out.cleared++;
        out.notificationIds.push(...cleared.notificationIds);
      }
    }
    await markChecked(db, m, started);
  }
  // Every month a mark touches is compared now (its values were committed with the mark); a mark of no
  // signed month goes once it is older than the margin. A mark renewed since it was taken stays.
  await clearMarks(db, marks.filter((k) => k.months.length > 0 || k.old));
  return out;
}
