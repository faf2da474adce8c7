/**
 * The "signed statement outdated" alert: a signed month whose statement, computed now, has other
 * totals than were signed — an archive record back-filled late, a value corrected (a new version, by
 * an engineer, an import, an accepted quarantine entry) — raises `heat_statement_outdated` for the
 * building-month through the alerts core, naming each changed total as signed and as now and that the
 * month can be signed again with `correct: true`; a month that computes its signed totals again (it
 * was re-signed, or the change was undone) clears it.
 *
 * Why a sweep, not a check in the writers: a change can land through the ingest writer (archive
 * records and their values), the bulk reading writer, the single-row writers of entries, corrections
 * and imports (readings/write-store.ts), and quarantine acceptance — five insert points, and the next
 * path would be a sixth to forget. Readings and archive records are never overwritten (a change is a
 * new row), so the rows written since a month was last compared are the one dirty mark every path
 * leaves without knowing about it: `signedMonthsToCheck` (store.ts) reads it from `received_at` /
 * `created_at` against the sign-off's `outdated_checked_at`, looking only at the month's archive
 * instants. A row trigger would do per-row work on the readings hypertable, which migration 033 took off.
 * The comparison is the statement's own (service.ts heatStatement: `changedSinceSignOff`), so the
 * alert says exactly what the heat screen says.
 *
 * Not covered: a validation verdict (a rejected reading) does not change the statement — the
 * statement reads each value's latest version, not its verdict — so it raises nothing.
 */
import type { Database } from '../db/types.js';
import { clearAlert, heatStatementOutdatedMessage, heatStatementSubject, joinMessage, raiseAlert, severityOf, type ChannelTarget, type TotalChange } from '../alerts/index.js';
import { heatStatement } from './service.js';
import { databaseNow, markChecked, signedMonthsToCheck } from './store.js';

/** Rows are compared again for this long after a comparison (a write transaction may commit that late). */
export const OUTDATED_MARGIN = '10 minutes';

export interface OutdatedCheck {
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

/** Compares the signed months marked dirty with their statements now; raises, refreshes or clears their alerts. */
export async function checkSignedStatements(db: Database, o: { at: Date; channels: readonly ChannelTarget[]; limit?: number; margin?: string }): Promise<OutdatedCheck> {
  const started = await databaseNow(db);
  const out: OutdatedCheck = { checked: 0, outdated: 0, cleared: 0, skipped: [], notificationIds: [] };
  for (const m of await signedMonthsToCheck(db, o.margin ?? OUTDATED_MARGIN, o.limit ?? 200)) {
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
    // Signed again between the listing and now: the new version has its own (empty) mark.
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
  return out;
}
