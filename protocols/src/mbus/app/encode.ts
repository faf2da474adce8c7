/**
 * RSP_UD encoder (slave side): builds variable-data telegrams (CI 0x72, long header) from
 * friendly record specs, for the meter simulators and for round-trip tests of the decoder.
 * The long-frame wrapping is a few bytes of arithmetic kept local here so the application
 * layer does not depend on the link layer's internals.
 */
import { MbusEncodeError } from './errors.js';
import { allVifs, vifBytes, type VifInfo } from './vif.js';
import { encodeManufacturer, writeBcd, writeIntLE, writeReal32, parseHex } from './primitives.js';
import { encodeTypeF, encodeTypeG, encodeTypeI, encodeTypeJ } from './datetime.js';
import { mediumCode } from './medium.js';
import type { MbusRecord, MbusTelegram, RecordFunction } from './types.js';

export type Coding =
  | 'none'
  | 'int8'
  | 'int16'
  | 'int24'
  | 'int32'
  | 'int48'
  | 'int64'
  | 'real32'
  | 'bcd2'
  | 'bcd4'
  | 'bcd6'
  | 'bcd8'
  | 'bcd12'
  | 'text'
  | 'binary'
  | 'typeG'
  | 'typeF'
  | 'typeI'
  | 'typeJ'
  | 'selection';

/** Data field (low nibble of the DIF) and byte length per coding. */
export const CODINGS: Record<Coding, { field: number; length: number }> = {
  none: { field: 0x0, length: 0 },
  int8: { field: 0x1, length: 1 },
  int16: { field: 0x2, length: 2 },
  int24: { field: 0x3, length: 3 },
  int32: { field: 0x4, length: 4 },
  real32: { field: 0x5, length: 4 },
  int48: { field: 0x6, length: 6 },
  int64: { field: 0x7, length: 8 },
  selection: { field: 0x8, length: 0 },
  bcd2: { field: 0x9, length: 1 },
  bcd4: { field: 0xa, length: 2 },
  bcd6: { field: 0xb, length: 3 },
  bcd8: { field: 0xc, length: 4 },
  bcd12: { field: 0xe, length: 6 },
  text: { field: 0xd, length: -1 },
  binary: { field: 0xd, length: -1 },
  typeG: { field: 0x2, length: 2 },
  typeF: { field: 0x4, length: 4 },
  typeI: { field: 0x6, length: 6 },
  typeJ: { field: 0x3, length: 3 },
};

interface RecordSpecCommon {
  coding: Coding;
  /** Number in the canonical unit, bigint for exact 48/64-bit, ISO string/Date for dates, text, hex for binary. */
  value?: number | bigint | string | Date | null;
  function?: RecordFunction;
  storage?: number;
  tariff?: number;
  subunit?: number;
  /** Record error code 0x00–0x1F (EN 13757-3 table 16), sent as a VIFE. */
  errorCode?: number;
  /** Extra VIFEs after the VIF (and after the error code), without extension bits. */
  vife?: number[];
  timeInvalid?: boolean;
  summerTime?: boolean;
}

/** Record by meaning: the encoder picks the VIF (and its multiplier) from the tables. */
export interface QuantityRecordSpec extends RecordSpecCommon {
  quantity: string;
  unit?: string;
  /** Decimal exponent of the VIF multiplier, e.g. 3 for energy in kWh steps when unit is Wh. */
  exponent?: number;
}

/** Record by raw VIF bytes (VIF + VIFEs, extension bits set as on the wire). */
export interface RawRecordSpec extends RecordSpecCommon {
  vif: number[];
  /** Raw = value / scale (default 1). */
  scale?: number;
  /** For VIF 0x7C/0xFC: the plain-text unit. */
  plainTextUnit?: string;
}

/**
 * Record by its bytes: DIF+DIFEs, everything between them and the data (VIF, plain text, VIFEs)
 * and the data field as on the wire (with the LVAR byte for 0x0D). For replaying captured meters
 * and for deliberately odd data (BCD "AA AA" markers, reserved codes) in simulators.
 */
