/* window.c — window state of grouped aggregates: open windows kept in end order, a hash
 * table of groups per window (first-seen order for output), aggregate states (COUNT, COUNT
 * DISTINCT, SUM, MIN, MAX, AVG, FIRST_VALUE, LAST_VALUE, variances) and how two states merge,
 * session windows per partition key, and their byte form for checkpoints. */
#include "dataplane/sql/window.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/sql/udf.h"

/* A set of distinct values (COUNT(DISTINCT x)); strings owned. */
struct value_set {
    struct value *vals; /* VT_NULL marks an empty slot */
    size_t cap, n;
};

/* COUNT/SUM/AVG: count and sum. MIN/MAX: best. FIRST_VALUE/LAST_VALUE: best, and in sum.i
 * the sequence number of the row it came from. Variances: count, sum.d = sum of x, best a
 * DOUBLE holding the sum of x * x. */
struct agg_state {
    int64_t count;
    union {
        int64_t i;
        double d;
        value_int128 dec; /* SUM/AVG of a DECIMAL: unscaled at the argument's scale */
    } sum;
    struct value best;     /* a string is malloc'd */
    struct value_set *set; /* COUNT(DISTINCT) */
};

/* The open sessions of one partition: bounds sorted by start, not overlapping. */
struct session_span {
    int64_t start, end;
};
struct session_partition {
    struct session_partition *hnext;
    uint64_t hash;
    struct session_span *spans;
    int nspans, capspans;
    struct value keys[]; /* npart, owned */
};

/* ---- Values, sets, groups, windows ------------------------------------------------------*/

static void value_set_free(struct value_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->cap; i++)
        opstate_value_release(&s->vals[i]);
    free(s->vals);
    free(s);
}

/* Adds v (non-null) to the set. Returns 0 or -1 (no memory). */
static int value_set_add(struct value_set *s, const struct value *v)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct value *vals = calloc(cap, sizeof *vals);
        if (!vals)
            return -1;
        for (size_t i = 0; i < s->cap; i++) {
            if (s->vals[i].type == VT_NULL)
                continue;
            size_t k = value_hash(&s->vals[i], 0) & (cap - 1);
            while (vals[k].type != VT_NULL)
                k = (k + 1) & (cap - 1);
            vals[k] = s->vals[i];
        }
        free(s->vals);
        s->vals = vals;
        s->cap = cap;
    }
    size_t k = value_hash(v, 0) & (s->cap - 1);
    while (s->vals[k].type != VT_NULL) {
        if (value_compare(&s->vals[k], v) == 0)
            return 0;
        k = (k + 1) & (s->cap - 1);
    }
    if (opstate_value_own(&s->vals[k], v) < 0)
        return -1;
    s->n++;
    return 0;
}

static void group_free(const struct window_table *t, struct window_group *g)
{
    for (int i = 0; i < t->nkeys; i++)
        opstate_value_release(&g->keys[i]);
    for (int i = 0; i < t->naggs; i++) {
        opstate_value_release(&g->aggs[i].best);
        value_set_free(g->aggs[i].set);
    }
    free(g);
}

static void window_release(const struct window_table *t, struct window *w)
{
    for (struct window_group *g = w->first, *n; g; g = n) {
        n = g->next;
        group_free(t, g);
    }
    free(w->buckets);
    memset(w, 0, sizeof *w);
}

/* The open window [start, end), created when missing. NULL on out of memory. */
static struct window *window_find(struct window_table *t, int64_t start, int64_t end)
{
    int i = t->nwindows;
    while (i > 0 && (t->windows[i - 1].end > end || (t->windows[i - 1].end == end && t->windows[i - 1].start > start)))
        i--;
    if (i > 0 && t->windows[i - 1].end == end && t->windows[i - 1].start == start)
        return &t->windows[i - 1];
    if (t->nwindows == t->capwindows) {
        int cap = t->capwindows ? t->capwindows * 2 : 8;
        struct window *n = realloc(t->windows, (size_t)cap * sizeof *n);
        if (!n)
            return NULL;
        t->windows = n;
        t->capwindows = cap;
    }
    memmove(&t->windows[i + 1], &t->windows[i], (size_t)(t->nwindows - i) * sizeof *t->windows);
    t->nwindows++;
    struct window *w = &t->windows[i];
    memset(w, 0, sizeof *w);
    w->start = start;
    w->end = end;
    return w;
}

