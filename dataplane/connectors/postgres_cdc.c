/* postgres_cdc.c — the postgres-cdc source (see postgres_cdc.h): options and connections, the
 * setup (wal_level, tables and their keys, publication, slot), the initial snapshot, streaming
 * pgoutput's changes, and standby status updates that confirm what checkpoints hold. */
#include "dataplane/connectors/postgres_cdc.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "dataplane/connectors/broker_common.h"
#include "dataplane/connectors/pg_conn.h"
#include "dataplane/connectors/pgoutput.h"

#define CDC_MIN_LSN (1ULL << 24) /* where a cluster's WAL starts (0/1000000) */
#define CDC_MAX_LSN (1ULL << 44)
#define CDC_MAX_INDEX (1ULL << 25)
#define CDC_BACKOFF_MIN_MS 250
#define CDC_BACKOFF_MAX_MS 4000
#define CDC_GIVE_UP_MS 120000
#define CDC_STATUS_MS 10000 /* a standby status update at least this often */
#define CDC_FETCH "FETCH 1000 FROM sluice_snapshot"
#define CDC_MAX_TABLES 64
#define CDC_EPOCH_2000_MS 946684800000LL /* PostgreSQL's epoch in Unix milliseconds */

/* ---------------------------------------------------------------- offsets and LSNs */

int postgres_cdc_offset(uint64_t lsn, uint64_t index, uint64_t *offset)
{
    if (lsn < CDC_MIN_LSN || lsn >= CDC_MAX_LSN || index >= CDC_MAX_INDEX)
        return -1;
    *offset = (lsn << POSTGRES_CDC_LSN_SHIFT) + index;
    return 0;
}

void postgres_cdc_lsn_text(uint64_t lsn, char *out, size_t outlen)
{
    snprintf(out, outlen, "%" PRIX64 "/%" PRIX64, lsn >> 32, lsn & 0xffffffffu);
}

int postgres_cdc_lsn_parse(const char *text, uint64_t *lsn)
{
    unsigned int hi, lo;
    int used = 0;
    if (!text || sscanf(text, "%X/%X%n", &hi, &lo, &used) != 2 || text[used] != '\0')
        return -1;
    *lsn = (uint64_t)hi << 32 | lo;
    return 0;
}

/* ---------------------------------------------------------------- options */

struct cdc_settings {
    char *url, *password, *table, *slot, *publication;
    bool snapshot;
    int timeout_ms;
};

#define CF(member) OPTION_FIELD(struct cdc_settings, member)
static const struct option_row cdc_options[] = {
    {.name = "connector", .type = OPTION_STRING, .flags = OPTION_HIDDEN},
    {.name = "url",
     .type = OPTION_STRING,
     .flags = OPTION_REQUIRED,
     .help = "a libpq URI, postgresql://user@host:port/db (a user with REPLICATION)",
     CF(url)},
    {.name = "password", .type = OPTION_STRING, .help = "the password (normally a secret ref)", CF(password)},
    {.name = "table",
     .type = OPTION_STRING,
     .flags = OPTION_REQUIRED,
     .help = "the table, or a comma-separated list (each with a primary key)",
     CF(table)},
    {.name = "slot.name",
     .type = OPTION_STRING,
     .def = "sluice",
     .help = "the replication slot (lower-case letters, digits, _), one per connection",
     CF(slot)},
    {.name = "publication.name",
     .type = OPTION_STRING,
     .def = "sluice",
     .help = "the publication, created for the tables when missing",
     CF(publication)},
    {.name = "snapshot",
     .type = OPTION_BOOL,
     .def = "true",
     .help = "read the tables' rows first (false: changes only)",
     CF(snapshot)},
    BROKER_TIMEOUT_OPTION(struct cdc_settings, timeout_ms),
};
static const struct option_table cdc_option_table = OPTION_TABLE("postgres-cdc", cdc_options);

/* Whether s is a plain identifier (letters, digits, _; not starting with a digit); lower_only:
 * lower-case letters only (slot names). */
static bool cdc_identifier(const char *s, size_t len, bool lower_only)
{
    if (len == 0 || len > 63 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || (!lower_only && c >= 'A' && c <= 'Z');
        if (!ok)
            return false;
    }
    return true;
}

static int cdc_table_names(const char *list, char **names, int max, char *err, size_t errlen);

static int cdc_settings_load(struct cdc_settings *s, const struct stream_property *props, int nprops, char *err,
                             size_t errlen)
{
    if (stream_options_check(&cdc_option_table, props, nprops, err, errlen) != 0 ||
        stream_options_apply(&cdc_option_table, props, nprops, s, err, errlen) != 0)
        goto fail;
    if (strncmp(s->url, "postgresql://", 13) != 0 && strncmp(s->url, "postgres://", 11) != 0) {
        snprintf(err, errlen, "postgres-cdc option \"url\" must be a postgresql:// URI");
        goto fail;
    }
    if (!cdc_identifier(s->slot, strlen(s->slot), true)) {
        snprintf(err, errlen, "postgres-cdc option \"slot.name\" must be lower-case letters, digits and _, not \"%s\"",
                 s->slot);
        goto fail;
    }
    if (!cdc_identifier(s->publication, strlen(s->publication), false)) {
        snprintf(err, errlen, "postgres-cdc option \"publication.name\" must be letters, digits and _, not \"%s\"",
                 s->publication);
        goto fail;
    }
    char *names[CDC_MAX_TABLES];
    int n = cdc_table_names(s->table, names, CDC_MAX_TABLES, err, errlen);
    if (n < 0)
        goto fail;
    while (n > 0)
        free(names[--n]);
    return 0;
fail:
    option_table_free(&cdc_option_table, s);
    return -1;
}

