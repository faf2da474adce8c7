/**
 * ОДН by ПП 354 appendix 2 formulas 10–11 and the heating fallback of п. 59(1)/60(1), pure maths,
 * worked as a billing auditor would: the area base over all premises (a shop's area included, a
 * premise without area reported), each premise's share and its own cap, a negative volume, and the
 * building heat meter's season average for up to 3 months without a reading, then the norm per m².
 */
import { describe, it, expect } from 'vitest';
import { amount, areaBase, billedByArea, commonHouseVolume, heatingFallback, type PremiseArea } from '../../src/billing/index.js';

// The auditor's building: flats of 50, 60, 50, 60 m² (220 m² residential) and a shop of 30 m².
const building: PremiseArea[] = [
  { premiseId: 'f1', number: '1', kind: 'residential', area: 50, accountId: 'A1' },
  { premiseId: 'f2', number: '2', kind: 'residential', area: 60, accountId: 'A2' },
  { premiseId: 'f3', number: '3', kind: 'residential', area: 50, accountId: 'A3' },
  { premiseId: 'f4', number: '4', kind: 'residential', area: 60, accountId: 'A4' },
  { premiseId: 'shop', number: 'Н-1', kind: 'non_residential', area: 30, accountId: 'S1' },
];
const CW = 50.93; // ₽/m³

describe('the area base', () => {
  it('is every premise with an area, residential and non-residential: 220 + 30 = 250 m²', () => {
    const b = areaBase(building);
    expect([b.totalArea, b.residentialArea, b.nonResidentialArea]).toEqual([250, 220, 30]);
    expect(b.premises.map((p) => p.premiseId)).toEqual(['f1', 'f2', 'f3', 'f4', 'shop']);
    expect(b.withoutArea).toEqual([]);
  });
  it('a careless office: a flat entered without area (and one with 0 m²) is reported, takes no share, and S_total stays 250', () => {
    const b = areaBase([...building, { premiseId: 'f5', number: '5', kind: 'residential', area: null, accountId: 'A5' }, { premiseId: 'f6', number: '6', kind: 'residential', area: 0, accountId: null }]);
    expect(b.totalArea).toBe(250);
    expect(b.withoutArea).toEqual([{ premiseId: 'f5', number: '5', kind: 'residential' }, { premiseId: 'f6', number: '6', kind: 'residential' }]);
  });
  it('a premise without an account of ours keeps its area in the base and is reported as not billed', () => {
    const b = areaBase(building.map((p) => (p.premiseId === 'shop' ? { ...p, accountId: null } : p)));
    expect(b.totalArea).toBe(250);
    expect(b.withoutAccount).toEqual([{ premiseId: 'shop', number: 'Н-1', kind: 'non_residential' }]);
  });
  it('heat is billed by area only with a building heat meter and no apartment heat meter', () => {
    expect(billedByArea('heat', { building: 1, apartment: 0 })).toBe(true);
    expect(billedByArea('heat', { building: 1, apartment: 3 })).toBe(false);
    expect(billedByArea('heat', { building: 0, apartment: 0 })).toBe(false);
    // Cold water without apartment meters is charged by norm per resident, not by area.
    expect(billedByArea('cold_water', { building: 1, apartment: 0 })).toBe(false);
  });
});

