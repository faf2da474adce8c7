/**
 * The SQL of the heat statement: the building and its heat meters, a month's archive records of one
 * meter (meter_archive_ns for the records' kind, interval and НС codes; the readings for their values,
 * stored under the record kind's names (archiveQuantity: a daily record's are the day names),
 * the latest version of each; whether the record's heat amount is rejected on review), and the
 * statement's sign-off. Read-only but for the sign-off.
 */
import { archiveQuantity } from '@amr/protocols';
import type { Queryable } from '../db/types.js';
import { RECORD_QUANTITIES, type LoadedRecord, type RecordQuantity } from './statement.js';
import { STATEMENT_QUANTITIES } from '../readings/statement-marks.js';

export interface StatementBuilding { id: number; orgId: number; address: string; timezone: string; orgName: string }

export async function loadBuilding(q: Queryable, buildingId: number): Promise<StatementBuilding | null> {
  const { rows } = await q.query<{ id: string; org_id: string; address: string; timezone: string; org_name: string }>(
    `SELECT b.id, b.org_id, b.address, b.timezone, o.name AS org_name FROM buildings b JOIN organisations o ON o.id = b.org_id WHERE b.id = $1`, [buildingId]);
  const r = rows[0];
  return r ? { id: Number(r.id), orgId: Number(r.org_id), address: r.address, timezone: r.timezone, orgName: r.org_name } : null;
}

export interface HeatMeter { id: number; serial: string; make: string; model: string | null; place: string | null; status: string; records: number }

/** The building's heat meters (placement 'building'), each with its count of archive records in [from, to). */
export async function buildingHeatMeters(q: Queryable, buildingId: number, from: Date, to: Date): Promise<HeatMeter[]> {
  const { rows } = await q.query<{ id: string; serial_number: string; make: string; model: string | null; place: string | null; status: string; records: number }>(
    `SELECT m.id, m.serial_number, m.make, m.model, m.place, m.status,
            (SELECT count(*)::int FROM meter_archive_ns n WHERE n.meter_id = m.id AND n.time >= $2::timestamptz - interval '1 day' AND n.time < $3::timestamptz + interval '1 day') AS records
       FROM meters m WHERE m.building_id = $1 AND m.placement = 'building' AND m.resource = 'heat' ORDER BY m.id`,
    [buildingId, from, to]);
  return rows.map((r) => ({ id: Number(r.id), serial: r.serial_number, make: r.make, model: r.model, place: r.place, status: r.status, records: r.records }));
}

/** What a record of each kind stores its values under (the hourly names, and the daily record's day names). */
const STORED_NAMES = STATEMENT_QUANTITIES;

/** The month 'YYYY-MM' of a time zone as instants [from, to). */
export async function monthBounds(q: Queryable, period: string, timezone: string): Promise<{ from: Date; to: Date }> {
  const { rows } = await q.query<{ f: Date; t: Date }>(
    `SELECT ($1::date)::timestamp AT TIME ZONE $2 AS f, (($1::date) + interval '1 month')::timestamp AT TIME ZONE $2 AS t`, [`${period}-01`, timezone]);
  return { from: new Date(rows[0].f), to: new Date(rows[0].t) };
}

/**
 * The archive records of one meter starting in [from, to), both kinds, with their local start and end
 * in `timezone` and the values stored at the record's instant (latest version of each quantity).
 */
