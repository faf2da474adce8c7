/**
 * Pure decisions: which subjects are silent, which imbalance reports raise or clear an alert, which
 * severity an alert has. No I/O here; the check job and the imbalance hook feed these functions rows
 * they read and act on what comes back.
 */
import type { ImbalanceStatus } from '../vee/index.js';
import type { PeriodKind, StoredImbalanceStatus } from '../imbalance/types.js';

export type AlertKind = 'imbalance' | 'meter_silent' | 'gateway_silent' | 'policy_job' | 'access_code_key' | 'heat_delivery_failed' | 'heat_mail_failed' | 'heat_statement_outdated';
export type Severity = 'info' | 'warning' | 'critical';
export type AlertAction = 'raise' | 'clear' | 'none';

export const meterSubject = (meterId: number) => `meter:${meterId}`;
export const gatewaySubject = (gatewayId: string) => `gateway:${gatewayId}`;
export const imbalanceSubject = (buildingId: number, resource: string) => `building:${buildingId}:${resource}`;
/** A TimescaleDB policy by what it does and to which table: the job id changes when a policy is re-added. */
export const policyJobSubject = (proc: string, table: string) => `policy:${proc}:${table}`;
/** Residents' access codes hashed under another key than the head-end's: one subject for the whole head-end. */
export const ACCESS_CODE_KEY_SUBJECT = 'access-codes:key';
/**
 * A signed month's statement that an exchange configuration could not deliver: per configuration,
 * building and month, not per version, so a corrected version that fails too refreshes the one alert
 * and a version delivered later clears it.
 */
export const heatDeliverySubject = (configId: number, buildingId: number, period: string) => `heat-delivery:${configId}:${buildingId}:${period}`;
/**
 * A signed month whose e-mail to the heat supplier used up its attempts: per building and month, not
 * per version, so a corrected version whose mail fails too refreshes the one alert.
 */
export const heatMailSubject = (buildingId: number, period: string) => `heat-mail:${buildingId}:${period}`;
/** A signed month whose statement now computes other totals than were signed. */
export const heatStatementSubject = (buildingId: number, period: string) => `heat-statement:${buildingId}:${period}`;

/** The instant before which a subject last seen counts as silent: now − minutes. */
export function silenceCutoff(now: Date, minutes: number): Date {
  return new Date(now.getTime() - minutes * 60_000);
}

/**
 * Silent = watched and not heard from for MORE than `minutes` at `now`. A subject never seen is
 * judged from when it was registered (created_at), so a meter or gateway that never reported raises
 * an alert once it has had the full grace period. A timestamp in the future (clock skew) is not silent.
 */
export function isSilent(s: { lastSeenAt: Date | null; createdAt: Date }, now: Date, minutes: number): boolean {
  const since = s.lastSeenAt ?? s.createdAt;
  return since.getTime() < silenceCutoff(now, minutes).getTime();
}

/** A meter or gateway as the check job reads it, with the open alert it already has (if any). */
export interface WatchedSubject<Id> {
  id: Id;
  /** Still to be watched: meters remote-read and active, gateways active. Unwatched ones only clear. */
  watched: boolean;
  lastSeenAt: Date | null;
  createdAt: Date;
  openAlertId: number | null;
  /**
   * Meters only: every gateway the meter is currently bound to has an open gateway_silent alert.
   * Its silence is then already reported (one gateway alert instead of one per meter behind it), so
   * it raises nothing new; an alert it already has stays open.
   */
  coveredByGateway?: boolean;
}

export interface SilenceDecision<Id> { raise: Id[]; clear: Id[] }

/**
 * Raise for silent subjects without an open alert; clear open alerts whose subject was heard from
 * again or is no longer watched (decommissioned meter, disabled gateway: the condition the alert
 * described no longer applies). Silent with an open alert: nothing (no repeated notifications). Silent behind a silent gateway:
 * nothing yet (see `coveredByGateway`); if the gateway comes back and the meter does not, it is raised then.
 */
export function decideSilence<Id>(subjects: readonly WatchedSubject<Id>[], now: Date, minutes: number): SilenceDecision<Id> {
  const out: SilenceDecision<Id> = { raise: [], clear: [] };
  for (const s of subjects) {
    const silent = s.watched && isSilent(s, now, minutes);
    if (silent && s.openAlertId === null) {
      if (!s.coveredByGateway) out.raise.push(s.id);
    }
    else if (!silent && s.openAlertId !== null) out.clear.push(s.id);
  }
  return out;
}

/** The parts of a stored imbalance report the alert decision looks at. */
export interface ImbalanceAlertInput {
  periodKind: PeriodKind;
  periodStart: Date;
  status: StoredImbalanceStatus;
}

/**
 * What a stored imbalance report does to the alert of its building × resource.
 *
 * - Only `month` reports alert: day/hour imbalance is too noisy (meters report at different moments
 *   within a day) and a month is the period losses are judged and billed by.
 * - Only the LATEST month stored for the building × resource counts (`latestMonthStart`, null when no
 *   month report is stored yet = this one is the latest). Recomputing an older month (a late reading,
 *   a correction) must not reopen or close today's alert.
 * - high_loss / negative_imbalance → raise (an open alert is refreshed with the new figures, not
 *   duplicated, and not notified again).
 * - ok → clear.
 * - insufficient_data → neither. Missing data is not a loss, so it does not raise (silent meters have
 *   their own alert); and it is no evidence that an existing loss has gone, so an open alert stays open
 *   until a month with enough data says ok. In particular the first days of a new month (little data
 *   yet) do not clear last month's alert.
 * - not_applicable (a resource billed by area: no apartment side) → clear. It never raises; an alert
 *   raised before the building was known to be heated by area was a false one.
 *
 * The decision depends on the report's own status, not on the previous version's: the alerts table is
 * the state, and raise/clear are idempotent, so a missed or repeated call converges to the same result.
 */
export function decideImbalance(report: ImbalanceAlertInput, latestMonthStart: Date | null): AlertAction {
  if (report.periodKind !== 'month') return 'none';
  if (latestMonthStart !== null && report.periodStart.getTime() < latestMonthStart.getTime()) return 'none';
  switch (report.status) {
    case 'high_loss':
    case 'negative_imbalance':
      return 'raise';
    case 'ok':
      return 'clear';
    case 'insufficient_data':
      return 'none';
    case 'not_applicable':
      return 'clear';
  }
}

/**
 * A silent gateway is critical: every meter behind it goes dark at once. A silent meter or an
 * imbalance is a warning: one value missing or one building's figures to look into. A stopped policy
 * job is a warning while the head-end runs it itself (policy-jobs/judge.ts makes it critical when
 * that fails too).
 */
export function severityOf(kind: AlertKind): Severity {
  return kind === 'gateway_silent' ? 'critical' : 'warning';
}

export type ImbalanceAlertStatus = Extract<ImbalanceStatus, 'high_loss' | 'negative_imbalance'>;
