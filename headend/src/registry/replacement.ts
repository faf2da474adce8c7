/**
 * Meter replacement (on a work order): the one module every path that replaces a meter, undoes a
 * replacement, corrects its readings or hand-edits a reading at its instant goes through. The rules
 * are pure functions at the top; the store functions below them hold the SQL and take the
 * transaction handle. Routes only translate HTTP to these calls.
 *
 * Rules (docs/domain.md, "Replacement"):
 * - at most one replacement operation per meter per LOCAL day of the building (buildings.timezone):
 *   00:30 in Moscow is 21:30 UTC of the day before, and users count days on their own clock;
 * - after the meter's last reading; a removal reading below it is refused, never read as a rollover;
 * - the removal and installation readings change only through the replacement (correctReplacement
 *   writes new versions of both the record and the reading); replacementReadingAt lets every
 *   reading-writing path refuse a hand edit at that meter and instant;
 * - undo of the meter's last operation only, and only while no accrual line of a period from the
 *   replacement's local month on exists for either meter — for a building meter, for its building and
 *   resource (its readings were not yet used in a calculation; a later month's line starts from the
 *   installation reading, so it counts too) — and no such period of the organisation is closed.
 *
 * Withdrawal: readings are never deleted. Undo writes a NULL-valued 'staff' version at each of the
 * two instants (reason "replacement N undone by X"). As the highest staff version it is the current
 * one: billing (billing/store/inputs.ts meterPoints), validation and imbalance take the current
 * version and skip the instant when its value is NULL.
 */
import { registerQuantity, type Resource } from '@amr/protocols';
import type { Queryable } from '../db/types.js';
import { audit, type Actor } from '../audit/index.js';
import { badRequest, conflict, notFound } from '../http/errors.js';
import { insertVersion as insertReadingVersion, unitOf } from '../readings/write-store.js';
import { writeReadings, type WriteItem } from '../readings/write.js';
import { currentVersion } from '../readings/read-store.js';
import { fmt, localDate } from '../collection/rules.js';
import { EARLIEST_READING, FUTURE_SKEW_MS } from '../readings/judge.js';

// ---------------------------------------------------------------- pure rules

/** The building's local calendar day of an instant, 'YYYY-MM-DD'. */
export const localDay = (at: Date, timeZone: string): string => fmt(localDate(at, timeZone));

/** The first day of the building's local month of an instant, 'YYYY-MM-01' (a billing period). */
export function localPeriod(at: Date, timeZone: string): string {
  const d = localDate(at, timeZone);
  return fmt({ ...d, d: 1 });
}

/** An operation of the same meter on the same local day, if any (the one-a-day rule). */
export function sameLocalDay<T extends { replaced_at: Date | string }>(existing: readonly T[], at: Date, timeZone: string): T | null {
  const day = localDay(at, timeZone);
  return existing.find((r) => localDay(new Date(r.replaced_at), timeZone) === day) ?? null;
}

/**
 * A removal reading against the meter's last reading before the replacement: it must come after it in
 * time and not be lower (a lower one would read as a rollover past zero — ask, don't guess).
 */
export function removalProblem(last: { time: Date; value: number } | null, at: Date, removal: number): { path: string; message: string } | null {
  if (!last) return null;
  if (last.time >= at) return { path: 'body.replaced_at', message: `replaced_at must be after the meter's last reading (${last.time.toISOString()})` };
  if (removal < last.value) return { path: 'body.removal_reading', message: `removal reading ${removal} is lower than the last reading ${last.value} (${last.time.toISOString()}); check the value` };
  return null;
}

/**
 * replaced_at against the clock, by the readings core's own bounds (readings/judge.ts): a typo'd year
 * (2062 for 2026) would remove the old meter for decades and put every later reading before the
 * installation reading.
 */
export function replacedAtProblem(at: Date, now: Date): { path: string; message: string } | null {
  if (at.getTime() > now.getTime() + FUTURE_SKEW_MS) return { path: 'body.replaced_at', message: `replaced_at ${at.toISOString()} is in the future; a replacement is dated when it was done` };
  if (at < EARLIEST_READING) return { path: 'body.replaced_at', message: `replaced_at ${at.toISOString()} is not a plausible date; check the year` };
  return null;
}

