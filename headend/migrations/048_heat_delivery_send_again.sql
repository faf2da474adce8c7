-- "Send again" of a heat statement delivery whose attempts are used up (src/heat/delivery.ts
-- sendAgain): an engineer starts a fresh series of attempts for the signed version through the same
-- configuration. The row keeps which series it is on and who started the last one, when and why (the
-- audit journal has each, with the attempts and the last error the series before ended with).
ALTER TABLE heat_statement_deliveries ADD COLUMN series int NOT NULL DEFAULT 1;
ALTER TABLE heat_statement_deliveries ADD COLUMN resent_by text;
ALTER TABLE heat_statement_deliveries ADD COLUMN resent_at timestamptz;
ALTER TABLE heat_statement_deliveries ADD COLUMN resend_reason text;
