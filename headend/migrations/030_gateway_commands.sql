-- 030_gateway_commands: commands the head-end sent to gateways over MQTT (src/commands/) and their replies.
-- One row per command, written before it is published (a crash between the two leaves a row that times
-- out, never a command that ran with no trace). The reply arrives on amr/v1/<gw>/reply/<name> with the
-- row's command_id and is stored whole; no reply by deadline_at = timed out. Who asked is in audit_log
-- too (action 'command', entity 'gateway'); requested_by here is for the list.
CREATE TABLE gateway_commands (
  id             bigserial PRIMARY KEY,
  -- the correlation id on the wire (random, so a gateway's reply cannot be matched to a guessed command)
  command_id     text NOT NULL UNIQUE CHECK (length(command_id) BETWEEN 1 AND 64),
  gateway_id     text NOT NULL REFERENCES gateways (id),
  name           text NOT NULL,
  args           jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- sent: waiting for the reply; ok / error: replied so; timed_out: no reply by deadline_at
  -- (a reply that comes later is still stored, with late = true, and the status stays timed_out).
  status         text NOT NULL DEFAULT 'sent' CHECK (status IN ('sent', 'ok', 'error', 'timed_out')),
  requested_by   jsonb NOT NULL,            -- {kind, id, name} of the actor
  sent_at        timestamptz NOT NULL DEFAULT now(),
  deadline_at    timestamptz NOT NULL,
  replied_at     timestamptz,
  late           boolean NOT NULL DEFAULT false,
  result         jsonb,
  error          text
);
CREATE INDEX gateway_commands_gateway_sent ON gateway_commands (gateway_id, sent_at DESC, id DESC);
-- the sweep that marks overdue commands timed out
CREATE INDEX gateway_commands_waiting ON gateway_commands (deadline_at) WHERE status = 'sent';
