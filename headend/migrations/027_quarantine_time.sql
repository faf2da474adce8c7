-- Readings dated implausibly (more than the allowed skew after the head-end's clock, or before 2000)
-- go to quarantine instead of readings: stored, a reading from year 9999 would stay its meter's latest
-- for ever and silence the meter's no-data alerts (src/ingest/writer.ts).
ALTER TABLE quarantine DROP CONSTRAINT quarantine_reason_check;
ALTER TABLE quarantine ADD CONSTRAINT quarantine_reason_check
  CHECK (reason IN ('unknown_gateway', 'unknown_meter', 'conflicting_value', 'implausible_time'));
