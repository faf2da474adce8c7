/**
 * File exchange of readings (issue 7):
 *   POST /import/readings            Excel/CSV readings import (all-or-nothing, per-row errors, dry run)
 *   GET  /readings/export            readings list as .xlsx or .csv (search and filters)
 *   /exchange/configs, /exchange/runs scheduled XML exchange with a local folder or an FTP/FTPS/SFTP
 *                                     server, its log, and "run now". The server's password or key is
 *                                     write-only: responses and the audit log show has_secret instead.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireBodyRef, requireOwned, requirePermission, type Principal } from '../auth/index.js';
import { rightsFor } from '../readings/write.js';
import { detectFormat, readCsvInSlices, readXlsx } from '../import/index.js';
import {
  EXCHANGE_JOB, exchangeJobsDefined, importReadingRows, listReadings, readingsCsv, readingsXlsx, ReadingsFilter,
  normalizeFingerprint, ReadingsImportReport, runExchange, scheduleExchangeConfig, describeLocation, type ExchangeConfig,
} from './index.js';
import { publicConfig, resolveTransport, type TransportInput } from './config-check.js';
import { findSymlink, orgFolder, placeFolder } from './folder-scope.js';
import { badRequest, HttpError } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { stringifyInSlices } from '../http/json-slices.js';
import { sealSecret } from '../util/secret-box.js';
import type { Queryable } from '../db/types.js';
import { getRun, insertConfig, listConfigs, listRuns, loadConfig, updateConfig } from './store.js';
import { actorOf, errors, Id, IdParams, Timestamp, type RouteDeps } from '../http/context.js';

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** 5 fields (minute …) or 6 (second …), as bullmq's cron parser takes them. */
const Cron = z.string().trim().regex(/^(\S+\s+){4,5}\S+$/, 'a cron pattern of 5 or 6 fields, e.g. "0 2 * * *"');
/** A path without ".." segments: absolute, or (local folders) relative to the organisation's folder under EXCHANGE_ROOT. */
const Folder = z.string().min(1).max(1000).refine((s) => !s.split('/').includes('..'), 'a folder path without ".."')
  // FTP commands are lines: a line break in a path, user name or password would be a second command.
  .refine((s) => !hasControl(s), 'no control characters or line breaks');
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 32 || s.charCodeAt(i) === 127) return true;
  return false;
}
const Host = z.string().trim().min(1).max(253).regex(/^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]+|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$/, 'a host name or IP address (no scheme, no port)')
  .transform((s) => s.replace(/^\[(.*)\]$/, '$1'));
const Username = z.string().min(1).max(200).refine((s) => !hasControl(s), 'no control characters or line breaks');
const Password = z.string().min(1).max(1000).refine((s) => !hasControl(s), 'no control characters or line breaks');
const PrivateKey = z.string().max(20_000).refine((s) => /^-----BEGIN ((OPENSSH|RSA|EC|DSA) )?PRIVATE KEY-----/.test(s.trim()), 'a PEM or OpenSSH private key ("-----BEGIN … PRIVATE KEY-----"), unencrypted');
const HostKey = z.string().transform((s, ctx) => {
  const f = normalizeFingerprint(s);
  if (!f) ctx.addIssue({ code: 'custom', message: 'the SHA-256 host key fingerprint as `ssh-keygen -lf` prints it: "SHA256:" and 43 base64 characters' });
  return f ?? s;
});