const undoReason = (id: number, who: string, why?: string | null) => `replacement ${id} undone by ${who}${why ? `: ${why}` : ''}`;

// ---------------------------------------------------------------- store

export interface ReplacementRecord {
  id: number; old_meter_id: number; new_meter_id: number; replaced_at: Date; quantity: string; version: number;
  removal_reading: number | null; installation_reading: number | null; work_order: string | null; reason: string | null;
  created_by: string | null; created_at: Date; new_meter_created: boolean; old_meter_before: Record<string, unknown> | null;
  new_meter_before: Record<string, unknown> | null; undone_at: Date | null; undone_by: string | null; undo_reason: string | null;
}
// Meter rows go out whole through the API schema (MeterRow in registry/meter-routes.ts); here only a few columns are read.
interface MeterRow {
  id: number; building_id: number; premise_id: number | null; placement: string; resource: Resource; status: string;
  [column: string]: unknown;
}
/** A meter_replacements row as pg gives it (numeric readings as text; quantity NULL: the old meter's register), with the old meter's resource. */
interface ReplacementDbRow extends Omit<ReplacementRecord, 'quantity' | 'removal_reading' | 'installation_reading'> {
  quantity: string | null; removal_reading: string | number | null; installation_reading: string | number | null; old_resource: Resource;
}

/**
 * Who acts and how to check they may touch a building (the route passes the principal's check);
 * `what` names the thing in the 404, the same words as for one that does not exist, so another
 * organisation's ids cannot be probed.
 */
/**
 * The replacement's removal and installation readings go through the readings core like every other
 * reading (register digits, time bounds, neighbours, versions): the work order is the person's
 * confirmation, and the window does not apply (byReplacement). Audited by the replacement itself.
 */
async function writeOwnReadings(q: Queryable, c: Caller, buildingId: number, items: WriteItem[]): Promise<void> {
  const org = (await q.query<{ org_id: string }>('SELECT org_id FROM buildings WHERE id = $1', [buildingId])).rows[0];
  await writeReadings(q, items, {
    source: 'staff', actor: c.actor, rights: { write: true, outsideWindow: true, correct: true }, scope: { orgId: Number(org.org_id) },
    now: c.now, confirm: true, byReplacement: true, auditEach: false, requestId: c.requestId ?? null,
  });
}

export interface Caller { actor: Actor; requestId?: string | null; canTouch: (buildingId: number, what?: string) => void; /** "now" as data (the API's clock). */ now: Date }

const num = (v: unknown) => (v == null ? null : Number(v));
/** Replacement rows with the old meter's resource, for the register when the row names none. */
const SELECT_REPLACEMENT = 'SELECT r.*, m.resource AS old_resource FROM meter_replacements r JOIN meters m ON m.id = r.old_meter_id';
function rec({ old_resource, ...r }: ReplacementDbRow): ReplacementRecord {
  return {
    ...r, quantity: r.quantity ?? registerQuantity(old_resource), id: Number(r.id), old_meter_id: Number(r.old_meter_id), new_meter_id: Number(r.new_meter_id), version: Number(r.version),
    removal_reading: num(r.removal_reading), installation_reading: num(r.installation_reading),
  };
}

async function reread(q: Queryable, id: number | string): Promise<ReplacementRecord> {
  return rec((await q.query<ReplacementDbRow>(`${SELECT_REPLACEMENT} WHERE r.id = $1`, [id])).rows[0]);
}

async function timezoneOf(q: Queryable, buildingId: number): Promise<string> {
  return (await q.query<{ timezone: string }>('SELECT timezone FROM buildings WHERE id = $1', [buildingId])).rows[0]?.timezone ?? 'UTC';
}

/**
 * The latest instant before `before` whose current version has a value (a withdrawn instant — NULL
 * current version — does not count). Reads newest rows in pages so a telemetered meter stays cheap.
 */
