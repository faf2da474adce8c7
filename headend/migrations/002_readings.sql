-- Readings and everything ingestion writes besides them.
--
-- readings: one row per (meter, quantity, time, version). Telemetry is version 1. A correction,
-- a resident's or staff entry for the same instant, or an import is a NEW version (max + 1) with
-- created_by and reason; nothing is overwritten. The current value is the highest version.
--
-- Conflicting telemetry (same meter, quantity and time, but a different value than stored) is NOT
-- stored as a new version: a meter does not measure two values at one instant, so this is a gateway
-- or binding fault. It goes to `quarantine` with reason 'conflicting_value' (and both values), where
-- an engineer can accept it as a correction. An identical redelivery is a no-op.

CREATE TABLE readings (
  meter_id     bigint NOT NULL REFERENCES meters(id),
  time         timestamptz NOT NULL,
  quantity     text NOT NULL,
  value        double precision,        -- NULL: the meter reported the quantity without a usable value
  unit         text NOT NULL,
  source       text NOT NULL CHECK (source IN ('telemetry', 'resident', 'staff', 'import', 'estimate')),
  quality      text[] NOT NULL DEFAULT '{}',
  version      int NOT NULL DEFAULT 1 CHECK (version >= 1),
  received_at  timestamptz NOT NULL DEFAULT now(),
  gateway_id   text,
  seq          bigint,                   -- the gateway's sequence number (telemetry)
  created_by   text,                     -- user/api-key/system that wrote a non-telemetry row
  reason       text,                     -- why this version exists (corrections, estimates)
  UNIQUE (meter_id, quantity, time, version)
);
SELECT create_hypertable('readings', 'time', chunk_time_interval => interval '7 days');
CREATE INDEX readings_meter_time_idx ON readings (meter_id, time DESC);

-- Columnar compression of chunks older than 30 days, segmented the way readings are queried.
ALTER TABLE readings SET (
  timescaledb.compress,
  timescaledb.compress_segmentby = 'meter_id, quantity',
  timescaledb.compress_orderby = 'time DESC, version DESC'
);
SELECT add_compression_policy('readings', interval '30 days');

-- Continuous aggregates. For cumulative registers `last_value` is the register at the end of the
-- bucket (consumption = difference of consecutive buckets); for instantaneous quantities use
-- min/max/avg. They aggregate every version; where a bucket holds a corrected value, readers that
-- need the exact current version (VEE, billing) read raw rows (`max_version > 1` tells them).
CREATE MATERIALIZED VIEW readings_hourly WITH (timescaledb.continuous) AS
SELECT meter_id, quantity, time_bucket(interval '1 hour', time) AS bucket,
       last(value, time) AS last_value, first(value, time) AS first_value,
       min(value) AS min_value, max(value) AS max_value, avg(value) AS avg_value,
       count(*) AS samples, max(version) AS max_version, max(time) AS last_time
FROM readings GROUP BY meter_id, quantity, bucket
WITH NO DATA;
SELECT add_continuous_aggregate_policy('readings_hourly',
  start_offset => interval '7 days', end_offset => interval '1 hour', schedule_interval => interval '15 minutes');

CREATE MATERIALIZED VIEW readings_daily WITH (timescaledb.continuous) AS
SELECT meter_id, quantity, time_bucket(interval '1 day', time) AS bucket,
       last(value, time) AS last_value, first(value, time) AS first_value,
       min(value) AS min_value, max(value) AS max_value, avg(value) AS avg_value,
       count(*) AS samples, max(version) AS max_version, max(time) AS last_time
FROM readings GROUP BY meter_id, quantity, bucket
WITH NO DATA;
SELECT add_continuous_aggregate_policy('readings_daily',
  start_offset => interval '35 days', end_offset => interval '1 day', schedule_interval => interval '1 hour');
-- Raw retention is NOT set here: the head-end sets it at start from RAW_RETENTION_DAYS (0 = keep).

-- Idempotency: one row per (gateway, seq) committed in the same transaction as the readings.
-- A redelivered message finds its seqs here and adds nothing.
CREATE TABLE ingest_log (
  gateway_id   text NOT NULL,
  seq          bigint NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  outcome      text NOT NULL CHECK (outcome IN ('stored', 'quarantined')),
  PRIMARY KEY (gateway_id, seq)
);

-- Payloads that failed validation, kept verbatim with the reason.
CREATE TABLE dead_letters (
  id           bigserial PRIMARY KEY,
  topic        text NOT NULL,
  gateway_id   text,                     -- from the topic, when it parses
  payload      text NOT NULL,            -- utf-8 (invalid bytes replaced); payload_b64 has the exact bytes
  payload_b64  text,
  reason       text NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_received_idx ON dead_letters (received_at DESC);

-- Valid readings the head-end could not place: unknown gateway, unbound meter address, conflicting
-- value. Never dropped; resolved by an engineer (bind the meter and replay, accept, or reject).
CREATE TABLE quarantine (
  id            bigserial PRIMARY KEY,
  gateway_id    text NOT NULL,
  seq           bigint,
  meter_ref     jsonb NOT NULL,          -- MeterRef as the gateway sent it
  reading       jsonb NOT NULL,          -- the MeterReading (or the one conflicting value)
  reason        text NOT NULL CHECK (reason IN ('unknown_gateway', 'unknown_meter', 'conflicting_value')),
  detail        text,
  received_at   timestamptz NOT NULL DEFAULT now(),
  resolved_at   timestamptz,
  resolved_by   text,
  resolution    text
);
CREATE INDEX quarantine_open_idx ON quarantine (gateway_id, received_at DESC) WHERE resolved_at IS NULL;

CREATE TABLE gateway_events (
  id           bigserial PRIMARY KEY,
  gateway_id   text NOT NULL,
  ts           timestamptz NOT NULL,
  kind         text NOT NULL,
  severity     text NOT NULL,
  meter_key    text,
  bus          text,
  message      text NOT NULL,
  data         jsonb,
  received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gateway_events_gw_idx ON gateway_events (gateway_id, ts DESC);
