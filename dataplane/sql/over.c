/* over.c — running OVER aggregates: rows held in a heap by (rowtime, arrival) until the
 * watermark passes them, then folded into their partition's frame (a FIFO of rows for bounded
 * frames, with incremental COUNT/SUM/AVG and monotonic queues for MIN/MAX) and emitted with
 * the frame's results; plus the byte form of that state. See over.h. */
#include "dataplane/sql/over.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/sql/lexer.h" /* sql_error_at */
#include "dataplane/sql/opstate.h"
#include "dataplane/sql/over_updating.h"

#define OVER_MAX_COLS 1024

/* A row with its arrival number, as held, and as kept in a frame. */
struct over_row {
    int64_t ts;
    uint64_t seq;
    struct value *row; /* owned opstate_row_copy */
    size_t size;
    struct over_part *part;
    int in_frame; /* a batch row whose copy its frame took */
};

/* MIN/MAX over a sliding frame: values in the frame that no later value beats, best first. */
struct mono_item {
    uint64_t seq;
    const struct value *v; /* into a frame row */
};
struct mono {
    struct mono_item *a;
    size_t head, n, cap;
};

struct over_acc {
    int64_t count; /* rows (COUNT(*)) or non-NULL arguments */
    union {
        int64_t i;
        double d;
    } sum;
    struct value *best; /* unbounded MIN/MAX: owned copy of one value, or NULL */
    size_t best_size;
    struct mono mono; /* bounded MIN/MAX */
};

struct over_part {
    struct opstate_part base;
    struct over_row *f; /* bounded frames: rows of the frame, oldest first, from f[head] */
    size_t head, n, cap;
    struct over_acc *acc; /* naggs */
    uint64_t batch;       /* the batch that last processed it */
    struct over_part *next;
};

struct over {
    struct over_config cfg; /* arrays below are owned copies */
    enum value_type *col_types;
    int *part_cols, *ident;
    struct over_agg *aggs;
    struct opstate_table parts;
    struct over_part *first, *last;
    struct over_row *heap; /* held rows, min-heap by (ts, seq) */
    size_t nheap, capheap;
    struct over_row *batch; /* rows of one rowtime being processed */
    size_t capbatch;
    uint64_t seq, nbatch;
    struct value *out;
    struct over_stats stats;
    struct over_upd *upd; /* input_updating: the operator that runs it */
};

/* An error without a place in the query text (lexer.h). Returns -1. */
#define over_fail(err, ...) sql_error_at(err, 0, 0, __VA_ARGS__)

static int is_minmax(enum agg_kind k) { return k == AGG_MIN || k == AGG_MAX; }

/* ---- Configuration -----------------------------------------------------------------------*/

static int over_agg_check(const struct over_config *c, const struct over_agg *a, struct sql_error *err)
{
    if (a->kind != AGG_COUNT && a->kind != AGG_SUM && a->kind != AGG_AVG && !is_minmax(a->kind))
        return over_fail(err, "over: only COUNT, SUM, AVG, MIN and MAX run over a window");
    if (a->col < -1 || a->col >= c->ncols || (a->col < 0 && a->kind != AGG_COUNT))
        return over_fail(err, "over: aggregate column %d out of range", a->col);
    enum value_type t = a->col >= 0 ? c->col_types[a->col] : VT_BIGINT;
    if ((a->kind == AGG_SUM || a->kind == AGG_AVG) && t != VT_BIGINT && t != VT_DOUBLE)
        return over_fail(err, "over: SUM and AVG need a numeric argument");
    return 0;
}

static int over_config_check(const struct over_config *c, struct sql_error *err)
{
    if (c->ncols < 1 || c->ncols > OVER_MAX_COLS || !c->col_types || c->npart < 0 || c->naggs < 1 ||
        (!c->unbounded && c->preceding < 0))
        return over_fail(err, "over: invalid configuration");
    if (c->time_col < 0 || c->time_col >= c->ncols || c->col_types[c->time_col] != VT_TIMESTAMP)
        return over_fail(err, "over: ORDER BY needs the TIMESTAMP rowtime column");
    for (int i = 0; i < c->npart; i++)
        if (c->part_cols[i] < 0 || c->part_cols[i] >= c->ncols)
            return over_fail(err, "over: partition column %d out of range", c->part_cols[i]);
    for (int i = 0; i < c->naggs; i++)
        if (over_agg_check(c, &c->aggs[i], err) < 0)
            return -1;
    return 0;
}

