-- 0102_preview.sql — the uid a preview worker runs as. The api (sluice_app, under row-level
-- security, no access to cp_tenant_uids) starts previews in the workers' sandbox, as the
-- caller's tenant uid: this returns it, allocating it when the tenant has none yet, exactly as
-- the controlplane does for its workers (controlplane/reconcile.c: tenant_uid). Only the
-- caller's own tenant (sluice.tenant_id, set per request by the api) can be asked for.

CREATE FUNCTION sluice_preview_uid()
RETURNS int
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public AS $$
DECLARE
    tenant uuid := nullif(current_setting('sluice.tenant_id', true), '')::uuid;
    result int;
BEGIN
    IF tenant IS NULL THEN
        RAISE EXCEPTION 'sluice_preview_uid: no tenant in this transaction';
    END IF;
    INSERT INTO cp_tenant_uids (tenant_id) VALUES (tenant) ON CONFLICT DO NOTHING RETURNING uid INTO result;
    IF result IS NULL THEN
        SELECT uid INTO result FROM cp_tenant_uids WHERE tenant_id = tenant;
    END IF;
    RETURN result;
END
$$;

REVOKE ALL ON FUNCTION sluice_preview_uid() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sluice_preview_uid() TO sluice_app;
