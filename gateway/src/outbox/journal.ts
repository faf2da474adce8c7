/**
 * Crash-safe append-only journal in segment files, with an acknowledgement pointer.
 *
 * Why our own and not SQLite: the only SQLite bindings for Node 20 are native (better-sqlite3,
 * sqlite3) and fetch prebuilt binaries or need a compiler on the Pi; `node:sqlite` arrives only
 * with Node 22. What we need is small: append in order, fsync, read in order, drop a prefix.
 * Segments + a length/CRC32-framed record + an atomically replaced ack file do exactly that.
 *
 * Guarantees:
 * - `append` returns only after the records are written and fsync'ed: an accepted reading survives
 *   a power cut. A failed append (disk full, I/O error) is cut back off the file and changes
 *   nothing: the caller still owns the items and no seq was handed out.
 * - A torn last record (power cut mid-write) is detected at open (bad CRC/short length at the end
 *   of the last segment) and truncated away; nothing before it is touched.
 * - Corruption in the middle (bad sector) costs only the damaged records: the reader resyncs on
 *   the next record magic; the damage is reported (`corruptRecords`).
 * - The ack pointer (`ack.json`, written tmp + fsync + rename) holds the highest acknowledged
 *   sequence number; sequence numbers continue from max(ack, last journal record) + 1, so they
 *   strictly increase across restarts even when every segment has been compacted away.
 * - Acknowledged records leave the disk promptly (see `compactionDue`): whole segments are deleted,
 *   and when the acknowledged bytes still on disk reach `compactBytes` and at least what is pending,
 *   the pending records are copied to a new segment (tmp file, fsync, rename, fsync dir) and every
 *   older segment is deleted. A crash at any step leaves either the old segments alone or both the
 *   old ones and the complete copy; `open` reads segments newest first and keeps the first copy of
 *   a seq it meets, so a copy never becomes a duplicate. Only records at or below the durable ack
 *   are ever dropped.
 * Synchronous file I/O on purpose: a handful of small appends per poll cycle, and ordering
 * between append, fsync and publish is trivially right.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { encodeRecord, HEADER_BYTES, scanRecords } from './record.js';

export interface JournalEntry {
  seq: number;
  segment: number;
  offset: number;
  length: number;
}

export interface JournalOpenReport {
  pending: number;
  ackedSeq: number;
  nextSeq: number;
  tornTailBytes: number;
  corruptRecords: number;
  /** Copies left by a compaction that a crash interrupted, removed at open. */
  leftovers: number;
}

/** The points between the steps of a compaction; tests kill the process at each of them. */
export type CompactionStep = 'copy-partial' | 'copy-synced' | 'renamed' | 'old-deleted';

export interface JournalOptions {
  /** A segment is closed and a new one started once it holds this many bytes. */
  segmentBytes?: number;
  /** Acknowledged bytes allowed to stay on disk before the pending records are copied away from them. */
  compactBytes?: number;
  /** Test hook, called between the steps of a compaction. */
  onCompactionStep?: (step: CompactionStep) => void;
}

const SEG_RE = /^seg-(\d{12})\.log$/;
const TMP_RE = /^seg-\d{12}\.log\.tmp$/;
const segName = (n: number) => `seg-${String(n).padStart(12, '0')}.log`;

/** Each payload starts with its seq so the journal can index without parsing JSON twice. */
function seqOfPayload(p: Buffer): number {
  return Number(p.readBigUInt64LE(0));
}

function rmQuietly(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch {
    /* a leftover tmp file is removed at the next open */
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already failing: the error that matters is the one being thrown */
  }
}

