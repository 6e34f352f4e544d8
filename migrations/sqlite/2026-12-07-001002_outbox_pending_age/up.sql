-- The outbox stats' "oldest pending" (min(created_at) of pending rows): without an index of
-- pending rows in created_at order, the planner walks `outbox_created_idx` from the oldest row
-- and passes every sent email before the first pending one (60 ms on 100,000 sent emails).
-- Pending rows are few, so this index is small.
CREATE INDEX outbox_pending_created_idx ON outbox (created_at) WHERE status = 'pending';
