/**
 * Reading collection (issue 7): settings per building and resource; residents' sign-in with a one-time
 * code, their meters, labels, submissions and history; staff entry for a premise (ИПУ) or a building (ОДПУ).
 * The rules live in src/collection/rules.ts; this file only checks who may do what and where.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireBodyRef, requireOwned, requirePermission, type Principal } from '../auth/index.js';
import { ttlSeconds } from '../http/config.js';
import { HttpError, notFound } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { toWire } from '../http/casing.js';
import { actorOf, ErrorBody, errors, Id, IdParams, Timestamp, type RouteDeps } from '../http/context.js';
import { createSignInLimiter, signInLimitsOf } from './sign-in-limit.js';
import { RETRY_GRACE_MS, residentSignIn } from './sign-in.js';
import type { RedisConfigLike } from '../jobs/redis-connection.js';
import { historyMeters, issueAccountCode, listSettingsRows, putSettings, residentMeters, setMeterLabel } from './store.js';
import { rightsFor, writeReadings, type WriteItem } from '../readings/write.js';
import { takenOnServerClock } from '../readings/judge.js';
import { SubmissionBatcher } from '../readings/submissions.js';
import { monthlyHistory } from '../readings/history.js';
import { registerQuantity, zoneQuantities } from '@amr/protocols';
import { periodFor, summarise, type CollectionSettings } from './rules.js';
import { effectiveSettings, lastReadings, type LastReading, type MeterRow } from './storage.js';

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
  opens_on: z.string().nullable().optional(), opens_in_days: z.number().nullable().optional(), text: z.string(),
});
const History = z.object({ meters: z.array(z.object({ meter_id: z.number(), zone: z.number().nullable().describe('a zone meter: one entry per zone (1 day, 2 night, 3 peak)'), months: z.array(z.object({ month: z.string(), value: z.number(), consumption: z.number().nullable() })) })) });
const Entered = z.object({ readings: z.array(z.object({
  meter_id: z.number(), zone: z.number().nullable(), time: Timestamp, value: z.number(), version: z.number().nullable(), received_at: Timestamp.nullable(),
  consumption: z.number().nullable(), warning: z.string().nullable(),
  unchanged: z.boolean().describe('the same value was already stored for this instant by the same kind of writer: no new version, the stored one is returned'),
})) });
const SignedIn = z.object({
  token: z.string(), expires_at: z.string(), user_id: z.number(), account_id: z.number(),
  retried: z.boolean().describe('true: a new session for a sign-in whose answer was lost (the same code and attempt key again within the grace)'),
});
const IssuedCode = z.object({ account_id: z.number(), account_number: z.string(), code: z.string(), expires_at: z.string() });
const Resource = z.enum(['heat', 'hot_water', 'cold_water', 'wastewater', 'electricity', 'gas']);
const Day = z.number().int().min(1).max(31);
const SettingsBody = z.object({
  building_id: z.number().int().positive().nullable(), resource: Resource.nullable(),
  enabled: z.boolean(), window_start_day: Day, window_end_day: Day, integer_only: z.boolean(),
  accept_expired_verification: z.boolean(), reminder_days: z.array(Day).max(31).default([]), warn_factor: z.number().gt(1).max(100).default(3),
});
const EntryReading = z.object({
  meter_id: z.number().int().positive(), value: z.number().finite(),
  /** A multi-zone meter: one item per zone (1 = day, 2 = night, 3 = peak). */
  zone: z.number().int().min(1).max(3).optional(),
});
const Entry = z.object({
  readings: z.array(EntryReading).min(1).max(50),
  confirm: z.boolean().default(false),
});
const StaffEntry = Entry.extend({
  readings: z.array(EntryReading.extend({
    taken_at: z.iso.datetime({ offset: true }).optional()
      .describe('When the reading was taken, if it waited on a phone without signal: the collection window is judged at that instant (at most 72 h before sending, not ahead of the server clock). Absent: taken now.'),
  })).min(1).max(50),
  reason: z.string().trim().max(500).optional(),
  sent_at: z.iso.datetime({ offset: true }).optional()
    .describe("The phone's clock when it sent a queued entry: with each item's taken_at (same clock) it says how long the entry waited, so a phone whose clock is wrong still dates it right."),
});

