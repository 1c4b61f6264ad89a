/* handlers_logs.c — logs (listed or followed as server-sent events), events and status of a
 * pipeline or connection. */
#include "api/handlers_logs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/query_args.h"
#include "common/log.h"

/* Minimum-level filter: each level and the levels at or above it. */
static const struct {
    const char *name, *at_least;
} log_levels[] = {
    {"debug", "{debug,info,warn,error}"},
    {"info", "{info,warn,error}"},
    {"warn", "{warn,error}"},
    {"error", "{error}"},
};

/* The resource exists in the caller's tenant (RLS applies). 0, or -1 with resp filled. */
static int resource_check(struct api_request *req, struct api_response *resp)
{
    const char *kind = req->route->data, *id = req->params.values[0];
    if (!api_is_uuid(id))
        return api_fail(resp, API_NOT_FOUND, NULL, "%s %s not found", kind, id);
    const char *p[] = {id};
    struct db_error err;
    PGresult *r = db_query(req->db,
                           strcmp(kind, "pipeline") == 0 ? "SELECT 1 FROM pipelines WHERE id = $1"
                                                         : "SELECT 1 FROM connections WHERE id = $1",
                           1, p, &err);
    if (!r)
        return api_fail_db(resp, &err);
    int found = PQntuples(r) == 1;
    PQclear(r);
    return found ? 0 : api_fail(resp, API_NOT_FOUND, NULL, "%s %s not found", kind, id);
}

/* ---- the log query, shared by list and follow ------------------------------------------- */

struct log_filter {
    char kind[16], resource_id[100], levels[40], task_id[100], contains[200];
    long long since_id;
    long limit;
};

static int filter_from_request(struct api_request *req, struct api_response *resp, struct log_filter *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->kind, sizeof f->kind, "%s", (const char *)req->route->data);
    snprintf(f->resource_id, sizeof f->resource_id, "%s", req->params.values[0]);
    const char *level = api_query(req, "level");
    size_t i, n = sizeof log_levels / sizeof log_levels[0];
    for (i = 0; i < n && strcmp(log_levels[i].name, level ? level : "debug") != 0; i++)
        ;
    if (i == n)
        return api_fail_field(resp, API_INVALID_REQUEST, "level", "level must be debug, info, warn or error");
    snprintf(f->levels, sizeof f->levels, "%s", log_levels[i].at_least);
    const char *task = api_query(req, "task_id");
    if (task && !api_is_uuid(task))
        return api_fail_field(resp, API_INVALID_REQUEST, "task_id", "task_id must be a task's id");
    snprintf(f->task_id, sizeof f->task_id, "%s", task ? task : "");
    const char *contains = api_query(req, "contains");
    if (contains && strlen(contains) >= sizeof f->contains)
        return api_fail_field(resp, API_INVALID_REQUEST, "contains", "contains is too long");
    snprintf(f->contains, sizeof f->contains, "%s", contains ? contains : "");
    long since;
    const char *last_event = api_header(req, "Last-Event-ID");
    if (query_args_long(req, resp, "since_id", last_event ? atol(last_event) : 0, 0, 0x7fffffffffffffffL, &since) !=
            0 ||
        query_args_long(req, resp, "limit", 100, 1, 1000, &f->limit) != 0)
        return -1;
    f->since_id = since;
    return 0;
}

/* Newest f->limit lines after f->since_id, oldest first. */
static PGresult *log_query(PGconn *db, const struct log_filter *f, struct db_error *err)
{
    char since[24], limit[24];
    snprintf(since, sizeof since, "%lld", f->since_id);
    snprintf(limit, sizeof limit, "%ld", f->limit);
    const char *p[] = {f->kind, f->resource_id, since, f->levels, f->task_id, f->contains, limit};
    return db_query(db,
                    "SELECT id, sluice_ts(ts), level, coalesce(task_id::text, ''), message FROM"
                    " (SELECT * FROM task_logs WHERE resource_kind = $1 AND resource_id = $2"
                    "    AND id > $3::bigint AND level = ANY ($4::text[])"
                    "    AND ($5 = '' OR task_id = nullif($5, '')::uuid)"
                    "    AND ($6 = '' OR strpos(message, $6) > 0)"
                    "  ORDER BY id DESC LIMIT $7::int) l ORDER BY id",
                    7, p, err);
}

