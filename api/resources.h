/* resources.h — the tenant's named resources over one generic implementation: streams,
 * connections, pipelines, secrets and functions (user-defined, in Lua).
 *
 * Each kind is one descriptor (struct resource_kind): its table, its body fields as a
 * json_check table, the columns that make a row's JSON (selected as plain values and written
 * as JSON by the api, not by json_build_object), its plan quota column, whether it is runnable,
 * and an optional extra validation. The handlers below take the descriptor from the route's
 * data and run inside the caller's tenant transaction (the server opens it and commits only
 * when the handler succeeds; a create without an Idempotency-Key commits with its one
 * statement, see db_scope_commit_next()). */
#ifndef SLUICE_API_RESOURCES_H
#define SLUICE_API_RESOURCES_H

#include <stdbool.h>

#include "api/http.h"

struct resource_kind;

extern const struct resource_kind resource_streams, resource_connections, resource_pipelines, resource_secrets,
    resource_functions;

/* POST /v1/{kind}: 201 with the resource and Location. */
int resource_create(struct api_request *req, struct api_response *resp);
/* GET /v1/{kind}?limit=&cursor=&name=: {"items":[...],"next_cursor":...}. */
int resource_list(struct api_request *req, struct api_response *resp);
/* GET /v1/{kind}/{id}. */
int resource_get(struct api_request *req, struct api_response *resp);
/* PATCH /v1/{kind}/{id} with optional If-Match. */
int resource_update(struct api_request *req, struct api_response *resp);
/* DELETE /v1/{kind}/{id}: 204. */
int resource_delete(struct api_request *req, struct api_response *resp);
/* POST /v1/{kind}/{id}/activate and /deactivate (runnable kinds). */
int resource_activate(struct api_request *req, struct api_response *resp);
int resource_deactivate(struct api_request *req, struct api_response *resp);

/* Records a change in audit_log (and, for runnable kinds, NOTIFY sluice_desired
 * '<kind>:<id>'), in the request's transaction. kind is the singular name ("pipeline"). */
int resource_record_change(struct api_request *req, const char *kind, const char *id, const char *action, bool notify,
                           struct api_response *resp);
/* After creating kind id (doc, stolen, is its JSON): records the change, then 201 with
 * Location collection/id and ETag "1". Returns 0 or -1 (doc released, resp filled). */
int resource_reply_created(struct api_request *req, const char *kind, const char *collection, const char *id,
                           json_t *doc, struct api_response *resp);

/* The tenant's functions whose names occur in text (a superset of those it calls), declared
 * for the planner from the facts stored at their create or update (sql_function_declare: no
 * Lua state in the api) into *defs (*n of them; free with sql_function_defs_free). One stored
 * before its facts were (kind NULL) is checked now in a sandboxed worker child and its facts
 * stored; one that does not load is left out (a call then is an unknown function). With
 * sources (may be NULL), *sources is also set to the declared ones as a worker's spec gives them,
 * [{"name", "returns", "source"}] (a new reference). 0, or -1 with resp filled. */
struct sql_function_def;
int resource_pipeline_functions(struct api_request *req, struct api_response *resp, const char *text,
                                struct sql_function_def **defs, int *n, json_t **sources);
/* The tenant's streams as a pipeline create resolves them: the cached catalog, else read now
 * (and cached). A reference (stream_catalog_release), or NULL with resp filled. */
struct stream_catalog;
struct stream_catalog *resource_stream_catalog(struct api_request *req, struct api_response *resp);

/* The caller's connections as the tables of lookup joins a pipeline's SQL may name
 * (pipeline_table_fn of api/pipeline_sql.h; ctx a struct resource_tables): a postgres
 * connection's table has its stream's schema; another connector's is refused, naming it. A
 * database error sets db_failed, with resp filled. */
struct resource_tables {
    struct api_request *req;
    struct api_response *resp;
    bool db_failed;
    json_t *used; /* NULL, or an array that resource_connection_used fills (the caller's) */
    /* A stream schema change under check: the stream of this id has changed_schema (borrowed;
     * NULL: the stored schema) as a connection's table too. */
    const char *changed_stream;
    json_t *changed_schema;
};
json_t *resource_connection_table(void *ctx, const char *name, char *why, size_t whysz);
/* pipeline_sql_tables.used for a struct resource_tables: appends name to its used array. */
void resource_connection_used(void *ctx, const char *name);

/* Parses If-Match ("N", N or W/"N"): 1 with *version set, 0 when absent, -1 when malformed. */
int resource_parse_if_match(const char *header, long long *version);

#endif
