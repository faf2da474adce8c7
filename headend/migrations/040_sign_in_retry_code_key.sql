-- A resident's sign-in whose answer was lost (a phone without signal) may be retried with the same
-- code: the page sends a random attempt key with each code entry, the spent code keeps a hash of it,
-- and the same code with the same key within a grace period opens a new session for the same account
-- (collection/sign-in.ts). Only the hash is kept: the key is a bearer secret while the grace lasts.
ALTER TABLE resident_access_codes ADD COLUMN attempt_key_hash text;

-- Which key hashed a keyed code (the fingerprint of the code key, collection/access.ts
-- codeKeyFingerprint; never the key): a replaced SECRETS_KEY makes exactly the codes of other
-- fingerprints stop working, and the head-end counts them at start-up. NULL: a scrypt code (no key),
-- or a keyed one issued before this column (the start-up check attributes it to the key last seen).
ALTER TABLE resident_access_codes ADD COLUMN key_fingerprint text;

-- Facts the head-end keeps about itself between starts, one row each (e.g. the fingerprint of the
-- access-code key it last started with).
CREATE TABLE headend_settings (
  name       text PRIMARY KEY,
  value      text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Codes that stopped working because the head-end started with another SECRETS_KEY: one alert,
-- without a building (admins see it), raised at start-up and cleared once no live code is left
-- under another key (the key restored, or the codes re-issued or expired).
ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check CHECK (kind IN ('imbalance', 'meter_silent', 'gateway_silent', 'policy_job', 'access_code_key'));
