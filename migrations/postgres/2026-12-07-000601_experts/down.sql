DROP INDEX idempotency_keys_booking_idx;
ALTER TABLE idempotency_keys DROP COLUMN booking_id;
DROP TABLE expert_booking_tokens;
DROP TABLE expert_bookings;
DROP TABLE expert_slots;
DROP TABLE expert_windows;
DROP TABLE expert_profiles;
