/* http.h — what a handler sees: the request (method, path captures, parsed body, caller,
 * database connection) and the response it fills (status, JSON body, headers).
 *
 * Errors have one shape, {"error":{"code","message","details"}}, and one table maps each code
 * to its HTTP status (api_error_status). Handlers return 0, or -1 after api_fail() filled the
 * response.
 *
 * Ownership: the response owns its body (json_t, released by api_response_clear()); api_fail()
 * steals details. The request borrows everything it points to, except json (owned, released by
 * the server after the handler). */
#ifndef SLUICE_API_HTTP_H
#define SLUICE_API_HTTP_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/router.h"
#include "common/crypto.h"
#include "common/db.h"

enum api_error {
    API_INVALID_JSON,
    API_INVALID_REQUEST,
    API_UNAUTHENTICATED,
    API_FORBIDDEN,
    API_QUOTA_EXCEEDED,
    API_NOT_FOUND,
    API_METHOD_NOT_ALLOWED,
    API_CONFLICT,
    API_IDEMPOTENCY_MISMATCH,
    API_PRECONDITION_FAILED,
    API_PAYLOAD_TOO_LARGE,
    API_URI_TOO_LONG,
    API_HEADERS_TOO_LARGE,
    API_STORAGE_QUOTA_EXCEEDED,
    API_UNSUPPORTED_MEDIA_TYPE,
    API_INVALID_SQL,
    API_INVALID_EVENTS,
    API_INVALID_CONNECTION,
    API_INVALID_STREAM, /* 422: a stream the deployment cannot store (storage kafka without a cluster) */
    API_WRONG_CONNECTOR,
    API_NOT_ACTIVE,
    API_RATE_LIMITED,
    API_INTERNAL,
    API_UNAVAILABLE,
    API_ERROR_COUNT
};

/* The code string ("not_found") and HTTP status (404) of an error. */
const char *api_error_code(enum api_error e);
int api_error_status(enum api_error e);

/* Server-wide settings handlers read. */
struct api_settings {
    uint8_t master_key[CRYPTO_KEY_LEN];
    long max_body_bytes;
    long token_ttl_seconds;
    const char *data_root;    /* where tenants' streams live (controlplane data root) */
    const char *database_url; /* for connections of their own (log following) */
    /* host:port,... of the deployment's Kafka cluster, where streams with "storage": "kafka"
     * live (their topics); NULL: none, and such streams are refused */
    const char *kafka_bootstrap_servers;
    bool kafka_default; /* streams created without "storage" are stored in Kafka (--stream-storage kafka) */
};

/* The authenticated caller (empty strings when absent). */
struct api_caller {
    char tenant_id[40];
    char user_id[40];
    char api_key_id[40];
    char role[16];
    double rate_per_second, rate_burst;
};

struct api_request {
    const char *method;
    const char *path;
    void *connection; /* struct MHD_Connection *, for headers and query arguments */
    const char *body;
    size_t body_len;
    json_t *json; /* parsed body when the route takes one */
    struct router_params params;
    const struct api_route *route;
    char request_id[72];
    struct api_caller caller;
    PGconn *db;
    struct arena *arena; /* this request's memory, released after the response */
    /* Nothing of the server's follows the handler in its transaction (no Idempotency-Key to
     * record): a handler whose last statement is known may let it commit the transaction
     * (db_scope_commit_next), after which nothing of the handler's may fail. */
    bool may_commit_with_last;
    /* A create's checks relied on the tenant's streams as cached with this fingerprint
     * (api/stream_cache.h): its insert must find them unchanged. NULL: they were read in this
     * transaction. */
    const char *streams_fingerprint;
    /* A pipeline's create or update checked its SQL: the connections it reads as lookup joins'
     * tables, a JSON array of names, written with the pipeline (pipeline_lookups). NULL: not
     * checked (the lookups are unchanged). */
    const char *pipeline_lookups;
    const struct api_settings *settings;
};

