/**
 * Back-fill from a meter's own archive: a gateway that was off (power cut in the basement, dead SIM,
 * a line down) finds, at the first successful poll afterwards, its last success older than one poll
 * interval plus slack. The hours in between are then read from the meter's hourly archive, and the
 * meter-local days from the one holding the last success from its daily archive, and published as
 * readings of their own (`archive` set, each value at the record's instant; a daily record's under
 * the day names, archiveQuantity). Which archives: `backfill.archives` in the meter's config, by
 * default every one the register map has. Hourly records first (the imbalance needs them), then
 * daily; the head-end's monthly statement prefers a day's daily record to its hours summed.
 *
 * A job is a cursor per meter and archive: `next` is the start of the next record to publish, `until`
 * the end of the gap. Jobs are persisted (`bufferDir/backfill.json`; the hourly one under the meter
 * id, as before daily jobs existed, the daily one under `<id>#daily`) before the first record is
 * read and after every record is in the outbox, so a crash mid-way resumes at the record it had not
 * finished. At worst that one record is read and published again, and the archive does not change
 * once written: the same value again, which the head-end stores once. The records of a job are read
 * only once their interval is over; a gap ending mid-hour (mid-day) keeps its job until that hour's
 * (day's) record exists. Meters keep a fixed UTC offset (no summer time), so a day is always 24 h.
 *
 * Routine reading (`backfill.routine`, by default the daily archive): a gateway that never misses a
 * poll would otherwise never read a daily record, and the statement would fall back to summed hours.
 * For such an archive the job is kept open for good — a cursor that only moves forward — and every
 * successful poll stretches it to the end of the meter-local record under way (routineJob): after
 * each meter-local midnight the finished day's record becomes due and is read once, by the same
 * cursor as a gap's. The cursor is never deleted, so a restart neither reads a day again nor misses one.
 *
 * The planning and the reading's shape are pure; the store does the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { replaceFileDurably } from './durable-file.js';
import { z } from 'zod';
import { archiveQuantity, type ArchiveKind, type ArchiveRecord, type MeterClock, type ReadingValue, type RegisterMap } from '@amr/protocols';
import type { ResolvedBus, ResolvedMeter } from '../config/resolve.js';
import type { PendingReading } from '../outbox/outbox.js';
import { registerValue } from '../drivers/modbus.js';
import { meterRef } from './reading.js';

export const BackfillJob = z.object({
  kind: z.enum(['hourly', 'daily']),
  /** UTC start of the next record to publish. */
  next: z.string(),
  /** Records starting before this instant (UTC) belong to the gap. */
  until: z.string(),
});
export type BackfillJob = z.infer<typeof BackfillJob>;

export const BackfillFile = z.object({ v: z.literal(1), jobs: z.record(z.string(), BackfillJob) });

export interface BackfillSettings {
  interval: number;
  utcOffsetMinutes: number;
  maxAge: number;
  slack: number;
}

/** Start (UTC ms) of the meter-local record containing `tMs` (the meter's hours and days are its local ones). */
export function recordStartOf(tMs: number, recordMs: number, utcOffsetMinutes: number): number {
  const off = utcOffsetMinutes * 60_000;
  return Math.floor((tMs + off) / recordMs) * recordMs - off;
}

/** The meter's wall clock at UTC `tMs`. */
export function meterClockAt(tMs: number, utcOffsetMinutes: number): MeterClock {
  const d = new Date(tMs + utcOffsetMinutes * 60_000);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
}

/** UTC instant of a meter-clock ISO time ("2026-01-15T13:00:00"). */
export function utcOfMeterTime(iso: string, utcOffsetMinutes: number): number {
  return Date.parse(`${iso}Z`) - utcOffsetMinutes * 60_000;
}

/**
 * Whether a successful poll at `nowMs` ends a gap: the last success is older than one interval plus
 * the slack. Never polled before (or an unreadable time): no gap is known.
 */
export function endsGap(lastSuccessAt: string | null, nowMs: number, s: Pick<BackfillSettings, 'interval' | 'slack'>): boolean {
  const last = lastSuccessAt === null ? Number.NaN : Date.parse(lastSuccessAt);
  return Number.isFinite(last) && nowMs - last > s.interval + s.slack;
}

