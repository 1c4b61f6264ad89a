/* webhook_sink.c — the webhook sink connector over libcurl (see webhook_sink.h): options,
 * request bodies, retries with backoff, one easy handle (kept-alive connection) per writer. */
#include "dataplane/connectors/webhook_sink.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/clock.h"

#define WEBHOOK_BODY_QUOTE 200  /* bytes of an answer's body quoted in an error */
#define WEBHOOK_PROGRESS_MS 500 /* longest sleep between two progress calls while retrying */

/* ---------------------------------------------------------------- pure parts */

int webhook_body_add(struct json_buf *b, enum webhook_format f, size_t count, const char *data, size_t len)
{
    if (json_buf_reserve(b, len + 2) != 0)
        return -1;
    if (f == WEBHOOK_JSON)
        b->data[b->len++] = count == 0 ? '[' : ',';
    memcpy(b->data + b->len, data, len);
    b->len += len;
    if (f == WEBHOOK_NDJSON)
        b->data[b->len++] = '\n';
    return 0;
}

int webhook_body_finish(struct json_buf *b, enum webhook_format f, size_t count)
{
    if (f != WEBHOOK_JSON)
        return 0;
    if (json_buf_reserve(b, 2) != 0)
        return -1;
    if (count == 0)
        b->data[b->len++] = '[';
    b->data[b->len++] = ']';
    return 0;
}

enum webhook_verdict webhook_verdict_of(long status)
{
    if (status >= 200 && status < 300)
        return WEBHOOK_DELIVERED;
    if (status == 0 || status == 408 || status == 429 || (status >= 500 && status < 600))
        return WEBHOOK_RETRY;
    return WEBHOOK_FAIL;
}

long webhook_backoff_ms(int attempt, long initial_ms, long max_ms, long retry_after_ms)
{
    long wait = retry_after_ms;
    if (wait < 0) {
        wait = initial_ms;
        for (int i = 1; i < attempt && wait < max_ms; i++)
            wait *= 2;
    }
    return wait > max_ms ? max_ms : wait;
}

long webhook_retry_after_ms(const char *value, time_t now)
{
    while (*value == ' ' || *value == '\t')
        value++;
    if (*value >= '0' && *value <= '9') {
        char *end;
        errno = 0;
        long s = strtol(value, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (errno || *end || s > 86400)
            return -1;
        return s * 1000;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end)
        return -1;
    time_t at = timegm(&tm);
    return at <= now ? 0 : (long)(at - now) * 1000;
}

void webhook_url_redact(const char *url, char *out, size_t outlen)
{
    const char *scheme_end = strstr(url, "://");
    const char *host = scheme_end ? scheme_end + 3 : url;
    size_t path_at = strcspn(host, "/?#");
    const char *at = memchr(host, '@', path_at);
    const char *rest = at ? at + 1 : host;
    size_t keep = strcspn(rest, "?#");
    snprintf(out, outlen, "%.*s%.*s", (int)(host - url), url, (int)keep, rest);
}

/* ---------------------------------------------------------------- writer */

struct webhook_writer {
    CURL *curl;
    char url[2048]; /* redacted, for messages */
    char curl_err[CURL_ERROR_SIZE];
    enum webhook_format format;
    long batch_size, timeout_ms, retry_max, backoff_ms, max_backoff_ms, linger_ms;
    struct curl_slist *headers; /* the fixed ones */
    struct json_buf body;
    size_t count;     /* records in body */
    int64_t first_ms; /* when the first of them came */
    char answer[WEBHOOK_BODY_QUOTE + 1];
    size_t answer_len;
    long retry_after_ms; /* of the last answer, -1: none */
    int64_t opened_ms;
    int partition;
    uint64_t sequence;           /* requests sent */
    stream_progress_fn progress; /* called while waiting between attempts (may be NULL) */
    void *progress_ctx;
};

static const char *const webhook_methods[] = {"POST", "PUT", NULL};
static const char *const webhook_formats[] = {"json", "ndjson", NULL};

/* The options of a webhook sink, one row each; the whole numbers go into the writer. */
#define WEBHOOK_NUMBER(key, def_text, lo, hi, field, help_text)                                                        \
    {                                                                                                                  \
        .name = key, .type = OPTION_INT, .def = def_text, .min = lo, .max = hi, .help = help_text,                     \
        OPTION_FIELD(struct webhook_writer, field)                                                                     \
    }
static const struct option_row webhook_options[] = {
    {.name = "url", .type = OPTION_STRING, .flags = OPTION_REQUIRED, .help = "http:// or https:// endpoint"},
    {.name = "method", .type = OPTION_ENUM, .def = "POST", .values = webhook_methods},
    {.name = "format", .type = OPTION_ENUM, .def = "json", .values = webhook_formats, .help = "one array or lines"},
    WEBHOOK_NUMBER("batch.size", "100", 1, 10000, batch_size, "records per request"),
    {.name = "headers.", .type = OPTION_STRING, .flags = OPTION_PREFIX, .help = "headers.NAME: a request header"},
    {.name = "token", .type = OPTION_STRING, .help = "bearer token"},
    WEBHOOK_NUMBER("timeout_ms", "10000", 100, 600000, timeout_ms, "per request"),
    WEBHOOK_NUMBER("retry.max", "5", 0, 100, retry_max, "retries of a failed request"),
    WEBHOOK_NUMBER("retry.backoff_ms", "500", 0, 600000, backoff_ms, "first wait between retries"),
    WEBHOOK_NUMBER("retry.max_backoff_ms", "5000", 0, 600000, max_backoff_ms, "longest wait between retries"),
    WEBHOOK_NUMBER("linger_ms", "200", 0, 60000, linger_ms, "how long a partial batch waits for more"),
    {.name = "connector", .type = OPTION_STRING, .flags = OPTION_HIDDEN},
};
static const struct option_table webhook_option_table = OPTION_TABLE("webhook", webhook_options);

static size_t webhook_on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct webhook_writer *w = ctx;
    size_t len = size * n, room = WEBHOOK_BODY_QUOTE - w->answer_len;
    size_t take = len < room ? len : room;
    memcpy(w->answer + w->answer_len, data, take);
    w->answer_len += take;
    w->answer[w->answer_len] = '\0';
    return len;
}

