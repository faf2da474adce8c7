/**
 * One building as the dashboard sees it, written by SQL the way ingestion, the validator, the imbalance
 * service and the alert job would write it. Known numbers: heat ОДПУ 1000 kWh vs Σ ИПУ 880 kWh in
 * January 2025 (12.0 %, high_loss), 900 vs 855 in February (5.0 %, ok), 1100 vs 990 in December 2024
 * (10.0 %, ok). Months start at Moscow midnight, as a building in Europe/Moscow counts them.
 */
import type { Queryable } from '../../src/db/types.js';

export interface SeededBuilding {
  orgId: number; buildingId: number;
  heatOdpu: number; coldOdpu: number; apt1: number; apt2: number; apt10: number;
}

const id = async (q: Queryable, sql: string, params: unknown[]) => Number((await q.query(sql, params)).rows[0].id);

export async function seedBuilding(q: Queryable, opts: { address: string; externalId: string; now?: Date }): Promise<SeededBuilding> {
  const orgId = await id(q, "INSERT INTO organisations (name) VALUES ('УК Тест') RETURNING id", []);
  const buildingId = await id(q, 'INSERT INTO buildings (org_id, external_id, address, city) VALUES ($1, $2, $3, $4) RETURNING id', [orgId, opts.externalId, opts.address, 'Москва']);
  const premise = (n: string) => id(q, 'INSERT INTO premises (building_id, number) VALUES ($1, $2) RETURNING id', [buildingId, n]);
  const [p1, p2, p10] = [await premise('1'), await premise('2'), await premise('10')];
  const meter = (placement: string, premiseId: number | null, resource: string, serial: string, remote: boolean, lastSeen: string | null) => id(q,
    `INSERT INTO meters (placement, building_id, premise_id, resource, make, serial_number, remote_reading, last_seen_at)
     VALUES ($1, $2, $3, $4, 'Test', $5, $6, $7::timestamptz) RETURNING id`, [placement, buildingId, premiseId, resource, serial, remote, lastSeen]);
  // "Now" as the API under test sees it (its clock), so recent and silent meters are judged alike.
  const now = opts.now ?? new Date();
  const heatOdpu = await meter('building', null, 'heat', 'HB-1', true, now.toISOString());
  const coldOdpu = await meter('building', null, 'cold_water', 'CW-B', false, null);
  const apt1 = await meter('apartment', p1, 'heat', 'HM-1', true, new Date(now.getTime() - 3 * 86_400_000).toISOString());
  const apt2 = await meter('apartment', p2, 'heat', 'HM-2', true, null);
  const apt10 = await meter('apartment', p10, 'heat', 'HM-10', false, null);

  await q.query(
    `INSERT INTO gateways (id, name, building_id, online, last_seen_at, last_status) VALUES
       ('gw-ov-1', 'ИТП', $1, true, $2::timestamptz, '{"software":"1.2.0","outboxDepth":3}'),
       ('gw-ov-2', 'Подвал', $1, false, NULL, NULL)`, [buildingId, now.toISOString()]);

  // Heat ОДПУ register: one reading a day at 23:00 UTC; +1000 kWh over January, +900 over February.
  await q.query(
    `INSERT INTO readings (meter_id, time, quantity, value, unit, source)
     SELECT $1, t, 'energy_kwh',
            CASE WHEN t <= '2025-01-31T23:00Z' THEN 4000 + extract(epoch FROM t - '2024-12-31T23:00Z') / 86400 * 1000 / 31
                 ELSE 5000 + extract(epoch FROM t - '2025-01-31T23:00Z') / 86400 * 900 / 28 END,
            'kWh', 'telemetry'
       FROM generate_series('2024-12-31T23:00Z'::timestamptz, '2025-02-28T23:00Z', interval '1 day') t`, [heatOdpu]);
  // Its instantaneous quantities, hourly over the last two days (the heat-parameters chart).
  await q.query(
    `INSERT INTO readings (meter_id, time, quantity, value, unit, source)
     SELECT $1, t, x.quantity, x.value + (extract(hour FROM t) - 12) * x.swing, x.unit, 'telemetry'
       FROM generate_series('2025-02-27T00:00Z'::timestamptz, '2025-03-01T00:00Z', interval '1 hour') t,
            (VALUES ('flow_temp_c', 90.0, 0.5, '°C'), ('return_temp_c', 60.0, 0.2, '°C'), ('volume_flow_m3h', 4.0, 0.05, 'm3/h'), ('power_w', 140000.0, 1000.0, 'W'))
              AS x(quantity, value, swing, unit)`, [heatOdpu]);

  // Apartment readings, one corrected (version 2 by an engineer).
  await q.query(
    `INSERT INTO readings (meter_id, time, quantity, value, unit, source, version, created_by, reason) VALUES
       ($1, '2025-01-15T00:00Z', 'energy_kwh', 310, 'kWh', 'telemetry', 1, NULL, NULL),
       ($2, '2025-01-10T00:00Z', 'energy_kwh', 250, 'kWh', 'telemetry', 1, NULL, NULL),
       ($2, '2025-01-10T00:00Z', 'energy_kwh', 205, 'kWh', 'staff', 2, 'eng', 'digits swapped'),
       ($2, '2025-01-15T00:00Z', 'energy_kwh', 212, 'kWh', 'telemetry', 1, NULL, NULL),
       ($2, '2025-01-20T00:00Z', 'energy_kwh', 190, 'kWh', 'telemetry', 1, NULL, NULL),
       ($3, '2025-01-31T00:00Z', 'energy_kwh', 420, 'kWh', 'telemetry', 1, NULL, NULL)`, [apt1, apt2, apt10]);
  await q.query(
    `INSERT INTO reading_validations (meter_id, quantity, time, version, status, reasons) VALUES
       ($1, 'energy_kwh', '2025-01-15T00:00Z', 1, 'suspect', '[{"code":"spike","status":"suspect","message":"consumption 5x the median"}]'),
       ($2, 'energy_kwh', '2025-01-10T00:00Z', 1, 'suspect', '[{"code":"spike","status":"suspect","message":"spike"}]'),
       ($2, 'energy_kwh', '2025-01-10T00:00Z', 2, 'valid', '[]'),
       ($2, 'energy_kwh', '2025-01-15T00:00Z', 1, 'suspect', '[{"code":"gap","status":"suspect","message":"5 days without readings"}]'),
       ($2, 'energy_kwh', '2025-01-20T00:00Z', 1, 'invalid', '[{"code":"register_decreased","status":"invalid","message":"212 → 190"}]'),
       ($3, 'energy_kwh', '2025-02-28T23:00Z', 1, 'valid', '[]')`, [apt1, apt2, heatOdpu]);
  await q.query(
    `INSERT INTO reading_reviews (meter_id, quantity, time, version, decision, reason, reviewed_by)
     VALUES ($1, 'energy_kwh', '2025-01-15T00:00Z', 1, 'accept', 'checked on site', 'eng')`, [apt1]);

  const report = (resource: string, start: string, end: string, bld: number | null, apts: number, pct: number | null, status: string, coverage = 1) => q.query(
    `INSERT INTO imbalance_reports (building_id, resource, period_kind, period_start, period_end, building_consumption, apartments_consumption,
        other_consumption, imbalance, imbalance_pct, coverage, apartments_total, apartments_actual, status, thresholds, meters)
     VALUES ($1, $2, 'month', $3, $4, $5, $6, 0, $7, $8, $9, 3, 3, $10, '{"high_loss_pct":10,"negative_pct":2,"min_coverage":0.8}', '[]')`,
    [buildingId, resource, start, end, bld, apts, bld === null ? null : bld - apts, pct, coverage, status]);
  await report('heat', '2024-11-30T21:00Z', '2024-12-31T21:00Z', 1100, 990, 10, 'ok');
  await report('heat', '2024-12-31T21:00Z', '2025-01-31T21:00Z', 1000, 880, 12, 'high_loss');
  await report('heat', '2025-01-31T21:00Z', '2025-02-28T21:00Z', 900, 855, 5, 'ok');
  await report('cold_water', '2024-12-31T21:00Z', '2025-01-31T21:00Z', null, 50, null, 'insufficient_data', 0.5);

  await q.query(
    `INSERT INTO alerts (kind, subject, building_id, meter_id, gateway_id, resource, severity, message, cleared_at) VALUES
       ('imbalance', $2, $1, NULL, NULL, 'heat', 'warning', 'heat imbalance 12.0 % in 2025-01', NULL),
       ('meter_silent', $3, $1, $4, NULL, 'heat', 'warning', 'meter HM-2 silent for more than 24 h', NULL),
       ('gateway_silent', 'gateway:gw-ov-2', $1, NULL, 'gw-ov-2', NULL, 'critical', 'gateway silent', now())`,
    [buildingId, `building:${buildingId}:heat`, `meter:${apt2}`, apt2]);

  await q.query("CALL refresh_continuous_aggregate('readings_hourly', '2024-12-01', '2025-04-01')");
  await q.query("CALL refresh_continuous_aggregate('readings_daily', '2024-12-01', '2025-04-01')");
  return { orgId, buildingId, heatOdpu, coldOdpu, apt1, apt2, apt10 };
}
