/* pg_conn.c — what the libpq connectors share (pg_conn.h): messages on one line, connecting
 * with the connector's defaults, statements whose failure becomes an error message. */
#include "dataplane/connectors/pg_conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PG_CONN_MAX_KEYS 8

const char *pg_conn_message(const char *msg, char *buf, size_t buflen)
{
    snprintf(buf, buflen, "%s", msg ? msg : "");
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    size_t n = strlen(buf);
    while (n && buf[n - 1] == ' ')
        buf[--n] = '\0';
    return buf;
}

int pg_conn_url_check(const char *url, const char *what, char *err, size_t errlen)
{
    if (url && (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0))
        return 0;
    snprintf(err, errlen, "%s option \"url\" must be a postgresql:// URI", what);
    return -1;
}

/* p as libpq's keywords and values, NULL-terminated: the defaults first, then the url (which
 * libpq expands, so its keywords win), then the password. */
static void pg_conn_keywords(const struct pg_conn_params *p, char *timeout, size_t timeoutlen, const char **keys,
                             const char **values)
{
    int n = 0;
    if (p->connect_timeout_s > 0) {
        snprintf(timeout, timeoutlen, "%d", p->connect_timeout_s);
        keys[n] = "connect_timeout", values[n++] = timeout;
    }
    if (p->application_name)
        keys[n] = p->application_fallback ? "fallback_application_name" : "application_name",
        values[n++] = p->application_name;
    keys[n] = "dbname", values[n++] = p->url;
    if (p->options)
        keys[n] = "options", values[n++] = p->options;
    if (p->replication)
        keys[n] = "replication", values[n++] = p->replication;
    if (p->password)
        keys[n] = "password", values[n++] = p->password;
    keys[n] = values[n] = NULL;
}

PGconn *pg_conn_open(const struct pg_conn_params *p, char *err, size_t errlen)
{
    char timeout[16], m[600];
    const char *keys[PG_CONN_MAX_KEYS], *values[PG_CONN_MAX_KEYS];
    pg_conn_keywords(p, timeout, sizeof timeout, keys, values);
    PGconn *c = PQconnectdbParams(keys, values, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "%s: cannot connect: %s", p->what,
                 pg_conn_message(c ? PQerrorMessage(c) : "out of memory", m, sizeof m));
        PQfinish(c);
        return NULL;
    }
    return c;
}

PGPing pg_conn_ping(const struct pg_conn_params *p)
{
    char timeout[16];
    const char *keys[PG_CONN_MAX_KEYS], *values[PG_CONN_MAX_KEYS];
    pg_conn_keywords(p, timeout, sizeof timeout, keys, values);
    return PQpingParams(keys, values, 1);
}

/* err as "<fmt, ap>: <c's message>". */
static void pg_conn_failed(PGconn *c, char *err, size_t errlen, const char *fmt, va_list ap)
{
    char m[600];
    int n = vsnprintf(err, errlen, fmt, ap);
    if (n >= 0 && (size_t)n < errlen)
        snprintf(err + n, errlen - (size_t)n, ": %s", pg_conn_message(PQerrorMessage(c), m, sizeof m));
}

PGresult *pg_conn_exec(PGconn *c, const char *sql, int nparams, const char *const *params, ExecStatusType want,
                       char *err, size_t errlen, const char *fmt, ...)
{
    PGresult *res = nparams ? PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0) : PQexec(c, sql);
    if (PQresultStatus(res) == want)
        return res;
    va_list ap;
    va_start(ap, fmt);
    pg_conn_failed(c, err, errlen, fmt, ap);
    va_end(ap);
    PQclear(res);
    return NULL;
}

int pg_conn_command(PGconn *c, const char *sql, ExecStatusType want, char *err, size_t errlen, const char *fmt, ...)
{
    PGresult *res = PQexec(c, sql);
    int ok = PQresultStatus(res) == want;
    PQclear(res);
    if (ok)
        return 0;
    va_list ap;
    va_start(ap, fmt);
    pg_conn_failed(c, err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}
