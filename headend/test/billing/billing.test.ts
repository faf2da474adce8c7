import { describe, it, expect } from 'vitest';
import {
  charge, tariffFor, accrueAccount, BillingRules, rulesFor, preferredReading, commonHouseVolume, heatingShare, annualHeatingCorrection,
  adjustmentLines, amount, type TariffVersion, type AccountBillingInput, type MonthHistory,
} from '../../src/billing/index.js';

const d = (s: string) => new Date(s);
const jan = { start: d('2026-01-01T00:00:00Z'), end: d('2026-02-01T00:00:00Z') };

const tariffs: TariffVersion[] = [
  { resource: 'cold_water', validFrom: d('2025-07-01'), tariff: { kind: 'single', price: 50.93 } },
  { resource: 'cold_water', validFrom: d('2026-07-01'), tariff: { kind: 'single', price: 55 } },
  { resource: 'hot_water', validFrom: d('2025-07-01'), tariff: { kind: 'single', price: 250.5 } },
  { resource: 'electricity', validFrom: d('2025-07-01'), tariff: { kind: 'zones', prices: [6.43, 3.12] } },
  { resource: 'gas', validFrom: d('2025-07-01'), tariff: { kind: 'block', blocks: [{ upTo: 10, price: 8 }, { upTo: null, price: 12 }] } },
];
const rules = BillingRules.parse({ effectiveFrom: '2020-01-01' });
const hist = (...c: number[]): MonthHistory[] => c.map((x, i) => ({ periodStart: d(`2025-${String(7 + i).padStart(2, '0')}-01`), consumption: x, days: 30 }));

const base = (over: Partial<AccountBillingInput>): AccountBillingInput => ({
  accountId: 'LS-1', period: jan, residents: 2, meters: [], unmeteredResources: [], norms: { cold_water: 4.5, hot_water: 3.2, electricity: 60 }, tariffs, rules, ...over,
});

describe('tariffs', () => {
  it('picks the version in force for the period', () => {
    expect(tariffFor(tariffs, 'cold_water', d('2026-06-30'))).toEqual({ kind: 'single', price: 50.93 });
    expect(tariffFor(tariffs, 'cold_water', d('2026-07-01'))).toEqual({ kind: 'single', price: 55 });
    expect(() => tariffFor(tariffs, 'heat', jan.start)).toThrow(/no tariff for heat/);
  });
  it('single rate: 7.3 m³ × 50.93 = 371.79', () => {
    expect(charge({ kind: 'single', price: 50.93 }, 7.3)[0].amount).toBe(37179);
  });
  it('two zones: 180 kWh day × 6.43 + 95 kWh night × 3.12 = 1157.40 + 296.40', () => {
    const p = charge({ kind: 'zones', prices: [6.43, 3.12] }, [180, 95]);
    expect(p.map((x) => x.amount)).toEqual([115740, 29640]);
    expect(() => charge({ kind: 'zones', prices: [6.43, 3.12] }, 275)).toThrow(/2 zone consumptions/);
  });
  it('blocks: 14 units = 10 × 8 + 4 × 12 = 128', () => {
    const p = charge({ kind: 'block', blocks: [{ upTo: 10, price: 8 }, { upTo: null, price: 12 }] }, 14);
    expect(p.map((x) => [x.quantity, x.amount])).toEqual([[10, 8000], [4, 4800]]);
  });
  it('rounds half away from zero to the kopeck', () => {
    expect(amount(1, 0.005)).toBe(1);
    expect(amount(-1, 0.005)).toBe(-1);
  });
});

