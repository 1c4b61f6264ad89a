/* sluice.h — libsluice, the C client of the Sluice REST API.
 *
 * One opaque handle (sluice_client) carries the server URL, credentials, TLS and retry
 * settings; it is immutable after sluice_client_new() and may be shared by any number of
 * threads (every call uses its own libcurl easy handle). The library keeps no global state
 * beyond libcurl's own initialisation, done once on the first sluice_client_new().
 *
 * Errors: every call returns 0 on success or -1 and fills one struct sluice_error (code, HTTP
 * status, message, request id, retriable). Calls retry by themselves on 429, 5xx and transport
 * errors, with exponential backoff, honouring Retry-After (capped), within the total timeout.
 *
 * JSON: resources are jansson values. Ownership follows jansson: arguments are borrowed, and a
 * `json_t **out` receives a new reference the caller releases with json_decref(). */
#ifndef SLUICE_SDK_SLUICE_H
#define SLUICE_SDK_SLUICE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version string of the library. */
const char *sluice_version(void);

/* ---- errors ---------------------------------------------------------------------------- */

enum sluice_code {
    SLUICE_OK = 0,
    /* from the server ("error.code" in the body, or derived from the HTTP status) */
    SLUICE_E_INVALID_JSON,           /* 400 invalid_json */
    SLUICE_E_INVALID_REQUEST,        /* 400 invalid_request */
    SLUICE_E_UNAUTHENTICATED,        /* 401 */
    SLUICE_E_FORBIDDEN,              /* 403 */
    SLUICE_E_NOT_FOUND,              /* 404 */
    SLUICE_E_CONFLICT,               /* 409 */
    SLUICE_E_PRECONDITION_FAILED,    /* 412 (stale If-Match) */
    SLUICE_E_PAYLOAD_TOO_LARGE,      /* 413 */
    SLUICE_E_UNSUPPORTED_MEDIA_TYPE, /* 415 */
    SLUICE_E_INVALID_SQL,            /* 422, details has line and column */
    SLUICE_E_RATE_LIMITED,           /* 429 */
    SLUICE_E_INTERNAL,               /* 500 */
    SLUICE_E_UNAVAILABLE,            /* 502, 503, 504 */
    SLUICE_E_SERVER,                 /* any other error status */
    /* on this side */
    SLUICE_E_TRANSPORT,    /* could not connect, TLS failure, connection reset */
    SLUICE_E_TIMEOUT,      /* the total timeout ran out */
    SLUICE_E_BAD_RESPONSE, /* the server's answer is not the JSON expected */
    SLUICE_E_ARGUMENT,     /* a bad argument to a libsluice call */
    SLUICE_E_NO_MEMORY,
    /* from the server, HTTP ingest (added after the rest: the values above stay as they were) */
    SLUICE_E_INVALID_EVENTS,  /* 422, details has "errors" [{index|line, field, reason}] */
    SLUICE_E_WRONG_CONNECTOR, /* 409: events go to connections of connector http, type source */
    SLUICE_E_NOT_ACTIVE,      /* 409: the connection is not active */
    /* from the server, plan limits (added later still) */
    SLUICE_E_QUOTA_EXCEEDED, /* 403 quota_exceeded: details has "resource" and "limit" (and "requested") */
};

struct sluice_error {
    enum sluice_code code;
    int http_status;     /* 0 when no response arrived */
    bool retriable;      /* the same call may succeed later (429, 5xx, transport, timeout) */
    char message[512];   /* the server's message, or a description of the local failure */
    char request_id[80]; /* X-Request-Id of the response, "" when none */
    char details[512];   /* "error.details" as compact JSON text, "" when none */
};

/* Stable lower-case name of a code ("not_found", "transport", ...), matching the API's names. */
const char *sluice_code_name(enum sluice_code code);
/* Code for an API error name and HTTP status: the name wins when known, else the status. */
enum sluice_code sluice_code_from_api(const char *name, int http_status);

/* ---- client ---------------------------------------------------------------------------- */

typedef struct sluice_client sluice_client;

/* Settings of a client. Zero fields take the default shown. Strings are copied. */
struct sluice_options {
    const char *base_url;    /* "https://host:port" (required) */
    const char *api_key;     /* API key or login token sent as Bearer; NULL: no credentials */
    const char *ca_file;     /* PEM file of CAs to trust; NULL: the system store */
    bool insecure;           /* skip TLS verification (only when the user asks for it) */
    long connect_timeout_ms; /* 5000 */
    long timeout_ms;         /* 30000: total for one call, retries and waits included */
    int max_retries;         /* 3 retries after the first attempt; -1 for none */
    long retry_base_ms;      /* 200: first backoff, doubled each retry, with jitter */
    long retry_max_ms;       /* 10000: cap of any single wait, Retry-After included */
    const char *user_agent;  /* "libsluice/<version>" */
};

