-- A TimescaleDB policy job (aggregate refresh, compression, retention) that fails or stops running on
-- the server is an alert like a silent meter: kind 'policy_job', subject 'policy:<proc>:<table>' (the
-- policy and its hypertable or aggregate, not the job id, which a re-added policy changes). It has no
-- building, so only admins see it.
ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check CHECK (kind IN ('imbalance', 'meter_silent', 'gateway_silent', 'policy_job'));
