// ТВ7 register map and archive records against register images written out by hand from the
// encoding the map cites: IEEE 754 values with the LOW 16-bit word first (bytes big-endian inside a
// word), dates packed two bytes to a register, time counters as 16-bit integers.
import { describe, expect, it } from 'vitest';
import {
  GLOSSARY, QUANTITIES, REGISTER_MAPS, TV7, archiveSelectWords, decodeArchiveRecord, decodeRegisters, encodeArchiveRecord,
  encodeRegisters, nsCodesOf, nsFlagsOf, parseArchiveSelect, planReads, wordCount,
} from '@amr/protocols';

const GJ_KWH = 1e9 / 3.6e6;

/** Image words at `address…` in a plain object, as a master would have read them. */
function image(words: Record<number, number[]>): Map<number, number> {
  const m = new Map<number, number>();
  for (const [a, ws] of Object.entries(words)) ws.forEach((w, i) => m.set(Number(a) + i, w));
  return m;
}

function readAll(holding: Map<number, number>): Record<string, number> {
  const got: Record<string, number> = {};
  for (const b of planReads(TV7)) {
    const words = Array.from({ length: b.count }, (_, i) => holding.get(b.start + i) ?? 0);
    Object.assign(got, decodeRegisters(TV7, { fn: b.fn, start: b.start, words }));
  }
  return got;
}

describe('ТВ7 map', () => {
  it('is registered by id, names only contract quantities, and every assumed entry says so', () => {
    expect(REGISTER_MAPS.tv7).toBe(TV7);
    for (const e of TV7.entries) expect(e.name in QUANTITIES, e.name).toBe(true);
    for (const f of TV7.archives!.record.values) expect(f.name in QUANTITIES, f.name).toBe(true);
    expect(TV7.entries.filter((e) => e.assumed).map((e) => e.name).sort()).toEqual(['error_flags', 'error_time_s', 'operating_time_s']);
    expect(GLOSSARY.AbnormalSituation.ru).toMatch(/НС/);
  });

  it('the archive record layout fits its block and no two fields overlap', () => {
    const r = TV7.archives!.record;
    const used = new Set<number>();
    const fields = [...r.values, r.workingTime, r.nsTime, r.nsFlags!];
    for (let i = 0; i < r.time.words.length; i++) used.add(r.time.offset + i);
    for (const f of fields) {
      for (let i = 0; i < wordCount(f.type); i++) {
        expect(used.has(f.offset + i), `${f.name} overlaps at +${f.offset + i}`).toBe(false);
        used.add(f.offset + i);
      }
    }
    expect(Math.max(...used)).toBeLessThan(r.count);
  });

  it('decodes a current-values image written out by hand', () => {
    // 75.5 = 1.1796875·2^6: sign 0, exponent 127+6 = 0x85, mantissa .1796875 = 0x170000 → 0x4297_0000.
    // 42.25 = 1.3203125·2^5 → 0x4229_0000. 0.6 MPa → 0x3F19_999A; 0.4 MPa → 0x3ECC_CCCD.
    // 12.5 = 1.5625·2^3 → 0x4148_0000 (m³/h, and GJ/h for the power). Low word first in each pair.
    // 1234.5 GJ as a double: 1.20556640625·2^10 → 0x4093_4A00_0000_0000, words lowest first.
    // 1000 h of Тн = 0x03E8; 24 h of Тотс = 0x0018; НС word with bit 2 (Δt < Δtmin) = 0x0004.
    const holding = image({
      3543: [0x0000, 0x4297, 0x0000, 0x4229],
      3555: [0x999a, 0x3f19, 0xcccd, 0x3ecc],
      3567: [0x0000, 0x4148],
      3615: [0x0000, 0x4148],
      3467: [0x0000, 0x0000, 0x4a00, 0x4093],
      3479: [0x03e8, 0x0018],
      3840: [0x0004],
    });
    const got = readAll(holding);
    expect(got.flow_temp_c).toBe(75.5);
    expect(got.return_temp_c).toBe(42.25);
    expect(got.pressure_bar).toBe(6);
    expect(got.return_pressure_bar).toBe(4);
    expect(got.volume_flow_m3h).toBe(12.5);
    expect(got.power_w).toBeCloseTo((12.5 * 1e9) / 3600, 6);
    expect(got.energy_kwh).toBeCloseTo(1234.5 * GJ_KWH, 6);
    expect(got.operating_time_s).toBe(1000 * 3600);
    expect(got.error_time_s).toBe(24 * 3600);
    expect(nsCodesOf(TV7, got.error_flags)).toEqual(['dt_low']);
  });

  it('encodes current values into the same words a master decodes back', () => {
    const values = { flow_temp_c: 75.5, return_temp_c: 42.25, energy_kwh: 1234.5 * GJ_KWH, operating_time_s: 1000 * 3600, error_flags: 0b1001 };
    const img = encodeRegisters(TV7, values).holding;
    expect([img.get(3543), img.get(3544)]).toEqual([0x0000, 0x4297]);
    expect([3467, 3468, 3469, 3470].map((a) => img.get(a))).toEqual([0x0000, 0x0000, 0x4a00, 0x4093]);
    const got = readAll(img);
    expect(got.energy_kwh).toBeCloseTo(values.energy_kwh, 6);
    expect(nsCodesOf(TV7, got.error_flags)).toEqual(['flow_low', 'power_off']);
  });
});

