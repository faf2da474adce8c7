/**
 * Inflate limit for .xlsx uploads (a zip): exceljs inflates every entry whole in memory, so a 108 KB
 * file that inflates to 100 MB (a zip bomb) would be read in full. Before exceljs sees the file, its
 * entries are checked here: the sizes the central directory declares, summed, and then each entry
 * actually inflated by node's zlib with `maxOutputLength` — the declared sizes can lie, the inflater
 * cannot. Above the limit the file is refused with an error naming the limit.
 *
 * Hand-written on purpose: the zip's central directory is a fixed 46-byte record per entry, and the
 * inflating is node's own zlib; the zip libraries installed (jszip, unzipper via exceljs) trust the
 * declared sizes and offer no output cap.
 */
import { inflateRawSync } from 'node:zlib';

/** Default limit of the inflated contents of one workbook: 20 MB. */
export const XLSX_MAX_INFLATED_BYTES = 20 * 1024 * 1024;

export class ZipLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipLimitError';
  }
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

/** Throws ZipLimitError when the zip in `buf` inflates to more than `limit` bytes, or is not a readable zip. */
export function checkZipInflatedSize(buf: Buffer, limit = XLSX_MAX_INFLATED_BYTES): void {
  const refuse = (total: string) => new ZipLimitError(`the workbook inflates to ${total}, more than the limit of ${mb(limit)}; split it into smaller files`);
  // End of central directory: signature 0x06054b50, within the last 22 + 65535 (comment) bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  if (eocd < 0) throw new ZipLimitError('the .xlsx file is not a readable zip (no central directory); save it again from Excel');
  const entries = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  let declared = 0;
  const list: { method: number; compressed: number; local: number }[] = [];
  for (let n = 0; n < entries; n++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) throw new ZipLimitError('the .xlsx file is not a readable zip (damaged central directory); save it again from Excel');
    const method = buf.readUInt16LE(p + 10);
    const compressed = buf.readUInt32LE(p + 20);
    declared += buf.readUInt32LE(p + 24);
    list.push({ method, compressed, local: buf.readUInt32LE(p + 42) });
    p += 46 + buf.readUInt16LE(p + 28) + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
  }
  if (declared > limit) throw refuse(mb(declared));
  // The declared sizes may lie: inflate each entry with the budget left as the output cap.
  let total = 0;
  for (const e of list) {
    if (e.local + 30 > buf.length || buf.readUInt32LE(e.local) !== 0x04034b50) throw new ZipLimitError('the .xlsx file is not a readable zip (damaged entry); save it again from Excel');
    const start = e.local + 30 + buf.readUInt16LE(e.local + 26) + buf.readUInt16LE(e.local + 28);
    const data = buf.subarray(start, start + e.compressed);
    if (e.method === 0) total += data.length;
    else if (e.method === 8) {
      try {
        total += inflateRawSync(data, { maxOutputLength: Math.max(1, limit - total + 1) }).length;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) throw refuse(`more than ${mb(limit)}`);
        throw new ZipLimitError(`the .xlsx file is not a readable zip (${(err as Error).message}); save it again from Excel`);
      }
    } else throw new ZipLimitError(`the .xlsx file uses zip compression method ${e.method}, which is not read; save it again from Excel`);
    if (total > limit) throw refuse(`more than ${mb(limit)}`);
  }
}
