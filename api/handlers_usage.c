/* handlers_usage.c — usage, billing summary, operator usage and /metrics. */
#include "api/handlers_usage.h"

#include <pthread.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/park.h"
#include "common/log.h"

/* ---- shared ------------------------------------------------------------------------------ */

/* Resolves ?from= and ?to= (defaults: 24 h ago, now) into canonical text, checked by the
 * database ("infinity", which has no such text, is refused too). Returns 0, or -1 with resp
 * filled. */
static int usage_range(struct api_request *req, struct api_response *resp, char *from, char *to, size_t len)
{
    const char *f = api_query(req, "from"), *t = api_query(req, "to");
    const char *p[] = {f ? f : "", t ? t : ""};
    struct db_error err;
    PGresult *r = db_query(req->db,
                           "SELECT sluice_ts(f), sluice_ts(t), isfinite(f) AND isfinite(t) FROM"
                           " (SELECT CASE WHEN $1 = '' THEN now() - interval '24 hours' ELSE $1::timestamptz END f,"
                           "         CASE WHEN $2 = '' THEN now() ELSE $2::timestamptz END t) r",
                           2, p, &err);
    if (r && strcmp(PQgetvalue(r, 0, 2), "t") != 0) {
        PQclear(r);
        r = NULL;
        snprintf(err.sqlstate, sizeof err.sqlstate, "22008"); /* datetime field overflow */
    }
    if (!r) {
        if (strncmp(err.sqlstate, "22", 2) == 0)
            return api_fail_field(resp, API_INVALID_REQUEST, f && *f ? "from" : "to",
                                  "from and to must be RFC 3339 timestamps, e.g. "
                                  "2026-01-31T00:00:00Z");
        return api_fail_db(resp, &err);
    }
    snprintf(from, len, "%s", PQgetvalue(r, 0, 0));
    snprintf(to, len, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    return 0;
}

#define USAGE_SUMS                                                                                                     \
    "sum(records_in)::bigint, sum(records_out)::bigint, sum(bytes_in)::bigint,"                                        \
    " sum(bytes_out)::bigint, round(sum(task_seconds)::numeric, 3), sum(errors)::bigint" /* to the ms: no float noise  \
                                                                                          */

static json_t *usage_counters(PGresult *r, int row, int col)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:f, s:I}", "records_in", (json_int_t)atoll(PQgetvalue(r, row, col)),
                     "records_out", (json_int_t)atoll(PQgetvalue(r, row, col + 1)), "bytes_in",
                     (json_int_t)atoll(PQgetvalue(r, row, col + 2)), "bytes_out",
                     (json_int_t)atoll(PQgetvalue(r, row, col + 3)), "task_seconds", atof(PQgetvalue(r, row, col + 4)),
                     "errors", (json_int_t)atoll(PQgetvalue(r, row, col + 5)));
}

/* ---- GET /v1/usage ----------------------------------------------------------------------- */

/* group_by values: the key columns selected and grouped on. */
static const struct {
    const char *name, *key;
} usage_groupings[] = {
    {"resource", "resource_kind || ':' || resource_id"},
    {"minute", "sluice_ts(minute)"},
    {"hour", "sluice_ts(date_trunc('hour', minute))"},
    {"day", "sluice_ts(date_trunc('day', minute))"},
    {"total", "'total'"},
};

static int usage_is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++)
        if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

