/* db.h — small helpers over libpq: connect (optionally SET ROLE), run parameterised queries,
 * and turn failures into one error struct (SQLSTATE, message, constraint).
 *
 * Ownership: db_query() returns a PGresult the caller frees with PQclear(); on failure it
 * returns NULL and fills *err. Parameters are text, NULL for SQL NULL. */
#ifndef SLUICE_COMMON_DB_H
#define SLUICE_COMMON_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

struct db_error {
    char sqlstate[6]; /* "" when the failure is not from the server */
    char message[512];
    char constraint[128]; /* violated constraint name, or "" */
    bool connection_lost; /* the connection is unusable; reconnect */
};

/* Connects to url and, when role is non-NULL, runs SET ROLE role. NULL with err on failure. */
PGconn *db_connect(const char *url, const char *role, struct db_error *err);

/* Runs sql with nparams text parameters. Returns the result (tuples or command ok), or NULL
 * with *err filled. */
PGresult *db_query(PGconn *conn, const char *sql, int nparams, const char *const *params, struct db_error *err);

/* Runs a statement and discards its result; 0 or -1 with *err. */
int db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params, struct db_error *err);

#endif
