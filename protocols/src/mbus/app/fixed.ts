/**
 * The older fixed data structure (CI 0x73 LSB first, 0x77 MSB first; EN 1434-3:1997 and the
 * M-Bus usergroup documentation §6.2, kept as an annex of EN 13757-3): 16 bytes —
 * ID (4, BCD) · access number · status · medium/unit (2) · counter 1 (4) · counter 2 (4).
 *
 * Records come out in the variable-structure record shape, so consumers treat both alike;
 * `raw.dif`/`raw.vif` hold the equivalent variable-structure codes (DIF 0x0C/0x04 for BCD/binary
 * 32-bit, storage bit when historic; the primary VIF with the same unit and multiplier, or -1 when
 * the fixed unit has none), and `raw.data` the counter bytes as sent.
 *
 * Where this differs from libmbus (which the corpus .norm.xml files reflect), we follow the
 * usergroup's table and say so here:
 *  - status bit 0 = counters binary signed (else BCD), bit 1 = counters stored at a fixed date;
 *    bits 2..4 power low / permanent / temporary error, 5..7 manufacturer specific (usergroup doc,
 *    "coding of the status field"; the Rust m-bus-parser reads it the same way). libmbus tests
 *    bits 7 and 6 instead. Both corpus telegrams have status 0x00: they decode the same either way.
 *  - unit 0x0D is kJ·100 and 0x0E is MJ (libmbus swaps them); 0x2E is m³·100 (libmbus: "m^3").
 *  - unit 0x3E on counter 2 means "same unit as counter 1, historic value" (libmbus prints
 *    "reserved but historic" and no unit): we give counter 2 counter 1's unit and storage 1.
 */
import { MbusDecodeError, MbusEncodeError } from './errors.js';
import { readBcd } from './primitives.js';
import type { MbusRecord, MbusStatus } from './types.js';

export const FIXED_STRUCTURE_LENGTH = 16;

export interface FixedStatus extends MbusStatus {
  /** Bit 0: counters are 32-bit signed binary; otherwise 8-digit BCD. */
  countersBinary: boolean;
  /** Bit 1: counters hold values stored at a fixed date (e.g. the billing date), not current ones. */
  storedAtFixedDate: boolean;
}

export interface FixedUnit {
  code: number;
  /** As written in the usergroup's table, e.g. "kWh", "10 l", "same but historic". */
  name: string;
}

export interface FixedHeader {
  ci: number;
  kind: 'fixed';
  /** 8 BCD digits, most significant first (leading zeros kept). */
  id: string;
  accessNumber: number;
  status: FixedStatus;
  /** 4-bit medium assembled from the top two bits of both medium/unit bytes. */
  mediumCode: number;
  medium: string;
  /** libmbus's medium string for the fixed structure ("Heat", "Water", "Gas Mode 2" ...). */
  mediumLibmbus: string;
  counter1Unit: FixedUnit;
  counter2Unit: FixedUnit;
}

export interface FixedDataStructure {
  header: FixedHeader;
  records: MbusRecord[];
  /** Bytes after the 16-byte structure (hex), which the standard does not define. */
  trailing?: string;
}

const MEDIA: Array<[string, string]> = [
  ['other', 'Other'],
  ['oil', 'Oil'],
  ['electricity', 'Electricity'],
  ['gas', 'Gas'],
  ['heat', 'Heat'],
  ['steam', 'Steam'],
  ['warm_water', 'Hot Water'],
  ['water', 'Water'],
  ['heat_cost_allocator', 'H.C.A.'],
  ['reserved', 'Reserved'],
  ['gas_mode2', 'Gas Mode 2'],
  ['heat_mode2', 'Heat Mode 2'],
  ['warm_water_mode2', 'Hot Water Mode 2'],
  ['water_mode2', 'Water Mode 2'],
  ['heat_cost_allocator_mode2', 'H.C.A. Mode 2'],
  ['reserved', 'Reserved'],
];

