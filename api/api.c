/* api.c — `sluiced api`: the HTTPS REST server. Configuration, TLS, the route table, the
 * per-request pipeline (body limits, content type, JSON, authentication, rate limit, tenant
 * transaction, Idempotency-Key), libmicrohttpd glue, and graceful shutdown on SIGTERM. */
#include "api/api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "api/auth.h"
#include "api/connection_check.h"
#include "api/console.h"
#include "api/handlers_connectors.h"
#include "api/auth_cache.h"
#include "api/handlers_ingest.h"
#include "api/handlers_logs.h"
#include "api/handlers_explain.h"
#include "api/handlers_records.h"
#include "api/handlers_usage.h"
#include "api/http.h"
#include "api/ingest_writers.h"
#include "api/openapi.h"
#include "api/park.h"
#include "api/preview.h"
#include "api/ratelimit.h"
#include "api/resources.h"
#include "api/users.h"
#include "common/arena.h"
#include "common/config.h"
#include "common/crypto.h"
#include "common/db.h"
#include "common/log.h"
#include "common/signals.h"

/* ---- configuration ----------------------------------------------------------------------- */

struct api_config {
    char *database_url;
    char *listen_address;
    long port;
    long threads;
    long max_connections;
    long max_connections_per_ip;
    char *tls_cert;
    char *tls_key;
    char *tls_dir;
    char *master_key;
    char *master_key_file;
    long max_body_bytes;
    long token_ttl;
    long login_rate;
    long login_burst;
    char *log_level;
    char *log_format;
    char *data_root;
    char *web_dir;
    char *kafka_bootstrap_servers;
    char *stream_storage;
};

// clang-format off
#define OPT(name_, env_, type_, field, def_, min_, max_, help_)                                    \
    {.name = name_, .env = env_, .type = type_, OPTION_FIELD(struct api_config, field), .def = def_, .min = min_,        \
     .max = max_, .help = help_}
// clang-format on
static const struct option_row api_options[] = {
    OPT("database-url", "SLUICE_DATABASE_URL", OPTION_STRING, database_url, NULL, 0, 0,
        "PostgreSQL connection URL (required)"),
    OPT("listen-address", "SLUICE_API_ADDRESS", OPTION_STRING, listen_address, "127.0.0.1", 0, 0,
        "address to listen on (IPv4 or IPv6)"),
    OPT("port", "SLUICE_API_PORT", OPTION_INT, port, "8443", 1, 65535, "HTTPS port"),
    OPT("threads", "SLUICE_API_THREADS", OPTION_INT, threads, "4", 1, 64,
        "worker threads, each with its own database connection"),
    OPT("max-connections", "SLUICE_API_MAX_CONNECTIONS", OPTION_INT, max_connections, "4096", 16, 1000000,
        "connections open at once (the open-files limit is raised to fit)"),
    OPT("max-connections-per-ip", "SLUICE_API_MAX_CONNECTIONS_PER_IP", OPTION_INT, max_connections_per_ip, "64", 1,
        1000000, "connections open at once from one client address: one client cannot hold every connection"),
    OPT("tls-cert", "SLUICE_TLS_CERT", OPTION_STRING, tls_cert, NULL, 0, 0,
        "PEM certificate (chain); with tls-key, replaces the generated one"),
    OPT("tls-key", "SLUICE_TLS_KEY", OPTION_STRING, tls_key, NULL, 0, 0, "PEM private key"),
    OPT("tls-dir", "SLUICE_TLS_DIR", OPTION_STRING, tls_dir, "var/tls", 0, 0,
        "where the self-signed development certificate is generated"),
    OPT("master-key", "SLUICE_MASTER_KEY", OPTION_STRING, master_key, NULL, 0, 0,
        "64 hex digits: AES-256 key for secrets at rest"),
    OPT("master-key-file", "SLUICE_MASTER_KEY_FILE", OPTION_STRING, master_key_file, "var/master.key", 0, 0,
        "file holding the master key when master-key is not set"),
    OPT("max-body-bytes", "SLUICE_MAX_BODY_BYTES", OPTION_INT, max_body_bytes, "1048576", 1024, 64L << 20,
        "largest request body accepted (413 above)"),
    OPT("token-ttl", "SLUICE_TOKEN_TTL", OPTION_INT, token_ttl, "86400", 60, 90L * 86400,
        "lifetime of login tokens, seconds"),
    OPT("login-rate", "SLUICE_LOGIN_RATE", OPTION_INT, login_rate, "60", 1, 1000000,
        "signup and login requests per minute per client address"),
    OPT("login-burst", "SLUICE_LOGIN_BURST", OPTION_INT, login_burst, "20", 1, 1000000,
        "signup and login requests a client address may make at once"),
    OPT("log-level", "SLUICE_LOG_LEVEL", OPTION_STRING, log_level, "info", 0, 0, "debug, info, warn or error"),
    OPT("log-format", "SLUICE_LOG_FORMAT", OPTION_STRING, log_format, "text", 0, 0, "text or json"),
    OPT("data-root", "SLUICE_DATA_ROOT", OPTION_STRING, data_root, "var/data", 0, 0,
        "root of tenants' streams (the controlplane's data-root), for stream records"),
    OPT("kafka-bootstrap-servers", "SLUICE_KAFKA_BOOTSTRAP_SERVERS", OPTION_STRING, kafka_bootstrap_servers, NULL, 0, 0,
        "host:port,... of the Kafka cluster for streams created with \"storage\": \"kafka\" (cluster mode)"),
    OPT("stream-storage", "SLUICE_STREAM_STORAGE", OPTION_STRING, stream_storage, "log", 0, 0,
        "storage of streams created without one: log (the embedded log) or kafka (needs kafka-bootstrap-servers)"),
    OPT("web-dir", "SLUICE_WEB_DIR", OPTION_STRING, web_dir, "build/web", 0, 0,
        "the web console's built files (make build writes them to build/web), served at /"),
};
#define API_NOPTIONS (sizeof api_options / sizeof api_options[0])

