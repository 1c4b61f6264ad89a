/* sdk_client_test.c — unit tests for libsluice against a scripted local libmicrohttpd server:
 * retries with Retry-After (seconds or an HTTP date), exhausted retries, timeouts, pagination,
 * error mapping, malformed answers, request headers, event-stream logs, HTTP ingest calls and
 * concurrent use of one handle. */
#include <check.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sdk/sluice.h"
#include "tests/unit/check_main.h"

/* ==== scripted test server =============================================================== */

#define MAX_SCRIPT 16
#define MAX_SEEN 64

struct scripted {
    int status;
    const char *body;
    const char *content_type; /* NULL: application/json */
    const char *retry_after;  /* NULL: none */
};

struct seen {
    long at_ms;
    char method[8];
    char url[256]; /* path plus the arguments below, as " name=value" */
    char auth[128];
    char if_match[32];
    char idempotency_key[64];
    char body[512];
};

struct server {
    struct MHD_Daemon *daemon;
    int port;
    pthread_mutex_t mu;
    struct scripted script[MAX_SCRIPT];
    int n_script; /* answers in order; the last repeats */
    int count;
    struct seen seen[MAX_SEEN];
    int delay_ms; /* every answer waits this long (set before the first request) */
};

struct upload {
    char body[512];
    size_t len;
};

static long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void copy_header(struct MHD_Connection *conn, const char *name, char *dst, size_t cap)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
    snprintf(dst, cap, "%s", v ? v : "");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    struct server *s = cls;
    struct upload *up = *con_cls;
    if (!up) {
        *con_cls = calloc(1, sizeof *up);
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        if (up->len + n >= sizeof up->body)
            n = sizeof up->body - up->len - 1;
        memcpy(up->body + up->len, upload_data, n);
        up->len += n;
        *upload_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&s->mu);
    int i = s->count++;
    struct scripted a = s->script[i < s->n_script ? i : s->n_script - 1];
    int delay_ms = s->delay_ms;
    if (i < MAX_SEEN) {
        struct seen *w = &s->seen[i];
        w->at_ms = mono_ms();
        snprintf(w->method, sizeof w->method, "%s", method);
        snprintf(w->url, sizeof w->url, "%s", url);
        const char *args[] = {"limit", "cursor", "name", "follow", "timeout", "since_id"};
        for (size_t k = 0; k < sizeof args / sizeof args[0]; k++) {
            const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, args[k]);
            if (v) {
                size_t n = strlen(w->url);
                snprintf(w->url + n, sizeof w->url - n, " %s=%s", args[k], v);
            }
        }
        copy_header(conn, "Authorization", w->auth, sizeof w->auth);
        copy_header(conn, "If-Match", w->if_match, sizeof w->if_match);
        copy_header(conn, "Idempotency-Key", w->idempotency_key, sizeof w->idempotency_key);
        memcpy(w->body, up->body, up->len + 1);
    }
    pthread_mutex_unlock(&s->mu);
    if (delay_ms > 0) {
        struct timespec pause = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
        nanosleep(&pause, NULL);
    }
    const char *body = a.body ? a.body : "";
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", a.content_type ? a.content_type : "application/json");
    char rid[32];
    snprintf(rid, sizeof rid, "req-%d", i);
    MHD_add_response_header(r, "X-Request-Id", rid);
    if (a.retry_after)
        MHD_add_response_header(r, "Retry-After", a.retry_after);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)a.status, r);
    MHD_destroy_response(r);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    free(*con_cls);
    *con_cls = NULL;
}

static struct server *server_start(const struct scripted *script, int n)
{
    struct server *s = calloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    memcpy(s->script, script, (size_t)n * sizeof *script);
    s->n_script = n;
    s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
                                 on_request, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    ck_assert_ptr_nonnull(s->daemon);
    s->port = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT)->port;
    return s;
}

static void server_stop(struct server *s)
{
    MHD_stop_daemon(s->daemon);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* A client of s with fast retries (base 10 ms) unless told otherwise. */
static sluice_client *client_for(struct server *s, int max_retries)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", s->port);
    struct sluice_options o = {
        .base_url = url, .api_key = "sk_test", .max_retries = max_retries, .retry_base_ms = 10, .timeout_ms = 20000};
    struct sluice_error err;
    sluice_client *c = sluice_client_new(&o, &err);
    ck_assert_msg(c != NULL, "client: %s", err.message);
    return c;
}

/* ==== retries ============================================================================ */