export async function loadRecords(q: Queryable, meterId: number, from: Date, to: Date, timezone: string): Promise<LoadedRecord[]> {
  const { rows } = await q.query<{ kind: 'hourly' | 'daily'; start: Date; seconds: number; local_start: string; local_end: string; codes: string[]; vals: Record<string, number | null> | null;
    rejected_by: string | null; rejected_reason: string | null }>(
    `WITH n AS (
       SELECT n.time, n.kind, n.seconds, n.codes,
              CASE WHEN n.stamp = 'end' THEN n.time - make_interval(secs => n.seconds) ELSE n.time END AS start
         FROM meter_archive_ns n
        WHERE n.meter_id = $1 AND n.time >= $2::timestamptz - interval '1 day' AND n.time < $3::timestamptz + interval '1 day'),
     v AS (
       SELECT DISTINCT ON (r.time, r.quantity) r.time, r.quantity, r.value
         FROM readings r
        WHERE r.meter_id = $1 AND r.time IN (SELECT time FROM n) AND r.quantity = ANY($5::text[])
        ORDER BY r.time, r.quantity, r.version DESC)
     SELECT n.kind, n.start, n.seconds, n.codes,
            to_char(n.start AT TIME ZONE $4, 'YYYY-MM-DD"T"HH24:MI') AS local_start,
            to_char((n.start + make_interval(secs => n.seconds)) AT TIME ZONE $4, 'YYYY-MM-DD"T"HH24:MI') AS local_end,
            (SELECT json_object_agg(v.quantity, v.value) FROM v WHERE v.time = n.time) AS vals,
            rv.reviewed_by AS rejected_by, rv.reason AS rejected_reason
       FROM n
       -- The latest review of the current version of the record's heat amount, when it is a rejection
       -- (NOT_REJECTED_SQL's rule of the readings core, for the one row a record is reviewed by).
       LEFT JOIN LATERAL (
         SELECT w.decision, w.reviewed_by, w.reason FROM reading_reviews w
          WHERE w.meter_id = $1 AND w.quantity = CASE n.kind WHEN 'daily' THEN $6 ELSE $7 END AND w.time = n.time
            AND w.version = (SELECT max(x.version) FROM readings x WHERE x.meter_id = $1 AND x.quantity = CASE n.kind WHEN 'daily' THEN $6 ELSE $7 END AND x.time = n.time)
          ORDER BY w.reviewed_at DESC, w.id DESC LIMIT 1) rv ON rv.decision = 'reject'
      WHERE n.start >= $2 AND n.start < $3
      ORDER BY n.start, n.kind`,
    [meterId, from, to, timezone, STORED_NAMES, archiveQuantity('energy_delta_kwh', 'daily'), archiveQuantity('energy_delta_kwh', 'hourly')]);
  return rows.map((r) => {
    // A daily and an hourly record may share the instant: each takes its own kind's names only.
    const values: Partial<Record<RecordQuantity, number | null>> = {};
    for (const k of RECORD_QUANTITIES) {
      const stored = archiveQuantity(k, r.kind);
      if (r.vals && stored in r.vals) values[k] = r.vals[stored] === null ? null : Number(r.vals[stored]);
    }
    return {
      kind: r.kind, startMs: new Date(r.start).getTime(), seconds: Number(r.seconds), localStart: r.local_start, localEnd: r.local_end, codes: r.codes ?? [], values,
      rejected: r.rejected_by !== null ? { by: r.rejected_by, reason: r.rejected_reason ?? '' } : null,
    };
  });
}

export interface ArchiveMeter { id: number; serial: string; resource: string; buildingId: number; timezone: string; records: number }

/** A meter with its building's time zone and its count of archive records of all time; null when no such meter. */
export async function loadArchiveMeter(q: Queryable, meterId: number): Promise<ArchiveMeter | null> {
  const { rows } = await q.query<{ id: string; serial_number: string; resource: string; building_id: string; timezone: string; records: number }>(
    `SELECT m.id, m.serial_number, m.resource, m.building_id, b.timezone,
            (SELECT count(*)::int FROM meter_archive_ns n WHERE n.meter_id = m.id) AS records
       FROM meters m JOIN buildings b ON b.id = m.building_id WHERE m.id = $1`, [meterId]);
  const r = rows[0];
  return r ? { id: Number(r.id), serial: r.serial_number, resource: r.resource, buildingId: Number(r.building_id), timezone: r.timezone, records: r.records } : null;
}