export interface VerbatimRecordSpec {
  dif: number[];
  vif: number[];
  /** Hex or bytes. */
  data: string | Uint8Array;
}

export type RecordSpec = QuantityRecordSpec | RawRecordSpec | VerbatimRecordSpec;

export interface HeaderSpec {
  /** Up to 8 decimal digits. */
  id: number | string;
  manufacturer: string;
  version: number;
  /** Medium code or canonical name ('water', 'heat_outlet', 'electricity', ...). */
  medium: number | string;
  accessNumber: number;
  status?: number;
  signature?: number;
}

export interface RspUdSpec {
  address: number;
  header: HeaderSpec;
  records: RecordSpec[];
  moreRecordsFollow?: boolean;
  /** Bytes after a 0x0F (or 0x1F) DIF: Uint8Array or hex. */
  manufacturerData?: Uint8Array | string;
  /** C-field flags of the response: access demand and data flow control. */
  acd?: boolean;
  dfc?: boolean;
}

const FUNCTION_BITS: Record<RecordFunction, number> = { instantaneous: 0, maximum: 1, minimum: 2, error: 3 };

function isVerbatim(r: RecordSpec): r is VerbatimRecordSpec {
  return Array.isArray((r as VerbatimRecordSpec).dif);
}

function isRaw(r: RecordSpec): r is RawRecordSpec {
  return Array.isArray((r as RawRecordSpec).vif);
}

function kindForCoding(c: Coding): VifInfo['kind'] | undefined {
  if (c === 'typeG') return 'date';
  if (c === 'typeF' || c === 'typeI') return 'datetime';
  if (c === 'typeJ') return 'datetime';
  return undefined;
}

const ALL_VIFS = allVifs();

function integral(x: number): boolean {
  // Relative tolerance only: a tiny value must not count as the integer 0.
  return Math.abs(x - Math.round(x)) <= 1e-9 * Math.abs(x);
}

/** Picks the VIF entry for a quantity spec; throws naming what did not match. */
export function chooseVif(spec: QuantityRecordSpec): VifInfo {
  const kind = kindForCoding(spec.coding);
  let cands = ALL_VIFS.filter((v) => v.quantity === spec.quantity && (spec.unit === undefined || v.unit === spec.unit));
  if (kind) cands = cands.filter((v) => v.kind === kind);
  if (cands.length === 0)
    throw new MbusEncodeError('quantity', `no VIF for quantity "${spec.quantity}"${spec.unit ? ` in unit "${spec.unit}"` : ''}`);
  // Prefer the primary table when the same meaning exists in several tables.
  const order = { primary: 0, fd: 1, fb: 2 };
  cands.sort((a, b) => order[a.table] - order[b.table] || b.scale - a.scale);
  if (spec.exponent !== undefined) {
    const hit = cands.find((v) => v.exponent === spec.exponent && v.scale === 10 ** spec.exponent) ?? cands.find((v) => v.exponent === spec.exponent);
    if (!hit) throw new MbusEncodeError('exponent', `quantity "${spec.quantity}" has no VIF with exponent ${spec.exponent}`);
    return hit;
  }
  const first = cands.filter((v) => v.table === cands[0].table);
  const v = spec.value;
  if (typeof v !== 'number' || spec.coding === 'real32' || kind) {
    return first.find((c) => c.scale === 1) ?? first[first.length - 1];
  }
  return first.find((c) => integral(v / c.scale)) ?? first[first.length - 1];
}

function dif(spec: QuantityRecordSpec | RawRecordSpec, field: number): number[] {
  const storage = spec.storage ?? 0;
  const tariff = spec.tariff ?? 0;
  const subunit = spec.subunit ?? 0;
  if (storage < 0 || tariff < 0 || subunit < 0 || !Number.isInteger(storage + tariff + subunit))
    throw new MbusEncodeError('dife', 'storage, tariff and subunit must be non-negative integers');
  const fn = FUNCTION_BITS[spec.function ?? 'instantaneous'];
  const out = [field | (fn << 4) | ((storage & 1) << 6)];
  let s = Math.floor(storage / 2);
  let t = tariff;
  let u = subunit;
  const difes: number[] = [];
  while (s > 0 || t > 0 || u > 0) {
    difes.push((s & 0x0f) | ((t & 0x03) << 4) | ((u & 1) << 6));
    s = Math.floor(s / 16);
    t = Math.floor(t / 4);
    u = Math.floor(u / 2);
  }
  if (difes.length > 10) throw new MbusEncodeError('dife', 'storage/tariff/subunit need more than 10 DIFEs');
  for (const d of difes) {
    out[out.length - 1] |= 0x80;
    out.push(d);
  }
  return out;
}

