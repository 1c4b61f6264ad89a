/* connection_check.c — POST /v1/connections/{id}/check (see connection_check.h): the
 * connection's options and decrypted secrets go to a worker child of kind "check" in the
 * workers' sandbox, whose one line of answer is relayed. */
#include "api/connection_check.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/query_args.h"
#include "api/worker_child.h"
#include "common/crypto.h"
#include "common/fs.h"
#include "common/log.h"
#include "dataplane/stream.h"

#define CHECK_TIMEOUT_MS 15000
#define CHECK_MAX_RUNNING 4
#define CHECK_ADDRESS_SPACE (1ull << 30)

static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;
static int check_running;

/* ---- the connection, its secrets ------------------------------------------------------- */

/* The secret called name, decrypted, as a new JSON string; NULL with resp filled. */
static json_t *check_secret(struct api_request *req, struct api_response *resp, const char *prop, const char *name)
{
    const char *p[] = {name};
    PGresult *res = api_db_query(req, resp, "SELECT encode(value, 'hex') FROM secrets WHERE name = $1", 1, p);
    if (!res)
        return NULL;
    json_t *out = NULL;
    if (PQntuples(res) == 1) {
        const char *hex = PQgetvalue(res, 0, 0);
        size_t len = strlen(hex) / 2;
        uint8_t *sealed = malloc(len + 1), *plain = malloc(len + 1);
        const char *tenant = req->caller.tenant_id;
        if (sealed && plain && len > CRYPTO_SEAL_OVERHEAD && crypto_unhex(hex, sealed, len) == 0 &&
            crypto_open(req->settings->master_key, tenant, strlen(tenant), sealed, len, plain) == 0)
            out = json_stringn((const char *)plain, len - CRYPTO_SEAL_OVERHEAD);
        free(sealed);
        free(plain);
    }
    if (!out)
        api_fail(resp, API_INVALID_CONNECTION, json_pack("{s:s}", "field", prop),
                 PQntuples(res) == 1 ? "secret \"%s\" (for property \"%s\") cannot be decrypted"
                                     : "secret \"%s\" (for property \"%s\") not found",
                 name, prop);
    PQclear(res);
    return out;
}

/* The child's spec for connection id: {"kind":"check", connector, properties, secrets}, or NULL
 * with resp filled (404). *backend: the connector's backend (NULL: not in this binary). */
static json_t *check_spec(struct api_request *req, struct api_response *resp, const char *id,
                          const struct stream_backend **backend)
{
    if (!api_is_uuid(id)) {
        api_fail(resp, API_NOT_FOUND, NULL, "connection %s not found", id);
        return NULL;
    }
    const char *p[] = {id};
    PGresult *res = api_db_query(
        req, resp, "SELECT connector, properties::text, secret_refs::text FROM connections WHERE id = $1", 1, p);
    if (!res)
        return NULL;
    if (PQntuples(res) != 1) {
        PQclear(res);
        api_fail(resp, API_NOT_FOUND, NULL, "connection %s not found", id);
        return NULL;
    }
    *backend = NULL;
    stream_connector_find(PQgetvalue(res, 0, 0), backend);
    json_t *refs = json_loads(PQgetvalue(res, 0, 2), 0, NULL), *secrets = json_object();
    json_t *spec =
        json_pack("{s:s,s:s,s:o,s:o,s:{s:b}}", "kind", "check", "connector", PQgetvalue(res, 0, 0), "properties",
                  json_loads(PQgetvalue(res, 0, 1), 0, NULL), "secrets", secrets, "sandbox", "seccomp", 1);
    PQclear(res);
    if (spec && *backend && (*backend)->tenant_files) { /* its files: below the tenant's directory only */
        char root[1024];
        fs_tenant_files_dir(req->settings->data_root ? req->settings->data_root : "var/data", req->caller.tenant_id,
                            root, sizeof root);
        json_object_set_new(json_object_get(spec, "properties"), "__root", json_string(root));
    }
    const char *prop;
    json_t *name;
    json_object_foreach(refs, prop, name)
    {
        json_t *v = spec && json_is_string(name) ? check_secret(req, resp, prop, json_string_value(name)) : NULL;
        if (!v) {
            json_decref(spec);
            spec = NULL;
            break;
        }
        json_object_set_new(secrets, prop, v);
    }
    json_decref(refs);
    if (!spec && resp->status == 0)
        api_fail(resp, API_INTERNAL, NULL, "out of memory");
    return spec;
}

/* ---- the child ---------------------------------------------------------------------------- */

/* ---- the handler -------------------------------------------------------------------------- */

/* The answer from the child's lines: its "check" line, else the error it stated. */
static json_t *check_answer(const char *text)
{
    json_t *answer = NULL;
    char why[400] = "the check worker ended without an answer (or ran past its time limit)";
    for (const char *line = text; *line && !answer;) {
        size_t n = strcspn(line, "\n");
        json_t *o = json_loadb(line, n, 0, NULL);
        const char *type = json_string_value(json_object_get(o, "type"));
        const char *error = json_string_value(json_object_get(o, "error"));
        if (type && strcmp(type, "check") == 0) {
            json_object_del(o, "type");
            answer = json_incref(o);
        } else if (type && strcmp(type, "state") == 0 && error) {
            snprintf(why, sizeof why, "%s", error);
        }
        json_decref(o);
        line += n + (line[n] == '\n');
    }
    if (!answer)
        answer = json_pack("{s:b,s:b,s:b,s:s}", "reachable", 0, "authenticated", 0, "target_present", 0, "error", why);
    return answer;
}

int connection_check(struct api_request *req, struct api_response *resp)
{
    const struct stream_backend *b = NULL;
    long sample;
    if (query_args_long(req, resp, "sample", 0, 1, 1000, &sample) != 0)
        return -1;
    json_t *spec = check_spec(req, resp, req->params.values[0], &b);
    uid_t uid = 0;
    if (spec && sample > 0)
        json_object_set_new(spec, "sample", json_integer(sample));
    if (!spec || worker_child_uid(req, resp, &uid) != 0) {
        json_decref(spec);
        return -1;
    }
    char *spec_text = json_dumps(spec, JSON_COMPACT);
    json_decref(spec);
    if (!spec_text)
        return api_fail(resp, API_INTERNAL, NULL, "out of memory");
    pthread_mutex_lock(&check_lock);
    bool ok = check_running < CHECK_MAX_RUNNING;
    check_running += ok;
    pthread_mutex_unlock(&check_lock);
    if (!ok) {
        free(spec_text);
        resp->retry_after = 1;
        return api_fail(resp, API_RATE_LIMITED, json_pack("{s:i}", "retry_after", 1),
                        "too many connection checks running; try again in a moment");
    }
    char out[32768], err[512];
    struct worker_child_limits lim = {
        .network = !b || b->network, .address_space = CHECK_ADDRESS_SPACE, .timeout_ms = CHECK_TIMEOUT_MS};
    int rc = worker_child_run(req->settings->data_root ? req->settings->data_root : "var/data", req->caller.tenant_id,
                              uid, "check", &lim, spec_text, out, sizeof out, err, sizeof err);
    free(spec_text);
    pthread_mutex_lock(&check_lock);
    check_running--;
    pthread_mutex_unlock(&check_lock);
    if (rc != 0) {
        log_error("connection check: cannot start its worker: %s", err);
        return api_fail(resp, API_INTERNAL, NULL, "the check could not be started");
    }
    return api_reply(resp, 200, check_answer(out));
}
