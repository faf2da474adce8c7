/**
 * An alert storm as the morning after a power cut looks: silent meters in two buildings of one
 * organisation (one of them in Yekaterinburg, +05), an imbalance, a silent gateway — 60 alerts raised by
 * the real silence check and imbalance hook at a fixed instant — and one alert of another organisation.
 */
import type { Db } from '../../src/db/index.js';
import { applyImbalanceReport, runSilenceCheck } from '../../src/alerts/index.js';
import { storeMonthReport } from './seed.js';

/** The check runs at this instant; the storm's meters were last heard the evening before. */
export const STORM_NOW = new Date('2026-11-20T09:00:00Z');
/** 19 Nov 20:30 UTC = 19 Nov 23:30 in Moscow (+03) = 20 Nov 01:30 in Yekaterinburg (+05). */
export const METERS_LAST_SEEN = new Date('2026-11-19T20:30:00Z');
const CONFIG = { METER_SILENT_MINUTES: 6 * 60, GATEWAY_SILENT_MINUTES: 60, SMTP_FROM: 'amr@localhost' };

export interface Storm {
  orgA: number; orgB: number;
  /** ул. Ленина, 1 (Moscow): 30 silent meters and a heat imbalance. */
  lenina: number;
  /** пр. Космонавтов, 5 (Yekaterinburg): 28 silent meters and a silent gateway. */
  kosmonavtov: number;
  /** Another organisation's building with one silent meter. */
  other: number;
  /** Serial number of a Yekaterinburg meter (its alert is looked at in both languages). */
  ekbSerial: string;
}

const RESOURCES = ['cold_water', 'hot_water', 'electricity', 'heat'];

export async function seedStorm(db: Db, tag = 'storm'): Promise<Storm> {
  const id = async (sql: string, params: unknown[]) => Number((await db.query<{ id: string }>(sql, params)).rows[0].id);
  const orgA = await id(`INSERT INTO organisations (name) VALUES ($1) RETURNING id`, [`УК «Северная» ${tag}`]);
  const orgB = await id(`INSERT INTO organisations (name) VALUES ($1) RETURNING id`, [`УК «Южная» ${tag}`]);
  const building = (org: number, address: string, tz: string) =>
    id(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, $2, $3) RETURNING id`, [org, address, tz]);
  const lenina = await building(orgA, 'ул. Ленина, 1', 'Europe/Moscow');
  const kosmonavtov = await building(orgA, 'пр. Космонавтов, 5', 'Asia/Yekaterinburg');
  const other = await building(orgB, 'ул. Садовая, 9', 'Europe/Moscow');
  const registered = new Date('2026-01-15T08:00:00Z');
  const meters = async (buildingId: number, n: number, prefix: string) => {
    for (let i = 1; i <= n; i++) {
      await db.query(
        `INSERT INTO meters (placement, building_id, resource, make, serial_number, remote_reading, last_seen_at, created_at, status)
         VALUES ('building', $1, $2, 'Пульсар', $3, true, $4, $5, 'active')`,
        [buildingId, RESOURCES[i % RESOURCES.length], `${prefix}-${tag}-${String(i).padStart(3, '0')}`, METERS_LAST_SEEN, registered]);
    }
  };
  await meters(lenina, 30, 'LEN');
  await meters(kosmonavtov, 28, 'EKB');
  await meters(other, 1, 'SAD');
  // Heard at 07:40 UTC: 80 min before the check, over the gateway's 60 min.
  await db.query(`INSERT INTO gateways (id, name, building_id, last_seen_at, created_at, status, online, last_status) VALUES ($1, 'Щиток, 1 подъезд', $2, $3, $4, 'active', false, $5::jsonb)`,
    [`gw-ekb-${tag}`, kosmonavtov, new Date('2026-11-20T07:40:00Z'), registered, JSON.stringify({ state: 'offline', software: '1.4.2', outboxDepth: 312 })]);
  await runSilenceCheck(db, CONFIG, [], STORM_NOW);
  const report = await storeMonthReport(db, lenina, new Date('2026-09-30T21:00:00Z'), new Date('2026-10-31T21:00:00Z'), 'high_loss', 17.4);
  await applyImbalanceReport(db, report, [], STORM_NOW);
  return { orgA, orgB, lenina, kosmonavtov, other, ekbSerial: `EKB-${tag}-001` };
}
