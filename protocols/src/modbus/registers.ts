// Register maps as data, and the pure conversion between 16-bit register words and values.
// The simulator serves a map with encodeRegisters(); the gateway polls the SAME map with
// planReads() + decodeRegisters(), so both sides can never disagree about an address or a word order.
import { z } from 'zod';

export const RegisterType = z.enum(['uint16', 'int16', 'uint32', 'int32', 'float32', 'float64']);
export type RegisterType = z.infer<typeof RegisterType>;

export const RegisterEntry = z.object({
  /** Quantity name from contract/quantities.ts (or generic `modbus.<name>`). */
  name: z.string().min(1),
  /** Zero-based protocol address (SDM630 "30073" = input register 0x0048). */
  address: z.number().int().min(0).max(0xffff),
  fn: z.enum(['input', 'holding']),
  type: RegisterType,
  /** Order of the 16-bit words of a multi-word value; bytes inside a word are always big-endian. */
  wordOrder: z.enum(['BE', 'LE']).default('BE'),
  /** value = raw × scale. */
  scale: z.number().default(1),
  unit: z.string(),
  /** True when the address or encoding is not from the cited document but the project's guess. */
  assumed: z.boolean().optional(),
});
export type RegisterEntry = z.infer<typeof RegisterEntry>;

/**
 * One byte of a packed date word. Heat calculators pack dates two bytes to a register (month in the
 * high byte, day in the low one, …); `year2` is the year minus 2000, `kind` the archive's code,
 * `index` a record number, `zero` a byte that is always 0.
 */
export const DateByte = z.enum(['zero', 'year2', 'month', 'day', 'hour', 'minute', 'second', 'kind', 'index']);
export type DateByte = z.infer<typeof DateByte>;
/** A register of two packed bytes: [high, low]. */
export const PackedWord = z.tuple([DateByte, DateByte]);

/** A value inside an archive record: like a register entry, but at a word offset from the record's start. */
export const ArchiveField = RegisterEntry.omit({ address: true, fn: true }).extend({
  offset: z.number().int().min(0).max(124),
});
export type ArchiveField = z.infer<typeof ArchiveField>;

export const ArchiveKind = z.enum(['hourly', 'daily']);
export type ArchiveKind = z.infer<typeof ArchiveKind>;

/** An abnormal situation (НС) the calculator reports: its bit in the НС word, and what it means. */
export const NsCode = z.object({
  code: z.string().min(1),
  bit: z.number().int().min(0).max(15),
  ru: z.string(),
  en: z.string(),
  meaning: z.string(),
  assumed: z.boolean().optional(),
});
export type NsCode = z.infer<typeof NsCode>;

/**
 * How a calculator hands out its archives: the master writes the wanted record's date (and the
 * archive's code) to `select` with FC 16, then reads the record block with FC 03; the block starts
 * with the record's own timestamp, so the master can tell which record it got.
 */
export const ArchiveSpec = z.object({
  select: z.object({ address: z.number().int().min(0).max(0xffff), words: z.array(PackedWord).min(1) }),
  /** Per kind: the code written in the `kind` byte and the record's length in seconds. */
  kinds: z.record(ArchiveKind, z.object({ code: z.number().int().min(0).max(255), seconds: z.number().int().positive() })),
  record: z.object({
    address: z.number().int().min(0).max(0xffff),
    count: z.number().int().min(1).max(125),
    /** The record's timestamp: packed words at `offset`, on the meter's own clock (no zone). */
    time: z.object({ offset: z.number().int().min(0), words: z.array(PackedWord).min(1) }),
    /** Whether the timestamp names the start or the end of the interval the record covers. */
    stamp: z.enum(['start', 'end']),
    values: z.array(ArchiveField).min(1),
    /** Тр: time the calculator counted normally in the interval (unit converted to s by `scale`). */
    workingTime: ArchiveField,
    /** Тнс: time without normal counting in the interval (НС, power off), in s after `scale`. */
    nsTime: ArchiveField,
    /** НС bits active during the interval (see the map's `nsCodes`). */
    nsFlags: ArchiveField.optional(),
  }),
});
export type ArchiveSpec = z.infer<typeof ArchiveSpec>;

export const RegisterMap = z.object({
  id: z.string().min(1),
  model: z.string(),
  doc: z.string().optional(),
  entries: z.array(RegisterEntry).min(1),
  archives: ArchiveSpec.optional(),
  /** НС codes by bit, for the current flags register (`error_flags`) and the records' НС word. */
  nsCodes: z.array(NsCode).optional(),
});
export type RegisterMap = z.infer<typeof RegisterMap>;

export function wordCount(type: RegisterType): number {
  return type === 'uint16' || type === 'int16' ? 1 : type === 'float64' ? 4 : 2;
}

/**
 * The shortest decimal that reads back as the same float32: what the meter meant. A float32 230.1
 * widened to a double is 230.10000610351562 — digits the meter never had, which then look like
 * a change in every stored reading. 9 significant digits always round-trip a float32, so the loop
 * ends. NaN and ±Infinity are returned as they are (the caller flags them).
 */
