/* sdk_fake_preview.c — a scripted stand-in for POST /v1/preview, which the real api does
 * not serve yet, so that tests/integration/0520 can drive `sluice preview` (activation, logs
 * and usage are tested against the real api and controlplane in 0530). Plain HTTP on
 * 127.0.0.1; prints its port, then serves until killed.
 *
 * Preview answers `limit` rows, or 422 invalid_sql when the SQL holds the word "bogus". */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

struct upload {
    char body[4096];
    size_t len;
};

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
        fprintf(stderr, "sdk_fake_preview: cannot start\n");
        return 1;
    }
    printf("%u\n", (unsigned)MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
    fflush(stdout);
    for (;;)
        pause();
}
