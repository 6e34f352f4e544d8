-- An event's title and description in Spanish, when its organizers give them (the public pages and
-- the emails of a Spanish registration use them; absent, the English ones).
ALTER TABLE events ADD COLUMN title_es TEXT;
ALTER TABLE events ADD COLUMN description_es TEXT;
