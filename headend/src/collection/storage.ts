/**
 * Collection storage: effective settings, the facts about a meter the rules need, and saving a batch of
 * entered readings all-or-nothing. Callers pass the transaction handle.
 */
import type { Queryable } from '../api/queryable.js';
import type { Resource } from '@amr/protocols';
import { primaryQuantity, insertReadingVersion, type StoredReading } from '../api/services/readings.js';
import { sourceRankSql } from '../billing/provenance.js';
import { DEFAULT_SETTINGS, localDate, localMidnight, periodOf, windowState, type CollectionSettings, type MeterFacts, type WindowState, type LocalDate } from './rules.js';

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

export async function loadMeters(q: Queryable, ids: number[]): Promise<Map<number, MeterRow>> {
  const { rows } = await q.query<MeterRow>(
    `SELECT m.id::int AS id, m.building_id::int AS building_id, m.premise_id::int AS premise_id, m.placement, m.resource, m.status,
            m.serial_number, m.identifier, to_char(m.next_verification_on, 'YYYY-MM-DD') AS next_verification_on, b.timezone, m.zones
       FROM meters m JOIN buildings b ON b.id = m.building_id WHERE m.id = ANY($1::bigint[])`, [ids]);
  return new Map(rows.map((r) => [Number(r.id), r]));
}

export interface Period { today: LocalDate; window: WindowState; time: Date }

/** Where "now" falls for a meter: its window and the instant its period's readings are dated. */
export function periodFor(now: Date, timezone: string, s: CollectionSettings): Period {
  const today = localDate(now, timezone);
  const window = windowState(today, s.window_start_day, s.window_end_day);
  return { today, window, time: localMidnight(periodOf(window), timezone) };
}

/** Previous reading before the period (or the installation reading of a replacement meter) and the 3-month look-back. */
/** A later NULL staff version withdrew the instant (an undone replacement, registry/replacement.ts). */
const NOT_WITHDRAWN = `NOT EXISTS (SELECT 1 FROM readings w WHERE w.meter_id = r.meter_id AND w.quantity = r.quantity AND w.time = r.time
                                        AND w.value IS NULL AND w.source = 'staff' AND w.version > r.version)`;

export async function meterFacts(q: Queryable, m: MeterRow, before: Date): Promise<MeterFacts> {
  const quantity = primaryQuantity(m.resource);
  // The reading that counts at an instant is billing's (staff > telemetry > resident, then the latest
  // version): the "not below the previous" check and the warning must compare with what was billed.
  const prevRow = (await q.query<{ time: Date; value: number }>(
    `SELECT time, value FROM readings r WHERE meter_id = $1 AND quantity = $2 AND time < $3 AND value IS NOT NULL AND ${NOT_WITHDRAWN}
      ORDER BY time DESC, ${sourceRankSql('r')} DESC, version DESC LIMIT 1`, [m.id, quantity, before])).rows[0];
  let previous = prevRow ? { time: new Date(prevRow.time), value: Number(prevRow.value) } : null;
  if (!previous) {
    const inst = (await q.query<{ replaced_at: Date; installation_reading: number | null }>(
      'SELECT replaced_at, installation_reading FROM meter_replacements WHERE new_meter_id = $1 AND undone_at IS NULL ORDER BY replaced_at DESC LIMIT 1', [m.id])).rows[0];
    if (inst?.installation_reading != null) previous = { time: new Date(inst.replaced_at), value: Number(inst.installation_reading) };
  }
  let earliest = null;
  if (prevRow) {
    const e = (await q.query<{ time: Date; value: number }>(
      `SELECT time, value FROM readings r WHERE meter_id = $1 AND quantity = $2 AND value IS NOT NULL
          AND time >= $3::timestamptz - interval '3 months 5 days' AND time <= $3
        ORDER BY time ASC, ${sourceRankSql('r')} DESC, version DESC LIMIT 1`, [m.id, quantity, prevRow.time])).rows[0];
    if (e) earliest = { time: new Date(e.time), value: Number(e.value) };
  }
  return { meterId: m.id, nextVerificationOn: m.next_verification_on, previous, earliestInThreeMonths: earliest };
}

/**
 * A reading taken by staff (on site, or from the organisation's file) for this meter and instant, if
 * any: it outranks a resident's, so a resident's entry there would be ignored by billing. Residents are
 * told instead of being silently overruled.
 */
export async function staffReadingAt(q: Queryable, m: MeterRow, time: Date): Promise<{ value: number; source: string; received_at: Date } | null> {
  const r = (await q.query<{ value: number; source: string; received_at: Date }>(
    `SELECT value, source, received_at FROM readings WHERE meter_id = $1 AND quantity = $2 AND time = $3 AND source IN ('staff', 'import') AND value IS NOT NULL
      ORDER BY version DESC LIMIT 1`, [m.id, primaryQuantity(m.resource), time])).rows[0];
  return r ? { ...r, value: Number(r.value) } : null;
}

export async function saveReading(q: Queryable, m: MeterRow, time: Date, value: number, source: 'resident' | 'staff', createdBy: string, reason: string | null): Promise<StoredReading> {
  return insertReadingVersion(q, { meterId: m.id, time, quantity: primaryQuantity(m.resource), value, source, createdBy, reason });
}