static size_t webhook_on_header(char *data, size_t size, size_t n, void *ctx)
{
    struct webhook_writer *w = ctx;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        char value[128];
        size_t vlen = len - (sizeof name - 1) < sizeof value - 1 ? len - (sizeof name - 1) : sizeof value - 1;
        memcpy(value, data + sizeof name - 1, vlen);
        value[vlen] = '\0';
        value[strcspn(value, "\r\n")] = '\0';
        w->retry_after_ms = webhook_retry_after_ms(value, time(NULL));
    }
    return len;
}

static void webhook_close_writer(void *writer)
{
    struct webhook_writer *w = writer;
    if (!w)
        return;
    if (w->curl)
        curl_easy_cleanup(w->curl);
    curl_slist_free_all(w->headers);
    json_buf_free(&w->body);
    free(w);
    curl_global_cleanup();
}

/* headers.NAME properties (and the defaults) into w->headers. */
static int webhook_headers(struct webhook_writer *w, const struct stream_property *props, int nprops, char *err,
                           size_t errlen)
{
    bool content_type = false;
    for (int i = 0; i < nprops; i++) {
        if (strncmp(props[i].key, "headers.", 8) != 0)
            continue;
        const char *name = props[i].key + 8;
        if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~") !=
                strlen(name) ||
            strpbrk(props[i].value, "\r\n")) {
            snprintf(err, errlen, "webhook header \"%s\": the name must be a token and the value one line", name);
            return -1;
        }
        content_type |= strcasecmp(name, "Content-Type") == 0;
        char line[8192];
        snprintf(line, sizeof line, "%s: %s", name, props[i].value);
        struct curl_slist *l = curl_slist_append(w->headers, line);
        if (!l)
            return -1;
        w->headers = l;
    }
    /* token: a bearer token, unless headers.Authorization says otherwise */
    const char *token = stream_property_get(props, nprops, "token");
    if (token && !stream_property_get(props, nprops, "headers.Authorization")) {
        if (strpbrk(token, "\r\n")) {
            snprintf(err, errlen, "webhook option \"token\" must be one line");
            return -1;
        }
        char line[8192];
        snprintf(line, sizeof line, "Authorization: Bearer %s", token);
        struct curl_slist *l = curl_slist_append(w->headers, line);
        if (!l)
            return -1;
        w->headers = l;
    }
    const char *fixed[] = {
        content_type                ? NULL
        : w->format == WEBHOOK_JSON ? "Content-Type: application/json"
                                    : "Content-Type: application/x-ndjson",
        "Expect:", /* no 100-continue round trip for large bodies */
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (!fixed[i])
            continue;
        struct curl_slist *l = curl_slist_append(w->headers, fixed[i]);
        if (!l)
            return -1;
        w->headers = l;
    }
    return 0;
}

