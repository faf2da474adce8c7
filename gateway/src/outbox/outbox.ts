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
 *
 * When the disk itself refuses (ENOSPC, EDQUOT, EIO, EROFS… on an append, an ack, a compaction or a
 * read) nothing throws out of here: the outbox reports a storage fault (`storage` event, `problem`),
 * keeps accepted readings in memory in arrival order, without seqs, up to `memoryReadings` (then
 * polls are refused: `refusal` says `outbox_memory_full`), and tries the disk again on every append
 * and every `retryMs`. When it takes writes again the held readings are journaled first, in order,
 * and get their seqs then: a seq always names a reading on disk, so a crash meanwhile loses the
 * held readings but never makes a seq ambiguous. An ack that cannot be written holds in memory
 * (nothing is sent twice by this process) and is written later; a crash before that resends those
 * readings, which the head-end drops by (gateway, seq).
 */
import { EventEmitter } from 'node:events';
import type { MeterReading } from '@amr/protocols';
import { Journal, type CompactionStep, type JournalOpenReport } from './journal.js';

export type PendingReading = Omit<MeterReading, 'seq'>;
export type OutboxLevel = 'ok' | 'near_full' | 'full';
export type StorageOp = 'open' | 'append' | 'ack' | 'compact' | 'read';

export interface StorageFault {
  op: StorageOp;
  /** errno code (ENOSPC, EDQUOT, EIO, EROFS, …) or EUNKNOWN. */
  code: string;
  message: string;
}

export interface OutboxOptions {
  dir: string;
  maxBytes: number;
  nearFull: number;
  segmentBytes?: number;
  /** Acknowledged bytes allowed to stay on disk before they are compacted away (default 64 KiB). */
  compactBytes?: number;
  /** Readings held in memory while the disk refuses writes (default 10 000); beyond, polls are refused. */
  memoryReadings?: number;
  /** How often a failing disk is tried again (default 5 s). */
  retryMs?: number;
  onCompactionStep?: (step: CompactionStep) => void;
}

export interface OutboxEvents {
  level: [level: OutboxLevel, pendingBytes: number];
  appended: [count: number];
  /** The disk started failing (`fault`) or takes every write again (`null`). Once per change. */
  storage: [fault: StorageFault | null, held: number];
  /** Every failed disk operation (for a metric). */
  storageError: [op: StorageOp, code: string];
}

/** errno codes of a disk that is full or failing (as opposed to a configuration mistake). */
const DISK_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'ENOMEM', 'EFBIG']);

/** Readings journaled per write when held readings are flushed. */
const FLUSH_CHUNK = 500;

export class Outbox extends EventEmitter<OutboxEvents> {
  private readonly journal: Journal;
  private levelV: OutboxLevel = 'ok';
  private faultV: StorageFault | null = null;
  private readonly heldV: PendingReading[] = [];
  private retryTimer: NodeJS.Timeout | null = null;
  readonly memoryReadings: number;
  readonly retryMs: number;
  refused = 0;

  constructor(readonly opts: OutboxOptions) {
    super();
    this.journal = new Journal(opts.dir, { segmentBytes: opts.segmentBytes, compactBytes: opts.compactBytes, onCompactionStep: opts.onCompactionStep });
    this.memoryReadings = opts.memoryReadings ?? 10_000;
    this.retryMs = opts.retryMs ?? 5000;
  }

