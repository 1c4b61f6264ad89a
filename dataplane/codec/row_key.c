/* row_key.c — primary keys of rows as bytes (see row_key.h). Each key field is one type byte
 * followed by its value: nothing for NULL, one byte for a BOOLEAN, eight for a BIGINT,
 * TIMESTAMP or DOUBLE, a u32 length and the bytes for a STRING. */
#include "dataplane/codec/row_key.h"

#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "dataplane/codec/json_decode.h"

struct row_key {
    struct schema schema; /* fields borrowed from the caller's copy below */
    struct field *fields;
    struct json_decoder *decoder;
    struct value *row;
    struct arena *arena;
};

struct row_key *row_key_new(const struct schema *s)
{
    struct row_key *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->schema = *s;
    k->fields = calloc((size_t)s->nfields + 1, sizeof *k->fields);
    k->row = calloc((size_t)s->nfields + 1, sizeof *k->row);
    unsigned char *needed = calloc((size_t)s->nfields + 1, 1);
    k->arena = arena_new(4096);
    if (!k->fields || !k->row || !needed || !k->arena) {
        free(needed);
        row_key_free(k);
        return NULL;
    }
    for (int i = 0; i < s->nfields; i++) {
        k->fields[i].type = s->fields[i].type;
        k->fields[i].name = strdup(s->fields[i].name);
        if (!k->fields[i].name) {
            free(needed);
            row_key_free(k);
            return NULL;
        }
    }
    k->schema.fields = k->fields;
    for (int i = 0; i < s->nprimary_key; i++)
        needed[s->primary_key[i]] = 1;
    k->decoder = json_decoder_new(&k->schema, needed);
    free(needed);
    if (!k->decoder) {
        row_key_free(k);
        return NULL;
    }
    return k;
}

void row_key_free(struct row_key *k)
{
    if (!k)
        return;
    json_decoder_free(k->decoder);
    for (int i = 0; k->fields && i < k->schema.nfields; i++)
        free(k->fields[i].name);
    free(k->fields);
    free(k->row);
    arena_free(k->arena);
    free(k);
}

static int put(char *out, size_t cap, size_t *at, const void *p, size_t n)
{
    if (cap - *at < n)
        return -1;
    memcpy(out + *at, p, n);
    *at += n;
    return 0;
}

int row_key_of_values(const struct schema *s, const struct value *row, char *out, size_t cap, size_t *out_len)
{
    size_t at = 0;
    for (int i = 0; i < s->nprimary_key; i++) {
        const struct value *v = &row[s->primary_key[i]];
        unsigned char t = (unsigned char)v->type;
        if (put(out, cap, &at, &t, 1) != 0)
            return -1;
        int rc = 0;
        switch (v->type) {
        case VT_NULL:
            break;
        case VT_BOOLEAN:
            t = v->u.b;
            rc = put(out, cap, &at, &t, 1);
            break;
        case VT_BIGINT:
        case VT_TIMESTAMP:
            rc = put(out, cap, &at, &v->u.i, sizeof v->u.i);
            break;
        case VT_DOUBLE:
            rc = put(out, cap, &at, &v->u.d, sizeof v->u.d);
            break;
        case VT_STRING:
            rc = put(out, cap, &at, &v->u.s.len, sizeof v->u.s.len) || put(out, cap, &at, v->u.s.ptr, v->u.s.len);
            break;
        default: /* a type added later: its text would be needed; not a key we can compare */
            return -1;
        }
        if (rc != 0)
            return -1;
    }
    *out_len = at;
    return 0;
}

int row_key_of(struct row_key *k, const char *row, uint32_t len, char *out, size_t cap, size_t *out_len)
{
    char why[128];
    arena_reset(k->arena);
    if (json_decode_row(k->decoder, row, len, k->row, k->arena, why, sizeof why) != 0)
        return -1;
    return row_key_of_values(&k->schema, k->row, out, cap, out_len);
}
