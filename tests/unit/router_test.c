/* router_test.c — unit tests for the api's routing and request helpers: router matching,
 * the error table, UUID and If-Match parsing, the rate limiter and the SQL check. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/http.h"
#include "api/openapi.h"
#include "api/pipeline_sql.h"
#include "api/ratelimit.h"
#include "api/resources.h"
#include "api/router.h"
#include "dataplane/sql/sql.h"
#include "tests/unit/check_main.h"

static int h_list(struct api_request *r, struct api_response *s) { return 0; }
static int h_get(struct api_request *r, struct api_response *s) { return 0; }
static int h_activate(struct api_request *r, struct api_response *s) { return 0; }

static const struct api_route routes[] = {
    {"GET", "/v1/pipelines", h_list, ROUTE_AUTH, NULL},
    {"GET", "/v1/pipelines/{id}", h_get, ROUTE_AUTH, NULL},
    {"POST", "/v1/pipelines/{id}/activate", h_activate, ROUTE_AUTH, NULL},
    {"GET", "/v1/a/{x}/b/{y}", h_get, 0, NULL},
};
#define N (sizeof routes / sizeof routes[0])

START_TEST(test_router_matches_literals_and_captures)
{
    const struct api_route *r;
    struct router_params p;
    ck_assert_int_eq(router_match(routes, N, "GET", "/v1/pipelines", &r, &p), ROUTER_MATCH);
    ck_assert_ptr_eq(r, &routes[0]);
    ck_assert_int_eq(p.count, 0);
    ck_assert_int_eq(router_match(routes, N, "GET", "/v1/pipelines/abc-123", &r, &p), ROUTER_MATCH);
    ck_assert_ptr_eq(r, &routes[1]);
    ck_assert_int_eq(p.count, 1);
    ck_assert_str_eq(p.values[0], "abc-123");
    ck_assert_int_eq(router_match(routes, N, "POST", "/v1/pipelines/xyz/activate", &r, &p), ROUTER_MATCH);
    ck_assert_ptr_eq(r, &routes[2]);
    ck_assert_str_eq(p.values[0], "xyz");
    ck_assert_int_eq(router_match(routes, N, "GET", "/v1/a/1/b/2", &r, &p), ROUTER_MATCH);
    ck_assert_int_eq(p.count, 2);
    ck_assert_str_eq(p.values[1], "2");
}
END_TEST

START_TEST(test_router_rejects)
{
    const struct api_route *r;
    struct router_params p;
    ck_assert_int_eq(router_match(routes, N, "DELETE", "/v1/pipelines", &r, &p), ROUTER_NO_METHOD);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(router_match(routes, N, "GET", "/v1/pipelines/", &r, &p), ROUTER_NO_PATH);
    ck_assert_int_eq(router_match(routes, N, "GET", "/v1/pipelines/a/b", &r, &p), ROUTER_NO_PATH);
    ck_assert_int_eq(router_match(routes, N, "GET", "/v1/pipeline", &r, &p), ROUTER_NO_PATH);
    ck_assert_int_eq(router_match(routes, N, "GET", "/v1/pipelinesX", &r, &p), ROUTER_NO_PATH);
    ck_assert_int_eq(router_match(routes, N, "GET", "", &r, &p), ROUTER_NO_PATH);
    ck_assert_int_eq(router_match(routes, N, "GET", "/v1/pipelines/x/activate", &r, &p), ROUTER_NO_METHOD);
    char long_id[200];
    memset(long_id, 'a', sizeof long_id);
    memcpy(long_id, "/v1/pipelines/", 14);
    long_id[sizeof long_id - 1] = '\0';
    ck_assert(!router_match_path("/v1/pipelines/{id}", long_id, &p)); /* capture too long */
}
END_TEST

