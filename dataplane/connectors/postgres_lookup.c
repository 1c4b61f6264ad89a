/* postgres_lookup.c — lookups of a lookup join's rows in a PostgreSQL table (postgres_lookup.h):
 * the connection and its prepared query, the rows as JSON decoded by the schema, the LRU cache. */
#include "dataplane/connectors/postgres_lookup.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "dataplane/codec/json_decode.h"
#include "dataplane/codec/json_encode.h"
#include "dataplane/connectors/pg_conn.h"
#include "dataplane/connectors/postgres_sink.h"
#include "dataplane/sql/sql.h"

#define LOOKUP_MAX_KEYS 16

/* A cached key: its rows as JSON texts, one after another, each NUL-terminated. */
struct centry {
    struct centry *hnext, *prev, *next; /* hash chain; LRU list, most recent first */
    uint64_t hash;
    char *key; /* the parameters' texts, joined */
    size_t keylen;
    char *rows;
    int nrows;
    int64_t at; /* when it was fetched */
};

struct pg_lookup {
    PGconn *conn;
    char *url, *password, *sql;
    const struct schema *schema;
    struct json_decoder *decoder;
    int key_cols[LOOKUP_MAX_KEYS], nkeys;
    unsigned int types[LOOKUP_MAX_KEYS];
    int64_t max_rows, ttl_ms, retries;
    struct centry **buckets, *head, *tail;
    size_t nbuckets, n;
    struct pg_lookup_stats stats;
};

static int pg_lookup_connect(struct pg_lookup *l, char *err, size_t errlen)
{
    char m[600];
    const struct pg_conn_params p = {.url = l->url,
                                     .password = l->password,
                                     .connect_timeout_s = 10,
                                     .application_name = "sluice-postgres-lookup",
                                     .what = "postgres lookup"};
    PQfinish(l->conn);
    if (!(l->conn = pg_conn_open(&p, err, errlen)))
        return -1;
    PGresult *res = PQexec(l->conn, "SET TIME ZONE 'UTC'");
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (ok && l->sql) { /* (the first connection finds the table's name first) */
        res = PQprepare(l->conn, "lookup", l->sql, l->nkeys, l->types);
        ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
    }
    if (!ok)
        snprintf(err, errlen, "postgres lookup: %s", pg_conn_message(PQerrorMessage(l->conn), m, sizeof m));
    return ok ? 0 : -1;
}

/* The table's name as PostgreSQL shows it (quoted where it must be), malloc'd; NULL with err. */
static char *table_name(struct pg_lookup *l, const char *table, char *err, size_t errlen)
{
    char m[600];
    const char *params[] = {table};
    PGresult *res = PQexecParams(l->conn, "SELECT to_regclass($1)::text", 1, NULL, params, NULL, NULL, 0);
    char *name = NULL;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        snprintf(err, errlen, "postgres table \"%s\": %s", table,
                 pg_conn_message(PQerrorMessage(l->conn), m, sizeof m));
    else if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
        snprintf(err, errlen, "postgres table \"%s\" does not exist in database \"%s\"", table, PQdb(l->conn));
    else if (!(name = strdup(PQgetvalue(res, 0, 0))))
        snprintf(err, errlen, "out of memory");
    PQclear(res);
    return name;
}

/* SELECT row_to_json(t)::text FROM (SELECT * FROM table WHERE "k1" = $1 AND ...) t */
static int build_sql(struct pg_lookup *l, const char *table)
{
    struct json_buf b = {0};
    const char *head = "SELECT row_to_json(t)::text FROM (SELECT * FROM ";
    int rc = json_buf_reserve(&b, strlen(head) + strlen(table) + 16);
    if (rc == 0)
        b.len = (size_t)sprintf(b.data, "%s%s WHERE ", head, table);
    for (int k = 0; rc == 0 && k < l->nkeys; k++) {
        rc = postgres_quote_ident(&b, l->schema->fields[l->key_cols[k]].name) || json_buf_reserve(&b, 32);
        if (rc == 0)
            b.len += (size_t)sprintf(b.data + b.len, " = $%d%s", k + 1, k + 1 < l->nkeys ? " AND " : ") t");
    }
    if (rc != 0) {
        free(b.data);
        return -1;
    }
    l->sql = b.data;
    return 0;
}