export interface SignOff {
  by: string; at: string; meterId: number; totals: unknown; emailTo: string | null; sentAt: string | null; sendError: string | null;
  /** 1, or more when the month was signed again (a corrected statement). */
  version: number;
  /** The version this one replaces (who signed it, when), null for the first. */
  replaces: { version: number; by: string; at: string } | null;
  /** The mail's attempts of its current series; whether a run holds an attempt now. */
  sendAttempts: number; sending: boolean;
  /** 1, or more after "send again" started a fresh series of mail attempts; who started the last one, when and why. */
  sendSeries: number; resent: { by: string; at: string; reason: string } | null;
}

export async function loadSignOff(q: Queryable, buildingId: number, period: string): Promise<SignOff | null> {
  const { rows } = await q.query<{ signed_by: string; signed_at: Date; meter_id: string; totals: unknown; email_to: string | null; sent_at: Date | null; send_error: string | null; version: number; prev_by: string | null; prev_at: Date | null;
    send_attempts: number; sending: boolean; send_series: number; resent_by: string | null; resent_at: Date | null; resend_reason: string | null }>(
    `SELECT s.signed_by, s.signed_at, s.meter_id, s.totals, s.email_to, s.sent_at, s.send_error, s.version, p.signed_by AS prev_by, p.signed_at AS prev_at,
            s.send_attempts, COALESCE(s.sending_until > now(), false) AS sending, s.send_series, s.resent_by, s.resent_at, s.resend_reason
       FROM heat_statement_signoffs s
       LEFT JOIN heat_statement_signoff_versions p ON p.building_id = s.building_id AND p.period = s.period AND p.version = s.version - 1
      WHERE s.building_id = $1 AND s.period = $2::date`, [buildingId, `${period}-01`]);
  const r = rows[0];
  return r ? {
    by: r.signed_by, at: new Date(r.signed_at).toISOString(), meterId: Number(r.meter_id), totals: r.totals,
    emailTo: r.email_to, sentAt: r.sent_at ? new Date(r.sent_at).toISOString() : null, sendError: r.send_error, version: Number(r.version),
    replaces: r.prev_by && r.prev_at ? { version: Number(r.version) - 1, by: r.prev_by, at: new Date(r.prev_at).toISOString() } : null,
    sendAttempts: Number(r.send_attempts), sending: r.sending === true, sendSeries: Number(r.send_series),
    resent: r.resent_by && r.resent_at ? { by: r.resent_by, at: new Date(r.resent_at).toISOString(), reason: r.resend_reason ?? '' } : null,
  } : null;
}

/**
 * Signs a signed month again (a corrected statement): the current version is kept as it was signed in
 * heat_statement_signoff_versions, the row becomes version + 1 with the new signer and totals, and its
 * mail is due again. False when the month's version is no longer `version` (signed again meanwhile).
 */
export async function replaceSignOff(q: Queryable, s: { buildingId: number; period: string; version: number; meterId: number; by: string; byUserId: number | null; at: Date; totals: unknown; emailTo: string | null }): Promise<boolean> {
  const { rows } = await q.query(
    `WITH old AS (
       INSERT INTO heat_statement_signoff_versions (building_id, period, version, meter_id, signed_by, signed_by_user_id, signed_at, totals, replaced_at)
       SELECT building_id, period, version, meter_id, signed_by, signed_by_user_id, signed_at, totals, $7 FROM heat_statement_signoffs
        WHERE building_id = $1 AND period = $2::date AND version = $3
       RETURNING version)
     UPDATE heat_statement_signoffs s
        SET version = s.version + 1, meter_id = $4, signed_by = $5, signed_by_user_id = $6, signed_at = $7, totals = $8::jsonb,
            email_to = COALESCE($9, s.email_to), sent_at = NULL, send_attempts = 0, send_error = NULL, sending_until = NULL,
            send_series = 1, resent_by = NULL, resent_at = NULL, resend_reason = NULL, outdated_checked_at = NULL
      WHERE s.building_id = $1 AND s.period = $2::date AND s.version = $3 AND EXISTS (SELECT 1 FROM old)
      RETURNING s.version`,
    [s.buildingId, `${s.period}-01`, s.version, s.meterId, s.by, s.byUserId, s.at, JSON.stringify(s.totals), s.emailTo]);
  return rows.length === 1;
}