uint64_t window_keys_hash(const struct window_table *t, const struct value *keys)
{
    uint64_t h = 0x12345;
    for (int i = 0; i < t->nkeys; i++)
        h = value_hash(&keys[i], h);
    return h;
}

static int keys_equal(const struct window_table *t, const struct value *a, const struct value *b)
{
    for (int i = 0; i < t->nkeys; i++)
        if (!value_equal(&a[i], &b[i]))
            return 0;
    return 1;
}

static struct window_group *group_new(const struct window_table *t, uint64_t hash)
{
    size_t size = sizeof(struct window_group) + (size_t)t->nkeys * sizeof(struct value) +
                  (size_t)t->naggs * sizeof(struct agg_state);
    struct window_group *g = calloc(1, size);
    if (!g)
        return NULL;
    g->hash = hash;
    g->keys = (struct value *)(g + 1);
    g->aggs = (struct agg_state *)(g->keys + t->nkeys);
    return g;
}

static void window_link(struct window *w, struct window_group *g)
{
    if ((w->ngroups + 1) * 4 > w->nbuckets * 3) {
        size_t nb = w->nbuckets ? w->nbuckets * 2 : 16;
        struct window_group **b = calloc(nb, sizeof *b);
        if (b) {
            for (struct window_group *x = w->first; x; x = x->next) {
                x->hnext = b[x->hash & (nb - 1)];
                b[x->hash & (nb - 1)] = x;
            }
            free(w->buckets);
            w->buckets = b;
            w->nbuckets = nb;
        }
    }
    g->hnext = w->buckets[g->hash & (w->nbuckets - 1)];
    w->buckets[g->hash & (w->nbuckets - 1)] = g;
    if (w->last)
        w->last->next = g;
    else
        w->first = g;
    w->last = g;
    w->ngroups++;
}

/* The group of keys in w, created (owning copies of the keys) when missing. */
static struct window_group *window_find_group(struct window_table *t, struct window *w, const struct value *keys,
                                              uint64_t h)
{
    if (w->nbuckets)
        for (struct window_group *g = w->buckets[h & (w->nbuckets - 1)]; g; g = g->hnext)
            if (g->hash == h && keys_equal(t, g->keys, keys))
                return g;
    if (!w->nbuckets) {
        w->buckets = calloc(16, sizeof *w->buckets);
        if (!w->buckets)
            return NULL;
        w->nbuckets = 16;
    }
    struct window_group *g = group_new(t, h);
    if (!g)
        return NULL;
    for (int i = 0; i < t->nkeys; i++)
        if (opstate_value_own(&g->keys[i], &keys[i]) < 0) {
            group_free(t, g);
            return NULL;
        }
    window_link(w, g);
    return g;
}

static int is_variance(enum agg_kind k)
{
    return k == AGG_VAR_POP || k == AGG_VAR_SAMP || k == AGG_STDDEV_POP || k == AGG_STDDEV_SAMP;
}

/* Replaces st->best with an owned copy of v. Returns 0 or -1. */
static int agg_set_best(struct agg_state *st, const struct value *v)
{
    struct value copy;
    if (opstate_value_own(&copy, v) < 0)
        return -1;
    opstate_value_release(&st->best);
    st->best = copy;
    return 0;
}

