/* db.c — libpq helpers shared by the api, migrate and the controlplane. */
#include "common/db.h"

#include <libpq-events.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* ---- sessions ---------------------------------------------------------------------------- */

struct db_statement {
    uint64_t hash;
    char *sql;
    char name[16];
};

struct db_session {
    struct db_statement statements[DB_SESSION_MAX_STATEMENTS];
    int count;
    unsigned next_id; /* statement names: s0, s1, ... never reused */
    enum db_scope scope;
    bool begun;
    bool commit_next; /* the next statement goes with COMMIT (db_scope_commit_next) */
    char setting[64], value[64];
};

static int db_session_event(PGEventId id, void *info, void *passthrough)
{
    struct db_session *s = NULL;
    if (id == PGEVT_CONNDESTROY)
        s = PQinstanceData(((PGEventConnDestroy *)info)->conn, db_session_event);
    else if (id == PGEVT_CONNRESET) /* a reset connection has no prepared statements */
        s = PQinstanceData(((PGEventConnReset *)info)->conn, db_session_event);
    if (s) {
        for (int i = 0; i < s->count; i++)
            free(s->statements[i].sql);
        s->count = 0;
        s->scope = DB_SCOPE_NONE;
        s->begun = false;
        s->commit_next = false;
        if (id == PGEVT_CONNDESTROY)
            free(s);
    }
    return 1;
}

int db_session_enable(PGconn *conn)
{
    if (PQinstanceData(conn, db_session_event))
        return 0;
    struct db_session *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    if (!PQregisterEventProc(conn, db_session_event, "sluice_db_session", NULL) ||
        !PQsetInstanceData(conn, db_session_event, s)) {
        free(s);
        return -1;
    }
    return 0;
}

static uint64_t db_hash(const char *text)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

/* Transaction control goes unnamed: nothing to plan, and it must not outlive a failed prepare. */
static bool db_is_transaction_control(const char *sql)
{
    return strncasecmp(sql, "BEGIN", 5) == 0 || strncasecmp(sql, "COMMIT", 6) == 0 ||
           strncasecmp(sql, "ROLLBACK", 8) == 0;
}

/* The prepared statement of sql, or NULL when it is not prepared yet. */
static struct db_statement *db_statement_find(struct db_session *s, const char *sql, uint64_t hash)
{
    for (int i = 0; i < s->count; i++)
        if (s->statements[i].hash == hash && strcmp(s->statements[i].sql, sql) == 0)
            return &s->statements[i];
    return NULL;
}

/* One statement of a pipeline: its text and parameters, and how it is sent. */
struct db_item {
    const char *sql;
    int nparams;
    const char *const *params;
    struct db_statement *prepared;  /* already prepared on the server */
    struct db_statement *preparing; /* to prepare in this pipeline (recorded if that works) */
};

/* Decides how it is sent: prepared already, to prepare now into statements[slot] (when that
 * is below the cap), or unnamed. */
static void db_item_plan(struct db_session *s, struct db_item *it, int slot)
{
    it->prepared = it->preparing = NULL;
    if (db_is_transaction_control(it->sql))
        return;
    uint64_t hash = db_hash(it->sql);
    it->prepared = db_statement_find(s, it->sql, hash);
    if (it->prepared || slot >= DB_SESSION_MAX_STATEMENTS)
        return;
    char *copy = strdup(it->sql);
    if (!copy)
        return;
    struct db_statement *st = &s->statements[slot];
    st->hash = hash;
    st->sql = copy;
    snprintf(st->name, sizeof st->name, "s%u", s->next_id++);
    it->preparing = st;
}

static int db_item_send(PGconn *conn, struct db_item *it)
{
    if (it->preparing && !PQsendPrepare(conn, it->preparing->name, it->sql, it->nparams, NULL))
        return -1;
    struct db_statement *st = it->prepared ? it->prepared : it->preparing;
    if (st)
        return PQsendQueryPrepared(conn, st->name, it->nparams, it->params, NULL, NULL, 0) ? 0 : -1;
    return PQsendQueryParams(conn, it->sql, it->nparams, NULL, it->params, NULL, NULL, 0) ? 0 : -1;
}

