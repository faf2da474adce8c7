/**
 * Writes batches of validated readings messages in ONE transaction, a fixed number of statements
 * per batch whatever its size (four when nothing goes to quarantine):
 *   1. look up the batch's (gateway, seq) in ingest_log, the claims of readings put in quarantine:
 *      a claimed reading is a redelivery → nothing written. Per reading, not per message: after a
 *      restart the gateway re-packs its outbox (gateway/src/outbox), so a message is not a stable
 *      unit, a (gateway, seq) is. A stored reading needs no claim: its readings key blocks it (4.);
 *   2. resolve (gateway, bus, address, time) → meter via bindings, in one query, at the gateway's
 *      read time: the meter is the device read. An archive record dated before that binding began —
 *      an interval record by its start, a stored register value (due date, month end) by its record
 *      instant in the building's zone — goes to quarantine ('binding_changed', beforeBinding: measured
 *      by the device bound then or by another one, which nobody can tell here);
 *   3. unknown gateway / unbound address → quarantine (never dropped); so is a reading dated more than
 *      the allowed skew after the head-end's clock, before the readings core's EARLIEST_READING, or
 *      before its meter's installation day ('implausible_time'): stored, a year
 *      9999 would be the meter's latest reading for ever and silence its no-data alerts; so is an
 *      interval archive record carrying the other kind's names ('archive_name_mismatch': a daily
 *      record under hourly names would count a day's heat as an hour's), the whole record;
 *   4. insert values as version 1 telemetry (source 'meter_archive' for a record of the meter's
 *      archive, `archive` in the reading: a heat calculator's hourly/daily record at its values' time,
 *      an M-Bus meter's stored registers — due date, month end — at `archive.record` read in the
 *      building's zone, the meter's clock being local) through the readings bulk write (readings/bulk-write.ts),
 *      which also queues them for validation. An existing (meter, quantity, time) is never
 *      overwritten: with the same value it is a redelivery (or a re-read) and counts as a duplicate;
 *      with a different value → quarantine 'conflicting_value' (see migrations/002);
 *   5. the quarantine entries, each reading's claimed (gateway, seq) first in the same statement: a
 *      redelivery of it, even in a batch committing at the same time, finds the claim and adds no
 *      second entry (nor, the meter bound since, a row);
 *   6. the interval archive records' kind and НС codes (meter_archive_ns, migrations/039), when the batch has any;
 *      a building heat meter's new records (and, in 4., its archive values) mark their days for the
 *      signed heat statements' check (readings/statement-marks.ts), in the same statements;
 *   7. register readings stored for an instant older than their meter's newest committed reading (a
 *      late message, a message re-sent out of order) mark the imbalance periods they change (imbalance/dirty.ts,
 *      one statement, only when the batch has such rows); the imbalance job recomputes them;
 *   8. last-seen of meters and gateways — last, and locked in key order: batches run pipelined on a
 *      server's pool, and these rows are the ones they share.
 * Every statement that takes row locks takes them in key order, so concurrent batches wait, never
 * deadlock. Commit happens before any message is acknowledged (the caller acks after this resolves).
 */
import { misnamedArchiveValues, registerQuantity, type MeterReading, type ReadingsMessage, type Resource } from '@amr/protocols';
import type { Db, Queryable } from '../db/index.js';
import { differingStoredValues, writeReadingRows, type BulkReadingRow } from '../readings/bulk-write.js';
import { EARLIEST_READING } from '../readings/judge.js';
import { markLateReadings } from '../imbalance/dirty.js';
import { markDaysSql } from '../readings/statement-marks.js';
import { localInstant } from '../collection/rules.js';
import { wallClock, type Clock } from '../util/clock.js';

export interface WriteResult {
  /** Rows inserted. */
  stored: number;
  /**
   * Readings that added nothing: their (gateway, seq) came twice in the batch or was claimed by a
   * reading put in quarantine, or every value of theirs was stored already under its key with the
   * same value (a redelivery of a stored reading; also a gateway re-reading a history value).
   */
  duplicates: number;
  /** Quarantine entries written, by reason. */
  quarantined: Record<string, number>;
}

/** A row to write, with the index of its reading among the batch's fresh ones. */
type Row = BulkReadingRow & { gatewayId: string; seq: number; reading: number };