struct over *over_new(const struct over_config *cfg, struct sql_error *err)
{
    if (over_config_check(cfg, err) < 0)
        return NULL;
    struct over *o = calloc(1, sizeof *o);
    if (!o)
        goto oom;
    o->cfg = *cfg;
    o->col_types = malloc((size_t)cfg->ncols * sizeof *o->col_types);
    o->part_cols = malloc((size_t)(cfg->npart + 1) * sizeof *o->part_cols);
    o->ident = malloc((size_t)(cfg->npart + 1) * sizeof *o->ident);
    o->aggs = malloc((size_t)cfg->naggs * sizeof *o->aggs);
    o->out = calloc((size_t)(cfg->ncols + cfg->naggs), sizeof *o->out);
    if (!o->col_types || !o->part_cols || !o->ident || !o->aggs || !o->out)
        goto oom;
    memcpy(o->col_types, cfg->col_types, (size_t)cfg->ncols * sizeof *o->col_types);
    for (int i = 0; i < cfg->npart; i++) {
        o->part_cols[i] = cfg->part_cols[i];
        o->ident[i] = i;
    }
    memcpy(o->aggs, cfg->aggs, (size_t)cfg->naggs * sizeof *o->aggs);
    o->cfg.col_types = o->col_types;
    o->cfg.part_cols = o->part_cols;
    o->cfg.aggs = o->aggs;
    o->parts.nkeys = cfg->npart;
    o->stats.watermark = INT64_MIN;
    if (cfg->input_updating && cfg->frame != OVER_ROWS) {
        over_free(o);
        over_fail(err, "over: an updating input needs a ROWS frame");
        return NULL;
    }
    if (cfg->input_updating && !(o->upd = over_upd_new(&o->cfg, err))) {
        over_free(o);
        return NULL;
    }
    return o;
oom:
    over_free(o);
    over_fail(err, "out of memory");
    return NULL;
}

static void part_free(struct over *o, struct over_part *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->f[p->head + i].row);
    for (int i = 0; p->acc && i < o->cfg.naggs; i++) {
        free(p->acc[i].best);
        free(p->acc[i].mono.a);
    }
    free(p->acc);
    free(p->f);
    free(p->base.keys);
    free(p);
}

static void over_clear(struct over *o)
{
    for (struct over_part *p = o->first, *next; p; p = next) {
        next = p->next;
        part_free(o, p);
    }
    o->first = o->last = NULL;
    opstate_table_free(&o->parts);
    for (size_t i = 0; i < o->nheap; i++)
        free(o->heap[i].row);
    o->nheap = 0;
    uint64_t in = o->stats.rows_in, out = o->stats.rows_out, late = o->stats.late_dropped;
    int64_t wm = o->stats.watermark;
    memset(&o->stats, 0, sizeof o->stats);
    o->stats = (struct over_stats){.rows_in = in, .rows_out = out, .late_dropped = late, .watermark = wm};
}

void over_free(struct over *o)
{
    if (!o)
        return;
    over_clear(o);
    over_upd_free(o->upd);
    free(o->heap);
    free(o->batch);
    free(o->col_types);
    free(o->part_cols);
    free(o->ident);
    free(o->aggs);
    free(o->out);
    free(o);
}

int over_output_width(const struct over *o) { return o->cfg.ncols + o->cfg.naggs; }

void over_stats(const struct over *o, struct over_stats *out)
{
    if (o->upd) {
        over_upd_stats(o->upd, out);
        out->watermark = o->stats.watermark;
        return;
    }
    *out = o->stats;
}

/* ---- Partitions --------------------------------------------------------------------------*/

