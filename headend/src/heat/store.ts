/**
 * The SQL of the heat statement: the building and its heat meters, a month's archive records of one
 * meter (meter_archive_ns for the records' kind, interval and НС codes; the readings for their values,
 * stored under the record kind's names (archiveQuantity: a daily record's are the day names),
 * the latest version of each), and the statement's sign-off. Read-only but for the sign-off.
 */
import { archiveQuantity } from '@amr/protocols';
import type { Queryable } from '../db/types.js';
import { RECORD_QUANTITIES, type LoadedRecord, type RecordQuantity } from './statement.js';

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
const STORED_NAMES = [...new Set((['hourly', 'daily'] as const).flatMap((k) => RECORD_QUANTITIES.map((n) => archiveQuantity(n, k))))];

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
  const { rows } = await q.query<{ kind: 'hourly' | 'daily'; start: Date; seconds: number; local_start: string; local_end: string; codes: string[]; vals: Record<string, number | null> | null }>(
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
            (SELECT json_object_agg(v.quantity, v.value) FROM v WHERE v.time = n.time) AS vals
       FROM n WHERE n.start >= $2 AND n.start < $3
      ORDER BY n.start, n.kind`,
    [meterId, from, to, timezone, STORED_NAMES]);
  return rows.map((r) => {
    // A daily and an hourly record may share the instant: each takes its own kind's names only.
    const values: Partial<Record<RecordQuantity, number | null>> = {};
    for (const k of RECORD_QUANTITIES) {
      const stored = archiveQuantity(k, r.kind);
      if (r.vals && stored in r.vals) values[k] = r.vals[stored] === null ? null : Number(r.vals[stored]);
    }
    return { kind: r.kind, startMs: new Date(r.start).getTime(), seconds: Number(r.seconds), localStart: r.local_start, localEnd: r.local_end, codes: r.codes ?? [], values };
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

export interface SignOff { by: string; at: string; meterId: number; totals: unknown; emailTo: string | null; sentAt: string | null; sendError: string | null }

export async function loadSignOff(q: Queryable, buildingId: number, period: string): Promise<SignOff | null> {
  const { rows } = await q.query<{ signed_by: string; signed_at: Date; meter_id: string; totals: unknown; email_to: string | null; sent_at: Date | null; send_error: string | null }>(
    `SELECT signed_by, signed_at, meter_id, totals, email_to, sent_at, send_error FROM heat_statement_signoffs WHERE building_id = $1 AND period = $2::date`, [buildingId, `${period}-01`]);
  const r = rows[0];
  return r ? {
    by: r.signed_by, at: new Date(r.signed_at).toISOString(), meterId: Number(r.meter_id), totals: r.totals,
    emailTo: r.email_to, sentAt: r.sent_at ? new Date(r.sent_at).toISOString() : null, sendError: r.send_error,
  } : null;
}

/** Stores the sign-off; false when the month was signed already (the first one stays). */
export async function insertSignOff(q: Queryable, s: { buildingId: number; period: string; meterId: number; by: string; byUserId: number | null; at: Date; totals: unknown; emailTo: string | null }): Promise<boolean> {
  const { rows } = await q.query(
    `INSERT INTO heat_statement_signoffs (building_id, period, meter_id, signed_by, signed_by_user_id, signed_at, totals, email_to)
     VALUES ($1, $2::date, $3, $4, $5, $6, $7::jsonb, $8) ON CONFLICT DO NOTHING RETURNING building_id`,
    [s.buildingId, `${s.period}-01`, s.meterId, s.by, s.byUserId, s.at, JSON.stringify(s.totals), s.emailTo]);
  return rows.length === 1;
}

export interface PendingSend { buildingId: number; period: string; meterId: number; emailTo: string; attempts: number }

/** Signed statements to mail: an address, not sent yet, attempts left; oldest sign-off first. */
export async function pendingSends(q: Queryable, maxAttempts: number, limit = 50): Promise<PendingSend[]> {
  const { rows } = await q.query<{ building_id: string; period: string; meter_id: string; email_to: string; send_attempts: number }>(
    `SELECT building_id, to_char(period, 'YYYY-MM') AS period, meter_id, email_to, send_attempts FROM heat_statement_signoffs
      WHERE email_to IS NOT NULL AND sent_at IS NULL AND send_attempts < $1 ORDER BY signed_at, building_id LIMIT $2`, [maxAttempts, limit]);
  return rows.map((r) => ({ buildingId: Number(r.building_id), period: r.period, meterId: Number(r.meter_id), emailTo: r.email_to, attempts: r.send_attempts }));
}

/** How long a run may take to mail one statement before another run may try it again. */
const SEND_CLAIM = '10 minutes';

/**
 * Takes one delivery attempt of a pending sign-off (send_attempts + 1, claimed until a deadline) unless
 * it is sent or another run holds its claim. Overlapping runs (a scheduled one and "run now", or two
 * replicas) read the same pending row; only the one whose claim lands mails it.
 */
export async function claimSend(q: Queryable, p: PendingSend): Promise<boolean> {
  const { rows } = await q.query(
    `UPDATE heat_statement_signoffs SET send_attempts = send_attempts + 1, sending_until = now() + interval '${SEND_CLAIM}'
      WHERE building_id = $1 AND period = $2::date AND sent_at IS NULL AND (sending_until IS NULL OR sending_until < now())
      RETURNING building_id`,
    [p.buildingId, `${p.period}-01`]);
  return rows.length === 1;
}

/** The claimed attempt's outcome: sent (at), or failed with its error. */
export async function recordSend(q: Queryable, buildingId: number, period: string, outcome: { sentAt: Date } | { error: string }): Promise<void> {
  await q.query(
    `UPDATE heat_statement_signoffs SET sent_at = $3, send_error = $4, sending_until = NULL WHERE building_id = $1 AND period = $2::date`,
    [buildingId, `${period}-01`, 'sentAt' in outcome ? outcome.sentAt : null, 'error' in outcome ? outcome.error.slice(0, 2000) : null]);
}
