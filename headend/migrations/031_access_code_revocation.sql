-- Residents' access codes can be revoked by staff (a letter lost or handed to the wrong flat): the
-- code stops working at once, and the list of a building's accounts tells "revoked" from "expired".
ALTER TABLE resident_access_codes ADD COLUMN revoked_at timestamptz;
ALTER TABLE resident_access_codes ADD COLUMN revoked_by bigint REFERENCES users (id);
-- The latest code of each account (the access state a building's list shows).
CREATE INDEX resident_access_codes_latest_idx ON resident_access_codes (account_id, issued_at DESC, id DESC);
