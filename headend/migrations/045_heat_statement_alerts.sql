-- Heat statement alerts (src/heat/): a delivery through an exchange configuration that used up its
-- attempts ('heat_delivery_failed', subject 'heat-delivery:<config>:<building>:<YYYY-MM>'), and a
-- signed month whose statement now computes other totals than were signed ('heat_statement_outdated',
-- subject 'heat-statement:<building>:<YYYY-MM>').
ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check CHECK (kind IN ('imbalance', 'meter_silent', 'gateway_silent', 'policy_job', 'access_code_key', 'heat_delivery_failed', 'heat_statement_outdated'));

-- The outdated check's mark (src/heat/outdated.ts): when the current version's totals were last
-- compared with a recomputed statement (database time, like readings.received_at and
-- meter_archive_ns.created_at it is compared with). NULL: not compared since it was signed.
ALTER TABLE heat_statement_signoffs ADD COLUMN outdated_checked_at timestamptz;

-- A heat_statements configuration delivers the statements signed (or re-signed) at or after this
-- instant; NULL: since the configuration was created (src/heat/delivery.ts). The configurations made
-- before this rule existed were promised every signed statement: they keep that.
ALTER TABLE exchange_configs ADD COLUMN deliver_signed_since timestamptz;
UPDATE exchange_configs SET deliver_signed_since = '1970-01-01T00:00:00Z' WHERE direction = 'heat_statements';