int usage_list(struct api_request *req, struct api_response *resp)
{
    const char *group = api_query(req, "group_by");
    size_t g, n = sizeof usage_groupings / sizeof usage_groupings[0];
    for (g = 0; g < n && strcmp(usage_groupings[g].name, group ? group : "resource") != 0; g++)
        ;
    if (g == n)
        return api_fail_field(resp, API_INVALID_REQUEST, "group_by",
                              "group_by must be resource, minute, hour, day or total");
    char from[64], to[64];
    if (usage_range(req, resp, from, to, sizeof from) != 0)
        return -1;
    const char *resource = api_query(req, "resource_id"); /* one resource's usage (the console's charts) */
    if (resource && !usage_is_uuid(resource))
        return api_fail_field(resp, API_INVALID_REQUEST, "resource_id", "resource_id must be a resource's id (a UUID)");
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT %s AS k, " USAGE_SUMS " FROM usage"
             " WHERE minute >= $1::timestamptz AND minute < $2::timestamptz"
             " AND ($3::uuid IS NULL OR resource_id = $3::uuid)"
             " GROUP BY k ORDER BY k",
             usage_groupings[g].key);
    const char *p[] = {from, to, resource};
    struct db_error err;
    PGresult *r = db_query(req->db, sql, 3, p, &err);
    if (!r)
        return api_fail_db(resp, &err);
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *item = usage_counters(r, i, 1);
        const char *k = PQgetvalue(r, i, 0);
        if (g == 0) {
            const char *colon = strchr(k, ':');
            json_object_set_new(item, "resource_kind", json_stringn(k, (size_t)(colon - k)));
            json_object_set_new(item, "resource_id", json_string(colon + 1));
        } else if (g < n - 1) {
            json_object_set_new(item, "period", json_string(k));
        }
        json_array_append_new(items, item);
    }
    PQclear(r);
    return api_reply(
        resp, 200,
        json_pack("{s:s, s:s, s:s, s:o}", "from", from, "to", to, "group_by", usage_groupings[g].name, "items", items));
}

/* ---- GET /v1/billing/summary ------------------------------------------------------------- */

int usage_billing_summary(struct api_request *req, struct api_response *resp)
{
    const char *period = api_query(req, "period");
    int y = 0, m = 0;
    char extra;
    if (period && (sscanf(period, "%4d-%2d%c", &y, &m, &extra) != 2 || m < 1 || m > 12 || y < 2000 || y > 9999 ||
                   strlen(period) != 7))
        return api_fail_field(resp, API_INVALID_REQUEST, "period", "period must be a month as YYYY-MM, e.g. 2026-11");
    char month[16];
    if (period)
        snprintf(month, sizeof month, "%04d-%02d-01", y, m);
    const char *p[] = {period ? month : ""};
    struct db_error err;
    PGresult *r = db_query(req->db,
                           "WITH b AS (SELECT CASE WHEN $1 = '' THEN date_trunc('month', now())"
                           "                  ELSE $1::timestamptz END AS start),"
                           " u AS (SELECT coalesce(sum(records_in), 0)::bigint, coalesce(sum(records_out), 0)::bigint,"
                           "              coalesce(sum(bytes_in), 0)::bigint, coalesce(sum(bytes_out), 0)::bigint,"
                           "              coalesce(sum(task_seconds), 0), coalesce(sum(errors), 0)::bigint"
                           "         FROM usage, b WHERE minute >= b.start AND minute < b.start + interval '1 month')"
                           " SELECT to_char(b.start, 'YYYY-MM'), sluice_ts(b.start),"
                           "        sluice_ts(b.start + interval '1 month'), t.plan, p.price_task_hour_cents,"
                           "        p.price_gb_cents, u.*"
                           "   FROM b, u, tenants t JOIN plans p ON p.name = t.plan",
                           1, p, &err);
    if (!r)
        return api_fail_db(resp, &err);
    if (PQntuples(r) != 1) {
        PQclear(r);
        return api_fail(resp, API_NOT_FOUND, NULL, "tenant not found");
    }
    json_t *usage = usage_counters(r, 0, 6);
    double task_hours = atof(PQgetvalue(r, 0, 10)) / 3600.0;
    double gb = (double)(atoll(PQgetvalue(r, 0, 8)) + atoll(PQgetvalue(r, 0, 9))) / 1e9;
    int task_rate = atoi(PQgetvalue(r, 0, 4)), gb_rate = atoi(PQgetvalue(r, 0, 5));
    double task_amount = task_hours * task_rate, gb_amount = gb * gb_rate;
    json_t *body =
        json_pack("{s:s, s:s, s:s, s:s, s:f, s:f, s:o, s:[{s:s, s:f, s:i, s:f}, {s:s, s:f, s:i, s:f}],"
                  " s:f, s:s}",
                  "period", PQgetvalue(r, 0, 0), "from", PQgetvalue(r, 0, 1), "to", PQgetvalue(r, 0, 2), "plan",
                  PQgetvalue(r, 0, 3), "task_hours", task_hours, "gb_processed", gb, "usage", usage, "lines", "item",
                  "task-hours", "quantity", task_hours, "unit_price_cents", task_rate, "amount_cents", task_amount,
                  "item", "GB processed (in + out)", "quantity", gb, "unit_price_cents", gb_rate, "amount_cents",
                  gb_amount, "total_cents", task_amount + gb_amount, "currency", "USD");
    PQclear(r);
    return api_reply(resp, 200, body);
}

