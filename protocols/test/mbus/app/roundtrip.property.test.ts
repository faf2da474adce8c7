/**
 * Property tests (fast-check, fixed seed): every coding and a broad sample of VIFs survive
 * encodeRspUd → decodeTelegram, including DIFE chains (storage/tariff/subunit) and functions.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { allVifs, decodeTelegram, encodeRspUd, type Coding, type RecordSpec } from '../../../src/mbus/app/index.js';

const SEED = 20261123;
const header = { id: '00123456', manufacturer: 'AMR', version: 1, medium: 'water', accessNumber: 0, status: 0 };

const INT_RANGE: Partial<Record<Coding, [bigint, bigint]>> = {
  int8: [-128n, 127n],
  int16: [-32768n, 32767n],
  int24: [-(2n ** 23n), 2n ** 23n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  int48: [-(2n ** 47n), 2n ** 47n - 1n],
  int64: [-(2n ** 53n) + 1n, 2n ** 53n - 1n],
};
const BCD_DIGITS: Partial<Record<Coding, number>> = { bcd2: 2, bcd4: 4, bcd6: 6, bcd8: 8, bcd12: 12 };

const place = fc.record({
  storage: fc.integer({ min: 0, max: 2 ** 20 }),
  tariff: fc.integer({ min: 0, max: 255 }),
  subunit: fc.integer({ min: 0, max: 31 }),
  function: fc.constantFrom('instantaneous', 'maximum', 'minimum', 'error' as const),
});

/** Numeric VIFs of all three tables (dates are covered separately). */
const numericVifs = allVifs().filter((v) => v.kind === 'number' && v.quantity !== 'manufacturer_specific' && v.quantity !== 'any');

function closeTo(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

function roundTrip(spec: RecordSpec) {
  const t = decodeTelegram(encodeRspUd({ address: 1, header, records: [spec] }));
  expect(t.partial).toBeUndefined();
  expect(t.records).toHaveLength(1);
  return t.records[0];
}

describe('encode → decode round trip', () => {
  it('integers of every width keep value, place and VIF', () => {
    const coding = fc.constantFrom(...(Object.keys(INT_RANGE) as Coding[]));
    fc.assert(
      fc.property(coding, fc.constantFrom(...numericVifs), place, fc.integer({ min: 0, max: 2 ** 31 }), (c, vif, p, seed) => {
        const [min, max] = INT_RANGE[c]!;
        const raw = min + (BigInt(seed) * 7919n * 104729n) % (max - min + 1n);
        const r = roundTrip({ vif: vif.table === 'primary' ? [vif.code] : [vif.table === 'fb' ? 0xfb : 0xfd, vif.code], scale: vif.scale, value: Number(raw) * vif.scale, coding: c, ...p });
        expect(r.quantity).toBe(vif.quantity);
        expect(r.unit).toBe(vif.unit);
        expect(closeTo(r.value as number, Number(raw) * vif.scale)).toBe(true);
        expect({ storage: r.storage, tariff: r.tariff, subunit: r.subunit, function: r.function }).toEqual(p);
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('BCD of every width, negative BCD included', () => {
    const coding = fc.constantFrom(...(Object.keys(BCD_DIGITS) as Coding[]));
    fc.assert(
      fc.property(coding, fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean(), (c, f, neg) => {
        const digits = BCD_DIGITS[c]!;
        const max = 10 ** (neg ? digits - 1 : digits) - 1;
        const v = Math.floor(f * max) * (neg ? -1 : 1);
        const r = roundTrip({ quantity: 'volume', unit: 'm3', exponent: -3, value: v / 1000, coding: c });
        expect(r.unit).toBe('m3');
        expect(closeTo(r.value as number, v / 1000)).toBe(true);
        expect(r.error).toBeUndefined();
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('real32 keeps the float32 value', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const r = roundTrip({ quantity: 'power', unit: 'W', value: x, coding: 'real32' });
        expect(r.value === Math.fround(x)).toBe(true);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('quantity specs pick a VIF that reproduces the value', () => {
    const q = fc.constantFrom(
      ['energy', 'Wh'],
      ['energy', 'J'],
      ['volume', 'm3'],
      ['mass', 'kg'],
      ['power', 'W'],
      ['volume_flow', 'm3/h'],
      ['mass_flow', 'kg/h'],
      ['flow_temperature', '°C'],
      ['return_temperature', '°C'],
      ['temperature_difference', 'K'],
      ['pressure', 'bar'],
      ['voltage', 'V'],
      ['current', 'A'],
      ['on_time', 's'],
      ['operating_time', 's'],
    );
    fc.assert(
      fc.property(q, fc.integer({ min: 0, max: 99_999_999 }), fc.integer({ min: 0, max: 3 }), ([quantity, unit], n, e) => {
        // Values on the finest grid the quantity's VIFs offer, times 10^0..10^3.
        const finest = Math.min(...allVifs().filter((v) => v.quantity === quantity && v.unit === unit).map((v) => v.scale));
        const value = Number((n * finest * 10 ** e).toPrecision(12));
        const r = roundTrip({ quantity, unit, value, coding: 'bcd12' });
        expect([r.quantity, r.unit]).toEqual([quantity, unit]);
        expect(closeTo(r.value as number, value)).toBe(true);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('dates of types G, F, I, J', () => {
    const day = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2080-12-31T23:59:59Z'), noInvalidDate: true });
    fc.assert(
      fc.property(day, fc.boolean(), (d, su) => {
        const iso = d.toISOString().slice(0, 19);
        expect(roundTrip({ quantity: 'date', value: d, coding: 'typeG' }).value).toBe(iso.slice(0, 10));
        const f = roundTrip({ quantity: 'datetime', value: d, coding: 'typeF', summerTime: su });
        expect(f.value).toBe(`${iso.slice(0, 16)}:00`);
        expect(Boolean(f.summerTime)).toBe(su);
        expect(roundTrip({ quantity: 'datetime', value: d, coding: 'typeI' }).value).toBe(iso);
        expect(roundTrip({ vif: [0x6d], value: iso.slice(11), coding: 'typeJ' }).value).toBe(iso.slice(11));
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('text, binary, plain-text VIF, none, selection and record errors', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'ABCXYZ019 -_.'.split('')), maxLength: 40 }),
        fc.uint8Array({ maxLength: 15 }),
        fc.integer({ min: 1, max: 0x1f }),
        (text, bin, err) => {
          expect(roundTrip({ quantity: 'customer', value: text, coding: 'text' }).value).toBe(text);
          const hex = Array.from(bin, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(' ');
          expect(roundTrip({ quantity: 'error_flags', value: hex, coding: 'binary' }).value).toBe(hex);
          const p = roundTrip({ vif: [0x7c], plainTextUnit: text || 'x', value: 5, coding: 'int8' });
          expect([p.plainTextUnit, p.value]).toEqual([text || 'x', 5]);
          expect(roundTrip({ quantity: 'volume', value: null, coding: 'none' }).value).toBeNull();
          expect(roundTrip({ quantity: 'volume', value: null, coding: 'selection' }).modifiers).toContain('selection for readout');
          const e = roundTrip({ quantity: 'energy', unit: 'Wh', value: 0, coding: 'int32', errorCode: err });
          expect(e.error?.code).toBe(err);
        },
      ),
      { seed: SEED, numRuns: 100 },
    );
  });
});
