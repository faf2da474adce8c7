/**
 * Variable data records (EN 13757-3 §6.3): DIF/DIFE chain, VIF/VIFE chain (primary, 0xFB, 0xFD,
 * plain text, manufacturer specific), data field, until 0x0F/0x1F or the end. Problems inside the
 * record area never lose records already read: the caller gets them with `partial` set.
 */
import { MbusDecodeError } from './errors.js';
import { readBcd, readIntLE, readIntLENumber, readReal32, toHex } from './primitives.js';
import { decodeTypeF, decodeTypeG, decodeTypeI, decodeTypeJ, type DecodedTime } from './datetime.js';
import { lookupVif, vifeEffect, type VifInfo } from './vif.js';
import type { MbusRecord, MbusTelegram, RecordFunction } from './types.js';

const FUNCTIONS: RecordFunction[] = ['instantaneous', 'maximum', 'minimum', 'error'];
/** Fixed byte length per data field code; -1 = variable (LVAR), 0x0F is special. */
const FIELD_LENGTH = [0, 1, 2, 3, 4, 4, 6, 8, 0, 1, 2, 3, 4, -1, 6, 0];
export const MAX_DIFE = 10;
export const MAX_VIFE = 10;

interface Cursor {
  data: Uint8Array;
  pos: number;
  /** CI 0x76 (mode 2): multi-byte fields are sent most significant byte first. */
  msbFirst: boolean;
}

function need(c: Cursor, n: number, code: string, what: string | (() => string)): void {
  if (c.pos + n > c.data.length) throw new MbusDecodeError(code, `premature end of ${typeof what === 'string' ? what : what()}`, c.pos);
}

/** Length and interpretation of an LVAR data field (EN 13757-3 table 7). */
function lvar(l: number, offset: number): { len: number; kind: 'text' | 'bcd' | 'negbcd' | 'binary' } {
  if (l <= 0xbf) return { len: l, kind: 'text' };
  if (l >= 0xc0 && l <= 0xc9) return { len: l - 0xc0, kind: 'bcd' };
  if (l >= 0xd0 && l <= 0xd9) return { len: l - 0xd0, kind: 'negbcd' };
  if (l >= 0xe0 && l <= 0xef) return { len: l - 0xe0, kind: 'binary' };
  if (l >= 0xf0 && l <= 0xf4) return { len: 4 * (l - 0xec), kind: 'binary' };
  if (l === 0xf5) return { len: 48, kind: 'binary' };
  if (l === 0xf6) return { len: 64, kind: 'binary' };
  throw new MbusDecodeError('bad_lvar', `reserved LVAR 0x${l.toString(16)}`, offset);
}

function ascii(b: Uint8Array, reverse: boolean): string {
  const arr = Array.from(b);
  if (reverse) arr.reverse();
  return String.fromCharCode(...arr);
}

/** raw × scale, dividing by 10^n for decimal fractions so 234 × 10^-1 gives 23.4, not 23.400000000000002. */
function scaleValue(raw: number, scale: number): number {
  if (scale === 1) return raw;
  if (scale < 1) {
    const inv = 1 / scale;
    const r = Math.round(inv);
    if (Math.abs(inv - r) <= 1e-9 * inv) return raw / r;
  }
  return raw * scale;
}

function applyTime(rec: MbusRecord, t: DecodedTime): void {
  rec.value = t.iso;
  if (t.invalidDate) rec.error = { code: 'invalid_date', text: `not a valid date/time (${t.iso})` };
  if (t.timeInvalid) rec.timeInvalid = true;
  if (t.summerTime) rec.summerTime = true;
}

function reservedName(table: 'primary' | 'fb' | 'fd', code: number, vife: number[]): string {
  const c = table === 'primary' ? code : vife[0] & 0x7f;
  return `reserved_${table}_0x${c.toString(16).padStart(2, '0')}`;
}

