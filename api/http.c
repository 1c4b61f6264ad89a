/* http.c — request accessors, the error table, and building responses. */
#include "api/http.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static const struct {
    const char *code;
    int status;
} api_errors[API_ERROR_COUNT] = {
    [API_INVALID_JSON] = {"invalid_json", 400},
    [API_INVALID_REQUEST] = {"invalid_request", 400},
    [API_UNAUTHENTICATED] = {"unauthenticated", 401},
    [API_FORBIDDEN] = {"forbidden", 403},
    [API_QUOTA_EXCEEDED] = {"quota_exceeded", 403},
    [API_NOT_FOUND] = {"not_found", 404},
    [API_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405},
    [API_CONFLICT] = {"conflict", 409},
    [API_IDEMPOTENCY_MISMATCH] = {"idempotency_mismatch", 409},
    [API_PRECONDITION_FAILED] = {"precondition_failed", 412},
    [API_PAYLOAD_TOO_LARGE] = {"payload_too_large", 413},
    [API_URI_TOO_LONG] = {"uri_too_long", 414},
    [API_HEADERS_TOO_LARGE] = {"headers_too_large", 431},
    [API_STORAGE_QUOTA_EXCEEDED] = {"storage_quota_exceeded", 507},
    [API_UNSUPPORTED_MEDIA_TYPE] = {"unsupported_media_type", 415},
    [API_INVALID_SQL] = {"invalid_sql", 422},
    [API_INVALID_EVENTS] = {"invalid_events", 422},
    [API_INVALID_CONNECTION] = {"invalid_connection", 422},
    [API_INVALID_STREAM] = {"invalid_stream", 422},
    [API_WRONG_CONNECTOR] = {"wrong_connector", 409},
    [API_NOT_ACTIVE] = {"not_active", 409},
    [API_RATE_LIMITED] = {"rate_limited", 429},
    [API_INTERNAL] = {"internal", 500},
    [API_UNAVAILABLE] = {"unavailable", 503},
};

const char *api_error_code(enum api_error e) { return api_errors[e].code; }
int api_error_status(enum api_error e) { return api_errors[e].status; }

const char *api_header(const struct api_request *req, const char *name)
{
    return req->connection ? MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, name) : NULL;
}

const char *api_query(const struct api_request *req, const char *name)
{
    return req->connection ? MHD_lookup_connection_value(req->connection, MHD_GET_ARGUMENT_KIND, name) : NULL;
}

static int api_vfail(struct api_response *resp, enum api_error e, json_t *details, const char *fmt, va_list ap)
{
    char message[512];
    vsnprintf(message, sizeof message, fmt, ap);
    api_response_clear(resp);
    resp->status = api_errors[e].status;
    resp->body = json_pack("{s:{s:s,s:s,s:o}}", "error", "code", api_errors[e].code, "message", message, "details",
                           details ? details : json_object());
    return -1;
}

int api_fail(struct api_response *resp, enum api_error e, json_t *details, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    api_vfail(resp, e, details, fmt, ap);
    va_end(ap);
    return -1;
}

int api_fail_field(struct api_response *resp, enum api_error e, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    api_vfail(resp, e, json_pack("{s:s}", "field", field), fmt, ap);
    va_end(ap);
    return -1;
}

int api_fail_db(struct api_response *resp, const struct db_error *err)
{
    if (strcmp(err->sqlstate, "23505") == 0)
        return api_fail(resp, API_CONFLICT, json_pack("{s:s}", "constraint", err->constraint),
                        "a resource with this name already exists");
    if (strcmp(err->sqlstate, "23503") == 0)
        return api_fail(resp, API_CONFLICT, json_pack("{s:s}", "constraint", err->constraint),
                        "the resource is referenced by another resource; delete that one first");
    if (err->connection_lost || strncmp(err->sqlstate, "08", 2) == 0 || strcmp(err->sqlstate, "57P01") == 0) {
        log_error("database unavailable: %s", err->message);
        return api_fail(resp, API_UNAVAILABLE, NULL, "the database is unavailable; retry shortly");
    }
    log_error("database error %s: %s", err->sqlstate, err->message);
    return api_fail(resp, API_INTERNAL, NULL, "internal error");
}

PGresult *api_db_query(struct api_request *req, struct api_response *resp, const char *sql, int nparams,
                       const char *const *params)
{
    struct db_error err;
    PGresult *res = db_query(req->db, sql, nparams, params, &err);
    if (!res)
        api_fail_db(resp, &err);
    return res;
}

int api_query_limit(const struct api_request *req, long *limit, struct api_response *resp)
{
    const char *text = api_query(req, "limit");
    char *end = NULL;
    *limit = text ? strtol(text, &end, 10) : API_LIST_DEFAULT_LIMIT;
    if (text && (!*text || *end || *limit < 1 || *limit > API_LIST_MAX_LIMIT))
        return api_fail_field(resp, API_INVALID_REQUEST, "limit", "limit must be an integer from 1 to %d",
                              API_LIST_MAX_LIMIT);
    return 0;
}

int api_fail_cursor(struct api_response *resp)
{
    return api_fail_field(resp, API_INVALID_REQUEST, "cursor",
                          "cursor is not one this API returned; pass next_cursor unchanged");
}

int api_reply_list(struct api_response *resp, PGresult *res, long limit, int cursor_column)
{
    /* PostgreSQL built each item's JSON: the body is their text, joined, not parsed again. */
    int rows = PQntuples(res), shown = limit > 0 && rows > limit ? (int)limit : rows;
    json_t *cursor = shown < rows ? json_string(PQgetvalue(res, shown - 1, cursor_column)) : json_null();
    char *next = json_dumps(cursor, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(cursor);
    size_t cap = 64 + (next ? strlen(next) : 0);
    for (int i = 0; i < shown; i++)
        cap += (size_t)PQgetlength(res, i, 0) + 1;
    char *body = next ? malloc(cap) : NULL;
    if (!body) {
        free(next);
        PQclear(res);
        return api_fail(resp, API_INTERNAL, NULL, "out of memory");
    }
    size_t len = 0;
    memcpy(body, "{\"items\":[", 10);
    len = 10;
    for (int i = 0; i < shown; i++) {
        if (i)
            body[len++] = ',';
        size_t n = (size_t)PQgetlength(res, i, 0);
        memcpy(body + len, PQgetvalue(res, i, 0), n);
        len += n;
    }
    len += (size_t)snprintf(body + len, cap - len, "],\"next_cursor\":%s}", next);
    free(next);
    PQclear(res);
    api_response_clear(resp);
    resp->status = 200;
    resp->text_body = body;
    return 0;
}

int api_reply_text(struct api_response *resp, int status, char *body)
{
    api_response_clear(resp);
    resp->status = status;
    resp->text_body = body;
    return 0;
}

int api_reply_stream(struct api_response *resp, const char *content_type,
                     long (*read)(void *cls, uint64_t pos, char *buf, size_t max), void (*free_cls)(void *cls),
                     void *cls)
{
    resp->status = 200;
    resp->content_type = content_type;
    resp->stream_read = read;
    resp->stream_free = free_cls;
    resp->stream_cls = cls;
    return 0;
}

int api_reply(struct api_response *resp, int status, json_t *body)
{
    json_decref(resp->body);
    resp->status = status;
    resp->body = body;
    return 0;
}

void api_response_clear(struct api_response *resp)
{
    json_decref(resp->body);
    free(resp->text_body);
    if (resp->stream_free && resp->stream_cls)
        resp->stream_free(resp->stream_cls);
    memset(resp, 0, sizeof *resp);
}

bool api_is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}
