-- Alerts: a threshold crossed (imbalance status), a meter or gateway silent too long. One open alert
-- per (kind, subject); it is cleared when the condition ends and can be acknowledged by an engineer.
-- Notifications (webhook, e-mail) are sent by a bullmq job and logged per channel and attempt.

CREATE TABLE alerts (
  id              bigserial PRIMARY KEY,
  kind            text NOT NULL CHECK (kind IN ('imbalance', 'meter_silent', 'gateway_silent')),
  subject         text NOT NULL,                 -- e.g. 'building:3:heat', 'meter:17', 'gateway:gw-1'
  building_id     bigint REFERENCES buildings(id),
  meter_id        bigint REFERENCES meters(id),
  gateway_id      text,
  resource        text,
  severity        text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  message         text NOT NULL,
  data            jsonb,
  raised_at       timestamptz NOT NULL DEFAULT now(),
  cleared_at      timestamptz,
  acknowledged_at timestamptz,
  acknowledged_by text
);
CREATE UNIQUE INDEX alerts_open_uq ON alerts (kind, subject) WHERE cleared_at IS NULL;
CREATE INDEX alerts_building_idx ON alerts (building_id, raised_at DESC);

CREATE TABLE alert_notifications (
  id          bigserial PRIMARY KEY,
  alert_id    bigint NOT NULL REFERENCES alerts(id),
  event       text NOT NULL CHECK (event IN ('raised', 'cleared')),
  channel     text NOT NULL CHECK (channel IN ('webhook', 'email')),
  target      text NOT NULL,                       -- URL (redacted) or e-mail address
  status      text NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
  attempts    int NOT NULL DEFAULT 0,
  last_error  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  sent_at     timestamptz
);
CREATE INDEX alert_notifications_alert_idx ON alert_notifications (alert_id);
