-- The language a business registered or booked in (src/i18n): every email that follows uses it.
ALTER TABLE registrations ADD COLUMN language TEXT NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'es'));
ALTER TABLE expert_bookings ADD COLUMN language TEXT NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'es'));
