/**
 * Decoded shapes of the M-Bus application layer (EN 13757-3). Plain TS types: the decoder builds
 * them from bytes, never from untrusted JSON, so a runtime schema would only cost time.
 */

import type { FixedHeader } from './fixed.js';

export type RecordFunction = 'instantaneous' | 'maximum' | 'minimum' | 'error';

export interface MbusStatus {
  raw: number;
  applicationBusy: boolean;
  applicationError: boolean;
  powerLow: boolean;
  permanentError: boolean;
  temporaryError: boolean;
  /** Bits 5..7, meaning defined by the manufacturer. */
  manufacturerBits: number;
}

export interface MbusHeader {
  ci: number;
  /** 'long' (0x72/0x76), 'short' (0x7A), 'none' (0x78/0x79), 'fixed' (0x73/0x77). */
  kind: 'long' | 'short' | 'none' | 'fixed';
  /** Identification number as its 8 BCD digits (leading zeros kept); absent with a short header. */
  id?: string;
  manufacturer?: string;
  version?: number;
  mediumCode?: number;
  medium?: string;
  accessNumber?: number;
  status?: MbusStatus;
  signature?: number;
}

export interface MbusRecordError {
  code: number | string;
  text: string;
}

export interface MbusRecord {
  function: RecordFunction;
  storage: number;
  tariff: number;
  subunit: number;
  quantity: string;
  unit: string;
  /** Scaled to the canonical unit; ISO string for dates; text; hex for binary; null for no data. */
  value: number | string | null;
  raw: { dif: number; dife: number[]; vif: number; vife: number[]; data: string; offset: number };
  /** Plain-text unit of a VIF 0x7C/0xFC. */
  plainTextUnit?: string;
  /** Orthogonal VIFE meanings that do not change the value (limits, accumulation, ...). */
  modifiers?: string[];
  /** The meter flagged this record (VIFE error code), or the data could not be a value (invalid BCD). */
  error?: MbusRecordError;
  /** Data overflowed the coding (VIFE 0x16) or a BCD/integer was at its ceiling marker. */
  overflow?: boolean;
  /** Date/time records: IV bit (time invalid) and SU bit (summer time). */
  timeInvalid?: boolean;
  summerTime?: boolean;
  /** Integer records beyond 2^53: the exact value as a decimal string. */
  exact?: string;
}

export interface MbusApplicationError {
  code: number;
  text: string;
}

export interface MbusTelegram {
  header: MbusHeader;
  records: MbusRecord[];
  moreRecordsFollow: boolean;
  /** Bytes after DIF 0x0F/0x1F, hex. */
  manufacturerData?: string;
  /** CI 0x70: the slave reports an application error instead of data. */
  applicationError?: MbusApplicationError;
  /** CI 0x71: the slave reports its alarm status byte (meaning is manufacturer specific). */
  alarmStatus?: number;
  /** Set when decoding stopped early; records before `offset` are complete and kept. */
  partial?: { offset: number; code: string; reason: string };
  /** CI 0x73/0x77: the older fixed data structure's own header fields (counter units, status bits). */
  fixed?: { header: FixedHeader; trailing?: string };
  /** Frame fields when decoded from a whole long frame. */
  frame?: { c: number; address: number };
}
