/**
 * Money to the kopeck: every amount from exact decimals, half up (away from zero for negatives).
 * A property test against exact BigInt arithmetic over 2 000 000 random realistic lines, and worked
 * examples with the arithmetic done by hand in comments: the auditor's line, half a kopeck, a
 * reversal, block and zone tariffs, shares by area, norms and reading differences whose doubles
 * fall just below a half kopeck, careless input, and roubles written from kopecks.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  accrueAccount, adjustmentLines, amount, areaBase, billingQuantity, BillingRules, charge, commonHouseVolume, distributeByArea, formatQuantity, formatRoubles, fromKopecks,
  heatingMonthVolume, heatingShare, proportion, sumKopecks, Tariff, toKopecks, type AccountBillingInput,
} from '../../src/billing/index.js';

const TEN = [1n, 10n, 100n, 1000n, 10000n];

/**
 * Reference: a quantity of n / 10^d units at m kopecks per unit costs n·m / 10^d kopecks; half up is
 * ⌊(2·n·m + 10^d) / (2·10^d)⌋ for n, m ≥ 0, and the exact negative for a negative quantity.
 */
function reference(n: number, d: number, m: number, negative: boolean): bigint {
  const k = (2n * BigInt(n) * BigInt(m) + TEN[d]) / (2n * TEN[d]);
  return negative ? -k : k;
}

describe('amount against exact integer arithmetic', () => {
  it('2 000 000 random lines (quantity 0–100 000 with 0–4 decimals, price 0–10 000.00 ₽, either sign): 0 mismatches', () => {
    let mismatches = 0;
    let checked = 0;
    fc.assert(fc.property(
      // Plain integers are the cheapest draws: the quantity's digits, its decimals, the price in kopecks, the sign.
      fc.integer({ min: 0, max: 1_000_000_000 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 1_000_000 }), fc.boolean(),
      (raw, d, m, negative) => {
        const n = raw % (100_000 * Number(TEN[d]) + 1); // quantity ≤ 100 000 units
        const q = (negative ? -n : n) / Number(TEN[d]); // the double a reading of that many decimals is
        const got = amount(q, m / 100);
        checked++;
        if (BigInt(got) !== reference(n, d, m, negative)) mismatches++;
        return true;
      }), { numRuns: 2_000_000, seed: 20261206 });
    expect(checked).toBe(2_000_000);
    expect(mismatches).toBe(0);
  }, 300_000);

  it('the same lines through charge() at a single price: the part shows the quantity as typed and bills it exactly', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 100_000_000 }), fc.integer({ min: 0, max: 1_000_000 }), (n, m) => {
      const [part] = charge({ kind: 'single', price: m / 100 }, n / 1000);
      return part.quantity === n / 1000 && BigInt(part.amount) === reference(n, 3, m, false);
    }), { numRuns: 100_000, seed: 7 });
  });

  it('a share by area is volume × Sᵢ / S_total rounded half up to 6 decimals (reference in integers)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 1, max: 50_000 }), fc.integer({ min: 0, max: 1_000_000 }),
      (v, s, rest) => {
        // volume v/1000 m³, area s/100 m², total (s + rest)/100 m²: share·10^6 = v·s·1000 / (s + rest).
        const t = BigInt(s + rest);
        const want = (2n * BigInt(v) * BigInt(s) * 1000n + t) / (2n * t);
        return BigInt(Math.round(proportion(v / 1000, [s / 100], (s + rest) / 100) * 1e6)) === want;
      }), { numRuns: 200_000, seed: 11 });
  });

  it('roubles are written from kopecks digit by digit, and read back to the same kopecks', () => {
    fc.assert(fc.property(fc.integer({ min: -1_000_000_000_000, max: 1_000_000_000_000 }), (k) => {
      const s = formatRoubles(k);
      return /^-?\d+\.\d\d$/.test(s) && BigInt(s.replace('.', '')) === BigInt(k) && Math.round(fromKopecks(k) * 100) === k;
    }), { numRuns: 200_000, seed: 3 });
  });
});

