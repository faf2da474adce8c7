// The fixed data structure (CI 0x73/0x77): the corpus telegrams against libmbus's decode, every
// status/unit field, and the places where we follow the usergroup's table rather than libmbus.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { XMLParser } from 'fast-xml-parser';
import { decodeFixedDataStructure, encodeFixedDataStructure } from '../../../src/mbus/app/fixed.js';
import { MbusDecodeError } from '../../../src/mbus/app/errors.js';
import { decodeFrame } from '../../../src/mbus/link/index.js';
import { CORPUS_ROOT, hexBytes, loadCorpus } from './corpus.js';

const fixedFrames = loadCorpus('frames').filter((t) => t.bytes[6] === 0x73 || t.bytes[6] === 0x77);

/** libmbus unit strings for the fixed structure → our canonical unit and factor. */
const LIBMBUS_UNITS: Record<string, [string, number]> = {
  l: ['m3', 1e-3],
  kWh: ['Wh', 1e3],
  Wh: ['Wh', 1],
  MWh: ['Wh', 1e6],
  'm^3': ['m3', 1],
};

interface NormRecord {
  Function: string;
  Unit: string;
  Value: string | number;
}

function norm(name: string) {
  const xml = readFileSync(join(CORPUS_ROOT, 'frames', name.replace(/\.hex$/, '.norm.xml')), 'latin1');
  const doc = new XMLParser({ parseTagValue: false }).parse(xml).MBusData;
  const recs: NormRecord[] = Array.isArray(doc.DataRecord) ? doc.DataRecord : [doc.DataRecord];
  return { info: doc.SlaveInformation, recs };
}

describe('corpus telegrams with CI 0x73 against libmbus', () => {
  it('the corpus has fixed-structure telegrams', () => {
    expect(fixedFrames.map((t) => t.name)).toEqual(expect.arrayContaining(['manual_frame2.hex', 'sen_pollusonic_2.hex']));
  });

  it.each(fixedFrames.map((t) => [t.name, t.bytes] as const))('%s', (name, bytes) => {
    const frame = decodeFrame(bytes);
    if (frame.kind !== 'long') throw new Error('expected a long frame');
    const { header, records } = decodeFixedDataStructure(frame.data, 0, frame.ci);
    const { info, recs } = norm(name);
    expect(header.id).toBe(String(info.Id).padStart(8, '0'));
    expect(header.accessNumber).toBe(Number(info.AccessNumber));
    expect(header.status.raw).toBe(parseInt(String(info.Status), 16));
    expect(header.mediumLibmbus).toBe(info.Medium);
    expect(records).toHaveLength(recs.length);
    recs.forEach((r, i) => {
      const ours = records[i];
      if (r.Unit === 'reserved but historic') {
        // Unit 0x3E = "same but historic" (usergroup table): counter 1's unit, a stored value.
        // libmbus labels it "reserved but historic" with no unit and calls it an actual value.
        expect(ours).toMatchObject({ storage: 1, unit: records[0].unit, quantity: records[0].quantity });
        expect(ours.value).toBeCloseTo(Number(r.Value) * (records[0].value as number) / Number(recs[0].Value), 12);
        return;
      }
      expect(r.Function).toBe('Actual value');
      expect(ours.storage).toBe(0);
      const [unit, factor] = LIBMBUS_UNITS[r.Unit];
      expect(ours.unit).toBe(unit);
      expect(Math.abs((ours.value as number) - Number(r.Value) * factor)).toBeLessThanOrEqual(1e-6 * Math.abs(Number(r.Value) * factor));
    });
  });

  it('sen_pollusonic_2: heat meter, 6531 kWh and 69 l', () => {
    const f = decodeFrame(fixedFrames.find((t) => t.name === 'sen_pollusonic_2.hex')!.bytes);
    if (f.kind !== 'long') throw new Error('expected a long frame');
    const r = decodeFixedDataStructure(f.data);
    expect(r.header).toMatchObject({ id: '90919293', accessNumber: 16, mediumCode: 4, medium: 'heat', counter1Unit: { code: 0x05, name: 'kWh' }, counter2Unit: { code: 0x29, name: 'l' } });
    expect(r.records[0]).toMatchObject({ function: 'instantaneous', storage: 0, tariff: 0, subunit: 0, quantity: 'energy', unit: 'Wh', value: 6_531_000, raw: { dif: 0x0c, vif: 0x06, data: '31 65 00 00', offset: 8 } });
    expect(r.records[1]).toMatchObject({ quantity: 'volume', unit: 'm3', value: 0.069, raw: { vif: 0x13, offset: 12 } });
  });

  it('unsupported-frames/invalid_length2 (15 bytes) is refused with the offset where data ran out', () => {
    const t = loadCorpus('unsupported-frames').find((x) => x.name === 'invalid_length2.hex')!;
    const f = decodeFrame(t.bytes);
    if (f.kind !== 'long') throw new Error('expected a long frame');
    expect(() => decodeFixedDataStructure(f.data)).toThrow(MbusDecodeError);
    expect(() => decodeFixedDataStructure(f.data)).toThrow(/needs 16 bytes, user data has 15 at offset 15/);
  });
});

