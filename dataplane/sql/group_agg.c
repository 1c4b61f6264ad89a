/* group_agg.c — retractable group state for GROUP BY without a window: see group_agg.h. */
#include "dataplane/sql/group_agg.h"

#include <stdlib.h>
#include <string.h>

#include "dataplane/sql/functions.h"
#include "dataplane/sql/opstate.h"
#include "dataplane/sql/udf.h"

/* A distinct value and how many rows of the group hold it. */
struct value_count {
    struct value v; /* a string is malloc'd */
    int64_t n;
};

/* COUNT, SUM, AVG: count of non-null values and their sum. MIN, MAX: the values in order,
 * with counts. COUNT(DISTINCT): the values with counts in a hash set (open addressing, linear
 * probing over capvals slots, a power of two; n 0 marks an empty slot), nvals of them. A Lua
 * aggregate (AGG_UDF): count, and in vals[0] (count 1) the accumulator's byte form. */
struct group_acc {
    int64_t count;
    union {
        int64_t i;
        double d;
    } sum;
    struct value_count *vals;
    int nvals, capvals;
};

int group_agg_supported(enum agg_kind kind)
{
    return kind == AGG_COUNT || kind == AGG_SUM || kind == AGG_AVG || kind == AGG_MIN || kind == AGG_MAX ||
           kind == AGG_UDF;
}

static int uses_values(const struct agg_slot *s)
{
    return s->kind == AGG_MIN || s->kind == AGG_MAX || (s->kind == AGG_COUNT && s->distinct);
}

/* ---- Values ------------------------------------------------------------------------------*/

/* Frees v's string, taking its size off *bytes. */
static void value_release(struct value *v, size_t *bytes)
{
    if (v->type == VT_STRING)
        *bytes -= v->u.s.len + 1;
    opstate_value_release(v);
}

/* Copies v into *dst, a string into new memory counted in *bytes. */
static int value_own(struct value *dst, const struct value *v, size_t *bytes)
{
    if (opstate_value_own(dst, v) < 0)
        return -1;
    if (v->type == VT_STRING)
        *bytes += v->u.s.len + 1;
    return 0;
}

/* Index of the first value >= v; *found when equal. */
static int acc_search(const struct group_acc *a, const struct value *v, int *found)
{
    int lo = 0, hi = a->nvals;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (value_compare(&a->vals[mid].v, v) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < a->nvals && value_compare(&a->vals[lo].v, v) == 0;
    return lo;
}

/* Adds n rows holding v (n may be negative: a retraction; a value reaching 0 goes); memory
 * taken or given back is counted in *bytes. */
static int acc_values_add(struct group_acc *a, const struct value *v, int64_t n, size_t *bytes)
{
    int found, i = acc_search(a, v, &found);
    if (found) {
        a->vals[i].n += n;
        if (a->vals[i].n <= 0) {
            value_release(&a->vals[i].v, bytes);
            memmove(&a->vals[i], &a->vals[i + 1], (size_t)(a->nvals - i - 1) * sizeof *a->vals);
            a->nvals--;
        }
        return 0;
    }
    if (n <= 0)
        return 0; /* retraction of a value never seen */
    if (a->nvals == a->capvals) {
        int cap = a->capvals ? a->capvals * 2 : 4;
        struct value_count *m = realloc(a->vals, (size_t)cap * sizeof *m);
        if (!m)
            return -1;
        a->vals = m;
        *bytes += (size_t)(cap - a->capvals) * sizeof *m;
        a->capvals = cap;
    }
    struct value copy;
    if (value_own(&copy, v, bytes) < 0)
        return -1;
    memmove(&a->vals[i + 1], &a->vals[i], (size_t)(a->nvals - i) * sizeof *a->vals);
    a->vals[i] = (struct value_count){copy, n};
    a->nvals++;
    return 0;
}

/* ---- COUNT(DISTINCT): a hash set of values ------------------------------------------------*/

static size_t set_home(const struct group_acc *a, const struct value *v)
{
    return (size_t)value_hash(v, 0x9e3779b97f4a7c15ULL) & (size_t)(a->capvals - 1);
}

static int set_grow(struct group_acc *a, size_t *bytes)
{
    int cap = a->capvals ? a->capvals * 2 : 8;
    struct value_count *old = a->vals, *m = calloc((size_t)cap, sizeof *m);
    if (!m)
        return -1;
    int oldcap = a->capvals;
    a->vals = m;
    a->capvals = cap;
    *bytes += (size_t)(cap - oldcap) * sizeof *m;
    for (int i = 0; i < oldcap; i++)
        if (old[i].n > 0) {
            size_t j = set_home(a, &old[i].v);
            while (a->vals[j].n > 0)
                j = (j + 1) & (size_t)(cap - 1);
            a->vals[j] = old[i];
        }
    free(old);
    return 0;
}

/* Empties slot i, moving later entries of its probe run back (no tombstones). */
static void set_delete(struct group_acc *a, size_t i)
{
    size_t mask = (size_t)(a->capvals - 1), j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (a->vals[j].n <= 0)
            break;
        size_t k = set_home(a, &a->vals[j].v);
        /* the entry at j may fill i unless its home lies cyclically in (i, j] */
        if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
            a->vals[i] = a->vals[j];
            i = j;
        }
    }
    a->vals[i].n = 0;
    a->vals[i].v.type = VT_NULL;
}

