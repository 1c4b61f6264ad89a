/* pipeline_sql.h — the one check a pipeline's SQL passes at create and update time.
 *
 * Today it rejects empty and over-long SQL; the dataplane's SQL front end (dataplane/sql/sql.h)
 * plugs in here, so parsing and planning errors come back with their line and column. */
#ifndef SLUICE_API_PIPELINE_SQL_H
#define SLUICE_API_PIPELINE_SQL_H

#define PIPELINE_SQL_MAX 65536

struct pipeline_sql_error {
    int line, column; /* 1-based position of the problem */
    char message[256];
};

/* Returns 0 when sql is acceptable, else -1 with *err filled. */
int pipeline_validate_sql(const char *sql, struct pipeline_sql_error *err);

#endif
