/**
 * Heating by area, pure maths, worked examples: the month's volume by each method of the rules, the
 * per-premise year-end correction, the rules' heating defaults, heat in Gcal from kWh registers.
 */
import { describe, it, expect } from 'vitest';
import {
  annualHeatingCorrection, annualHeatingCorrectionByPremise, BillingRules, heatingMonthVolume, heatingShare, KWH_PER_GCAL, toBillingUnit, billingUnit,
} from '../../src/billing/index.js';

const season = [1, 2, 3, 4, 10, 11, 12];
const premises = [{ premiseId: 'a', area: 40 }, { premiseId: 'b', area: 60 }, { premiseId: 'shop', area: 50 }];

describe('heating: the month\'s volume by method', () => {
  it('monthly_actual: the building meter\'s heat of the month, in and out of season', () => {
    expect(heatingMonthVolume({ method: 'monthly_actual', month: 1, seasonMonths: season, monthHeat: 150, lastYearHeat: null })).toEqual({ volume: 150 });
    expect(heatingMonthVolume({ method: 'monthly_actual', month: 7, seasonMonths: season, monthHeat: 4, lastYearHeat: null })).toEqual({ volume: 4 });
    expect(heatingMonthVolume({ method: 'monthly_actual', month: 1, seasonMonths: season, monthHeat: null, lastYearHeat: 1000 })).toEqual({ volume: null, missing: 'month' });
  });
  it('heating_season: only in the season months; nothing (and nothing missing) outside', () => {
    expect(heatingMonthVolume({ method: 'heating_season', month: 10, seasonMonths: season, monthHeat: 90, lastYearHeat: null })).toEqual({ volume: 90 });
    expect(heatingMonthVolume({ method: 'heating_season', month: 7, seasonMonths: season, monthHeat: 4, lastYearHeat: null })).toEqual({ volume: null, missing: null });
  });
  it('even_over_year: last year\'s heat / 12 every month, whatever this month measured', () => {
    // 1 230 Gcal last year → 102.5 Gcal a month, July included.
    expect(heatingMonthVolume({ method: 'even_over_year', month: 7, seasonMonths: season, monthHeat: 3, lastYearHeat: 1230 })).toEqual({ volume: 102.5 });
    expect(heatingMonthVolume({ method: 'even_over_year', month: 1, seasonMonths: season, monthHeat: 150, lastYearHeat: null })).toEqual({ volume: null, missing: 'last_year' });
  });
  it('the month\'s volume shared by area: 150 Gcal over 40 / 60 / 50 m² → 40 / 60 / 50 Gcal', () => {
    expect(heatingShare({ kind: 'season', monthHeat: 150 }, premises).map((p) => p.volume)).toEqual([40, 60, 50]);
  });
});

describe('heating: year-end correction of even_over_year', () => {
  it('per premise: area share of the actual year − what it was charged', () => {
    // Actual 1 500 Gcal over 150 m²: shares 400 / 600 / 500. Charged 12 × 30, 12 × 45, 12 × 37.5 = 360 / 540 / 450.
    const charged = new Map([['a', 360], ['b', 540], ['shop', 450]]);
    expect(annualHeatingCorrectionByPremise(1500, premises, charged).map((c) => [c.premiseId, c.volume])).toEqual([['a', 40], ['b', 60], ['shop', 50]]);
    // Same areas all year: equals the building-level correction (actual − charged, by area).
    expect(annualHeatingCorrection(1500, 1350, premises).map((c) => c.volume)).toEqual([40, 60, 50]);
    // A premise charged nothing (joined this year) gets its whole share; an over-charged one a credit.
    const c2 = annualHeatingCorrectionByPremise(1500, premises, new Map([['a', 420], ['b', 540]]));
    expect(c2.map((c) => c.volume)).toEqual([-20, 60, 500]);
  });
});

describe('heating: rules and units', () => {
  it('defaults follow the domain: monthly actual from the building meter, season October–April, correction in January', () => {
    const r = BillingRules.parse({ effectiveFrom: '2025-01-01' });
    expect(r.heating).toEqual({ method: 'monthly_actual', seasonMonths: [1, 2, 3, 4, 10, 11, 12], correctionMonth: 1, averageMaxPeriods: 3 });
    const e = BillingRules.parse({ effectiveFrom: '2025-01-01', heating: { method: 'even_over_year', correctionMonth: 3 } });
    expect(e.heating).toEqual({ method: 'even_over_year', seasonMonths: [1, 2, 3, 4, 10, 11, 12], correctionMonth: 3, averageMaxPeriods: 3 });
    expect(() => BillingRules.parse({ effectiveFrom: '2025-01-01', heating: { method: 'by_guess' } })).toThrow(/method/);
    expect(() => BillingRules.parse({ effectiveFrom: '2025-01-01', heating: { seasonMonths: [13] } })).toThrow();
  });
  it('heat registers in kWh are billed in Gcal (1 Gcal = 1163 kWh); other resources as they are', () => {
    expect(KWH_PER_GCAL).toBe(1163);
    expect(toBillingUnit('heat', 116_300)).toBe(100);
    expect(toBillingUnit('cold_water', 7.5)).toBe(7.5);
    expect([billingUnit('heat'), billingUnit('electricity'), billingUnit('hot_water')]).toEqual(['Gcal', 'kWh', 'm3']);
  });
});
