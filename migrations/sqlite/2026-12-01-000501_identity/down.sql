ALTER TABLE staff_users DROP COLUMN deactivated_by_admin;
DROP INDEX outbox_recipient_idx;
UPDATE outbox SET status = 'dropped' WHERE status = 'suppressed';
DROP TABLE mail_counts;
DROP TABLE mail_throttle;
DROP TABLE privacy_requests;
ALTER TABLE unsubscribe_tokens DROP COLUMN email;
ALTER TABLE businesses ADD COLUMN marketing_consent BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE businesses ADD COLUMN unsubscribed_at TIMESTAMP;
UPDATE businesses SET
    marketing_consent = COALESCE((SELECT c.marketing_consent FROM email_consents c WHERE c.email = businesses.email), FALSE),
    unsubscribed_at = (SELECT c.unsubscribed_at FROM email_consents c WHERE c.email = businesses.email);
DROP TABLE email_consents;
ALTER TABLE registrations DROP COLUMN business_name_given;
ALTER TABLE registrations DROP COLUMN business_state_given;
ALTER TABLE registrations DROP COLUMN industry_given;
ALTER TABLE registrations DROP COLUMN employees_given;
ALTER TABLE registrations DROP COLUMN website_given;