  /**
   * Reads the journal. A disk error (full, I/O) does not stop the gateway: the outbox starts with a
   * storage fault, holds readings in memory and opens the journal when the disk lets it. Anything
   * else (a damaged ack.json, no permission) throws with a message naming the file.
   */
  open(): JournalOpenReport {
    let r: JournalOpenReport;
    try {
      r = this.journal.open();
    } catch (e) {
      if (!DISK_ERRORS.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
      this.storageFailed('open', e);
      return { pending: 0, ackedSeq: 0, nextSeq: 0, tornTailBytes: 0, corruptRecords: 0, leftovers: 0 };
    }
    try {
      this.journal.ensureWritable();
      this.journal.compact();
    } catch (e) {
      this.storageFailed(this.journal.writable ? 'compact' : 'open', e);
    }
    this.updateLevel();
    return r;
  }

  /** Why a poll of this priority must not run now (the missed-poll reason), or null when it may. */
  refusal(priority: 'normal' | 'low'): string | null {
    if (this.heldV.length >= this.memoryReadings) return 'outbox_memory_full';
    if (this.levelV === 'full') return 'outbox_full';
    if (this.levelV === 'near_full' && priority === 'low') return 'outbox_near_full';
    return null;
  }

  /** Whether a poll of this priority may run now (see the size policy above). */
  accepts(priority: 'normal' | 'low'): boolean {
    return this.refusal(priority) === null;
  }

  /**
   * Stores readings durably, behind any held ones, and returns what got seqs by this call, in seq
   * order (held readings flushed now first). Readings the disk refused are held, not returned.
   */
  append(readings: PendingReading[]): MeterReading[] {
    this.heldV.push(...readings);
    const out = this.flushHeld();
    if (this.faultV && this.heldV.length === 0) this.retry();
    return out;
  }

  private flushHeld(): MeterReading[] {
    const out: MeterReading[] = [];
    if (!this.journal.isOpen) return out; // opening it is the retry's job
    while (this.heldV.length > 0) {
      const chunk = this.heldV.slice(0, FLUSH_CHUNK);
      const built: MeterReading[] = [];
      try {
        this.journal.append(chunk, (r, seq) => {
          const full = { ...r, seq };
          built.push(full);
          return Buffer.from(JSON.stringify(full));
        });
      } catch (e) {
        this.storageFailed('append', e);
        break;
      }
      this.heldV.splice(0, chunk.length);
      out.push(...built);
    }
    if (out.length > 0) {
      this.updateLevel();
      this.emit('appended', out.length);
    }
    return out;
  }

  /** The first `n` stored readings not yet acknowledged; none when the disk cannot be read. */
  peek(n: number): MeterReading[] {
    try {
      return this.journal.peek(n).map((e) => JSON.parse(e.body.toString('utf8')) as MeterReading);
    } catch (e) {
      this.storageFailed('read', e);
      return [];
    }
  }

  ack(seq: number): void {
    try {
      this.journal.ack(seq);
      // While the disk fails, compaction waits for the retry timer rather than running per ack.
      if (!this.faultV) this.journal.compact();
    } catch (e) {
      this.storageFailed(this.journal.ackDurable ? 'compact' : 'ack', e);
    }
    this.updateLevel();
  }

  /** Tries every postponed write (ack, compaction, held readings); clears the fault when all succeed. */
  retry(): void {
    if (!this.faultV) return;
    try {
      if (!this.journal.isOpen) {
        this.journal.open();
        this.updateLevel();
      }
      this.journal.ensureWritable();
    } catch (e) {
      this.storageFailed('open', e);
      return;
    }
    try {
      this.journal.persistAck();
    } catch (e) {
      this.storageFailed('ack', e);
      return;
    }
    try {
      this.journal.compact();
    } catch (e) {
      this.storageFailed('compact', e);
      return;
    }
    this.flushHeld();
    if (this.heldV.length > 0) return;
    if (this.journal.pending > 0 && this.peek(1).length === 0) return;
    this.faultV = null;
    this.stopRetry();
    this.updateLevel();
    this.emit('storage', null, 0);
  }

  private storageFailed(op: StorageOp, e: unknown): void {
    const err = e as NodeJS.ErrnoException;
    const code = typeof err?.code === 'string' ? err.code : 'EUNKNOWN';
    const message = err instanceof Error ? err.message : String(e);
    this.emit('storageError', op, code);
    const first = this.faultV === null;
    this.faultV = { op, code, message };
    if (first) {
      this.retryTimer = setInterval(() => this.retry(), this.retryMs);
      this.retryTimer.unref();
      this.emit('storage', this.faultV, this.heldV.length);
    }
  }

  private stopRetry(): void {
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = null;
  }

  private updateLevel(): void {
    const b = this.journal.pendingBytes;
    const lvl: OutboxLevel = b >= this.opts.maxBytes ? 'full' : b >= this.opts.maxBytes * this.opts.nearFull ? 'near_full' : 'ok';
    if (lvl !== this.levelV) {
      this.levelV = lvl;
      this.emit('level', lvl, b);
    }
  }

  /** Why the outbox is not healthy (for /health), or null. */
  get problem(): string | null {
    const f = this.faultV;
    if (f)
      return `outbox storage failing: ${f.op} in ${this.opts.dir} failed with ${f.code} (${f.message}); ${this.heldV.length} reading(s) held in memory, at most ${this.memoryReadings} before polls are refused; free space on that disk`;
    if (this.levelV === 'full') return `outbox full: ${this.journal.pendingBytes} bytes of unacknowledged readings (limit ${this.opts.maxBytes}); polls refused until the broker takes readings`;
    return null;
  }

  get level(): OutboxLevel {
    return this.levelV;
  }
  get storageFault(): StorageFault | null {
    return this.faultV;
  }
  /** Readings accepted but not yet on disk (the disk refused them). */
  get held(): number {
    return this.heldV.length;
  }
  get depth(): number {
    return this.journal.pending;
  }
  get pendingBytes(): number {
    return this.journal.pendingBytes;
  }
  /** Bytes of all segment files (pending records plus acknowledged ones not yet compacted away). */
  get diskBytes(): number {
    return this.journal.diskBytes;
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
  /** Stops retrying; a last attempt to journal held readings. Returns how many stay unstored (lost). */
  close(): number {
    this.stopRetry();
    if (this.faultV && this.journal.isOpen) {
      if (this.heldV.length > 0) this.flushHeld();
      try {
        this.journal.persistAck();
      } catch {
        /* not written: those readings are sent again after the restart (at-least-once) */
      }
    }
    this.stopRetry();
    this.journal.close();
    return this.heldV.length;
  }
}
