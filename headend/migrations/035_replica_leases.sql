-- Leases: work that exactly one head-end replica must do at a time (the policy watcher runs a stopped
-- TimescaleDB job itself: two replicas would run it twice, concurrently). A lease is a row held by one
-- replica until `expires_at`; the holder renews it each round, a crashed holder's lease simply expires
-- and another replica takes it. Times are the database's own, so replicas' clocks never disagree.
CREATE TABLE replica_leases (
  name       text PRIMARY KEY,
  holder     text NOT NULL,
  taken_at   timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
