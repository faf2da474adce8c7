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
 *   a power cut.
 * - A torn last record (power cut mid-write) is detected at open (bad CRC/short length at the end
 *   of the last segment) and truncated away; nothing before it is touched.
 * - Corruption in the middle (bad sector) costs only the damaged records: the reader resyncs on
 *   the next record magic; the damage is reported (`corruptRecords`).
 * - The ack pointer (`ack.json`, written tmp + fsync + rename) holds the highest acknowledged
 *   sequence number; sequence numbers continue from max(ack, last journal record) + 1, so they
 *   strictly increase across restarts even when every segment has been compacted away.
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
}

const SEG_RE = /^seg-(\d{12})\.log$/;
const segName = (n: number) => `seg-${String(n).padStart(12, '0')}.log`;

/** Each payload starts with its seq so the journal can index without parsing JSON twice. */
function seqOfPayload(p: Buffer): number {
  return Number(p.readBigUInt64LE(0));
}

export class Journal {
  private entries: JournalEntry[] = []; // unacked, in seq order
  private ackedSeq = 0;
  private nextSeq = 1;
  private activeSeg = 0;
  private activeFd = -1;
  private activeSize = 0;
  private segSizes = new Map<number, number>();
  private segMaxSeq = new Map<number, number>();
  private pendingBytesV = 0;
  corruptRecords = 0;

  constructor(
    readonly dir: string,
    readonly segmentBytes = 4 * 1024 * 1024,
  ) {}

  open(): JournalOpenReport {
    mkdirSync(this.dir, { recursive: true });
    const ackFile = join(this.dir, 'ack.json');
    if (existsSync(ackFile)) {
      const a = JSON.parse(readFileSync(ackFile, 'utf8')) as { ackedSeq: number };
      this.ackedSeq = a.ackedSeq;
    }
    const segs = readdirSync(this.dir)
      .map((f) => SEG_RE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    let maxSeq = this.ackedSeq;
    let torn = 0;
    segs.forEach((seg, i) => {
      const file = join(this.dir, segName(seg));
      const buf = readFileSync(file);
      const scan = scanRecords(buf);
      const last = i === segs.length - 1;
      this.corruptRecords += scan.corrupt.length + (!last && scan.tailGarbage > 0 ? 1 : 0);
      if (last && scan.tailGarbage > 0) {
        // Torn write at a power cut: cut the file back to the last whole record.
        torn = scan.tailGarbage;
        const fd = openSync(file, 'r+');
        ftruncateSync(fd, scan.validEnd);
        fsyncSync(fd);
        closeSync(fd);
      }
      let segMax = 0;
      for (const r of scan.records) {
        const seq = seqOfPayload(r.payload);
        segMax = Math.max(segMax, seq);
        maxSeq = Math.max(maxSeq, seq);
        if (seq > this.ackedSeq) {
          this.entries.push({ seq, segment: seg, offset: r.offset, length: r.length });
          this.pendingBytesV += r.length;
        }
      }
      this.segSizes.set(seg, last && scan.tailGarbage > 0 ? scan.validEnd : buf.length);
      this.segMaxSeq.set(seg, segMax);
    });
    this.entries.sort((a, b) => a.seq - b.seq);
    this.nextSeq = maxSeq + 1;
    this.activeSeg = segs.length ? segs[segs.length - 1] : 1;
    this.openActive();
    this.compact();
    return { pending: this.entries.length, ackedSeq: this.ackedSeq, nextSeq: this.nextSeq, tornTailBytes: torn, corruptRecords: this.corruptRecords };
  }

  private openActive(): void {
    const file = join(this.dir, segName(this.activeSeg));
    this.activeFd = openSync(file, 'a');
    this.activeSize = fstatSync(this.activeFd).size;
    this.segSizes.set(this.activeSeg, this.activeSize);
    if (!this.segMaxSeq.has(this.activeSeg)) this.segMaxSeq.set(this.activeSeg, 0);
    this.fsyncDir();
  }

  private fsyncDir(): void {
    const fd = openSync(this.dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Appends payloads (each gets the next seq, passed to `build`) and fsyncs once. */
  append<T>(items: T[], build: (item: T, seq: number) => Buffer): number[] {
    if (this.activeFd < 0) throw new Error('journal not open');
    if (this.activeSize >= this.segmentBytes) this.roll();
    const seqs: number[] = [];
    const chunks: Buffer[] = [];
    let off = this.activeSize;
    for (const item of items) {
      const seq = this.nextSeq + seqs.length;
      const body = build(item, seq);
      const payload = Buffer.allocUnsafe(8 + body.length);
      payload.writeBigUInt64LE(BigInt(seq), 0);
      body.copy(payload, 8);
      const rec = encodeRecord(payload);
      chunks.push(rec);
      this.entries.push({ seq, segment: this.activeSeg, offset: off, length: rec.length });
      off += rec.length;
      seqs.push(seq);
    }
    const all = Buffer.concat(chunks);
    let written = 0;
    while (written < all.length) written += writeSync(this.activeFd, all, written);
    fsyncSync(this.activeFd);
    this.nextSeq += seqs.length;
    this.activeSize += all.length;
    this.pendingBytesV += all.length;
    this.segSizes.set(this.activeSeg, this.activeSize);
    this.segMaxSeq.set(this.activeSeg, this.nextSeq - 1);
    return seqs;
  }

  private roll(): void {
    closeSync(this.activeFd);
    this.activeSeg += 1;
    this.openActive();
  }

  /** The first `n` unacknowledged records, in order: seq and body (payload without the seq prefix). */
  peek(n: number): { seq: number; body: Buffer }[] {
    const out: { seq: number; body: Buffer }[] = [];
    const fds = new Map<number, number>();
    try {
      for (const e of this.entries.slice(0, n)) {
        let fd = fds.get(e.segment);
        if (fd === undefined) {
          fd = openSync(join(this.dir, segName(e.segment)), 'r');
          fds.set(e.segment, fd);
        }
        const buf = Buffer.allocUnsafe(e.length);
        readSync(fd, buf, 0, e.length, e.offset);
        out.push({ seq: e.seq, body: buf.subarray(HEADER_BYTES + 8) });
      }
    } finally {
      for (const fd of fds.values()) closeSync(fd);
    }
    return out;
  }

  /** Acknowledges every record with seq ≤ `seq` (the broker PUBACKed them). */
  ack(seq: number): void {
    if (seq <= this.ackedSeq) return;
    let i = 0;
    while (i < this.entries.length && this.entries[i].seq <= seq) {
      this.pendingBytesV -= this.entries[i].length;
      i++;
    }
    this.entries.splice(0, i);
    this.ackedSeq = seq;
    const ackFile = join(this.dir, 'ack.json');
    const tmp = `${ackFile}.tmp`;
    const fd = openSync(tmp, 'w');
    writeSync(fd, JSON.stringify({ ackedSeq: seq }));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, ackFile);
    this.fsyncDir();
    this.compact();
  }

  /** Deletes segments whose every record is acknowledged (never the active one). */
  private compact(): void {
    if (this.activeSize >= this.segmentBytes && (this.segMaxSeq.get(this.activeSeg) ?? 0) <= this.ackedSeq) this.roll();
    for (const [seg, max] of [...this.segMaxSeq]) {
      if (seg !== this.activeSeg && max <= this.ackedSeq) {
        rmSync(join(this.dir, segName(seg)), { force: true });
        this.segMaxSeq.delete(seg);
        this.segSizes.delete(seg);
      }
    }
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
  get next(): number {
    return this.nextSeq;
  }
  close(): void {
    if (this.activeFd >= 0) closeSync(this.activeFd);
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