export function shortestFloat32(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.fround(x);
  if (f === 0) return 0;
  for (let p = 1; p <= 9; p++) {
    const d = Number(f.toPrecision(p));
    if (Math.fround(d) === f) return d;
  }
  return f;
}

/** value × scale without binary noise (12345 × 0.001 is 12.345, not 12.345000000000001). */
function scaled(raw: number, scale: number): number {
  if (scale === 1 || !Number.isFinite(raw)) return raw;
  return Number((raw * scale).toPrecision(15));
}

/** Words (as read from the wire, in address order) → engineering value. */
export function decodeValue(entry: RegisterEntry, words: readonly number[]): number {
  const n = wordCount(entry.type);
  if (words.length < n) throw new Error(`register ${entry.name}@${entry.address}: need ${n} words, got ${words.length}`);
  const ordered = entry.wordOrder === 'LE' ? words.slice(0, n).reverse() : words.slice(0, n);
  const buf = Buffer.alloc(n * 2);
  ordered.forEach((w, i) => buf.writeUInt16BE(w & 0xffff, i * 2));
  let raw: number;
  switch (entry.type) {
    case 'uint16': raw = buf.readUInt16BE(0); break;
    case 'int16': raw = buf.readInt16BE(0); break;
    case 'uint32': raw = buf.readUInt32BE(0); break;
    case 'int32': raw = buf.readInt32BE(0); break;
    case 'float32': raw = shortestFloat32(buf.readFloatBE(0)); break;
    case 'float64': raw = buf.readDoubleBE(0); break;
  }
  return scaled(raw, entry.scale);
}

/** Engineering value → words in address order. Integers are rounded and clamped to the type's range. */
export function encodeValue(entry: RegisterEntry, value: number): number[] {
  const n = wordCount(entry.type);
  const buf = Buffer.alloc(n * 2);
  const raw = value / entry.scale;
  const int = (lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(raw)));
  switch (entry.type) {
    case 'uint16': buf.writeUInt16BE(int(0, 0xffff)); break;
    case 'int16': buf.writeInt16BE(int(-0x8000, 0x7fff)); break;
    case 'uint32': buf.writeUInt32BE(int(0, 0xffffffff)); break;
    case 'int32': buf.writeInt32BE(int(-0x80000000, 0x7fffffff)); break;
    case 'float32': buf.writeFloatBE(raw); break;
    case 'float64': buf.writeDoubleBE(raw); break;
  }
  const words: number[] = [];
  for (let i = 0; i < n; i++) words.push(buf.readUInt16BE(i * 2));
  return entry.wordOrder === 'LE' ? words.reverse() : words;
}

/** A register image: address → word, per table. What a slave serves. */
export interface RegisterImage {
  input: Map<number, number>;
  holding: Map<number, number>;
}

/** Values by entry name → register image. Entries without a value are encoded as 0. */
export function encodeRegisters(map: RegisterMap, values: Readonly<Record<string, number>>): RegisterImage {
  const image: RegisterImage = { input: new Map(), holding: new Map() };
  for (const e of map.entries) {
    const words = encodeValue(e, values[e.name] ?? 0);
    words.forEach((w, i) => image[e.fn].set(e.address + i, w));
  }
  return image;
}

/** One contiguous read: function, first address, count. */
export interface ReadBlock {
  fn: 'input' | 'holding';
  start: number;
  count: number;
}

/**
 * Groups a map's entries into as few reads as possible (max 125 words per read, FC 03/04 limit),
 * bridging gaps up to `maxGap` words — real meters answer gaps inside their documented range.
 */
export function planReads(map: RegisterMap, maxGap = 8, maxCount = 125): ReadBlock[] {
  const blocks: ReadBlock[] = [];
  for (const fn of ['input', 'holding'] as const) {
    const es = map.entries.filter((e) => e.fn === fn).sort((a, b) => a.address - b.address);
    let cur: ReadBlock | undefined;
    for (const e of es) {
      const end = e.address + wordCount(e.type);
      if (cur && e.address - (cur.start + cur.count) <= maxGap && end - cur.start <= maxCount) {
        cur.count = Math.max(cur.count, end - cur.start);
      } else {
        cur = { fn, start: e.address, count: end - e.address };
        blocks.push(cur);
      }
    }
  }
  return blocks;
}

/** Decodes every entry of `map` wholly inside the block `words` read from `fn` at `start`. */
export function decodeRegisters(
  map: RegisterMap,
  block: { fn: 'input' | 'holding'; start: number; words: readonly number[] },
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of map.entries) {
    if (e.fn !== block.fn) continue;
    const off = e.address - block.start;
    const n = wordCount(e.type);
    if (off < 0 || off + n > block.words.length) continue;
    out[e.name] = decodeValue(e, block.words.slice(off, off + n));
  }
  return out;
}