static json_t *log_row(PGresult *r, int i)
{
    return json_pack("{s:I, s:s, s:s, s:s?, s:s}", "id", (json_int_t)atoll(PQgetvalue(r, i, 0)), "ts",
                     PQgetvalue(r, i, 1), "level", PQgetvalue(r, i, 2), "task_id",
                     *PQgetvalue(r, i, 3) ? PQgetvalue(r, i, 3) : NULL, "message", PQgetvalue(r, i, 4));
}

/* ---- follow: server-sent events --------------------------------------------------------- */

#define FOLLOW_KEEPALIVE_S 5 /* a comment line after this long without anything to send */

struct log_follow {
    char tenant_id[40];
    struct log_filter filter;
    time_t deadline, last_sent;
    char *pending;
    size_t pending_len, pending_off;
    int finished;
};

static void follow_free(void *cls)
{
    struct log_follow *f = cls;
    if (!f)
        return;
    free(f->pending);
    free(f);
}

/* Formats new lines into f->pending; returns the number of lines, -1 on a database error.
 * db NULL: the server thread's own connection, in a transaction scoped to the tenant (a follow
 * holds no connection of its own); else db is in the tenant's transaction already. */
static int follow_fetch(struct log_follow *f, PGconn *db)
{
    struct db_error err;
    PGconn *own = db ? NULL : api_thread_db_conn();
    const char *p[] = {f->tenant_id};
    if (!db && (!own || db_exec(own, "BEGIN", 0, NULL, &err) != 0))
        return -1;
    if (own && db_exec(own, "SELECT set_config('sluice.tenant_id', $1, true)", 1, p, &err) != 0) {
        db_exec(own, "ROLLBACK", 0, NULL, &err);
        return -1;
    }
    PGresult *r = log_query(own ? own : db, &f->filter, &err);
    if (own)
        db_exec(own, r ? "COMMIT" : "ROLLBACK", 0, NULL, &err);
    if (!r)
        return -1;
    int n = PQntuples(r);
    size_t cap = 256;
    for (int i = 0; i < n; i++)
        cap += strlen(PQgetvalue(r, i, 4)) * 2 + 256;
    free(f->pending);
    f->pending = malloc(cap);
    f->pending_len = f->pending_off = 0;
    for (int i = 0; f->pending && i < n; i++) {
        json_t *row = log_row(r, i);
        char *text = json_dumps(row, JSON_COMPACT);
        json_decref(row);
        if (text)
            f->pending_len += (size_t)snprintf(f->pending + f->pending_len, cap - f->pending_len,
                                               "id: %s\nevent: log\ndata: %s\n\n", PQgetvalue(r, i, 0), text);
        free(text);
        f->filter.since_id = atoll(PQgetvalue(r, i, 0));
    }
    PQclear(r);
    return n;
}

/* The stream's reader: pending text first, then new lines; 0 (the server asks again shortly,
 * holding no thread meanwhile) when there is nothing, with a keepalive comment every few
 * seconds so a client that went away is noticed. */
static long follow_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct log_follow *f = cls;
    for (;;) {
        if (f->pending_off < f->pending_len) {
            size_t n = f->pending_len - f->pending_off;
            if (n > max)
                n = max;
            memcpy(buf, f->pending + f->pending_off, n);
            f->pending_off += n;
            f->last_sent = time(NULL);
            return (long)n;
        }
        if (f->finished)
            return -1; /* MHD_CONTENT_READER_END_OF_STREAM */
        time_t now = time(NULL);
        if (now >= f->deadline) {
            f->finished = 1;
            static const char bye[] = "event: end\ndata: {\"reason\":\"timeout\"}\n\n";
            free(f->pending);
            f->pending = strdup(bye);
            f->pending_len = f->pending ? strlen(bye) : 0;
            f->pending_off = 0;
            continue;
        }
        int n = follow_fetch(f, NULL);
        if (n < 0) {
            f->finished = 1;
            continue;
        }
        if (n > 0)
            continue;
        if (now - f->last_sent >= FOLLOW_KEEPALIVE_S) {
            static const char keepalive[] = ": keepalive\n\n";
            size_t k = sizeof keepalive - 1 < max ? sizeof keepalive - 1 : max;
            memcpy(buf, keepalive, k);
            f->last_sent = now;
            return (long)k;
        }
        return 0;
    }
}

