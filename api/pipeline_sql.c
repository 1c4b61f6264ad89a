/* pipeline_sql.c — validation of pipeline SQL at the API boundary (see pipeline_sql.h). */
#include "api/pipeline_sql.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataplane/schema_json.h"
#include "dataplane/sql/sql.h"

#define PIPELINE_SQL_MAX_STREAMS (PLAN_MAX_SOURCES + 2) /* the sources and the sink */

/* The catalog the planner sees: schemas loaded through the caller's lookup, kept until the
 * check ends, plus the names it asked for and did not find. */
struct sql_catalog {
    pipeline_schema_fn lookup;
    void *ctx;
    struct schema schemas[PIPELINE_SQL_MAX_STREAMS];
    char names[PIPELINE_SQL_MAX_STREAMS][128];
    int n;
    bool outside[PIPELINE_SQL_MAX_STREAMS];   /* a connection's table (tables), not a stream */
    const struct pipeline_sql_tables *tables; /* NULL: streams only */
    char bad_schema[256];                     /* a stored schema that does not parse; a connection that is no table */
    int accept_updates;                       /* an updating result is fine whatever the sink (a preview's) */
};

static const struct schema *catalog_lookup(void *vctx, const char *name)
{
    struct sql_catalog *c = vctx;
    for (int i = 0; i < c->n; i++)
        if (strcasecmp(c->names[i], name) == 0)
            return &c->schemas[i];
    if (c->n == PIPELINE_SQL_MAX_STREAMS)
        return NULL;
    json_t *js = c->lookup(c->ctx, name);
    c->outside[c->n] = false;
    if (!js && c->tables) { /* no stream of that name: a connection's table? */
        js = c->tables->lookup(c->tables->ctx, name, c->bad_schema, sizeof c->bad_schema);
        c->outside[c->n] = js != NULL;
    }
    if (!js)
        return NULL;
    int rc = schema_from_json(js, &c->schemas[c->n], name, c->bad_schema, sizeof c->bad_schema);
    json_decref(js);
    if (rc < 0)
        return NULL;
    snprintf(c->names[c->n], sizeof c->names[c->n], "%s", name);
    return &c->schemas[c->n++];
}

static int fail_at(struct pipeline_sql_error *err, int line, int column, const char *msg)
{
    err->line = line;
    err->column = column;
    size_t n = strlen(msg) < sizeof err->message ? strlen(msg) : sizeof err->message - 1; /* cut a long one */
    memcpy(err->message, msg, n);
    err->message[n] = '\0';
    return -1;
}

/* 1-based line and column of the first whole-word occurrence of name after the word after
 * (NULL: anywhere), or 1:1. */
