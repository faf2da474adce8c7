/**
 * A meter's history by month, as a resident reads it: per register (each tariff zone of a zone meter
 * on its own), the month's last counting reading in the building's time zone and the consumption
 * since the month before — with the same counting reading (consumption-store: provenance, rejected
 * versions, estimates and withdrawn instants left out) and the same register step (vee/register.ts:
 * a rollover only where the digits and the meter's usual monthly use make it plausible) as billing. A drop nothing explains has no
 * consumption (null), never a negative one.
 *
 * A replaced meter: the old one's last month ends at its removal reading (a reading row of the old
 * meter), the new one's first month counts from its installation reading, so the two months add up
 * to what billing counts across the swap (consumption.ts chainSeries).
 */
import { registerQuantity, zoneQuantities, type Resource } from '@amr/protocols';
import type { Queryable } from '../db/types.js';
import { localDate } from '../collection/rules.js';
import { liveOf } from '../registry/replacement.js';
import { consumptionBetween } from '../vee/register.js';
import { countingSeries, usualMonthly } from './consumption.js';
import { loadReadings, MANUAL_HISTORY_DAYS } from './consumption-store.js';

export interface HistoryMeter { id: number; resource: Resource; zones: number; registerDigits: number | null; timezone: string }
export interface MonthValue { month: string; value: number; consumption: number | null }
export interface RegisterHistory { meter_id: number; zone: number | null; months: MonthValue[] }

const pad = (n: number) => String(n).padStart(2, '0');

export async function monthlyHistory(q: Queryable, meters: readonly HistoryMeter[], months: number, now: Date): Promise<RegisterHistory[]> {
  // At least billing's history (MANUAL_HISTORY_DAYS): a drop is judged against the usual use before it, as billing judges it.
  const from = new Date(now.getTime() - Math.max((months + 1) * 31, MANUAL_HISTORY_DAYS) * 86_400_000);
  const registersOf = (m: HistoryMeter) => (m.zones >= 2 ? zoneQuantities(Math.min(3, m.zones)).map((qn, i) => ({ qn, zone: i + 1 })) : [{ qn: registerQuantity(m.resource), zone: null }]);
  const ids = meters.map((m) => m.id);
  // Every register of every meter in one query, and the replacements that installed them in one more.
  const byMeter = await loadReadings(q, ids, [...new Set(meters.flatMap((m) => registersOf(m).map((r) => r.qn)))], from, now);
  const installedAt = new Map((await liveOf(q, ids)).map((r) => [`${r.new_meter_id}|${r.quantity}`, new Date(r.replaced_at).getTime()]));
  const out: RegisterHistory[] = [];
  for (const m of meters) {
    for (const { qn, zone } of registersOf(m)) {
      const series = countingSeries(byMeter.get(m.id)!.get(qn)!);
      const lastOfMonth = new Map<string, { time: Date; value: number }>();
      for (const r of series) {
        const d = localDate(r.time, m.timezone);
        lastOfMonth.set(`${d.y}-${pad(d.m)}`, { time: r.time, value: r.value });
      }
      const list: MonthValue[] = [];
      // A meter installed by a replacement counts its first month from the installation reading.
      const installed = installedAt.get(`${m.id}|${qn}`);
      let prev: { time: Date; value: number } | null = series.find((r) => r.time.getTime() === installed) ?? null;
      for (const [month, cur] of [...lastOfMonth].sort(([a], [b]) => a.localeCompare(b))) {
        let consumption: number | null = null;
        if (prev) {
          // A drop is a rollover only where billing would read it so: the digits, and the usual monthly use before it.
          const before = prev;
          const usual = cur.value < prev.value ? usualMonthly(series.filter((r) => r.time <= before.time)) : null;
          const c = consumptionBetween(prev, cur, { registerDigits: m.registerDigits, usualMonthlyConsumption: usual });
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