describe('ТВ7 archive records', () => {
  /** The hour 13:00 of 15 January 2026, hand-packed: month·day = 0x01·0x0F, hour·year = 0x0D·0x1A (26). */
  const handRecord = (): number[] => {
    const w = new Array<number>(90).fill(0);
    w[0] = 0x010f;
    w[1] = 0x0d1a;
    w.splice(2, 2, 0x0000, 0x4297); // t1 mean 75.5 °C
    w.splice(6, 2, 0x0000, 0x4020); // V1 2.5 m³ (1.25·2^1 → 0x4020_0000)
    w.splice(10, 2, 0x0000, 0x4229); // t2 mean 42.25 °C
    w.splice(60, 2, 0x0000, 0x3e00); // Qтв 0.125 GJ (2^-3 → exponent 124 = 0x7C → 0x3E00_0000)
    w[66] = 45; // Тн 45 min
    w[67] = 15; // Тотс 15 min
    w[88] = 0x0004 | 0x0008; // Δt < Δtmin and power off during the hour
    return w;
  };

  it('decodes an hourly record written out by hand', () => {
    const rec = decodeArchiveRecord(TV7, 'hourly', handRecord());
    expect(rec.time).toBe('2026-01-15T13:00:00');
    expect(rec.stamp).toBe('start');
    expect(rec.seconds).toBe(3600);
    expect(rec.values.flow_temp_mean_c).toBe(75.5);
    expect(rec.values.return_temp_mean_c).toBe(42.25);
    expect(rec.values.volume_delta_m3).toBe(2.5);
    expect(rec.values.energy_delta_kwh).toBeCloseTo(0.125 * GJ_KWH, 9);
    expect(rec.workingSeconds).toBe(45 * 60);
    expect(rec.nsSeconds).toBe(15 * 60);
    expect(rec.workingSeconds + rec.nsSeconds).toBe(rec.seconds);
    expect(rec.nsCodes).toEqual(['dt_low', 'power_off']);
  });

  it('an encoded record reads back as itself', () => {
    const r = {
      time: { year: 2026, month: 2, day: 28, hour: 0 },
      values: { flow_temp_mean_c: 70.25, return_temp_mean_c: 51.5, volume_delta_m3: 31.75, energy_delta_kwh: 812.5, temp_diff_mean_k: 18.75 },
      nsCodes: ['flow_high'],
      workingSeconds: 1380 * 60,
      nsSeconds: 60 * 60,
    };
    const words = encodeArchiveRecord(TV7, r);
    expect(words.slice(0, 2)).toEqual([0x021c, 0x001a]);
    const back = decodeArchiveRecord(TV7, 'daily', words);
    expect(back.time).toBe('2026-02-28T00:00:00');
    expect(back.values.flow_temp_mean_c).toBe(70.25);
    expect(back.values.volume_delta_m3).toBe(31.75);
    expect(back.values.energy_delta_kwh).toBeCloseTo(812.5, 3); // float32 GJ: 7 significant digits
    expect(back.nsCodes).toEqual(['flow_high']);
    expect(back.workingSeconds + back.nsSeconds).toBe(86_400);
  });

  it('an unwritten slot (0xFFFF words) is no record, not a record of 2255-255-255', () => {
    expect(() => decodeArchiveRecord(TV7, 'hourly', new Array(90).fill(0xffff))).toThrow(/no valid timestamp/);
  });

  it('a short block is refused instead of decoding zeros', () => {
    expect(() => decodeArchiveRecord(TV7, 'hourly', handRecord().slice(0, 88))).toThrow(/90 words/);
  });

  it('select words ask for a record by its date and archive code, and parse back on the slave side', () => {
    const t = { year: 2026, month: 1, day: 15, hour: 13 };
    expect(archiveSelectWords(TV7, 'hourly', t)).toEqual([0x010f, 0x0d1a, 0x0000, 0x0000, 0x0000]);
    expect(archiveSelectWords(TV7, 'daily', t)).toEqual([0x010f, 0x0d1a, 0x0000, 0x0001, 0x0000]);
    const sel = parseArchiveSelect(TV7, archiveSelectWords(TV7, 'daily', t));
    expect(sel.kind).toBe('daily');
    expect(sel.time).toMatchObject(t);
    expect(() => parseArchiveSelect(TV7, [0x010f, 0x0d1a, 0, 0x0007, 0])).toThrow(/unknown archive code 7/);
  });

  it('an НС code the map does not know is an error, not a silently dropped bit', () => {
    expect(() => nsFlagsOf(TV7, ['meteor'])).toThrow(/no НС code "meteor"/);
    expect(nsCodesOf(TV7, 1 << 9)).toEqual(['bit9']);
  });
});
