/* sdk_fake_controlplane.c — a scripted stand-in for the API endpoints that need the control
 * plane (activation reaching a state, logs, usage, preview), so that tests/integration/0520
 * can drive the CLI's side of them before the real control plane exists. Plain HTTP on
 * 127.0.0.1; prints its port, then serves until killed.
 *
 * Pipelines: "good" (starting, then running after two reads), "broken" (failed, with a
 * last_error). Logs of "good": three lines, as an event stream with ?follow=true, else JSON.
 * Usage echoes its query. Preview answers `limit` rows, or 422 invalid_sql when the SQL holds
 * the word "bogus". */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

struct upload {
    char body[4096];
    size_t len;
};

static int good_reads; /* GETs of pipeline "good" since its activation */

static json_t *pipeline(const char *name)
{
    bool good = strcmp(name, "good") == 0;
    const char *state = good ? (good_reads >= 2 ? "running" : "starting") : "failed";
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:i}", "id", good ? "p-good" : "p-broken", "name",
                     name, "desired_state", "running", "actual_state", state, "last_error",
                     good ? json_null() : json_string("sink unreachable: connection refused"),
                     "version", 1);
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *type,
                                 const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "X-Request-Id", "req_fake");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    enum MHD_Result ret = send_text(c, status, "application/json", text ? text : "{}");
    free(text);
    return ret;
}

static enum MHD_Result not_found(struct MHD_Connection *c, const char *method, const char *url)
{
    char message[512];
    snprintf(message, sizeof message, "no such endpoint: %s %s", method, url);
    return send_json(c, 404, json_pack("{s:{s:s, s:s}}", "error", "code", "not_found", "message",
                                       message));
}

/* ---- routes ---------------------------------------------------------------------------------- */

typedef enum MHD_Result (*route_fn)(struct MHD_Connection *c, const char *url, const char *body);

static enum MHD_Result list_pipelines(struct MHD_Connection *c, const char *url, const char *body)
{
    const char *name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name");
    json_t *items = json_array();
    if (name && (strcmp(name, "good") == 0 || strcmp(name, "broken") == 0))
        json_array_append_new(items, pipeline(name));
    return send_json(c, 200, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
}

static enum MHD_Result get_good(struct MHD_Connection *c, const char *url, const char *body)
{
    good_reads++;
    return send_json(c, 200, pipeline("good"));
}

static enum MHD_Result get_broken(struct MHD_Connection *c, const char *url, const char *body)
{
    return send_json(c, 200, pipeline("broken"));
}

static enum MHD_Result activate_good(struct MHD_Connection *c, const char *url, const char *body)
{
    good_reads = 0;
    return send_json(c, 200, pipeline("good"));
}

static enum MHD_Result activate_broken(struct MHD_Connection *c, const char *url, const char *body)
{
    return send_json(c, 200, pipeline("broken"));
}

static enum MHD_Result logs_good(struct MHD_Connection *c, const char *url, const char *body)
{
    const char *follow = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "follow");
    if (follow && strcmp(follow, "true") == 0)
        return send_text(c, 200, "text/event-stream",
                         ": connected\n\ndata: 2026-11-25T00:00:00Z info task 0 started\n\n"
                         "event: log\ndata: 2026-11-25T00:00:01Z info read 1000 records\n\n"
                         "data: 2026-11-25T00:00:02Z warn slow sink\n\n");
    return send_json(c, 200,
                     json_pack("{s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}]}", "items", "ts",
                               "2026-11-25T00:00:00Z", "level", "info", "message", "task 0 started",
                               "ts", "2026-11-25T00:00:01Z", "level", "info", "message",
                               "read 1000 records"));
}

static enum MHD_Result usage(struct MHD_Connection *c, const char *url, const char *body)
{
    const char *from = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "from");
    const char *to = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "to");
    return send_json(c, 200,
                     json_pack("{s:s?, s:s?, s:[{s:s, s:f, s:i}, {s:s, s:f, s:i}]}", "from", from,
                               "to", to, "items", "resource", "pipeline/good", "task_hours", 1.5,
                               "records_in", 1000, "resource", "connection/src", "task_hours",
                               0.25, "records_in", 20));
}

static enum MHD_Result preview(struct MHD_Connection *c, const char *url, const char *body)
{
    json_t *req = json_loads(body, 0, NULL);
    const char *sql = json_string_value(json_object_get(req, "sql"));
    json_int_t limit = json_integer_value(json_object_get(req, "limit"));
    if (!sql || strstr(sql, "bogus")) {
        json_decref(req);
        return send_json(c, 422, json_pack("{s:{s:s, s:s, s:{s:i, s:i}}}", "error", "code",
                                           "invalid_sql", "message", "column \"bogus\" not found",
                                           "details", "line", 1, "column", 8));
    }
    json_t *rows = json_array();
    for (json_int_t i = 0; i < limit; i++)
        json_array_append_new(rows, json_pack("{s:I, s:I}", "auction", (json_int_t)(1000 + i),
                                              "price", (json_int_t)(10 * i)));
    json_decref(req);
    return send_json(c, 200, json_pack("{s:o}", "rows", rows));
}

struct route {
    const char *method;
    const char *path;
    route_fn fn;
};

static const struct route routes[] = {
    {"GET", "/v1/pipelines", list_pipelines},
    {"GET", "/v1/pipelines/p-good", get_good},
    {"GET", "/v1/pipelines/p-broken", get_broken},
    {"POST", "/v1/pipelines/p-good/activate", activate_good},
    {"POST", "/v1/pipelines/p-broken/activate", activate_broken},
    {"GET", "/v1/pipelines/p-good/logs", logs_good},
    {"GET", "/v1/usage", usage},
    {"POST", "/v1/preview", preview},
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **state)
{
    struct upload *up = *state;
    if (!up) {
        *state = calloc(1, sizeof *up);
        return *state ? MHD_YES : MHD_NO;
    }
    if (*size) {
        size_t n = *size < sizeof up->body - 1 - up->len ? *size : sizeof up->body - 1 - up->len;
        memcpy(up->body + up->len, data, n);
        up->len += n;
        *size = 0;
        return MHD_YES;
    }
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(routes[i].method, method) == 0 && strcmp(routes[i].path, url) == 0)
            return routes[i].fn(c, url, up->body);
    return not_found(c, method, url);
}

static void on_done(void *cls, struct MHD_Connection *c, void **state,
                    enum MHD_RequestTerminationCode why)
{
    free(*state);
    *state = NULL;
}

int main(void)
{
    struct sockaddr_in loopback = {.sin_family = AF_INET, .sin_port = 0};
    loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&loopback, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "sdk_fake_controlplane: cannot start\n");
        return 1;
    }
    printf("%u\n", (unsigned)MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
    fflush(stdout);
    for (;;)
        pause();
}