static int set_add(struct group_acc *a, const struct value *v, int64_t n, size_t *bytes)
{
    if ((a->nvals + 1) * 4 > a->capvals * 3 && n > 0 && set_grow(a, bytes) < 0)
        return -1;
    if (!a->capvals)
        return 0; /* a retraction from an empty set */
    size_t mask = (size_t)(a->capvals - 1), i = set_home(a, v);
    while (a->vals[i].n > 0 && !value_equal(&a->vals[i].v, v))
        i = (i + 1) & mask;
    if (a->vals[i].n > 0) {
        a->vals[i].n += n;
        if (a->vals[i].n <= 0) {
            value_release(&a->vals[i].v, bytes);
            set_delete(a, i);
            a->nvals--;
        }
        return 0;
    }
    if (n <= 0)
        return 0; /* retraction of a value never seen */
    struct value copy;
    if (value_own(&copy, v, bytes) < 0)
        return -1;
    a->vals[i] = (struct value_count){copy, n};
    a->nvals++;
    return 0;
}

static int is_distinct_set(const struct agg_slot *s) { return s->kind == AGG_COUNT && s->distinct; }

/* Slots of vals to look at (entries with n > 0 among them). */
static int acc_slots(const struct agg_slot *s, const struct group_acc *a)
{
    return is_distinct_set(s) ? a->capvals : a->nvals;
}

static int acc_add_value(const struct agg_slot *s, struct group_acc *a, const struct value *v, int64_t n, size_t *bytes)
{
    return is_distinct_set(s) ? set_add(a, v, n, bytes) : acc_values_add(a, v, n, bytes);
}

static void acc_free(const struct agg_slot *s, struct group_acc *a, size_t *bytes)
{
    for (int i = 0; i < acc_slots(s, a); i++)
        if (a->vals[i].n > 0)
            value_release(&a->vals[i].v, bytes);
    *bytes -= (size_t)a->capvals * sizeof *a->vals;
    free(a->vals);
}

/* MIN or MAX over rows that are never retracted: only the extreme value is kept. */
static int acc_extreme(const struct agg_slot *s, struct group_acc *a, const struct value *v, size_t *bytes)
{
    if (a->nvals == 1) {
        int c = value_compare(v, &a->vals[0].v);
        if (s->kind == AGG_MIN ? c >= 0 : c <= 0)
            return 0;
        struct value copy;
        if (value_own(&copy, v, bytes) < 0)
            return -1;
        value_release(&a->vals[0].v, bytes);
        a->vals[0].v = copy;
        return 0;
    }
    return acc_values_add(a, v, 1, bytes);
}

/* The bytes of a Lua aggregate's accumulator (vals[0]: a byte string). */
static size_t udf_acc_bytes(const struct group_acc *a)
{
    return a->vals && a->vals[0].v.type == VT_STRING ? a->vals[0].v.u.s.len + 1 : 0;
}

/* A Lua aggregate's accumulate or retract: vals[0] holds the accumulator. Returns 0, -1 (no
 * memory) or -2 (the function failed; the accumulator is as before). */
static int acc_udf_update(const struct agg_slot *s, struct group_acc *a, const struct value *v, int sign, size_t *bytes)
{
    if (!a->vals) {
        if (!(a->vals = calloc(1, sizeof *a->vals)))
            return -1;
        a->capvals = a->nvals = 1;
        a->vals[0].n = 1;
        *bytes += sizeof *a->vals;
    }
    size_t before = udf_acc_bytes(a);
    if (udf_agg_update(s->udf, &a->vals[0].v, v, sign < 0) < 0)
        return -2;
    *bytes = *bytes - before + udf_acc_bytes(a);
    a->count += sign;
    return 0;
}

