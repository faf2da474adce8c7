/**
 * Zone tariffs without zone readings (pure accrual): an unmetered premise, an average or a norm is
 * split by the billing rules' zone shares and each part charged at its zone's price; the shares are
 * validated. Amounts worked out by hand in the comments.
 */
import { describe, it, expect } from 'vitest';
import { accrueAccount, BillingRules, type AccountBillingInput, type MonthHistory, type TariffVersion } from '../../src/billing/index.js';

const d = (s: string) => new Date(s);
const jan = { start: d('2026-01-01T00:00:00Z'), end: d('2026-02-01T00:00:00Z') };
const two: TariffVersion[] = [{ resource: 'electricity', validFrom: d('2025-07-01'), tariff: { kind: 'zones', prices: [6.43, 3.12] } }];
const three: TariffVersion[] = [{ resource: 'electricity', validFrom: d('2025-07-01'), tariff: { kind: 'zones', prices: [7.5, 2.5, 5] } }];
const rules = BillingRules.parse({ effectiveFrom: '2020-01-01' });
const base = (over: Partial<AccountBillingInput>): AccountBillingInput => ({
  accountId: 'LS-1', period: jan, residents: 2, meters: [], unmeteredResources: [], norms: { electricity: 60 }, tariffs: two, rules, ...over,
});
const parts = (l: { parts: Array<{ label: string; quantity: number; amount: number }> }) => l.parts.map((p) => [p.label, +p.quantity.toFixed(9), p.amount]);

describe('zone tariff without zone readings', () => {
  it('an unmetered premise: norm 60 × 2 = 120 kWh → T1 84 × 6.43 = 540.12 ₽, T2 36 × 3.12 = 112.32 ₽', () => {
    const [l] = accrueAccount(base({ unmeteredResources: ['electricity'] }));
    expect(l).toMatchObject({ method: 'norm', meterId: null, quantity: 120, amount: 54012 + 11232 });
    expect(parts(l)).toEqual([['T1', 84, 54012], ['T2', 36, 11232]]);
    expect(l.note).toMatch(/split by zones 70%\/30%/);
  });

  it('three zones by default 60/25/15: average of 100, 110, 120 = 110 kWh → 66 × 7.5 + 27.5 × 2.5 + 16.5 × 5 = 495 + 68.75 + 82.50 ₽', () => {
    const history: MonthHistory[] = [100, 110, 120].map((c, i) => ({ periodStart: d(`2025-${10 + i}-01`), consumption: c, days: 30 }));
    const [l] = accrueAccount(base({ tariffs: three, meters: [{ meterId: 'el', resource: 'electricity', measured: null, history, averagePeriodsUsed: 0 }] }));
    expect(l).toMatchObject({ method: 'average', quantity: 110 });
    expect(parts(l)).toEqual([['T1', 66, 49500], ['T2', 27.5, 6875], ['T3', 16.5, 8250]]);
  });

  it("the rules' own shares apply; shares that do not add up to 1 are refused naming the setting", () => {
    const own = BillingRules.parse({ effectiveFrom: '2020-01-01', zoneShares: { two: [0.6, 0.4] } });
    const [l] = accrueAccount(base({ rules: own, unmeteredResources: ['electricity'] }));
    // 120 kWh → T1 72 × 6.43 = 462.96 ₽, T2 48 × 3.12 = 149.76 ₽.
    expect(parts(l)).toEqual([['T1', 72, 46296], ['T2', 48, 14976]]);
    const bad = BillingRules.safeParse({ effectiveFrom: '2020-01-01', zoneShares: { two: [0.7, 0.4] } });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toMatch(/zoneShares.two must add up to 1/);
  });

  it('measured zone registers are charged as they are, not split', () => {
    const [l] = accrueAccount(base({ meters: [{ meterId: 'el', resource: 'electricity', measured: [180, 95], history: [], averagePeriodsUsed: 0 }] }));
    // 180 × 6.43 = 1 157.40 ₽; 95 × 3.12 = 296.40 ₽.
    expect(parts(l)).toEqual([['T1', 180, 115740], ['T2', 95, 29640]]);
    expect(l.note).toBeUndefined();
  });
});
