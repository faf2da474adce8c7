/** Registry fixtures for ingestion tests: one building with meters bound to a gateway. */
import type { Db } from '../../src/db/index.js';
import { hashSecret } from '../../src/broker/index.js';
import { archiveQuantity, type MeterReading, type ReadingsMessage } from '@amr/protocols';

export interface Fixture {
  gatewayId: string;
  password: string;
  meterIds: number[];
}

let counter = 0;

/** Registers a gateway with `meters` bound meters on bus "m1", addresses "1".."n". */
export async function registerGateway(db: Db, gatewayId: string, meters = 2): Promise<Fixture> {
  const password = `pw-${gatewayId}`;
  const hash = await hashSecret(password);
  return db.tx(async (q) => {
    const org = (await q.query<{ id: number }>(`INSERT INTO organisations (name) VALUES ($1) RETURNING id`, [`org ${gatewayId}`])).rows[0].id;
    const b = (await q.query<{ id: number }>(`INSERT INTO buildings (org_id, address) VALUES ($1, $2) RETURNING id`, [org, `street ${gatewayId}`])).rows[0].id;
    await q.query(`INSERT INTO gateways (id, name, building_id, credential_hash) VALUES ($1, $1, $2, $3)`, [gatewayId, b, hash]);
    const meterIds: number[] = [];
    for (let i = 1; i <= meters; i++) {
      const m = (
        await q.query<{ id: number }>(
          `INSERT INTO meters (placement, building_id, resource, make, serial_number) VALUES ('building', $1, 'heat', 'TEST', $2) RETURNING id`,
          [b, `${gatewayId}-${i}-${++counter}`],
        )
      ).rows[0].id;
      await q.query(`INSERT INTO bindings (gateway_id, bus, address, meter_id) VALUES ($1, 'm1', $2, $3)`, [gatewayId, String(i), m]);
      meterIds.push(m);
    }
    return { gatewayId, password, meterIds };
  });
}

/** A readings message: one reading per (seq, address) with an energy register value. */
export function readings(gatewayId: string, items: { seq: number; address: string; value: number; time?: string }[]): ReadingsMessage {
  return {
    v: 1,
    gatewayId,
    sentAt: new Date().toISOString(),
    readings: items.map((it) => ({
      seq: it.seq,
      meter: { meterKey: `k${it.address}`, bus: 'm1', protocol: 'mbus' as const, address: it.address },
      gatewayTime: it.time ?? '2026-11-01T10:00:00Z',
      quality: [],
      values: [{ quantity: 'energy_kwh', value: it.value, unit: 'kWh', quality: [] }],
    })),
  };
}

/** One hour's heat record of a heat calculator's archive (Q, Тр, Тнс in seconds, its НС codes). */
export interface HourRecord { q: number; tr: number; tns: number; codes: string[] }

/**
 * One daily archive record of the heat calculator at address "1" of bus "m1" (a Moscow building) as a
 * back-fill read on 1 March publishes it: `d` February, `kwh` of heat, a whole day of counting.
 */
export function dailyArchiveMessage(fx: Pick<Fixture, 'gatewayId'>, d: number, kwh: number): ReadingsMessage {
  const time = new Date(Date.UTC(2026, 1, d) - 3 * 3600_000).toISOString();
  return {
    v: 1, gatewayId: fx.gatewayId, sentAt: '2026-03-01T08:00:00.000Z',
    readings: [{ seq: d, meter: { meterKey: 'tv7', bus: 'm1', protocol: 'modbus', address: '1' }, gatewayTime: '2026-03-01T08:00:00.000Z', quality: ['archive'],
      values: [['energy_delta_kwh', kwh, 'kWh'], ['operating_time_delta_s', 86_400, 's'], ['error_time_delta_s', 0, 's']].map(([quantity, value, unit]) =>
        ({ quantity: archiveQuantity(quantity as string, 'daily'), value: value as number, unit: unit as string, time, quality: ['archive' as const] })),
      archive: { kind: 'daily', record: `2026-02-${String(d).padStart(2, '0')}T00:00:00`, stamp: 'start', seconds: 86_400, nsCodes: [] } }],
  };
}

/**
 * One hourly archive record as the gateway's back-fill publishes it, from the heat calculator bound at
 * address "1" of bus "m1": `local` its start on the meter's clock, `utc` the same instant.
 */
export function hourlyArchiveMessage(gatewayId: string, seq: number, utc: string, local: string, x: HourRecord): ReadingsMessage {
  const val = (quantity: string, value: number, unit: string) => ({ quantity: archiveQuantity(quantity, 'hourly'), value, unit, time: utc, quality: ['archive' as const] });
  const reading: MeterReading = {
    seq, meter: { meterKey: 'tv7', bus: 'm1', protocol: 'modbus', address: '1' }, gatewayTime: '2026-01-16T11:00:00.000Z', quality: ['archive'],
    values: [val('energy_delta_kwh', x.q, 'kWh'), val('operating_time_delta_s', x.tr, 's'), val('error_time_delta_s', x.tns, 's')],
    archive: { kind: 'hourly', record: local, stamp: 'start', seconds: 3600, nsCodes: x.codes },
  };
  return { v: 1, gatewayId, sentAt: '2026-01-16T11:00:01.000Z', readings: [reading] };
}
