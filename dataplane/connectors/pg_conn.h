/* pg_conn.h — what the libpq connectors (postgres_cdc.c, postgres_sink.c, postgres_lookup.c)
 * share: libpq's messages on one line, connecting with a url and the connector's defaults, and
 * running a statement whose failure becomes an error message.
 *
 * Errors: NULL or -1 with a message in err[errlen]; the password never appears in it. */
#ifndef SLUICE_DATAPLANE_CONNECTORS_PG_CONN_H
#define SLUICE_DATAPLANE_CONNECTORS_PG_CONN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* How to connect. Borrowed for the call. The url's own keywords win over the defaults here
 * (an application_name in the url, say), and the password, when given, over the url's. */
struct pg_conn_params {
    const char *url;              /* a connection URI or keyword string (libpq's dbname) */
    const char *password;         /* NULL: the url's, or none */
    int connect_timeout_s;        /* connect_timeout: seconds, 0 for libpq's default (none) */
    const char *application_name; /* NULL: none */
    bool application_fallback;    /* set it as fallback_application_name (PGAPPNAME wins) */
    const char *options;          /* server options ("-c timezone=UTC"); NULL: none */
    const char *replication;      /* "database" for a walsender, "false"; NULL: not given */
    const char *what;             /* what the connection is for, first in errors ("postgres") */
};

/* libpq's message msg (NULL: empty) on one line, without its trailing blanks, in buf[buflen];
 * returns buf. */
const char *pg_conn_message(const char *msg, char *buf, size_t buflen);

/* 0 when url is a postgresql:// (or postgres://) URI, else -1 with err naming option "url" of
 * connector what. */
int pg_conn_url_check(const char *url, const char *what, char *err, size_t errlen);

/* A connection as p says, or NULL with err "WHAT: cannot connect: <libpq's message>". The
 * caller owns it (PQfinish). */
PGconn *pg_conn_open(const struct pg_conn_params *p, char *err, size_t errlen);

/* Whether the server of p answers, with PQpingParams (which needs no valid credentials). */
PGPing pg_conn_ping(const struct pg_conn_params *p);

/* sql on c, with params[nparams] as text when nparams > 0: its result (the caller's, PQclear)
 * when its status is want, else NULL with err "<prefix formatted>: <the server's message>". */
PGresult *pg_conn_exec(PGconn *c, const char *sql, int nparams, const char *const *params, ExecStatusType want,
                       char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 8, 9)));

/* pg_conn_exec for a statement whose result is not needed: 0, or -1 with err. */
int pg_conn_command(PGconn *c, const char *sql, ExecStatusType want, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#endif
