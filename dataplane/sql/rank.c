/* rank.c — Top-N, deduplication and Window Top-N per partition: each partition keeps its rows
 * sorted by (order keys, arrival), the changelog of a change is derived from the ranks before
 * and after it, and the whole state has a byte form for checkpoints. See rank.h. */
#include "dataplane/sql/rank.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/sql/lexer.h" /* sql_error_at */
#include "dataplane/sql/opstate.h"

#define RANK_MAX_COLS 1024

struct rank_entry {
    struct value *row; /* owned opstate_row_copy */
    uint64_t seq;      /* arrival order: breaks ties between equal order keys */
    size_t size;
};

struct rank_part {
    struct opstate_part base; /* first: keys, hash chain */
    struct rank_entry *e;     /* sorted by (order keys, seq) */
    int n, cap;
    int64_t window_end;            /* WINDOW_TOP_N */
    struct rank_part *prev, *next; /* all partitions, first seen first */
};

struct rank {
    struct rank_config cfg; /* arrays below are owned copies */
    enum value_type *col_types;
    int *part_cols;
    struct rank_order *order;
    struct opstate_table parts;
    struct rank_part *first, *last;
    struct value *out; /* ncols + 1 */
    uint64_t seq;
    int64_t watermark, min_end; /* WINDOW_TOP_N: last watermark; smallest open window end */
    struct rank_stats stats;
};

/* An error without a place in the query text (lexer.h). Returns -1. */
#define rank_fail(err, ...) sql_error_at(err, 0, 0, __VA_ARGS__)

/* ---- Configuration -----------------------------------------------------------------------*/

static int rank_config_check(const struct rank_config *c, struct sql_error *err)
{
    if (c->ncols < 1 || c->ncols > RANK_MAX_COLS || !c->col_types || c->npart < 0 || c->norder < 1 || c->limit < 1)
        return rank_fail(err, "rank: invalid configuration");
    for (int i = 0; i < c->npart; i++)
        if (c->part_cols[i] < 0 || c->part_cols[i] >= c->ncols)
            return rank_fail(err, "rank: partition column %d out of range", c->part_cols[i]);
    for (int i = 0; i < c->norder; i++)
        if (c->order[i].col < 0 || c->order[i].col >= c->ncols)
            return rank_fail(err, "rank: order column %d out of range", c->order[i].col);
    int dedup = c->mode == RANK_DEDUP_FIRST || c->mode == RANK_DEDUP_LAST;
    if (c->rank_start < 0 || c->rank_start > c->limit ||
        (c->rank_start > 1 && c->mode != RANK_TOP_N && c->mode != RANK_WINDOW_TOP_N))
        return rank_fail(err, "rank: the first rank must be between 1 and N (Top-N only)");
    if (dedup && (c->norder != 1 || c->limit != 1 || c->output_rank))
        return rank_fail(err, "rank: deduplication orders by one time column, keeps 1 row and outputs no rank");
    if (c->input_updating && c->mode != RANK_TOP_N)
        return rank_fail(err, "rank: only Top-N accepts an updating input");
    if (c->mode == RANK_WINDOW_TOP_N) {
        int found = 0;
        for (int i = 0; i < c->npart; i++)
            found |= c->part_cols[i] == c->window_end_col;
        if (!found || c->col_types[c->window_end_col] != VT_TIMESTAMP)
            return rank_fail(err, "rank: window Top-N partitions by its TIMESTAMP window_end column");
    }
    return 0;
}

