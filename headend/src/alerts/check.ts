/**
 * The silence check (job `alerts.check`): reads meters and gateways that are silent or have an open
 * silence alert, lets `decideSilence` judge them, and raises/clears alerts one short transaction each.
 * Returns the notification rows created so the caller can enqueue their delivery.
 */
import type { Db } from '../db/index.js';
import { decideSilence, gatewaySubject, meterSubject, severityOf, silenceCutoff, type WatchedSubject } from './decisions.js';
import { gatewaySilentMessage, joinMessage, meterSilentMessage } from './messages.js';
import { clearAlert, raiseAlert, type ChannelTarget } from './store.js';
import type { AlertConfig } from './types.js';

export interface CheckResult { raised: string[]; cleared: string[]; notificationIds: number[] }

interface MeterRow { id: string; building_id: string; address: string | null; resource: string; make: string; serial_number: string; last_seen_at: Date | null; created_at: Date; watched: boolean; open_alert_id: string | null; covered: boolean | null }
interface GatewayRow { id: string; name: string | null; building_id: string | null; address: string | null; online: boolean; last_seen_at: Date | null; created_at: Date; watched: boolean; open_alert_id: string | null }

const toSubject = <Id>(id: Id, r: { last_seen_at: Date | null; created_at: Date; watched: boolean; open_alert_id: string | null }): WatchedSubject<Id> => ({
  id, watched: r.watched, lastSeenAt: r.last_seen_at ? new Date(r.last_seen_at) : null, createdAt: new Date(r.created_at),
  openAlertId: r.open_alert_id === null ? null : Number(r.open_alert_id),
});

export async function runSilenceCheck(db: Db, config: AlertConfig, channels: readonly ChannelTarget[], now: Date): Promise<CheckResult> {
  const out: CheckResult = { raised: [], cleared: [], notificationIds: [] };

  // The SQL pre-filter (cutoff) only narrows the rows; decideSilence makes the call.
  const gwMin = config.GATEWAY_SILENT_MINUTES;
  const gateways = (await db.query<GatewayRow>(
    `SELECT g.id, g.name, g.building_id, (SELECT address FROM buildings WHERE id = g.building_id) AS address, g.online, g.last_seen_at, g.created_at, (g.status = 'active') AS watched, a.id AS open_alert_id
       FROM gateways g
       LEFT JOIN alerts a ON a.kind = 'gateway_silent' AND a.cleared_at IS NULL AND a.gateway_id = g.id
      WHERE (g.status = 'active' AND COALESCE(g.last_seen_at, g.created_at) < $1) OR a.id IS NOT NULL`,
    [silenceCutoff(now, gwMin)])).rows;
  const gwById = new Map(gateways.map((r) => [r.id, r]));
  const gd = decideSilence(gateways.map((r) => toSubject(r.id, r)), now, gwMin);
  for (const id of gd.raise) {
    const r = gwById.get(id)!;
    const facts = { gatewayId: id, name: r.name, buildingId: r.building_id === null ? null : Number(r.building_id), lastSeenAt: r.last_seen_at ? new Date(r.last_seen_at) : null, createdAt: new Date(r.created_at), minutes: gwMin, address: r.address };
    const res = await raiseAlert(db, {
      kind: 'gateway_silent', subject: gatewaySubject(id), buildingId: facts.buildingId, gatewayId: id,
      severity: severityOf('gateway_silent'), message: joinMessage(gatewaySilentMessage(facts)),
      data: { last_seen_at: facts.lastSeenAt?.toISOString() ?? null, created_at: facts.createdAt.toISOString(), threshold_minutes: gwMin, online: r.online, name: r.name },
    }, now, channels);
    if (res.raised) { out.raised.push(gatewaySubject(id)); out.notificationIds.push(...res.notificationIds); }
  }
  for (const id of gd.clear) {
    const r = gwById.get(id)!;
    const res = await clearAlert(db, 'gateway_silent', gatewaySubject(id), now, r.watched ? 'seen again' : 'gateway disabled', channels);
    if (res) { out.cleared.push(gatewaySubject(id)); out.notificationIds.push(...res.notificationIds); }
  }

  // Meters after gateways, so a meter behind a gateway found silent just now is already covered.
  const meterMin = config.METER_SILENT_MINUTES;
  const meters = (await db.query<MeterRow>(
    `SELECT m.id, m.building_id, (SELECT address FROM buildings WHERE id = m.building_id) AS address, m.resource, m.make, m.serial_number, m.last_seen_at, m.created_at,
            (m.remote_reading AND m.status = 'active') AS watched, a.id AS open_alert_id,
            (SELECT bool_and(EXISTS (SELECT 1 FROM alerts ga WHERE ga.kind = 'gateway_silent' AND ga.cleared_at IS NULL AND ga.gateway_id = b.gateway_id))
               FROM bindings b WHERE b.meter_id = m.id AND b.valid_to IS NULL) AS covered
       FROM meters m
       LEFT JOIN alerts a ON a.kind = 'meter_silent' AND a.cleared_at IS NULL AND a.meter_id = m.id
      WHERE (m.remote_reading AND m.status = 'active' AND COALESCE(m.last_seen_at, m.created_at) < $1) OR a.id IS NOT NULL`,
    [silenceCutoff(now, meterMin)])).rows;
  const meterById = new Map(meters.map((r) => [Number(r.id), r]));
  const md = decideSilence(meters.map((r) => ({ ...toSubject(Number(r.id), r), coveredByGateway: r.covered === true })), now, meterMin);
  for (const id of md.raise) {
    const r = meterById.get(id)!;
    const facts = { meterId: id, buildingId: Number(r.building_id), resource: r.resource, make: r.make, serialNumber: r.serial_number, lastSeenAt: r.last_seen_at ? new Date(r.last_seen_at) : null, createdAt: new Date(r.created_at), minutes: meterMin, address: r.address };
    const res = await raiseAlert(db, {
      kind: 'meter_silent', subject: meterSubject(id), buildingId: facts.buildingId, meterId: id, resource: r.resource,
      severity: severityOf('meter_silent'), message: joinMessage(meterSilentMessage(facts)),
      data: { last_seen_at: facts.lastSeenAt?.toISOString() ?? null, created_at: facts.createdAt.toISOString(), threshold_minutes: meterMin, serial_number: r.serial_number, make: r.make },
    }, now, channels);
    if (res.raised) { out.raised.push(meterSubject(id)); out.notificationIds.push(...res.notificationIds); }
  }
  for (const id of md.clear) {
    const r = meterById.get(id)!;
    const res = await clearAlert(db, 'meter_silent', meterSubject(id), now, r.watched ? 'seen again' : 'meter no longer active or remote-read', channels);
    if (res) { out.cleared.push(meterSubject(id)); out.notificationIds.push(...res.notificationIds); }
  }
  return out;
}