interface UnitInfo {
  name: string;
  quantity: string;
  /** Canonical unit of the app layer ('' when dimensionless). */
  unit: string;
  /** Decimal exponent: raw counter × 10^exp = value in `unit`. */
  exp: number;
  /** Primary VIF with the same meaning, or -1. */
  vif: number;
  kind?: 'time' | 'date';
}

/** Fixed-structure unit codes (usergroup doc, "coding of the physical units"). */
function unitInfo(code: number): UnitInfo {
  const dec = (n: number) => (n === 0 ? '' : n === 1 ? '10 ' : '100 ');
  const family = (base: number, names: string[], quantity: string, unit: string, exp0: number, vif0: number | null): UnitInfo => {
    const i = code - base;
    const name = `${dec(i % 3)}${names[Math.floor(i / 3)]}`;
    const exp = exp0 + i;
    return { name, quantity, unit, exp, vif: vif0 === null ? -1 : vifFor(vif0, exp) };
  };
  if (code === 0x00) return { name: 'h,m,s', quantity: 'time', unit: '', exp: 0, vif: -1, kind: 'time' };
  if (code === 0x01) return { name: 'D,M,Y', quantity: 'date', unit: '', exp: 0, vif: -1, kind: 'date' };
  if (code <= 0x0a) return family(0x02, ['Wh', 'kWh', 'MWh'], 'energy', 'Wh', 0, 0x00);
  if (code <= 0x13) return family(0x0b, ['kJ', 'MJ', 'GJ'], 'energy', 'J', 3, 0x08);
  if (code <= 0x1c) return family(0x14, ['W', 'kW', 'MW'], 'power', 'W', 0, 0x28);
  if (code <= 0x25) return family(0x1d, ['kJ/h', 'MJ/h', 'GJ/h'], 'power', 'J/h', 3, 0x30);
  if (code <= 0x2e) return family(0x26, ['ml', 'l', 'm3'], 'volume', 'm3', -6, 0x10);
  if (code <= 0x37) return family(0x2f, ['ml/h', 'l/h', 'm3/h'], 'volume_flow', 'm3/h', -6, 0x38);
  if (code === 0x38) return { name: '°C 10^-3', quantity: 'temperature', unit: '°C', exp: -3, vif: -1 };
  if (code === 0x39) return { name: 'units for HCA', quantity: 'hca_units', unit: '', exp: 0, vif: 0x6e };
  if (code === 0x3e) return { name: 'same but historic', quantity: 'reserved', unit: '', exp: 0, vif: -1 };
  if (code === 0x3f) return { name: 'without units', quantity: 'dimensionless', unit: '', exp: 0, vif: -1 };
  return { name: 'reserved', quantity: 'reserved', unit: '', exp: 0, vif: -1 };
}

/**
 * Primary VIF for a family whose VIF nnn = 0 stands for 10^(base exponent) of the canonical unit.
 * Energy Wh: VIF 0x00 = 10^-3 Wh; J: 0x08 = 1 J; W: 0x28 = 10^-3 W; J/h: 0x30 = 1 J/h;
 * m3: 0x10 = 10^-6 m3; m3/h: 0x38 = 10^-6 m3/h.
 */
function vifFor(vif0: number, exp: number): number {
  const base: Record<number, number> = { 0x00: -3, 0x08: 0, 0x28: -3, 0x30: 0, 0x10: -6, 0x38: -6 };
  const n = exp - base[vif0];
  return n >= 0 && n <= 7 ? vif0 + n : -1;
}