/* ---- server state ------------------------------------------------------------------------ */

#define API_MAX_THREADS 64
#define API_STREAM_POLL_MS 250 /* a streamed body with nothing to send is asked again after this */

static struct {
    struct api_config config;
    struct api_settings settings;
    struct ratelimit *ratelimit;
    pthread_mutex_t dbs_lock;
    PGconn *dbs[API_MAX_THREADS + 1]; /* every thread's connection, closed at shutdown */
} api_server = {.dbs_lock = PTHREAD_MUTEX_INITIALIZER};

static __thread PGconn *api_thread_db;

static void api_db_forget(PGconn *conn)
{
    pthread_mutex_lock(&api_server.dbs_lock);
    for (int i = 0; i <= API_MAX_THREADS; i++)
        if (api_server.dbs[i] == conn)
            api_server.dbs[i] = NULL;
    pthread_mutex_unlock(&api_server.dbs_lock);
    PQfinish(conn);
}

/* This thread's connection as sluice_app, (re)connecting when needed; NULL when unreachable. */
static PGconn *api_db(void)
{
    if (api_thread_db && PQstatus(api_thread_db) == CONNECTION_OK)
        return api_thread_db;
    if (api_thread_db) {
        api_db_forget(api_thread_db);
        api_thread_db = NULL;
    }
    struct db_error err;
    PGconn *conn = db_connect(api_server.config.database_url, "sluice_app", &err);
    if (!conn) {
        log_error("%s", err.message);
        return NULL;
    }
    /* Prepared statements and the tenant scope (without, plain queries). The api's statements are
     * short and index-driven, so their generic plans suit every parameter value: plan each once
     * per connection instead of planning custom plans on every execution. */
    db_session_enable(conn);
    if (db_exec(conn, "SET plan_cache_mode = force_generic_plan", 0, NULL, &err) < 0)
        log_warn("cannot set plan_cache_mode: %s", err.message);
    pthread_mutex_lock(&api_server.dbs_lock);
    int stored = 0;
    for (int i = 0; i <= API_MAX_THREADS && !stored; i++)
        if (!api_server.dbs[i]) {
            api_server.dbs[i] = conn;
            stored = 1;
        }
    pthread_mutex_unlock(&api_server.dbs_lock);
    if (!stored) {
        PQfinish(conn);
        return NULL;
    }
    api_thread_db = conn;
    return conn;
}

PGconn *api_thread_db_conn(void) { return api_db(); }

/* ---- small handlers ---------------------------------------------------------------------- */

static int api_healthz(struct api_request *req, struct api_response *resp)
{
    return api_reply(resp, 200, json_pack("{s:s}", "status", "ok"));
}

static int api_readyz(struct api_request *req, struct api_response *resp)
{
    struct db_error err;
    if (!req->db)
        return api_fail(resp, API_UNAVAILABLE, NULL,
                        "cannot connect to the database as sluice_app; is it up, and has `sluiced migrate` run?");
    PGresult *res = db_query(req->db, "SELECT to_regclass('public.pipelines') IS NOT NULL", 0, NULL, &err);
    int migrated = res && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!res)
        return api_fail(resp, API_UNAVAILABLE, NULL, "the database is not reachable");
    if (!migrated)
        return api_fail(resp, API_UNAVAILABLE, NULL, "the database has no schema yet; run `sluiced migrate`");
    return api_reply(resp, 200, json_pack("{s:s}", "status", "ready"));
}

static int api_openapi(struct api_request *req, struct api_response *resp)
{
    resp->status = 200;
    resp->raw_body = api_openapi_json;
    return 0;
}

/* ---- the route table --------------------------------------------------------------------- */

// clang-format off
#define RESOURCE_ROUTES(path, kind)                                                                \
    {"POST", "/v1/" path, resource_create, ROUTE_AUTH | ROUTE_BODY, &kind},                        \
    {"GET", "/v1/" path, resource_list, ROUTE_AUTH, &kind},                                        \
    {"GET", "/v1/" path "/{id}", resource_get, ROUTE_AUTH, &kind},                                 \
    {"PATCH", "/v1/" path "/{id}", resource_update, ROUTE_AUTH | ROUTE_BODY, &kind},               \
    {"DELETE", "/v1/" path "/{id}", resource_delete, ROUTE_AUTH, &kind}
// clang-format on
// clang-format off
#define RUNNABLE_ROUTES(path, kind)                                                                \
    {"POST", "/v1/" path "/{id}/activate", resource_activate, ROUTE_AUTH, &kind},                  \
    {"POST", "/v1/" path "/{id}/deactivate", resource_deactivate, ROUTE_AUTH, &kind}
// clang-format on