/** Stores the sign-off; false when the month was signed already (the first one stays). */
export async function insertSignOff(q: Queryable, s: { buildingId: number; period: string; meterId: number; by: string; byUserId: number | null; at: Date; totals: unknown; emailTo: string | null }): Promise<boolean> {
  const { rows } = await q.query(
    `INSERT INTO heat_statement_signoffs (building_id, period, meter_id, signed_by, signed_by_user_id, signed_at, totals, email_to)
     VALUES ($1, $2::date, $3, $4, $5, $6, $7::jsonb, $8) ON CONFLICT DO NOTHING RETURNING building_id`,
    [s.buildingId, `${s.period}-01`, s.meterId, s.by, s.byUserId, s.at, JSON.stringify(s.totals), s.emailTo]);
  return rows.length === 1;
}

export interface PendingSend { buildingId: number; period: string; meterId: number; emailTo: string; attempts: number; version: number }

/** Signed statements to mail: an address, not sent yet, attempts left; oldest sign-off first. */
export async function pendingSends(q: Queryable, maxAttempts: number, limit = 50): Promise<PendingSend[]> {
  const { rows } = await q.query<{ building_id: string; period: string; meter_id: string; email_to: string; send_attempts: number; version: number }>(
    `SELECT building_id, to_char(period, 'YYYY-MM') AS period, meter_id, email_to, send_attempts, version FROM heat_statement_signoffs
      WHERE email_to IS NOT NULL AND sent_at IS NULL AND send_attempts < $1 ORDER BY signed_at, building_id LIMIT $2`, [maxAttempts, limit]);
  return rows.map((r) => ({ buildingId: Number(r.building_id), period: r.period, meterId: Number(r.meter_id), emailTo: r.email_to, attempts: r.send_attempts, version: Number(r.version) }));
}

/** How long a run may take to mail one statement before another run may try it again. */
const SEND_CLAIM = '10 minutes';

/**
 * Takes one delivery attempt of a pending sign-off (send_attempts + 1, claimed until a deadline) unless
 * it is sent or another run holds its claim; the attempt's number, or null when not taken. Overlapping runs (a scheduled one and "run now", or two
 * replicas) read the same pending row; only the one whose claim lands mails it.
 */
export async function claimSend(q: Queryable, p: PendingSend): Promise<number | null> {
  const { rows } = await q.query<{ send_attempts: number }>(
    `UPDATE heat_statement_signoffs SET send_attempts = send_attempts + 1, sending_until = now() + interval '${SEND_CLAIM}'
      WHERE building_id = $1 AND period = $2::date AND version = $3 AND sent_at IS NULL AND (sending_until IS NULL OR sending_until < now())
      RETURNING send_attempts`,
    [p.buildingId, `${p.period}-01`, p.version]);
  return rows[0] ? Number(rows[0].send_attempts) : null;
}

/**
 * The claimed attempt's outcome: sent (at), or failed with its error — for the version that was mailed
 * only: a month signed again meanwhile keeps its new version due (it is mailed by the next run).
 */
export async function recordSend(q: Queryable, p: Pick<PendingSend, 'buildingId' | 'period' | 'version'>, outcome: { sentAt: Date } | { error: string }): Promise<void> {
  await q.query(
    `UPDATE heat_statement_signoffs SET sent_at = $3, send_error = $4, sending_until = NULL WHERE building_id = $1 AND period = $2::date AND version = $5`,
    [p.buildingId, `${p.period}-01`, 'sentAt' in outcome ? outcome.sentAt : null, 'error' in outcome ? outcome.error.slice(0, 2000) : null, p.version]);
}

/**
 * Starts a fresh series of mail attempts (attempts 0, series + 1, who/when/why; the addresses replaced
 * when `emailTo` is given, else kept) for the version that used up `maxAttempts`, has addresses, is not sent and not held by a run; the series started, or null
 * when the row was not in that state (sent, retried, signed again or restarted meanwhile).
 */
