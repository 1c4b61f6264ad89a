/* opstate.c — owned value and row copies, the partition hash table and the byte form of values,
 * rows and snapshot heads shared by the stateful operators (windows, GROUP BY, Top-N,
 * deduplication, OVER aggregates). */
#include "dataplane/sql/opstate.h"

#include <stdlib.h>
#include <string.h>

void opstate_value_release(struct value *v)
{
    if (v->type == VT_STRING)
        free((void *)v->u.s.ptr);
    v->type = VT_NULL;
}

int opstate_value_own(struct value *dst, const struct value *v)
{
    *dst = *v;
    if (v->type != VT_STRING)
        return 0;
    char *m = malloc(v->u.s.len + 1);
    if (!m)
        return -1;
    memcpy(m, v->u.s.ptr, v->u.s.len);
    m[v->u.s.len] = '\0';
    dst->u.s.ptr = m;
    return 0;
}

size_t opstate_row_size(const struct value *row, int n)
{
    size_t bytes = (size_t)n * sizeof(struct value);
    for (int i = 0; i < n; i++)
        if (row[i].type == VT_STRING)
            bytes += row[i].u.s.len;
    return bytes;
}

struct value *opstate_row_copy_into(void *dst, const struct value *row, int n)
{
    struct value *c = dst;
    char *s = (char *)(c + n);
    for (int i = 0; i < n; i++) {
        c[i] = row[i];
        if (row[i].type == VT_STRING) {
            if (row[i].u.s.len)
                memcpy(s, row[i].u.s.ptr, row[i].u.s.len);
            c[i].u.s.ptr = s;
            s += row[i].u.s.len;
        }
    }
    return c;
}

struct value *opstate_row_copy(const struct value *row, int n, size_t *size)
{
    size_t bytes = opstate_row_size(row, n);
    struct value *c = malloc(bytes ? bytes : 1);
    if (!c)
        return NULL;
    if (size)
        *size = bytes;
    return opstate_row_copy_into(c, row, n);
}

uint64_t opstate_hash_cols(const struct value *row, const int *cols, int ncols)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < ncols; i++)
        h = value_hash(&row[cols[i]], h);
    return h;
}

/* ---- Partition table ---------------------------------------------------------------------*/

struct opstate_part *opstate_find(const struct opstate_table *t, const struct value *row, const int *cols, uint64_t h)
{
    if (!t->cap)
        return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) { /* at most half full: an empty slot ends it */
        const struct opstate_slot *s = &t->slots[i];
        if (!s->part)
            return NULL;
        if (s->hash != h)
            continue;
        int k = 0;
        while (k < t->nkeys && value_equal(&s->part->keys[k], &row[cols[k]]))
            k++;
        if (k == t->nkeys)
            return s->part;
    }
}

static void slot_put(struct opstate_slot *slots, size_t cap, struct opstate_part *p)
{
    size_t i = p->hash & (cap - 1);
    while (slots[i].part)
        i = (i + 1) & (cap - 1);
    slots[i] = (struct opstate_slot){p->hash, p};
}

int opstate_insert(struct opstate_table *t, struct opstate_part *p)
{
    if ((t->n + 1) * 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct opstate_slot *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < t->cap; i++)
            if (t->slots[i].part)
                slot_put(slots, cap, t->slots[i].part);
        free(t->slots);
        t->slots = slots;
        t->cap = cap;
    }
    slot_put(t->slots, t->cap, p);
    t->n++;
    return 0;
}

void opstate_remove(struct opstate_table *t, struct opstate_part *p)
{
    if (!t->cap)
        return;
    size_t mask = t->cap - 1, i = p->hash & mask;
    while (t->slots[i].part && t->slots[i].part != p)
        i = (i + 1) & mask;
    if (!t->slots[i].part)
        return;
    /* backward shift: a later slot of the run moves into the hole when its home is not
     * between the hole and it */
    for (size_t j = (i + 1) & mask; t->slots[j].part; j = (j + 1) & mask) {
        size_t home = t->slots[j].hash & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i] = (struct opstate_slot){0, NULL};
    t->n--;
}

void opstate_table_free(struct opstate_table *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->n = 0;
}

/* ---- Byte form ---------------------------------------------------------------------------*/

/* Room for n more bytes in b; 0, or -1 (b->oom set) on out of memory. */
static int reserve(struct window_writer *b, size_t n)
{
    if (b->oom)
        return -1;
    if (b->len + n <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + n)
        cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) {
        b->oom = 1;
        return -1;
    }
    b->p = np;
    b->cap = cap;
    return 0;
}

