// Fuzz: random and mutated telegrams (seeded, thousands per run) through the stream parser, the
// frame decoder and the application decoder. Each call must return a result or throw the layer's
// typed error (MbusFrameError / MbusDecodeError); results must be JSON-serialisable. No timing is
// asserted: every call returning is the "no hang" proof, and iterations are counted.
import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  decodeSelection,
  decodeTelegram,
  MbusAddressError,
  encodeFrame,
  MbusDecodeError,
  MbusFrameError,
  MbusStreamParser,
  type MbusFrame,
} from '../../src/mbus/index.js';
import { decodeFixedDataStructure } from '../../src/mbus/app/fixed.js';
import { loadCorpus } from './link/corpus.js';

/** mulberry32: small, seeded, reproducible. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  return { next, int, bytes };
}
type Rng = ReturnType<typeof rng>;

const SEED = 0x13757;
const corpus = [...loadCorpus('frames'), ...loadCorpus('error-frames'), ...loadCorpus('unsupported-frames')];

/** One random mutation of `b` (may be applied to a whole frame or to user data). */
function mutate(r: Rng, b: Uint8Array): Uint8Array {
  const out = Array.from(b);
  switch (r.int(7)) {
    case 0: {
      const flips = 1 + r.int(3);
      for (let i = 0; i < flips && out.length > 0; i++) out[r.int(out.length)] ^= 1 << r.int(8);
      break;
    }
    case 1:
      out.length = r.int(out.length + 1); // truncate
      break;
    case 2:
      out.splice(r.int(out.length + 1), 0, ...r.bytes(1 + r.int(8))); // insert
      break;
    case 3:
      out.splice(r.int(out.length + 1), 1 + r.int(4)); // delete
      break;
    case 4:
      if (out.length > 0) out[r.int(out.length)] = [0x00, 0xff, 0x0f, 0x1f, 0x2f, 0x7f, 0x80, 0xfd, 0xfb, 0x7c][r.int(10)]; // interesting bytes
      break;
    case 5: {
      const at = r.int(out.length + 1); // duplicate a slice
      out.splice(at, 0, ...out.slice(at, at + 1 + r.int(12)));
      break;
    }
    default:
      for (let i = 0; i < out.length; i++) if (r.next() < 0.05) out[i] = r.int(256);
  }
  return Uint8Array.from(out);
}

/** A long frame whose length fields lie about its size (checksum still computed over what is there). */
function lyingLength(r: Rng, b: Uint8Array): Uint8Array {
  const out = b.slice();
  if (out.length < 4) return out;
  const l = r.int(256);
  out[1] = l;
  if (r.next() < 0.7) out[2] = l;
  return out;
}

type Outcome = 'frame' | 'frame-error' | 'telegram' | 'decode-error';

function classifyFrame(bytes: Uint8Array): { outcome: Outcome; frame?: MbusFrame } {
  try {
    return { outcome: 'frame', frame: decodeFrame(bytes) };
  } catch (e) {
    if (e instanceof MbusFrameError) {
      expect(e.offset).toBeGreaterThanOrEqual(0);
      expect(e.offset).toBeLessThanOrEqual(bytes.length);
      return { outcome: 'frame-error' };
    }
    throw new Error(`decodeFrame threw an untyped ${String(e)} on ${Buffer.from(bytes).toString('hex')}`);
  }
}

function classifyTelegram(input: Uint8Array | { ci: number; data: Uint8Array }): Outcome {
  try {
    const t = decodeTelegram(input);
    expect(Array.isArray(t.records)).toBe(true);
    JSON.stringify(t); // must be serialisable (no BigInt, no cycles)
    for (const rec of t.records) {
      expect(Number.isInteger(rec.storage) && rec.storage >= 0).toBe(true);
      if (typeof rec.value === 'number') expect(Number.isNaN(rec.value) && rec.raw.dif % 16 !== 5).toBe(false);
    }
    return 'telegram';
  } catch (e) {
    if (e instanceof MbusDecodeError) {
      expect(typeof e.code).toBe('string');
      expect(e.offset).toBeGreaterThanOrEqual(0);
      return 'decode-error';
    }
    const hex = input instanceof Uint8Array ? Buffer.from(input).toString('hex') : `ci=${input.ci} ${Buffer.from(input.data).toString('hex')}`;
    throw new Error(`decodeTelegram threw an untyped ${String(e)} on ${hex}`);
  }
}

function classifyFixed(data: Uint8Array, ci: number): Outcome {
  try {
    JSON.stringify(decodeFixedDataStructure(data, 0, ci));
    return 'telegram';
  } catch (e) {
    if (e instanceof MbusDecodeError) return 'decode-error';
    throw new Error(`decodeFixedDataStructure threw an untyped ${String(e)} on ${Buffer.from(data).toString('hex')}`);
  }
}

