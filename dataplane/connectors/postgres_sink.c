/* postgres_sink.c — the PostgreSQL sink connector over libpq (see postgres_sink.h): options and
 * connection, the table's columns, rows as typed text parameters, batches as one transaction. */
#include "dataplane/connectors/postgres_sink.h"

#include <inttypes.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/codec/json_decode.h"
#include "dataplane/codec/timestamp.h"
#include "dataplane/connectors/pg_conn.h"
#include "dataplane/schema_json.h"

#define PG_SINK_MAX_PARAMS 65535 /* the protocol's limit per statement */
#define PG_SINK_ROWS_PER_STATEMENT 500
#define PG_SINK_CONNECT_TIMEOUT_S 10
#define PG_SINK_ROW_STATEMENT "sluice_row"       /* the prepared one-row INSERT */
#define PG_SINK_DELETE_STATEMENT "sluice_delete" /* the prepared DELETE of one key (upsert) */
#define PG_SINK_QUOTE_MAX 200                    /* bytes of a record quoted in an error */

/* ---------------------------------------------------------------- rows as parameters */

/* Field types as parameter types, one row each (OIDs from pg_type.h). */
static const struct {
    enum value_type type;
    unsigned int oid;
} postgres_type_table[] = {
    {VT_BOOLEAN, 16},     /* bool */
    {VT_BIGINT, 20},      /* int8 */
    {VT_DOUBLE, 701},     /* float8 */
    {VT_STRING, 0},       /* unknown: the column's type reads the text */
    {VT_TIMESTAMP, 1184}, /* timestamptz */
    {VT_DECIMAL, 1700},   /* numeric */
    {VT_DATE, 1082},      /* date */
};

unsigned int postgres_type_oid(enum value_type t)
{
    for (size_t i = 0; i < sizeof postgres_type_table / sizeof postgres_type_table[0]; i++)
        if (postgres_type_table[i].type == value_type_base(t))
            return postgres_type_table[i].oid;
    return 0;
}

const char *postgres_value_text(const struct value *v, struct arena *a, int *oom)
{
    char buf[64];
    switch (value_type_base(v->type)) {
    case VT_DECIMAL:
        value_format_decimal(v->u.dec, value_decimal_scale(v->type), buf);
        break;
    case VT_DATE:
        value_format_date(v->u.i, buf);
        break;
    case VT_TYPE_ENCODED_MAX_:
    case VT_NULL:
        return NULL;
    case VT_BOOLEAN:
        return v->u.b ? "true" : "false";
    case VT_BIGINT:
        snprintf(buf, sizeof buf, "%" PRId64, v->u.i);
        break;
    case VT_DOUBLE:
        if (isnan(v->u.d))
            return "NaN";
        if (isinf(v->u.d))
            return v->u.d > 0 ? "Infinity" : "-Infinity";
        snprintf(buf, sizeof buf, "%.17g", v->u.d);
        /* the shortest form that reads back the same */
        for (int prec = 1; prec < 17; prec++) {
            char shorter[64];
            snprintf(shorter, sizeof shorter, "%.*g", prec, v->u.d);
            if (strtod(shorter, NULL) == v->u.d) {
                memcpy(buf, shorter, strlen(shorter) + 1);
                break;
            }
        }
        break;
    case VT_TIMESTAMP: {
        char ts[TIMESTAMP_TEXT_MAX];
        timestamp_format(v->u.i, ts);
        snprintf(buf, sizeof buf, "%s+00", ts);
        break;
    }
    case VT_STRING: {
        char *s = arena_strndup(a, v->u.s.ptr, v->u.s.len);
        if (!s)
            *oom = 1;
        return s;
    }
    }
    char *s = arena_strndup(a, buf, strlen(buf));
    if (!s)
        *oom = 1;
    return s;
}

int postgres_quote_ident(struct json_buf *out, const char *name)
{
    size_t n = strlen(name);
    if (json_buf_reserve(out, 2 * n + 2) != 0)
        return -1;
    out->data[out->len++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '"')
            out->data[out->len++] = '"';
        out->data[out->len++] = name[i];
    }
    out->data[out->len++] = '"';
    return 0;
}