describe('accrual per account', () => {
  it('measured consumption × tariff', () => {
    const lines = accrueAccount(base({ meters: [{ meterId: 'cw', resource: 'cold_water', measured: 7.3, history: [], averagePeriodsUsed: 0 }] }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ method: 'measured', quantity: 7.3, amount: 37179 });
  });
  it('no reading: average of the last months (here 4: 6, 7, 5, 6 → 6 m³)', () => {
    const lines = accrueAccount(base({ meters: [{ meterId: 'cw', resource: 'cold_water', measured: null, history: hist(6, 7, 5, 6), averagePeriodsUsed: 0 }] }));
    expect(lines[0]).toMatchObject({ method: 'average', quantity: 6, amount: amount(6, 50.93) });
  });
  it('average of at most 6 months: the oldest drops out', () => {
    const lines = accrueAccount(base({ meters: [{ meterId: 'cw', resource: 'cold_water', measured: null, history: hist(100, 6, 6, 6, 6, 6, 6), averagePeriodsUsed: 0 }] }));
    expect(lines[0].quantity).toBe(6);
  });
  it('average-daily edition: mean per day × 31 days', () => {
    const daily = BillingRules.parse({ effectiveFrom: '2020-01-01', averageMode: 'daily' });
    const lines = accrueAccount(base({ rules: daily, meters: [{ meterId: 'cw', resource: 'cold_water', measured: null, history: hist(6, 6, 6), averagePeriodsUsed: 0 }] }));
    expect(lines[0].quantity).toBeCloseTo((18 / 90) * 31, 9);
  });
  it('less than 3 months of history: norm × residents', () => {
    const lines = accrueAccount(base({ meters: [{ meterId: 'cw', resource: 'cold_water', measured: null, history: hist(6, 7), averagePeriodsUsed: 0 }] }));
    expect(lines[0]).toMatchObject({ method: 'norm', quantity: 9 });
  });
  it('after 3 periods by average: norm × residents × multiplier', () => {
    const r = BillingRules.parse({ effectiveFrom: '2020-01-01', normMultiplier: 1.5 });
    const lines = accrueAccount(base({ rules: r, meters: [{ meterId: 'cw', resource: 'cold_water', measured: null, history: hist(6, 7, 5), averagePeriodsUsed: 3 }] }));
    expect(lines[0]).toMatchObject({ method: 'norm', quantity: 4.5 * 2 * 1.5 });
  });
  it('verification expired on the 11th: measured to the 11th, then 21 of 31 days by average', () => {
    const lines = accrueAccount(base({ meters: [{ meterId: 'cw', resource: 'cold_water', measured: 2, history: hist(6.2, 6.2, 6.2), averagePeriodsUsed: 0, unusableFrom: d('2026-01-11T00:00:00Z') }] }));
    expect(lines.map((l) => l.method)).toEqual(['measured', 'average']);
    expect(lines[1].quantity).toBeCloseTo(6.2 * (21 / 31), 9);
  });
  it('no meter at all: norm', () => {
    const lines = accrueAccount(base({ unmeteredResources: ['hot_water'] }));
    expect(lines[0]).toMatchObject({ method: 'norm', meterId: null, quantity: 6.4, amount: amount(6.4, 250.5) });
  });
  it('rules are versioned by date', () => {
    const eds = [BillingRules.parse({ effectiveFrom: '2020-01-01' }), BillingRules.parse({ effectiveFrom: '2026-03-01', averageMaxPeriods: 2 })];
    expect(rulesFor(eds, jan.start).averageMaxPeriods).toBe(3);
    expect(rulesFor(eds, d('2026-03-01')).averageMaxPeriods).toBe(2);
  });
});

describe('provenance', () => {
  it('staff on site > telemetry > resident; then the latest version', () => {
    const r = preferredReading([
      { id: 'a', source: 'resident' as const, version: 3 },
      { id: 'b', source: 'telemetry' as const, version: 1 },
      { id: 'c', source: 'staff' as const, version: 1 },
      { id: 'd', source: 'staff' as const, version: 2 },
    ]);
    expect(r?.id).toBe('d');
    expect(preferredReading([{ id: 'a', source: 'resident' as const, version: 1 }, { id: 'b', source: 'telemetry' as const, version: 1 }])?.id).toBe('b');
  });
});