function scaled(raw: number, exp: number): number {
  return exp >= 0 ? raw * 10 ** exp : raw / 10 ** -exp;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0').toUpperCase()).join(' ');

/** Two-digit BCD groups of a counter holding a time (hhmmss) or date (DDMMYY). */
function timeValue(digits: string, kind: 'time' | 'date'): string | null {
  const [a, b, c] = [digits.slice(2, 4), digits.slice(4, 6), digits.slice(6, 8)];
  if (kind === 'time') {
    if (+a > 23 || +b > 59 || +c > 59) return null;
    return `${a}:${b}:${c}`;
  }
  if (+a < 1 || +a > 31 || +b < 1 || +b > 12) return null;
  // Two-digit year: the structure predates 2000 and meters using it are still read; pivot at 80.
  const year = +c >= 80 ? 1900 + +c : 2000 + +c;
  return `${year}-${b}-${a}`;
}

export function decodeFixedStatus(raw: number): FixedStatus {
  return {
    raw,
    countersBinary: (raw & 0x01) !== 0,
    storedAtFixedDate: (raw & 0x02) !== 0,
    // Bits 0/1 carry the counter flags here, not the variable structure's application status.
    applicationBusy: false,
    applicationError: false,
    powerLow: (raw & 0x04) !== 0,
    permanentError: (raw & 0x08) !== 0,
    temporaryError: (raw & 0x10) !== 0,
    manufacturerBits: raw >> 5,
  };
}

/**
 * Decodes the 16-byte fixed structure at `data[offset]` (the user data after CI 0x73 or 0x77).
 * `ci` 0x77 means multi-byte fields are sent most significant byte first. Offsets in errors and
 * in `raw.offset` count from the start of `data`.
 */
export function decodeFixedDataStructure(data: Uint8Array, offset = 0, ci = 0x73): FixedDataStructure {
  if (ci !== 0x73 && ci !== 0x77) {
    throw new MbusDecodeError('unsupported_ci', `CI 0x${ci.toString(16)} is not a fixed data response (0x73/0x77)`, offset);
  }
  const avail = data.length - offset;
  if (avail < FIXED_STRUCTURE_LENGTH) {
    throw new MbusDecodeError('short_fixed_structure', `fixed data structure needs ${FIXED_STRUCTURE_LENGTH} bytes, user data has ${Math.max(0, avail)}`, Math.max(offset, data.length));
  }
  const msbFirst = ci === 0x77;
  // Normalise every multi-byte field to LSB first so one code path decodes both modes.
  const field = (at: number, len: number) => {
    const f = data.slice(offset + at, offset + at + len);
    return msbFirst ? f.reverse() : f;
  };
  const idBytes = field(0, 4);
  const id = hex(Uint8Array.from(idBytes).reverse()).replace(/ /g, '');
  const status = decodeFixedStatus(data[offset + 5]);
  const mu = field(6, 2);
  const mediumCode = (mu[0] >> 6) | ((mu[1] >> 6) << 2);
  const u1 = mu[0] & 0x3f;
  const u2 = mu[1] & 0x3f;
  const info1 = unitInfo(u1);
  const info2 = u2 === 0x3e && u1 !== 0x3e ? info1 : unitInfo(u2);
  const header: FixedHeader = {
    ci,
    kind: 'fixed',
    id,
    accessNumber: data[offset + 4],
    status,
    mediumCode,
    medium: MEDIA[mediumCode][0],
    mediumLibmbus: MEDIA[mediumCode][1],
    counter1Unit: { code: u1, name: unitInfo(u1).name },
    counter2Unit: { code: u2, name: unitInfo(u2).name },
  };

  const record = (n: 1 | 2, info: UnitInfo, historic: boolean): MbusRecord => {
    const at = n === 1 ? 8 : 12;
    const bytes = field(at, 4);
    const storage = status.storedAtFixedDate || historic ? 1 : 0;
    const rec: MbusRecord = {
      function: 'instantaneous',
      storage,
      tariff: 0,
      subunit: 0,
      quantity: info.quantity,
      unit: info.unit,
      value: null,
      raw: {
        dif: (status.countersBinary ? 0x04 : 0x0c) | (storage ? 0x40 : 0),
        dife: [],
        vif: info.vif,
        vife: [],
        data: hex(data.subarray(offset + at, offset + at + 4)),
        offset: offset + at,
      },
    };
    if (status.countersBinary) {
      const v = bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24); // int32, "binary signed"
      rec.value = info.kind ? v : scaled(v, info.exp);
      return rec;
    }
    const b = readBcd(bytes, 0, 4);
    if (b.invalid) {
      rec.error = { code: 'invalid_bcd', text: `counter ${n} is not BCD: ${rec.raw.data}` };
      return rec;
    }
    if (info.kind) {
      const digits = hex(Uint8Array.from(bytes).reverse()).replace(/ /g, '');
      const t = timeValue(digits, info.kind);
      rec.value = t ?? b.value;
      if (t === null) rec.error = { code: `invalid_${info.kind}`, text: `counter ${n} is not a valid ${info.kind}: ${digits}` };
      return rec;
    }
    rec.value = scaled(b.value, info.exp);
    return rec;
  };

  const result: FixedDataStructure = {
    header,
    records: [record(1, info1, false), record(2, info2, u2 === 0x3e && u1 !== 0x3e)],
  };
  if (avail > FIXED_STRUCTURE_LENGTH) result.trailing = hex(data.subarray(offset + FIXED_STRUCTURE_LENGTH));
  return result;
}

