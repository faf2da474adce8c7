/**
 * Bounded shutdown: named steps run one after another, each given at most its own bound and never
 * more than what is left of the overall deadline. A step that does not settle in time is abandoned
 * (what it holds is released by the process exit) and named, so a stuck shutdown says where it hung
 * instead of waiting forever — a field test saw SIGTERM wait over 10 minutes on an unreachable Redis.
 */

export interface ShutdownStep {
  /** Short name for logs: "broker", "ingest", "jobs", "http", "database", … */
  name: string;
  /** Longest this step may take, ms (capped by what is left of the deadline). */
  boundMs: number;
  run: () => Promise<void>;
}

export interface StepOutcome {
  name: string;
  outcome: 'done' | 'failed' | 'timed_out' | 'skipped';
  ms: number;
  error?: string;
}

export interface ShutdownReport {
  /** Every step settled within its bound (a step that failed fast still counts as settled). */
  clean: boolean;
  /** The step that used up the overall deadline, if one did. */
  stuck: string | null;
  steps: StepOutcome[];
}

export interface ShutdownOptions {
  deadlineMs: number;
  /** Called when a step starts (the CLI keeps it to name the step if the process must be cut). */
  onStep?: (name: string) => void;
  now?: () => number;
}

const TIMED_OUT = Symbol('timed out');

/** Runs `steps` in order within `deadlineMs`; never rejects. */
export async function runShutdown(steps: ShutdownStep[], opts: ShutdownOptions): Promise<ShutdownReport> {
  const now = opts.now ?? Date.now;
  const end = now() + opts.deadlineMs;
  const out: StepOutcome[] = [];
  let stuck: string | null = null;
  for (const step of steps) {
    const left = end - now();
    if (stuck !== null || left <= 0) {
      out.push({ name: step.name, outcome: 'skipped', ms: 0 });
      continue;
    }
    opts.onStep?.(step.name);
    const bound = Math.min(step.boundMs, left);
    const started = now();
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<typeof TIMED_OUT>((r) => (timer = setTimeout(() => r(TIMED_OUT), bound)));
    try {
      // Promise.resolve().then: a step that throws synchronously is a failed step, not a crash.
      const r = await Promise.race([Promise.resolve().then(step.run), limit]);
      const ms = now() - started;
      if (r === TIMED_OUT) {
        out.push({ name: step.name, outcome: 'timed_out', ms });
        // The bound was what was left of the deadline: nothing after this step can run.
        if (bound < step.boundMs) stuck = step.name;
      } else out.push({ name: step.name, outcome: 'done', ms });
    } catch (e) {
      out.push({ name: step.name, outcome: 'failed', ms: now() - started, error: (e as Error).message });
    } finally {
      clearTimeout(timer);
    }
  }
  return { clean: out.every((s) => s.outcome === 'done' || s.outcome === 'failed'), stuck, steps: out };
}
