/**
 * An interval archive record published under the other kind's names — a daily record (a day's
 * interval) carrying the hourly `energy_delta_kwh`, or an hourly record carrying the daily
 * `energy_day_kwh` — is refused whole into quarantine, its reason naming the record, its interval and
 * the name that fits; none of its values is stored, nor the record in meter_archive_ns. An honest
 * record of each kind sent alongside is stored. Published over MQTT to a Mosquitto of the test's own,
 * through the head-end's subscriber and ingest writer, on both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { topics, type MeterReading, type ReadingsMessage, type ReadingValue } from '@amr/protocols';
import { loadConfig } from '../../src/config/index.js';
import { startHeadend, type Headend } from '../../src/server/index.js';
import { registerGateway, type Fixture } from './fixtures.js';
import { startMosquitto, type Mosquitto } from '../mosquitto.js';
import { dbEnv, testDatabase, type TestDatabase } from '../engine.js';

let broker: Mosquitto;
let database: TestDatabase;
const run = `${process.pid}-${Date.now().toString(36)}`;
let he: Headend;
let pub: MqttClient;

beforeAll(async () => {
  broker = await startMosquitto();
  database = await testDatabase();
  const config = loadConfig({
    DATA_DIR: 'memory://', ...dbEnv(database), MQTT_URL: broker.url, MQTT_SHARE_GROUP: `a${run}`.replace(/[^A-Za-z0-9_-]/g, '_'), MQTT_CLIENT_ID: `he-an-${run}`,
    INGEST_LINGER_MS: '5', LOG_LEVEL: 'silent',
  });
  he = await startHeadend({ config, logger: pino({ level: 'silent' }), api: false, jobs: false });
  await he.subscriber!.ready;
  pub = await mqtt.connectAsync(broker.url, { clientId: `pub-an-${run}`, reconnectPeriod: 0 });
}, 120_000);
afterAll(async () => {
  await pub?.endAsync();
  await he?.close();
  await broker?.stop();
  await database?.drop();
});

/** 00:00 of 15 January 2026 in Moscow (the fixture building's zone) = 21:00 UTC on the 14th. */
const MIDNIGHT = '2026-01-14T21:00:00.000Z';
const val = (quantity: string, value: number, unit: string): ReadingValue => ({ quantity, value, unit, time: MIDNIGHT, quality: ['archive'] });
const DAILY: NonNullable<MeterReading['archive']> = { kind: 'daily', record: '2026-01-15T00:00:00', stamp: 'start', seconds: 86_400, nsCodes: [] };
const HOURLY: NonNullable<MeterReading['archive']> = { kind: 'hourly', record: '2026-01-15T00:00:00', stamp: 'start', seconds: 3600, nsCodes: [] };

function message(fx: Fixture, readings: { seq: number; values: ReadingValue[]; archive: MeterReading['archive'] }[]): ReadingsMessage {
  return {
    v: 1, gatewayId: fx.gatewayId, sentAt: '2026-01-16T11:00:01.000Z',
    readings: readings.map((r) => ({ seq: r.seq, meter: { meterKey: 'tv7', bus: 'm1', protocol: 'modbus' as const, address: '1' }, gatewayTime: '2026-01-16T11:00:00.000Z', quality: [], values: r.values, archive: r.archive })),
  };
}

const quarantined = async (gw: string) =>
  (await he.db.query<{ seq: number; reason: string; detail: string }>(`SELECT seq::int AS seq, reason, detail FROM quarantine WHERE gateway_id = $1 ORDER BY seq`, [gw])).rows;
const stored = async (meterId: number) =>
  (await he.db.query<{ quantity: string; value: number }>(`SELECT quantity, value FROM readings WHERE meter_id = $1 ORDER BY quantity`, [meterId])).rows;
const records = async (meterId: number) =>
  (await he.db.query<{ kind: string }>(`SELECT kind FROM meter_archive_ns WHERE meter_id = $1 ORDER BY kind`, [meterId])).rows.map((r) => r.kind);

