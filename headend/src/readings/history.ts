/**
 * A meter's history by month, as a resident reads it: per register (each tariff zone of a zone meter
 * on its own), the month's last counting reading in the building's time zone and the consumption
 * since the month before — with the same counting reading (consumption-store: provenance, rejected
 * versions, estimates and withdrawn instants left out) and the same register step (vee/register.ts:
 * a rollover only where the digits make it plausible) as billing. A drop nothing explains has no
 * consumption (null), never a negative one.
 */
import { registerQuantity, zoneQuantities, type Resource } from '@amr/protocols';
import type { Queryable } from '../db/types.js';
import { localDate } from '../collection/rules.js';
import { consumptionBetween } from '../vee/register.js';
import { countingReadings } from './consumption-store.js';

export interface HistoryMeter { id: number; resource: Resource; zones: number; registerDigits: number | null; timezone: string }
export interface MonthValue { month: string; value: number; consumption: number | null }
export interface RegisterHistory { meter_id: number; zone: number | null; months: MonthValue[] }

const pad = (n: number) => String(n).padStart(2, '0');

export async function monthlyHistory(q: Queryable, meters: readonly HistoryMeter[], months: number, now: Date): Promise<RegisterHistory[]> {
  const from = new Date(now.getTime() - (months + 1) * 31 * 86_400_000);
  const out: RegisterHistory[] = [];
  for (const m of meters) {
    const registers = m.zones >= 2 ? zoneQuantities(Math.min(3, m.zones)).map((qn, i) => ({ qn, zone: i + 1 })) : [{ qn: registerQuantity(m.resource), zone: null }];
    for (const { qn, zone } of registers) {
      const series = await countingReadings(q, m.id, qn, from, now);
      const lastOfMonth = new Map<string, { time: Date; value: number }>();
      for (const r of series) {
        const d = localDate(r.time, m.timezone);
        lastOfMonth.set(`${d.y}-${pad(d.m)}`, { time: r.time, value: r.value });
      }
      const list: MonthValue[] = [];
      let prev: { time: Date; value: number } | null = null;
      for (const [month, cur] of [...lastOfMonth].sort(([a], [b]) => a.localeCompare(b))) {
        let consumption: number | null = null;
        if (prev) {
          const c = consumptionBetween(prev, cur, { registerDigits: m.registerDigits });
          consumption = c.decreased ? null : Math.round(c.consumption * 1e6) / 1e6;
        }
        list.push({ month, value: cur.value, consumption });
        prev = cur;
      }
      if (list.length) out.push({ meter_id: m.id, zone, months: list.slice(-months) });
    }
  }
  return out;
}