describe('ОДН, formulas 10–11', () => {
  const premises = areaBase(building).premises;
  it('ОДПУ 30 − flats 20 − shop 2 = 8 m³ shared over 250 m², the shop on its own account', () => {
    const r = commonHouseVolume({ buildingConsumption: 30, apartmentsConsumption: 20, nonResidentialConsumption: 2, premises, capVolume: null, negativePolicy: 'zero' });
    expect(r.volume).toBe(8);
    expect(r.totalArea).toBe(250);
    // 8 × 50/250 = 1.6; 8 × 60/250 = 1.92; shop 8 × 30/250 = 0.96 m³ (residential-only would give the
    // 50 m² flat 8 × 50/220 = 1.818 m³: 13.6 % too much).
    const shares = r.perPremise.map((p) => [p.premiseId, Math.round(p.volume * 1e9) / 1e9]);
    expect(shares).toEqual([['f1', 1.6], ['f2', 1.92], ['f3', 1.6], ['f4', 1.92], ['shop', 0.96]]);
    expect(r.billedVolume).toBeCloseTo(8, 9);
    // In kopecks at 50.93 ₽/m³: 1.6 → 81.488 → 81.49 ₽; 1.92 → 97.7856 → 97.79 ₽; 0.96 → 48.8928 → 48.89 ₽.
    const kop = r.perPremise.map((p) => amount(p.volume, CW));
    expect(kop).toEqual([8149, 9779, 8149, 9779, 4889]);
    // The bill is the sum of rounded lines: 407.45 ₽, a kopeck over 8 × 50.93 = 407.44 ₽.
    expect(kop.reduce((s, k) => s + k, 0)).toBe(40745);
  });
  it('each premise is capped at norm × common area × Sᵢ / S_total; the excess is reported, not billed', () => {
    // Norm 0.03 m³/m² × common area 100 m² = 3 m³ for the building; per premise 3 × Sᵢ/250.
    const r = commonHouseVolume({ buildingConsumption: 30, apartmentsConsumption: 20, nonResidentialConsumption: 2, premises, capVolume: 0.03 * 100, negativePolicy: 'zero' });
    const round = (x: number) => Math.round(x * 1e9) / 1e9;
    // Flat 50 m²: share 1.6, cap 3 × 50/250 = 0.6 → billed 0.6, excess 1.0. Flat 60 m²: 1.92, cap 0.72,
    // excess 1.2. Shop 30 m²: 0.96, cap 0.36, excess 0.6.
    expect(r.perPremise.map((p) => [p.premiseId, round(p.share), round(p.cap!), round(p.volume), round(p.excess)])).toEqual([
      ['f1', 1.6, 0.6, 0.6, 1], ['f2', 1.92, 0.72, 0.72, 1.2], ['f3', 1.6, 0.6, 0.6, 1], ['f4', 1.92, 0.72, 0.72, 1.2], ['shop', 0.96, 0.36, 0.36, 0.6],
    ]);
    // Billed 0.6 + 0.72 + 0.6 + 0.72 + 0.36 = 3 m³; excess 8 − 3 = 5 m³ (1 + 1.2 + 1 + 1.2 + 0.6).
    expect(r.billedVolume).toBeCloseTo(3, 9);
    expect(r.excessOverCap).toBeCloseTo(5, 9);
    // 0.6 × 50.93 = 30.558 → 30.56 ₽; 0.72 × 50.93 = 36.6696 → 36.67 ₽; 0.36 × 50.93 = 18.3348 → 18.33 ₽.
    expect(r.perPremise.map((p) => amount(p.volume, CW))).toEqual([3056, 3667, 3056, 3667, 1833]);
  });
  it('three equal flats over a 2 m³ cap: each billed its rounded cap 0.666667, so Σ billed is 2.000001 — the summary says the Σ of the lines', () => {
    // Caps 2 × 1/3 = 0.6666666… → 0.666667 each (half up at 6 decimals); shares 8 × 1/3 = 2.666667; excess 2 each.
    // The rule bills each premise its own rounded cap, so Σ billed = 3 × 0.666667 = 2.000001 m³, a millionth over the
    // building's 2 m³ (3.1e-7 ₽ a line at 50.93 ₽: nothing on any bill); billedVolume and excessOverCap are the Σ of the
    // premises' rounded figures, exactly what the lines carry, not the building's cap and V.
    const three = ['a', 'b', 'c'].map((id) => ({ premiseId: id, area: 40 }));
    const r = commonHouseVolume({ buildingConsumption: 28, apartmentsConsumption: 20, nonResidentialConsumption: 0, premises: three, capVolume: 2, negativePolicy: 'zero' });
    expect(r.perPremise.map((p) => [p.share, p.cap, p.volume, p.excess])).toEqual([[2.666667, 0.666667, 0.666667, 2], [2.666667, 0.666667, 0.666667, 2], [2.666667, 0.666667, 0.666667, 2]]);
    expect(r).toMatchObject({ volume: 8, billedVolume: 2.000001, excessOverCap: 6 });
    // 0.666667 × 50.93 = 33.95335031 → 33.95 ₽ a flat; 3 × 33.95 = 101.85 ₽ (2 m³ × 50.93 = 101.86 ₽ would be the building's cap priced whole).
    expect(r.perPremise.map((p) => amount(p.volume, CW))).toEqual([3395, 3395, 3395]);
  });
  it('a premise under its cap pays its whole share; only the one over it is cut', () => {
    // V = 2 m³ over 250 m², cap 3 m³: 2 × 50/250 = 0.4 < 0.6 and so on — no premise is over its cap.
    const r = commonHouseVolume({ buildingConsumption: 24, apartmentsConsumption: 20, nonResidentialConsumption: 2, premises, capVolume: 3, negativePolicy: 'zero' });
    expect(r.excessOverCap).toBe(0);
    expect(r.perPremise[0].volume).toBeCloseTo(0.4, 9);
  });
  it('a negative volume bills nothing and is reported', () => {
    // ОДПУ 18 − flats 20 − shop 2 = −4 m³: no premise is charged (nor credited under the default policy).
    const r = commonHouseVolume({ buildingConsumption: 18, apartmentsConsumption: 20, nonResidentialConsumption: 2, premises, capVolume: 3, negativePolicy: 'zero' });
    expect(r).toMatchObject({ volume: -4, negative: true, billedVolume: 0, excessOverCap: 0 });
    expect(r.perPremise.every((p) => p.volume === 0 && p.excess === 0)).toBe(true);
  });
  it('a credit (policy credit) is shared by area and never cut by the cap', () => {
    // −4 × 50/250 = −0.8; −4 × 30/250 = −0.48; the cap of 0.6 does not apply to a credit.
    const r = commonHouseVolume({ buildingConsumption: 18, apartmentsConsumption: 20, nonResidentialConsumption: 2, premises, capVolume: 3, negativePolicy: 'credit' });
    expect(r.perPremise[0].volume).toBeCloseTo(-0.8, 9);
    expect(r.perPremise[4].volume).toBeCloseTo(-0.48, 9);
    expect(r.billedVolume).toBeCloseTo(-4, 9);
  });
});

