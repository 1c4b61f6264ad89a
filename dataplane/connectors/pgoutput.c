/* pgoutput.c — decoding of pgoutput's logical replication messages (see pgoutput.h): a reader
 * over the message's bytes (big-endian integers, NUL-terminated strings), the relation cache,
 * tuples, and column values as JSON. */
#include "dataplane/connectors/pgoutput.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pgoutput_decoder {
    struct pgoutput_relation **rels;
    size_t nrels, caprels;
    struct pgoutput_value *old_cols, *new_cols;
    int capold, capnew;
};

/* ---------------------------------------------------------------- the byte reader */

struct pgoutput_cursor {
    const unsigned char *p, *end;
    bool short_read; /* a read went past the end */
};

static uint64_t cursor_uint(struct pgoutput_cursor *c, int bytes)
{
    if (c->end - c->p < bytes) {
        c->short_read = true;
        c->p = c->end;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | c->p[i];
    c->p += bytes;
    return v;
}

/* A NUL-terminated string in the message (borrowed), or "" when cut short. */
static const char *cursor_string(struct pgoutput_cursor *c)
{
    const unsigned char *nul = c->p < c->end ? memchr(c->p, 0, (size_t)(c->end - c->p)) : NULL;
    if (!nul) {
        c->short_read = true;
        c->p = c->end;
        return "";
    }
    const char *s = (const char *)c->p;
    c->p = nul + 1;
    return s;
}

/* ---------------------------------------------------------------- relations */

static void relation_free(struct pgoutput_relation *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->ncols; i++)
        free(r->cols[i].name);
    free(r->cols);
    free(r->nspname);
    free(r->relname);
    free(r);
}

struct pgoutput_decoder *pgoutput_decoder_new(void) { return calloc(1, sizeof(struct pgoutput_decoder)); }

void pgoutput_decoder_free(struct pgoutput_decoder *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nrels; i++)
        relation_free(d->rels[i]);
    free(d->rels);
    free(d->old_cols);
    free(d->new_cols);
    free(d);
}

static struct pgoutput_relation *relation_find(const struct pgoutput_decoder *d, uint32_t id)
{
    for (size_t i = 0; i < d->nrels; i++)
        if (d->rels[i]->id == id)
            return d->rels[i];
    return NULL;
}

/* Stores r in d, replacing the relation of the same id. 0, or -1 on out of memory. */
static int relation_store(struct pgoutput_decoder *d, struct pgoutput_relation *r)
{
    for (size_t i = 0; i < d->nrels; i++)
        if (d->rels[i]->id == r->id) {
            relation_free(d->rels[i]);
            d->rels[i] = r;
            return 0;
        }
    if (d->nrels == d->caprels) {
        size_t cap = d->caprels ? d->caprels * 2 : 8;
        struct pgoutput_relation **rels = realloc(d->rels, cap * sizeof *rels);
        if (!rels)
            return -1;
        d->rels = rels;
        d->caprels = cap;
    }
    d->rels[d->nrels++] = r;
    return 0;
}

/* Relation: Int32 id, String namespace, String name, Int8 identity, Int16 ncols, then per
 * column Int8 flags (1: key), String name, Int32 type, Int32 typmod. */
static int decode_relation(struct pgoutput_decoder *d, struct pgoutput_cursor *c, struct pgoutput_message *m)
{
    struct pgoutput_relation *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    r->id = (uint32_t)cursor_uint(c, 4);
    r->nspname = strdup(cursor_string(c));
    r->relname = strdup(cursor_string(c));
    r->identity = (char)cursor_uint(c, 1);
    int ncols = (int)cursor_uint(c, 2);
    r->cols = calloc(ncols ? (size_t)ncols : 1, sizeof *r->cols);
    if (!r->nspname || !r->relname || !r->cols)
        goto fail;
    for (; r->ncols < ncols && !c->short_read; r->ncols++) {
        struct pgoutput_column *col = &r->cols[r->ncols];
        col->key = cursor_uint(c, 1) & 1;
        if (!(col->name = strdup(cursor_string(c))))
            goto fail;
        col->type = (uint32_t)cursor_uint(c, 4);
        cursor_uint(c, 4); /* typmod */
    }
    if (c->short_read || relation_store(d, r) != 0)
        goto fail;
    m->rel = r;
    return 0;
fail:
    relation_free(r);
    return -1;
}

