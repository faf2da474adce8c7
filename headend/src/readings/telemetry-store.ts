/**
 * The ingest batch's INSERT of telemetry readings (version 1, source 'telemetry'). It lives beside the
 * other writes of the readings table so this folder stays the only writer; ingest/writer.ts decides
 * what to write (idempotency, conflicts, quarantine) and calls this for the rows.
 * ON CONFLICT DO NOTHING: a version-1 row that exists already is a redelivery (same value) or a
 * conflict the caller detects by the row count and looks up.
 */
import type { Queryable } from '../db/types.js';

export interface TelemetryRow {
  meterId: number;
  time: string;
  quantity: string;
  value: number | null;
  unit: string;
  /** Comma-separated quality flags ('' = none). */
  quality: string;
  gatewayId: string;
  seq: number;
}

/** Inserts the rows not stored yet; returns how many were inserted. */
export async function insertTelemetry(q: Queryable, rows: readonly TelemetryRow[]): Promise<number> {
  const ins = await q.query(
    `INSERT INTO readings (meter_id, time, quantity, value, unit, source, quality, version, gateway_id, seq)
     SELECT meter_id, time, quantity, value, unit, 'telemetry',
            CASE WHEN quality = '' THEN '{}'::text[] ELSE string_to_array(quality, ',') END, 1, gateway_id, seq
       FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::float8[], $5::text[], $6::text[], $7::text[], $8::bigint[])
         AS t(meter_id, time, quantity, value, unit, quality, gateway_id, seq)
     ON CONFLICT DO NOTHING`,
    [
      rows.map((r) => r.meterId), rows.map((r) => r.time), rows.map((r) => r.quantity), rows.map((r) => r.value),
      rows.map((r) => r.unit), rows.map((r) => r.quality), rows.map((r) => r.gatewayId), rows.map((r) => r.seq),
    ],
  );
  return ins.rowCount ?? 0;
}