/* An HTTP date (RFC 9110 IMF-fixdate) seconds_from_now seconds from now, into buf[64]. */
static const char *http_date(char *buf, long seconds_from_now)
{
    time_t when = time(NULL) + seconds_from_now;
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(buf, 64, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

START_TEST(test_retry_after_is_honoured)
{
    struct scripted script[] = {
        {429, "{\"error\":{\"code\":\"rate_limited\",\"message\":\"slow down\"}}", NULL, "1"},
        {200, "{\"id\":\"s1\",\"name\":\"orders\",\"version\":1}", NULL, NULL},
    };
    struct server *s = server_start(script, 2);
    sluice_client *c = client_for(s, 3);
    struct sluice_error err;
    json_t *out = NULL;
    ck_assert_int_eq(sluice_get(c, SLUICE_KIND_STREAM, "s1", &out, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(out, "name")), "orders");
    ck_assert_int_eq(s->count, 2);
    /* the retry came no earlier than Retry-After (1 s) said; no upper bound is asserted */
    ck_assert_int_ge(s->seen[1].at_ms - s->seen[0].at_ms, 1000);
    ck_assert_str_eq(s->seen[1].url, "/v1/streams/s1");
    json_decref(out);
    sluice_client_free(c);
    server_stop(s);
}
END_TEST

/* Retry-After as an HTTP date 3 s ahead: the retry waits until then (at least 1 s even if up to
 * 2 s pass before the answer is read; HTTP dates have whole seconds), where the backoff alone
 * (base 10 ms) would retry at once. A date in the past means: retry now. */
START_TEST(test_retry_after_http_date)
{
    char future[64], past[64];
    struct scripted script[] = {
        {503, "{\"error\":{\"code\":\"unavailable\",\"message\":\"busy\"}}", NULL, http_date(future, 3)},
        {429, "{\"error\":{\"code\":\"rate_limited\",\"message\":\"slow down\"}}", NULL, http_date(past, -3600)},
        {200, "{\"id\":\"s1\",\"name\":\"orders\",\"version\":1}", NULL, NULL},
    };
    struct server *s = server_start(script, 3);
    sluice_client *c = client_for(s, 3);
    struct sluice_error err;
    json_t *out = NULL;
    ck_assert_msg(sluice_get(c, SLUICE_KIND_STREAM, "s1", &out, &err) == 0, "%s", err.message);
    ck_assert_str_eq(json_string_value(json_object_get(out, "name")), "orders");
    ck_assert_int_eq(s->count, 3);
    long waited = s->seen[1].at_ms - s->seen[0].at_ms;
    ck_assert_msg(waited >= 1000, "retried %ld ms after a Retry-After date 3 s ahead (%s)", waited, future);
    json_decref(out);
    sluice_client_free(c);
    server_stop(s);
}
END_TEST

/* A server slower than the client's timeout: SLUICE_E_TIMEOUT (retriable, no HTTP status), and
 * the call gives up at the deadline instead of retrying past it. The bound is generous: the
 * timeout is 300 ms, the server answers after 3 s, the call must be back well before 5 s. */
START_TEST(test_timeout_against_a_slow_server)
{
    struct scripted script[] = {{200, "{\"id\":\"s1\"}", NULL, NULL}};
    struct server *s = server_start(script, 1);
    s->delay_ms = 3000;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s->port);
    struct sluice_options o = {.base_url = url, .max_retries = 3, .retry_base_ms = 10, .timeout_ms = 300};
    struct sluice_error err;
    sluice_client *c = sluice_client_new(&o, &err);
    ck_assert_ptr_nonnull(c);
    json_t *out = NULL;
    long start = mono_ms();
    ck_assert_int_eq(sluice_get(c, SLUICE_KIND_STREAM, "s1", &out, &err), -1);
    long elapsed = mono_ms() - start;
    ck_assert_ptr_null(out);
    ck_assert_msg(err.code == SLUICE_E_TIMEOUT, "code %s: %s", sluice_code_name(err.code), err.message);
    ck_assert(err.retriable);
    ck_assert_int_eq(err.http_status, 0);
    char want[96];
    snprintf(want, sizeof want, "no answer from %s", url);
    ck_assert_msg(strstr(err.message, want) != NULL, "message: %s", err.message);
    ck_assert_msg(elapsed < 5000, "a 300 ms timeout took %ld ms", elapsed);
    ck_assert_int_ge(elapsed, 250); /* it did wait for the server, about the timeout */
    sluice_client_free(c);
    server_stop(s); /* waits for the slow answer to finish */
}
END_TEST

START_TEST(test_503_exhausts_retries)
{
    struct scripted script[] = {
        {503, "{\"error\":{\"code\":\"unavailable\",\"message\":\"database down\"}}", NULL, NULL},
    };
    struct server *s = server_start(script, 1);
    sluice_client *c = client_for(s, 2);
    struct sluice_error err;
    json_t *out = NULL;
    ck_assert_int_eq(sluice_get(c, SLUICE_KIND_PIPELINE, "p1", &out, &err), -1);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(s->count, 3); /* the first attempt and two retries */
    ck_assert_int_eq(err.code, SLUICE_E_UNAVAILABLE);
    ck_assert_int_eq(err.http_status, 503);
    ck_assert(err.retriable);
    ck_assert_str_eq(err.message, "database down");
    ck_assert_str_eq(err.request_id, "req-2");
    sluice_client_free(c);
    server_stop(s);
}
END_TEST

START_TEST(test_post_retry_keeps_idempotency_key)
{
    struct scripted script[] = {
        {500, "{\"error\":{\"code\":\"internal\",\"message\":\"oops\"}}", NULL, NULL},
        {201, "{\"id\":\"p9\",\"name\":\"enrich\",\"version\":1}", NULL, NULL},
    };
    struct server *s = server_start(script, 2);
    sluice_client *c = client_for(s, 3);
    struct sluice_error err;
    json_t *body = json_pack("{s:s, s:s}", "name", "enrich", "sql", "INSERT INTO b SELECT * FROM a");
    json_t *out = NULL;
    ck_assert_int_eq(sluice_create(c, SLUICE_KIND_PIPELINE, body, &out, &err), 0);
    ck_assert_int_eq(s->count, 2);
    ck_assert_str_eq(s->seen[0].method, "POST");
    ck_assert_str_eq(s->seen[0].url, "/v1/pipelines");
    ck_assert_uint_eq(strlen(s->seen[0].idempotency_key), 32);
    ck_assert_str_eq(s->seen[0].idempotency_key, s->seen[1].idempotency_key);
    ck_assert_str_eq(s->seen[1].auth, "Bearer sk_test");
    json_t *sent = json_loads(s->seen[1].body, 0, NULL);
    ck_assert(json_equal(sent, body));
    json_decref(sent);
    json_decref(body);
    json_decref(out);
    sluice_client_free(c);
    server_stop(s);
}
END_TEST

START_TEST(test_no_retry_on_client_errors)
{
    struct scripted script[] = {
        {409, "{\"error\":{\"code\":\"conflict\",\"message\":\"name taken\"}}", NULL, NULL},
    };
    struct server *s = server_start(script, 1);
    sluice_client *c = client_for(s, 3);
    struct sluice_error err;
    json_t *body = json_pack("{s:s}", "name", "x");
    ck_assert_int_eq(sluice_create(c, SLUICE_KIND_STREAM, body, NULL, &err), -1);
    ck_assert_int_eq(s->count, 1);
    ck_assert_int_eq(err.code, SLUICE_E_CONFLICT);
    ck_assert(!err.retriable);
    json_decref(body);
    sluice_client_free(c);
    server_stop(s);
}
END_TEST

/* ==== pagination ========================================================================= */

START_TEST(test_pagination_three_pages)
{
    struct scripted script[] = {
        {200, "{\"items\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"next_cursor\":\"c2\"}", NULL, NULL},
        {200, "{\"items\":[{\"name\":\"c\"},{\"name\":\"d\"}],\"next_cursor\":\"c 3\"}", NULL, NULL},
        {200, "{\"items\":[{\"name\":\"e\"}],\"next_cursor\":null}", NULL, NULL},
    };
    struct server *s = server_start(script, 3);
    sluice_client *c = client_for(s, 0);
    struct sluice_error err;
    sluice_list *l = sluice_list_new(c, SLUICE_KIND_STREAM, NULL, 2);
    json_t *item;
    char names[16] = "";
    int r;
    while ((r = sluice_list_next(l, &item, &err)) == 1)
        strcat(names, json_string_value(json_object_get(item, "name")));
    ck_assert_int_eq(r, 0);
    ck_assert_str_eq(names, "abcde");
    ck_assert_int_eq(s->count, 3);
    ck_assert_str_eq(s->seen[0].url, "/v1/streams limit=2");
    ck_assert_str_eq(s->seen[1].url, "/v1/streams limit=2 cursor=c2");
    ck_assert_str_eq(s->seen[2].url, "/v1/streams limit=2 cursor=c 3"); /* escaped and decoded */
    ck_assert_int_eq(sluice_list_next(l, &item, &err), 0);              /* stays at the end */
    ck_assert_int_eq(s->count, 3);
    sluice_list_free(l);
    sluice_client_free(c);
    server_stop(s);
}
END_TEST

START_TEST(test_find_by_name)
{
    struct scripted script[] = {
        {200,
         "{\"items\":[{\"name\":\"orders2\",\"id\":\"x\"},{\"name\":\"orders\",\"id\":\"y\"}],"
         "\"next_cursor\":null}",
         NULL, NULL},
        {200, "{\"items\":[],\"next_cursor\":null}", NULL, NULL},
    };
    struct server *s = server_start(script, 2);
    sluice_client *c = client_for(s, 0);
    struct sluice_error err;
    json_t *out = NULL;
    ck_assert_int_eq(sluice_find(c, SLUICE_KIND_CONNECTION, "orders", &out, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(out, "id")), "y");
    ck_assert_str_eq(s->seen[0].url, "/v1/connections name=orders");
    json_decref(out);
    ck_assert_int_eq(sluice_find(c, SLUICE_KIND_CONNECTION, "nope", &out, &err), -1);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(err.code, SLUICE_E_NOT_FOUND);
    ck_assert_str_eq(err.message, "connection \"nope\" not found");
    sluice_client_free(c);
    server_stop(s);
}
END_TEST

START_TEST(test_list_without_items_is_bad_response)
{
    struct scripted script[] = {{200, "{\"things\":[]}", NULL, NULL}};
    struct server *s = server_start(script, 1);
    sluice_client *c = client_for(s, 0);
    struct sluice_error err;
    sluice_list *l = sluice_list_new(c, SLUICE_KIND_SECRET, NULL, 0);
    json_t *item;
    ck_assert_int_eq(sluice_list_next(l, &item, &err), -1);
    ck_assert_int_eq(err.code, SLUICE_E_BAD_RESPONSE);
    sluice_list_free(l);
    sluice_client_free(c);
    server_stop(s);
}
END_TEST

/* ==== error mapping ====================================================================== */

struct mapping_case {
    int status;
    const char *body;
    enum sluice_code code;
    bool retriable;
};

static const struct mapping_case mapping_cases[] = {
    {400, "{\"error\":{\"code\":\"invalid_json\",\"message\":\"m\"}}", SLUICE_E_INVALID_JSON, false},
    {400, "{\"error\":{\"code\":\"invalid_request\",\"message\":\"m\"}}", SLUICE_E_INVALID_REQUEST, false},
    {401, "{\"error\":{\"code\":\"unauthenticated\",\"message\":\"m\"}}", SLUICE_E_UNAUTHENTICATED, false},
    {403, "{\"error\":{\"code\":\"forbidden\",\"message\":\"m\"}}", SLUICE_E_FORBIDDEN, false},
    {404, "{\"error\":{\"code\":\"not_found\",\"message\":\"m\"}}", SLUICE_E_NOT_FOUND, false},
    {409, "{\"error\":{\"code\":\"conflict\",\"message\":\"m\"}}", SLUICE_E_CONFLICT, false},
    {412, "{\"error\":{\"code\":\"precondition_failed\",\"message\":\"m\"}}", SLUICE_E_PRECONDITION_FAILED, false},
    {413, "{\"error\":{\"code\":\"payload_too_large\",\"message\":\"m\"}}", SLUICE_E_PAYLOAD_TOO_LARGE, false},
    {415, "{\"error\":{\"code\":\"unsupported_media_type\",\"message\":\"m\"}}", SLUICE_E_UNSUPPORTED_MEDIA_TYPE,
     false},
    {422, "{\"error\":{\"code\":\"invalid_sql\",\"message\":\"m\",\"details\":{\"line\":1,\"column\":8}}}",
     SLUICE_E_INVALID_SQL, false},
    {429, "{\"error\":{\"code\":\"rate_limited\",\"message\":\"m\"}}", SLUICE_E_RATE_LIMITED, true},
    {500, "{\"error\":{\"code\":\"internal\",\"message\":\"m\"}}", SLUICE_E_INTERNAL, true},
    /* no usable body: the status decides */
    {404, "", SLUICE_E_NOT_FOUND, false},
    {401, "<html>no</html>", SLUICE_E_UNAUTHENTICATED, false},
    {502, "bad gateway", SLUICE_E_UNAVAILABLE, true},
    {418, "{}", SLUICE_E_SERVER, false},
    {501, "{}", SLUICE_E_SERVER, false},
};

START_TEST(test_error_mapping)
{
    const struct mapping_case *m = &mapping_cases[_i];
    struct scripted script[] = {{m->status, m->body, NULL, NULL}};
    struct server *s = server_start(script, 1);
    sluice_client *c = client_for(s, -1);
    struct sluice_error err;
    json_t *out = NULL;
    ck_assert_int_eq(sluice_get(c, SLUICE_KIND_STREAM, "id1", &out, &err), -1);
    ck_assert_int_eq(s->count, 1);
    ck_assert_msg(err.code == m->code, "status %d: code %s, expected %s", m->status, sluice_code_name(err.code),
                  sluice_code_name(m->code));
    ck_assert_int_eq(err.http_status, m->status);
    ck_assert_int_eq(err.retriable, m->retriable);
    ck_assert_str_eq(err.request_id, "req-0");
    if (strstr(m->body, "\"message\":\"m\""))
        ck_assert_str_eq(err.message, "m");
    else
        ck_assert_ptr_nonnull(strstr(err.message, "HTTP "));
    if (m->code == SLUICE_E_INVALID_SQL)
        ck_assert_str_eq(err.details, "{\"line\":1,\"column\":8}");
    sluice_client_free(c);
    server_stop(s);
}
END_TEST

START_TEST(test_code_names_round_trip)
{
    for (int code = SLUICE_E_INVALID_JSON; code <= SLUICE_E_INTERNAL; code++)
        ck_assert_int_eq(sluice_code_from_api(sluice_code_name((enum sluice_code)code), 0), code);
    ck_assert_int_eq(sluice_code_from_api("no_such_code", 404), SLUICE_E_NOT_FOUND);
    ck_assert_int_eq(sluice_code_from_api(NULL, 504), SLUICE_E_UNAVAILABLE);
}
END_TEST

START_TEST(test_malformed_json_from_server)
{
    struct scripted script[] = {{200, "{\"id\": \"s1\", ", NULL, NULL}};
    struct server *s = server_start(script, 1);
    sluice_client *c = client_for(s, 3);
    struct sluice_error err;
    json_t *out = NULL;
    ck_assert_int_eq(sluice_get(c, SLUICE_KIND_STREAM, "s1", &out, &err), -1);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(err.code, SLUICE_E_BAD_RESPONSE);
    ck_assert(!err.retriable);
    ck_assert_int_eq(s->count, 1);
    ck_assert_int_eq(err.http_status, 200);
    ck_assert_ptr_nonnull(strstr(err.message, "malformed JSON"));
    sluice_client_free(c);
    server_stop(s);
}
END_TEST

START_TEST(test_unreachable_server)
{
    struct scripted script[] = {{200, "{}", NULL, NULL}};
    struct server *s = server_start(script, 1);
    sluice_client *c = client_for(s, 1);
    server_stop(s); /* nothing listens on the port any more */
    struct sluice_error err;
    ck_assert_int_eq(sluice_me(c, NULL, &err), -1);
    ck_assert_int_eq(err.code, SLUICE_E_TRANSPORT);
    ck_assert(err.retriable);
    ck_assert_int_eq(err.http_status, 0);
    ck_assert_ptr_nonnull(strstr(err.message, "cannot reach the API at http://127.0.0.1:"));
    sluice_client_free(c);
}
END_TEST

START_TEST(test_bad_options)
{
    struct sluice_error err;
    struct sluice_options o = {.base_url = "ftp://x"};
    ck_assert_ptr_null(sluice_client_new(&o, &err));
    ck_assert_int_eq(err.code, SLUICE_E_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(err.message, "https://"));
    o.base_url = NULL;
    ck_assert_ptr_null(sluice_client_new(&o, &err));
    ck_assert_str_eq(err.message, "no API URL given");
    sluice_client_free(NULL);
}
END_TEST

/* ==== requests =========================================================================== */

START_TEST(test_update_sends_if_match)
{
    struct scripted script[] = {{200, "{\"id\":\"p1\",\"version\":4}", NULL, NULL}};
    struct server *s = server_start(script, 1);
    sluice_client *c = client_for(s, 0);
    struct sluice_error err;
    json_t *patch = json_pack("{s:s}", "sql", "INSERT INTO b SELECT 1 FROM a"), *out = NULL;
    ck_assert_int_eq(sluice_update(c, SLUICE_KIND_PIPELINE, "p 1", patch, 3, &out, &err), 0);
    ck_assert_str_eq(s->seen[0].method, "PATCH");
    ck_assert_str_eq(s->seen[0].url, "/v1/pipelines/p 1");
    ck_assert_str_eq(s->seen[0].if_match, "\"3\"");
    ck_assert_int_eq(json_integer_value(json_object_get(out, "version")), 4);
    json_decref(out);
    json_decref(patch);
    sluice_client_free(c);
    server_stop(s);
}
END_TEST

START_TEST(test_delete_and_activate)
{
    struct scripted script[] = {
        {204, NULL, NULL, NULL},
        {200, "{\"id\":\"c1\",\"desired_state\":\"running\"}", NULL, NULL},
    };
    struct server *s = server_start(script, 2);
    sluice_client *c = client_for(s, 0);
    struct sluice_error err;
    json_t *out = NULL;
    ck_assert_int_eq(sluice_delete(c, SLUICE_KIND_SECRET, "k1", &err), 0);
    ck_assert_str_eq(s->seen[0].method, "DELETE");
    ck_assert_str_eq(s->seen[0].url, "/v1/secrets/k1");
    ck_assert_int_eq(sluice_set_active(c, SLUICE_KIND_CONNECTION, "c1", true, &out, &err), 0);
    ck_assert_str_eq(s->seen[1].method, "POST");
    ck_assert_str_eq(s->seen[1].url, "/v1/connections/c1/activate");
    ck_assert_str_eq(json_string_value(json_object_get(out, "desired_state")), "running");
    json_decref(out);
    ck_assert_int_eq(sluice_set_active(c, SLUICE_KIND_STREAM, "s1", true, &out, &err), -1);
    ck_assert_int_eq(err.code, SLUICE_E_ARGUMENT);
    ck_assert_int_eq(s->count, 2);
    sluice_client_free(c);
    server_stop(s);
}
END_TEST

START_TEST(test_send_events)
{
    struct scripted script[] = {
        {200, "{\"accepted\":2,\"partition\":0,\"offsets\":{\"first\":5,\"last\":6}}", NULL, NULL},
        {422,
         "{\"error\":{\"code\":\"invalid_events\",\"message\":\"1 of the events is invalid\",\"details\":"
         "{\"errors\":[{\"index\":1,\"field\":\"n\",\"reason\":\"expected an integer\"}],\"invalid_count\":1}}}",
         NULL, NULL},
        {409, "{\"error\":{\"code\":\"not_active\",\"message\":\"not active\",\"details\":{}}}", NULL, NULL},
    };
    struct server *s = server_start(script, 3);
    sluice_client *c = client_for(s, 0);
    struct sluice_error err;
    json_t *out = NULL, *events = json_pack("[{s:i},{s:i}]", "n", 1, "n", 2);
    ck_assert_int_eq(sluice_connection_send_events(c, "c1", events, &out, &err), 0);
    ck_assert_str_eq(s->seen[0].method, "POST");
    ck_assert_str_eq(s->seen[0].url, "/v1/connections/c1/events");
    ck_assert_str_eq(s->seen[0].body, "{\"events\":[{\"n\":1},{\"n\":2}]}");
    ck_assert_str_ne(s->seen[0].idempotency_key, "");
    ck_assert_int_eq(json_integer_value(json_object_get(out, "accepted")), 2);
    json_decref(out);
    out = NULL;
    ck_assert_int_eq(sluice_connection_send_events(c, "c1", events, &out, &err), -1);
    ck_assert_int_eq(err.code, SLUICE_E_INVALID_EVENTS);
    ck_assert_int_eq(err.http_status, 422);
    ck_assert_ptr_nonnull(strstr(err.details, "\"field\":\"n\""));
    ck_assert_int_eq(sluice_connection_send_events(c, "c1", events, &out, &err), -1);
    ck_assert_int_eq(err.code, SLUICE_E_NOT_ACTIVE);
    ck_assert_str_eq(sluice_code_name(SLUICE_E_WRONG_CONNECTOR), "wrong_connector");
    /* bad arguments never reach the server */
    json_t *empty = json_array(), *object = json_object();
    ck_assert_int_eq(sluice_connection_send_events(c, "c1", empty, &out, &err), -1);
    ck_assert_int_eq(err.code, SLUICE_E_ARGUMENT);
    ck_assert_int_eq(sluice_connection_send_events(c, "c1", object, &out, &err), -1);
    ck_assert_int_eq(err.code, SLUICE_E_ARGUMENT);
    ck_assert_int_eq(sluice_connection_send_events(c, "", events, &out, &err), -1);
    ck_assert_int_eq(err.code, SLUICE_E_ARGUMENT);
    ck_assert_int_eq(s->count, 3);
    json_decref(empty);
    json_decref(object);
    json_decref(events);
    sluice_client_free(c);
    server_stop(s);
}
END_TEST

/* Task events, status and the audit trail: the paths and query arguments sent, and a plan quota
 * refusal (403 quota_exceeded) mapped to its own code, not to forbidden. */
START_TEST(test_events_status_audit_and_quota)
{
    struct scripted script[] = {
        {200, "{\"items\":[{\"id\":7,\"ts\":\"t\",\"event\":\"started\",\"message\":\"\",\"restarts\":0}]}", NULL,
         NULL},
        {200, "{\"items\":[]}", NULL, NULL},
        {200, "{\"id\":\"p1\",\"actual_state\":\"running\",\"tasks\":[{\"index\":0,\"state\":\"running\"}]}", NULL,
         NULL},
        {200, "{\"items\":[{\"id\":\"9\",\"action\":\"create\"}],\"next_cursor\":\"9\"}", NULL, NULL},
        {403,
         "{\"error\":{\"code\":\"quota_exceeded\",\"message\":\"your plan allows 2 pipelines\",\"details\":"
         "{\"resource\":\"pipelines\",\"limit\":2,\"requested\":3}}}",
         NULL, NULL},
        {403, "{\"error\":{\"code\":\"forbidden\",\"message\":\"admins only\"}}", NULL, NULL},
    };
    struct server *s = server_start(script, 6);
    sluice_client *c = client_for(s, 3);
    struct sluice_error err;
    json_t *out = NULL;
    ck_assert_int_eq(sluice_events(c, SLUICE_KIND_PIPELINE, "p1", 0, 0, &out, &err), 0);
    ck_assert_str_eq(s->seen[0].method, "GET");
    ck_assert_str_eq(s->seen[0].url, "/v1/pipelines/p1/events");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(out, "items"), 0), "event")),
                     "started");
    json_decref(out);
    ck_assert_int_eq(sluice_events(c, SLUICE_KIND_CONNECTION, "c1", 7, 1000, &out, &err), 0);
    ck_assert_str_eq(s->seen[1].url, "/v1/connections/c1/events limit=1000 since_id=7");
    json_decref(out);
    ck_assert_int_eq(sluice_status(c, SLUICE_KIND_PIPELINE, "p1", &out, &err), 0);
    ck_assert_str_eq(s->seen[2].url, "/v1/pipelines/p1/status");
    ck_assert_str_eq(json_string_value(json_object_get(out, "actual_state")), "running");
    json_decref(out);
    ck_assert_int_eq(sluice_audit_events(c, "12", 5, &out, &err), 0);
    ck_assert_str_eq(s->seen[3].url, "/v1/audit-events limit=5 cursor=12");
    ck_assert_str_eq(json_string_value(json_object_get(out, "next_cursor")), "9");
    json_decref(out);
    out = NULL;
    ck_assert_int_eq(sluice_create(c, SLUICE_KIND_PIPELINE, NULL, &out, &err), -1);
    ck_assert_int_eq(err.code, SLUICE_E_QUOTA_EXCEEDED);
    ck_assert_int_eq(err.http_status, 403);
    ck_assert(!err.retriable);
    ck_assert_str_eq(sluice_code_name(err.code), "quota_exceeded");
    ck_assert_ptr_nonnull(strstr(err.details, "\"limit\":2"));
    ck_assert_int_eq(sluice_audit_events(c, NULL, 0, &out, &err), -1);
    ck_assert_int_eq(err.code, SLUICE_E_FORBIDDEN);
    ck_assert_str_eq(s->seen[5].url, "/v1/audit-events");
    ck_assert_int_eq(s->count, 6); /* a quota refusal is not retried */
    /* streams have neither events nor status: refused before any request */
    ck_assert_int_eq(sluice_events(c, SLUICE_KIND_STREAM, "s1", 0, 0, &out, &err), -1);
    ck_assert_int_eq(err.code, SLUICE_E_ARGUMENT);
    ck_assert_int_eq(sluice_status(c, SLUICE_KIND_SECRET, "k1", &out, &err), -1);
    ck_assert_int_eq(err.code, SLUICE_E_ARGUMENT);
    ck_assert_int_eq(s->count, 6);
    sluice_client_free(c);
    server_stop(s);
}
END_TEST

