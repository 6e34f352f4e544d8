DROP INDEX outbox_created_idx;
DROP INDEX outbox_listing_idx;
DROP INDEX outbox_registration_idx;
DROP TABLE unsubscribe_tokens;
