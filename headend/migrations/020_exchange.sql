-- File exchange of readings (issue 7): scheduled XML export to / import from a folder, and the log
-- of every run. FTP/SFTP targets come later as other kinds of `folder`.
CREATE TABLE exchange_configs (
  id           bigserial PRIMARY KEY,
  org_id       bigint NOT NULL REFERENCES organisations(id),
  building_id  bigint REFERENCES buildings(id),      -- export: one building; NULL = the whole organisation
  direction    text NOT NULL CHECK (direction IN ('export', 'import')),
  folder       text NOT NULL,                        -- export: where files are written; import: the inbox
  cron         text NOT NULL,                        -- bullmq cron pattern (5 or 6 fields)
  period_days  int NOT NULL DEFAULT 1 CHECK (period_days BETWEEN 1 AND 366), -- export: readings of the last N days
  email_to     text,                                 -- optional report recipient(s)
  enabled      boolean NOT NULL DEFAULT true,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE exchange_runs (
  id           bigserial PRIMARY KEY,
  config_id    bigint NOT NULL REFERENCES exchange_configs(id),
  status       text NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
  message      text,
  counts       jsonb NOT NULL DEFAULT '{}',          -- files, readings written / read, ...
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);
CREATE INDEX exchange_runs_config_idx ON exchange_runs (config_id, started_at DESC);