/** Feed `bytes` in random chunks; every byte must come out once (frame, skipped, or flushed). */
function streamOnce(r: Rng, bytes: Uint8Array): number {
  const p = new MbusStreamParser();
  let seen = 0;
  let frames = 0;
  for (let pos = 0; pos < bytes.length; ) {
    const n = 1 + r.int(64);
    const res = p.push(bytes.subarray(pos, pos + n));
    seen += res.frames.reduce((s, f) => s + f.raw.length, 0) + res.skipped.reduce((s, k) => s + k.bytes.length, 0);
    frames += res.frames.length;
    pos += n;
  }
  const end = p.flush();
  seen += end.frames.reduce((s, f) => s + f.raw.length, 0) + end.skipped.reduce((s, k) => s + k.bytes.length, 0);
  frames += end.frames.length;
  expect(seen).toBe(bytes.length);
  expect(p.buffered).toBe(0);
  return frames;
}

describe('fuzz (seeded)', () => {
  it('mutated whole frames: stream parser, decodeFrame, decodeTelegram', () => {
    const r = rng(SEED);
    const counts: Record<Outcome, number> = { frame: 0, 'frame-error': 0, telegram: 0, 'decode-error': 0 };
    let iterations = 0;
    for (let round = 0; round < 20; round++) {
      for (const t of corpus) {
        const m = r.next() < 0.2 ? lyingLength(r, t.bytes) : mutate(r, t.bytes);
        counts[classifyFrame(m).outcome]++;
        if (m.length > 0 && m[0] === 0x68) counts[classifyTelegram(m)]++;
        streamOnce(r, m);
        iterations++;
      }
    }
    if (process.env.FUZZ_VERBOSE) console.log("frame fuzz", iterations, counts);
    expect(iterations).toBe(20 * corpus.length);
    // The mix must exercise both outcomes, or the mutations are not doing their job.
    expect(counts.frame).toBeGreaterThan(0);
    expect(counts['frame-error']).toBeGreaterThan(iterations / 2);
  });

  it('mutated user data in valid frames reaches the application decoder', () => {
    const r = rng(SEED + 1);
    const counts: Record<Outcome, number> = { frame: 0, 'frame-error': 0, telegram: 0, 'decode-error': 0 };
    let iterations = 0;
    const longFrames = corpus.flatMap((t) => {
      const f = classifyFrame(t.bytes).frame;
      return f && f.kind === 'long' ? [f] : [];
    });
    expect(longFrames.length).toBeGreaterThan(60);
    for (let round = 0; round < 30; round++) {
      for (const f of longFrames) {
        let data = f.data;
        const times = 1 + r.int(3);
        for (let i = 0; i < times; i++) data = mutate(r, data);
        data = data.subarray(0, 252);
        const ci = r.next() < 0.1 ? [0x72, 0x73, 0x76, 0x77, 0x78, 0x7a, 0x70, 0x71, r.int(256)][r.int(9)] : f.ci;
        const bytes = encodeFrame(data.length === 0 ? { kind: 'control', control: f.control, address: f.address, ci } : { ...f, ci, data });
        expect(classifyFrame(bytes).outcome).toBe('frame');
        counts[classifyTelegram(bytes)]++;
        counts[classifyTelegram({ ci, data })]++;
        if (ci === 0x73 || ci === 0x77) counts[classifyFixed(data, ci)]++;
        expect(streamOnce(r, bytes)).toBe(1);
        iterations++;
      }
    }
    if (process.env.FUZZ_VERBOSE) console.log("user-data fuzz", iterations, counts);
    expect(iterations).toBe(30 * longFrames.length);
    expect(counts.telegram).toBeGreaterThan(iterations / 4);
    expect(counts['decode-error']).toBeGreaterThan(0);
  });

  it('random frames and random byte streams', () => {
    const r = rng(SEED + 2);
    let iterations = 0;
    for (let i = 0; i < 2000; i++) {
      const ci = r.next() < 0.8 ? [0x72, 0x73, 0x76, 0x77, 0x78, 0x7a, 0x70][r.int(7)] : r.int(256);
      const data = r.bytes(1 + r.int(252));
      // Random data behind a plausible header: start from a real header now and then.
      if (ci === 0x72 && r.next() < 0.5) data.set([0x78, 0x56, 0x34, 0x12, 0x24, 0x40, 0x01, 0x07, 0x55, 0x00, 0x00, 0x00].slice(0, data.length));
      const bytes = encodeFrame({ kind: 'long', control: 0x08, address: r.int(256), ci, data });
      classifyTelegram(bytes);
      if (ci === 0x73 || ci === 0x77) classifyFixed(data, ci);
      try {
        decodeSelection(data.subarray(0, r.next() < 0.5 ? 8 : 14));
      } catch (e) {
        expect(e).toBeInstanceOf(MbusAddressError);
      }
      const noise = r.bytes(r.int(300));
      classifyFrame(noise);
      const stream = Uint8Array.from([...noise, ...bytes, ...r.bytes(r.int(20))]);
      streamOnce(r, stream);
      iterations++;
    }
    expect(iterations).toBe(2000);
  });
});
