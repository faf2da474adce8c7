// Secondary addresses: bytes, both text forms, wildcard matching and the search tree.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeSelection,
  encodeFrame,
  encodeSelection,
  matchesSelection,
  selectSecondaryEnhanced,
  decodeSecondaryAddress,
  encodeSecondaryAddress,
  formatSecondaryAddress,
  matchesSecondary,
  MbusAddressError,
  nextSearchPatterns,
  parseSecondaryAddress,
  SECONDARY_WILDCARD,
  type SecondaryAddress,
} from '../../../src/mbus/link/index.js';
import { hexBytes, loadCorpus } from './corpus.js';

const cyble: SecondaryAddress = { id: '11490378', manufacturer: 'ACW', version: 0x14, medium: 0x07 };

describe('encode / decode', () => {
  it('packs ID BCD LSB first, manufacturer LE, version, medium', () => {
    expect(encodeSecondaryAddress(cyble)).toEqual(hexBytes('78 03 49 11 77 04 14 07'));
    expect(decodeSecondaryAddress(hexBytes('78 03 49 11 77 04 14 07'))).toEqual(cyble);
  });

  it('wildcards are F nibbles, FFFF and FF', () => {
    expect(encodeSecondaryAddress({ id: '1234FFFF', manufacturer: null, version: null, medium: null })).toEqual(hexBytes('FF FF 34 12 FF FF FF FF'));
    expect(decodeSecondaryAddress(hexBytes('FF FF FF FF FF FF FF FF'))).toEqual(SECONDARY_WILDCARD);
  });

  it('reads the address out of the fixed header of every corpus telegram (CI 0x72)', () => {
    for (const t of loadCorpus('frames')) {
      if (t.bytes[6] !== 0x72) continue;
      const a = decodeSecondaryAddress(t.bytes, 7);
      expect(a.id, t.name).toMatch(/^[0-9A-F]{8}$/);
      expect(encodeSecondaryAddress(a), t.name).toEqual(t.bytes.slice(7, 15));
    }
  });

  it('names what is wrong', () => {
    expect(() => decodeSecondaryAddress(new Uint8Array(5))).toThrow(/needs 8 bytes, got 5/);
    expect(() => encodeSecondaryAddress({ ...cyble, id: '123' })).toThrow(MbusAddressError);
    expect(() => encodeSecondaryAddress({ ...cyble, manufacturer: 'acw' })).toThrow(/three letters/);
    expect(() => encodeSecondaryAddress({ ...cyble, version: 255 })).toThrow(/version must be 0..254 or null/);
  });
});

describe('text forms', () => {
  it.each([
    ['12345678.ACW.14.07', { id: '12345678', manufacturer: 'ACW', version: 0x14, medium: 0x07 }],
    ['1234FFFF.*.*.07', { id: '1234FFFF', manufacturer: null, version: null, medium: 7 }],
    ['1234****.FFFF.FF.FF', { id: '1234FFFF', manufacturer: null, version: null, medium: null }],
    ['1149037877041407', cyble],
    ['14491001FFFF0106', { id: '14491001', manufacturer: null, version: 1, medium: 6 }],
    ['ffffffffffffffff', SECONDARY_WILDCARD],
  ])('%s', (text, want) => {
    expect(parseSecondaryAddress(text)).toEqual(want);
  });

  it.each([
    ['1234', /neither 16 hex digits nor ID.MAN.VV.MM/],
    ['1234567.ACW.14.07', /id "1234567"/],
    ['12345678.AC1.14.07', /manufacturer "AC1"/],
    ['12345678.ACW.1G.07', /version "1G"/],
    ['12345678.ACW.14.123', /medium "123"/],
  ])('refuses %s', (text, re) => {
    expect(() => parseSecondaryAddress(text)).toThrow(re);
  });

  it('formats both ways', () => {
    expect(formatSecondaryAddress(cyble)).toBe('11490378.ACW.14.07');
    expect(formatSecondaryAddress(cyble, { style: 'libmbus' })).toBe('1149037877041407');
    expect(formatSecondaryAddress(SECONDARY_WILDCARD)).toBe('FFFFFFFF.*.*.*');
  });

  const arbAddress: fc.Arbitrary<SecondaryAddress> = fc.record({
    id: fc.stringMatching(/^[0-9F]{8}$/),
    manufacturer: fc.option(fc.stringMatching(/^[A-Z]{3}$/)),
    version: fc.option(fc.integer({ min: 0, max: 254 })),
    medium: fc.option(fc.integer({ min: 0, max: 254 })),
  });

  it('round-trips through bytes and both text forms', () => {
    fc.assert(
      fc.property(arbAddress, (a) => {
        expect(decodeSecondaryAddress(encodeSecondaryAddress(a))).toEqual(a);
        expect(parseSecondaryAddress(formatSecondaryAddress(a))).toEqual(a);
        expect(parseSecondaryAddress(formatSecondaryAddress(a, { style: 'libmbus' }))).toEqual(a);
      }),
      { seed: 1434, numRuns: 300 },
    );
  });
});