static int put_text(struct json_buf *out, const char *s)
{
    size_t n = strlen(s);
    if (json_buf_reserve(out, n + 1) != 0)
        return -1;
    memcpy(out->data + out->len, s, n + 1); /* kept NUL-terminated, not counted */
    out->len += n;
    return 0;
}

int postgres_insert_sql(struct json_buf *out, const char *table, char *const *columns, int ncolumns, const int *key,
                        int nkey, int nrows)
{
    int rc = put_text(out, "INSERT INTO ") | put_text(out, table) | put_text(out, " (");
    for (int c = 0; c < ncolumns; c++)
        rc |= (c ? put_text(out, ", ") : 0) | postgres_quote_ident(out, columns[c]);
    rc |= put_text(out, ") VALUES ");
    int param = 1;
    for (int r = 0; r < nrows && rc == 0; r++) {
        rc |= put_text(out, r ? ", (" : "(");
        for (int c = 0; c < ncolumns; c++) {
            char p[16];
            snprintf(p, sizeof p, "%s$%d", c ? ", " : "", param++);
            rc |= put_text(out, p);
        }
        rc |= put_text(out, ")");
    }
    if (nkey > 0) {
        rc |= put_text(out, " ON CONFLICT (");
        for (int k = 0; k < nkey; k++)
            rc |= (k ? put_text(out, ", ") : 0) | postgres_quote_ident(out, columns[key[k]]);
        rc |= put_text(out, ") DO ");
        int updates = 0;
        for (int c = 0; c < ncolumns; c++) {
            bool is_key = false;
            for (int k = 0; k < nkey; k++)
                is_key |= key[k] == c;
            if (is_key)
                continue;
            rc |= put_text(out, updates++ ? ", " : "UPDATE SET ") | postgres_quote_ident(out, columns[c]) |
                  put_text(out, " = EXCLUDED.") | postgres_quote_ident(out, columns[c]);
        }
        if (!updates)
            rc |= put_text(out, "NOTHING");
    }
    rc |= put_text(out, ""); /* NUL-terminated after the last identifier */
    return rc ? -1 : 0;
}

static uint64_t dedupe_hash(const char *const *row, const int *key, int nkey)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (int k = 0; k < nkey; k++) {
        for (const char *s = row[key[k]]; *s; s++)
            h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
        h = (h ^ 0xff) * 0x100000001b3ull; /* separator: ("a","bc") differs from ("ab","c") */
    }
    return h;
}

static bool dedupe_same(const char *const *a, const char *const *b, const int *key, int nkey)
{
    for (int k = 0; k < nkey; k++)
        if (strcmp(a[key[k]], b[key[k]]) != 0)
            return false;
    return true;
}

int postgres_dedupe(const char *const *texts, int nrows, int ncolumns, const int *key, int nkey, int *keep,
                    struct arena *a)
{
    size_t slots = 16;
    while (slots < (size_t)nrows * 2)
        slots *= 2;
    int *table = arena_alloc(a, slots * sizeof *table); /* row index + 1 of the last row of a key */
    bool *dropped = arena_alloc(a, (size_t)nrows + 1);
    if (!table || !dropped)
        return -1;
    memset(table, 0, slots * sizeof *table);
    memset(dropped, 0, (size_t)nrows + 1);
    for (int r = 0; r < nrows; r++) {
        const char *const *row = texts + (size_t)r * ncolumns;
        bool null_key = false;
        for (int k = 0; k < nkey; k++)
            null_key |= row[key[k]] == NULL;
        if (null_key)
            continue;
        size_t i = dedupe_hash(row, key, nkey) & (slots - 1);
        while (table[i] && !dedupe_same(texts + (size_t)(table[i] - 1) * ncolumns, row, key, nkey))
            i = (i + 1) & (slots - 1);
        if (table[i])
            dropped[table[i] - 1] = true; /* a later row of the same key wins */
        table[i] = r + 1;
    }
    int n = 0;
    for (int r = 0; r < nrows; r++)
        if (!dropped[r])
            keep[n++] = r;
    return n;
}

