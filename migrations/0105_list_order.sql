-- 0105_list_order.sql — lists read a page in their order instead of sorting everything.
--
-- GET /v1/{streams,connections,pipelines,secrets} pages by (created_at, id) within the tenant.
-- The only indexes led with (tenant_id, name), so each page read and sorted all of the tenant's
-- rows, computing every row's output columns before the sort: with 10,000 pipelines a page of
-- 20 took tens of milliseconds. With these, a page reads its limit + 1 rows from the index.
CREATE INDEX streams_tenant_order ON streams (tenant_id, created_at, id);
CREATE INDEX connections_tenant_order ON connections (tenant_id, created_at, id);
CREATE INDEX pipelines_tenant_order ON pipelines (tenant_id, created_at, id);
CREATE INDEX secrets_tenant_order ON secrets (tenant_id, created_at, id);