/* The partition of keys (values laid out by cols), created when missing. NULL on no memory. */
static struct over_part *part_get(struct over *o, const struct value *row, const int *cols)
{
    uint64_t h = opstate_hash_cols(row, cols, o->cfg.npart);
    struct over_part *p = (struct over_part *)opstate_find(&o->parts, row, cols, h);
    if (p)
        return p;
    struct value keys[OVER_MAX_COLS];
    for (int i = 0; i < o->cfg.npart; i++)
        keys[i] = row[cols[i]];
    size_t size = 0;
    p = calloc(1, sizeof *p);
    if (!p || !(p->acc = calloc((size_t)o->cfg.naggs, sizeof *p->acc)) ||
        !(p->base.keys = opstate_row_copy(keys, o->cfg.npart, &size))) {
        if (p)
            free(p->acc);
        free(p);
        return NULL;
    }
    p->base.hash = h;
    if (opstate_insert(&o->parts, &p->base) < 0) {
        part_free(o, p);
        return NULL;
    }
    if (o->last)
        o->last->next = p;
    else
        o->first = p;
    o->last = p;
    o->stats.partitions++;
    o->stats.state_bytes += sizeof *p + size + (size_t)o->cfg.naggs * sizeof *p->acc;
    return p;
}

/* ---- Queues ------------------------------------------------------------------------------*/

/* Room for one more item at the back of a FIFO of n items from head (cap items of size). */
static int fifo_room(void **a, size_t *head, size_t n, size_t *cap, size_t size)
{
    if (*head + n < *cap)
        return 0;
    if (*head > 0) {
        memmove(*a, (char *)*a + *head * size, n * size);
        *head = 0;
        if (n < *cap)
            return 0;
    }
    size_t ncap = *cap ? *cap * 2 : 8;
    void *b = realloc(*a, ncap * size);
    if (!b)
        return -1;
    *a = b;
    *cap = ncap;
    return 0;
}

/* Pushes v (row seq) on a MIN (or MAX) queue, dropping the values it beats. */
static int mono_push(struct mono *m, int max, const struct value *v, uint64_t seq)
{
    while (m->n > 0) {
        int c = value_compare(m->a[m->head + m->n - 1].v, v);
        if (max ? c > 0 : c < 0)
            break;
        m->n--;
    }
    void *a = m->a;
    if (fifo_room(&a, &m->head, m->n, &m->cap, sizeof *m->a) < 0)
        return -1;
    m->a = a;
    m->a[m->head + m->n++] = (struct mono_item){seq, v};
    return 0;
}

/* ---- Aggregates --------------------------------------------------------------------------*/

static int acc_add(struct over *o, const struct over_agg *a, struct over_acc *s, const struct value *row, uint64_t seq)
{
    const struct value *v = a->col >= 0 ? &row[a->col] : NULL;
    if (v && v->type == VT_NULL)
        return 0;
    s->count++;
    if (a->kind == AGG_SUM || a->kind == AGG_AVG) {
        if (v->type == VT_DOUBLE)
            s->sum.d += v->u.d;
        else
            s->sum.i = (int64_t)((uint64_t)s->sum.i + (uint64_t)v->u.i); /* wraps like Flink's SUM */
    } else if (is_minmax(a->kind) && !o->cfg.unbounded) {
        return mono_push(&s->mono, a->kind == AGG_MAX, v, seq);
    } else if (is_minmax(a->kind)) {
        int c = s->best ? value_compare(v, s->best) : 0;
        if (!s->best || (a->kind == AGG_MIN ? c < 0 : c > 0)) {
            size_t size;
            struct value *copy = opstate_row_copy(v, 1, &size);
            if (!copy)
                return -1;
            o->stats.state_bytes += size - s->best_size;
            free(s->best);
            s->best = copy;
            s->best_size = size;
        }
    }
    return 0;
}

static void acc_retract(const struct over_agg *a, struct over_acc *s, const struct value *row, uint64_t seq)
{
    const struct value *v = a->col >= 0 ? &row[a->col] : NULL;
    if (v && v->type == VT_NULL)
        return;
    s->count--;
    if (a->kind == AGG_SUM || a->kind == AGG_AVG) {
        if (v->type == VT_DOUBLE)
            s->sum.d -= v->u.d;
        else
            s->sum.i = (int64_t)((uint64_t)s->sum.i - (uint64_t)v->u.i);
    } else if (is_minmax(a->kind) && s->mono.n && s->mono.a[s->mono.head].seq == seq) {
        s->mono.head++;
        if (--s->mono.n == 0)
            s->mono.head = 0;
    }
}

