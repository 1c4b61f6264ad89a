/* pipeline_sql.h — compiling SQL at the API against the tenant's stream schemas: the one check
 * a pipeline's SQL passes at create and update time, and the plan a preview runs. The
 * dataplane's SQL front end (dataplane/sql/sql.h) parses and plans it, so errors come back with
 * their line and column. */
#ifndef SLUICE_API_PIPELINE_SQL_H
#define SLUICE_API_PIPELINE_SQL_H

#include <jansson.h>

struct plan;
struct plan_explain;
struct sql_function_def;

#define PIPELINE_SQL_MAX 65536

struct pipeline_sql_error {
    int line, column; /* 1-based position of the problem */
    char message[256];
};

/* Looks up a stream's schema JSON by name (as written in the SQL; case-insensitive match is
 * the callee's choice). Returns a new reference, or NULL when there is no such stream. */
typedef json_t *(*pipeline_schema_fn)(void *ctx, const char *stream_name);

/* Returns 0 when sql is a valid INSERT INTO <stream> SELECT ... FROM <stream> over existing
 * streams (the output stream must exist too) that can run as task_count tasks, else -1 with
 * *err filled. A stateless pipeline over one stream runs as task_count tasks split by partition.
 * One that keeps state by key (an aggregate, Top-N, OVER, a join) runs as several tasks when they
 * can split its rows by key, the join key or one key column that keys every aggregate
 * (plan_split_columns), else as one. A postgres connection's table in a lookup join is queried
 * per key, never read: it counts as no stream, and its lookup join keeps no state (each task
 * looks up the rows it processes). */
int pipeline_validate_sql(const char *sql, long task_count, pipeline_schema_fn lookup, void *ctx,
                          struct pipeline_sql_error *err);
/* pipeline_validate_sql with the user-defined functions the SQL may call (functions: n
 * definitions, borrowed; see dataplane/sql/sql.h). A call of any other function is an
 * "unknown function" error at its position. */
int pipeline_validate_sql_with(const char *sql, long task_count, pipeline_schema_fn lookup, void *ctx,
                               const struct sql_function_def *functions, int nfunctions,
                               struct pipeline_sql_error *err);

/* A table besides the streams that the SQL may name: a connection of the tenant, whose table
 * a processing-time lookup join queries per key (see README, "Lookup joins through the API").
 * Returns the table's schema JSON (a new reference) when name is such a connection; NULL when
 * it is none, with why filled (a message for the user) when name is a connection that cannot
 * be a table (not a postgres one). Only names that are no stream are asked. */
typedef json_t *(*pipeline_table_fn)(void *ctx, const char *name, char *why, size_t whysz);
struct pipeline_sql_tables {
    pipeline_table_fn lookup;
    void *ctx;
    /* NULL, or told (with ctx) each table a valid SQL reads in a lookup join, once a name, after
     * the check passed: what the pipeline depends on (api/resources.c records it). */
    void (*used)(void *ctx, const char *name);
};
/* pipeline_validate_sql_with, where the SQL may also name the connections tables finds (NULL:
 * none). Such a table must be the table of a lookup join (FOR SYSTEM_TIME AS OF a PROCTIME()
 * column) whose ON condition equates plain columns of it, in a pipeline of one task; it is
 * never the output. */
int pipeline_validate_sql_tables(const char *sql, long task_count, pipeline_schema_fn lookup, void *ctx,
                                 const struct pipeline_sql_tables *tables, const struct sql_function_def *functions,
                                 int nfunctions, struct pipeline_sql_error *err);

/* Compiles sql (INSERT INTO <sink> SELECT ... FROM <stream>) against the streams lookup finds;
 * the sink need not exist (its schema is then derived from the SELECT). Returns a new plan
 * (the caller plan_free()s it), or NULL with *err filled. */
struct plan *pipeline_compile_sql(const char *sql, pipeline_schema_fn lookup, void *ctx,
                                  struct pipeline_sql_error *err);
/* The same; with accept_updates an updating result (GROUP BY without a window, Top-N, ...) is
 * accepted whatever the sink, as a preview shows it as a changelog. */
struct plan *pipeline_compile_preview_sql(const char *sql, pipeline_schema_fn lookup, void *ctx, int accept_updates,
                                          struct pipeline_sql_error *err);
/* The same, where the SQL may call the n functions (borrowed; declared ones do: the plan is then
 * for its schema, not to run), and name the tables tables finds (NULL: none; as in
 * pipeline_validate_sql_tables, its why is the error for a name it refuses). */
struct plan *pipeline_compile_preview_sql_with(const char *sql, pipeline_schema_fn lookup, void *ctx,
                                               int accept_updates, const struct pipeline_sql_tables *tables,
                                               const struct sql_function_def *functions, int nfunctions,
                                               struct pipeline_sql_error *err);

/* EXPLAIN of sql (INSERT INTO ... SELECT ..., a bare SELECT ..., either with or without a
 * leading EXPLAIN) against the streams lookup finds and the n functions (borrowed): 0 with
 * *out filled (free with plan_explain_free), or -1 with *err filled. The sink need not exist;
 * an append-only sink that exists still refuses an updating result, as at create. */
int pipeline_explain_sql(const char *sql, pipeline_schema_fn lookup, void *ctx,
                         const struct sql_function_def *functions, int nfunctions, struct plan_explain *out,
                         struct pipeline_sql_error *err);
/* pipeline_explain_sql, where the SQL may also name the connections tables finds (NULL: none). */
int pipeline_explain_sql_tables(const char *sql, pipeline_schema_fn lookup, void *ctx,
                                const struct pipeline_sql_tables *tables, const struct sql_function_def *functions,
                                int nfunctions, struct plan_explain *out, struct pipeline_sql_error *err);

#endif