static const struct api_route api_routes[] = {
    {"GET", "/", console_index, ROUTE_NO_DB, NULL},
    {"GET", "/ui/{file}", console_file, ROUTE_NO_DB, NULL},
    {"GET", "/ui/vendor/{file}", console_vendor_file, ROUTE_NO_DB, NULL},
    {"GET", "/healthz", api_healthz, ROUTE_NO_DB, NULL},
    {"GET", "/readyz", api_readyz, ROUTE_DB_OPTIONAL, NULL},
    {"GET", "/openapi.json", api_openapi, ROUTE_NO_DB, NULL},
    {"GET", "/v1/openapi.json", api_openapi, ROUTE_NO_DB, NULL},
    {"POST", "/v1/signup", auth_signup, ROUTE_BODY | ROUTE_PER_IP, NULL},
    {"POST", "/v1/login", auth_login, ROUTE_BODY | ROUTE_PER_IP, NULL},
    {"POST", "/v1/logout", auth_logout, ROUTE_AUTH | ROUTE_AUTH_CHANGE, NULL},
    {"GET", "/v1/me", auth_me, ROUTE_AUTH, NULL},
    {"GET", "/v1/connectors", connectors_list, ROUTE_NO_DB, NULL},
    {"GET", "/v1/api-keys", auth_api_keys_list, ROUTE_AUTH, NULL},
    {"POST", "/v1/api-keys", auth_api_keys_create, ROUTE_AUTH | ROUTE_BODY | ROUTE_ADMIN, NULL},
    {"DELETE", "/v1/api-keys/{id}", auth_api_keys_revoke, ROUTE_AUTH | ROUTE_ADMIN | ROUTE_AUTH_CHANGE, NULL},
    {"GET", "/v1/audit-events", auth_audit_events, ROUTE_AUTH | ROUTE_ADMIN, NULL},
    {"GET", "/v1/users", users_list, ROUTE_AUTH, NULL},
    {"POST", "/v1/users", users_create, ROUTE_AUTH | ROUTE_BODY | ROUTE_ADMIN, NULL},
    {"PATCH", "/v1/users/{id}", users_update, ROUTE_AUTH | ROUTE_BODY | ROUTE_ADMIN | ROUTE_AUTH_CHANGE, NULL},
    {"DELETE", "/v1/users/{id}", users_delete, ROUTE_AUTH | ROUTE_ADMIN | ROUTE_AUTH_CHANGE, NULL},
    RESOURCE_ROUTES("secrets", resource_secrets),
    RESOURCE_ROUTES("functions", resource_functions),
    RESOURCE_ROUTES("streams", resource_streams),
    RESOURCE_ROUTES("connections", resource_connections),
    RUNNABLE_ROUTES("connections", resource_connections),
    {"POST", "/v1/pipelines/explain", pipelines_explain, ROUTE_AUTH | ROUTE_BODY, NULL},
    RESOURCE_ROUTES("pipelines", resource_pipelines),
    RUNNABLE_ROUTES("pipelines", resource_pipelines),
    /* controlplane: usage, billing, logs, events, status, stream records, metrics */
    {"GET", "/v1/usage", usage_list, ROUTE_AUTH, NULL},
    {"GET", "/v1/billing/summary", usage_billing_summary, ROUTE_AUTH, NULL},
    {"GET", "/v1/operator/usage", usage_operator, ROUTE_AUTH, NULL},
    {"GET", "/v1/pipelines/{id}/logs", logs_list, ROUTE_AUTH, "pipeline"},
    {"GET", "/v1/connections/{id}/logs", logs_list, ROUTE_AUTH, "connection"},
    {"GET", "/v1/pipelines/{id}/events", logs_events, ROUTE_AUTH, "pipeline"},
    {"GET", "/v1/connections/{id}/events", logs_events, ROUTE_AUTH, "connection"},
    {"POST", "/v1/connections/{id}/events", ingest_events, ROUTE_AUTH, NULL}, /* HTTP ingest: JSON or NDJSON */
    {"GET", "/v1/pipelines/{id}/status", logs_status, ROUTE_AUTH, "pipeline"},
    {"GET", "/v1/connections/{id}/status", logs_status, ROUTE_AUTH, "connection"},
    {"POST", "/v1/connections/{id}/check", connection_check, ROUTE_AUTH, NULL},
    {"GET", "/v1/streams/{id}/records", records_list, ROUTE_AUTH, NULL},
    {"POST", "/v1/preview", preview_run, ROUTE_AUTH | ROUTE_BODY, NULL},
    {"GET", "/metrics", usage_metrics, 0, NULL},
};
#define API_NROUTES (sizeof api_routes / sizeof api_routes[0])

const struct api_route *api_route_table(size_t *n)
{
    *n = API_NROUTES;
    return api_routes;
}

/* ---- request pipeline -------------------------------------------------------------------- */

static double api_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int api_parse_body(struct api_request *req, struct api_response *resp)
{
    const char *ct = api_header(req, "Content-Type");
    if (req->body_len == 0)
        return api_fail(resp, API_INVALID_JSON, NULL, "the request body is empty; send a JSON object");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0 || (ct[16] && ct[16] != ';' && ct[16] != ' '))
        return api_fail(resp, API_UNSUPPORTED_MEDIA_TYPE, json_pack("{s:s}", "content_type", ct ? ct : ""),
                        "send the body as Content-Type: application/json");
    json_error_t jerr;
    req->json = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!req->json)
        return api_fail(resp, API_INVALID_JSON, json_pack("{s:i,s:i}", "line", jerr.line, "column", jerr.column),
                        "the body is not valid JSON: %s", jerr.text);
    if (!json_is_object(req->json))
        return api_fail(resp, API_INVALID_JSON, NULL, "the body must be a JSON object");
    return 0;
}

/* Idempotency-Key, inside the tenant transaction. The first request with a key claims it
 * by inserting a pending row (status 0) before its handler runs; the row stays uncommitted
 * until the request commits. A concurrent request with the same key blocks in its own INSERT
 * on that row (the unique index), so it writes nothing while the first one runs: when the
 * first commits, the INSERT does nothing and the stored answer is replayed; when the first
 * fails (rolls back, releasing the key), the INSERT succeeds and this request runs in its
 * place. A wait longer than API_IDEMPOTENCY_WAIT answers 409 conflict, without writing. */
#define API_IDEMPOTENCY_WAIT "15s"

/* The stored answer of key into resp (or 409 idempotency_mismatch when the key was used for
 * another request). 1 when found, 0 when there is none, -1 on error. */
