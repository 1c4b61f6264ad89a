/* value.c — the helpers every user of a dataplane value shares: the total order, equality and
 * hash used by comparisons, grouping and aggregates, and the text forms of CAST(v AS STRING)
 * (timestamps through the codec). */
#include "dataplane/value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "dataplane/codec/timestamp.h"

/* ---- Order, equality, hash --------------------------------------------------------------*/

static double as_double(const struct value *v) { return v->type == VT_DOUBLE ? v->u.d : (double)v->u.i; }

int value_compare(const struct value *a, const struct value *b)
{
    if (a->type == VT_DOUBLE || b->type == VT_DOUBLE) {
        double x = as_double(a), y = as_double(b);
        return x < y ? -1 : x > y ? 1 : 0;
    }
    switch (a->type) {
    case VT_BOOLEAN:
        return (int)a->u.b - (int)b->u.b;
    case VT_STRING: {
        uint32_t n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
        int r = n ? memcmp(a->u.s.ptr, b->u.s.ptr, n) : 0;
        if (r)
            return r < 0 ? -1 : 1;
        return a->u.s.len < b->u.s.len ? -1 : a->u.s.len > b->u.s.len ? 1 : 0;
    }
    default:
        return a->u.i < b->u.i ? -1 : a->u.i > b->u.i ? 1 : 0;
    }
}

int value_equal(const struct value *a, const struct value *b)
{
    if (a->type == VT_NULL || b->type == VT_NULL)
        return a->type == b->type;
    return value_compare(a, b) == 0;
}

uint64_t value_hash(const struct value *v, uint64_t seed)
{
    uint64_t h = seed ^ 0x9e3779b97f4a7c15ULL;
    const unsigned char *p;
    size_t n;
    int64_t i;
    switch (v->type) {
    case VT_NULL:
        return h * 31 + 7;
    case VT_STRING:
        p = (const unsigned char *)v->u.s.ptr;
        n = v->u.s.len;
        h ^= 0xcbf29ce484222325ULL;
        for (size_t k = 0; k < n; k++)
            h = (h ^ p[k]) * 0x100000001b3ULL;
        return h;
    case VT_DOUBLE:
        /* equal to a BIGINT when whole, so that mixed keys agree with value_compare */
        if (v->u.d > -9.2e18 && v->u.d < 9.2e18 && v->u.d == (double)(int64_t)v->u.d) {
            i = (int64_t)v->u.d;
            break;
        }
        memcpy(&i, &v->u.d, sizeof i);
        break;
    case VT_BOOLEAN:
        i = v->u.b;
        break;
    default:
        i = v->u.i;
    }
    h ^= (uint64_t)i;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

/* ---- Text forms --------------------------------------------------------------------------*/

const char *value_type_name(enum value_type t)
{
    static const char *const names[] = {
        [VT_NULL] = "NULL",     [VT_BOOLEAN] = "BOOLEAN", [VT_BIGINT] = "BIGINT",
        [VT_DOUBLE] = "DOUBLE", [VT_STRING] = "STRING",   [VT_TIMESTAMP] = "TIMESTAMP(3)",
    };
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

size_t value_format_double(double d, char *buf)
{
    if (isnan(d))
        return (size_t)snprintf(buf, 32, "NaN");
    if (isinf(d))
        return (size_t)snprintf(buf, 32, d > 0 ? "Infinity" : "-Infinity");
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, 32, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (!strpbrk(buf, ".e")) {
        buf[n++] = '.';
        buf[n++] = '0';
        buf[n] = '\0';
    }
    return (size_t)n;
}

int value_to_string(const struct value *v, struct arena *scratch, struct value *out)
{
    if (v->type == VT_STRING) {
        *out = *v;
        return 0;
    }
    if (v->type == VT_BOOLEAN) {
        out->type = VT_STRING;
        out->u.s.ptr = v->u.b ? "TRUE" : "FALSE";
        out->u.s.len = v->u.b ? 4 : 5;
        return 0;
    }
    char *buf = scratch ? arena_alloc(scratch, TIMESTAMP_TEXT_MAX) : NULL;
    if (!buf)
        return -1;
    size_t n;
    if (v->type == VT_BIGINT)
        n = (size_t)snprintf(buf, TIMESTAMP_TEXT_MAX, "%lld", (long long)v->u.i);
    else if (v->type == VT_DOUBLE)
        n = value_format_double(v->u.d, buf);
    else
        n = timestamp_format(v->u.i, buf);
    out->type = VT_STRING;
    out->u.s.ptr = buf;
    out->u.s.len = (uint32_t)n;
    return 0;
}

const char *row_kind_name(enum row_kind k)
{
    static const char *const names[] = {"+I", "-U", "+U", "-D"};
    return (unsigned)k < 4 ? names[k] : "?";
}

int row_kind_parse(const char *s, size_t len, enum row_kind *out)
{
    static const char *const names[] = {"+I", "-U", "+U", "-D"};
    if (len != 2)
        return -1;
    for (int k = 0; k < 4; k++)
        if (s[0] == names[k][0] && s[1] == names[k][1]) {
            *out = (enum row_kind)k;
            return 0;
        }
    return -1;
}

int row_kind_is_accumulate(enum row_kind k) { return k == ROW_INSERT || k == ROW_UPDATE_AFTER; }
