/**
 * The amr-mbus bin, spawned as users run it (node protocols/bin/amr-mbus.js) against the
 * compiled dist/ (built once here with `tsc -b protocols`).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync, execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIBMBUS_DIR } from '../mbus/corpus-helpers.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(root, 'protocols/bin/amr-mbus.js');
const frame = (name: string) => join(LIBMBUS_DIR, 'frames', name);

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, input, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'protocols'], { cwd: root, stdio: 'pipe' });
}, 120_000);

describe('amr-mbus decode', () => {
  it('prints the canonical JSON of a frame file', () => {
    const r = run(['decode', frame('ACW_Itron-BM-plus-m.hex')]);
    expect(r.code).toBe(0);
    const t = JSON.parse(r.out);
    expect(t.header).toMatchObject({ id: '11490378', manufacturer: 'ACW', version: 14, medium: 'cold_water', accessNumber: 10 });
    expect(t.records[1]).toMatchObject({ quantity: 'volume', unit: 'm3', value: 54.321 });
    expect(t.manufacturerData).toBe('00 01 75 13');
  });

  it('prints the libmbus shape with --format libmbus, reading stdin', () => {
    const hex = execFileSync('cat', [frame('ACW_Itron-BM-plus-m.hex')], { encoding: 'utf8' });
    const r = run(['decode', '-', '--format', 'libmbus'], hex);
    expect(r.code).toBe(0);
    const l = JSON.parse(r.out);
    expect(l.SlaveInformation).toMatchObject({ Id: '11490378', Manufacturer: 'ACW', ProductName: 'Itron BM +m', Medium: 'Cold water' });
    expect(l.DataRecord[1]).toMatchObject({ Quantity: 'Volume', Unit: 'm^3', Value: 54.321 });
    expect(l.DataRecord[8]).toMatchObject({ Function: 'Manufacturer specific', Value: '00 01 75 13' });
  });

  it('prints an array for a capture of several frames (multi-telegram readout)', () => {
    const hex = ['ELV-Elvaco-CMa10.hex', 'ACW_Itron-BM-plus-m.hex'].map((f) => execFileSync('cat', [frame(f)], { encoding: 'utf8' })).join(' E5 ');
    const r = run(['decode', '-', '--compact'], hex);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    expect(out.map((t: { header: { manufacturer: string } }) => t.header.manufacturer)).toEqual(['ELV', 'ACW']);
    expect(out[0].moreRecordsFollow).toBe(true);
  });

  it('exits 1 with the offset and problem on a broken frame', () => {
    const r = run(['decode', '-'], '68 08 08 68 08 02 72 78 56 34 12 24 B4 16');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/short_header: long header needs 12 bytes, user data has 5 at offset 12/);
    expect(r.out).toBe('');
  });

  it('exits 1 on text that is not hex, naming the character', () => {
    const r = run(['decode', '-'], '68 0G');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not hex: unexpected "G"/);
  });

  it('exits 3 and still prints the records read when the telegram breaks mid-way', () => {
    const r = run(['decode', join(LIBMBUS_DIR, 'error-frames/premature_end_of_data1.hex')]);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.out).records).toHaveLength(2);
    expect(r.err).toMatch(/premature end of data .* at offset 32/);
  });

  it('exits 2 with usage on a wrong command or option', () => {
    expect(run(['encode', 'x']).code).toBe(2);
    const r = run(['decode', 'x', '--format', 'xml']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--format must be json or libmbus/);
  });

  it('exits 1 naming a missing file', () => {
    const r = run(['decode', '/nonexistent/frame.hex']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot read \/nonexistent\/frame.hex/);
  });
});