const ConfigFields = z.object({
  org_id: z.number().int().positive(),
  building_id: z.number().int().positive().nullable().optional(),
  direction: z.enum(['export', 'import', 'heat_statements']).describe('export: readings out; import: readings in; heat_statements: the signed heat statements (PDF and XLSX) out'),
  folder: Folder,
  cron: Cron,
  period_days: z.number().int().min(1).max(366),
  email_to: z.string().max(500).nullable().optional(),
  enabled: z.boolean(),
  transport: z.enum(['folder', 'ftp', 'ftps', 'sftp']),
  host: Host.nullable().optional(),
  port: z.number().int().min(1).max(65535).nullable().optional(),
  username: Username.nullable().optional(),
  password: Password.nullable().optional(),
  private_key: PrivateKey.nullable().optional(),
  host_key_sha256: HostKey.nullable().optional(),
  deliver_signed_since: z.iso.datetime({ offset: true }).nullable().optional()
    .describe('heat_statements: deliver the statements signed (or re-signed) at or after this instant; absent/null: only those signed after the configuration was created (not the history)'),
});
const ConfigBody = ConfigFields.extend({
  period_days: ConfigFields.shape.period_days.default(1), enabled: z.boolean().default(true), transport: ConfigFields.shape.transport.default('folder'),
});
// No defaults here: a PATCH changes only what it names (zod applies defaults even inside .partial()).
const ConfigPatch = ConfigFields.omit({ org_id: true, direction: true }).partial();
const ConfigOut = z.object({
  id: Id, org_id: Id, building_id: Id.nullable(), direction: z.enum(['export', 'import', 'heat_statements']), folder: z.string(), cron: z.string(),
  period_days: z.number(), email_to: z.string().nullable(), enabled: z.boolean(),
  transport: z.enum(['folder', 'ftp', 'ftps', 'sftp']), host: z.string().nullable(), port: z.number().nullable(), username: z.string().nullable(),
  has_secret: z.boolean(), secret_kind: z.enum(['password', 'private_key']).nullable(), host_key_sha256: z.string().nullable(),
  location: z.string().describe('where the files are: the folder, or transport://user@host:port/folder'),
  deliver_signed_since: Timestamp.nullable().describe('heat_statements: statements signed at or after this instant are delivered; null: since created_at'),
  created_at: Timestamp.optional(),
});
/** What a config looks like outside the database: no secret, ever. */
function shown(c: ExchangeConfig): z.input<typeof ConfigOut> {
  return { ...publicConfig(c), location: describeLocation(c), deliver_signed_since: c.deliver_signed_since ?? null };
}
const RunOut = z.object({
  id: Id, config_id: Id, status: z.enum(['running', 'ok', 'failed']), message: z.string().nullable(),
  counts: z.record(z.string(), z.number()), started_at: Timestamp, finished_at: Timestamp.nullable(),
});

/**
 * Where a config may be put (create, or a change of its building): the organisation the caller acts
 * in (404 like a missing one otherwise) and a building of it they see (400 naming building_id). An
 * org-wide config moves readings of every building: only callers who see every building may own one.
 */
async function requireConfigPlace(q: Queryable, p: Principal, orgId: number, buildingId: number | null | undefined): Promise<void> {
  await requireOwned(q, p, 'organisation', orgId);
  if (buildingId == null) {
    if (p.buildingIds !== null) throw new HttpError(403, 'forbidden', 'an organisation-wide exchange needs access to every building; give building_id');
    return;
  }
  await requireBodyRef(q, p, 'building', buildingId, 'building_id', orgId);
}

/**
 * A stored config the caller may act on, through the tenancy resolver: 404 alike for missing, another
 * organisation's, and (for callers who do not see every building) an organisation-wide one, which
 * the list does not show them either.
 */
async function requireConfig(q: Queryable, p: Principal, id: number): Promise<ExchangeConfig> {
  const o = await requireOwned(q, p, 'exchange_config', id);
  const c = await loadConfig(q, id);
  if (!c || (o.buildingId === null && p.buildingIds !== null)) throw new HttpError(404, 'not_found', 'exchange config not found');
  return c;
}

/**
 * Local exchange folders lie inside EXCHANGE_ROOT/org-<id>/ when EXCHANGE_ROOT is set (the head-end
 * always sets it, from the config): a user with exchange:run cannot have the head-end write or move
 * files anywhere else on its own disk, nor in another organisation's folder, nor through a symbolic
 * link. A relative folder is taken inside the organisation's folder. Returns the folder to store.
 * A folder on an FTP/SFTP server is that server's business.
 */
