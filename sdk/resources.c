/* resources.c — libsluice's resource calls: kinds as a table, create/get/find/update/delete,
 * activation, the pagination iterator, accounts, and the control-plane reads (logs, usage,
 * preview). Everything goes through sluice_call() in transport.c. Interface: sdk/sluice.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/transport.h"

/* ==== kinds ============================================================================== */

struct kind_row {
    enum sluice_kind kind;
    const char *name;       /* singular, as in apply files */
    const char *collection; /* path segment, also accepted as a word */
    const char *alias;      /* another accepted word, or NULL */
    bool runnable;
    const char *key; /* the field a person names it by */
};

static const struct kind_row kind_rows[SLUICE_KIND_COUNT] = {
    {SLUICE_KIND_SECRET, "secret", "secrets", NULL, false, "name"},
    {SLUICE_KIND_STREAM, "stream", "streams", NULL, false, "name"},
    {SLUICE_KIND_CONNECTION, "connection", "connections", "conn", true, "name"},
    {SLUICE_KIND_PIPELINE, "pipeline", "pipelines", "pl", true, "name"},
    {SLUICE_KIND_API_KEY, "api-key", "api-keys", "apikey", false, "name"},
    {SLUICE_KIND_USER, "user", "users", NULL, false, "email"},
    {SLUICE_KIND_FUNCTION, "function", "functions", "fn", false, "name"},
};

int sluice_kind_parse(const char *word, enum sluice_kind *kind)
{
    for (size_t i = 0; word && i < SLUICE_KIND_COUNT; i++) {
        const struct kind_row *k = &kind_rows[i];
        if (strcmp(word, k->name) == 0 || strcmp(word, k->collection) == 0 ||
            (k->alias && strcmp(word, k->alias) == 0)) {
            *kind = k->kind;
            return 0;
        }
    }
    return -1;
}

static bool kind_valid(enum sluice_kind kind) { return (unsigned)kind < SLUICE_KIND_COUNT; }

const char *sluice_kind_name(enum sluice_kind kind) { return kind_valid(kind) ? kind_rows[kind].name : "?"; }

const char *sluice_kind_collection(enum sluice_kind kind)
{
    return kind_valid(kind) ? kind_rows[kind].collection : "?";
}

bool sluice_kind_runnable(enum sluice_kind kind) { return kind_valid(kind) && kind_rows[kind].runnable; }

/* "/v1/<collection>[/<id>[/<suffix>]]" into buf. */
static int resource_path(char *buf, size_t cap, enum sluice_kind kind, const char *id, const char *suffix,
                         struct sluice_error *err)
{
    if (!kind_valid(kind))
        return sdk_error_set(err, SLUICE_E_ARGUMENT, "unknown resource kind %d", (int)kind);
    snprintf(buf, cap, "/v1/%s", kind_rows[kind].collection);
    if (id) {
        if (!*id)
            return sdk_error_set(err, SLUICE_E_ARGUMENT, "empty %s id", kind_rows[kind].name);
        strncat(buf, "/", cap - strlen(buf) - 1);
        if (sdk_url_escape(buf, cap, id) < 0)
            return sdk_error_set(err, SLUICE_E_ARGUMENT, "%s id too long", kind_rows[kind].name);
    }
    if (suffix) {
        if (strlen(buf) + strlen(suffix) + 1 >= cap)
            return sdk_error_set(err, SLUICE_E_ARGUMENT, "path too long");
        strcat(buf, suffix);
    }
    return 0;
}

/* Appends "?k=v&k2=v2" for the pairs whose value is not NULL, values percent-encoded. */
static int append_query(char *path, size_t cap, const char *const params[][2], size_t n, struct sluice_error *err)
{
    char sep = strchr(path, '?') ? '&' : '?';
    for (size_t i = 0; i < n; i++) {
        if (!params[i][1])
            continue;
        size_t len = strlen(path);
        int w = snprintf(path + len, cap - len, "%c%s=", sep, params[i][0]);
        sep = '&';
        if (w < 0 || (size_t)w >= cap - len || sdk_url_escape(path, cap, params[i][1]) < 0)
            return sdk_error_set(err, SLUICE_E_ARGUMENT, "%s too long", params[i][0]);
    }
    return 0;
}

/* ==== resource calls ===================================================================== */

int sluice_create(sluice_client *c, enum sluice_kind kind, json_t *body, json_t **out, struct sluice_error *err)
{
    char path[512];
    if (resource_path(path, sizeof path, kind, NULL, NULL, err) < 0)
        return -1;
    return sluice_call(c, "POST", path, body, -1, out, err);
}

