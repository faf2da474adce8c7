/**
 * Tariffs per resource with history: single rate, time-of-day zones (electricity day/night or three
 * zones) and block rates (first N units at one price, the rest at another). A tariff version applies
 * from its date until the next version of the same resource.
 */
import { z } from 'zod';
import { Resource } from '@amr/protocols';
import { amount, type Kopecks } from './money.js';

export const Tariff = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('single'), price: z.number().nonnegative() }),
  z.object({ kind: z.literal('zones'), prices: z.array(z.number().nonnegative()).min(2).max(3) }),
  z.object({
    kind: z.literal('block'),
    /** Ordered blocks; the last has `upTo: null` (no limit). `upTo` is cumulative within the period. */
    blocks: z.array(z.object({ upTo: z.number().positive().nullable(), price: z.number().nonnegative() })).min(1),
  }),
]);
export type Tariff = z.infer<typeof Tariff>;

export const TariffVersion = z.object({ resource: Resource, validFrom: z.coerce.date(), tariff: Tariff });
export type TariffVersion = z.infer<typeof TariffVersion>;

export function tariffFor(versions: readonly TariffVersion[], resource: Resource, at: Date): Tariff {
  const v = versions
    .filter((x) => x.resource === resource && x.validFrom <= at)
    .sort((a, b) => b.validFrom.getTime() - a.validFrom.getTime())[0];
  if (!v) throw new Error(`no tariff for ${resource} in force on ${at.toISOString().slice(0, 10)}`);
  return v.tariff;
}

export interface ChargePart {
  label: string;
  quantity: number;
  price: number;
  amount: Kopecks;
}

/** Consumption is a number, or one number per zone for a zone tariff. */
export function charge(tariff: Tariff, consumption: number | readonly number[]): ChargePart[] {
  if (tariff.kind === 'zones') {
    const perZone = typeof consumption === 'number' ? null : consumption;
    if (!perZone || perZone.length !== tariff.prices.length) {
      throw new Error(`zone tariff needs ${tariff.prices.length} zone consumptions, got ${perZone ? perZone.length : 'a single value'}`);
    }
    return perZone.map((q, i) => ({ label: `T${i + 1}`, quantity: q, price: tariff.prices[i], amount: amount(q, tariff.prices[i]) }));
  }
  const q = typeof consumption === 'number' ? consumption : consumption.reduce((s, x) => s + x, 0);
  if (tariff.kind === 'single') return [{ label: 'single', quantity: q, price: tariff.price, amount: amount(q, tariff.price) }];
  const parts: ChargePart[] = [];
  let left = q;
  let from = 0;
  for (const b of tariff.blocks) {
    if (left <= 0 && parts.length > 0) break;
    const size = b.upTo === null ? left : Math.min(left, b.upTo - from);
    if (size > 0 || parts.length === 0) parts.push({ label: b.upTo === null ? `>${from}` : `${from}–${b.upTo}`, quantity: Math.max(size, 0), price: b.price, amount: amount(Math.max(size, 0), b.price) });
    left -= Math.max(size, 0);
    if (b.upTo !== null) from = b.upTo;
  }
  return parts;
}