async function placeLocalFolder(transport: string, folder: string, root: string | undefined, orgId: number): Promise<string> {
  if (transport !== 'folder') return folder;
  if (!root) {
    if (!folder.startsWith('/')) throw badRequest('folder: an absolute path (no EXCHANGE_ROOT is set to take a relative one in)', [{ path: 'body.folder', message: 'relative without EXCHANGE_ROOT' }]);
    return folder;
  }
  const placed = placeFolder(root, orgId, folder);
  if ('problem' in placed) throw badRequest(placed.problem, [{ path: 'body.folder', message: `outside ${orgFolder(root, orgId)}` }]);
  const link = await findSymlink(root, placed.folder);
  if (link) throw badRequest(`folder: ${link} is a symbolic link; exchange folders must be plain folders inside ${orgFolder(root, orgId)}`, [{ path: 'body.folder', message: 'symbolic link' }]);
  return placed.folder;
}

/** The transport fields to store, or a 400 naming every field that is missing or does not fit the transport. */
function transportOrRefuse(before: ExchangeConfig | null, body: TransportInput) {
  const { value, problems } = resolveTransport(before, body);
  if (problems.length) throw badRequest(problems.map((x) => x.message).join('; '), problems);
  return value;
}

const exchangeRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, readDb, jobs, config }) => {
  app.post('/import/readings', {
    schema: {
      tags: ['import'],
      summary: 'Import ИПУ readings from CSV or Excel (first sheet)',
      description: 'The file is the request body (Content-Type text/csv, or the Excel type). Columns: account (or address + premise), serial, date, value, zone (multi-zone meters). Each row passes the same checks as a reading entered by hand. All-or-nothing: any refused row means nothing is stored and the answer (422) lists each row with its problem; with dry_run=true nothing is stored either way and the report says what would be inserted. Example file:\n\n```\naccount;serial;date;value\n1001;WM-20-123456;2025-03-20;123.45\n1002;WM-20-123457;2025-03-20;98.1\n```',
      querystring: z.object({
        org_id: z.coerce.number().int().positive().describe('Organisation whose accounts and meters the rows are matched against'),
        dry_run: z.enum(['true', 'false']).default('false').describe('true: check every row and report, store nothing'),
        file_name: z.string().max(300).optional().describe('Original file name, kept in the import log'),
        confirm: z.enum(['true', 'false']).default('false').describe('accept values that need confirmation (a rollover, high consumption)'),
      }),
      response: {
        200: ReadingsImportReport.meta({ examples: [{ ok: true, dry_run: true, applied: false, summary: { insert: 2, unchanged: 0 }, changes: [], errors: [] }] }),
        422: ReadingsImportReport.meta({ examples: [{ ok: false, dry_run: false, applied: false, summary: { insert: 1, unchanged: 0 }, changes: [], errors: [{ sheet: 'readings', row: 3, column: 'serial', message: 'meter WM-20-999999 not found in organisation 4' }] }] }),
        ...errors,
      },
    },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'import:run');
    // Another organisation answers as one that does not exist (the tenancy resolver).
    await requireOwned(db, p, 'organisation', req.query.org_id);
    if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw badRequest(`send the file as the request body with Content-Type text/csv or ${XLSX_TYPE}`);
    const fileName = req.query.file_name ?? `upload-${app.clock().toISOString()}`;
    const base = {
      orgId: req.query.org_id, dryRun: req.query.dry_run === 'true', actor: actorOf(req), fileName, buildingIds: p.buildingIds, requestId: req.id,
      rights: rightsFor(p, 'import'), confirm: req.query.confirm === 'true', now: app.clock(),
    };
    let table;
    try {
      table = detectFormat(req.headers['content-type'], req.body) === 'xlsx' ? (await readXlsx(req.body))[0] : await readCsvInSlices(req.body, 'readings');
    } catch (e) {
      const report: ReadingsImportReport = { ok: false, dry_run: base.dryRun, applied: false, summary: { insert: 0, unchanged: 0 }, changes: [], errors: [{ sheet: '', row: (e as { lines?: number }).lines ?? 0, message: `cannot read the file: ${(e as Error).message}` }] };
      return reply.code(422).send(report);
    }
    if (!table) throw badRequest('the workbook has no sheet');
    const report = await importReadingRows(db, table.sheet, table.columns, table.rows, base);
    // The report (as the schema above says) serialised a slice at a time: it lists every row.
    return reply.code(report.ok ? 200 : 422).type('application/json').send(await stringifyInSlices(report) as unknown as ReadingsImportReport);
  });

  app.get('/readings/export', {
    schema: {
      tags: ['readings'],
      summary: 'Readings list (current versions) as .xlsx or .csv; q searches address, account and meter serial; channel = source',
      description: 'The readings list of the dashboard as a file: address, account, meter type and number, previous and current value, consumption, date and channel, one row per reading. The file can be edited and sent back to POST /import/readings.',
      querystring: ReadingsFilter.extend({ format: z.enum(['xlsx', 'csv']).default('xlsx').describe('xlsx (Excel) or csv') }),
    },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'readings:read');
    if (p.premiseIds !== null) throw new HttpError(403, 'forbidden', 'the readings export is for staff; residents see their meters\' readings');
    const { format, ...filter } = req.query;
    if (p.organisationId !== null) filter.org_id ??= p.organisationId;
    if (filter.org_id !== undefined) await requireOwned(db, p, 'organisation', filter.org_id);
    if (filter.building_id) await requireOwned(db, p, 'building', filter.building_id);
    let rows;
    try {
      rows = await listReadings(readDb ?? db, filter, p.buildingIds);
    } catch (e) {
      throw badRequest((e as Error).message);
    }
    const name = `readings-${app.clock().toISOString().slice(0, 10)}.${format}`;
    reply.header('content-disposition', `attachment; filename="${name}"`);
    if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(readingsCsv(rows));
    return reply.type(XLSX_TYPE).send(await readingsXlsx(rows));
  });

  app.get('/exchange/configs', {
    schema: {
      tags: ['exchange'], summary: 'Exchange configurations', querystring: z.object({ org_id: z.coerce.number().int().positive().optional().describe('Only this organisation') }), response: { 200: z.array(ConfigOut), ...errors },
      description: 'Scheduled XML exchanges with managing organisations: where (a folder, FTP, FTPS or SFTP), when (cron), what (readings in, accounts in, readings out). Secrets are never shown, only whether one is set.',
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'exchange:run');
    if (req.query.org_id !== undefined) await requireOwned(db, p, 'organisation', req.query.org_id);
    return (await listConfigs(db, p, p.organisationId ?? req.query.org_id ?? null)).map(shown);
  });

  app.post('/exchange/configs', {
    schema: {
      tags: ['exchange'],
      summary: 'Create an exchange configuration (scheduled at once when the job runner is up). transport folder (inside EXCHANGE_ROOT/org-<org_id>/; a relative folder is taken there), ftp, ftps (explicit TLS) or sftp (needs host_key_sha256 pinned before it runs); password / private_key are write-only',
      description: 'Adds a scheduled exchange for an organisation: transport and where, the cron schedule, file names, delete-after-reading, report e-mail. Secrets are sealed with SECRETS_KEY before they are stored and never shown again. Audited without the secrets.',
      body: ConfigBody, response: { 201: ConfigOut, ...errors },
    },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'exchange:run');
    const b = req.body;
    await requireConfigPlace(db, p, b.org_id, b.building_id);
    const t = transportOrRefuse(null, b);
    t.folder = await placeLocalFolder(t.transport, t.folder, config.EXCHANGE_ROOT, b.org_id);
    const c = await insertConfig(db, {
      org_id: b.org_id, building_id: b.building_id ?? null, direction: b.direction, cron: b.cron, period_days: b.period_days, email_to: b.email_to ?? null, enabled: b.enabled,
      deliver_signed_since: b.deliver_signed_since ? new Date(b.deliver_signed_since) : null, ...t, secret: sealSecret(t.secret, config.SECRETS_KEY),
    }, actorOf(req), req.id);
    if (exchangeJobsDefined(jobs)) await scheduleExchangeConfig(jobs, { id: c.id, cron: c.cron, enabled: c.enabled });
    return reply.code(201).send(shown(c));
  });

  app.patch('/exchange/configs/:id', {
    schema: { tags: ['exchange'], summary: 'Change an exchange configuration (enabled=false stops its schedule)', description: 'Changes the fields given of the configuration `id` and reschedules it; a secret left out stays as it is. Audited without the secrets.', params: IdParams, body: ConfigPatch, response: { 200: ConfigOut, ...errors } },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'exchange:run');
    const before = await requireConfig(db, p, req.params.id);
    const { password: _password, private_key: _key, ...plain } = req.body;
    const next: ExchangeConfig = { ...before, ...Object.fromEntries(Object.entries(plain).filter(([, v]) => v !== undefined)), ...transportOrRefuse(before, req.body) };
    // A config moved to another building (or made organisation-wide) is checked where it goes.
    if (next.building_id !== before.building_id) await requireConfigPlace(db, p, next.org_id, next.building_id);
    next.folder = await placeLocalFolder(next.transport, next.folder, config.EXCHANGE_ROOT, next.org_id);
    const c = await updateConfig(db, before, { ...next, secret: sealSecret(next.secret, config.SECRETS_KEY) }, actorOf(req), req.id);
    if (exchangeJobsDefined(jobs)) await scheduleExchangeConfig(jobs, { id: c.id, cron: c.cron, enabled: c.enabled });
    return shown(c);
  });

  app.post('/exchange/configs/:id/run', {
    schema: {
      tags: ['exchange'], summary: 'Run now: queued as an exchange.run job when the job runner is up (202), else run here and the run returned (200)',
      description: 'Runs the configuration `id` outside its schedule ("run now"); its result goes to the operations log (GET /exchange/runs) and to the report e-mail if one is set.',
      params: IdParams, response: { 200: RunOut, 202: z.object({ job_id: z.string() }), ...errors },
    },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'exchange:run');
    const c = await requireConfig(db, p, req.params.id);
    // A config stored before folders were per organisation, or a folder since replaced by a link, does not run.
    try {
      await placeLocalFolder(c.transport, c.folder, config.EXCHANGE_ROOT, c.org_id);
    } catch (e) {
      throw new HttpError(409, 'conflict', `exchange config ${c.id} cannot run: ${(e as Error).message}; move its folder with PATCH`);
    }
    if (exchangeJobsDefined(jobs)) return reply.code(202).send({ job_id: await jobs.enqueue(EXCHANGE_JOB, { configId: c.id }) });
    return reply.code(200).send(await runExchange({ db, now: app.clock }, c.id));
  });

  app.get('/exchange/runs', {
    schema: {
      tags: ['exchange'], summary: 'Operations log of exchange runs, newest first',
      description: 'Each run with its status, kind, message, start and last change, like the log of the exchange users know; the per-file and per-row report is in GET /exchange/runs/{id}.',
      querystring: z.object({ config_id: z.coerce.number().int().positive().optional().describe('Only runs of this configuration'), limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Most runs in the answer') }),
      response: { 200: z.array(RunOut), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'exchange:run');
    if (req.query.config_id !== undefined) await requireConfig(db, p, req.query.config_id);
    return listRuns(db, p, { configId: req.query.config_id, limit: req.query.limit });
  });

  app.get('/exchange/runs/:id', {
    schema: { tags: ['exchange'], summary: 'One exchange run', description: 'The run `id` with its files and, per file, what was imported or exported and each row refused with the reason (e.g. "account not found").', params: IdParams, response: { 200: RunOut, ...errors } },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'exchange:run');
    const o = await requireOwned(db, p, 'exchange_run', req.params.id);
    const run = await getRun(db, req.params.id);
    if (!run || (o.buildingId === null && p.buildingIds !== null)) throw new HttpError(404, 'not_found', 'exchange run not found');
    return run;
  });
};

export default exchangeRoutes;
