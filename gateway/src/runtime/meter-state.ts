/**
 * Per-meter poll state that must outlive a restart: when the meter last answered and last failed,
 * its failures in a row, and since when it is silent. Kept in `bufferDir/meter-state.json` so that
 * a meter silent before a restart (a power cut, a watchdog restart, an update) and answering after
 * it still yields `meter_back` — the head-end clears its alarm on that event — and a meter already
 * reported silent is not reported again.
 *
 * It also keeps, per kind of stored value (due date, month end), the newest record already put in
 * the outbox, so that a meter's due-date value is published once per new due date, not at every
 * poll nor again after a restart (a republish would be harmless — the head-end stores one row —
 * but a month's twelve stored values at every poll are not).
 *
 * The transitions are pure functions; the store does the file: written atomically (temporary file,
 * fsync, rename) at once when a meter changes state, and routine "answered again" times at most
 * every `flushMs` (an SD card need not take a write per poll).
 */
import { existsSync, readFileSync } from 'node:fs';
import { replaceFileDurably } from './durable-file.js';
import { z } from 'zod';
import type { StoredValues } from '../drivers/types.js';

export const MeterHealth = z.object({
  lastSuccessAt: z.string().nullable(),
  lastFailedAt: z.string().nullable(),
  consecutiveFailures: z.number().int().min(0),
  silentSince: z.string().nullable(),
  /** Per stored-value kind, the newest record (meter-clock time) in the outbox. Absent in files of older gateways. */
  archives: z.record(z.string(), z.string()).optional(),
  /** M-Bus history telegram: the meter-clock month (YYYY-MM) of the last complete readout. Absent: never read. */
  historyMonth: z.string().optional(),
  /** A gap asked for a history readout not yet done (a failed one is tried again at the next poll). */
  historyWanted: z.boolean().optional(),
});
export type MeterHealth = z.infer<typeof MeterHealth>;

export const MeterStateFile = z.object({ v: z.literal(1), meters: z.record(z.string(), MeterHealth) });
export type MeterStateFile = z.infer<typeof MeterStateFile>;

const EMPTY: MeterHealth = { lastSuccessAt: null, lastFailedAt: null, consecutiveFailures: 0, silentSince: null };

/** A meter answered at `at`. `back`: it was silent (maybe before a restart) — raise meter_back. */
export function afterSuccess(s: MeterHealth | undefined, at: string): { next: MeterHealth; back: { silentSince: string; failures: number } | null } {
  const prev = s ?? EMPTY;
  const back = prev.silentSince !== null ? { silentSince: prev.silentSince, failures: prev.consecutiveFailures } : null;
  return { next: { ...prev, lastSuccessAt: at, consecutiveFailures: 0, silentSince: null }, back };
}

/** A poll failed at `at`. `silentNow`: this failure made it silent (the `silentAfter`-th in a row) — raise meter_silent. */
export function afterFailure(s: MeterHealth | undefined, at: string, silentAfter: number): { next: MeterHealth; silentNow: boolean } {
  const prev = s ?? EMPTY;
  const consecutiveFailures = prev.consecutiveFailures + 1;
  const silentNow = prev.silentSince === null && consecutiveFailures >= silentAfter;
  return { next: { ...prev, lastFailedAt: at, consecutiveFailures, silentSince: silentNow ? at : prev.silentSince }, silentNow };
}

/** The stored values of a read not yet published: newer than the newest of their kind in the outbox. */
export function unpublishedArchives(s: MeterHealth | undefined, archives: readonly StoredValues[]): StoredValues[] {
  return archives.filter((a) => a.record > (s?.archives?.[a.kind] ?? ''));
}

/** The state after `published` went into the outbox: each kind's newest record remembered. */
export function afterArchives(s: MeterHealth | undefined, published: readonly StoredValues[]): MeterHealth {
  const prev = s ?? EMPTY;
  const archives = { ...prev.archives };
  for (const a of published) if (a.record > (archives[a.kind] ?? '')) archives[a.kind] = a.record;
  return { ...prev, archives };
}

/**
 * Why a meter's history telegram (profile.history) is to be read after this successful poll, or null:
 * never read yet; a gap asked for it and it is not done; a gap now (the previous success older than
 * `gapMs`); or a month end passed since the last readout (`month`, the meter clock's YYYY-MM, is later).
 */
export function historyDue(s: MeterHealth | undefined, lastSuccessAt: string | null, nowMs: number, gapMs: number, month: string): 'first' | 'gap' | 'month_end' | null {
  if (s?.historyMonth === undefined) return 'first';
  if (s.historyWanted) return 'gap';
  if (lastSuccessAt !== null && nowMs - Date.parse(lastSuccessAt) > gapMs) return 'gap';
  if (month > s.historyMonth) return 'month_end';
  return null;
}

export class MeterStateStore {
  private meters: Record<string, MeterHealth> = {};
  private timer: NodeJS.Timeout | null = null;
  /** Why the file could not be read (it is then started afresh); for the caller to log. */
  readonly loadProblem: string | null = null;

  constructor(
    private readonly file: string,
    /** Meters in the config: state of meters no longer configured is dropped. */
    meterIds: readonly string[],
    private readonly flushMs = 30_000,
  ) {
    if (existsSync(file)) {
      try {
        const parsed = MeterStateFile.parse(JSON.parse(readFileSync(file, 'utf8')));
        for (const id of meterIds) if (parsed.meters[id]) this.meters[id] = parsed.meters[id];
      } catch (e) {
        // A damaged file costs only the meter_back of meters silent before the restart; never the start.
        this.loadProblem = `${file}: ${(e as Error).message.slice(0, 200)}; starting with no per-meter state`;
      }
    }
  }

  get(id: string): MeterHealth | undefined {
    return this.meters[id];
  }

  silent(): string[] {
    return Object.entries(this.meters)
      .filter(([, s]) => s.silentSince !== null)
      .map(([id]) => id);
  }

  /** `now`: the change matters after a restart (failures, silence) — written at once; else within flushMs. */
  set(id: string, s: MeterHealth, now: boolean): void {
    this.meters[id] = s;
    if (now) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.flushMs).unref();
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    replaceFileDurably(this.file, JSON.stringify({ v: 1, meters: this.meters } satisfies MeterStateFile));
  }
}