export async function restartSend(q: Queryable, d: { buildingId: number; period: string; version: number; maxAttempts: number; by: string; at: Date; reason: string; emailTo: string | null }): Promise<number | null> {
  const { rows } = await q.query<{ send_series: number }>(
    `UPDATE heat_statement_signoffs SET send_attempts = 0, send_series = send_series + 1, resent_by = $5, resent_at = $6, resend_reason = $7, sending_until = NULL,
            email_to = COALESCE($8, email_to)
      WHERE building_id = $1 AND period = $2::date AND version = $3
        AND email_to IS NOT NULL AND sent_at IS NULL AND send_attempts >= $4 AND (sending_until IS NULL OR sending_until < now())
      RETURNING send_series`,
    [d.buildingId, `${d.period}-01`, d.version, d.maxAttempts, d.by, d.at, d.reason, d.emailTo]);
  return rows[0] ? Number(rows[0].send_series) : null;
}

/**
 * The open `heat_mail_failed` alerts whose cause is gone: the month was signed again since (its sign-off
 * now has a later version than the alert names — the new version's mail is due afresh) or its mail went
 * out. Judged from the state, so a clear missed by a crashed run is made by the next one.
 */
export async function settledMailAlerts(q: Queryable): Promise<{ subject: string; reason: string }[]> {
  const { rows } = await q.query<{ subject: string; version: number; alert_version: number; sent_at: Date | null; email_to: string | null }>(
    `SELECT a.subject, s.version, (a.data->>'version')::int AS alert_version, s.sent_at, s.email_to
       FROM alerts a
       JOIN heat_statement_signoffs s ON s.building_id = a.building_id AND to_char(s.period, 'YYYY-MM') = a.data->>'month'
      WHERE a.kind = 'heat_mail_failed' AND a.cleared_at IS NULL
        AND (s.version > (a.data->>'version')::int OR (s.version = (a.data->>'version')::int AND s.sent_at IS NOT NULL))`);
  return rows.map((r) => ({
    subject: r.subject,
    reason: Number(r.version) > Number(r.alert_version)
      ? `signed again as version ${r.version}: its mail is due afresh`
      : `version ${r.version} mailed to ${r.email_to ?? '?'} at ${new Date(r.sent_at!).toISOString()}`,
  }));
}

/** A signed statement (its current version) waiting for delivery through one exchange configuration. */
export interface PendingDelivery { buildingId: number; period: string; version: number; meterId: number }

/**
 * The signed statements of the configuration's organisation (of its building, when it names one) whose
 * current version it has not delivered yet and has attempts left; oldest sign-off first. The
 * organisation is the building's: another organisation's statements never reach this configuration.
 * Only versions signed at or after the configuration's `deliver_signed_since` (default: its creation)
 * are its to deliver: a new heat supplier's folder does not receive the whole history unasked.
 */
export async function pendingDeliveries(q: Queryable, c: { id: number; orgId: number; buildingId: number | null }, maxAttempts: number, limit = 50): Promise<PendingDelivery[]> {
  const { rows } = await q.query<{ building_id: string; period: string; version: number; meter_id: string }>(
    `SELECT s.building_id, to_char(s.period, 'YYYY-MM') AS period, s.version, s.meter_id
       FROM heat_statement_signoffs s
       JOIN buildings b ON b.id = s.building_id
       JOIN exchange_configs c ON c.id = $1
       LEFT JOIN heat_statement_deliveries d ON d.config_id = $1 AND d.building_id = s.building_id AND d.period = s.period AND d.version = s.version
      WHERE b.org_id = $2 AND ($3::bigint IS NULL OR s.building_id = $3)
        AND s.signed_at >= COALESCE(c.deliver_signed_since, c.created_at)
        AND d.delivered_at IS NULL AND COALESCE(d.attempts, 0) < $4
      ORDER BY s.signed_at, s.building_id LIMIT $5`,
    [c.id, c.orgId, c.buildingId, maxAttempts, limit]);
  return rows.map((r) => ({ buildingId: Number(r.building_id), period: r.period, version: Number(r.version), meterId: Number(r.meter_id) }));
}

