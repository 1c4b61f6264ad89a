/* db.c — libpq helpers shared by the api, migrate and the controlplane. */
#include "common/db.h"

#include <stdio.h>
#include <string.h>

static void db_fill_error(PGconn *conn, const PGresult *res, struct db_error *err)
{
    memset(err, 0, sizeof *err);
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    snprintf(err->sqlstate, sizeof err->sqlstate, "%s", state ? state : "");
    snprintf(err->message, sizeof err->message, "%s", primary ? primary : PQerrorMessage(conn));
    err->message[strcspn(err->message, "\n")] = '\0';
    snprintf(err->constraint, sizeof err->constraint, "%s", constraint ? constraint : "");
    err->connection_lost = PQstatus(conn) != CONNECTION_OK;
}

PGconn *db_connect(const char *url, const char *role, struct db_error *err)
{
    memset(err, 0, sizeof *err);
    PGconn *conn = PQconnectdb(url);
    if (PQstatus(conn) != CONNECTION_OK) {
        snprintf(err->message, sizeof err->message, "cannot connect to the database: %s", PQerrorMessage(conn));
        err->message[strcspn(err->message, "\n")] = '\0';
        err->connection_lost = true;
        PQfinish(conn);
        return NULL;
    }
    if (role) {
        char sql[128];
        snprintf(sql, sizeof sql, "SET ROLE %s", role);
        if (db_exec(conn, sql, 0, NULL, err) < 0) {
            PQfinish(conn);
            return NULL;
        }
    }
    return conn;
}

PGresult *db_query(PGconn *conn, const char *sql, int nparams, const char *const *params, struct db_error *err)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return res;
    db_fill_error(conn, res, err);
    PQclear(res);
    return NULL;
}

int db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params, struct db_error *err)
{
    PGresult *res = db_query(conn, sql, nparams, params, err);
    PQclear(res);
    return res ? 0 : -1;
}
