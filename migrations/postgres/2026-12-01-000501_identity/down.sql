ALTER TABLE staff_users DROP COLUMN deactivated_by_admin;
DROP INDEX outbox_recipient_idx;
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
UPDATE outbox SET status = 'dropped' WHERE status = 'suppressed';
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check CHECK (status IN ('pending', 'sent', 'dead', 'dropped'));
DROP TABLE mail_counts;
DROP TABLE mail_throttle;
DROP TABLE privacy_requests;
ALTER TABLE unsubscribe_tokens DROP COLUMN email;
ALTER TABLE businesses ADD COLUMN marketing_consent BOOLEAN NOT NULL DEFAULT FALSE, ADD COLUMN unsubscribed_at TIMESTAMP;
UPDATE businesses b SET marketing_consent = c.marketing_consent, unsubscribed_at = c.unsubscribed_at
FROM email_consents c WHERE c.email = b.email;
DROP TABLE email_consents;
ALTER TABLE registrations
    DROP COLUMN business_name_given,
    DROP COLUMN business_state_given,
    DROP COLUMN industry_given,
    DROP COLUMN employees_given,
    DROP COLUMN website_given;