/**
 * The job of archive `kind` (records `recordMs` long) a successful poll at `nowMs` opens, or null when
 * there was no gap: the records from the one holding the last success up to now, never older than
 * `maxAge` (the first whole record within it). A job still open (an earlier gap not finished) is
 * extended, never moved forward: its unpublished records stay wanted.
 */
export function gapJob(lastSuccessAt: string | null, nowMs: number, s: BackfillSettings, recordMs: number, open?: BackfillJob, kind: ArchiveKind = 'hourly'): BackfillJob | null {
  if (!endsGap(lastSuccessAt, nowMs, s)) return open ?? null;
  const last = Date.parse(lastSuccessAt!);
  const floor = recordStartOf(nowMs - s.maxAge, recordMs, s.utcOffsetMinutes) + recordMs;
  const from = Math.max(recordStartOf(last, recordMs, s.utcOffsetMinutes), floor);
  if (from >= nowMs) return open ?? null;
  const job: BackfillJob = { kind, next: new Date(from).toISOString(), until: new Date(nowMs).toISOString() };
  if (!open) return job;
  return {
    kind: job.kind,
    next: new Date(Math.max(Math.min(Date.parse(open.next), from), floor)).toISOString(),
    until: new Date(Math.max(Date.parse(open.until), nowMs)).toISOString(),
  };
}

/**
 * The job of an archive read routinely, after `gapJob` (whose job, if any, is `job`): the open job
 * stretched to the end of the meter-local record under way at `nowMs` (so it is rewritten once per
 * record, not at every poll), or, with none open (the first poll ever, or a file from before routine
 * reading), a new one from the record holding the last success — or holding now, when the meter was
 * never polled: earlier records are a gap's business, and no gap is known.
 */
export function routineJob(job: BackfillJob | null, lastSuccessAt: string | null, nowMs: number, utcOffsetMinutes: number, recordMs: number, kind: ArchiveKind): BackfillJob {
  const end = recordStartOf(nowMs, recordMs, utcOffsetMinutes) + recordMs;
  if (job) return Date.parse(job.until) >= end ? job : { ...job, until: new Date(end).toISOString() };
  const last = lastSuccessAt === null ? Number.NaN : Date.parse(lastSuccessAt);
  const from = recordStartOf(Number.isFinite(last) && last <= nowMs ? last : nowMs, recordMs, utcOffsetMinutes);
  return { kind, next: new Date(from).toISOString(), until: new Date(end).toISOString() };
}

/** The archives of `kinds` read routinely: those `backfill.routine` names, by default the daily one. */
export function routineKinds(routine: readonly string[] | undefined, kinds: readonly ArchiveKind[]): ArchiveKind[] {
  return kinds.filter((k) => (routine ?? ['daily']).includes(k));
}

/** The record starts (UTC ms) of `job` that can be read at `nowMs` (their interval is over), in order. */
export function dueRecords(job: BackfillJob, nowMs: number, recordMs: number): number[] {
  const out: number[] = [];
  for (let t = Date.parse(job.next); t < Date.parse(job.until) && t + recordMs <= nowMs; t += recordMs) out.push(t);
  return out;
}

/** The archives of the map in the order they are back-filled (hourly first: the imbalance needs them). */
export const ARCHIVE_ORDER: readonly ArchiveKind[] = ['hourly', 'daily'];

/** The archives a meter back-fills: those its config names, else every one its register map has. */
export function backfillKinds(wanted: readonly string[] | undefined, map: RegisterMap): ArchiveKind[] {
  const kinds = map.archives?.kinds ?? {};
  return ARCHIVE_ORDER.filter((k) => k in kinds && (wanted === undefined || wanted.includes(k)));
}

/** The store key of a meter's job: the hourly one under the meter id (files from before daily jobs load as they were). */
export const jobKey = (meterId: string, kind: ArchiveKind): string => (kind === 'hourly' ? meterId : `${meterId}#${kind}`);

/** Whether every record of the job is published. */
export const jobDone = (job: BackfillJob): boolean => Date.parse(job.next) >= Date.parse(job.until);

/** The НС word for the record's codes (an unnamed bit comes back as `bit<n>`). */
function nsWord(map: RegisterMap, codes: readonly string[]): number {
  let w = 0;
  for (const c of codes) {
    const bit = map.nsCodes?.find((n) => n.code === c)?.bit ?? (/^bit(\d+)$/.exec(c) ? Number(c.slice(3)) : undefined);
    if (bit !== undefined) w |= 1 << bit;
  }
  return w;
}

