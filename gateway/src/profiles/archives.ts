/**
 * A meter's stored values (EN 13757-3 storage numbers) as archive readings: for each storage number
 * the profile names (`storage`), the registers the profile reads at storage 0 are read at that
 * storage number and dated by the storage's own date record. Pure: one decoded readout in, the
 * archive readings and the records they used out (those are then not published generically).
 *
 * A storage is NOT an archive reading — its records stay generic `mbus.*.s<n>` values, as before —
 * when its date cannot be trusted:
 * - no date record with that storage number (a storage the model does not date, e.g. EFE's s2);
 * - two date records that disagree (which one dates the values is a guess);
 * - a date the meter marks invalid, cannot be a calendar date (`2000-00-00`: never set), or lies in
 *   2000 or before (the reset value of meters whose due date has not come yet: `2000-01-01`), as the
 *   live clock's `clock_unset` rule;
 * - a date after the meter's own clock (the next due date, which some meters send in the same place).
 */
import { QUANTITIES, type MbusRecord, type MbusTelegram, type ReadingValue } from '@amr/protocols';
import { CONVERT, matches, recordQuality } from './select.js';
import type { StoredValues } from '../drivers/types.js';
import type { MeterProfile, StorageArchiveSpec } from './types.js';

export type MbusArchiveReading = StoredValues;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2}))?$/;

/** A meter time as its local wall clock: libmbus appends a `Z` to type F times the meter keeps without zone. */
const local = (v: string) => v.replace(/Z$/, '');

/** The instant on the meter's clock that a date record names for the spec, or null when it is no usable date. */
export function archiveInstant(date: string, day: StorageArchiveSpec['day']): string | null {
  const m = DATE_RE.exec(date);
  if (!m) return null;
  if (m[4] !== undefined) return date;
  if (day === 'start') return `${date}T00:00:00`;
  const next = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1));
  return `${next.toISOString().slice(0, 10)}T00:00:00`;
}

function storagesOf(spec: StorageArchiveSpec, present: ReadonlySet<number>): number[] {
  const [from, to] = typeof spec.storage === 'number' ? [spec.storage, spec.storage] : spec.storage;
  return [...present].filter((n) => n >= from && n <= to).sort((a, b) => a - b);
}

/** The storage's date record, or null (none, or several that disagree, or not a date to trust). */
function dateRecord(records: readonly MbusRecord[], storage: number, spec: StorageArchiveSpec): MbusRecord[] | null {
  const dates = records.filter(
    (r) =>
      r.storage === storage &&
      r.function === 'instantaneous' &&
      r.tariff === 0 &&
      r.subunit === 0 &&
      (spec.date === undefined ? r.quantity === 'date' || r.quantity === 'datetime' : r.quantity === spec.date) &&
      !r.modifiers?.length &&
      typeof r.value === 'string',
  );
  if (dates.length === 0 || dates.some((d) => d.value !== dates[0].value)) return null;
  const d = dates[0];
  if (d.error || d.timeInvalid || !DATE_RE.test(local(d.value as string)) || Number((d.value as string).slice(0, 4)) <= 2000) return null;
  return dates;
}

/** The meter's own clock (storage-0 date/time), as a meter-local ISO string, when it sent a valid one. */
function meterClock(records: readonly MbusRecord[]): string | undefined {
  const c = records.find((r) => r.quantity === 'datetime' && r.storage === 0 && r.function === 'instantaneous' && typeof r.value === 'string' && !r.timeInvalid && !r.error);
  return c ? local(c.value as string) : undefined;
}

export function mbusArchiveReadings(telegrams: readonly MbusTelegram[], profile: MeterProfile, already: ReadonlySet<MbusRecord> = new Set()): { archives: MbusArchiveReading[]; used: Set<MbusRecord> } {
  const used = new Set<MbusRecord>();
  const archives: MbusArchiveReading[] = [];
  if (!profile.storage?.length) return { archives, used };
  const records = telegrams.flatMap((t) => t.records).filter((r) => !already.has(r));
  const present = new Set(records.map((r) => r.storage).filter((n) => n > 0));
  const clock = meterClock(telegrams.flatMap((t) => t.records));
  // The registers of the profile: its storage-0 fields whose quantity is a cumulative register.
  const registers = profile.fields.filter(
    (f) => (QUANTITIES as Record<string, { kind: string }>)[f.name]?.kind === 'register' && (f.from.storage ?? 0) === 0 && (f.from.function ?? 'instantaneous') === 'instantaneous',
  );
  const claimed = new Set<number>();
  for (const spec of profile.storage) {
    for (const storage of storagesOf(spec, present)) {
      if (claimed.has(storage)) continue; // the first spec naming a storage number wins
      claimed.add(storage);
      const dates = dateRecord(records, storage, spec);
      if (!dates) continue;
      const date = local(dates[0].value as string);
      const record = archiveInstant(date, spec.day);
      // A date after the meter's clock is a due date still to come: nothing is stored for it yet.
      if (!record || (clock !== undefined && record > clock)) continue;
      const values: ReadingValue[] = [];
      const taken: MbusRecord[] = [];
      for (const f of registers) {
        const r = records.find((x) => !used.has(x) && !taken.includes(x) && matches({ ...f.from, function: 'instantaneous', storage }, x));
        if (!r || (typeof r.value !== 'number' && r.value !== null)) continue;
        const unit = (QUANTITIES as Record<string, { unit: string }>)[f.name].unit;
        const factor = CONVERT[unit]?.[r.unit];
        if (factor === undefined) continue; // a unit we cannot convert: left to the generic form
        taken.push(r);
        const v: ReadingValue = { quantity: f.name, value: typeof r.value === 'number' ? Number((r.value * factor).toPrecision(15)) : null, unit, storage, quality: recordQuality(r) };
        if (r.tariff) v.tariff = r.tariff;
        if (r.subunit) v.subunit = r.subunit;
        values.push(v);
      }
      // A dated storage without any register the profile knows is no reading; its records stay generic.
      if (values.length === 0) continue;
      for (const r of [...taken, ...dates]) used.add(r);
      archives.push({ kind: spec.kind, storage, date, record, values });
    }
  }
  return { archives, used };
}

/**
 * The stored values of a model's history telegram (`profile.history`, the one an application select
 * asks for): its storages as the history spec names them, dated and checked as above, the registers
 * those of the profile's fields; restricted to `quantities` when the meter's config names some.
 */
export function mbusHistoryReadings(telegrams: readonly MbusTelegram[], profile: MeterProfile, quantities?: readonly string[]): MbusArchiveReading[] {
  if (!profile.history) return [];
  const { archives } = mbusArchiveReadings(telegrams, { ...profile, storage: profile.history.storage });
  return archives
    .map((a) => ({ ...a, values: quantities ? a.values.filter((v) => quantities.includes(v.quantity)) : a.values }))
    .filter((a) => a.values.length > 0);
}