START_TEST(test_error_table)
{
    ck_assert_str_eq(api_error_code(API_NOT_FOUND), "not_found");
    ck_assert_int_eq(api_error_status(API_NOT_FOUND), 404);
    ck_assert_int_eq(api_error_status(API_INVALID_SQL), 422);
    ck_assert_int_eq(api_error_status(API_RATE_LIMITED), 429);
    ck_assert_int_eq(api_error_status(API_QUOTA_EXCEEDED), 403);
    ck_assert_int_eq(api_error_status(API_PAYLOAD_TOO_LARGE), 413);
    for (int e = 0; e < API_ERROR_COUNT; e++) {
        ck_assert_ptr_nonnull(api_error_code((enum api_error)e));
        ck_assert_int_ge(api_error_status((enum api_error)e), 400);
    }
    struct api_response resp = {0};
    ck_assert_int_eq(api_fail_field(&resp, API_INVALID_REQUEST, "name", "bad %s", "name"), -1);
    ck_assert_int_eq(resp.status, 400);
    json_t *err = json_object_get(resp.body, "error");
    ck_assert_str_eq(json_string_value(json_object_get(err, "code")), "invalid_request");
    ck_assert_str_eq(json_string_value(json_object_get(err, "message")), "bad name");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(err, "details"), "field")), "name");
    api_response_clear(&resp);
    ck_assert_ptr_null(resp.body);
}
END_TEST

START_TEST(test_uuid_and_if_match)
{
    ck_assert(api_is_uuid("3fa85f64-5717-4562-b3fc-2c963f66afa6"));
    ck_assert(!api_is_uuid("3fa85f64-5717-4562-b3fc-2c963f66afa"));
    ck_assert(!api_is_uuid("3fa85f64x5717-4562-b3fc-2c963f66afa6"));
    ck_assert(!api_is_uuid("3fa85f64-5717-4562-b3fc-2c963f66afg6"));
    ck_assert(!api_is_uuid("1' OR '1'='1"));
    long long v = 0;
    ck_assert_int_eq(resource_parse_if_match(NULL, &v), 0);
    ck_assert_int_eq(resource_parse_if_match("\"7\"", &v), 1);
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(resource_parse_if_match("12", &v), 1);
    ck_assert_int_eq(v, 12);
    ck_assert_int_eq(resource_parse_if_match("W/\"3\"", &v), 1);
    ck_assert_int_eq(v, 3);
    ck_assert_int_eq(resource_parse_if_match("\"7", &v), -1);
    ck_assert_int_eq(resource_parse_if_match("abc", &v), -1);
    ck_assert_int_eq(resource_parse_if_match("0", &v), -1);
    ck_assert_int_eq(resource_parse_if_match("\"1\" junk", &v), -1);
    ck_assert_int_eq(resource_parse_if_match("", &v), -1);
}
END_TEST

START_TEST(test_ratelimit_bucket)
{
    struct ratelimit *rl = ratelimit_new();
    int retry = 0;
    /* Burst of 3, then refused until time passes; 2 tokens per second. */
    for (int i = 0; i < 3; i++)
        ck_assert(ratelimit_take(rl, "tenant-a", 2, 3, 100.0, &retry));
    ck_assert(!ratelimit_take(rl, "tenant-a", 2, 3, 100.0, &retry));
    ck_assert_int_eq(retry, 1);
    ck_assert(ratelimit_take(rl, "tenant-b", 2, 3, 100.0, &retry)); /* other tenant unaffected */
    ck_assert(!ratelimit_take(rl, "tenant-a", 2, 3, 100.2, &retry));
    ck_assert(ratelimit_take(rl, "tenant-a", 2, 3, 100.6, &retry)); /* 0.6 s -> 1.2 tokens */
    ck_assert(!ratelimit_take(rl, "tenant-a", 2, 3, 100.6, &retry));
    /* Refill never exceeds the burst. */
    for (int i = 0; i < 3; i++)
        ck_assert(ratelimit_take(rl, "tenant-a", 2, 3, 1000.0, &retry));
    ck_assert(!ratelimit_take(rl, "tenant-a", 2, 3, 1000.0, &retry));
    /* Slow rates give long Retry-After values. */
    ck_assert(ratelimit_take(rl, "slow", 0.05, 1, 0.0, &retry));
    ck_assert(!ratelimit_take(rl, "slow", 0.05, 1, 0.0, &retry));
    ck_assert_int_eq(retry, 20);
    ratelimit_free(rl);
    ratelimit_free(NULL);
}
END_TEST