static int api_idempotency_replay(struct api_request *req, const char *key, const char *hash, struct api_response *resp)
{
    const char *params[] = {key};
    struct db_error err;
    PGresult *res = db_query(req->db,
                             "SELECT request_hash, status, coalesce(location, ''), body FROM "
                             "idempotency_keys WHERE key = $1 AND status > 0",
                             1, params, &err);
    if (!res)
        return api_fail_db(resp, &err);
    int found = PQntuples(res) > 0;
    if (found && strcmp(PQgetvalue(res, 0, 0), hash) != 0) {
        api_fail_field(resp, API_IDEMPOTENCY_MISMATCH, "Idempotency-Key",
                       "this Idempotency-Key was used with a different request; use a new key");
    } else if (found) {
        resp->status = atoi(PQgetvalue(res, 0, 1));
        snprintf(resp->location, sizeof resp->location, "%s", PQgetvalue(res, 0, 2));
        const char *stored = PQgetvalue(res, 0, 3); /* the body as it was sent */
        json_t *doc = json_loads(stored, 0, NULL);
        resp->etag_version = json_integer_value(json_object_get(doc, "version"));
        json_decref(doc);
        resp->text_body = *stored ? strdup(stored) : NULL;
    }
    PQclear(res);
    return found;
}

/* Claims key for this request (see above): 0 when claimed (run the handler), 1 when resp
 * holds the stored answer or a mismatch, -1 with resp filled on an error or a timeout. */
static int api_idempotency_claim(struct api_request *req, const char *key, const char *hash, struct api_response *resp)
{
    const char *params[] = {req->caller.tenant_id, key, hash};
    struct db_error err;
    if (db_exec(req->db, "SELECT set_config('lock_timeout', '" API_IDEMPOTENCY_WAIT "', true)", 0, NULL, &err) < 0)
        return api_fail_db(resp, &err);
    PGresult *res = db_query(req->db,
                             "INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, body) "
                             "VALUES ($1, $2, $3, 0, '') ON CONFLICT (tenant_id, key) DO NOTHING RETURNING 1",
                             3, params, &err);
    if (!res && strcmp(err.sqlstate, "55P03") == 0)
        return api_fail_field(resp, API_CONFLICT, "Idempotency-Key",
                              "a request with this Idempotency-Key is still in progress; retry it later");
    if (!res)
        return api_fail_db(resp, &err);
    int claimed = PQntuples(res) == 1;
    PQclear(res);
    if (db_exec(req->db, "SELECT set_config('lock_timeout', '0', true)", 0, NULL, &err) < 0)
        return api_fail_db(resp, &err);
    if (claimed)
        return 0;
    int found = api_idempotency_replay(req, key, hash, resp);
    if (found == 0) /* the row it waited for is gone again: a rare race with its deletion */
        return api_fail_field(resp, API_CONFLICT, "Idempotency-Key",
                              "a request with this Idempotency-Key is in progress; retry it later");
    return found;
}

/* Stores the answer in the row claimed by api_idempotency_claim(). */
static int api_idempotency_store(struct api_request *req, const char *key, struct api_response *resp)
{
    char status[16];
    snprintf(status, sizeof status, "%d", resp->status);
    char *body = resp->body ? json_dumps(resp->body, JSON_COMPACT) : strdup(resp->text_body ? resp->text_body : "");
    const char *params[] = {req->caller.tenant_id, key, status, resp->location, body ? body : ""};
    struct db_error err;
    int rc = db_exec(req->db,
                     "UPDATE idempotency_keys SET status = $3::int, location = nullif($4, ''), body = $5"
                     " WHERE tenant_id = $1 AND key = $2",
                     5, params, &err);
    free(body);
    return rc < 0 ? api_fail_db(resp, &err) : 0;
}

/* Takes a token from key's bucket; 429 with Retry-After in resp when empty. */
static int api_rate_limit(const char *key, double rate, double burst, const char *who, struct api_response *resp)
{
    int retry_after = 1;
    if (ratelimit_take(api_server.ratelimit, key, rate, burst, api_now(), &retry_after))
        return 0;
    api_fail(resp, API_RATE_LIMITED, json_pack("{s:i}", "retry_after", retry_after),
             "too many requests for this %s; retry in %d s", who, retry_after);
    resp->retry_after = retry_after;
    return -1;
}

/* "ip:<client address>" into out. */
static void api_client_key(struct MHD_Connection *conn, char *out, size_t outlen)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char addr[INET6_ADDRSTRLEN] = "unknown";
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr, sizeof addr);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, addr, sizeof addr);
    snprintf(out, outlen, "ip:%s", addr);
}

/* Authenticated routes: rate limit, tenant transaction, idempotency, handler, commit. */
static void api_run_in_tenant(struct api_request *req, struct api_response *resp)
{
    if (auth_authenticate(req, resp) < 0)
        return;
    if (api_rate_limit(req->caller.tenant_id, req->caller.rate_per_second, req->caller.rate_burst, "tenant", resp) < 0)
        return;
    if ((req->route->flags & ROUTE_ADMIN) && strcmp(req->caller.role, "owner") != 0 &&
        strcmp(req->caller.role, "admin") != 0) {
        api_fail(resp, API_FORBIDDEN, json_pack("{s:s}", "role", req->caller.role),
                 "this needs the owner or admin role; you are %s", req->caller.role);
        return;
    }
    /* The tenant's scope (common/db.h): set_config('sluice.tenant_id', ..., true) travels with
     * the first statement (and BEGIN) in one round trip. A GET only reads: each of its
     * statements runs in an implicit transaction of its own, with the tenant set, so it needs
     * no BEGIN and no COMMIT. Every other method runs in one transaction, committed below. */
    struct db_error err;
    bool read_only = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    if (db_scope(req->db, read_only ? DB_SCOPE_STATEMENT : DB_SCOPE_TRANSACTION, "sluice.tenant_id",
                 req->caller.tenant_id, &err) < 0) {
        api_fail_db(resp, &err);
        return;
    }
    const char *key = strcmp(req->method, "POST") == 0 ? api_header(req, "Idempotency-Key") : NULL;
    char hash[CRYPTO_SHA256_HEX] = "";
    int replay = 0;
    if (key) {
        if (!*key || strlen(key) > 255) {
            api_fail_field(resp, API_INVALID_REQUEST, "Idempotency-Key", "Idempotency-Key must be 1 to 255 characters");
            replay = -1;
        } else {
            size_t n = strlen(req->method) + strlen(req->path) + req->body_len + 2;
            char *material = arena_alloc(req->arena, n + 1);
            if (!material) {
                api_fail(resp, API_INTERNAL, NULL, "internal error");
                replay = -1;
            } else {
                int len = snprintf(material, n + 1, "%s\n%s\n", req->method, req->path);
                memcpy(material + len, req->body ? req->body : "", req->body_len);
                crypto_sha256_hex(material, (size_t)len + req->body_len, hash);
                replay = api_idempotency_claim(req, key, hash, resp);
            }
        }
    }
    req->may_commit_with_last = !key;
    int ok = replay == 0 && req->route->handler(req, resp) == 0 && resp->status < 400;
    if (ok && key && api_idempotency_store(req, key, resp) < 0)
        ok = 0;
    bool begun = db_scope_begun(req->db);
    db_scope(req->db, DB_SCOPE_NONE, NULL, NULL, &err);
    if (!ok) {
        if (begun)
            db_exec(req->db, "ROLLBACK", 0, NULL, &err);
        return;
    }
    if (begun && db_exec(req->db, "COMMIT", 0, NULL, &err) < 0) {
        api_fail_db(resp, &err);
        return;
    }
    /* A revoke is seen by this process before it answers; the others hear of it through the
     * sluice_auth notification (api/auth_cache.h). */
    if (req->route->flags & ROUTE_AUTH_CHANGE)
        auth_cache_evict(req->caller.tenant_id);
}