describe('archive records under the other kind\'s names', () => {
  it('a daily record under hourly names is quarantined whole with the name that fits; the honest hourly record of the same midnight is stored', async () => {
    const fx = await registerGateway(he.db, `gw-an-day-${run}`, 1);
    // The day's heat 2500.4 kWh and its НС word published under the hourly names (a gateway that
    // forgot to rename), plus one honest day name: the record is one, so none of it may be stored.
    const wrongDay = { seq: 1, archive: DAILY, values: [val('energy_delta_kwh', 2500.4, 'kWh'), val('error_flags_interval', 4, 'flags'), val('operating_time_day_s', 79_200, 's')] };
    const hour = { seq: 2, archive: HOURLY, values: [val('energy_delta_kwh', 104.5, 'kWh'), val('operating_time_delta_s', 3600, 's')] };
    await pub.publishAsync(topics.readings(fx.gatewayId), JSON.stringify(message(fx, [wrongDay, hour])), { qos: 1 });
    await expect.poll(() => quarantined(fx.gatewayId), { timeout: 20_000 }).toHaveLength(1);
    await expect.poll(() => stored(fx.meterIds[0]), { timeout: 20_000 }).toHaveLength(2);
    const [q] = await quarantined(fx.gatewayId);
    expect(q.seq).toBe(1);
    expect(q.reason).toBe('archive_name_mismatch');
    expect(q.detail).toBe(
      'daily archive record 2026-01-15T00:00:00 (interval 86400 s, stamp start) carries hourly names energy_delta_kwh, error_flags_interval; '
      + 'a daily record\'s values are energy_day_kwh, error_flags_day: fix the gateway\'s archive names and send the record again');
    // Only the honest hourly record: its two values, and it alone as a record (the day's 79 200 s of Тр were not kept either).
    expect(await stored(fx.meterIds[0])).toEqual([{ quantity: 'energy_delta_kwh', value: 104.5 }, { quantity: 'operating_time_delta_s', value: 3600 }]);
    expect(await records(fx.meterIds[0])).toEqual(['hourly']);
  });

  it('an hourly record under a daily name is quarantined; the honest daily record is stored under its day names', async () => {
    const fx = await registerGateway(he.db, `gw-an-hour-${run}`, 1);
    const wrongHour = { seq: 7, archive: HOURLY, values: [val('energy_day_kwh', 104.5, 'kWh'), val('flow_temp_mean_c', 69.4, '°C')] };
    const day = { seq: 8, archive: DAILY, values: [val('energy_day_kwh', 2500.4, 'kWh'), val('flow_temp_day_mean_c', 70.1, '°C')] };
    await pub.publishAsync(topics.readings(fx.gatewayId), JSON.stringify(message(fx, [wrongHour, day])), { qos: 1 });
    await expect.poll(() => quarantined(fx.gatewayId), { timeout: 20_000 }).toHaveLength(1);
    await expect.poll(() => stored(fx.meterIds[0]), { timeout: 20_000 }).toHaveLength(2);
    const [q] = await quarantined(fx.gatewayId);
    expect([q.seq, q.reason]).toEqual([7, 'archive_name_mismatch']);
    expect(q.detail).toBe(
      'hourly archive record 2026-01-15T00:00:00 (interval 3600 s, stamp start) carries daily name energy_day_kwh; '
      + 'an hourly record\'s value is energy_delta_kwh: fix the gateway\'s archive names and send the record again');
    expect(await stored(fx.meterIds[0])).toEqual([{ quantity: 'energy_day_kwh', value: 2500.4 }, { quantity: 'flow_temp_day_mean_c', value: 70.1 }]);
    expect(await records(fx.meterIds[0])).toEqual(['daily']);
    // The refused record sent again, corrected (hourly names) under a new seq: stored, next to the day's.
    const fixed = { seq: 9, archive: HOURLY, values: [val('energy_delta_kwh', 104.5, 'kWh'), val('flow_temp_mean_c', 69.4, '°C')] };
    await pub.publishAsync(topics.readings(fx.gatewayId), JSON.stringify(message(fx, [fixed])), { qos: 1 });
    await expect.poll(() => stored(fx.meterIds[0]), { timeout: 20_000 }).toHaveLength(4);
    expect(await records(fx.meterIds[0])).toEqual(['daily', 'hourly']);
  });
});