async function lastUsableReading(q: Queryable, meterId: number, quantity: string, before?: Date): Promise<{ time: Date; value: number } | null> {
  const PAGE = 200;
  for (let offset = 0; ; offset += PAGE) {
    const { rows } = await q.query<{ time: Date; value: number | null }>(
      `SELECT time, value FROM readings WHERE meter_id = $1 AND quantity = $2 AND ($3::timestamptz IS NULL OR time < $3)
        ORDER BY time DESC, version DESC LIMIT ${PAGE} OFFSET ${offset}`, [meterId, quantity, before ?? null]);
    let seen: number | null = null;
    for (const r of rows) {
      const t = new Date(r.time).getTime();
      if (t === seen) continue; // an older version of an instant already judged by its current one
      seen = t;
      if (r.value !== null) return { time: new Date(r.time), value: Number(r.value) };
    }
    if (rows.length < PAGE) return null;
  }
}

/** Replacements (any state) of a meter, as old or new, oldest first. */
export async function listReplacements(q: Queryable, meterId: number): Promise<ReplacementRecord[]> {
  const { rows } = await q.query<ReplacementDbRow>(`${SELECT_REPLACEMENT} WHERE r.old_meter_id = $1 OR r.new_meter_id = $1 ORDER BY r.replaced_at, r.id`, [meterId]);
  return rows.map(rec);
}

/** Live (not undone) replacements touching any of the meters. */
export async function liveOf(q: Queryable, meterIds: number[]): Promise<ReplacementRecord[]> {
  const { rows } = await q.query<ReplacementDbRow>(
    `${SELECT_REPLACEMENT} WHERE r.undone_at IS NULL AND (r.old_meter_id = ANY($1::bigint[]) OR r.new_meter_id = ANY($1::bigint[])) ORDER BY r.replaced_at, r.id`, [meterIds]);
  return rows.map(rec);
}

/**
 * The live replacement whose removal or installation reading is this meter's reading at this instant,
 * or null. Every path that writes a reading by hand asks this first.
 */
async function replacementReadingAt(q: Queryable, meterId: number, quantity: string, time: Date | string): Promise<ReplacementRecord | null> {
  // The batch with one key: one SQL rule for both.
  const [r] = await replacementReadingsAt(q, [{ meterId, quantity, time: new Date(time) }]);
  return r;
}

/** replacementReadingAt for many (meter, register, instant) keys in one query, in the keys' order. */
export async function replacementReadingsAt(q: Queryable, keys: ReadonlyArray<{ meterId: number; quantity: string; time: Date }>): Promise<Array<ReplacementRecord | null>> {
  if (!keys.length) return [];
  const { rows } = await q.query<ReplacementDbRow>(
    `${SELECT_REPLACEMENT} WHERE r.undone_at IS NULL AND r.replaced_at = ANY($2::timestamptz[])
        AND (r.old_meter_id = ANY($1::bigint[]) OR r.new_meter_id = ANY($1::bigint[]))`, [[...new Set(keys.map((k) => k.meterId))], [...new Set(keys.map((k) => k.time.toISOString()))]]);
  const recs = rows.map(rec);
  return keys.map((k) => recs.find((r) => (r.old_meter_id === k.meterId || r.new_meter_id === k.meterId)
    && new Date(r.replaced_at).getTime() === k.time.getTime() && r.quantity === k.quantity) ?? null);
}

/** Refuses (409) a hand-written reading at a replacement's instant, pointing to the replacement. */
export async function refuseReplacementReading(q: Queryable, meterId: number, quantity: string, time: Date | string): Promise<void> {
  const r = await replacementReadingAt(q, meterId, quantity, time);
  if (!r) return;
  const which = r.old_meter_id === meterId ? 'removal' : 'installation';
  throw conflict(
    `the ${quantity} reading of meter ${meterId} at ${new Date(time).toISOString()} is the ${which} reading of replacement ${r.id}; ` +
    `correct it through the replacement: PATCH /replacements/${r.id} with ${which}_reading and reason`,
    [{ path: 'body.time', message: `${which} reading of replacement ${r.id}` }]);
}

export interface ReplaceInput {
  replaced_at: string;
  new_meter_id?: number;
  /** Columns of a new meter, already prepared (placement, owner, resource copied from the old one). */
  newMeterRow?: (old: MeterRow) => Promise<Record<string, unknown>>;
  removal_reading: number;
  installation_reading: number;
  quantity?: string;
  work_order?: string;
  reason?: string;
}

