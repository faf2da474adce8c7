/**
 * Imbalance alerts: what a stored report does to the alert of its building × resource
 * (`decideImbalance` judges; this file reads the latest month and writes).
 */
import type { Db } from '../db/index.js';
import type { StoredImbalanceReport } from '../imbalance/types.js';
import { decideImbalance, imbalanceSubject, severityOf, type AlertAction } from './decisions.js';
import { imbalanceMessage, joinMessage, monthLabel } from './messages.js';
import { clearAlert, raiseAlert, type ChannelTarget } from './store.js';

export interface ImbalanceOutcome { action: AlertAction; changed: boolean; notificationIds: number[] }

/** Start of the latest month report stored for the building × resource (null: none stored). */
async function latestMonthStart(db: Db, buildingId: number, resource: string): Promise<Date | null> {
  const { rows } = await db.query<{ latest: Date | null }>(
    `SELECT max(period_start) AS latest FROM imbalance_reports WHERE building_id = $1 AND resource = $2 AND period_kind = 'month'`,
    [buildingId, resource]);
  return rows[0]?.latest ? new Date(rows[0].latest) : null;
}

export async function applyImbalanceReport(db: Db, report: StoredImbalanceReport, channels: readonly ChannelTarget[], now: Date): Promise<ImbalanceOutcome> {
  if (report.periodKind !== 'month') return { action: 'none', changed: false, notificationIds: [] };
  const action = decideImbalance(report, await latestMonthStart(db, report.buildingId, report.resource));
  const subject = imbalanceSubject(report.buildingId, report.resource);
  const month = monthLabel(report.periodStart, report.periodEnd);
  if (action === 'raise') {
    const status = report.status as 'high_loss' | 'negative_imbalance';
    const address = (await db.query<{ address: string }>(`SELECT address FROM buildings WHERE id = $1`, [report.buildingId])).rows[0]?.address ?? null;
    const message = imbalanceMessage({
      buildingId: report.buildingId, address, resource: report.resource, status, periodStart: report.periodStart, periodEnd: report.periodEnd,
      imbalancePct: report.imbalancePct, highLossPct: report.thresholds.highLossPct, negativePct: report.thresholds.negativePct,
    });
    const res = await raiseAlert(db, {
      kind: 'imbalance', subject, buildingId: report.buildingId, resource: report.resource, severity: severityOf('imbalance'),
      message: joinMessage(message),
      data: {
        status, month, period_start: report.periodStart.toISOString(), period_end: report.periodEnd.toISOString(),
        building_consumption: report.buildingConsumption, apartments_consumption: report.apartmentsConsumption,
        other_consumption: report.otherConsumption, imbalance: report.imbalance, imbalance_pct: report.imbalancePct,
        coverage: report.coverage, thresholds: report.thresholds,
      },
    }, now, channels);
    return { action, changed: res.raised, notificationIds: res.notificationIds };
  }
  if (action === 'clear') {
    const why = report.status === 'not_applicable' ? `month ${month}: not applicable (${report.resource} billed by area, no apartment side)` : `month ${month} ok`;
    const res = await clearAlert(db, 'imbalance', subject, now, why, channels);
    return { action, changed: res !== null, notificationIds: res?.notificationIds ?? [] };
  }
  return { action, changed: false, notificationIds: [] };
}
