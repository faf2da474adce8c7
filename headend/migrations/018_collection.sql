-- Reading collection (issue 7): settings per building and resource, residents' one-time access codes,
-- and residents' own labels for their meters.

-- Settings: the most specific row wins — (building, resource), then (building, any resource),
-- then (no building, resource), then the defaults row (no building, no resource).
CREATE TABLE collection_settings (
  id                          bigserial PRIMARY KEY,
  building_id                 bigint REFERENCES buildings (id),
  resource                    text CHECK (resource IS NULL OR resource IN ('heat', 'hot_water', 'cold_water', 'wastewater', 'electricity', 'gas')),
  enabled                     boolean NOT NULL DEFAULT true,
  window_start_day            int NOT NULL DEFAULT 15 CHECK (window_start_day BETWEEN 1 AND 31),
  window_end_day              int NOT NULL DEFAULT 25 CHECK (window_end_day BETWEEN 1 AND 31),
  integer_only                boolean NOT NULL DEFAULT false,
  accept_expired_verification boolean NOT NULL DEFAULT false,
  reminder_days               int[] NOT NULL DEFAULT '{15,25}',
  warn_factor                 double precision NOT NULL DEFAULT 3 CHECK (warn_factor > 1),
  updated_at                  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX collection_settings_scope_key ON collection_settings (coalesce(building_id, 0), coalesce(resource, ''));
INSERT INTO collection_settings (building_id, resource) VALUES (NULL, NULL);

-- A one-time code staff hand to a resident to sign in bound to one personal account. Only a scrypt
-- hash is kept; a code is spent on first use (used_at) and a new one expires the older ones.
CREATE TABLE resident_access_codes (
  id          bigserial PRIMARY KEY,
  account_id  bigint NOT NULL REFERENCES personal_accounts (id),
  code_hash   text NOT NULL,
  issued_by   bigint REFERENCES users (id),
  issued_at   timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  used_by     bigint REFERENCES users (id)
);
CREATE INDEX resident_access_codes_account_idx ON resident_access_codes (account_id) WHERE used_at IS NULL;

-- A resident's own name for a meter ("kitchen cold"); staff never see it.
CREATE TABLE resident_meter_labels (
  user_id    bigint NOT NULL REFERENCES users (id),
  meter_id   bigint NOT NULL REFERENCES meters (id),
  label      text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, meter_id)
);