int sluice_get(sluice_client *c, enum sluice_kind kind, const char *id, json_t **out, struct sluice_error *err)
{
    char path[512];
    if (!id || resource_path(path, sizeof path, kind, id, NULL, err) < 0)
        return id ? -1 : sdk_error_set(err, SLUICE_E_ARGUMENT, "no id given");
    return sluice_call(c, "GET", path, NULL, -1, out, err);
}

int sluice_find(sluice_client *c, enum sluice_kind kind, const char *name, json_t **out, struct sluice_error *err)
{
    *out = NULL;
    if (!name || !*name)
        return sdk_error_set(err, SLUICE_E_ARGUMENT, "no name given");
    sluice_list *list = sluice_list_new(c, kind, name, 0);
    if (!list)
        return sdk_error_set(err, SLUICE_E_NO_MEMORY, "out of memory");
    json_t *item;
    int r;
    /* the server filters by name; the exact comparison here keeps a lax server honest */
    while ((r = sluice_list_next(list, &item, err)) == 1) {
        const char *n = json_string_value(json_object_get(item, kind_rows[kind].key));
        if (n && strcmp(n, name) == 0) {
            *out = json_incref(item);
            break;
        }
    }
    sluice_list_free(list);
    if (r < 0)
        return -1;
    if (!*out) {
        return sdk_error_set(err, SLUICE_E_NOT_FOUND, "%s \"%s\" not found", sluice_kind_name(kind), name);
    }
    return 0;
}

int sluice_update(sluice_client *c, enum sluice_kind kind, const char *id, json_t *patch, long version, json_t **out,
                  struct sluice_error *err)
{
    char path[512];
    if (!id || resource_path(path, sizeof path, kind, id, NULL, err) < 0)
        return id ? -1 : sdk_error_set(err, SLUICE_E_ARGUMENT, "no id given");
    return sluice_call(c, "PATCH", path, patch, version, out, err);
}

int sluice_delete(sluice_client *c, enum sluice_kind kind, const char *id, struct sluice_error *err)
{
    char path[512];
    if (!id || resource_path(path, sizeof path, kind, id, NULL, err) < 0)
        return id ? -1 : sdk_error_set(err, SLUICE_E_ARGUMENT, "no id given");
    return sluice_call(c, "DELETE", path, NULL, -1, NULL, err);
}

int sluice_set_active(sluice_client *c, enum sluice_kind kind, const char *id, bool on, json_t **out,
                      struct sluice_error *err)
{
    char path[512];
    if (!sluice_kind_runnable(kind))
        return sdk_error_set(err, SLUICE_E_ARGUMENT, "a %s cannot be activated or deactivated", sluice_kind_name(kind));
    if (!id || resource_path(path, sizeof path, kind, id, on ? "/activate" : "/deactivate", err) < 0)
        return id ? -1 : sdk_error_set(err, SLUICE_E_ARGUMENT, "no id given");
    return sluice_call(c, "POST", path, NULL, -1, out, err);
}

/* ==== pagination ========================================================================= */

struct sluice_list {
    sluice_client *client;
    enum sluice_kind kind;
    char *name;
    int page_size;
    json_t *page; /* current page's response */
    size_t index; /* next item of page.items */
    char *cursor; /* next page's cursor; NULL after the last page */
    bool started;
};

sluice_list *sluice_list_new(sluice_client *c, enum sluice_kind kind, const char *name, int page_size)
{
    sluice_list *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->client = c;
    l->kind = kind;
    l->page_size = page_size;
    if (name && !(l->name = strdup(name))) {
        free(l);
        return NULL;
    }
    return l;
}

void sluice_list_free(sluice_list *l)
{
    if (!l)
        return;
    json_decref(l->page);
    free(l->cursor);
    free(l->name);
    free(l);
}

static int list_fetch(sluice_list *l, struct sluice_error *err)
{
    char path[1024];
    if (resource_path(path, sizeof path, l->kind, NULL, NULL, err) < 0)
        return -1;
    char limit[24] = "";
    if (l->page_size > 0)
        snprintf(limit, sizeof limit, "%d", l->page_size);
    const char *params[][2] = {{"limit", limit[0] ? limit : NULL}, {"cursor", l->cursor}, {"name", l->name}};
    if (append_query(path, sizeof path, params, 3, err) < 0)
        return -1;
    json_t *page = NULL;
    if (sluice_call(l->client, "GET", path, NULL, -1, &page, err) < 0)
        return -1;
    if (!json_is_array(json_object_get(page, "items"))) {
        json_decref(page);
        return sdk_error_set(err, SLUICE_E_BAD_RESPONSE, "list of %s from the server has no \"items\" array",
                             sluice_kind_collection(l->kind));
    }
    json_decref(l->page);
    l->page = page;
    l->index = 0;
    free(l->cursor);
    l->cursor = NULL;
    const char *next = json_string_value(json_object_get(page, "next_cursor"));
    if (next && *next && !(l->cursor = strdup(next)))
        return sdk_error_set(err, SLUICE_E_NO_MEMORY, "out of memory");
    return 0;
}

