-- 0001_init.sql — Sluice's schema: tenants and their resources, with row-level security.
--
-- Every tenant table has ENABLE + FORCE ROW LEVEL SECURITY and two policies:
--   tenant_isolation  rows of the tenant in the transaction setting sluice.tenant_id (all roles);
--   migrator_all      every row, for the role that ran this migration (the owner of the tables
--                     and of the SECURITY DEFINER functions; the controlplane connects as it).
-- The api connects, runs SET ROLE sluice_app (NOLOGIN, no BYPASSRLS) and sets the tenant per
-- transaction with set_config('sluice.tenant_id', $1, true).

-- Roles are the cluster's, not the database's: two databases of one cluster migrated at once
-- (two deployments, or tests side by side) may both find the role missing, and the second
-- CREATE ROLE (or GRANT) then fails on the unique index; it finds what the first one made.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sluice_app') THEN
        BEGIN
            CREATE ROLE sluice_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- made meanwhile by a migration of another database
        END;
    END IF;
    -- A non-superuser migrator must be a member to SET ROLE sluice_app.
    IF NOT pg_has_role(current_user, 'sluice_app', 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT sluice_app TO %I', current_user);
        EXCEPTION WHEN unique_violation THEN
            NULL; -- granted meanwhile by a migration of another database
        END;
    END IF;
END
$$;

CREATE FUNCTION sluice_current_tenant() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('sluice.tenant_id', true), '')::uuid $$;

-- RFC 3339 UTC text of a timestamp, as the API returns it.
CREATE FUNCTION sluice_ts(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

CREATE TABLE plans (
    name text PRIMARY KEY,
    max_streams int NOT NULL,
    max_connections int NOT NULL,
    max_pipelines int NOT NULL,
    max_tasks int NOT NULL,          -- sum of task_count over running resources
    max_secrets int NOT NULL,
    max_api_keys int NOT NULL,
    rate_per_second double precision NOT NULL,  -- token bucket refill
    rate_burst double precision NOT NULL,       -- token bucket size
    price_task_hour_cents int NOT NULL DEFAULT 0,
    price_gb_cents int NOT NULL DEFAULT 0
);
INSERT INTO plans VALUES
    ('free', 20, 20, 10, 10, 50, 10, 50, 100, 0, 0),
    ('team', 200, 200, 100, 100, 500, 50, 500, 1000, 10, 5),
    ('enterprise', 10000, 10000, 10000, 10000, 10000, 1000, 5000, 10000, 8, 4);

CREATE TABLE tenants (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL UNIQUE,
    plan text NOT NULL DEFAULT 'free' REFERENCES plans(name),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version bigint NOT NULL DEFAULT 1
);

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    role text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member', 'operator')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version bigint NOT NULL DEFAULT 1
);

CREATE TABLE api_keys (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id uuid REFERENCES users(id) ON DELETE SET NULL,
    name text NOT NULL,
    key_hash text NOT NULL UNIQUE,   -- hex SHA-256 of the whole key
    prefix text NOT NULL,            -- first characters, for people to recognise a key
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz,
    version bigint NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name)
);

CREATE TABLE sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash text NOT NULL UNIQUE, -- hex SHA-256 of the token
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);

-- value: nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes), AAD = tenant id text.
CREATE TABLE secrets (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name text NOT NULL,
    description text,
    value bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version bigint NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name)
);

CREATE TABLE streams (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name text NOT NULL,
    description text,
    partitions int NOT NULL DEFAULT 1,
    schema jsonb NOT NULL,   -- {"fields":[{"name","type"}],"watermark"?:{"field","delay_ms"}}
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version bigint NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, id)
);

CREATE TABLE connections (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name text NOT NULL,
    description text,
    connector text NOT NULL,
    type text NOT NULL CHECK (type IN ('source', 'sink')),
    stream_id uuid NOT NULL,
    properties jsonb NOT NULL DEFAULT '{}',    -- string values
    secret_refs jsonb NOT NULL DEFAULT '{}',   -- property -> secret name
    desired_state text NOT NULL DEFAULT 'stopped' CHECK (desired_state IN ('running', 'stopped')),
    actual_state text NOT NULL DEFAULT 'stopped'
        CHECK (actual_state IN ('stopped', 'starting', 'running', 'failed', 'completed', 'stopping')),
    task_count int NOT NULL DEFAULT 1,
    task_size text NOT NULL DEFAULT 'M' CHECK (task_size IN ('S', 'M', 'L')),
    generation bigint NOT NULL DEFAULT 1,
    observed_generation bigint NOT NULL DEFAULT 0,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version bigint NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id, stream_id) REFERENCES streams (tenant_id, id)
);

CREATE TABLE pipelines (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name text NOT NULL,
    description text,
    sql text NOT NULL,
    error_policy text NOT NULL DEFAULT 'fail' CHECK (error_policy IN ('fail', 'skip', 'dead_letter')),
    dead_letter_stream_id uuid,
    desired_state text NOT NULL DEFAULT 'stopped' CHECK (desired_state IN ('running', 'stopped')),
    actual_state text NOT NULL DEFAULT 'stopped'
        CHECK (actual_state IN ('stopped', 'starting', 'running', 'failed', 'completed', 'stopping')),
    task_count int NOT NULL DEFAULT 1,
    task_size text NOT NULL DEFAULT 'M' CHECK (task_size IN ('S', 'M', 'L')),
    generation bigint NOT NULL DEFAULT 1,
    observed_generation bigint NOT NULL DEFAULT 0,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version bigint NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id, dead_letter_stream_id) REFERENCES streams (tenant_id, id)
);

