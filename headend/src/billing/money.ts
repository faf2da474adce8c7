/**
 * Money and the exact decimal arithmetic every amount of billing is made with: amounts in kopecks
 * (integers, so sums of lines equal totals to the kopeck), each made from quantity × price in exact
 * decimal arithmetic and rounded half up (away from zero for negatives: a reversal is the exact
 * negative of the line it reverses); quantities that become money (shares by area, averages, norms
 * pro rata, block splits) rounded the same way to QUANTITY_DECIMALS; roubles written from kopecks by
 * integer digits, never by float division.
 *
 * Why decimal.js: binary doubles cannot hold 42.05 or 1729.10, so quantity × price × 100 in doubles
 * lands a hair below a half kopeck on some lines (1729.10 × 42.05 = 72 708.655 must bill 72 708.66).
 * decimal.js is an arbitrary-precision decimal type, widely used and kept (same author as big.js),
 * ships its own TypeScript types, and lets a private clone fix precision and rounding without touching
 * the global Decimal any other code might configure. Its ROUND_HALF_UP is exactly the domain's "half
 * up, away from zero on a tie".
 *
 * The conversion rule: a JS number is a decimal as the user typed it (a reading 1729.10, a tariff
 * 42.05 ₽), so it enters decimal arithmetic through its shortest decimal string, String(x) —
 * "1729.1", "42.05" — never through its binary expansion (the double 42.05 is 42.0499999999999971578…,
 * and multiplying those digits is what went wrong). String(x) gives the digits a person sees and the
 * ones JSON carries; a number with up to 15 significant digits comes back from it unchanged.
 */
import * as decimalJs from 'decimal.js';

// decimal.js's ESM build (what Node loads here) has the class as its only, default export, but its
// types describe the CommonJS build, where the class is also the namespace's `Decimal`: typed as that.
const Decimal = decimalJs.default as unknown as typeof decimalJs.Decimal;

/**
 * 50 significant digits hold every product and sum billing makes exactly (String(x) of a double has
 * at most 17 digits, so quantity × price × 100 has at most 34); only a share's division is ever
 * rounded here, and it is rounded again to QUANTITY_DECIMALS right after.
 */
const D = Decimal.clone({ precision: 50, rounding: Decimal.ROUND_HALF_UP, toExpNeg: -50, toExpPos: 50 });
type Dec = InstanceType<typeof D>;

/** Money in minor units (kopecks) so sums of lines equal the total to the kopeck. */
export type Kopecks = number;

/**
 * Decimals a quantity on a line keeps (m³, kWh and Gcal alike), as stored and as the invoice export
 * shows it (0.######): enough for readings typed to 3–4 decimals and for kWh → Gcal, and it removes
 * the float noise of reading differences (2.3 − 2.2 = 0.09999999999999964 is 0.1 m³). The line's
 * amount is made from exactly the quantity it shows, so quantity × price reproduces it.
 */
export const QUANTITY_DECIMALS = 6;

/** A JS number as the decimal it was typed as; a non-finite number is refused, naming what it is. */
function dec(x: number, what: string): Dec {
  if (typeof x !== 'number' || !Number.isFinite(x)) {
    throw new Error(`${what} must be a finite number, got ${String(x)}: check the reading, tariff or setting it came from`);
  }
  return new D(String(x));
}

const toQuantity = (d: Dec): number => d.toDecimalPlaces(QUANTITY_DECIMALS, D.ROUND_HALF_UP).toNumber() + 0; // + 0: no −0

const toKopecksOf = (rub: Dec): Kopecks => {
  const k = rub.times(100).toDecimalPlaces(0, D.ROUND_HALF_UP).toNumber() + 0;
  if (!Number.isSafeInteger(k)) throw new Error(`amount ${rub.toString()} ₽ is too large to be billed in kopecks`);
  return k;
};

/** Roubles (as typed) → kopecks, half up. */
export const toKopecks = (rub: number): Kopecks => toKopecksOf(dec(rub, 'amount in roubles'));

/** Amount of `quantity` at `pricePerUnit` roubles: exact decimal product, rounded half up (away from zero) to the kopeck. */
export function amount(quantity: number, pricePerUnit: number): Kopecks {
  return toKopecksOf(dec(quantity, 'quantity').times(dec(pricePerUnit, 'price')));
}

/** A quantity as a line shows and bills it: rounded half up to QUANTITY_DECIMALS. */
export function billingQuantity(q: number): number {
  return toQuantity(dec(q, 'quantity'));
}

/** Σ quantities in decimal arithmetic, rounded to QUANTITY_DECIMALS (no float noise from adding). */
export function sumQuantities(qs: readonly number[]): number {
  return toQuantity(qs.reduce((s: Dec, q) => s.plus(dec(q, 'quantity')), new D(0)));
}

/**
 * value × Π factors / divisor in decimal arithmetic, rounded to QUANTITY_DECIMALS: a share by area
 * (volume × Sᵢ / S_total), an average pro rata (Σ months × days / (n × period days)), a norm
 * (norm × residents × multiplier × days / period days).
 */
export function proportion(value: number, factors: readonly number[], divisor: number): number {
  const d = dec(divisor, 'divisor');
  if (d.isZero()) throw new Error('cannot divide a quantity by 0');
  return toQuantity(factors.reduce((s: Dec, f) => s.times(dec(f, 'factor')), dec(value, 'quantity')).div(d));
}

/** a − b (− c …) of quantities in decimal arithmetic, rounded to QUANTITY_DECIMALS. */
export function subtractQuantities(a: number, ...bs: number[]): number {
  return toQuantity(bs.reduce((s: Dec, b) => s.minus(dec(b, 'quantity')), dec(a, 'quantity')));
}

/**
 * A quantity as a note writes it: `decimals` digits, rounded half up from the decimal it is (1.0005 →
 * "1.001"), never through toFixed, which rounds the double 1.000499999… down to "1.000".
 */
export function formatQuantity(q: number, decimals = 3): string {
  return dec(q, 'quantity').toFixed(decimals, D.ROUND_HALF_UP);
}

/** Σ kopecks; integer addition is exact while it stays a safe integer, which is checked. */
export function sumKopecks(ks: readonly Kopecks[]): Kopecks {
  const s = ks.reduce((x, k) => x + k, 0);
  if (!Number.isSafeInteger(s)) throw new Error(`sum of amounts ${s} is not a whole number of kopecks`);
  return s;
}

/**
 * Kopecks → roubles as text with exactly two decimals, by integer digits (7270866 → "72708.66",
 * −5 → "-0.05"): for CSV and any place roubles are written out.
 */
export function formatRoubles(k: Kopecks): string {
  if (!Number.isSafeInteger(k)) throw new Error(`amount must be a whole number of kopecks, got ${String(k)}`);
  const digits = String(Math.abs(k)).padStart(3, '0');
  return `${k < 0 ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/**
 * Kopecks → roubles as a number for spreadsheet cells: the double read from formatRoubles' text, whose
 * shortest form (what a workbook stores) is that text again.
 */
export const fromKopecks = (k: Kopecks): number => Number(formatRoubles(k));