/** Replaces meter `meterId`: the old one removed, the new one active, both readings written, the record kept. */
export async function replaceMeter(q: Queryable, c: Caller, meterId: number, b: ReplaceInput): Promise<{ replacement: ReplacementRecord; new_meter: MeterRow }> {
  const at = new Date(b.replaced_at);
  const old = (await q.query<MeterRow>('SELECT * FROM meters WHERE id = $1 FOR UPDATE', [meterId])).rows[0];
  if (!old) throw notFound('meter');
  c.canTouch(old.building_id);
  const when = replacedAtProblem(at, c.now);
  if (when) throw badRequest(when.message, [when]);
  if (old.status === 'removed') throw conflict(`meter ${old.id} was already removed`);
  const tz = await timezoneOf(q, old.building_id);
  const quantity = b.quantity ?? registerQuantity(old.resource);

  let newMeter: MeterRow | undefined;
  if (b.new_meter_id !== undefined) {
    newMeter = (await q.query<MeterRow>('SELECT * FROM meters WHERE id = $1 FOR UPDATE', [b.new_meter_id])).rows[0];
    if (!newMeter) throw badRequest(`new meter ${b.new_meter_id} does not exist`, [{ path: 'body.new_meter_id', message: 'unknown meter' }]);
    if (Number(newMeter.building_id) !== Number(old.building_id) || newMeter.resource !== old.resource || newMeter.placement !== old.placement || newMeter.premise_id !== old.premise_id) {
      throw badRequest(`new meter ${newMeter.id} must have the same place, resource and owner as meter ${old.id}`, [{ path: 'body.new_meter_id', message: 'different place, resource or owner' }]);
    }
  }
  // At most one replacement operation per meter per local day (both meters: an existing new one may have its own).
  const same = sameLocalDay(await liveOf(q, [Number(old.id), ...(newMeter ? [Number(newMeter.id)] : [])]), at, tz);
  if (same) {
    throw conflict(`meter ${old.id}${newMeter ? ` or meter ${newMeter.id}` : ''} already has a replacement on ${localDay(at, tz)} (${tz}): replacement ${same.id}; one replacement operation per meter per day`,
      [{ path: 'body.replaced_at', message: `same local day as replacement ${same.id}` }]);
  }
  const last = await lastUsableReading(q, Number(old.id), quantity);
  const problem = removalProblem(last, at, b.removal_reading);
  if (problem) throw badRequest(problem.message, [problem]);
  if (newMeter) {
    const newLast = await lastUsableReading(q, Number(newMeter.id), quantity);
    if (newLast && newLast.time >= at) throw badRequest(`replaced_at must be after the new meter's last reading (${newLast.time.toISOString()})`, [{ path: 'body.replaced_at', message: 'not after the new meter\'s last reading' }]);
  }

  const created = !newMeter;
  const newBefore = newMeter ? (await q.query('SELECT to_jsonb(m) AS s FROM meters m WHERE id = $1', [newMeter.id])).rows[0].s : null;
  if (!newMeter) {
    const body = await b.newMeterRow!(old);
    const cols = Object.keys(body).filter((k) => body[k] !== undefined);
    newMeter = (await q.query<MeterRow>(`INSERT INTO meters (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`, cols.map((k) => body[k]))).rows[0];
    await audit(q, c.actor, { action: 'create', entity: 'meter', entityId: newMeter.id, buildingId: newMeter.building_id, after: newMeter, requestId: c.requestId });
  }
  const oldBefore = (await q.query('SELECT to_jsonb(m) AS s FROM meters m WHERE id = $1', [old.id])).rows[0].s;
  const day = localDay(at, tz);
  const oldAfter = (await q.query(`UPDATE meters SET status = 'removed', decommissioned_on = $2::date, updated_at = now() WHERE id = $1 RETURNING *`, [old.id, day])).rows[0];
  await audit(q, c.actor, { action: 'remove', entity: 'meter', entityId: old.id, buildingId: old.building_id, before: old, after: oldAfter, requestId: c.requestId });
  const installedBefore = newMeter;
  newMeter = (await q.query<MeterRow>(`UPDATE meters SET status = 'active', installed_on = COALESCE(installed_on, $2::date), commissioned_on = COALESCE(commissioned_on, $2::date), updated_at = now() WHERE id = $1 RETURNING *`, [newMeter.id, day])).rows[0];
  await audit(q, c.actor, { action: 'install', entity: 'meter', entityId: newMeter.id, buildingId: newMeter.building_id, before: installedBefore, after: newMeter, requestId: c.requestId });
  const who = c.actor.name;
  const why = `replacement${b.work_order ? ` (work order ${b.work_order})` : ''}`;
  await writeOwnReadings(q, c, Number(old.building_id), [
    { meterId: Number(old.id), time: at, quantity, value: b.removal_reading, reason: `removal reading, ${why}`, path: 'body.removal_reading' },
    { meterId: Number(newMeter.id), time: at, quantity, value: b.installation_reading, reason: `installation reading, ${why}`, path: 'body.installation_reading' },
  ]);
  const repId = (await q.query(
    `INSERT INTO meter_replacements (old_meter_id, new_meter_id, replaced_at, removal_reading, installation_reading, work_order, reason, created_by,
                                     quantity, new_meter_created, old_meter_before, new_meter_before)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11::jsonb,$12::jsonb) RETURNING *`,
    [old.id, newMeter.id, at, b.removal_reading, b.installation_reading, b.work_order ?? null, b.reason ?? null, who, quantity, created,
      JSON.stringify(oldBefore), newBefore === null ? null : JSON.stringify(newBefore)])).rows[0].id;
  const rep = await reread(q, repId);
  await q.query(
    `INSERT INTO meter_replacement_versions (replacement_id, version, removal_reading, installation_reading, changed_by, changed_at, reason)
     VALUES ($1, 1, $2, $3, $4, $5, $6)`, [rep.id, rep.removal_reading, rep.installation_reading, who, rep.created_at, b.reason ?? null]);
  await audit(q, c.actor, { action: 'create', entity: 'meter_replacement', entityId: rep.id, buildingId: old.building_id, after: rep, requestId: c.requestId });
  return { replacement: rep, new_meter: newMeter };
}

