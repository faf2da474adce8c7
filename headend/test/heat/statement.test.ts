/**
 * The statement composer (src/heat/statement.ts), pure: hourly records summed to days, temperatures
 * weighted by mass (or plain means when a mass is missing), off time calculated, a day without a
 * record left empty, and the totals as sums of the rounded days. Values worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { composeStatement, type LoadedRecord } from '../../src/heat/statement.js';

const JAN = Date.parse('2025-12-31T21:00:00Z'); // 1 January 2026, 00:00 Moscow
const H = 3600_000;
function hourly(dayHour: string, h: number, values: LoadedRecord['values'], codes: string[] = []): LoadedRecord {
  const next = `${dayHour.slice(0, 11)}${String(Number(dayHour.slice(11, 13)) + 1).padStart(2, '0')}:00`;
  return { kind: 'hourly', startMs: JAN + h * H, seconds: 3600, localStart: dayHour, localEnd: next, codes, values: { operating_time_delta_s: 3600, error_time_delta_s: 0, ...values } };
}

describe('the statement from hourly records', () => {
  const recs = [
    hourly('2026-01-01T00:00', 0, { flow_temp_mean_c: 70, mass_delta_t: 2, return_temp_mean_c: 40, return_mass_delta_t: 2, energy_delta_kwh: 10 }),
    hourly('2026-01-01T01:00', 1, { flow_temp_mean_c: 72, mass_delta_t: 3, return_temp_mean_c: 41, return_mass_delta_t: 1, energy_delta_kwh: 12 }),
    // Off the whole hour: no temperatures, nothing counted.
    hourly('2026-01-01T02:00', 2, { mass_delta_t: 0, return_mass_delta_t: 0, energy_delta_kwh: 0, operating_time_delta_s: 0 }, ['power_off']),
    // 2 January: one hour without its mass → the day's t1 is a plain mean.
    hourly('2026-01-02T00:00', 24, { flow_temp_mean_c: 65, energy_delta_kwh: 5 }),
    hourly('2026-01-02T01:00', 25, { flow_temp_mean_c: 66, mass_delta_t: 1, energy_delta_kwh: 6 }),
  ];
  const s = composeStatement('2026-01', JAN, recs);

  it('sums the hours to days; t weighted by mass; the off hour gets the mean of the normal hours before', () => {
    expect(s.source).toBe('hourly');
    expect(s.rows).toHaveLength(31);
    expect(s.rows[0]).toEqual({
      date: '2026-01-01', records: 3,
      t1: 71.2, // (70×2 + 72×3) / 5 = 356 / 5; the off hour has no t1
      t2: 40.33, // (40×2 + 41×1) / 3 = 40.333…
      m1: 5, m2: 3, dm: 2,
      qKwh: 33, // 10 + 12 + (10 + 12) / 2 for the off hour
      qGcal: 0.028, // 33 / 1163 = 0.02837…
      qMeasuredKwh: 22, qCalculatedKwh: 11,
      workingHours: 2, nsHours: 0, ns: true, rejected: 0,
    });
    expect(s.rows[1]).toMatchObject({ date: '2026-01-02', t1: 65.5, t2: null, m1: 1, m2: null, dm: null, qKwh: 11, qGcal: 0.009, ns: false });
    // A day without a record: nothing, not zeros.
    expect(s.rows[2]).toEqual({ date: '2026-01-03', records: 0, t1: null, t2: null, m1: null, m2: null, dm: null, qKwh: null, qGcal: null, qMeasuredKwh: null, qCalculatedKwh: null, workingHours: null, nsHours: null, ns: false, rejected: 0 });
  });

  it('totals: sums of the rounded days; t over every record (plain mean: one has no mass)', () => {
    expect(s.totals).toEqual({
      records: 5,
      t1: 68.25, // (70 + 72 + 65 + 66) / 4
      t2: 40.33, // only 1 January's two hours have t2: (40×2 + 41×1) / 3
      m1: 6, m2: 3, dm: 2, qKwh: 44, qGcal: 0.037, qMeasuredKwh: 33, qCalculatedKwh: 11, workingHours: 4, nsHours: 0,
    });
    expect(s.ns.map((n) => [n.from, n.to, n.codes, n.reasons.map((r) => r.code)])).toEqual([
      ['2026-01-01T02:00', '2026-01-01T03:00', ['power_off'], ['ns_power_off', 'ns_power_off']],
    ]);
    expect(s.ns[0].text).toBe('Отключение питания тепловычислителя; Отключение питания тепловычислителя: 1 ч; Q за 1 ч рассчитано по среднечасовому Q нормальной работы (11 кВт·ч/ч): +11 кВт·ч');
    expect(s.calculated).toEqual(s.ns);
  });

  it("a day's daily record wins over its hourly ones; a day without one keeps its hours; a month without records says so", () => {
    const daily: LoadedRecord = { kind: 'daily', startMs: JAN, seconds: 86_400, localStart: '2026-01-01T00:00', localEnd: '2026-01-02T00:00', codes: [], values: { energy_delta_kwh: 250, operating_time_delta_s: 86_400, error_time_delta_s: 0 } };
    const both = composeStatement('2026-01', JAN, [...recs, daily]);
    // 1 January: the daily record's 250 kWh (its three hours set aside); 2 January: its two hours, 5 + 6 = 11.
    expect([both.source, both.records, both.rows[0].qKwh, both.rows[0].records, both.rows[1].qKwh, both.rows[1].records]).toEqual(['mixed', 3, 250, 1, 11, 2]);
    expect(both.totals).toMatchObject({ records: 3, qKwh: 261, workingHours: 24 + 2 });
    const dailyOnly = composeStatement('2026-01', JAN, [daily]);
    expect([dailyOnly.source, dailyOnly.rows[0].qKwh, dailyOnly.rows[1].qKwh]).toEqual(['daily', 250, null]);
    const none = composeStatement('2026-02', Date.parse('2026-01-31T21:00:00Z'), recs);
    expect(none).toMatchObject({ source: null, records: 0, rows: [], totals: null });
    expect(none.message).toMatch(/no archive records .* 2026-02/);
  });

  it('a rejected record is missing data: a rejected daily record gives way to its hours; a rejected hour is left out, not calculated', () => {
    const daily: LoadedRecord = { kind: 'daily', startMs: JAN, seconds: 86_400, localStart: '2026-01-01T00:00', localEnd: '2026-01-02T00:00', codes: [], values: { energy_delta_kwh: 250, operating_time_delta_s: 86_400, error_time_delta_s: 0 },
      rejected: { by: 'petrova', reason: 'сутки записаны дважды' } };
    // 1 January: the daily record rejected → its three hours as without it (33 kWh, 2 h); the day says 1 left out.
    const s1 = composeStatement('2026-01', JAN, [...recs, daily]);
    expect([s1.source, s1.rows[0].qKwh, s1.rows[0].records, s1.rows[0].workingHours, s1.rows[0].rejected, s1.rows[1].rejected]).toEqual(['hourly', 33, 3, 2, 1, 0]);
    expect(s1.rejected).toEqual([{ from: '2026-01-01T00:00', to: '2026-01-02T00:00', kind: 'daily', by: 'petrova', reason: 'сутки записаны дважды' }]);
    // 2 January 01:00 rejected: 5 kWh of the remaining hour, 1 h; nothing calculated for the hour left out.
    const s2 = composeStatement('2026-01', JAN, recs.map((r) => (r.localStart === '2026-01-02T01:00' ? { ...r, rejected: { by: 'petrova', reason: 'скачок' } } : r)));
    expect([s2.rows[1].qKwh, s2.rows[1].qCalculatedKwh, s2.rows[1].records, s2.rows[1].workingHours, s2.rows[1].rejected]).toEqual([5, 0, 1, 1, 1]);
    // The totals do not carry the count (signed totals compare as before): 33 + 5 = 38 kWh over 4 records.
    expect(s2.totals).toMatchObject({ records: 4, qKwh: 38 });
    expect(s2.totals).not.toHaveProperty('rejected');
    // Every record of the month rejected: nothing to state, and the message says why.
    const all = composeStatement('2026-01', JAN, recs.map((r) => ({ ...r, rejected: { by: 'petrova', reason: 'не наш прибор' } })));
    expect([all.source, all.totals, all.rows.length]).toEqual([null, null, 0]);
    expect(all.message).toBe('no archive records of the meter for 2026-01 but 5 rejected on review: nothing to state (no values, not zeros)');
  });
});