static void acc_result(const struct over *o, const struct over_agg *a, const struct over_acc *s, struct value *out)
{
    out->type = a->result;
    int dbl_arg = a->col >= 0 && o->col_types[a->col] == VT_DOUBLE;
    if (a->kind == AGG_COUNT) {
        out->u.i = s->count;
    } else if (s->count == 0) {
        out->type = VT_NULL;
    } else if (a->kind == AGG_SUM || a->kind == AGG_AVG) {
        double d = dbl_arg ? s->sum.d : (double)s->sum.i;
        int64_t n = a->kind == AGG_AVG ? s->count : 1;
        if (a->result == VT_DOUBLE)
            out->u.d = d / (double)n;
        else
            out->u.i = dbl_arg ? (int64_t)(d / (double)n) : s->sum.i / n;
    } else if (o->cfg.unbounded ? !s->best : !s->mono.n) {
        out->type = VT_NULL; /* (only after restoring an inconsistent snapshot) */
    } else {
        *out = o->cfg.unbounded ? *s->best : *s->mono.a[s->mono.head].v;
    }
}

/* ---- Holding rows ------------------------------------------------------------------------*/

static int row_before(const struct over_row *a, const struct over_row *b)
{
    return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

static int heap_push(struct over *o, struct over_row x)
{
    if (o->nheap == o->capheap) {
        size_t cap = o->capheap ? o->capheap * 2 : 64;
        struct over_row *h = realloc(o->heap, cap * sizeof *h);
        if (!h)
            return -1;
        o->heap = h;
        o->capheap = cap;
    }
    size_t i = o->nheap++;
    while (i > 0 && row_before(&x, &o->heap[(i - 1) / 2])) {
        o->heap[i] = o->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    o->heap[i] = x;
    return 0;
}

static struct over_row heap_pop(struct over *o)
{
    struct over_row top = o->heap[0], x = o->heap[--o->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= o->nheap)
            break;
        if (c + 1 < o->nheap && row_before(&o->heap[c + 1], &o->heap[c]))
            c++;
        if (!row_before(&o->heap[c], &x))
            break;
        o->heap[i] = o->heap[c];
        i = c;
    }
    if (o->nheap)
        o->heap[i] = x;
    return top;
}

int over_push(struct over *o, enum row_kind kind, const struct value *row, over_emit_fn emit, void *ctx,
              struct sql_error *err)
{
    return o->upd ? over_upd_push(o->upd, kind, row, emit, ctx, err) : over_process(o, kind, row, err);
}

int over_process(struct over *o, enum row_kind kind, const struct value *row, struct sql_error *err)
{
    if (o->upd)
        return over_fail(err, "over: an updating input is fed through over_push");
    o->stats.rows_in++;
    if (kind != ROW_INSERT)
        return over_fail(err, "over: %s received by an operator that accepts only inserts", row_kind_name(kind));
    const struct value *t = &row[o->cfg.time_col];
    if (t->type != VT_TIMESTAMP)
        return over_fail(err, "over: the rowtime of a row is NULL");
    if (t->u.i <= o->stats.watermark) {
        o->stats.late_dropped++;
        return 0;
    }
    struct over_row x = {.ts = t->u.i, .seq = o->seq++};
    if (!(x.part = part_get(o, row, o->part_cols)) || !(x.row = opstate_row_copy(row, o->cfg.ncols, &x.size)))
        return over_fail(err, "out of memory");
    if (heap_push(o, x) < 0) {
        free(x.row);
        return over_fail(err, "out of memory");
    }
    o->stats.rows_held++;
    o->stats.state_bytes += x.size + sizeof x;
    return 0;
}

/* ---- Processing --------------------------------------------------------------------------*/

/* Drops the oldest row of p's frame, retracting its values. */
static void frame_pop(struct over *o, struct over_part *p)
{
    struct over_row *x = &p->f[p->head];
    for (int i = 0; i < o->cfg.naggs; i++)
        acc_retract(&o->aggs[i], &p->acc[i], x->row, x->seq);
    o->stats.rows_in_frames--;
    o->stats.state_bytes -= x->size + sizeof *x;
    free(x->row);
    p->head++;
    if (--p->n == 0)
        p->head = 0;
}

/* Folds x into p; a bounded frame takes x->row (in_frame set), else the caller frees it. */
static int fold(struct over *o, struct over_part *p, struct over_row *x)
{
    for (int i = 0; i < o->cfg.naggs; i++)
        if (acc_add(o, &o->aggs[i], &p->acc[i], x->row, x->seq) < 0)
            return -1;
    if (o->cfg.unbounded)
        return 0;
    void *f = p->f;
    if (fifo_room(&f, &p->head, p->n, &p->cap, sizeof *p->f) < 0)
        return -1; /* (only MIN/MAX queues hold the row: it stays alive in the batch) */
    p->f = f;
    p->f[p->head + p->n++] = *x;
    x->in_frame = 1; /* its bytes move from the held rows to the frame */
    o->stats.rows_in_frames++;
    return 0;
}

static int over_emit(struct over *o, const struct over_part *p, const struct value *row, over_emit_fn emit, void *ctx)
{
    memcpy(o->out, row, (size_t)o->cfg.ncols * sizeof *row);
    for (int i = 0; i < o->cfg.naggs; i++)
        acc_result(o, &o->aggs[i], &p->acc[i], &o->out[o->cfg.ncols + i]);
    o->stats.rows_out++;
    return emit(ctx, ROW_INSERT, o->out);
}

/* Processes the batch rows of p's partition from index i (all of one rowtime); folds without
 * emitting when quiet (after emit stopped). */
static int process_part(struct over *o, size_t i, size_t n, over_emit_fn emit, void *ctx, struct sql_error *err,
                        int quiet)
{
    struct over_part *p = o->batch[i].part;
    int64_t ts = o->batch[i].ts;
    int rc = quiet ? -1 : 0, range = o->cfg.frame == OVER_RANGE;
    while (range && !o->cfg.unbounded && p->n && p->f[p->head].ts < ts - o->cfg.preceding)
        frame_pop(o, p);
    for (size_t j = i; j < n; j++) {
        struct over_row *x = &o->batch[j];
        if (x->part != p)
            continue;
        const struct value *row = x->row;
        if (fold(o, p, x) < 0)
            return quiet ? -1 : over_fail(err, "out of memory");
        while (!range && !o->cfg.unbounded && p->n > (size_t)o->cfg.preceding + 1)
            frame_pop(o, p);
        if (!range && rc == 0)
            rc = over_emit(o, p, row, emit, ctx);
    }
    for (size_t j = i; range && j < n; j++) /* RANGE: peers see each other */
        if (o->batch[j].part == p && rc == 0)
            rc = over_emit(o, p, o->batch[j].row, emit, ctx);
    return rc;
}

/* Processes the batch (rows of one rowtime, by arrival), partition by partition. */
static int process_batch(struct over *o, size_t n, over_emit_fn emit, void *ctx, struct sql_error *err)
{
    int rc = 0;
    o->nbatch++;
    for (size_t i = 0; i < n; i++) {
        if (o->batch[i].part->batch == o->nbatch)
            continue;
        o->batch[i].part->batch = o->nbatch;
        int r = process_part(o, i, n, emit, ctx, err, rc < 0);
        if (rc == 0)
            rc = r;
    }
    for (size_t i = 0; i < n; i++)
        if (!o->batch[i].in_frame) {
            o->stats.state_bytes -= sizeof(struct over_row) + o->batch[i].size;
            free(o->batch[i].row);
        }
    return rc;
}

int over_watermark(struct over *o, int64_t watermark, over_emit_fn emit, void *ctx, struct sql_error *err)
{
    if (watermark <= o->stats.watermark)
        return 0;
    o->stats.watermark = watermark;
    if (o->upd)
        return 0; /* changes of an updating input were emitted as they came */
    while (o->nheap && o->heap[0].ts <= watermark) {
        int64_t ts = o->heap[0].ts;
        size_t n = 0;
        while (o->nheap && o->heap[0].ts == ts) {
            if (n == o->capbatch) {
                size_t cap = o->capbatch ? o->capbatch * 2 : 64;
                struct over_row *b = realloc(o->batch, cap * sizeof *b);
                if (!b) { /* put the popped rows back: nothing is lost */
                    for (size_t i = 0; i < n; i++)
                        heap_push(o, o->batch[i]); /* cannot fail: the heap had room for them */
                    o->stats.watermark = ts - 1;
                    return over_fail(err, "out of memory");
                }
                o->batch = b;
                o->capbatch = cap;
            }
            o->batch[n++] = heap_pop(o);
        }
        o->stats.rows_held -= n;
        if (process_batch(o, n, emit, ctx, err) < 0)
            return -1;
    }
    return 0;
}

int over_finish(struct over *o, over_emit_fn emit, void *ctx, struct sql_error *err)
{
    return over_watermark(o, INT64_MAX, emit, ctx, err);
}

/* ---- Snapshot ----------------------------------------------------------------------------
 * magic, config fingerprint, seq, counters, watermark, then per partition (first seen first):
 * keys, per aggregate count, sum and best value, the frame's rows (seq, values); then the held
 * rows in heap order (seq, values). MIN/MAX queues are rebuilt from the frames. */

static const char over_magic[8] = "OVERv1\n";

static void put_config(struct window_writer *w, const struct over *o)
{
    const int64_t head[] = {o->cfg.ncols, o->cfg.npart,     o->cfg.time_col,
                            o->cfg.frame, o->cfg.unbounded, o->cfg.unbounded ? 0 : o->cfg.preceding,
                            o->cfg.naggs};
    for (size_t i = 0; i < sizeof head / sizeof *head; i++)
        opstate_put_i64(w, head[i]);
    for (int i = 0; i < o->cfg.ncols; i++)
        opstate_put_i64(w, o->col_types[i]);
    for (int i = 0; i < o->cfg.npart; i++)
        opstate_put_i64(w, o->part_cols[i]);
    for (int i = 0; i < o->cfg.naggs; i++) {
        opstate_put_i64(w, o->aggs[i].kind);
        opstate_put_i64(w, o->aggs[i].col);
        opstate_put_i64(w, o->aggs[i].result);
    }
}

static void put_part(struct window_writer *w, const struct over *o, const struct over_part *p)
{
    opstate_put_row(w, p->base.keys, o->cfg.npart);
    for (int i = 0; i < o->cfg.naggs; i++) {
        const struct over_acc *s = &p->acc[i];
        opstate_put_i64(w, s->count);
        window_put(w, &s->sum, sizeof s->sum);
        struct value none = {.type = VT_NULL};
        opstate_put_value(w, s->best ? s->best : &none);
    }
    opstate_put_i64(w, (int64_t)p->n);
    for (size_t i = 0; i < p->n; i++) {
        opstate_put_i64(w, (int64_t)p->f[p->head + i].seq);
        opstate_put_row(w, p->f[p->head + i].row, o->cfg.ncols);
    }
}

int over_snapshot(const struct over *o, char **buf, size_t *len)
{
    if (o->upd)
        return over_upd_snapshot(o->upd, buf, len);
    struct window_writer w = {0};
    window_put(&w, over_magic, sizeof over_magic);
    put_config(&w, o);
    opstate_put_i64(&w, (int64_t)o->seq);
    const uint64_t counters[] = {o->stats.rows_in, o->stats.rows_out, o->stats.late_dropped};
    window_put(&w, counters, sizeof counters);
    opstate_put_i64(&w, o->stats.watermark);
    opstate_put_i64(&w, (int64_t)o->stats.partitions);
    for (const struct over_part *p = o->first; p; p = p->next)
        put_part(&w, o, p);
    opstate_put_i64(&w, (int64_t)o->nheap);
    for (size_t i = 0; i < o->nheap; i++) {
        opstate_put_i64(&w, (int64_t)o->heap[i].seq);
        opstate_put_row(&w, o->heap[i].row, o->cfg.ncols);
    }
    if (w.oom) {
        free(w.p);
        return -1;
    }
    *buf = w.p;
    *len = w.len;
    return 0;
}

/* One aggregate state of a partition being read. */
static void read_acc(struct over *o, struct window_reader *r, const struct over_agg *a, struct over_acc *s)
{
    struct value best;
    s->count = opstate_get_i64(r);
    window_get(r, &s->sum, sizeof s->sum);
    opstate_get_value(r, &best);
    if (s->count < 0 || (best.type != VT_NULL && (!is_minmax(a->kind) || best.type != a->result)))
        r->bad = 1;
    if (!r->bad && best.type != VT_NULL) {
        free(s->best);
        if (!(s->best = opstate_row_copy(&best, 1, &s->best_size)))
            r->bad = 1;
        else
            o->stats.state_bytes += s->best_size;
    }
}

/* One frame row of p being read: appended and pushed on the MIN/MAX queues. */
static void read_frame_row(struct over *o, struct window_reader *r, struct over_part *p)
{
    struct over_row x = {.seq = (uint64_t)opstate_get_i64(r), .part = p};
    x.row = opstate_get_row(r, o->cfg.ncols, o->col_types, &x.size);
    if (!x.row)
        return;
    x.ts = x.row[o->cfg.time_col].u.i;
    void *f = p->f;
    if (x.row[o->cfg.time_col].type != VT_TIMESTAMP || fifo_room(&f, &p->head, p->n, &p->cap, sizeof *p->f) < 0) {
        free(x.row);
        r->bad = 1;
        return;
    }
    p->f = f;
    p->f[p->head + p->n++] = x;
    o->stats.rows_in_frames++;
    o->stats.state_bytes += x.size + sizeof x;
    for (int i = 0; i < o->cfg.naggs; i++) {
        const struct over_agg *a = &o->aggs[i];
        if (is_minmax(a->kind) && x.row[a->col].type != VT_NULL &&
            mono_push(&p->acc[i].mono, a->kind == AGG_MAX, &x.row[a->col], x.seq) < 0)
            r->bad = 1;
    }
}

static void read_part(struct over *o, struct window_reader *r)
{
    enum value_type types[OVER_MAX_COLS];
    for (int i = 0; i < o->cfg.npart; i++)
        types[i] = o->col_types[o->part_cols[i]];
    struct value *keys = opstate_get_row(r, o->cfg.npart, types, NULL);
    uint64_t before = o->stats.partitions;
    struct over_part *p = keys ? part_get(o, keys, o->ident) : NULL;
    free(keys);
    if (!p || o->stats.partitions == before) { /* no memory, or the same partition twice */
        r->bad = 1;
        return;
    }
    for (int i = 0; i < o->cfg.naggs && !r->bad; i++)
        read_acc(o, r, &o->aggs[i], &p->acc[i]);
    int64_t n = opstate_get_i64(r);
    if (n < 0 || (o->cfg.unbounded && n))
        r->bad = 1;
    for (int64_t i = 0; i < n && !r->bad; i++)
        read_frame_row(o, r, p);
}

static void read_held(struct over *o, struct window_reader *r)
{
    struct over_row x = {.seq = (uint64_t)opstate_get_i64(r)};
    x.row = opstate_get_row(r, o->cfg.ncols, o->col_types, &x.size);
    if (!x.row)
        return;
    x.ts = x.row[o->cfg.time_col].u.i;
    if (x.row[o->cfg.time_col].type != VT_TIMESTAMP || !(x.part = part_get(o, x.row, o->part_cols)) ||
        heap_push(o, x) < 0) {
        free(x.row);
        r->bad = 1;
        return;
    }
    o->stats.rows_held++;
    o->stats.state_bytes += x.size + sizeof x;
}

int over_restore(struct over *o, const char *buf, size_t len, struct sql_error *err)
{
    if (o->upd)
        return over_upd_restore(o->upd, buf, len, err);
    struct window_writer fp = {0};
    put_config(&fp, o);
    struct window_reader r = {buf, len, 0, 0};
    int same = opstate_head_matches(&r, over_magic, &fp);
    free(fp.p);
    if (!same)
        return over_fail(err, "over: snapshot is not from this operator");
    over_clear(o);
    o->seq = (uint64_t)opstate_get_i64(&r);
    uint64_t counters[3];
    window_get(&r, counters, sizeof counters);
    int64_t wm = opstate_get_i64(&r), nparts = opstate_get_i64(&r);
    for (int64_t i = 0; i < nparts && !r.bad; i++)
        read_part(o, &r);
    int64_t nheld = r.bad ? 0 : opstate_get_i64(&r);
    for (int64_t i = 0; i < nheld && !r.bad; i++)
        read_held(o, &r);
    if (r.bad || r.pos != r.len) {
        over_clear(o);
        return over_fail(err, "over: malformed snapshot");
    }
    o->stats.rows_in = counters[0];
    o->stats.rows_out = counters[1];
    o->stats.late_dropped = counters[2];
    o->stats.watermark = wm;
    return 0;
}
