/**
 * Liveness: the process answers and its event loop turns. A heartbeat timer notes when it last ran;
 * if it is overdue by far, the loop was wedged (a synchronous hot loop, a blocked call) and the
 * orchestrator should restart the process. An outage of the database or Redis does not count: the
 * head-end rides those out by itself (readiness reports them).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface Liveness {
  state(): { ok: boolean; heartbeatAgeMs: number; eventLoopDelayP99Ms: number };
  stop(): void;
}

export function startLiveness(opts: { beatMs?: number; wedgedAfterMs?: number; now?: () => number } = {}): Liveness {
  const beatMs = opts.beatMs ?? 1000;
  const wedgedAfterMs = opts.wedgedAfterMs ?? 10_000;
  const now = opts.now ?? Date.now;
  let last = now();
  const beat = setInterval(() => (last = now()), beatMs);
  beat.unref();
  const delay = monitorEventLoopDelay({ resolution: 20 });
  delay.enable();
  return {
    state() {
      const age = now() - last;
      return { ok: age < wedgedAfterMs, heartbeatAgeMs: age, eventLoopDelayP99Ms: Math.round(delay.percentile(99) / 1e6) };
    },
    stop() {
      clearInterval(beat);
      delay.disable();
    },
  };
}
