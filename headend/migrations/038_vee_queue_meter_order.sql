-- The validator now takes the queue in its primary key's order, (meter, time), a sweep over the meters
-- from where its previous batch stopped (src/validation/load.ts takeQueue): a batch still takes a
-- meter's instants in time order (the successor it leaves behind is still queued and judged once, by
-- its own entry), and no meter waits longer than one sweep, however much another one has queued.
-- The index on (enqueued_at, meter_id, time) served only the old order, and every queued instant paid
-- for it: the ingest batch writes one queue row per instant, so it was the second index on the
-- hottest insert after the readings' own. enqueued_at stays for the backlog's age (a scan of the
-- queue at scrape time, as its count always was) and for ON CONFLICT DO UPDATE, which waits for a
-- validator batch holding the row instead of skipping it.
DROP INDEX vee_queue_order_idx;
