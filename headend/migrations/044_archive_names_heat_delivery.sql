-- An interval archive record whose values carry the other kind's names (a daily record under the
-- hourly `energy_delta_kwh`, an hourly one under `energy_day_kwh`) goes to quarantine whole: stored,
-- a day's heat would be read as an hour's, or hidden from the heat statement (src/ingest/writer.ts).
ALTER TABLE quarantine DROP CONSTRAINT quarantine_reason_check;
ALTER TABLE quarantine ADD CONSTRAINT quarantine_reason_check
  CHECK (reason IN ('unknown_gateway', 'unknown_meter', 'conflicting_value', 'implausible_time', 'archive_name_mismatch'));

-- Signed heat statements delivered through the organisation's exchange (src/heat/delivery.ts): an
-- exchange configuration of direction 'heat_statements' writes each signed statement (PDF and XLSX)
-- to its transport (folder, FTP, SFTP) on its schedule.
ALTER TABLE exchange_configs DROP CONSTRAINT exchange_configs_direction_check;
ALTER TABLE exchange_configs ADD CONSTRAINT exchange_configs_direction_check CHECK (direction IN ('export', 'import', 'heat_statements'));

-- A month may be signed again when its statement changed since (a corrected statement): the row keeps
-- the current version; each replaced one stays here as it was signed (who, when, totals).
ALTER TABLE heat_statement_signoffs ADD COLUMN version int NOT NULL DEFAULT 1;
CREATE TABLE heat_statement_signoff_versions (
  building_id        bigint NOT NULL REFERENCES buildings(id),
  period             date NOT NULL,
  version            int NOT NULL,
  meter_id           bigint NOT NULL REFERENCES meters(id),
  signed_by          text NOT NULL,
  signed_by_user_id  bigint,
  signed_at          timestamptz NOT NULL,
  totals             jsonb NOT NULL,
  replaced_at        timestamptz NOT NULL,
  PRIMARY KEY (building_id, period, version)
);

-- One delivery of one version of a signed statement through one exchange configuration: claimed
-- until a deadline (overlapping runs deliver it once), its attempts, its outcome (the files written,
-- or the last error), and the run that delivered it. A failed one is retried by the next run.
CREATE TABLE heat_statement_deliveries (
  config_id     bigint NOT NULL REFERENCES exchange_configs(id),
  building_id   bigint NOT NULL REFERENCES buildings(id),
  period        date NOT NULL,
  version       int NOT NULL,
  attempts      int NOT NULL DEFAULT 0,
  claimed_until timestamptz,
  delivered_at  timestamptz,
  files         text[] NOT NULL DEFAULT '{}',
  error         text,
  run_id        bigint REFERENCES exchange_runs(id),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (config_id, building_id, period, version)
);
