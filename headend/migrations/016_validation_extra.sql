-- The validator takes the oldest queue entries first (ORDER BY enqueued_at LIMIT n). Without this
-- index every batch sorts the whole queue, which under an ingest backlog is millions of rows.
CREATE INDEX vee_queue_enqueued_idx ON vee_queue (enqueued_at);

-- Nothing may escape validation, also with a pool of several connections (server mode). With 013's
-- ON CONFLICT DO NOTHING, a reading written while a validator batch holds that instant's queue row
-- (FOR UPDATE) finds the row, adds nothing, and the batch, whose snapshot could not see the new
-- reading, then deletes the entry: the reading would never be judged. DO UPDATE waits for the batch
-- to commit and then re-inserts the entry (or bumps it). Rows written by one transaction share now(),
-- so the WHERE keeps the other quantities of the same instant from rewriting the queue row.
CREATE OR REPLACE FUNCTION vee_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO vee_queue (meter_id, time) VALUES (NEW.meter_id, NEW.time)
  ON CONFLICT (meter_id, time) DO UPDATE SET enqueued_at = now() WHERE vee_queue.enqueued_at < now();
  RETURN NULL;
END $$;