/* Returns 0, -1 (no memory) or -2 (a Lua aggregate failed). */
static int acc_update(const struct agg_slot *s, struct group_acc *a, const struct value *v, int sign, int append_only,
                      size_t *bytes)
{
    if (s->kind == AGG_COUNT && !s->arg) {
        a->count += sign;
        return 0;
    }
    if (v->type == VT_NULL)
        return 0;
    if (s->kind == AGG_UDF)
        return acc_udf_update(s, a, v, sign, bytes);
    if (append_only && sign > 0 && (s->kind == AGG_MIN || s->kind == AGG_MAX))
        return acc_extreme(s, a, v, bytes);
    if (uses_values(s))
        return acc_add_value(s, a, v, sign, bytes);
    if (s->kind == AGG_SUM || s->kind == AGG_AVG) {
        if (v->type == VT_DOUBLE)
            a->sum.d += sign * v->u.d;
        else if (sign > 0)
            a->sum.i = (int64_t)((uint64_t)a->sum.i + (uint64_t)v->u.i); /* wraps like Flink's SUM */
        else
            a->sum.i = (int64_t)((uint64_t)a->sum.i - (uint64_t)v->u.i);
    }
    a->count += sign;
    return 0;
}

/* ---- Table -------------------------------------------------------------------------------*/

uint64_t group_keys_hash(const struct group_table *t, const struct value *keys)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < t->nkeys; i++)
        h = value_hash(&keys[i], h);
    return h;
}

static void lru_unlink(struct group_table *t, struct group_entry *g)
{
    if (g->lru_prev)
        g->lru_prev->lru_next = g->lru_next;
    else
        t->oldest = g->lru_next;
    if (g->lru_next)
        g->lru_next->lru_prev = g->lru_prev;
    else
        t->newest = g->lru_prev;
    g->lru_prev = g->lru_next = NULL;
}

static void lru_append(struct group_table *t, struct group_entry *g)
{
    g->lru_prev = t->newest;
    g->lru_next = NULL;
    if (t->newest)
        t->newest->lru_next = g;
    else
        t->oldest = g;
    t->newest = g;
}

static int table_grow(struct group_table *t)
{
    size_t n = t->nbuckets ? t->nbuckets * 2 : 64;
    struct group_entry **b = calloc(n, sizeof *b);
    if (!b)
        return -1;
    for (size_t i = 0; i < t->nbuckets; i++)
        for (struct group_entry *g = t->buckets[i], *next; g; g = next) {
            next = g->hnext;
            g->hnext = b[g->hash & (n - 1)];
            b[g->hash & (n - 1)] = g;
        }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
    return 0;
}

static size_t entry_size(const struct group_table *t)
{
    return sizeof(struct group_entry) + (size_t)t->nkeys * sizeof(struct value) +
           (size_t)t->naggs * sizeof(struct group_acc);
}

static struct group_entry *entry_new(struct group_table *t, const struct value *keys, uint64_t h)
{
    struct group_entry *g = calloc(1, entry_size(t));
    if (!g)
        return NULL;
    t->bytes += entry_size(t);
    g->keys = (struct value *)(g + 1);
    g->accs = (struct group_acc *)(g->keys + t->nkeys);
    g->hash = h;
    for (int i = 0; i < t->nkeys; i++)
        if (value_own(&g->keys[i], &keys[i], &t->bytes) < 0) {
            for (int k = 0; k < i; k++)
                value_release(&g->keys[k], &t->bytes);
            t->bytes -= entry_size(t);
            free(g);
            return NULL;
        }
    return g;
}

struct group_entry *group_table_find(struct group_table *t, const struct value *keys, uint64_t h, int create,
                                     int64_t now_ms)
{
    struct group_entry *g = NULL;
    if (t->nbuckets)
        for (g = t->buckets[h & (t->nbuckets - 1)]; g; g = g->hnext) {
            int same = g->hash == h;
            for (int i = 0; same && i < t->nkeys; i++)
                same = value_equal(&g->keys[i], &keys[i]);
            if (same)
                break;
        }
    if (!g) {
        if (!create || ((t->ngroups + 1) * 2 > t->nbuckets && table_grow(t) < 0) || !(g = entry_new(t, keys, h)))
            return NULL;
        g->hnext = t->buckets[h & (t->nbuckets - 1)];
        t->buckets[h & (t->nbuckets - 1)] = g;
        t->ngroups++;
    } else {
        lru_unlink(t, g);
    }
    g->accessed_ms = now_ms;
    lru_append(t, g);
    return g;
}