static void api_dispatch(struct api_request *req, struct api_response *resp)
{
    const struct api_route *route;
    switch (router_match(api_routes, API_NROUTES, req->method, req->path, &route, &req->params)) {
    case ROUTER_NO_PATH:
        api_fail(resp, API_NOT_FOUND, NULL, "no such endpoint: %s %s", req->method, req->path);
        return;
    case ROUTER_NO_METHOD:
        api_fail(resp, API_METHOD_NOT_ALLOWED, NULL, "%s is not allowed on %s", req->method, req->path);
        return;
    case ROUTER_MATCH:
        break;
    }
    req->route = route;
    if (route->flags & ROUTE_PER_IP) {
        char key[64];
        api_client_key(req->connection, key, sizeof key);
        if (api_rate_limit(key, (double)api_server.config.login_rate / 60.0, (double)api_server.config.login_burst,
                           "client address", resp) < 0)
            return;
    }
    if ((route->flags & ROUTE_BODY) && api_parse_body(req, resp) < 0)
        return;
    if (!(route->flags & ROUTE_NO_DB)) {
        req->db = api_db();
        if (!req->db && !(route->flags & ROUTE_DB_OPTIONAL)) {
            api_fail(resp, API_UNAVAILABLE, NULL, "the database is unavailable; retry shortly");
            return;
        }
    }
    if (route->flags & ROUTE_AUTH)
        api_run_in_tenant(req, resp);
    else
        route->handler(req, resp);
    if (req->db && PQtransactionStatus(req->db) != PQTRANS_IDLE) {
        struct db_error err;
        db_exec(req->db, "ROLLBACK", 0, NULL, &err);
    }
    if (req->db && PQstatus(req->db) != CONNECTION_OK) {
        api_db_forget(req->db);
        api_thread_db = NULL;
    }
}

/* ---- libmicrohttpd glue ------------------------------------------------------------------ */

/* Request head limits. libmicrohttpd answers a head that does not fit its per-connection
 * memory (MHD_OPTION_CONNECTION_MEMORY_LIMIT) with its own HTML page, so that memory is set
 * well above these limits (API_CONNECTION_MEMORY) and the limits are enforced here, with the
 * JSON error shape: a URL longer than API_MAX_URL_BYTES is a 414, more than
 * API_MAX_HEADER_COUNT header lines or more than API_MAX_HEADER_BYTES of them (names and
 * values) a 431. A head larger than even API_CONNECTION_MEMORY (about half of it, the read
 * buffer's share) still gets libmicrohttpd's own page: it has no hook for those errors. */
#define API_MAX_URL_BYTES 8192
#define API_MAX_HEADER_COUNT 100
#define API_MAX_HEADER_BYTES 32768
#define API_CONNECTION_MEMORY (512u * 1024u)

/* What the raw request line told (see api_uri_seen): the sentinels are never freed. */
static const char api_uri_flags[3];
#define API_URI_FLAG_CONTROL ((void *)&api_uri_flags[1]) /* a control byte, raw or %-escaped */
#define API_URI_FLAG_TOO_LONG ((void *)&api_uri_flags[2])

/* Whether %XX at s (s[0] == '%') encodes a control byte (0x00-0x1f, 0x7f). */
static bool api_escape_is_control(const char *s)
{
    int v = 0;
    for (int i = 1; i <= 2; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return false;
        v = v * 16 + d;
    }
    return v < 0x20 || v == 0x7f;
}

/* MHD_OPTION_URI_LOG_CALLBACK: sees the URI as sent, before libmicrohttpd decodes it into a
 * C string (where %00 would cut it short: "/v1/streams/<id>%00.json" would become
 * "/v1/streams/<id>"). Its answer becomes the request's first *con_cls: NULL, or a sentinel
 * that api_access() turns into a 400 or 414. */
static void *api_uri_seen(void *cls, const char *uri, struct MHD_Connection *conn)
{
    size_t n = 0;
    for (const char *p = uri; *p; p++, n++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f || (c == '%' && api_escape_is_control(p)))
            return API_URI_FLAG_CONTROL;
    }
    return n > API_MAX_URL_BYTES ? API_URI_FLAG_TOO_LONG : NULL;
}

struct api_header_tally {
    size_t count, bytes;
};

static enum MHD_Result api_header_count(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct api_header_tally *t = cls;
    t->count++;
    t->bytes += (key ? strlen(key) : 0) + (value ? strlen(value) : 0);
    return MHD_YES;
}