struct rank *rank_new(const struct rank_config *cfg, struct sql_error *err)
{
    if (rank_config_check(cfg, err) < 0)
        return NULL;
    struct rank *r = calloc(1, sizeof *r);
    if (!r)
        goto oom;
    r->cfg = *cfg;
    r->col_types = malloc((size_t)cfg->ncols * sizeof *r->col_types);
    r->part_cols = malloc((size_t)(cfg->npart + 1) * sizeof *r->part_cols);
    r->order = malloc((size_t)cfg->norder * sizeof *r->order);
    r->out = calloc((size_t)cfg->ncols + 1, sizeof *r->out);
    if (!r->col_types || !r->part_cols || !r->order || !r->out)
        goto oom;
    memcpy(r->col_types, cfg->col_types, (size_t)cfg->ncols * sizeof *r->col_types);
    if (cfg->npart)
        memcpy(r->part_cols, cfg->part_cols, (size_t)cfg->npart * sizeof *r->part_cols);
    memcpy(r->order, cfg->order, (size_t)cfg->norder * sizeof *r->order);
    r->cfg.col_types = r->col_types;
    r->cfg.part_cols = r->part_cols;
    r->cfg.order = r->order;
    if (r->cfg.rank_start < 1)
        r->cfg.rank_start = 1;
    r->parts.nkeys = cfg->npart;
    r->watermark = INT64_MIN;
    r->min_end = INT64_MAX;
    return r;
oom:
    rank_free(r);
    rank_fail(err, "out of memory");
    return NULL;
}

static void part_free(struct rank *r, struct rank_part *p)
{
    for (int i = 0; i < p->n; i++) {
        r->stats.state_bytes -= p->e[i].size + sizeof(struct rank_entry);
        free(p->e[i].row);
    }
    r->stats.rows_kept -= (uint64_t)p->n;
    r->stats.state_bytes -= sizeof *p + (size_t)r->cfg.npart * sizeof(struct value);
    r->stats.partitions--;
    free(p->e);
    free(p->base.keys);
    free(p);
}

/* Unlinks p from the table and the list, and frees it. */
static void part_drop(struct rank *r, struct rank_part *p)
{
    opstate_remove(&r->parts, &p->base);
    if (p->prev)
        p->prev->next = p->next;
    else
        r->first = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        r->last = p->prev;
    part_free(r, p);
}

static void rank_clear(struct rank *r)
{
    while (r->first)
        part_drop(r, r->first);
    opstate_table_free(&r->parts);
    r->min_end = INT64_MAX;
}

void rank_free(struct rank *r)
{
    if (!r)
        return;
    rank_clear(r);
    free(r->col_types);
    free(r->part_cols);
    free(r->order);
    free(r->out);
    free(r);
}

int rank_output_width(const struct rank *r) { return r->cfg.ncols + (r->cfg.output_rank ? 1 : 0); }

void rank_stats(const struct rank *r, struct rank_stats *out) { *out = r->stats; }

/* ---- Ordering and partitions -------------------------------------------------------------*/

/* <0, 0, >0 as a sorts before, with, after b by the order keys. */
static int rank_compare(const struct rank *r, const struct value *a, const struct value *b)
{
    for (int i = 0; i < r->cfg.norder; i++) {
        const struct rank_order *o = &r->order[i];
        const struct value *x = &a[o->col], *y = &b[o->col];
        int c;
        if (x->type == VT_NULL || y->type == VT_NULL) {
            c = (x->type != VT_NULL) - (y->type != VT_NULL); /* NULL first */
            if (!o->nulls_first)
                c = -c;
        } else {
            c = value_compare(x, y);
            if (o->desc)
                c = -c;
        }
        if (c)
            return c;
    }
    return 0;
}