interface Q {
  gatewayId: string;
  seq: number | null;
  meterRef: unknown;
  reading: unknown;
  reason: 'unknown_gateway' | 'unknown_meter' | 'conflicting_value' | 'implausible_time' | 'archive_name_mismatch' | 'binding_changed';
  detail: string;
}

export interface WriteOptions {
  /** The head-end's "now" (util/clock.ts): readings after it plus the skew are implausible. */
  clock?: Clock;
  /** How far after the head-end's clock a gateway's clock may run (INGEST_CLOCK_SKEW_SECONDS); default 10 minutes. */
  maxFutureSkewMs?: number;
}

const DEFAULT_FUTURE_SKEW_MS = 10 * 60_000;

/**
 * The instants a reading's values are stored at: each value's `time`, or — for an M-Bus meter's
 * stored registers (due date, month end), whose values carry none — the record's meter-clock time in
 * the building's zone. Null there when the zone is not known yet (no binding: quarantined anyway).
 */
function valueTimes(r: MeterReading, timezone: string | undefined): string[] {
  if (isRegisterArchive(r)) return timezone ? [localInstant(r.archive.record, timezone).toISOString()] : [];
  return r.values.map((v) => v.time).filter((x): x is string => typeof x === 'string');
}

/**
 * When an archive reading was measured, UTC ms, or null for a live reading: an interval record's
 * (hourly/daily) start; a stored register value's (due date, month end) record instant, which the
 * meter names on its local clock, placed in the building's zone (null without a zone: no binding,
 * quarantined anyway). A record read back later (a back-fill after a gap, a re-read, a meter's stored
 * month ends read after it was installed here) was measured then, by the device read now.
 */
function archiveStart(r: MeterReading, timezone: string | undefined): number | null {
  if (isRegisterArchive(r)) return timezone ? localInstant(r.archive.record, timezone).getTime() : null;
  const a = r.archive;
  if (!a || (a.kind !== 'hourly' && a.kind !== 'daily')) return null;
  const at = Date.parse(r.values[0]?.time ?? '');
  if (Number.isNaN(at)) return null;
  return a.stamp === 'end' ? at - a.seconds * 1000 : at;
}

/**
 * An archive record (an interval record, or a stored register value: due date, month end) dated before
 * the binding of the address it was read from began: the device read now is bound there only since
 * then, so the record is not this meter's measurement — and not surely the meter bound then either:
 * after a replacement the device is another one (a new calculator's records, a new meter's month ends
 * from before it was installed here are its factory's or another site's), after a registry correction
 * it is the same. Nobody can tell from here, so neither meter gets it: quarantine, naming both, for an
 * engineer who knows which it was. `start`: archiveStart.
 */
function beforeBinding(r: MeterReading, start: number | null, b: { meter_id: number; valid_from: Date | number; timezone: string }, earlier: { meter_id: number } | undefined): string | null {
  const from = Number(b.valid_from);
  if (start === null || !Number.isFinite(from) || start >= from) return null;
  const what = isRegisterArchive(r)
    ? `${r.archive.kind} value ${r.archive.record} (meter clock; ${new Date(start).toISOString()} in ${b.timezone}) was stored`
    : `${r.archive!.kind} archive record ${r.archive!.record} began ${new Date(start).toISOString()}`;
  return `${what}, before meter ${b.meter_id} was bound to this address `
    + `(${new Date(from).toISOString()}); ${earlier ? `meter ${earlier.meter_id} was bound then. ` : 'no meter was bound then. '}`
    + `If the same device measured it (the binding was a registry correction), assign it to ${earlier ? `meter ${earlier.meter_id}` : 'that meter'} and replay it; `
    + 'if the device was replaced, it is not this address\'s measurement: resolve it as rejected';
}

function isRegisterArchive(r: MeterReading): r is MeterReading & { archive: { kind: 'due_date' | 'month_end'; record: string } } {
  return r.archive?.kind === 'due_date' || r.archive?.kind === 'month_end';
}