/** Restores the columns a replacement changed on a meter from its snapshot (dates as text in jsonb). */
async function restoreMeter(q: Queryable, meterId: number, snapshot: Record<string, unknown>): Promise<MeterRow> {
  return (await q.query<MeterRow>(
    `UPDATE meters SET status = $2::jsonb->>'status', decommissioned_on = ($2::jsonb->>'decommissioned_on')::date, installed_on = ($2::jsonb->>'installed_on')::date,
                       commissioned_on = ($2::jsonb->>'commissioned_on')::date, updated_at = now() WHERE id = $1 RETURNING *`,
    [meterId, JSON.stringify(snapshot)])).rows[0];
}

/**
 * Undoes the last replacement operation of meter `meterId` (as old or new meter). The replacement
 * row is marked undone, the meters get their states back (a meter the replacement created is taken
 * out of service: status 'removed', no dates — its rows stay, as readings do), the two readings are
 * withdrawn by NULL versions; everything audited.
 */
export async function undoLastReplacement(q: Queryable, c: Caller, meterId: number, why?: string | null): Promise<ReplacementRecord> {
  const meter = (await q.query<MeterRow>('SELECT * FROM meters WHERE id = $1', [meterId])).rows[0];
  if (!meter) throw notFound('meter');
  c.canTouch(meter.building_id);
  const mine = await liveOf(q, [meterId]);
  const r = mine[mine.length - 1];
  if (!r) throw notFound(`a replacement of meter ${meterId} to undo`);
  await q.query('SELECT id FROM meters WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE', [[r.old_meter_id, r.new_meter_id]]);
  // The last operation of BOTH meters: a later replacement of the new meter (A→B, then B→C) comes first.
  const later = (await liveOf(q, [r.old_meter_id, r.new_meter_id])).filter((x) => x.id !== r.id && new Date(x.replaced_at) >= new Date(r.replaced_at));
  if (later.length) {
    throw conflict(`replacement ${r.id} is not the last operation of its meters: replacement ${later[0].id} (meter ${later[0].old_meter_id} → ${later[0].new_meter_id}, ${new Date(later[0].replaced_at).toISOString()}) came after it; undo that one first`);
  }
  if (!r.old_meter_before) throw conflict(`replacement ${r.id} was recorded before undo was possible (no saved meter states); restore the meters by hand`);
  const tz = await timezoneOf(q, meter.building_id);
  const from = localPeriod(new Date(r.replaced_at), tz);
  const instead = `correct its readings with PATCH /replacements/${r.id} instead, or recalculate after a correction`;
  // A closed month is settled (bills sent): its inputs change only through corrections and their
  // adjustments, even where no line names these meters (the building was not computed, or the line was).
  const closed = (await q.query<{ period: string }>(
    `SELECT to_char(p.period, 'YYYY-MM') AS period FROM billing_periods p JOIN buildings b ON b.org_id = p.org_id
      WHERE b.id = $1 AND p.status = 'closed' AND p.period >= $2::date ORDER BY p.period LIMIT 1`, [meter.building_id, from])).rows[0];
  if (closed) throw conflict(`replacement ${r.id} cannot be undone: billing period ${closed.period} is closed; ${instead}`);
  // A building-wide meter (ОДПУ, no premise) is read by the building's common-house lines, which name
  // no meter: any line of its building and resource from that month on used it.
  const buildingWide = meter.premise_id == null;
  const used = (await q.query<{ period: string; meter_id: string | null }>(
    `SELECT to_char(COALESCE(adjusts_period, period), 'YYYY-MM') AS period, meter_id FROM accrual_lines
      WHERE (meter_id = ANY($1::bigint[]) OR ($3 AND building_id = $4 AND resource = $5)) AND COALESCE(adjusts_period, period) >= $2::date ORDER BY 1 LIMIT 1`,
    [[r.old_meter_id, r.new_meter_id], from, buildingWide, meter.building_id, meter.resource])).rows[0];
  if (used) {
    const named = used.meter_id != null && [r.old_meter_id, r.new_meter_id].includes(Number(used.meter_id));
    throw conflict(`replacement ${r.id} cannot be undone: its readings were already used in the billing of ${used.period} `
      + `(${named ? `meter ${used.meter_id}` : `building ${meter.building_id}, ${meter.resource}: a building meter`}); ${instead}`);
  }
  const who = c.actor.name;
  const reason = undoReason(r.id, who, why);
  for (const [m, kind] of [[r.old_meter_id, 'removal'], [r.new_meter_id, 'installation']] as const) {
    const prev = (await q.query('SELECT * FROM readings WHERE meter_id = $1 AND quantity = $2 AND time = $3 ORDER BY version DESC LIMIT 1', [m, r.quantity, r.replaced_at])).rows[0];
    if (!prev || prev.value === null) continue; // nothing (left) to withdraw at that instant
    const v = await insertReadingVersion(q, { meterId: m, time: r.replaced_at, quantity: r.quantity, value: null, unit: prev.unit ?? unitOf(r.quantity), source: 'staff', createdBy: who, reason });
    await audit(q, c.actor, { action: 'withdraw', entity: 'reading', entityId: `${m}/${r.quantity}/${new Date(r.replaced_at).toISOString()}`, buildingId: meter.building_id, before: prev, after: v, reason: `${kind} reading, ${reason}`, requestId: c.requestId });
  }
  const oldBefore = (await q.query('SELECT * FROM meters WHERE id = $1', [r.old_meter_id])).rows[0];
  const oldAfter = await restoreMeter(q, r.old_meter_id, r.old_meter_before);
  await audit(q, c.actor, { action: 'restore', entity: 'meter', entityId: r.old_meter_id, buildingId: meter.building_id, before: oldBefore, after: oldAfter, reason, requestId: c.requestId });
  const newBefore = (await q.query('SELECT * FROM meters WHERE id = $1', [r.new_meter_id])).rows[0];
  const newAfter = r.new_meter_before
    ? await restoreMeter(q, r.new_meter_id, r.new_meter_before)
    : (await q.query<MeterRow>(`UPDATE meters SET status = 'removed', decommissioned_on = NULL, installed_on = NULL, commissioned_on = NULL, updated_at = now() WHERE id = $1 RETURNING *`, [r.new_meter_id])).rows[0];
  await audit(q, c.actor, { action: r.new_meter_before ? 'restore' : 'remove', entity: 'meter', entityId: r.new_meter_id, buildingId: meter.building_id, before: newBefore, after: newAfter, reason, requestId: c.requestId });
  const done = await reread(q, (await q.query('UPDATE meter_replacements SET undone_at = now(), undone_by = $2, undo_reason = $3 WHERE id = $1 RETURNING id', [r.id, who, why ?? null])).rows[0].id);
  await audit(q, c.actor, { action: 'undo', entity: 'meter_replacement', entityId: r.id, buildingId: meter.building_id, before: r, after: done, reason, requestId: c.requestId });
  return done;
}

