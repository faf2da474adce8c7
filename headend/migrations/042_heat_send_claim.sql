-- A signed heat statement being mailed is claimed until a deadline: overlapping runs of the send job
-- (the schedule and "run now", or two replicas) skip it while the claim holds; a run that died while
-- sending leaves a claim that expires, and the next run tries again.
ALTER TABLE heat_statement_signoffs ADD COLUMN sending_until timestamptz;
