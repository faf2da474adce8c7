// Archive records of a heat calculator, as its register map describes them (`map.archives`).
// Pure: the gateway decodes what it read with decodeArchiveRecord(); the simulator builds the same
// words with encodeArchiveRecord(); both build or parse the select command from the same data, so a
// record's layout, its timestamp's packing and the НС bits live in the map file only.
import {
  decodeValue, encodeValue, wordCount,
  type ArchiveField, type ArchiveKind, type ArchiveSpec, type DateByte, type NsCode, type RegisterEntry, type RegisterMap,
} from './registers.js';

/** A wall-clock instant of the meter (no zone: the calculator keeps local time and knows no offset). */
export interface MeterClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute?: number;
  second?: number;
}

export interface ArchiveRecord {
  kind: ArchiveKind;
  /** The record's timestamp on the meter's own clock, ISO without zone ("2026-01-15T13:00:00"). */
  time: string;
  /** Whether `time` names the start or the end of the interval (from the map). */
  stamp: 'start' | 'end';
  /** The interval's length in seconds (from the map). */
  seconds: number;
  /** Interval amounts and means by quantity name. */
  values: Record<string, number>;
  /** НС codes active during the interval, in bit order. */
  nsCodes: string[];
  /** Тр, seconds. */
  workingSeconds: number;
  /** Тнс, seconds. */
  nsSeconds: number;
}

function specOf(map: RegisterMap): ArchiveSpec {
  if (!map.archives) throw new Error(`register map ${map.id} has no archives`);
  return map.archives;
}

const asEntry = (f: ArchiveField): RegisterEntry => ({ ...f, address: f.offset, fn: 'holding' });

function readField(f: ArchiveField, words: readonly number[]): number {
  const n = wordCount(f.type);
  if (f.offset + n > words.length) throw new Error(`archive field ${f.name}@+${f.offset}: record has only ${words.length} words`);
  return decodeValue(asEntry(f), words.slice(f.offset, f.offset + n));
}

function writeField(f: ArchiveField, value: number, words: number[]): void {
  encodeValue(asEntry(f), value).forEach((w, i) => (words[f.offset + i] = w));
}

function byteOf(b: DateByte, t: MeterClock, extra: { kind?: number; index?: number }): number {
  switch (b) {
    case 'zero': return 0;
    case 'year2': return t.year - 2000;
    case 'month': return t.month;
    case 'day': return t.day;
    case 'hour': return t.hour;
    case 'minute': return t.minute ?? 0;
    case 'second': return t.second ?? 0;
    case 'kind': return extra.kind ?? 0;
    case 'index': return extra.index ?? 0;
  }
}

function pack(layout: readonly (readonly [DateByte, DateByte])[], t: MeterClock, extra: { kind?: number; index?: number }): number[] {
  return layout.map(([hi, lo]) => ((byteOf(hi, t, extra) & 0xff) << 8) | (byteOf(lo, t, extra) & 0xff));
}

function unpack(layout: readonly (readonly [DateByte, DateByte])[], words: readonly number[]): Partial<Record<DateByte, number>> {
  const out: Partial<Record<DateByte, number>> = {};
  layout.forEach(([hi, lo], i) => {
    const w = words[i] ?? 0;
    out[hi] = (w >> 8) & 0xff;
    out[lo] = w & 0xff;
  });
  return out;
}

const p2 = (n: number) => String(n).padStart(2, '0');

/** A meter clock as ISO without zone. */
export function meterClockIso(t: MeterClock): string {
  return `${t.year}-${p2(t.month)}-${p2(t.day)}T${p2(t.hour)}:${p2(t.minute ?? 0)}:${p2(t.second ?? 0)}`;
}

function clockFrom(b: Partial<Record<DateByte, number>>): MeterClock {
  const t = { year: 2000 + (b.year2 ?? 0), month: b.month ?? 0, day: b.day ?? 0, hour: b.hour ?? 0, minute: b.minute ?? 0, second: b.second ?? 0 };
  // An unwritten archive slot reads as 0xFF bytes; a date that does not exist is no record at all.
  const d = new Date(Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second));
  if (t.month < 1 || t.month > 12 || t.hour > 23 || t.minute > 59 || t.second > 59 || d.getUTCDate() !== t.day) {
    throw new Error(`archive record has no valid timestamp (${meterClockIso(t)})`);
  }
  return t;
}

