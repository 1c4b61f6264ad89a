-- 0104_auth_notify.sql — each api process caches credential lookups for a few seconds
-- (api/auth_cache.c). Whatever changes what sluice_auth_lookup() would answer NOTIFYs the
-- channel sluice_auth at commit, so every process evicts within a second: the payload is the
-- tenant id whose entries go, or '*' (a plan changed: every entry goes). The triggers fire on
-- the columns the lookup reads, so last_used_at's updates stay quiet.
CREATE FUNCTION sluice_auth_notify() RETURNS trigger
LANGUAGE plpgsql SET search_path = public AS $$
BEGIN
    IF TG_TABLE_NAME = 'plans' THEN
        PERFORM pg_notify('sluice_auth', '*');
    ELSIF TG_TABLE_NAME = 'tenants' THEN
        PERFORM pg_notify('sluice_auth', OLD.id::text);
    ELSE
        PERFORM pg_notify('sluice_auth', OLD.tenant_id::text);
        IF TG_OP = 'UPDATE' AND NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN
            PERFORM pg_notify('sluice_auth', NEW.tenant_id::text);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER sluice_auth_notify AFTER UPDATE OF key_hash, revoked_at, user_id, tenant_id OR DELETE
    ON api_keys FOR EACH ROW EXECUTE FUNCTION sluice_auth_notify();
CREATE TRIGGER sluice_auth_notify AFTER UPDATE OF token_hash, revoked_at, expires_at, user_id, tenant_id OR DELETE
    ON sessions FOR EACH ROW EXECUTE FUNCTION sluice_auth_notify();
CREATE TRIGGER sluice_auth_notify AFTER UPDATE OF role, tenant_id OR DELETE
    ON users FOR EACH ROW EXECUTE FUNCTION sluice_auth_notify();
CREATE TRIGGER sluice_auth_notify AFTER UPDATE OF plan OR DELETE
    ON tenants FOR EACH ROW EXECUTE FUNCTION sluice_auth_notify();
CREATE TRIGGER sluice_auth_notify AFTER UPDATE OR DELETE
    ON plans FOR EACH STATEMENT EXECUTE FUNCTION sluice_auth_notify();
