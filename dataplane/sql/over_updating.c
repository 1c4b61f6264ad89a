/* over_updating.c — ROWS OVER aggregates over an updating input: per partition the current
 * rows in (rowtime, values) order; a change re-emits the rows whose frame it touched. See
 * over_updating.h. */
#include "dataplane/sql/over_updating.h"

#include <stdlib.h>
#include <string.h>

#include "dataplane/sql/lexer.h" /* sql_error_at */
#include "dataplane/sql/opstate.h"

#define UPD_MAX_COLS 1024
#define upd_fail(err, ...) sql_error_at(err, 0, 0, __VA_ARGS__)

struct upd_row {
    struct value *row; /* owned opstate_row_copy */
    size_t size;
};

struct upd_part {
    struct opstate_part base;
    struct upd_row *rows; /* sorted by (rowtime, values) */
    size_t n, cap;
    struct upd_part *next;
};

struct over_upd {
    struct over_config cfg; /* arrays below are owned copies */
    enum value_type *col_types;
    int *part_cols, *ident;
    struct over_agg *aggs;
    struct opstate_table parts;
    struct upd_part *first, *last;
    struct value *out;  /* ncols + naggs */
    struct value *olds; /* aggregates of the affected rows before a change (capolds values) */
    size_t capolds;
    struct value *cur; /* naggs: aggregates after it */
    struct over_stats stats;
    uint64_t retract_missing;
};

static void upd_clear(struct over_upd *u)
{
    for (struct upd_part *p = u->first, *next; p; p = next) {
        next = p->next;
        for (size_t i = 0; i < p->n; i++)
            free(p->rows[i].row);
        free(p->rows);
        free(p->base.keys);
        free(p);
    }
    u->first = u->last = NULL;
    opstate_table_free(&u->parts);
    struct over_stats s = u->stats;
    u->stats = (struct over_stats){
        .rows_in = s.rows_in, .rows_out = s.rows_out, .late_dropped = s.late_dropped, .watermark = s.watermark};
}

void over_upd_free(struct over_upd *u)
{
    if (!u)
        return;
    upd_clear(u);
    free(u->col_types);
    free(u->part_cols);
    free(u->ident);
    free(u->aggs);
    free(u->out);
    free(u->olds);
    free(u->cur);
    free(u);
}

struct over_upd *over_upd_new(const struct over_config *cfg, struct sql_error *err)
{
    struct over_upd *u = calloc(1, sizeof *u);
    if (!u)
        goto oom;
    u->cfg = *cfg;
    u->col_types = malloc((size_t)cfg->ncols * sizeof *u->col_types);
    u->part_cols = malloc((size_t)(cfg->npart + 1) * sizeof *u->part_cols);
    u->ident = malloc((size_t)(cfg->npart + 1) * sizeof *u->ident);
    u->aggs = malloc((size_t)cfg->naggs * sizeof *u->aggs);
    u->out = calloc((size_t)(cfg->ncols + cfg->naggs), sizeof *u->out);
    u->cur = calloc((size_t)cfg->naggs, sizeof *u->cur);
    if (!u->col_types || !u->part_cols || !u->ident || !u->aggs || !u->out || !u->cur)
        goto oom;
    memcpy(u->col_types, cfg->col_types, (size_t)cfg->ncols * sizeof *u->col_types);
    for (int i = 0; i < cfg->npart; i++) {
        u->part_cols[i] = cfg->part_cols[i];
        u->ident[i] = i;
    }
    memcpy(u->aggs, cfg->aggs, (size_t)cfg->naggs * sizeof *u->aggs);
    u->cfg.col_types = u->col_types;
    u->cfg.part_cols = u->part_cols;
    u->cfg.aggs = u->aggs;
    u->parts.nkeys = cfg->npart;
    u->stats.watermark = INT64_MIN;
    return u;
oom:
    over_upd_free(u);
    upd_fail(err, "out of memory");
    return NULL;
}

void over_upd_stats(const struct over_upd *u, struct over_stats *out) { *out = u->stats; }
uint64_t over_upd_retract_missing(const struct over_upd *u) { return u->retract_missing; }

/* ---- Partitions and their order ----------------------------------------------------------*/