/* A catalog of three streams for the SQL check: bids (with a watermark), auctions and out. */
static json_t *test_stream_schema(void *ctx, const char *name)
{
    int *lookups = ctx;
    (*lookups)++;
    if (strcasecmp(name, "bids") == 0)
        return json_loads("{\"fields\":[{\"name\":\"auction\",\"type\":\"BIGINT\"},"
                          "{\"name\":\"price\",\"type\":\"BIGINT\"},"
                          "{\"name\":\"ts\",\"type\":\"TIMESTAMP(3)\"}],"
                          "\"watermark\":{\"field\":\"ts\",\"delay_ms\":1000}}",
                          0, NULL);
    if (strcasecmp(name, "auctions") == 0)
        return json_loads("{\"fields\":[{\"name\":\"id\",\"type\":\"BIGINT\"},"
                          "{\"name\":\"seller\",\"type\":\"BIGINT\"}]}",
                          0, NULL);
    if (strcasecmp(name, "out") == 0)
        return json_loads("{\"fields\":[{\"name\":\"auction\",\"type\":\"BIGINT\"},"
                          "{\"name\":\"price\",\"type\":\"BIGINT\"}]}",
                          0, NULL);
    if (strcasecmp(name, "totals") == 0) /* an upsert stream */
        return json_loads("{\"fields\":[{\"name\":\"id\",\"type\":\"BIGINT\"},"
                          "{\"name\":\"n\",\"type\":\"BIGINT\"}],\"primary_key\":[\"id\"]}",
                          0, NULL);
    return NULL;
}

START_TEST(test_pipeline_sql_check)
{
    struct pipeline_sql_error e;
    int lookups = 0;
    ck_assert_int_eq(
        pipeline_validate_sql("INSERT INTO out SELECT auction, price FROM bids", 1, test_stream_schema, &lookups, &e),
        0);
    ck_assert_int_ge(lookups, 2);
    ck_assert_int_eq(pipeline_validate_sql("", 1, test_stream_schema, &lookups, &e), -1);
    ck_assert_int_eq(e.line, 1);
    ck_assert_int_eq(e.column, 1);
    ck_assert_int_eq(pipeline_validate_sql(" \n\t ", 1, test_stream_schema, &lookups, &e), -1);
    /* a misspelt column: line and column of the mistake, and a suggestion */
    ck_assert_int_eq(
        pipeline_validate_sql("INSERT INTO out\nSELECT auction, prise FROM bids", 1, test_stream_schema, &lookups, &e),
        -1);
    ck_assert_int_eq(e.line, 2);
    ck_assert_int_eq(e.column, 17);
    ck_assert_ptr_nonnull(strstr(e.message, "prise"));
    /* an unknown input stream, and an unknown output stream */
    ck_assert_int_eq(pipeline_validate_sql("INSERT INTO out SELECT * FROM nope", 1, test_stream_schema, &lookups, &e),
                     -1);
    ck_assert_ptr_nonnull(strstr(e.message, "nope"));
    ck_assert_int_eq(
        pipeline_validate_sql("INSERT INTO missing SELECT auction FROM bids", 1, test_stream_schema, &lookups, &e), -1);
    ck_assert_int_eq(e.column, 13);
    ck_assert_ptr_nonnull(strstr(e.message, "output stream \"missing\" not found"));
    char *big = malloc(PIPELINE_SQL_MAX + 2);
    memset(big, 'x', PIPELINE_SQL_MAX + 1);
    big[PIPELINE_SQL_MAX + 1] = '\0';
    ck_assert_int_eq(pipeline_validate_sql(big, 1, test_stream_schema, &lookups, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.message, "longer"));
    free(big);
    /* a windowed aggregate keyed by a column of the stream splits by it over several tasks; one keyed by
     * its window only runs as one task */
    static const char windowed[] = "INSERT INTO out SELECT COUNT(*) AS auction, MAX(price) AS price FROM "
                                   "TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND)) "
                                   "GROUP BY window_start, window_end";
    ck_assert_int_eq(pipeline_validate_sql(windowed, 1, test_stream_schema, &lookups, &e), 0);
    ck_assert_int_eq(pipeline_validate_sql(windowed, 4, test_stream_schema, &lookups, &e), -1);
    ck_assert_msg(strstr(e.message, "task_count 4 splits the stream by key, but ") &&
                      strstr(e.message, "has no key column of the stream that keys every aggregate") &&
                      strstr(e.message, "set task_count to 1"),
                  "%s", e.message);
    static const char keyed[] = "INSERT INTO out SELECT auction, MAX(price) AS price FROM "
                                "TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND)) "
                                "GROUP BY auction, window_start, window_end";
    ck_assert_int_eq(pipeline_validate_sql(keyed, 4, test_stream_schema, &lookups, &e), 0);
    ck_assert_int_eq(
        pipeline_validate_sql("INSERT INTO out SELECT auction, price FROM bids", 4, test_stream_schema, &lookups, &e),
        0);
}
END_TEST