function chainVif(bytes: number[], extra: number[]): number[] {
  const out = [...bytes];
  for (const x of extra) {
    out[out.length - 1] |= 0x80;
    out.push(x & 0x7f);
  }
  return out;
}

function reversedAscii(s: string): number[] {
  const bytes = Array.from(s, (ch) => {
    const c = ch.charCodeAt(0);
    if (c > 0x7f) throw new MbusEncodeError('text', `text must be ASCII, got "${ch}"`);
    return c;
  });
  return bytes.reverse();
}

function dataBytes(spec: QuantityRecordSpec | RawRecordSpec, scale: number): number[] {
  const c = spec.coding;
  const v = spec.value;
  const len = CODINGS[c].length;
  switch (c) {
    case 'none':
    case 'selection':
      return [];
    case 'typeG':
    case 'typeF':
    case 'typeI':
    case 'typeJ': {
      if (typeof v !== 'string' && !(v instanceof Date)) throw new MbusEncodeError('value', `${c} needs an ISO string or Date`);
      const f = { timeInvalid: spec.timeInvalid, summerTime: spec.summerTime };
      const b = c === 'typeG' ? encodeTypeG(v) : c === 'typeF' ? encodeTypeF(v, f) : c === 'typeI' ? encodeTypeI(v, f) : encodeTypeJ(v);
      return [...b];
    }
    case 'text': {
      if (typeof v !== 'string') throw new MbusEncodeError('value', 'text coding needs a string');
      if (v.length > 0xbf) throw new MbusEncodeError('value', 'text longer than 191 characters');
      return [v.length, ...reversedAscii(v)];
    }
    case 'binary': {
      const b = typeof v === 'string' ? parseHex(v) : v instanceof Uint8Array ? v : undefined;
      if (!b) throw new MbusEncodeError('value', 'binary coding needs a hex string');
      if (b.length > 15) throw new MbusEncodeError('value', 'binary longer than 15 bytes (LVAR 0xE0–0xEF)');
      // The value reads most significant byte first; on the wire it goes LSB first.
      return [0xe0 + b.length, ...Array.from(b).reverse()];
    }
    case 'real32': {
      if (typeof v !== 'number') throw new MbusEncodeError('value', 'real32 needs a number');
      return [...writeReal32(v / scale)];
    }
    default: {
      if (v === null || v === undefined) throw new MbusEncodeError('value', `${c} needs a value`);
      let raw: bigint;
      if (typeof v === 'bigint') raw = scale === 1 ? v : BigInt(Math.round(Number(v) / scale));
      else if (typeof v === 'number') {
        const r = v / scale;
        if (!Number.isFinite(r)) throw new MbusEncodeError('value', `${v} is not finite`);
        raw = BigInt(Math.round(r));
      } else throw new MbusEncodeError('value', `${c} needs a number`);
      return c.startsWith('bcd') ? [...writeBcd(raw, len)] : [...writeIntLE(raw, len)];
    }
  }
}

