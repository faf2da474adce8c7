/**
 * Hand-built user data for the cases the corpus does not pin down: header variants (CI 0x7A,
 * 0x78), status bits, BCD edge cases, LVAR forms, VIFE chains, filler, DIF 0x1F, bad input.
 */
import { describe, expect, it } from 'vitest';
import { MbusDecodeError, decodeTelegram, decodeUserData, parseHex, type MbusTelegram } from '../../../src/mbus/app/index.js';

const LONG = '78 56 34 12 2D 2C 01 07 2A 1C 00 00'; // id 12345678, KAM, v1, water, access 42, status 0x1C
const ud = (hex: string) => parseHex(hex);
const rec = (t: MbusTelegram, i = 0) => t.records[i];

describe('fixed header', () => {
  it('long header: BCD id, manufacturer letters, medium, status bits', () => {
    const t = decodeUserData(0x72, ud(LONG));
    expect(t.header).toMatchObject({ kind: 'long', id: '12345678', manufacturer: 'KAM', version: 1, medium: 'water', accessNumber: 42, signature: 0 });
    expect(t.header.status).toEqual({
      raw: 0x1c, applicationBusy: false, applicationError: false, powerLow: true, permanentError: true, temporaryError: true, manufacturerBits: 0,
    });
    expect(decodeUserData(0x72, ud(LONG.replace('1C', 'E1'))).header.status).toMatchObject({ applicationBusy: true, manufacturerBits: 7 });
  });

  it('short header (0x7A) and no header (0x78)', () => {
    expect(decodeUserData(0x7a, ud('05 02 00 00 02 13 10 00')).header).toMatchObject({ kind: 'short', accessNumber: 5, status: { applicationError: true } });
    const t = decodeUserData(0x78, ud('01 13 07'));
    expect(t.header.kind).toBe('none');
    expect(rec(t)).toMatchObject({ quantity: 'volume', value: 0.007 });
  });

  it('CI 0x76 (mode 2): header and data most significant byte first', () => {
    const t = decodeUserData(0x76, ud('12 34 56 78 2C 2D 01 07 2A 00 00 00 04 13 00 00 01 00 0D FD 11 02 68 69'));
    expect(t.header).toMatchObject({ id: '12345678', manufacturer: 'KAM', medium: 'water' });
    expect(t.records.map((r) => r.value)).toEqual([0.256, 'hi']);
  });

  it('unknown CI and short header are typed errors naming the offset', () => {
    expect(() => decodeUserData(0x51, ud(''))).toThrow(MbusDecodeError);
    try {
      decodeUserData(0x72, ud('78 56 34'));
    } catch (e) {
      expect(e).toMatchObject({ code: 'short_header', offset: 3 });
    }
  });
});

describe('data fields', () => {
  const one = (hex: string) => rec(decodeUserData(0x72, ud(`${LONG} ${hex}`)));

  it('negative BCD and invalid BCD', () => {
    expect(one('0A 5A 34 F2').value).toBe(-23.4); // flow temperature 10^-1 °C, BCD4 F234
    const bad = one('0C 13 AA AA AA AA');
    expect(bad.value).toBeNull();
    expect(bad.error?.code).toBe('invalid_bcd');
  });

  it('signed integers, 48/64 bit and real', () => {
    expect(one('02 5B FE FF').value).toBe(-2);
    expect(one('06 03 01 00 00 00 00 80').value).toBe(-(2 ** 47) + 1); // 10^0 Wh
    const big = one('07 03 FF FF FF FF FF FF FF 7F');
    expect(big.exact).toBe('9223372036854775807');
    expect(one('05 2B 00 00 C0 3F').value).toBe(1.5);
  });

  it('LVAR: text reversed, binary, positive and negative BCD', () => {
    expect(one('0D FD 11 05 6F 6C 6C 65 68').value).toBe('hello');
    expect(one('0D FD 17 E2 01 02').value).toBe('02 01');
    expect(one('0D 13 C2 34 12').value).toBe(1.234);
    expect(one('0D 13 D2 34 12').value).toBe(-1.234);
  });

  it('DIFE chain: storage, tariff, subunit; functions', () => {
    // DIF E4: ext, storage LSB 1, function minimum; DIFE 93: storage 3, tariff 1, ext; DIFE 40: subunit bit 1.
    const r = one('E4 93 40 13 01 00 00 00');
    expect(r).toMatchObject({ function: 'minimum', storage: 1 + (3 << 1), tariff: 1, subunit: 2 });
    expect(one('14 13 01 00 00 00').function).toBe('maximum');
    expect(one('34 13 01 00 00 00').function).toBe('error');
  });

  it('VIFE chain: multiplicative correction, per-time unit, error code, limits', () => {
    expect(one('02 93 75 64 00').value).toBe(0.01); // 100 × 10^-3 m3 × correction 10^-1
    const perHour = one('02 83 22 0A 00');
    expect(perHour.unit).toBe('Wh/h');
    expect(perHour.value).toBe(10);
    const e = one('04 83 18 00 00 00 00');
    expect(e.error).toEqual({ code: 0x18, text: 'Data error' });
    expect(one('02 83 C0 00 05 00').modifiers).toContain('lower limit value');
    expect(one('02 FD 97 16 FF FF')).toMatchObject({ quantity: 'error_flags', overflow: true });
  });

  it('durations to seconds, date types, IV and SU bits', () => {
    expect(one('02 22 02 00')).toMatchObject({ quantity: 'on_time', unit: 's', value: 7200 });
    expect(one('04 6D 9E 8D 3F 12')).toMatchObject({ value: '2009-02-31T13:30:00', timeInvalid: true, summerTime: true, error: { code: 'invalid_date' } });
    expect(one('06 6D 05 1E 0D 01 33 00').value).toBe('2024-03-01T13:30:05');
    expect(one('03 6D 05 1E 0D').value).toBe('13:30:05');
  });
});

describe('record area control', () => {
  it('skips 0x2F filler, keeps 0x0F manufacturer data, flags 0x1F', () => {
    const t = decodeUserData(0x72, ud(`${LONG} 2F 2F 01 13 07 2F 0F AA BB`));
    expect(t.records).toHaveLength(1);
    expect(t.manufacturerData).toBe('AA BB');
    expect(t.moreRecordsFollow).toBe(false);
    expect(decodeUserData(0x72, ud(`${LONG} 01 13 07 1F`)).moreRecordsFollow).toBe(true);
  });

  it('returns records read so far with partial set when a record is cut', () => {
    const t = decodeUserData(0x72, ud(`${LONG} 01 13 07 04 13 01 02`));
    expect(t.records).toHaveLength(1);
    expect(t.partial).toMatchObject({ code: 'premature_end_data', offset: 17 });
  });

  it('a whole frame with a bad checksum is a typed error at the checksum byte', () => {
    const good = parseHex('68 06 06 68 08 01 78 01 13 07 9C 16');
    expect(decodeTelegram(good).records[0].value).toBe(0.007);
    const bad = Uint8Array.from(good);
    bad[10] ^= 1;
    expect(() => decodeTelegram(bad)).toThrow(/checksum .* at offset 10/);
  });

  it('CI 0x71 alarm status is a result; without its byte a typed error', () => {
    expect(decodeUserData(0x71, ud('04')).alarmStatus).toBe(4);
    expect(() => decodeUserData(0x71, ud(''))).toThrow(MbusDecodeError);
  });

  it('CI 0x70 application error is a result, not an exception', () => {
    expect(decodeUserData(0x70, ud('08')).applicationError).toEqual({ code: 8, text: 'Application busy' });
  });
});