/* Returns 0, -1 (no memory) or -2 (a Lua aggregate failed). */
static int agg_update(const struct agg_slot *s, struct agg_state *st, const struct value *v, int64_t seq)
{
    if (s->kind == AGG_COUNT && !s->arg) {
        st->count++;
        return 0;
    }
    if (v->type == VT_NULL)
        return 0;
    switch (s->kind) {
    case AGG_UDF: /* best: the accumulator's byte form */
        if (udf_agg_update(s->udf, &st->best, v, 0) < 0)
            return -2;
        st->count++;
        return 0;
    case AGG_COUNT:
        if (s->distinct) {
            if (!st->set && !(st->set = calloc(1, sizeof *st->set)))
                return -1;
            return value_set_add(st->set, v);
        }
        st->count++;
        return 0;
    case AGG_SUM:
    case AGG_AVG:
        if (v->type == VT_DOUBLE)
            st->sum.d += v->u.d;
        else if (value_is_decimal(v->type)) /* checked against 38 digits when read */
            st->sum.dec = (value_int128)((unsigned __int128)st->sum.dec + (unsigned __int128)v->u.dec);
        else
            st->sum.i = (int64_t)((uint64_t)st->sum.i + (uint64_t)v->u.i); /* wraps like Flink's SUM */
        st->count++;
        return 0;
    case AGG_MIN:
    case AGG_MAX: {
        if (st->count > 0) {
            int r = value_compare(v, &st->best);
            if ((s->kind == AGG_MIN && r >= 0) || (s->kind == AGG_MAX && r <= 0))
                return 0;
        }
        if (agg_set_best(st, v) < 0)
            return -1;
        st->count++;
        return 0;
    }
    case AGG_FIRST_VALUE:
    case AGG_LAST_VALUE:
        if (st->count == 0 || s->kind == AGG_LAST_VALUE) {
            if (agg_set_best(st, v) < 0)
                return -1;
            st->sum.i = seq;
        }
        st->count++;
        return 0;
    default:
        if (is_variance(s->kind)) {
            double x = value_as_double(v);
            st->sum.d += x;
            st->best.type = VT_DOUBLE;
            st->best.u.d = (st->count ? st->best.u.d : 0) + x * x;
            st->count++;
        }
        return 0;
    }
}

/* Folds src into dst (same slot) as if dst had seen src's rows too; src keeps nothing it owned
 * (free it with its group). Returns 0 or -1 (no memory). */
static int agg_merge(const struct agg_slot *s, struct agg_state *dst, struct agg_state *src)
{
    if (s->kind == AGG_UDF && src->best.type == VT_STRING) {
        if (dst->best.type == VT_NULL) { /* moved */
            dst->best = src->best;
            src->best.type = VT_NULL;
        } else if (udf_agg_merge(s->udf, &dst->best, &src->best) < 0) {
            return -2;
        }
        dst->count += src->count;
        return 0;
    }
    if (src->set) {
        for (size_t i = 0; i < src->set->cap; i++)
            if (src->set->vals[i].type != VT_NULL) {
                if (!dst->set && !(dst->set = calloc(1, sizeof *dst->set)))
                    return -1;
                if (value_set_add(dst->set, &src->set->vals[i]) < 0)
                    return -1;
            }
    }
    if (src->count == 0)
        return 0;
    int take = dst->count == 0;
    switch (s->kind) {
    case AGG_SUM:
    case AGG_AVG:
        if (s->result == VT_DOUBLE)
            dst->sum.d += src->sum.d;
        else if (value_is_decimal(s->result))
            dst->sum.dec = (value_int128)((unsigned __int128)dst->sum.dec + (unsigned __int128)src->sum.dec);
        else
            dst->sum.i = (int64_t)((uint64_t)dst->sum.i + (uint64_t)src->sum.i);
        break;
    case AGG_MIN:
    case AGG_MAX: {
        int r = take ? 0 : value_compare(&src->best, &dst->best);
        take |= (s->kind == AGG_MIN && r < 0) || (s->kind == AGG_MAX && r > 0);
        break;
    }
    case AGG_FIRST_VALUE:
        take |= src->sum.i < dst->sum.i;
        break;
    case AGG_LAST_VALUE:
        take |= src->sum.i > dst->sum.i;
        break;
    default:
        if (is_variance(s->kind)) {
            dst->sum.d += src->sum.d;
            dst->best.u.d = (take ? 0 : dst->best.u.d) + src->best.u.d;
            dst->best.type = VT_DOUBLE;
        }
        break;
    }
    if (take && (s->kind == AGG_MIN || s->kind == AGG_MAX || s->kind == AGG_FIRST_VALUE || s->kind == AGG_LAST_VALUE)) {
        opstate_value_release(&dst->best);
        dst->best = src->best; /* moved */
        src->best.type = VT_NULL;
        dst->sum.i = src->sum.i;
    }
    dst->count += src->count;
    return 0;
}

/* SUM or AVG of DECIMALs: the sum (NULL beyond 38 digits), or the mean at the result's scale
 * rounded half up. */
