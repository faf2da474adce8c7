/** Money in minor units (kopecks) so sums of lines equal the total to the kopeck. */
export type Kopecks = number;
export const toKopecks = (rub: number): Kopecks => Math.round(rub * 100);
/** Amount of `quantity` at `pricePerUnit` roubles, rounded half away from zero to the kopeck. */
export function amount(quantity: number, pricePerUnit: number): Kopecks {
  const k = quantity * pricePerUnit * 100;
  return Math.sign(k) * Math.round(Math.abs(k) + 1e-9);
}
export const fromKopecks = (k: Kopecks): number => k / 100;