/* A pipeline reading several streams: every one must exist (the unknown one named, with its
 * line and column); it runs as several tasks when they can split it by join key, else as one. */
START_TEST(test_pipeline_sql_check_join)
{
    struct pipeline_sql_error e;
    int lookups = 0;
    static const char join[] = "INSERT INTO out SELECT B.auction, A.seller FROM bids AS B JOIN auctions AS A "
                               "ON B.auction = A.id";
    ck_assert_int_eq(pipeline_validate_sql(join, 1, test_stream_schema, &lookups, &e), 0);
    ck_assert_int_eq(pipeline_validate_sql(join, 2, test_stream_schema, &lookups, &e), 0);
    static const char cross[] = "INSERT INTO out SELECT B.auction, A.seller FROM bids AS B JOIN auctions AS A "
                                "ON B.auction + 1 = A.id";
    ck_assert_int_eq(pipeline_validate_sql(cross, 1, test_stream_schema, &lookups, &e), 0);
    ck_assert_int_eq(pipeline_validate_sql(cross, 2, test_stream_schema, &lookups, &e), -1);
    ck_assert_int_eq(e.line, 1);
    ck_assert_ptr_nonnull(strstr(e.message, "task_count 2 splits the streams by join key, but "));
    ck_assert_ptr_nonnull(strstr(e.message, "has no equality key on columns of its streams (a cross join, or a window "
                                            "join on the window only); set task_count to 1"));
    ck_assert_int_eq(pipeline_validate_sql("INSERT INTO out SELECT B.auction, A.seller\nFROM bids AS B\n"
                                           "  JOIN auktions AS A ON B.auction = A.id",
                                           1, test_stream_schema, &lookups, &e),
                     -1);
    ck_assert_ptr_nonnull(strstr(e.message, "auktions"));
    ck_assert_int_eq(e.line, 3);
    ck_assert_int_eq(e.column, 8);
    /* one stream read twice is one input: it may still split (a stateless self-union) */
    ck_assert_int_eq(pipeline_validate_sql("INSERT INTO out SELECT auction, price FROM bids UNION ALL "
                                           "SELECT auction, price FROM bids",
                                           4, test_stream_schema, &lookups, &e),
                     0);
}
END_TEST

/* The connections of the SQL check's lookup tables: crm (postgres, the table's columns) and
 * feed (an http connection, no table). */
static json_t *test_connection_table(void *ctx, const char *name, char *why, size_t whysz)
{
    if (strcmp(name, "crm") == 0)
        return json_loads("{\"fields\":[{\"name\":\"id\",\"type\":\"BIGINT\"},"
                          "{\"name\":\"tier\",\"type\":\"STRING\"}]}",
                          0, NULL);
    if (strcmp(name, "feed") == 0)
        snprintf(why, whysz, "connection \"feed\" is a http connection");
    return NULL;
}

