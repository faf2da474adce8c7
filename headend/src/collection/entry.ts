/**
 * Entering a batch of readings (resident or staff): every meter is checked by the pure rules first; any
 * refusal fails the whole batch naming each meter and reason (a resident's entry where staff already
 * took this period's reading is one: billing would count the staff's); warnings fail it with 409 "confirmation
 * required" unless confirmed. Only then is every value saved as a new version, with its audit row, in
 * the caller's transaction.
 */
import type { Queryable } from '../api/queryable.js';
import { HttpError, type ErrorDetail } from '../api/http-error.js';
import { audit, type Actor } from '../audit/index.js';
import { checkEntry, takenByStaffReason } from './rules.js';
import { effectiveSettings, meterFacts, periodFor, saveReading, staffReadingAt, type MeterRow } from './storage.js';

export interface EntryItem { meter_id: number; value: number }
export interface EntryOptions {
  source: 'resident' | 'staff';
  actor: Actor;
  mayBypassWindow: boolean;
  confirm: boolean;
  reason: string | null;
  now: Date;
  requestId: string;
}

export interface EnteredReading {
  meter_id: number; time: Date; value: number; version: number; received_at: Date; consumption: number | null; warning: string | null;
}

export async function enterReadings(q: Queryable, meters: Map<number, MeterRow>, items: EntryItem[], o: EntryOptions): Promise<EnteredReading[]> {
  const errors: ErrorDetail[] = [];
  const warnings: ErrorDetail[] = [];
  const planned: { m: MeterRow; value: number; time: Date; consumption: number | null; warning: string | null }[] = [];
  const seen = new Set<number>();
  for (const [i, it] of items.entries()) {
    const m = meters.get(it.meter_id)!;
    if (seen.has(m.id)) { errors.push({ path: `readings.${i}`, message: `meter ${m.id}: given twice` }); continue; }
    seen.add(m.id);
    if (m.status !== 'active') { errors.push({ path: `readings.${i}`, message: `meter ${m.id}: is ${m.status}` }); continue; }
    const settings = await effectiveSettings(q, m.building_id, m.resource);
    const period = periodFor(o.now, m.timezone, settings);
    const facts = await meterFacts(q, m, period.time);
    const v = checkEntry(it.value, facts, { today: period.today, settings, window: period.window, mayBypassWindow: o.mayBypassWindow, readingTime: period.time });
    if (!v.ok) { errors.push({ path: `readings.${i}`, message: v.reason }); continue; }
    // After the rules: a closed window or a refused value is the answer the resident needs first.
    if (o.source === 'resident') {
      const taken = await staffReadingAt(q, m, period.time);
      if (taken) { errors.push({ path: `readings.${i}`, message: takenByStaffReason(m.id, taken.value) }); continue; }
    }
    if (v.warning) warnings.push({ path: `readings.${i}`, message: v.warning });
    planned.push({ m, value: it.value, time: period.time, consumption: v.consumption, warning: v.warning });
  }
  if (errors.length) throw new HttpError(400, 'bad_request', `readings refused: ${errors.map((e) => e.message).join('; ')}`, errors);
  if (warnings.length && !o.confirm) {
    throw new HttpError(409, 'confirmation_required', `confirmation required: ${warnings.map((e) => e.message).join('; ')}`, warnings);
  }
  const out: EnteredReading[] = [];
  for (const p of planned) {
    const r = await saveReading(q, p.m, p.time, p.value, o.source, o.actor.name, o.reason ?? (p.warning ? 'high consumption confirmed' : null));
    await audit(q, o.actor, {
      action: o.source === 'resident' ? 'submit' : 'enter', entity: 'reading', entityId: `${p.m.id}/${r.quantity}/${p.time.toISOString()}`,
      buildingId: p.m.building_id, after: r, reason: o.reason ?? (p.warning ? `confirmed: ${p.warning}` : null), requestId: o.requestId,
    });
    out.push({ meter_id: p.m.id, time: r.time, value: Number(r.value), version: r.version, received_at: r.received_at, consumption: p.consumption, warning: p.warning });
  }
  return out;
}
