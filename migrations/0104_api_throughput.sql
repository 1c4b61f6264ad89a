-- 0104_api_throughput.sql — what the api needs to answer quickly.
--
-- Each api process caches credential lookups for a few seconds (api/auth_cache.c). Whatever
-- changes what sluice_auth_lookup() would answer NOTIFYs the channel sluice_auth at commit, so
-- every process evicts within a second: the payload is the tenant id whose entries go, or '*'
-- (a plan changed: every entry goes). The triggers fire on the columns the lookup reads, so
-- last_used_at's updates stay quiet.
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

-- sluice_ts() was declared IMMUTABLE over to_char(), which is only STABLE: the planner would not
-- inline it, so every statement that renders a timestamp parsed and planned its body again per
-- call site (fmgr_sql). Declared STABLE, it is inlined into the query like the expression it is.
CREATE OR REPLACE FUNCTION sluice_ts(t timestamptz) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

-- Plan quotas read a tenant's count of streams, connections, pipelines and secrets on every
-- create. count(*) over the tenant's rows grew with them (a create cost more the more the tenant
-- had); triggers now keep the counts, and the quota check reads one row.
CREATE TABLE tenant_resource_counts (
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind text NOT NULL, -- the table: streams, connections, pipelines, secrets
    n bigint NOT NULL,
    PRIMARY KEY (tenant_id, kind)
);
ALTER TABLE tenant_resource_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_resource_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_resource_counts USING (tenant_id = sluice_current_tenant());
DO $$ BEGIN
    EXECUTE format('CREATE POLICY migrator_all ON tenant_resource_counts TO %I USING (true) WITH CHECK (true)',
                   current_user);
END $$;
GRANT SELECT ON tenant_resource_counts TO sluice_app;

-- Runs as the owner (the api may only read the counts).
CREATE FUNCTION sluice_count_resource() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tenant_resource_counts AS c (tenant_id, kind, n) VALUES (NEW.tenant_id, TG_TABLE_NAME, 1)
            ON CONFLICT (tenant_id, kind) DO UPDATE SET n = c.n + 1;
    ELSE
        UPDATE tenant_resource_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND kind = TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['streams', 'connections', 'pipelines', 'secrets'] LOOP
        EXECUTE format('CREATE TRIGGER sluice_count_resource AFTER INSERT OR DELETE ON %I '
                       'FOR EACH ROW EXECUTE FUNCTION sluice_count_resource()', t);
        EXECUTE format('INSERT INTO tenant_resource_counts (tenant_id, kind, n) '
                       'SELECT tenant_id, %L, count(*) FROM %I GROUP BY tenant_id', t, t);
    END LOOP;
END
$$;

-- How long a cached credential may be served: the seconds a login token has left before it
-- expires, NULL for anything else (API keys do not expire). The api caps a cache entry with it.
CREATE FUNCTION sluice_auth_seconds_left(credential_hash text) RETURNS double precision
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT extract(epoch FROM s.expires_at - now())::double precision
      FROM sessions s WHERE s.token_hash = credential_hash
$$;
REVOKE ALL ON FUNCTION sluice_auth_seconds_left(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sluice_auth_seconds_left(text) TO sluice_app;