/** Why a reading's time cannot be true, or null: every value's time (or the gateway's) must lie in [EARLIEST_READING, now + skew]. */
function implausibleTime(r: MeterReading, times: readonly string[], nowMs: number, skewMs: number): string | null {
  for (const t of [r.gatewayTime, ...times]) {
    const ms = Date.parse(t);
    if (!Number.isFinite(ms)) return `time ${t} is not a valid instant`;
    if (ms > nowMs + skewMs) return `time ${t} is more than ${Math.round(skewMs / 60_000)} min after the head-end's clock (${new Date(nowMs).toISOString()}); check the gateway's clock`;
    // The readings core's floor (a date from an unset gateway clock, 1970, or garbage): one rule for every path.
    if (ms < EARLIEST_READING.getTime()) return `time ${t} is before ${EARLIEST_READING.toISOString().slice(0, 10)}; the gateway's clock is probably not set`;
  }
  return null;
}

/**
 * A reading dated before its meter was installed (a first binding reaches back to -infinity): the
 * gateway's clock is behind — an RTC reset to 2000-01-01 — and stored, it would be the meter's
 * earliest point, the one billing interpolates its first period from.
 */
function beforeInstallation(r: MeterReading, times: readonly string[], b: { meter_id: number; installed_on: string | null; installed_at: Date | null } | undefined): string | null {
  if (!b?.installed_at) return null;
  const from = new Date(b.installed_at).getTime();
  for (const t of [r.gatewayTime, ...times]) {
    if (Date.parse(t) < from) return `time ${t} is before meter ${b.meter_id} was installed (${b.installed_on}); check the gateway's clock`;
  }
  return null;
}

/**
 * Why an interval archive record must not be stored as sent, or null: its values carry the other
 * kind's names (archiveQuantity, @amr/protocols). The whole record is refused, never a part of it: its
 * values belong together (the statement reads a record's Q, Тр and НС word as one).
 */
function misnamedRecord(r: MeterReading): string | null {
  if (r.archive?.kind !== 'hourly' && r.archive?.kind !== 'daily') return null;
  const a = r.archive;
  const wrong = misnamedArchiveValues(a.kind, r.values.map((v) => v.quantity));
  if (!wrong.length) return null;
  const other = a.kind === 'daily' ? 'hourly' : 'daily';
  return `${a.kind} archive record ${a.record} (interval ${a.seconds} s, stamp ${a.stamp}) carries ${other} name${wrong.length > 1 ? 's' : ''} `
    + `${wrong.map((w) => w.quantity).join(', ')}; ${a.kind === 'hourly' ? 'an' : 'a'} ${a.kind} record's value${wrong.length > 1 ? 's are' : ' is'} ${wrong.map((w) => w.fits).join(', ')}: `
    + `fix the gateway's archive names and send the record again`;
}

export async function writeReadings(db: Db, messages: ReadingsMessage[], opts: WriteOptions = {}): Promise<WriteResult> {
  // Telemetry first: a gateway waiting for its PUBACK behind a wave of API requests resends.
  return db.tx((q) => writeIn(q, messages, opts), { priority: 'telemetry' });
}

