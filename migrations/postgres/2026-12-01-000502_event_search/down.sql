DROP INDEX events_search_idx;
