/**
 * The heat statement of a building and month: the building's heat meter with archive records, its
 * records (store.ts), the statement (statement.ts) and its sign-off. Tenancy is the caller's (routes
 * check the building is the caller's before calling); these functions take a checked building id.
 */
import { audit, type Actor } from '../audit/index.js';
import type { Queryable } from '../db/types.js';
import { composeStatement, type Statement } from './statement.js';
import { archiveRows, defaultKind, type ArchiveKind, type ArchiveRow } from './archive.js';
import { buildingHeatMeters, insertSignOff, replaceSignOff, loadArchiveMeter, loadBuilding, loadRecords, loadSignOff, monthBounds, type ArchiveMeter, type HeatMeter, type SignOff, type StatementBuilding } from './store.js';

export class HeatError extends Error {
  constructor(readonly code: 'not_found' | 'bad_request' | 'conflict', message: string) {
    super(message);
  }
}

export interface HeatStatement {
  building: StatementBuilding;
  meter: HeatMeter;
  statement: Statement;
  signOff: SignOff | null;
  /** Signed, and the totals now differ from the signed ones (a record arrived or changed since). */
  changedSinceSignOff: boolean;
}

/**
 * The meter of the statement: the one named (a heat meter of the building's), else the building's heat
 * meter with archive records around the month; without records, its only heat meter (the statement then
 * says there are none). Two with records and none named: the caller must choose.
 */
function pickMeter(meters: readonly HeatMeter[], meterId: number | undefined, buildingId: number): HeatMeter {
  if (!meters.length) throw new HeatError('not_found', `building ${buildingId} has no building heat meter (ОДПУ, placement 'building', resource 'heat')`);
  if (meterId !== undefined) {
    const m = meters.find((x) => x.id === meterId);
    if (!m) throw new HeatError('bad_request', `meter_id ${meterId} is not a building heat meter of building ${buildingId}; choose one of: ${meters.map((x) => `${x.id} (${x.serial})`).join(', ')}`);
    return m;
  }
  const withRecords = meters.filter((m) => m.records > 0);
  if (withRecords.length > 1) {
    throw new HeatError('bad_request', `building ${buildingId} has ${withRecords.length} heat meters with archive records: name one with meter_id (${withRecords.map((x) => `${x.id} (${x.serial})`).join(', ')})`);
  }
  return withRecords[0] ?? meters[0];
}

/** JSON with sorted keys: jsonb gives an object's keys back in its own order. */
const canonical = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) =>
  x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x);

export async function heatStatement(q: Queryable, buildingId: number, period: string, meterId?: number): Promise<HeatStatement> {
  const building = await loadBuilding(q, buildingId);
  if (!building) throw new HeatError('not_found', 'building not found');
  const { from, to } = await monthBounds(q, period, building.timezone);
  const meter = pickMeter(await buildingHeatMeters(q, buildingId, from, to), meterId, buildingId);
  const records = await loadRecords(q, meter.id, from, to, building.timezone);
  const statement = composeStatement(period, from.getTime(), records);
  const signOff = await loadSignOff(q, buildingId, period);
  const changedSinceSignOff = signOff !== null && canonical(signOff.totals) !== canonical(statement.totals);
  return { building, meter, statement, signOff, changedSinceSignOff };
}

const EMAIL = /^[^\s@,;<>]+@[^\s@,;<>]+\.[^\s@,;<>]+$/;

/** The heat supplier's addresses (comma, semicolon or space separated); a malformed one is refused by name. */
export function parseRecipients(list: string): string[] {
  const all = list.split(/[,;\s]+/).map((x) => x.trim()).filter(Boolean);
  const bad = all.filter((x) => !EMAIL.test(x));
  if (bad.length) throw new HeatError('bad_request', `email_to: ${bad.map((b) => `"${b}"`).join(', ')} is not an e-mail address; give the heat supplier's addresses separated by commas`);
  if (!all.length) throw new HeatError('bad_request', 'email_to is empty: give the heat supplier\'s addresses separated by commas, or leave it out');
  return [...new Set(all)];
}

