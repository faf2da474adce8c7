/**
 * What every bus driver offers the poller: open/close a line, one read of one meter, and
 * (where the protocol has it) a scan. Errors are typed so the poller can set quality flags
 * and choose whether a retry makes sense.
 */
import type { ArchiveKind, ArchiveRecord, MeterClock, QualityFlag, ReadingValue } from '@amr/protocols';
import type { ResolvedBus, ResolvedMeter } from '../config/resolve.js';

export class TimeoutError extends Error {
  override name = 'TimeoutError';
}
/** An answer began but the line fell silent before its length field said it was complete. */
export class IncompleteAnswerError extends TimeoutError {
  override name = 'IncompleteAnswerError';
}
export class ChecksumError extends Error {
  override name = 'ChecksumError';
}
export class CollisionError extends Error {
  override name = 'CollisionError';
}
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/**
 * Why a link (serial device, TCP converter) is gone: an OS error code, or what the line itself
 * reported — the port closed under us (`PORT_CLOSED`: USB pulled, pty hung up), the TCP peer ended
 * the connection (`PEER_ENDED`: its FIN, the 'end'/'close' event, whatever the next write says),
 * or the device could not be opened (`OPEN_FAILED` when the OS gave no code).
 */
export type LinkLossCode =
  | 'ENOENT' | 'EIO' | 'ENXIO' | 'ENODEV' | 'EBADF' | 'EACCES' | 'EBUSY' | 'EPIPE' | 'ECONNRESET' | 'ECONNREFUSED' | 'ETIMEDOUT'
  | 'EHOSTUNREACH' | 'ENETUNREACH' | 'ECONNABORTED' | 'PORT_CLOSED' | 'PEER_ENDED' | 'OPEN_FAILED' | 'ALL_METERS_TIMED_OUT';

const OS_LINK_CODES: ReadonlySet<string> = new Set<LinkLossCode>(['ENOENT', 'EIO', 'ENXIO', 'ENODEV', 'EBADF', 'EACCES', 'EBUSY', 'EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

/** The line to the bus is gone: the worker closes the driver and reopens it with back-off. */
export class LinkLostError extends Error {
  override name = 'LinkLostError';
  constructor(
    message: string,
    readonly code: LinkLossCode,
  ) {
    super(message);
  }
}

/** The OS error code (`code`) of an I/O error, if it has one. */
function osCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const c = (e as { code?: unknown }).code;
  return typeof c === 'string' ? c : undefined;
}

/**
 * Sorts an I/O failure by its error code, never by its message (messages differ between Node,
 * serialport, modbus-serial and libc versions): an already typed error stays as it is; an OS code
 * that means the device or peer is gone becomes a LinkLostError; serialport's `disconnected` flag
 * too. Anything else is passed on unchanged (one meter's trouble, not the line's).
 */
export function classifyIoError(e: unknown, where: string): Error {
  if (e instanceof LinkLostError || e instanceof TimeoutError || e instanceof ChecksumError || e instanceof CollisionError || e instanceof ProtocolError) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  const code = osCode(e);
  if (code !== undefined && OS_LINK_CODES.has(code)) return new LinkLostError(`${where}: ${err.message}`, code as LinkLossCode);
  if ((e as { disconnected?: unknown } | null)?.disconnected === true) return new LinkLostError(`${where}: ${err.message}`, 'PORT_CLOSED');
  return err;
}

/** One frame on the wire, as the raw telegram log keeps it. */
export interface RawFrame {
  dir: 'tx' | 'rx';
  hex: string;
}

/** One meter's answer, before the poller adds seq, gateway time and the meter reference. */
export interface MeterRead {
  values: ReadingValue[];
  meterTime?: string;
  quality: QualityFlag[];
  serial?: string;
  manufacturer?: string;
  /** Raw frames exchanged (for the raw telegram log). */
  frames?: RawFrame[];
  /** Stored register values the meter sent along (M-Bus storage numbers with a date; profiles/archives.ts). */
  archives?: StoredValues[];
  /** The M-Bus profile the read was decoded with (the one `auto` chose). */
  profile?: string;
}

/** A model's history telegram, read (M-Bus application select) and decoded into its stored values. */
export interface HistoryRead {
  archives: StoredValues[];
  frames: RawFrame[];
  serial?: string;
  manufacturer?: string;
  /** Set when the reset back to the normal telegram failed after a good readout: the next read resets first. */
  resetPending?: string;
}

/** A meter's registers as they stood at one of its stored dates (a due date, a month end). */
export interface StoredValues {
  kind: 'due_date' | 'month_end';
  storage: number;
  /** The date record as the meter sent it (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS`). */
  date: string;
  /** The instant the registers belong to, on the meter's clock (`YYYY-MM-DDTHH:MM:SS`). */
  record: string;
  values: ReadingValue[];
}

export interface ScanHit {
  address: string;
  serial?: string;
  manufacturer?: string;
  version?: number;
  medium?: string;
}

export type ScanProgress = (msg: string) => void;

export interface BusDriver {
  readonly bus: ResolvedBus;
  open(): Promise<void>;
  close(): Promise<void>;
  /** One transaction (no retries: the poller retries with back-off). */
  read(meter: ResolvedMeter, attempt: number): Promise<MeterRead>;
  scan?(opts: { mode: 'primary' | 'secondary' | 'ids'; from?: number; to?: number }, progress: ScanProgress): Promise<ScanHit[]>;
  /** One record of the meter's own archive (drivers of meters that keep one: Modbus maps with `archives`). */
  readArchive?(meter: ResolvedMeter, kind: ArchiveKind, at: MeterClock): Promise<{ record: ArchiveRecord; frames: RawFrame[] }>;
  /** The history telegram of the meter's model (`profile.history`): selected, read, and the meter always reset back to its normal telegram. */
  readHistory?(meter: ResolvedMeter, profile: string): Promise<HistoryRead>;
}
