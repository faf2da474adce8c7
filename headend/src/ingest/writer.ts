/**
 * Writes batches of validated readings messages in ONE transaction, a fixed number of statements
 * per batch whatever its size:
 *   1. claim (gateway, seq) in ingest_log; readings already claimed are a redelivery → no row. Per
 *      reading, not per message: after a restart the gateway re-packs its outbox (gateway/src/outbox),
 *      so a message is not a stable unit, a (gateway, seq) is;
 *   2. resolve (gateway, bus, address, time) → meter via bindings, in one query;
 *   3. unknown gateway / unbound address → quarantine (never dropped); so is a reading dated more than
 *      the allowed skew after the head-end's clock, before the readings core's EARLIEST_READING, or
 *      before its meter's installation day ('implausible_time'): stored, a year
 *      9999 would be the meter's latest reading for ever and silence its no-data alerts;
 *   4. insert values as version 1 telemetry (source 'meter_archive' for a record of the meter's
 *      archive, `archive` in the reading); an existing (meter, quantity, time) with the same value is
 *      a no-op, with a different value → quarantine 'conflicting_value' (see migrations/002);
 *      The rows go through the readings bulk write (readings/bulk-write.ts), which also queues them
 *      for validation;
 *   5. ingest_log outcomes, last-seen of meters and gateways — last, and locked in key order: batches
 *      run pipelined on a server's pool, and these rows are the ones they share.
 * Every statement that takes row locks takes them in key order, so concurrent batches wait, never
 * deadlock. Commit happens before any message is acknowledged (the caller acks after this resolves).
 */
import type { MeterReading, ReadingsMessage } from '@amr/protocols';
import type { Db, Queryable } from '../db/index.js';
import { differingStoredValues, writeReadingRows, type BulkReadingRow } from '../readings/bulk-write.js';
import { EARLIEST_READING } from '../readings/judge.js';
import { wallClock, type Clock } from '../util/clock.js';

export interface WriteResult {
  stored: number;
  duplicates: number;
  quarantined: Record<string, number>;
}

type Row = BulkReadingRow & { gatewayId: string; seq: number };

interface Q {
  gatewayId: string;
  seq: number | null;
  meterRef: unknown;
  reading: unknown;
  reason: 'unknown_gateway' | 'unknown_meter' | 'conflicting_value' | 'implausible_time';
  detail: string;
}

export interface WriteOptions {
  /** The head-end's "now" (util/clock.ts): readings after it plus the skew are implausible. */
  clock?: Clock;
  /** How far after the head-end's clock a gateway's clock may run (INGEST_CLOCK_SKEW_SECONDS); default 10 minutes. */
  maxFutureSkewMs?: number;
}

const DEFAULT_FUTURE_SKEW_MS = 10 * 60_000;