/* ---------------------------------------------------------------- writer */

struct pg_writer {
    PGconn *conn;
    stream_progress_fn progress; /* called around a reconnect (may be NULL) */
    void *progress_ctx;
    char *table; /* the table as PostgreSQL names it (quoted as needed) */
    char *shown; /* the table as the user wrote it, for messages */
    struct schema schema;
    char **columns; /* the schema's field names (borrowed from schema) */
    unsigned int *types;
    int *key, nkey;
    struct json_decoder *decoder;
    struct value *row;
    struct arena *arena;  /* this batch's texts and records; reset after each flush */
    const char **texts;   /* nrecs * nfields, row-major */
    const char **records; /* each buffered record's JSON text, for messages */
    bool *deletes;        /* each buffered record's: a -D (delete its key) */
    size_t nrecs, cap;
    uint64_t written; /* records before this batch, for messages */
    struct json_buf sql;
    int sql_rows; /* rows the statement in sql is for (0: none) */
    unsigned int *param_types;
    const char **params;
};

static const char *const postgres_modes[] = {"insert", "upsert", NULL};

/* The options of a postgres sink, one row each. */
static const struct option_row postgres_options[] = {
    {.name = "url", .type = OPTION_STRING, .flags = OPTION_REQUIRED, .help = "postgresql:// URI of the database"},
    {.name = "table", .type = OPTION_STRING, .flags = OPTION_REQUIRED, .help = "the table written, [schema.]name"},
    {.name = "password", .type = OPTION_STRING, .help = "the password, kept out of the url (a secret)"},
    {.name = "mode", .type = OPTION_ENUM, .def = "insert", .values = postgres_modes},
    {.name = "primary_key", .type = OPTION_STRING, .help = "mode upsert: the key columns, comma-separated"},
    /* a lookup (temporal join) into the table: postgres_lookup.c reads and checks these */
    {.name = "lookup.cache.max-rows", .type = OPTION_STRING, .help = "lookup: rows kept in its LRU cache (0: none)"},
    {.name = "lookup.cache.ttl", .type = OPTION_STRING, .help = "lookup: how long a cached row stays"},
    {.name = "lookup.max-retries", .type = OPTION_STRING, .help = "lookup: retries of a failed query"},
    {.name = "connector", .type = OPTION_STRING, .flags = OPTION_HIDDEN},
};
static const struct option_table postgres_option_table = OPTION_TABLE("postgres", postgres_options);

static void pg_close_writer(void *writer)
{
    struct pg_writer *w = writer;
    if (!w)
        return;
    PQfinish(w->conn);
    free(w->table);
    free(w->shown);
    for (int i = 0; i < w->schema.nfields; i++)
        free(w->schema.fields[i].name);
    free(w->schema.fields);
    free(w->columns);
    free(w->types);
    free(w->key);
    json_decoder_free(w->decoder);
    free(w->row);
    arena_free(w->arena);
    free(w->texts);
    free(w->records);
    free(w->deletes);
    json_buf_free(&w->sql);
    free(w->param_types);
    free(w->params);
    free(w);
}

/* The primary_key list into w->key (indexes of schema fields). */
static int pg_parse_key(struct pg_writer *w, const char *list, char *err, size_t errlen)
{
    w->key = calloc((size_t)w->schema.nfields + 1, sizeof *w->key);
    if (!w->key) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && end[-1] == ' ')
            end--;
        if (end == start)
            continue;
        int f;
        for (f = 0; f < w->schema.nfields; f++)
            if (strlen(w->schema.fields[f].name) == (size_t)(end - start) &&
                memcmp(w->schema.fields[f].name, start, (size_t)(end - start)) == 0)
                break;
        if (f == w->schema.nfields) {
            snprintf(err, errlen, "postgres primary_key column \"%.*s\" is not a field of the stream",
                     (int)(end - start), start);
            return -1;
        }
        for (int k = 0; k < w->nkey; k++)
            if (w->key[k] == f) {
                snprintf(err, errlen, "postgres primary_key names \"%s\" twice", w->schema.fields[f].name);
                return -1;
            }
        w->key[w->nkey++] = f;
    }
    if (w->nkey == 0) {
        snprintf(err, errlen, "postgres mode upsert needs primary_key: the comma-separated key columns");
        return -1;
    }
    return 0;
}