/* ---------------------------------------------------------------- tuples */

/* TupleData: Int16 ncols, then per column Byte1 'n' | 'u' | 't' (Int32 len, bytes). The
 * columns go into *cols (grown as needed). 0, or -1 when malformed or out of memory. */
static int decode_tuple(struct pgoutput_cursor *c, struct pgoutput_value **cols, int *cap, struct pgoutput_tuple *t)
{
    int n = (int)cursor_uint(c, 2);
    if (n > *cap) {
        struct pgoutput_value *v = realloc(*cols, (size_t)n * sizeof *v);
        if (!v)
            return -1;
        *cols = v;
        *cap = n;
    }
    t->cols = *cols;
    t->ncols = n;
    for (int i = 0; i < n && !c->short_read; i++) {
        struct pgoutput_value *v = &t->cols[i];
        *v = (struct pgoutput_value){.kind = (char)cursor_uint(c, 1)};
        if (v->kind == 't') {
            v->len = (uint32_t)cursor_uint(c, 4);
            if ((size_t)(c->end - c->p) < v->len) {
                c->short_read = true;
                return -1;
            }
            v->data = (const char *)c->p;
            c->p += v->len;
        } else if (v->kind != 'n' && v->kind != 'u') {
            return -1; /* 'b' (binary) only with the binary option, which is not asked for */
        }
    }
    return c->short_read ? -1 : 0;
}

/* Insert ('N' new), Update (['K' | 'O' old] 'N' new), Delete ('K' | 'O' old). */
static int decode_change(struct pgoutput_decoder *d, struct pgoutput_cursor *c, struct pgoutput_message *m, char *err,
                         size_t errlen)
{
    uint32_t id = (uint32_t)cursor_uint(c, 4);
    if (!(m->rel = relation_find(d, id))) {
        snprintf(err, errlen, "pgoutput: a change of relation %u, which no Relation message described", id);
        return -1;
    }
    char tag = (char)cursor_uint(c, 1);
    if (m->type != PGOUTPUT_INSERT && (tag == 'K' || tag == 'O')) {
        m->old_kind = tag;
        if (decode_tuple(c, &d->old_cols, &d->capold, &m->old_tuple) != 0)
            goto bad;
        if (m->type == PGOUTPUT_UPDATE)
            tag = (char)cursor_uint(c, 1);
    }
    if (m->type != PGOUTPUT_DELETE && (tag != 'N' || decode_tuple(c, &d->new_cols, &d->capnew, &m->new_tuple) != 0))
        goto bad;
    if (m->type == PGOUTPUT_DELETE && !m->old_kind)
        goto bad;
    return 0;
bad:
    snprintf(err, errlen, "pgoutput: a malformed change of table %s.%s", m->rel->nspname, m->rel->relname);
    return -1;
}

