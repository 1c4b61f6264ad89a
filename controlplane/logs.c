/* logs.c — batched writes of task log lines and task events, and log retention. */
#include "controlplane/logs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

struct logs {
    json_t *lines, *events;
    size_t max_pending, dropped;
};

struct logs *logs_new(size_t max_pending)
{
    struct logs *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->lines = json_array();
    l->events = json_array();
    l->max_pending = max_pending ? max_pending : 10000;
    return l;
}

void logs_free(struct logs *l)
{
    if (!l)
        return;
    json_decref(l->lines);
    json_decref(l->events);
    free(l);
}

static void append_bounded(struct logs *l, json_t *arr, json_t *row)
{
    if (!row)
        return;
    if (json_array_size(arr) >= l->max_pending) {
        json_array_remove(arr, 0);
        l->dropped++;
    }
    json_array_append_new(arr, row);
}

static const char *level_name(const char *level)
{
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    for (size_t i = 0; level && i < sizeof levels / sizeof levels[0]; i++)
        if (strcmp(level, levels[i]) == 0)
            return levels[i];
    return level && strcmp(level, "warning") == 0 ? "warn" : "info";
}

void logs_add_line(struct logs *l, const char *tenant_id, const char *kind, const char *resource_id,
                   const char *task_id, const char *level, int64_t wall_ms, const char *message)
{
    append_bounded(l, l->lines,
                   json_pack("{s:s, s:s, s:s, s:s, s:s, s:f, s:s?}", "tenant_id", tenant_id, "resource_kind", kind,
                             "resource_id", resource_id, "task_id", task_id, "level", level_name(level), "ts",
                             wall_ms / 1000.0, "message", message));
}

void logs_add_event(struct logs *l, const char *tenant_id, const char *kind, const char *resource_id,
                    const char *task_id, const char *event, const char *message, int restarts, int64_t wall_ms)
{
    append_bounded(l, l->events,
                   json_pack("{s:s, s:s, s:s, s:s?, s:s, s:{s:s, s:i}, s:f}", "tenant_id", tenant_id, "resource_kind",
                             kind, "resource_id", resource_id, "task_id", task_id, "event", event, "detail", "message",
                             message ? message : "", "restarts", restarts, "ts", wall_ms / 1000.0));
}

static int flush_one(json_t *arr, PGconn *conn, const char *sql, struct db_error *err)
{
    if (json_array_size(arr) == 0)
        return 0;
    char *text = json_dumps(arr, JSON_COMPACT);
    if (!text)
        return -1;
    const char *p[] = {text};
    int rc = db_exec(conn, sql, 1, p, err);
    free(text);
    if (rc == 0)
        json_array_clear(arr);
    return rc;
}

int logs_flush(struct logs *l, PGconn *conn, struct db_error *err)
{
    int rc = flush_one(l->events, conn,
                       "INSERT INTO task_events (tenant_id, task_id, resource_kind, resource_id,"
                       "                         event, detail, ts)"
                       " SELECT tenant_id, task_id, resource_kind, resource_id, event, detail,"
                       "        to_timestamp(ts)"
                       "   FROM json_to_recordset($1::json) AS j(tenant_id uuid, task_id uuid,"
                       "        resource_kind text, resource_id uuid, event text, detail jsonb,"
                       "        ts double precision)",
                       err);
    if (rc != 0)
        return rc;
    return flush_one(l->lines, conn,
                     "INSERT INTO task_logs (tenant_id, resource_kind, resource_id, task_id,"
                     "                       level, ts, message)"
                     " SELECT tenant_id, resource_kind, resource_id, task_id, level,"
                     "        to_timestamp(ts), message"
                     "   FROM json_to_recordset($1::json) AS j(tenant_id uuid,"
                     "        resource_kind text, resource_id uuid, task_id uuid, level text,"
                     "        ts double precision, message text)",
                     err);
}

long logs_retain(PGconn *conn, int retention_hours, int max_per_resource, struct db_error *err)
{
    char hours[16], keep[16];
    snprintf(hours, sizeof hours, "%d", retention_hours);
    snprintf(keep, sizeof keep, "%d", max_per_resource);
    const char *p[] = {hours, keep};
    PGresult *r = db_query(conn,
                           "WITH old AS (DELETE FROM task_logs"
                           "              WHERE ts < now() - make_interval(hours => $1::int)"
                           "              RETURNING 1),"
                           " ranked AS (SELECT id, row_number() OVER (PARTITION BY resource_kind,"
                           "                   resource_id ORDER BY id DESC) AS n FROM task_logs),"
                           " extra AS (DELETE FROM task_logs WHERE id IN"
                           "            (SELECT id FROM ranked WHERE n > $2::int) RETURNING 1)"
                           " SELECT (SELECT count(*) FROM old) + (SELECT count(*) FROM extra)",
                           2, p, err);
    if (!r)
        return -1;
    long n = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

size_t logs_pending(const struct logs *l) { return json_array_size(l->lines) + json_array_size(l->events); }

size_t logs_dropped(const struct logs *l) { return l->dropped; }