static int collect_line(const char *line, void *user)
{
    char *acc = user;
    strcat(acc, line);
    strcat(acc, "|");
    return 0;
}

START_TEST(test_logs_event_stream_and_json)
{
    struct scripted script[] = {
        {200, ": hello\n\ndata: first line\n\nevent: log\ndata: second\r\n\n", "text/event-stream", NULL},
        {200, "{\"items\":[{\"ts\":\"t1\",\"level\":\"info\",\"message\":\"started\"},\"plain\"]}", NULL, NULL},
    };
    struct server *s = server_start(script, 2);
    sluice_client *c = client_for(s, 0);
    struct sluice_error err;
    char lines[256] = "";
    ck_assert_int_eq(sluice_logs(c, SLUICE_KIND_PIPELINE, "p1", true, collect_line, lines, &err), 0);
    ck_assert_str_eq(lines, "first line|second|");
    ck_assert_str_eq(s->seen[0].url, "/v1/pipelines/p1/logs follow=true");
    lines[0] = '\0';
    ck_assert_int_eq(sluice_logs(c, SLUICE_KIND_PIPELINE, "p1", false, collect_line, lines, &err), 0);
    ck_assert_str_eq(lines, "t1 info started|plain|");
    sluice_client_free(c);
    server_stop(s);
}
END_TEST

