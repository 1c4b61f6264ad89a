-- 0140_pipeline_lookups.sql — which connections a pipeline reads as lookup joins' tables.
--
-- The api compiles a pipeline's SQL at its create and update; the tables of its lookup joins
-- (JOIN <postgres connection> FOR SYSTEM_TIME AS OF ...) are then written here, one row each.
-- A connection so read is not deleted, renamed, nor given another connector, table or stream
-- (409 conflict naming the pipeline): the answer comes from these rows, as a stream's use by a
-- connection comes from connections.stream_id. Deleting the pipeline deletes its rows.
CREATE TABLE pipeline_lookups (
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    pipeline_id uuid NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
    connection_id uuid NOT NULL REFERENCES connections(id),
    PRIMARY KEY (pipeline_id, connection_id)
);
CREATE INDEX pipeline_lookups_connection ON pipeline_lookups (connection_id);

ALTER TABLE pipeline_lookups ENABLE ROW LEVEL SECURITY;
ALTER TABLE pipeline_lookups FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pipeline_lookups USING (tenant_id = sluice_current_tenant())
    WITH CHECK (tenant_id = sluice_current_tenant());
DO $$ BEGIN
    EXECUTE format('CREATE POLICY migrator_all ON pipeline_lookups TO %I USING (true) WITH CHECK (true)', current_user);
END $$;
GRANT SELECT, INSERT, UPDATE, DELETE ON pipeline_lookups TO sluice_app;

-- The pipelines stored before: their lookups are what the api matched in their SQL until now
-- (the compile is C, not SQL): a postgres connection's name, maybe quoted, then FOR
-- SYSTEM_TIME, unless a stream of that name exists (the SQL then reads the stream). Names are
-- letters, digits, '_' and '-', so no pattern characters. The next update of such a pipeline
-- rewrites its rows from the compile.
INSERT INTO pipeline_lookups (tenant_id, pipeline_id, connection_id)
SELECT p.tenant_id, p.id, c.id
  FROM pipelines p JOIN connections c ON c.tenant_id = p.tenant_id
 WHERE c.connector = 'postgres'
   AND p.sql ~* ('(^|[^A-Za-z0-9_])[`"]?' || c.name || '[`"]?\s+FOR\s+SYSTEM_TIME')
   AND NOT EXISTS (SELECT 1 FROM streams s WHERE s.tenant_id = c.tenant_id AND lower(s.name) = lower(c.name));