describe('worked examples', () => {
  it("the auditor's line: 1729.10 × 42.05 = 72 708.655 → 72 708.66 ₽ (the doubles gave 72 708.65)", () => {
    // 1729.10 × 42 = 72 622.20; 1729.10 × 0.05 = 86.455; 72 622.20 + 86.455 = 72 708.655 → half up 72 708.66.
    expect(amount(1729.10, 42.05)).toBe(7_270_866);
  });

  it('half a kopeck is a kopeck: 0.005 ₽ → 1 kopeck, 0.0049 ₽ → 0', () => {
    expect(toKopecks(0.005)).toBe(1);
    expect(amount(1, 0.005)).toBe(1);
    expect(amount(0.49, 0.01)).toBe(0); // 0.0049 ₽ = 0.49 kopeck → 0
    // A price typed with three decimals: 1 × 42.055 = 42.055 → 42.06 (42.055 as a double is 42.05499…).
    expect(amount(1, 42.055)).toBe(4206);
  });

  it('a reversal is the exact negative of the line: −1729.10 × 42.05 = −72 708.655 → −72 708.66 ₽', () => {
    expect(amount(-1729.10, 42.05)).toBe(-7_270_866);
    expect(toKopecks(-0.005)).toBe(-1); // away from zero on a tie
    const line = accrueAccount(base({ tariffs: [{ resource: 'cold_water', validFrom: jan.start, tariff: { kind: 'single', price: 42.05 } }],
      meters: [{ meterId: 'M1', resource: 'cold_water', measured: 1729.10, history: [], averagePeriodsUsed: 0 }] }))[0];
    expect(line).toMatchObject({ quantity: 1729.1, amount: 7_270_866 });
    const [reversal] = adjustmentLines(jan.start, [line], []);
    expect(reversal).toMatchObject({ kind: 'reversal', quantity: -1729.1, amount: -7_270_866 });
    expect(line.amount + reversal.amount).toBe(0);
  });

  it('block tariff: first 100 at 5.10, the rest at 6.25, 123.456 units = 510.00 + 146.60 = 656.60 ₽', () => {
    const blocks = { kind: 'block' as const, blocks: [{ upTo: 100, price: 5.10 }, { upTo: null, price: 6.25 }] };
    // 100 × 5.10 = 510.00; 123.456 − 100 = 23.456 (in doubles 23.456000000000003); 23.456 × 6.25 = 146.60.
    const parts = charge(blocks, 123.456);
    expect(parts.map((p) => [p.quantity, p.amount])).toEqual([[100, 51_000], [23.456, 14_660]]);
    expect(sumKopecks(parts.map((p) => p.amount))).toBe(65_660);
    // A credit of the same quantity (a negative ОДН with the credit policy) is its exact negative, not 0.
    expect(charge(blocks, -123.456).map((p) => [p.quantity, p.amount])).toEqual([[-100, -51_000], [-23.456, -14_660]]);
  });

  it('zone tariff: each zone is its own line part, rounded on its own; the line is their sum', () => {
    const zones = { kind: 'zones' as const, prices: [6.43, 3.12] };
    // T1 (day) 26 094.5 kWh × 6.43: 26 094.5 × 6 = 156 567; 26 094.5 × 0.43 = 11 220.635; Σ 167 787.635 → 167 787.64 (doubles: .63).
    // T2 (night) 12 345.678 kWh × 3.12: 12 345.678 × 3 = 37 037.034; × 0.12 = 1 481.48136; Σ 38 518.51536 → 38 518.52.
    const parts = charge(zones, [26_094.5, 12_345.678]);
    expect(parts.map((p) => [p.label, p.quantity, p.amount])).toEqual([['T1', 26_094.5, 16_778_764], ['T2', 12_345.678, 3_851_852]]);
    // Through an account: the line's quantity is 26 094.5 + 12 345.678 = 38 440.178 kWh, amount 167 787.64 + 38 518.52 = 206 306.16 ₽.
    const [line] = accrueAccount(base({ meters: [{ meterId: 'E1', resource: 'electricity', measured: [26_094.5, 12_345.678], history: [], averagePeriodsUsed: 0 }] }));
    expect(line).toMatchObject({ quantity: 38_440.178, amount: 20_630_616 });
  });

  it('a reading difference is the decimal difference: 2.3 − 2.2 = 0.1 m³ at 0.05 ₽ = 0.005 ₽ → 1 kopeck', () => {
    // In doubles 2.3 − 2.2 = 0.09999999999999964, which billed 0.0049999… ₽ → 0.
    const [part] = charge({ kind: 'single', price: 0.05 }, 2.3 - 2.2);
    expect(part).toMatchObject({ quantity: 0.1, amount: 1 });
  });

  it('no reading (a basement without signal): norm × residents in decimals, 0.7 m³ × 3 = 2.1 m³ × 0.05 ₽ = 0.105 → 0.11 ₽', () => {
    // In doubles 0.7 × 3 = 2.0999999999999996, which billed 10 kopecks.
    const lines = accrueAccount(base({ residents: 3, norms: { cold_water: 0.7 }, tariffs: [{ resource: 'cold_water', validFrom: jan.start, tariff: { kind: 'single', price: 0.05 } }],
      meters: [{ meterId: 'M1', resource: 'cold_water', measured: null, history: [], averagePeriodsUsed: 3 }] }));
    expect(lines[0]).toMatchObject({ method: 'norm', quantity: 2.1, amount: 11 });
  });

  it('average over three months, pro rata: (10.1 + 10.2 + 10.3) / 3 = 10.2 m³ × 50.93 = 519.486 → 519.49 ₽', () => {
    const history = ['2025-10-01', '2025-11-01', '2025-12-01'].map((s, i) => ({ periodStart: new Date(s), consumption: [10.1, 10.2, 10.3][i], days: 30 }));
    const [line] = accrueAccount(base({ meters: [{ meterId: 'M1', resource: 'cold_water', measured: null, history, averagePeriodsUsed: 0 }] }));
    // 10.2 × 50.93 = 509.30 + 10.186 = 519.486 → 519.49.
    expect(line).toMatchObject({ method: 'average', quantity: 10.2, amount: 51_949 });
  });

  it('ОДН by area: 10 m³ over 33.3 + 33.3 + 33.4 m² = 3.33 + 3.33 + 3.34 m³; lines at 50.93 ₽ sum to 509.31 ₽', () => {
    const r = commonHouseVolume({ buildingConsumption: 1015.3, apartmentsConsumption: 1000.2, nonResidentialConsumption: 5.1, capVolume: null, negativePolicy: 'zero',
      premises: [{ premiseId: 'a', area: 33.3 }, { premiseId: 'b', area: 33.3 }, { premiseId: 'c', area: 33.4 }] });
    // 1015.3 − 1000.2 − 5.1 = 10 exactly (doubles: 9.999999999999943).
    expect(r.volume).toBe(10);
    expect(r.perPremise.map((p) => p.volume)).toEqual([3.33, 3.33, 3.34]);
    // 3.33 × 50.93 = 169.5969 → 169.60; 3.34 × 50.93 = 170.1062 → 170.11; Σ 169.60 + 169.60 + 170.11 = 509.31 (10 × 50.93 = 509.30: sums are sums of rounded lines).
    const amounts = r.perPremise.map((p) => charge({ kind: 'single', price: 50.93 }, p.volume)[0].amount);
    expect(amounts).toEqual([16_960, 16_960, 17_011]);
    expect(sumKopecks(amounts)).toBe(50_931);
  });

  it('heating by area: 12.34 Gcal over 45.5 + 54.5 m² at 2 541.87 ₽/Gcal', () => {
    // 12.34 × 45.5 / 100 = 5.6147 Gcal; 12.34 × 54.5 / 100 = 6.7253 Gcal.
    const shares = heatingShare({ kind: 'season', monthHeat: 12.34 }, [{ premiseId: 'a', area: 45.5 }, { premiseId: 'b', area: 54.5 }]);
    expect(shares.map((s) => s.volume)).toEqual([5.6147, 6.7253]);
    // 5.6147 × 2 541.87 = 12 709.35 + 1 562.487489 = 14 271.837489 → 14 271.84; 6.7253 × 2 541.87 = 15 251.22 + 1 843.618311 = 17 094.838311 → 17 094.84.
    expect(shares.map((s) => charge({ kind: 'single', price: 2541.87 }, s.volume)[0].amount)).toEqual([1_427_184, 1_709_484]);
    // A third of a share is shown and billed to 6 decimals: 1 Gcal over three equal flats = 0.333333 Gcal each; × 3000 = 999.999 → 1 000.00 ₽.
    const thirds = distributeByArea(1, [{ premiseId: 'a', area: 50 }, { premiseId: 'b', area: 50 }, { premiseId: 'c', area: 50 }]);
    expect(thirds.map((s) => s.volume)).toEqual([0.333333, 0.333333, 0.333333]);
    expect(charge({ kind: 'single', price: 3000 }, thirds[0].volume)[0].amount).toBe(100_000);
    // Evenly over the year: 100 Gcal / 12 = 8.333333 Gcal a month.
    expect(heatingMonthVolume({ method: 'even_over_year', month: 3, seasonMonths: [1], monthHeat: null, lastYearHeat: 100 })).toEqual({ volume: 8.333333 });
  });

  it('quantities on lines keep 6 decimals, rounded half up', () => {
    expect(billingQuantity(1.0000005)).toBe(1.000001);
    expect(billingQuantity(-1.0000005)).toBe(-1.000001);
    expect(billingQuantity(1 / 1163)).toBe(0.00086); // 1 kWh = 0.000859845… Gcal → 0.000860
  });

  it('a note writes a quantity half up from its decimal: 1.0005 → "1.001" (toFixed gives "1.000"), −1.0005 → "-1.001"', () => {
    expect((1.0005).toFixed(3)).toBe('1.000'); // the double 1.000499999…: why notes do not use toFixed
    expect(formatQuantity(1.0005)).toBe('1.001');
    expect(formatQuantity(-1.0005)).toBe('-1.001');
    expect(formatQuantity(8)).toBe('8.000');
    expect(formatQuantity(0.3311655, 6)).toBe('0.331166');
  });

  it('S_total is a decimal sum: 33.1 + 33.2 + 33.7 m² = 100 m² (the doubles give 100.00000000000001)', () => {
    const p = (n: string, area: number) => ({ premiseId: n, number: n, kind: 'residential' as const, area, accountId: n });
    expect(33.1 + 33.2 + 33.7).not.toBe(100);
    expect(areaBase([p('1', 33.1), p('2', 33.2), p('3', 33.7)])).toMatchObject({ totalArea: 100, residentialArea: 100, nonResidentialArea: 0 });
  });

  it('roubles are written from kopecks exactly', () => {
    expect(formatRoubles(7_270_866)).toBe('72708.66');
    expect(formatRoubles(-7_270_866)).toBe('-72708.66');
    expect(formatRoubles(5)).toBe('0.05');
    expect(formatRoubles(-5)).toBe('-0.05');
    expect(formatRoubles(0)).toBe('0.00');
    expect(formatRoubles(100)).toBe('1.00');
    expect(fromKopecks(7_270_866)).toBe(72708.66);
  });
});