/** Why a reading's time cannot be true, or null: every value's time (or the gateway's) must lie in [EARLIEST_READING, now + skew]. */
function implausibleTime(r: MeterReading, nowMs: number, skewMs: number): string | null {
  for (const t of [r.gatewayTime, ...r.values.map((v) => v.time).filter((x): x is string => typeof x === 'string')]) {
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
function beforeInstallation(r: MeterReading, b: { meter_id: number; installed_on: string | null; installed_at: Date | null } | undefined): string | null {
  if (!b?.installed_at) return null;
  const from = new Date(b.installed_at).getTime();
  for (const t of [r.gatewayTime, ...r.values.map((v) => v.time).filter((x): x is string => typeof x === 'string')]) {
    if (Date.parse(t) < from) return `time ${t} is before meter ${b.meter_id} was installed (${b.installed_on}); check the gateway's clock`;
  }
  return null;
}

export async function writeReadings(db: Db, messages: ReadingsMessage[], opts: WriteOptions = {}): Promise<WriteResult> {
  return db.tx((q) => writeIn(q, messages, opts));
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

  // Claim (gateway, seq) first: the rows that come back are new, the others were committed before.
  // One index probe per reading; the table's size does not matter (a join against it would). Sorted:
  // a concurrent batch holding a redelivery of the same seqs waits in the same order.
  const gwsAll = [...new Set(all.map((a) => a.gw))];
  const claimed = await q.query<{ gateway_id: string; seq: number | null }>(
    `WITH c AS (
       INSERT INTO ingest_log (gateway_id, seq, outcome)
       SELECT g, s, 'stored' FROM unnest($1::text[], $2::bigint[]) AS k(g, s) ORDER BY g, s
       ON CONFLICT DO NOTHING RETURNING gateway_id, seq)
     SELECT gateway_id, seq FROM c
     UNION ALL SELECT id, NULL FROM gateways WHERE id = ANY($3::text[])`,
    [all.map((a) => a.gw), all.map((a) => a.r.seq), gwsAll],
  );
  // (the rows with no seq name the registered gateways: one round trip for both answers)
  const known = new Set(claimed.rows.filter((d) => d.seq === null).map((d) => d.gateway_id));
  const isNew = new Set(claimed.rows.filter((d) => d.seq !== null).map((d) => `${d.gateway_id}\u0000${d.seq}`));
  const fresh = all.filter((a) => isNew.has(`${a.gw}\u0000${a.r.seq}`));
  result.duplicates += all.length - fresh.length;
  if (!fresh.length) return result;

  const gws = [...new Set(fresh.map((a) => a.gw))];
  // Bindings of the distinct addresses only (a batch repeats the same few meters many times); the
  // binding valid at each reading's time is then picked in memory.
  const addrKey = (gw: string, bus: string, address: string) => `${gw}\u0000${bus}\u0000${address}`;
  const distinct = [...new Map(fresh.map((a) => [addrKey(a.gw, a.r.meter.bus, a.r.meter.address), a])).values()];
  // With each meter's installation as an instant: the start of that day in its building's zone (the
  // readings core's 'before_installation' rule compares the local day; this is the same bound).
  const bound = await q.query<{ gateway_id: string; bus: string; address: string; meter_id: number; valid_from: Date; valid_to: Date | null; installed_on: string | null; installed_at: Date | null }>(
    `SELECT b.gateway_id, b.bus, b.address, b.meter_id, b.valid_from, b.valid_to,
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
  const quarantine: Q[] = [];
  const log: { gw: string; seq: number; outcome: 'stored' | 'quarantined' }[] = [];
  const inBatch = new Map<string, Row>();
  fresh.forEach(({ gw, r }, i) => {
    const meterId = meterOf.get(i);
    const badTime = known.has(gw) ? implausibleTime(r, nowMs, skewMs) ?? beforeInstallation(r, bindingOf.get(i)) : null;
    if (badTime) {
      quarantine.push({ gatewayId: gw, seq: r.seq, meterRef: r.meter, reading: r, reason: 'implausible_time', detail: badTime });
      log.push({ gw, seq: r.seq, outcome: 'quarantined' });
      return;
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
      log.push({ gw, seq: r.seq, outcome: 'quarantined' });
      return;
    }
    log.push({ gw, seq: r.seq, outcome: 'stored' });
    // A record read back from the meter's archive: its own source, and flagged as such whatever the
    // gateway said. Same version as telemetry: it never adds a second row for an instant a live poll
    // (or the same record read before) already stored; a different value there is a conflict below.
    const fromArchive = r.archive !== undefined;
    for (const v of r.values) {
      const row: Row = {
        meterId,
        time: new Date(v.time ?? r.gatewayTime).toISOString(),
        quantity: v.quantity,
        value: v.value,
        unit: v.unit,
        source: fromArchive ? 'meter_archive' : 'telemetry',
        version: 1,
        quality: [...new Set([...r.quality, ...v.quality, ...(fromArchive ? ['archive' as const] : [])])],
        gatewayId: gw,
        seq: r.seq,
      };
      const key = `${row.meterId}\u0000${row.quantity}\u0000${row.time}`;
      const prev = inBatch.get(key);
      if (!prev) inBatch.set(key, row);
      else if (prev.value !== row.value)
        quarantine.push(conflict(row, r, prev.value, 'in the same batch'));
      if (!prev) rows.push(row);
    }
  });

  if (rows.length) {
    const { inserted } = await writeReadingRows(q, rows);
    // Fewer rows inserted than sent = some version-1 rows existed for that instant (a new seq for an
    // old reading, e.g. the gateway re-read a history value). Same value: nothing to do. Different
    // value: quarantine. Checked only then: the common case costs no look-up.
    let conflicts = 0;
    if (inserted < rows.length) {
      const differing = await differingStoredValues(q, rows);
      for (const d of differing) {
        const row = rows[d.index];
        const reading = fresh.find((a) => a.gw === row.gatewayId && a.r.seq === row.seq)!.r;
        quarantine.push(conflict(row, reading, d.stored, 'stored earlier'));
      }
      conflicts = differing.length;
    }
    // (identical values already stored also count as "stored" here: nothing was lost, nothing added)
    result.stored = rows.length - conflicts;
  }
  if (quarantine.length) {
    await q.query(
      `INSERT INTO quarantine (gateway_id, seq, meter_ref, reading, reason, detail)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::jsonb[], $4::jsonb[], $5::text[], $6::text[])`,
      [
        quarantine.map((x) => x.gatewayId),
        quarantine.map((x) => x.seq),
        quarantine.map((x) => JSON.stringify(x.meterRef)),
        quarantine.map((x) => JSON.stringify(x.reading)),
        quarantine.map((x) => x.reason),
        quarantine.map((x) => x.detail),
      ],
    );
    for (const x of quarantine) result.quarantined[x.reason] = (result.quarantined[x.reason] ?? 0) + 1;
  }
  const quarantinedSeqs = log.filter((l) => l.outcome === 'quarantined');
  if (quarantinedSeqs.length)
    await q.query(
      `UPDATE ingest_log l SET outcome = 'quarantined' FROM unnest($1::text[], $2::bigint[]) AS k(g, s)
        WHERE l.gateway_id = k.g AND l.seq = k.s`,
      [quarantinedSeqs.map((l) => l.gw), quarantinedSeqs.map((l) => l.seq)],
    );
  await touchLastSeen(q, rows, gws);
  return result;
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