export interface FixedDataSpec {
  /** 8 decimal digits. */
  id: string;
  accessNumber: number;
  /** Status byte; bit 0 selects binary (signed 32-bit) counters instead of 8-digit BCD. */
  status: number;
  /** 0..15, the fixed-structure medium (4 = heat, 7 = water ...). */
  mediumCode: number;
  /** Unit codes (0x00..0x3F) and raw counter values (before the unit's multiplier). */
  counter1: { unitCode: number; raw: number };
  counter2: { unitCode: number; raw: number };
}

function bcd4(value: number, what: string): number[] {
  if (!Number.isInteger(value) || value < 0 || value > 99_999_999) {
    throw new MbusEncodeError('range', `${what} ${value} does not fit 8 BCD digits`);
  }
  const d = String(value).padStart(8, '0');
  return [6, 4, 2, 0].map((i) => (Number(d[i]) << 4) | Number(d[i + 1]));
}

/**
 * Builds the 16 bytes of a fixed data structure (user data after CI 0x73, LSB first), for slave
 * simulators of old meters. Throws on values the coding cannot carry.
 */
export function encodeFixedDataStructure(spec: FixedDataSpec): Uint8Array {
  if (!/^\d{8}$/.test(spec.id)) throw new MbusEncodeError('range', `id must be 8 decimal digits, got "${spec.id}"`);
  for (const [k, v, max] of [['accessNumber', spec.accessNumber, 255], ['status', spec.status, 255], ['mediumCode', spec.mediumCode, 15], ['counter1.unitCode', spec.counter1.unitCode, 63], ['counter2.unitCode', spec.counter2.unitCode, 63]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new MbusEncodeError('range', `${k} must be 0..${max}, got ${v}`);
  }
  const counter = (c: { raw: number }, what: string): number[] => {
    if (spec.status & 0x01) {
      if (!Number.isInteger(c.raw) || c.raw < -0x8000_0000 || c.raw > 0x7fff_ffff) {
        throw new MbusEncodeError('range', `${what} ${c.raw} does not fit a signed 32-bit counter`);
      }
      return [c.raw & 0xff, (c.raw >> 8) & 0xff, (c.raw >> 16) & 0xff, (c.raw >>> 24) & 0xff];
    }
    return bcd4(c.raw, what);
  };
  const id = bcd4(Number(spec.id), 'id');
  return Uint8Array.from([
    ...id,
    spec.accessNumber,
    spec.status,
    spec.counter1.unitCode | ((spec.mediumCode & 0x03) << 6),
    spec.counter2.unitCode | ((spec.mediumCode >> 2) << 6),
    ...counter(spec.counter1, 'counter 1'),
    ...counter(spec.counter2, 'counter 2'),
  ]);
}