int sluice_list_next(sluice_list *l, json_t **item, struct sluice_error *err)
{
    *item = NULL;
    if (!l)
        return sdk_error_set(err, SLUICE_E_ARGUMENT, "no list given");
    for (;;) {
        json_t *items = json_object_get(l->page, "items");
        if (l->started && l->index < json_array_size(items)) {
            *item = json_array_get(items, l->index++);
            return 1;
        }
        if (l->started && !l->cursor)
            return 0;
        if (list_fetch(l, err) < 0)
            return -1;
        l->started = true;
    }
}

/* ==== accounts =========================================================================== */

int sluice_signup(sluice_client *c, const char *tenant, const char *email, const char *password, json_t **out,
                  struct sluice_error *err)
{
    json_t *body = json_pack("{s:s?, s:s?, s:s?}", "tenant", tenant, "email", email, "password", password);
    int rc = sluice_call(c, "POST", "/v1/signup", body, -1, out, err);
    json_decref(body);
    return rc;
}

int sluice_login(sluice_client *c, const char *email, const char *password, json_t **out, struct sluice_error *err)
{
    json_t *body = json_pack("{s:s?, s:s?}", "email", email, "password", password);
    int rc = sluice_call(c, "POST", "/v1/login", body, -1, out, err);
    json_decref(body);
    return rc;
}

int sluice_me(sluice_client *c, json_t **out, struct sluice_error *err)
{
    return sluice_call(c, "GET", "/v1/me", NULL, -1, out, err);
}

/* ==== control plane reads ================================================================ */

int sluice_logs(sluice_client *c, enum sluice_kind kind, const char *id, bool follow, sluice_line_fn fn, void *user,
                struct sluice_error *err)
{
    if (follow)
        return sluice_logs_follow(c, kind, id, 0, fn, user, err);
    char path[512];
    if (!sluice_kind_runnable(kind))
        return sdk_error_set(err, SLUICE_E_ARGUMENT, "a %s has no logs", sluice_kind_name(kind));
    if (!id || !fn)
        return sdk_error_set(err, SLUICE_E_ARGUMENT, "no id or line callback");
    if (resource_path(path, sizeof path, kind, id, "/logs", err) < 0)
        return -1;
    return sdk_call_lines(c, path, 0, fn, user, NULL, err);
}

int sluice_logs_follow(sluice_client *c, enum sluice_kind kind, const char *id, long timeout_ms, sluice_line_fn fn,
                       void *user, struct sluice_error *err)
{
    if (!sluice_kind_runnable(kind))
        return sdk_error_set(err, SLUICE_E_ARGUMENT, "a %s has no logs", sluice_kind_name(kind));
    if (!id || !fn)
        return sdk_error_set(err, SLUICE_E_ARGUMENT, "no id or line callback");
    long deadline = timeout_ms > 0 ? sdk_now_ms() + timeout_ms : 0;
    struct sdk_stream stream = {0};
    for (;;) {
        char path[512], secs[24] = "", since[24] = "";
        if (deadline) { /* the server ends the stream after its timeout, in whole seconds */
            long left = deadline - sdk_now_ms();
            if (left <= 0)
                return 0;
            snprintf(secs, sizeof secs, "%ld", (left + 999) / 1000);
        }
        if (stream.last_id > 0)
            snprintf(since, sizeof since, "%lld", stream.last_id);
        const char *params[][2] = {
            {"follow", "true"}, {"timeout", secs[0] ? secs : NULL}, {"since_id", since[0] ? since : NULL}};
        if (resource_path(path, sizeof path, kind, id, "/logs", err) < 0 ||
            append_query(path, sizeof path, params, 3, err) < 0)
            return -1;
        stream.ended = false;
        if (sdk_call_lines(c, path, 1, fn, user, &stream, err) < 0)
            return -1;
        if (!stream.ended) /* closed without an end event, or fn asked to stop */
            return 0;
    }
}

