-- The API serves hour/day resolution from the continuous aggregates. Their refresh policies leave the
-- newest hour/day unmaterialised (end_offset), so without real-time aggregation a chart would miss
-- the readings that just arrived. Real-time mode unions the not-yet-materialised tail from raw rows.
ALTER MATERIALIZED VIEW readings_hourly SET (timescaledb.materialized_only = false);
ALTER MATERIALIZED VIEW readings_daily SET (timescaledb.materialized_only = false);