static void agg_decimal_result(const struct agg_slot *s, const struct agg_state *st, struct value *out)
{
    int from = value_decimal_scale(s->arg->type), to = value_decimal_scale(s->result);
    value_int128 x;
    if (!st->count || value_decimal_rescale(st->sum.dec, from, to, DECIMAL_MAX_PRECISION, &x) < 0) {
        out->type = VT_NULL;
        return;
    }
    if (s->kind == AGG_AVG) {
        value_int128 q = x / st->count, r = x % st->count;
        if (r < 0)
            r = -r;
        if (r >= st->count - r)
            q += x < 0 ? -1 : 1;
        x = q;
    }
    out->u.dec = x;
}

static void agg_result(const struct agg_slot *s, const struct agg_state *st, struct value *out)
{
    out->type = s->result;
    if ((s->kind == AGG_SUM || s->kind == AGG_AVG) && value_is_decimal(s->result)) {
        agg_decimal_result(s, st, out);
        return;
    }
    switch (s->kind) {
    case AGG_UDF:
        udf_agg_result(s->udf, &st->best, out);
        return;
    case AGG_COUNT:
        out->u.i = s->distinct ? (int64_t)(st->set ? st->set->n : 0) : st->count;
        return;
    case AGG_SUM:
        if (!st->count)
            out->type = VT_NULL;
        else if (s->result == VT_DOUBLE)
            out->u.d = st->sum.d;
        else
            out->u.i = st->sum.i;
        return;
    case AGG_AVG:
        if (!st->count)
            out->type = VT_NULL;
        else if (s->result == VT_DOUBLE)
            out->u.d = st->sum.d / (double)st->count;
        else
            out->u.i = st->sum.i / st->count;
        return;
    case AGG_VAR_POP:
    case AGG_VAR_SAMP:
    case AGG_STDDEV_POP:
    case AGG_STDDEV_SAMP: {
        int sample = s->kind == AGG_VAR_SAMP || s->kind == AGG_STDDEV_SAMP;
        double n = (double)st->count;
        if (st->count < 1 + sample) {
            out->type = VT_NULL;
            return;
        }
        double var = (st->best.u.d - st->sum.d * st->sum.d / n) / (n - sample);
        if (var < 0) /* rounding */
            var = 0;
        out->u.d = s->kind == AGG_STDDEV_POP || s->kind == AGG_STDDEV_SAMP ? sqrt(var) : var;
        return;
    }
    default:
        if (!st->count)
            out->type = VT_NULL;
        else
            *out = st->best;
        return;
    }
}

/* ---- Table operations -------------------------------------------------------------------*/