static struct upd_part *part_find(struct over_upd *u, const struct value *row, const int *cols, int create)
{
    uint64_t h = opstate_hash_cols(row, cols, u->cfg.npart);
    struct upd_part *p = (struct upd_part *)opstate_find(&u->parts, row, cols, h);
    if (p || !create)
        return p;
    struct value keys[UPD_MAX_COLS];
    for (int i = 0; i < u->cfg.npart; i++)
        keys[i] = row[cols[i]];
    size_t size = 0;
    if (!(p = calloc(1, sizeof *p)) || !(p->base.keys = opstate_row_copy(keys, u->cfg.npart, &size))) {
        free(p);
        return NULL;
    }
    p->base.hash = h;
    if (opstate_insert(&u->parts, &p->base) < 0) {
        free(p->base.keys);
        free(p);
        return NULL;
    }
    if (u->last)
        u->last->next = p;
    else
        u->first = p;
    u->last = p;
    u->stats.partitions++;
    u->stats.state_bytes += sizeof *p + size;
    return p;
}

/* Rows compare by rowtime, then by their values in column order (NULL first). */
static int row_cmp(const struct over_upd *u, const struct value *a, const struct value *b)
{
    int t = u->cfg.time_col;
    if (a[t].u.i != b[t].u.i)
        return a[t].u.i < b[t].u.i ? -1 : 1;
    for (int i = 0; i < u->cfg.ncols; i++) {
        int an = a[i].type == VT_NULL, bn = b[i].type == VT_NULL;
        if (an || bn) {
            if (an != bn)
                return an ? -1 : 1;
            continue;
        }
        int c = value_compare(&a[i], &b[i]);
        if (c)
            return c;
    }
    return 0;
}

/* First index whose row is not before row (exact: 1 when that row equals it). */
static size_t lower_bound(const struct over_upd *u, const struct upd_part *p, const struct value *row, int *exact)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (row_cmp(u, p->rows[mid].row, row) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *exact = lo < p->n && row_cmp(u, p->rows[lo].row, row) == 0;
    return lo;
}

/* ---- Aggregates over a frame -------------------------------------------------------------*/

/* Aggregate a over rows [from, to] of p into *out (strings borrowed from the rows). */
static void frame_result(const struct over_upd *u, const struct upd_part *p, const struct over_agg *a, size_t from,
                         size_t to, struct value *out)
{
    int64_t count = 0, isum = 0;
    double dsum = 0;
    const struct value *best = NULL;
    int dbl = a->col >= 0 && u->col_types[a->col] == VT_DOUBLE;
    for (size_t i = from; i <= to; i++) {
        const struct value *v = a->col >= 0 ? &p->rows[i].row[a->col] : NULL;
        if (v && v->type == VT_NULL)
            continue;
        count++;
        if (a->kind == AGG_SUM || a->kind == AGG_AVG) {
            if (dbl)
                dsum += v->u.d;
            else
                isum += v->u.i;
        } else if ((a->kind == AGG_MIN || a->kind == AGG_MAX) && v) {
            int c = best ? value_compare(v, best) : 0;
            if (!best || (a->kind == AGG_MIN ? c < 0 : c > 0))
                best = v;
        }
    }
    out->type = a->result;
    if (a->kind == AGG_COUNT)
        out->u.i = count;
    else if (count == 0)
        out->type = VT_NULL;
    else if (a->kind == AGG_SUM || a->kind == AGG_AVG) {
        int64_t n = a->kind == AGG_AVG ? count : 1;
        if (a->result == VT_DOUBLE)
            out->u.d = (dbl ? dsum : (double)isum) / (double)n;
        else
            out->u.i = dbl ? (int64_t)(dsum / (double)n) : isum / n;
    } else
        *out = *best;
}

/* The aggregates of row i of p into aggs (naggs values). */
static void row_aggs(const struct over_upd *u, const struct upd_part *p, size_t i, struct value *aggs)
{
    size_t from = u->cfg.unbounded || (int64_t)i < u->cfg.preceding ? 0 : i - (size_t)u->cfg.preceding;
    for (int k = 0; k < u->cfg.naggs; k++)
        frame_result(u, p, &u->aggs[k], from, i, &aggs[k]);
}

static int emit_row(struct over_upd *u, enum row_kind kind, const struct value *row, const struct value *aggs,
                    over_emit_fn emit, void *ctx)
{
    memcpy(u->out, row, (size_t)u->cfg.ncols * sizeof *row);
    memcpy(u->out + u->cfg.ncols, aggs, (size_t)u->cfg.naggs * sizeof *aggs);
    u->stats.rows_out++;
    return emit(ctx, kind, u->out);
}

static int aggs_equal(const struct over_upd *u, const struct value *a, const struct value *b)
{
    for (int k = 0; k < u->cfg.naggs; k++)
        if (!value_equal(&a[k], &b[k]))
            return 0;
    return 1;
}

