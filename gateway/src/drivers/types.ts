/**
 * What every bus driver offers the poller: open/close a line, one read of one meter, and
 * (where the protocol has it) a scan. Errors are typed so the poller can set quality flags
 * and choose whether a retry makes sense.
 */
import type { QualityFlag, ReadingValue } from '@amr/protocols';
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
}