static bool db_result_ok(const PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

/* Reads one pipeline slot (results up to the NULL that ends it): keeps the last result in
 * *last (when last is non-NULL), and the first failure in *failed. */
static void db_read_slot(PGconn *conn, PGresult **last, PGresult **failed)
{
    PGresult *r;
    while ((r = PQgetResult(conn)) != NULL) {
        if (!db_result_ok(r) && PQresultStatus(r) != PGRES_PIPELINE_ABORTED && !*failed) {
            *failed = r;
        } else if (last) {
            PQclear(*last);
            *last = r;
        } else {
            PQclear(r);
        }
    }
}

/* Sends items[0..n) in one round trip (pipeline mode, one Sync) and returns the result of
 * items[want], or NULL with *err filled from the first failure. Statements prepared on the way
 * are recorded in s. */
static PGresult *db_pipeline(PGconn *conn, struct db_session *s, struct db_item *items, int n, int want,
                             struct db_error *err)
{
    int slot = s->count;
    for (int i = 0; i < n; i++) {
        db_item_plan(s, &items[i], slot);
        for (int j = 0; j < i && items[i].preparing; j++) /* the same new text twice: prepare once */
            if (items[j].preparing && strcmp(items[j].sql, items[i].sql) == 0) {
                free(items[i].preparing->sql);
                s->next_id--;
                items[i].preparing = NULL;
                items[i].prepared = items[j].preparing;
            }
        if (items[i].preparing)
            slot++;
    }
    bool sent = PQenterPipelineMode(conn) == 1;
    for (int i = 0; i < n && sent; i++)
        sent = db_item_send(conn, &items[i]) == 0;
    sent = sent && PQpipelineSync(conn) == 1;
    if (!sent) {
        db_fill_error(conn, NULL, err);
        PQexitPipelineMode(conn);
        for (int i = 0; i < n; i++)
            if (items[i].preparing)
                free(items[i].preparing->sql);
        return NULL;
    }
    PGresult *failed = NULL, *last = NULL;
    for (int i = 0; i < n; i++) {
        if (items[i].preparing) {
            PGresult *prepared = NULL;
            db_read_slot(conn, &prepared, &failed);
            if (PQresultStatus(prepared) == PGRES_COMMAND_OK) { /* it exists on the server now */
                if (items[i].preparing != &s->statements[s->count])
                    s->statements[s->count] = *items[i].preparing;
                s->count++;
            } else {
                free(items[i].preparing->sql);
            }
            PQclear(prepared);
        }
        db_read_slot(conn, i == want ? &last : NULL, &failed);
    }
    PGresult *sync = PQgetResult(conn); /* PGRES_PIPELINE_SYNC */
    PQclear(sync);
    if (PQexitPipelineMode(conn) != 1 && PQstatus(conn) == CONNECTION_OK) {
        PGresult *r; /* results left over: drain them so the connection is usable again */
        while ((r = PQgetResult(conn)) != NULL)
            PQclear(r);
        PQexitPipelineMode(conn);
    }
    if (failed || !last || !db_result_ok(last)) {
        db_fill_error(conn, failed ? failed : last, err);
        if (!err->message[0])
            snprintf(err->message, sizeof err->message, "statement aborted");
        PQclear(failed);
        PQclear(last);
        return NULL;
    }
    return last;
}

static const char db_scope_sql[] = "SELECT set_config($1, $2, true)";

int db_scope(PGconn *conn, enum db_scope scope, const char *setting, const char *value, struct db_error *err)
{
    struct db_session *s = PQinstanceData(conn, db_session_event);
    if (s) {
        s->scope = scope;
        s->begun = false;
        s->commit_next = false;
        snprintf(s->setting, sizeof s->setting, "%s", setting ? setting : "");
        snprintf(s->value, sizeof s->value, "%s", value ? value : "");
        return 0;
    }
    if (scope == DB_SCOPE_NONE)
        return 0;
    const char *params[] = {setting, value};
    if (db_exec(conn, "BEGIN", 0, NULL, err) < 0)
        return -1;
    return db_exec(conn, db_scope_sql, 2, params, err);
}

bool db_scope_begun(PGconn *conn)
{
    struct db_session *s = PQinstanceData(conn, db_session_event);
    return s ? s->begun : PQtransactionStatus(conn) != PQTRANS_IDLE;
}

void db_scope_commit_next(PGconn *conn)
{
    struct db_session *s = PQinstanceData(conn, db_session_event);
    if (s && s->scope == DB_SCOPE_TRANSACTION)
        s->commit_next = true;
}

/* The items of sql in the session's scope into items[4]: BEGIN and the set_config before it
 * and COMMIT after it, as the scope asks. Returns their count; *want is sql's index. */
static int db_session_items(struct db_session *s, const char *sql, int nparams, const char *const *params,
                            const char *const *scope_params, struct db_item *items, int *want)
{
    int n = 0;
    bool commit = s->commit_next && s->scope == DB_SCOPE_TRANSACTION;
    s->commit_next = false;
    if (s->scope == DB_SCOPE_TRANSACTION && !s->begun)
        items[n++] = (struct db_item){"BEGIN", 0, NULL, NULL, NULL};
    if (s->scope == DB_SCOPE_STATEMENT || (s->scope == DB_SCOPE_TRANSACTION && !s->begun))
        items[n++] = (struct db_item){db_scope_sql, 2, scope_params, NULL, NULL};
    *want = n;
    items[n++] = (struct db_item){sql, nparams, params, NULL, NULL};
    if (commit)
        items[n++] = (struct db_item){"COMMIT", 0, NULL, NULL, NULL};
    if (s->scope == DB_SCOPE_TRANSACTION)
        s->begun = true; /* even when it failed: the caller rolls back */
    return n;
}

PGresult *db_query(PGconn *conn, const char *sql, int nparams, const char *const *params, struct db_error *err)
{
    struct db_session *s = PQinstanceData(conn, db_session_event);
    if (s) {
        const char *scope_params[] = {s->setting, s->value};
        struct db_item items[4];
        int want, n = db_session_items(s, sql, nparams, params, scope_params, items, &want);
        bool commit = want < n - 1;
        struct db_statement *st = db_is_transaction_control(sql) ? NULL : db_statement_find(s, sql, db_hash(sql));
        if (n > 1 || (!st && !db_is_transaction_control(sql))) { /* with a prelude or COMMIT, or to prepare */
            PGresult *res = db_pipeline(conn, s, items, n, want, err);
            if (commit) /* over when it committed; left open (failed) for the caller's ROLLBACK if not */
                s->begun = PQtransactionStatus(conn) != PQTRANS_IDLE;
            return res;
        }
        if (st) {
            PGresult *res = PQexecPrepared(conn, st->name, nparams, params, NULL, NULL, 0);
            if (db_result_ok(res))
                return res;
            db_fill_error(conn, res, err);
            PQclear(res);
            return NULL;
        }
    }
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

PGresult *db_query_or_err(PGconn *conn, const char *sql, int nparams, const char *const *params, char *err,
                          size_t errsz)
{
    struct db_error dberr;
    PGresult *res = db_query(conn, sql, nparams, params, &dberr);
    if (!res && errsz > 0)
        snprintf(err, errsz, "%s", dberr.message);
    return res;
}
