/**
 * Framing of one journal record: MAGIC(4) | LENGTH(u32 LE) | CRC32(u32 LE, of the payload) | PAYLOAD.
 * The magic lets the reader resynchronise after a corrupted length field (scan forward for the next
 * record whose length and CRC both check), so one bad sector costs one record, not the rest of the file.
 */
import { crc32 } from 'node:zlib';

export const MAGIC = Buffer.from([0xa3, 0x4d, 0x52, 0x31]); // "\xA3MR1"
export const HEADER_BYTES = 12;
export const MAX_RECORD_BYTES = 4 * 1024 * 1024;

export function encodeRecord(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(payload.length, 4);
  out.writeUInt32LE(crc32(payload) >>> 0, 8);
  payload.copy(out, HEADER_BYTES);
  return out;
}

export interface ScannedRecord {
  offset: number;
  length: number; // whole record incl. header
  payload: Buffer;
}

export interface ScanResult {
  records: ScannedRecord[];
  /** Offset after the last valid record. */
  validEnd: number;
  /** Byte ranges skipped because they were not valid records (corruption), excluding a torn tail. */
  corrupt: { offset: number; length: number }[];
  /** Bytes after the last valid record that do not form a record (torn write at a power cut). */
  tailGarbage: number;
}

function validAt(buf: Buffer, off: number): number {
  if (off + HEADER_BYTES > buf.length) return -1;
  if (buf[off] !== MAGIC[0] || buf[off + 1] !== MAGIC[1] || buf[off + 2] !== MAGIC[2] || buf[off + 3] !== MAGIC[3]) return -1;
  const len = buf.readUInt32LE(off + 4);
  if (len > MAX_RECORD_BYTES || off + HEADER_BYTES + len > buf.length) return -1;
  const crc = buf.readUInt32LE(off + 8);
  if ((crc32(buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + len)) >>> 0) !== crc) return -1;
  return HEADER_BYTES + len;
}

export function scanRecords(buf: Buffer): ScanResult {
  const records: ScannedRecord[] = [];
  const corrupt: { offset: number; length: number }[] = [];
  let off = 0;
  let badStart = -1;
  while (off < buf.length) {
    const n = validAt(buf, off);
    if (n > 0) {
      if (badStart >= 0) {
        corrupt.push({ offset: badStart, length: off - badStart });
        badStart = -1;
      }
      records.push({ offset: off, length: n, payload: buf.subarray(off + HEADER_BYTES, off + n) });
      off += n;
    } else {
      if (badStart < 0) badStart = off;
      off += 1;
    }
  }
  const validEnd = records.length ? records[records.length - 1].offset + records[records.length - 1].length : 0;
  return { records, validEnd, corrupt, tailGarbage: badStart >= 0 ? buf.length - badStart : 0 };
}
