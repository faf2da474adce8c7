// Data-driven over libmbus's own test telegrams (/work/shared/testdata/mbus/libmbus/frames): each
// frame decoded by our codec and the libmbus decode of the same frame (its .xml) translated by the
// libmbus driver's mapping must give the same named quantities after the profiles — the two M-Bus
// drivers publish the same values for real meters.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';
import { decodeFrame, decodeTelegram, QUANTITIES } from '@amr/protocols';
import { applyMbusProfile, libmbusToTelegram, chooseProfile } from '../src/index.js';

const dir = fileURLToPath(new URL('../../../shared/testdata/mbus/libmbus/frames/', import.meta.url));
if (!existsSync(dir)) throw new Error(`test data missing: ${dir} (expected ../shared/testdata from the repo root)`);

const names = readdirSync(dir)
  .filter((f) => f.endsWith('.hex') && existsSync(join(dir, f.replace(/\.hex$/, '.xml'))))
  .map((f) => f.replace(/\.hex$/, ''));

const xml = new XMLParser({ ignoreAttributes: true, parseTagValue: true, isArray: (n) => n === 'DataRecord' });
const opts = { profile: 'auto', gatewayNow: Date.parse('2020-01-01T00:00:00Z'), clockToleranceMs: 1e15 };

function named(values: { quantity: string; value: number | null }[]): Record<string, number | null> {
  return Object.fromEntries(values.filter((v) => v.quantity in QUANTITIES).map((v) => [v.quantity, v.value]));
}

describe('libmbus test frames: native decode vs libmbus decode through the same profiles', () => {
  it('has test frames', () => expect(names.length).toBeGreaterThan(20));

  const agreed: string[] = [];
  it.each(names)('%s', (name) => {
    const bytes = Buffer.from(readFileSync(join(dir, `${name}.hex`), 'utf8').replace(/[^0-9a-fA-F]/g, ''), 'hex');
    let frame;
    try {
      frame = decodeFrame(bytes);
    } catch {
      return; // not a whole frame (libmbus keeps a few such cases); nothing to compare
    }
    if (frame.kind !== 'long') return;
    const ours = applyMbusProfile([decodeTelegram({ ci: frame.ci, data: frame.data })], opts);
    const lib = xml.parse(readFileSync(join(dir, `${name}.xml`), 'latin1')).MBusData;
    if (!lib?.SlaveInformation) return;
    const theirs = applyMbusProfile([libmbusToTelegram(lib)], opts);
    const a = named(ours.values);
    const b = named(theirs.values);
    // Same profile chosen from the same header.
    expect(theirs.profile).toBe(ours.profile);
    for (const [q, v] of Object.entries(a)) {
      if (!(q in b)) continue; // libmbus could not express this record (e.g. a VIFE it does not know)
      if (v === null || b[q] === null) expect(b[q]).toBe(v);
      else expect(b[q], q).toBeCloseTo(v, Math.max(0, 6 - Math.ceil(Math.log10(Math.abs(v) + 1))));
    }
    if (Object.keys(a).length > 0 && Object.keys(a).every((q) => q in b)) agreed.push(name);
  });

  it('agrees completely on most meters', () => {
    console.log(`named quantities identical through both decoders for ${agreed.length} of ${names.length} libmbus test frames`);
    expect(agreed.length).toBeGreaterThan(names.length / 3);
  });

  it('picks profiles by medium and manufacturer', () => {
    expect(chooseProfile('auto', { manufacturer: 'KAM', medium: 0x04 }).name).toBe('kamstrup-multical');
    expect(chooseProfile('auto', { manufacturer: 'XYZ', medium: 0x0c }).name).toBe('heat-meter');
    expect(chooseProfile('auto', { manufacturer: 'XYZ', medium: 0x16 }).name).toBe('water-meter');
    expect(chooseProfile('auto', { manufacturer: 'XYZ', medium: 0x00 }).name).toBe('generic');
    expect(() => chooseProfile('nope', {})).toThrow(/unknown meter profile "nope"/);
  });
});
