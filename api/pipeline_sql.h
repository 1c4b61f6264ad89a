/* pipeline_sql.h — compiling SQL at the API against the tenant's stream schemas: the one check
 * a pipeline's SQL passes at create and update time, and the plan a preview runs. The
 * dataplane's SQL front end (dataplane/sql/sql.h) parses and plans it, so errors come back with
 * their line and column. */
#ifndef SLUICE_API_PIPELINE_SQL_H
#define SLUICE_API_PIPELINE_SQL_H

#include <jansson.h>

struct plan;

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
 * *err filled. A windowed aggregate needs every row of a group in one task, so it runs as one
 * task (tasks split the input by partition, not by group key); so does one that reads several
 * streams (a join). */
int pipeline_validate_sql(const char *sql, long task_count, pipeline_schema_fn lookup, void *ctx,
                          struct pipeline_sql_error *err);

/* Compiles sql (INSERT INTO <sink> SELECT ... FROM <stream>) against the streams lookup finds;
 * the sink need not exist (its schema is then derived from the SELECT). Returns a new plan
 * (the caller plan_free()s it), or NULL with *err filled. */
struct plan *pipeline_compile_sql(const char *sql, pipeline_schema_fn lookup, void *ctx,
                                  struct pipeline_sql_error *err);

#endif