describe('matching and search', () => {
  it.each([
    ['FFFFFFFF.*.*.*', true],
    ['11490378.ACW.14.07', true],
    ['1149FFFF.*.*.*', true],
    ['F1F9F3F8.*.*.*', true],
    ['1149FFF9.*.*.*', false],
    ['11490378.ACX.*.*', false],
    ['11490378.*.15.*', false],
    ['11490378.*.*.06', false],
  ])('%s selects 11490378.ACW.14.07: %s', (p, want) => {
    expect(matchesSecondary(parseSecondaryAddress(p), cyble)).toBe(want);
  });

  it('fixes the leftmost wildcard digit to 0..9', () => {
    const next = nextSearchPatterns(parseSecondaryAddress('1FFFFFFF.*.*.*'));
    expect(next.map((p) => p.id)).toEqual(['10FFFFFF', '11FFFFFF', '12FFFFFF', '13FFFFFF', '14FFFFFF', '15FFFFFF', '16FFFFFF', '17FFFFFF', '18FFFFFF', '19FFFFFF']);
    expect(nextSearchPatterns(cyble)).toEqual([]);
    expect(nextSearchPatterns(SECONDARY_WILDCARD, 7)[3].id).toBe('FFFFFFF3');
    expect(() => nextSearchPatterns(cyble, 2)).toThrow(/not a wildcard/);
  });

  it('walking the tree finds every slave of a simulated bus, exactly once', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[0-9]{8}$/), { minLength: 1, maxLength: 30 }), (ids) => {
        const slaves = ids.map((id) => ({ id, manufacturer: 'ACW', version: 1, medium: 7 }));
        const found: string[] = [];
        const queue: SecondaryAddress[] = [SECONDARY_WILDCARD];
        let selections = 0;
        while (queue.length > 0) {
          const p = queue.shift()!;
          selections++;
          const hits = slaves.filter((s) => matchesSecondary(p, s));
          if (hits.length === 1) found.push(hits[0].id);
          else if (hits.length > 1) queue.push(...nextSearchPatterns(p));
        }
        expect(found.sort()).toEqual([...ids].sort());
        expect(selections).toBeLessThanOrEqual(1 + 10 * 8 * ids.length);
      }),
      { seed: 253, numRuns: 50 },
    );
  });
});

describe('enhanced selection (fabrication number)', () => {
  it('appends DIF 0x0C VIF 0x78 and the BCD fabrication number', () => {
    const f = selectSecondaryEnhanced(cyble, '00123456');
    expect(f.kind === 'long' && [...f.data]).toEqual([...hexBytes('78 03 49 11 77 04 14 07 0C 78 56 34 12 00')]);
    expect(encodeFrame(f)).toEqual(hexBytes('68 11 11 68 73 FD 52 78 03 49 11 77 04 14 07 0C 78 56 34 12 00 4D 16'));
  });

  it('decodes both forms and names bad ones', () => {
    expect(decodeSelection(encodeSecondaryAddress(cyble))).toEqual({ address: cyble });
    expect(decodeSelection(encodeSelection({ address: cyble, fabricationNumber: '0012FFFF' }))).toEqual({ address: cyble, fabricationNumber: '0012FFFF' });
    expect(() => decodeSelection(new Uint8Array(10))).toThrow(/8 or 14 bytes, got 10/);
    expect(() => decodeSelection(new Uint8Array(14))).toThrow(/DIF 0x0C VIF 0x78 at byte 8/);
    expect(() => encodeSelection({ address: cyble, fabricationNumber: '123' })).toThrow(/fabrication number must be 8 digits/);
  });

  it('matches on address and fabrication number wildcards', () => {
    const sel = { address: parseSecondaryAddress('11490378.*.*.*'), fabricationNumber: '0012FFFF' };
    expect(matchesSelection(sel, cyble, '00123456')).toBe(true);
    expect(matchesSelection(sel, cyble, '00133456')).toBe(false);
    expect(matchesSelection(sel, cyble)).toBe(false);
    expect(matchesSelection({ address: cyble }, cyble)).toBe(true);
  });
});