/** 16 bytes: ID, access, status, medium/unit, counter 1, counter 2. */
const fixed = (hex: string) => hexBytes(hex);

describe('fields', () => {
  it('binary signed counters (status bit 0), fixed date (bit 1) and the error bits', () => {
    const r = decodeFixedDataStructure(fixed('78 56 34 12 01 1F 05 05 10 27 00 00 FF FF FF FF'));
    expect(r.header.status).toMatchObject({ raw: 0x1f, countersBinary: true, storedAtFixedDate: true, powerLow: true, permanentError: true, temporaryError: true, applicationBusy: false });
    expect(r.records.map((x) => [x.value, x.storage, x.raw.dif])).toEqual([
      [10_000_000, 1, 0x44],
      [-1000, 1, 0x44],
    ]);
  });

  it('medium from the top bits of both unit bytes', () => {
    const med = (b6: number, b7: number) => decodeFixedDataStructure(Uint8Array.of(0, 0, 0, 0, 0, 0, b6, b7, 0, 0, 0, 0, 0, 0, 0, 0)).header;
    expect(med(0xc0 | 0x29, 0x40 | 0x29)).toMatchObject({ mediumCode: 7, medium: 'water', mediumLibmbus: 'Water' });
    expect(med(0x80, 0x00)).toMatchObject({ mediumCode: 2, medium: 'electricity' });
    expect(med(0x40, 0xc0)).toMatchObject({ mediumCode: 13, mediumLibmbus: 'Water Mode 2' });
  });

  it.each([
    [0x02, 'Wh', 'energy', 'Wh', 7],
    [0x07, '100 kWh', 'energy', 'Wh', 700_000],
    [0x0d, '100 kJ', 'energy', 'J', 700_000],
    [0x0e, 'MJ', 'energy', 'J', 7_000_000],
    [0x13, '100 GJ', 'energy', 'J', 7e11],
    [0x17, 'kW', 'power', 'W', 7000],
    [0x1d, 'kJ/h', 'power', 'J/h', 7000],
    [0x26, 'ml', 'volume', 'm3', 7e-6],
    [0x2b, '100 l', 'volume', 'm3', 0.7],
    [0x2e, '100 m3', 'volume', 'm3', 700],
    [0x32, 'l/h', 'volume_flow', 'm3/h', 0.007],
    [0x37, '100 m3/h', 'volume_flow', 'm3/h', 700],
    [0x38, '°C 10^-3', 'temperature', '°C', 0.007],
    [0x39, 'units for HCA', 'hca_units', '', 7],
    [0x3f, 'without units', 'dimensionless', '', 7],
    [0x3a, 'reserved', 'reserved', '', 7],
  ])('unit %i = %s', (code, name, quantity, unit, value) => {
    const r = decodeFixedDataStructure(Uint8Array.of(0, 0, 0, 0, 0, 0, code, 0x3f, 7, 0, 0, 0, 0, 0, 0, 0));
    expect(r.header.counter1Unit).toEqual({ code, name });
    expect(r.records[0]).toMatchObject({ quantity, unit });
    expect(r.records[0].value as number).toBeCloseTo(value, 9);
  });

  it('time and date counters', () => {
    const r = decodeFixedDataStructure(fixed('00 00 00 00 00 00 00 01 56 34 12 00 24 12 31 00'));
    expect(r.records.map((x) => [x.quantity, x.value])).toEqual([
      ['time', '12:34:56'],
      ['date', '2024-12-31'],
    ]);
    const bad = decodeFixedDataStructure(fixed('00 00 00 00 00 00 00 01 99 99 99 00 24 13 31 00'));
    expect(bad.records.map((x) => x.error?.code)).toEqual(['invalid_time', 'invalid_date']);
  });

  it('a counter that is not BCD is flagged, not guessed', () => {
    const r = decodeFixedDataStructure(fixed('00 00 00 00 00 00 29 29 1A 00 00 00 01 00 00 00'));
    expect(r.records[0]).toMatchObject({ value: null, error: { code: 'invalid_bcd' } });
    expect(r.records[1].value).toBeCloseTo(0.001, 12);
  });

  it('CI 0x77 sends multi-byte fields most significant byte first', () => {
    const lsb = decodeFixedDataStructure(fixed('78 56 34 12 0A 00 E9 7E 01 00 00 00 35 01 00 00'), 0, 0x73);
    const msb = decodeFixedDataStructure(fixed('12 34 56 78 0A 00 7E E9 00 00 00 01 00 00 01 35'), 0, 0x77);
    expect(msb.records.map((r) => r.value)).toEqual(lsb.records.map((r) => r.value));
    expect({ ...msb.header, ci: 0x73 }).toEqual(lsb.header);
  });

  it('decodes at an offset, keeps trailing bytes, refuses other CIs', () => {
    const r = decodeFixedDataStructure(fixed('AA BB 78 56 34 12 0A 00 E9 7E 01 00 00 00 35 01 00 00 CC'), 2);
    expect(r.header.id).toBe('12345678');
    expect(r.records[0].raw.offset).toBe(10);
    expect(r.trailing).toBe('CC');
    expect(() => decodeFixedDataStructure(new Uint8Array(16), 0, 0x72)).toThrow(/not a fixed data response/);
  });

  it('any 16..40 bytes: a result, never an untyped error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), fc.constantFrom(0x73, 0x77), (data, ci) => {
        try {
          const r = decodeFixedDataStructure(data, 0, ci);
          expect(r.records).toHaveLength(2);
        } catch (e) {
          expect(e).toBeInstanceOf(MbusDecodeError);
          expect(data.length).toBeLessThan(16);
        }
      }),
      { seed: 73, numRuns: 500 },
    );
  });
});

