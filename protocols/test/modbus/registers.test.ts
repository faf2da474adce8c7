import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  AMR_HEAT_CALC, REGISTER_MAPS, SDM630, decodeRegisters, decodeValue, encodeRegisters, encodeRtu, encodeValue,
  planReads, rtuCrcOk, wordCount, type RegisterEntry,
} from '@amr/protocols';

const entry = (type: RegisterEntry['type'], wordOrder: 'BE' | 'LE', scale = 1): RegisterEntry =>
  ({ name: 'x', address: 0, fn: 'input', type, wordOrder, scale, unit: '' });

describe('modbus register words', () => {
  it('float32 BE: 230.0 V is 0x4366 0x0000 (as an SDM630 sends it)', () => {
    expect(encodeValue(entry('float32', 'BE'), 230)).toEqual([0x4366, 0x0000]);
    expect(decodeValue(entry('float32', 'BE'), [0x4366, 0x0000])).toBe(230);
  });

  it('uint32 LE puts the low word first', () => {
    expect(encodeValue(entry('uint32', 'LE'), 0x00010002)).toEqual([0x0002, 0x0001]);
  });

  it.each(['uint16', 'int16', 'uint32', 'int32', 'float64'] as const)('%s round-trips in both word orders', (type) => {
    const range: Record<string, [number, number]> = {
      uint16: [0, 0xffff], int16: [-0x8000, 0x7fff], uint32: [0, 0xffffffff], int32: [-0x80000000, 0x7fffffff],
      float64: [-1e12, 1e12],
    };
    const [lo, hi] = range[type];
    fc.assert(fc.property(fc.integer({ min: lo, max: hi }), fc.constantFrom('BE' as const, 'LE' as const), (v, wo) => {
      const e = entry(type, wo);
      const words = encodeValue(e, v);
      expect(words.length).toBe(wordCount(type));
      expect(decodeValue(e, words)).toBe(v);
    }));
  });

  it('applies scale (Wh counter with scale 0.001 reads as kWh)', () => {
    const e = entry('uint32', 'LE', 0.001);
    expect(decodeValue(e, encodeValue(e, 1234.567))).toBeCloseTo(1234.567, 6);
  });

  it('every map entry names a distinct non-overlapping register range', () => {
    for (const map of Object.values(REGISTER_MAPS)) {
      const used = new Set<string>();
      for (const e of map.entries) for (let i = 0; i < wordCount(e.type); i++) {
        const k = `${e.fn}:${e.address + i}`;
        expect(used.has(k), `${map.id} ${e.name} overlaps at ${k}`).toBe(false);
        used.add(k);
      }
    }
  });

  it.each([SDM630, AMR_HEAT_CALC])('$id: image → planned reads → decode gives back the values', (map) => {
    const values = Object.fromEntries(map.entries.map((e, i) => [e.name, (i + 1) * 10.5]));
    const image = encodeRegisters(map, values);
    const got: Record<string, number> = {};
    for (const b of planReads(map)) {
      const words = Array.from({ length: b.count }, (_, i) => image[b.fn].get(b.start + i) ?? 0);
      Object.assign(got, decodeRegisters(map, { fn: b.fn, start: b.start, words }));
    }
    for (const e of map.entries) {
      // integers are quantised to one step of the scale
      const tol = e.type.startsWith('float') ? 1e-3 : e.scale / 2 + 1e-9;
      expect(Math.abs(got[e.name] - values[e.name])).toBeLessThanOrEqual(tol);
    }
  });

  it('SDM630 plan reads the whole map in one FC04 block', () => {
    expect(planReads(SDM630, 40)).toEqual([{ fn: 'input', start: 0, count: 0x4c }]);
  });

  it('RTU frame CRC: 01 04 00 00 00 02 → 71 CB', () => {
    const f = encodeRtu(1, Buffer.from([4, 0, 0, 0, 2]));
    expect([...f.subarray(-2)]).toEqual([0x71, 0xcb]);
    expect(rtuCrcOk(f)).toBe(true);
    f[2] ^= 1;
    expect(rtuCrcOk(f)).toBe(false);
  });
});
