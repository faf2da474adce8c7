/**
 * One exchange run for one config, logged in exchange_runs (running → ok | failed with a message).
 * The files live behind a transport (transports/): the local folder, or an FTP/FTPS/SFTP server with
 * one connection per run, always closed at the end.
 * Export: the readings of the last `period_days` days → one XML file in the folder (written under a
 * temporary name and renamed, so a reader never sees half a file).
 * Import: every *.xml in the inbox folder, oldest name first, each applied all-or-nothing, then moved
 * to processed/ or failed/ (a failed file gets a .errors.txt next to it naming rows and columns).
 * A file whose readings were stored but which could not be moved stays in the inbox; the next run
 * finds its readings `unchanged` and moves it then, so nothing is applied twice.
 * Heat statements: the organisation's signed heat statements not delivered yet → PDF and XLSX in the
 * folder (heat/delivery.ts), each version once.
 */
import type { Database } from '../db/types.js';
import { openSecret } from '../util/secret-box.js';
import type { Actor } from '../audit/index.js';
import { importReadingRows } from './readings-import.js';
import type { WriteRights } from '../readings/judge.js';
import { listReadings } from './readings-list.js';
import { deliverSignedStatements } from '../heat/delivery.js';
import { readingsXml, xmlToRows, XmlFileError } from './xml.js';
import type { ExchangeMailer } from './report-mail.js';
import { findSymlink, orgFolder, placeFolder } from './folder-scope.js';
import type { ChannelTarget } from '../alerts/index.js';
import { describeLocation, inboxOrder, openTransport, scrub, type ExchangeTransport, type TransportConfig, type TransportTimeouts } from './transports/index.js';

export interface ExchangeConfig extends TransportConfig {
  id: number; org_id: number; building_id: number | null; direction: 'export' | 'import' | 'heat_statements'; folder: string; cron: string;
  period_days: number; email_to: string | null; enabled: boolean;
  /** heat_statements: deliver statements signed at or after this instant; null: since created_at. */
  deliver_signed_since?: Date | null;
  created_at?: Date;
}

export interface ExchangeRun {
  id: number; config_id: number; status: 'running' | 'ok' | 'failed'; message: string | null; counts: Record<string, number>;
  started_at: Date; finished_at: Date | null;
}

export interface ExchangeDeps {
  db: Database;
  now?: () => Date;
  /** Sends the run report when the config has email_to (createExchangeMailer); absent = no reports. */
  mailer?: ExchangeMailer | null;
  /** Where background failures (writing schedules) are logged. */
  logger?: { warn(obj: object, msg: string): void };
  /** Connect and per-operation deadlines of remote transports (defaults: transports/types.ts). */
  timeouts?: Partial<TransportTimeouts>;
  /** PEM of a private CA trusted for FTPS besides the system's (see TransportOptions). */
  ftpsCa?: string;
  /** Opens secrets sealed in exchange_configs (SECRETS_KEY, src/util/secret-box.ts). */
  secretsKey?: string;
  /** EXCHANGE_ROOT: a local folder must lie in its organisation's folder there, reached without a symbolic link, at every run. */
  exchangeRoot?: string;
  /** Where alerts raised by a run (a heat statement delivery that used up its attempts) are notified: alerts' channelsOf(config). */
  alertChannels?: readonly ChannelTarget[];
  /** Hands the alert notification rows a run wrote to the notify jobs (alerts' enqueueNotifications); absent: alerts.check enqueues them later. */
  onAlertNotifications?: (ids: readonly number[]) => Promise<void>;
}

/** Why a local config's folder may not be used now (it was placed before folders were per organisation, or a link replaced it since), or null. */
async function folderProblem(root: string | undefined, c: ExchangeConfig): Promise<string | null> {
  if (!root || c.transport !== 'folder') return null;
  const placed = placeFolder(root, c.org_id, c.folder);
  if ('problem' in placed) return placed.problem;
  const link = await findSymlink(root, placed.folder);
  return link ? `${link} is a symbolic link; exchange folders must be plain folders inside ${orgFolder(root, c.org_id)}` : null;
}

