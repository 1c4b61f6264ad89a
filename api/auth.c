/* auth.c — signup, login, bearer authentication, /me and API keys. */
#include "api/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/auth_cache.h"
#include "api/resources.h"
#include "common/json_check.h"
#include "common/log.h"

#define AUTH_KEY_PREFIX "sk_"
#define AUTH_TOKEN_PREFIX "st_"
#define AUTH_CREDENTIAL_LEN 67       /* prefix + 64 hex digits */
#define AUTH_COOKIE "sluice_session" /* the console's session cookie: a login token */

#define API_KEY_JSON                                                                                                   \
    "json_build_object('id',k.id,'name',k.name,'prefix',k.prefix,'created_at',sluice_ts("                              \
    "k.created_at),'updated_at',sluice_ts(k.updated_at),'last_used_at',sluice_ts(k.last_used_at),"                     \
    "'revoked_at',sluice_ts(k.revoked_at),'version',k.version)"

/* The console's session cookie (AUTH_COOKIE=<login token>) from the Cookie header into out;
 * returns 1 when present with a credential's length, else 0. */
static int auth_cookie(const struct api_request *req, char *out, size_t outsz)
{
    const char *h = api_header(req, "Cookie");
    for (const char *p = h; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        size_t n = strcspn(p, ";");
        if (strncmp(p, AUTH_COOKIE "=", sizeof AUTH_COOKIE) == 0) {
            size_t vlen = n - sizeof AUTH_COOKIE;
            if (vlen != AUTH_CREDENTIAL_LEN || vlen >= outsz)
                return 0;
            memcpy(out, p + sizeof AUTH_COOKIE, vlen);
            out[vlen] = '\0';
            return 1;
        }
        p += n;
    }
    return 0;
}

/* The CSRF token of a session: derived from its token, so it needs no storage, and useless
 * without the cookie (double submit: a cross-site form can send the cookie, not the header). */
static void auth_csrf_token(const char *token, char out[CRYPTO_SHA256_HEX])
{
    char material[AUTH_CREDENTIAL_LEN + 8];
    int n = snprintf(material, sizeof material, "csrf:%s", token);
    crypto_sha256_hex(material, (size_t)n, out);
}

static int auth_csrf_ok(const struct api_request *req, const char *token)
{
    if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)
        return 1;
    const char *given = api_header(req, "X-CSRF-Token");
    char want[CRYPTO_SHA256_HEX];
    auth_csrf_token(token, want);
    return given && crypto_equal(given, want);
}

/* The caller's credential: a bearer header, else the console's session cookie (whose writes
 * must carry its CSRF token). Fills cred; returns 0, or -1 with resp filled. */
static int auth_credential(const struct api_request *req, char cred[AUTH_CREDENTIAL_LEN + 1], struct api_response *resp)
{
    const char *h = api_header(req, "Authorization");
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        h += 7;
        while (*h == ' ')
            h++;
        if (strlen(h) != AUTH_CREDENTIAL_LEN)
            return api_fail(resp, API_UNAUTHENTICATED, NULL, "invalid, expired or revoked credentials");
        memcpy(cred, h, AUTH_CREDENTIAL_LEN + 1);
        return 0;
    }
    if (auth_cookie(req, cred, AUTH_CREDENTIAL_LEN + 1)) {
        if (!auth_csrf_ok(req, cred))
            return api_fail(resp, API_FORBIDDEN, NULL,
                            "missing or wrong X-CSRF-Token: a write with the session cookie must send the "
                            "csrf_token its login returned");
        return 0;
    }
    return api_fail(resp, API_UNAUTHENTICATED, NULL,
                    "missing credentials: send Authorization: Bearer <api key or login token>");
}

