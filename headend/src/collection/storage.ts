/**
 * Collection storage: effective settings, the facts about a meter the rules need, and saving a batch of
 * entered readings all-or-nothing. Callers pass the transaction handle.
 */
import type { Queryable } from '../api/queryable.js';
import type { Resource } from '@amr/protocols';
import { registerQuantity } from '@amr/protocols';
import { primaryQuantity, insertReadingVersion, type StoredReading } from '../api/services/readings.js';
import { countingReadings, NOT_REJECTED_SQL } from '../readings/consumption-store.js';
import { DEFAULT_SETTINGS, localDate, localMidnight, periodOf, windowState, type CollectionSettings, type MeterFacts, type WindowState, type LocalDate } from './rules.js';

/** The look-back of the high-consumption average: 3 months and the window's slack (as before: '3 months 5 days'). */
const THREE_MONTHS_MS = (3 * 30.4375 + 5) * 86_400_000;

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

/**
 * Previous reading before the period (or the installation reading of a replacement meter) and the
 * 3-month look-back, as billing counts them (readings/consumption-store: staff > telemetry > resident,
 * then the latest version; versions rejected on review and estimates left out), with the register
 * digits so a rollover is read the same way billing reads it.
 */
export async function meterFacts(q: Queryable, m: MeterRow, before: Date): Promise<MeterFacts> {
  const quantity = registerQuantity(m.resource);
  const meta = (await q.query<{ register_digits: number | null }>('SELECT register_digits FROM meters WHERE id = $1', [m.id])).rows[0];
  const registerDigits = meta?.register_digits == null ? null : Number(meta.register_digits);
  // The latest instant before the period with a reading that may count; then the counting readings of the 3 months up to it.
  const lastAt = (await q.query<{ time: Date }>(
    `SELECT r.time FROM readings r WHERE r.meter_id = $1 AND r.quantity = $2 AND r.time < $3 AND r.value IS NOT NULL AND r.source <> 'estimate'
        AND ${NOT_REJECTED_SQL('r')} ORDER BY r.time DESC LIMIT 1`, [m.id, quantity, before])).rows[0];
  const history = lastAt
    ? await countingReadings(q, m.id, quantity, new Date(new Date(lastAt.time).getTime() - THREE_MONTHS_MS), new Date(lastAt.time))
    : [];
  const last = history[history.length - 1];
  let previous = last ? { time: last.time, value: last.value } : null;
  if (!previous) {
    const inst = (await q.query<{ replaced_at: Date; installation_reading: number | null }>(
      'SELECT replaced_at, installation_reading FROM meter_replacements WHERE new_meter_id = $1 AND undone_at IS NULL ORDER BY replaced_at DESC LIMIT 1', [m.id])).rows[0];
    if (inst?.installation_reading != null) previous = { time: new Date(inst.replaced_at), value: Number(inst.installation_reading) };
  }
  const earliest = last ? { time: history[0].time, value: history[0].value } : null;
  return { meterId: m.id, nextVerificationOn: m.next_verification_on, previous, earliestInThreeMonths: earliest, registerDigits };
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
