/**
 * Meter profiles are data: which decoded M-Bus records become which named contract quantities,
 * chosen by manufacturer / version / medium. A profile never computes; it selects and converts
 * units. Records a profile does not name are published generically (`mbus.<function>.<quantity>…`)
 * when `generic: true`, so an unknown meter still delivers everything it says.
 */
export interface RecordSelector {
  /** Decoder quantity (protocols/src/mbus/app/vif.ts): energy, volume, power, flow_temperature, … */
  quantity: string;
  function?: 'instantaneous' | 'maximum' | 'minimum' | 'error';
  storage?: number;
  tariff?: number;
  subunit?: number;
  /** When several records match, take the n-th (0-based) in telegram order. */
  nth?: number;
}

export interface ProfileField {
  /** Contract quantity name (QUANTITIES) — its unit is fixed by the contract. */
  name: string;
  from: RecordSelector;
}

/**
 * What one storage number (or an inclusive range of them) holds on a meter model: the registers as
 * they stood at the storage's date. Only the model knows — EN 13757-3 says "storage 1" and nothing
 * about what it means — so it is named per model, from that model's telegrams.
 */
export interface StorageArchiveSpec {
  storage: number | [from: number, to: number];
  /** `due_date`: the billing date's value (Stichtag); `month_end`: a month's closing value. */
  kind: 'due_date' | 'month_end';
  /**
   * The record that dates the storage: a type G `date` or type F `datetime` with the same storage
   * number, function instantaneous, tariff 0, subunit 0, no modifier ("future value" is the next
   * due date, not this storage's). Default: either.
   */
  date?: 'date' | 'datetime';
  /**
   * Which end of a date's day the registers belong to: `end` for a due date stamped with the day it
   * closes ("31.12." — the value at 24:00), `start` for a month value stamped with the 1st of the next
   * month (its 00:00). A `datetime` record's own time is the instant.
   */
  day: 'start' | 'end';
}

/**
 * A telegram the model sends only when asked for it by an application select (EN 13757-3: SND_UD with
 * CI 0x50 and a subcode), typically its month-end history deeper than the normal telegram holds. The
 * gateway selects it, reads it (REQ_UD2, following "more records follow"), and always resets the
 * meter back to its normal telegram (application reset without subcode, then SND_NKE).
 */
export interface HistoryTelegramSpec {
  /** The byte after CI 0x50 that selects the telegram (the model's documentation names it). */
  subcode: number;
  /** The storages it holds and how each is dated, as `storage` says for the normal telegram. */
  storage: StorageArchiveSpec[];
}

export interface MeterProfile {
  name: string;
  doc: string;
  match: { manufacturer?: string; versions?: number[]; media?: number[] };
  /** false: chosen only by name (a meter's `profile:`), never by `auto` (a model no real meter is). */
  auto?: boolean;
  fields: ProfileField[];
  /** Also publish every record not taken by a field, as `mbus.*`. */
  generic: boolean;
  /**
   * The model's stored values (due date, month ends) by storage number. Each storage's registers are
   * the fields' register quantities (`kind: 'register'`) read at that storage number instead of 0.
   * Absent: storage numbers stay generic `mbus.*.s<n>` values, as for any meter.
   */
  storage?: StorageArchiveSpec[];
  /** The model's history telegram, read after a gap and once after each month end (drivers/mbus-native.ts). */
  history?: HistoryTelegramSpec;
  /** Where this profile's knowledge comes from (real telegrams it is tested against). */
  source?: string;
}
