/* sinks_test.c — the pure parts of the PostgreSQL and webhook sinks: values as parameter text,
 * the INSERT / upsert statement, keeping the last row per key, option checks, request bodies,
 * retry decisions and backoff, Retry-After, url redaction. */
#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "common/arena.h"
#include "dataplane/connectors/postgres_sink.h"
#include "dataplane/connectors/webhook_sink.h"
#include "dataplane/stream.h"

struct test_sink {
    long n;
};

START_TEST(test_value_text)
{
    struct arena *a = arena_new(4096);
    int oom = 0;
    struct value v = {.type = VT_NULL};
    ck_assert_ptr_null(postgres_value_text(&v, a, &oom));
    v = (struct value){.type = VT_BOOLEAN, .u.b = true};
    ck_assert_str_eq(postgres_value_text(&v, a, &oom), "true");
    v = (struct value){.type = VT_BIGINT, .u.i = -9223372036854775807LL - 1};
    ck_assert_str_eq(postgres_value_text(&v, a, &oom), "-9223372036854775808");
    v = (struct value){.type = VT_DOUBLE, .u.d = 0.1};
    ck_assert_str_eq(postgres_value_text(&v, a, &oom), "0.1");
    v.u.d = 1.0 / 3.0;
    ck_assert_double_eq(strtod(postgres_value_text(&v, a, &oom), NULL), 1.0 / 3.0);
    v.u.d = NAN;
    ck_assert_str_eq(postgres_value_text(&v, a, &oom), "NaN");
    v.u.d = -INFINITY;
    ck_assert_str_eq(postgres_value_text(&v, a, &oom), "-Infinity");
    v = (struct value){.type = VT_TIMESTAMP, .u.i = 1700000000123LL};
    ck_assert_str_eq(postgres_value_text(&v, a, &oom), "2023-11-14 22:13:20.123+00");
    v = (struct value){.type = VT_STRING, .u.s = {"héllo, world", 6}};
    ck_assert_str_eq(postgres_value_text(&v, a, &oom), "héllo");
    ck_assert_int_eq(oom, 0);
    ck_assert_uint_eq(postgres_type_oid(VT_BIGINT), 20);
    ck_assert_uint_eq(postgres_type_oid(VT_TIMESTAMP), 1184);
    ck_assert_uint_eq(postgres_type_oid(VT_STRING), 0);
    arena_free(a);
}
END_TEST

START_TEST(test_insert_sql)
{
    char *cols[] = {"id", "Name", "a\"b"};
    struct json_buf b = {0};
    ck_assert_int_eq(postgres_insert_sql(&b, "public.t", cols, 3, NULL, 0, 2), 0);
    ck_assert_str_eq(b.data, "INSERT INTO public.t (\"id\", \"Name\", \"a\"\"b\") VALUES ($1, $2, $3), ($4, $5, $6)");
    b.len = 0;
    int key[] = {0};
    ck_assert_int_eq(postgres_insert_sql(&b, "t", cols, 2, key, 1, 1), 0);
    ck_assert_str_eq(b.data,
                     "INSERT INTO t (\"id\", \"Name\") VALUES ($1, $2) ON CONFLICT (\"id\") DO UPDATE SET \"Name\" = "
                     "EXCLUDED.\"Name\"");
    b.len = 0;
    ck_assert_int_eq(postgres_insert_sql(&b, "t", cols, 1, key, 1, 1), 0);
    ck_assert_str_eq(b.data, "INSERT INTO t (\"id\") VALUES ($1) ON CONFLICT (\"id\") DO NOTHING");
    json_buf_free(&b);
}
END_TEST

START_TEST(test_dedupe_keeps_last_per_key)
{
    struct arena *a = arena_new(4096);
    /* (k1, k2, v): key columns 0 and 1 */
    const char *rows[] = {
        "1",  "a", "first",  /* 0: replaced by 3 */
        "1",  "b", "other",  /* 1 */
        "2",  "a", "x",      /* 2: replaced by 4 */
        "1",  "a", "second", /* 3 */
        "2",  "a", "y",      /* 4 */
        NULL, "a", "n1",     /* 5: a null key is never merged */
        NULL, "a", "n2",     /* 6 */
        "1a", "",  "sep",    /* 7: differs from ("1", "a") */
    };
    int key[] = {0, 1}, keep[8];
    int n = postgres_dedupe(rows, 8, 3, key, 2, keep, a);
    ck_assert_int_eq(n, 6);
    int want[] = {1, 3, 4, 5, 6, 7};
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(keep[i], want[i]);
    arena_free(a);
}
END_TEST