async function writeIn(q: Queryable, messages: ReadingsMessage[], opts: WriteOptions): Promise<WriteResult> {
  const nowMs = (opts.clock ?? wallClock)().getTime();
  const skewMs = opts.maxFutureSkewMs ?? DEFAULT_FUTURE_SKEW_MS;
  const result: WriteResult = { stored: 0, duplicates: 0, quarantined: {} };
  // Flatten and de-duplicate (gateway, seq) inside the batch too (a redelivery can share a batch).
  const seen = new Set<string>();
  const all: { gw: string; r: MeterReading }[] = [];
  for (const m of messages)
    for (const r of m.readings) {
      const k = `${m.gatewayId}\u0000${r.seq}`;
      if (seen.has(k)) result.duplicates++;
      else {
        seen.add(k);
        all.push({ gw: m.gatewayId, r });
      }
    }
  if (!all.length) return result;

  // The claims of readings put in quarantine before, and the registered gateways, in one round trip
  // (the rows with no seq name the gateways). Claims are rare, so one index range scan per gateway
  // over the batch's seqs finds them (OFFSET 0 keeps it a range scan: as a join the table, which
  // also holds every claim made before stored readings stopped claiming, could be scanned whole);
  // the exact (gateway, seq) pairs are then picked in memory. Read only: no lock, no order needed.
  const span = new Map<string, { lo: number; hi: number }>();
  for (const { gw, r } of all) {
    const s = span.get(gw);
    if (!s) span.set(gw, { lo: r.seq, hi: r.seq });
    else {
      s.lo = Math.min(s.lo, r.seq);
      s.hi = Math.max(s.hi, r.seq);
    }
  }
  const gwsAll = [...span.keys()];
  const claimed = await q.query<{ gateway_id: string; seq: number | null }>(
    `SELECT c.gateway_id, c.seq FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS k(g, lo, hi),
            LATERAL (SELECT l.gateway_id, l.seq FROM ingest_log l WHERE l.gateway_id = k.g AND l.seq BETWEEN k.lo AND k.hi OFFSET 0) c
     UNION ALL SELECT id, NULL FROM gateways WHERE id = ANY($1::text[])`,
    [gwsAll, gwsAll.map((g) => span.get(g)!.lo), gwsAll.map((g) => span.get(g)!.hi)],
  );
  const known = new Set(claimed.rows.filter((d) => d.seq === null).map((d) => d.gateway_id));
  const isClaimed = new Set(claimed.rows.filter((d) => d.seq !== null).map((d) => `${d.gateway_id}\u0000${Number(d.seq)}`));
  const fresh = all.filter((a) => !isClaimed.has(`${a.gw}\u0000${a.r.seq}`));
  result.duplicates += all.length - fresh.length;
  if (!fresh.length) return result;

  const gws = [...new Set(fresh.map((a) => a.gw))];
  // Bindings of the distinct addresses only (a batch repeats the same few meters many times); the
  // binding valid at each reading's time is then picked in memory.
  const addrKey = (gw: string, bus: string, address: string) => `${gw}\u0000${bus}\u0000${address}`;
  const distinct = [...new Map(fresh.map((a) => [addrKey(a.gw, a.r.meter.bus, a.r.meter.address), a])).values()];
  // With each meter's installation as an instant: the start of that day in its building's zone (the
  // readings core's 'before_installation' rule compares the local day; this is the same bound).
  const bound = await q.query<{ gateway_id: string; bus: string; address: string; meter_id: number; valid_from: Date; valid_to: Date | null; installed_on: string | null; installed_at: Date | null; resource: Resource; last_seen_at: Date | null; timezone: string }>(
    `SELECT b.gateway_id, b.bus, b.address, b.meter_id, b.valid_from, b.valid_to, m.resource, m.last_seen_at, bd.timezone,
            to_char(COALESCE(m.installed_on, m.commissioned_on), 'YYYY-MM-DD') AS installed_on,
            COALESCE(m.installed_on, m.commissioned_on)::timestamp AT TIME ZONE bd.timezone AS installed_at
       FROM unnest($1::text[], $2::text[], $3::text[]) AS k(g, bus, addr)
       JOIN bindings b ON b.gateway_id = k.g AND b.bus = k.bus AND b.address = k.addr
       JOIN meters m ON m.id = b.meter_id
       JOIN buildings bd ON bd.id = m.building_id`,
    [distinct.map((a) => a.gw), distinct.map((a) => a.r.meter.bus), distinct.map((a) => a.r.meter.address)],
  );
  const bindingsOf = new Map<string, typeof bound.rows>();
  for (const b of bound.rows) {
    const k = addrKey(b.gateway_id, b.bus, b.address);
    bindingsOf.set(k, [...(bindingsOf.get(k) ?? []), b]);
  }
  const meterOf = new Map<number, number>();
  const bindingOf = new Map<number, (typeof bound.rows)[number]>();
  fresh.forEach((a, i) => {
    const t = Date.parse(a.r.gatewayTime);
    // valid_from '-infinity' comes back as -Infinity (number) from pg; Number() handles Date and number.
    const b = bindingsOf.get(addrKey(a.gw, a.r.meter.bus, a.r.meter.address))?.find(
      (x) => Number(x.valid_from) <= t && (x.valid_to === null || Number(x.valid_to) > t),
    );
    if (b) {
      meterOf.set(i, b.meter_id);
      bindingOf.set(i, b);
    }
  });

  const rows: Row[] = [];
  /** Indexes into `rows` of those not inserted (their key was taken). */
  let skippedRows: ReadonlySet<number> = new Set();
  /** Per fresh reading bound to a meter (by its index in `fresh`): did it add a row, a quarantine entry? */
  const outcome = new Map<number, { values: number; added: boolean; quarantined: boolean }>();
  const quarantine: Q[] = [];
  const inBatch = new Map<string, Row>();
  fresh.forEach(({ gw, r }, i) => {
    const meterId = meterOf.get(i);
    const times = valueTimes(r, bindingOf.get(i)?.timezone);
    const badTime = known.has(gw) ? implausibleTime(r, times, nowMs, skewMs) ?? beforeInstallation(r, times, bindingOf.get(i)) : null;
    if (badTime) {
      quarantine.push({ gatewayId: gw, seq: r.seq, meterRef: r.meter, reading: r, reason: 'implausible_time', detail: badTime });
      return;
    }
    if (known.has(gw) && meterId !== undefined) {
      const b = bindingOf.get(i)!;
      const start = archiveStart(r, b.timezone);
      const then = start === null ? undefined : bindingsOf.get(addrKey(gw, r.meter.bus, r.meter.address))?.find(
        (x) => Number(x.valid_from) <= start && (x.valid_to === null || Number(x.valid_to) > start));
      const changed = beforeBinding(r, start, b, then);
      if (changed) {
        quarantine.push({ gatewayId: gw, seq: r.seq, meterRef: r.meter, reading: r, reason: 'binding_changed', detail: changed });
        return;
      }
    }
    if (!known.has(gw) || meterId === undefined) {
      const reason = !known.has(gw) ? 'unknown_gateway' : 'unknown_meter';
      quarantine.push({
        gatewayId: gw,
        seq: r.seq,
        meterRef: r.meter,
        reading: r,
        reason,
        detail: reason === 'unknown_gateway' ? `gateway ${gw} is not registered` : `no binding for ${gw} bus ${r.meter.bus} address ${r.meter.address}`,
      });
      return;
    }
    const misnamed = misnamedRecord(r);
    if (misnamed) {
      quarantine.push({ gatewayId: gw, seq: r.seq, meterRef: r.meter, reading: r, reason: 'archive_name_mismatch', detail: misnamed });
      return;
    }
    const acc = { values: r.values.length, added: false, quarantined: false };
    outcome.set(i, acc);
    // A record read back from the meter's archive: its own source, and flagged as such whatever the
    // gateway said. Same version as telemetry: it never adds a second row for an instant a live poll
    // (or the same record read before) already stored; a different value there is a conflict below.
    const fromArchive = r.archive !== undefined;
    // A stored register value (due date, month end) is a register reading at the record's instant.
    const recordAt = isRegisterArchive(r) ? times[0] : undefined;
    for (const v of r.values) {
      const row: Row = {
        meterId,
        time: new Date(recordAt ?? v.time ?? r.gatewayTime).toISOString(),
        quantity: v.quantity,
        value: v.value,
        unit: v.unit,
        source: fromArchive ? 'meter_archive' : 'telemetry',
        version: 1,
        quality: [...new Set([...r.quality, ...v.quality, ...(fromArchive ? ['archive' as const] : [])])],
        gatewayId: gw,
        seq: r.seq,
        reading: i,
      };
      const key = `${row.meterId}\u0000${row.quantity}\u0000${row.time}`;
      const prev = inBatch.get(key);
      if (!prev) {
        inBatch.set(key, row);
        rows.push(row);
      } else if (prev.value !== row.value) {
        quarantine.push(conflict(row, r, prev.value, 'in the same batch'));
        acc.quarantined = true;
      }
      // (the same value twice in the batch under two seqs: the first one's row carries it)
    }
  });

  if (rows.length) {
    const { inserted, skipped } = await writeReadingRows(q, rows);
    result.stored = inserted;
    // A skipped row's key was taken: the same value is this reading again (a redelivery, whose
    // (gateway, seq) is not claimed because it was stored, or a re-read history value): nothing to
    // do. A different value: quarantine. Looked up only then: the common batch costs nothing more.
    const differing = new Map((await differingStoredValues(q, skipped.map((k) => rows[k]))).map((d) => [skipped[d.index], d.stored]));
    const wasSkipped = new Set(skipped);
    skippedRows = wasSkipped;
    rows.forEach((row, k) => {
      const acc = outcome.get(row.reading)!;
      if (!wasSkipped.has(k)) acc.added = true;
      else if (differing.has(k)) {
        quarantine.push(conflict(row, fresh[row.reading].r, differing.get(k)!, 'stored earlier'));
        acc.quarantined = true;
      }
    });
  }
  // A reading that added no row and no quarantine entry was all there already: a duplicate.
  for (const acc of outcome.values()) if (!acc.added && !acc.quarantined && acc.values > 0) result.duplicates++;
  await writeArchiveRecords(q, fresh, meterOf, outcome);
  await markLate(q, rows, skippedRows, bound.rows);

  if (quarantine.length) {
    // Claim first, in key order (a concurrent batch holding a redelivery waits for this one's claims,
    // then finds them taken); only the readings claimed here get their entries.
    const { rows: out } = await q.query<{ claims: number; wanted: number; by_reason: Record<string, number> | null }>(
      `WITH k AS MATERIALIZED (
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::jsonb[], $4::jsonb[], $5::text[], $6::text[]) WITH ORDINALITY
           AS k(gateway_id, seq, meter_ref, reading, reason, detail, i)),
       c AS (
         INSERT INTO ingest_log (gateway_id, seq, outcome)
         SELECT DISTINCT gateway_id, seq, 'quarantined' FROM k ORDER BY gateway_id, seq
         ON CONFLICT DO NOTHING RETURNING gateway_id, seq),
       e AS (
         INSERT INTO quarantine (gateway_id, seq, meter_ref, reading, reason, detail)
         SELECT k.gateway_id, k.seq, k.meter_ref, k.reading, k.reason, k.detail FROM k
          WHERE (k.gateway_id, k.seq) IN (SELECT gateway_id, seq FROM c) ORDER BY k.i
         RETURNING reason)
       SELECT (SELECT count(*)::int FROM c) AS claims,
              (SELECT count(*)::int FROM (SELECT DISTINCT gateway_id, seq FROM k) d) AS wanted,
              (SELECT json_object_agg(reason, n) FROM (SELECT reason, count(*)::int AS n FROM e GROUP BY reason) r) AS by_reason`,
      [
        quarantine.map((x) => x.gatewayId),
        quarantine.map((x) => x.seq),
        quarantine.map((x) => JSON.stringify(x.meterRef)),
        quarantine.map((x) => JSON.stringify(x.reading)),
        quarantine.map((x) => x.reason),
        quarantine.map((x) => x.detail),
      ],
    );
    // Claimed meanwhile by a batch that committed first with the same reading: a redelivery.
    result.duplicates += out[0].wanted - out[0].claims;
    for (const [reason, n] of Object.entries(out[0].by_reason ?? {})) result.quarantined[reason] = n;
  }
  await touchLastSeen(q, rows, gws);
  return result;
}