struct api_response {
    int status;
    json_t *body;         /* owned; NULL for no body */
    const char *raw_body; /* static text sent instead of body when set */
    char location[192];
    long long etag_version; /* > 0: ETag: "N" */
    int retry_after;        /* > 0: Retry-After seconds */
    const char *csp;        /* Content-Security-Policy (static); NULL: the API's "default-src 'none'" */
    char set_cookie[320];   /* Set-Cookie value when not empty */
    /* A malloc'd text body (owned, freed after sending; lists, Prometheus text) or a body made
     * by a callback (server-sent events; stream_free(stream_cls) is called by the server when
     * done), with their content type. stream_read returns the bytes it put in buf, -1 at the
     * end, or 0 when it has nothing yet: it must not wait; the server parks the connection
     * (api/park.h) and calls it again after stream_poll_ms (0: the server's default). */
    char *text_body;
    const char *content_type;
    long (*stream_read)(void *cls, uint64_t pos, char *buf, size_t max);
    void (*stream_free)(void *cls);
    void *stream_cls;
    unsigned stream_poll_ms;
};

/* A request header or query argument, or NULL. */
const char *api_header(const struct api_request *req, const char *name);
const char *api_query(const struct api_request *req, const char *name);

/* Fills resp with an error: message from fmt, details (stolen, may be NULL). Returns -1. */
int api_fail(struct api_response *resp, enum api_error e, json_t *details, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* api_fail with details {"field": field}. */
int api_fail_field(struct api_response *resp, enum api_error e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Maps a database failure: unique violation -> conflict, foreign key -> conflict, lost
 * connection -> unavailable, anything else -> internal (logged, not shown). Returns -1. */
int api_fail_db(struct api_response *resp, const struct db_error *err);

/* Runs sql on req->db. Returns the result (the caller PQclear()s it), or NULL with resp filled
 * by api_fail_db(). */
PGresult *api_db_query(struct api_request *req, struct api_response *resp, const char *sql, int nparams,
                       const char *const *params);

/* The calling server thread's own database connection (as sluice_app, no tenant set),
 * reconnecting when needed; NULL when the database is unreachable. For streamed bodies, whose
 * readers run on server threads outside any request: they scope each query themselves. */
PGconn *api_thread_db_conn(void);

#define API_LIST_DEFAULT_LIMIT 50
#define API_LIST_MAX_LIMIT 200

/* The ?limit= of a list (1..API_LIST_MAX_LIMIT, default API_LIST_DEFAULT_LIMIT) into *limit;
 * -1 with 400 in resp when malformed. */
int api_query_limit(const struct api_request *req, long *limit, struct api_response *resp);
/* 400 invalid_request for a ?cursor= this API did not hand out. Returns -1. */
int api_fail_cursor(struct api_response *resp);

/* Replies 200 {"items":[...],"next_cursor":...} from res (cleared here): column 0 of each row
 * is an item's JSON text, sent as PostgreSQL wrote it (resp->text_body; not parsed again); when
 * res has more than limit rows (the query fetched limit + 1), the cursor column of the last
 * shown row becomes next_cursor. limit <= 0: all rows, no cursor. */
int api_reply_list(struct api_response *resp, PGresult *res, long limit, int cursor_column);

/* Sets a successful response with a JSON body already written as text (malloc'd, stolen; sent
 * as it is). Returns 0. */
int api_reply_text(struct api_response *resp, int status, char *body);
/* Sets a successful response with body (stolen). Returns 0. */
int api_reply(struct api_response *resp, int status, json_t *body);
/* 200 with a body made by read (see stream_read above), which owns cls and releases it with
 * free_cls when done. Returns 0. */
int api_reply_stream(struct api_response *resp, const char *content_type,
                     long (*read)(void *cls, uint64_t pos, char *buf, size_t max), void (*free_cls)(void *cls),
                     void *cls);

/* Releases the body and zeroes the response. */
void api_response_clear(struct api_response *resp);

/* Whether s is a UUID in canonical text form (8-4-4-4-12 hex). */
bool api_is_uuid(const char *s);

#endif
