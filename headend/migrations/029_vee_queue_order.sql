-- The validator takes the queue's oldest entries with ties by meter and time (one transaction — an
-- import's settling, a telemetry batch — enqueues many rows at one instant), so that a batch takes a
-- meter's instants in order and each is judged once. Ordered by an index on all three, the look-up
-- stays a short index walk however deep the queue is after a large import, instead of sorting the
-- whole group of equal enqueued_at.
CREATE INDEX vee_queue_order_idx ON vee_queue (enqueued_at, meter_id, time);
DROP INDEX vee_queue_enqueued_idx;