/**
 * The interval archive records of the batch (kind, stamp, length, НС codes) in `meter_archive_ns`
 * (migrations/039), in the same transaction as their values and only for records whose values are
 * stored (added now, or all there already: a redelivery). An M-Bus meter's stored registers (due
 * date, month end) have no interval and no НС: their rows (source meter_archive) are all there is. One statement, in key order; an existing
 * (meter, instant, kind) is kept — the meter's archive does not change, so a redelivery adds nothing.
 * The record's instant is its values' instant (the gateway stamps every value with it).
 */
async function writeArchiveRecords(
  q: Queryable,
  fresh: readonly { gw: string; r: MeterReading }[],
  meterOf: ReadonlyMap<number, number>,
  outcome: ReadonlyMap<number, { added: boolean; quarantined: boolean }>,
): Promise<void> {
  type Interval = Extract<NonNullable<MeterReading['archive']>, { kind: 'hourly' | 'daily' }>;
  const recs: { meterId: number; time: string; gw: string; r: MeterReading; archive: Interval }[] = [];
  fresh.forEach(({ gw, r }, i) => {
    const acc = outcome.get(i);
    const meterId = meterOf.get(i);
    if (!r.archive || isRegisterArchive(r) || !acc || meterId === undefined || (!acc.added && acc.quarantined)) return;
    recs.push({ meterId, time: new Date(r.values[0]?.time ?? r.gatewayTime).toISOString(), gw, r, archive: r.archive as Interval });
  });
  if (!recs.length) return;
  // A record new here marks its heat statement day in the same statement (readings/statement-marks.ts): its values
  // inserted with it marked it already, but a record whose values were there before is new to the statement too.
  await q.query(
    `WITH ins AS (
       INSERT INTO meter_archive_ns (meter_id, time, kind, stamp, seconds, codes, gateway_id, seq)
       SELECT meter_id, time, kind, stamp, seconds,
              CASE WHEN codes = '' THEN '{}'::text[] ELSE string_to_array(codes, ',') END, gateway_id, seq
         FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::bigint[])
           AS k(meter_id, time, kind, stamp, seconds, codes, gateway_id, seq)
        ORDER BY meter_id, time, kind
       ON CONFLICT DO NOTHING
       RETURNING meter_id, time)
     ${markDaysSql('ins k', null)}`,
    [
      recs.map((x) => x.meterId), recs.map((x) => x.time), recs.map((x) => x.archive.kind), recs.map((x) => x.archive.stamp),
      recs.map((x) => x.archive.seconds),
      // Codes are register-map names (no commas: the contract's codes are identifiers like dt_low, bit5).
      recs.map((x) => x.archive.nsCodes.map((c) => c.replace(/,/g, '_')).join(',')),
      recs.map((x) => x.gw), recs.map((x) => x.r.seq),
    ],
  );
}

