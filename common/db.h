/* db.h — small helpers over libpq: connect (optionally SET ROLE), run parameterised queries,
 * and turn failures into one error struct (SQLSTATE, message, constraint).
 *
 * Ownership: db_query() returns a PGresult the caller frees with PQclear(); on failure it
 * returns NULL and fills *err. Parameters are text, NULL for SQL NULL. */
#ifndef SLUICE_COMMON_DB_H
#define SLUICE_COMMON_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

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

/* db_query for a caller that reports a failure as text: on failure NULL, with its message in
 * err (errsz bytes, cut to fit). */
PGresult *db_query_or_err(PGconn *conn, const char *sql, int nparams, const char *const *params, char *err,
                          size_t errsz);

/* Runs a statement and discards its result; 0 or -1 with *err. */
int db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params, struct db_error *err);

/* ---- sessions: prepared statements and a tenant scope (the api's connections) -----------
 *
 * db_session_enable() attaches a session to conn (freed by PQfinish). From then on, db_query()
 * and db_exec() on conn prepare each distinct statement text once (a named statement, up to
 * DB_SESSION_MAX_STATEMENTS per connection; the rest run unnamed) and run it prepared, and
 * they honour the scope set with db_scope(): the scope's set_config(setting, value, true) is
 * sent in the same round trip as the statement (libpq pipeline mode), so RLS sees it:
 *   DB_SCOPE_TRANSACTION  the first statement goes with BEGIN and the set_config; the
 *                         transaction stays open for the caller's COMMIT or ROLLBACK
 *                         (db_scope_begun() tells whether anything was sent);
 *   DB_SCOPE_STATEMENT    every statement goes with the set_config, in an implicit
 *                         transaction of its own that ends with it (for read-only work);
 *   DB_SCOPE_NONE         statements go alone. */
#define DB_SESSION_MAX_STATEMENTS 256

enum db_scope { DB_SCOPE_NONE, DB_SCOPE_TRANSACTION, DB_SCOPE_STATEMENT };

/* 0, or -1 when out of memory (conn then works as before). */
int db_session_enable(PGconn *conn);
/* Sets conn's scope; setting and value are copied (value at most 63 bytes). No-op without a
 * session, except that DB_SCOPE_TRANSACTION then runs BEGIN and set_config at once. Returns 0
 * or -1 with *err. */
int db_scope(PGconn *conn, enum db_scope scope, const char *setting, const char *value, struct db_error *err);
/* Whether the DB_SCOPE_TRANSACTION's BEGIN has been sent (a transaction is open). */
bool db_scope_begun(PGconn *conn);
/* Makes the next statement of a DB_SCOPE_TRANSACTION the transaction's last: COMMIT follows it
 * in the same round trip, so the transaction holds its locks (a quota counter's row) no longer
 * than the server takes, instead of until the caller's COMMIT arrives. db_query() returns the
 * statement's result. When both succeeded the transaction is over (db_scope_begun() false);
 * when either failed it is left open and failed for the caller's ROLLBACK. No-op without a
 * session or in another scope (the caller's COMMIT ends the transaction as usual). */
void db_scope_commit_next(PGconn *conn);

#endif
