-- The ingest batch writes readings set-based (src/readings/bulk-write.ts), so no per-row work may
-- remain on the hypertable that a batch can do once.
--
-- The foreign key readings.meter_id → meters was a row trigger: one look-up and KEY SHARE lock of the
-- meter per inserted row (15–20 % of a 1 000-row insert on a server). Its two guarantees now hold
-- differently:
--   * no reading of a meter that does not exist: the bulk writer locks the batch's distinct meters
--     FOR KEY SHARE in one statement (what the key did per row) and refuses the batch, naming the
--     missing ids, if one is gone; the other writers load the meter (loadMetersForWrite, the judged
--     import) in their transaction before writing it;
--   * no meter deleted under its readings: meters are never deleted (001: decommissioned instead), and
--     the trigger below refuses a DELETE of a meter that has readings, as the key's ON DELETE did.
-- The validation queue trigger (013/016/017) stays for the single-row writers; the bulk writer turns it
-- off in its transaction and queues its instants in one statement.
ALTER TABLE reading_rows DROP CONSTRAINT readings_meter_id_fkey;

CREATE FUNCTION meters_keep_readings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM reading_rows WHERE meter_id = OLD.id) THEN
    RAISE EXCEPTION 'meter % has readings and cannot be deleted; decommission it instead', OLD.id
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER meters_keep_readings BEFORE DELETE ON meters FOR EACH ROW EXECUTE FUNCTION meters_keep_readings();
