DELETE FROM privacy_requests WHERE kind = 'voucher';
ALTER TABLE privacy_requests DROP CONSTRAINT privacy_requests_kind_check;
ALTER TABLE privacy_requests ADD CONSTRAINT privacy_requests_kind_check
    CHECK (kind IN ('export', 'erase', 'update_business', 'marketing', 'links'));
DROP TABLE credit_ledger;
DROP FUNCTION credit_ledger_append_only();
DROP TABLE credit_grants;
DROP TABLE credit_reserves;
DROP TABLE credit_pool;
DROP INDEX businesses_site_key;
DROP INDEX businesses_name_key;
DROP INDEX businesses_ein;
ALTER TABLE businesses DROP COLUMN merged_into;
ALTER TABLE businesses DROP COLUMN site_key;
ALTER TABLE businesses DROP COLUMN name_key;
ALTER TABLE businesses DROP COLUMN ein;
