-- The per-row queue trigger (013/016) costs a PL/pgSQL call and an INSERT … ON CONFLICT per reading
-- row: on the embedded engine that made a 1 000-row insert about five times slower. The ingest writer
-- knows the instants it wrote, so it marks its transaction (amr.vee_bulk = on) and queues them in one
-- set-based statement; the trigger stays for every other writer (manual entry, corrections, estimates,
-- imports, SQL by hand), so nothing escapes validation.
DROP TRIGGER readings_vee_enqueue ON readings;
CREATE TRIGGER readings_vee_enqueue AFTER INSERT ON readings FOR EACH ROW
  WHEN (coalesce(current_setting('amr.vee_bulk', true), '') <> 'on')
  EXECUTE FUNCTION vee_enqueue();