const residentOnly = (p: Principal) => {
  if (p.role !== 'resident' || p.premiseIds === null) throw new HttpError(403, 'forbidden', 'only residents use /resident routes');
  return p.premiseIds;
};

const entryItems = (rs: ReadonlyArray<{ meter_id: number; value: number; zone?: number; taken_at?: string }>, sentAt: string | undefined, now: Date): WriteItem[] =>
  rs.map((r, i) => ({
    meterId: r.meter_id, value: r.value, zone: r.zone, path: `readings.${i}`,
    ...(r.taken_at ? { takenAt: takenOnServerClock(new Date(r.taken_at), sentAt ? new Date(sentAt) : undefined, now) } : {}),
  }));

const collectionRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, config, jobs, codeKey }) => {
  const ttl = ttlSeconds(config.TOKEN_TTL);
  const signInLimits = signInLimitsOf(config);
  // Residents' submissions and staff entries of a flat judged and written in batches (the 25th evening's
  // peak: readings/submissions.ts); each request still gets its own answer.
  const entries = new SubmissionBatcher(db, {
    lingerMs: config.SUBMIT_LINGER_MS ?? 5, maxBatch: config.SUBMIT_MAX_BATCH ?? 200, concurrency: config.SUBMIT_PARALLEL_BATCHES ?? 1,
    onBatch: (b) => { if (b.error) app.log.warn({ err: b.error.message, size: b.size, retriedAlone: b.retriedAlone }, 'readings entries batch failed'); },
  });
  app.addHook('onClose', () => entries.drain());

  app.get('/collection-settings', {
    schema: {
      tags: ['collection'], summary: 'Collection settings rows (defaults and the buildings you see)', querystring: z.object({ building_id: z.coerce.number().int().positive().optional().describe('Only the rows that apply to this building') }), response: { 200: z.object({ items: z.array(SettingsRow) }), ...errors },
      description: 'Per building and resource: collection enabled or not, the window (days of the month), integer-only or fractional values, and whether meters past verification are accepted. A building row wins over the defaults.',
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'collection:configure');
    if (req.query.building_id !== undefined) await requireOwned(db, p, 'building', req.query.building_id);
    return { items: await listSettingsRows(db, p, req.query.building_id) };
  });

  app.put('/collection-settings', {
    schema: {
      tags: ['collection'], summary: 'Set collection settings for a building and resource (null: defaults for all)', body: SettingsBody, response: { 200: SettingsRow, ...errors },
      description: 'Writes the row for that building and resource (replacing the previous one); audited. Defaults for every building are for admins only.',
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'collection:configure');
    const { building_id: buildingId, resource, ...settings } = req.body;
    // Defaults for every building are for admins only (everyone else sees a part of the buildings).
    if (buildingId === null && p.buildingIds !== null) throw new HttpError(403, 'forbidden', 'only an admin sets the defaults for all buildings');
    if (buildingId !== null) await requireBodyRef(db, p, 'building', buildingId, 'building_id');
    return putSettings(db, { buildingId, resource }, settings, actorOf(req), req.id);
  });

  app.post('/accounts/:id/access-code', {
    schema: { tags: ['collection'], summary: 'Issue a one-time access code for a personal account (shown once)', description: 'A code a resident signs in with (with the account number) on the residents\' page, valid for `valid_days`. Only a hash is stored: the code is in this answer and nowhere else. A new code replaces the previous one.', params: IdParams, body: z.object({ valid_days: z.number().int().min(1).max(90).default(14) }).default({ valid_days: 14 }), response: { 201: IssuedCode, ...errors } },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'registry:write');
    await requireOwned(db, p, 'account', req.params.id);
    const c = await issueAccountCode(db, codeKey, req.params.id, p.kind === 'user' ? p.id : null, req.body.valid_days, actorOf(req), req.id);
    return reply.code(201).send({ account_id: c.accountId, account_number: c.accountNumber, code: c.code, expires_at: c.expiresAt.toISOString() });
  });

  // Failed sign-ins per account number and per client address (src/collection/sign-in-limit.ts): in Redis when the head-end runs on it.
  const redis = jobs && 'REDIS_URL' in config ? config as unknown as RedisConfigLike & { REDIS_PREFIX?: string } : undefined;
  const signInLimit = createSignInLimiter({ redis, logger: app.log as never });
  app.addHook('onClose', () => signInLimit.close());
  app.post('/resident/sign-in', {
    config: { public: true },
    schema: {
      tags: ['collection'], summary: 'Resident sign-in with account number and one-time code (429 after 5 failed attempts per account in 15 minutes)', security: [],
      description: `Exchanges an account number and its one-time code (or an invite link's code) for a resident token. A wrong pair answers 401 without saying which part was wrong; failures are counted per account (5) and per address (SIGN_IN_MAX_PER_ADDRESS; TRUST_PROXY decides which address) and answered 429 for a while after too many. The page sends \`attempt_key\`, a random key made once per code entry and sent again with every try of it: when the answer to a successful sign-in was lost, the same code with the same attempt key within ${RETRY_GRACE_MS / 60_000} minutes gets a new session for the same resident (retried: true); the spent code with another key or none is a wrong code.`,
      body: z.object({
        account_number: z.string().trim().min(1).max(64), code: z.string().min(1).max(64),
        attempt_key: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, 'attempt_key: 16 to 128 characters of A–Z, a–z, 0–9, "-" and "_" (e.g. 16 random bytes in base64url); made once per code entry and sent again on a retry').optional()
          .describe('Random key of this code entry (16–128 base64url characters), the same on every retry of it: lets a sign-in whose answer was lost be retried with the spent code'),
      }),
      response: { 200: SignedIn, ...errors, 429: ErrorBody },
    },
  }, async (req, reply) => {
    const r = await residentSignIn(db, signInLimit, codeKey, {
      ip: req.ip, accountNumber: req.body.account_number, code: req.body.code, attemptKey: req.body.attempt_key, ttlSeconds: ttl, userAgent: req.headers['user-agent'], requestId: req.id,
    }, { limits: signInLimits });
    if (r.ok) return { token: r.value.token, expires_at: r.value.expiresAt.toISOString(), user_id: r.value.userId, account_id: r.value.accountId, retried: r.value.retried };
    if (!r.refused) throw new HttpError(401, 'unauthorized', 'wrong account number or code, or the code was used or expired');
    const { by, retryAfterSeconds } = r.refused;
    reply.header('retry-after', String(retryAfterSeconds));
    const minutes = Math.ceil(retryAfterSeconds / 60);
    const who = by === 'account' ? `for account ${req.body.account_number}` : 'from your network address';
    throw new HttpError(429, 'too_many_requests', `too many failed sign-in attempts ${who}; try again in ${minutes} minute${minutes === 1 ? '' : 's'}`,
      [{ path: by === 'account' ? 'body.account_number' : 'ip', message: `retry after ${retryAfterSeconds} s` }],
      { minutes, retry_after_seconds: retryAfterSeconds, by });
  });

  app.get('/resident/meters', {
    schema: { tags: ['collection'], summary: "The resident's meters with last reading, own label, window state and the summary widget", description: 'The meters of the resident\'s premises: last reading, the resident\'s own name for each, whether the collection window is open (or when it opens), and the widget "k of N submitted, due by DATE".', response: { 200: z.object({ items: z.array(ResidentMeter), summary: SummaryBody }), ...errors } },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'readings:submit');
    const premises = residentOnly(p);
    const now = app.clock();
    const rows = await residentMeters(db, premises, p.id);
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
    // The summary is the domain's (camelCase); the wire's casing is snake_case.
    return { items: items.map(({ _w, ...rest }) => rest), summary: toWire(summary) as z.input<typeof SummaryBody> };
  });

  app.put('/resident/meters/:id/label', {
    schema: { tags: ['collection'], summary: "The resident's own name for a meter (staff don't see it)", description: 'Sets the resident\'s label of the meter `id` (e.g. "kitchen, cold"); only this resident sees it.', params: IdParams, body: z.object({ label: z.string().trim().min(1).max(100) }), response: { 200: z.object({ meter_id: z.number(), label: z.string() }), ...errors } },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'readings:submit');
    residentOnly(p);
    await requireOwned(db, p, 'meter', req.params.id);
    await setMeterLabel(db, p.id, req.params.id, req.body.label);
    return { meter_id: req.params.id, label: req.body.label };
  });

  app.post('/resident/readings', {
    schema: { tags: ['collection'], summary: 'Submit readings of several own meters at once (all or nothing; 409 asks to confirm high consumption)', description: 'Readings of the resident\'s own meters, only inside the collection window. Each must not be below the previous one; consumption far above the 3-month average answers 409 with the meters concerned until sent again with confirm=true. One refused value refuses all.', body: Entry, response: { 201: Entered, ...errors } },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'readings:submit');
    residentOnly(p);
    // Residents never bypass the window, whatever their role table says (rightsFor 'resident'). A phone
    // that lost the answer sends the same values again: the readings core (judge.ts) adds no second
    // version for an identical value at the window's instant and answers with the version already there.
    const saved = await entries.submit(entryItems(req.body.readings, undefined, app.clock()), {
      source: 'resident', actor: actorOf(req), rights: rightsFor(p, 'resident'), scope: { principal: p }, now: app.clock(), confirm: req.body.confirm, requestId: req.id,
    });
    return reply.code(201).send({ readings: saved });
  });

  app.get('/resident/history', {
    schema: { tags: ['collection'], summary: 'Per meter, per month: the last reading and the consumption', description: 'The resident\'s history for the chart: for each own meter and month, the last reading and the consumption.', querystring: z.object({ months: z.coerce.number().int().min(1).max(60).default(12).describe('How many months back (1–60)') }), response: { 200: History, ...errors } },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'readings:submit');
    const premises = residentOnly(p);
    // The month's last counting reading in the building's time zone and the consumption by billing's rules (readings/history.ts).
    return { meters: await monthlyHistory(db, await historyMeters(db, premises), req.query.months, app.clock()) };
  });

  app.post('/premises/:id/readings', {
    schema: { tags: ['collection'], summary: 'Staff: enter ИПУ readings of a premise (several at once, same rules)', description: 'Staff enter the readings of the apartment meters of the premise `id` (from a paper form or a phone call): the same checks as residents\' entries, outside the window only with that privilege; all or nothing.', params: IdParams, body: StaffEntry, response: { 201: Entered, ...errors } },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'readings:enter');
    // The premise first (404 naming it); every meter is checked against it again where it is judged (premiseOnly).
    await requireOwned(db, p, 'premise', req.params.id);
    const saved = await entries.submit(entryItems(req.body.readings, req.body.sent_at, app.clock()), {
      source: 'staff', actor: actorOf(req), rights: rightsFor(p, 'staff'), scope: { principal: p, premiseOnly: req.params.id }, now: app.clock(),
      confirm: req.body.confirm, reason: req.body.reason ?? null, requestId: req.id,
    });
    return reply.code(201).send({ readings: saved });
  });

  app.post('/buildings/:id/readings', {
    schema: { tags: ['collection'], summary: 'Staff: enter ОДПУ (building and common-area) readings of a building', description: 'Staff enter readings of the building meters of the building `id` (not telemetered, or read on site): the same checks as every other entry; all or nothing.', params: IdParams, body: StaffEntry, response: { 201: Entered, ...errors } },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'readings:enter');
    if (p.premiseIds !== null) throw notFound('building');
    const saved = await db.tx(async (q) => {
      await requireOwned(q, p, 'building', req.params.id);
      return writeReadings(q, entryItems(req.body.readings, req.body.sent_at, app.clock()), {
        source: 'staff', actor: actorOf(req), rights: rightsFor(p, 'staff'), scope: { principal: p, buildingOnly: req.params.id, buildingMetersOnly: true }, now: app.clock(),
        confirm: req.body.confirm, reason: req.body.reason ?? null, requestId: req.id,
      });
    });
    return reply.code(201).send({ readings: saved });
  });
};

export default collectionRoutes;
