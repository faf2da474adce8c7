/**
 * Collection storage: effective settings, the row of a resident's meter, the last reading of each
 * register a resident sees, and where "now" falls in a meter's window. Readings are judged and written by src/readings (write.ts), not here.
 * Callers pass the transaction handle.
 */
import type { Queryable } from '../db/types.js';
import type { Resource } from '@amr/protocols';
import { sourceRankSql } from '../billing/provenance.js';
import { DEFAULT_SETTINGS, type CollectionSettings } from './rules.js';

export const SETTINGS_COLUMNS = 'enabled, window_start_day, window_end_day, integer_only, accept_expired_verification, reminder_days, warn_factor';

/** The most specific settings row for a building and resource (see migration 018). */
export async function effectiveSettings(q: Queryable, buildingId: number, resource: string): Promise<CollectionSettings> {
  const { rows } = await q.query<CollectionSettings>(
    `SELECT ${SETTINGS_COLUMNS} FROM collection_settings
      WHERE (building_id = $1 OR building_id IS NULL) AND (resource = $2 OR resource IS NULL)
      ORDER BY building_id IS NULL, resource IS NULL LIMIT 1`, [buildingId, resource]);
  return rows[0] ? { ...rows[0], warn_factor: Number(rows[0].warn_factor) } : DEFAULT_SETTINGS;
}

export interface MeterRow {
  id: number; building_id: number; premise_id: number | null; placement: string; resource: Resource; status: string;
  serial_number: string; identifier: string | null; next_verification_on: string | null; timezone: string;
  /** Tariff zones (registers energy_t1_kwh …): 1 = a single register. */
  zones: number;
}

/** Pure, beside the window rules (readings/judge.ts dates entries by it); here for the callers that load settings. */
export { periodFor, type Period } from './rules.js';

export interface LastReading { time: Date; value: number | null; source: string; received_at: Date; version: number }

/**
 * The latest reading of each (meter, register) in one query, as the resident's list shows it: the
 * latest instant, then provenance (staff/import > telemetry > resident), then the latest version.
 * Keyed `${meterId}|${quantity}`.
 */
export async function lastReadings(q: Queryable, meterIds: readonly number[], quantities: readonly string[]): Promise<Map<string, LastReading>> {
  if (!meterIds.length || !quantities.length) return new Map();
  const { rows } = await q.query<LastReading & { meter_id: string; quantity: string }>(
    `SELECT DISTINCT ON (meter_id, quantity) meter_id, quantity, time, value, source, received_at, version FROM readings r
      WHERE meter_id = ANY($1::bigint[]) AND quantity = ANY($2::text[])
      ORDER BY meter_id, quantity, time DESC, ${sourceRankSql('r')} DESC, version DESC`, [[...meterIds], [...quantities]]);
  return new Map(rows.map(({ meter_id, quantity, ...r }) => [`${Number(meter_id)}|${quantity}`, { ...r, version: Number(r.version) }]));
}
