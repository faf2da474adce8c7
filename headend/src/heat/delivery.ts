/**
 * Signed heat statements delivered through the organisation's exchange: a configuration of direction
 * `heat_statements` (exchange/run.ts) writes each signed statement of its organisation (of its
 * building, when it names one) to its transport — the folder, FTP/FTPS or SFTP — as PDF and Excel,
 * on its schedule or "run now". Each version of a sign-off is delivered once per configuration: every
 * attempt is claimed first (store.ts claimDelivery), so overlapping runs write it once; a failure is
 * kept on its delivery row and in the run's log and retried by the next run, up to `maxAttempts`. A
 * month signed again (a corrected statement) is a new version: delivered again under its own
 * names, its documents saying which version it replaces.
 *
 * The attempt that uses up the last of `maxAttempts` raises a `heat_delivery_failed` alert for the
 * building through the alerts core (one per configuration, building and month: a corrected version
 * failing too refreshes it); nothing retries it after that, so without the alert the failure would
 * sit unseen on the delivery row. A later delivery of that month by the configuration clears it.
 * Raised once: a statement past its attempts is no longer listed, so no later run fails it again.
 *
 * "Send again" (sendDeliveryAgain): once the cause is fixed (the folder freed, the password changed),
 * an engineer starts a fresh series of `maxAttempts` attempts for the signed version through that
 * configuration, audited with who, when and why; the next run (or "run now") delivers it, and its
 * delivery clears the alert like any later delivery.
 */
import type { Database } from '../db/types.js';
import type { ExchangeTransport } from '../exchange/transports/index.js';
import { wallClock, type Clock } from '../util/clock.js';
import { clearAlert, heatDeliveryFailedMessage, heatDeliverySubject, joinMessage, raiseAlert, severityOf, type ChannelTarget } from '../alerts/index.js';
import { statementPdf, statementXlsx } from './documents.js';
import { heatStatement } from './service.js';
import { claimDelivery, loadDeliveryState, loadSignOff, pendingDeliveries, recordDelivery, restartDelivery, type PendingDelivery } from './store.js';
import type { Queryable } from '../db/types.js';
import { audit, type Actor } from '../audit/index.js';
import { HeatError } from './service.js';

export const DEFAULT_DELIVERY_ATTEMPTS = 5;

/**
 * The files of one version, named so that a heat supplier's folder sorts by building, then month,
 * then version: `heat-statement_b000042_2026-02_v01.pdf` (the building id zero-padded).
 */
export function deliveryFileNames(p: Pick<PendingDelivery, 'buildingId' | 'period' | 'version'>): { pdf: string; xlsx: string } {
  const base = `heat-statement_b${String(p.buildingId).padStart(6, '0')}_${p.period}_v${String(p.version).padStart(2, '0')}`;
  return { pdf: `${base}.pdf`, xlsx: `${base}.xlsx` };
}

export interface DeliveryRun {
  ok: boolean; message: string; counts: Record<string, number>;
  /** Alert notification rows written by this run (raised or cleared), for the caller to enqueue after it. */
  notificationIds: number[];
}

/** Delivers every signed statement waiting for this configuration through its open transport; the run's outcome for its log. */
export async function deliverSignedStatements(
  db: Database, c: { id: number; orgId: number; buildingId: number | null; location: string }, t: ExchangeTransport, runId: number,
  opts: { maxAttempts?: number; clock?: Clock; alertChannels?: readonly ChannelTarget[] } = {},
): Promise<DeliveryRun> {
  const maxAttempts = opts.maxAttempts ?? DEFAULT_DELIVERY_ATTEMPTS;
  const now = () => (opts.clock ?? wallClock)();
  const channels = opts.alertChannels ?? [];
  const notificationIds: number[] = [];
  const counts = { statements: 0, delivered: 0, failed: 0, files: 0 };
  const done: string[] = [];
  const failed: string[] = [];
  let folderReady = false;
  for (const p of await pendingDeliveries(db, c, maxAttempts)) {
    // Another run took this attempt: it writes it, not this one.
    const attempt = await claimDelivery(db, c.id, p, maxAttempts);
    if (attempt === null) continue;
    counts.statements++;
    const what = `building ${p.buildingId} ${p.period} v${p.version}`;
    try {
      if (!folderReady) {
        await t.mkdir();
        folderReady = true;
      }
      const s = await heatStatement(db, p.buildingId, p.period, p.meterId);
      // Signed again between the listing and now: the newer version is the next run's to deliver.
      if (s.signOff?.version !== p.version) throw new Error(`version ${p.version} was replaced by version ${s.signOff?.version ?? '?'} meanwhile; the next run delivers that one`);
      const names = deliveryFileNames(p);
      await t.writeAtomic(names.pdf, await statementPdf(s));
      await t.writeAtomic(names.xlsx, await statementXlsx(s));
      await recordDelivery(db, c.id, p, runId, { files: [names.pdf, names.xlsx], at: now() });
      const cleared = await clearAlert(db, 'heat_delivery_failed', heatDeliverySubject(c.id, p.buildingId, p.period), now(), `version ${p.version} delivered by run ${runId}`, channels);
      notificationIds.push(...(cleared?.notificationIds ?? []));
      counts.delivered++;
      counts.files += 2;
      done.push(`${names.pdf}, ${names.xlsx}${s.signOff.replaces ? ` (replaces v${String(s.signOff.replaces.version).padStart(2, '0')})` : ''}`);
    } catch (e) {
      const error = (e as Error).message;
      await recordDelivery(db, c.id, p, runId, { error });
      counts.failed++;
      failed.push(`${what}: ${error}`);
      if (attempt >= maxAttempts) notificationIds.push(...await raiseDeliveryAlert(db, c, p, { attempts: attempt, error, at: now(), channels }));
    }
  }
  const parts = [`${counts.delivered} signed heat statement(s) delivered${done.length ? `: ${done.join('; ')}` : ''}`];
  if (failed.length) parts.push(`${counts.failed} failed, retried by the next run — ${failed.join(' | ')}`);
  return { ok: failed.length === 0, message: parts.join('; '), counts, notificationIds };
}

