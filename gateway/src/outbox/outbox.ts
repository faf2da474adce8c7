/**
 * The store-and-forward outbox: every reading is written here (with its per-gateway sequence
 * number) before anything tries to publish it, and leaves only when the broker has PUBACKed it.
 *
 * Size policy (documented in gateway/README.md):
 * - below `nearFull` × max: everything is accepted;
 * - at/above `nearFull`: `outbox_near_full` event once, and polls of `priority: low` meters are
 *   refused (counted as missed) so the space left goes to the meters that matter;
 * - at/above max: `outbox_full` event once, and every new poll is refused (counted as missed).
 * Nothing already accepted is ever dropped: meters keep their cumulative registers, so a refused
 * poll loses only instantaneous values, and the next poll after the outage recovers the register.
 */
import { EventEmitter } from 'node:events';
import type { MeterReading } from '@amr/protocols';
import { Journal, type JournalOpenReport } from './journal.js';

export type PendingReading = Omit<MeterReading, 'seq'>;
export type OutboxLevel = 'ok' | 'near_full' | 'full';

export interface OutboxOptions {
  dir: string;
  maxBytes: number;
  nearFull: number;
  segmentBytes?: number;
}

export interface OutboxEvents {
  level: [level: OutboxLevel, pendingBytes: number];
  appended: [count: number];
}

export class Outbox extends EventEmitter<OutboxEvents> {
  private readonly journal: Journal;
  private levelV: OutboxLevel = 'ok';
  refused = 0;

  constructor(readonly opts: OutboxOptions) {
    super();
    this.journal = new Journal(opts.dir, opts.segmentBytes);
  }

  open(): JournalOpenReport {
    const r = this.journal.open();
    this.updateLevel();
    return r;
  }

  /** Whether a poll of this priority may run now (see the size policy above). */
  accepts(priority: 'normal' | 'low'): boolean {
    if (this.levelV === 'full') return false;
    if (this.levelV === 'near_full' && priority === 'low') return false;
    return true;
  }

  /** Stores readings durably and returns them with their sequence numbers. */
  append(readings: PendingReading[]): MeterReading[] {
    if (readings.length === 0) return [];
    const out: MeterReading[] = [];
    this.journal.append(readings, (r, seq) => {
      const full = { ...r, seq };
      out.push(full);
      return Buffer.from(JSON.stringify(full));
    });
    this.updateLevel();
    this.emit('appended', out.length);
    return out;
  }

  peek(n: number): MeterReading[] {
    return this.journal.peek(n).map((e) => JSON.parse(e.body.toString('utf8')) as MeterReading);
  }

  ack(seq: number): void {
    this.journal.ack(seq);
    this.updateLevel();
  }

  private updateLevel(): void {
    const b = this.journal.pendingBytes;
    const lvl: OutboxLevel = b >= this.opts.maxBytes ? 'full' : b >= this.opts.maxBytes * this.opts.nearFull ? 'near_full' : 'ok';
    if (lvl !== this.levelV) {
      this.levelV = lvl;
      this.emit('level', lvl, b);
    }
  }

  get level(): OutboxLevel {
    return this.levelV;
  }
  get depth(): number {
    return this.journal.pending;
  }
  get pendingBytes(): number {
    return this.journal.pendingBytes;
  }
  get ackedSeq(): number {
    return this.journal.lastAcked;
  }
  get nextSeq(): number {
    return this.journal.next;
  }
  get corruptRecords(): number {
    return this.journal.corruptRecords;
  }
  close(): void {
    this.journal.close();
  }
}