/* ---------------------------------------------------------------- tables */

struct cdc_table {
    char *nspname, *relname;
    char *pk[PGOUTPUT_MAX_KEY];
    int npk;
};

/* Splits s->table at commas into names[] (malloc'd, blanks trimmed), each checked to be
 * [schema.]table of plain identifiers. Returns the count, or -1 with err. */
static int cdc_table_names(const char *list, char **names, int max, char *err, size_t errlen)
{
    int n = 0;
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        const char *dot = memchr(p, '.', len);
        bool ok = dot ? cdc_identifier(p, (size_t)(dot - p), false) &&
                            cdc_identifier(dot + 1, len - (size_t)(dot - p) - 1, false)
                      : cdc_identifier(p, len, false);
        if (n == max) {
            snprintf(err, errlen, "postgres-cdc option \"table\" names more than %d tables", max);
            goto fail;
        }
        if (!ok) {
            snprintf(err, errlen, "postgres-cdc option \"table\": \"%.*s\" is not a table name ([schema.]table)",
                     (int)len, p);
            goto fail;
        }
        if (!(names[n++] = strndup(p, len))) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        p = end ? end + 1 : p + len;
    }
    return n;
fail:
    while (n > 0)
        free(names[--n]);
    return -1;
}

static void cdc_tables_free(struct cdc_table *t, int n)
{
    for (int i = 0; t && i < n; i++) {
        free(t[i].nspname);
        free(t[i].relname);
        for (int k = 0; k < t[i].npk; k++)
            free(t[i].pk[k]);
    }
    free(t);
}

/* ---------------------------------------------------------------- connections */

/* A connection to the url of s (a walsender of the database when replication): in UTC, ISO
 * dates and floats that read back the same. NULL with err. */
static PGconn *cdc_connect(const struct cdc_settings *s, bool replication, char *err, size_t errlen)
{
    const struct pg_conn_params p = {
        .url = s->url,
        .password = s->password,
        .connect_timeout_s = (s->timeout_ms + 999) / 1000,
        .application_name = "sluice-postgres-cdc",
        .application_fallback = true,
        .options = "-c timezone=UTC -c datestyle=ISO -c extra_float_digits=3",
        .replication = replication ? "database" : "false",
        .what = "postgres-cdc",
    };
    return pg_conn_open(&p, err, errlen);
}

/* sql with params on c: its result when its status is want, else NULL with err ("what" says
 * what it was for). */
static PGresult *cdc_exec(PGconn *c, const char *sql, int nparams, const char *const *params, ExecStatusType want,
                          const char *what, char *err, size_t errlen)
{
    return pg_conn_exec(c, sql, nparams, params, want, err, errlen, "postgres-cdc: cannot %s", what);
}

/* sql on c, whose result is not needed: 0, or -1 with err. */
static int cdc_command(PGconn *c, const char *sql, ExecStatusType want, const char *what, char *err, size_t errlen)
{
    return pg_conn_command(c, sql, want, err, errlen, "postgres-cdc: cannot %s", what);
}

/* ---------------------------------------------------------------- readers */

enum cdc_phase { CDC_SNAPSHOT, CDC_STREAM };

/* A transaction handed out in full: its commit LSN, and the reader's next offset after it. */
struct cdc_tx {
    uint64_t lsn, after;
};

struct cdc_reader {
    struct cdc_settings s;
    struct cdc_table *tables;
    int ntables;
    PGconn *q; /* SQL: setup and the snapshot; closed once the snapshot is read */
    PGconn *r; /* the replication connection; NULL while disconnected */
    enum cdc_phase phase;
    uint64_t next;  /* the offset of the next record to hand out; changes below are skipped */
    uint64_t start; /* where a fresh reader starts (start_offset) */
    /* snapshot: the table being read, its open cursor's last FETCH and the row in it */
    int snap_table;
    bool cursor_open;
    PGresult *snap_res;
    int snap_row;
    uint64_t snap_left; /* rows of the snapshot not yet handed out (counted in its transaction) */
    /* streaming */
    struct pgoutput_decoder *decoder;
    bool in_tx;
    uint64_t tx_lsn, tx_index;
    struct cdc_tx *txs; /* handed out, not yet confirmed, oldest first */
    size_t ntxs, captxs;
    uint64_t confirmed; /* the LSN reported as flushed (the slot's confirmed_flush_lsn) */
    uint64_t acked;     /* the offset the last durable checkpoint names (acknowledge) */
    int64_t last_status;
    int64_t down_since, next_attempt, backoff; /* ms */
    char down_error[512];
    /* the records of the last read: their JSON back to back, and where each starts */
    struct json_buf batch;
    size_t *starts;
    int capstarts;
};

static void cdc_close_reader(void *reader)
{
    struct cdc_reader *kr = reader;
    if (!kr)
        return;
    PQclear(kr->snap_res);
    PQfinish(kr->q);
    PQfinish(kr->r);
    pgoutput_decoder_free(kr->decoder);
    cdc_tables_free(kr->tables, kr->ntables);
    free(kr->txs);
    json_buf_free(&kr->batch);
    free(kr->starts);
    option_table_free(&cdc_option_table, &kr->s);
    free(kr);
}

/* ---------------------------------------------------------------- setup */