static int cache_options(struct pg_lookup *l, const struct stream_property *props, int nprops, char *err, size_t errlen)
{
    const char *rows = stream_property_get(props, nprops, "lookup.cache.max-rows");
    const char *ttl = stream_property_get(props, nprops, "lookup.cache.ttl");
    const char *retries = stream_property_get(props, nprops, "lookup.max-retries");
    char *end = NULL;
    l->retries = 3;
    if (rows && ((l->max_rows = strtoll(rows, &end, 10)) < 0 || *end || end == rows)) {
        snprintf(err, errlen, "postgres option \"lookup.cache.max-rows\" must be a count, not \"%s\"", rows);
        return -1;
    }
    if (ttl && sql_parse_duration(ttl, &l->ttl_ms) != 0) {
        snprintf(err, errlen, "postgres option \"lookup.cache.ttl\" must be a duration (\"10 s\"), not \"%s\"", ttl);
        return -1;
    }
    if (retries && ((l->retries = strtoll(retries, &end, 10)) < 0 || *end || end == retries)) {
        snprintf(err, errlen, "postgres option \"lookup.max-retries\" must be a count, not \"%s\"", retries);
        return -1;
    }
    return 0;
}

struct pg_lookup *pg_lookup_open(const struct stream_property *props, int nprops, const struct schema *s,
                                 const int *key_cols, int nkeys, char *err, size_t errlen)
{
    const char *url = stream_property_get(props, nprops, "url"), *table = stream_property_get(props, nprops, "table");
    const char *password = stream_property_get(props, nprops, "password");
    if (!url || !table || (strncmp(url, "postgresql://", 13) != 0 && strncmp(url, "postgres://", 11) != 0)) {
        snprintf(err, errlen, "a postgres lookup table needs the options \"url\" (a postgresql:// URI) and \"table\"");
        return NULL;
    }
    if (nkeys < 1 || nkeys > LOOKUP_MAX_KEYS) {
        snprintf(err, errlen, "a postgres lookup takes 1 to %d key columns", LOOKUP_MAX_KEYS);
        return NULL;
    }
    struct pg_lookup *l = calloc(1, sizeof *l);
    if (!l || !(l->url = strdup(url)) || (password && !(l->password = strdup(password))) ||
        !(l->decoder = json_decoder_new(s, NULL))) {
        snprintf(err, errlen, "out of memory");
        pg_lookup_close(l);
        return NULL;
    }
    l->schema = s;
    l->nkeys = nkeys;
    for (int k = 0; k < nkeys; k++) {
        l->key_cols[k] = key_cols[k];
        l->types[k] = postgres_type_oid(s->fields[key_cols[k]].type);
    }
    char *name = NULL;
    int ok = cache_options(l, props, nprops, err, errlen) == 0;
    ok = ok && pg_lookup_connect(l, err, errlen) == 0 && (name = table_name(l, table, err, errlen)) != NULL;
    if (ok && build_sql(l, name) != 0) {
        snprintf(err, errlen, "out of memory");
        ok = 0;
    }
    free(name);
    if (ok && pg_lookup_connect(l, err, errlen) == 0) /* again: with the query prepared */
        return l;
    pg_lookup_close(l);
    return NULL;
}

static void entry_free(struct centry *e)
{
    if (!e)
        return;
    free(e->key);
    free(e->rows);
    free(e);
}

void pg_lookup_close(struct pg_lookup *l)
{
    if (!l)
        return;
    for (struct centry *e = l->head, *next; e; e = next) {
        next = e->next;
        entry_free(e);
    }
    free(l->buckets);
    PQfinish(l->conn);
    json_decoder_free(l->decoder);
    free(l->url);
    free(l->password);
    free(l->sql);
    free(l);
}

