/* transport.c — libsluice's transport: the client handle, one HTTP call over libcurl with
 * retries and backoff, and the mapping of responses to struct sluice_error. */
#include "sdk/transport.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define SDK_VERSION "0.1.0"

const char *sluice_version(void) { return SDK_VERSION; }

/* ==== error codes ======================================================================== */

struct code_row {
    enum sluice_code code;
    const char *name;
    int status; /* the HTTP status that maps here when the body names no code; 0: none */
};

static const struct code_row code_rows[] = {
    {SLUICE_OK, "ok", 0},
    {SLUICE_E_INVALID_JSON, "invalid_json", 0},
    {SLUICE_E_INVALID_REQUEST, "invalid_request", 400},
    {SLUICE_E_UNAUTHENTICATED, "unauthenticated", 401},
    {SLUICE_E_FORBIDDEN, "forbidden", 403},
    {SLUICE_E_NOT_FOUND, "not_found", 404},
    {SLUICE_E_CONFLICT, "conflict", 409},
    {SLUICE_E_PRECONDITION_FAILED, "precondition_failed", 412},
    {SLUICE_E_PAYLOAD_TOO_LARGE, "payload_too_large", 413},
    {SLUICE_E_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", 415},
    {SLUICE_E_INVALID_SQL, "invalid_sql", 422},
    {SLUICE_E_RATE_LIMITED, "rate_limited", 429},
    {SLUICE_E_INTERNAL, "internal", 500},
    {SLUICE_E_UNAVAILABLE, "unavailable", 503},
    {SLUICE_E_SERVER, "server_error", 0},
    {SLUICE_E_TRANSPORT, "transport", 0},
    {SLUICE_E_TIMEOUT, "timeout", 0},
    {SLUICE_E_BAD_RESPONSE, "bad_response", 0},
    {SLUICE_E_ARGUMENT, "invalid_argument", 0},
    {SLUICE_E_NO_MEMORY, "no_memory", 0},
    {SLUICE_E_INVALID_EVENTS, "invalid_events", 0},
    {SLUICE_E_WRONG_CONNECTOR, "wrong_connector", 0},
    {SLUICE_E_NOT_ACTIVE, "not_active", 0},
    {SLUICE_E_QUOTA_EXCEEDED, "quota_exceeded", 0},
};
#define N_CODES (sizeof code_rows / sizeof code_rows[0])

const char *sluice_code_name(enum sluice_code code)
{
    for (size_t i = 0; i < N_CODES; i++)
        if (code_rows[i].code == code)
            return code_rows[i].name;
    return "unknown";
}

enum sluice_code sluice_code_from_api(const char *name, int http_status)
{
    if (name)
        for (size_t i = 0; i < N_CODES; i++)
            if (strcmp(code_rows[i].name, name) == 0 && code_rows[i].code != SLUICE_OK)
                return code_rows[i].code;
    for (size_t i = 0; i < N_CODES; i++)
        if (code_rows[i].status == http_status)
            return code_rows[i].code;
    if (http_status == 502 || http_status == 504)
        return SLUICE_E_UNAVAILABLE;
    return SLUICE_E_SERVER;
}

static void error_clear(struct sluice_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

int sdk_error_set(struct sluice_error *err, enum sluice_code code, const char *fmt, ...)
{
    if (!err)
        return -1;
    error_clear(err);
    err->code = code;
    err->retriable = code == SLUICE_E_TRANSPORT || code == SLUICE_E_TIMEOUT;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

int sdk_url_escape(char *dst, size_t cap, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(dst);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        int plain =
            (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p);
        if (n + (plain ? 1 : 3) >= cap)
            return -1;
        if (plain) {
            dst[n++] = (char)*p;
        } else {
            dst[n++] = '%';
            dst[n++] = hex[*p >> 4];
            dst[n++] = hex[*p & 15];
        }
    }
    dst[n] = '\0';
    return 0;
}

/* ==== the client handle ================================================================== */

struct sluice_client {
    char *base_url; /* without a trailing slash */
    char *auth_header;
    char *ca_file;
    char *user_agent;
    bool insecure;
    long connect_timeout_ms, timeout_ms, retry_base_ms, retry_max_ms;
    int max_retries;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;
static void curl_init_once(void) { curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

sluice_client *sluice_client_new(const struct sluice_options *o, struct sluice_error *err)
{
    error_clear(err);
    if (!o || !o->base_url || !*o->base_url) {
        sdk_error_set(err, SLUICE_E_ARGUMENT, "no API URL given");
        return NULL;
    }
    if (strncmp(o->base_url, "https://", 8) != 0 && strncmp(o->base_url, "http://", 7) != 0) {
        sdk_error_set(err, SLUICE_E_ARGUMENT, "API URL \"%s\" must start with https:// or http://", o->base_url);
        return NULL;
    }
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_result != CURLE_OK) {
        sdk_error_set(err, SLUICE_E_TRANSPORT, "libcurl initialisation failed: %s",
                      curl_easy_strerror(curl_init_result));
        return NULL;
    }
    sluice_client *c = calloc(1, sizeof *c);
    if (!c)
        goto nomem;
    c->base_url = strdup(o->base_url);
    if (!c->base_url)
        goto nomem;
    size_t len = strlen(c->base_url);
    while (len > 0 && c->base_url[len - 1] == '/')
        c->base_url[--len] = '\0';
    if (o->api_key && *o->api_key) {
        if (asprintf(&c->auth_header, "Authorization: Bearer %s", o->api_key) < 0) {
            c->auth_header = NULL;
            goto nomem;
        }
    }
    if (o->ca_file && *o->ca_file && !(c->ca_file = strdup(o->ca_file)))
        goto nomem;
    if (asprintf(&c->user_agent, "User-Agent: %s", o->user_agent ? o->user_agent : "libsluice/" SDK_VERSION) < 0) {
        c->user_agent = NULL;
        goto nomem;
    }
    c->insecure = o->insecure;
    c->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 5000;
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
    c->max_retries = o->max_retries < 0 ? 0 : o->max_retries > 0 ? o->max_retries : 3;
    c->retry_base_ms = o->retry_base_ms > 0 ? o->retry_base_ms : 200;
    c->retry_max_ms = o->retry_max_ms > 0 ? o->retry_max_ms : 10000;
    return c;
nomem:
    sluice_client_free(c);
    sdk_error_set(err, SLUICE_E_NO_MEMORY, "out of memory");
    return NULL;
}

void sluice_client_free(sluice_client *c)
{
    if (!c)
        return;
    free(c->base_url);
    free(c->auth_header);
    free(c->ca_file);
    free(c->user_agent);
    free(c);
}

/* ==== one attempt ======================================================================== */

/* What one attempt received. */
struct response {
    long status;
    char request_id[80];
    char content_type[96];
    long retry_after_ms; /* -1: no Retry-After */
    char *body;          /* collected body (not in event-stream mode) */
    size_t len, cap;
    bool oom;
    /* line mode (event streams) */
    sluice_line_fn fn;
    void *user;
    bool streaming, stopped, delivered;
    char *line;
    size_t line_len, line_cap;
    struct sdk_stream *stream; /* where the event ids and the end are noted; may be NULL */
    char event[32];            /* the current event's name ("" until an event: line) */
};

static void response_reset(struct response *r)
{
    free(r->body);
    free(r->line);
    sluice_line_fn fn = r->fn;
    void *user = r->user;
    struct sdk_stream *stream = r->stream;
    memset(r, 0, sizeof *r);
    r->fn = fn;
    r->user = user;
    r->stream = stream;
    r->retry_after_ms = -1;
}

static int buffer_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t ncap = *cap ? *cap : 1024;
        while (ncap < *len + n + 1)
            ncap *= 2;
        char *nb = realloc(*buf, ncap);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = ncap;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

static void copy_trimmed(char *dst, size_t cap, const char *src, size_t n)
{
    while (n > 0 && (*src == ' ' || *src == '\t'))
        src++, n--;
    while (n > 0 && (src[n - 1] == '\r' || src[n - 1] == '\n' || src[n - 1] == ' '))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nitems, void *userdata)
{
    struct response *r = userdata;
    size_t n = size * nitems;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) { /* a new response (after 100 Continue) */
        r->request_id[0] = r->content_type[0] = '\0';
        r->retry_after_ms = -1;
        const char *sp = memchr(data, ' ', n);
        r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return n;
    }
    if (n <= 2) { /* end of the headers: event streams are delivered line by line */
        r->streaming = r->fn && r->status < 400 && strncasecmp(r->content_type, "text/event-stream", 17) == 0;
        return n;
    }
    const char *colon = memchr(data, ':', n);
    if (!colon)
        return n;
    size_t name_len = (size_t)(colon - data);
    const char *value = colon + 1;
    size_t value_len = n - name_len - 1;
    if (name_len == 12 && strncasecmp(data, "X-Request-Id", 12) == 0) {
        copy_trimmed(r->request_id, sizeof r->request_id, value, value_len);
    } else if (name_len == 12 && strncasecmp(data, "Content-Type", 12) == 0) {
        copy_trimmed(r->content_type, sizeof r->content_type, value, value_len);
    } else if (name_len == 11 && strncasecmp(data, "Retry-After", 11) == 0) {
        char text[64];
        copy_trimmed(text, sizeof text, value, value_len);
        char *end;
        errno = 0;
        long secs = strtol(text, &end, 10);
        if (end != text && *end == '\0' && errno == 0 && secs >= 0) {
            r->retry_after_ms = secs > 86400 ? 86400000L : secs * 1000;
        } else { /* an HTTP date */
            time_t when = curl_getdate(text, NULL);
            if (when != -1) {
                double d = difftime(when, time(NULL));
                r->retry_after_ms = d > 0 ? (long)(d * 1000) : 0;
            }
        }
    }
    return n;
}

static int deliver_json_item(json_t *item, sluice_line_fn fn, void *user);

/* Event-stream line. "data: x" delivers x (a JSON log object as "ts level message"), except in
 * an "end" event, which notes the end instead; "id: n" notes the last id; a blank line ends
 * the event; comments (": keepalive") are skipped. */
static void deliver_line(struct response *r, const char *line)
{
    if (r->stopped)
        return;
    if (*line == '\0') {
        r->event[0] = '\0';
        return;
    }
    const char *colon = strchr(line, ':');
    size_t name_len = colon ? (size_t)(colon - line) : strlen(line);
    const char *value = colon ? colon + 1 : "";
    if (*value == ' ')
        value++;
    if (name_len == 5 && strncmp(line, "event", 5) == 0) {
        snprintf(r->event, sizeof r->event, "%s", value);
        return;
    }
    if (name_len == 2 && strncmp(line, "id", 2) == 0) {
        if (r->stream)
            r->stream->last_id = strtoll(value, NULL, 10);
        return;
    }
    if (name_len != 4 || strncmp(line, "data", 4) != 0)
        return;
    if (strcmp(r->event, "end") == 0) {
        if (r->stream)
            r->stream->ended = true;
        return;
    }
    r->delivered = true;
    json_t *doc = *value == '{' ? json_loads(value, 0, NULL) : NULL;
    int stop = doc ? deliver_json_item(doc, r->fn, r->user) : r->fn(value, r->user);
    json_decref(doc);
    if (stop != 0)
        r->stopped = true;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct response *r = userdata;
    size_t n = size * nmemb;
    if (!r->streaming) {
        if (buffer_append(&r->body, &r->len, &r->cap, data, n) < 0) {
            r->oom = true;
            return 0;
        }
        return n;
    }
    for (size_t i = 0; i < n; i++) {
        if (data[i] == '\n') {
            if (r->line_len > 0 && r->line[r->line_len - 1] == '\r')
                r->line[--r->line_len] = '\0';
            deliver_line(r, r->line ? r->line : "");
            r->line_len = 0;
            if (r->line)
                r->line[0] = '\0';
            if (r->stopped)
                return 0; /* aborts the transfer: the caller asked to stop */
        } else if (buffer_append(&r->line, &r->line_len, &r->line_cap, data + i, 1) < 0) {
            r->oom = true;
            return 0;
        }
    }
    return n;
}

struct request {
    const char *method;
    const char *url;
    const char *body; /* JSON text or NULL */
    long if_match;
    const char *idempotency_key; /* or NULL */
    bool follow;                 /* event stream: Accept text/event-stream, no total timeout */
    long timeout_ms;             /* for this attempt; 0: none */
};

static CURLcode perform(sluice_client *c, const struct request *q, struct response *r, char *errbuf)
{
    CURL *h = curl_easy_init();
    if (!h)
        return CURLE_OUT_OF_MEMORY;
    struct curl_slist *headers = NULL, *tmp;
    char line[160];
    const char *fixed[] = {
        q->follow ? "Accept: text/event-stream" : "Accept: application/json",
        c->user_agent,
        c->auth_header,
        q->body ? "Content-Type: application/json" : NULL,
        "Expect:",
    };
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (!fixed[i])
            continue;
        if (!(tmp = curl_slist_append(headers, fixed[i])))
            goto out;
        headers = tmp;
    }
    if (q->if_match >= 0) {
        snprintf(line, sizeof line, "If-Match: \"%ld\"", q->if_match);
        if (!(tmp = curl_slist_append(headers, line)))
            goto out;
        headers = tmp;
    }
    if (q->idempotency_key) {
        snprintf(line, sizeof line, "Idempotency-Key: %s", q->idempotency_key);
        if (!(tmp = curl_slist_append(headers, line)))
            goto out;
        headers = tmp;
    }
    curl_easy_setopt(h, CURLOPT_URL, q->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    if (q->timeout_ms > 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, q->timeout_ms);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (c->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    if (c->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (q->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(q->body));
    }
    if (strcmp(q->method, "GET") != 0 && !(strcmp(q->method, "POST") == 0 && q->body))
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
    if (strcmp(q->method, "POST") == 0 && !q->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    }
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
out:
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    return rc;
}

/* ==== retries ============================================================================ */

long sdk_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static uint32_t random_u32(void)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
        v = (uint32_t)sdk_now_ms() * 2654435761u;
    return v;
}

/* Wait before retry number attempt+1: base * 2^attempt, capped, with jitter in [half, full]. */
static long backoff_ms(const sluice_client *c, int attempt)
{
    long wait = c->retry_base_ms;
    for (int i = 0; i < attempt && wait < c->retry_max_ms; i++)
        wait *= 2;
    if (wait > c->retry_max_ms)
        wait = c->retry_max_ms;
    return wait / 2 + (long)(random_u32() % (uint32_t)(wait / 2 + 1));
}

static void error_from_response(const struct response *r, struct sluice_error *err)
{
    error_clear(err);
    if (!err)
        return;
    err->http_status = (int)r->status;
    snprintf(err->request_id, sizeof err->request_id, "%s", r->request_id);
    json_t *doc = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
    json_t *e = json_object_get(doc, "error");
    const char *name = json_string_value(json_object_get(e, "code"));
    const char *message = json_string_value(json_object_get(e, "message"));
    json_t *details = json_object_get(e, "details");
    err->code = sluice_code_from_api(name, (int)r->status);
    if (message && *message)
        snprintf(err->message, sizeof err->message, "%s", message);
    else
        snprintf(err->message, sizeof err->message, "HTTP %ld from the server%s%.200s", r->status, r->len ? ": " : "",
                 r->body ? r->body : "");
    if (details && !json_is_null(details)) {
        char *text = json_dumps(details, JSON_COMPACT);
        if (text)
            snprintf(err->details, sizeof err->details, "%s", text);
        free(text);
    }
    err->retriable = r->status == 429 || (r->status >= 500 && r->status != 501 && r->status != 505);
    json_decref(doc);
}

static bool curl_code_retriable(CURLcode rc)
{
    static const CURLcode retriable[] = {
        CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_OPERATION_TIMEDOUT, CURLE_SEND_ERROR,
        CURLE_RECV_ERROR,      CURLE_GOT_NOTHING,          CURLE_PARTIAL_FILE,
    };
    for (size_t i = 0; i < sizeof retriable / sizeof retriable[0]; i++)
        if (retriable[i] == rc)
            return true;
    return false;
}

static void error_from_transport(const sluice_client *c, CURLcode rc, const char *errbuf, struct sluice_error *err)
{
    const char *why = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);
    bool tls = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ||
               rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM;
    if (rc == CURLE_OPERATION_TIMEDOUT)
        sdk_error_set(err, SLUICE_E_TIMEOUT, "no answer from %s in time: %s", c->base_url, why);
    else if (c->ca_file && access(c->ca_file, R_OK) != 0)
        sdk_error_set(err, SLUICE_E_TRANSPORT,
                      "cannot read the CA certificate file %s (%s%s); pass the server's certificate with "
                      "--ca-file (or SLUICE_CA_FILE), or set ca_file in the profile",
                      c->ca_file, strerror(errno), c->ca_file[0] == '/' ? "" : ", relative to the current directory");
    else if (tls)
        sdk_error_set(err, SLUICE_E_TRANSPORT,
                      "TLS failure talking to %s: %s; pass the server's certificate with "
                      "--ca-file (or SLUICE_CA_FILE)",
                      c->base_url, why);
    else
        sdk_error_set(err, SLUICE_E_TRANSPORT, "cannot reach the API at %s: %s", c->base_url, why);
    if (err)
        err->retriable = curl_code_retriable(rc);
}

/* Runs a request with retries; on success (2xx/3xx) returns 0 with *r holding the answer. */
static int execute(sluice_client *c, const char *method, const char *path, json_t *body, long if_match, bool follow,
                   struct response *r, struct sluice_error *err)
{
    struct sluice_error scratch; /* retries need an error to look at even when the caller has none */
    if (!err)
        err = &scratch;
    error_clear(err);
    if (!c || !method || !path || path[0] != '/')
        return sdk_error_set(err, SLUICE_E_ARGUMENT, "bad call: a client, method and /path are needed");
    char *url = NULL, *text = NULL;
    int result = -1;
    if (asprintf(&url, "%s%s", c->base_url, path) < 0) {
        url = NULL;
        sdk_error_set(err, SLUICE_E_NO_MEMORY, "out of memory");
        goto out;
    }
    if (body && !(text = json_dumps(body, JSON_COMPACT))) {
        sdk_error_set(err, SLUICE_E_ARGUMENT, "request body cannot be encoded as JSON");
        goto out;
    }
    char key[40] = "";
    if (strcmp(method, "POST") == 0)
        snprintf(key, sizeof key, "%08x%08x%08x%08x", random_u32(), random_u32(), random_u32(), random_u32());
    struct request q = {method, url, text, if_match, key[0] ? key : NULL, follow, 0};
    long deadline = follow ? 0 : sdk_now_ms() + c->timeout_ms;
    for (int attempt = 0;; attempt++) {
        response_reset(r);
        if (deadline) {
            q.timeout_ms = deadline - sdk_now_ms();
            if (q.timeout_ms <= 0) {
                sdk_error_set(err, SLUICE_E_TIMEOUT, "no answer from %s within %ld ms", c->base_url, c->timeout_ms);
                break;
            }
        }
        char errbuf[CURL_ERROR_SIZE] = "";
        CURLcode rc = perform(c, &q, r, errbuf);
        if (r->oom || rc == CURLE_OUT_OF_MEMORY) {
            sdk_error_set(err, SLUICE_E_NO_MEMORY, "out of memory");
            break;
        }
        if (rc == CURLE_WRITE_ERROR && r->stopped) {
            result = 0;
            break;
        }
        if (rc != CURLE_OK)
            error_from_transport(c, rc, errbuf, err);
        else if (r->status >= 400)
            error_from_response(r, err);
        else {
            result = 0;
            break;
        }
        if (!err->retriable || attempt >= c->max_retries || r->delivered)
            break;
        long wait = r->retry_after_ms >= 0 ? r->retry_after_ms : backoff_ms(c, attempt);
        if (wait > c->retry_max_ms)
            wait = c->retry_max_ms;
        if (deadline && sdk_now_ms() + wait >= deadline)
            break;
        sleep_ms(wait);
    }
out:
    free(url);
    free(text);
    return result;
}

int sluice_call(sluice_client *c, const char *method, const char *path, json_t *body, long if_match, json_t **out,
                struct sluice_error *err)
{
    if (out)
        *out = NULL;
    struct response r = {.retry_after_ms = -1};
    int rc = execute(c, method, path, body, if_match, false, &r, err);
    if (rc == 0 && r.len > 0 && r.status != 204) {
        json_error_t je;
        json_t *doc = json_loadb(r.body, r.len, 0, &je);
        if (!doc) {
            rc = sdk_error_set(err, SLUICE_E_BAD_RESPONSE,
                               "malformed JSON from the server (HTTP %ld): %s at line %d, "
                               "column %d",
                               r.status, je.text, je.line, je.column);
            if (err) {
                err->http_status = (int)r.status;
                snprintf(err->request_id, sizeof err->request_id, "%s", r.request_id);
            }
        } else if (out) {
            *out = doc;
        } else {
            json_decref(doc);
        }
    }
    response_reset(&r);
    return rc;
}

/* ==== line-oriented answers (logs) ======================================================= */

static int deliver_json_item(json_t *item, sluice_line_fn fn, void *user)
{
    if (json_is_string(item))
        return fn(json_string_value(item), user);
    const char *msg = json_string_value(json_object_get(item, "message"));
    if (!msg)
        msg = json_string_value(json_object_get(item, "msg"));
    if (msg) {
        const char *ts = json_string_value(json_object_get(item, "ts"));
        if (!ts)
            ts = json_string_value(json_object_get(item, "time"));
        const char *level = json_string_value(json_object_get(item, "level"));
        char *line = NULL;
        if (asprintf(&line, "%s%s%s%s%s", ts ? ts : "", ts ? " " : "", level ? level : "", level ? " " : "", msg) < 0)
            return -1;
        int stop = fn(line, user);
        free(line);
        return stop;
    }
    char *text = json_dumps(item, JSON_COMPACT);
    int stop = text ? fn(text, user) : -1;
    free(text);
    return stop;
}

int sdk_call_lines(sluice_client *c, const char *path, int follow, sluice_line_fn fn, void *user,
                   struct sdk_stream *stream, struct sluice_error *err)
{
    struct response r = {.retry_after_ms = -1, .fn = fn, .user = user, .stream = stream};
    int rc = execute(c, "GET", path, NULL, -1, follow != 0, &r, err);
    if (rc == 0 && r.streaming && r.line_len > 0 && !r.stopped)
        deliver_line(&r, r.line); /* a last event without its newline */
    if (rc == 0 && !r.streaming && r.len > 0) {
        json_t *doc = NULL;
        if (strstr(r.content_type, "json"))
            doc = json_loadb(r.body, r.len, 0, NULL);
        if (doc) {
            json_t *items = json_is_array(doc) ? doc : json_object_get(doc, "items");
            size_t i;
            json_t *item;
            json_array_foreach(items, i, item)
            {
                if (deliver_json_item(item, fn, user) != 0)
                    break;
            }
            json_decref(doc);
        } else {
            char *save = NULL;
            for (char *line = strtok_r(r.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                if (fn(line, user) != 0)
                    break;
        }
    }
    response_reset(&r);
    return rc;
}
