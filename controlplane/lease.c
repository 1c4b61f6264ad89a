/* lease.c — claiming, renewing and releasing task rows with leases (FOR UPDATE SKIP LOCKED). */
#include "controlplane/lease.h"

#include <stdio.h>
#include <unistd.h>

PGresult *lease_claim(PGconn *conn, const char *node, int lease_seconds, int max, struct db_error *err)
{
    char secs[16], limit[16];
    snprintf(secs, sizeof secs, "%d", lease_seconds);
    snprintf(limit, sizeof limit, "%d", max);
    const char *p[] = {node, secs, limit};
    return db_query(conn,
                    "UPDATE tasks SET lease_owner = $1, node = $1,"
                    "       lease_expires_at = now() + make_interval(secs => $2::int),"
                    "       state = CASE WHEN state IN ('failed', 'completed') THEN state"
                    "                    ELSE 'starting' END, updated_at = now()"
                    " WHERE id IN (SELECT id FROM tasks"
                    "               WHERE desired = 'running'"
                    "                 AND state NOT IN ('failed', 'completed')"
                    "                 AND (lease_owner IS NULL OR lease_expires_at < now())"
                    "               ORDER BY created_at LIMIT $3::int"
                    "               FOR UPDATE SKIP LOCKED)"
                    " RETURNING id, tenant_id, resource_kind, resource_id, task_index,"
                    "           generation, desired",
                    3, p, err);
}

PGresult *lease_renew(PGconn *conn, const char *node, int lease_seconds, struct db_error *err)
{
    char secs[16];
    snprintf(secs, sizeof secs, "%d", lease_seconds);
    const char *p[] = {node, secs};
    return db_query(conn,
                    "UPDATE tasks SET lease_expires_at = now() + make_interval(secs => $2::int)"
                    " WHERE lease_owner = $1 RETURNING id, desired, generation, state, tenant_id,"
                    "           resource_kind, resource_id, task_index",
                    2, p, err);
}

int lease_release_all(PGconn *conn, const char *node, struct db_error *err)
{
    const char *p[] = {node};
    return db_exec(conn,
                   "UPDATE tasks SET lease_owner = NULL, lease_expires_at = NULL, pid = NULL,"
                   "       state = CASE WHEN state IN ('failed', 'completed') THEN state"
                   "                    ELSE 'pending' END"
                   " WHERE lease_owner = $1",
                   1, p, err);
}

int lease_node_heartbeat(PGconn *conn, const char *node, int tasks, struct db_error *err)
{
    char host[256] = "", pid[16], n[16];
    gethostname(host, sizeof host - 1);
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    snprintf(n, sizeof n, "%d", tasks);
    const char *p[] = {node, host, pid, n};
    return db_exec(conn,
                   "INSERT INTO cp_nodes (id, hostname, pid, tasks) VALUES ($1, $2, $3::int, $4::int)"
                   " ON CONFLICT (id) DO UPDATE SET hostname = EXCLUDED.hostname,"
                   "   pid = EXCLUDED.pid, tasks = EXCLUDED.tasks, heartbeat_at = now()",
                   4, p, err);
}
