-- Users, sessions, API keys and access grants.
-- Passwords: scrypt (see src/auth/password.ts). Tokens and API keys: only a SHA-256 of the secret is
-- stored (they are 256-bit random, so a fast hash is enough and lookups stay indexable).
CREATE TABLE IF NOT EXISTS users (
  id            bigserial PRIMARY KEY,
  username      text NOT NULL,
  display_name  text,
  email         text,
  password_hash text NOT NULL,
  role          text NOT NULL CHECK (role IN ('admin', 'engineer', 'operator', 'billing', 'resident')),
  active        boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS users_username_key ON users (lower(username));

-- Staff see only the buildings granted to them (admins see all).
CREATE TABLE IF NOT EXISTS user_building_grants (
  user_id     bigint NOT NULL REFERENCES users (id),
  building_id bigint NOT NULL REFERENCES buildings (id),
  granted_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, building_id)
);

-- A resident user is bound to personal accounts (and through them to premises); binding is done by staff.
CREATE TABLE IF NOT EXISTS user_accounts (
  user_id             bigint NOT NULL REFERENCES users (id),
  personal_account_id bigint NOT NULL REFERENCES personal_accounts (id),
  bound_at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, personal_account_id)
);

CREATE TABLE IF NOT EXISTS auth_tokens (
  id           bigserial PRIMARY KEY,
  user_id      bigint NOT NULL REFERENCES users (id),
  token_hash   text NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  revoked_at   timestamptz,
  last_used_at timestamptz,
  user_agent   text
);
CREATE INDEX IF NOT EXISTS auth_tokens_user_idx ON auth_tokens (user_id);

-- Billing department keys, scoped to one organisation (used by the billing feed).
CREATE TABLE IF NOT EXISTS api_keys (
  id              bigserial PRIMARY KEY,
  organisation_id bigint NOT NULL REFERENCES organisations (id),
  name            text NOT NULL,
  key_prefix      text NOT NULL,
  key_hash        text NOT NULL UNIQUE,
  role            text NOT NULL DEFAULT 'billing' CHECK (role IN ('billing')),
  created_by      bigint REFERENCES users (id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz,
  revoked_at      timestamptz,
  last_used_at    timestamptz
);