/* 400, 414 or 431 into resp when the request head breaks a limit above; 0 when it is fine. */
static int api_check_head(struct MHD_Connection *conn, const void *uri_flags, const char *url,
                          struct api_response *resp)
{
    if (uri_flags == API_URI_FLAG_CONTROL)
        return api_fail(resp, API_INVALID_REQUEST, json_pack("{s:s}", "field", "path"),
                        "the URL holds a control character (raw or %%-escaped, such as %%00); remove it");
    if (uri_flags == API_URI_FLAG_TOO_LONG || strlen(url) > API_MAX_URL_BYTES)
        return api_fail(resp, API_URI_TOO_LONG, json_pack("{s:i}", "limit", API_MAX_URL_BYTES),
                        "the URL is longer than %d bytes", API_MAX_URL_BYTES);
    struct api_header_tally t = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, api_header_count, &t);
    if (t.count > API_MAX_HEADER_COUNT)
        return api_fail(
            resp, API_HEADERS_TOO_LARGE,
            json_pack("{s:s,s:i,s:I}", "field", "headers", "limit", API_MAX_HEADER_COUNT, "count", (json_int_t)t.count),
            "the request has %zu header lines; send at most %d", t.count, API_MAX_HEADER_COUNT);
    if (t.bytes > API_MAX_HEADER_BYTES)
        return api_fail(
            resp, API_HEADERS_TOO_LARGE,
            json_pack("{s:s,s:i,s:I}", "field", "headers", "limit", API_MAX_HEADER_BYTES, "bytes", (json_int_t)t.bytes),
            "the request's headers hold %zu bytes; send at most %d", t.bytes, API_MAX_HEADER_BYTES);
    return 0;
}

struct api_call {
    struct arena *arena;
    char *body;
    size_t len, cap;
    int too_large;
    bool bad_head; /* answer head without reading the body */
    double started;
    struct api_response head; /* the 400/414/431 of api_check_head() */
};

/* A streamed body: the handler's reader, and the connection to park while it has nothing. */
struct api_stream {
    long (*read)(void *cls, uint64_t pos, char *buf, size_t max);
    void (*free)(void *cls);
    void *cls;
    struct MHD_Connection *conn;
    unsigned poll_ms;
};

static ssize_t api_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct api_stream *st = cls;
    long n = st->read(st->cls, pos, buf, max);
    /* Nothing yet: park the connection (its thread serves others) and be asked again later. */
    if (n == 0 && park_connection(st->conn, st->poll_ms ? st->poll_ms : API_STREAM_POLL_MS) < 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return n;
}

static void api_stream_free(void *cls)
{
    struct api_stream *st = cls;
    st->free(st->cls);
    free(st);
}

/* On every answer: never framed, never sniffed, no referrer; the console's pages get their own
 * Content-Security-Policy, everything else one that allows nothing. */
static void api_security_headers(struct MHD_Response *r, const struct api_response *resp)
{
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Content-Security-Policy",
                            resp->csp ? resp->csp : "default-src 'none'; frame-ancestors 'none'");
    if (resp->set_cookie[0])
        MHD_add_response_header(r, "Set-Cookie", resp->set_cookie);
}

static enum MHD_Result api_send(struct MHD_Connection *conn, struct api_request *req, struct api_response *resp,
                                double started)
{
    char *text = NULL;
    size_t len = 0;
    enum MHD_ResponseMemoryMode mode = MHD_RESPMEM_PERSISTENT;
    if (resp->stream_read) { /* controlplane: server-sent events */
        struct api_stream *st = malloc(sizeof *st);
        if (!st) {
            resp->stream_free(resp->stream_cls);
            resp->stream_cls = NULL;
            return MHD_NO;
        }
        *st = (struct api_stream){resp->stream_read, resp->stream_free, resp->stream_cls, conn, resp->stream_poll_ms};
        resp->stream_cls = NULL; /* the response owns it now */
        struct MHD_Response *sr =
            MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 8192, api_stream_read, st, api_stream_free);
        if (!sr) {
            api_stream_free(st);
            return MHD_NO;
        }
        MHD_add_response_header(sr, "Content-Type", resp->content_type);
        MHD_add_response_header(sr, "Cache-Control", "no-cache");
        MHD_add_response_header(sr, "X-Request-Id", req->request_id);
        enum MHD_Result src = MHD_queue_response(conn, (unsigned)resp->status, sr);
        MHD_destroy_response(sr);
        usage_observe_request(resp->status, api_now() - started);
        return src;
    }
    if (resp->text_body) { /* controlplane: e.g. Prometheus text */
        text = resp->text_body;
        len = strlen(text);
        mode = MHD_RESPMEM_MUST_FREE;
        resp->text_body = NULL;
    } else if (resp->raw_body) {
        text = (char *)resp->raw_body;
        len = strlen(text);
    } else if (resp->body && resp->status != 204) {
        text = json_dumps(resp->body, JSON_COMPACT);
        len = text ? strlen(text) : 0;
        mode = MHD_RESPMEM_MUST_FREE;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text ? text : (char *)"", mode);
    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(text);
        return MHD_NO;
    }
    if (len)
        MHD_add_response_header(r, "Content-Type", resp->content_type ? resp->content_type : "application/json");
    MHD_add_response_header(r, "X-Request-Id", req->request_id);
    if (resp->location[0])
        MHD_add_response_header(r, "Location", resp->location);
    if (resp->etag_version > 0) {
        char etag[32];
        snprintf(etag, sizeof etag, "\"%lld\"", resp->etag_version);
        MHD_add_response_header(r, "ETag", etag);
    }
    if (resp->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", resp->retry_after);
        MHD_add_response_header(r, "Retry-After", ra);
    }
    api_security_headers(r, resp);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    usage_observe_request(resp->status, api_now() - started);
    log_info("%s %s %d %.1fms tenant=%s", req->method, req->path, resp->status, (api_now() - started) * 1000,
             req->caller.tenant_id[0] ? req->caller.tenant_id : "-");
    return rc;
}

