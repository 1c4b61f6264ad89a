/* users.c — /v1/users (see users.h). */
#include "api/users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/resources.h"
#include "common/crypto.h"
#include "common/json_check.h"

#define USER_JSON                                                                                                      \
    "json_build_object('id',u.id,'email',u.email,'role',u.role,'created_at',sluice_ts(u.created_at),"                  \
    "'updated_at',sluice_ts(u.updated_at),'version',u.version)"

static const char *const user_roles[] = {"owner", "admin", "member", NULL};

static int users_check(struct api_request *req, const struct json_check_field *fields, size_t n,
                       struct api_response *resp)
{
    struct json_check_error err;
    if (json_check_object(req->json, "", fields, n, false, &err) < 0)
        return api_fail_field(resp, API_INVALID_REQUEST, err.field, "%s", err.message);
    return 0;
}

static bool is_owner(const struct api_request *req) { return strcmp(req->caller.role, "owner") == 0; }

/* 403 unless the caller may give or take role (only owners handle owners). */
static int users_may_handle(struct api_request *req, const char *role, struct api_response *resp)
{
    if (strcmp(role, "owner") == 0 && !is_owner(req))
        return api_fail(resp, API_FORBIDDEN, json_pack("{s:s}", "role", req->caller.role),
                        "only an owner may grant, change or remove the owner role; you are %s", req->caller.role);
    return 0;
}

/* The role of user id, into role; 404 when the tenant has no such user. */
static int users_role_of(struct api_request *req, const char *id, char *role, size_t len, struct api_response *resp)
{
    if (!api_is_uuid(id))
        return api_fail(resp, API_NOT_FOUND, NULL, "user %s not found", id);
    const char *p[] = {id};
    PGresult *res = api_db_query(req, resp, "SELECT role FROM users WHERE id = $1", 1, p);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found)
        snprintf(role, len, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return found ? 0 : api_fail(resp, API_NOT_FOUND, NULL, "user %s not found", id);
}

/* 409 when user id is the tenant's last owner (it must keep one). */
static int users_keep_an_owner(struct api_request *req, const char *id, struct api_response *resp)
{
    const char *p[] = {id};
    PGresult *res = api_db_query(
        req, resp, "SELECT count(*) FROM (SELECT id FROM users WHERE role = 'owner' AND id <> $1 FOR UPDATE) o", 1, p);
    if (!res)
        return -1;
    long others = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return others > 0
               ? 0
               : api_fail(resp, API_CONFLICT, NULL, "this is the tenant's last owner; make someone else owner first");
}

int users_list(struct api_request *req, struct api_response *resp)
{
    PGresult *res = api_db_query(req, resp, "SELECT " USER_JSON " FROM users u ORDER BY u.created_at, u.id", 0, NULL);
    if (!res)
        return -1;
    return api_reply_list(resp, res, 0, 0);
}

int users_create(struct api_request *req, struct api_response *resp)
{
    static const struct json_check_field fields[] = {
        {"email", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 3, 254, NULL},
        {"password", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 8, 1024, NULL},
        {"role", JSON_CHECK_ENUM, 0, 0, 0, user_roles},
    };
    if (users_check(req, fields, sizeof fields / sizeof fields[0], resp) < 0)
        return -1;
    const char *email = json_string_value(json_object_get(req->json, "email"));
    const char *role = json_string_value(json_object_get(req->json, "role"));
    role = role ? role : "member";
    const char *at = strchr(email, '@');
    if (!at || at == email || !at[1] || strchr(at + 1, '@') || strpbrk(email, " \t\r\n"))
        return api_fail_field(resp, API_INVALID_REQUEST, "email", "\"%s\" is not an email address", email);
    if (users_may_handle(req, role, resp) < 0)
        return -1;
    char hash[CRYPTO_PASSWORD_HASH_MAX];
    if (crypto_password_hash(json_string_value(json_object_get(req->json, "password")), hash, sizeof hash) < 0)
        return api_fail(resp, API_INTERNAL, NULL, "internal error");
    const char *p[] = {req->caller.tenant_id, email, hash, role};
    struct db_error dberr;
    PGresult *res = db_query(req->db,
                             "INSERT INTO users AS u (tenant_id, email, password_hash, role) "
                             "VALUES ($1, lower($2), $3, $4) RETURNING u.id, " USER_JSON,
                             4, p, &dberr);
    if (!res) {
        if (strcmp(dberr.sqlstate, "23505") == 0)
            return api_fail_field(resp, API_CONFLICT, "email", "a user with the email %s already exists", email);
        return api_fail_db(resp, &dberr);
    }
    char id[40];
    snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    json_t *doc = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    PQclear(res);
    return resource_reply_created(req, "user", "/v1/users", id, doc, resp);
}

int users_update(struct api_request *req, struct api_response *resp)
{
    static const struct json_check_field fields[] = {
        {"role", JSON_CHECK_ENUM, JSON_CHECK_REQUIRED, 0, 0, user_roles},
    };
    const char *id = req->params.values[0];
    char current[16];
    if (users_role_of(req, id, current, sizeof current, resp) < 0 ||
        users_check(req, fields, sizeof fields / sizeof fields[0], resp) < 0)
        return -1;
    const char *role = json_string_value(json_object_get(req->json, "role"));
    if (users_may_handle(req, current, resp) < 0 || users_may_handle(req, role, resp) < 0)
        return -1;
    if (strcmp(current, "owner") == 0 && strcmp(role, "owner") != 0 && users_keep_an_owner(req, id, resp) < 0)
        return -1;
    const char *p[] = {id, role};
    PGresult *res = api_db_query(req, resp,
                                 "UPDATE users u SET role = $2, updated_at = now(), version = version + 1 "
                                 "WHERE id = $1 RETURNING u.version, " USER_JSON,
                                 2, p);
    if (!res)
        return -1;
    resp->etag_version = atoll(PQgetvalue(res, 0, 0));
    json_t *doc = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    PQclear(res);
    if (resource_record_change(req, "user", id, "update", false, resp) < 0) {
        json_decref(doc);
        return -1;
    }
    return api_reply(resp, 200, doc);
}

int users_delete(struct api_request *req, struct api_response *resp)
{
    const char *id = req->params.values[0];
    char current[16];
    if (users_role_of(req, id, current, sizeof current, resp) < 0 || users_may_handle(req, current, resp) < 0)
        return -1;
    if (strcmp(current, "owner") == 0 && users_keep_an_owner(req, id, resp) < 0)
        return -1;
    const char *p[] = {id};
    static const char *const steps[] = {
        ("UPDATE api_keys SET revoked_at = now(), updated_at = now(), version = version + 1 "
         "WHERE user_id = $1 AND revoked_at IS NULL"),
        "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
        "DELETE FROM users WHERE id = $1",
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        PGresult *res = api_db_query(req, resp, steps[i], 1, p);
        if (!res)
            return -1;
        PQclear(res);
    }
    if (resource_record_change(req, "user", id, "delete", false, resp) < 0)
        return -1;
    return api_reply(resp, 204, NULL);
}
