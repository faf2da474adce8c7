-- Imbalance (небаланс) of each building meter against the meters behind it, per resource and period.
--
-- Thresholds: a row with building_id NULL is the default for a resource; a building's own row wins.
-- Reports are derived data: recomputed (replaced) when late readings, corrections or reviews arrive;
-- each keeps the per-meter values and methods it was computed from so a number can be explained.

CREATE TABLE imbalance_thresholds (
  id             bigserial PRIMARY KEY,
  building_id    bigint REFERENCES buildings(id),       -- NULL = default for the resource
  resource       text NOT NULL CHECK (resource IN ('heat', 'hot_water', 'cold_water', 'wastewater', 'electricity', 'gas')),
  high_loss_pct  double precision NOT NULL DEFAULT 10,
  negative_pct   double precision NOT NULL DEFAULT 2 CHECK (negative_pct >= 0),
  min_coverage   double precision NOT NULL DEFAULT 0.8 CHECK (min_coverage BETWEEN 0 AND 1),
  updated_by     text,
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX imbalance_thresholds_uq ON imbalance_thresholds (COALESCE(building_id, 0), resource);

CREATE TABLE imbalance_reports (
  building_id            bigint NOT NULL REFERENCES buildings(id),
  resource               text NOT NULL,
  period_kind            text NOT NULL CHECK (period_kind IN ('month', 'day', 'hour')),
  period_start           timestamptz NOT NULL,
  period_end             timestamptz NOT NULL,
  building_consumption   double precision,          -- ОДПУ (NULL: not enough data)
  apartments_consumption double precision NOT NULL, -- Σ ИПУ
  other_consumption      double precision NOT NULL, -- common-area and non-residential meters
  imbalance              double precision,
  imbalance_pct          double precision,
  coverage               double precision NOT NULL, -- share of apartment meters with actual values
  apartments_total       int NOT NULL,
  apartments_actual      int NOT NULL,
  status                 text NOT NULL CHECK (status IN ('ok', 'high_loss', 'negative_imbalance', 'insufficient_data')),
  thresholds             jsonb NOT NULL,            -- the thresholds the status was judged by
  meters                 jsonb NOT NULL,            -- [{meterId, placement, consumption, method, flagged}]
  computed_at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (building_id, resource, period_kind, period_start),
  CHECK (period_end > period_start)
);
CREATE INDEX imbalance_reports_period_idx ON imbalance_reports (period_kind, period_start, status);