static int logs_follow(struct api_request *req, struct api_response *resp, const struct log_filter *filter)
{
    long timeout;
    if (query_args_long(req, resp, "timeout", 300, 1, 3600, &timeout) != 0)
        return -1;
    struct log_follow *f = calloc(1, sizeof *f);
    if (!f)
        return api_fail(resp, API_INTERNAL, NULL, "out of memory");
    snprintf(f->tenant_id, sizeof f->tenant_id, "%s", req->caller.tenant_id);
    f->filter = *filter;
    f->deadline = time(NULL) + timeout;
    f->last_sent = time(NULL);
    if (follow_fetch(f, req->db) < 0) { /* the backlog, sent first, in this request's transaction */
        follow_free(f);
        return api_fail(resp, API_UNAVAILABLE, NULL, "the database is unavailable; retry shortly");
    }
    f->filter.limit = 500;
    return api_reply_stream(resp, "text/event-stream", follow_read, follow_free, f);
}

int logs_list(struct api_request *req, struct api_response *resp)
{
    struct log_filter filter;
    if (resource_check(req, resp) != 0 || filter_from_request(req, resp, &filter) != 0)
        return -1;
    const char *follow = api_query(req, "follow");
    if (follow && strcmp(follow, "true") != 0 && strcmp(follow, "false") != 0)
        return api_fail_field(resp, API_INVALID_REQUEST, "follow", "follow must be true or false");
    if (follow && strcmp(follow, "true") == 0)
        return logs_follow(req, resp, &filter);
    struct db_error err;
    PGresult *r = log_query(req->db, &filter, &err);
    if (!r)
        return api_fail_db(resp, &err);
    json_t *items = json_array();
    long long last = filter.since_id;
    for (int i = 0; i < PQntuples(r); i++) {
        json_array_append_new(items, log_row(r, i));
        last = atoll(PQgetvalue(r, i, 0));
    }
    PQclear(r);
    return api_reply(resp, 200, json_pack("{s:o, s:I}", "items", items, "next_since_id", (json_int_t)last));
}

/* ---- events ------------------------------------------------------------------------------ */

int logs_events(struct api_request *req, struct api_response *resp)
{
    long since, limit;
    if (resource_check(req, resp) != 0 ||
        query_args_long(req, resp, "since_id", 0, 0, 0x7fffffffffffffffL, &since) != 0 ||
        query_args_long(req, resp, "limit", 100, 1, 1000, &limit) != 0)
        return -1;
    char s[24], l[24];
    snprintf(s, sizeof s, "%ld", since);
    snprintf(l, sizeof l, "%ld", limit);
    const char *p[] = {req->route->data, req->params.values[0], s, l};
    struct db_error err;
    PGresult *r = db_query(req->db,
                           "SELECT id, sluice_ts(ts), coalesce(task_id::text, ''), event,"
                           "       coalesce(detail->>'message', ''),"
                           "       coalesce((detail->>'restarts')::int, 0)"
                           "  FROM task_events WHERE resource_kind = $1 AND resource_id = $2"
                           "   AND id > $3::bigint ORDER BY id LIMIT $4::int",
                           4, p, &err);
    if (!r)
        return api_fail_db(resp, &err);
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(items,
                              json_pack("{s:I, s:s, s:s?, s:s, s:s, s:i}", "id", (json_int_t)atoll(PQgetvalue(r, i, 0)),
                                        "ts", PQgetvalue(r, i, 1), "task_id",
                                        *PQgetvalue(r, i, 2) ? PQgetvalue(r, i, 2) : NULL, "event", PQgetvalue(r, i, 3),
                                        "message", PQgetvalue(r, i, 4), "restarts", atoi(PQgetvalue(r, i, 5))));
    PQclear(r);
    return api_reply(resp, 200, json_pack("{s:o}", "items", items));
}

/* ---- status ------------------------------------------------------------------------------ */

/* The share of a usage row's minute that lies in the last 60 seconds: all of the current
 * minute's, the rest of the minute before (a sliding window over per-minute rows). */
#define LAST_MINUTE_SHARE                                                                                              \
    "CASE WHEN minute >= date_trunc('minute', now()) THEN 1"                                                           \
    " ELSE 1 - extract(epoch FROM now() - date_trunc('minute', now())) / 60 END"