/** How long a run may take to deliver one statement before another run may try it again. */
const DELIVERY_CLAIM = '10 minutes';

/**
 * Takes one delivery attempt (attempts + 1, claimed until a deadline) unless it was delivered, another
 * run holds its claim, or its attempts are used up: overlapping runs of one configuration (its schedule
 * and "run now", two replicas) read the same pending statement; only the run whose claim lands writes it.
 * The attempt's number (1 for the first), or null when it was not taken.
 */
export async function claimDelivery(q: Queryable, configId: number, p: PendingDelivery, maxAttempts: number): Promise<number | null> {
  const { rows } = await q.query<{ attempts: number }>(
    `INSERT INTO heat_statement_deliveries AS d (config_id, building_id, period, version, attempts, claimed_until)
     VALUES ($1, $2, $3::date, $4, 1, now() + interval '${DELIVERY_CLAIM}')
     ON CONFLICT (config_id, building_id, period, version) DO UPDATE
        SET attempts = d.attempts + 1, claimed_until = now() + interval '${DELIVERY_CLAIM}', updated_at = now()
      WHERE d.delivered_at IS NULL AND (d.claimed_until IS NULL OR d.claimed_until < now()) AND d.attempts < $5
     RETURNING d.attempts`,
    [configId, p.buildingId, `${p.period}-01`, p.version, maxAttempts]);
  return rows[0] ? Number(rows[0].attempts) : null;
}

/** The claimed attempt's outcome: delivered (the files written) or failed with its error, by the run that tried. */
export async function recordDelivery(q: Queryable, configId: number, p: PendingDelivery, runId: number, outcome: { files: string[]; at: Date } | { error: string }): Promise<void> {
  await q.query(
    `UPDATE heat_statement_deliveries SET delivered_at = $5, files = $6::text[], error = $7, run_id = $8, claimed_until = NULL, updated_at = now()
      WHERE config_id = $1 AND building_id = $2 AND period = $3::date AND version = $4`,
    [configId, p.buildingId, `${p.period}-01`, p.version, 'files' in outcome ? outcome.at : null, 'files' in outcome ? outcome.files : [],
      'error' in outcome ? outcome.error.slice(0, 2000) : null, runId]);
}

export interface Delivery {
  configId: number; version: number; attempts: number; deliveredAt: string | null; files: string[]; error: string | null; runId: number | null;
  /** 1, or more after "send again" started a fresh series of attempts; who started the last one, when and why. */
  series: number; resent: { by: string; at: string; reason: string } | null;
  /** When the last attempt ended (database time). */
  lastAttemptAt: string;
  /** The configuration's transport and where it writes (no secret). */
  config: { transport: 'folder' | 'ftp' | 'ftps' | 'sftp'; folder: string; host: string | null; port: number | null; username: string | null };
}

/** Every delivery of a building's month through the exchange, each version and configuration, newest version first. */
export async function loadDeliveries(q: Queryable, buildingId: number, period: string): Promise<Delivery[]> {
  const { rows } = await q.query<{ config_id: string; version: number; attempts: number; delivered_at: Date | null; files: string[]; error: string | null; run_id: string | null; updated_at: Date;
    series: number; resent_by: string | null; resent_at: Date | null; resend_reason: string | null;
    transport: Delivery['config']['transport']; folder: string; host: string | null; port: number | null; username: string | null }>(
    `SELECT d.config_id, d.version, d.attempts, d.delivered_at, d.files, d.error, d.run_id, d.updated_at, d.series, d.resent_by, d.resent_at, d.resend_reason,
            c.transport, c.folder, c.host, c.port, c.username
       FROM heat_statement_deliveries d JOIN exchange_configs c ON c.id = d.config_id
      WHERE d.building_id = $1 AND d.period = $2::date ORDER BY d.version DESC, d.config_id`, [buildingId, `${period}-01`]);
  return rows.map((r) => ({
    configId: Number(r.config_id), version: Number(r.version), attempts: r.attempts, deliveredAt: r.delivered_at ? new Date(r.delivered_at).toISOString() : null,
    files: r.files ?? [], error: r.error, runId: r.run_id === null ? null : Number(r.run_id), lastAttemptAt: new Date(r.updated_at).toISOString(),
    series: Number(r.series), resent: r.resent_by && r.resent_at ? { by: r.resent_by, at: new Date(r.resent_at).toISOString(), reason: r.resend_reason ?? '' } : null,
    config: { transport: r.transport, folder: r.folder, host: r.host, port: r.port === null ? null : Number(r.port), username: r.username },
  }));
}

