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

double value_as_double(const struct value *v)
{
    if (v->type == VT_DOUBLE)
        return v->u.d;
    if (value_is_decimal(v->type))
        return value_decimal_to_double(v->u.dec, value_decimal_scale(v->type));
    return (double)v->u.i;
}

/* a / 10^sa against b / 10^sb, exactly. */
static int decimal_compare(value_int128 a, int sa, value_int128 b, int sb)
{
    value_int128 x = a, y = b;
    if (sa < sb && __builtin_mul_overflow(a, value_pow10(sb - sa), &x))
        return a < 0 ? -1 : 1; /* |a| scaled beyond 10^38 > |b| */
    if (sb < sa && __builtin_mul_overflow(b, value_pow10(sa - sb), &y))
        return b < 0 ? 1 : -1;
    return x < y ? -1 : x > y ? 1 : 0;
}

int value_compare(const struct value *a, const struct value *b)
{
    if (a->type == VT_DOUBLE || b->type == VT_DOUBLE) {
        double x = value_as_double(a), y = value_as_double(b);
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (value_is_decimal(a->type) || value_is_decimal(b->type)) {
        int da = value_is_decimal(a->type), db = value_is_decimal(b->type);
        return decimal_compare(da ? a->u.dec : a->u.i, da ? value_decimal_scale(a->type) : 0, db ? b->u.dec : b->u.i,
                               db ? value_decimal_scale(b->type) : 0);
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

static uint64_t mix(uint64_t h)
{
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

/* A whole DECIMAL that fits BIGINT hashes as that BIGINT; others by their value with trailing
 * fraction zeros dropped, so that 1.50 and 1.5 agree as value_compare says. */
static uint64_t decimal_hash(const struct value *v, uint64_t h)
{
    value_int128 x = v->u.dec;
    int scale = value_decimal_scale(v->type);
    while (scale > 0 && x % 10 == 0) {
        x /= 10;
        scale--;
    }
    if (scale == 0 && x >= INT64_MIN && x <= INT64_MAX)
        return mix(h ^ (uint64_t)(int64_t)x);
    return mix(mix(h ^ (uint64_t)x) ^ (uint64_t)(x >> 64) ^ (uint64_t)scale);
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
        if (value_is_decimal(v->type))
            return decimal_hash(v, h);
        i = v->u.i;
    }
    return mix(h ^ (uint64_t)i);
}

/* ---- Text forms --------------------------------------------------------------------------*/

const char *value_type_name(enum value_type t)
{
    static const char *const names[] = {
        [VT_NULL] = "NULL",     [VT_BOOLEAN] = "BOOLEAN",        [VT_BIGINT] = "BIGINT", [VT_DOUBLE] = "DOUBLE",
        [VT_STRING] = "STRING", [VT_TIMESTAMP] = "TIMESTAMP(3)", [VT_DATE] = "DATE",
    };
    static _Thread_local char decimal_names[8][24];
    static _Thread_local unsigned next;
    if (value_is_decimal(t)) {
        char *buf = decimal_names[next++ % 8];
        snprintf(buf, sizeof decimal_names[0], "DECIMAL(%d, %d)", value_decimal_precision(t), value_decimal_scale(t));
        return buf;
    }
    return (unsigned)t < sizeof names / sizeof names[0] && names[t] ? names[t] : "?";
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
    char *buf = scratch ? arena_alloc(scratch, value_is_decimal(v->type) ? 48 : TIMESTAMP_TEXT_MAX) : NULL;
    if (!buf)
        return -1;
    size_t n;
    if (value_is_decimal(v->type))
        n = value_format_decimal(v->u.dec, value_decimal_scale(v->type), buf);
    else if (v->type == VT_DATE)
        n = value_format_date(v->u.i, buf);
    else if (v->type == VT_BIGINT)
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

/* ---- DECIMAL ------------------------------------------------------------------------------*/

#define P19 ((value_int128)10000000000000000000ULL)
static const value_int128 pow10_table[DECIMAL_MAX_PRECISION + 1] = {
    1ULL,
    10ULL,
    100ULL,
    1000ULL,
    10000ULL,
    100000ULL,
    1000000ULL,
    10000000ULL,
    100000000ULL,
    1000000000ULL,
    10000000000ULL,
    100000000000ULL,
    1000000000000ULL,
    10000000000000ULL,
    100000000000000ULL,
    1000000000000000ULL,
    10000000000000000ULL,
    100000000000000000ULL,
    1000000000000000000ULL,
    P19,
    P19 * 10,
    P19 * 100,
    P19 * 1000,
    P19 * 10000,
    P19 * 100000,
    P19 * 1000000,
    P19 * 10000000,
    P19 * 100000000,
    P19 * 1000000000,
    P19 * 10000000000ULL,
    P19 * 100000000000ULL,
    P19 * 1000000000000ULL,
    P19 * 10000000000000ULL,
    P19 * 100000000000000ULL,
    P19 * 1000000000000000ULL,
    P19 * 10000000000000000ULL,
    P19 * 100000000000000000ULL,
    P19 * 1000000000000000000ULL,
    P19 *P19,
};

value_int128 value_pow10(int n) { return pow10_table[n]; }

int value_decimal_fits(value_int128 v, int precision)
{
    value_int128 limit = pow10_table[precision];
    return v < limit && v > -limit;
}

/* v / d rounded half away from zero (d > 0). */
static value_int128 divide_half_up(value_int128 v, value_int128 d)
{
    value_int128 q = v / d, r = v % d;
    if (r < 0)
        r = -r;
    if (r >= d - r)
        q += v < 0 ? -1 : 1;
    return q;
}

int value_decimal_rescale(value_int128 v, int from, int to, int precision, value_int128 *out)
{
    if (to > from) {
        if (to - from > DECIMAL_MAX_PRECISION || __builtin_mul_overflow(v, pow10_table[to - from], &v))
            return -1;
    } else if (to < from) {
        v = from - to > DECIMAL_MAX_PRECISION ? 0 : divide_half_up(v, pow10_table[from - to]);
    }
    *out = v;
    return value_decimal_fits(v, precision) ? 0 : -1;
}

/* Significant digits of decimal text: up to 38 kept in *mant, *exp10 the power of ten they are
 * scaled by, *round_up when the first dropped digit is 5 or more. Returns the end, or NULL. */
static const char *decimal_scan(const char *p, const char *end, value_int128 *mant, int *exp10, int *round_up)
{
    int ndigits = 0, seen = 0, dot = 0;
    *mant = 0;
    *exp10 = 0;
    *round_up = 0;
    for (; p < end; p++) {
        if (*p == '.' && !dot) {
            dot = 1;
            continue;
        }
        if (*p < '0' || *p > '9')
            break;
        seen = 1;
        if (ndigits < DECIMAL_MAX_PRECISION) {
            if (*mant || *p != '0')
                ndigits++;
            *mant = *mant * 10 + (*p - '0');
            *exp10 -= dot;
        } else {
            if (ndigits++ == DECIMAL_MAX_PRECISION)
                *round_up = *p >= '5';
            *exp10 += !dot;
        }
    }
    if (!seen)
        return NULL;
    if (p < end && (*p == 'e' || *p == 'E')) {
        char buf[8];
        size_t n = 0;
        for (p++; p < end && n < sizeof buf - 1 && (*p == '-' || *p == '+' || (*p >= '0' && *p <= '9')); p++)
            buf[n++] = *p;
        buf[n] = '\0';
        char *e;
        long x = strtol(buf, &e, 10);
        if (n == 0 || *e || x > 1000 || x < -1000)
            return NULL;
        *exp10 += (int)x;
    }
    return p;
}

int value_decimal_parse(const char *s, size_t len, int precision, int scale, value_int128 *out)
{
    const char *p = s, *end = s + len;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    int neg = p < end && *p == '-';
    if (p < end && (*p == '-' || *p == '+'))
        p++;
    value_int128 mant;
    int exp10, round_up;
    if (!(p = decimal_scan(p, end, &mant, &exp10, &round_up)) || p != end)
        return -1;
    if (round_up && exp10 + scale >= 0)
        mant++; /* the dropped digits are below the result's last digit */
    if (neg)
        mant = -mant;
    if (exp10 + scale < -2 * DECIMAL_MAX_PRECISION) {
        *out = 0;
        return 0;
    }
    return value_decimal_rescale(mant, 0, exp10 + scale, precision, out) < 0 ? -2 : 0;
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

size_t value_format_decimal(value_int128 v, int scale, char *buf)
{
    char tmp[48], *t = tmp + sizeof tmp;
    unsigned __int128 u = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
    int n = 0;
    while (u > UINT64_MAX) { /* 19 digits at a time from the top part */
        uint64_t low = (uint64_t)(u % 10000000000000000000ULL);
        u /= 10000000000000000000ULL;
        for (int k = 0; k < 19; k++, n++, low /= 10)
            *--t = (char)('0' + low % 10);
    }
    for (uint64_t x = (uint64_t)u; x || n <= scale; x /= 10, n++)
        *--t = (char)('0' + x % 10);
    char *o = buf;
    if (v < 0)
        *o++ = '-';
    size_t whole = (size_t)(n - scale);
    memcpy(o, t, whole);
    o += whole;
    if (scale > 0) {
        *o++ = '.';
        memcpy(o, t + whole, (size_t)scale);
        o += scale;
    }
    *o = '\0';
    return (size_t)(o - buf);
}

double value_decimal_to_double(value_int128 v, int scale)
{
    static const double exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    if (v < ((value_int128)1 << 53) && v > -((value_int128)1 << 53) && scale <= 22)
        return (double)(int64_t)v / exact[scale];
    char buf[48];
    value_format_decimal(v, scale, buf);
    return strtod(buf, NULL);
}

size_t value_format_date(int64_t days, char *buf)
{
    int64_t y;
    int m, d;
    timestamp_civil_from_days(days, &y, &m, &d);
    int n = snprintf(buf, 16, "%04lld-%02d-%02d", (long long)y, m, d);
    return n < 16 ? (size_t)n : 15; /* only a year beyond 9999 is cut */
}

int row_kind_is_accumulate(enum row_kind k) { return k == ROW_INSERT || k == ROW_UPDATE_AFTER; }