export async function getConfig(db: Database, id: number): Promise<ExchangeConfig | null> {
  const r = (await db.query('SELECT * FROM exchange_configs WHERE id = $1', [id])).rows[0];
  return r ? { ...r, id: Number(r.id), org_id: Number(r.org_id), building_id: r.building_id === null ? null : Number(r.building_id), port: r.port === null ? null : Number(r.port) } : null;
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

async function exportOnce(deps: ExchangeDeps, c: ExchangeConfig, t: ExchangeTransport): Promise<{ message: string; counts: Record<string, number> }> {
  const now = deps.now?.() ?? new Date();
  const from = new Date(now.getTime() - c.period_days * 86_400_000);
  const rows = await listReadings(deps.db, { org_id: c.org_id, building_id: c.building_id ?? undefined, from: from.toISOString(), to: now.toISOString() }, null);
  const xml = readingsXml({ orgId: c.org_id, buildingId: c.building_id, from, to: now, generatedAt: now }, rows);
  await t.mkdir();
  const name = `readings-org${c.org_id}${c.building_id ? `-b${c.building_id}` : ''}-${stamp(now)}-cfg${c.id}.xml`;
  await t.writeAtomic(name, xml);
  return { message: `wrote ${name} (${rows.length} readings)`, counts: { files: 1, readings: rows.length } };
}

/**
 * A scheduled exchange imports as the organisation's own system (its server sends the readings it
 * took or was given, possibly for days outside the window): it may write outside the window; every
 * other rule of an entry applies. Values that need a person's confirmation fail their file.
 */
const EXCHANGE_RIGHTS: WriteRights = { write: true, outsideWindow: true, correct: true };

async function importOnce(deps: ExchangeDeps, c: ExchangeConfig, t: ExchangeTransport): Promise<{ ok: boolean; message: string; counts: Record<string, number> }> {
  await t.mkdir('processed');
  await t.mkdir('failed');
  const files = inboxOrder(await t.list()).map((f) => f.name);
  const actor: Actor = { kind: 'system', id: null, name: `exchange:${c.id}` };
  const counts = { files: files.length, files_ok: 0, files_failed: 0, inserted: 0, unchanged: 0 };
  const problems: string[] = [];
  for (const name of files) {
    let errorText: string | null = null;
    try {
      const { columns, rows } = xmlToRows(await t.read(name));
      const report = await importReadingRows(deps.db, name, columns, rows, { orgId: c.org_id, dryRun: false, actor, fileName: name, buildingIds: null, now: deps.now?.(), rights: EXCHANGE_RIGHTS });
      if (report.ok) {
        counts.inserted += report.summary.insert;
        counts.unchanged += report.summary.unchanged;
      } else {
        errorText = report.errors.map((e) => `reading ${e.row}${e.column ? ` [${e.column}]` : ''}: ${e.message}`).join('\n');
      }
    } catch (e) {
      if (!(e instanceof XmlFileError)) throw e;
      errorText = e.message;
    }
    if (errorText === null) {
      counts.files_ok++;
      await t.move(name, 'processed');
    } else {
      counts.files_failed++;
      await t.move(name, 'failed');
      await t.writeErrors(name, `${errorText}\n`);
      problems.push(`${name}: ${errorText.split('\n').slice(0, 5).join('; ')}`);
    }
  }
  const message = problems.length
    ? `${counts.files_failed} of ${files.length} file(s) failed, nothing applied from them — ${problems.join(' | ')}`
    : `${files.length} file(s) applied: ${counts.inserted} reading(s) inserted, ${counts.unchanged} unchanged`;
  return { ok: problems.length === 0, message, counts };
}

/** Runs a config now and returns its exchange_runs row. Unexpected errors are logged as failed runs too. */
export async function runExchange(deps: ExchangeDeps, configId: number): Promise<ExchangeRun> {
  const c = await getConfig(deps.db, configId);
  if (!c) throw new Error(`exchange config ${configId} does not exist`);
  const runId = Number((await deps.db.query(`INSERT INTO exchange_runs (config_id, status) VALUES ($1, 'running') RETURNING id`, [c.id])).rows[0].id);
  let status: 'ok' | 'failed';
  let message: string;
  let counts: Record<string, number> = {};
  let notificationIds: readonly number[] = [];
  try {
    const refused = await folderProblem(deps.exchangeRoot, c);
    if (refused) throw new Error(`folder refused: ${refused}`);
    const t = await openTransport({ ...c, secret: openSecret(c.secret, deps.secretsKey, `exchange config ${c.id}`) }, { timeouts: deps.timeouts, ftpsCa: deps.ftpsCa });
    try {
      if (c.direction === 'export') {
        ({ message, counts } = await exportOnce(deps, c, t));
        status = 'ok';
      } else if (c.direction === 'heat_statements') {
        const r = await deliverSignedStatements(deps.db, { id: c.id, orgId: c.org_id, buildingId: c.building_id, location: describeLocation(c) }, t, runId, { clock: deps.now, alertChannels: deps.alertChannels });
        ({ message, counts, notificationIds } = r);
        status = r.ok ? 'ok' : 'failed';
      } else {
        const r = await importOnce(deps, c, t);
        ({ message, counts } = r);
        status = r.ok ? 'ok' : 'failed';
      }
    } finally {
      await t.close();
    }
  } catch (e) {
    status = 'failed';
    // Transport errors already cut the secret out; this catches anything else that might echo it.
    message = scrub((e as Error).message, c.secret);
  }
  const { rows } = await deps.db.query(
    `UPDATE exchange_runs SET status = $2, message = $3, counts = $4::jsonb, finished_at = now() WHERE id = $1 RETURNING *`,
    [runId, status, message, JSON.stringify(counts)]);
  const run = toRun(rows[0]);
  if (notificationIds.length && deps.onAlertNotifications) {
    // The alert is stored with its notification rows; a lost enqueue is picked up by alerts.check.
    await deps.onAlertNotifications(notificationIds).catch((e: Error) => deps.logger?.warn({ err: e.message }, 'exchange: alert notifications not enqueued'));
  }
  if (deps.mailer && c.email_to) {
    // A report that cannot be sent does not undo the run; the log says so.
    try {
      await deps.mailer.send(c, run);
    } catch (e) {
      const upd = await deps.db.query('UPDATE exchange_runs SET message = message || $2 WHERE id = $1 RETURNING *', [run.id, ` (e-mail report not sent: ${(e as Error).message})`]);
      return toRun(upd.rows[0]);
    }
  }
  return run;
}

/** An exchange_runs row as the drivers return it: bigint ids may arrive as text. */
export function toRun(r: Omit<ExchangeRun, 'id' | 'config_id'> & { id: number | string; config_id: number | string }): ExchangeRun {
  return { ...r, id: Number(r.id), config_id: Number(r.config_id) };
}
