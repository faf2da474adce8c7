// Link-layer frames: known byte strings, every named error, the libmbus corpus, round-trip properties.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checksum, decodeFrame, decodeFrameAt, encodeFrame, expectedFrameLength, longHeaderProblem, MbusFrameError, type MbusFrame } from '../../../src/mbus/link/index.js';
import { hexBytes, loadCorpus } from './corpus.js';
import { arbFrame } from './arbitraries.js';

const known: Array<[string, MbusFrame, string]> = [
  ['ack', { kind: 'ack' }, 'E5'],
  ['SND_NKE to 1', { kind: 'short', control: 0x40, address: 1 }, '10 40 01 41 16'],
  ['REQ_UD2 to 1', { kind: 'short', control: 0x5b, address: 1 }, '10 5B 01 5C 16'],
  ['REQ_UD2 FCB to 254', { kind: 'short', control: 0x7b, address: 0xfe }, '10 7B FE 79 16'],
  ['SND_UD application reset (control frame)', { kind: 'control', control: 0x53, address: 1, ci: 0x50 }, '68 03 03 68 53 01 50 A4 16'],
  [
    'SND_UD selection',
    { kind: 'long', control: 0x73, address: 0xfd, ci: 0x52, data: hexBytes('78 56 34 12 FF FF FF FF') },
    '68 0B 0B 68 73 FD 52 78 56 34 12 FF FF FF FF D2 16',
  ],
];

describe('encodeFrame / decodeFrame on known frames', () => {
  it.each(known)('%s', (_name, frame, hex) => {
    expect(Buffer.from(encodeFrame(frame)).toString('hex')).toBe(hex.replace(/ /g, '').toLowerCase());
    expect(decodeFrame(hexBytes(hex))).toEqual(frame);
  });

  it('a long frame without data is the control frame', () => {
    const bytes = encodeFrame({ kind: 'long', control: 0x08, address: 5, ci: 0x72, data: new Uint8Array(0) });
    expect(decodeFrame(bytes)).toEqual({ kind: 'control', control: 0x08, address: 5, ci: 0x72 });
  });

  it('refuses fields that do not fit a byte and data longer than 252 bytes', () => {
    expect(() => encodeFrame({ kind: 'short', control: 0x140, address: 1 })).toThrow(/control must be an integer 0..255/);
    expect(() => encodeFrame({ kind: 'long', control: 8, address: 1, ci: 0x72, data: new Uint8Array(253) })).toThrow(/at most 252/);
    expect(encodeFrame({ kind: 'long', control: 8, address: 1, ci: 0x72, data: new Uint8Array(252) })).toHaveLength(261);
  });
});

describe('checksum', () => {
  it('is the byte sum modulo 256', () => {
    expect(checksum([0x08, 0x01, 0x72])).toBe(0x7b);
    expect(checksum([0xff, 0xff, 0x03])).toBe(0x01);
    expect(checksum([])).toBe(0);
  });
});

const errorCases: Array<[string, string, string, number, Partial<MbusFrameError>]> = [
  ['empty input', '', 'empty', 0, {}],
  ['bad start', '11 40 01 41 16', 'bad-start', 0, { actual: 0x11 }],
  ['short frame truncated', '10 5B 01', 'truncated', 3, { expected: 5, actual: 3 }],
  ['short frame bad checksum', '10 5B 01 5D 16', 'bad-checksum', 3, { expected: 0x5c, actual: 0x5d }],
  ['short frame no stop', '10 5B 01 5C 17', 'missing-stop', 4, { expected: 0x16, actual: 0x17 }],
  ['L ≠ L', '68 03 04 68 53 01 50 A4 16', 'length-mismatch', 2, { expected: 3, actual: 4 }],
  ['L below 3', '68 02 02 68 53 01 54 16', 'bad-length', 1, {}],
  ['no second 0x68', '68 03 03 69 53 01 50 A4 16', 'bad-second-start', 3, {}],
  ['long frame truncated', '68 03 03 68 53 01 50', 'truncated', 7, { expected: 9, actual: 7 }],
  ['long frame bad checksum', '68 03 03 68 53 01 50 A5 16', 'bad-checksum', 7, { expected: 0xa4, actual: 0xa5 }],
  ['long frame no stop', '68 03 03 68 53 01 50 A4 00', 'missing-stop', 8, {}],
  ['trailing bytes', '10 5B 01 5C 16 16', 'trailing-bytes', 5, {}],
];