/* The real server's stream: JSON data per "log" event, ids, keepalives, and an "end" event
 * after its timeout, upon which a follow with time left resumes after the last id. */
START_TEST(test_logs_follow_resumes_after_end)
{
    struct scripted script[] = {
        {200,
         ": keepalive\n\nid: 7\nevent: log\ndata: {\"id\":7,\"ts\":\"t1\",\"level\":\"info\","
         "\"message\":\"started\"}\n\n: keepalive\n\nevent: end\ndata: {\"reason\":\"timeout\"}\n\n",
         "text/event-stream", NULL},
        {200, "id: 8\nevent: log\ndata: {\"ts\":\"t2\",\"level\":\"warn\",\"message\":\"slow\"}\n\n",
         "text/event-stream", NULL},
    };
    struct server *s = server_start(script, 2);
    sluice_client *c = client_for(s, 0);
    struct sluice_error err;
    char lines[256] = "";
    ck_assert_int_eq(sluice_logs_follow(c, SLUICE_KIND_CONNECTION, "c1", 30000, collect_line, lines, &err), 0);
    ck_assert_str_eq(lines, "t1 info started|t2 warn slow|");
    ck_assert_int_eq(s->count, 2);
    ck_assert_str_eq(s->seen[0].url, "/v1/connections/c1/logs follow=true timeout=30");
    ck_assert_int_eq(strncmp(s->seen[1].url, "/v1/connections/c1/logs follow=true timeout=", 44), 0);
    ck_assert_ptr_nonnull(strstr(s->seen[1].url, " since_id=7"));
    sluice_client_free(c);
    server_stop(s);
}
END_TEST

