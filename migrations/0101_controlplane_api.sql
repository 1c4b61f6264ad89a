-- 0101_controlplane_api.sql — cross-tenant reads for the api's operator usage endpoint and its
-- Prometheus /metrics, as SECURITY DEFINER functions (the api runs as sluice_app under RLS;
-- the operator endpoint checks the caller's role before calling).

CREATE FUNCTION sluice_operator_usage(from_ts timestamptz, to_ts timestamptz)
RETURNS TABLE (tenant_id uuid, tenant_name text, plan text, records_in bigint, records_out bigint,
               bytes_in bigint, bytes_out bigint, task_seconds double precision, errors bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT t.id, t.name, t.plan, coalesce(sum(u.records_in), 0)::bigint,
           coalesce(sum(u.records_out), 0)::bigint, coalesce(sum(u.bytes_in), 0)::bigint,
           coalesce(sum(u.bytes_out), 0)::bigint, coalesce(sum(u.task_seconds), 0),
           coalesce(sum(u.errors), 0)::bigint
      FROM tenants t LEFT JOIN usage u
        ON u.tenant_id = t.id AND u.minute >= from_ts AND u.minute < to_ts
     GROUP BY t.id, t.name, t.plan
     ORDER BY t.name
$$;

-- Gauges for /metrics: (metric, label value, value).
CREATE FUNCTION sluice_service_gauges()
RETURNS TABLE (metric text, label text, value double precision)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT 'tenants', '', count(*)::double precision FROM tenants
    UNION ALL
    SELECT 'pipelines', actual_state, count(*) FROM pipelines GROUP BY actual_state
    UNION ALL
    SELECT 'connections', actual_state, count(*) FROM connections GROUP BY actual_state
    UNION ALL
    SELECT 'tasks', state, count(*) FROM tasks GROUP BY state
    UNION ALL
    SELECT 'controlplane_nodes_alive', '', count(*) FROM cp_nodes
     WHERE heartbeat_at > now() - interval '30 seconds'
$$;

REVOKE ALL ON FUNCTION sluice_operator_usage(timestamptz, timestamptz), sluice_service_gauges()
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sluice_operator_usage(timestamptz, timestamptz), sluice_service_gauges()
    TO sluice_app;
