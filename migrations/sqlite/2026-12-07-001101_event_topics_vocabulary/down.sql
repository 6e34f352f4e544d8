-- The mapping of free event topics onto the vocabulary cannot be undone (several words became one
-- term, the rest were dropped), and the table's shape did not change: nothing to do. A statement
-- all the same, as PostgreSQL answers a script of comments alone with an empty-query error.
SELECT 1;
