/**
 * What the collection routes read and write besides readings (those go through readings/write.ts):
 * settings rows, one-time access codes and the residents' sign-in, residents' meters and their labels.
 * Lists are scoped to the caller in SQL (auth/principal.ts buildingScopeSql); single rows are resolved
 * by the caller through auth/tenancy.ts first.
 */
import type { Database, Queryable } from '../db/types.js';
import type { Resource } from '@amr/protocols';
import { audit, auditMany, SYSTEM_ACTOR, type Actor } from '../audit/index.js';
import { buildingScopeSql, issueToken, residentUserFor, type Principal } from '../auth/index.js';
import { HttpError } from '../http/errors.js';
import { prepareAccessCode, spendAccessCode, spenderOfAttempt, type CodeKey, type LiveCode, type RetryOf } from './access.js';
import { storeIssuedCode } from './access-store.js';
import { SETTINGS_COLUMNS, type MeterRow } from './storage.js';
import type { CollectionSettings } from './rules.js';

export interface SettingsRow extends CollectionSettings { id: number; building_id: number | null; resource: string | null; updated_at: Date }

const rowOf = (r: Record<string, unknown>): SettingsRow => ({
  ...(r as unknown as SettingsRow), id: Number(r.id), building_id: r.building_id == null ? null : Number(r.building_id), warn_factor: Number(r.warn_factor),
});

/** The defaults for every building and the rows of the buildings the caller sees (optionally one building). */
export async function listSettingsRows(q: Queryable, p: Principal, buildingId: number | undefined): Promise<SettingsRow[]> {
  const params: unknown[] = [buildingId ?? null];
  const scope = buildingScopeSql(p, 'building_id', params);
  const { rows } = await q.query<Record<string, unknown>>(
    `SELECT id, building_id, resource, ${SETTINGS_COLUMNS}, updated_at FROM collection_settings
      WHERE building_id IS NULL OR (($1::bigint IS NULL OR building_id = $1) AND ${scope}) ORDER BY building_id NULLS FIRST, resource NULLS FIRST`, params);
  return rows.map(rowOf);
}

/** Creates or replaces the row of (building, resource) — null: the defaults — with its audit row. */
export async function putSettings(db: Database, key: { buildingId: number | null; resource: Resource | null }, s: CollectionSettings, actor: Actor, requestId: string): Promise<SettingsRow> {
  return db.tx(async (q) => {
    const before = (await q.query<Record<string, unknown>>(
      `SELECT * FROM collection_settings WHERE coalesce(building_id, 0) = coalesce($1::bigint, 0) AND coalesce(resource, '') = coalesce($2::text, '')`,
      [key.buildingId, key.resource])).rows[0];
    const vals = [s.enabled, s.window_start_day, s.window_end_day, s.integer_only, s.accept_expired_verification, s.reminder_days, s.warn_factor];
    const { rows } = before
      ? await q.query<Record<string, unknown>>(`UPDATE collection_settings SET (${SETTINGS_COLUMNS}, updated_at) = ($2,$3,$4,$5,$6,$7,$8, now()) WHERE id = $1 RETURNING *`, [before.id, ...vals])
      : await q.query<Record<string, unknown>>(`INSERT INTO collection_settings (building_id, resource, ${SETTINGS_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING *`, [key.buildingId, key.resource, ...vals]);
    await audit(q, actor, { action: before ? 'update' : 'create', entity: 'collection_settings', entityId: String(rows[0].id), buildingId: key.buildingId, before, after: rows[0], requestId });
    return rowOf(rows[0]);
  });
}

/**
 * A one-time access code for an account (its owner already resolved by the caller), shown once; a
 * closed account gets none. Audited with the account number, never the code.
 */
export async function issueAccountCode(db: Database, codeKey: CodeKey, accountId: number, issuedBy: number | null, validDays: number, actor: Actor, requestId: string):
  Promise<{ accountId: number; accountNumber: string; code: string; expiresAt: Date }> {
  const prepared = await prepareAccessCode(codeKey); // outside the transaction: without a key it is scrypt, slow
  return db.tx(async (q) => {
    const a = (await q.query<{ number: string; building_id: string; active: boolean }>(
      'SELECT a.number, a.active, pr.building_id FROM personal_accounts a JOIN premises pr ON pr.id = a.premise_id WHERE a.id = $1', [accountId])).rows[0];
    if (!a) throw new HttpError(404, 'not_found', 'personal account not found');
    if (!a.active) throw new HttpError(400, 'bad_request', `personal account ${a.number} is closed`);
    const c = await storeIssuedCode(q, { id: accountId, number: a.number, buildingId: Number(a.building_id) }, prepared, { issuedBy, validDays, actor, requestId });
    return { accountId, accountNumber: a.number, code: c.code, expiresAt: c.expiresAt };
  });
}