static int cdc_check_wal_level(struct cdc_reader *kr, char *err, size_t errlen)
{
    PGresult *res = cdc_exec(kr->q, "SHOW wal_level", 0, NULL, PGRES_TUPLES_OK, "read wal_level", err, errlen);
    if (!res)
        return -1;
    int rc = 0;
    if (strcmp(PQgetvalue(res, 0, 0), "logical") != 0) {
        snprintf(err, errlen,
                 "postgres-cdc: the server at %s:%s has wal_level = %s; logical replication needs wal_level = "
                 "logical (ALTER SYSTEM SET wal_level = logical, then restart the server)",
                 PQhost(kr->q), PQport(kr->q), PQgetvalue(res, 0, 0));
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/* The table called name: its schema, name and primary key, into t. 0, or -1 with err. */
static int cdc_table_load(struct cdc_reader *kr, const char *name, struct cdc_table *t, char *err, size_t errlen)
{
    const char *params[] = {name};
    PGresult *res = cdc_exec(kr->q,
                             "SELECT n.nspname, c.relname, a.attname FROM pg_class c"
                             "  JOIN pg_namespace n ON n.oid = c.relnamespace"
                             "  LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary"
                             "  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey)"
                             " WHERE c.oid = to_regclass($1)"
                             " ORDER BY array_position(i.indkey::int2[], a.attnum)",
                             1, params, PGRES_TUPLES_OK, "look the table up", err, errlen);
    if (!res)
        return -1;
    int rc = -1;
    if (PQntuples(res) == 0)
        snprintf(err, errlen, "postgres-cdc: table \"%s\" does not exist in database \"%s\"", name, PQdb(kr->q));
    else if (PQgetisnull(res, 0, 2) || PQntuples(res) > PGOUTPUT_MAX_KEY)
        snprintf(err, errlen,
                 "postgres-cdc: table \"%s\" has no primary key (of at most %d columns): its changes go into an "
                 "upsert stream keyed by it",
                 name, PGOUTPUT_MAX_KEY);
    else
        rc = 0;
    if (PQntuples(res) > 0) {
        t->nspname = strdup(PQgetvalue(res, 0, 0));
        t->relname = strdup(PQgetvalue(res, 0, 1));
    }
    bool oom = false;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++)
        oom |= !(t->pk[t->npk++] = strdup(PQgetvalue(res, i, 2)));
    PQclear(res);
    if (rc == 0 && (oom || !t->nspname || !t->relname)) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    return rc;
}

static int cdc_tables_load(struct cdc_reader *kr, char *err, size_t errlen)
{
    char *names[CDC_MAX_TABLES];
    int n = cdc_table_names(kr->s.table, names, CDC_MAX_TABLES, err, errlen);
    if (n < 0)
        return -1;
    int rc = (kr->tables = calloc((size_t)n, sizeof *kr->tables)) ? 0 : -1;
    if (rc != 0)
        snprintf(err, errlen, "out of memory");
    for (int i = 0; i < n && rc == 0; i++, kr->ntables++)
        rc = cdc_table_load(kr, names[i], &kr->tables[i], err, errlen);
    for (int i = 0; i < n; i++)
        free(names[i]);
    return rc;
}

/* Appends text to b, kept NUL-terminated. -1 on out of memory. */
static int cdc_put_text(struct json_buf *b, const char *text)
{
    size_t n = strlen(text);
    if (json_buf_reserve(b, n + 1) != 0)
        return -1;
    memcpy(b->data + b->len, text, n + 1);
    b->len += n;
    return 0;
}

/* Appends "schema"."table" of t to b. */
static int cdc_put_table(struct json_buf *b, const struct cdc_table *t)
{
    int rc = json_buf_reserve(b, strlen(t->nspname) * 2 + strlen(t->relname) * 2 + 8);
    if (rc == 0) {
        const char *parts[] = {t->nspname, t->relname};
        for (int k = 0; k < 2; k++) {
            if (k)
                b->data[b->len++] = '.';
            b->data[b->len++] = '"';
            for (const char *p = parts[k]; *p; p++) {
                if (*p == '"')
                    b->data[b->len++] = '"';
                b->data[b->len++] = *p;
            }
            b->data[b->len++] = '"';
        }
        b->data[b->len] = '\0';
    }
    return rc;
}

/* The publication exists (created FOR TABLE the tables when missing). */
static int cdc_publication_ensure(struct cdc_reader *kr, char *err, size_t errlen)
{
    const char *params[] = {kr->s.publication};
    PGresult *res = cdc_exec(kr->q, "SELECT 1 FROM pg_publication WHERE pubname = $1", 1, params, PGRES_TUPLES_OK,
                             "look the publication up", err, errlen);
    if (!res)
        return -1;
    bool exists = PQntuples(res) > 0;
    PQclear(res);
    if (exists)
        return 0;
    struct json_buf sql = {0};
    int rc = json_buf_reserve(&sql, 128);
    if (rc == 0)
        sql.len = (size_t)snprintf(sql.data, 128, "CREATE PUBLICATION \"%s\" FOR TABLE ", kr->s.publication);
    for (int i = 0; i < kr->ntables && rc == 0; i++)
        rc = (i ? cdc_put_text(&sql, ", ") : 0) || cdc_put_table(&sql, &kr->tables[i]);
    if (rc != 0 || cdc_put_text(&sql, " WITH (publish = 'insert, update, delete')") != 0) {
        json_buf_free(&sql);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = cdc_command(kr->q, sql.data, PGRES_COMMAND_OK, "create the publication", err, errlen);
    json_buf_free(&sql);
    return rc;
}

/* ---------------------------------------------------------------- the slot and the snapshot */

/* Whether the slot exists (*exists) and its confirmed_flush_lsn (*lsn). 0, or -1 with err. */
static int cdc_slot_state(struct cdc_reader *kr, bool *exists, uint64_t *lsn, char *err, size_t errlen)
{
    const char *params[] = {kr->s.slot};
    PGresult *res = cdc_exec(kr->q,
                             "SELECT coalesce(confirmed_flush_lsn, '0/0')::text, plugin, database = current_database()"
                             "  FROM pg_replication_slots WHERE slot_name = $1",
                             1, params, PGRES_TUPLES_OK, "look the replication slot up", err, errlen);
    if (!res)
        return -1;
    int rc = 0;
    *exists = PQntuples(res) > 0;
    if (*exists && (strcmp(PQgetvalue(res, 0, 1), "pgoutput") != 0 || strcmp(PQgetvalue(res, 0, 2), "t") != 0)) {
        snprintf(err, errlen,
                 "postgres-cdc: replication slot \"%s\" exists for another plugin (%s) or database: choose another "
                 "\"slot.name\"",
                 kr->s.slot, PQgetvalue(res, 0, 1));
        rc = -1;
    } else if (*exists && postgres_cdc_lsn_parse(PQgetvalue(res, 0, 0), lsn) != 0) {
        snprintf(err, errlen, "postgres-cdc: replication slot \"%s\" has an unreadable LSN \"%s\"", kr->s.slot,
                 PQgetvalue(res, 0, 0));
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/* Drops the slot, waiting up to 10 s for a previous reader's walsender to let it go. */
static int cdc_slot_drop(struct cdc_reader *kr, char *err, size_t errlen)
{
    const char *params[] = {kr->s.slot};
    for (int attempt = 0;; attempt++) {
        PGresult *res = cdc_exec(kr->q, "SELECT pg_drop_replication_slot($1)", 1, params, PGRES_TUPLES_OK,
                                 "drop the replication slot", err, errlen);
        PQclear(res);
        if (res || attempt >= 50 || !strstr(err, "is active"))
            return res ? 0 : -1;
        usleep(200 * 1000);
    }
}

/* The rows of the tables in the current transaction's snapshot: *count, or -1 with err. */
static int cdc_snapshot_count(struct cdc_reader *kr, uint64_t *count, char *err, size_t errlen)
{
    *count = 0;
    for (int i = 0; i < kr->ntables; i++) {
        struct json_buf sql = {0};
        if (cdc_put_text(&sql, "SELECT count(*) FROM ") != 0 || cdc_put_table(&sql, &kr->tables[i]) != 0) {
            json_buf_free(&sql);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        PGresult *res = cdc_exec(kr->q, sql.data, 0, NULL, PGRES_TUPLES_OK, "count the table's rows", err, errlen);
        json_buf_free(&sql);
        if (!res)
            return -1;
        *count += strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
    }
    return 0;
}

/* Creates the slot, exporting its snapshot, and opens a transaction in that snapshot on q;
 * *lsn is the slot's consistent point. 0, or -1 with err. */
static int cdc_slot_create(struct cdc_reader *kr, uint64_t *lsn, char *err, size_t errlen)
{
    char sql[160];
    snprintf(sql, sizeof sql, "CREATE_REPLICATION_SLOT \"%s\" LOGICAL pgoutput EXPORT_SNAPSHOT", kr->s.slot);
    PGresult *res = cdc_exec(kr->r, sql, 0, NULL, PGRES_TUPLES_OK, "create the replication slot", err, errlen);
    if (!res)
        return -1;
    int rc = postgres_cdc_lsn_parse(PQgetvalue(res, 0, 1), lsn);
    if (rc != 0)
        snprintf(err, errlen, "postgres-cdc: the new slot's consistent point \"%s\" is not an LSN",
                 PQgetvalue(res, 0, 1));
    snprintf(sql, sizeof sql, "SET TRANSACTION SNAPSHOT '%s'", PQgetvalue(res, 0, 2));
    PQclear(res);
    if (rc != 0 ||
        cdc_command(kr->q, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", PGRES_COMMAND_OK, "begin the snapshot",
                    err, errlen) != 0 ||
        cdc_command(kr->q, sql, PGRES_COMMAND_OK, "use the slot's snapshot", err, errlen) != 0)
        return -1;
    return 0;
}

/* The snapshot is read (or not wanted): the changes follow, from the replication connection. */
static int cdc_snapshot_done(struct cdc_reader *kr, char *err, size_t errlen)
{
    PQclear(kr->snap_res);
    kr->snap_res = NULL;
    int rc = cdc_command(kr->q, "COMMIT", PGRES_COMMAND_OK, "end the snapshot", err, errlen);
    PQfinish(kr->q);
    kr->q = NULL;
    PQfinish(kr->r); /* it made the slot; streaming starts on a connection of its own, in read */
    kr->r = NULL;
    kr->phase = CDC_STREAM;
    return rc;
}

/* A new slot and its snapshot, whose rows take the offsets from offset on (1 for a fresh reader;
 * after the rows an earlier snapshot gave, for one restored from a checkpoint taken in the
 * middle of it), but the last, which takes POSTGRES_CDC_SNAPSHOT_DONE. */
static int cdc_snapshot_begin(struct cdc_reader *kr, bool exists, uint64_t offset, char *err, size_t errlen)
{
    uint64_t lsn, rows = 0;
    if ((exists && cdc_slot_drop(kr, err, errlen) != 0) || cdc_slot_create(kr, &lsn, err, errlen) != 0 ||
        (kr->s.snapshot && cdc_snapshot_count(kr, &rows, err, errlen) != 0))
        return -1;
    uint64_t from = offset ? offset : 1;
    if (from + rows >= POSTGRES_CDC_SNAPSHOT_DONE) {
        snprintf(err, errlen, "postgres-cdc: a snapshot of %" PRIu64 " rows is more than this source can number", rows);
        return -1;
    }
    kr->confirmed = lsn;
    kr->snap_left = rows;
    kr->next = kr->start = rows ? from : POSTGRES_CDC_SNAPSHOT_DONE + 1;
    kr->phase = CDC_SNAPSHOT;
    return rows == 0 ? cdc_snapshot_done(kr, err, errlen) : 0;
}

/* Where the reader starts: streaming from the slot when the checkpoint's offset is past the
 * snapshot, else a new snapshot. */
static int cdc_position(struct cdc_reader *kr, uint64_t offset, char *err, size_t errlen)
{
    bool exists = false;
    uint64_t lsn = 0;
    if (cdc_slot_state(kr, &exists, &lsn, err, errlen) != 0)
        return -1;
    if (offset <= POSTGRES_CDC_SNAPSHOT_DONE)
        return cdc_snapshot_begin(kr, exists, offset, err, errlen);
    if (!exists) {
        snprintf(err, errlen,
                 "postgres-cdc: replication slot \"%s\" is gone, with the changes since the last checkpoint: "
                 "start this source afresh (a new connection, or without its checkpoint) to take a new snapshot",
                 kr->s.slot);
        return -1;
    }
    kr->confirmed = lsn;
    kr->start = kr->next = kr->acked = offset;
    kr->phase = CDC_STREAM;
    PQfinish(kr->q);
    kr->q = NULL;
    PQfinish(kr->r); /* streaming starts in read, and reconnects there */
    kr->r = NULL;
    return 0;
}

static int cdc_open_reader(const char *location, int partition, uint64_t offset, const struct stream_property *props,
                           int nprops, void **reader, char *err, size_t errlen)
{
    struct cdc_reader *kr = calloc(1, sizeof *kr);
    if (!kr || !(kr->decoder = pgoutput_decoder_new())) {
        free(kr);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (cdc_settings_load(&kr->s, props, nprops, err, errlen) != 0) {
        pgoutput_decoder_free(kr->decoder);
        free(kr);
        return -1;
    }
    if (!(kr->q = cdc_connect(&kr->s, false, err, errlen)) || cdc_check_wal_level(kr, err, errlen) != 0 ||
        cdc_tables_load(kr, err, errlen) != 0 || cdc_publication_ensure(kr, err, errlen) != 0 ||
        !(kr->r = cdc_connect(&kr->s, true, err, errlen)) || cdc_position(kr, offset, err, errlen) != 0) {
        cdc_close_reader(kr);
        return -1;
    }
    *reader = kr;
    return 0;
}

static int cdc_start_offset(void *reader, uint64_t *offset, char *err, size_t errlen)
{
    struct cdc_reader *kr = reader;
    *offset = kr->next = kr->start;
    return 0;
}

/* ---------------------------------------------------------------- records of a read */

/* The batch is empty, with room for where max records start. 0, or -1 with err. */
static int cdc_batch_begin(struct cdc_reader *kr, int max, char *err, size_t errlen)
{
    kr->batch.len = 0;
    if (max > kr->capstarts) {
        size_t *s = realloc(kr->starts, (size_t)max * sizeof *s);
        if (!s) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        kr->starts = s;
        kr->capstarts = max;
    }
    return 0;
}

/* Record *n (its JSON appended to the batch next) at offset, of kind. */
static void cdc_record(struct cdc_reader *kr, struct stream_record *recs, int *n, uint64_t offset, enum row_kind kind)
{
    kr->starts[*n] = kr->batch.len;
    recs[*n] = (struct stream_record){.offset = offset, .kind = kind};
    kr->next = offset + 1;
    (*n)++;
}

/* The records' data, now that the batch no longer moves. */
static void cdc_batch_finish(struct cdc_reader *kr, struct stream_record *recs, int n)
{
    for (int i = 0; i < n; i++) {
        recs[i].data = kr->batch.data + kr->starts[i];
        recs[i].len = (uint32_t)((i + 1 < n ? kr->starts[i + 1] : kr->batch.len) - kr->starts[i]);
    }
}

/* ---------------------------------------------------------------- reading the snapshot */

/* Row row of res as a JSON object of its columns. -1 on out of memory. */
static int cdc_row_json(const PGresult *res, int row, struct json_buf *out)
{
    int rc = cdc_put_text(out, "{");
    for (int c = 0; c < PQnfields(res) && rc == 0; c++) {
        const char *name = PQfname(res, c);
        rc = (c ? cdc_put_text(out, ",") : 0) || json_buf_put_string_lossy(out, name, strlen(name)) ||
             cdc_put_text(out, ":");
        if (rc == 0)
            rc = PQgetisnull(res, row, c) ? cdc_put_text(out, "null")
                                          : pgoutput_value_json(PQftype(res, c), PQgetvalue(res, row, c),
                                                                (size_t)PQgetlength(res, row, c), out);
    }
    return rc || cdc_put_text(out, "}") ? -1 : 0;
}

/* The next rows of the snapshot into snap_res: through a cursor per table, in turn; past the
 * last table the snapshot is done. 0, or -1 with err. */
static int cdc_snapshot_fetch(struct cdc_reader *kr, char *err, size_t errlen)
{
    PQclear(kr->snap_res);
    kr->snap_res = NULL;
    kr->snap_row = 0;
    if (kr->snap_table == kr->ntables && kr->snap_left > 0) {
        snprintf(err, errlen, "postgres-cdc: the snapshot has fewer rows than it counted");
        return -1;
    }
    if (kr->snap_table == kr->ntables)
        return cdc_snapshot_done(kr, err, errlen);
    if (!kr->cursor_open) {
        struct json_buf sql = {0};
        int rc = cdc_put_text(&sql, "DECLARE sluice_snapshot NO SCROLL CURSOR FOR SELECT * FROM ") ||
                 cdc_put_table(&sql, &kr->tables[kr->snap_table]);
        rc = rc || cdc_command(kr->q, sql.data, PGRES_COMMAND_OK, "read the snapshot", err, errlen);
        json_buf_free(&sql);
        if (rc)
            return -1;
        kr->cursor_open = true;
    }
    if (!(kr->snap_res = cdc_exec(kr->q, CDC_FETCH, 0, NULL, PGRES_TUPLES_OK, "read the snapshot", err, errlen)))
        return -1;
    if (PQntuples(kr->snap_res) > 0)
        return 0;
    kr->cursor_open = false;
    kr->snap_table++;
    return cdc_command(kr->q, "CLOSE sluice_snapshot", PGRES_COMMAND_OK, "read the snapshot", err, errlen);
}

static int cdc_read_snapshot(struct cdc_reader *kr, struct stream_record *recs, int max, char *err, size_t errlen)
{
    int n = 0;
    while (n < max && kr->phase == CDC_SNAPSHOT) {
        if (!kr->snap_res || kr->snap_row >= PQntuples(kr->snap_res)) {
            if (cdc_snapshot_fetch(kr, err, errlen) != 0)
                return -1;
            continue;
        }
        if (kr->snap_left == 0) {
            snprintf(err, errlen, "postgres-cdc: the snapshot has more rows than it counted");
            return -1;
        }
        cdc_record(kr, recs, &n, --kr->snap_left ? kr->next : POSTGRES_CDC_SNAPSHOT_DONE, ROW_INSERT);
        if (cdc_row_json(kr->snap_res, kr->snap_row++, &kr->batch) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return n;
}

/* ---------------------------------------------------------------- streaming */

static void put_u64(char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (char)(v & 0xff);
}

static uint64_t get_u64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | (unsigned char)p[i];
    return v;
}

/* A standby status update: written, flushed and applied up to the confirmed LSN. A failure
 * shows at the next read. */
static void cdc_send_status(struct cdc_reader *kr)
{
    if (!kr->r)
        return;
    char msg[34];
    msg[0] = 'r';
    put_u64(msg + 1, kr->confirmed);
    put_u64(msg + 9, kr->confirmed);
    put_u64(msg + 17, kr->confirmed);
    put_u64(msg + 25, (uint64_t)((clock_wall_ms() - CDC_EPOCH_2000_MS) * 1000));
    msg[33] = 0;
    if (PQputCopyData(kr->r, msg, sizeof msg) == 1)
        PQflush(kr->r);
    kr->last_status = clock_mono_ms();
}

/* The connection is gone (why in e): streaming resumes from the slot after a backoff. */
static void cdc_lost(struct cdc_reader *kr, const char *e)
{
    if (kr->r) {
        char m[480];
        snprintf(kr->down_error, sizeof kr->down_error, "%s",
                 pg_conn_message(e ? e : PQerrorMessage(kr->r), m, sizeof m));
        PQfinish(kr->r);
    }
    kr->r = NULL;
    kr->in_tx = false;
    kr->ntxs = 0; /* they come again, and are confirmed at their commit then */
    kr->down_since = kr->next_attempt = clock_mono_ms();
    kr->backoff = CDC_BACKOFF_MIN_MS;
}

/* Connects and starts streaming from the slot's confirmed position. 0, or -1 with err. */
static int cdc_stream_start(struct cdc_reader *kr, char *err, size_t errlen)
{
    if (!(kr->r = cdc_connect(&kr->s, true, err, errlen)))
        return -1;
    char sql[300];
    snprintf(sql, sizeof sql,
             "START_REPLICATION SLOT \"%s\" LOGICAL 0/0 (proto_version '1', publication_names '\"%s\"')", kr->s.slot,
             kr->s.publication);
    PGresult *res = cdc_exec(kr->r, sql, 0, NULL, PGRES_COPY_BOTH, "start replication", err, errlen);
    PQclear(res);
    if (!res) {
        PQfinish(kr->r);
        kr->r = NULL;
        return -1;
    }
    kr->in_tx = false;
    kr->ntxs = 0;
    cdc_send_status(kr);
    return 0;
}

/* Reconnects once the backoff has passed: 0 (streaming or not yet), -1 with err past the time
 * to give up. */
static int cdc_stream_retry(struct cdc_reader *kr, char *err, size_t errlen)
{
    int64_t now = clock_mono_ms();
    if (kr->down_since == 0)
        kr->down_since = kr->next_attempt = now;
    if (now < kr->next_attempt)
        return 0;
    char e[512];
    if (cdc_stream_start(kr, e, sizeof e) == 0) {
        kr->down_since = 0;
        return 0;
    }
    snprintf(kr->down_error, sizeof kr->down_error, "%s", e);
    kr->backoff = kr->backoff ? kr->backoff * 2 : CDC_BACKOFF_MIN_MS;
    if (kr->backoff > CDC_BACKOFF_MAX_MS)
        kr->backoff = CDC_BACKOFF_MAX_MS;
    kr->next_attempt = now + kr->backoff;
    if (now - kr->down_since < CDC_GIVE_UP_MS)
        return 0;
    snprintf(err, errlen, "%s (not regained in %d s)", kr->down_error, CDC_GIVE_UP_MS / 1000);
    return -1;
}

/* The primary key's columns of a relation just described, by name. */
static void cdc_relation_keys(struct cdc_reader *kr, struct pgoutput_relation *rel)
{
    rel->npk = 0;
    for (int t = 0; t < kr->ntables; t++) {
        const struct cdc_table *tab = &kr->tables[t];
        if (strcmp(tab->nspname, rel->nspname) != 0 || strcmp(tab->relname, rel->relname) != 0)
            continue;
        for (int k = 0; k < tab->npk; k++)
            for (int c = 0; c < rel->ncols; c++)
                if (strcmp(rel->cols[c].name, tab->pk[k]) == 0)
                    rel->pk[rel->npk++] = c;
    }
}

/* The next change of the transaction as a record of kind, unless the checkpoint holds it. */
static int cdc_change(struct cdc_reader *kr, const struct pgoutput_relation *rel, const struct pgoutput_tuple *t,
                      enum row_kind kind, struct stream_record *recs, int *n, char *err, size_t errlen)
{
    uint64_t offset;
    if (!kr->in_tx || postgres_cdc_offset(kr->tx_lsn, kr->tx_index++, &offset) != 0) {
        snprintf(err, errlen,
                 kr->in_tx ? "postgres-cdc: a transaction with more than %llu changes, or an LSN past 16 TiB: "
                             "this source cannot number its changes"
                           : "postgres-cdc: a change outside a transaction (%llu)",
                 (unsigned long long)CDC_MAX_INDEX);
        return -1;
    }
    if (offset < kr->next)
        return 0;
    cdc_record(kr, recs, n, offset, kind);
    if (pgoutput_tuple_json(rel, t, &kr->batch) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* An UPDATE: +U; with the whole old row, -U of it first; with the key changed, -D of the old. */
static int cdc_update(struct cdc_reader *kr, const struct pgoutput_message *m, struct stream_record *recs, int *n,
                      char *err, size_t errlen)
{
    int rc = 0;
    if (m->old_kind && !pgoutput_same_key(m->rel, &m->old_tuple, &m->new_tuple))
        rc = cdc_change(kr, m->rel, &m->old_tuple, ROW_DELETE, recs, n, err, errlen);
    else if (m->old_kind == 'O')
        rc = cdc_change(kr, m->rel, &m->old_tuple, ROW_UPDATE_BEFORE, recs, n, err, errlen);
    return rc ? -1 : cdc_change(kr, m->rel, &m->new_tuple, ROW_UPDATE_AFTER, recs, n, err, errlen);
}

/* A transaction handed out in full: confirmed once a checkpoint holds it. */
static int cdc_commit(struct cdc_reader *kr, uint64_t lsn, char *err, size_t errlen)
{
    kr->in_tx = false;
    if (kr->ntxs == kr->captxs) {
        size_t cap = kr->captxs ? kr->captxs * 2 : 64;
        struct cdc_tx *t = realloc(kr->txs, cap * sizeof *t);
        if (!t) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        kr->txs = t;
        kr->captxs = cap;
    }
    kr->txs[kr->ntxs++] = (struct cdc_tx){lsn, kr->next};
    return 0;
}

/* One pgoutput message: 0 to 2 records into recs. 0, or -1 with err. */
static int cdc_logical(struct cdc_reader *kr, const char *buf, size_t len, struct stream_record *recs, int *n,
                       char *err, size_t errlen)
{
    struct pgoutput_message m;
    if (pgoutput_decode(kr->decoder, buf, len, &m, err, errlen) != 0)
        return -1;
    switch (m.type) {
    case PGOUTPUT_BEGIN:
        kr->in_tx = true;
        kr->tx_lsn = m.lsn;
        kr->tx_index = 0;
        return 0;
    case PGOUTPUT_COMMIT:
        return cdc_commit(kr, m.lsn, err, errlen);
    case PGOUTPUT_RELATION:
        cdc_relation_keys(kr, m.rel);
        return 0;
    case PGOUTPUT_INSERT:
        return cdc_change(kr, m.rel, &m.new_tuple, ROW_INSERT, recs, n, err, errlen);
    case PGOUTPUT_UPDATE:
        return cdc_update(kr, &m, recs, n, err, errlen);
    case PGOUTPUT_DELETE:
        return cdc_change(kr, m.rel, &m.old_tuple, ROW_DELETE, recs, n, err, errlen);
    case PGOUTPUT_OTHER:
        return 0;
    }
    return 0;
}

/* A keepalive: the server has sent everything up to end. Between transactions, end may be
 * confirmed once the checkpoint holds what was handed out (now, when it does already), so an
 * idle slot advances and a server shutting down (which waits for that) can stop. Whether a
 * status update was sent. */
static bool cdc_keepalive(struct cdc_reader *kr, uint64_t end, char *err, size_t errlen)
{
    if (kr->in_tx || end <= kr->confirmed)
        return false;
    if (kr->acked >= kr->next && kr->ntxs == 0) {
        kr->confirmed = end;
        cdc_send_status(kr);
        return true;
    }
    if (kr->ntxs > 0 && kr->txs[kr->ntxs - 1].after == kr->next)
        kr->txs[kr->ntxs - 1].lsn = end; /* the same checkpoint confirms both */
    else
        cdc_commit(kr, end, err, errlen);
    return false;
}

/* One CopyData message of the stream: XLogData ('w') or a keepalive ('k'). */
static int cdc_copy_message(struct cdc_reader *kr, const char *buf, int len, struct stream_record *recs, int *n,
                            char *err, size_t errlen)
{
    if (len >= 18 && buf[0] == 'k') {
        bool sent = cdc_keepalive(kr, get_u64(buf + 1), err, errlen);
        if (buf[17] && !sent)
            cdc_send_status(kr);
        return 0;
    }
    if (len >= 25 && buf[0] == 'w')
        return cdc_logical(kr, buf + 25, (size_t)len - 25, recs, n, err, errlen);
    snprintf(err, errlen, "postgres-cdc: an unknown replication message '%c' of %d bytes", len ? buf[0] : '?', len);
    return -1;
}

static int cdc_read_stream(struct cdc_reader *kr, struct stream_record *recs, int max, char *err, size_t errlen)
{
    if (!kr->r && cdc_stream_retry(kr, err, errlen) != 0)
        return -1;
    if (!kr->r)
        return 0;
    if (PQconsumeInput(kr->r) == 0) {
        cdc_lost(kr, NULL);
        return 0;
    }
    int n = 0;
    while (n + 2 <= max) {
        char *buf = NULL;
        int len = PQgetCopyData(kr->r, &buf, 1);
        if (len == 0)
            break;
        if (len < 0) { /* the stream ended (the server shutting down) or failed */
            PGresult *res = PQgetResult(kr->r);
            PQclear(res);
            cdc_lost(kr, len == -1 ? "the server ended replication" : NULL);
            break;
        }
        int rc = cdc_copy_message(kr, buf, len, recs, &n, err, errlen);
        PQfreemem(buf);
        if (rc != 0)
            return -1;
    }
    if (kr->r && clock_mono_ms() - kr->last_status >= CDC_STATUS_MS)
        cdc_send_status(kr);
    return n;
}

static int cdc_read(void *reader, struct stream_record *recs, int max, char *err, size_t errlen)
{
    struct cdc_reader *kr = reader;
    if (max < 2) {
        snprintf(err, errlen, "postgres-cdc: a read needs room for 2 records");
        return -1;
    }
    if (cdc_batch_begin(kr, max, err, errlen) != 0)
        return -1;
    int n = kr->phase == CDC_SNAPSHOT ? cdc_read_snapshot(kr, recs, max, err, errlen) : 0;
    if (n == 0 && kr->phase == CDC_STREAM)
        n = cdc_read_stream(kr, recs, max, err, errlen);
    if (n > 0)
        cdc_batch_finish(kr, recs, n);
    return n;
}

/* Confirms the transactions that offset's checkpoint holds in full (their last commit LSN). */
static void cdc_acknowledge(void *reader, uint64_t offset)
{
    struct cdc_reader *kr = reader;
    size_t done = 0;
    uint64_t lsn = kr->confirmed;
    if (offset > kr->acked)
        kr->acked = offset;
    while (done < kr->ntxs && kr->txs[done].after <= offset) {
        if (kr->txs[done].lsn > lsn)
            lsn = kr->txs[done].lsn;
        done++;
    }
    if (done == 0)
        return;
    memmove(kr->txs, kr->txs + done, (kr->ntxs - done) * sizeof *kr->txs);
    kr->ntxs -= done;
    if (lsn > kr->confirmed) {
        kr->confirmed = lsn;
        cdc_send_status(kr);
    }
}

/* The next offset, plus the snapshot's rows not yet read. */
static int cdc_end_offset(void *reader, uint64_t *end, char *err, size_t errlen)
{
    struct cdc_reader *kr = reader;
    *end = kr->next + (kr->phase == CDC_SNAPSHOT ? kr->snap_left : 0);
    return 0;
}

/* ---------------------------------------------------------------- check */

/* Connects as a task would (reachable: the server answered, even to refuse the login), then
 * looks the tables up. */
static void cdc_check(const struct stream_property *props, int nprops, struct stream_check *out)
{
    struct cdc_reader kr = {0};
    if (cdc_settings_load(&kr.s, props, nprops, out->error, sizeof out->error) != 0)
        return;
    if (!(kr.q = cdc_connect(&kr.s, false, out->error, sizeof out->error))) {
        out->reachable = strstr(out->error, "FATAL") != NULL;
        goto done;
    }
    out->reachable = out->authenticated = true;
    out->target_present = cdc_check_wal_level(&kr, out->error, sizeof out->error) == 0 &&
                          cdc_tables_load(&kr, out->error, sizeof out->error) == 0;
done:
    PQfinish(kr.q);
    cdc_tables_free(kr.tables, kr.ntables);
    option_table_free(&cdc_option_table, &kr.s);
}

const struct stream_backend postgres_cdc_stream_backend = {
    .name = "postgres-cdc",
    .partitions = stream_one_partition, /* one slot: one reader */
    .open_reader = cdc_open_reader,
    .read = cdc_read,
    .end_offset = cdc_end_offset,
    .close_reader = cdc_close_reader,
    .start_offset = cdc_start_offset,
    .acknowledge = cdc_acknowledge,
    .check = cdc_check,
    .options = &cdc_option_table,
    .source = true,
    .location_key = "table",
    .full_worker = true, /* libpq */
    .network = true,
};
