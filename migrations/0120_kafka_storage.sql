-- 0120_kafka_storage.sql — streams stored in Kafka (cluster mode) and the checkpoints of the
-- tasks over them.
--
-- A stream's storage is 'log' (the embedded log under the data root, the default) or 'kafka'
-- (the topic sluice-<tenant>-<stream> on the deployment's cluster, --kafka-bootstrap-servers);
-- it is fixed at creation.
--
-- task_checkpoints holds, for tasks whose streams are all Kafka-stored, the last checkpoint file
-- each task index of a pipeline or connection wrote (dataplane/checkpoint.h), copied by the
-- controlplane that runs it, so that another node with a data root of its own resumes there.
-- Only the controlplane (the owner role) reads and writes it; the api and workers never do.
ALTER TABLE streams ADD COLUMN storage text NOT NULL DEFAULT 'log' CHECK (storage IN ('log', 'kafka'));

CREATE TABLE task_checkpoints (
    resource_id uuid NOT NULL,
    task_index int NOT NULL,
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    seq bigint NOT NULL,  -- the checkpoint's sequence number: a copy never replaces a later one
    data bytea NOT NULL,  -- the checkpoint file's bytes
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (resource_id, task_index)
);

-- a deleted pipeline or connection takes its checkpoints along (the api deletes as sluice_app,
-- which has no rights on the table: the function runs as its owner)
CREATE FUNCTION sluice_drop_task_checkpoints() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public AS $$
BEGIN
    DELETE FROM task_checkpoints WHERE resource_id = OLD.id;
    RETURN OLD;
END $$;
CREATE TRIGGER sluice_drop_task_checkpoints AFTER DELETE ON pipelines
    FOR EACH ROW EXECUTE FUNCTION sluice_drop_task_checkpoints();
CREATE TRIGGER sluice_drop_task_checkpoints AFTER DELETE ON connections
    FOR EACH ROW EXECUTE FUNCTION sluice_drop_task_checkpoints();