/** How a sign-in claims its matched code: its instant, and the attempt it may retry (null: the page sent no attempt key). */
export interface CodeClaim { at: Date; retry: RetryOf | null; retryReason: string }

/**
 * The session a matched code opens (access.ts matchAccessCode checked it before, outside any
 * transaction), in one short transaction with no hashing in it: a live code is spent only if it is
 * still live; a code already spent opens a session only for a retry of the attempt that spent it
 * (`claim.retry`, the rule of sign-in.ts: same attempt key, within the grace) — for the same user,
 * audited as a retry. Else null: a parallel sign-in with the same code spent it, or it was revoked or
 * replaced meanwhile. One resident user per account, created on first sign-in without a password and
 * reused after, bound only to the account the code opens; the sign-in audited; a session token.
 */
export async function openResidentSession(db: Database, matched: LiveCode, claim: CodeClaim, ttlSeconds: number, userAgent: string | undefined, requestId: string):
  Promise<{ token: string; expiresAt: Date; userId: number; accountId: number; retried: boolean } | null> {
  return db.tx(async (q) => {
    const username = `account-${matched.accountId}`;
    const spentNow = !matched.spent && await spendAccessCode(q, matched.codeId, claim.at, claim.retry?.attemptKeyHash ?? null);
    let userId: number;
    if (spentNow) {
      const user = await residentUserFor(q, username, SYSTEM_ACTOR);
      userId = user.id;
      // Bound to the account the code opens, and the code marked with who spent it: one statement.
      await q.query(`WITH bound AS (INSERT INTO user_accounts (user_id, personal_account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING)
                     UPDATE resident_access_codes SET used_by = $1 WHERE id = $3`, [userId, matched.accountId, matched.codeId]);
      await auditMany(q, [
        ...(user.created ? [user.created] : []),
        { actor: { kind: 'user', id: userId, name: username }, entry: { action: 'sign_in', entity: 'resident_access_code', entityId: String(matched.accountId), requestId } },
      ]);
    } else {
      // Spent before (the lost answer) or just now by a racing request: only the same attempt gets in.
      const spender = claim.retry ? await spenderOfAttempt(q, matched.codeId, claim.retry) : null;
      if (spender === null) return null;
      userId = spender;
      await audit(q, { kind: 'user', id: userId, name: username }, { action: 'sign_in_retry', entity: 'resident_access_code', entityId: String(matched.accountId), reason: claim.retryReason, requestId });
    }
    const t = await issueToken(q, userId, ttlSeconds, userAgent);
    return { token: t.token, expiresAt: t.expiresAt, userId, accountId: matched.accountId, retried: !spentNow };
  });
}

/** The active meters of a resident's premises with the resident's own label. */
export async function residentMeters(q: Queryable, premiseIds: ReadonlySet<number>, userId: number): Promise<Array<MeterRow & { label: string | null }>> {
  const { rows } = await q.query<MeterRow & { label: string | null }>(
    `SELECT m.id::int AS id, m.building_id::int AS building_id, m.premise_id::int AS premise_id, m.placement, m.resource, m.status, m.serial_number, m.identifier,
            to_char(m.next_verification_on, 'YYYY-MM-DD') AS next_verification_on, b.timezone, m.zones, l.label
       FROM meters m JOIN buildings b ON b.id = m.building_id
       LEFT JOIN resident_meter_labels l ON l.meter_id = m.id AND l.user_id = $2
      WHERE m.premise_id = ANY($1::bigint[]) AND m.status = 'active' ORDER BY m.premise_id, m.resource, m.id`, [[...premiseIds], userId]);
  return rows;
}

/** A resident's own name for a meter (the meter resolved by the caller); staff never see it. */
export async function setMeterLabel(q: Queryable, userId: number, meterId: number, label: string): Promise<void> {
  await q.query(`INSERT INTO resident_meter_labels (user_id, meter_id, label) VALUES ($1,$2,$3)
                 ON CONFLICT (user_id, meter_id) DO UPDATE SET label = EXCLUDED.label, updated_at = now()`, [userId, meterId, label]);
}

/** Every meter of a resident's premises (removed ones too: their history stays), as readings/history.ts takes them. */
export async function historyMeters(q: Queryable, premiseIds: ReadonlySet<number>): Promise<Array<{ id: number; resource: Resource; zones: number; registerDigits: number | null; timezone: string }>> {
  const { rows } = await q.query<{ id: string; resource: Resource; zones: number; register_digits: number | null; timezone: string }>(
    `SELECT m.id, m.resource, m.zones, m.register_digits, b.timezone FROM meters m JOIN buildings b ON b.id = m.building_id
      WHERE m.premise_id = ANY($1::bigint[]) ORDER BY m.id`, [[...premiseIds]]);
  return rows.map((r) => ({ id: Number(r.id), resource: r.resource, zones: Number(r.zones ?? 1), registerDigits: r.register_digits === null ? null : Number(r.register_digits), timezone: r.timezone }));
}