static void api_new_request_id(char *out, size_t outlen)
{
    uint8_t raw[12];
    if (crypto_random(raw, sizeof raw) < 0)
        memset(raw, 0, sizeof raw);
    char hex[2 * sizeof raw + 1];
    crypto_hex(raw, sizeof raw, hex);
    snprintf(out, outlen, "req_%s", hex);
}

static enum MHD_Result api_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct api_call *call = *con_cls;
    long max = api_server.settings.max_body_bytes;
    const void *uri_flags = NULL;
    if (call == API_URI_FLAG_CONTROL || call == API_URI_FLAG_TOO_LONG) { /* the first call, flagged */
        uri_flags = call;
        call = NULL;
    }
    if (!call) {
        call = calloc(1, sizeof *call);
        if (call)
            call->arena = arena_new(16384);
        if (!call || !call->arena) {
            free(call);
            return MHD_NO;
        }
        call->started = api_now();
        *con_cls = call;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (api_check_head(conn, uri_flags, url, &call->head) != 0)
            call->bad_head = true; /* answered now, without reading the body */
        else if (cl && strtoll(cl, NULL, 10) > max)
            call->too_large = 1;
        else
            return MHD_YES;
    } else if (*upload_data_size) {
        if (!call->too_large && call->len + *upload_data_size > (size_t)max) {
            call->too_large = 1;
            free(call->body);
            call->body = NULL;
        }
        if (!call->too_large) {
            if (call->len + *upload_data_size + 1 > call->cap) {
                size_t cap = call->cap ? call->cap : 4096;
                while (cap < call->len + *upload_data_size + 1)
                    cap *= 2;
                char *grown = realloc(call->body, cap);
                if (!grown)
                    return MHD_NO;
                call->body = grown;
                call->cap = cap;
            }
            memcpy(call->body + call->len, upload_data, *upload_data_size);
            call->len += *upload_data_size;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    struct api_request req = {.method = method,
                              .path = url,
                              .connection = conn,
                              .body = call->body,
                              .body_len = call->len,
                              .arena = call->arena,
                              .settings = &api_server.settings};
    struct api_response resp = {0};
    const char *given = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (given && *given && strlen(given) <= 64 &&
        strspn(given, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == strlen(given))
        snprintf(req.request_id, sizeof req.request_id, "%s", given);
    else
        api_new_request_id(req.request_id, sizeof req.request_id);
    log_set_id(req.request_id);
    if (call->bad_head) {
        resp = call->head;
        memset(&call->head, 0, sizeof call->head);
    } else if (call->too_large)
        api_fail(&resp, API_PAYLOAD_TOO_LARGE, json_pack("{s:I}", "limit", (json_int_t)max),
                 "the request body is larger than %ld bytes", max);
    else
        api_dispatch(&req, &resp);
    if (resp.status == 0)
        api_fail(&resp, API_INTERNAL, NULL, "internal error");
    enum MHD_Result rc = api_send(conn, &req, &resp, call->started);
    json_decref(req.json);
    api_response_clear(&resp);
    log_set_id(NULL);
    return rc;
}

static void api_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct api_call *call = *con_cls;
    if (call == API_URI_FLAG_CONTROL || call == API_URI_FLAG_TOO_LONG) { /* closed before api_access() */
        *con_cls = NULL;
        return;
    }
    if (call) {
        api_response_clear(&call->head);
        arena_free(call->arena);
        free(call->body);
        free(call);
        *con_cls = NULL;
    }
}

/* ---- startup ----------------------------------------------------------------------------- */

static char *api_read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)len, f) == (size_t)len) {
        buf[len] = '\0';
    } else {
        free(buf);
        buf = NULL;
        snprintf(err, errlen, "cannot read %s", path);
    }
    fclose(f);
    return buf;
}

/* Loads (or generates) the certificate and key as PEM text. */
static int api_tls_load(const struct api_config *cfg, char **cert, char **key, char *err, size_t errlen)
{
    char cert_path[4096], key_path[4096];
    int has_cert = cfg->tls_cert && *cfg->tls_cert, has_key = cfg->tls_key && *cfg->tls_key;
    if (has_cert != has_key) {
        snprintf(err, errlen, "set both tls-cert and tls-key, or neither to use a generated certificate");
        return -1;
    }
    if (has_cert) {
        snprintf(cert_path, sizeof cert_path, "%s", cfg->tls_cert);
        snprintf(key_path, sizeof key_path, "%s", cfg->tls_key);
    } else {
        int created = 0;
        if (crypto_tls_self_signed(cfg->tls_dir, &created, err, errlen) < 0)
            return -1;
        snprintf(cert_path, sizeof cert_path, "%s/cert.pem", cfg->tls_dir);
        snprintf(key_path, sizeof key_path, "%s/key.pem", cfg->tls_dir);
        char *abs = realpath(cert_path, NULL);
        log_info("TLS certificate %s (self-signed%s); clients: curl --cacert %s", abs ? abs : cert_path,
                 created ? ", generated now" : "", abs ? abs : cert_path);
        free(abs);
    }
    *cert = api_read_file(cert_path, err, errlen);
    *key = *cert ? api_read_file(key_path, err, errlen) : NULL;
    if (!*key) {
        free(*cert);
        *cert = NULL;
        return -1;
    }
    return 0;
}

