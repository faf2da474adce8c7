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
import { QUANTITIES, registerQuantity, type KnownQuantity } from '@amr/protocols';
import type { Queryable } from '../db/types.js';
import { HttpError, type ErrorDetail, type ErrorParams } from '../http/errors.js';
import { auditMany, type Actor, type AuditEntry } from '../audit/index.js';
import { can, mayAccess, type Principal } from '../auth/index.js';
import { effectiveSettings } from '../collection/storage.js';
import type { CollectionSettings } from '../collection/rules.js';
import { entryInstant, insideWindow, judgeReading, meterName, queuedEntryInstant, REFUSAL_FIELD, type NeighbourFacts, type WriteRights, type WriteSource } from './judge.js';
import { insertKnownVersions, insertVersions, loadMetersForWrite, loadNeighbourFactsBatch, threeMonthsFiveDaysBefore, type MeterRowForWrite, type NewVersion } from './write-store.js';

export interface WriteItem {
  meterId: number;
  /** Tariff zone (1..3) of a multi-zone meter; absent for a single-register meter. */
  zone?: number;
  /** An explicit register (corrections of other quantities); default: the resource's register, or the zone's. */
  quantity?: string;
  value: number;
  /** Explicit instant; absent: dated by the window rule. */
  time?: Date;
  /** When a queued entry was taken on a phone (no explicit time): the window rule applies at that instant (judge.ts queuedEntryInstant). */
  takenAt?: Date;
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
  /**
   * An identical value at the same instant writes nothing whoever stored it (imports re-read). A resend
   * by the same source is unchanged without it (judge.ts): residents and staff alike.
   */
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

/** Codes of the refusals write.ts gives itself (before the judge): the zones of an item, a meter given twice, a meter not found. */
export const WRITE_REFUSAL_CODES = ['zone_not_applicable', 'zone_unknown', 'zone_required', 'duplicate', 'meter_not_found'] as const;

/** The register an item writes: the zone's, the explicit one, or the resource's. */
export function quantityOf(m: MeterRowForWrite, it: WriteItem): { quantity: string } | { error: string; code: (typeof WRITE_REFUSAL_CODES)[number]; params: ErrorParams } {
  const serial = m.serial ?? null;
  if (it.zone !== undefined) {
    if (m.zones < 2) return { error: `${meterName(m)}: has one register; give its value without a zone`, code: 'zone_not_applicable', params: { serial, zone: it.zone } };
    if (!Number.isInteger(it.zone) || it.zone < 1 || it.zone > Math.min(3, m.zones)) {
      return { error: `${meterName(m)}: has zones 1–${Math.min(3, m.zones)}; zone ${it.zone} does not exist`, code: 'zone_unknown', params: { serial, zone: it.zone, zones: Math.min(3, m.zones) } };
    }
    return { quantity: `energy_t${it.zone}_kwh` };
  }
  if (it.quantity) return { quantity: it.quantity };
  if (m.zones >= 2) return { error: `${meterName(m)}: has ${m.zones} tariff zones; give one value per zone (zone 1 = day, 2 = night${m.zones >= 3 ? ', 3 = peak' : ''})`, code: 'zone_required', params: { serial, zones: m.zones } };
  return { quantity: registerQuantity(m.resource) };
}

/** What a quantity is, for the judge: a register unless the contract says it is an amount or an instantaneous value (a state word is one). */
const kindOf = (quantity: string): 'register' | 'interval' | 'instant' => {
  const k = QUANTITIES[quantity as KnownQuantity]?.kind;
  return k === 'interval' ? 'interval' : k === 'instant' || k === 'state' ? 'instant' : 'register';
};

/** The unit of a register's values as the pages key it ('kwh', 'm3'): the contract's unit of the quantity. */
const unitOf = (quantity: string) => QUANTITIES[quantity as KnownQuantity]?.unit.toLowerCase() ?? null;

function inScope(m: MeterRowForWrite, s: WriteScope): boolean {
  if ('principal' in s) {
    // The organisation / building / premise rule is tenancy's (auth/tenancy.ts mayAccess), the same as
    // every route's. A meter always has a building, so the organisations set (asked only of rows
    // without one) is not needed: null.
    if (!mayAccess(s.principal, { orgId: m.orgId, buildingId: m.buildingId, premiseId: m.premiseId }, null)) return false;
    if (s.premiseOnly !== undefined && m.premiseId !== s.premiseOnly) return false;
    if (s.buildingOnly !== undefined && m.buildingId !== s.buildingOnly) return false;
    if (s.buildingMetersOnly && m.premiseId !== null) return false;
    return true;
  }
  return m.orgId === s.orgId && (!s.buildingIds || s.buildingIds.has(m.buildingId));
}

/** One item's outcome of judgeReadingsBatch, by its index in the request. */
export interface PlannedReading {
  index: number; m: MeterRowForWrite; it: WriteItem; quantity: string; time: Date; out: WrittenReading; warning: string | null; before: unknown;
  /** The version a write would get now (a dry run reports it). */
  nextVersion: number;
}
export interface BatchJudgement {
  planned: PlannedReading[];
  /** Refusals (400; code 'replacement_reading' is a 409), in the request's order, each with its code and params. */
  errors: Array<ErrorDetail & { code: string; index: number }>;
  /** Meters not found or not the caller's (404). */
  missing: Array<ErrorDetail & { index: number }>;
  /** Values that need a person's confirmation (only when not confirmed): one per warning, several per item possible. */
  warnings: Array<ErrorDetail & { code: string; index: number }>;
}

/**
 * Judges many items with a constant number of queries per batch (meters, settings per building and
 * resource, one facts query: write-store.ts loadNeighbourFactsBatch) and judgeReading unchanged. Items
 * of one register are judged in time order, each against the database's facts and the batch's earlier
 * accepted items, so a batch of several months of one meter is checked reading against reading.
 * Writes nothing; reports every item's outcome (an import names rows, an API call throws).
 */
export async function judgeReadingsBatch(q: Queryable, items: readonly WriteItem[], o: Omit<WriteOptions, 'actor'>): Promise<BatchJudgement> {
  return (await judgeRequests(q, [{ items, o }]))[0];
}

/** One caller's items with its own options (scope, rights, now, confirm): a request of a batch. */
export interface WriteRequest { items: readonly WriteItem[]; o: WriteOptions }

/**
 * judgeReadingsBatch for several independent requests at once (residents' submissions of one
 * linger): the meters, settings and neighbour facts of every request's items are loaded together in
 * the same handful of queries, then each request is judged on its own — its scope, rights, clock,
 * confirmation, its own duplicates and its own earlier items as neighbours — exactly as it would be
 * alone. Requests must not share a register (the submission batcher puts a later request of the same
 * meter into the next batch): each is judged against the database, not against another's unwritten items.
 */
export async function judgeRequests(q: Queryable, reqs: ReadonlyArray<{ items: readonly WriteItem[]; o: Omit<WriteOptions, 'actor'> }>): Promise<BatchJudgement[]> {
  const meters = await loadMetersForWrite(q, [...new Set(reqs.flatMap((r) => r.items.map((i) => i.meterId)))]);
  const results: BatchJudgement[] = reqs.map(() => ({ planned: [], errors: [], missing: [], warnings: [] }));
  // Settings are the building's, whoever asks: once per building and resource for the whole batch.
  const settingsCache = new Map<string, CollectionSettings>();
  const todo: Array<{ r: number; index: number; path: string; m: MeterRowForWrite; it: WriteItem; quantity: string; settings: CollectionSettings; time: Date; inWindow: boolean }> = [];
  for (const [r, { items, o }] of reqs.entries()) {
    const res = results[r];
    const seen = new Set<string>();
    // insideWindow for each (settings, zone, instant) once: a file's rows name few dates, and working
    // out the window's dates in the building's zone for every row was a tenth of a chunk's JS. Per
    // request: the answer depends on its clock.
    const windowMemo = new Map<CollectionSettings, Map<string, boolean>>();
    const inWindowOf = (time: Date, timezone: string, settings: CollectionSettings): boolean => {
      let bySettings = windowMemo.get(settings);
      if (!bySettings) windowMemo.set(settings, bySettings = new Map());
      const key = `${timezone}|${time.getTime()}`;
      let inside = bySettings.get(key);
      if (inside === undefined) bySettings.set(key, inside = insideWindow(time, o.now, timezone, settings));
      return inside;
    };
    for (const [i, it] of items.entries()) {
      const path = it.path ?? `readings.${i}`;
      const m = meters.get(it.meterId);
      // Not visible and not existing answer alike, so nobody can probe another organisation's ids.
      // The id is the caller's own reference (what it sent), so the message may repeat it.
      if (!m || !inScope(m, o.scope)) { res.missing.push({ index: i, path, message: `meter ${it.meterId} not found`, column: 'meter', code: 'meter_not_found', params: { meter_id: it.meterId } }); continue; }
      const q1 = quantityOf(m, it);
      if ('error' in q1) { res.errors.push({ index: i, path, message: q1.error, column: 'zone', code: q1.code, params: q1.params }); continue; }
      const key = `${m.id}|${q1.quantity}|${it.time?.toISOString() ?? ''}`;
      if (seen.has(key)) {
        res.errors.push({ index: i, path, message: `${meterName(m)}: given twice${it.zone ? ` for zone ${it.zone}` : ''}`, code: 'duplicate', params: { serial: m.serial ?? null, zone: it.zone ?? null } });
        continue;
      }
      seen.add(key);
      const sk = `${m.buildingId}|${m.resource}`;
      if (!settingsCache.has(sk)) settingsCache.set(sk, await effectiveSettings(q, m.buildingId, m.resource));
      const settings = settingsCache.get(sk)!;
      const at = it.time
        ? { time: it.time, inWindow: inWindowOf(it.time, m.timezone, settings) }
        : it.takenAt ? queuedEntryInstant(it.takenAt, o.now, m.timezone, settings) : entryInstant(o.now, m.timezone, settings);
      if ('code' in at) { res.errors.push({ index: i, path, code: at.code, message: `${meterName(m)}: ${at.reason}`, column: REFUSAL_FIELD[at.code], params: { ...at.params, serial: m.serial ?? null, zone: it.zone ?? null } }); continue; }
      todo.push({ r, index: i, path, m, it, quantity: q1.quantity, settings, time: at.time, inWindow: at.inWindow });
    }
  }
  // Time order within a register of a request, so each item meets its request's earlier ones as neighbours.
  todo.sort((a, b) => a.r - b.r || a.m.id - b.m.id || (a.quantity < b.quantity ? -1 : a.quantity > b.quantity ? 1 : 0) || a.time.getTime() - b.time.getTime() || a.index - b.index);
  const facts = await loadNeighbourFactsBatch(q, todo.map((t) => ({ m: t.m, quantity: t.quantity, time: t.time })));
  let register = '';
  let accepted: Array<{ time: Date; value: number; earliest: { time: Date; value: number } | null }> = [];
  for (const [k, t] of todo.entries()) {
    const { o } = reqs[t.r];
    const res = results[t.r];
    const reg = `${t.r}|${t.m.id}|${t.quantity}`;
    if (reg !== register) { register = reg; accepted = []; }
    const f: NeighbourFacts = { ...facts[k] };
    // The batch's latest accepted item before this instant is the previous reading when it is later
    // than the database's; its 3-month window starts from it (database or batch, whichever earlier).
    const prior = accepted.at(-1);
    if (prior && prior.time < t.time && (!f.previous || prior.time > f.previous.time)) {
      f.previous = { time: prior.time, value: prior.value };
      const from = threeMonthsFiveDaysBefore(prior.time).getTime();
      const inBatch = accepted.find((a) => a.time.getTime() >= from);
      const db = prior.earliest;
      f.earliestInThreeMonths = inBatch && (!db || inBatch.time < db.time) ? { time: inBatch.time, value: inBatch.value } : db;
    }
    const j = judgeReading({ value: t.it.value, time: t.it.time, correction: t.it.correction, byReplacement: o.byReplacement, kind: kindOf(t.quantity) }, t.m, f,
      { source: o.source, rights: o.rights, now: o.now, settings: t.settings, confirmed: o.confirm, skipUnchanged: o.skipUnchanged }, t.time, t.inWindow);
    // Every refusal says which register of which meter, in what unit: the page words it from these.
    const about = { zone: t.it.zone ?? null, unit: unitOf(t.quantity) };
    if (!j.ok) {
      res.errors.push({ index: t.index, path: t.path === 'body' ? `body.${REFUSAL_FIELD[j.code]}` : t.path, message: j.reason, column: REFUSAL_FIELD[j.code], code: j.code, params: { ...j.params, ...about } });
      continue;
    }
    accepted.push({ time: j.time, value: t.it.value, earliest: facts[k].earliestBeforeInstant && facts[k].earliestBeforeInstant.time <= j.time ? facts[k].earliestBeforeInstant : null });
    const unchanged = j.unchanged;
    const warning = j.warnings.map((w) => w.message).join('; ') || null;
    for (const w of j.warnings) res.warnings.push({ index: t.index, path: t.path, message: w.message, code: w.code, params: { ...w.params, ...about } });
    res.planned.push({
      index: t.index, m: t.m, it: t.it, quantity: t.quantity, time: j.time, warning, before: f.atInstant ?? undefined, nextVersion: (f.atInstant?.version ?? 0) + 1,
      // Unchanged: the version already there is the answer (a resent entry is told what it has).
      out: { meter_id: t.m.id, zone: t.it.zone ?? null, quantity: t.quantity, time: j.time, value: t.it.value, version: unchanged ? f.atInstant!.version : null, received_at: null, consumption: j.consumption, warning, unchanged, previous: f.previous?.value ?? null },
    });
  }
  const byIndex = <T extends { index: number }>(a: T, b: T) => a.index - b.index;
  for (const [r, res] of results.entries()) {
    res.planned.sort(byIndex); res.errors.sort(byIndex); res.warnings.sort(byIndex);
    if (reqs[r].o.confirm) res.warnings = [];
  }
  return results;
}

const sourceOf = (o: Pick<WriteOptions, 'source'>) => (o.source === 'estimate' ? 'staff' : o.source);
/**
 * Why a version exists, as stored with it and audited. An entry that waited on a phone says when it was
 * taken: it was judged at that instant (the collection window included), and an auditor asking who
 * entered after the window closed must see that it was taken before.
 */
function reasonOf(p: PlannedReading, o: Pick<WriteOptions, 'reason'>): string | null {
  const why = p.it.reason ?? o.reason ?? (p.warning ? `confirmed: ${p.warning}` : null);
  if (!p.it.takenAt) return why;
  const queued = `queued offline, taken at ${p.it.takenAt.toISOString()}`;
  return why ? `${why}; ${queued}` : queued;
}

/**
 * The versions a batch judgement accepted, as rows to store (who, why, the version judged free), for
 * a caller that stores them itself: a file import stages them hidden (import-staging.ts).
 */
export function plannedVersions(planned: readonly PlannedReading[], o: Pick<WriteOptions, 'source' | 'reason' | 'actor'>): Array<NewVersion & { version: number }> {
  return planned.filter((p) => !p.out.unchanged).map((p) => ({
    meterId: p.m.id, time: p.time, quantity: p.quantity, value: p.it.value, source: sourceOf(o), createdBy: o.actor.name, reason: reasonOf(p, o), version: p.nextVersion,
  }));
}

/** Writes what a batch judgement accepted: one INSERT for all versions; audit per reading or none (the caller audits the file). */
export async function writePlanned(q: Queryable, planned: readonly PlannedReading[], o: WriteOptions & { versionsKnown?: boolean }): Promise<void> {
  if (o.versionsKnown && o.auditEach === false) {
    // The caller checked that nothing was written to these meters since the judgement (a file import).
    const source = sourceOf(o);
    const todo = planned.filter((p) => !p.out.unchanged);
    await insertKnownVersions(q, todo.map((p) => ({ meterId: p.m.id, time: p.time, quantity: p.quantity, value: p.it.value, source, createdBy: o.actor.name, reason: reasonOf(p, o), version: p.nextVersion })));
    for (const p of todo) p.out.version = p.nextVersion;
    return;
  }
  await writePlannedMany(q, [{ planned, o }]);
}

/**
 * The accepted readings of several requests (each with its own actor, source, reason and request id)
 * in ONE insert of versions and ONE insert of audit rows: the submission batch's write.
 */
async function writePlannedMany(q: Queryable, parts: ReadonlyArray<{ planned: readonly PlannedReading[]; o: WriteOptions }>): Promise<void> {
  const todo = parts.flatMap(({ planned, o }) => planned.filter((p) => !p.out.unchanged).map((p) => ({ p, o, reason: reasonOf(p, o) })));
  const written = await insertVersions(q, todo.map(({ p, o, reason }) => ({ meterId: p.m.id, time: p.time, quantity: p.quantity, value: p.it.value, source: sourceOf(o), createdBy: o.actor.name, reason })));
  const audits: Array<{ actor: Actor; entry: AuditEntry }> = [];
  for (const [i, { p, o, reason }] of todo.entries()) {
    const r = written[i];
    if (o.auditEach !== false) audits.push({ actor: o.actor, entry: {
      action: o.auditAction ?? (p.it.correction ? 'correct' : o.source === 'resident' ? 'submit' : o.source === 'import' ? 'import' : 'enter'),
      entity: 'reading', entityId: `${p.m.id}/${p.quantity}/${p.time.toISOString()}`, buildingId: p.m.buildingId, before: p.before, after: r, reason, requestId: o.requestId ?? null,
    } });
    p.out.version = r.version;
    p.out.received_at = r.received_at;
    p.out.time = new Date(r.time);
  }
  await auditMany(q, audits);
}

/** Why a judged request is refused whole, as the API answers it (404 / 409 / 400 / 409 confirmation), or null when it may be written. */
function refusalOf(j: BatchJudgement, o: Pick<WriteOptions, 'confirm'>): HttpError | null {
  const { errors, missing, warnings } = j;
  const strip = ({ index: _i, ...e }: ErrorDetail & { index: number }): ErrorDetail => e;
  if (missing.length) return new HttpError(404, 'not_found', missing.map((e) => e.message).join('; '), missing.map(strip));
  // A replacement's reading is not wrong, it is someone else's: a conflict, pointing to the replacement.
  const owned = errors.filter((e) => e.code === 'replacement_reading');
  if (owned.length) return new HttpError(409, 'conflict', owned.map((e) => e.message).join('; '), owned.map(strip));
  if (errors.length) return new HttpError(400, 'bad_request', `readings refused: ${errors.map((e) => e.message).join('; ')}`, errors.map(strip));
  if (warnings.length && !o.confirm) {
    return new HttpError(409, 'confirmation_required', `confirmation required: ${warnings.map((e) => e.message).join('; ')}`, warnings.map(strip));
  }
  return null;
}

/** The API's entry: judge the batch, refuse it whole (404 / 409 / 400 / 409 confirmation) or write it. */
export async function writeReadings(q: Queryable, items: readonly WriteItem[], o: WriteOptions): Promise<WrittenReading[]> {
  const [outcome] = await writeRequests(q, [{ items, o }]);
  if (!outcome.ok) throw outcome.error;
  return outcome.readings;
}

export type RequestOutcome = { ok: true; readings: WrittenReading[] } | { ok: false; error: HttpError };

/**
 * writeReadings for several independent requests in the caller's transaction: judged together
 * (judgeRequests), each refused or accepted whole on its own, the accepted ones written in one insert
 * of versions and one of audit rows. A refusal is an outcome, not a throw: it writes nothing of its
 * request and leaves the others' writes alone. A database error throws (the whole transaction is lost).
 */
export async function writeRequests(q: Queryable, reqs: readonly WriteRequest[]): Promise<RequestOutcome[]> {
  const judged = await judgeRequests(q, reqs);
  const outcomes: RequestOutcome[] = [];
  const toWrite: Array<{ planned: readonly PlannedReading[]; o: WriteOptions }> = [];
  for (const [r, j] of judged.entries()) {
    const { o } = reqs[r];
    const error = refusalOf(j, o);
    if (error) { outcomes.push({ ok: false, error }); continue; }
    if (!o.dryRun) toWrite.push({ planned: j.planned, o });
    // The outs are filled in by the write below (version, received_at): the same objects.
    outcomes.push({ ok: true, readings: j.planned.map((p) => p.out) });
  }
  if (toWrite.length) await writePlannedMany(q, toWrite);
  return outcomes;
}
