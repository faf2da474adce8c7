/**
 * Date/time data types of EN 13757-3 annex A: G (date, 16 bit), F (date+time, 32 bit),
 * I (date+time with seconds, 48 bit), J (time, 24 bit). Meter clocks carry no time zone,
 * so values are ISO 8601 local times without offset; IV (invalid) and SU (summer time) bits
 * are reported beside the value.
 */
import { MbusEncodeError } from './errors.js';

export interface DecodedTime {
  iso: string;
  /** Fields could not form a calendar date (e.g. all-zero "not set"). */
  invalidDate: boolean;
  timeInvalid: boolean;
  summerTime: boolean;
  fields: { year: number; month: number; day: number; hour: number; minute: number; second: number };
}

const p2 = (n: number) => String(n).padStart(2, '0');

function year7(lo: number, hi: number): number {
  // 7-bit year: 3 bits in the day byte, 4 bits in the month byte; 0..80 → 20xx (as libmbus).
  const y = ((lo & 0xe0) >> 5) | ((hi & 0xf0) >> 1);
  return y <= 80 ? 2000 + y : 1900 + y;
}

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

export function decodeTypeG(b: Uint8Array, o: number): DecodedTime {
  const day = b[o] & 0x1f;
  const month = b[o + 1] & 0x0f;
  const year = year7(b[o], b[o + 1]);
  return {
    iso: `${year}-${p2(month)}-${p2(day)}`,
    invalidDate: !validDate(year, month, day),
    timeInvalid: false,
    summerTime: false,
    fields: { year, month, day, hour: 0, minute: 0, second: 0 },
  };
}

export function decodeTypeF(b: Uint8Array, o: number): DecodedTime {
  const minute = b[o] & 0x3f;
  const hour = b[o + 1] & 0x1f;
  const day = b[o + 2] & 0x1f;
  const month = b[o + 3] & 0x0f;
  const year = year7(b[o + 2], b[o + 3]);
  return {
    iso: `${year}-${p2(month)}-${p2(day)}T${p2(hour)}:${p2(minute)}:00`,
    invalidDate: !validDate(year, month, day) || hour > 23 || minute > 59,
    timeInvalid: (b[o] & 0x80) !== 0,
    summerTime: (b[o + 1] & 0x80) !== 0,
    fields: { year, month, day, hour, minute, second: 0 },
  };
}

export function decodeTypeI(b: Uint8Array, o: number): DecodedTime {
  const second = b[o] & 0x3f;
  const minute = b[o + 1] & 0x3f;
  const hour = b[o + 2] & 0x1f;
  const day = b[o + 3] & 0x1f;
  const month = b[o + 4] & 0x0f;
  const year = year7(b[o + 3], b[o + 4]);
  return {
    iso: `${year}-${p2(month)}-${p2(day)}T${p2(hour)}:${p2(minute)}:${p2(second)}`,
    invalidDate: !validDate(year, month, day) || hour > 23 || minute > 59 || second > 59,
    timeInvalid: (b[o + 1] & 0x80) !== 0,
    summerTime: (b[o + 2] & 0x80) !== 0,
    fields: { year, month, day, hour, minute, second },
  };
}

export function decodeTypeJ(b: Uint8Array, o: number): DecodedTime {
  const second = b[o] & 0x3f;
  const minute = b[o + 1] & 0x3f;
  const hour = b[o + 2] & 0x1f;
  return {
    iso: `${p2(hour)}:${p2(minute)}:${p2(second)}`,
    invalidDate: hour > 23 || minute > 59 || second > 59,
    timeInvalid: false,
    summerTime: false,
    fields: { year: 0, month: 0, day: 0, hour, minute, second },
  };
}

const ISO_RE = /^(?:(\d{4})-(\d{2})-(\d{2}))?(?:T?(\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/** Accepts 'YYYY-MM-DD', 'YYYY-MM-DDTHH:MM[:SS]', 'HH:MM:SS' (local meter time) or a Date (its UTC fields). */
export function parseTime(v: string | Date): DecodedTime['fields'] {
  if (v instanceof Date)
    return {
      year: v.getUTCFullYear(),
      month: v.getUTCMonth() + 1,
      day: v.getUTCDate(),
      hour: v.getUTCHours(),
      minute: v.getUTCMinutes(),
      second: v.getUTCSeconds(),
    };
  const m = ISO_RE.exec(v.replace(/(Z|[+-]\d{2}:?\d{2})$/, ''));
  if (!m) throw new MbusEncodeError('date', `not an ISO date/time: "${v}"`);
  const n = (i: number) => (m[i] === undefined ? 0 : Number(m[i]));
  return { year: n(1), month: n(2), day: n(3), hour: n(4), minute: n(5), second: n(6) };
}

function yearBits(year: number): [number, number] {
  // Mirror of year7(): two-digit years 0..80 are 2000..2080, 81..99 are 1981..1999.
  const y = year >= 2000 && year <= 2080 ? year - 2000 : year >= 1981 && year <= 1999 ? year - 1900 : -1;
  if (y < 0) throw new MbusEncodeError('date', `year ${year} is outside 1981..2080, which the 7-bit year field can carry`);
  return [(y & 0x07) << 5, (y & 0x78) << 1];
}

export function encodeTypeG(v: string | Date): Uint8Array {
  const f = parseTime(v);
  const [lo, hi] = yearBits(f.year);
  return Uint8Array.of(lo | f.day, hi | f.month);
}

export function encodeTypeF(v: string | Date, flags: { timeInvalid?: boolean; summerTime?: boolean } = {}): Uint8Array {
  const f = parseTime(v);
  const [lo, hi] = yearBits(f.year);
  return Uint8Array.of(f.minute | (flags.timeInvalid ? 0x80 : 0), f.hour | (flags.summerTime ? 0x80 : 0), lo | f.day, hi | f.month);
}

export function encodeTypeI(v: string | Date, flags: { timeInvalid?: boolean; summerTime?: boolean } = {}): Uint8Array {
  const f = parseTime(v);
  const [lo, hi] = yearBits(f.year);
  return Uint8Array.of(f.second, f.minute | (flags.timeInvalid ? 0x80 : 0), f.hour | (flags.summerTime ? 0x80 : 0), lo | f.day, hi | f.month, 0);
}

export function encodeTypeJ(v: string | Date): Uint8Array {
  const f = parseTime(v);
  return Uint8Array.of(f.second, f.minute, f.hour);
}