static int api_configure(int argc, char **argv, char *err, size_t errlen)
{
    struct api_config *cfg = &api_server.config;
    int rc = config_load(api_options, API_NOPTIONS, cfg, argc, argv, err, errlen);
    if (rc != 0)
        return rc;
    if (config_apply_process(cfg->log_level, cfg->log_format, cfg->database_url, err, errlen) < 0)
        return -1;
    if (crypto_master_key_load(cfg->master_key, cfg->master_key_file, api_server.settings.master_key, err, errlen) < 0)
        return -1;
    api_server.settings.max_body_bytes = cfg->max_body_bytes;
    api_server.settings.token_ttl_seconds = cfg->token_ttl;
    /* The canonical path: sandboxed children (previews) see their directories only at the
     * paths their private root binds them to, which are canonical. */
    static char data_root[PATH_MAX];
    if (mkdir(cfg->data_root, 0755) != 0 && errno != EEXIST)
        log_warn("data-root %s: %s", cfg->data_root, strerror(errno));
    api_server.settings.data_root = realpath(cfg->data_root, data_root) ? data_root : cfg->data_root;
    static char web_dir[PATH_MAX];
    console_set_dir(realpath(cfg->web_dir, web_dir) ? web_dir : cfg->web_dir);
    api_server.settings.database_url = cfg->database_url;
    api_server.settings.kafka_bootstrap_servers =
        cfg->kafka_bootstrap_servers && *cfg->kafka_bootstrap_servers ? cfg->kafka_bootstrap_servers : NULL;
    api_server.settings.kafka_default = strcmp(cfg->stream_storage, "kafka") == 0;
    if (!api_server.settings.kafka_default && strcmp(cfg->stream_storage, "log") != 0) {
        snprintf(err, errlen, "stream-storage must be log or kafka, not \"%s\"", cfg->stream_storage);
        return -1;
    }
    if (api_server.settings.kafka_default && !api_server.settings.kafka_bootstrap_servers) {
        snprintf(err, errlen, "stream-storage kafka needs kafka-bootstrap-servers (the cluster the streams live in)");
        return -1;
    }
    return 0;
}

/* Raises the soft open-files limit (up to the hard one) to fit max-connections, the ingest
 * writers (three descriptors each), database connections and log files; a lower hard limit caps
 * max-connections with a warning. */
static unsigned api_connection_limit(const struct api_config *cfg)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)cfg->max_connections + 3 * INGEST_WRITERS_OPEN_MAX + 256; /* + database, logs */
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return (unsigned)cfg->max_connections;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur >= want)
        return (unsigned)cfg->max_connections;
    rlim_t other = want - (rlim_t)cfg->max_connections;
    unsigned fit = rl.rlim_cur > other + 16 ? (unsigned)(rl.rlim_cur - other) : 16;
    log_warn("max-connections %ld does not fit the open-files limit %llu: %u connections", cfg->max_connections,
             (unsigned long long)rl.rlim_cur, fit);
    return fit;
}

static struct MHD_Daemon *api_start(const char *cert, const char *key, char *err, size_t errlen)
{
    const struct api_config *cfg = &api_server.config;
    struct sockaddr_in in4 = {0};
    struct sockaddr_in6 in6 = {0};
    struct sockaddr *addr;
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_TLS | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (inet_pton(AF_INET, cfg->listen_address, &in4.sin_addr) == 1) {
        in4.sin_family = AF_INET;
        in4.sin_port = htons((uint16_t)cfg->port);
        addr = (struct sockaddr *)&in4;
    } else if (inet_pton(AF_INET6, cfg->listen_address, &in6.sin6_addr) == 1) {
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons((uint16_t)cfg->port);
        addr = (struct sockaddr *)&in6;
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "listen-address \"%s\" is not an IPv4 or IPv6 address", cfg->listen_address);
        return NULL;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, api_access, NULL, MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_HTTPS_MEM_CERT,
        cert, MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
        MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_NOTIFY_COMPLETED, api_completed, NULL,
        MHD_OPTION_URI_LOG_CALLBACK, api_uri_seen, NULL, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)API_CONNECTION_MEMORY, MHD_OPTION_CONNECTION_LIMIT, api_connection_limit(cfg),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->max_connections_per_ip, MHD_OPTION_END);
    if (!d)
        snprintf(err, errlen, "cannot listen on %s port %ld (in use, or not allowed)", cfg->listen_address, cfg->port);
    return d;
}

int api_main(int argc, char **argv)
{
    char err[1024];
    int rc = api_configure(argc, argv, err, sizeof err);
    if (rc == 1) {
        config_usage(stdout, "api", api_options, API_NOPTIONS);
        config_free(api_options, API_NOPTIONS, &api_server.config);
        return 0;
    }
    char *cert = NULL, *key = NULL;
    if (rc < 0 || api_tls_load(&api_server.config, &cert, &key, err, sizeof err) < 0) {
        fprintf(stderr, "sluiced api: %s\n", err);
        config_free(api_options, API_NOPTIONS, &api_server.config);
        return 2;
    }
    /* Signals go to sigwait() below; the server threads inherit the mask. */
    sigset_t stop;
    signals_block_stop(&stop);
    signal(SIGPIPE, SIG_IGN);

    api_server.ratelimit = ratelimit_new();
    struct MHD_Daemon *d = NULL;
    if (!api_server.ratelimit || park_start() < 0 || auth_cache_start(api_server.config.database_url) < 0)
        snprintf(err, sizeof err, "out of memory or threads");
    else
        d = api_start(cert, key, err, sizeof err);
    int status = 0;
    if (!d) {
        fprintf(stderr, "sluiced api: %s\n", err);
        status = 1;
    } else {
        log_info("listening on https://%s:%ld (%ld threads)", api_server.config.listen_address, api_server.config.port,
                 api_server.config.threads);
        int sig = 0;
        sigwait(&stop, &sig);
        log_info("shutting down on signal %d", sig);
        MHD_quiesce_daemon(d);
        park_stop(); /* MHD must not stop with suspended connections */
        MHD_stop_daemon(d);
    }
    park_stop();
    auth_cache_stop();
    ingest_writers_shutdown(); /* no request runs now: close the cached ingest writers */
    for (int i = 0; i <= API_MAX_THREADS; i++)
        if (api_server.dbs[i])
            PQfinish(api_server.dbs[i]);
    ratelimit_free(api_server.ratelimit);
    free(cert);
    free(key);
    config_free(api_options, API_NOPTIONS, &api_server.config);
    return status;
}
