#!/usr/bin/env node
/**
 * The soak's curve and verdict from its RSS samples (soak.bench.mjs prints them at the end; run alone,
 * `node headend/bench/soak-verdict.mjs <log>` derives them again from the sample lines of a soak's log).
 *
 * Why the verdict is not max/min: V8 lets its old generation fill before a major collection, so the
 * RSS of a process that keeps nothing rises and drops by tens of MB (a sawtooth; deepest when the
 * machine is busy and collections come late). A leak is a level that keeps rising, so the verdict
 * compares levels: the median of the first 5 minutes after warm-up against the median of the last 5,
 * with the least-squares slope beside it; the range (max − min) / min is printed too.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

/** Least-squares slope of ys over the samples' minutes, per minute. */
function slope(samples, ys) {
  const xs = samples.map((s) => s.min);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  return xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
}

/** @param {{ min: number, rss: number, heapUsed: number }[]} samples minutes since start, MB */
export function printCurveAndVerdict(engine, samples, warmupMin, soakMin, print = console.log) {
  print(`\ncurve [${engine}] (minute → RSS MB / heap used MB):`);
  for (let m = 0; m <= Math.floor(warmupMin + soakMin); m++) {
    const s = samples.reduce((a, b) => (Math.abs(b.min - m) < Math.abs(a.min - m) ? b : a));
    print(`  ${String(m).padStart(3)}  ${s.rss.toFixed(0).padStart(5)}  ${s.heapUsed.toFixed(0).padStart(4)}${m === warmupMin ? '   ← end of warm-up' : ''}`);
  }
  const after = samples.filter((s) => s.min >= warmupMin);
  const rss = after.map((s) => s.rss);
  const lo = Math.min(...rss);
  const hi = Math.max(...rss);
  const end = warmupMin + soakMin;
  const first = median(after.filter((s) => s.min < warmupMin + 5).map((s) => s.rss));
  const last = median(after.filter((s) => s.min >= end - 5).map((s) => s.rss));
  const growth = ((last - first) / first) * 100;
  const flat = growth <= 10;
  print(`\nsoak [${engine}] after warm-up (${after.length} samples over ${soakMin} min): RSS min ${lo.toFixed(0)} MB, max ${hi.toFixed(0)} MB, range ${(((hi - lo) / lo) * 100).toFixed(1)} %; ` +
    `median of the first 5 min ${first.toFixed(0)} MB → of the last 5 min ${last.toFixed(0)} MB: growth ${growth.toFixed(1)} %; slope ${(slope(after, rss) * 10).toFixed(1)} MB per 10 min; ` +
    `heap used slope ${(slope(after, after.map((s) => s.heapUsed)) * 10).toFixed(1)} MB per 10 min`);
  print(`soak [${engine}] verdict: ${flat ? 'flat' : 'GROWING'} (RSS level within 10 % after warm-up: ${flat ? 'yes' : 'no'})`);
  return { lo, hi, first, last, growth, flat };
}

/** The samples of a soak's log: "  12.25 min  RSS   207 MB  heap used   81 MB …". */
export function samplesFromLog(text) {
  return [...text.matchAll(/^\s*([\d.]+) min\s+RSS\s+(\d+) MB\s+heap used\s+(\d+) MB/gm)].map((m) => ({ min: Number(m[1]), rss: Number(m[2]), heapUsed: Number(m[3]) }));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: soak-verdict.mjs <soak log> [warm-up minutes (3)] [soak minutes (30)]');
  const text = readFileSync(file, 'utf8');
  const engine = /soak \[(\w+)\]/.exec(text)?.[1] ?? '?';
  printCurveAndVerdict(engine, samplesFromLog(text), Number(process.argv[3] ?? 3), Number(process.argv[4] ?? 30));
}