/** A delivery row as "send again" finds it (attempts, outcome, the configuration's organisation). */
export interface DeliveryState { attempts: number; deliveredAt: string | null; error: string | null; series: number; claimed: boolean; configOrgId: number; direction: string }

/** One configuration's delivery of one version of a building's month, or null when it has none. */
export async function loadDeliveryState(q: Queryable, configId: number, buildingId: number, period: string, version: number): Promise<DeliveryState | null> {
  const { rows } = await q.query<{ attempts: number; delivered_at: Date | null; error: string | null; series: number; claimed: boolean; org_id: string; direction: string }>(
    `SELECT d.attempts, d.delivered_at, d.error, d.series, COALESCE(d.claimed_until > now(), false) AS claimed, c.org_id, c.direction
       FROM heat_statement_deliveries d JOIN exchange_configs c ON c.id = d.config_id
      WHERE d.config_id = $1 AND d.building_id = $2 AND d.period = $3::date AND d.version = $4`, [configId, buildingId, `${period}-01`, version]);
  const r = rows[0];
  return r ? { attempts: r.attempts, deliveredAt: r.delivered_at ? new Date(r.delivered_at).toISOString() : null, error: r.error, series: Number(r.series), claimed: r.claimed === true, configOrgId: Number(r.org_id), direction: r.direction } : null;
}

/**
 * Starts a fresh series of attempts (attempts 0, series + 1, who/when/why) for a delivery that used up
 * `maxAttempts` and is neither delivered nor held by a run; the series started, or null when the row
 * was not in that state (delivered, retried or restarted meanwhile: the caller says which).
 */
export async function restartDelivery(q: Queryable, d: { configId: number; buildingId: number; period: string; version: number; maxAttempts: number; by: string; at: Date; reason: string }): Promise<number | null> {
  const { rows } = await q.query<{ series: number }>(
    `UPDATE heat_statement_deliveries SET attempts = 0, series = series + 1, resent_by = $6, resent_at = $7, resend_reason = $8, claimed_until = NULL, updated_at = now()
      WHERE config_id = $1 AND building_id = $2 AND period = $3::date AND version = $4
        AND delivered_at IS NULL AND attempts >= $5 AND (claimed_until IS NULL OR claimed_until < now())
      RETURNING series`,
    [d.configId, d.buildingId, `${d.period}-01`, d.version, d.maxAttempts, d.by, d.at, d.reason]);
  return rows[0] ? Number(rows[0].series) : null;
}

/** A signed month (its current version) the outdated check is to compare again. */
export interface SignedMonthToCheck { buildingId: number; period: string; version: number; meterId: number }

/**
 * Signed months never compared since they were signed (or signed again): the sign-off computed its
 * totals in its own transaction, and a value written meanwhile may have missed both it and a mark the
 * sweep read before the sign-off was visible. A partial index's rows: none once each is compared.
 */
export async function uncomparedSignedMonths(q: Queryable, limit: number): Promise<SignedMonthToCheck[]> {
  const { rows } = await q.query<{ building_id: string; period: string; version: number; meter_id: string }>(
    `SELECT building_id, to_char(period, 'YYYY-MM') AS period, version, meter_id FROM heat_statement_signoffs
      WHERE outdated_checked_at IS NULL ORDER BY signed_at, building_id LIMIT $1`, [limit]);
  return rows.map((r) => ({ buildingId: Number(r.building_id), period: r.period, version: Number(r.version), meterId: Number(r.meter_id) }));
}

