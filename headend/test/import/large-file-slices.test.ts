/**
 * A large upload is read and answered a slice at a time (the event loop handed back in between), and
 * must come out exactly as the one-piece way: readCsvInSlices as readCsv, stringifyInSlices as
 * JSON.stringify. Data: 5 000 rows of a ';'-separated file with Excel's BOM, CRLF line ends and a
 * quoted serial holding the delimiter and a line break — about 190 000 characters, so records cross
 * the 64 KiB slices' boundaries; a blank row and a row after it (row numbers count records, header = 1).
 */
import { describe, expect, it } from 'vitest';
import { readCsv, readCsvInSlices } from '../../src/import/index.js';
import { stringifyInSlices } from '../../src/http/json-slices.js';

function file(): Buffer {
  const lines = ['Account;Serial No;date;value'];
  for (let i = 1; i <= 5000; i++) lines.push(`A${i};"S;${i}\nbis";2026-09-01;${i}.25`);
  return Buffer.from(`\ufeff${lines.join('\r\n')}\r\n;;;\r\nX;Y;Z;1\r\n`);
}

describe('a large upload read and answered in slices', () => {
  it('the CSV table is the one readCsv gives: columns, every row with its number, quoted cells whole', async () => {
    const buf = file();
    expect(buf.length).toBeGreaterThan(2 * 64 * 1024);
    const sliced = await readCsvInSlices(buf, 'readings');
    expect(sliced).toEqual(readCsv(buf, 'readings'));
    expect(sliced.columns).toEqual(['account', 'serial_no', 'date', 'value']);
    // Header row 1, the 5 000 rows on 2..5 001, the blank row 5 002 left out, then row 5 003.
    expect(sliced.rows).toHaveLength(5001);
    expect(sliced.rows[4999]).toEqual({ row: 5001, values: { account: 'A5000', serial_no: 'S;5000\nbis', date: '2026-09-01', value: '5000.25' } });
    expect(sliced.rows[5000]).toEqual({ row: 5003, values: { account: 'X', serial_no: 'Y', date: 'Z', value: '1' } });
  });

  it('a malformed file is refused with the same error and line as readCsv', async () => {
    const bad = Buffer.from('a,b\n1,2\n"x,1\n');
    let expected: unknown;
    try { readCsv(bad, 's'); } catch (e) { expected = e; }
    expect(expected).toMatchObject({ lines: 3 });
    await expect(readCsvInSlices(bad, 's')).rejects.toMatchObject({ message: (expected as Error).message, lines: 3 });
  });

  it('the JSON of a report with 12 000 changes is JSON.stringify\'s, undefined fields left out', async () => {
    const report = { ok: true, note: undefined, summary: { insert: 12_000 }, changes: Array.from({ length: 12_000 }, (_, i) => ({ row: i + 2, value: i / 4, previous: null })), errors: [] };
    const text = await stringifyInSlices(report);
    expect(text).toBe(JSON.stringify(report));
    expect(JSON.parse(text).changes[11_999]).toEqual({ row: 12_001, value: 2999.75, previous: null });
  });
});