/* An upsert stream's sink: the stream's primary key (schema "primary_key") is the table's. */
static int pg_schema_key(struct pg_writer *w, char *err, size_t errlen)
{
    if (w->schema.nprimary_key == 0)
        return 0;
    w->key = calloc((size_t)w->schema.nprimary_key, sizeof *w->key);
    if (!w->key) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(w->key, w->schema.primary_key, (size_t)w->schema.nprimary_key * sizeof *w->key);
    w->nkey = w->schema.nprimary_key;
    return 0;
}

/* Appends DELETE FROM table WHERE k1 IS NOT DISTINCT FROM $1 AND ... (the key's columns). */
static int pg_delete_sql(struct json_buf *out, const struct pg_writer *w)
{
    int rc = put_text(out, "DELETE FROM ") | put_text(out, w->table) | put_text(out, " WHERE ");
    for (int k = 0; k < w->nkey; k++) {
        char param[48];
        snprintf(param, sizeof param, " IS NOT DISTINCT FROM $%d", k + 1);
        rc |=
            (k ? put_text(out, " AND ") : 0) | postgres_quote_ident(out, w->columns[w->key[k]]) | put_text(out, param);
    }
    return rc; /* put_text keeps it NUL-terminated */
}

/* The prepared DELETE of one key, for a sink with a key. */
static int pg_prepare_delete(struct pg_writer *w, char *err, size_t errlen)
{
    char m[600];
    struct json_buf sql = {0};
    unsigned int types[SCHEMA_MAX_KEY];
    if (w->nkey == 0)
        return 0;
    for (int k = 0; k < w->nkey; k++)
        types[k] = w->types[w->key[k]];
    if (pg_delete_sql(&sql, w) != 0) {
        json_buf_free(&sql);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    PGresult *res = PQprepare(w->conn, PG_SINK_DELETE_STATEMENT, sql.data, w->nkey, types);
    json_buf_free(&sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok)
        snprintf(err, errlen, "postgres table \"%s\": the stream's key cannot delete rows: %s", w->shown,
                 pg_conn_message(PQerrorMessage(w->conn), m, sizeof m));
    return ok ? 0 : -1;
}

/* How a writer (application "sluice-postgres-sink") or a check connects to url. */
static struct pg_conn_params pg_params(const char *url, const char *password, const char *application)
{
    return (struct pg_conn_params){.url = url,
                                   .password = password,
                                   .connect_timeout_s = PG_SINK_CONNECT_TIMEOUT_S,
                                   .application_name = application,
                                   .what = "postgres"};
}

/* Connects; -1 with err naming the cause (never the password). */
static int pg_connect(struct pg_writer *w, const char *url, const char *password, char *err, size_t errlen)
{
    if (pg_conn_url_check(url, "postgres", err, errlen) != 0)
        return -1;
    const struct pg_conn_params p = pg_params(url, password, "sluice-postgres-sink");
    return (w->conn = pg_conn_open(&p, err, errlen)) ? 0 : -1;
}

/* The session's time zone and the prepared one-row INSERT (which shows a type or key mismatch
 * at start); again after a reconnect. */
static int pg_session_setup(struct pg_writer *w, char *err, size_t errlen)
{
    char m[600];
    if (pg_conn_command(w->conn, "SET TIME ZONE 'UTC'", PGRES_COMMAND_OK, err, errlen,
                        "postgres: cannot set up the session") != 0)
        return -1;
    struct json_buf sql = {0};
    if (postgres_insert_sql(&sql, w->table, w->columns, w->schema.nfields, w->key, w->nkey, 1) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    PGresult *res = PQprepare(w->conn, PG_SINK_ROW_STATEMENT, sql.data, w->schema.nfields, w->types);
    json_buf_free(&sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        snprintf(err, errlen, "postgres table \"%s\": the stream's fields cannot be inserted: %s", w->shown,
                 pg_conn_message(PQerrorMessage(w->conn), m, sizeof m));
        return -1;
    }
    return pg_prepare_delete(w, err, errlen);
}

/* Finds the table and checks that every field is one of its columns. */
static int pg_check_table(struct pg_writer *w, char *err, size_t errlen)
{
    const char *params[] = {w->shown};
    PGresult *res =
        pg_conn_exec(w->conn,
                     "SELECT c.oid::regclass::text, a.attname::text FROM pg_class c"
                     "  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
                     " WHERE c.oid = to_regclass($1) ORDER BY a.attnum",
                     1, params, PGRES_TUPLES_OK, err, errlen, "postgres table \"%s\"", w->shown);
    if (!res)
        return -1;
    if (PQntuples(res) == 0) {
        snprintf(err, errlen,
                 "postgres table \"%s\" does not exist in database \"%s\" (create it first: sluice does not "
                 "create tables)",
                 w->shown, PQdb(w->conn));
        PQclear(res);
        return -1;
    }
    w->table = strdup(PQgetvalue(res, 0, 0));
    for (int f = 0; f < w->schema.nfields; f++) {
        bool found = false;
        for (int i = 0; i < PQntuples(res) && !found; i++)
            found = strcmp(PQgetvalue(res, i, 1), w->schema.fields[f].name) == 0;
        if (!found) {
            char cols[300] = "";
            for (int i = 0; i < PQntuples(res); i++)
                snprintf(cols + strlen(cols), sizeof cols - strlen(cols), "%s%s", i ? ", " : "", PQgetvalue(res, i, 1));
            snprintf(err, errlen,
                     "postgres table \"%s\" has no column \"%s\" for the stream's field of that name (its "
                     "columns: %s)",
                     w->shown, w->schema.fields[f].name, cols);
            PQclear(res);
            return -1;
        }
    }
    PQclear(res);
    return w->table ? 0 : -1;
}

static int pg_open_writer(const char *location, int partition, const struct stream_property *props, int nprops,
                          void **writer, char *err, size_t errlen)
{
    if (stream_options_check(&postgres_option_table, props, nprops, err, errlen) != 0)
        return -1;
    const char *schema_text = stream_property_get(props, nprops, "__schema");
    if (!schema_text) {
        snprintf(err, errlen, "the postgres sink needs the stream's schema: run it as a connection");
        return -1;
    }
    struct pg_writer *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *table = stream_property_get(props, nprops, "table");
    w->shown = strdup(table);
    json_t *js = json_loads(schema_text, 0, NULL);
    int rc = schema_from_json(js, &w->schema, "the connection's", err, errlen);
    json_decref(js);
    if (rc != 0 || !w->shown)
        goto fail;
    int nf = w->schema.nfields;
    if (nf == 0) {
        snprintf(err, errlen, "the stream has no fields to write to postgres table \"%s\"", table);
        goto fail;
    }
    const char *mode = stream_property_get(props, nprops, "mode");
    const char *pk = stream_property_get(props, nprops, "primary_key");
    if (mode && strcmp(mode, "upsert") == 0 && (pk || w->schema.nprimary_key == 0)) {
        if (pg_parse_key(w, pk ? pk : "", err, errlen) != 0)
            goto fail;
    } else if (pk) {
        snprintf(err, errlen, "postgres option \"primary_key\" is for mode upsert (set \"mode\": \"upsert\")");
        goto fail;
    }
    if (!w->key && (!mode || strcmp(mode, "upsert") == 0) && pg_schema_key(w, err, errlen) != 0)
        goto fail;
    w->columns = calloc((size_t)nf, sizeof *w->columns);
    w->types = calloc((size_t)nf, sizeof *w->types);
    w->row = calloc((size_t)nf, sizeof *w->row);
    w->decoder = json_decoder_new(&w->schema, NULL);
    w->arena = arena_new(64 * 1024);
    if (!w->columns || !w->types || !w->row || !w->decoder || !w->arena) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (int f = 0; f < nf; f++) {
        w->columns[f] = w->schema.fields[f].name;
        w->types[f] = postgres_type_oid(w->schema.fields[f].type);
    }
    if (pg_connect(w, stream_property_get(props, nprops, "url"), stream_property_get(props, nprops, "password"), err,
                   errlen) != 0 ||
        pg_check_table(w, err, errlen) != 0 || pg_session_setup(w, err, errlen) != 0)
        goto fail;
    *writer = w;
    return 0;
fail:
    pg_close_writer(w);
    return -1;
}

static int pg_append_row(struct pg_writer *w, bool delete, const void *data, uint32_t len, char *err, size_t errlen);

static int pg_append(void *writer, const void *data, uint32_t len, char *err, size_t errlen)
{
    return pg_append_row(writer, false, data, len, err, errlen);
}

/* A changelog row: with a key, +I and +U upsert, -D deletes the key, -U is skipped (the +U
 * that follows replaces the row); without one, only +I can be written. */
static int pg_append_kind(void *writer, enum row_kind kind, const void *data, uint32_t len, char *err, size_t errlen)
{
    struct pg_writer *w = writer;
    if (kind == ROW_INSERT)
        return pg_append_row(w, false, data, len, err, errlen);
    if (w->nkey == 0) {
        snprintf(err, errlen,
                 "postgres table \"%s\": a %s row needs a key to apply: declare the stream's PRIMARY KEY (or set"
                 " mode upsert and primary_key)",
                 w->shown, row_kind_name(kind));
        return -1;
    }
    if (kind == ROW_UPDATE_BEFORE)
        return 0;
    return pg_append_row(w, kind == ROW_DELETE, data, len, err, errlen);
}

static int pg_append_row(struct pg_writer *w, bool delete, const void *data, uint32_t len, char *err, size_t errlen)
{
    int nf = w->schema.nfields;
    char reason[300];
    if (json_decode_row(w->decoder, data, len, w->row, w->arena, reason, sizeof reason) != 0) {
        snprintf(err, errlen, "postgres table \"%s\": output record %" PRIu64 " does not fit the stream's schema: %s",
                 w->shown, w->written + w->nrecs, reason);
        return -1;
    }
    if (w->nrecs == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        const char **t = realloc(w->texts, cap * (size_t)nf * sizeof *t);
        if (t)
            w->texts = t;
        const char **r = realloc(w->records, cap * sizeof *r);
        if (r)
            w->records = r;
        bool *d = realloc(w->deletes, cap * sizeof *d);
        if (d)
            w->deletes = d;
        if (!t || !r || !d) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        w->cap = cap;
    }
    int oom = 0;
    const char **texts = w->texts + w->nrecs * (size_t)nf;
    for (int f = 0; f < nf; f++)
        texts[f] = postgres_value_text(&w->row[f], w->arena, &oom);
    w->records[w->nrecs] = arena_strndup(w->arena, data, len < PG_SINK_QUOTE_MAX ? len : PG_SINK_QUOTE_MAX);
    if (oom || !w->records[w->nrecs]) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    w->deletes[w->nrecs] = delete;
    w->nrecs++;
    return 0;
}

static int pg_exec_simple(struct pg_writer *w, const char *sql)
{
    PGresult *res = PQexec(w->conn, sql);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
    PQclear(res);
    return rc;
}

/* rows keep[0..n) as one INSERT; -1 leaves the server's message in the connection. */
static int pg_insert_rows(struct pg_writer *w, const int *keep, int n)
{
    int nf = w->schema.nfields;
    if (w->sql_rows != n) {
        w->sql.len = 0;
        if (postgres_insert_sql(&w->sql, w->table, w->columns, nf, w->key, w->nkey, n) != 0)
            return -1;
        w->sql_rows = n;
    }
    for (int r = 0; r < n; r++)
        for (int f = 0; f < nf; f++) {
            w->params[r * nf + f] = w->texts[(size_t)keep[r] * nf + f];
            w->param_types[r * nf + f] = w->types[f];
        }
    PGresult *res = PQexecParams(w->conn, w->sql.data, n * nf, w->param_types, w->params, NULL, NULL, 0);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
    PQclear(res);
    return rc;
}

/* After a failed batch: replays it a row at a time in a transaction that is rolled back, and
 * names the first row the server refuses (or the batch's own message). */
static void pg_explain_failure(struct pg_writer *w, const int *keep, int n, const char *batch_msg, char *err,
                               size_t errlen)
{
    char m[600];
    int nf = w->schema.nfields;
    if (PQstatus(w->conn) == CONNECTION_OK && pg_exec_simple(w, "BEGIN") == 0) {
        for (int r = 0; r < n; r++) {
            if (w->deletes[keep[r]])
                continue;
            PGresult *res =
                PQexecPrepared(w->conn, PG_SINK_ROW_STATEMENT, nf, w->texts + (size_t)keep[r] * nf, NULL, NULL, 0);
            bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
            PQclear(res);
            if (!ok) {
                snprintf(err, errlen, "postgres table \"%s\": cannot write output record %" PRIu64 " (%s): %s",
                         w->shown, w->written + (uint64_t)keep[r], w->records[keep[r]],
                         pg_conn_message(PQerrorMessage(w->conn), m, sizeof m));
                pg_exec_simple(w, "ROLLBACK");
                return;
            }
        }
        pg_exec_simple(w, "ROLLBACK");
    }
    snprintf(err, errlen, "postgres table \"%s\": cannot write %d records (output records %" PRIu64 "-%" PRIu64 "): %s",
             w->shown, n, w->written, w->written + w->nrecs - 1, batch_msg);
}

/* Deletes the keys of the -D rows among keep[0..n) (one per key after dedupe). */
static int pg_delete_rows(struct pg_writer *w, const int *keep, int n)
{
    int rc = 0, nf = w->schema.nfields;
    const char *params[SCHEMA_MAX_KEY];
    for (int r = 0; rc == 0 && r < n; r++) {
        if (!w->deletes[keep[r]])
            continue;
        for (int k = 0; k < w->nkey; k++)
            params[k] = w->texts[(size_t)keep[r] * nf + w->key[k]];
        PGresult *res = PQexecPrepared(w->conn, PG_SINK_DELETE_STATEMENT, w->nkey, params, NULL, NULL, 0);
        rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
        PQclear(res);
    }
    return rc;
}

/* The rows keep[0..n) in one transaction: the deletes, then INSERTs of up to per rows of the
 * others; -1 leaves the server's message in the connection. */
static int pg_write_batch(struct pg_writer *w, const int *keep, int n, int per)
{
    int rc = pg_exec_simple(w, "BEGIN");
    int *upserts = n ? arena_alloc(w->arena, (size_t)n * sizeof *upserts) : NULL, nup = 0;
    if (n && !upserts)
        return -1;
    for (int r = 0; r < n; r++)
        if (!w->deletes[keep[r]])
            upserts[nup++] = keep[r];
    if (rc == 0 && nup < n)
        rc = pg_delete_rows(w, keep, n);
    for (int done = 0; rc == 0 && done < nup; done += per)
        rc = pg_insert_rows(w, upserts + done, nup - done < per ? nup - done : per);
    if (rc == 0)
        rc = pg_exec_simple(w, "COMMIT");
    return rc;
}

static int pg_flush(void *writer, bool sync, char *err, size_t errlen)
{
    struct pg_writer *w = writer;
    if (w->nrecs == 0)
        return 0;
    int nf = w->schema.nfields, n = (int)w->nrecs;
    int *keep = arena_alloc(w->arena, w->nrecs * sizeof *keep);
    int per =
        PG_SINK_MAX_PARAMS / nf < PG_SINK_ROWS_PER_STATEMENT ? PG_SINK_MAX_PARAMS / nf : PG_SINK_ROWS_PER_STATEMENT;
    if (!w->params) {
        w->params = calloc((size_t)per * nf, sizeof *w->params);
        w->param_types = calloc((size_t)per * nf, sizeof *w->param_types);
    }
    if (!keep || !w->params || !w->param_types) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (w->nkey > 0)
        n = postgres_dedupe(w->texts, n, nf, w->key, w->nkey, keep, w->arena);
    else
        for (int r = 0; r < n; r++)
            keep[r] = r;
    if (n < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char m[600];
    int rc = pg_write_batch(w, keep, n, per);
    if (rc != 0 && PQstatus(w->conn) == CONNECTION_BAD) {
        /* the server closed the connection (a restart, a failover, an idle timeout): once more
         * on a new one; rows that were committed unacknowledged are written twice, as after a
         * crash (at-least-once) */
        char e[300];
        pg_conn_message(PQerrorMessage(w->conn), m, sizeof m);
        if (w->progress)
            w->progress(w->progress_ctx);
        PQreset(w->conn);
        if (w->progress)
            w->progress(w->progress_ctx);
        if (PQstatus(w->conn) != CONNECTION_OK || pg_session_setup(w, e, sizeof e) != 0) {
            snprintf(err, errlen, "postgres table \"%s\": connection lost (%s) and not regained: %s", w->shown, m,
                     PQstatus(w->conn) == CONNECTION_OK ? e : pg_conn_message(PQerrorMessage(w->conn), e, sizeof e));
            return -1;
        }
        rc = pg_write_batch(w, keep, n, per);
    }
    if (rc != 0) {
        pg_conn_message(PQerrorMessage(w->conn), m, sizeof m);
        if (PQstatus(w->conn) == CONNECTION_OK)
            pg_exec_simple(w, "ROLLBACK");
        pg_explain_failure(w, keep, n, m, err, errlen);
        return -1;
    }
    w->written += w->nrecs;
    w->nrecs = 0;
    arena_reset(w->arena);
    return 0;
}

static void pg_set_progress(void *writer, stream_progress_fn fn, void *ctx)
{
    struct pg_writer *w = writer;
    w->progress = fn;
    w->progress_ctx = ctx;
}

/* The check: PQping for the server, a session for the credentials, to_regclass for the table. */
static void pg_check(const struct stream_property *props, int nprops, struct stream_check *out)
{
    if (stream_options_check(&postgres_option_table, props, nprops, out->error, sizeof out->error) != 0)
        return;
    const char *url = stream_property_get(props, nprops, "url");
    const char *table = stream_property_get(props, nprops, "table");
    if (pg_conn_url_check(url, "postgres", out->error, sizeof out->error) != 0)
        return;
    const struct pg_conn_params p = pg_params(url, stream_property_get(props, nprops, "password"), "sluice-check");
    PGPing ping = pg_conn_ping(&p);
    out->reachable = ping == PQPING_OK || ping == PQPING_REJECT;
    PGconn *conn = pg_conn_open(&p, out->error, sizeof out->error);
    if (!conn)
        return;
    out->reachable = out->authenticated = true;
    const char *params[] = {table};
    PGresult *res = pg_conn_exec(conn, "SELECT to_regclass($1) IS NOT NULL", 1, params, PGRES_TUPLES_OK, out->error,
                                 sizeof out->error, "postgres table \"%s\"", table);
    if (res && !(out->target_present = strcmp(PQgetvalue(res, 0, 0), "t") == 0))
        snprintf(out->error, sizeof out->error, "postgres table \"%s\" does not exist in database \"%s\"", table,
                 PQdb(conn));
    PQclear(res);
    PQfinish(conn);
}

const struct stream_backend postgres_stream_backend = {
    .name = "postgres",
    .partitions = stream_one_partition, /* every task writes the same table */
    .open_writer = pg_open_writer,
    .append = pg_append,
    .append_kind = pg_append_kind,
    .flush = pg_flush,
    .writer_end_offset = NULL, /* cannot be rolled back: at-least-once */
    .truncate = NULL,
    .close_writer = pg_close_writer,
    .set_progress = pg_set_progress,
    .check = pg_check,
    .options = &postgres_option_table,
    .sink = true,
    .location_key = "table",
    .wants_schema = true,
    .full_worker = true, /* libpq */
    .network = true,
};