/**
 * The register rows inserted now for an instant before their meter's newest reading committed before
 * this batch (meters.last_seen_at, read with the bindings) mark the imbalance periods they change. A
 * current reading marks nothing, nor does a batch of polls flushed in order after an outage (each is
 * newer than what was stored), nor a record's interval amounts, which no report reads (imbalance/dirty.ts).
 */
async function markLate(
  q: Queryable,
  rows: readonly Row[],
  skipped: ReadonlySet<number>,
  meters: readonly { meter_id: number; resource: Resource; last_seen_at: Date | null }[],
): Promise<void> {
  const newest = new Map<number, { register: string; at: number }>();
  for (const m of meters) {
    if (m.last_seen_at) newest.set(Number(m.meter_id), { register: registerQuantity(m.resource), at: new Date(m.last_seen_at).getTime() });
  }
  const late = rows.filter((r, k) => {
    const n = newest.get(r.meterId);
    return n !== undefined && !skipped.has(k) && r.quantity === n.register && Date.parse(r.time) < n.at;
  });
  if (late.length) await markLateReadings(q, late.map((r) => ({ meterId: r.meterId, quantity: r.quantity, time: r.time })));
}

/**
 * Last seen of the batch's meters (the newest reading time committed) and gateways, in one statement.
 * Every batch of a gateway updates the same rows, so pipelined batches queue here: this runs last
 * (held only until the commit), and locks in id order (MATERIALIZED: the lock list is taken whole,
 * first), so two batches never hold what the other waits for.
 */
