/* http_sink.c — a small HTTP receiver for the webhook sink tests (libmicrohttpd, plain HTTP).
 *
 *   http_sink --out FILE [--port P] [--fail-first N] [--fail-status S] [--retry-after V]
 *             [--reject-path PATH] [--fail-for-ms MS]
 *
 * Prints the port it listens on (a free one when --port is 0 or absent) as the first line of
 * stdout, then one line per request: "STATUS METHOD PATH BATCH CONTENT-TYPE AUTHORIZATION" (the
 * values of X-Sluice-Batch, Content-Type and Authorization, "-" when absent). A request to any
 * path but --reject-path gets 200 and its body is appended to FILE (with a newline after it when
 * it has none), except the first N such requests, answered S (default 503) with a Retry-After: V
 * header when given; with --fail-for-ms, also every request until MS milliseconds after the
 * first one (an endpoint down for a while). A request to --reject-path always gets 400 with a
 * short JSON body. Runs until SIGTERM or SIGINT. */
#include <limits.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

#include "common/options.h"
#include "common/signals.h"

struct sink_config {
    char *out, *reject_path, *retry_after; /* malloc'd by option_store */
    long port, fail_first, fail_status, fail_for_ms;
    long failed;
    long long first_ms; /* CLOCK_MONOTONIC of the first request, 0: none yet */
};

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct upload {
    char *data;
    size_t len;
};

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned int status, const char *body,
                               const char *retry_after)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (retry_after)
        MHD_add_response_header(r, "Retry-After", retry_after);
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *data, size_t *size, void **state)
{
    struct sink_config *c = cls;
    struct upload *u = *state;
    if (!u) {
        u = calloc(1, sizeof *u);
        if (!u)
            return MHD_NO;
        *state = u;
        return MHD_YES;
    }
    if (*size) {
        char *d = realloc(u->data, u->len + *size);
        if (!d)
            return MHD_NO;
        u->data = d;
        memcpy(u->data + u->len, data, *size);
        u->len += *size;
        *size = 0;
        return MHD_YES;
    }
    const char *batch = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Sluice-Batch");
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    unsigned int status = 200;
    const char *body = "{\"ok\":true}";
    if (!c->first_ms)
        c->first_ms = mono_ms();
    bool down = mono_ms() - c->first_ms < c->fail_for_ms;
    if (c->reject_path && strcmp(url, c->reject_path) == 0) {
        status = 400;
        body = "{\"error\":\"this endpoint rejects every request\"}";
    } else if (c->failed < c->fail_first || down) {
        c->failed++;
        status = (unsigned int)c->fail_status;
        body = "{\"error\":\"try again later\"}";
    } else {
        FILE *f = fopen(c->out, "a");
        if (!f || fwrite(u->data ? u->data : "", 1, u->len, f) != u->len ||
            ((u->len == 0 || u->data[u->len - 1] != '\n') && fputc('\n', f) == EOF) || fclose(f) != 0) {
            status = 500;
            body = "{\"error\":\"cannot write\"}";
        }
    }
    printf("%u %s %s %s %s %s\n", status, method, url, batch ? batch : "-", type ? type : "-", auth ? auth : "-");
    fflush(stdout);
    return respond(conn, status, body, status != 200 && status != 400 ? c->retry_after : NULL);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state, enum MHD_RequestTerminationCode code)
{
    struct upload *u = *state;
    if (u) {
        free(u->data);
        free(u);
    }
    *state = NULL;
}

/* Options, one row each (common/options.h): --NAME VALUE. */
static const struct option_row http_sink_rows[] = {
    {.name = "out", .type = OPTION_STRING, OPTION_FIELD(struct sink_config, out)},
    {.name = "reject-path", .type = OPTION_STRING, OPTION_FIELD(struct sink_config, reject_path)},
    {.name = "retry-after", .type = OPTION_STRING, OPTION_FIELD(struct sink_config, retry_after)},
    {.name = "port", .type = OPTION_INT, .def = "0", .max = 65535, OPTION_FIELD(struct sink_config, port)},
    {.name = "fail-first",
     .type = OPTION_INT,
     .def = "0",
     .max = LONG_MAX,
     OPTION_FIELD(struct sink_config, fail_first)},
    {.name = "fail-status",
     .type = OPTION_INT,
     .def = "503",
     .min = 100,
     .max = 599,
     OPTION_FIELD(struct sink_config, fail_status)},
    {.name = "fail-for-ms",
     .type = OPTION_INT,
     .def = "0",
     .max = LONG_MAX,
     OPTION_FIELD(struct sink_config, fail_for_ms)},
};
static const struct option_table http_sink_options = OPTION_TABLE(NULL, http_sink_rows);

int main(int argc, char **argv)
{
    struct sink_config c = {0};
    char err[600];
    if (option_table_apply(&http_sink_options, NULL, NULL, &c, err, sizeof err) != 0) {
        fprintf(stderr, "http_sink: %s\n", err);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const struct option_row *o =
            strncmp(argv[i], "--", 2) == 0 ? option_find(&http_sink_options, argv[i] + 2) : NULL;
        if (!o || i + 1 >= argc) {
            fprintf(stderr, "usage: http_sink --out FILE [--port P] [--fail-first N] [--fail-status S] "
                            "[--retry-after V] [--reject-path PATH] [--fail-for-ms MS]\n");
            return 2;
        }
        if (option_store(&http_sink_options, o, argv[++i], &c, err, sizeof err) != 0) {
            fprintf(stderr, "http_sink: %s\n", err);
            return 2;
        }
    }
    if (!c.out) {
        fprintf(stderr, "http_sink: --out FILE is required\n");
        return 2;
    }
    /* the daemon's thread inherits the mask: the signals reach sigwait below */
    sigset_t stop;
    signals_block_stop(&stop);
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)c.port, NULL, NULL, on_request,
                         &c, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "http_sink: cannot listen on port %ld\n", c.port);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("%u\n", info ? (unsigned)info->port : 0u);
    fflush(stdout);
    int sig;
    sigwait(&stop, &sig);
    MHD_stop_daemon(d);
    option_table_free(&http_sink_options, &c);
    return 0;
}
