/**
 * libmbus corpus: every telegram in frames/ must decode to what its .norm.xml says (header and,
 * per record, Function, StorageNumber, Tariff, Device, Quantity, Unit, Value to 1e-6 relative).
 * The folder is walked, so new telegrams are covered without code. Where libmbus departs from
 * EN 13757-3 we follow the standard; each such case is listed in EXCEPTIONS with the reason.
 */
import { describe, expect, it } from 'vitest';
import { decodeTelegram, parseHex, toLibmbusFormat, type LibmbusDataRecord } from '../../src/mbus/app/index.js';
import { listHex, readHexFile, readXml } from './corpus-helpers.js';

type FieldException = { record?: number; field: string; ours: string | number; reason: string };

/** Per-file departures from libmbus, each with why the standard's reading is kept. */
const EXCEPTIONS: Record<string, FieldException[]> = {
  // DD B4 EB DD / DD B4 EB are not BCD (nibbles above 9) in "value during error state" records:
  // the meter fills the field with a marker. libmbus multiplies the nibbles out anyway and
  // prints a number; EN 13757-3 type A has no such value, so we report value null with
  // error 'invalid_bcd' (libmbus form shows the raw bytes).
  'abb_f95.hex': [
    { record: 2, field: 'Value', ours: 'DD B4 EB DD', reason: 'invalid BCD is not a number' },
    { record: 3, field: 'Value', ours: 'DD B4 EB', reason: 'invalid BCD is not a number' },
  ],
};

function sameValue(ours: string | number | undefined, theirs: string | undefined): boolean {
  const t = (theirs ?? '').trim();
  const o = ours === undefined ? '' : String(ours).trim();
  if (t !== '' && o !== '' && !Number.isNaN(Number(t)) && !Number.isNaN(Number(o))) {
    const a = Number(o);
    const b = Number(t);
    return a === b || Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b));
  }
  return o === t;
}

function compare(file: string): string[] {
  const xml = readXml('frames', file, '.norm.xml');
  if (!xml) return [`${file}: no .norm.xml beside it`];
  const t = decodeTelegram(parseHex(readHexFile('frames', file)));
  const lib = toLibmbusFormat(t);
  const diffs: string[] = [];
  const exc = EXCEPTIONS[file] ?? [];
  const excused = (record: number | undefined, field: string, ours: string | number | undefined) =>
    exc.some((e) => e.record === record && e.field === field && String(e.ours) === String(ours));
  const si = lib.SlaveInformation as unknown as Record<string, string | number>;
  for (const [k, v] of Object.entries(xml.SlaveInformation)) {
    if (!sameValue(si[k], v) && !excused(undefined, k, si[k])) diffs.push(`SlaveInformation.${k}: ours ${JSON.stringify(si[k])} libmbus ${JSON.stringify(v)}`);
  }
  if (lib.DataRecord.length !== xml.DataRecord.length && !excused(undefined, 'records', lib.DataRecord.length))
    diffs.push(`record count: ours ${lib.DataRecord.length} libmbus ${xml.DataRecord.length}`);
  xml.DataRecord.forEach((x, i) => {
    const r = lib.DataRecord[i] as LibmbusDataRecord | undefined;
    if (!r) return;
    const ours: Record<string, string | number | undefined> = {
      Function: r.Function,
      StorageNumber: r.StorageNumber,
      Tariff: r.Tariff ?? 0,
      Device: r.Device ?? 0,
      Quantity: r.Quantity,
      Unit: r.Unit,
      Value: r.Value,
    };
    const theirs: Record<string, string | undefined> = { ...x, Tariff: x.Tariff ?? '0', Device: x.Device ?? '0' };
    for (const k of Object.keys(ours)) {
      if (k in x || k === 'Tariff' || k === 'Device')
        if (!sameValue(ours[k], theirs[k]) && !excused(i, k, ours[k] ?? ''))
          diffs.push(`record ${i} ${k}: ours ${JSON.stringify(ours[k])} libmbus ${JSON.stringify(theirs[k])}`);
    }
  });
  if (t.partial) diffs.push(`partial: ${t.partial.reason}`);
  return diffs;
}

describe('libmbus frames/ corpus', () => {
  const files = listHex('frames');
  it('has telegrams to check', () => expect(files.length).toBeGreaterThan(40));
  it.each(files)('%s decodes as its .norm.xml says', (file) => {
    expect(compare(file)).toEqual([]);
  });
});
