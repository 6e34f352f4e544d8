DROP INDEX outbox_listing_idx;
CREATE INDEX outbox_listing_idx ON outbox (status, created_at, id);
DROP INDEX outbox_due_idx;
CREATE INDEX outbox_due_idx ON outbox (status, next_attempt_at);
ALTER TABLE outbox
    ADD CONSTRAINT outbox_registration_id_fkey FOREIGN KEY (registration_id) REFERENCES registrations (id),
    ADD CONSTRAINT outbox_business_id_fkey FOREIGN KEY (business_id) REFERENCES businesses (id),
    ADD CONSTRAINT outbox_event_id_fkey FOREIGN KEY (event_id) REFERENCES events (id);
ALTER TABLE outbox ADD CONSTRAINT outbox_message_id_key UNIQUE (message_id);