void pg_lookup_stats(const struct pg_lookup *l, struct pg_lookup_stats *out) { *out = l->stats; }

/* ---- The cache ---------------------------------------------------------------------------*/

static uint64_t key_hash(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
    return h;
}

static void lru_unlink(struct pg_lookup *l, struct centry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        l->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        l->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_front(struct pg_lookup *l, struct centry *e)
{
    e->next = l->head;
    if (l->head)
        l->head->prev = e;
    l->head = e;
    if (!l->tail)
        l->tail = e;
}

static void cache_remove(struct pg_lookup *l, struct centry *e)
{
    struct centry **pp = &l->buckets[e->hash % l->nbuckets];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(l, e);
    l->n--;
    entry_free(e);
}

static struct centry *cache_find(struct pg_lookup *l, const char *key, size_t n, uint64_t h, int64_t now)
{
    if (!l->nbuckets)
        return NULL;
    for (struct centry *e = l->buckets[h % l->nbuckets]; e; e = e->hnext)
        if (e->hash == h && e->keylen == n && memcmp(e->key, key, n) == 0) {
            if (l->ttl_ms > 0 && now - e->at >= l->ttl_ms) {
                cache_remove(l, e);
                return NULL;
            }
            lru_unlink(l, e);
            lru_front(l, e);
            return e;
        }
    return NULL;
}

/* Takes e (hash, key, rows set) into the cache, pushing out the least recently used. */
static void cache_add(struct pg_lookup *l, struct centry *e)
{
    if (!l->nbuckets) {
        size_t nb = l->max_rows < 1024 ? 1024 : (size_t)l->max_rows;
        if (!(l->buckets = calloc(nb, sizeof *l->buckets))) {
            entry_free(e);
            return;
        }
        l->nbuckets = nb;
    }
    while (l->n >= (size_t)l->max_rows && l->tail)
        cache_remove(l, l->tail);
    e->hnext = l->buckets[e->hash % l->nbuckets];
    l->buckets[e->hash % l->nbuckets] = e;
    lru_front(l, e);
    l->n++;
}

/* ---- Lookups -----------------------------------------------------------------------------*/

/* The key's parameter texts (params) and their join into key (arena a). -1 on out of memory. */
static int key_texts(struct pg_lookup *l, const struct value *keys, struct arena *a, const char **params, char **key,
                     size_t *len)
{
    int oom = 0;
    size_t n = 0;
    for (int k = 0; k < l->nkeys; k++) {
        params[k] = postgres_value_text(&keys[k], a, &oom);
        n += (params[k] ? strlen(params[k]) : 0) + 2;
    }
    char *s = oom ? NULL : arena_alloc(a, n + 1);
    if (!s)
        return -1;
    *len = 0;
    for (int k = 0; k < l->nkeys; k++) { /* "\x01text\x1f" per key, "\x02\x1f" for NULL */
        size_t m = params[k] ? strlen(params[k]) : 0;
        s[(*len)++] = params[k] ? '\x01' : '\x02';
        memcpy(s + *len, params[k] ? params[k] : "", m);
        *len += m;
        s[(*len)++] = '\x1f';
    }
    *key = s;
    return 0;
}

/* Runs the query; its rows' texts into a new entry. NULL with err filled. */
static struct centry *fetch(struct pg_lookup *l, const char *const *params, char *err, size_t errlen)
{
    char m[600];
    PGresult *res = NULL;
    for (int64_t attempt = 0; attempt <= l->retries; attempt++) {
        if (attempt > 0 && pg_lookup_connect(l, err, errlen) != 0)
            continue;
        res = PQexecPrepared(l->conn, "lookup", l->nkeys, params, NULL, NULL, 0);
        if (PQresultStatus(res) == PGRES_TUPLES_OK)
            break;
        snprintf(err, errlen, "postgres lookup: %s", pg_conn_message(PQerrorMessage(l->conn), m, sizeof m));
        PQclear(res);
        res = NULL;
    }
    if (!res)
        return NULL;
    struct centry *e = calloc(1, sizeof *e);
    size_t size = 1;
    for (int i = 0; i < PQntuples(res); i++)
        size += (size_t)PQgetlength(res, i, 0) + 1;
    if (!e || !(e->rows = malloc(size))) {
        free(e);
        PQclear(res);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t at = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        memcpy(e->rows + at, PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0) + 1);
        at += (size_t)PQgetlength(res, i, 0) + 1;
    }
    e->nrows = PQntuples(res);
    PQclear(res);
    l->stats.queries++;
    return e;
}