/* First index whose row sorts after row (upper) or not before it (lower). */
static int part_bound(const struct rank *r, const struct rank_part *p, const struct value *row, int upper)
{
    int lo = 0, hi = p->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int c = rank_compare(r, p->e[mid].row, row);
        if (c < 0 || (upper && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct rank_part *part_get(struct rank *r, const struct value *row)
{
    uint64_t h = opstate_hash_cols(row, r->part_cols, r->cfg.npart);
    struct rank_part *p = (struct rank_part *)opstate_find(&r->parts, row, r->part_cols, h);
    if (p)
        return p;
    struct value keys[RANK_MAX_COLS];
    for (int i = 0; i < r->cfg.npart; i++)
        keys[i] = row[r->part_cols[i]];
    p = calloc(1, sizeof *p);
    if (!p || !(p->base.keys = opstate_row_copy(keys, r->cfg.npart, NULL))) {
        free(p);
        return NULL;
    }
    p->base.hash = h;
    if (opstate_insert(&r->parts, &p->base) < 0) {
        free(p->base.keys);
        free(p);
        return NULL;
    }
    p->prev = r->last;
    if (r->last)
        r->last->next = p;
    else
        r->first = p;
    r->last = p;
    r->stats.partitions++;
    r->stats.state_bytes += sizeof *p + (size_t)r->cfg.npart * sizeof(struct value);
    return p;
}

/* Inserts a copy of row at index at (seq given). Returns 0 or -1. */
static int part_insert(struct rank *r, struct rank_part *p, int at, const struct value *row, uint64_t seq)
{
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 4;
        struct rank_entry *e = realloc(p->e, (size_t)cap * sizeof *e);
        if (!e)
            return -1;
        p->e = e;
        p->cap = cap;
    }
    struct rank_entry x = {.seq = seq};
    if (!(x.row = opstate_row_copy(row, r->cfg.ncols, &x.size)))
        return -1;
    memmove(&p->e[at + 1], &p->e[at], (size_t)(p->n - at) * sizeof *p->e);
    p->e[at] = x;
    p->n++;
    r->stats.rows_kept++;
    r->stats.state_bytes += x.size + sizeof x;
    return 0;
}

/* Removes entry at from p and returns it (the caller frees its row). */
static struct rank_entry part_take(struct rank *r, struct rank_part *p, int at)
{
    struct rank_entry x = p->e[at];
    memmove(&p->e[at], &p->e[at + 1], (size_t)(p->n - at - 1) * sizeof *p->e);
    p->n--;
    r->stats.rows_kept--;
    r->stats.state_bytes -= x.size + sizeof x;
    return x;
}

/* ---- Output ------------------------------------------------------------------------------*/

/* Emits row with rank number rn (1-based; appended when output_rank; 0 when not counted). Rows
 * of ranks before rank_start are not emitted. */
static int rank_emit(struct rank *r, rank_emit_fn emit, void *ctx, enum row_kind kind, const struct value *row,
                     int64_t rn)
{
    if (rn && rn < r->cfg.rank_start)
        return 0;
    const struct value *out = row;
    if (r->cfg.output_rank) {
        memcpy(r->out, row, (size_t)r->cfg.ncols * sizeof *row);
        r->out[r->cfg.ncols].type = VT_BIGINT;
        r->out[r->cfg.ncols].u.i = rn;
        out = r->out;
    }
    r->stats.rows_out++;
    return emit(ctx, kind, out);
}

/* A row was inserted at index at of p (now n rows): emits how ranks at..limit changed. */
static int emit_inserted(struct rank *r, struct rank_part *p, int at, rank_emit_fn emit, void *ctx)
{
    int64_t limit = r->cfg.limit;
    if (!r->cfg.output_rank && r->cfg.rank_start == 1) {
        if (p->n > limit && rank_emit(r, emit, ctx, ROW_DELETE, p->e[limit].row, 0) < 0)
            return -1;
        return rank_emit(r, emit, ctx, ROW_INSERT, p->e[at].row, 0);
    }
    for (int64_t k = at; k < limit && k < p->n; k++) {
        if (k + 1 < p->n) { /* rank k + 1 held e[k + 1] before */
            if (rank_emit(r, emit, ctx, ROW_UPDATE_BEFORE, p->e[k + 1].row, k + 1) < 0 ||
                rank_emit(r, emit, ctx, ROW_UPDATE_AFTER, p->e[k].row, k + 1) < 0)
                return -1;
        } else if (rank_emit(r, emit, ctx, ROW_INSERT, p->e[k].row, k + 1) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Row gone (at index at of p, now n rows) was removed: emits how ranks at..limit changed. */
static int emit_removed(struct rank *r, struct rank_part *p, int at, const struct value *gone, rank_emit_fn emit,
                        void *ctx)
{
    int64_t limit = r->cfg.limit;
    if (!r->cfg.output_rank && r->cfg.rank_start == 1) {
        if (rank_emit(r, emit, ctx, ROW_DELETE, gone, 0) < 0)
            return -1;
        return p->n >= limit ? rank_emit(r, emit, ctx, ROW_INSERT, p->e[limit - 1].row, 0) : 0;
    }
    for (int64_t k = at; k < limit && k <= p->n; k++) {
        const struct value *old = k == at ? gone : p->e[k - 1].row;
        if (k < p->n) {
            if (rank_emit(r, emit, ctx, ROW_UPDATE_BEFORE, old, k + 1) < 0 ||
                rank_emit(r, emit, ctx, ROW_UPDATE_AFTER, p->e[k].row, k + 1) < 0)
                return -1;
        } else if (rank_emit(r, emit, ctx, ROW_DELETE, old, k + 1) < 0) {
            return -1;
        }
    }
    return 0;
}

/* ---- Processing --------------------------------------------------------------------------*/

/* Adds row to its partition (Top-N and Window Top-N). */
static int topn_add(struct rank *r, const struct value *row, rank_emit_fn emit, void *ctx, struct sql_error *err)
{
    struct rank_part *p = part_get(r, row);
    if (!p)
        return rank_fail(err, "out of memory");
    int at = part_bound(r, p, row, 1);
    if (at >= r->cfg.limit && !r->cfg.input_updating)
        return 0; /* does not enter the top N, and nothing can make it enter later */
    if (part_insert(r, p, at, row, r->seq++) < 0)
        return rank_fail(err, "out of memory");
    int rc = 0;
    if (r->cfg.mode == RANK_WINDOW_TOP_N) {
        p->window_end = row[r->cfg.window_end_col].u.i;
        if (p->window_end < r->min_end)
            r->min_end = p->window_end;
    } else if (at < r->cfg.limit) {
        rc = emit_inserted(r, p, at, emit, ctx);
    }
    if (p->n > r->cfg.limit && !r->cfg.input_updating)
        free(part_take(r, p, p->n - 1).row);
    return rc;
}

/* Retracts a row equal to row (Top-N with an updating input). */
static int topn_retract(struct rank *r, const struct value *row, rank_emit_fn emit, void *ctx)
{
    uint64_t h = opstate_hash_cols(row, r->part_cols, r->cfg.npart);
    struct rank_part *p = (struct rank_part *)opstate_find(&r->parts, row, r->part_cols, h);
    int at = p ? part_bound(r, p, row, 0) : 0;
    for (; p && at < p->n && rank_compare(r, p->e[at].row, row) == 0; at++) {
        int k = 0;
        while (k < r->cfg.ncols && value_equal(&p->e[at].row[k], &row[k]))
            k++;
        if (k < r->cfg.ncols)
            continue;
        struct rank_entry gone = part_take(r, p, at);
        int rc = at < r->cfg.limit ? emit_removed(r, p, at, gone.row, emit, ctx) : 0;
        free(gone.row);
        if (p->n == 0)
            part_drop(r, p);
        return rc;
    }
    r->stats.retract_missing++;
    return 0;
}

static int dedup_add(struct rank *r, const struct value *row, rank_emit_fn emit, void *ctx, struct sql_error *err)
{
    struct rank_part *p = part_get(r, row);
    if (!p)
        return rank_fail(err, "out of memory");
    if (p->n == 0) {
        if (part_insert(r, p, 0, row, r->seq++) < 0)
            return rank_fail(err, "out of memory");
        return rank_emit(r, emit, ctx, ROW_INSERT, p->e[0].row, 0);
    }
    int col = r->order[0].col;
    int c = value_compare(&row[col], &p->e[0].row[col]);
    if (row[col].type == VT_NULL || p->e[0].row[col].type == VT_NULL)
        c = (row[col].type != VT_NULL) - (p->e[0].row[col].type != VT_NULL);
    if (r->cfg.mode == RANK_DEDUP_FIRST ? c >= 0 : c < 0)
        return 0;
    struct rank_entry old = part_take(r, p, 0);
    if (part_insert(r, p, 0, row, r->seq++) < 0) {
        p->e[0] = old; /* keep the old row */
        p->n = 1;
        r->stats.rows_kept++;
        r->stats.state_bytes += old.size + sizeof old;
        return rank_fail(err, "out of memory");
    }
    int rc = rank_emit(r, emit, ctx, ROW_UPDATE_BEFORE, old.row, 0);
    if (rc == 0)
        rc = rank_emit(r, emit, ctx, ROW_UPDATE_AFTER, p->e[0].row, 0);
    free(old.row);
    return rc;
}

int rank_process(struct rank *r, enum row_kind kind, const struct value *row, rank_emit_fn emit, void *ctx,
                 struct sql_error *err)
{
    r->stats.rows_in++;
    int accumulate = row_kind_is_accumulate(kind);
    if (!accumulate && !r->cfg.input_updating)
        return rank_fail(err, "rank: %s received by an operator that accepts only inserts", row_kind_name(kind));
    switch (r->cfg.mode) {
    case RANK_DEDUP_FIRST:
    case RANK_DEDUP_LAST:
        return dedup_add(r, row, emit, ctx, err);
    case RANK_WINDOW_TOP_N:
        if (row[r->cfg.window_end_col].type != VT_TIMESTAMP)
            return rank_fail(err, "rank: window_end is NULL");
        if (row[r->cfg.window_end_col].u.i - 1 <= r->watermark) {
            r->stats.late_dropped++;
            return 0;
        }
        return topn_add(r, row, emit, ctx, err);
    default:
        return accumulate ? topn_add(r, row, emit, ctx, err) : topn_retract(r, row, emit, ctx);
    }
}

/* ---- Window Top-N firing -----------------------------------------------------------------*/

static int fire_cmp(const void *a, const void *b)
{
    const struct rank_part *x = *(struct rank_part *const *)a, *y = *(struct rank_part *const *)b;
    return (x->window_end > y->window_end) - (x->window_end < y->window_end);
}

/* Emits and drops every partition whose window ends at or before end (inclusive). */
static int fire_until(struct rank *r, int64_t end, rank_emit_fn emit, void *ctx, struct sql_error *err)
{
    size_t n = 0;
    for (struct rank_part *p = r->first; p; p = p->next)
        n += p->window_end <= end;
    struct rank_part **fire = malloc((n ? n : 1) * sizeof *fire);
    if (!fire)
        return rank_fail(err, "out of memory");
    n = 0;
    r->min_end = INT64_MAX;
    for (struct rank_part *p = r->first; p; p = p->next) {
        if (p->window_end <= end)
            fire[n++] = p;
        else if (p->window_end < r->min_end)
            r->min_end = p->window_end;
    }
    /* the list is first-seen order; a stable sort by window end keeps it within a window */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && fire_cmp(&fire[j - 1], &fire[j]) > 0; j--) {
            struct rank_part *t = fire[j];
            fire[j] = fire[j - 1];
            fire[j - 1] = t;
        }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; rc == 0 && k < fire[i]->n && k < r->cfg.limit; k++)
            rc = rank_emit(r, emit, ctx, ROW_INSERT, fire[i]->e[k].row, k + 1);
        part_drop(r, fire[i]);
    }
    free(fire);
    return rc;
}

int rank_watermark(struct rank *r, int64_t watermark, rank_emit_fn emit, void *ctx, struct sql_error *err)
{
    if (r->cfg.mode != RANK_WINDOW_TOP_N || watermark <= r->watermark)
        return 0;
    r->watermark = watermark;
    if (r->min_end == INT64_MAX || r->min_end - 1 > watermark)
        return 0;
    return fire_until(r, watermark == INT64_MAX ? INT64_MAX : watermark + 1, emit, ctx, err);
}

int rank_finish(struct rank *r, rank_emit_fn emit, void *ctx, struct sql_error *err)
{
    return rank_watermark(r, INT64_MAX, emit, ctx, err);
}

/* ---- Snapshot ----------------------------------------------------------------------------
 * magic, config fingerprint, seq, watermark, counters, then per partition (first seen first):
 * window_end, n, and per row: seq, values. A partition's keys come from its first row. */

static const char rank_magic[8] = "RANKv1\n";

static void put_config(struct window_writer *w, const struct rank *r)
{
    const int64_t head[] = {r->cfg.mode,  r->cfg.ncols,       r->cfg.npart,          r->cfg.norder,
                            r->cfg.limit, r->cfg.output_rank, r->cfg.input_updating, r->cfg.rank_start};
    for (size_t i = 0; i < sizeof head / sizeof *head; i++)
        opstate_put_i64(w, head[i]);
    for (int i = 0; i < r->cfg.npart; i++)
        opstate_put_i64(w, r->part_cols[i]);
    for (int i = 0; i < r->cfg.norder; i++)
        opstate_put_i64(w, r->order[i].col * 4 + r->order[i].desc * 2 + r->order[i].nulls_first);
}

int rank_snapshot(const struct rank *r, char **buf, size_t *len)
{
    struct window_writer w = {0};
    window_put(&w, rank_magic, sizeof rank_magic);
    put_config(&w, r);
    opstate_put_i64(&w, (int64_t)r->seq);
    opstate_put_i64(&w, r->watermark);
    const uint64_t counters[] = {r->stats.rows_in, r->stats.rows_out, r->stats.late_dropped, r->stats.retract_missing};
    window_put(&w, counters, sizeof counters);
    opstate_put_i64(&w, (int64_t)r->stats.partitions);
    for (const struct rank_part *p = r->first; p; p = p->next) {
        opstate_put_i64(&w, p->window_end);
        opstate_put_i64(&w, p->n);
        for (int i = 0; i < p->n; i++) {
            opstate_put_i64(&w, (int64_t)p->e[i].seq);
            opstate_put_row(&w, p->e[i].row, r->cfg.ncols);
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

/* Reads one partition's rows (at least one) into a new partition. */
static void read_part(struct rank *r, struct window_reader *rd)
{
    int64_t end = opstate_get_i64(rd), n = opstate_get_i64(rd);
    if (n < 1 || n > (int64_t)1 << 40)
        rd->bad = 1;
    struct rank_part *p = NULL;
    for (int64_t i = 0; i < n && !rd->bad; i++) {
        uint64_t seq = (uint64_t)opstate_get_i64(rd);
        struct value *row = opstate_get_row(rd, r->cfg.ncols, r->col_types, NULL);
        if (row && !p && (p = part_get(r, row)) && p->n)
            rd->bad = 1; /* the same partition twice */
        if (!rd->bad &&
            (!p || (p->n && rank_compare(r, p->e[p->n - 1].row, row) > 0) || part_insert(r, p, p->n, row, seq) < 0))
            rd->bad = 1;
        free(row);
    }
    if (p && !rd->bad) {
        p->window_end = end;
        if (r->cfg.mode == RANK_WINDOW_TOP_N && end < r->min_end)
            r->min_end = end;
    }
}

int rank_restore(struct rank *r, const char *buf, size_t len, struct sql_error *err)
{
    struct window_writer fp = {0};
    put_config(&fp, r);
    struct window_reader rd = {buf, len, 0, 0};
    int same = opstate_head_matches(&rd, rank_magic, &fp);
    free(fp.p);
    if (!same)
        return rank_fail(err, "rank: snapshot is not from this operator");
    rank_clear(r);
    r->seq = (uint64_t)opstate_get_i64(&rd);
    r->watermark = opstate_get_i64(&rd);
    uint64_t counters[4];
    window_get(&rd, counters, sizeof counters);
    int64_t nparts = opstate_get_i64(&rd);
    for (int64_t i = 0; i < nparts && !rd.bad; i++)
        read_part(r, &rd);
    if (rd.bad || rd.pos != rd.len) {
        rank_clear(r);
        return rank_fail(err, "rank: malformed snapshot");
    }
    r->stats.rows_in = counters[0];
    r->stats.rows_out = counters[1];
    r->stats.late_dropped = counters[2];
    r->stats.retract_missing = counters[3];
    return 0;
}