/**
 * Signs the month's statement off as `by`, with its audit row in the caller's transaction (whoever
 * signs, a route or anything later, the journal has it); refused when there is nothing to sign or it
 * is signed already. With `correct`, a signed month whose statement changed since is signed again as
 * the next version (a corrected statement, replacing the previous one, which is kept as signed): its
 * mail and its exchange deliveries are due again; an unchanged one is refused (nothing to correct).
 */
export async function signOffStatement(
  q: Queryable, buildingId: number, period: string, by: Actor, at: Date, opts: { meterId?: number; emailTo?: string; requestId?: string; correct?: boolean } = {},
): Promise<HeatStatement> {
  const emailTo = opts.emailTo === undefined ? [] : parseRecipients(opts.emailTo);
  const s = await heatStatement(q, buildingId, period, opts.meterId);
  const prev = s.signOff;
  if (prev && !opts.correct) throw new HeatError('conflict', `the heat statement of ${period} was signed off by ${prev.by} at ${prev.at} (version ${prev.version}); a month is signed once — to hand over a corrected statement, sign it again with correct: true`);
  if (prev && !s.changedSinceSignOff) throw new HeatError('conflict', `the heat statement of ${period} has not changed since version ${prev.version} was signed off by ${prev.by} at ${prev.at}: there is nothing to correct`);
  if (!s.statement.records) throw new HeatError('conflict', `no archive records of meter ${s.meter.serial} for ${period}: there is no statement to sign off`);
  const email = emailTo.length ? emailTo.join(', ') : null;
  const row = { buildingId, period, meterId: s.meter.id, by: by.name, byUserId: by.kind === 'user' ? by.id : null, at, totals: s.statement.totals, emailTo: email };
  const ok = prev ? await replaceSignOff(q, { ...row, version: prev.version }) : await insertSignOff(q, row);
  if (!ok) throw new HeatError('conflict', `the heat statement of ${period} was signed off meanwhile; reload it and sign again`);
  await audit(q, by, {
    action: prev ? 're_sign_off' : 'sign_off', entity: 'heat_statement', entityId: `${buildingId}:${period}`, buildingId,
    before: prev ? { version: prev.version, by: prev.by, at: prev.at, totals: prev.totals } : undefined,
    after: { version: (prev?.version ?? 0) + 1, meterId: s.meter.id, totals: s.statement.totals, emailTo: email ?? prev?.emailTo ?? null }, requestId: opts.requestId,
  });
  return { ...s, signOff: (await loadSignOff(q, buildingId, period))!, changedSinceSignOff: false };
}

/** The longest range the archive is read for at once (a year of hourly records: 8 784 of them). */
export const ARCHIVE_MAX_DAYS = 366;

export interface MeterArchive {
  meter: ArchiveMeter;
  kind: ArchiveKind;
  /** Records of each kind in the range (the page offers the other kind when it has some). */
  counts: Record<ArchiveKind, number>;
  rows: ArchiveRow[];
}

/**
 * A meter's archive records starting in [from, to) of `kind` (default: daily when the range has any,
 * else hourly), each judged for НС. The meter is the caller's (the route checked its tenancy).
 */
export async function meterArchive(q: Queryable, meterId: number, from: Date, to: Date, kind?: ArchiveKind): Promise<MeterArchive> {
  if (!(from < to)) throw new HeatError('bad_request', `from (${from.toISOString()}) must be earlier than to (${to.toISOString()}): give a range whose start comes first`);
  if (to.getTime() - from.getTime() > ARCHIVE_MAX_DAYS * 86_400_000) {
    throw new HeatError('bad_request', `the range from ${from.toISOString()} to ${to.toISOString()} is longer than ${ARCHIVE_MAX_DAYS} days: read the archive a year at a time`);
  }
  const meter = await loadArchiveMeter(q, meterId);
  if (!meter) throw new HeatError('not_found', 'meter not found');
  const records = meter.records ? await loadRecords(q, meterId, from, to, meter.timezone) : [];
  const counts = { hourly: records.filter((r) => r.kind === 'hourly').length, daily: records.filter((r) => r.kind === 'daily').length };
  const k = kind ?? defaultKind(counts);
  return { meter, kind: k, counts, rows: archiveRows(records, k) };
}