describe('careless input is refused with what was wrong', () => {
  it('a quantity or price that is not a finite number', () => {
    expect(() => amount(Number.NaN, 42.05)).toThrow(/quantity must be a finite number, got NaN/);
    expect(() => amount(1, Number.POSITIVE_INFINITY)).toThrow(/price must be a finite number, got Infinity/);
    expect(() => formatRoubles(12.5)).toThrow(/whole number of kopecks, got 12.5/);
  });

  it('block tariffs out of order, or without an open last block, would leave consumption unbilled: refused', () => {
    const bad = (blocks: unknown) => {
      const r = Tariff.safeParse({ kind: 'block', blocks });
      return r.success ? 'accepted' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    };
    expect(bad([{ upTo: 100, price: 5.10 }])).toBe('blocks.0.upTo: the last block must have upTo: null (no limit), got 100');
    expect(bad([{ upTo: 200, price: 5.10 }, { upTo: 100, price: 6 }, { upTo: null, price: 7 }])).toBe('blocks.1.upTo: block limits must increase: 100 after 200');
    expect(bad([{ upTo: null, price: 5.10 }, { upTo: null, price: 6 }])).toBe('blocks.0.upTo: only the last block may have upTo: null; give this block its upper limit');
    expect(bad([{ upTo: 100, price: 5.10 }, { upTo: null, price: 6.25 }])).toBe('accepted');
  });
});

const jan = { start: new Date('2026-01-01T00:00:00Z'), end: new Date('2026-02-01T00:00:00Z') };
function base(over: Partial<AccountBillingInput>): AccountBillingInput {
  return {
    accountId: 'LS-1', period: jan, residents: 2, meters: [], unmeteredResources: [], norms: { cold_water: 4.5 },
    tariffs: [
      { resource: 'cold_water', validFrom: new Date('2025-07-01'), tariff: { kind: 'single', price: 50.93 } },
      { resource: 'electricity', validFrom: new Date('2025-07-01'), tariff: { kind: 'zones', prices: [6.43, 3.12] } },
    ],
    rules: BillingRules.parse({ effectiveFrom: '2020-01-01' }), ...over,
  };
}