describe('common-house distribution', () => {
  const premises = [{ premiseId: 'p1', area: 50 }, { premiseId: 'p2', area: 75 }, { premiseId: 'p3', area: 125 }];
  it('ОДПУ 1000 − Σ ИПУ 900 − non-residential 40 = 60, shared 12/18/30 by area', () => {
    const r = commonHouseVolume({ buildingConsumption: 1000, apartmentsConsumption: 900, nonResidentialConsumption: 40, premises, capVolume: null, negativePolicy: 'zero' });
    expect(r.volume).toBe(60);
    expect(r.perPremise.map((p) => p.volume)).toEqual([12, 18, 30]);
  });
  it('capped by norm × area: the excess is reported, not billed', () => {
    const r = commonHouseVolume({ buildingConsumption: 1000, apartmentsConsumption: 900, nonResidentialConsumption: 40, premises, capVolume: 25, negativePolicy: 'zero' });
    expect(r.billedVolume).toBe(25);
    expect(r.excessOverCap).toBe(35);
    expect(r.perPremise.reduce((s, p) => s + p.volume, 0)).toBeCloseTo(25, 9);
  });
  it('a month where ОДПУ < Σ ИПУ: zero policy bills nothing, credit policy credits by area; both report it', () => {
    const zero = commonHouseVolume({ buildingConsumption: 800, apartmentsConsumption: 850, nonResidentialConsumption: 0, premises, capVolume: 100, negativePolicy: 'zero' });
    expect(zero).toMatchObject({ volume: -50, billedVolume: 0, negative: true });
    expect(zero.perPremise.every((p) => p.volume === 0)).toBe(true);
    const credit = commonHouseVolume({ buildingConsumption: 800, apartmentsConsumption: 850, nonResidentialConsumption: 0, premises, capVolume: 100, negativePolicy: 'credit' });
    expect(credit.perPremise.map((p) => p.volume)).toEqual([-10, -15, -25]);
  });
  it('heating by area: in season, and evenly with the annual correction', () => {
    expect(heatingShare({ kind: 'season', monthHeat: 250 }, premises).map((p) => p.volume)).toEqual([50, 75, 125]);
    expect(heatingShare({ kind: 'evenly', lastYearHeat: 1200 }, premises).map((p) => p.volume)).toEqual([20, 30, 50]);
    expect(annualHeatingCorrection(1300, 1200, premises).map((p) => p.volume)).toEqual([20, 30, 50]);
  });
  it('refuses to share over no area', () => {
    expect(() => commonHouseVolume({ buildingConsumption: 1, apartmentsConsumption: 0, nonResidentialConsumption: 0, premises: [], capVolume: null, negativePolicy: 'zero' })).toThrow(/total area/);
  });
});

describe('recalculation of a closed period', () => {
  it('a late reading turns an average line into a measured one: reversal + recalculated', () => {
    const input = base({ meters: [{ meterId: 'cw', resource: 'cold_water', measured: null, history: hist(6, 6, 6), averagePeriodsUsed: 0 }] });
    const original = accrueAccount(input);
    const late = accrueAccount({ ...input, meters: [{ ...input.meters[0], measured: 9 }] });
    const adj = adjustmentLines(jan.start, original, late);
    expect(adj.map((l) => [l.kind, l.method, l.quantity])).toEqual([['reversal', 'average', -6], ['recalculated', 'measured', 9]]);
    expect(adj.reduce((s, l) => s + l.amount, 0)).toBe(amount(9, 50.93) - amount(6, 50.93));
    expect(adj.every((l) => l.correctsPeriod === '2026-01-01')).toBe(true);
  });
  it('no change, no lines', () => {
    const input = base({ meters: [{ meterId: 'cw', resource: 'cold_water', measured: 3, history: [], averagePeriodsUsed: 0 }] });
    expect(adjustmentLines(jan.start, accrueAccount(input), accrueAccount(input))).toEqual([]);
  });
});
