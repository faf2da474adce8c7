-- Imbalance reports whose inputs changed after they may have been computed: a reading stored for an
-- instant older than its meter's newest committed one (a late telemetry message, one re-sent out of
-- order) moves the bounds interpolated across it. The ingest writer marks the building × resource ×
-- period (src/imbalance/dirty.ts: one statement per batch, no row trigger); the imbalance job (or,
-- with jobs off, the head-end's own timer) recomputes each marked period and removes its mark —
-- unless it was marked again meanwhile (marked_at moved), which leaves it for the next round.
CREATE TABLE imbalance_dirty (
  building_id   bigint NOT NULL REFERENCES buildings(id),
  resource      text NOT NULL,
  period_kind   text NOT NULL CHECK (period_kind IN ('month', 'day', 'hour')),
  period_start  timestamptz NOT NULL,
  marked_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (building_id, resource, period_kind, period_start)
);
-- The drain takes the oldest marks first.
CREATE INDEX imbalance_dirty_marked_idx ON imbalance_dirty (marked_at);