describe('encodeFixedDataStructure', () => {
  it('rebuilds the corpus telegram sen_pollusonic_2 byte for byte', () => {
    const f = decodeFrame(fixedFrames.find((t) => t.name === 'sen_pollusonic_2.hex')!.bytes);
    if (f.kind !== 'long') throw new Error('expected a long frame');
    const bytes = encodeFixedDataStructure({ id: '90919293', accessNumber: 16, status: 0, mediumCode: 4, counter1: { unitCode: 0x05, raw: 6531 }, counter2: { unitCode: 0x29, raw: 69 } });
    expect(bytes).toEqual(f.data);
  });

  it('refuses what the coding cannot carry', () => {
    const base = { id: '12345678', accessNumber: 1, status: 0, mediumCode: 7, counter1: { unitCode: 0x29, raw: 1 }, counter2: { unitCode: 0x29, raw: 1 } };
    expect(() => encodeFixedDataStructure({ ...base, id: '1234567A' })).toThrow(/8 decimal digits/);
    expect(() => encodeFixedDataStructure({ ...base, mediumCode: 16 })).toThrow(/mediumCode must be 0..15/);
    expect(() => encodeFixedDataStructure({ ...base, counter1: { unitCode: 0x29, raw: 100_000_000 } })).toThrow(/8 BCD digits/);
    expect(() => encodeFixedDataStructure({ ...base, status: 1, counter2: { unitCode: 0x29, raw: 2 ** 31 } })).toThrow(/signed 32-bit/);
  });

  it('decode(encode(spec)) gives back every field, BCD and binary', () => {
    const unit = fc.integer({ min: 0x02, max: 0x37 }); // the scaled physical units
    fc.assert(
      fc.property(
        fc.stringMatching(/^\d{8}$/),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 15 }),
        unit,
        unit,
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        (id, accessNumber, status, mediumCode, u1, u2, a, b) => {
          const binary = (status & 1) === 1;
          const raw1 = binary ? a : Math.abs(a) % 100_000_000;
          const raw2 = binary ? b : Math.abs(b) % 100_000_000;
          const spec = { id, accessNumber, status, mediumCode, counter1: { unitCode: u1, raw: raw1 }, counter2: { unitCode: u2, raw: raw2 } };
          const r = decodeFixedDataStructure(encodeFixedDataStructure(spec));
          expect(r.header).toMatchObject({ id, accessNumber, mediumCode, status: { raw: status }, counter1Unit: { code: u1 }, counter2Unit: { code: u2 } });
          const one = decodeFixedDataStructure(Uint8Array.of(0, 0, 0, 0, 0, 0, u1, u2, 1, 0, 0, 0, 1, 0, 0, 0)).records;
          expect(r.records[0].value as number).toBeCloseTo(raw1 * (one[0].value as number), 6);
          expect(r.records[1].value as number).toBeCloseTo(raw2 * (one[1].value as number), 6);
          expect(r.records.every((x) => x.storage === ((status & 2) ? 1 : 0))).toBe(true);
        },
      ),
      { seed: 1434, numRuns: 400 },
    );
  });
});
