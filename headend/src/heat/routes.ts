/**
 * The monthly heat statement of a building (src/heat/README.md): JSON, Excel or PDF, and its sign-off.
 * And a heat meter's archive records with their НС reasons (GET /meters/:id/archive, the meter page).
 * Staff only (heat:read, heat:sign_off); the building (meter) must be the caller's (another
 * organisation's answers 404 like one that does not exist).
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireOwned, requirePermission, type Permission, type Principal } from '../auth/index.js';
import { HttpError } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { toWire } from '../http/casing.js';
import { actorOf, errors, IdParams, type RouteDeps } from '../http/context.js';
import { describeLocation } from '../exchange/index.js';
import { loadDeliveries, type Delivery } from './store.js';
import { ARCHIVE_MAX_DAYS, HeatError, heatStatement, meterArchive, signOffStatement, type HeatStatement, type MeterArchive } from './service.js';
import { statementPdf, statementXlsx } from './documents.js';
import { DEFAULT_DELIVERY_ATTEMPTS, sendDeliveryAgain } from './delivery.js';
import { DEFAULT_SEND_ATTEMPTS, sendMailAgain } from './mail.js';

const Period = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'period must be YYYY-MM (e.g. 2026-01)');

function staff(p: Principal, perm: Permission): void {
  requirePermission(p, perm);
  if (p.premiseIds !== null) throw new HttpError(403, 'forbidden', 'the heat statement and the heat meter\'s archive are the building\'s, not available to residents');
}

function heatHttp(e: unknown): never {
  if (e instanceof HeatError) throw new HttpError(e.code === 'not_found' ? 404 : e.code === 'conflict' ? 409 : 400, e.code, e.message);
  throw e;
}

const Num = z.number().nullable();
const RowFields = {
  records: z.number(), t1: Num.describe('°C'), t2: Num.describe('°C'), m1: Num.describe('t'), m2: Num.describe('t'), dm: Num.describe('M1 − M2, t'),
  q_kwh: Num.describe('Q accounted, kWh'), q_gcal: Num.describe('Q accounted, Gcal (kWh ÷ 1163)'), q_measured_kwh: Num.describe('Q as the meter counted it'),
  q_calculated_kwh: Num.describe('heat added for the time the meter was off'), working_hours: Num.describe('Тр, h'), ns_hours: Num.describe('Тнс, h'),
};
const NsEntrySchema = z.object({
  from: z.string(), to: z.string(), kind: z.enum(['hourly', 'daily']), codes: z.array(z.string()),
  reasons: z.array(z.object({ code: z.string(), from: z.enum(['meter', 'working_time']), meter_code: z.string().optional(), seconds: z.number().optional() })),
  text: z.string().describe('the reasons in words (RU)'),
  calculation: z.record(z.string(), z.unknown()).nullable().describe('off time: the basis of the calculated heat'),
});
const StatementOut = z.object({
  building: z.object({ id: z.number(), address: z.string(), timezone: z.string(), org_name: z.string() }),
  meter: z.object({ id: z.number(), serial: z.string(), make: z.string(), model: z.string().nullable(), place: z.string().nullable() }),
  period: z.string(), source: z.enum(['daily', 'hourly', 'mixed']).nullable().describe('daily records, hourly ones summed to days, or mixed: each day\'s daily record where it has one, else its hourly records summed'),
  records: z.number(), message: z.string().nullable().describe('set when the month has no record: no rows, no totals (never zeros)'),
  rows: z.array(z.object({ date: z.string(), ns: z.boolean(), rejected: z.number().describe('records of the day left out: their heat amount rejected on review (missing data, like a record that never came)'), ...RowFields })),
  totals: z.object(RowFields).nullable(),
  ns: z.array(NsEntrySchema), calculated: z.array(NsEntrySchema),
  rejected: z.array(z.object({ from: z.string(), to: z.string(), kind: z.enum(['hourly', 'daily']), by: z.string(), reason: z.string() }))
    .describe('records of the month left out of the statement: their heat amount rejected on review (who, why)'),
  signed_off: z.object({
    by: z.string(), at: z.string(), email_to: z.string().nullable().describe('the heat supplier\'s addresses it is mailed to'),
    sent_at: z.string().nullable().describe('when the mail went out'), send_error: z.string().nullable().describe('the last failed attempt\'s error'),
    version: z.number().describe('1, or more when the month was signed again (a corrected statement)'),
    replaces: z.object({ version: z.number(), by: z.string(), at: z.string() }).nullable().describe('the version this one replaces'),
    send_attempts: z.number().describe('the mail\'s attempts in its current series'),
    max_send_attempts: z.number().describe('attempts the mail gets; once used up it is not tried again until "send again"'),
    send_series: z.number().describe('1, or more after "send again" started a fresh series of mail attempts'),
    resent: z.object({ by: z.string(), at: z.string(), reason: z.string() }).nullable().describe('who started the mail\'s current series with "send again", when and why'),
  }).nullable(),
  deliveries: z.array(z.object({
    config_id: z.number(), version: z.number(), attempts: z.number(), delivered_at: z.string().nullable(), files: z.array(z.string()),
    error: z.string().nullable().describe('the last failed attempt\'s error (retried by the next run while attempts are left)'), run_id: z.number().nullable(),
    series: z.number().describe('1, or more after "send again" started a fresh series of attempts'),
    resent: z.object({ by: z.string(), at: z.string(), reason: z.string() }).nullable().describe('who started the current series with "send again", when and why'),
    last_attempt_at: z.string().describe('when the last attempt ended'),
    max_attempts: z.number().describe('attempts a delivery gets; a failure past them raises a heat_delivery_failed alert'),
    transport: z.enum(['folder', 'ftp', 'ftps', 'sftp']), location: z.string().describe('where the configuration writes: the folder, or transport://user@host:port/folder'),
  })).describe('deliveries of the month\'s signed versions through the organisation\'s exchange (direction heat_statements), newest version first'),
  changed_since_sign_off: z.boolean(),
});

const ArchiveOut = z.object({
  meter: z.object({ id: z.number(), serial: z.string(), resource: z.string(), building_id: z.number(), timezone: z.string(),
    records: z.number().describe('archive records of the meter of all time (0: the meter keeps no archive here)') }),
  kind: z.enum(['hourly', 'daily']),
  counts: z.object({ hourly: z.number(), daily: z.number() }).describe('records of each kind in the range'),
  records: z.array(z.object({
    kind: z.enum(['hourly', 'daily']), time: z.string().describe('start, UTC'), end: z.string(),
    local_start: z.string().describe('start in the building\'s zone, YYYY-MM-DDTHH:MM'), local_end: z.string(), seconds: z.number(),
    t1: Num.describe('flow temperature, °C'), t2: Num.describe('return temperature, °C'), dt: Num.describe('t1 − t2, K'),
    m1: Num.describe('t'), m2: Num.describe('t'), q_kwh: Num.describe('Q as the meter counted it, kWh'),
    working_hours: Num.describe('Тр, h'), ns_hours: Num.describe('Тнс, h'),
    flow_tph: Num.describe('M1 per hour of the interval, t/h'), power_kw: Num.describe('Q per hour of the interval, kW'),
    codes: z.array(z.string()).describe('the meter\'s own НС codes'),
    reasons: z.array(z.object({ code: z.string(), from: z.enum(['meter', 'working_time']), meter_code: z.string().optional(), seconds: z.number().optional() }))
      .describe('НС reasons (heat/ns.ts); [] = normal'),
  })),
});

function archiveWire(a: MeterArchive): z.input<typeof ArchiveOut> {
  return {
    meter: { id: a.meter.id, serial: a.meter.serial, resource: a.meter.resource, building_id: a.meter.buildingId, timezone: a.meter.timezone, records: a.meter.records },
    kind: a.kind, counts: a.counts,
    ...(toWire({ records: a.rows }) as Pick<z.input<typeof ArchiveOut>, 'records'>),
  };
}

function wire(s: HeatStatement, deliveries: readonly Delivery[]): z.input<typeof StatementOut> {
  const st = s.statement;
  return {
    building: { id: s.building.id, address: s.building.address, timezone: s.building.timezone, org_name: s.building.orgName },
    meter: { id: s.meter.id, serial: s.meter.serial, make: s.meter.make, model: s.meter.model, place: s.meter.place },
    period: st.period, source: st.source, records: st.records, message: st.message,
    ...(toWire({ rows: st.rows, totals: st.totals, ns: st.ns, calculated: st.calculated, rejected: st.rejected }) as Pick<z.input<typeof StatementOut>, 'rows' | 'totals' | 'ns' | 'calculated' | 'rejected'>),
    signed_off: s.signOff ? {
      by: s.signOff.by, at: s.signOff.at, email_to: s.signOff.emailTo, sent_at: s.signOff.sentAt, send_error: s.signOff.sendError,
      version: s.signOff.version, replaces: s.signOff.replaces,
      send_attempts: s.signOff.sendAttempts, max_send_attempts: DEFAULT_SEND_ATTEMPTS, send_series: s.signOff.sendSeries, resent: s.signOff.resent,
    } : null,
    changed_since_sign_off: s.changedSinceSignOff,
    deliveries: deliveries.map((d) => ({
      config_id: d.configId, version: d.version, attempts: d.attempts, delivered_at: d.deliveredAt, files: d.files, error: d.error, run_id: d.runId,
      series: d.series, resent: d.resent,
      last_attempt_at: d.lastAttemptAt, max_attempts: DEFAULT_DELIVERY_ATTEMPTS, transport: d.config.transport, location: describeLocation(d.config),
    })),
  };
}

/** What every send again takes: the month, and why (kept in the audit journal and on the delivery or the sign-off). */
const SendAgainBody = z.object({
  period: Period.describe('The month, YYYY-MM'),
  reason: z.string().trim().min(3).max(500).describe('Why it is sent again (what was fixed): kept in the audit journal and on the delivery or the sign-off'),
});

const heatRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, readDb }) => {
  app.get('/buildings/:id/heat-statement', {
    schema: {
      tags: ['heat'], summary: 'The monthly heat statement (ведомость учёта тепловой энергии и теплоносителя) of the building heat meter: JSON, Excel or PDF',
      description: 'Daily rows (t1, t2, M1, M2, M1−M2, Q in Gcal and kWh, Тр, Тнс) from the meter\'s daily archive records, or its hourly ones summed to days of the building\'s time zone; totals; the НС list; heat of the time the meter was off calculated from the mean hourly Q of the normal hours before (at most 3 days back). A month without records says so (no rows, no zeros).',
      params: IdParams,
      querystring: z.object({
        period: Period.describe('The month, YYYY-MM'),
        meter_id: z.coerce.number().int().positive().optional().describe('The heat meter, when the building has more than one with archive records'),
        format: z.enum(['json', 'xlsx', 'pdf']).default('json').describe('json, xlsx (Excel) or pdf (the printed statement with its signatures block)'),
      }),
      response: { 200: z.union([StatementOut, z.string()]), ...errors },
    },
  }, async (req, reply) => {
    const p = principal(req);
    staff(p, 'heat:read');
    await requireOwned(db, p, 'building', req.params.id);
    let s: HeatStatement;
    try {
      s = await heatStatement(readDb ?? db, req.params.id, req.query.period, req.query.meter_id);
    } catch (e) {
      heatHttp(e);
    }
    const name = `heat-statement-${req.params.id}-${req.query.period}`;
    if (req.query.format === 'xlsx') {
      reply.header('content-disposition', `attachment; filename="${name}.xlsx"`);
      // A Buffer is sent as is (never serialized); the response schema documents the JSON shape.
      return reply.type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet').send((await statementXlsx(s)) as unknown as string);
    }
    if (req.query.format === 'pdf') {
      reply.header('content-disposition', `attachment; filename="${name}.pdf"`);
      return reply.type('application/pdf').send((await statementPdf(s)) as unknown as string);
    }
    return wire(s, await loadDeliveries(readDb ?? db, req.params.id, req.query.period));
  });

  app.get('/meters/:id/archive', {
    schema: {
      tags: ['heat'], summary: 'A heat meter\'s hourly or daily archive records with their НС reasons',
      description: `The records the meter itself kept (back-filled by the gateway: readings of source meter_archive) starting in [from, to): t1, t2, ΔT, M1, M2, Q, Тр, Тнс, mean flow and power, and the НС reasons of each record as the heat statement judges them. At most ${ARCHIVE_MAX_DAYS} days at once. Without kind: daily records when the range has any, else hourly.`,
      params: IdParams,
      querystring: z.object({
        from: z.iso.datetime({ offset: true }).describe('First instant (records starting at or after it)'),
        to: z.iso.datetime({ offset: true }).describe('End of the range (records starting before it)'),
        kind: z.enum(['hourly', 'daily']).optional().describe('hourly or daily records; default daily when there are any'),
      }),
      response: { 200: ArchiveOut, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    staff(p, 'heat:read');
    await requireOwned(db, p, 'meter', req.params.id);
    try {
      return archiveWire(await meterArchive(readDb ?? db, req.params.id, new Date(req.query.from), new Date(req.query.to), req.query.kind));
    } catch (e) {
      heatHttp(e);
    }
  });

  app.post('/buildings/:id/heat-statement/sign-off', {
    schema: {
      tags: ['heat'], summary: 'Sign the month\'s heat statement off (once, or again as a corrected version; audited)',
      description: 'Records who handed the month\'s statement over and when, with its totals as signed; the statement then shows "signed off by … at …". A month is signed once (409 the second time), unless it is signed again with correct: true because its statement changed since (a corrected statement, the next version); a month without records has nothing to sign (409). With email_to the signed statement is mailed to the heat supplier by the scheduled heat.statements.send job.',
      params: IdParams, body: z.object({
        period: Period.describe('The month, YYYY-MM'),
        meter_id: z.number().int().positive().optional().describe('The heat meter, when the building has more than one with archive records'),
        email_to: z.string().max(1000).optional().describe('The heat supplier\'s e-mail addresses (comma-separated): the signed statement (PDF and Excel) is mailed to them by the heat.statements.send job'),
        correct: z.boolean().optional().describe('Sign a signed month again because its statement changed since (a corrected statement): it becomes the next version, replacing the previous one, and is mailed and delivered again. Refused when nothing changed.'),
      }),
      response: { 200: StatementOut, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    staff(p, 'heat:sign_off');
    await requireOwned(db, p, 'building', req.params.id);
    const actor = actorOf(req);
    let s: HeatStatement;
    try {
      s = await db.tx((q) => signOffStatement(q, req.params.id, req.body.period, actor, app.clock(), { meterId: req.body.meter_id, emailTo: req.body.email_to, requestId: req.id, correct: req.body.correct }));
    } catch (e) {
      heatHttp(e);
    }
    return wire(s, await loadDeliveries(db, req.params.id, req.body.period));
  });

  /** A send again's answer: the statement as the heat screen shows it, with its deliveries. */
  const shownAfterSendAgain = async (buildingId: number, period: string, meterId: number) =>
    wire(await heatStatement(db, buildingId, period, meterId), await loadDeliveries(db, buildingId, period));

  app.post('/buildings/:id/heat-statement/deliveries/:config_id/send-again', {
    schema: {
      tags: ['heat'], summary: 'Send a signed heat statement again through an exchange configuration whose attempts are used up (audited)',
      description: `A delivery of the month's current signed version that failed all ${DEFAULT_DELIVERY_ATTEMPTS} attempts (its heat_delivery_failed alert raised) gets a fresh series of attempts: the configuration's next run (or "run now") delivers it, and the delivery clears the alert. Audited as resend with the reason. 404: not signed, or the configuration has no delivery of it; 409: delivered already, attempts left (the next run retries it anyway), or a run is delivering it now.`,
      params: IdParams.extend({ config_id: z.coerce.number().int().positive().describe('The exchange configuration (direction heat_statements)') }),
      body: SendAgainBody,
      response: { 200: StatementOut, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    staff(p, 'heat:sign_off');
    await requireOwned(db, p, 'building', req.params.id);
    const actor = actorOf(req);
    try {
      const again = await db.tx((q) => sendDeliveryAgain(q, req.params.id, req.body.period, req.params.config_id, actor, app.clock(), req.body.reason, { requestId: req.id }));
      return await shownAfterSendAgain(req.params.id, req.body.period, again.meterId);
    } catch (e) {
      heatHttp(e);
    }
  });

  app.post('/buildings/:id/heat-statement/mail/send-again', {
    schema: {
      tags: ['heat'], summary: 'Mail a signed heat statement again whose e-mail attempts are used up (audited)',
      description: `The mail of the month's current signed version to the heat supplier's addresses that failed all ${DEFAULT_SEND_ATTEMPTS} attempts gets a fresh series of attempts: the next run of the heat.statements.send job mails it, and its going out clears the month's heat_mail_failed alert. With email_to the addresses are replaced first (a mistyped supplier's address; 400 naming email_to when one is not an address, nothing changed). Audited as resend with the reason. 404: not signed, or signed without e-mail addresses; 409: mailed already, attempts left (the next run retries it anyway), or a run is mailing it now.`,
      params: IdParams,
      body: SendAgainBody.extend({
        email_to: z.string().max(1000).optional().describe('Corrected heat supplier\'s addresses (comma-separated), checked as at sign-off: they replace the sign-off\'s for this and later attempts (audited with the addresses before and after); leave it out to keep them'),
      }),
      response: { 200: StatementOut, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    staff(p, 'heat:sign_off');
    await requireOwned(db, p, 'building', req.params.id);
    const actor = actorOf(req);
    try {
      const again = await db.tx((q) => sendMailAgain(q, req.params.id, req.body.period, actor, app.clock(), req.body.reason, { requestId: req.id, emailTo: req.body.email_to }));
      return await shownAfterSendAgain(req.params.id, req.body.period, again.meterId);
    } catch (e) {
      heatHttp(e);
    }
  });
};

export default heatRoutes;