/** The words a master writes to `archives.select.address` (FC 16) to ask for the record of `time`. */
export function archiveSelectWords(map: RegisterMap, kind: ArchiveKind, time: MeterClock, index = 0): number[] {
  const spec = specOf(map);
  return pack(spec.select.words, time, { kind: spec.kinds[kind].code, index });
}

/** What a select write asked for (the slave's side): the kind and the wanted record's timestamp. */
export function parseArchiveSelect(map: RegisterMap, words: readonly number[]): { kind: ArchiveKind; time: MeterClock; index: number } {
  const spec = specOf(map);
  if (words.length < spec.select.words.length) throw new Error(`archive select needs ${spec.select.words.length} words, got ${words.length}`);
  const b = unpack(spec.select.words, words);
  const kind = (Object.keys(spec.kinds) as ArchiveKind[]).find((k) => spec.kinds[k].code === b.kind);
  if (!kind) throw new Error(`archive select: unknown archive code ${b.kind}`);
  return { kind, time: clockFrom(b), index: b.index ?? 0 };
}

/** Words of a record block (as read from `archives.record.address`) → the record. */
export function decodeArchiveRecord(map: RegisterMap, kind: ArchiveKind, words: readonly number[]): ArchiveRecord {
  const spec = specOf(map);
  const r = spec.record;
  if (words.length < r.count) throw new Error(`archive record of ${map.id} is ${r.count} words, got ${words.length}`);
  const time = clockFrom(unpack(r.time.words, words.slice(r.time.offset, r.time.offset + r.time.words.length)));
  const values: Record<string, number> = {};
  for (const f of r.values) values[f.name] = readField(f, words);
  const flags = r.nsFlags ? readField(r.nsFlags, words) : 0;
  return {
    kind,
    time: meterClockIso(time),
    stamp: r.stamp,
    seconds: spec.kinds[kind].seconds,
    values,
    nsCodes: nsCodesOf(map, flags),
    workingSeconds: readField(r.workingTime, words),
    nsSeconds: readField(r.nsTime, words),
  };
}

/** The record → its words (the simulator's side). Values missing from `values` are encoded as 0. */
export function encodeArchiveRecord(
  map: RegisterMap,
  rec: { time: MeterClock; values: Readonly<Record<string, number>>; nsCodes: readonly string[]; workingSeconds: number; nsSeconds: number },
): number[] {
  const r = specOf(map).record;
  const words = new Array<number>(r.count).fill(0);
  pack(r.time.words, rec.time, {}).forEach((w, i) => (words[r.time.offset + i] = w));
  for (const f of r.values) writeField(f, rec.values[f.name] ?? 0, words);
  writeField(r.workingTime, rec.workingSeconds, words);
  writeField(r.nsTime, rec.nsSeconds, words);
  if (r.nsFlags) writeField(r.nsFlags, nsFlagsOf(map, rec.nsCodes), words);
  return words;
}

/** The НС word's set bits → codes, in bit order; a bit the map does not name comes out as `bit<n>`. */
export function nsCodesOf(map: RegisterMap, flags: number): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 16; bit++) {
    if (!(flags & (1 << bit))) continue;
    out.push(map.nsCodes?.find((c) => c.bit === bit)?.code ?? `bit${bit}`);
  }
  return out;
}

/** Codes → the НС word; an unknown code is an error (it would silently vanish otherwise). */
export function nsFlagsOf(map: RegisterMap, codes: readonly string[]): number {
  let flags = 0;
  for (const code of codes) {
    const c: NsCode | undefined = map.nsCodes?.find((n) => n.code === code);
    if (!c) throw new Error(`register map ${map.id} has no НС code "${code}"`);
    flags |= 1 << c.bit;
  }
  return flags;
}
