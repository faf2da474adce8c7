/**
 * Reading collection (issue 7): settings per building and resource; residents' sign-in with a one-time
 * code, their meters, labels, submissions and history; staff entry for a premise (ИПУ) or a building (ОДПУ).
 * The rules live in src/collection/rules.ts; this file only checks who may do what and where.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { createUser, issueToken, requireBuilding, requireOwned, requirePermission, type Principal } from '../auth/index.js';
import { randomSecret } from '../auth/password.js';
import { audit } from '../audit/index.js';
import { ttlSeconds } from '../http/config.js';
import { HttpError, notFound } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, ErrorBody, errors, Id, IdParams, Timestamp, type RouteDeps } from '../http/context.js';
import { issueAccessCode, redeemAccessCode } from './access.js';
import { SignInLimiter } from './sign-in-limit.js';
import { rightsFor, writeReadings, type WriteItem } from '../readings/write.js';
import { monthlyHistory } from '../readings/history.js';
import { registerQuantity, zoneQuantities, type Resource as ResourceName } from '@amr/protocols';
import { periodFor, summarise, type CollectionSettings } from './rules.js';
import { effectiveSettings, lastReadings, SETTINGS_COLUMNS, type LastReading, type MeterRow } from './storage.js';

const SettingsRow = z.object({
  id: Id, building_id: Id.nullable(), resource: z.string().nullable(), enabled: z.boolean(), window_start_day: z.number(), window_end_day: z.number(),
  integer_only: z.boolean(), accept_expired_verification: z.boolean(), reminder_days: z.array(z.number()), warn_factor: z.coerce.number(), updated_at: Timestamp,
});
const ResidentMeter = z.object({
  id: z.number(), premise_id: z.number().nullable(), resource: z.string(), serial_number: z.string(), label: z.string().nullable(), next_verification_on: z.string().nullable(),
  last_reading: z.object({ time: z.string(), value: z.number().nullable(), source: z.string(), submitted_at: z.string(), version: z.number() }).nullable(),
  /** 1: one value per reading; 2–3: one value per tariff zone (1 = day, 2 = night, 3 = peak), entered as separate items with `zone`. */
  zones: z.number(),
  /** Multi-zone meters: the last reading of each zone (same shape as last_reading, with its zone). */
  zone_readings: z.array(z.object({ zone: z.number(), time: z.string(), value: z.number().nullable(), source: z.string(), submitted_at: z.string(), version: z.number() })),
  submitted_this_period: z.boolean(), enabled: z.boolean(), integer_only: z.boolean(),
  window: z.union([
    z.object({ open: z.literal(true), start: z.string(), end: z.string(), due: z.string() }),
    z.object({ open: z.literal(false), opens_on: z.string(), opens_in_days: z.number() }),
  ]),
});
const SummaryBody = z.object({
  state: z.enum(['open', 'closed']), submitted: z.number(), total: z.number(), due: z.string().optional(),
  opensOn: z.string().nullable().optional(), opensInDays: z.number().nullable().optional(), text: z.string(),
});
const History = z.object({ meters: z.array(z.object({ meter_id: z.number(), zone: z.number().nullable().describe('a zone meter: one entry per zone (1 day, 2 night, 3 peak)'), months: z.array(z.object({ month: z.string(), value: z.number(), consumption: z.number().nullable() })) })) });
const Entered = z.object({ readings: z.array(z.object({
  meter_id: z.number(), zone: z.number().nullable(), time: Timestamp, value: z.number(), version: z.number().nullable(), received_at: Timestamp.nullable(),
  consumption: z.number().nullable(), warning: z.string().nullable(),
})) });
const SignedIn = z.object({ token: z.string(), expires_at: z.string(), user_id: z.number(), account_id: z.number() });
const IssuedCode = z.object({ account_id: z.number(), account_number: z.string(), code: z.string(), expires_at: z.string() });
const Resource = z.enum(['heat', 'hot_water', 'cold_water', 'wastewater', 'electricity', 'gas']);
const Day = z.number().int().min(1).max(31);
const SettingsBody = z.object({
  building_id: z.number().int().positive().nullable(), resource: Resource.nullable(),
  enabled: z.boolean(), window_start_day: Day, window_end_day: Day, integer_only: z.boolean(),
  accept_expired_verification: z.boolean(), reminder_days: z.array(Day).max(31).default([]), warn_factor: z.number().gt(1).max(100).default(3),
});
const Entry = z.object({
  readings: z.array(z.object({
    meter_id: z.number().int().positive(), value: z.number().finite(),
    /** A multi-zone meter: one item per zone (1 = day, 2 = night, 3 = peak). */
    zone: z.number().int().min(1).max(3).optional(),
  })).min(1).max(50),
  confirm: z.boolean().default(false),
});
const StaffEntry = Entry.extend({ reason: z.string().trim().max(500).optional() });

