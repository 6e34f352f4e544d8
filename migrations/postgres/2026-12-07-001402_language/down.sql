ALTER TABLE expert_bookings DROP COLUMN language;
ALTER TABLE registrations DROP COLUMN language;