static int webhook_open_writer(const char *location, int partition, const struct stream_property *props, int nprops,
                               void **writer, char *err, size_t errlen)
{
    if (stream_options_check(&webhook_option_table, props, nprops, err, errlen) != 0)
        return -1;
    const char *url = stream_property_get(props, nprops, "url");
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
        snprintf(err, errlen, "webhook option \"url\" must start with http:// or https://");
        return -1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "webhook: cannot initialise libcurl");
        return -1;
    }
    struct webhook_writer *w = calloc(1, sizeof *w);
    if (!w) {
        curl_global_cleanup();
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    webhook_url_redact(url, w->url, sizeof w->url);
    const char *format = stream_property_get(props, nprops, "format");
    w->format = format && strcmp(format, "ndjson") == 0 ? WEBHOOK_NDJSON : WEBHOOK_JSON;
    w->partition = partition;
    w->opened_ms = clock_wall_ms();
    if (stream_options_apply(&webhook_option_table, props, nprops, w, err, errlen) != 0)
        goto fail;
    if (webhook_headers(w, props, nprops, err, errlen) != 0)
        goto fail;
    const char *method = stream_property_get(props, nprops, "method");
    w->curl = curl_easy_init();
    if (!w->curl) {
        snprintf(err, errlen, "webhook: cannot create a libcurl handle");
        goto fail;
    }
    CURL *c = w->curl;
    int rc = curl_easy_setopt(c, CURLOPT_URL, url) | curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") |
             curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) | curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, w->timeout_ms) |
             curl_easy_setopt(c, CURLOPT_ERRORBUFFER, w->curl_err) |
             curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, webhook_on_body) | curl_easy_setopt(c, CURLOPT_WRITEDATA, w) |
             curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, webhook_on_header) |
             curl_easy_setopt(c, CURLOPT_HEADERDATA, w) |
             curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method ? method : "POST");
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "webhook %s: libcurl refused the settings", w->url);
        goto fail;
    }
    *writer = w;
    return 0;
fail:
    webhook_close_writer(w);
    return -1;
}

/* Sleeps ms, in slices of at most WEBHOOK_PROGRESS_MS with the progress callback between them. */
static void webhook_sleep_ms(struct webhook_writer *w, long ms)
{
    while (ms > 0) {
        long slice = ms < WEBHOOK_PROGRESS_MS ? ms : WEBHOOK_PROGRESS_MS;
        struct timespec ts = {slice / 1000, (slice % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        ms -= slice;
        if (w->progress)
            w->progress(w->progress_ctx);
    }
}

static void webhook_set_progress(void *writer, stream_progress_fn fn, void *ctx)
{
    struct webhook_writer *w = writer;
    w->progress = fn;
    w->progress_ctx = ctx;
}

/* One request with the buffered body: sets *status (0: no answer, with the reason in
 * w->curl_err). -1 on out of memory. */
static int webhook_request(struct webhook_writer *w, long *status)
{
    char batch[96];
    snprintf(batch, sizeof batch, "X-Sluice-Batch: %" PRId64 "-%d-%" PRIu64, w->opened_ms, w->partition, w->sequence);
    struct curl_slist *extra = curl_slist_append(NULL, batch);
    if (!extra)
        return -1;
    extra->next = w->headers; /* borrowed for this request */
    w->answer_len = 0;
    w->answer[0] = '\0';
    w->curl_err[0] = '\0';
    w->retry_after_ms = -1;
    curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, extra);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, w->body.data);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)w->body.len);
    CURLcode rc = curl_easy_perform(w->curl);
    *status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, status);
    else if (!w->curl_err[0])
        snprintf(w->curl_err, sizeof w->curl_err, "%s", curl_easy_strerror(rc));
    extra->next = NULL;
    curl_slist_free_all(extra);
    return 0;
}

