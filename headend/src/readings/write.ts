/**
 * The one way in for readings that are not telemetry: load → pure judge (judge.ts) → one write.
 *
 *   caller (route, import, exchange job, replacement)
 *     → writeReadings(items, { source, rights, scope, now, confirm })
 *         scope: every meter is the caller's (premise / building / organisation), else 404 naming it
 *         settings + instant: the window's start for an entry, the given time otherwise
 *         facts at that instant (write-store.ts) → judgeReading → refusals | warnings | ok
 *     → any refusal: 400 naming each meter and why, nothing written
 *     → warnings without confirmation: 409 confirmation_required, nothing written
 *     → each reading a new version with who/when/why, and its audit row, in the caller's transaction
 *
 * Rights come from the principal through rightsFor (one table, below), never from the route, so the
 * outside-window privilege means the same on every path.
 */
import { registerQuantity } from '@amr/protocols';
import type { Queryable } from '../db/types.js';
import { HttpError, type ErrorDetail } from '../http/errors.js';
import { audit, type Actor } from '../audit/index.js';
import { can, type Principal } from '../auth/index.js';
import { effectiveSettings } from '../collection/storage.js';
import type { CollectionSettings } from '../collection/rules.js';
import { entryInstant, insideWindow, judgeReading, REFUSAL_FIELD, type WriteRights, type WriteSource } from './judge.js';
import { insertVersion, loadMetersForWrite, loadNeighbourFacts, type MeterRowForWrite } from './write-store.js';

export interface WriteItem {
  meterId: number;
  /** Tariff zone (1..3) of a multi-zone meter; absent for a single-register meter. */
  zone?: number;
  /** An explicit register (corrections of other quantities); default: the resource's register, or the zone's. */
  quantity?: string;
  value: number;
  /** Explicit instant; absent: dated by the window rule. */
  time?: Date;
  correction?: boolean;
  reason?: string | null;
  /** Where the item came from, for error details (e.g. "readings.2", "row 14"). */
  path?: string;
}

/** Who may write which meters: a principal's scope, or an organisation (scheduled jobs). */
export type WriteScope = { principal: Principal; premiseOnly?: number; buildingOnly?: number; buildingMetersOnly?: boolean } | { orgId: number; buildingIds?: ReadonlySet<number> | null };

export interface WriteOptions {
  source: WriteSource;
  actor: Actor;
  rights: WriteRights;
  scope: WriteScope;
  now: Date;
  confirm: boolean;
  /** Reason for every item without its own. */
  reason?: string | null;
  requestId?: string | null;
  /** An identical value at the same instant writes nothing (imports re-read). */
  skipUnchanged?: boolean;
  /** The replacement writing its own removal/installation readings. */
  byReplacement?: boolean;
  /** Judge only; write nothing (dry runs). */
  dryRun?: boolean;
  auditAction?: string;
  /** One audit row per reading (default); a file import writes one row for the file instead. */
  auditEach?: boolean;
}

export interface WrittenReading {
  meter_id: number; zone: number | null; quantity: string; time: Date; value: number; version: number | null; received_at: Date | null;
  consumption: number | null; warning: string | null; unchanged: boolean; previous: number | null;
}

/** The rights of a principal for a source: the one table every path uses. */
export function rightsFor(p: Principal, source: WriteSource): WriteRights {
  const outsideWindow = source !== 'resident' && can(p.role, 'readings:enter_outside_window');
  const correct = can(p.role, 'readings:correct');
  switch (source) {
    case 'resident': return { write: p.role === 'resident' && can(p.role, 'readings:submit'), outsideWindow: false, correct: false };
    case 'staff': return { write: can(p.role, 'readings:enter'), outsideWindow, correct };
    case 'import': return { write: can(p.role, 'import:run') || can(p.role, 'exchange:run'), outsideWindow, correct };
    case 'estimate': return { write: correct, outsideWindow: true, correct };
  }
}

/** The register an item writes: the zone's, the explicit one, or the resource's. */
export function quantityOf(m: MeterRowForWrite, it: WriteItem): { quantity: string } | { error: string } {
  if (it.zone !== undefined) {
    if (m.zones < 2) return { error: `meter ${m.id}: has one register; give its value without a zone` };
    if (!Number.isInteger(it.zone) || it.zone < 1 || it.zone > Math.min(3, m.zones)) return { error: `meter ${m.id}: has zones 1–${Math.min(3, m.zones)}; zone ${it.zone} does not exist` };
    return { quantity: `energy_t${it.zone}_kwh` };
  }
  if (it.quantity) return { quantity: it.quantity };
  if (m.zones >= 2) return { error: `meter ${m.id}: has ${m.zones} tariff zones; give one value per zone (zone 1 = day, 2 = night${m.zones >= 3 ? ', 3 = peak' : ''})` };
  return { quantity: registerQuantity(m.resource) };
}

function inScope(m: MeterRowForWrite, s: WriteScope): boolean {
  if ('principal' in s) {
    const p = s.principal;
    if (p.buildingIds !== null && !p.buildingIds.has(m.buildingId)) return false;
    if (p.premiseIds !== null && (m.premiseId === null || !p.premiseIds.has(m.premiseId))) return false;
    if (p.organisationId !== null && p.organisationId !== m.orgId) return false;
    if (s.premiseOnly !== undefined && m.premiseId !== s.premiseOnly) return false;
    if (s.buildingOnly !== undefined && m.buildingId !== s.buildingOnly) return false;
    if (s.buildingMetersOnly && m.premiseId !== null) return false;
    return true;
  }
  return m.orgId === s.orgId && (!s.buildingIds || s.buildingIds.has(m.buildingId));
}