int group_entry_update(struct group_table *t, struct group_entry *g, const struct value *args, int sign)
{
    for (int i = 0; i < t->naggs; i++) {
        int rc = acc_update(&t->aggs[i], &g->accs[i], &args[i], sign, t->append_only, &t->bytes);
        if (rc < 0)
            return rc;
    }
    g->rows += sign;
    return 0;
}

void group_entry_result(const struct group_table *t, const struct group_entry *g, int i, struct value *out)
{
    const struct agg_slot *s = &t->aggs[i];
    const struct group_acc *a = &g->accs[i];
    out->type = s->result;
    switch (s->kind) {
    case AGG_UDF:
        udf_agg_result(s->udf, a->nvals ? &a->vals[0].v : &(struct value){.type = VT_NULL}, out);
        return;
    case AGG_COUNT:
        out->u.i = s->distinct ? a->nvals : a->count;
        return;
    case AGG_MIN:
    case AGG_MAX:
        if (!a->nvals)
            out->type = VT_NULL;
        else
            *out = a->vals[s->kind == AGG_MIN ? 0 : a->nvals - 1].v;
        return;
    case AGG_SUM:
    case AGG_AVG:
        if (a->count <= 0)
            out->type = VT_NULL;
        else if (s->result == VT_DOUBLE)
            out->u.d = s->kind == AGG_SUM ? a->sum.d : a->sum.d / (double)a->count;
        else
            out->u.i = s->kind == AGG_SUM ? a->sum.i : a->sum.i / a->count;
        return;
    default:
        out->type = VT_NULL;
    }
}

static void batch_forget(struct group_table *t, struct group_entry *g)
{
    if (!g->batched)
        return;
    t->batch[g->batched - 1] = NULL;
    g->batched = 0;
}

/* Frees g's before row. */
static void before_free(struct group_table *t, struct group_entry *g, size_t size)
{
    t->bytes -= size;
    t->before_bytes -= size;
    free(g->before);
    g->before = NULL;
}

static size_t row_size(const struct value *row, int n)
{
    size_t bytes = (size_t)n * sizeof *row;
    for (int i = 0; i < n; i++)
        if (row[i].type == VT_STRING)
            bytes += row[i].u.s.len;
    return bytes;
}

static size_t before_size(const struct group_table *t, const struct group_entry *g)
{
    return g->before ? row_size(g->before, t->nkeys + t->naggs) : 0;
}

int group_batch_add(struct group_table *t, struct group_entry *g, const struct value *row, int n)
{
    if (g->batched)
        return 0;
    if (t->nbatch == t->capbatch) {
        size_t cap = t->capbatch ? t->capbatch * 2 : 64;
        struct group_entry **b = realloc(t->batch, cap * sizeof *b);
        if (!b)
            return -1;
        t->batch = b;
        t->capbatch = cap;
    }
    size_t size = 0;
    if (row && !(g->before = opstate_row_copy(row, n, &size)))
        return -1;
    t->bytes += size;
    t->before_bytes += size;
    t->batch[t->nbatch++] = g;
    g->batched = t->nbatch;
    return 0;
}

void group_batch_clear(struct group_table *t)
{
    for (size_t i = 0; i < t->nbatch; i++) {
        struct group_entry *g = t->batch[i];
        if (!g)
            continue;
        g->batched = 0;
        if (g->before)
            before_free(t, g, before_size(t, g));
    }
    t->nbatch = 0;
}

void group_entry_reset(struct group_table *t, struct group_entry *g)
{
    for (int i = 0; i < t->naggs; i++) {
        acc_free(&t->aggs[i], &g->accs[i], &t->bytes);
        memset(&g->accs[i], 0, sizeof g->accs[i]);
    }
    g->rows = 0;
}

static void entry_free(struct group_table *t, struct group_entry *g)
{
    if (g->before)
        before_free(t, g, before_size(t, g));
    batch_forget(t, g);
    for (int i = 0; i < t->nkeys; i++)
        value_release(&g->keys[i], &t->bytes);
    for (int i = 0; i < t->naggs; i++)
        acc_free(&t->aggs[i], &g->accs[i], &t->bytes);
    t->bytes -= entry_size(t);
    free(g);
}

