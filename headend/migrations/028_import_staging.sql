-- A file import's readings are staged where they will live, invisible until one tiny switch.
--
-- The embedded engine serves one connection: a 100 000-row import written in one transaction held it
-- for seconds (ingest, the API and jobs all waited). Now the import writes its judged rows in short
-- chunks straight into the hypertable, each row marked with its import; `readings` is a view that
-- hides the rows of every import not yet switched. The all-or-nothing commit is then ONE UPDATE of the
-- import's row (state 'staging' → 'switched'); a failed or abandoned import is 'failed' (still hidden)
-- and its rows are deleted in short chunks (at once, or on the next start after a crash).
--
-- Readers and writers keep using `readings` (a simple view: INSERT … RETURNING, ON CONFLICT and DELETE
-- go through to the hypertable). Only the import's own staging and clean-up, and TimescaleDB's policy
-- functions, name the hypertable `reading_rows`. The view's columns are fixed when it is created: a
-- later migration that adds a column to `reading_rows` re-creates the view.

ALTER TABLE readings RENAME TO reading_rows;
ALTER TABLE reading_rows ADD COLUMN import_id bigint;   -- NULL for every row not written by a file import

CREATE TABLE reading_imports (
  id           bigserial PRIMARY KEY,
  org_id       bigint NOT NULL REFERENCES organisations(id),
  file_name    text NOT NULL,
  created_by   text NOT NULL,
  state        text NOT NULL DEFAULT 'staging' CHECK (state IN ('staging', 'switched', 'failed')),
  -- Another writer wrote a reading of one of the import's meters after the import judged it: the
  -- judgement is stale, so the switch refuses (set by readings/write-store.ts for every other write).
  conflict     text,
  started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  switched_at  timestamptz,
  -- After the switch: the instants are queued for validation in chunks; NULL until that is done.
  settled_at   timestamptz,
  rows         int
);
-- The view's condition reads the unfinished imports only: normally none, so it costs a probe of an
-- empty hash for a row written by an import, and nothing for every other row.
CREATE INDEX reading_imports_unfinished_idx ON reading_imports (id) WHERE state <> 'switched';

-- The meters each unfinished import has staged rows for: where its rows are (clean-up, validation
-- queue) and which imports another write of a meter makes stale. Emptied when the import settles.
CREATE TABLE reading_import_meters (
  import_id  bigint NOT NULL REFERENCES reading_imports(id) ON DELETE CASCADE,
  meter_id   bigint NOT NULL,
  PRIMARY KEY (import_id, meter_id)
);
CREATE INDEX reading_import_meters_meter_idx ON reading_import_meters (meter_id);

CREATE VIEW readings AS
  SELECT * FROM reading_rows r
   WHERE r.import_id IS NULL OR r.import_id NOT IN (SELECT id FROM reading_imports WHERE state <> 'switched');