function readRecord(c: Cursor): MbusRecord {
  const start = c.pos;
  const dif = c.data[c.pos++];
  const dife: number[] = [];
  let last = dif;
  while (last & 0x80) {
    if (dife.length >= MAX_DIFE) throw new MbusDecodeError('too_many_dife', `more than ${MAX_DIFE} DIFEs`, c.pos);
    need(c, 1, 'premature_end_dif', 'DIF chain');
    last = c.data[c.pos++];
    dife.push(last);
  }
  let storage = (dif >> 6) & 1;
  let tariff = 0;
  let subunit = 0;
  dife.forEach((d, i) => {
    storage += (d & 0x0f) * 2 ** (1 + 4 * i);
    tariff += ((d >> 4) & 3) * 2 ** (2 * i);
    subunit += ((d >> 6) & 1) * 2 ** i;
  });
  const field = dif & 0x0f;

  need(c, 1, 'premature_end_vif', 'VIF');
  const vif = c.data[c.pos++];
  const vife: number[] = [];
  let plainTextUnit: string | undefined;
  let info: VifInfo | undefined;
  let table: 'primary' | 'fb' | 'fd' = 'primary';
  const readVife = (): number => {
    if (vife.length >= MAX_VIFE) throw new MbusDecodeError('too_many_vife', `more than ${MAX_VIFE} VIFEs`, c.pos);
    need(c, 1, 'premature_end_vif', 'VIFE chain');
    const b = c.data[c.pos++];
    vife.push(b);
    return b;
  };
  if ((vif & 0x7f) === 0x7c) {
    need(c, 1, 'premature_end_vif', 'plain-text VIF length');
    const n = c.data[c.pos++];
    if (n > 0xbf) throw new MbusDecodeError('too_long_var_vif', `plain-text VIF length 0x${n.toString(16)} is not ASCII`, c.pos - 1);
    need(c, n, 'premature_end_vif', 'plain-text VIF');
    plainTextUnit = ascii(c.data.subarray(c.pos, c.pos + n), !c.msbFirst);
    c.pos += n;
  }
  let more = (vif & 0x80) !== 0;
  const code = vif & 0x7f;
  if (code === 0x7b || code === 0x7d) {
    // Without the extension bit the true VIF is missing: a reserved code, but the DIF still
    // gives the data length, so the record is kept (as unknown) and decoding goes on.
    if (more) {
      table = code === 0x7b ? 'fb' : 'fd';
      const ext = readVife();
      more = (ext & 0x80) !== 0;
      info = lookupVif(table, ext & 0x7f);
    }
  } else if (code !== 0x7c) info = lookupVif('primary', code);
  const orthogonal: number[] = [];
  let manufacturerVife = code === 0x7f;
  while (more) {
    const b = readVife();
    more = (b & 0x80) !== 0;
    if (!manufacturerVife) orthogonal.push(b & 0x7f);
    if ((b & 0x7f) === 0x7f) manufacturerVife = true; // further VIFEs are manufacturer specific
  }

  // Data field
  let len = FIELD_LENGTH[field];
  let lv: ReturnType<typeof lvar> | undefined;
  if (field === 0x0d) {
    need(c, 1, 'premature_end_data', 'LVAR');
    lv = lvar(c.data[c.pos], c.pos);
    c.pos++;
    len = lv.len;
  }
  need(c, len, 'premature_end_data', () => `data (record at ${start} needs ${len} bytes)`);
  const wireOff = c.pos;
  // Mode 2 (MSB first): turn the field around once, then every reader below sees LSB first.
  // (Views are only made where needed: typed-array allocation dominates decoding time otherwise.)
  const src = c.msbFirst ? Uint8Array.from(c.data.subarray(wireOff, wireOff + len)).reverse() : c.data;
  const dataOff = c.msbFirst ? 0 : wireOff;
  c.pos += len;

  const rec: MbusRecord = {
    function: FUNCTIONS[(dif >> 4) & 3],
    storage,
    tariff,
    subunit,
    quantity: info?.quantity ?? (code === 0x7c ? 'plain_text' : reservedName(table, code, vife)),
    unit: info?.unit ?? plainTextUnit ?? '',
    value: null,
    raw: { dif, dife, vif, vife, data: toHex(c.data, ' ', wireOff, wireOff + len), offset: start },
  };
  if (plainTextUnit !== undefined) rec.plainTextUnit = plainTextUnit;

  let scale = info?.scale ?? 1;
  const modifiers: string[] = [];
  for (const o of orthogonal) {
    const eff = vifeEffect(o);
    if (eff.error) {
      if (eff.error.code !== 0) rec.error = { code: eff.error.code, text: eff.error.text };
      if (eff.error.code === 0x16) rec.overflow = true;
      continue;
    }
    if (eff.scale) scale *= eff.scale;
    if (eff.unitSuffix) rec.unit += eff.unitSuffix;
    if (eff.modifier) modifiers.push(eff.modifier);
  }
  if (modifiers.length) rec.modifiers = modifiers;
  scale = Number(scale.toPrecision(12));

  const kind = info?.kind ?? 'number';
  if (kind === 'date' || kind === 'datetime') {
    if (len === 2) return (applyTime(rec, decodeTypeG(src, dataOff)), rec);
    if (len === 4 && field !== 0x05 && field !== 0x0c) return (applyTime(rec, decodeTypeF(src, dataOff)), rec);
    if (len === 6 && field === 0x06) return (applyTime(rec, decodeTypeI(src, dataOff)), rec);
    if (len === 3 && field === 0x03) return (applyTime(rec, decodeTypeJ(src, dataOff)), rec);
  }

  if (field === 0x00 || field === 0x08) {
    rec.value = null;
    if (field === 0x08) rec.modifiers = [...(rec.modifiers ?? []), 'selection for readout'];
    return rec;
  }
  if (field === 0x05) {
    rec.value = scaleValue(readReal32(src, dataOff), scale);
    return rec;
  }
  if (lv) {
    const bytes = src.subarray(dataOff, dataOff + len);
    if (lv.kind === 'text') rec.value = ascii(bytes, true);
    // Binary is sent LSB first like every M-Bus field; the value reads most significant byte first.
    else if (lv.kind === 'binary') rec.value = toHex(Uint8Array.from(bytes).reverse());
    else {
      const b = readBcd(src, dataOff, len);
      rec.value = scaleValue(lv.kind === 'negbcd' ? -b.value : b.value, scale);
      if (b.invalid) rec.error = rec.error ?? { code: 'invalid_bcd', text: `not BCD: ${rec.raw.data}` };
    }
    return rec;
  }
  if (field >= 0x09 && field !== 0x0f) {
    const b = readBcd(src, dataOff, len);
    if (b.invalid) {
      rec.value = null;
      rec.error = rec.error ?? { code: 'invalid_bcd', text: `not BCD: ${rec.raw.data}` };
    } else rec.value = scaleValue(b.value, scale);
    return rec;
  }
  if (len <= 6) {
    rec.value = scaleValue(readIntLENumber(src, dataOff, len), scale);
    return rec;
  }
  const big = readIntLE(src, dataOff, len);
  if (len > 6 && (big > BigInt(Number.MAX_SAFE_INTEGER) || big < -BigInt(Number.MAX_SAFE_INTEGER))) rec.exact = big.toString();
  rec.value = scaleValue(Number(big), scale);
  return rec;
}