int sluice_usage(sluice_client *c, const char *from, const char *to, const char *group_by, json_t **out,
                 struct sluice_error *err)
{
    char path[512] = "/v1/usage";
    const char *params[][2] = {{"from", from}, {"to", to}, {"group_by", group_by}};
    if (append_query(path, sizeof path, params, 3, err) < 0)
        return -1;
    return sluice_call(c, "GET", path, NULL, -1, out, err);
}

int sluice_explain(sluice_client *c, const char *sql, json_t **out, struct sluice_error *err)
{
    if (!sql || !*sql)
        return sdk_error_set(err, SLUICE_E_ARGUMENT, "no SQL given");
    json_t *body = json_pack("{s:s}", "sql", sql);
    int rc = sluice_call(c, "POST", "/v1/pipelines/explain", body, -1, out, err);
    json_decref(body);
    return rc;
}

int sluice_preview(sluice_client *c, const char *sql, int limit, long timeout_ms, const char *start, json_t **out,
                   struct sluice_error *err)
{
    if (!sql || !*sql)
        return sdk_error_set(err, SLUICE_E_ARGUMENT, "no SQL given");
    json_t *body = json_pack("{s:s}", "sql", sql);
    if (limit > 0)
        json_object_set_new(body, "limit", json_integer(limit));
    if (timeout_ms > 0)
        json_object_set_new(body, "timeout_ms", json_integer(timeout_ms));
    if (start)
        json_object_set_new(body, "start", json_string(start));
    int rc = sluice_call(c, "POST", "/v1/preview", body, -1, out, err);
    json_decref(body);
    return rc;
}

/* ==== events, status and the audit trail ================================================= */

int sluice_events(sluice_client *c, enum sluice_kind kind, const char *id, long long since_id, int limit, json_t **out,
                  struct sluice_error *err)
{
    if (!sluice_kind_runnable(kind))
        return sdk_error_set(err, SLUICE_E_ARGUMENT, "a %s has no events", sluice_kind_name(kind));
    char path[512], since[24] = "", lim[24] = "";
    if (since_id > 0)
        snprintf(since, sizeof since, "%lld", since_id);
    if (limit > 0)
        snprintf(lim, sizeof lim, "%d", limit);
    const char *params[][2] = {{"since_id", since[0] ? since : NULL}, {"limit", lim[0] ? lim : NULL}};
    if (!id || resource_path(path, sizeof path, kind, id, "/events", err) < 0 ||
        append_query(path, sizeof path, params, 2, err) < 0)
        return id ? -1 : sdk_error_set(err, SLUICE_E_ARGUMENT, "no id given");
    return sluice_call(c, "GET", path, NULL, -1, out, err);
}

int sluice_status(sluice_client *c, enum sluice_kind kind, const char *id, json_t **out, struct sluice_error *err)
{
    if (!sluice_kind_runnable(kind))
        return sdk_error_set(err, SLUICE_E_ARGUMENT, "a %s has no status", sluice_kind_name(kind));
    char path[512];
    if (!id || resource_path(path, sizeof path, kind, id, "/status", err) < 0)
        return id ? -1 : sdk_error_set(err, SLUICE_E_ARGUMENT, "no id given");
    return sluice_call(c, "GET", path, NULL, -1, out, err);
}

int sluice_audit_events(sluice_client *c, const char *cursor, int limit, json_t **out, struct sluice_error *err)
{
    char path[512] = "/v1/audit-events", lim[24] = "";
    if (limit > 0)
        snprintf(lim, sizeof lim, "%d", limit);
    const char *params[][2] = {{"limit", lim[0] ? lim : NULL}, {"cursor", cursor}};
    if (append_query(path, sizeof path, params, 2, err) < 0)
        return -1;
    return sluice_call(c, "GET", path, NULL, -1, out, err);
}

int sluice_connection_send_events(sluice_client *c, const char *connection_id, json_t *events, json_t **out,
                                  struct sluice_error *err)
{
    size_t n = json_array_size(events);
    if (!json_is_array(events) || n == 0 || n > SLUICE_MAX_EVENTS_PER_CALL)
        return sdk_error_set(err, SLUICE_E_ARGUMENT, "events must be an array of 1 to %d events",
                             SLUICE_MAX_EVENTS_PER_CALL);
    char path[512];
    if (resource_path(path, sizeof path, SLUICE_KIND_CONNECTION, connection_id ? connection_id : "", "/events", err) <
        0)
        return -1;
    json_t *body = json_pack("{s:O}", "events", events);
    if (!body)
        return sdk_error_set(err, SLUICE_E_NO_MEMORY, "out of memory");
    int rc = sluice_call(c, "POST", path, body, -1, out, err);
    json_decref(body);
    return rc;
}
