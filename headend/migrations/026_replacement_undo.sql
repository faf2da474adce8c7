-- Meter replacement: undo of the last operation and corrections through the replacement.
--
-- A replacement row is never deleted. Undo marks it (undone_at/by/reason); the readings it wrote are
-- withdrawn by NULL-valued versions, and the meters get back the state kept in old_meter_before /
-- new_meter_before (NULL new_meter_before: the replacement created the new meter). A correction of
-- its removal/installation reading updates the row to the new values and keeps every earlier state
-- in meter_replacement_versions (who, when, why) — the row holds the current version, as a reading's
-- highest version is its current value.

ALTER TABLE meter_replacements
  ADD COLUMN quantity          text,
  ADD COLUMN version           int NOT NULL DEFAULT 1,
  ADD COLUMN new_meter_created boolean NOT NULL DEFAULT false,
  ADD COLUMN old_meter_before  jsonb,
  ADD COLUMN new_meter_before  jsonb,
  ADD COLUMN undone_at         timestamptz,
  ADD COLUMN undone_by         text,
  ADD COLUMN undo_reason       text;

-- quantity NULL: the resource's primary register (src/api/services/readings.ts primaryQuantity), which
-- is what every replacement before this migration wrote its readings to.

-- An undone replacement no longer removes its old meter, which may then be replaced again.
ALTER TABLE meter_replacements DROP CONSTRAINT meter_replacements_old_meter_id_key;
CREATE UNIQUE INDEX meter_replacements_old_live_idx ON meter_replacements (old_meter_id) WHERE undone_at IS NULL;

CREATE TABLE meter_replacement_versions (
  replacement_id        bigint NOT NULL REFERENCES meter_replacements(id),
  version               int NOT NULL CHECK (version >= 1),
  removal_reading       double precision,
  installation_reading  double precision,
  changed_by            text,
  changed_at            timestamptz NOT NULL DEFAULT now(),
  reason                text,
  PRIMARY KEY (replacement_id, version)
);
INSERT INTO meter_replacement_versions (replacement_id, version, removal_reading, installation_reading, changed_by, changed_at, reason)
  SELECT id, 1, removal_reading, installation_reading, created_by, created_at, reason FROM meter_replacements;
