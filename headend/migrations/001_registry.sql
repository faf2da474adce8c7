-- Registry: who owns what, where the meters are, and how gateways address them.
-- Ids are bigserial; every table has created_at/updated_at so the API can show and audit changes.
-- Nothing a reading refers to is ever deleted: accounts and meters are deactivated/decommissioned.

CREATE TABLE organisations (
  id          bigserial PRIMARY KEY,
  name        text NOT NULL,
  inn         text,                      -- taxpayer id (ИНН), optional
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE buildings (
  id             bigserial PRIMARY KEY,
  org_id         bigint NOT NULL REFERENCES organisations(id),
  external_id    text,                   -- id in the customer's system (e.g. FIAS/GUID or billing code)
  address        text NOT NULL,
  city           text,
  fias_id        text,
  year_built     int,
  floors         int,
  total_area_m2  numeric(12,2),
  common_area_m2 numeric(12,2),
  timezone       text NOT NULL DEFAULT 'Europe/Moscow',
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, external_id)
);
CREATE INDEX buildings_org_idx ON buildings (org_id);

CREATE TABLE premises (
  id            bigserial PRIMARY KEY,
  building_id   bigint NOT NULL REFERENCES buildings(id),
  number        text NOT NULL,           -- "12", "12А", "Н-1"
  kind          text NOT NULL DEFAULT 'residential' CHECK (kind IN ('residential', 'non_residential')),
  floor         int,
  entrance      text,
  area_m2       numeric(10,2) CHECK (area_m2 IS NULL OR area_m2 >= 0),
  residents     int NOT NULL DEFAULT 0 CHECK (residents >= 0),  -- registered residents (for norms)
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (building_id, number)
);

CREATE TABLE personal_accounts (
  id            bigserial PRIMARY KEY,
  org_id        bigint NOT NULL REFERENCES organisations(id),
  number        text NOT NULL,           -- лицевой счёт, unique within the organisation
  premise_id    bigint NOT NULL REFERENCES premises(id),
  holder_name   text,
  share         numeric(5,4) NOT NULL DEFAULT 1 CHECK (share > 0 AND share <= 1),
  active        boolean NOT NULL DEFAULT true,
  opened_on     date,
  closed_on     date,                    -- set with active = false; rows are never deleted
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, number)
);
CREATE INDEX personal_accounts_premise_idx ON personal_accounts (premise_id);

CREATE TABLE residents (
  id            bigserial PRIMARY KEY,
  account_id    bigint NOT NULL REFERENCES personal_accounts(id),
  full_name     text NOT NULL,
  phone         text,
  email         text,
  registered    boolean NOT NULL DEFAULT true,  -- counted for norms
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX residents_account_idx ON residents (account_id);

-- One table for all meters. `placement` says where it is and which owner column is set:
--   apartment        ИПУ, premise_id (residential premise)
--   non_residential  meter of a non-residential premise, premise_id
--   building         ОДПУ (общедомовой), building_id
--   common_area      common-area consumer (stairwell lighting, ...), building_id
-- building_id is always filled (denormalised for the premise kinds) so per-building queries need no join.
CREATE TABLE meters (
  id                       bigserial PRIMARY KEY,
  placement                text NOT NULL CHECK (placement IN ('apartment', 'non_residential', 'building', 'common_area')),
  building_id              bigint NOT NULL REFERENCES buildings(id),
  premise_id               bigint REFERENCES premises(id),
  resource                 text NOT NULL CHECK (resource IN ('heat', 'hot_water', 'cold_water', 'wastewater', 'electricity', 'gas')),
  identifier               text,         -- the organisation's own meter number / label
  make                     text NOT NULL DEFAULT '',
  model                    text,
  serial_number            text NOT NULL,
  register_digits          int CHECK (register_digits IS NULL OR register_digits BETWEEN 1 AND 15),
  register_decimals        int CHECK (register_decimals IS NULL OR register_decimals BETWEEN 0 AND 6),
  zones                    int NOT NULL DEFAULT 1 CHECK (zones BETWEEN 1 AND 4),  -- electricity tariff zones
  unit                     text,
  commissioned_on          date,
  verification_interval_years int CHECK (verification_interval_years IS NULL OR verification_interval_years > 0),
  last_verified_on         date,
  next_verification_on     date,
  status                   text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'failed', 'removed')),
  decommissioned_on        date,
  -- ОДПУ extras (NULL for ИПУ)
  place                    text,         -- where installed (ИТП, basement, ...)
  installed_on             date,
  sealed_on                date,
  antimagnetic_seal        boolean,
  has_temperature_sensors  boolean,
  has_pressure_sensors     boolean,
  remote_reading           boolean NOT NULL DEFAULT false,
  notes                    text,
  last_seen_at             timestamptz,  -- last telemetry committed for this meter
  created_at               timestamptz NOT NULL DEFAULT now(),
  updated_at               timestamptz NOT NULL DEFAULT now(),
  UNIQUE (make, serial_number),
  CHECK ((placement IN ('apartment', 'non_residential')) = (premise_id IS NOT NULL))
);
CREATE INDEX meters_building_idx ON meters (building_id, resource);
CREATE INDEX meters_premise_idx ON meters (premise_id) WHERE premise_id IS NOT NULL;

-- Replacement history: the old meter's final reading and the new one's first reading, so
-- consumption across the swap is counted without a fake rollover.
CREATE TABLE meter_replacements (
  id                    bigserial PRIMARY KEY,
  old_meter_id          bigint NOT NULL REFERENCES meters(id),
  new_meter_id          bigint NOT NULL REFERENCES meters(id),
  replaced_at           timestamptz NOT NULL,
  removal_reading       double precision,
  installation_reading  double precision,
  work_order            text,
  reason                text,
  created_by            text,
  created_at            timestamptz NOT NULL DEFAULT now(),
  CHECK (old_meter_id <> new_meter_id),
  UNIQUE (old_meter_id)
);
CREATE INDEX meter_replacements_new_idx ON meter_replacements (new_meter_id);

CREATE TABLE gateways (
  id               text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),  -- = MQTT username
  name             text,
  building_id      bigint REFERENCES buildings(id),
  credential_hash  text,                 -- scrypt$N$r$p$salt$hash (see src/broker/credentials.ts); NULL = cannot connect
  status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  online           boolean NOT NULL DEFAULT false,
  last_seen_at     timestamptz,
  last_status      jsonb,                -- last birth/LWT payload (software, outboxDepth, ...)
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- (gateway, bus, address) → meter, with validity so a re-wired address keeps its history.
CREATE TABLE bindings (
  id           bigserial PRIMARY KEY,
  gateway_id   text NOT NULL REFERENCES gateways(id),
  bus          text NOT NULL,
  address      text NOT NULL,
  meter_id     bigint NOT NULL REFERENCES meters(id),
  valid_from   timestamptz NOT NULL DEFAULT '-infinity',
  valid_to     timestamptz,              -- NULL = current
  created_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX bindings_lookup_idx ON bindings (gateway_id, bus, address, valid_from);
-- At most one current binding per address.
CREATE UNIQUE INDEX bindings_current_uq ON bindings (gateway_id, bus, address) WHERE valid_to IS NULL;