int auth_authenticate(struct api_request *req, struct api_response *resp)
{
    char cred[AUTH_CREDENTIAL_LEN + 1];
    if (auth_credential(req, cred, resp) < 0)
        return -1;
    char hash[CRYPTO_SHA256_HEX];
    crypto_sha256_hex(cred, strlen(cred), hash);
    if (auth_cache_get(hash, &req->caller))
        return 0;
    uint64_t epoch = auth_cache_epoch();
    const char *params[] = {hash};
    PGresult *res = api_db_query(req, resp,
                                 "SELECT tenant_id, coalesce(user_id::text, ''), coalesce(api_key_id::text, ''), "
                                 "role, rate_per_second, rate_burst, CASE WHEN api_key_id IS NULL THEN "
                                 "sluice_auth_seconds_left($1) END FROM sluice_auth_lookup($1)",
                                 1, params);
    if (!res)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return api_fail(resp, API_UNAUTHENTICATED, NULL, "invalid, expired or revoked credentials");
    }
    struct api_caller *c = &req->caller;
    snprintf(c->tenant_id, sizeof c->tenant_id, "%s", PQgetvalue(res, 0, 0));
    snprintf(c->user_id, sizeof c->user_id, "%s", PQgetvalue(res, 0, 1));
    snprintf(c->api_key_id, sizeof c->api_key_id, "%s", PQgetvalue(res, 0, 2));
    snprintf(c->role, sizeof c->role, "%s", PQgetvalue(res, 0, 3));
    c->rate_per_second = atof(PQgetvalue(res, 0, 4));
    c->rate_burst = atof(PQgetvalue(res, 0, 5));
    /* a login token is cached no longer than it has left */
    double ttl = PQgetisnull(res, 0, 6) ? AUTH_CACHE_TTL_SECONDS : atof(PQgetvalue(res, 0, 6));
    PQclear(res);
    auth_cache_put(hash, c, ttl, epoch);
    return 0;
}

static int auth_check(struct api_request *req, const struct json_check_field *fields, size_t n,
                      struct api_response *resp)
{
    struct json_check_error err;
    if (json_check_object(req->json, "", fields, n, false, &err) < 0)
        return api_fail_field(resp, API_INVALID_REQUEST, err.field, "%s", err.message);
    return 0;
}

static int auth_check_email(const char *email, struct api_response *resp)
{
    const char *at = strchr(email, '@');
    if (!at || at == email || !at[1] || strchr(at + 1, '@') || strpbrk(email, " \t\r\n"))
        return api_fail_field(resp, API_INVALID_REQUEST, "email", "\"%s\" is not an email address", email);
    return 0;
}

/* Runs sql in a transaction already open; on failure rolls back and fills resp. */
static PGresult *auth_query(struct api_request *req, const char *sql, int n, const char *const *params,
                            struct api_response *resp)
{
    struct db_error dberr;
    PGresult *res = db_query(req->db, sql, n, params, &dberr);
    if (!res) {
        struct db_error ignored;
        db_exec(req->db, "ROLLBACK", 0, NULL, &ignored);
        api_fail_db(resp, &dberr);
    }
    return res;
}

/* A new API key of tenant_id: inserts it and returns its JSON with "key" (shown only now), or
 * NULL with resp filled. */
static json_t *auth_new_key(struct api_request *req, const char *tenant_id, const char *user_id, const char *name,
                            struct api_response *resp)
{
    char key[AUTH_CREDENTIAL_LEN + 1], hash[CRYPTO_SHA256_HEX], prefix[16];
    if (crypto_token(AUTH_KEY_PREFIX, key, sizeof key) < 0) {
        api_fail(resp, API_INTERNAL, NULL, "internal error");
        return NULL;
    }
    crypto_sha256_hex(key, strlen(key), hash);
    snprintf(prefix, sizeof prefix, "%.11s", key);
    const char *params[] = {tenant_id, user_id && *user_id ? user_id : NULL, name, hash, prefix};
    struct db_error dberr;
    PGresult *res = db_query(req->db,
                             "INSERT INTO api_keys AS k (tenant_id, user_id, name, key_hash, prefix) "
                             "VALUES ($1, $2, $3, $4, $5) RETURNING " API_KEY_JSON,
                             5, params, &dberr);
    if (!res) {
        if (strcmp(dberr.sqlstate, "23505") == 0)
            api_fail_field(resp, API_CONFLICT, "name", "API key \"%s\" already exists", name);
        else
            api_fail_db(resp, &dberr);
        return NULL;
    }
    json_t *doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    if (doc)
        json_object_set_new(doc, "key", json_string(key));
    return doc;
}

