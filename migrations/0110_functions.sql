-- 0110_functions.sql — user-defined functions (Lua) as tenant resources: /v1/functions.
--
-- A pipeline's SQL calls a function by name; the api checks a pipeline against the tenant's
-- functions, and the controlplane hands the worker every function whose name occurs in the SQL.
-- The source is kept as given; returns is its result type as SQL text ("BIGINT").
ALTER TABLE plans ADD COLUMN max_functions int NOT NULL DEFAULT 100;
UPDATE plans SET max_functions = CASE name WHEN 'free' THEN 20 WHEN 'team' THEN 200 ELSE 10000 END;

CREATE TABLE functions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name text NOT NULL,
    description text,
    language text NOT NULL DEFAULT 'lua' CHECK (language = 'lua'),
    returns text NOT NULL DEFAULT 'STRING',
    source text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version bigint NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, id)
);
CREATE INDEX functions_tenant_order ON functions (tenant_id, created_at, id);

ALTER TABLE functions ENABLE ROW LEVEL SECURITY;
ALTER TABLE functions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON functions USING (tenant_id = sluice_current_tenant())
    WITH CHECK (tenant_id = sluice_current_tenant());
DO $$ BEGIN
    EXECUTE format('CREATE POLICY migrator_all ON functions TO %I USING (true) WITH CHECK (true)', current_user);
END $$;
GRANT SELECT, INSERT, UPDATE, DELETE ON functions TO sluice_app;

-- the plan quota's count, kept as for the other resources (0104_api_throughput.sql)
CREATE TRIGGER sluice_count_resource AFTER INSERT OR DELETE ON functions
    FOR EACH ROW EXECUTE FUNCTION sluice_count_resource();
