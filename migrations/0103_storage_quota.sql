-- 0103_storage_quota.sql — a per-tenant storage quota from the plan: the bytes of stream data
-- (the embedded log's segment files under <data-root>/tenants/<tenant>/streams/) a tenant may
-- hold. HTTP ingest answers 507 storage_quota_exceeded past it, and a task writing a stream
-- fails with that error as its last_error. NULL means no limit (an operator's own plans).
ALTER TABLE plans ADD COLUMN max_storage_bytes bigint CHECK (max_storage_bytes >= 0);

UPDATE plans SET max_storage_bytes = CASE name
    WHEN 'free' THEN 1::bigint << 30        -- 1 GiB
    WHEN 'team' THEN 100::bigint << 30      -- 100 GiB
    WHEN 'enterprise' THEN 10::bigint << 40 -- 10 TiB
END;
