#!/usr/bin/env node
/**
 * M-Bus decoding throughput over the libmbus corpus (not a test: it prints figures).
 * Runs against the built dist/ (`npm run bench -w @amr/protocols` builds first), so it measures
 * what the gateway and head-end actually execute.
 *
 *   telegrams/s  — decodeFrame + application decoder (decodeTelegram, or the fixed-structure
 *                  decoder for CI 0x73/0x77) over every telegram in frames/, error-frames/,
 *                  unsupported-frames/; errors are counted, not skipped
 *   frames/s     — decodeFrame alone, to separate link-layer cost from application decoding
 *   stream MB/s  — MbusStreamParser over the whole corpus concatenated, fed in 64-byte chunks
 *
 * Options: --seconds N (per measurement, default 3), --corpus DIR.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { decodeFrame, decodeTelegram, MbusStreamParser } from '../dist/index.js';
import { decodeFixedDataStructure } from '../dist/mbus/app/fixed.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    corpus: { type: 'string', default: fileURLToPath(new URL('../../../shared/testdata/mbus/libmbus/', import.meta.url)) },
  },
});
const seconds = Number(values.seconds);
if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, got "${values.seconds}"`);
const root = values.corpus;

const telegrams = [];
for (const folder of ['frames', 'error-frames', 'unsupported-frames']) {
  const dir = join(root, folder);
  if (!existsSync(dir)) throw new Error(`M-Bus corpus folder missing: ${dir}`);
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.hex')).sort()) {
    const hex = readFileSync(join(dir, name), 'utf8').replace(/\s+/g, '');
    telegrams.push({ name: `${folder}/${name}`, bytes: Uint8Array.from(Buffer.from(hex, 'hex')) });
  }
}
if (telegrams.length === 0) throw new Error(`no .hex telegrams under ${root}`);

function decodeOne(bytes) {
  const frame = decodeFrame(bytes);
  if (frame.kind !== 'long') return frame;
  if (frame.ci === 0x73 || frame.ci === 0x77) return decodeFixedDataStructure(frame.data, 0, frame.ci);
  return decodeTelegram({ ci: frame.ci, data: frame.data });
}

function measure(fn) {
  // Warm up (JIT), then run whole passes until the time is up.
  const warmUntil = performance.now() + Math.min(500, seconds * 200);
  while (performance.now() < warmUntil) fn();
  let passes = 0;
  const start = performance.now();
  let now = start;
  while (now - start < seconds * 1000) {
    fn();
    passes++;
    now = performance.now();
  }
  return { passes, ms: now - start };
}

let ok = 0;
let errors = 0;
const errorKinds = new Map();
for (const t of telegrams) {
  try {
    decodeOne(t.bytes);
    ok++;
  } catch (e) {
    errors++;
    const k = `${e?.name ?? 'Error'}:${e?.code ?? '?'}`;
    errorKinds.set(k, (errorKinds.get(k) ?? 0) + 1);
  }
}

const dec = measure(() => {
  for (const t of telegrams) {
    try {
      decodeOne(t.bytes);
    } catch {
      // counted above; the error path is part of the cost
    }
  }
});
const decoded = dec.passes * telegrams.length;
const perSec = decoded / (dec.ms / 1000);

const fr = measure(() => {
  for (const t of telegrams) {
    try {
      decodeFrame(t.bytes);
    } catch {
      // link-layer errors are part of the corpus
    }
  }
});
const framesPerSec = (fr.passes * telegrams.length) / (fr.ms / 1000);

const stream = Uint8Array.from(telegrams.flatMap((t) => [...t.bytes]));
const str = measure(() => {
  const p = new MbusStreamParser();
  for (let i = 0; i < stream.length; i += 64) p.push(stream.subarray(i, i + 64));
  p.flush();
});
const mbPerSec = (str.passes * stream.length) / (str.ms / 1000) / 1e6;

const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log(`M-Bus decode benchmark — node ${process.version}, ${seconds}s per measurement`);
console.log(`corpus: ${telegrams.length} telegrams (${ok} decoded, ${errors} typed errors${errorKinds.size ? ': ' + [...errorKinds].map(([k, n]) => `${k}×${n}`).join(', ') : ''})`);
console.log(`decode (frame + application layer): ${fmt(perSec)} telegrams/s  (${(1e6 / perSec).toFixed(2)} µs/telegram, ${fmt(decoded)} decoded)`);
console.log(`link layer only (decodeFrame):       ${fmt(framesPerSec)} frames/s`);
console.log(`stream parser (64-byte chunks):     ${mbPerSec.toFixed(1)} MB/s  (${fmt(str.passes)} passes over ${fmt(stream.length)} bytes)`);