void window_put(struct window_writer *b, const void *d, size_t n)
{
    if (reserve(b, n) < 0)
        return;
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

void window_get(struct window_reader *r, void *d, size_t n)
{
    if (r->bad || r->len - r->pos < n) {
        r->bad = 1;
        memset(d, 0, n);
        return;
    }
    memcpy(d, r->p + r->pos, n);
    r->pos += n;
}

void opstate_put_i64(struct window_writer *w, int64_t v) { window_put(w, &v, sizeof v); }

int64_t opstate_get_i64(struct window_reader *r)
{
    int64_t v;
    window_get(r, &v, sizeof v);
    return v;
}

void opstate_put_value(struct window_writer *b, const struct value *v)
{
    if (v->type == VT_BIGINT || v->type == VT_TIMESTAMP || v->type == VT_NULL) { /* the common ones, at once */
        if (reserve(b, 1 + sizeof v->u.i) < 0)
            return;
        b->p[b->len++] = (char)v->type;
        if (v->type != VT_NULL) {
            memcpy(b->p + b->len, &v->u.i, sizeof v->u.i);
            b->len += sizeof v->u.i;
        }
        return;
    }
    unsigned char t = (unsigned char)value_type_base(v->type);
    window_put(b, &t, 1);
    if (value_is_decimal(v->type)) {
        unsigned char ps[2] = {(unsigned char)value_decimal_precision(v->type),
                               (unsigned char)value_decimal_scale(v->type)};
        window_put(b, ps, 2);
        window_put(b, &v->u.dec, sizeof v->u.dec);
    } else if (v->type == VT_STRING) {
        window_put(b, &v->u.s.len, sizeof v->u.s.len);
        window_put(b, v->u.s.ptr, v->u.s.len);
    } else if (v->type == VT_DOUBLE) {
        window_put(b, &v->u.d, sizeof v->u.d);
    } else if (v->type == VT_BOOLEAN) {
        unsigned char x = v->u.b;
        window_put(b, &x, 1);
    } else if (v->type != VT_NULL) {
        opstate_put_i64(b, v->u.i);
    }
}

void opstate_get_value(struct window_reader *r, struct value *v)
{
    unsigned char type;
    window_get(r, &type, 1);
    memset(v, 0, sizeof *v);
    v->type = (enum value_type)type;
    switch (v->type) {
    case VT_NULL:
        return;
    case VT_STRING:
        window_get(r, &v->u.s.len, sizeof v->u.s.len);
        if (r->bad || r->len - r->pos < v->u.s.len) {
            r->bad = 1;
            v->type = VT_NULL;
            return;
        }
        v->u.s.ptr = r->p + r->pos;
        r->pos += v->u.s.len;
        return;
    case VT_DOUBLE:
        window_get(r, &v->u.d, sizeof v->u.d);
        return;
    case VT_BOOLEAN: {
        unsigned char x;
        window_get(r, &x, 1);
        v->u.b = x != 0;
        return;
    }
    case VT_BIGINT:
    case VT_TIMESTAMP:
    case VT_DATE:
        v->u.i = opstate_get_i64(r);
        return;
    case VT_DECIMAL: {
        unsigned char ps[2];
        window_get(r, ps, 2);
        window_get(r, &v->u.dec, sizeof v->u.dec);
        if (ps[0] < 1 || ps[0] > DECIMAL_MAX_PRECISION || ps[1] > ps[0])
            r->bad = 1;
        v->type = value_decimal_type(ps[0], ps[1]);
        return;
    }
    default:
        r->bad = 1;
        v->type = VT_NULL;
    }
}

void opstate_put_row(struct window_writer *w, const struct value *row, int n)
{
    for (int i = 0; i < n; i++)
        opstate_put_value(w, &row[i]);
}

struct value *opstate_get_row(struct window_reader *r, int n, const enum value_type *types, size_t *size)
{
    struct value stack[32], *tmp = n <= 32 ? stack : malloc((size_t)n * sizeof *tmp);
    struct value *row = NULL;
    if (!tmp) {
        r->bad = 1;
        return NULL;
    }
    for (int i = 0; i < n && !r->bad; i++) {
        opstate_get_value(r, &tmp[i]);
        if (types && tmp[i].type != VT_NULL && tmp[i].type != types[i])
            r->bad = 1;
    }
    if (!r->bad && !(row = opstate_row_copy(tmp, n, size)))
        r->bad = 1;
    if (tmp != stack)
        free(tmp);
    return row;
}

int opstate_head_matches(struct window_reader *r, const char magic[8], const struct window_writer *config)
{
    char got[8];
    window_get(r, got, sizeof got);
    int same = !config->oom && !r->bad && memcmp(got, magic, sizeof got) == 0 && r->len - r->pos >= config->len &&
               (config->len == 0 || memcmp(r->p + r->pos, config->p, config->len) == 0);
    if (same)
        r->pos += config->len;
    return same;
}