describe('heating without a building meter reading (п. 59(1), 60(1))', () => {
  const season = [1, 2, 3, 4, 10, 11, 12];
  // October–December 2025 measured 90, 120, 150 Gcal; summer months measured little.
  const history = (tail: Array<number | null>) => [
    { month: '2025-02', heat: null }, { month: '2025-03', heat: null }, { month: '2025-04', heat: null }, { month: '2025-05', heat: 5 },
    { month: '2025-06', heat: 2 }, { month: '2025-07', heat: 1 }, { month: '2025-08', heat: 1 }, { month: '2025-09', heat: 3 },
    { month: '2025-10', heat: 90 }, { month: '2025-11', heat: 120 }, { month: '2025-12', heat: 150 }, ...tail.map((heat, i) => ({ month: `2026-0${i + 1}`, heat })),
  ].slice(-12);
  const base = { month: 1, seasonMonths: season, averageMaxPeriods: 3, normPerM2: 0.02, totalArea: 250 };

  it('January without a reading: the average of the season months measured, named', () => {
    // (90 + 120 + 150) / 3 = 120 Gcal; the summer months are not averaged in.
    expect(heatingFallback({ ...base, history: history([]) })).toEqual({ kind: 'building_average', volume: 120, months: ['2025-10', '2025-11', '2025-12'], monthsWithoutReadingBefore: 0 });
  });
  it('the average stands in for 3 consecutive months; the 4th is charged by the norm × area', () => {
    // March: January and February already without a reading (2 before) → still the average.
    expect(heatingFallback({ ...base, month: 3, history: history([null, null]) })).toMatchObject({ kind: 'building_average', volume: 120, monthsWithoutReadingBefore: 2 });
    // April: January–March without (3 before) → norm 0.02 Gcal/m² × 250 m² = 5 Gcal.
    expect(heatingFallback({ ...base, month: 4, history: history([null, null, null]) })).toEqual({ kind: 'norm', volume: 5, normPerM2: 0.02, totalArea: 250, monthsWithoutReadingBefore: 3 });
  });
  it('a reading in between starts the count again', () => {
    expect(heatingFallback({ ...base, month: 4, history: history([null, null, 80]) })).toMatchObject({ kind: 'building_average', monthsWithoutReadingBefore: 0 });
  });
  it('a meter that never measured a season month: the norm at once; without a norm nothing, with the reason', () => {
    const none = Array.from({ length: 12 }, (_, i) => ({ month: `2025-${String(i + 1).padStart(2, '0')}`, heat: null }));
    expect(heatingFallback({ ...base, history: none })).toMatchObject({ kind: 'norm', volume: 5 });
    expect(heatingFallback({ ...base, history: none, normPerM2: null })).toMatchObject({ kind: 'none', reason: expect.stringMatching(/heating_m2/) });
  });
  it('a summer month averages the summer months only, and never falls to the heating norm', () => {
    // July 2026 without a reading; the months outside the season among the last twelve (July 2025 –
    // June 2026) measured: July 1, August 1, September 3 (2025), May 4, June 3 (2026).
    const h = [
      { month: '2025-07', heat: 1 }, { month: '2025-08', heat: 1 }, { month: '2025-09', heat: 3 }, { month: '2025-10', heat: 90 },
      { month: '2025-11', heat: 120 }, { month: '2025-12', heat: 150 }, { month: '2026-01', heat: 160 }, { month: '2026-02', heat: 140 },
      { month: '2026-03', heat: 100 }, { month: '2026-04', heat: 60 }, { month: '2026-05', heat: 4 }, { month: '2026-06', heat: 3 },
    ];
    // (1 + 1 + 3 + 4 + 3) / 5 = 2.4 Gcal.
    expect(heatingFallback({ ...base, month: 7, history: h })).toEqual({ kind: 'building_average', volume: 2.4, months: ['2025-07', '2025-08', '2025-09', '2026-05', '2026-06'], monthsWithoutReadingBefore: 0 });
    const dark = h.map((x) => ({ ...x, heat: x.month >= '2026-04' ? null : x.heat }));
    expect(heatingFallback({ ...base, month: 7, history: dark })).toMatchObject({ kind: 'none', reason: expect.stringMatching(/outside the heating season/) });
  });
});
