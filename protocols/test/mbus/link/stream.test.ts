// Stream parser: every split point of every corpus telegram, garbage, bad checksums, false starts,
// and the invariant that every input byte comes out exactly once (in a frame, skipped, or buffered).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeFrame, MbusStreamParser, type StreamParseResult } from '../../../src/mbus/link/index.js';
import { hexBytes, loadCorpus } from './corpus.js';
import { arbFrame, splitAt } from './arbitraries.js';

function feed(chunks: Uint8Array[], end = false) {
  const p = new MbusStreamParser();
  const results: StreamParseResult[] = chunks.map((c) => p.push(c));
  if (end) results.push(p.flush());
  const frames = results.flatMap((r) => r.frames);
  const skipped = results.flatMap((r) => r.skipped);
  const accounted = frames.reduce((n, f) => n + f.raw.length, 0) + skipped.reduce((n, s) => n + s.bytes.length, 0) + p.buffered;
  return { frames, skipped, accounted, buffered: p.buffered };
}

const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

const corpus = [...loadCorpus('frames'), ...loadCorpus('error-frames')].filter((t) => {
  // error-frames/premature_end_of_data2 carries a stray byte after its stop byte: not one frame.
  try {
    return new MbusStreamParser().push(t.bytes).frames.length === 1;
  } catch {
    return false;
  }
});

describe('every corpus telegram split at every byte boundary', () => {
  it('has enough telegrams to mean something', () => {
    expect(corpus.length).toBeGreaterThan(60);
  });

  it.each(corpus.map((t) => [t.name, t.bytes] as const))('%s', (_n, bytes) => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      const r = feed([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(r.frames.map((f) => f.raw), `cut at ${cut}`).toEqual([bytes]);
      expect(r.skipped).toEqual([]);
      expect(r.buffered).toBe(0);
    }
    // and one byte at a time
    const r = feed(Array.from(bytes, (b) => Uint8Array.of(b)));
    expect(r.frames).toHaveLength(1);
  });
});

describe('resynchronisation', () => {
  const reply = encodeFrame({ kind: 'long', control: 8, address: 1, ci: 0x72, data: hexBytes('78 56 34 12 24 40 01 07 55 00 00 00') });
  const req = encodeFrame({ kind: 'short', control: 0x7b, address: 1 });

  it('skips garbage between frames and says why', () => {
    const r = feed([concat(hexBytes('00 FF 42'), req, hexBytes('01 02'), Uint8Array.of(0xe5), reply)]);
    expect(r.frames.map((f) => f.frame.kind)).toEqual(['short', 'ack', 'long']);
    expect(r.skipped).toEqual([
      { bytes: hexBytes('00 FF 42'), reason: 'no frame start (expected 0xE5, 0x10 or 0x68)' },
      { bytes: hexBytes('01 02'), reason: 'no frame start (expected 0xE5, 0x10 or 0x68)' },
    ]);
  });

  it('drops a frame with a bad checksum and finds the next one', () => {
    const bad = reply.slice();
    bad[bad.length - 2] ^= 0x01;
    const r = feed([concat(bad, req)]);
    expect(r.frames.map((f) => f.raw)).toEqual([req]);
    expect(r.skipped[0].reason).toMatch(/^bad-checksum: .*checksum expected 0x/);
    expect(r.skipped[0].bytes[0]).toBe(0x68);
    expect(r.accounted).toBe(bad.length + req.length);
  });

  it('a header with L≠L is skipped at once, not waited on', () => {
    const r = feed([concat(hexBytes('68 F0 0F 68'), req)]);
    expect(r.frames.map((f) => f.raw)).toEqual([req]);
    expect(r.skipped[0]).toEqual({ bytes: hexBytes('68'), reason: 'length-mismatch: length fields differ: L=240 then L=15' });
    expect(r.buffered).toBe(0);
  });

  it('noise that looks like a long header holds frames back until flush() frees them', () => {
    const p = new MbusStreamParser();
    const first = p.push(concat(hexBytes('68 FF FF 68'), req));
    expect(first.frames).toEqual([]);
    expect(p.buffered).toBe(4 + req.length);
    const end = p.flush();
    expect(end.frames.map((f) => f.raw)).toEqual([req]);
    expect(end.skipped[0].reason).toMatch(/^truncated: stream ended after 9 of 261 bytes/);
    expect(p.buffered).toBe(0);
  });

  it('reset() forgets a partial frame', () => {
    const p = new MbusStreamParser();
    p.push(reply.subarray(0, 10));
    p.reset();
    expect(p.buffered).toBe(0);
    expect(p.push(req).frames.map((f) => f.raw)).toEqual([req]);
  });

  it('a lone E5 is an acknowledgement', () => {
    expect(feed([Uint8Array.of(0xe5, 0xe5)]).frames.map((f) => f.frame)).toEqual([{ kind: 'ack' }, { kind: 'ack' }]);
  });
});

describe('properties', () => {
  it('any frames, any chunking: the same frames come out, nothing skipped', () => {
    fc.assert(
      fc.property(fc.array(arbFrame, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), (frames, points) => {
        const bytes = concat(...frames.map(encodeFrame));
        const r = feed(splitAt(bytes, points.map((p) => p % (bytes.length + 1))));
        expect(r.frames.map((f) => f.frame)).toEqual(frames.map((f) => (f.kind === 'long' && f.data.length === 0 ? { ...f, kind: 'control' } : f)));
        expect(r.skipped).toEqual([]);
      }),
      { seed: 4242, numRuns: 300 },
    );
  });

  it('garbage without start bytes between frames is skipped exactly, frames survive', () => {
    const noStart = fc.uint8Array({ minLength: 0, maxLength: 20 }).map((g) => g.filter((b) => b !== 0xe5 && b !== 0x10 && b !== 0x68));
    fc.assert(
      fc.property(fc.array(fc.tuple(noStart, arbFrame), { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 8 }), (parts, points) => {
        const bytes = concat(...parts.flatMap(([g, f]) => [g, encodeFrame(f)]));
        const r = feed(splitAt(bytes, points.map((p) => p % (bytes.length + 1))));
        expect(r.frames).toHaveLength(parts.length);
        expect(r.skipped.reduce((n, s) => n + s.bytes.length, 0)).toBe(parts.reduce((n, [g]) => n + g.length, 0));
      }),
      { seed: 99, numRuns: 300 },
    );
  });

  it('arbitrary noise (start bytes included) between frames: after flush() every frame is among those found', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.uint8Array({ maxLength: 30 }), arbFrame), { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 8 }), (parts, points) => {
        const bytes = concat(...parts.flatMap(([g, f]) => [g, encodeFrame(f)]));
        const r = feed(splitAt(bytes, points.map((p) => p % (bytes.length + 1))), true);
        const found = r.frames.map((f) => Buffer.from(f.raw).toString('hex'));
        let i = 0;
        for (const [, f] of parts) {
          const want = Buffer.from(encodeFrame(f)).toString('hex');
          while (i < found.length && found[i] !== want) i++;
          expect(i, `frame ${want} lost in ${Buffer.from(bytes).toString('hex')}`).toBeLessThan(found.length);
          i++;
        }
        expect(r.accounted).toBe(bytes.length);
      }),
      { seed: 5, numRuns: 300 },
    );
  });

  it('arbitrary bytes: every byte is accounted for once, and flush() empties the buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, points) => {
        const r = feed(splitAt(bytes, points.map((p) => p % (bytes.length + 1))), true);
        expect(r.accounted).toBe(bytes.length);
        expect(r.buffered).toBe(0);
      }),
      { seed: 1, numRuns: 300 },
    );
  });
});
