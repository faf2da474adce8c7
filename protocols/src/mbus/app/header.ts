/**
 * Fixed data header of the variable data structure (EN 13757-3 §6): long header (CI 0x72/0x76,
 * 12 bytes), short header (CI 0x7A, 4 bytes) or none (CI 0x78/0x79), and the status byte bits.
 */
import { MbusDecodeError } from './errors.js';
import { decodeManufacturer, readBcd, toHex } from './primitives.js';
import { mediumName } from './medium.js';
import type { MbusHeader, MbusStatus } from './types.js';

export function decodeStatus(raw: number): MbusStatus {
  return {
    raw,
    applicationBusy: (raw & 0x03) === 0x01,
    applicationError: (raw & 0x03) === 0x02,
    powerLow: (raw & 0x04) !== 0,
    permanentError: (raw & 0x08) !== 0,
    temporaryError: (raw & 0x10) !== 0,
    manufacturerBits: raw >> 5,
  };
}

const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, '0'));

export const LONG_HEADER_CI = new Set([0x72, 0x76]);
export const SHORT_HEADER_CI = new Set([0x7a]);
// 0x79 is the wireless compact frame (format signature + CRC first), not a plain headerless
// structure, so it stays unsupported rather than decoded wrongly.
export const NO_HEADER_CI = new Set([0x78]);

/** Header at the start of `data`; returns it and the offset where records begin. */
export function decodeHeader(ci: number, data: Uint8Array): { header: MbusHeader; next: number } {
  if (LONG_HEADER_CI.has(ci)) {
    if (data.length < 12)
      throw new MbusDecodeError('short_header', `long header needs 12 bytes, user data has ${data.length}`, data.length);
    // CI 0x76 (mode 2) sends multi-byte fields most significant byte first.
    const msb = ci === 0x76;
    const idDigits = msb
      ? toHex(data, '', 0, 4)
      : HEX2[data[3]] + HEX2[data[2]] + HEX2[data[1]] + HEX2[data[0]];
    const word = (at: number) => (msb ? (data[at] << 8) | data[at + 1] : data[at] | (data[at + 1] << 8));
    const man = word(4);
    return {
      header: {
        ci,
        kind: 'long',
        id: idDigits,
        manufacturer: decodeManufacturer(man),
        version: data[6],
        mediumCode: data[7],
        medium: mediumName(data[7]),
        accessNumber: data[8],
        status: decodeStatus(data[9]),
        signature: word(10),
      },
      next: 12,
    };
  }
  if (SHORT_HEADER_CI.has(ci)) {
    if (data.length < 4)
      throw new MbusDecodeError('short_header', `short header needs 4 bytes, user data has ${data.length}`, data.length);
    return {
      header: { ci, kind: 'short', accessNumber: data[0], status: decodeStatus(data[1]), signature: data[2] | (data[3] << 8) },
      next: 4,
    };
  }
  if (NO_HEADER_CI.has(ci)) return { header: { ci, kind: 'none' }, next: 0 };
  throw new MbusDecodeError('unsupported_ci', `CI 0x${ci.toString(16).padStart(2, '0')} is not a variable data response`, 0);
}

/** True when the BCD id is all decimal digits. */
export function idIsValid(id: string): boolean {
  return readBcd(Uint8Array.from(id.match(/../g)!.map((x) => parseInt(x, 16))), 0, 4).invalid === false;
}