describe('decodeFrame names what is wrong', () => {
  it.each(errorCases)('%s', (_name, hex, code, offset, extra) => {
    let caught: unknown;
    try {
      decodeFrame(hexBytes(hex));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(MbusFrameError);
    const err = caught as MbusFrameError;
    expect(err.code).toBe(code);
    expect(err.offset).toBe(offset);
    expect(err).toMatchObject(extra);
    expect(err.message).toContain(code);
  });

  it('the checksum message gives expected and actual', () => {
    expect(() => decodeFrame(hexBytes('10 5B 01 5D 16'))).toThrow('checksum expected 0x5C, got 0x5D');
  });
});

describe('expectedFrameLength', () => {
  it.each([
    ['', undefined],
    ['E5', 1],
    ['10', 5],
    ['68', undefined],
    ['68 3C', 66],
    ['68 02', null],
    ['42', null],
  ] as const)('%s → %s', (hex, want) => {
    expect(expectedFrameLength(hexBytes(hex))).toBe(want);
  });
});

describe('longHeaderProblem (partial headers, no exceptions)', () => {
  it.each([
    ['68', null],
    ['68 3C', null],
    ['68 3C 3C', null],
    ['68 3C 3C 68', null],
    ['68 02', 'bad-length'],
    ['68 3C 3D', 'length-mismatch'],
    ['68 3C 3C 10', 'bad-second-start'],
  ] as const)('%s → %s', (hex, code) => {
    expect(longHeaderProblem(hexBytes(hex))?.code ?? null).toBe(code);
  });
});

describe('libmbus corpus', () => {
  const good = loadCorpus('frames');
  it.each(good.map((t) => [t.name, t.bytes] as const))('%s is a well-formed RSP_UD long frame and re-encodes identically', (_n, bytes) => {
    const frame = decodeFrame(bytes);
    expect(frame.kind).toBe('long');
    if (frame.kind !== 'long') return;
    expect(frame.control & 0x40).toBe(0); // slave → master
    expect(frame.data.length).toBe(bytes[1] - 3);
    expect(encodeFrame(frame)).toEqual(bytes);
  });

  const bad = [...loadCorpus('error-frames'), ...loadCorpus('unsupported-frames')];
  it.each(bad.map((t) => [t.name, t.bytes] as const))('%s: a frame or a typed MbusFrameError', (_n, bytes) => {
    try {
      const frame = decodeFrame(bytes);
      expect(encodeFrame(frame)).toEqual(bytes);
    } catch (e) {
      expect(e).toBeInstanceOf(MbusFrameError);
      expect((e as MbusFrameError).offset).toBeGreaterThanOrEqual(0);
      expect((e as MbusFrameError).offset).toBeLessThanOrEqual(bytes.length);
    }
  });

  it('invalid_length (L=0) is refused at the link layer; invalid_length2 is a sound frame whose 16-byte fixed structure is one byte short', () => {
    const byName = new Map(bad.map((t) => [t.name, t.bytes]));
    expect(() => decodeFrame(byName.get('invalid_length.hex')!)).toThrow(/bad-length/);
    const f = decodeFrame(byName.get('invalid_length2.hex')!);
    expect(f).toMatchObject({ kind: 'long', ci: 0x73 });
    expect(f.kind === 'long' && f.data.length).toBe(15);
  });
});

describe('properties', () => {
  it('decode(encode(f)) = f for every frame', () => {
    fc.assert(
      fc.property(arbFrame, (f) => {
        expect(decodeFrame(encodeFrame(f))).toEqual(f);
      }),
      { seed: 13757, numRuns: 500 },
    );
  });

  it('decodeFrameAt reads one frame out of a concatenation', () => {
    fc.assert(
      fc.property(fc.array(arbFrame, { minLength: 1, maxLength: 5 }), (frames) => {
        const parts = frames.map(encodeFrame);
        const all = Uint8Array.from(parts.flatMap((p) => [...p]));
        let off = 0;
        for (const f of frames) {
          const r = decodeFrameAt(all, off);
          expect(r.frame).toEqual(f);
          off += r.length;
        }
        expect(off).toBe(all.length);
      }),
      { seed: 2, numRuns: 200 },
    );
  });

  it('any single corrupted byte in a long frame is caught', () => {
    const frame = encodeFrame({ kind: 'long', control: 8, address: 1, ci: 0x72, data: hexBytes('78 56 34 12 24 40 01 07 55 00 00 00') });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: frame.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const bad = frame.slice();
        bad[at] ^= x;
        expect(() => decodeFrame(bad)).toThrow(MbusFrameError);
      }),
      { seed: 7, numRuns: 500 },
    );
  });
});