/**
 * One archive record as a reading: every value at the record's instant (UTC of its own timestamp)
 * with the 'archive' flag; the record's amounts and means, its Тр and Тнс and its НС word under the
 * quantities the map names them (`error_flags_interval` for the word), a daily record's under the
 * contract's day names (archiveQuantity). An НС in the interval flags the reading
 * `meter_error` (heat is not counted for that time), and its codes travel in `archive.nsCodes`.
 */
export function archiveReading(m: ResolvedMeter, bus: ResolvedBus, map: RegisterMap, rec: ArchiveRecord, utcOffsetMinutes: number, gatewayTime: Date): PendingReading {
  const time = new Date(utcOfMeterTime(rec.time, utcOffsetMinutes)).toISOString();
  const spec = map.archives!.record;
  const units = new Map(spec.values.map((f) => [f.name, f.unit]));
  // The record's kind names its quantities (archiveQuantity): a daily record, the hourly one at the
  // same midnight and a live poll at the record's instant never share a readings key.
  const name = (n: string) => archiveQuantity(n, rec.kind);
  const at = (v: ReadingValue): ReadingValue => ({ ...v, quantity: name(v.quantity), time, quality: [...v.quality, 'archive'] });
  const values: ReadingValue[] = [
    ...Object.entries(rec.values).map(([n, v]) => at(registerValue(n, v, units.get(n) ?? ''))),
    at({ quantity: spec.workingTime.name, value: rec.workingSeconds, unit: 's', quality: [] }),
    at({ quantity: spec.nsTime.name, value: rec.nsSeconds, unit: 's', quality: [] }),
    at({ quantity: spec.nsFlags?.name ?? 'error_flags_interval', value: nsWord(map, rec.nsCodes), unit: 'flags', quality: [] }),
  ];
  return {
    meter: meterRef(m, bus),
    gatewayTime: gatewayTime.toISOString(),
    quality: rec.nsCodes.length > 0 ? ['archive', 'meter_error'] : ['archive'],
    values,
    archive: { kind: rec.kind, record: rec.time, stamp: rec.stamp, seconds: rec.seconds, nsCodes: rec.nsCodes.slice(0, 16) },
  };
}

/** The meter clock to select the record starting at UTC `startMs` (a record stamped at its end is asked for by its end). */
export function selectClock(startMs: number, recordMs: number, stamp: 'start' | 'end', utcOffsetMinutes: number): MeterClock {
  const c = meterClockAt(stamp === 'start' ? startMs : startMs + recordMs, utcOffsetMinutes);
  return { ...c, minute: 0, second: 0 };
}

/** The jobs, kept in a file written atomically (temporary file, fsync, rename) at every change. */
export class BackfillStore {
  private jobs: Record<string, BackfillJob> = {};
  readonly loadProblem: string | null = null;

  constructor(private readonly file: string, meterIds: readonly string[]) {
    if (!existsSync(file)) return;
    try {
      const parsed = BackfillFile.parse(JSON.parse(readFileSync(file, 'utf8')));
      for (const id of meterIds)
        for (const kind of ARCHIVE_ORDER) {
          const job = parsed.jobs[jobKey(id, kind)];
          // A job under another archive's key (a hand-edited file) would read the wrong records: dropped.
          if (job && job.kind === kind) this.jobs[jobKey(id, kind)] = job;
        }
    } catch (e) {
      // A damaged file loses the unfinished back-fills (the gap stays a gap); never the start.
      this.loadProblem = `${file}: ${(e as Error).message.slice(0, 200)}; unfinished back-fills forgotten`;
    }
  }

  get(meterId: string, kind: ArchiveKind = 'hourly'): BackfillJob | undefined {
    return this.jobs[jobKey(meterId, kind)];
  }

  set(meterId: string, kind: ArchiveKind, job: BackfillJob | null): void {
    const key = jobKey(meterId, kind);
    if (job) this.jobs[key] = job;
    else delete this.jobs[key];
    replaceFileDurably(this.file, JSON.stringify({ v: 1, jobs: this.jobs }));
  }
}
