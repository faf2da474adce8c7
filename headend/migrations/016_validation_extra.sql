-- The validator takes the oldest queue entries first (ORDER BY enqueued_at LIMIT n). Without this
-- index every batch sorts the whole queue, which under an ingest backlog is millions of rows.
CREATE INDEX vee_queue_enqueued_idx ON vee_queue (enqueued_at);
