-- Validation (VEE) verdicts and engineers' reviews.
--
-- Every reading row (every version) is queued for validation by a trigger in the same transaction
-- that stores it, so nothing escapes validation however it arrived (telemetry, resident, staff,
-- import, estimate). The validator (src/validation) drains the queue in short batches, runs the pure
-- rules of src/vee over the meter's recent history and writes one verdict per reading row of the
-- meter's register quantity (energy_kwh for heat/electricity, volume_m3 for water).
-- A reading is never changed by validation: verdicts and reviews live beside it.

CREATE TABLE vee_queue (
  meter_id     bigint NOT NULL,
  time         timestamptz NOT NULL,
  enqueued_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (meter_id, time)
);

CREATE FUNCTION vee_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO vee_queue (meter_id, time) VALUES (NEW.meter_id, NEW.time) ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER readings_vee_enqueue AFTER INSERT ON readings FOR EACH ROW EXECUTE FUNCTION vee_enqueue();

-- One verdict per reading row (meter, quantity, time, version); re-validation replaces it
-- (verdicts are derived data; the reading itself and the reviews are what is kept for ever).
CREATE TABLE reading_validations (
  meter_id      bigint NOT NULL,
  quantity      text NOT NULL,
  time          timestamptz NOT NULL,
  version       int NOT NULL,
  status        text NOT NULL CHECK (status IN ('valid', 'suspect', 'invalid')),
  reasons       jsonb NOT NULL DEFAULT '[]',   -- [{code, status, message, details}] (src/vee/types.ts)
  validated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (meter_id, quantity, time, version)
);
CREATE INDEX reading_validations_flagged_idx ON reading_validations (meter_id, time DESC) WHERE status <> 'valid';

-- Engineers' decisions on a reading row: accept (use it despite the flags) or reject (leave it out of
-- consumption, imbalance and billing). Append-only; the latest decision per reading row counts.
-- A correction is not a review: it is a new reading version (readings.created_by/reason).
CREATE TABLE reading_reviews (
  id           bigserial PRIMARY KEY,
  meter_id     bigint NOT NULL REFERENCES meters(id),
  quantity     text NOT NULL,
  time         timestamptz NOT NULL,
  version      int NOT NULL,
  decision     text NOT NULL CHECK (decision IN ('accept', 'reject')),
  reason       text NOT NULL,
  reviewed_by  text NOT NULL,
  reviewed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reading_reviews_reading_idx ON reading_reviews (meter_id, quantity, time, version, reviewed_at DESC);
