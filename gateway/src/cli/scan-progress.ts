/**
 * `amr-gateway scan` with a pulse: an empty M-Bus primary scan at 2400 Bd takes minutes of
 * timeouts, and a silent terminal looks hung. The scan is driven one address at a time so the CLI
 * knows exactly where it is, and a line goes to stderr at least once a second: address n of N,
 * found so far, elapsed and an estimate of what is left. The secondary search is a tree walk of
 * unknown size; it reports which of the ten top-level branches it is in instead.
 */
import type { BusDriver, ScanHit } from '../drivers/types.js';

export interface ScanState {
  mode: 'primary' | 'secondary' | 'ids';
  /** Addresses (or top-level branches of a secondary search) finished. */
  done: number;
  total: number;
  /** Address being probed (primary / ids). */
  current: number | null;
  found: number;
  /** Probes sent (secondary search). */
  probes: number;
  elapsedMs: number;
}

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** One progress line. Pure. The estimate is the mean time per finished unit times those left. */
export function scanProgressLine(st: ScanState): string {
  const left = st.done > 0 ? seconds((st.elapsedMs / st.done) * (st.total - st.done)) : 'unknown yet';
  if (st.mode === 'secondary')
    return `scan: secondary search, branch ${Math.min(st.done + 1, st.total)} of ${st.total}, ${st.probes} probes, found ${st.found}, elapsed ${seconds(st.elapsedMs)}, about ${left} left`;
  const n = st.current === null ? st.done : st.done + 1;
  return `scan: address ${st.current ?? '-'} (${Math.min(n, st.total)} of ${st.total}), found ${st.found}, elapsed ${seconds(st.elapsedMs)}, about ${left} left`;
}

/** Top-level pattern of a secondary search probe ("3FFFFFFF…: none") → its digit. */
function topBranch(msg: string): number | null {
  const m = /^(\d)FFFFFFF\b.*: (none|ack|collision)$/.exec(msg);
  return m ? Number(m[1]) : null;
}

export async function scanWithProgress(
  driver: BusDriver,
  opts: { mode: 'primary' | 'secondary' | 'ids'; from?: number; to?: number },
  out: (line: string) => void,
  now: () => number = Date.now,
  tickMs = 1000,
): Promise<ScanHit[]> {
  const scan = driver.scan!.bind(driver);
  const started = now();
  const from = opts.from ?? (opts.mode === 'ids' ? 1 : 0);
  const to = opts.to ?? (opts.mode === 'ids' ? 247 : 250);
  const st: ScanState = { mode: opts.mode, done: 0, total: opts.mode === 'secondary' ? 10 : Math.max(0, to - from + 1), current: null, found: 0, probes: 0, elapsedMs: 0 };
  const tick = () => out(scanProgressLine({ ...st, elapsedMs: now() - started }));
  tick();
  const timer = setInterval(tick, tickMs);
  const hits: ScanHit[] = [];
  try {
    if (opts.mode === 'secondary') {
      hits.push(
        ...(await scan({ mode: 'secondary' }, (msg) => {
          const b = topBranch(msg);
          if (b !== null) st.done = b; // branch b started: 0…b-1 are finished
          if (/: (none|ack|collision)$/.test(msg)) st.probes++;
          else out(msg); // finds and failures, not every probe
          if (msg.startsWith('found ')) st.found++;
        })),
      );
      st.done = st.total;
    } else {
      for (let a = from; a <= to; a++) {
        st.current = a;
        const h = await scan({ mode: opts.mode, from: a, to: a }, out);
        hits.push(...h);
        st.found += h.length;
        st.done++;
      }
      st.current = null;
    }
  } finally {
    clearInterval(timer);
  }
  out(`scan: done, ${st.mode === 'secondary' ? `${st.probes} probes` : `${st.total} addresses`}, found ${st.found} in ${seconds(now() - started)}`);
  return hits;
}
