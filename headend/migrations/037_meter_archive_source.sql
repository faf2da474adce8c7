-- Readings read back from a meter's own archive (a heat calculator's hourly/daily records, fetched by
-- the gateway for hours it could not poll live) are stored with source 'meter_archive': telemetry
-- from the meter, but of an interval, not of the moment of a poll. Version 1 like telemetry, so a
-- live reading and an archive record for the same (meter, quantity, time) are ONE row: whichever
-- came first stays, an equal value is a duplicate, a different one goes to quarantine
-- ('conflicting_value'), as for any telemetry (migrations/002).
--
-- The CHECK kept its first name when `readings` became `reading_rows` (migrations/028).
ALTER TABLE reading_rows DROP CONSTRAINT readings_source_check;
ALTER TABLE reading_rows ADD CONSTRAINT readings_source_check
  CHECK (source IN ('telemetry', 'meter_archive', 'resident', 'staff', 'import', 'estimate'));