/* New client, or NULL with *err filled (bad URL, no memory). Free with sluice_client_free(). */
sluice_client *sluice_client_new(const struct sluice_options *options, struct sluice_error *err);
void sluice_client_free(sluice_client *client);

/* One API call: METHOD /v1/... with an optional JSON body (borrowed). *out (may be NULL)
 * receives the decoded response body, or NULL for 204. if_match, when >= 0, is sent as
 * If-Match "N". POSTs carry an Idempotency-Key that stays the same across retries. */
int sluice_call(sluice_client *client, const char *method, const char *path, json_t *body, long if_match, json_t **out,
                struct sluice_error *err);

/* ---- accounts -------------------------------------------------------------------------- */

/* POST /v1/signup; *out: {"tenant","user","api_key":{"key",...}}. Needs no credentials. */
int sluice_signup(sluice_client *client, const char *tenant, const char *email, const char *password, json_t **out,
                  struct sluice_error *err);
/* POST /v1/login; *out: {"token","expires_at","tenant_id"}. */
int sluice_login(sluice_client *client, const char *email, const char *password, json_t **out,
                 struct sluice_error *err);
/* GET /v1/me. */
int sluice_me(sluice_client *client, json_t **out, struct sluice_error *err);

/* ---- resources ------------------------------------------------------------------------- */

enum sluice_kind {
    SLUICE_KIND_SECRET = 0, /* in dependency order: what a later kind may name comes first */
    SLUICE_KIND_STREAM,
    SLUICE_KIND_CONNECTION,
    SLUICE_KIND_PIPELINE,
    SLUICE_KIND_API_KEY,
    SLUICE_KIND_USER,     /* people of the tenant: named by their email; created with email, password, role */
    SLUICE_KIND_FUNCTION, /* a Lua user-defined function (name, returns, source); appended: the values above
                             stay as they were (apply creates functions before pipelines) */
    SLUICE_KIND_COUNT
};

/* Kind from a user's word: singular or plural, "stream"/"streams", "api-key"/"api-keys".
 * Returns 0, or -1 when unknown. */
int sluice_kind_parse(const char *word, enum sluice_kind *kind);
/* Singular name ("pipeline") and collection path segment ("pipelines"). */
const char *sluice_kind_name(enum sluice_kind kind);
const char *sluice_kind_collection(enum sluice_kind kind);
/* Whether the kind can be activated and deactivated (connections and pipelines). */
bool sluice_kind_runnable(enum sluice_kind kind);

/* POST /v1/<kind> with body (borrowed); *out: the created resource. */
int sluice_create(sluice_client *client, enum sluice_kind kind, json_t *body, json_t **out, struct sluice_error *err);
/* GET /v1/<kind>/<id>. */
int sluice_get(sluice_client *client, enum sluice_kind kind, const char *id, json_t **out, struct sluice_error *err);
/* The resource whose name is exactly `name` (listing with ?name=; a user's name is its email);
 * SLUICE_E_NOT_FOUND with a message naming it when there is none. */
int sluice_find(sluice_client *client, enum sluice_kind kind, const char *name, json_t **out, struct sluice_error *err);
/* PATCH /v1/<kind>/<id> with a partial body; version >= 0 is sent as If-Match. */
int sluice_update(sluice_client *client, enum sluice_kind kind, const char *id, json_t *patch, long version,
                  json_t **out, struct sluice_error *err);
/* DELETE /v1/<kind>/<id>. */
int sluice_delete(sluice_client *client, enum sluice_kind kind, const char *id, struct sluice_error *err);
/* POST /v1/<kind>/<id>/activate (on) or /deactivate; *out: the resource. */
int sluice_set_active(sluice_client *client, enum sluice_kind kind, const char *id, bool on, json_t **out,
                      struct sluice_error *err);

/* Pagination: walks every page of GET /v1/<kind>?limit=&cursor=&name=.
 *   sluice_list *it = sluice_list_new(client, SLUICE_KIND_STREAM, NULL, 0);
 *   json_t *item; int r;
 *   while ((r = sluice_list_next(it, &item, &err)) == 1) { ...item is borrowed... }
 *   sluice_list_free(it);        r == 0 at the end, -1 on error
 * name (may be NULL) filters by name; page_size 0 lets the server choose. */