static void *hammer(void *arg)
{
    sluice_client *c = arg;
    long ok = 0;
    for (int i = 0; i < 10; i++) {
        struct sluice_error err;
        json_t *out = NULL;
        if (sluice_get(c, SLUICE_KIND_STREAM, "s1", &out, &err) == 0 && json_is_object(out))
            ok++;
        json_decref(out);
    }
    return (void *)ok;
}

START_TEST(test_one_handle_many_threads)
{
    struct scripted script[] = {{200, "{\"id\":\"s1\"}", NULL, NULL}};
    struct server *s = server_start(script, 1);
    sluice_client *c = client_for(s, 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, c);
    long total = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        total += (long)r;
    }
    ck_assert_int_eq(total, 40);
    ck_assert_int_eq(s->count, 40);
    sluice_client_free(c);
    server_stop(s);
}
END_TEST

START_TEST(test_kinds)
{
    enum sluice_kind k;
    ck_assert_int_eq(sluice_kind_parse("pipelines", &k), 0);
    ck_assert_int_eq(k, SLUICE_KIND_PIPELINE);
    ck_assert_int_eq(sluice_kind_parse("api-key", &k), 0);
    ck_assert_str_eq(sluice_kind_collection(k), "api-keys");
    ck_assert_int_eq(sluice_kind_parse("stream", &k), 0);
    ck_assert(!sluice_kind_runnable(k));
    ck_assert_int_eq(sluice_kind_parse("widget", &k), -1);
    ck_assert_int_eq(sluice_kind_parse(NULL, &k), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sdk_client");
    TCase *tc = tcase_create("client");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_retry_after_is_honoured);
    tcase_add_test(tc, test_retry_after_http_date);
    tcase_add_test(tc, test_timeout_against_a_slow_server);
    tcase_add_test(tc, test_503_exhausts_retries);
    tcase_add_test(tc, test_post_retry_keeps_idempotency_key);
    tcase_add_test(tc, test_no_retry_on_client_errors);
    tcase_add_test(tc, test_pagination_three_pages);
    tcase_add_test(tc, test_find_by_name);
    tcase_add_test(tc, test_list_without_items_is_bad_response);
    tcase_add_loop_test(tc, test_error_mapping, 0, (int)(sizeof mapping_cases / sizeof mapping_cases[0]));
    tcase_add_test(tc, test_code_names_round_trip);
    tcase_add_test(tc, test_malformed_json_from_server);
    tcase_add_test(tc, test_unreachable_server);
    tcase_add_test(tc, test_bad_options);
    tcase_add_test(tc, test_update_sends_if_match);
    tcase_add_test(tc, test_delete_and_activate);
    tcase_add_test(tc, test_send_events);
    tcase_add_test(tc, test_events_status_audit_and_quota);
    tcase_add_test(tc, test_logs_event_stream_and_json);
    tcase_add_test(tc, test_logs_follow_resumes_after_end);
    tcase_add_test(tc, test_one_handle_many_threads);
    tcase_add_test(tc, test_kinds);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
