-- An interval archive record whose values carry the other kind's names (a daily record under the
-- hourly `energy_delta_kwh`, an hourly one under `energy_day_kwh`) goes to quarantine whole: stored,
-- a day's heat would be read as an hour's, or hidden from the heat statement (src/ingest/writer.ts).
ALTER TABLE quarantine DROP CONSTRAINT quarantine_reason_check;
ALTER TABLE quarantine ADD CONSTRAINT quarantine_reason_check
  CHECK (reason IN ('unknown_gateway', 'unknown_meter', 'conflicting_value', 'implausible_time', 'archive_name_mismatch'));