static void position_after(const char *sql, const char *after, const char *name, int *line, int *column)
{
    *line = 1;
    *column = 1;
    size_t n = strlen(name);
    int l = 1, c = 1, seen = after == NULL;
    for (const char *p = sql; *p; p++) {
        int word_start = p == sql || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        if (!seen && word_start && strncasecmp(p, after, strlen(after)) == 0)
            seen = 1;
        else if (seen && word_start && strncasecmp(p, name, n) == 0 && !(isalnum((unsigned char)p[n]) || p[n] == '_')) {
            *line = l;
            *column = c;
            return;
        }
        if (*p == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
}

/* Checks the text and compiles it against cat (and the functions opts gives, when not NULL);
 * NULL with *err filled on failure. */
static struct plan *compile_in(struct sql_catalog *cat, const char *sql, const struct plan_options *opts,
                               struct pipeline_sql_error *err)
{
    const char *p = sql ? sql : "";
    while (*p && isspace((unsigned char)*p))
        p++;
    if (!*p) {
        fail_at(err, 1, 1, "the SQL text is empty");
        return NULL;
    }
    if (strlen(sql) > PIPELINE_SQL_MAX) {
        char msg[96];
        snprintf(msg, sizeof msg, "the SQL text is longer than %d bytes", PIPELINE_SQL_MAX);
        fail_at(err, 1, 1, msg);
        return NULL;
    }
    struct sql_error serr = {0};
    struct plan_options o = opts ? *opts : (struct plan_options){0};
    o.sink_accepts_updates = cat->accept_updates;
    struct plan *plan = plan_compile_with(sql, catalog_lookup, cat, &o, &serr);
    if (!plan)
        fail_at(err, serr.line, serr.column, cat->bad_schema[0] ? cat->bad_schema : serr.message);
    return plan;
}

static void position_of_sink(const char *sql, const char *name, int *line, int *column)
{
    position_after(sql, "INTO", name, line, column);
}

static void position_of_word(const char *sql, const char *word, int *line, int *column)
{
    position_after(sql, NULL, word, line, column);
}

static void catalog_free(struct sql_catalog *cat)
{
    for (int i = 0; i < cat->n; i++)
        schema_free_fields(&cat->schemas[i]);
}

struct plan *pipeline_compile_sql(const char *sql, pipeline_schema_fn lookup, void *ctx, struct pipeline_sql_error *err)
{
    return pipeline_compile_preview_sql(sql, lookup, ctx, 0, err);
}

struct plan *pipeline_compile_preview_sql(const char *sql, pipeline_schema_fn lookup, void *ctx, int accept_updates,
                                          struct pipeline_sql_error *err)
{
    return pipeline_compile_preview_sql_with(sql, lookup, ctx, accept_updates, NULL, NULL, 0, err);
}

struct plan *pipeline_compile_preview_sql_with(const char *sql, pipeline_schema_fn lookup, void *ctx,
                                               int accept_updates, const struct pipeline_sql_tables *tables,
                                               const struct sql_function_def *functions, int nfunctions,
                                               struct pipeline_sql_error *err)
{
    struct sql_catalog cat = {.lookup = lookup, .ctx = ctx, .tables = tables, .accept_updates = accept_updates};
    struct plan_options opts = {.functions = functions, .nfunctions = nfunctions};
    struct plan *plan = compile_in(&cat, sql, &opts, err);
    catalog_free(&cat);
    return plan;
}

int pipeline_validate_sql(const char *sql, long task_count, pipeline_schema_fn lookup, void *ctx,
                          struct pipeline_sql_error *err)
{
    return pipeline_validate_sql_with(sql, task_count, lookup, ctx, NULL, 0, err);
}

int pipeline_validate_sql_with(const char *sql, long task_count, pipeline_schema_fn lookup, void *ctx,
                               const struct sql_function_def *functions, int nfunctions, struct pipeline_sql_error *err)
{
    return pipeline_validate_sql_tables(sql, task_count, lookup, ctx, NULL, functions, nfunctions, err);
}

/* Whether name is, in cat, a connection's table rather than a stream. */
static bool catalog_outside(const struct sql_catalog *cat, const char *name)
{
    for (int i = 0; i < cat->n; i++)
        if (strcasecmp(cat->names[i], name) == 0)
            return cat->outside[i];
    return false;
}

/* A connection's table the plan reads must be the table of a processing-time lookup join that
 * equates plain columns of it (the worker queries it per key: marked queried in plan, so that
 * the task_count checks below count it as no stream); it is never written. 0, or -1 with err. */
static int check_outside_tables(struct sql_catalog *cat, struct plan *plan, const char *sql,
                                struct pipeline_sql_error *err)
{
    char msg[400];
    int line, column, cols[PLAN_MAX_SOURCES];
    if (catalog_lookup(cat, plan_sink(plan)) && catalog_outside(cat, plan_sink(plan))) {
        snprintf(msg, sizeof msg,
                 "output stream \"%s\" not found: that name is a postgres connection, whose table a pipeline "
                 "only looks up; write to a stream (a postgres sink connection copies it into the table)",
                 plan_sink(plan));
        position_of_sink(sql, plan_sink(plan), &line, &column);
        return fail_at(err, line, column, msg);
    }
    for (int i = 0; i < plan_nsources(plan); i++) {
        const char *name = plan_source_at(plan, i);
        if (!catalog_outside(cat, name))
            continue;
        position_of_word(sql, name, &line, &column);
        if (!plan_source_preload(plan, i) || plan_lookup_keys(plan, i, cols, PLAN_MAX_SOURCES) <= 0) {
            snprintf(msg, sizeof msg,
                     "\"%s\" is a postgres connection: a pipeline reads its table only in a lookup join, "
                     "JOIN %s FOR SYSTEM_TIME AS OF a PROCTIME() column ON columns of it = the other side's",
                     name, name);
            return fail_at(err, line, column, msg);
        }
        plan_set_queried(plan, i);
    }
    return 0;
}

/* Tells tables->used each connection's table the plan reads (each a lookup join's, as
 * check_outside_tables found), once a name. */
static void tell_used_tables(const struct sql_catalog *cat, const struct plan *plan,
                             const struct pipeline_sql_tables *tables)
{
    for (int i = 0; i < plan_nsources(plan); i++) {
        const char *name = plan_source_at(plan, i);
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = strcasecmp(plan_source_at(plan, j), name) == 0;
        if (!seen && catalog_outside(cat, name))
            tables->used(tables->ctx, name);
    }
}

int pipeline_validate_sql_tables(const char *sql, long task_count, pipeline_schema_fn lookup, void *ctx,
                                 const struct pipeline_sql_tables *tables, const struct sql_function_def *functions,
                                 int nfunctions, struct pipeline_sql_error *err)
{
    struct sql_catalog cat = {.lookup = lookup, .ctx = ctx, .tables = tables};
    struct plan_options opts = {.functions = functions, .nfunctions = nfunctions};
    struct plan *plan = compile_in(&cat, sql, &opts, err);
    int rc = plan ? 0 : -1;
    if (plan && plan_is_explain(plan)) {
        int line, column;
        position_of_word(sql, "EXPLAIN", &line, &column);
        rc = fail_at(err, line, column, "EXPLAIN shows a plan and runs nothing; POST it to /v1/pipelines/explain");
    } else if (plan && check_outside_tables(&cat, plan, sql, err) != 0) {
        rc = -1;
    } else if (plan && !catalog_lookup(&cat, plan_sink(plan))) {
        char msg[256];
        snprintf(msg, sizeof msg, "output stream \"%s\" not found; create it before the pipeline that writes to it",
                 plan_sink(plan));
        int line, column;
        position_of_sink(sql, plan_sink(plan), &line, &column);
        rc = fail_at(err, line, column, msg);
    } else if (plan && task_count > 1 && (plan_read_sources(plan) > 1 || plan_is_stateful(plan))) {
        int cols[PLAN_MAX_SOURCES];
        char why[400], msg[600];
        if (plan_split_columns(plan, cols, why, sizeof why) != 0) {
            snprintf(msg, sizeof msg, "task_count %ld splits the %s key, but %s; set task_count to 1", task_count,
                     plan_read_sources(plan) > 1 ? "streams by join" : "stream by", why);
            rc = fail_at(err, 1, 1, msg);
        }
    }
    if (rc == 0 && tables && tables->used)
        tell_used_tables(&cat, plan, tables);
    plan_free(plan);
    catalog_free(&cat);
    return rc;
}

int pipeline_explain_sql(const char *sql, pipeline_schema_fn lookup, void *ctx,
                         const struct sql_function_def *functions, int nfunctions, struct plan_explain *out,
                         struct pipeline_sql_error *err)
{
    return pipeline_explain_sql_tables(sql, lookup, ctx, NULL, functions, nfunctions, out, err);
}

/* A sink that does not exist is derived from the query, so it takes what the query gives: an
 * updating result too (a stream that exists still refuses one, as at create). The plan of text
 * compiled so, when its sink is no stream or table; else NULL (the first compile's error stands). */
static struct plan *explain_derived_sink(const char *text, pipeline_schema_fn lookup, void *ctx,
                                         const struct pipeline_sql_tables *tables, const struct plan_options *opts)
{
    struct sql_catalog cat = {.lookup = lookup, .ctx = ctx, .tables = tables, .accept_updates = 1};
    struct pipeline_sql_error ignored;
    struct plan *plan = compile_in(&cat, text, opts, &ignored);
    if (plan && plan_sink(plan) && catalog_lookup(&cat, plan_sink(plan))) {
        plan_free(plan);
        plan = NULL;
    }
    catalog_free(&cat);
    return plan;
}

int pipeline_explain_sql_tables(const char *sql, pipeline_schema_fn lookup, void *ctx,
                                const struct pipeline_sql_tables *tables, const struct sql_function_def *functions,
                                int nfunctions, struct plan_explain *out, struct pipeline_sql_error *err)
{
    static const char prefix[] = "EXPLAIN\n"; /* shifts lines by one only */
    const char *p = sql ? sql : "";
    while (*p && isspace((unsigned char)*p))
        p++;
    int wrap = strncasecmp(p, "EXPLAIN", 7) != 0 || isalnum((unsigned char)p[7]) || p[7] == '_';
    size_t n = sql ? strlen(sql) : 0;
    char *text = malloc(sizeof prefix + n);
    if (!text)
        return fail_at(err, 0, 0, "out of memory");
    snprintf(text, sizeof prefix + n, "%s%s", wrap && *p ? prefix : "", sql ? sql : "");
    struct sql_catalog cat = {.lookup = lookup, .ctx = ctx, .tables = tables};
    struct plan_options opts = {.functions = functions, .nfunctions = nfunctions};
    struct plan *plan = compile_in(&cat, text, &opts, err);
    if (!plan)
        plan = explain_derived_sink(text, lookup, ctx, tables, &opts);
    int rc = plan ? 0 : -1;
    if (plan && plan_explain(plan, out) < 0)
        rc = fail_at(err, 0, 0, "out of memory");
    if (!plan && wrap && *p && err->line > 1)
        err->line--;
    else if (!plan && wrap && *p && err->line == 1)
        err->column = 1;
    plan_free(plan);
    catalog_free(&cat);
    free(text);
    return rc;
}
