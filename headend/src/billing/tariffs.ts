/**
 * Tariffs per resource with history: single rate, time-of-day zones (electricity day/night or three
 * zones) and block rates (first N units at one price, the rest at another). A tariff version applies
 * from its date until the next version of the same resource. Every part's amount is made by money.ts
 * (exact decimals, half up to the kopeck) from the part's quantity as shown (QUANTITY_DECIMALS).
 */
import { z } from 'zod';
import { Resource } from '@amr/protocols';
import { amount, billingQuantity, subtractQuantities, sumQuantities, type Kopecks } from './money.js';

export const Tariff = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('single'), price: z.number().nonnegative() }),
  z.object({ kind: z.literal('zones'), prices: z.array(z.number().nonnegative()).min(2).max(3) }),
  z.object({
    kind: z.literal('block'),
    /** Ordered blocks; the last has `upTo: null` (no limit). `upTo` is cumulative within the period. */
    blocks: z.array(z.object({ upTo: z.number().positive().nullable(), price: z.number().nonnegative() })).min(1),
  }).superRefine((t, ctx) => {
    // Blocks out of order or without an open last block would leave consumption above them unbilled.
    t.blocks.forEach((b, i) => {
      const last = i === t.blocks.length - 1;
      if (last && b.upTo !== null) ctx.addIssue({ code: 'custom', path: ['blocks', i, 'upTo'], message: `the last block must have upTo: null (no limit), got ${b.upTo}` });
      if (!last && b.upTo === null) ctx.addIssue({ code: 'custom', path: ['blocks', i, 'upTo'], message: 'only the last block may have upTo: null; give this block its upper limit' });
      const prev = i > 0 ? t.blocks[i - 1].upTo : null;
      if (b.upTo !== null && prev !== null && b.upTo <= prev) ctx.addIssue({ code: 'custom', path: ['blocks', i, 'upTo'], message: `block limits must increase: ${b.upTo} after ${prev}` });
    });
  }),
]);
export type Tariff = z.infer<typeof Tariff>;

export const TariffVersion = z.object({ resource: Resource, validFrom: z.coerce.date(), tariff: Tariff });
export type TariffVersion = z.infer<typeof TariffVersion>;

/**
 * The date a tariff, norm or edition of the rules takes effect: the first day of a month. A month is
 * billed whole by the versions in force on its first day (tariffFor, rulesFor, the norms' lookup), so
 * a version dated mid-month would silently wait for the next month: refused instead, naming the fix.
 */
export const MonthStart = z.iso.date().refine((d) => d.endsWith('-01'), {
  error: (i) => `must be the first day of a month (YYYY-MM-01), got ${String(i.input)}: a month is billed whole by the version in force on its first day, `
    + 'so a version from the 15th would only apply from the next month; enter the 1st of the month it should bill',
});

/** The version in force at `at` (a month's first day: the whole month is priced by it). */
export function tariffFor(versions: readonly TariffVersion[], resource: Resource, at: Date): Tariff {
  const v = versions
    .filter((x) => x.resource === resource && x.validFrom <= at)
    .sort((a, b) => b.validFrom.getTime() - a.validFrom.getTime())[0];
  if (!v) throw new Error(`no tariff for ${resource} in force on ${at.toISOString().slice(0, 10)}`);
  return v.tariff;
}

/**
 * The tariff a building-level volume shared by area (ОДН, heating by area) is charged at: it has no
 * zone readings to split by, so a zone tariff charges it at its first zone's price (as estimates are);
 * single and block tariffs as they are.
 */
export function sharedVolumeTariff(t: Tariff): Tariff {
  return t.kind === 'zones' ? { kind: 'single', price: t.prices[0] } : t;
}

export interface ChargePart {
  label: string;
  quantity: number;
  price: number;
  amount: Kopecks;
}

/**
 * Consumption is a number, or one number per zone for a zone tariff. Quantities are rounded to
 * QUANTITY_DECIMALS first and blocks are split in decimals, so the parts add up to the quantity
 * exactly. A negative quantity (a credit) under a block tariff is the exact negative of the same
 * positive quantity's parts.
 */
export function charge(tariff: Tariff, consumption: number | readonly number[]): ChargePart[] {
  if (tariff.kind === 'zones') {
    const perZone = typeof consumption === 'number' ? null : consumption;
    if (!perZone || perZone.length !== tariff.prices.length) {
      throw new Error(`zone tariff needs ${tariff.prices.length} zone consumptions, got ${perZone ? perZone.length : 'a single value'}`);
    }
    return perZone.map((z, i) => {
      const q = billingQuantity(z);
      return { label: `T${i + 1}`, quantity: q, price: tariff.prices[i], amount: amount(q, tariff.prices[i]) };
    });
  }
  const q = typeof consumption === 'number' ? billingQuantity(consumption) : sumQuantities(consumption.map(billingQuantity));
  if (tariff.kind === 'single') return [{ label: 'single', quantity: q, price: tariff.price, amount: amount(q, tariff.price) }];
  if (q < 0) return blockParts(tariff.blocks, -q).map((p) => ({ ...p, quantity: 0 - p.quantity, amount: 0 - p.amount }));
  return blockParts(tariff.blocks, q);
}

function blockParts(blocks: Extract<Tariff, { kind: 'block' }>['blocks'], q: number): ChargePart[] {
  const parts: ChargePart[] = [];
  let left = q;
  let from = 0;
  for (const b of blocks) {
    if (left <= 0 && parts.length > 0) break;
    const size = Math.max(b.upTo === null ? left : Math.min(left, subtractQuantities(b.upTo, from)), 0);
    if (size > 0 || parts.length === 0) parts.push({ label: b.upTo === null ? `>${from}` : `${from}–${b.upTo}`, quantity: size, price: b.price, amount: amount(size, b.price) });
    left = subtractQuantities(left, size);
    if (b.upTo !== null) from = b.upTo;
  }
  return parts;
}