typedef struct sluice_list sluice_list;
sluice_list *sluice_list_new(sluice_client *client, enum sluice_kind kind, const char *name, int page_size);
/* 1 with *item borrowed (valid until the next call or free), 0 at the end, -1 on error. */
int sluice_list_next(sluice_list *list, json_t **item, struct sluice_error *err);
void sluice_list_free(sluice_list *list);

/* ---- control plane: logs, usage, preview ----------------------------------------------- */

/* Receives one log line (without its newline); return non-zero to stop. */
typedef int (*sluice_line_fn)(const char *line, void *user);
/* GET /v1/<kind>/<id>/logs: calls fn per line ("ts level message"), the newest lines last.
 * follow is sluice_logs_follow with no timeout. */
int sluice_logs(sluice_client *client, enum sluice_kind kind, const char *id, bool follow, sluice_line_fn fn,
                void *user, struct sluice_error *err);
/* GET /v1/<kind>/<id>/logs?follow=true: the recent lines, then each new line as it is logged,
 * until timeout_ms has passed (0: forever; when the server ends its stream the call resumes
 * after the last line received), the server closes without an "end" event, or fn asks to
 * stop. 0 then, -1 on error. */
int sluice_logs_follow(sluice_client *client, enum sluice_kind kind, const char *id, long timeout_ms, sluice_line_fn fn,
                       void *user, struct sluice_error *err);
/* GET /v1/usage?from=&to=&group_by= (each may be NULL). */
int sluice_usage(sluice_client *client, const char *from, const char *to, const char *group_by, json_t **out,
                 struct sluice_error *err);
/* POST /v1/preview {"sql","limit","timeout_ms","start"}; start is "earliest", "latest" or NULL (the
 * server's default: latest). */
int sluice_preview(sluice_client *client, const char *sql, int limit, long timeout_ms, const char *start, json_t **out,
                   struct sluice_error *err);

/* POST /v1/pipelines/explain {"sql"}: {"plan": text, "operators": [...]}; nothing runs. */
int sluice_explain(sluice_client *client, const char *sql, json_t **out, struct sluice_error *err);

/* ---- events, status and the audit trail ------------------------------------------------ */

/* GET /v1/<kind>/<id>/events?since_id=&limit=: the task events of a pipeline or connection
 * (started, exited, restarted, claimed, ...) with an id above since_id (0: from the first), the
 * oldest first, at most limit (0: the server's default, 100; at most 1000). *out:
 * {"items":[{"id","ts","task_id","event","message","restarts"}]}. */
int sluice_events(sluice_client *client, enum sluice_kind kind, const char *id, long long since_id, int limit,
                  json_t **out, struct sluice_error *err);
/* GET /v1/<kind>/<id>/status: desired and actual state, generation and observed_generation,
 * last_error, throughput, and "tasks" [{"id","index","node","pid","state","restarts",
 * "started_at","heartbeat_at","sandbox","last_error","metrics"}]. */
int sluice_status(sluice_client *client, enum sluice_kind kind, const char *id, json_t **out, struct sluice_error *err);
/* GET /v1/audit-events?cursor=&limit= (admins and owners): one page of the tenant's audit
 * trail, the newest first. cursor NULL: the first page; limit 0: the server's default. *out:
 * {"items":[{"id","ts","action","resource_kind","resource_id","user_id","api_key_id",
 * "request_id"}],"next_cursor"} with next_cursor null after the last page. */
int sluice_audit_events(sluice_client *client, const char *cursor, int limit, json_t **out, struct sluice_error *err);

/* ---- HTTP ingest ------------------------------------------------------------------------ */

#define SLUICE_MAX_EVENTS_PER_CALL 10000

/* POST /v1/connections/<connection_id>/events {"events": events}: events is a JSON array of 1 to
 * SLUICE_MAX_EVENTS_PER_CALL objects (borrowed), appended to the connection's stream all or
 * nothing; *out: {"accepted","partitions":[{"partition","accepted","offsets":{"first","last"}}]}
 * (plus "partition" and "offsets" when one partition took them all). Bad events:
 * SLUICE_E_INVALID_EVENTS with err->details {"errors":[{"index","field","reason"}],
 * "invalid_count"}. Retried calls carry one Idempotency-Key, so a batch is written once. */
int sluice_connection_send_events(sluice_client *client, const char *connection_id, json_t *events, json_t **out,
                                  struct sluice_error *err);

#ifdef __cplusplus
}
#endif

#endif
