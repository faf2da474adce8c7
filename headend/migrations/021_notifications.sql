-- 021_notifications (issue 7): notifications of reading collection (src/reminders/).
--   staff: a digest of residents' submissions (audit rows action 'submit') to the staff of the building,
--          plus one webhook call per building;
--   residents: reminders on the collection_settings.reminder_days of the month that fall inside the
--          window (the window's first day: "opens"; later days: "closes in N days / today", only to
--          accounts with meters not yet submitted), and before a meter's verification date.
-- Every message is a row of notification_log with a unique dedup_key, written before it is sent, so a
-- rerun or a restart never plans it twice; delivery is at least once (retried until sent or failed).

-- Settings: the most specific row wins — the building's, then its organisation's, then the defaults row
-- (no organisation, no building). Resident reminders are off by default: an office turns them on once
-- residents' e-mail addresses are checked, not the day the head-end is upgraded.
CREATE TABLE notification_settings (
  id                        bigserial PRIMARY KEY,
  org_id                    bigint REFERENCES organisations (id),
  building_id               bigint REFERENCES buildings (id),
  enabled                   boolean NOT NULL DEFAULT true,              -- master switch of this scope
  staff_digest              boolean NOT NULL DEFAULT true,
  resident_reminders        boolean NOT NULL DEFAULT false,
  verification_days_before  int NOT NULL DEFAULT 30 CHECK (verification_days_before BETWEEN 0 AND 365),
  reminder_hour             int NOT NULL DEFAULT 10 CHECK (reminder_hour BETWEEN 0 AND 23),  -- local hour from which the day's reminders go out
  digest_minutes            int NOT NULL DEFAULT 5 CHECK (digest_minutes BETWEEN 1 AND 1440), -- at most one digest per building this often
  webhook_url               text,
  updated_at                timestamptz NOT NULL DEFAULT now(),
  CHECK (org_id IS NULL OR building_id IS NULL)
);
CREATE UNIQUE INDEX notification_settings_scope_key ON notification_settings (coalesce(org_id, 0), coalesce(building_id, 0));
INSERT INTO notification_settings (org_id, building_id) VALUES (NULL, NULL);

-- One row per message (an e-mail to one address, or one webhook call). building_ids: the buildings it
-- speaks of (a staff digest may cover several), for scoping the log to what a user sees.
CREATE TABLE notification_log (
  id            bigserial PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('submissions', 'window_open', 'window_due', 'verification', 'reminders')),
  channel       text NOT NULL CHECK (channel IN ('email', 'webhook')),
  building_ids  bigint[] NOT NULL DEFAULT '{}',
  account_id    bigint REFERENCES personal_accounts (id),
  user_id       bigint REFERENCES users (id),
  meter_id      bigint REFERENCES meters (id),
  recipient     text NOT NULL,                -- e-mail address, or the webhook URL without its password
  subject       text NOT NULL,
  body          text NOT NULL,                -- the e-mail text, or the webhook's JSON body
  dedup_key     text NOT NULL UNIQUE,
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts      int NOT NULL DEFAULT 0,
  last_error    text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  sent_at       timestamptz
);
CREATE INDEX notification_log_created_idx ON notification_log (created_at DESC);
CREATE INDEX notification_log_pending_idx ON notification_log (created_at) WHERE status = 'pending';
CREATE INDEX notification_log_account_idx ON notification_log (account_id, created_at DESC) WHERE account_id IS NOT NULL;

-- The staff digest reads audit rows after a cursor. Audit ids are taken at insert, not at commit, so
-- a slow transaction can commit an id below one already seen: the cursor stays an hour behind and
-- every submission handled is recorded in notification_digest_items (primary key = its audit row), so
-- the rows between the cursor and now are re-read but never notified twice.
-- Starts at the audit rows already there: an upgrade does not mail the whole history.
CREATE TABLE notification_cursors (
  name        text PRIMARY KEY,
  position    bigint NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO notification_cursors (name, position) SELECT 'submissions', coalesce(max(id), 0) FROM audit_log;

CREATE TABLE notification_digests (
  id          bigserial PRIMARY KEY,
  created_at  timestamptz NOT NULL DEFAULT now(),
  submissions int NOT NULL
);

CREATE TABLE notification_digest_items (
  audit_id    bigint PRIMARY KEY,
  building_id bigint NOT NULL REFERENCES buildings (id),
  digest_id   bigint REFERENCES notification_digests (id),   -- NULL when skipped
  status      text NOT NULL CHECK (status IN ('notified', 'skipped')),
  note        text,                                           -- why skipped
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_digest_items_building_idx ON notification_digest_items (building_id, created_at DESC) WHERE status = 'notified';