export class Journal {
  private entries: JournalEntry[] = []; // unacked, in seq order
  private ackedSeq = 0;
  /** The ack as ack.json holds it: nothing above it may leave the disk. */
  private durableAckSeq = 0;
  private nextSeq = 1;
  private activeSeg = 0;
  private activeFd = -1;
  private activeSize = 0;
  /** A failed append could not be cut back off the active segment: start a new one before writing. */
  private activeTainted = false;
  private opened = false;
  private segSizes = new Map<number, number>();
  private segMaxSeq = new Map<number, number>();
  private pendingBytesV = 0;
  corruptRecords = 0;
  readonly segmentBytes: number;
  readonly compactBytes: number;

  constructor(
    readonly dir: string,
    opts: JournalOptions | number = {},
  ) {
    const o = typeof opts === 'number' ? { segmentBytes: opts } : opts;
    this.segmentBytes = o.segmentBytes ?? 4 * 1024 * 1024;
    this.compactBytes = o.compactBytes ?? 64 * 1024;
    this.onStep = o.onCompactionStep ?? (() => undefined);
  }
  private readonly onStep: (step: CompactionStep) => void;

  /**
   * Reads the journal. Throws only when the directory cannot be read; a failure to create the
   * active segment (disk full) leaves the journal readable, and `append` tries again.
   */
  open(): JournalOpenReport {
    this.close();
    // From scratch, so an open that failed half-way (disk error) can simply be tried again.
    this.entries = [];
    this.ackedSeq = this.durableAckSeq = 0;
    this.nextSeq = 1;
    this.segSizes.clear();
    this.segMaxSeq.clear();
    this.pendingBytesV = 0;
    this.corruptRecords = 0;
    this.opened = false;
    if (!existsSync(this.dir)) {
      // Plain mkdir first: the recursive one reports a read-only or full disk as ENOENT.
      try {
        mkdirSync(this.dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        mkdirSync(this.dir, { recursive: true });
      }
    }
    const ackFile = join(this.dir, 'ack.json');
    if (existsSync(ackFile)) {
      const text = readFileSync(ackFile, 'utf8');
      let a: { ackedSeq?: unknown };
      try {
        a = JSON.parse(text) as { ackedSeq?: unknown };
      } catch (e) {
        throw new Error(`outbox: ${ackFile} is not valid JSON (${(e as Error).message}); delete it to resend every stored reading (the head-end drops the duplicates)`);
      }
      if (typeof a.ackedSeq !== 'number' || !Number.isSafeInteger(a.ackedSeq) || a.ackedSeq < 0)
        throw new Error(`outbox: ${ackFile} has no valid ackedSeq; delete it to resend every stored reading (the head-end drops the duplicates)`);
      this.ackedSeq = a.ackedSeq;
      this.durableAckSeq = a.ackedSeq;
    }
    let leftovers = 0;
    for (const f of readdirSync(this.dir)) {
      // A copy a crash interrupted before its rename: the segments it was copied from are intact.
      if (TMP_RE.test(f) || f === 'ack.json.tmp') {
        rmSync(join(this.dir, f), { force: true });
        if (f !== 'ack.json.tmp') leftovers++;
      }
    }
    const segs = readdirSync(this.dir)
      .map((f) => SEG_RE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    let maxSeq = this.ackedSeq;
    let torn = 0;
    const seen = new Set<number>();
    // Newest first: a compaction's copy is newer than the segments it was copied from, so their
    // records are met (and kept) in the copy, and the originals are recognised as superseded.
    for (let i = segs.length - 1; i >= 0; i--) {
      const seg = segs[i];
      const file = join(this.dir, segName(seg));
      const buf = readFileSync(file);
      const scan = scanRecords(buf);
      const last = i === segs.length - 1;
      this.corruptRecords += scan.corrupt.length + (!last && scan.tailGarbage > 0 ? 1 : 0);
      if (last && scan.tailGarbage > 0) {
        // Torn write at a power cut: cut the file back to the last whole record.
        torn = scan.tailGarbage;
        const fd = openSync(file, 'r+');
        try {
          ftruncateSync(fd, scan.validEnd);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
      let segMax = 0;
      let own = 0;
      for (const r of scan.records) {
        const seq = seqOfPayload(r.payload);
        maxSeq = Math.max(maxSeq, seq);
        if (seq <= this.ackedSeq || seen.has(seq)) continue;
        seen.add(seq);
        segMax = Math.max(segMax, seq);
        own++;
        this.entries.push({ seq, segment: seg, offset: r.offset, length: r.length });
        this.pendingBytesV += r.length;
      }
      if (!last && own === 0) {
        // Everything in it is acknowledged or has a newer copy: what a crash mid-compaction leaves.
        rmSync(file, { force: true });
        continue;
      }
      this.segSizes.set(seg, last && scan.tailGarbage > 0 ? scan.validEnd : buf.length);
      this.segMaxSeq.set(seg, segMax);
    }
    this.entries.sort((a, b) => a.seq - b.seq);
    this.nextSeq = maxSeq + 1;
    this.activeSeg = segs.length ? segs[segs.length - 1] : 1;
    this.opened = true;
    try {
      this.openActive(this.activeSeg);
      this.dropAckedSegments();
    } catch {
      // Disk full or read-only: readable anyway; `append` opens the segment when it can.
      this.activeFd = -1;
    }
    return { pending: this.entries.length, ackedSeq: this.ackedSeq, nextSeq: this.nextSeq, tornTailBytes: torn, corruptRecords: this.corruptRecords, leftovers };
  }

  /** Opens (creating) segment `seg` for appending and makes it the active one. */
  private openActive(seg: number): void {
    const file = join(this.dir, segName(seg));
    const fd = openSync(file, 'a');
    try {
      this.fsyncDir();
    } catch (e) {
      closeQuietly(fd);
      throw e;
    }
    if (this.activeFd >= 0) closeQuietly(this.activeFd);
    this.activeFd = fd;
    this.activeSeg = seg;
    this.activeSize = fstatSync(fd).size;
    this.activeTainted = false;
    this.segSizes.set(seg, this.activeSize);
    if (!this.segMaxSeq.has(seg)) this.segMaxSeq.set(seg, 0);
  }

  private fsyncDir(): void {
    const fd = openSync(this.dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Appends payloads (each gets the next seq, passed to `build`) and fsyncs once. All or nothing:
   * on a failure the bytes are cut off again and the error is thrown with the journal unchanged
   * (if even the cut fails, those seqs are skipped so they are never given to other readings).
   */
  append<T>(items: T[], build: (item: T, seq: number) => Buffer): number[] {
    if (!this.opened) throw new Error('journal not open');
    if (this.activeFd < 0) this.openActive(this.activeSeg);
    if (this.activeSize >= this.segmentBytes || this.activeTainted) this.openActive(this.activeSeg + 1);
    const seqs: number[] = [];
    const chunks: Buffer[] = [];
    const added: JournalEntry[] = [];
    let off = this.activeSize;
    for (const item of items) {
      const seq = this.nextSeq + seqs.length;
      const body = build(item, seq);
      const payload = Buffer.allocUnsafe(8 + body.length);
      payload.writeBigUInt64LE(BigInt(seq), 0);
      body.copy(payload, 8);
      const rec = encodeRecord(payload);
      chunks.push(rec);
      added.push({ seq, segment: this.activeSeg, offset: off, length: rec.length });
      off += rec.length;
      seqs.push(seq);
    }
    const all = Buffer.concat(chunks);
    try {
      let written = 0;
      while (written < all.length) written += writeSync(this.activeFd, all, written);
      fsyncSync(this.activeFd);
    } catch (e) {
      try {
        ftruncateSync(this.activeFd, this.activeSize);
        fsyncSync(this.activeFd);
      } catch {
        // Whole records of this write may be on disk: their seqs must never name other readings.
        this.nextSeq += seqs.length;
        this.activeTainted = true;
      }
      throw e;
    }
    this.entries.push(...added);
    this.nextSeq += seqs.length;
    this.activeSize += all.length;
    this.pendingBytesV += all.length;
    this.segSizes.set(this.activeSeg, this.activeSize);
    this.segMaxSeq.set(this.activeSeg, this.nextSeq - 1);
    return seqs;
  }

  /** The first `n` unacknowledged records, in order: seq and body (payload without the seq prefix). */
  peek(n: number): { seq: number; body: Buffer }[] {
    const out: { seq: number; body: Buffer }[] = [];
    const fds = new Map<number, number>();
    try {
      for (const e of this.entries.slice(0, n)) out.push({ seq: e.seq, body: this.readEntry(e, fds).subarray(HEADER_BYTES + 8) });
    } finally {
      for (const fd of fds.values()) closeQuietly(fd);
    }
    return out;
  }

  private readEntry(e: JournalEntry, fds: Map<number, number>): Buffer {
    let fd = fds.get(e.segment);
    if (fd === undefined) {
      fd = openSync(join(this.dir, segName(e.segment)), 'r');
      fds.set(e.segment, fd);
    }
    const buf = Buffer.allocUnsafe(e.length);
    const got = readSync(fd, buf, 0, e.length, e.offset);
    if (got !== e.length) throw new Error(`outbox: ${segName(e.segment)} ends inside the record of seq ${e.seq} (read ${got} of ${e.length} bytes)`);
    return buf;
  }

  /**
   * Acknowledges every record with seq ≤ `seq` (the broker PUBACKed them). The acknowledgement holds
   * in memory at once (they are not sent again by this process); writing it to disk may fail (disk
   * full): then it throws, the records stay on disk, and `persistAck` tries again later — after a
   * crash in between they are sent again, which the at-least-once contract allows.
   */
  ack(seq: number): void {
    if (seq <= this.ackedSeq) return;
    let i = 0;
    while (i < this.entries.length && this.entries[i].seq <= seq) {
      this.pendingBytesV -= this.entries[i].length;
      i++;
    }
    this.entries.splice(0, i);
    this.ackedSeq = seq;
    this.persistAck();
  }

  /** Writes the in-memory ack to `ack.json` if it is ahead of it; deletes wholly acknowledged segments. */
  persistAck(): void {
    if (this.durableAckSeq < this.ackedSeq) {
      const ackFile = join(this.dir, 'ack.json');
      const tmp = `${ackFile}.tmp`;
      const seq = this.ackedSeq;
      try {
        const fd = openSync(tmp, 'w');
        try {
          writeSync(fd, JSON.stringify({ ackedSeq: seq }));
          fsyncSync(fd);
        } finally {
          closeQuietly(fd);
        }
        renameSync(tmp, ackFile);
        this.fsyncDir();
      } catch (e) {
        rmQuietly(tmp);
        throw e;
      }
      this.durableAckSeq = seq;
    }
    this.dropAckedSegments();
  }

  /** Deletes segments whose every record is durably acknowledged (never the active one): no write needed. */
  private dropAckedSegments(): void {
    let dropped = false;
    for (const [seg, max] of [...this.segMaxSeq]) {
      if (seg !== this.activeSeg && max <= this.durableAckSeq) {
        rmSync(join(this.dir, segName(seg)), { force: true });
        this.segMaxSeq.delete(seg);
        this.segSizes.delete(seg);
        dropped = true;
      }
    }
    if (dropped) this.fsyncDir();
  }

  /**
   * Whether the acknowledged records left on disk should be compacted away: at least `compactBytes`
   * of them, and at least as many bytes as are pending (so a copy never costs more writing than it
   * frees: a large backlog draining is not copied again and again), and only when the ack is durable.
   */
  compactionDue(): boolean {
    const waste = this.diskBytes - this.pendingBytesV;
    return this.opened && this.durableAckSeq === this.ackedSeq && waste >= this.compactBytes && waste >= this.pendingBytesV;
  }

  /**
   * Copies the pending records into a new segment and deletes every older one. On a failure before
   * the rename the copy is removed and the journal is unchanged; the error is thrown.
   */
  compact(): void {
    if (!this.compactionDue()) return;
    const seg = Math.max(...this.segSizes.keys(), this.activeSeg) + 1;
    const file = join(this.dir, segName(seg));
    const tmp = `${file}.tmp`;
    const fds = new Map<number, number>();
    const moved: JournalEntry[] = [];
    let copy: Buffer;
    try {
      const parts: Buffer[] = [];
      let off = 0;
      for (const e of this.entries) {
        parts.push(this.readEntry(e, fds));
        moved.push({ seq: e.seq, segment: seg, offset: off, length: e.length });
        off += e.length;
      }
      copy = Buffer.concat(parts);
    } finally {
      for (const fd of fds.values()) closeQuietly(fd);
    }
    try {
      const fd = openSync(tmp, 'w');
      try {
        const half = copy.length >> 1;
        let written = 0;
        while (written < half) written += writeSync(fd, copy, written, half - written);
        this.onStep('copy-partial');
        while (written < copy.length) written += writeSync(fd, copy, written);
        fsyncSync(fd);
      } finally {
        closeQuietly(fd);
      }
      this.onStep('copy-synced');
      renameSync(tmp, file);
      this.fsyncDir();
    } catch (e) {
      rmQuietly(tmp);
      throw e;
    }
    this.onStep('renamed');
    // From here the copy is on disk and complete: the old segments are redundant whatever happens.
    const old = [...this.segSizes.keys()].filter((s) => s < seg).sort((a, b) => a - b);
    try {
      this.openActive(seg);
    } catch (e) {
      rmQuietly(file);
      throw e;
    }
    this.entries = moved;
    this.segSizes.set(seg, copy.length);
    this.activeSize = copy.length;
    this.segMaxSeq.set(seg, moved.length ? moved[moved.length - 1].seq : 0);
    // Superseded: if a delete below fails, `dropAckedSegments` retries it after the next ack.
    for (const s of old) this.segMaxSeq.set(s, 0);
    old.forEach((s, i) => {
      rmSync(join(this.dir, segName(s)), { force: true });
      this.segSizes.delete(s);
      this.segMaxSeq.delete(s);
      if (i === 0) this.onStep('old-deleted');
    });
    this.fsyncDir();
  }

  /** Whether the active segment is open for appending (false when `open` could not create it). */
  get writable(): boolean {
    return this.activeFd >= 0;
  }
  /** Opens the active segment if `open` could not; throws why not. */
  ensureWritable(): void {
    if (this.activeFd < 0) this.openActive(this.activeSeg);
  }

  get isOpen(): boolean {
    return this.opened;
  }
  get pending(): number {
    return this.entries.length;
  }
  /** Bytes of records not yet acknowledged: what the size bound applies to. */
  get pendingBytes(): number {
    return this.pendingBytesV;
  }
  get diskBytes(): number {
    let s = 0;
    for (const v of this.segSizes.values()) s += v;
    return s;
  }
  get lastAcked(): number {
    return this.ackedSeq;
  }
  /** Whether `ack.json` holds the latest acknowledgement. */
  get ackDurable(): boolean {
    return this.durableAckSeq === this.ackedSeq;
  }
  get next(): number {
    return this.nextSeq;
  }
  close(): void {
    if (this.activeFd >= 0) closeQuietly(this.activeFd);
    this.activeFd = -1;
  }
}

/** Test helper used by power-cut tests: write raw bytes to the end of the active segment. */
export function appendRawForTest(dir: string, bytes: Buffer): void {
  const segs = readdirSync(dir).filter((f) => SEG_RE.test(f)).sort();
  const fd = openSync(join(dir, segs[segs.length - 1]), 'a');
  writeSync(fd, bytes);
  closeSync(fd);
}

export function segmentFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => SEG_RE.test(f)).sort().map((f) => join(dir, f));
}