/* A postgres connection is a lookup join's table, and nothing else. */
START_TEST(test_pipeline_sql_check_lookup_table)
{
    struct pipeline_sql_error e;
    int lookups = 0;
    struct pipeline_sql_tables tables = {test_connection_table, NULL, NULL};
    const char *lookup = "INSERT INTO out SELECT b.auction, b.price\nFROM (SELECT *, PROCTIME() AS p FROM bids) AS b\n"
                         "  JOIN crm FOR SYSTEM_TIME AS OF b.p AS c ON b.auction = c.id";
    ck_assert_int_eq(pipeline_validate_sql_tables(lookup, 1, test_stream_schema, &lookups, &tables, NULL, 0, &e), 0);
    /* without tables the name is no stream */
    ck_assert_int_eq(pipeline_validate_sql(lookup, 1, test_stream_schema, &lookups, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.message, "\"crm\" not found"));
    /* at any task_count (the table is queried, no input to split); an aggregate above it splits
     * by its key when that is a column of the stream, as over the stream alone */
    ck_assert_int_eq(pipeline_validate_sql_tables(lookup, 2, test_stream_schema, &lookups, &tables, NULL, 0, &e), 0);
    const char *grouped =
        "INSERT INTO totals SELECT c.id, COUNT(*) AS n\nFROM (SELECT *, PROCTIME() AS p FROM bids) AS b\n"
        "  JOIN crm FOR SYSTEM_TIME AS OF b.p AS c ON b.auction = c.id GROUP BY c.id";
    ck_assert_int_eq(pipeline_validate_sql_tables(grouped, 1, test_stream_schema, &lookups, &tables, NULL, 0, &e), 0);
    ck_assert_int_eq(pipeline_validate_sql_tables(grouped, 2, test_stream_schema, &lookups, &tables, NULL, 0, &e), -1);
    ck_assert_msg(strstr(e.message, "task_count 2 splits the stream by key, but ") &&
                      strstr(e.message, "has no key column of the stream that keys every aggregate"),
                  "%s", e.message);
    const char *by_stream =
        "INSERT INTO totals SELECT b.auction, COUNT(*) AS n\nFROM (SELECT *, PROCTIME() AS p FROM bids) AS b\n"
        "  JOIN crm FOR SYSTEM_TIME AS OF b.p AS c ON b.auction = c.id GROUP BY b.auction";
    ck_assert_int_eq(pipeline_validate_sql_tables(by_stream, 2, test_stream_schema, &lookups, &tables, NULL, 0, &e), 0);
    /* over two streams: split by their join key, the table left out */
    const char *two = "INSERT INTO out SELECT x.auction, x.seller FROM (SELECT b.auction, a.seller, PROCTIME() AS p "
                      "FROM bids AS b JOIN auctions AS a ON b.auction = a.id) AS x "
                      "JOIN crm FOR SYSTEM_TIME AS OF x.p AS c ON x.seller = c.id";
    ck_assert_int_eq(pipeline_validate_sql_tables(two, 2, test_stream_schema, &lookups, &tables, NULL, 0, &e), 0);
    /* read as a stream, or keyed by an expression over it */
    ck_assert_int_eq(pipeline_validate_sql_tables("INSERT INTO out SELECT id, id FROM crm", 1, test_stream_schema,
                                                  &lookups, &tables, NULL, 0, &e),
                     -1);
    ck_assert_ptr_nonnull(strstr(e.message, "\"crm\" is a postgres connection: a pipeline reads its table only"));
    ck_assert_int_eq(e.line, 1);
    ck_assert_int_eq(e.column, 36);
    const char *expr = "INSERT INTO out SELECT b.auction, b.price FROM (SELECT *, PROCTIME() AS p FROM bids) AS b "
                       "JOIN crm FOR SYSTEM_TIME AS OF b.p AS c ON b.auction = c.id + 1";
    ck_assert_int_eq(pipeline_validate_sql_tables(expr, 1, test_stream_schema, &lookups, &tables, NULL, 0, &e), -1);
    /* written to */
    ck_assert_int_eq(pipeline_validate_sql_tables("INSERT INTO crm SELECT auction, 'x' FROM bids", 1,
                                                  test_stream_schema, &lookups, &tables, NULL, 0, &e),
                     -1);
    ck_assert_ptr_nonnull(strstr(e.message, "output stream \"crm\" not found: that name is a postgres connection"));
    /* another connector's connection: its own message */
    ck_assert_int_eq(pipeline_validate_sql_tables("INSERT INTO out SELECT auction, price FROM feed", 1,
                                                  test_stream_schema, &lookups, &tables, NULL, 0, &e),
                     -1);
    ck_assert_ptr_nonnull(strstr(e.message, "connection \"feed\" is a http connection"));
}
END_TEST

