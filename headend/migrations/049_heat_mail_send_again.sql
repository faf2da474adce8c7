-- "Send again" of a signed heat statement's e-mail whose attempts are used up (src/heat/mail.ts
-- sendMailAgain): an engineer starts a fresh series of attempts for the current version. The sign-off
-- keeps which series its mail is on and who started the last one, when and why (the audit journal has
-- each, with the attempts and the last error the series before ended with). A month signed again
-- (a corrected version) starts its mail over at series 1.
ALTER TABLE heat_statement_signoffs ADD COLUMN send_series int NOT NULL DEFAULT 1;
ALTER TABLE heat_statement_signoffs ADD COLUMN resent_by text;
ALTER TABLE heat_statement_signoffs ADD COLUMN resent_at timestamptz;
ALTER TABLE heat_statement_signoffs ADD COLUMN resend_reason text;