int window_table_add(struct window_table *t, int64_t start, int64_t end, const struct value *keys, uint64_t h,
                     const struct value *args, int64_t seq)
{
    struct window *w = window_find(t, start, end);
    struct window_group *g = w ? window_find_group(t, w, keys, h) : NULL;
    if (!g)
        return -1;
    for (int i = 0; i < t->naggs; i++) {
        int rc = agg_update(&t->aggs[i], &g->aggs[i], &args[i], seq);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- Sessions ----------------------------------------------------------------------------*/

static uint64_t partition_hash(const struct window_table *t, const struct value *keys)
{
    uint64_t h = 0x5e55;
    for (int i = 0; i < t->npart; i++)
        h = value_hash(&keys[i], h);
    return h;
}

static int partition_equal(const struct window_table *t, const struct value *a, const struct value *b)
{
    for (int i = 0; i < t->npart; i++)
        if (!value_equal(&a[i], &b[i]))
            return 0;
    return 1;
}

static void partition_free(const struct window_table *t, struct session_partition *sp)
{
    for (int i = 0; i < t->npart; i++)
        opstate_value_release(&sp->keys[i]);
    free(sp->spans);
    free(sp);
}

/* The partition of keys (its first npart values); created when create is set. NULL when
 * missing or out of memory. */
static struct session_partition *partition_find(struct window_table *t, const struct value *keys, int create)
{
    uint64_t h = partition_hash(t, keys);
    for (struct session_partition *sp = t->capparts ? t->parts[h & (t->capparts - 1)] : NULL; sp; sp = sp->hnext)
        if (sp->hash == h && partition_equal(t, sp->keys, keys))
            return sp;
    if (!create)
        return NULL;
    if ((t->nparts + 1) * 4 > t->capparts * 3) {
        size_t cap = t->capparts ? t->capparts * 2 : 64;
        struct session_partition **b = calloc(cap, sizeof *b);
        if (!b)
            return NULL;
        for (size_t i = 0; i < t->capparts; i++)
            for (struct session_partition *sp = t->parts[i], *n; sp; sp = n) {
                n = sp->hnext;
                sp->hnext = b[sp->hash & (cap - 1)];
                b[sp->hash & (cap - 1)] = sp;
            }
        free(t->parts);
        t->parts = b;
        t->capparts = cap;
    }
    struct session_partition *sp = calloc(1, sizeof *sp + (size_t)t->npart * sizeof(struct value));
    if (!sp)
        return NULL;
    sp->hash = h;
    for (int i = 0; i < t->npart; i++)
        if (opstate_value_own(&sp->keys[i], &keys[i]) < 0) {
            partition_free(t, sp);
            return NULL;
        }
    sp->hnext = t->parts[h & (t->capparts - 1)];
    t->parts[h & (t->capparts - 1)] = sp;
    t->nparts++;
    return sp;
}

/* Adds [start, end) to the partition's spans (sorted by start; no duplicates). */
static int partition_add_span(struct session_partition *sp, int64_t start, int64_t end)
{
    int i = sp->nspans;
    while (i > 0 && (sp->spans[i - 1].start > start || (sp->spans[i - 1].start == start && sp->spans[i - 1].end > end)))
        i--;
    if (i > 0 && sp->spans[i - 1].start == start && sp->spans[i - 1].end == end)
        return 0;
    if (sp->nspans == sp->capspans) {
        int cap = sp->capspans ? sp->capspans * 2 : 2;
        struct session_span *n = realloc(sp->spans, (size_t)cap * sizeof *n);
        if (!n)
            return -1;
        sp->spans = n;
        sp->capspans = cap;
    }
    memmove(&sp->spans[i + 1], &sp->spans[i], (size_t)(sp->nspans - i) * sizeof *sp->spans);
    sp->spans[i] = (struct session_span){start, end};
    sp->nspans++;
    return 0;
}

/* Removes [start, end) from the partition of keys; frees the partition when it has none left. */
static void partition_remove_span(struct window_table *t, const struct value *keys, int64_t start, int64_t end)
{
    struct session_partition *sp = partition_find(t, keys, 0);
    if (!sp)
        return;
    for (int i = 0; i < sp->nspans; i++)
        if (sp->spans[i].start == start && sp->spans[i].end == end) {
            memmove(&sp->spans[i], &sp->spans[i + 1], (size_t)(sp->nspans - i - 1) * sizeof *sp->spans);
            sp->nspans--;
            break;
        }
    if (sp->nspans)
        return;
    struct session_partition **pp = &t->parts[sp->hash & (t->capparts - 1)];
    while (*pp != sp)
        pp = &(*pp)->hnext;
    *pp = sp->hnext;
    t->nparts--;
    partition_free(t, sp);
}

/* Index of the open window [start, end), or -1. */
static int window_index(const struct window_table *t, int64_t start, int64_t end)
{
    for (int i = t->nwindows - 1; i >= 0 && t->windows[i].end >= end; i--)
        if (t->windows[i].end == end && t->windows[i].start == start)
            return i;
    return -1;
}

static struct window_group *window_lookup_group(const struct window_table *t, const struct window *w,
                                                const struct value *keys, uint64_t h)
{
    for (struct window_group *g = w->nbuckets ? w->buckets[h & (w->nbuckets - 1)] : NULL; g; g = g->hnext)
        if (g->hash == h && keys_equal(t, g->keys, keys))
            return g;
    return NULL;
}

/* Moves the groups of partition keys pk from window [s, e) into window [ns, ne) (which
 * exists), merging states of groups both hold; drops [s, e) when it is left empty. */
static int session_move(struct window_table *t, const struct value *pk, int64_t s, int64_t e, int64_t ns, int64_t ne)
{
    int from = window_index(t, s, e), to = window_index(t, ns, ne);
    if (from < 0 || to < 0)
        return 0;
    struct window *src = &t->windows[from], *dst = &t->windows[to];
    struct window_group *g = src->first, *next;
    src->first = src->last = NULL;
    src->ngroups = 0;
    if (src->nbuckets)
        memset(src->buckets, 0, src->nbuckets * sizeof *src->buckets);
    int rc = 0;
    for (; g; g = next) {
        next = g->next;
        g->next = NULL;
        if (rc < 0 || !partition_equal(t, g->keys, pk)) {
            window_link(src, g);
            continue;
        }
        struct window_group *into = window_lookup_group(t, dst, g->keys, g->hash);
        if (!into) {
            if (!dst->nbuckets && !(dst->buckets = calloc(16, sizeof *dst->buckets))) {
                window_link(src, g);
                rc = -1;
                continue;
            }
            dst->nbuckets = dst->nbuckets ? dst->nbuckets : 16;
            window_link(dst, g);
            continue;
        }
        for (int i = 0; i < t->naggs && rc == 0; i++)
            rc = agg_merge(&t->aggs[i], &into->aggs[i], &g->aggs[i]);
        group_free(t, g);
    }
    if (src->ngroups == 0) {
        window_release(t, src);
        memmove(&t->windows[from], &t->windows[from + 1], (size_t)(t->nwindows - from - 1) * sizeof *t->windows);
        t->nwindows--;
    }
    return rc;
}

int window_session_add(struct window_table *t, int64_t ts, int64_t watermark, const struct value *keys, uint64_t h,
                       const struct value *args, int64_t seq)
{
    int64_t ns = ts, ne = ts + t->gap;
    struct session_partition *sp = partition_find(t, keys, 0);
    for (int i = 0; sp && i < sp->nspans; i++)
        if (sp->spans[i].start <= ts + t->gap && sp->spans[i].end >= ts) {
            ns = sp->spans[i].start < ns ? sp->spans[i].start : ns;
            ne = sp->spans[i].end > ne ? sp->spans[i].end : ne;
        }
    if (ne - 1 <= watermark) /* as Flink: late once the watermark reaches the last millisecond */
        return 1;
    if (!sp && !(sp = partition_find(t, keys, 1)))
        return -1;
    if (!window_find(t, ns, ne))
        return -1;
    /* move the touched sessions into [ns, ne), in start order (keeps output deterministic) */
    for (int i = 0; i < sp->nspans;) {
        struct session_span span = sp->spans[i];
        if (!(span.start <= ts + t->gap && span.end >= ts)) {
            i++;
            continue;
        }
        memmove(&sp->spans[i], &sp->spans[i + 1], (size_t)(sp->nspans - i - 1) * sizeof *sp->spans);
        sp->nspans--;
        int rc = span.start != ns || span.end != ne ? session_move(t, keys, span.start, span.end, ns, ne) : 0;
        if (rc < 0)
            return rc;
    }
    if (partition_add_span(sp, ns, ne) < 0)
        return -1;
    return window_table_add(t, ns, ne, keys, h, args, seq);
}

/* Rebuilds the partitions' spans from the windows (after a restore). */
static int session_index_build(struct window_table *t)
{
    for (int i = 0; i < t->nwindows; i++)
        for (const struct window_group *g = t->windows[i].first; g; g = g->next) {
            struct session_partition *sp = partition_find(t, g->keys, 1);
            if (!sp || partition_add_span(sp, t->windows[i].start, t->windows[i].end) < 0)
                return -1;
        }
    return 0;
}

void window_group_result(const struct window_table *t, const struct window_group *g, int i, struct value *out)
{
    agg_result(&t->aggs[i], &g->aggs[i], out);
}

void window_table_drop(struct window_table *t, int n)
{
    for (int i = 0; i < n; i++) {
        for (const struct window_group *g = t->windows[i].first; t->gap && g; g = g->next)
            partition_remove_span(t, g->keys, t->windows[i].start, t->windows[i].end);
        window_release(t, &t->windows[i]);
    }
    if (n) {
        memmove(t->windows, t->windows + n, (size_t)(t->nwindows - n) * sizeof *t->windows);
        t->nwindows -= n;
    }
}

void window_table_clear(struct window_table *t)
{
    window_table_drop(t, t->nwindows);
    free(t->windows);
    t->windows = NULL;
    t->capwindows = 0;
    for (size_t i = 0; i < t->capparts; i++)
        for (struct session_partition *sp = t->parts[i], *n; sp; sp = n) {
            n = sp->hnext;
            partition_free(t, sp);
        }
    free(t->parts);
    t->parts = NULL;
    t->capparts = t->nparts = 0;
}

/* ---- Byte form ---------------------------------------------------------------------------
 * nwindows, then per window: start, end, ngroups, and per group: keys, then per aggregate:
 * count, sum, best value, distinct count and values. A value is a type byte and payload. */

void window_table_write(const struct window_table *t, struct window_writer *b)
{
    opstate_put_i64(b, t->nwindows);
    for (int i = 0; i < t->nwindows; i++) {
        const struct window *w = &t->windows[i];
        opstate_put_i64(b, w->start);
        opstate_put_i64(b, w->end);
        opstate_put_i64(b, (int64_t)w->ngroups);
        for (const struct window_group *g = w->first; g; g = g->next) {
            for (int k = 0; k < t->nkeys; k++)
                opstate_put_value(b, &g->keys[k]);
            for (int a = 0; a < t->naggs; a++) {
                const struct agg_state *st = &g->aggs[a];
                opstate_put_i64(b, st->count);
                window_put(b, &st->sum, sizeof st->sum);
                opstate_put_value(b, &st->best);
                opstate_put_i64(b, st->set ? (int64_t)st->set->n : 0);
                for (size_t s = 0; st->set && s < st->set->cap; s++)
                    if (st->set->vals[s].type != VT_NULL)
                        opstate_put_value(b, &st->set->vals[s]);
            }
        }
    }
}

/* One aggregate state of a group being read; values must have the types the query gives. */
static void read_agg_state(struct window_reader *r, const struct agg_slot *slot, struct agg_state *st)
{
    struct value best;
    enum value_type arg_type = slot->arg ? slot->arg->type : VT_NULL;
    st->count = opstate_get_i64(r);
    window_get(r, &st->sum, sizeof st->sum);
    opstate_get_value(r, &best);
    enum value_type best_type = slot->kind == AGG_UDF ? VT_STRING : slot->result; /* UDF: the accumulator */
    if (st->count < 0 || (best.type != VT_NULL && best.type != best_type))
        r->bad = 1;
    /* A snapshot naming the same group twice is read as one group: drop what came before. */
    opstate_value_release(&st->best);
    if (!r->bad && opstate_value_own(&st->best, &best) < 0)
        r->bad = 1;
    int64_t nset = opstate_get_i64(r);
    for (int64_t s = 0; s < nset && !r->bad; s++) {
        struct value v;
        opstate_get_value(r, &v);
        if (r->bad || v.type == VT_NULL || v.type != arg_type ||
            (!st->set && !(st->set = calloc(1, sizeof *st->set))) || value_set_add(st->set, &v) < 0)
            r->bad = 1;
    }
}

int window_table_read(struct window_table *t, struct window_reader *r)
{
    int64_t nwin = opstate_get_i64(r);
    if (nwin < 0 || t->nkeys > 64)
        r->bad = 1;
    for (int64_t i = 0; i < nwin && !r->bad; i++) {
        int64_t start = opstate_get_i64(r), end = opstate_get_i64(r), ngroups = opstate_get_i64(r);
        struct window *w = r->bad ? NULL : window_find(t, start, end);
        if (!w || ngroups < 0)
            r->bad = 1;
        for (int64_t g = 0; g < ngroups && !r->bad; g++) {
            struct value keys[64];
            for (int k = 0; k < t->nkeys; k++) {
                opstate_get_value(r, &keys[k]);
                if (keys[k].type != VT_NULL && keys[k].type != t->key_types[k])
                    r->bad = 1;
            }
            struct window_group *grp = r->bad ? NULL : window_find_group(t, w, keys, window_keys_hash(t, keys));
            if (!grp)
                r->bad = 1;
            for (int a = 0; a < t->naggs && !r->bad; a++)
                read_agg_state(r, &t->aggs[a], &grp->aggs[a]);
        }
    }
    if (!r->bad && t->gap && session_index_build(t) < 0)
        r->bad = 1;
    if (r->bad) {
        window_table_clear(t);
        return -1;
    }
    return 0;
}

void window_put_value(struct window_writer *w, const struct value *v) { opstate_put_value(w, v); }
void window_get_value(struct window_reader *r, struct value *v) { opstate_get_value(r, v); }
