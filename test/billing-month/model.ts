/**
 * The simulated building of the billing month test and the month's expected accruals by hand.
 * The truth is the building simulator's model (test/fixtures/billing-month.yaml): register values of
 * its meters at the month bounds, rounded to what a meter shows (water 0.001 m³, energy 0.01 kWh).
 * The head-end only ever sees these numbers through its real entry paths; here they are turned into
 * invoice lines with plain arithmetic, independently of src/billing.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { startBuilding, type Building } from '@amr/simulators';

export const TZ = 'Europe/Moscow';
/** Moscow keeps UTC+3 all year (no DST since 2014): local midnight of day D is D−1 21:00 UTC. */
const MSK_MS = 3 * 3_600_000;
const HOUR = 3_600_000;

export type Water = 'cold_water' | 'hot_water';
export type Billed = Water | 'electricity';

/** Local midnight (Moscow) starting the 1st of month `m0` (0-based, may overflow) of year `y`. */
export const monthStart = (y: number, m0: number): Date => new Date(Date.UTC(y, m0, 1) - MSK_MS);
export const monthKey = (d: Date): string => new Date(d.getTime() + MSK_MS).toISOString().slice(0, 7);

/**
 * The months of the test from "now" (the instant the head-end's clock is stopped at, never today's
 * date; months are Moscow's, not UTC's): the residents' entry API dates a reading at the start of the
 * current collection period (window 1–31 → the 1st of this month), which is the END of the billed
 * month. So billed = last month; three months of history before it; adjustments land in this month.
 * bounds[0..4] = starts of (this month − 4) … this month.
 */
export function monthsFrom(now: Date) {
  const local = new Date(now.getTime() + MSK_MS);
  const y = local.getUTCFullYear();
  const m = local.getUTCMonth();
  const bounds = [-4, -3, -2, -1, 0].map((k) => monthStart(y, m + k));
  return {
    bounds,
    history: bounds.slice(0, 3).map(monthKey),
    billed: monthKey(bounds[3]),
    current: monthKey(bounds[4]),
    /** The model runs from a month before the first history month (its registers have moved by then). */
    simStart: monthStart(y, m - 5),
    /** Days of the billed month (the accrual's fallbacks are pro rata by days; a whole month = 1). */
    billedDays: Math.round((bounds[4].getTime() - bounds[3].getTime()) / 86_400_000),
  };
}