/** One data record (DIF…data) as bytes. */
export function encodeRecord(spec: RecordSpec): Uint8Array {
  if (isVerbatim(spec)) {
    const data = typeof spec.data === 'string' ? parseHex(spec.data) : spec.data;
    return Uint8Array.from([...spec.dif, ...spec.vif, ...data]);
  }
  const coding = CODINGS[spec.coding];
  if (!coding) throw new MbusEncodeError('coding', `unknown coding "${String(spec.coding)}"`);
  let vifPart: number[];
  let scale = 1;
  const extra = [...(spec.errorCode !== undefined ? [spec.errorCode & 0x1f] : []), ...(spec.vife ?? [])];
  let text: number[] = [];
  if (isRaw(spec)) {
    if (spec.vif.length === 0) throw new MbusEncodeError('vif', 'raw record spec needs at least one VIF byte');
    scale = spec.scale ?? 1;
    const base = [...spec.vif];
    if ((base[0] & 0x7f) === 0x7c) {
      // Plain-text VIF: the length byte and reversed ASCII follow the VIF byte itself.
      const t = spec.plainTextUnit ?? '';
      text = [t.length, ...reversedAscii(t)];
      const rest = base.slice(1).map((b) => b & 0x7f);
      const all = chainVif([base[0] & 0x7f], [...rest, ...extra]);
      vifPart = [all[0], ...text, ...all.slice(1)];
    } else vifPart = chainVif(base, extra);
  } else {
    const info = chooseVif(spec);
    scale = info.scale;
    vifPart = chainVif(vifBytes(info), extra);
  }
  return Uint8Array.from([...dif(spec, coding.field), ...vifPart, ...dataBytes(spec, scale)]);
}

function bcdId(id: number | string): Uint8Array {
  const s = String(id);
  if (/^\d{1,8}$/.test(s)) return writeBcd(BigInt(s), 4);
  // Exactly 8 hex digits: replaying a meter whose id is not valid BCD (it happens).
  if (/^[0-9A-Fa-f]{8}$/.test(s)) return Uint8Array.from(s.match(/../g)!.map((x) => parseInt(x, 16))).reverse();
  throw new MbusEncodeError('id', `id must be up to 8 decimal digits (or 8 hex digits when replaying), got "${s}"`);
}

/** The 12-byte long header of CI 0x72. */
export function encodeLongHeader(h: HeaderSpec): Uint8Array {
  const man = encodeManufacturer(h.manufacturer);
  const sig = h.signature ?? 0;
  return Uint8Array.from([
    ...bcdId(h.id),
    man & 0xff,
    man >> 8,
    h.version & 0xff,
    mediumCode(h.medium) & 0xff,
    h.accessNumber & 0xff,
    (h.status ?? 0) & 0xff,
    sig & 0xff,
    (sig >> 8) & 0xff,
  ]);
}

/** CI 0x72 user data (header + records + optional 0x0F/0x1F tail), without the frame. */
export function encodeVariableData(spec: Omit<RspUdSpec, 'address' | 'acd' | 'dfc'>): Uint8Array {
  const parts: number[] = [...encodeLongHeader(spec.header)];
  for (const r of spec.records) parts.push(...encodeRecord(r));
  const mfr = typeof spec.manufacturerData === 'string' ? parseHex(spec.manufacturerData) : spec.manufacturerData;
  if (spec.moreRecordsFollow) parts.push(0x1f);
  else if (mfr !== undefined) parts.push(0x0f);
  if (mfr) parts.push(...mfr);
  return Uint8Array.from(parts);
}

/** Long frame 68 L L 68 C A CI data CS 16. */
export function wrapLongFrame(c: number, address: number, ci: number, data: Uint8Array): Uint8Array {
  const l = data.length + 3;
  if (l > 255) throw new MbusEncodeError('length', `user data of ${data.length} bytes exceeds the long frame's 252`);
  const out = new Uint8Array(l + 6);
  out.set([0x68, l, l, 0x68, c, address & 0xff, ci], 0);
  out.set(data, 7);
  let cs = 0;
  for (let i = 4; i < 4 + l; i++) cs = (cs + out[i]) & 0xff;
  out[4 + l] = cs;
  out[5 + l] = 0x16;
  return out;
}

/** Whole RSP_UD long frame (C = 0x08 plus ACD/DFC, CI = 0x72). */
export function encodeRspUd(spec: RspUdSpec): Uint8Array {
  const c = 0x08 | (spec.acd ? 0x20 : 0) | (spec.dfc ? 0x10 : 0);
  return wrapLongFrame(c, spec.address, 0x72, encodeVariableData(spec));
}