int logs_status(struct api_request *req, struct api_response *resp)
{
    const char *kind = req->route->data;
    if (resource_check(req, resp) != 0)
        return -1;
    const char *p[] = {req->params.values[0], kind};
    struct db_error err;
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT id, name, desired_state, actual_state, generation, observed_generation,"
             "       coalesce(last_error, ''), task_count, task_size,"
             "       (SELECT coalesce(sum(records_in * " LAST_MINUTE_SHARE "), 0) FROM usage WHERE resource_kind = $2"
             "          AND resource_id = r.id AND minute >= date_trunc('minute', now()) - interval '1 minute'),"
             "       (SELECT coalesce(sum(records_out * " LAST_MINUTE_SHARE "), 0) FROM usage WHERE resource_kind = $2"
             "          AND resource_id = r.id AND minute >= date_trunc('minute', now()) - interval '1 minute')"
             "  FROM %s r WHERE id = $1",
             strcmp(kind, "pipeline") == 0 ? "pipelines" : "connections");
    PGresult *r = db_query(req->db, sql, 2, p, &err);
    if (!r)
        return api_fail_db(resp, &err);
    json_t *body = json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:I, s:s?, s:i, s:s, s:{s:f, s:f}}", "id", PQgetvalue(r, 0, 0), "name",
        PQgetvalue(r, 0, 1), "desired_state", PQgetvalue(r, 0, 2), "actual_state", PQgetvalue(r, 0, 3), "generation",
        (json_int_t)atoll(PQgetvalue(r, 0, 4)), "observed_generation", (json_int_t)atoll(PQgetvalue(r, 0, 5)),
        "last_error", *PQgetvalue(r, 0, 6) ? PQgetvalue(r, 0, 6) : NULL, "task_count", atoi(PQgetvalue(r, 0, 7)),
        "task_size", PQgetvalue(r, 0, 8), "throughput", "records_in_per_second", atof(PQgetvalue(r, 0, 9)) / 60.0,
        "records_out_per_second", atof(PQgetvalue(r, 0, 10)) / 60.0);
    PQclear(r);
    r = db_query(req->db,
                 "SELECT id, task_index, coalesce(node, ''), coalesce(pid, 0), state, restarts,"
                 "       coalesce(sluice_ts(started_at), ''), coalesce(sluice_ts(heartbeat_at), ''),"
                 "       coalesce(sandbox::text, 'null'), coalesce(last_error, ''),"
                 "       coalesce(metrics::text, '{}')"
                 "  FROM tasks WHERE resource_id = $1 AND resource_kind = $2 ORDER BY task_index",
                 2, p, &err);
    if (!r) {
        json_decref(body);
        return api_fail_db(resp, &err);
    }
    json_t *tasks = json_array();
    json_int_t lag = 0, errors = 0, state_bytes = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *metrics = json_loads(PQgetvalue(r, i, 10), 0, NULL);
        lag += json_integer_value(json_object_get(metrics, "lag"));
        errors += json_integer_value(json_object_get(metrics, "errors"));
        json_int_t task_state = json_integer_value(json_object_get(metrics, "state_bytes"));
        state_bytes += task_state;
        json_array_append_new(tasks, json_pack("{s:s, s:i, s:s?, s:i, s:s, s:i, s:s?, s:s?, s:o, s:s?, s:I, s:o}", "id",
                                               PQgetvalue(r, i, 0), "index", atoi(PQgetvalue(r, i, 1)), "node",
                                               *PQgetvalue(r, i, 2) ? PQgetvalue(r, i, 2) : NULL, "pid",
                                               atoi(PQgetvalue(r, i, 3)), "state", PQgetvalue(r, i, 4), "restarts",
                                               atoi(PQgetvalue(r, i, 5)), "started_at",
                                               *PQgetvalue(r, i, 6) ? PQgetvalue(r, i, 6) : NULL, "heartbeat_at",
                                               *PQgetvalue(r, i, 7) ? PQgetvalue(r, i, 7) : NULL, "sandbox",
                                               json_loads(PQgetvalue(r, i, 8), JSON_DECODE_ANY, NULL), "last_error",
                                               *PQgetvalue(r, i, 9) ? PQgetvalue(r, i, 9) : NULL, "state_bytes",
                                               task_state, "metrics", metrics ? metrics : json_object()));
    }
    PQclear(r);
    json_object_set_new(body, "tasks", tasks);
    json_object_set_new(body, "lag", json_integer(lag));
    json_object_set_new(body, "errors", json_integer(errors));
    json_object_set_new(body, "state_bytes", json_integer(state_bytes));
    return api_reply(resp, 200, body);
}