/* EXPLAIN derives a sink that does not exist, so an updating query explains (its sink updating);
 * an append-only stream that exists still refuses it, as a create does. */
START_TEST(test_explain_derived_sink_takes_updates)
{
    struct pipeline_sql_error e;
    struct plan_explain x;
    int lookups = 0;
    ck_assert_int_eq(pipeline_explain_sql("INSERT INTO totals SELECT auction, COUNT(*) AS n FROM bids GROUP BY auction",
                                          test_stream_schema, &lookups, NULL, 0, &x, &e),
                     0);
    ck_assert_int_ge(x.n, 3);
    ck_assert_str_eq(x.ops[0].name, "Sink(table=[totals])");
    ck_assert_int_eq(x.ops[0].updating, 1);
    plan_explain_free(&x);
    ck_assert_int_eq(
        pipeline_explain_sql("INSERT INTO out SELECT auction, COUNT(*) AS price FROM bids GROUP BY auction",
                             test_stream_schema, &lookups, NULL, 0, &x, &e),
        -1);
    ck_assert_msg(strstr(e.message, "append-only stream \"out\" doesn't support consuming update changes") != NULL,
                  "%s", e.message);
    /* another error of a query into a missing sink is its own */
    ck_assert_int_eq(pipeline_explain_sql("INSERT INTO totals SELECT prise, COUNT(*) AS n FROM bids GROUP BY prise",
                                          test_stream_schema, &lookups, NULL, 0, &x, &e),
                     -1);
    ck_assert_msg(strstr(e.message, "prise") != NULL, "%s", e.message);
}
END_TEST

/* Every route the server answers is in the built-in openapi.json, with its method; and every
 * documented operation is a route (the document describes this API, no more, no less). */
START_TEST(test_openapi_matches_routes)
{
    json_error_t jerr;
    json_t *doc = json_loads(api_openapi_json, 0, &jerr);
    ck_assert_msg(doc != NULL, "openapi.json: %s (line %d)", jerr.text, jerr.line);
    json_t *paths = json_object_get(doc, "paths");
    size_t n, documented = 0;
    const struct api_route *table = api_route_table(&n);
    ck_assert_uint_gt(n, 30);
    for (size_t i = 0; i < n; i++) {
        char method[16];
        size_t j;
        for (j = 0; j < sizeof method - 1 && table[i].method[j]; j++)
            method[j] = (char)(table[i].method[j] | 0x20);
        method[j] = '\0';
        ck_assert_msg(json_object_get(json_object_get(paths, table[i].pattern), method) != NULL,
                      "openapi.json does not document %s %s", table[i].method, table[i].pattern);
    }
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item)
    {
        const char *key;
        json_t *op;
        json_object_foreach(item, key, op)
        {
            if (strcmp(key, "parameters") == 0)
                continue;
            documented++;
            size_t i;
            for (i = 0; i < n; i++)
                if (strcmp(table[i].pattern, path) == 0 && strcasecmp(table[i].method, key) == 0)
                    break;
            ck_assert_msg(i < n, "openapi.json documents %s %s, which the server does not answer", key, path);
        }
    }
    ck_assert_uint_eq(documented, n);
    json_decref(doc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("router");
    tcase_add_test(tc, test_router_matches_literals_and_captures);
    tcase_add_test(tc, test_router_rejects);
    tcase_add_test(tc, test_error_table);
    tcase_add_test(tc, test_uuid_and_if_match);
    tcase_add_test(tc, test_ratelimit_bucket);
    tcase_add_test(tc, test_openapi_matches_routes);
    tcase_add_test(tc, test_explain_derived_sink_takes_updates);
    tcase_add_test(tc, test_pipeline_sql_check);
    tcase_add_test(tc, test_pipeline_sql_check_join);
    tcase_add_test(tc, test_pipeline_sql_check_lookup_table);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