const residentOnly = (p: Principal) => {
  if (p.role !== 'resident' || p.premiseIds === null) throw new HttpError(403, 'forbidden', 'only residents use /resident routes');
  return p.premiseIds;
};

const entryItems = (rs: ReadonlyArray<{ meter_id: number; value: number; zone?: number }>): WriteItem[] =>
  rs.map((r, i) => ({ meterId: r.meter_id, value: r.value, zone: r.zone, path: `readings.${i}` }));

const collectionRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, config }) => {
  const ttl = ttlSeconds(config.TOKEN_TTL);

  app.get('/collection-settings', {
    schema: { tags: ['collection'], summary: 'Collection settings rows (defaults and the buildings you see)', querystring: z.object({ building_id: z.coerce.number().int().positive().optional() }), response: { 200: z.object({ items: z.array(SettingsRow) }), ...errors } },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'collection:configure');
    if (req.query.building_id !== undefined) requireBuilding(p, req.query.building_id);
    const params: unknown[] = [req.query.building_id ?? null];
    const scope = p.buildingIds === null ? 'TRUE' : (params.push([...p.buildingIds]), `building_id = ANY($2::bigint[])`);
    const { rows } = await db.query(
      `SELECT id::int AS id, building_id::int AS building_id, resource, ${SETTINGS_COLUMNS}, updated_at FROM collection_settings
        WHERE building_id IS NULL OR (($1::bigint IS NULL OR building_id = $1) AND ${scope}) ORDER BY building_id NULLS FIRST, resource NULLS FIRST`, params);
    return { items: rows };
  });

  app.put('/collection-settings', {
    schema: { tags: ['collection'], summary: 'Set collection settings for a building and resource (null: defaults for all)', body: SettingsBody, response: { 200: SettingsRow, ...errors } },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'collection:configure');
    const b = req.body;
    // Defaults for every building are for admins only (everyone else sees a part of the buildings).
    if (b.building_id === null && p.buildingIds !== null) throw new HttpError(403, 'forbidden', 'only an admin sets the defaults for all buildings');
    if (b.building_id !== null) requireBuilding(p, b.building_id);
    return db.tx(async (q) => {
      if (b.building_id !== null && !(await q.query('SELECT 1 FROM buildings WHERE id = $1', [b.building_id])).rows[0]) throw notFound('building');
      const before = (await q.query('SELECT * FROM collection_settings WHERE coalesce(building_id, 0) = coalesce($1::bigint, 0) AND coalesce(resource, \'\') = coalesce($2::text, \'\')', [b.building_id, b.resource])).rows[0];
      const vals = [b.enabled, b.window_start_day, b.window_end_day, b.integer_only, b.accept_expired_verification, b.reminder_days, b.warn_factor];
      const { rows } = before
        ? await q.query(`UPDATE collection_settings SET (${SETTINGS_COLUMNS}, updated_at) = ($2,$3,$4,$5,$6,$7,$8, now()) WHERE id = $1 RETURNING *`, [before.id, ...vals])
        : await q.query(`INSERT INTO collection_settings (building_id, resource, ${SETTINGS_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING *`, [b.building_id, b.resource, ...vals]);
      await audit(q, actorOf(req), { action: before ? 'update' : 'create', entity: 'collection_settings', entityId: rows[0].id, buildingId: b.building_id, before, after: rows[0], requestId: req.id });
      return { ...rows[0], id: Number(rows[0].id), building_id: rows[0].building_id === null ? null : Number(rows[0].building_id) };
    });
  });

  app.post('/accounts/:id/access-code', {
    schema: { tags: ['collection'], summary: 'Issue a one-time access code for a personal account (shown once)', params: IdParams, body: z.object({ valid_days: z.number().int().min(1).max(90).default(14) }).default({ valid_days: 14 }), response: { 201: IssuedCode, ...errors } },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'registry:write');
    const out = await db.tx(async (q) => {
      const a = (await q.query<{ id: string; number: string; building_id: string; active: boolean }>(
        'SELECT a.id, a.number, a.active, pr.building_id FROM personal_accounts a JOIN premises pr ON pr.id = a.premise_id WHERE a.id = $1', [req.params.id])).rows[0];
      if (!a) throw notFound('personal account');
      requireBuilding(p, Number(a.building_id), 'personal account');
      if (!a.active) throw new HttpError(400, 'bad_request', `personal account ${a.number} is closed`);
      const c = await issueAccessCode(q, Number(a.id), p.kind === 'user' ? p.id : null, req.body.valid_days);
      await audit(q, actorOf(req), { action: 'issue', entity: 'resident_access_code', entityId: a.id, buildingId: Number(a.building_id), after: { account: a.number, expires_at: c.expiresAt }, requestId: req.id });
      return { account_id: Number(a.id), account_number: a.number, code: c.code, expires_at: c.expiresAt.toISOString() };
    });
    return reply.code(201).send(out);
  });

  // Failed sign-ins per account number and per client address (src/collection/sign-in-limit.ts); one per server.
  const signInLimit = new SignInLimiter();
  app.post('/resident/sign-in', {
    config: { public: true },
    schema: {
      tags: ['collection'], summary: 'Resident sign-in with account number and one-time code (429 after 5 failed attempts per account in 15 minutes)', security: [],
      body: z.object({ account_number: z.string().trim().min(1).max(64), code: z.string().min(1).max(64) }), response: { 200: SignedIn, ...errors, 429: ErrorBody },
    },
  }, async (req, reply) => {
    const admitted = signInLimit.begin(req.ip, req.body.account_number);
    if (!admitted.ok) {
      reply.header('retry-after', String(admitted.retryAfterSeconds));
      const minutes = Math.ceil(admitted.retryAfterSeconds / 60);
      const who = admitted.by === 'account' ? `for account ${req.body.account_number}` : 'from your network address';
      throw new HttpError(429, 'too_many_requests', `too many failed sign-in attempts ${who}; try again in ${minutes} minute${minutes === 1 ? '' : 's'}`,
        [{ path: admitted.by === 'account' ? 'body.account_number' : 'ip', message: `retry after ${admitted.retryAfterSeconds} s` }]);
    }
    const result = await db.tx(async (q) => {
      const r = await redeemAccessCode(q, req.body.account_number, req.body.code);
      if (!r) return null;
      // One resident user per account, created on first sign-in and reused after; bound only to the account the code opens.
      const username = `account-${r.accountId}`;
      let userId = (await q.query<{ id: string }>("SELECT id FROM users WHERE lower(username) = $1 AND role = 'resident'", [username])).rows[0]?.id;
      if (!userId) userId = String((await createUser(q, { username, password: randomSecret(), role: 'resident' })).id);
      await q.query('INSERT INTO user_accounts (user_id, personal_account_id) VALUES ($1,$2) ON CONFLICT DO NOTHING', [userId, r.accountId]);
      await q.query('UPDATE resident_access_codes SET used_by = $1 WHERE id = $2', [userId, r.codeId]);
      await audit(q, { kind: 'user', id: Number(userId), name: username }, { action: 'sign_in', entity: 'resident_access_code', entityId: r.accountId, requestId: req.id });
      const t = await issueToken(q, Number(userId), ttl, req.headers['user-agent']);
      return { token: t.token, expires_at: t.expiresAt.toISOString(), user_id: Number(userId), account_id: r.accountId };
    });
    if (!result) throw new HttpError(401, 'unauthorized', 'wrong account number or code, or the code was used or expired');
    signInLimit.succeeded(admitted.attempt);
    return result;
  });

  app.get('/resident/meters', {
    schema: { tags: ['collection'], summary: "The resident's meters with last reading, own label, window state and the summary widget", response: { 200: z.object({ items: z.array(ResidentMeter), summary: SummaryBody }), ...errors } },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'readings:submit');
    const premises = residentOnly(p);
    const now = app.clock();
    const { rows } = await db.query<MeterRow & { label: string | null }>(
      `SELECT m.id::int AS id, m.building_id::int AS building_id, m.premise_id::int AS premise_id, m.placement, m.resource, m.status, m.serial_number, m.identifier,
              to_char(m.next_verification_on, 'YYYY-MM-DD') AS next_verification_on, b.timezone, m.zones, l.label
         FROM meters m JOIN buildings b ON b.id = m.building_id
         LEFT JOIN resident_meter_labels l ON l.meter_id = m.id AND l.user_id = $2
        WHERE m.premise_id = ANY($1::bigint[]) AND m.status = 'active' ORDER BY m.premise_id, m.resource, m.id`, [[...premises], p.id]);
    // Set-based: settings once per building and resource, the last readings of every register in one
    // query (the embedded engine has a single connection; no query per meter and zone).
    const settings = new Map<string, CollectionSettings>();
    for (const m of rows) {
      const k = `${m.building_id}|${m.resource}`;
      if (!settings.has(k)) settings.set(k, await effectiveSettings(db, m.building_id, m.resource));
    }
    const registersOf = (m: MeterRow) => (Number(m.zones ?? 1) >= 2 ? zoneQuantities(Math.min(3, Number(m.zones))) : [registerQuantity(m.resource)]);
    const lasts = await lastReadings(db, rows.map((m) => m.id), [...new Set(rows.flatMap(registersOf))]);
    const shown = (r: LastReading) => ({ time: new Date(r.time).toISOString(), value: r.value, source: r.source, submitted_at: new Date(r.received_at).toISOString(), version: r.version });
    const items = [];
    for (const m of rows) {
      const s = settings.get(`${m.building_id}|${m.resource}`)!;
      const period = periodFor(now, m.timezone, s);
      const zones = Number(m.zones ?? 1);
      const regs = registersOf(m);
      const zoneLast = zones >= 2 ? regs.flatMap((qn, i) => { const r = lasts.get(`${m.id}|${qn}`); return r ? [{ zone: i + 1, ...shown(r) }] : []; }) : [];
      // A zone meter's period counts as submitted by its day register (the first).
      const last = lasts.get(`${m.id}|${regs[0]}`) ?? null;
      const submitted = !!last && new Date(last.time).getTime() >= period.time.getTime();
      const w = period.window;
      items.push({
        id: m.id, premise_id: m.premise_id, resource: m.resource, serial_number: m.serial_number, label: m.label, next_verification_on: m.next_verification_on,
        last_reading: last && shown(last),
        submitted_this_period: submitted, enabled: s.enabled, integer_only: s.integer_only, zones, zone_readings: zoneLast,
        window: w.open ? { open: true as const, start: w.start, end: w.end, due: w.due } : { open: false as const, opens_on: w.opensOn, opens_in_days: w.opensInDays },
        _w: w,
      });
    }
    const summary = summarise(items.map((i) => ({ window: i._w, submitted: i.submitted_this_period, enabled: i.enabled })));
    return { items: items.map(({ _w, ...rest }) => rest), summary };
  });

  app.put('/resident/meters/:id/label', {
    schema: { tags: ['collection'], summary: "The resident's own name for a meter (staff don't see it)", params: IdParams, body: z.object({ label: z.string().trim().min(1).max(100) }), response: { 200: z.object({ meter_id: z.number(), label: z.string() }), ...errors } },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'readings:submit');
    residentOnly(p);
    await requireOwned(db, p, 'meter', req.params.id);
    await db.query(`INSERT INTO resident_meter_labels (user_id, meter_id, label) VALUES ($1,$2,$3)
                    ON CONFLICT (user_id, meter_id) DO UPDATE SET label = EXCLUDED.label, updated_at = now()`, [p.id, req.params.id, req.body.label]);
    return { meter_id: req.params.id, label: req.body.label };
  });

  app.post('/resident/readings', {
    schema: { tags: ['collection'], summary: 'Submit readings of several own meters at once (all or nothing; 409 asks to confirm high consumption)', body: Entry, response: { 201: Entered, ...errors } },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'readings:submit');
    residentOnly(p);
    // Residents never bypass the window, whatever their role table says (rightsFor 'resident'). A phone
    // that lost the answer sends the same values again: an identical value at the window's instant adds
    // no second version (skipUnchanged) and answers with the version already there.
    const saved = await db.tx((q) => writeReadings(q, entryItems(req.body.readings), {
      source: 'resident', actor: actorOf(req), rights: rightsFor(p, 'resident'), scope: { principal: p }, now: app.clock(), confirm: req.body.confirm, requestId: req.id,
      skipUnchanged: true,
    }));
    return reply.code(201).send({ readings: saved });
  });

  app.get('/resident/history', {
    schema: { tags: ['collection'], summary: 'Per meter, per month: the last reading and the consumption', querystring: z.object({ months: z.coerce.number().int().min(1).max(60).default(12) }), response: { 200: History, ...errors } },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'readings:submit');
    const premises = residentOnly(p);
    // The month's last counting reading in the building's time zone and the consumption by billing's rules (readings/history.ts).
    const { rows } = await db.query<{ id: string; resource: ResourceName; zones: number; register_digits: number | null; timezone: string }>(
      `SELECT m.id, m.resource, m.zones, m.register_digits, b.timezone FROM meters m JOIN buildings b ON b.id = m.building_id
        WHERE m.premise_id = ANY($1::bigint[]) ORDER BY m.id`, [[...premises]]);
    const meters = rows.map((r) => ({ id: Number(r.id), resource: r.resource, zones: Number(r.zones ?? 1), registerDigits: r.register_digits === null ? null : Number(r.register_digits), timezone: r.timezone }));
    return { meters: await monthlyHistory(db, meters, req.query.months, app.clock()) };
  });

  app.post('/premises/:id/readings', {
    schema: { tags: ['collection'], summary: 'Staff: enter ИПУ readings of a premise (several at once, same rules)', params: IdParams, body: StaffEntry, response: { 201: Entered, ...errors } },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'readings:enter');
    const saved = await db.tx(async (q) => {
      await requireOwned(q, p, 'premise', req.params.id);
      return writeReadings(q, entryItems(req.body.readings), {
        source: 'staff', actor: actorOf(req), rights: rightsFor(p, 'staff'), scope: { principal: p, premiseOnly: req.params.id }, now: app.clock(),
        confirm: req.body.confirm, reason: req.body.reason ?? null, requestId: req.id,
      });
    });
    return reply.code(201).send({ readings: saved });
  });

  app.post('/buildings/:id/readings', {
    schema: { tags: ['collection'], summary: 'Staff: enter ОДПУ (building and common-area) readings of a building', params: IdParams, body: StaffEntry, response: { 201: Entered, ...errors } },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'readings:enter');
    requireBuilding(p, req.params.id);
    if (p.premiseIds !== null) throw notFound('building');
    const saved = await db.tx((q) => writeReadings(q, entryItems(req.body.readings), {
      source: 'staff', actor: actorOf(req), rights: rightsFor(p, 'staff'), scope: { principal: p, buildingOnly: req.params.id, buildingMetersOnly: true }, now: app.clock(),
      confirm: req.body.confirm, reason: req.body.reason ?? null, requestId: req.id,
    }));
    return reply.code(201).send({ readings: saved });
  });
};

export default collectionRoutes;
