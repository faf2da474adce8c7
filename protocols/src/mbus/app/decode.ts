/**
 * Entry points of the application-layer decoder: user data by CI, or a whole long frame.
 * Header and frame problems throw MbusDecodeError (nothing was accepted yet); problems in the
 * record area return what was read with `partial` set. Anything else escaping is a bug, so it
 * is wrapped into MbusDecodeError('internal') rather than leaking an untyped error.
 */
import { MbusDecodeError } from './errors.js';
import { decodeHeader } from './header.js';
import { decodeRecords } from './records.js';
import { decodeFixedDataStructure } from './fixed.js';
import type { MbusTelegram } from './types.js';

/** CI 0x70 error codes (EN 13757-3 table 22 / libmbus strings). */
const APPLICATION_ERRORS: Record<number, string> = {
  0: 'Unspecified error',
  1: 'Unimplemented CI-Field',
  2: 'Buffer too long, truncated',
  3: 'Too many records',
  4: 'Premature end of record',
  5: 'More than 10 DIFE´s',
  6: 'More than 10 VIFE´s',
  7: 'Reserved',
  8: 'Application busy',
  9: 'Too many readouts',
};

export function applicationErrorText(code: number): string {
  return APPLICATION_ERRORS[code] ?? 'Unknown error';
}

export function decodeUserData(ci: number, data: Uint8Array): MbusTelegram {
  try {
    if (ci === 0x70) {
      const code = data.length > 0 ? data[0] : 0;
      return {
        header: { ci, kind: 'none' },
        records: [],
        moreRecordsFollow: false,
        applicationError: { code, text: applicationErrorText(code) },
      };
    }
    if (ci === 0x71) {
      if (data.length < 1) throw new MbusDecodeError('short_alarm', 'alarm response (CI 0x71) needs its status byte', 0);
      return { header: { ci, kind: 'none' }, records: [], moreRecordsFollow: false, alarmStatus: data[0] };
    }
    if (ci === 0x73 || ci === 0x77) {
      const f = decodeFixedDataStructure(data, 0, ci);
      const h = f.header;
      return {
        header: { ci, kind: 'fixed', id: h.id, accessNumber: h.accessNumber, status: h.status, mediumCode: h.mediumCode, medium: h.medium },
        records: f.records,
        moreRecordsFollow: false,
        fixed: f.trailing !== undefined ? { header: h, trailing: f.trailing } : { header: h },
      };
    }
    const { header, next } = decodeHeader(ci, data);
    const t: MbusTelegram = { header, records: [], moreRecordsFollow: false };
    decodeRecords(data, next, t, ci === 0x76);
    return t;
  } catch (err) {
    if (err instanceof MbusDecodeError) throw err;
    throw new MbusDecodeError('internal', `decoder failure: ${(err as Error)?.message ?? String(err)}`, 0);
  }
}

/** Splits a long frame 68 L L 68 C A CI data CS 16, checking lengths, start/stop and checksum. */
export function unwrapLongFrame(f: Uint8Array): { c: number; address: number; ci: number; data: Uint8Array } {
  if (f.length < 4) throw new MbusDecodeError('short_frame', `a long frame needs at least 9 bytes, got ${f.length}`, f.length);
  if (f[0] !== 0x68 || f[3] !== 0x68) throw new MbusDecodeError('not_long_frame', `long frame must start 68 L L 68`, f[0] !== 0x68 ? 0 : 3);
  const l = f[1];
  if (f[2] !== l) throw new MbusDecodeError('length_mismatch', `L fields differ (0x${l.toString(16)} vs 0x${f[2].toString(16)})`, 2);
  if (l < 3) throw new MbusDecodeError('invalid_length', `L = ${l} is below the minimum of 3 (C, A, CI)`, 1);
  if (f.length < l + 6) throw new MbusDecodeError('truncated_frame', `frame announces ${l + 6} bytes but has ${f.length}`, f.length);
  let cs = 0;
  for (let i = 4; i < 4 + l; i++) cs = (cs + f[i]) & 0xff;
  if (f[4 + l] !== cs) throw new MbusDecodeError('checksum', `checksum 0x${f[4 + l].toString(16)} should be 0x${cs.toString(16)}`, 4 + l);
  if (f[5 + l] !== 0x16) throw new MbusDecodeError('no_stop', `stop byte 0x${f[5 + l].toString(16)} should be 0x16`, 5 + l);
  return { c: f[4], address: f[5], ci: f[6], data: f.subarray(7, 4 + l) };
}

/** Decodes `{ci, data}` user data, or a whole long frame given as bytes. */
export function decodeTelegram(input: { ci: number; data: Uint8Array } | Uint8Array): MbusTelegram {
  if (input instanceof Uint8Array) {
    const fr = unwrapLongFrame(input);
    try {
      const t = decodeUserData(fr.ci, fr.data);
      t.frame = { c: fr.c, address: fr.address };
      // Offsets always point into what the caller passed: here the whole frame.
      if (t.partial) t.partial = { ...t.partial, offset: t.partial.offset + 7, reason: t.partial.reason.replace(/ at offset (\d+)/, (_, n: string) => ` at offset ${Number(n) + 7}`).replace(/record starting at (\d+)/, (_, n: string) => `record starting at ${Number(n) + 7}`) };
      return t;
    } catch (err) {
      // Offsets inside user data are shifted to frame offsets (7 bytes before the data).
      if (err instanceof MbusDecodeError) throw new MbusDecodeError(err.code, err.message.replace(/ at offset \d+$/, ''), err.offset + 7);
      throw err;
    }
  }
  return decodeUserData(input.ci, input.data);
}