/* Decodes e's rows into *rows (arena a). */
static int decode_rows(struct pg_lookup *l, const struct centry *e, struct arena *a, struct value **rows, int *nrows,
                       char *err, size_t errlen)
{
    int nf = l->schema->nfields;
    struct value *out = arena_alloc(a, ((size_t)e->nrows * (size_t)nf + 1) * sizeof *out);
    if (!out) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *p = e->rows;
    for (int i = 0; i < e->nrows; i++) {
        size_t n = strlen(p);
        char why[256], *text = arena_strndup(a, p, n); /* the row's strings point into it */
        if (!text) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (json_decode_row(l->decoder, text, n, out + (size_t)i * (size_t)nf, a, why, sizeof why) != 0) {
            snprintf(err, errlen, "postgres lookup: a row of the table does not fit its schema: %s", why);
            return -1;
        }
        p += n + 1;
    }
    *rows = out;
    *nrows = e->nrows;
    return 0;
}

int pg_lookup_get(struct pg_lookup *l, const struct value *keys, int64_t now_ms, struct arena *a, struct value **rows,
                  int *nrows, char *err, size_t errlen)
{
    const char *params[LOOKUP_MAX_KEYS];
    char *key;
    size_t len;
    if (key_texts(l, keys, a, params, &key, &len) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    uint64_t h = key_hash(key, len);
    struct centry *e = l->max_rows > 0 ? cache_find(l, key, len, h, now_ms) : NULL;
    if (e) {
        l->stats.hits++;
        return decode_rows(l, e, a, rows, nrows, err, errlen);
    }
    if (!(e = fetch(l, params, err, errlen)))
        return -1;
    int rc = decode_rows(l, e, a, rows, nrows, err, errlen);
    e->hash = h;
    e->at = now_ms;
    e->keylen = len;
    if (rc == 0 && l->max_rows > 0 && (e->key = malloc(len + 1))) {
        memcpy(e->key, key, len);
        cache_add(l, e);
    } else {
        entry_free(e); /* the decoded rows live in the arena */
    }
    return rc;
}

/* ---- The plan's side ---------------------------------------------------------------------*/

static int plan_lookup(void *ctx, const struct value *keys, struct arena *a, struct value **rows, int *nrows,
                       struct sql_error *err)
{
    if (pg_lookup_get(ctx, keys, clock_wall_ms(), a, rows, nrows, err->message, sizeof err->message) == 0)
        return 0;
    err->line = err->column = 0;
    return -1;
}

int pg_lookup_attach(struct plan *p, int source, const char *backend, const struct stream_property *props, int nprops,
                     struct pg_lookup **out, char *err, size_t errlen)
{
    int cols[LOOKUP_MAX_KEYS];
    *out = NULL;
    if (strcmp(backend, "postgres") != 0 || !plan_source_preload(p, source))
        return 0;
    int n = plan_lookup_keys(p, source, cols, LOOKUP_MAX_KEYS);
    if (n <= 0) {
        snprintf(err, errlen,
                 "stream \"%s\" is a postgres table looked up by its columns: the ON condition must equate "
                 "columns of it (not expressions over them) with the left side",
                 plan_source_at(p, source));
        return -1;
    }
    if (!(*out = pg_lookup_open(props, nprops, plan_source_schema(p, source), cols, n, err, errlen)))
        return -1;
    plan_set_lookup(p, source, plan_lookup, *out);
    return 1;
}