-- One row per running task of a pipeline or connection, written by the controlplane.
CREATE TABLE tasks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    resource_kind text NOT NULL CHECK (resource_kind IN ('pipeline', 'connection')),
    resource_id uuid NOT NULL,
    task_index int NOT NULL DEFAULT 0,
    generation bigint NOT NULL DEFAULT 0,
    state text NOT NULL DEFAULT 'starting',
    node text,
    pid int,
    lease_owner text,
    lease_expires_at timestamptz,
    sandbox jsonb,
    last_error text,
    started_at timestamptz,
    heartbeat_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_resource ON tasks (resource_kind, resource_id);

CREATE TABLE task_events (
    id bigserial PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    task_id uuid,
    resource_kind text NOT NULL,
    resource_id uuid NOT NULL,
    event text NOT NULL,
    detail jsonb,
    ts timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX task_events_resource ON task_events (resource_kind, resource_id, ts);

CREATE TABLE usage (
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    resource_kind text NOT NULL,
    resource_id uuid NOT NULL,
    minute timestamptz NOT NULL,
    records_in bigint NOT NULL DEFAULT 0,
    records_out bigint NOT NULL DEFAULT 0,
    bytes_in bigint NOT NULL DEFAULT 0,
    bytes_out bigint NOT NULL DEFAULT 0,
    task_seconds double precision NOT NULL DEFAULT 0,
    errors bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, resource_kind, resource_id, minute)
);

CREATE TABLE task_logs (
    id bigserial PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    resource_kind text NOT NULL,
    resource_id uuid NOT NULL,
    task_id uuid,
    level text NOT NULL DEFAULT 'info',
    ts timestamptz NOT NULL DEFAULT now(),
    message text NOT NULL
);
CREATE INDEX task_logs_resource ON task_logs (tenant_id, resource_kind, resource_id, id);

CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id uuid,
    api_key_id uuid,
    action text NOT NULL,          -- create | update | delete | activate | deactivate | revoke | signup | login
    resource_kind text NOT NULL,
    resource_id uuid,
    request_id text,
    detail jsonb,
    ts timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);

CREATE TABLE idempotency_keys (
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    key text NOT NULL,
    request_hash text NOT NULL,    -- hex SHA-256 of method, path and body
    status int NOT NULL,
    location text,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);

-- Row-level security and grants on every tenant table.
DO $$
DECLARE
    t text;
    col text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tenants', 'users', 'api_keys', 'sessions', 'secrets', 'streams',
                             'connections', 'pipelines', 'tasks', 'task_events', 'usage',
                             'task_logs', 'audit_log', 'idempotency_keys'] LOOP
        col := CASE WHEN t = 'tenants' THEN 'id' ELSE 'tenant_id' END;
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (%I = sluice_current_tenant()) '
                       'WITH CHECK (%I = sluice_current_tenant())', t, col, col);
        EXECUTE format('CREATE POLICY migrator_all ON %I TO %I USING (true) WITH CHECK (true)',
                       t, current_user);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO sluice_app', t);
    END LOOP;
END
$$;
GRANT SELECT ON plans TO sluice_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO sluice_app;
GRANT USAGE ON SCHEMA public TO sluice_app;

-- Lookups that cross tenants before the tenant is known: SECURITY DEFINER, owned by the migrator.

-- Who a bearer credential (hex SHA-256 of an API key or a login token) belongs to.
CREATE FUNCTION sluice_auth_lookup(credential_hash text)
RETURNS TABLE (tenant_id uuid, user_id uuid, api_key_id uuid, role text,
               rate_per_second double precision, rate_burst double precision)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT k.tenant_id, k.user_id, k.id, coalesce(u.role, 'admin'), p.rate_per_second, p.rate_burst
      FROM api_keys k JOIN tenants t ON t.id = k.tenant_id JOIN plans p ON p.name = t.plan
      LEFT JOIN users u ON u.id = k.user_id
     WHERE k.key_hash = credential_hash AND k.revoked_at IS NULL
    UNION ALL
    SELECT s.tenant_id, s.user_id, NULL, u.role, p.rate_per_second, p.rate_burst
      FROM sessions s JOIN users u ON u.id = s.user_id JOIN tenants t ON t.id = s.tenant_id
      JOIN plans p ON p.name = t.plan
     WHERE s.token_hash = credential_hash AND s.revoked_at IS NULL AND s.expires_at > now()
$$;

-- The user with this email, for password login.
CREATE FUNCTION sluice_login_lookup(login_email text)
RETURNS TABLE (tenant_id uuid, user_id uuid, password_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT u.tenant_id, u.id, u.password_hash FROM users u WHERE u.email = lower(login_email)
$$;

-- Whether a tenant name or an email is taken (signup answers 409 before creating anything).
CREATE FUNCTION sluice_signup_taken(tenant_name text, signup_email text)
RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT CASE WHEN EXISTS (SELECT 1 FROM tenants WHERE name = tenant_name) THEN 'tenant'
                WHEN EXISTS (SELECT 1 FROM users WHERE email = lower(signup_email)) THEN 'email'
           END
$$;

REVOKE ALL ON FUNCTION sluice_auth_lookup(text), sluice_login_lookup(text),
    sluice_signup_taken(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sluice_auth_lookup(text), sluice_login_lookup(text),
    sluice_signup_taken(text, text) TO sluice_app;