/** Max user data after CI in one long frame. */
export const MAX_USER_DATA = 252;

/**
 * Splits records over several telegrams so none exceeds `maxUserData` bytes after the CI
 * (header 12 + records + 1 for the 0x1F "more records follow" DIF on all but the last).
 */
export function splitRecords(records: RecordSpec[], maxUserData = MAX_USER_DATA): RecordSpec[][] {
  const budget = maxUserData - 12 - 1;
  const out: RecordSpec[][] = [];
  let cur: RecordSpec[] = [];
  let used = 0;
  for (const r of records) {
    const n = encodeRecord(r).length;
    if (n > budget) throw new MbusEncodeError('length', `a record of ${n} bytes cannot fit in ${maxUserData} bytes of user data`);
    if (used + n > budget && cur.length > 0) {
      out.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(r);
    used += n;
  }
  out.push(cur);
  return out;
}

/**
 * A multi-telegram readout: one RSP_UD per chunk, 0x1F on all but the last, access number
 * incremented per telegram as a meter does per transmission.
 */
export function encodeRspUdSeries(spec: RspUdSpec, maxUserData = MAX_USER_DATA): Uint8Array[] {
  const chunks = splitRecords(spec.records, maxUserData - (spec.manufacturerData ? 0 : 0));
  return chunks.map((records, i) =>
    encodeRspUd({
      ...spec,
      header: { ...spec.header, accessNumber: (spec.header.accessNumber + i) & 0xff },
      records,
      moreRecordsFollow: i < chunks.length - 1 ? true : spec.moreRecordsFollow,
      manufacturerData: i === chunks.length - 1 ? spec.manufacturerData : undefined,
    }),
  );
}

/** A decoded record as a verbatim spec: re-encoding gives the same bytes. */
export function recordToSpec(r: MbusRecord): VerbatimRecordSpec {
  const text = r.plainTextUnit !== undefined ? [r.plainTextUnit.length, ...reversedAscii(r.plainTextUnit)] : [];
  const data = parseHex(r.raw.data);
  const lvar = (r.raw.dif & 0x0f) === 0x0d ? [lvarOf(r, data.length)] : [];
  return {
    dif: [r.raw.dif, ...r.raw.dife],
    vif: [r.raw.vif, ...text, ...r.raw.vife],
    data: Uint8Array.from([...lvar, ...data]),
  };
}

function lvarOf(r: MbusRecord, len: number): number {
  if (typeof r.value === 'string' && !/^[0-9A-F]{2}( [0-9A-F]{2})*$/.test(r.value)) return len; // text
  if (typeof r.value === 'number') return r.value < 0 ? 0xd0 + len : 0xc0 + len; // BCD LVAR
  if (len <= 15) return 0xe0 + len;
  return len === 48 ? 0xf5 : len === 64 ? 0xf6 : 0xec + len / 4;
}

/**
 * A decoded CI 0x72 telegram as an RspUdSpec, so a simulator can replay a captured meter.
 * Idle filler (0x2F) is not kept; everything else re-encodes byte for byte.
 */
export function telegramToSpec(t: MbusTelegram, address = t.frame?.address ?? 0): RspUdSpec {
  const h = t.header;
  if (h.kind !== 'long' || h.id === undefined || h.manufacturer === undefined)
    throw new MbusEncodeError('header', `only long-header telegrams can be replayed, this one is "${h.kind}"`);
  return {
    address,
    header: {
      id: h.id,
      manufacturer: h.manufacturer,
      version: h.version ?? 0,
      medium: h.mediumCode ?? 0,
      accessNumber: h.accessNumber ?? 0,
      status: h.status?.raw ?? 0,
      signature: h.signature ?? 0,
    },
    records: t.records.map(recordToSpec),
    moreRecordsFollow: t.moreRecordsFollow,
    manufacturerData: t.manufacturerData,
    acd: t.frame ? (t.frame.c & 0x20) !== 0 : undefined,
    dfc: t.frame ? (t.frame.c & 0x10) !== 0 : undefined,
  };
}