int auth_signup(struct api_request *req, struct api_response *resp)
{
    static const struct json_check_field fields[] = {
        {"tenant", JSON_CHECK_NAME, JSON_CHECK_REQUIRED, 0, 0, NULL},
        {"email", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 3, 254, NULL},
        {"password", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 8, 1024, NULL},
    };
    if (auth_check(req, fields, 3, resp) < 0)
        return -1;
    const char *tenant = json_string_value(json_object_get(req->json, "tenant"));
    const char *email = json_string_value(json_object_get(req->json, "email"));
    const char *password = json_string_value(json_object_get(req->json, "password"));
    if (auth_check_email(email, resp) < 0)
        return -1;

    const char *taken_params[] = {tenant, email};
    struct db_error dberr;
    PGresult *res = api_db_query(req, resp, "SELECT sluice_signup_taken($1, $2)", 2, taken_params);
    if (!res)
        return -1;
    char taken[16];
    snprintf(taken, sizeof taken, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (strcmp(taken, "tenant") == 0)
        return api_fail_field(resp, API_CONFLICT, "tenant", "tenant \"%s\" already exists", tenant);
    if (strcmp(taken, "email") == 0)
        return api_fail_field(resp, API_CONFLICT, "email", "a user with this email already exists; log in instead");

    char password_hash[CRYPTO_PASSWORD_HASH_MAX];
    if (crypto_password_hash(password, password_hash, sizeof password_hash) < 0)
        return api_fail(resp, API_INTERNAL, NULL, "internal error");

    if (db_exec(req->db, "BEGIN", 0, NULL, &dberr) < 0)
        return api_fail_db(resp, &dberr);
    res = auth_query(req, "SELECT set_config('sluice.tenant_id', gen_random_uuid()::text, true)", 0, NULL, resp);
    if (!res)
        return -1;
    char tenant_id[40], user_id[40];
    snprintf(tenant_id, sizeof tenant_id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    snprintf(req->caller.tenant_id, sizeof req->caller.tenant_id, "%s", tenant_id);

    const char *tp[] = {tenant_id, tenant};
    res = auth_query(req,
                     "INSERT INTO tenants AS t (id, name) VALUES ($1, $2) RETURNING "
                     "json_build_object('id',t.id,'name',t.name,'plan',t.plan)",
                     2, tp, resp);
    if (!res)
        return -1;
    json_t *tenant_doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    const char *up[] = {tenant_id, email, password_hash};
    res = auth_query(req,
                     "INSERT INTO users AS u (tenant_id, email, password_hash, role) VALUES ($1, lower($2), $3, "
                     "'owner') RETURNING u.id, json_build_object('id',u.id,'email',u.email,'role',u.role)",
                     3, up, resp);
    if (!res) {
        json_decref(tenant_doc);
        return -1;
    }
    snprintf(user_id, sizeof user_id, "%s", PQgetvalue(res, 0, 0));
    json_t *user_doc = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    PQclear(res);
    snprintf(req->caller.user_id, sizeof req->caller.user_id, "%s", user_id);
    json_t *key_doc = auth_new_key(req, tenant_id, user_id, "default", resp);
    int ok = key_doc && resource_record_change(req, "tenant", tenant_id, "signup", false, resp) == 0;
    if (ok && db_exec(req->db, "COMMIT", 0, NULL, &dberr) < 0)
        ok = api_fail_db(resp, &dberr) == 0;
    if (!ok) {
        db_exec(req->db, "ROLLBACK", 0, NULL, &dberr);
        json_decref(tenant_doc);
        json_decref(user_doc);
        json_decref(key_doc);
        return -1;
    }
    log_info("signup tenant=%s user=%s", tenant_id, user_id);
    return api_reply(resp, 201, json_pack("{s:o,s:o,s:o}", "tenant", tenant_doc, "user", user_doc, "api_key", key_doc));
}

/* The login's answer: the token itself, or with "session": "cookie" (the console) an HttpOnly,
 * Secure, SameSite=Strict cookie holding it and the CSRF token the page sends with writes. */
static json_t *auth_login_body(const struct api_request *req, const char *token, const char *expires_at,
                               const char *tenant_id, struct api_response *resp)
{
    const char *session = json_string_value(json_object_get(req->json, "session"));
    if (!session || strcmp(session, "cookie") != 0)
        return json_pack("{s:s,s:s,s:s}", "token", token, "expires_at", expires_at, "tenant_id", tenant_id);
    snprintf(resp->set_cookie, sizeof resp->set_cookie,
             AUTH_COOKIE "=%s; Path=/; Max-Age=%ld; HttpOnly; Secure; SameSite=Strict", token,
             req->settings->token_ttl_seconds);
    char csrf[CRYPTO_SHA256_HEX];
    auth_csrf_token(token, csrf);
    return json_pack("{s:s,s:s,s:s}", "csrf_token", csrf, "expires_at", expires_at, "tenant_id", tenant_id);
}

int auth_login(struct api_request *req, struct api_response *resp)
{
    static const char *const login_sessions[] = {"token", "cookie", NULL};
    static const struct json_check_field fields[] = {
        {"email", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, 254, NULL},
        {"password", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, 1024, NULL},
        {"session", JSON_CHECK_ENUM, 0, 0, 0, login_sessions},
    };
    if (auth_check(req, fields, 3, resp) < 0)
        return -1;
    const char *email = json_string_value(json_object_get(req->json, "email"));
    const char *password = json_string_value(json_object_get(req->json, "password"));
    const char *params[] = {email};
    struct db_error dberr;
    PGresult *res =
        api_db_query(req, resp, "SELECT tenant_id, user_id, password_hash FROM sluice_login_lookup($1)", 1, params);
    if (!res)
        return -1;
    int found = PQntuples(res) > 0;
    char tenant_id[40] = "", user_id[40] = "", stored[CRYPTO_PASSWORD_HASH_MAX] = "";
    if (found) {
        snprintf(tenant_id, sizeof tenant_id, "%s", PQgetvalue(res, 0, 0));
        snprintf(user_id, sizeof user_id, "%s", PQgetvalue(res, 0, 1));
        snprintf(stored, sizeof stored, "%s", PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    if (!found || crypto_password_verify(password, stored) != 1)
        return api_fail(resp, API_UNAUTHENTICATED, NULL, "wrong email or password");

    char token[AUTH_CREDENTIAL_LEN + 1], hash[CRYPTO_SHA256_HEX], ttl[24];
    if (crypto_token(AUTH_TOKEN_PREFIX, token, sizeof token) < 0)
        return api_fail(resp, API_INTERNAL, NULL, "internal error");
    crypto_sha256_hex(token, strlen(token), hash);
    snprintf(ttl, sizeof ttl, "%ld", req->settings->token_ttl_seconds);
    snprintf(req->caller.tenant_id, sizeof req->caller.tenant_id, "%s", tenant_id);
    snprintf(req->caller.user_id, sizeof req->caller.user_id, "%s", user_id);
    if (db_exec(req->db, "BEGIN", 0, NULL, &dberr) < 0)
        return api_fail_db(resp, &dberr);
    const char *sp[] = {tenant_id, user_id, hash, ttl};
    res = auth_query(req, "SELECT set_config('sluice.tenant_id', $1, true)", 1, sp, resp);
    if (!res)
        return -1;
    PQclear(res);
    res = auth_query(req,
                     "INSERT INTO sessions (tenant_id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, "
                     "now() + $4::int * interval '1 second') RETURNING sluice_ts(expires_at)",
                     4, sp, resp);
    if (!res)
        return -1;
    json_t *body = auth_login_body(req, token, PQgetvalue(res, 0, 0), tenant_id, resp);
    PQclear(res);
    if (resource_record_change(req, "user", user_id, "login", false, resp) < 0 ||
        db_exec(req->db, "COMMIT", 0, NULL, &dberr) < 0) {
        db_exec(req->db, "ROLLBACK", 0, NULL, &dberr);
        json_decref(body);
        return api_fail(resp, API_INTERNAL, NULL, "internal error");
    }
    return api_reply(resp, 200, body);
}

/* One JSON document from a query with one row and column, or JSON null. */
static json_t *auth_doc(struct api_request *req, const char *sql, const char *param, int *failed,
                        struct api_response *resp)
{
    const char *params[] = {param};
    struct db_error dberr;
    PGresult *res = db_query(req->db, sql, param ? 1 : 0, params, &dberr);
    if (!res) {
        *failed = 1;
        api_fail_db(resp, &dberr);
        return NULL;
    }
    json_t *doc = PQntuples(res) ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : NULL;
    PQclear(res);
    return doc ? doc : json_null();
}

int auth_me(struct api_request *req, struct api_response *resp)
{
    int failed = 0;
    const struct api_caller *c = &req->caller;
    json_t *tenant = auth_doc(req,
                              "SELECT json_build_object('id',t.id,'name',t.name,'plan',t.plan,'created_at',"
                              "sluice_ts(t.created_at)) FROM tenants t",
                              NULL, &failed, resp);
    json_t *user = failed || !*c->user_id
                       ? json_null()
                       : auth_doc(req,
                                  "SELECT json_build_object('id',u.id,'email',u.email,'role',u.role,"
                                  "'created_at',sluice_ts(u.created_at)) FROM users u WHERE u.id = $1",
                                  c->user_id, &failed, resp);
    json_t *key = failed || !*c->api_key_id ? json_null()
                                            : auth_doc(req, "SELECT " API_KEY_JSON " FROM api_keys k WHERE k.id = $1",
                                                       c->api_key_id, &failed, resp);
    json_t *body = json_pack("{s:o*,s:o*,s:o*}", "tenant", tenant, "user", user, "api_key", key);
    if (failed) {
        json_decref(body);
        return -1;
    }
    return api_reply(resp, 200, body);
}

int auth_api_keys_list(struct api_request *req, struct api_response *resp)
{
    PGresult *res = api_db_query(req, resp,
                                 "SELECT " API_KEY_JSON " FROM api_keys k WHERE k.revoked_at IS NULL "
                                 "ORDER BY k.created_at, k.id",
                                 0, NULL);
    if (!res)
        return -1;
    return api_reply_list(resp, res, 0, 0);
}

int auth_api_keys_create(struct api_request *req, struct api_response *resp)
{
    static const struct json_check_field fields[] = {
        {"name", JSON_CHECK_NAME, JSON_CHECK_REQUIRED, 0, 0, NULL},
    };
    if (auth_check(req, fields, 1, resp) < 0)
        return -1;
    PGresult *res = api_db_query(req, resp,
                                 "SELECT (SELECT count(*) FROM api_keys WHERE revoked_at IS NULL) >= p.max_api_keys, "
                                 "p.max_api_keys FROM tenants t JOIN plans p ON p.name = t.plan",
                                 0, NULL);
    if (!res)
        return -1;
    int over = PQntuples(res) && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    int limit = PQntuples(res) ? atoi(PQgetvalue(res, 0, 1)) : 0;
    PQclear(res);
    if (over)
        return api_fail(resp, API_QUOTA_EXCEEDED, json_pack("{s:s,s:i}", "resource", "api_keys", "limit", limit),
                        "your plan allows %d API keys; revoke one first", limit);
    const char *name = json_string_value(json_object_get(req->json, "name"));
    json_t *doc = auth_new_key(req, req->caller.tenant_id, req->caller.user_id, name, resp);
    if (!doc)
        return -1;
    char id[40];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(doc, "id")));
    return resource_reply_created(req, "api_key", "/v1/api-keys", id, doc, resp);
}

int auth_api_keys_revoke(struct api_request *req, struct api_response *resp)
{
    const char *id = req->params.values[0];
    if (!api_is_uuid(id))
        return api_fail(resp, API_NOT_FOUND, NULL, "API key \"%s\" not found", id);
    const char *params[] = {id};
    PGresult *res = api_db_query(req, resp,
                                 "UPDATE api_keys SET revoked_at = now(), updated_at = now(), version = version + 1 "
                                 "WHERE id = $1 AND revoked_at IS NULL RETURNING id",
                                 1, params);
    if (!res)
        return -1;
    int found = PQntuples(res) > 0;
    PQclear(res);
    if (!found)
        return api_fail(resp, API_NOT_FOUND, NULL, "API key %s not found", id);
    if (resource_record_change(req, "api_key", id, "revoke", false, resp) < 0)
        return -1;
    return api_reply(resp, 204, NULL);
}

int auth_audit_events(struct api_request *req, struct api_response *resp)
{
    const char *cursor = api_query(req, "cursor");
    long limit;
    if (api_query_limit(req, &limit, resp) < 0)
        return -1;
    if (cursor && (!*cursor || strlen(cursor) > 18 || strspn(cursor, "0123456789") != strlen(cursor)))
        return api_fail_cursor(resp);
    char limit_param[24];
    snprintf(limit_param, sizeof limit_param, "%ld", limit + 1);
    const char *params[] = {cursor, limit_param};
    PGresult *res = api_db_query(req, resp,
                                 "SELECT json_build_object('id',a.id::text,'ts',sluice_ts(a.ts),'action',a.action,"
                                 "'resource_kind',a.resource_kind,'resource_id',a.resource_id,'user_id',a.user_id,"
                                 "'api_key_id',a.api_key_id,'request_id',a.request_id), a.id FROM audit_log a "
                                 "WHERE ($1::bigint IS NULL OR a.id < $1::bigint) ORDER BY a.id DESC LIMIT $2::int",
                                 2, params);
    if (!res)
        return -1;
    return api_reply_list(resp, res, limit, 1);
}

int auth_logout(struct api_request *req, struct api_response *resp)
{
    char cred[AUTH_CREDENTIAL_LEN + 1], hash[CRYPTO_SHA256_HEX];
    if (auth_credential(req, cred, resp) < 0)
        return -1;
    if (strncmp(cred, AUTH_TOKEN_PREFIX, strlen(AUTH_TOKEN_PREFIX)) != 0)
        return api_fail(resp, API_INVALID_REQUEST, NULL,
                        "logout ends a login session; an API key is revoked with DELETE /v1/api-keys/{id}");
    crypto_sha256_hex(cred, strlen(cred), hash);
    const char *params[] = {hash};
    PGresult *res = auth_query(
        req, "UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL", 1, params, resp);
    if (!res)
        return -1;
    PQclear(res);
    snprintf(resp->set_cookie, sizeof resp->set_cookie,
             AUTH_COOKIE "=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict");
    resp->status = 204;
    return 0;
}