export async function writeReadings(q: Queryable, items: readonly WriteItem[], o: WriteOptions): Promise<WrittenReading[]> {
  const meters = await loadMetersForWrite(q, [...new Set(items.map((i) => i.meterId))]);
  const errors: Array<ErrorDetail & { code?: string }> = [];
  const missing: ErrorDetail[] = [];
  const warnings: ErrorDetail[] = [];
  const settingsCache = new Map<string, CollectionSettings>();
  const seen = new Set<string>();
  const planned: Array<{ m: MeterRowForWrite; it: WriteItem; quantity: string; time: Date; out: WrittenReading; warning: string | null; before: unknown }> = [];
  for (const [i, it] of items.entries()) {
    const path = it.path ?? `readings.${i}`;
    const m = meters.get(it.meterId);
    // Not visible and not existing answer alike, so nobody can probe another organisation's ids.
    if (!m || !inScope(m, o.scope)) { missing.push({ path, message: `meter ${it.meterId} not found`, column: 'meter' }); continue; }
    const q1 = quantityOf(m, it);
    if ('error' in q1) { errors.push({ path, message: q1.error, column: 'zone' }); continue; }
    const key = `${m.id}|${q1.quantity}|${it.time?.toISOString() ?? ''}`;
    if (seen.has(key)) { errors.push({ path, message: `meter ${m.id}: given twice${it.zone ? ` for zone ${it.zone}` : ''}` }); continue; }
    seen.add(key);
    const sk = `${m.buildingId}|${m.resource}`;
    if (!settingsCache.has(sk)) settingsCache.set(sk, await effectiveSettings(q, m.buildingId, m.resource));
    const settings = settingsCache.get(sk)!;
    const at = it.time
      ? { time: it.time, inWindow: insideWindow(it.time, m.timezone, settings) }
      : entryInstant(o.now, m.timezone, settings);
    const facts = await loadNeighbourFacts(q, m, q1.quantity, at.time);
    const j = judgeReading({ value: it.value, time: it.time, correction: it.correction, byReplacement: o.byReplacement }, m, facts,
      { source: o.source, rights: o.rights, now: o.now, settings, confirmed: o.confirm }, at.time, at.inWindow);
    if (!j.ok) { errors.push({ path: path === 'body' ? `body.${REFUSAL_FIELD[j.code]}` : path, message: j.reason, column: REFUSAL_FIELD[j.code], code: j.code }); continue; }
    const unchanged = !!o.skipUnchanged && facts.atInstant?.value === it.value;
    const warning = unchanged ? null : (j.warnings.join('; ') || null);
    if (warning) warnings.push({ path, message: warning });
    planned.push({
      m, it, quantity: q1.quantity, time: j.time, warning, before: facts.atInstant ?? undefined,
      out: { meter_id: m.id, zone: it.zone ?? null, quantity: q1.quantity, time: j.time, value: it.value, version: null, received_at: null, consumption: j.consumption, warning, unchanged, previous: facts.previous?.value ?? null },
    });
  }
  if (missing.length) throw new HttpError(404, 'not_found', missing.map((e) => e.message).join('; '), missing);
  // A replacement's reading is not wrong, it is someone else's: a conflict, pointing to the replacement.
  const owned = errors.filter((e) => e.code === 'replacement_reading');
  if (owned.length) throw new HttpError(409, 'conflict', owned.map((e) => e.message).join('; '), owned.map(({ code: _c, ...e }) => e));
  if (errors.length) throw new HttpError(400, 'bad_request', `readings refused: ${errors.map((e) => e.message).join('; ')}`, errors.map(({ code: _c, ...e }) => e));
  if (warnings.length && !o.confirm) {
    throw new HttpError(409, 'confirmation_required', `confirmation required: ${warnings.map((e) => e.message).join('; ')}`, warnings);
  }
  if (o.dryRun) return planned.map((p) => p.out);
  const source = o.source === 'estimate' ? 'staff' : o.source;
  for (const p of planned) {
    if (p.out.unchanged) continue;
    const reason = p.it.reason ?? o.reason ?? (p.warning ? `confirmed: ${p.warning}` : null);
    const r = await insertVersion(q, { meterId: p.m.id, time: p.time, quantity: p.quantity, value: p.it.value, source, createdBy: o.actor.name, reason });
    if (o.auditEach !== false) await audit(q, o.actor, {
      action: o.auditAction ?? (p.it.correction ? 'correct' : o.source === 'resident' ? 'submit' : o.source === 'import' ? 'import' : 'enter'),
      entity: 'reading', entityId: `${p.m.id}/${p.quantity}/${p.time.toISOString()}`, buildingId: p.m.buildingId, before: p.before, after: r, reason, requestId: o.requestId ?? null,
    });
    p.out.version = r.version;
    p.out.received_at = r.received_at;
    p.out.time = new Date(r.time);
  }
  return planned.map((p) => p.out);
}