async function touchLastSeen(q: Queryable, rows: readonly Row[], gws: readonly string[]): Promise<void> {
  await q.query(
    `WITH k AS (SELECT id, max(t) AS t FROM unnest($1::bigint[], $2::timestamptz[]) AS u(id, t) GROUP BY id),
          lm AS MATERIALIZED (SELECT m.id FROM meters m JOIN k ON k.id = m.id
                               WHERE m.last_seen_at IS NULL OR m.last_seen_at < k.t ORDER BY m.id FOR NO KEY UPDATE OF m),
          um AS (UPDATE meters m SET last_seen_at = GREATEST(m.last_seen_at, k.t) FROM k WHERE m.id = k.id AND m.id IN (SELECT id FROM lm)),
          lg AS MATERIALIZED (SELECT id FROM gateways WHERE id = ANY($3::text[]) ORDER BY id FOR NO KEY UPDATE)
     UPDATE gateways g SET last_seen_at = now() WHERE g.id IN (SELECT id FROM lg)`,
    [rows.map((r) => r.meterId), rows.map((r) => r.time), gws],
  );
}

function conflict(row: Row, reading: MeterReading, existing: number | null, where: string): Q {
  return {
    gatewayId: row.gatewayId,
    seq: row.seq,
    meterRef: reading.meter,
    // The shape quarantine rows had before the bulk write (quality as the comma list).
    reading: { meterId: row.meterId, time: row.time, quantity: row.quantity, value: row.value, unit: row.unit, quality: row.quality.join(','), gatewayId: row.gatewayId, seq: row.seq, existingValue: existing },
    reason: 'conflicting_value',
    detail: `meter ${row.meterId} ${row.quantity} at ${row.time}: value ${row.value} differs from ${existing} ${where}`,
  };
}