export async function startSimBuilding(simStart: Date): Promise<Building> {
  const cfg = parseYaml(readFileSync(fileURLToPath(new URL('../fixtures/billing-month.yaml', import.meta.url)), 'utf8')) as Record<string, unknown>;
  return startBuilding({ ...cfg, start: simStart.toISOString() });
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const r2 = (x: number) => Math.round(x * 100) / 100;

/** Registers of the model at an instant, as the meter shows them. */
export class Truth {
  constructor(readonly b: Building) {}
  meter(id: string) {
    const m = this.b.meters.find((x) => x.meterId === id);
    if (!m) throw new Error(`no meter ${id} in the simulated building`);
    return m;
  }
  /** Water m³ to 0.001, energy kWh to 0.01. */
  register(id: string, t: Date): number {
    const m = this.meter(id);
    const v = m.register(t.getTime());
    return m.resource === 'cold_water' || m.resource === 'hot_water' ? r3(v) : r2(v);
  }
  /**
   * Day (T1, 07–23 local) and night (T2, 23–07 local) registers of an apartment electricity meter:
   * the model's hourly use split by the local hour it falls in; the register's starting value is
   * split 60/40. (The simulated SDM120 has one register; a day/night meter shows these two.)
   */
  zones(id: string, t: Date): [number, number] {
    const m = this.meter(id);
    const start = this.b.config.start.getTime();
    let day = 0;
    let night = 0;
    for (let h = start; h < t.getTime(); h += HOUR) {
      const use = m.trueCumulative(h + HOUR) - m.trueCumulative(h);
      const localHour = new Date(h + MSK_MS).getUTCHours();
      if (localHour >= 23 || localHour < 7) night += use;
      else day += use;
    }
    return [r2(m.initialReading * 0.6 + day), r2(m.initialReading * 0.4 + night)];
  }
}

// ---------------------------------------------------------------- hand-computed invoice lines

/** x as the exact decimal n / 10^s its shortest decimal string shows (1729.1 → 17291 / 10). */
function exact(x: number): { n: bigint; s: number } {
  const [mant, e = '0'] = String(x).split('e');
  const [i, f = ''] = mant.split('.');
  const s = f.length - Number(e);
  return s >= 0 ? { n: BigInt(i + f), s } : { n: BigInt(i + f) * 10n ** BigInt(-s), s: 0 };
}
/** num / den rounded half away from zero to an integer. */
function halfUp(num: bigint, den: bigint): bigint {
  const neg = (num < 0n) !== (den < 0n);
  const a = num < 0n ? -num : num;
  const d = den < 0n ? -den : den;
  const k = (2n * a + d) / (2n * d);
  return neg ? -k : k;
}

/** Kopecks of quantity × price (roubles), exact, half away from zero as the domain rounds money. */
export function kop(quantity: number, price: number): number {
  const q = exact(quantity);
  const p = exact(price);
  return Number(halfUp(q.n * p.n * 100n, 10n ** BigInt(q.s + p.s)));
}

/** A quantity as a line shows and bills it: 6 decimals, half up (a difference of registers loses its float noise). */
export function q6(x: number): number {
  const a = exact(x);
  return Number(halfUp(a.n * 10n ** 6n, 10n ** BigInt(a.s))) / 1e6;
}

/** value × a / b exactly, to 6 decimals half up (a share by area). */
function ratio6(value: number, a: number, b: number): number {
  const v = exact(value);
  const x = exact(a);
  const y = exact(b);
  return Number(halfUp(v.n * x.n * 10n ** BigInt(6 + y.s), y.n * 10n ** BigInt(v.s + x.s))) / 1e6;
}

export interface Part { label: string; quantity: number; price: number; amount: number }
export interface ExpectedLine {
  accountId: string; resource: Billed; meterId: string | null; method: 'measured' | 'average' | 'norm' | 'common_house'; quantity: number; parts: Part[]; amount: number;
  /** An ОДН line's note, word for word (its arithmetic, as common-house.ts writes it). */
  note?: string;
}

export interface Prices { cold_water: number; hot_water: number; electricity: [number, number] }

const single = (quantity: number, price: number): Part[] => [{ label: 'single', quantity: q6(quantity), price, amount: kop(q6(quantity), price) }];

export function line(accountId: string, resource: Billed, meterId: string | null, method: ExpectedLine['method'], parts: Part[]): ExpectedLine {
  return { accountId, resource, meterId, method, quantity: q6(parts.reduce((s, p) => s + p.quantity, 0)), parts, amount: parts.reduce((s, p) => s + p.amount, 0) };
}

/** Measured: end − start of the register; a zone meter: per zone at its price. */
export function measuredLine(accountId: string, resource: Billed, meterId: string, q: number | [number, number], prices: Prices): ExpectedLine {
  if (resource === 'electricity') {
    const [d, n] = q as [number, number];
    return line(accountId, resource, meterId, 'measured', [
      { label: 'T1', quantity: q6(d), price: prices.electricity[0], amount: kop(q6(d), prices.electricity[0]) },
      { label: 'T2', quantity: q6(n), price: prices.electricity[1], amount: kop(q6(n), prices.electricity[1]) },
    ]);
  }
  return line(accountId, resource, meterId, 'measured', single(q as number, prices[resource]));
}

/**
 * A substitute (average or norm) quantity: one part; a zone tariff splits it by the billing rules'
 * default zone shares, 70 % day (T1) and 30 % night (T2), each at its zone's price.
 */
export const ZONE_SHARES: [number, number] = [0.7, 0.3];
export function substituteLine(accountId: string, resource: Billed, meterId: string, method: 'average' | 'norm', q: number, prices: Prices): ExpectedLine {
  if (resource === 'electricity') {
    // The substitute as billed (6 decimals), then each zone's part of it, to 6 decimals half up:
    // e.g. 118.596333 → T1 118.596333 × 0.7 = 83.0174331 → 83.017433, T2 × 0.3 = 35.5788999 → 35.578900.
    const total = q6(q);
    const [d, n] = [ratio6(total, ZONE_SHARES[0], 1), ratio6(total, ZONE_SHARES[1], 1)];
    return line(accountId, resource, meterId, method, [
      { label: 'T1', quantity: d, price: prices.electricity[0], amount: kop(d, prices.electricity[0]) },
      { label: 'T2', quantity: n, price: prices.electricity[1], amount: kop(n, prices.electricity[1]) },
    ]);
  }
  return line(accountId, resource, meterId, method, single(q, prices[resource]));
}

/**
 * The average of monthly quantities as billed: Σ months (each a difference of registers, its float
 * noise rounded off) / n in decimals, to 6 decimals half up ((4.1 + 3.9 + 4.3) / 3 = 4.1;
 * 355.789 kWh / 3 = 118.5963333… → 118.596333).
 */
export function average6(qs: number[]): number {
  const totalM = qs.reduce((s, x) => s + micro(q6(x)), 0n);
  return Number(halfUp(totalM, BigInt(qs.length))) / 1e6;
}

/** x (a register or a line quantity: at most 6 decimals) in millionths, exactly. */
function micro(x: number): bigint {
  const a = exact(x);
  if (a.s > 6) throw new Error(`${x} has more than 6 decimals: round it as a line does (q6) first`);
  return a.n * 10n ** BigInt(6 - a.s);
}
const fromMicro = (m: bigint): number => Number(m) / 1e6;
/** Millionths as a note writes them: 3 decimals, half up (0.3085 → "0.309"). */
function fix3(m: bigint): string {
  const k = halfUp(m, 1000n);
  const a = k < 0n ? -k : k;
  return `${k < 0n ? '-' : ''}${a / 1000n}.${String(a % 1000n).padStart(3, '0')}`;
}

export interface PremiseExpect { accountId: string; area: number; share: number; cap: number | null; billed: number; excess: number }

export interface CommonHouseExpect {
  resource: Billed;
  building: number;
  apartments: number;
  volume: number;
  /** Σ of the premises' billed volumes (each rounded to 6 decimals): what is billed, possibly a millionth off the cap. */
  billed: number;
  /** Σ of the premises' excess over their caps. */
  excess: number;
  perPremise: PremiseExpect[];
  lines: ExpectedLine[];
}

/**
 * ОДН by ПП 354 appendix 2 formulas 10–11: V = ОДПУ − Σ individual quantities (measured and
 * substitutes, each a line's 6-decimal quantity); premise i's share = V × Sᵢ / S_total (S_total = the
 * area of all premises; here the six flats, 305.2 m²), its cap = norm × common area × Sᵢ / S_total,
 * each rounded to 6 decimals half up; billedᵢ = min(shareᵢ, capᵢ), excessᵢ = shareᵢ − billedᵢ (the
 * managing organisation's, reported). The building's billed volume and excess are the Σ of the
 * premises' rounded figures: e.g. the cold-water cap 0.6 m³ shared over 305.2 m² bills
 * 0.106750 + 0.074902 + 0.140760 + 0.088467 + 0.122674 + 0.066448 = 0.600001 m³ (the test works these out).
 * Each line is priced at the month's price (electricity: the day price) and names its arithmetic in its note.
 */
export function commonHouse(resource: Billed, odpu: number, individual: ExpectedLine[], flats: { accountId: string; area: number }[], cap: number | null, prices: Prices): CommonHouseExpect {
  // Exact in millionths: the ОДПУ's consumption (a difference of registers, its float noise rounded off), line quantities to 6 decimals.
  const building = q6(odpu);
  const apartmentsM = individual.filter((l) => l.resource === resource).reduce((s, l) => s + micro(l.quantity), 0n);
  const volumeM = micro(building) - apartmentsM;
  if (volumeM <= 0n) throw new Error(`${resource}: the test needs ОДПУ > Σ ИПУ (got ${odpu} vs ${fromMicro(apartmentsM)})`);
  const volume = fromMicro(volumeM);
  const totalArea = fromMicro(flats.reduce((s, f) => s + micro(f.area), 0n));
  const capQ = cap === null ? null : q6(cap);
  const perPremise = flats.map((f): PremiseExpect & { shareM: bigint; capM: bigint | null; billedM: bigint; excessM: bigint } => {
    const share = ratio6(volume, f.area, totalArea);
    const capI = capQ === null ? null : ratio6(capQ, f.area, totalArea);
    const shareM = micro(share);
    const capM = capI === null ? null : micro(capI);
    const billedM = capM !== null && shareM > capM ? capM : shareM;
    const excessM = shareM - billedM;
    return { accountId: f.accountId, area: f.area, share, cap: capI, billed: fromMicro(billedM), excess: fromMicro(excessM), shareM, capM, billedM, excessM };
  });
  const billedM = perPremise.reduce((s, p) => s + p.billedM, 0n);
  const excessM = perPremise.reduce((s, p) => s + p.excessM, 0n);
  const price = resource === 'electricity' ? prices.electricity[0] : prices[resource];
  // The note: the building's figures, then this premise's share (and its cap when it binds), to 3 decimals.
  const whole = `common-house volume ${fix3(volumeM)}${excessM > 0n ? `, capped (excess ${fix3(excessM)} not billed)` : ''}`;
  const lines = perPremise.map((p) => ({
    ...line(p.accountId, resource, null, 'common_house', single(p.billed, price)),
    note: `${whole}; by area: ${fix3(volumeM)} × ${p.area} / ${totalArea} m² of all premises = ${fix3(p.shareM)}`
      + (p.excessM > 0n ? `, capped at ${fix3(p.capM!)} = norm × common area × Sᵢ/S_total (excess ${fix3(p.excessM)})` : ''),
  }));
  return {
    resource, building, apartments: fromMicro(apartmentsM), volume, billed: fromMicro(billedM), excess: fromMicro(excessM),
    perPremise: perPremise.map(({ accountId, area, share, cap: c, billed, excess }) => ({ accountId, area, share, cap: c, billed, excess })),
    lines,
  };
}