/** Decodes records from `offset` to the end of `data` into `t` (mutates, never throws). */
export function decodeRecords(data: Uint8Array, offset: number, t: MbusTelegram, msbFirst = false): void {
  const c: Cursor = { data, pos: offset, msbFirst };
  while (c.pos < data.length) {
    const dif = data[c.pos];
    if (dif === 0x2f) {
      c.pos++;
      continue;
    }
    if (dif === 0x0f || dif === 0x1f) {
      t.moreRecordsFollow = dif === 0x1f;
      // A bare 0x0F still says "manufacturer data starts here" (empty string); 0x1F alone does not.
      if (c.pos + 1 < data.length || dif === 0x0f) t.manufacturerData = toHex(data.subarray(c.pos + 1));
      return;
    }
    if ((dif & 0x0f) === 0x0f) {
      // 0x3F..0x6F (other than 0x2F) are reserved special functions; 0x7F global readout request.
      t.partial = { offset: c.pos, code: 'special_dif', reason: `special function DIF 0x${dif.toString(16)} not defined for responses` };
      return;
    }
    const start = c.pos;
    try {
      t.records.push(readRecord(c));
    } catch (err) {
      if (err instanceof MbusDecodeError) {
        t.partial = { offset: err.offset, code: err.code, reason: `${err.message} (record starting at ${start})` };
        return;
      }
      throw err;
    }
  }
}
