-- A signed heat statement's e-mail to the heat supplier that used up its attempts raises an alert
-- ('heat_mail_failed', subject 'heat-mail:<building>:<YYYY-MM>', src/heat/mail.ts), as an exchange
-- delivery does ('heat_delivery_failed'): nothing retries the mail after its last attempt.
ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check CHECK (kind IN ('imbalance', 'meter_silent', 'gateway_silent', 'policy_job', 'access_code_key', 'heat_delivery_failed', 'heat_mail_failed', 'heat_statement_outdated'));