void group_table_remove(struct group_table *t, struct group_entry *g)
{
    struct group_entry **pp = &t->buckets[g->hash & (t->nbuckets - 1)];
    while (*pp != g)
        pp = &(*pp)->hnext;
    *pp = g->hnext;
    lru_unlink(t, g);
    t->ngroups--;
    entry_free(t, g);
}

size_t group_table_expire(struct group_table *t, int64_t limit_ms)
{
    size_t n = 0;
    while (t->oldest && t->oldest->accessed_ms <= limit_ms) {
        group_table_remove(t, t->oldest);
        n++;
    }
    return n;
}

void group_table_clear(struct group_table *t)
{
    while (t->oldest)
        group_table_remove(t, t->oldest);
    free(t->buckets);
    t->buckets = NULL;
    t->nbuckets = 0;
    free(t->batch);
    t->batch = NULL;
    t->nbatch = t->capbatch = 0;
}

size_t group_table_bytes(const struct group_table *t) { return t->nbuckets * sizeof *t->buckets + t->bytes; }

/* ---- Byte form: ngroups, then per group (oldest first): keys, rows, accessed, and per
 * aggregate count, sum, nvals and (value, count) pairs ----------------------------------*/

void group_table_write(const struct group_table *t, struct window_writer *w)
{
    int64_t n = (int64_t)t->ngroups;
    window_put(w, &n, sizeof n);
    for (const struct group_entry *g = t->oldest; g; g = g->lru_next) {
        for (int k = 0; k < t->nkeys; k++)
            window_put_value(w, &g->keys[k]);
        window_put(w, &g->rows, sizeof g->rows);
        window_put(w, &g->accessed_ms, sizeof g->accessed_ms);
        for (int i = 0; i < t->naggs; i++) {
            const struct group_acc *a = &g->accs[i];
            window_put(w, &a->count, sizeof a->count);
            window_put(w, &a->sum, sizeof a->sum);
            window_put(w, &a->nvals, sizeof a->nvals);
            for (int v = 0; v < acc_slots(&t->aggs[i], a); v++) {
                if (a->vals[v].n <= 0)
                    continue;
                window_put_value(w, &a->vals[v].v);
                window_put(w, &a->vals[v].n, sizeof a->vals[v].n);
            }
        }
    }
}

static int read_acc(struct window_reader *r, const struct agg_slot *s, struct group_acc *a, size_t *bytes)
{
    int nvals = 0;
    window_get(r, &a->count, sizeof a->count);
    window_get(r, &a->sum, sizeof a->sum);
    window_get(r, &nvals, sizeof nvals);
    if (r->bad || nvals < 0 || (nvals > 0 && !uses_values(s) && !(s->kind == AGG_UDF && nvals == 1)))
        return -1;
    enum value_type want = s->kind == AGG_UDF ? VT_STRING : s->arg ? s->arg->type : VT_NULL;
    for (int v = 0; v < nvals; v++) {
        struct value x;
        int64_t n;
        window_get_value(r, &x);
        window_get(r, &n, sizeof n);
        if (r->bad || x.type != want || n <= 0 || acc_add_value(s, a, &x, n, bytes) < 0)
            return -1;
    }
    return 0;
}

int group_table_read(struct group_table *t, struct window_reader *r)
{
    int64_t n;
    struct value keys[64];
    window_get(r, &n, sizeof n);
    if (r->bad || n < 0 || t->nkeys > 64)
        return -1;
    for (int64_t i = 0; i < n; i++) {
        for (int k = 0; k < t->nkeys; k++) {
            window_get_value(r, &keys[k]);
            if (keys[k].type != VT_NULL && keys[k].type != t->key_types[k])
                r->bad = 1;
        }
        int64_t rows, accessed;
        window_get(r, &rows, sizeof rows);
        window_get(r, &accessed, sizeof accessed);
        struct group_entry *g = r->bad ? NULL : group_table_find(t, keys, group_keys_hash(t, keys), 1, accessed);
        if (!g || g->rows != 0)
            goto bad;
        g->rows = rows;
        for (int a = 0; a < t->naggs; a++)
            if (read_acc(r, &t->aggs[a], &g->accs[a], &t->bytes) < 0)
                goto bad;
    }
    return 0;
bad:
    group_table_clear(t);
    return -1;
}
