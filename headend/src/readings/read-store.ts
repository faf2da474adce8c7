/**
 * Reading back what the write path stored: the current (highest) version of a reading at an instant.
 */
import type { Queryable } from '../db/types.js';

export async function currentVersion(q: Queryable, meterId: number, quantity: string, time: Date) {
  return (await q.query('SELECT * FROM readings WHERE meter_id = $1 AND quantity = $2 AND time = $3 ORDER BY version DESC LIMIT 1', [meterId, quantity, time])).rows[0] ?? null;
}

/** A meter's readings in [from, to) as stored: every version, or the current one per (quantity, instant). */
export async function rawReadings(q: Queryable, f: { meterId: number; from: string; to: string; quantity: string | null; versions: 'current' | 'all'; limit: number }) {
  const current = f.versions === 'current'
    ? 'SELECT DISTINCT ON (quantity, time) * FROM readings WHERE meter_id = $1 AND time >= $2 AND time < $3 AND ($4::text IS NULL OR quantity = $4) ORDER BY quantity, time, version DESC'
    : 'SELECT * FROM readings WHERE meter_id = $1 AND time >= $2 AND time < $3 AND ($4::text IS NULL OR quantity = $4)';
  return (await q.query<RawReadingRow>(`SELECT * FROM (${current}) r ORDER BY time, quantity, version LIMIT $5`, [f.meterId, f.from, f.to, f.quantity, f.limit])).rows;
}

/**
 * A meter's readings in [from, to) per hour or day (the continuous aggregates), or per month
 * (time_bucket over the daily aggregate: month buckets follow the calendar in UTC).
 */
export async function bucketedReadings(q: Queryable, f: { meterId: number; from: string; to: string; quantity: string | null; resolution: 'hour' | 'day' | 'month'; limit: number }) {
  const cols = 'quantity, first_value, last_value, min_value, max_value, avg_value, samples, max_version, last_time';
  const sql = f.resolution === 'month'
    ? `SELECT time_bucket(interval '1 month', bucket) AS bucket, quantity, first(first_value, bucket) AS first_value, last(last_value, bucket) AS last_value,
              min(min_value) AS min_value, max(max_value) AS max_value, sum(avg_value * samples) / nullif(sum(samples), 0) AS avg_value,
              sum(samples) AS samples, max(max_version) AS max_version, max(last_time) AS last_time
         FROM readings_daily WHERE meter_id = $1 AND bucket >= $2 AND bucket < $3 AND ($4::text IS NULL OR quantity = $4)
        GROUP BY 1, quantity ORDER BY 1, quantity LIMIT $5`
    : `SELECT bucket, ${cols} FROM ${f.resolution === 'hour' ? 'readings_hourly' : 'readings_daily'}
        WHERE meter_id = $1 AND bucket >= $2 AND bucket < $3 AND ($4::text IS NULL OR quantity = $4) ORDER BY bucket, quantity LIMIT $5`;
  return (await q.query<BucketRow>(sql, [f.meterId, f.from, f.to, f.quantity, f.limit])).rows;
}

/** A readings row as stored (pg: timestamps as Date, bigint as string). */
export interface RawReadingRow {
  meter_id: string; time: Date; quantity: string; value: number | null; unit: string; source: string; quality: string[];
  version: number; received_at: Date; created_by: string | null; reason: string | null;
}
/** One bucket of a continuous aggregate (samples: a bigint, as a string). */
export interface BucketRow {
  bucket: Date; quantity: string; first_value: number | null; last_value: number | null; min_value: number | null; max_value: number | null;
  avg_value: number | null; samples: string | number; max_version: number | null; last_time: Date | null;
}