/** A dirty mark (readings/statement-marks.ts) as the sweep took it, with the signed months it touches. */
export interface StatementMark {
  meterId: number;
  /** The building's local date of the changed instant, 'YYYY-MM-DD'. */
  day: string;
  /** marked_at in microseconds since the epoch (a Date keeps milliseconds: too coarse to tell a renewed mark). */
  markedUs: string;
  /** Older than the sweep's margin: a mark touching no signed month is dropped only then. */
  old: boolean;
  /** The signed months (current versions) of the meter holding the day or the day before. */
  months: SignedMonthToCheck[];
}

/**
 * The oldest marks (at most `limit`), each with the signed months it touches: a record belongs to the
 * day it started, which is the mark's day or, for an end-stamped record at local midnight, the day
 * before. An index probe of the sign-offs per mark; no sign-off, no archive row, no reading is read.
 */
export async function takeMarks(q: Queryable, limit: number, margin: string): Promise<StatementMark[]> {
  const { rows } = await q.query<{ meter_id: string; day: string; marked_us: string; old: boolean; building_id: string | null; period: string | null; version: number | null }>(
    `WITH d AS (SELECT meter_id, day, marked_at FROM heat_statement_dirty ORDER BY marked_at, meter_id, day LIMIT $1)
     SELECT d.meter_id, to_char(d.day, 'YYYY-MM-DD') AS day, (extract(epoch FROM d.marked_at) * 1000000)::bigint::text AS marked_us,
            d.marked_at < now() - $2::interval AS old, s.building_id, to_char(s.period, 'YYYY-MM') AS period, s.version
       FROM d LEFT JOIN heat_statement_signoffs s
         ON s.meter_id = d.meter_id AND s.period IN (date_trunc('month', d.day::timestamp)::date, date_trunc('month', (d.day - 1)::timestamp)::date)
      ORDER BY d.marked_at, d.meter_id, d.day, s.period`,
    [limit, margin]);
  const out = new Map<string, StatementMark>();
  for (const r of rows) {
    const k = `${r.meter_id}|${r.day}`;
    let m = out.get(k);
    if (!m) out.set(k, (m = { meterId: Number(r.meter_id), day: r.day, markedUs: r.marked_us, old: r.old === true, months: [] }));
    if (r.building_id !== null && r.period !== null) m.months.push({ buildingId: Number(r.building_id), period: r.period, version: Number(r.version), meterId: Number(r.meter_id) });
  }
  return [...out.values()];
}

/** Removes the marks taken, each unless it was marked again after it was taken (its marked_at moved). */
export async function clearMarks(q: Queryable, marks: readonly Pick<StatementMark, 'meterId' | 'day' | 'markedUs'>[]): Promise<void> {
  if (!marks.length) return;
  await q.query(
    `DELETE FROM heat_statement_dirty d USING unnest($1::bigint[], $2::date[], $3::bigint[]) AS k(m, dy, us)
      WHERE d.meter_id = k.m AND d.day = k.dy AND (extract(epoch FROM d.marked_at) * 1000000)::bigint <= k.us`,
    [marks.map((m) => m.meterId), marks.map((m) => m.day), marks.map((m) => m.markedUs)]);
}

/** The database's now: the instant a comparison starts, its mark when it ends. */
export async function databaseNow(q: Queryable): Promise<Date> {
  return new Date((await q.query<{ now: Date }>('SELECT now() AS now')).rows[0].now);
}

/** Marks the version compared as of `at` (a version replaced meanwhile keeps its own NULL mark). */
export async function markChecked(q: Queryable, m: SignedMonthToCheck, at: Date): Promise<void> {
  await q.query(
    `UPDATE heat_statement_signoffs SET outdated_checked_at = $4 WHERE building_id = $1 AND period = $2::date AND version = $3`,
    [m.buildingId, `${m.period}-01`, m.version, at]);
}