/* How many rows from index `at` on (at most, to the partition's end) see a change at `at`. */
static size_t affected(const struct over_upd *u, const struct upd_part *p, size_t at)
{
    size_t left = p->n > at ? p->n - at : 0;
    if (u->cfg.unbounded || (uint64_t)u->cfg.preceding >= left)
        return left;
    return (size_t)u->cfg.preceding;
}

/* ---- Changes -----------------------------------------------------------------------------*/

/* The aggregates of rows [from, from + n) of p into u->olds. Returns 0 or -1 (no memory). */
static int save_olds(struct over_upd *u, const struct upd_part *p, size_t from, size_t n)
{
    size_t need = (n + 1) * (size_t)u->cfg.naggs;
    if (need > u->capolds) {
        struct value *bigger = realloc(u->olds, need * sizeof *bigger);
        if (!bigger)
            return -1;
        u->olds = bigger;
        u->capolds = need;
    }
    for (size_t k = 0; k < n; k++)
        row_aggs(u, p, from + k, &u->olds[k * (size_t)u->cfg.naggs]);
    return 0;
}

/* Rows [from, from + n) of p, whose aggregates were u->olds: -U old, +U new where they changed. */
static int emit_updates(struct over_upd *u, const struct upd_part *p, size_t from, size_t n, const struct value *olds,
                        over_emit_fn emit, void *ctx)
{
    for (size_t k = 0; k < n; k++) {
        const struct value *row = p->rows[from + k].row, *old = &olds[k * (size_t)u->cfg.naggs];
        row_aggs(u, p, from + k, u->cur);
        if (aggs_equal(u, old, u->cur))
            continue;
        if (emit_row(u, ROW_UPDATE_BEFORE, row, old, emit, ctx) < 0 ||
            emit_row(u, ROW_UPDATE_AFTER, row, u->cur, emit, ctx) < 0)
            return -1;
    }
    return 0;
}

static int upd_insert(struct over_upd *u, struct upd_part *p, const struct value *row, over_emit_fn emit, void *ctx,
                      struct sql_error *err)
{
    int exact;
    size_t at = lower_bound(u, p, row, &exact), n = affected(u, p, at);
    struct upd_row x = {0};
    if (save_olds(u, p, at, n) < 0 || !(x.row = opstate_row_copy(row, u->cfg.ncols, &x.size)))
        return upd_fail(err, "out of memory");
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        struct upd_row *bigger = realloc(p->rows, cap * sizeof *bigger);
        if (!bigger) {
            free(x.row);
            return upd_fail(err, "out of memory");
        }
        p->rows = bigger;
        p->cap = cap;
    }
    memmove(&p->rows[at + 1], &p->rows[at], (p->n - at) * sizeof *p->rows);
    p->rows[at] = x;
    p->n++;
    u->stats.rows_in_frames++;
    u->stats.state_bytes += x.size + sizeof x;
    row_aggs(u, p, at, u->cur);
    if (emit_row(u, ROW_INSERT, p->rows[at].row, u->cur, emit, ctx) < 0)
        return -1;
    return emit_updates(u, p, at + 1, n, u->olds, emit, ctx);
}

static int upd_remove(struct over_upd *u, struct upd_part *p, const struct value *row, over_emit_fn emit, void *ctx,
                      struct sql_error *err)
{
    int exact;
    size_t at = lower_bound(u, p, row, &exact);
    if (!exact) {
        u->retract_missing++;
        return 0;
    }
    size_t n = affected(u, p, at + 1);
    if (save_olds(u, p, at, n + 1) < 0)
        return upd_fail(err, "out of memory");
    struct upd_row x = p->rows[at];
    memmove(&p->rows[at], &p->rows[at + 1], (p->n - at - 1) * sizeof *p->rows);
    p->n--;
    u->stats.rows_in_frames--;
    u->stats.state_bytes -= x.size + sizeof x;
    /* the removed row's values stay alive until every old result that may point at them went */
    int rc = emit_row(u, ROW_DELETE, x.row, u->olds, emit, ctx) < 0 ||
                     emit_updates(u, p, at, n, u->olds + u->cfg.naggs, emit, ctx) < 0
                 ? -1
                 : 0;
    free(x.row);
    return rc;
}

int over_upd_push(struct over_upd *u, enum row_kind kind, const struct value *row, over_emit_fn emit, void *ctx,
                  struct sql_error *err)
{
    u->stats.rows_in++;
    const struct value *t = &row[u->cfg.time_col];
    if (t->type != VT_TIMESTAMP)
        return upd_fail(err, "over: the rowtime of a row is NULL");
    int add = kind == ROW_INSERT || kind == ROW_UPDATE_AFTER;
    struct upd_part *p = part_find(u, row, u->part_cols, add);
    if (!p && add)
        return upd_fail(err, "out of memory");
    if (!p) {
        u->retract_missing++;
        return 0;
    }
    return add ? upd_insert(u, p, row, emit, ctx, err) : upd_remove(u, p, row, emit, ctx, err);
}