int pgoutput_decode(struct pgoutput_decoder *d, const char *buf, size_t len, struct pgoutput_message *m, char *err,
                    size_t errlen)
{
    struct pgoutput_cursor c = {(const unsigned char *)buf, (const unsigned char *)buf + len, false};
    *m = (struct pgoutput_message){.type = PGOUTPUT_OTHER};
    char tag = (char)cursor_uint(&c, 1);
    switch (tag) {
    case 'B':
        m->type = PGOUTPUT_BEGIN;
        m->lsn = cursor_uint(&c, 8);
        cursor_uint(&c, 8); /* commit timestamp */
        m->xid = (uint32_t)cursor_uint(&c, 4);
        break;
    case 'C':
        m->type = PGOUTPUT_COMMIT;
        cursor_uint(&c, 1); /* flags */
        m->lsn = cursor_uint(&c, 8);
        m->end_lsn = cursor_uint(&c, 8);
        cursor_uint(&c, 8); /* commit timestamp */
        break;
    case 'R':
        m->type = PGOUTPUT_RELATION;
        if (decode_relation(d, &c, m) != 0) {
            snprintf(err, errlen, "pgoutput: a malformed Relation message (or out of memory)");
            return -1;
        }
        return 0;
    case 'I':
    case 'U':
    case 'D':
        m->type = tag == 'I' ? PGOUTPUT_INSERT : tag == 'U' ? PGOUTPUT_UPDATE : PGOUTPUT_DELETE;
        return decode_change(d, &c, m, err, errlen);
    default:
        return 0;
    }
    if (c.short_read) {
        snprintf(err, errlen, "pgoutput: a %s message cut short", tag == 'B' ? "Begin" : "Commit");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- values as JSON */

static int put_raw(struct json_buf *out, const char *s, size_t len)
{
    if (json_buf_reserve(out, len + 1) != 0)
        return -1;
    memcpy(out->data + out->len, s, len);
    out->len += len;
    return 0;
}

/* Whether text is a JSON number (numeric's NaN and Infinity are not). */
static bool is_json_number(const char *s, size_t len)
{
    size_t i = 0;
    if (i < len && s[i] == '-')
        i++;
    if (i >= len || s[i] < '0' || s[i] > '9')
        return false;
    for (; i < len; i++)
        if (!strchr("0123456789.eE+-", s[i]))
            return false;
    return true;
}

int pgoutput_value_json(uint32_t type, const char *text, size_t len, struct json_buf *out)
{
    switch (type) {
    case 16: /* bool */
        return put_raw(out, len && text[0] == 't' ? "true" : "false", len && text[0] == 't' ? 4 : 5);
    case 20:   /* int8 */
    case 21:   /* int2 */
    case 23:   /* int4 */
    case 26:   /* oid */
    case 700:  /* float4 */
    case 701:  /* float8 */
    case 1700: /* numeric */
        if (is_json_number(text, len))
            return put_raw(out, text, len);
        break;
    case 1184: /* timestamptz: "... 12:00:00.123+00" → "+00:00" (the JSON decoder's offsets) */
        if (len >= 3 && (text[len - 3] == '+' || text[len - 3] == '-') && text[len - 2] >= '0' &&
            text[len - 2] <= '9') {
            char buf[64];
            if (len + 3 < sizeof buf) {
                memcpy(buf, text, len);
                memcpy(buf + len, ":00", 3);
                return json_buf_put_string_lossy(out, buf, len + 3);
            }
        }
        break;
    }
    return json_buf_put_string_lossy(out, text, len);
}

int pgoutput_tuple_json(const struct pgoutput_relation *rel, const struct pgoutput_tuple *t, struct json_buf *out)
{
    int rc = put_raw(out, "{", 1);
    bool first = true;
    for (int i = 0; i < t->ncols && i < rel->ncols && rc == 0; i++) {
        const struct pgoutput_value *v = &t->cols[i];
        if (v->kind == 'u')
            continue;
        rc |= (first ? 0 : put_raw(out, ",", 1)) |
              json_buf_put_string_lossy(out, rel->cols[i].name, strlen(rel->cols[i].name)) | put_raw(out, ":", 1);
        rc |= v->kind == 't' ? pgoutput_value_json(rel->cols[i].type, v->data, v->len, out) : put_raw(out, "null", 4);
        first = false;
    }
    return rc | put_raw(out, "}", 1) ? -1 : 0;
}

int pgoutput_same_key(const struct pgoutput_relation *rel, const struct pgoutput_tuple *a,
                      const struct pgoutput_tuple *b)
{
    for (int k = 0; k < rel->npk; k++) {
        int i = rel->pk[k];
        if (i >= a->ncols || i >= b->ncols)
            return 0;
        const struct pgoutput_value *x = &a->cols[i], *y = &b->cols[i];
        if (x->kind != y->kind || (x->kind == 't' && (x->len != y->len || memcmp(x->data, y->data, x->len) != 0)))
            return 0;
    }
    return 1;
}