/* ---- GET /v1/operator/usage -------------------------------------------------------------- */

int usage_operator(struct api_request *req, struct api_response *resp)
{
    if (strcmp(req->caller.role, "operator") != 0)
        return api_fail(resp, API_FORBIDDEN, NULL, "only an operator can see every tenant's usage");
    char from[64], to[64];
    if (usage_range(req, resp, from, to, sizeof from) != 0)
        return -1;
    const char *p[] = {from, to};
    struct db_error err;
    PGresult *r = db_query(req->db,
                           "SELECT tenant_id, tenant_name, plan, records_in, records_out, bytes_in,"
                           "       bytes_out, task_seconds, errors"
                           "  FROM sluice_operator_usage($1::timestamptz, $2::timestamptz)",
                           2, p, &err);
    if (!r)
        return api_fail_db(resp, &err);
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *item = usage_counters(r, i, 3);
        json_object_set_new(item, "tenant_id", json_string(PQgetvalue(r, i, 0)));
        json_object_set_new(item, "tenant", json_string(PQgetvalue(r, i, 1)));
        json_object_set_new(item, "plan", json_string(PQgetvalue(r, i, 2)));
        json_array_append_new(items, item);
    }
    PQclear(r);
    return api_reply(resp, 200, json_pack("{s:s, s:s, s:o}", "from", from, "to", to, "items", items));
}

/* ---- /metrics ---------------------------------------------------------------------------- */

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long requests_by_class[6]; /* 1xx..5xx, by status / 100 */
static double request_seconds_sum;

void usage_observe_request(int status, double seconds)
{
    int c = status / 100;
    pthread_mutex_lock(&metrics_lock);
    if (c >= 1 && c <= 5)
        requests_by_class[c]++;
    request_seconds_sum += seconds;
    pthread_mutex_unlock(&metrics_lock);
}

int usage_metrics(struct api_request *req, struct api_response *resp)
{
    size_t len = 0, size = 65536;
    char *b = malloc(size);
    if (!b)
        return api_fail(resp, API_INTERNAL, NULL, "out of memory");
#define OUT(...)                                                                                                       \
    do {                                                                                                               \
        if (len < size)                                                                                                \
            len += (size_t)snprintf(b + len, size - len, __VA_ARGS__);                                                 \
    } while (0)
    pthread_mutex_lock(&metrics_lock);
    OUT("# HELP sluice_api_requests_total Requests answered, by status class.\n"
        "# TYPE sluice_api_requests_total counter\n");
    for (int c = 1; c <= 5; c++)
        OUT("sluice_api_requests_total{code=\"%dxx\"} %llu\n", c, requests_by_class[c]);
    OUT("# TYPE sluice_api_request_seconds_sum counter\nsluice_api_request_seconds_sum %.6f\n", request_seconds_sum);
    pthread_mutex_unlock(&metrics_lock);
    OUT("# HELP sluice_api_parked_streams Streamed responses waiting for data (log follows, previews).\n"
        "# TYPE sluice_api_parked_streams gauge\nsluice_api_parked_streams %u\n",
        park_count());
    struct db_error err;
    PGresult *r = req->db ? db_query(req->db,
                                     "SELECT metric, label, value FROM "
                                     "sluice_service_gauges() ORDER BY 1, 2",
                                     0, NULL, &err)
                          : NULL;
    OUT("# TYPE sluice_api_database_up gauge\nsluice_api_database_up %d\n", r != NULL);
    const char *last = "";
    for (int i = 0; r && i < PQntuples(r); i++) {
        const char *metric = PQgetvalue(r, i, 0), *label = PQgetvalue(r, i, 1);
        if (strcmp(metric, last) != 0)
            OUT("# TYPE sluice_%s gauge\n", metric);
        last = metric;
        if (*label)
            OUT("sluice_%s{state=\"%s\"} %s\n", metric, label, PQgetvalue(r, i, 2));
        else
            OUT("sluice_%s %s\n", metric, PQgetvalue(r, i, 2));
    }
    PQclear(r);
#undef OUT
    resp->status = 200;
    resp->text_body = b;
    resp->content_type = "text/plain; version=0.0.4";
    return 0;
}