/* A sink's properties against its table (stream_options_check): the keys the worker sets are
 * not checked; unknown keys, bad values and missing required options are named. */
START_TEST(test_options)
{
    static const char *const modes[] = {"insert", "upsert", NULL};
    static const struct option_row rows[] = {
        {.name = "url", .type = OPTION_STRING, .flags = OPTION_REQUIRED},
        {.name = "mode", .type = OPTION_ENUM, .values = modes},
        {.name = "headers.", .type = OPTION_STRING, .flags = OPTION_PREFIX},
        {.name = "n", .type = OPTION_INT, .def = "5", .min = 1, .max = 100, OPTION_FIELD(struct test_sink, n)},
    };
    static const struct option_table table = OPTION_TABLE("t", rows);
    char err[300];
    struct stream_property ok[] = {{"url", "x"}, {"mode", "upsert"}, {"headers.A", "1"}, {"__schema", "{}"}};
    ck_assert_int_eq(stream_options_check(&table, ok, 4, err, sizeof err), 0);
    struct stream_property unknown[] = {{"url", "x"}, {"tabel", "y"}};
    ck_assert_int_eq(stream_options_check(&table, unknown, 2, err, sizeof err), -1);
    ck_assert_str_eq(err, "unknown t option \"tabel\" (options: url, mode, headers.*, n)");
    struct stream_property bad[] = {{"url", "x"}, {"mode", "merge"}};
    ck_assert_int_eq(stream_options_check(&table, bad, 2, err, sizeof err), -1);
    ck_assert_str_eq(err, "t option \"mode\" must be insert | upsert, not \"merge\"");
    struct stream_property missing[] = {{"mode", "insert"}};
    ck_assert_int_eq(stream_options_check(&table, missing, 1, err, sizeof err), -1);
    ck_assert_str_eq(err, "a t connection needs the property \"url\"");
    struct stream_property bare[] = {{"url", "x"}, {"headers.", "v"}};
    ck_assert_int_eq(stream_options_check(&table, bare, 2, err, sizeof err), -1);
    struct test_sink sink = {0};
    struct stream_property n[] = {{"n", "12"}};
    ck_assert_int_eq(stream_options_apply(&table, n, 1, &sink, err, sizeof err), 0);
    ck_assert_int_eq(sink.n, 12);
    ck_assert_int_eq(stream_options_apply(&table, NULL, 0, &sink, err, sizeof err), 0);
    ck_assert_int_eq(sink.n, 5); /* the default */
    struct stream_property m[] = {{"n", "12x"}};
    ck_assert_int_eq(stream_options_apply(&table, m, 1, &sink, err, sizeof err), -1);
    ck_assert_str_eq(err, "t option \"n\" must be a whole number from 1 to 100, not \"12x\"");
    struct stream_property big[] = {{"n", "101"}};
    ck_assert_int_eq(stream_options_check(&table, big, 1, err, sizeof err), -1);
}
END_TEST

