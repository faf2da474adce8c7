/**
 * Readiness: is this head-end able to do its work right now? Each part (database, broker, jobs) is
 * checked with a short bound; the report names every failing part and why, so a 503 from a probe
 * says what to look at. Liveness is separate (live.ts): a head-end whose database is away is not
 * ready, but restarting it would not help — it reconnects by itself.
 */
import { z } from 'zod';
import type { Queryable } from '../db/types.js';
import { within } from '../util/within.js';

export const PartState = z.object({
  ok: z.boolean(),
  /** Why the part is not ready (absent when ok). */
  error: z.string().optional(),
});

export const ReadinessReport = z.object({
  ok: z.boolean(),
  /** Names of the failing parts, e.g. ["database"]; empty when ready. */
  failing: z.array(z.string()),
  parts: z.record(z.string(), PartState),
});
export type ReadinessReport = z.infer<typeof ReadinessReport>;

/** One part: resolves when ready, throws (or rejects) with the reason when not. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<void> | void;
}

/** Runs every check at once, each bounded by `timeoutMs`; never rejects. */
export async function checkReadiness(checks: ReadinessCheck[], timeoutMs: number): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async (c) => {
      try {
        await within(Promise.resolve().then(c.check), timeoutMs, c.name);
        return [c.name, { ok: true }] as const;
      } catch (e) {
        return [c.name, { ok: false, error: (e as Error).message }] as const;
      }
    }),
  );
  const failing = results.filter(([, s]) => !s.ok).map(([n]) => n);
  return { ok: failing.length === 0, failing, parts: Object.fromEntries(results) };
}

/**
 * The database part: a short query. Probes never pile up behind a database that does not answer:
 * while one query is in flight, later probes wait for that one (a black-holed server would otherwise
 * leave one waiting query per probe in the pool).
 */
export function databaseCheck(db: Queryable): ReadinessCheck {
  let inFlight: Promise<void> | null = null;
  return {
    name: 'database',
    check: () => {
      inFlight ??= db.query('SELECT 1').then(
        () => { inFlight = null; },
        (e: Error) => { inFlight = null; throw new Error(`database unreachable: ${e.message}`); },
      );
      return inFlight;
    },
  };
}
