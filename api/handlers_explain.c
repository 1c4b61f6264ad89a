/* handlers_explain.c — POST /v1/pipelines/explain (see handlers_explain.h). */
#include "api/handlers_explain.h"

#include <stdlib.h>

#include "api/pipeline_sql.h"
#include "api/resources.h"
#include "api/stream_cache.h"
#include "common/json_check.h"
#include "dataplane/sql/sql.h"

static const struct json_check_field explain_fields[] = {
    {"sql", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, PIPELINE_SQL_MAX, NULL},
};

/* One operator as the API shows it. */
static json_t *explain_operator_json(const struct plan_operator *o)
{
    json_t *kinds = o->updating ? json_pack("[s,s,s,s]", "+I", "-U", "+U", "-D") : json_pack("[s]", "+I");
    return json_pack("{s:s, s:o, s:i, s:s, s:o, s:b, s:s?}", "name", o->name, "parent",
                     o->parent < 0 ? json_null() : json_integer(o->parent), "depth", o->depth, "changelog",
                     o->updating ? "updating" : "append-only", "row_kinds", kinds, "stateful", o->stateful, "key",
                     o->key);
}

static int explain_reply(const struct plan_explain *e, struct api_response *resp)
{
    json_t *ops = json_array();
    for (int i = 0; ops && i < e->n; i++)
        json_array_append_new(ops, explain_operator_json(&e->ops[i]));
    json_t *body = json_pack("{s:s, s:o}", "plan", e->text, "operators", ops);
    if (!body)
        return api_fail(resp, API_INTERNAL, NULL, "out of memory");
    return api_reply(resp, 200, body);
}

int pipelines_explain(struct api_request *req, struct api_response *resp)
{
    struct json_check_error cerr;
    if (json_check_object(req->json, "", explain_fields, sizeof explain_fields / sizeof explain_fields[0], false,
                          &cerr) < 0)
        return api_fail_field(resp, API_INVALID_REQUEST, cerr.field, "%s", cerr.message);
    const char *sql = json_string_value(json_object_get(req->json, "sql"));
    struct stream_catalog *cat = resource_stream_catalog(req, resp);
    if (!cat)
        return -1;
    struct sql_function_def *defs = NULL;
    int ndefs = 0;
    if (resource_pipeline_functions(req, resp, sql, &defs, &ndefs, NULL) < 0) {
        stream_catalog_release(cat);
        return -1;
    }
    struct plan_explain e;
    struct pipeline_sql_error err;
    struct resource_tables conns = {.req = req, .resp = resp};
    struct pipeline_sql_tables tables = {resource_connection_table, &conns, NULL}; /* lookup joins' */
    int rc = pipeline_explain_sql_tables(sql, stream_catalog_schema, cat, &tables, defs, ndefs, &e, &err);
    sql_function_defs_free(defs, (size_t)ndefs);
    stream_catalog_release(cat);
    if (conns.db_failed) {
        if (rc == 0)
            plan_explain_free(&e);
        return -1;
    }
    if (rc < 0)
        return api_fail(resp, API_INVALID_SQL,
                        json_pack("{s:s,s:i,s:i}", "field", "sql", "line", err.line, "column", err.column),
                        "invalid SQL: %s (line %d, column %d)", err.message, err.line, err.column);
    rc = explain_reply(&e, resp);
    plan_explain_free(&e);
    return rc;
}
