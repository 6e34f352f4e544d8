ALTER TABLE events DROP COLUMN description_es;
ALTER TABLE events DROP COLUMN title_es;