/* ---- Snapshot ----------------------------------------------------------------------------
 * magic, config fingerprint, counters, then per partition (first seen first): keys, the
 * number of rows, the rows in order. */

static const char upd_magic[8] = "OVERUP1";

static void put_config(struct window_writer *w, const struct over_upd *u)
{
    const int64_t head[] = {
        u->cfg.ncols, u->cfg.npart, u->cfg.time_col, u->cfg.unbounded, u->cfg.unbounded ? 0 : u->cfg.preceding,
        u->cfg.naggs};
    for (size_t i = 0; i < sizeof head / sizeof *head; i++)
        opstate_put_i64(w, head[i]);
    for (int i = 0; i < u->cfg.ncols; i++)
        opstate_put_i64(w, u->col_types[i]);
    for (int i = 0; i < u->cfg.npart; i++)
        opstate_put_i64(w, u->part_cols[i]);
    for (int i = 0; i < u->cfg.naggs; i++) {
        opstate_put_i64(w, u->aggs[i].kind);
        opstate_put_i64(w, u->aggs[i].col);
        opstate_put_i64(w, u->aggs[i].result);
    }
}

int over_upd_snapshot(const struct over_upd *u, char **buf, size_t *len)
{
    struct window_writer w = {0};
    window_put(&w, upd_magic, sizeof upd_magic);
    put_config(&w, u);
    const uint64_t counters[] = {u->stats.rows_in, u->stats.rows_out, u->retract_missing};
    window_put(&w, counters, sizeof counters);
    opstate_put_i64(&w, (int64_t)u->stats.partitions);
    for (const struct upd_part *p = u->first; p; p = p->next) {
        opstate_put_row(&w, p->base.keys, u->cfg.npart);
        opstate_put_i64(&w, (int64_t)p->n);
        for (size_t i = 0; i < p->n; i++)
            opstate_put_row(&w, p->rows[i].row, u->cfg.ncols);
    }
    if (w.oom) {
        free(w.p);
        return -1;
    }
    *buf = w.p;
    *len = w.len;
    return 0;
}

static void read_part(struct over_upd *u, struct window_reader *r)
{
    enum value_type types[UPD_MAX_COLS];
    for (int i = 0; i < u->cfg.npart; i++)
        types[i] = u->col_types[u->part_cols[i]];
    struct value *keys = opstate_get_row(r, u->cfg.npart, types, NULL);
    uint64_t before = u->stats.partitions;
    struct upd_part *p = keys ? part_find(u, keys, u->ident, 1) : NULL;
    free(keys);
    int64_t n = p ? opstate_get_i64(r) : -1;
    if (!p || u->stats.partitions == before || n < 0 || (size_t)n > r->len ||
        (n && !(p->rows = calloc((size_t)n, sizeof *p->rows)))) {
        r->bad = 1;
        return;
    }
    p->cap = (size_t)n;
    for (int64_t i = 0; i < n && !r->bad; i++) {
        struct upd_row x = {0};
        if (!(x.row = opstate_get_row(r, u->cfg.ncols, u->col_types, &x.size)))
            return;
        p->rows[p->n++] = x;
        u->stats.rows_in_frames++;
        u->stats.state_bytes += x.size + sizeof x;
        if (x.row[u->cfg.time_col].type != VT_TIMESTAMP || (i > 0 && row_cmp(u, p->rows[i - 1].row, x.row) > 0))
            r->bad = 1;
    }
}

int over_upd_restore(struct over_upd *u, const char *buf, size_t len, struct sql_error *err)
{
    struct window_writer fp = {0};
    put_config(&fp, u);
    struct window_reader r = {buf, len, 0, 0};
    int same = opstate_head_matches(&r, upd_magic, &fp);
    free(fp.p);
    if (!same)
        return upd_fail(err, "over: snapshot is not from this operator");
    upd_clear(u);
    uint64_t counters[3];
    window_get(&r, counters, sizeof counters);
    int64_t nparts = opstate_get_i64(&r);
    for (int64_t i = 0; i < nparts && !r.bad; i++)
        read_part(u, &r);
    if (r.bad || r.pos != r.len) {
        upd_clear(u);
        return upd_fail(err, "over: malformed snapshot");
    }
    u->stats.rows_in = counters[0];
    u->stats.rows_out = counters[1];
    u->retract_missing = counters[2];
    return 0;
}