/**
 * Corrects a live replacement's removal and/or installation reading: a new version of the record
 * (earlier one kept in meter_replacement_versions) and of each changed reading, audited with who/why.
 */
export async function correctReplacement(q: Queryable, c: Caller, id: number, b: { removal_reading?: number; installation_reading?: number; reason: string }): Promise<ReplacementRecord> {
  if (b.removal_reading === undefined && b.installation_reading === undefined) {
    throw badRequest('give removal_reading and/or installation_reading to correct', [{ path: 'body.removal_reading', message: 'nothing to correct' }]);
  }
  const r0 = (await q.query<ReplacementDbRow>(`${SELECT_REPLACEMENT} WHERE r.id = $1 FOR UPDATE OF r`, [id])).rows[0];
  if (!r0) throw notFound(`replacement ${id}`);
  const r = rec(r0);
  const old = (await q.query<MeterRow>('SELECT * FROM meters WHERE id = $1', [r.old_meter_id])).rows[0];
  c.canTouch(old.building_id, `replacement ${id}`);
  if (r.undone_at) throw conflict(`replacement ${id} was undone on ${new Date(r.undone_at).toISOString()} by ${r.undone_by}; record the replacement again instead`);
  const at = new Date(r.replaced_at);
  if (b.removal_reading !== undefined) {
    const problem = removalProblem(await lastUsableReading(q, r.old_meter_id, r.quantity, at), at, b.removal_reading);
    if (problem) throw badRequest(problem.message, [problem]);
  }
  const who = c.actor.name;
  const why = `correction of replacement ${id} by ${who}: ${b.reason}`;
  for (const [m, kind, v] of [[r.old_meter_id, 'removal', b.removal_reading], [r.new_meter_id, 'installation', b.installation_reading]] as const) {
    if (v === undefined) continue;
    const prev = (await q.query('SELECT * FROM readings WHERE meter_id = $1 AND quantity = $2 AND time = $3 ORDER BY version DESC LIMIT 1', [m, r.quantity, at])).rows[0];
    await writeOwnReadings(q, c, Number(old.building_id), [{ meterId: m, time: at, quantity: r.quantity, value: v, correction: true, reason: `${kind} reading, ${why}`, path: `body.${kind}_reading` }]);
    const nv = await currentVersion(q, m, r.quantity, at);
    await audit(q, c.actor, { action: 'correct', entity: 'reading', entityId: `${m}/${r.quantity}/${at.toISOString()}`, buildingId: old.building_id, before: prev ?? null, after: nv, reason: why, requestId: c.requestId });
  }
  await q.query(
    `UPDATE meter_replacements SET removal_reading = COALESCE($2, removal_reading), installation_reading = COALESCE($3, installation_reading), version = version + 1
      WHERE id = $1`, [id, b.removal_reading ?? null, b.installation_reading ?? null]);
  const next = await reread(q, id);
  await q.query(
    `INSERT INTO meter_replacement_versions (replacement_id, version, removal_reading, installation_reading, changed_by, reason) VALUES ($1, $2, $3, $4, $5, $6)`,
    [id, next.version, next.removal_reading, next.installation_reading, who, b.reason]);
  await audit(q, c.actor, { action: 'correct', entity: 'meter_replacement', entityId: id, buildingId: old.building_id, before: r, after: next, reason: b.reason, requestId: c.requestId });
  return next;
}

/** Every version of a replacement's readings, oldest first (who changed them, when, why). */
export async function replacementVersions(q: Queryable, id: number): Promise<Array<{ version: number; removal_reading: number | null; installation_reading: number | null; changed_by: string | null; changed_at: Date; reason: string | null }>> {
  const { rows } = await q.query('SELECT * FROM meter_replacement_versions WHERE replacement_id = $1 ORDER BY version', [id]);
  return rows.map((v) => ({ ...v, version: Number(v.version), removal_reading: num(v.removal_reading), installation_reading: num(v.installation_reading) }));
}