/* What the API, the control plane and the worker ask of connectors, declared by the backends. */
START_TEST(test_connector_facts)
{
    char names[200] = "";
    for (size_t i = 0; stream_connector_name(i); i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", stream_connector_name(i));
    ck_assert_str_eq(
        names,
        "datagen, filesystem, http, kafka, mqtt, postgres, postgres-cdc, rabbitmq, redis, webhook"); /* the log is no
                                                                                                        connector */
    const struct stream_backend *b;
    ck_assert_int_eq(stream_connector_find("log", &b), -1);
    ck_assert_int_eq(stream_connector_find("nope", &b), -1);
    ck_assert_int_eq(stream_connector_find(NULL, &b), -1);
    /* http is run by the API: a connector, but no backend a worker opens */
    ck_assert_int_eq(stream_connector_find("http", &b), 0);
    ck_assert(b && b->taskless && b->source && !b->sink && option_find(b->options, "partition.key"));
    ck_assert_ptr_null(stream_backend_find("http"));
    ck_assert_int_eq(stream_connector_find("datagen", &b), 0);
    ck_assert(b && b->source && !b->sink && !b->network && !b->full_worker && !b->taskless);
    ck_assert_str_eq(b->bounded_by, "events");
    ck_assert_ptr_eq(b, stream_backend_find("datagen"));
    ck_assert_int_eq(stream_connector_find("postgres", &b), 0);
    ck_assert(b && b->sink && !b->source && b->network && b->full_worker && b->wants_schema);
    ck_assert_str_eq(b->location_key, "table");
    ck_assert_int_eq(stream_connector_find("webhook", &b), 0);
    ck_assert(b && b->sink && b->network && b->full_worker && !b->wants_schema);
    ck_assert_str_eq(b->location_key, "url");
}
END_TEST

START_TEST(test_webhook_bodies)
{
    struct json_buf b = {0};
    ck_assert_int_eq(webhook_body_finish(&b, WEBHOOK_JSON, 0), 0);
    ck_assert(b.len == 2 && memcmp(b.data, "[]", 2) == 0);
    b.len = 0;
    ck_assert_int_eq(webhook_body_add(&b, WEBHOOK_JSON, 0, "{\"a\":1}", 7), 0);
    ck_assert_int_eq(webhook_body_add(&b, WEBHOOK_JSON, 1, "{\"a\":2}", 7), 0);
    ck_assert_int_eq(webhook_body_finish(&b, WEBHOOK_JSON, 2), 0);
    ck_assert(b.len == 17 && memcmp(b.data, "[{\"a\":1},{\"a\":2}]", 17) == 0);
    b.len = 0;
    ck_assert_int_eq(webhook_body_add(&b, WEBHOOK_NDJSON, 0, "{\"a\":1}", 7), 0);
    ck_assert_int_eq(webhook_body_add(&b, WEBHOOK_NDJSON, 1, "{\"a\":2}", 7), 0);
    ck_assert_int_eq(webhook_body_finish(&b, WEBHOOK_NDJSON, 2), 0);
    ck_assert(b.len == 16 && memcmp(b.data, "{\"a\":1}\n{\"a\":2}\n", 16) == 0);
    json_buf_free(&b);
}
END_TEST

START_TEST(test_webhook_retry_decisions)
{
    ck_assert_int_eq(webhook_verdict_of(200), WEBHOOK_DELIVERED);
    ck_assert_int_eq(webhook_verdict_of(204), WEBHOOK_DELIVERED);
    long retried[] = {0, 408, 429, 500, 502, 503, 504};
    for (size_t i = 0; i < sizeof retried / sizeof retried[0]; i++)
        ck_assert_int_eq(webhook_verdict_of(retried[i]), WEBHOOK_RETRY);
    long failed[] = {301, 400, 401, 403, 404, 413, 422};
    for (size_t i = 0; i < sizeof failed / sizeof failed[0]; i++)
        ck_assert_int_eq(webhook_verdict_of(failed[i]), WEBHOOK_FAIL);
    ck_assert_int_eq(webhook_backoff_ms(1, 500, 30000, -1), 500);
    ck_assert_int_eq(webhook_backoff_ms(2, 500, 30000, -1), 1000);
    ck_assert_int_eq(webhook_backoff_ms(4, 500, 30000, -1), 4000);
    ck_assert_int_eq(webhook_backoff_ms(20, 500, 30000, -1), 30000);
    ck_assert_int_eq(webhook_backoff_ms(1000, 500, 30000, -1), 30000);
    ck_assert_int_eq(webhook_backoff_ms(1, 500, 30000, 7000), 7000);
    ck_assert_int_eq(webhook_backoff_ms(1, 500, 30000, 90000), 30000);
    ck_assert_int_eq(webhook_backoff_ms(3, 500, 30000, 0), 0);
    time_t now = 1700000000; /* Tue, 14 Nov 2023 22:13:20 GMT */
    ck_assert_int_eq(webhook_retry_after_ms("120", now), 120000);
    ck_assert_int_eq(webhook_retry_after_ms(" 0 ", now), 0);
    ck_assert_int_eq(webhook_retry_after_ms("Tue, 14 Nov 2023 22:13:25 GMT", now), 5000);
    ck_assert_int_eq(webhook_retry_after_ms("Tue, 14 Nov 2023 22:13:00 GMT", now), 0);
    ck_assert_int_eq(webhook_retry_after_ms("soon", now), -1);
    ck_assert_int_eq(webhook_retry_after_ms("-1", now), -1);
    ck_assert_int_eq(webhook_retry_after_ms("5s", now), -1);
}
END_TEST

START_TEST(test_webhook_url_redact)
{
    char out[200];
    webhook_url_redact("https://user:pw@hooks.example.com:8443/in/x?token=abc#f", out, sizeof out);
    ck_assert_str_eq(out, "https://hooks.example.com:8443/in/x");
    webhook_url_redact("http://h/p", out, sizeof out);
    ck_assert_str_eq(out, "http://h/p");
    webhook_url_redact("http://h?q=@x", out, sizeof out);
    ck_assert_str_eq(out, "http://h");
}
END_TEST

START_TEST(test_backends_reject_bad_options_before_connecting)
{
    char err[300];
    void *w = NULL;
    const struct stream_backend *pg = stream_backend_find("postgres"), *hook = stream_backend_find("webhook");
    ck_assert_ptr_nonnull(pg);
    ck_assert_ptr_nonnull(hook);
    struct stream_property p1[] = {{"url", "postgresql://127.0.0.1:1/x"}, {"table", "t"}, {"mode", "merge"}};
    ck_assert_int_eq(pg->open_writer("t", 0, p1, 3, &w, err, sizeof err), -1);
    ck_assert_str_eq(err, "postgres option \"mode\" must be insert | upsert, not \"merge\"");
    const char *schema = "{\"fields\":[{\"name\":\"id\",\"type\":\"BIGINT\"}]}";
    struct stream_property p2[] = {{"url", "postgresql://127.0.0.1:1/x"},
                                   {"table", "t"},
                                   {"mode", "upsert"},
                                   {"primary_key", "id, nope"},
                                   {"__schema", schema}};
    ck_assert_int_eq(pg->open_writer("t", 0, p2, 5, &w, err, sizeof err), -1);
    ck_assert_str_eq(err, "postgres primary_key column \"nope\" is not a field of the stream");
    struct stream_property p3[] = {{"url", "host=x"}, {"table", "t"}, {"__schema", schema}};
    ck_assert_int_eq(pg->open_writer("t", 0, p3, 3, &w, err, sizeof err), -1);
    ck_assert_str_eq(err, "postgres option \"url\" must be a postgresql:// URI");
    struct stream_property p4[] = {{"url", "postgresql://127.0.0.1:1/x"}, {"table", "t"}, {"__schema", schema}};
    ck_assert_int_eq(pg->open_writer("t", 0, p4, 3, &w, err, sizeof err), -1);
    ck_assert_msg(strncmp(err, "postgres: cannot connect: ", 26) == 0, "%s", err);
    struct stream_property h1[] = {{"url", "ftp://x/"}};
    ck_assert_int_eq(hook->open_writer("", 0, h1, 1, &w, err, sizeof err), -1);
    ck_assert_str_eq(err, "webhook option \"url\" must start with http:// or https://");
    struct stream_property h2[] = {{"url", "http://x/"}, {"batch.size", "0"}};
    ck_assert_int_eq(hook->open_writer("", 0, h2, 2, &w, err, sizeof err), -1);
    ck_assert_str_eq(err, "webhook option \"batch.size\" must be a whole number from 1 to 10000, not \"0\"");
    struct stream_property h3[] = {{"url", "http://x/"}, {"headers.X-A", "a\r\nEvil: 1"}};
    ck_assert_int_eq(hook->open_writer("", 0, h3, 2, &w, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "header \"X-A\"") != NULL, "%s", err);
    /* a writer to a port nobody listens on: retries, then fails with the transport's reason */
    struct stream_property h4[] = {{"url", "http://127.0.0.1:1/x"}, {"retry.max", "2"}, {"retry.backoff_ms", "1"}};
    ck_assert_int_eq(hook->open_writer("", 0, h4, 3, &w, err, sizeof err), 0);
    ck_assert_int_eq(hook->append(w, "{}", 2, err, sizeof err), 0);
    ck_assert_int_eq(hook->flush(w, true, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "1 records not delivered after 3 attempts") != NULL, "%s", err);
    hook->close_writer(w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sinks");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_value_text);
    tcase_add_test(tc, test_insert_sql);
    tcase_add_test(tc, test_dedupe_keeps_last_per_key);
    tcase_add_test(tc, test_options);
    tcase_add_test(tc, test_connector_facts);
    tcase_add_test(tc, test_webhook_bodies);
    tcase_add_test(tc, test_webhook_retry_decisions);
    tcase_add_test(tc, test_webhook_url_redact);
    tcase_add_test(tc, test_backends_reject_bad_options_before_connecting);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
