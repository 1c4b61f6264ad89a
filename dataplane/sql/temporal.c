/* temporal.c — temporal joins (temporal.h): the versions of a versioned table per key, the left
 * rows that wait for the watermark (a heap by time), processing-time lookups, and the state's
 * byte form for checkpoints. */
#include "dataplane/sql/temporal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/sql/eval.h"
#include "dataplane/sql/lexer.h"
#include "dataplane/sql/opstate.h"

static int tfail(struct sql_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int tfail(struct sql_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sql_error_vset(err, 0, 0, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- Planning ----------------------------------------------------------------------------*/

/* 1 when the ON keys equate every column of the table's PRIMARY KEY with the left side. */
static int key_covered(const struct schema *table, const struct join_config *c)
{
    for (int i = 0; i < table->nprimary_key; i++) {
        int found = 0;
        for (int k = 0; k < c->nkeys && !found; k++)
            found = c->right_keys[k]->fn == eval_column && c->right_keys[k]->index == table->primary_key[i];
        if (!found)
            return 0;
    }
    return 1;
}

static int event_time_table(const struct ast_join *aj, const struct schema *table, struct join_config *c,
                            struct sql_error *err)
{
    const struct token *at = aj->right->source_token;
    const char *name = aj->right->source;
    if (!table)
        return sql_error_tok(err, at,
                             "a temporal join on event time reads a versioned table: a stream with a PRIMARY KEY "
                             "and a WATERMARK, not a subquery, view or window");
    if (table->nprimary_key == 0)
        return sql_error_tok(err, at,
                             "\"%s\" is not a versioned table: it has no PRIMARY KEY (a temporal join on event "
                             "time needs an upsert stream with a PRIMARY KEY and a WATERMARK)",
                             name);
    if (table->rowtime_field < 0)
        return sql_error_tok(err, at,
                             "\"%s\" is not a versioned table: it has no WATERMARK (a temporal join on event time "
                             "needs an upsert stream with a PRIMARY KEY and a WATERMARK)",
                             name);
    if (!key_covered(table, c))
        return sql_error_tok(err, aj->token,
                             "the ON condition of a temporal join must equate every column of \"%s\"'s PRIMARY KEY "
                             "with the left side",
                             name);
    c->temporal = JOIN_TEMPORAL_EVENT;
    c->right_time = table->rowtime_field;
    return 0;
}

int temporal_configure(const struct ast_join *aj, int as_of_col, const struct schema *left, const struct schema *table,
                       struct join_config *c, struct sql_error *err)
{
    const struct ast *a = aj->as_of;
    if (as_of_col < 0)
        return sql_error_at(err, a->line, a->column,
                            "FOR SYSTEM_TIME AS OF must name a time attribute of the join's left side (its "
                            "event time or a PROCTIME() column)");
    int event = as_of_col == left->rowtime_field, proc = as_of_col == left->proctime_column - 1;
    if (!event && !proc)
        return sql_error_at(err, a->line, a->column,
                            "FOR SYSTEM_TIME AS OF %s: \"%s\" is not a time attribute (a column with a WATERMARK, "
                            "or PROCTIME())",
                            a->name, a->name);
    if (aj->type != JOIN_INNER && aj->type != JOIN_LEFT)
        return sql_error_tok(err, aj->token, "a temporal join is INNER or LEFT; %s JOIN is not supported",
                             aj->type == JOIN_RIGHT ? "RIGHT" : "FULL");
    c->interval = 0;
    c->window_key = -1;
    c->left_time = event ? left->rowtime_field : -1;
    c->nright_pk = table ? table->nprimary_key : 0;
    for (int i = 0; i < c->nright_pk; i++)
        c->right_pk[i] = table->primary_key[i];
    if (event)
        return event_time_table(aj, table, c, err);
    if (!table)
        return sql_error_tok(err, aj->right->source_token,
                             "a lookup join (FOR SYSTEM_TIME AS OF a PROCTIME() column) reads a table: a stream, not "
                             "a subquery, view or window");
    c->temporal = JOIN_TEMPORAL_PROC;
    return 0;
}

/* ---- State -------------------------------------------------------------------------------*/

/* A version of a key (event time: from `time` on; processing time: a row of the table). */
struct tver {
    int64_t time, seq;
    int alive; /* 0: the key has no row from `time` on (a -U or -D) */
    struct value *row;
    size_t size;
};

struct tpart {
    struct opstate_part base; /* keys */
    struct tver *v;           /* by (time, seq) */
    int n, cap;
};

/* A left row waiting for the watermark. */
struct tpend {
    int64_t time, seq;
    struct value *row;
    size_t size;
};

struct temporal {
    struct join_config c;
    struct opstate_table t;
    int key_cols[JOIN_MAX_KEYS];
    struct tpend *heap; /* least (time, seq) first */
    size_t nheap, capheap;
    int64_t wm, wm_swept, seq;
    struct value *out;
    struct join_stats stats;
    size_t bytes;
    plan_lookup_fn lookup; /* a lookup join's table queried per key (NULL: the right side's rows) */
    void *lookup_ctx;
};

/* What one call works with. */
struct tcall {
    struct temporal *t;
    struct arena *scratch;
    join_emit_fn emit;
    void *ctx;
    struct sql_error *err;
};

struct temporal *temporal_new(const struct join_config *c, struct sql_error *err)
{
    struct temporal *t = calloc(1, sizeof *t);
    if (!t || !(t->out = calloc((size_t)(c->nleft + c->nright) + 1, sizeof *t->out))) {
        free(t);
        tfail(err, "out of memory");
        return NULL;
    }
    t->c = *c;
    t->t.nkeys = c->nkeys;
    for (int k = 0; k < c->nkeys; k++)
        t->key_cols[k] = k;
    t->wm = t->wm_swept = INT64_MIN;
    return t;
}

static void ver_drop(struct temporal *t, struct tpart *p, int from, int n)
{
    for (int i = from; i < from + n; i++) {
        t->bytes -= p->v[i].size + sizeof *p->v;
        free(p->v[i].row);
    }
    memmove(&p->v[from], &p->v[from + n], (size_t)(p->n - from - n) * sizeof *p->v);
    p->n -= n;
}

static void part_free(struct temporal *t, struct tpart *p)
{
    opstate_remove(&t->t, &p->base);
    ver_drop(t, p, 0, p->n);
    t->bytes -= sizeof *p;
    free(p->v);
    free(p->base.keys);
    free(p);
}

void temporal_free(struct temporal *t)
{
    if (!t)
        return;
    for (size_t b = 0; b < t->t.cap;)
        if (opstate_slot(&t->t, b))
            part_free(t, (struct tpart *)opstate_slot(&t->t, b)); /* another may have moved into slot b */
        else
            b++;
    opstate_table_free(&t->t);
    for (size_t i = 0; i < t->nheap; i++)
        free(t->heap[i].row);
    free(t->heap);
    free(t->out);
    free(t);
}

/* ---- The table's rows --------------------------------------------------------------------*/

static struct tpart *part_get(struct temporal *t, const struct value *keys, int create)
{
    uint64_t h = opstate_hash_cols(keys, t->key_cols, t->c.nkeys);
    struct tpart *p = (struct tpart *)opstate_find(&t->t, keys, t->key_cols, h);
    if (p || !create)
        return p;
    if (!(p = calloc(1, sizeof *p)))
        return NULL;
    p->base.hash = h;
    if (!(p->base.keys = opstate_row_copy(keys, t->c.nkeys, NULL)) || opstate_insert(&t->t, &p->base) < 0) {
        free(p->base.keys);
        free(p);
        return NULL;
    }
    t->bytes += sizeof *p;
    return p;
}

/* Inserts a version at index i (row copied). Returns 0 or -1 (no memory). */
static int ver_insert(struct temporal *t, struct tpart *p, int i, const struct tver *v, const struct value *row)
{
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 2;
        struct tver *g = realloc(p->v, (size_t)cap * sizeof *g);
        if (!g)
            return -1;
        p->v = g;
        p->cap = cap;
    }
    struct tver nv = *v;
    if (!(nv.row = opstate_row_copy(row, t->c.nright, &nv.size)))
        return -1;
    memmove(&p->v[i + 1], &p->v[i], (size_t)(p->n - i) * sizeof *p->v);
    p->v[i] = nv;
    p->n++;
    t->bytes += nv.size + sizeof *p->v;
    return 0;
}

/* 1 when a and b (right rows) are the same row: equal PRIMARY KEY, or equal everywhere. */
static int same_row(const struct temporal *t, const struct value *a, const struct value *b)
{
    int n = t->c.nright_pk ? t->c.nright_pk : t->c.nright;
    for (int k = 0; k < n; k++) {
        int col = t->c.nright_pk ? t->c.right_pk[k] : k;
        if (!value_equal(&a[col], &b[col]) || a[col].type != b[col].type)
            return 0;
    }
    return 1;
}

/* Processing time: the row replaces (or, retracting, removes) its equal, or is added. */
static int table_apply(struct temporal *t, struct tpart *p, int add, const struct value *row)
{
    for (int i = 0; i < p->n; i++)
        if (same_row(t, p->v[i].row, row)) {
            ver_drop(t, p, i, 1);
            break;
        }
    struct tver v = {.time = 0, .seq = ++t->seq, .alive = 1};
    return add ? ver_insert(t, p, p->n, &v, row) : 0;
}

/* Event time: a version from the row's time on, after those at or before it. */
static int version_add(struct temporal *t, struct tpart *p, int add, const struct value *row, int64_t time)
{
    int i = p->n;
    while (i > 0 && p->v[i - 1].time > time)
        i--;
    struct tver v = {.time = time, .seq = ++t->seq, .alive = add};
    return ver_insert(t, p, i, &v, row);
}

/* ---- Joining -----------------------------------------------------------------------------*/

/* The side's keys of row into keys: 1 when one is NULL (it matches nothing), -1 on error. */
static int eval_keys(struct tcall *x, int side, const struct value *row, struct value *keys)
{
    struct temporal *t = x->t;
    struct expr **exprs = side == 0 ? t->c.left_keys : t->c.right_keys;
    struct eval_ctx ec = {.row = row, .scratch = x->scratch, .err = x->err};
    int null = 0;
    for (int k = 0; k < t->c.nkeys; k++) {
        if (expr_eval(exprs[k], &ec, &keys[k]) < 0) {
            t->stats.eval_errors++;
            return -1;
        }
        null |= keys[k].type == VT_NULL;
    }
    return null;
}

/* The joined row of left row l and right row r (NULL: padded) into t->out. */
static void joined(struct temporal *t, const struct value *l, const struct value *r)
{
    memcpy(t->out, l, (size_t)t->c.nleft * sizeof *l);
    for (int i = 0; i < t->c.nright; i++)
        t->out[t->c.nleft + i] = r ? r[i] : (struct value){.type = VT_NULL};
}

/* Emits the join of l and r when it passes the residual: 1 when it did, 0 when not, -1. */
static int emit_match(struct tcall *x, const struct value *l, const struct value *r)
{
    struct temporal *t = x->t;
    joined(t, l, r);
    if (t->c.residual) {
        struct eval_ctx ec = {.row = t->out, .scratch = x->scratch, .err = x->err};
        struct value v;
        if (expr_eval(t->c.residual, &ec, &v) < 0) {
            t->stats.eval_errors++;
            return -1;
        }
        if (v.type != VT_BOOLEAN || !v.u.b)
            return 0;
    }
    return x->emit(x->ctx, ROW_INSERT, t->out) < 0 ? -1 : 1;
}

/* Joins left row l, of time `time` (event time), with the table: emits what it gives. */
static int join_left(struct tcall *x, const struct value *l, int64_t time)
{
    struct temporal *t = x->t;
    struct value keys[JOIN_MAX_KEYS];
    int null = eval_keys(x, 0, l, keys), n = 0;
    if (null < 0)
        return -1;
    struct tpart *p = null ? NULL : part_get(t, keys, 0);
    if (p && t->c.temporal == JOIN_TEMPORAL_EVENT) {
        int i = p->n - 1;
        while (i >= 0 && p->v[i].time > time)
            i--;
        if (i >= 0 && p->v[i].alive && (n = emit_match(x, l, p->v[i].row)) < 0)
            return -1;
    }
    if (!null && t->lookup) {
        struct value *rows;
        int nrows;
        if (t->lookup(t->lookup_ctx, keys, x->scratch, &rows, &nrows, x->err) < 0)
            return -1;
        for (int i = 0; i < nrows; i++) {
            int m = emit_match(x, l, rows + (size_t)i * (size_t)t->c.nright);
            if (m < 0)
                return -1;
            n += m;
        }
    }
    for (int i = 0; p && t->c.temporal == JOIN_TEMPORAL_PROC && i < p->n; i++) {
        int m = emit_match(x, l, p->v[i].row);
        if (m < 0)
            return -1;
        n += m;
    }
    if (n == 0 && t->c.type == JOIN_LEFT) {
        joined(t, l, NULL);
        return x->emit(x->ctx, ROW_INSERT, t->out);
    }
    return 0;
}

/* The event time of a row (column col): 0, or -1 when it has none. */
static int row_time(struct tcall *x, const struct value *row, int col, const char *side, int64_t *time)
{
    if (col < 0 || row[col].type != VT_TIMESTAMP) {
        x->t->stats.eval_errors++;
        return tfail(x->err, "the %s row of the temporal join has no event time (its time attribute is NULL)", side);
    }
    *time = row[col].u.i;
    return 0;
}

/* ---- Waiting left rows: a heap by (time, seq) --------------------------------------------*/

static int pend_less(const struct tpend *a, const struct tpend *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static void pend_swap(struct tpend *a, struct tpend *b)
{
    struct tpend x = *a;
    *a = *b;
    *b = x;
}

static int heap_push(struct temporal *t, const struct tpend *e)
{
    if (t->nheap == t->capheap) {
        size_t cap = t->capheap ? t->capheap * 2 : 64;
        struct tpend *g = realloc(t->heap, cap * sizeof *g);
        if (!g)
            return -1;
        t->heap = g;
        t->capheap = cap;
    }
    size_t i = t->nheap++;
    t->heap[i] = *e;
    t->bytes += e->size + sizeof *e;
    while (i > 0 && pend_less(&t->heap[i], &t->heap[(i - 1) / 2])) {
        pend_swap(&t->heap[i], &t->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    return 0;
}

/* Takes the least entry off the heap into *e. */
static void heap_pop(struct temporal *t, struct tpend *e)
{
    *e = t->heap[0];
    t->bytes -= e->size + sizeof *e;
    t->heap[0] = t->heap[--t->nheap];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->nheap && pend_less(&t->heap[l], &t->heap[m]))
            m = l;
        if (r < t->nheap && pend_less(&t->heap[r], &t->heap[m]))
            m = r;
        if (m == i)
            break;
        pend_swap(&t->heap[i], &t->heap[m]);
        i = m;
    }
}

static int left_row(struct tcall *x, const struct value *row)
{
    struct temporal *t = x->t;
    if (t->c.temporal == JOIN_TEMPORAL_PROC)
        return join_left(x, row, 0);
    int64_t time = 0;
    if (row_time(x, row, t->c.left_time, "left", &time) < 0)
        return -1;
    if (t->wm != INT64_MIN && time <= t->wm) /* late: the versions still kept decide */
        return join_left(x, row, time);
    struct tpend e = {.time = time, .seq = ++t->seq};
    if (!(e.row = opstate_row_copy(row, t->c.nleft, &e.size)) || heap_push(t, &e) < 0) {
        free(e.row);
        return tfail(x->err, "out of memory");
    }
    return 0;
}

static int right_row(struct tcall *x, enum row_kind kind, const struct value *row)
{
    struct temporal *t = x->t;
    struct value keys[JOIN_MAX_KEYS];
    int add = row_kind_is_accumulate(kind), null = eval_keys(x, 1, row, keys);
    int64_t time = 0;
    if (null != 0)
        return null < 0 ? -1 : 0; /* a row with a NULL key is no one's version */
    if (t->c.temporal == JOIN_TEMPORAL_EVENT && row_time(x, row, t->c.right_time, "versioned table's", &time) < 0)
        return -1;
    struct tpart *p = part_get(t, keys, 1);
    if (!p)
        return tfail(x->err, "out of memory");
    int rc = t->c.temporal == JOIN_TEMPORAL_EVENT ? version_add(t, p, add, row, time) : table_apply(t, p, add, row);
    if (p->n == 0)
        part_free(t, p);
    return rc < 0 ? tfail(x->err, "out of memory") : 0;
}

int temporal_process(struct temporal *t, int side, enum row_kind kind, const struct value *row, struct arena *scratch,
                     join_emit_fn emit, void *ctx, struct sql_error *err)
{
    struct tcall x = {t, scratch, emit, ctx, err};
    t->stats.rows_in++;
    if (side == 0)
        return row_kind_is_accumulate(kind) ? left_row(&x, row) : 0; /* the left side is append-only */
    return right_row(&x, kind, row);
}

/* Drops the versions of each key older than its latest at or before wm (and that one too when
 * it ends the key's rows). */
static void sweep(struct temporal *t, int64_t wm)
{
    for (size_t b = 0; b < t->t.cap;) {
        struct tpart *p = (struct tpart *)opstate_slot(&t->t, b);
        if (!p) {
            b++;
            continue;
        }
        int i = 0;
        while (i + 1 < p->n && p->v[i + 1].time <= wm)
            i++;
        if (i < p->n && p->v[i].time <= wm)
            ver_drop(t, p, 0, p->v[i].alive ? i : i + 1);
        if (p->n == 0)
            part_free(t, p); /* another may have moved into slot b */
        else
            b++;
    }
}

int temporal_watermark(struct temporal *t, int64_t wm, struct arena *scratch, join_emit_fn emit, void *ctx,
                       struct sql_error *err)
{
    if (t->c.temporal != JOIN_TEMPORAL_EVENT || wm <= t->wm)
        return 0;
    t->wm = wm;
    struct tcall x = {t, scratch, emit, ctx, err};
    while (t->nheap > 0 && t->heap[0].time <= wm) {
        struct tpend e;
        heap_pop(t, &e);
        int rc = join_left(&x, e.row, e.time);
        free(e.row);
        if (rc < 0)
            return -1;
    }
    /* a sweep visits every key: at most once per second of event time */
    if (wm == INT64_MAX || (t->wm_swept != INT64_MIN && wm - t->wm_swept < 1000))
        return 0;
    t->wm_swept = wm;
    sweep(t, wm);
    return 0;
}

int temporal_lookup_keys(const struct temporal *t, int *cols, int max)
{
    if (t->c.temporal != JOIN_TEMPORAL_PROC || t->c.nkeys > max)
        return -1;
    for (int k = 0; k < t->c.nkeys; k++) {
        if (t->c.right_keys[k]->fn != eval_column)
            return -1;
        cols[k] = t->c.right_keys[k]->index;
    }
    return t->c.nkeys;
}

void temporal_set_lookup(struct temporal *t, plan_lookup_fn fn, void *ctx)
{
    t->lookup = fn;
    t->lookup_ctx = ctx;
}

void temporal_stats(const struct temporal *t, struct join_stats *out)
{
    *out = t->stats;
    out->state_bytes = t->bytes;
}

/* ---- Snapshot ----------------------------------------------------------------------------
 * "TEMPORL1", rows_in, the watermark, the last sweep's, the sequence; the waiting left rows
 * (count, then time, seq and row each); the keys (count, then per key its values, its version
 * count and per version time, seq, alive and row). */

int temporal_snapshot(const struct temporal *t, char **buf, size_t *len)
{
    struct window_writer w = {0};
    window_put(&w, "TEMPORL1", 8);
    opstate_put_i64(&w, (int64_t)t->stats.rows_in);
    opstate_put_i64(&w, t->wm);
    opstate_put_i64(&w, t->wm_swept);
    opstate_put_i64(&w, t->seq);
    opstate_put_i64(&w, (int64_t)t->nheap);
    for (size_t i = 0; i < t->nheap; i++) {
        opstate_put_i64(&w, t->heap[i].time);
        opstate_put_i64(&w, t->heap[i].seq);
        opstate_put_row(&w, t->heap[i].row, t->c.nleft);
    }
    opstate_put_i64(&w, (int64_t)t->t.n);
    for (size_t b = 0; b < t->t.cap; b++) {
        const struct tpart *p = (const struct tpart *)opstate_slot(&t->t, b);
        if (!p)
            continue;
        opstate_put_row(&w, p->base.keys, t->c.nkeys);
        opstate_put_i64(&w, p->n);
        for (int i = 0; i < p->n; i++) {
            opstate_put_i64(&w, p->v[i].time);
            opstate_put_i64(&w, p->v[i].seq);
            opstate_put_i64(&w, p->v[i].alive);
            opstate_put_row(&w, p->v[i].row, t->c.nright);
        }
    }
    if (w.oom) {
        free(w.p);
        return -1;
    }
    *buf = w.p;
    *len = w.len;
    return 0;
}

static int read_pending(struct temporal *t, struct window_reader *r)
{
    int64_t n = opstate_get_i64(r);
    for (int64_t i = 0; i < n && !r->bad; i++) {
        struct tpend e = {0};
        e.time = opstate_get_i64(r);
        e.seq = opstate_get_i64(r);
        if (!(e.row = opstate_get_row(r, t->c.nleft, t->c.types, &e.size)) || heap_push(t, &e) < 0) {
            free(e.row);
            return -1;
        }
    }
    return r->bad ? -1 : 0;
}

static int read_table(struct temporal *t, struct window_reader *r)
{
    int64_t nparts = opstate_get_i64(r);
    for (int64_t k = 0; k < nparts && !r->bad; k++) {
        struct value *keys = opstate_get_row(r, t->c.nkeys, t->c.key_types, NULL);
        struct tpart *p = keys ? part_get(t, keys, 1) : NULL;
        free(keys);
        if (!p)
            return -1;
        int64_t n = opstate_get_i64(r);
        for (int64_t i = 0; i < n && !r->bad; i++) {
            struct tver v = {0};
            v.time = opstate_get_i64(r);
            v.seq = opstate_get_i64(r);
            v.alive = (int)opstate_get_i64(r);
            struct value *row = opstate_get_row(r, t->c.nright, t->c.types + t->c.nleft, NULL);
            int rc = row ? ver_insert(t, p, p->n, &v, row) : -1;
            free(row);
            if (rc < 0)
                return -1;
        }
    }
    return r->bad ? -1 : 0;
}

int temporal_restore(struct temporal *t, const char *buf, size_t len, struct sql_error *err)
{
    struct window_reader r = {buf, len, 0, 0};
    char magic[8];
    window_get(&r, magic, 8);
    if (r.bad || memcmp(magic, "TEMPORL1", 8) != 0)
        return tfail(err, "checkpoint state is not a temporal join's");
    t->stats.rows_in = (uint64_t)opstate_get_i64(&r);
    t->wm = opstate_get_i64(&r);
    t->wm_swept = opstate_get_i64(&r);
    t->seq = opstate_get_i64(&r);
    if (read_pending(t, &r) < 0 || read_table(t, &r) < 0 || r.pos != r.len)
        return tfail(err, "checkpoint state of a temporal join is truncated or corrupt");
    return 0;
}
