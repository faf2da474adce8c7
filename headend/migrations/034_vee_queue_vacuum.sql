-- vee_queue is a queue: every row is deleted soon after it is inserted. The validator takes the head
-- of vee_queue_order_idx (029), exactly where its own deletes leave dead entries, and with the default
-- autovacuum trigger (20 % of the table dead) a queue that held 100 000 rows is vacuumed only after
-- 20 000 more deletes: meanwhile each take walks over the dead head. Vacuum after a fixed number of
-- dead rows instead, whatever the queue's size. (The embedded engine has no autovacuum: a no-op there.)
ALTER TABLE vee_queue SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
                           autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 5000);
