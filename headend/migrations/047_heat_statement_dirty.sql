-- Signed heat statements whose inputs changed (src/heat/dirty.ts, src/heat/outdated.ts): every writer of
-- what a statement reads — a meter archive record (meter_archive_ns), a version of one of its values
-- (the readings bulk write, the single-row and batch version writers, a file import's switch), a review
-- of its heat amount — marks the meter's day (the building's local date of the changed instant) in the
-- same transaction. The outdated sweep reads only the marks whose month (or, for a mark on a month's
-- first day, the month before: an end-stamped record belongs to the day it started) is signed,
-- re-checks those months and removes the marks it took unless they were marked again meanwhile
-- (marked_at moved). A mark whose month is not signed is dropped once older than the sweep's margin.
CREATE TABLE heat_statement_dirty (
  meter_id   bigint NOT NULL,
  day        date NOT NULL,
  marked_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (meter_id, day)
);

-- The sweep's look-ups: the signed months of a marked meter, and the months not compared since signing.
CREATE INDEX heat_statement_signoffs_meter_idx ON heat_statement_signoffs (meter_id, period);
CREATE INDEX heat_statement_signoffs_unchecked_idx ON heat_statement_signoffs (signed_at, building_id) WHERE outdated_checked_at IS NULL;
