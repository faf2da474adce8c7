-- An interval archive record (a heat calculator's hourly or daily record, read back after a gap) dated
-- before the binding of the address it was read from began goes to quarantine: the device read now was
-- bound there only since then. After a replacement it is another device (a new calculator's earlier
-- records are not this address's measurements), after a registry correction the same: an engineer
-- decides (src/ingest/writer.ts beforeBinding).
ALTER TABLE quarantine DROP CONSTRAINT quarantine_reason_check;
ALTER TABLE quarantine ADD CONSTRAINT quarantine_reason_check
  CHECK (reason IN ('unknown_gateway', 'unknown_meter', 'conflicting_value', 'implausible_time', 'archive_name_mismatch', 'binding_changed'));