/* The last failure, for messages: "HTTP 503: body..." or the transport's reason. */
static void webhook_describe(const struct webhook_writer *w, long status, char *out, size_t outlen)
{
    if (status == 0) {
        snprintf(out, outlen, "%s", w->curl_err);
        return;
    }
    snprintf(out, outlen, "HTTP %ld%s%s", status, w->answer_len ? ": " : "", w->answer);
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

/* Sends the buffered records (if any) until delivered, retrying as the header says. */
static int webhook_send(struct webhook_writer *w, char *err, size_t errlen)
{
    if (w->count == 0)
        return 0;
    if (webhook_body_finish(&w->body, w->format, w->count) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char why[400];
    long status = 0;
    for (int attempt = 0;; attempt++) {
        if (webhook_request(w, &status) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        enum webhook_verdict v = webhook_verdict_of(status);
        if (v == WEBHOOK_DELIVERED)
            break;
        webhook_describe(w, status, why, sizeof why);
        if (v == WEBHOOK_FAIL) {
            snprintf(err, errlen, "webhook %s refused %zu records: %s (not retried: fix the endpoint or the request)",
                     w->url, w->count, why);
            return -1;
        }
        if (attempt >= w->retry_max) {
            snprintf(err, errlen, "webhook %s: %zu records not delivered after %d attempts: %s", w->url, w->count,
                     attempt + 1, why);
            return -1;
        }
        if (w->progress)
            w->progress(w->progress_ctx); /* the request itself may have taken timeout_ms */
        webhook_sleep_ms(w, webhook_backoff_ms(attempt + 1, w->backoff_ms, w->max_backoff_ms, w->retry_after_ms));
    }
    w->sequence++;
    w->count = 0;
    w->body.len = 0;
    return 0;
}

static int webhook_append(void *writer, const void *data, uint32_t len, char *err, size_t errlen)
{
    struct webhook_writer *w = writer;
    if (w->count == 0)
        w->first_ms = clock_wall_ms();
    if (webhook_body_add(&w->body, w->format, w->count, data, len) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (++w->count >= (size_t)w->batch_size)
        return webhook_send(w, err, errlen);
    return 0;
}

/* A checkpoint (sync) sends what is buffered; the flush after each pass of the engine sends a
 * partial batch only once it has waited linger_ms for more records. */
static int webhook_flush(void *writer, bool sync, char *err, size_t errlen)
{
    struct webhook_writer *w = writer;
    if (!sync && w->count > 0 && clock_wall_ms() - w->first_ms < w->linger_ms)
        return 0;
    return webhook_send(w, err, errlen);
}

/* The check opens a connection to the endpoint (TLS included) and sends no request: whether
 * the endpoint takes the token shows only with a request, which would write. */
static void webhook_check(const struct stream_property *props, int nprops, struct stream_check *out)
{
    if (stream_options_check(&webhook_option_table, props, nprops, out->error, sizeof out->error) != 0)
        return;
    const char *url = stream_property_get(props, nprops, "url");
    CURL *c = curl_easy_init();
    char cerr[CURL_ERROR_SIZE] = "";
    if (!c) {
        snprintf(out->error, sizeof out->error, "out of memory");
        return;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    CURLcode rc = curl_easy_perform(c);
    out->reachable = out->authenticated = out->target_present = rc == CURLE_OK;
    if (rc != CURLE_OK)
        snprintf(out->error, sizeof out->error, "webhook %s: %s", url, cerr[0] ? cerr : curl_easy_strerror(rc));
    curl_easy_cleanup(c);
}

const struct stream_backend webhook_stream_backend = {
    .name = "webhook",
    .partitions = stream_one_partition, /* every task posts to the same url */
    .open_writer = webhook_open_writer,
    .append = webhook_append,
    .flush = webhook_flush,
    .writer_end_offset = NULL, /* cannot be rolled back: at-least-once */
    .truncate = NULL,
    .close_writer = webhook_close_writer,
    .set_progress = webhook_set_progress,
    .check = webhook_check,
    .options = &webhook_option_table,
    .sink = true,
    .location_key = "url",
    .full_worker = true, /* libcurl */
    .network = true,
};
