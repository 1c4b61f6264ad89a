-- 0100_controlplane.sql — what the controlplane adds to the schema: a desired state and restart
-- count per task row, one row per (resource, task index), the nodes, and a uid per tenant.
--
-- Task rows are the unit of work and of leasing: the reconciler creates one row per task index
-- of every pipeline or connection that should run, and a node claims a row by setting
-- lease_owner / lease_expires_at (SELECT ... FOR UPDATE SKIP LOCKED); a row whose lease has
-- expired is taken over by another node. desired = 'stopped' asks the owner to stop the worker
-- and delete the row.

ALTER TABLE tasks ADD COLUMN desired text NOT NULL DEFAULT 'running'
    CHECK (desired IN ('running', 'stopped'));
ALTER TABLE tasks ADD COLUMN restarts int NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN metrics jsonb;  -- totals and last-minute rates from the worker
ALTER TABLE tasks ADD CONSTRAINT tasks_resource_index UNIQUE (resource_kind, resource_id, task_index);
CREATE INDEX tasks_lease ON tasks (lease_expires_at);

-- One row per controlplane node, refreshed with its leases.
CREATE TABLE cp_nodes (
    id text PRIMARY KEY,
    hostname text NOT NULL,
    pid int NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    tasks int NOT NULL DEFAULT 0
);

-- The unprivileged uid (and gid) a tenant's workers run as when the controlplane is root.
CREATE SEQUENCE cp_tenant_uid_seq START 200000;
CREATE TABLE cp_tenant_uids (
    tenant_id uuid PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    uid int NOT NULL UNIQUE DEFAULT nextval('cp_tenant_uid_seq')
);
CREATE INDEX task_logs_ts ON task_logs (ts);