/** The alert of a statement whose last allowed attempt failed: building, month, version, configuration and error. Its notification rows. */
async function raiseDeliveryAlert(
  db: Database, c: { id: number; location: string }, p: PendingDelivery, f: { attempts: number; error: string; at: Date; channels: readonly ChannelTarget[] },
): Promise<number[]> {
  const address = (await db.query<{ address: string }>('SELECT address FROM buildings WHERE id = $1', [p.buildingId])).rows[0]?.address ?? null;
  const error = f.error.slice(0, 500);
  const message = heatDeliveryFailedMessage({ buildingId: p.buildingId, address, period: p.period, version: p.version, configId: c.id, location: c.location, attempts: f.attempts, error });
  const raised = await raiseAlert(db, {
    kind: 'heat_delivery_failed', subject: heatDeliverySubject(c.id, p.buildingId, p.period), buildingId: p.buildingId, meterId: p.meterId, resource: 'heat',
    severity: severityOf('heat_delivery_failed'), message: joinMessage(message),
    data: { month: p.period, version: p.version, config_id: c.id, location: c.location, attempts: f.attempts, error },
  }, f.at, f.channels);
  return raised.notificationIds;
}

/**
 * The rule of "send again", for an exchange delivery and the e-mail alike: only a series whose attempts
 * are used up starts afresh — not one done already, not one a run holds now, not one with attempts left
 * (the next run retries it anyway, and a fresh series would hand it more attempts than the rule gives).
 * Throws the conflict in the caller's words.
 */
export function refuseSendAgain(
  s: { done: string | null; claimed: boolean; attempts: number; maxAttempts: number },
  say: { done: (at: string) => string; claimed: string; left: string },
): void {
  if (s.done) throw new HeatError('conflict', say.done(s.done));
  if (s.claimed) throw new HeatError('conflict', say.claimed);
  if (s.attempts < s.maxAttempts) throw new HeatError('conflict', say.left);
}

/**
 * Starts a fresh series of delivery attempts for the current signed version of a building's month
 * through one configuration whose attempts are used up, audited (`resend`, who, when, why, with the
 * attempts and the last error the previous series ended with). Refused with what to do instead: not
 * signed, no such delivery (404); delivered already, attempts left, or a run on it now (409). The
 * caller has checked the building is the user's; a configuration of another organisation than the
 * building's never delivered it (no row), so it is a 404 like a missing one.
 */
export async function sendDeliveryAgain(
  q: Queryable, buildingId: number, period: string, configId: number, by: Actor, at: Date, reason: string,
  opts: { maxAttempts?: number; requestId?: string } = {},
): Promise<{ version: number; series: number; meterId: number }> {
  const maxAttempts = opts.maxAttempts ?? DEFAULT_DELIVERY_ATTEMPTS;
  const signOff = await loadSignOff(q, buildingId, period);
  if (!signOff) throw new HeatError('not_found', `the heat statement of ${period} is not signed off: there is no delivery to send again`);
  const version = signOff.version;
  const d = await loadDeliveryState(q, configId, buildingId, period, version);
  if (!d) throw new HeatError('not_found', `exchange configuration ${configId} has no delivery of the heat statement of ${period}, version ${version}`);
  refuseSendAgain({ done: d.deliveredAt, claimed: d.claimed, attempts: d.attempts, maxAttempts }, {
    done: (at) => `version ${version} of ${period} was delivered by configuration ${configId} at ${at}: nothing to send again`,
    claimed: `a run of configuration ${configId} is delivering version ${version} of ${period} now; wait for its outcome`,
    left: `version ${version} of ${period} has attempts left (${d.attempts} of ${maxAttempts}): the next run of configuration ${configId} tries it again`,
  });
  const series = await restartDelivery(q, { configId, buildingId, period, version, maxAttempts, by: by.name, at, reason });
  if (series === null) throw new HeatError('conflict', `the delivery of version ${version} of ${period} by configuration ${configId} changed meanwhile; reload it`);
  await audit(q, by, {
    action: 'resend', entity: 'heat_statement_delivery', entityId: `${configId}:${buildingId}:${period}:v${version}`, buildingId,
    before: { series: d.series, attempts: d.attempts, error: d.error }, after: { series, attempts: 0 }, reason, requestId: opts.requestId,
  });
  return { version, series, meterId: signOff.meterId };
}
