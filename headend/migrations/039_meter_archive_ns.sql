-- Each record of a meter's own archive (a heat calculator's hourly or daily record, ingest/writer.ts)
-- as a record: its kind, which end of its interval its instant names, the interval's length, the НС
-- (abnormal situation) codes the meter logged for it — by the register map's names, empty when the
-- interval was normal — and the (gateway, seq) that delivered it. The readings keep the record's
-- values (one row per quantity at the record's instant); only this table knows which instants are
-- records, of which kind, and with which НС: the monthly heat statement (src/heat/) reads both.
--
-- Written in the same transaction as the record's values, by the ingest writer only (the one path of
-- archive records). A record redelivered (a resumed back-fill, a re-read) adds nothing: the archive of
-- a meter does not change once written, so the first delivery stays (ON CONFLICT DO NOTHING).
CREATE TABLE meter_archive_ns (
  meter_id    bigint NOT NULL REFERENCES meters(id),
  time        timestamptz NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('hourly', 'daily')),
  stamp       text NOT NULL CHECK (stamp IN ('start', 'end')),
  seconds     int NOT NULL CHECK (seconds > 0),
  codes       text[] NOT NULL DEFAULT '{}',
  gateway_id  text,
  seq         bigint,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (meter_id, time, kind)
);

-- The sign-off of a building's monthly heat statement (src/heat/): who handed it over and when, once
-- per building and month (a second sign-off is refused), with the totals as they were signed, so a
-- later change of the month's records shows against what was handed to the heat supplier.
CREATE TABLE heat_statement_signoffs (
  building_id        bigint NOT NULL REFERENCES buildings(id),
  period             date NOT NULL CHECK (period = date_trunc('month', period)::date),
  meter_id           bigint NOT NULL REFERENCES meters(id),
  signed_by          text NOT NULL,
  signed_by_user_id  bigint,
  signed_at          timestamptz NOT NULL,
  totals             jsonb NOT NULL,
  -- The heat supplier's addresses (comma-separated) the signed statement is mailed to by the
  -- `heat.statements.send` job; NULL: not mailed. sent_at set once delivered; a failure is kept with
  -- its count, and retried by the next run until the attempts are used up.
  email_to           text,
  sent_at            timestamptz,
  send_attempts      int NOT NULL DEFAULT 0,
  send_error         text,
  PRIMARY KEY (building_id, period)
);
CREATE INDEX heat_statement_signoffs_unsent ON heat_statement_signoffs (signed_at) WHERE email_to IS NOT NULL AND sent_at IS NULL;
