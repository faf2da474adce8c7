/**
 * Byte-level codings of EN 13757-3 (little-endian integers of type B, BCD of type A,
 * IEEE 754 real of type H) and the manufacturer code packing (three letters in 15 bits).
 * Written by hand: they are a few lines each and no library covers BCD-with-sign M-Bus style.
 */
import { MbusEncodeError } from './errors.js';

/** Unsigned little-endian integer of up to 8 bytes, as bigint (exact for 48/64-bit). */
export function readUintLE(b: Uint8Array, off: number, len: number): bigint {
  let v = 0n;
  for (let i = len - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[off + i]);
  return v;
}

/** Two's complement signed little-endian integer (type B). */
export function readIntLE(b: Uint8Array, off: number, len: number): bigint {
  const u = readUintLE(b, off, len);
  const bits = BigInt(len * 8);
  return u >= 1n << (bits - 1n) ? u - (1n << bits) : u;
}

/** Signed little-endian integer of up to 6 bytes as a plain number (exact; no BigInt cost). */
export function readIntLENumber(b: Uint8Array, off: number, len: number): number {
  let v = 0;
  for (let i = len - 1; i >= 0; i--) v = v * 256 + b[off + i];
  const half = 2 ** (len * 8 - 1);
  return v >= half ? v - 2 * half : v;
}

export function writeIntLE(value: bigint, len: number): Uint8Array {
  const bits = BigInt(len * 8);
  const min = -(1n << (bits - 1n));
  const max = (1n << bits) - 1n; // accept the unsigned range too (counters)
  if (value < min || value > max) throw new MbusEncodeError('range', `${value} does not fit in ${len * 8} bits`);
  let u = value < 0n ? value + (1n << bits) : value;
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    out[i] = Number(u & 0xffn);
    u >>= 8n;
  }
  return out;
}

export interface BcdResult {
  value: number;
  /** A nibble was A..F where a digit belongs (meters use this for "no value" / error). */
  invalid: boolean;
}

/**
 * BCD of `len` bytes, least significant byte first. A high nibble 0xF in the most significant
 * byte marks a negative number (EN 13757-3 annex, "negative BCD").
 */
export function readBcd(b: Uint8Array, off: number, len: number): BcdResult {
  let value = 0;
  let invalid = false;
  let negative = false;
  for (let i = len - 1; i >= 0; i--) {
    let hi = b[off + i] >> 4;
    const lo = b[off + i] & 0x0f;
    if (i === len - 1 && hi === 0x0f) {
      negative = true;
      hi = 0;
    }
    if (hi > 9 || lo > 9) invalid = true;
    value = value * 100 + hi * 10 + lo;
  }
  return { value: negative ? -value : value, invalid };
}

export function writeBcd(value: number | bigint, len: number): Uint8Array {
  let v = BigInt(value);
  const negative = v < 0n;
  if (negative) v = -v;
  const maxDigits = negative ? len * 2 - 1 : len * 2;
  if (v.toString().length > maxDigits) throw new MbusEncodeError('range', `${value} needs more than ${maxDigits} BCD digits`);
  const digits = v.toString().padStart(len * 2, '0');
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    const p = digits.length - 2 * (i + 1);
    out[i] = (Number(digits[p]) << 4) | Number(digits[p + 1]);
  }
  if (negative) out[len - 1] |= 0xf0;
  return out;
}

export function readReal32(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset + off, 4).getFloat32(0, true);
}

export function writeReal32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setFloat32(0, value, true);
  return out;
}

/** Three upper-case letters packed as ((c1-64)*32 + (c2-64))*32 + (c3-64), little-endian. */
export function decodeManufacturer(code: number): string {
  const l = (n: number) => String.fromCharCode(((code >> n) & 0x1f) + 64);
  return l(10) + l(5) + l(0);
}

export function encodeManufacturer(m: string): number {
  if (!/^[A-Z@]{3}$/.test(m)) throw new MbusEncodeError('manufacturer', `manufacturer must be three letters A-Z, got "${m}"`);
  return ((m.charCodeAt(0) - 64) << 10) | ((m.charCodeAt(1) - 64) << 5) | (m.charCodeAt(2) - 64);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, '0'));

export function toHex(b: Uint8Array, sep = ' ', start = 0, end = b.length): string {
  let out = '';
  for (let i = start; i < end; i++) out += (i > start ? sep : '') + HEX[b[i]];
  return out;
}

/** Parses "68 3C 3C 68 ..." or "683C3C68..." (any whitespace); throws with the bad token. */
export function parseHex(text: string): Uint8Array {
  const compact = text.replace(/\s+/g, '');
  if (!/^[0-9a-fA-F]*$/.test(compact)) {
    const bad = /[^0-9a-fA-F\s]/.exec(text);
    throw new Error(`not hex: unexpected "${bad?.[0]}" at character ${bad?.index}`);
  }
  if (compact.length % 2 !== 0) throw new Error('not hex: odd number of digits');
  const out = new Uint8Array(compact.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(compact.slice(2 * i, 2 * i + 2), 16);
  return out;
}
