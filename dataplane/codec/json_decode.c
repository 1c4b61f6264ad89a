/* json_decode.c — single-pass JSON object scanner filling a row (see json_decode.h). */
#include "dataplane/codec/json_decode.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "dataplane/codec/json_encode.h"
#include "dataplane/codec/timestamp.h"

struct json_decoder {
    const struct schema *schema;
    int nfields;
    int nneeded;
    int *needed_index; /* schema indexes of the needed fields */
    /* every field of the schema: name, its length, and its place among the needed (-1: not
     * read), so a key no one reads is known at once too (find_field) */
    size_t *field_len;
    const char **field_name;
    int *field_needed;
};

struct json_decoder *json_decoder_new(const struct schema *s, const unsigned char *needed)
{
    struct json_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->schema = s;
    d->nfields = s->nfields;
    int n = s->nfields > 0 ? s->nfields : 1;
    d->needed_index = calloc((size_t)n, sizeof *d->needed_index);
    d->field_len = calloc((size_t)n, sizeof *d->field_len);
    d->field_name = calloc((size_t)n, sizeof *d->field_name);
    d->field_needed = calloc((size_t)n, sizeof *d->field_needed);
    if (!d->needed_index || !d->field_len || !d->field_name || !d->field_needed) {
        json_decoder_free(d);
        return NULL;
    }
    for (int i = 0; i < s->nfields; i++) {
        d->field_name[i] = s->fields[i].name;
        d->field_len[i] = strlen(s->fields[i].name);
        d->field_needed[i] = -1;
        if (needed && !needed[i])
            continue;
        d->field_needed[i] = d->nneeded;
        d->needed_index[d->nneeded++] = i;
    }
    return d;
}

void json_decoder_free(struct json_decoder *d)
{
    if (!d)
        return;
    free(d->needed_index);
    free(d->field_len);
    free(d->field_name);
    free(d->field_needed);
    free(d);
}

/* ---------------------------------------------------------------- scanner state */

struct scan {
    const char *start, *p, *end;
    struct arena *arena;
    char *err;
    size_t errlen;
};

static int scan_fail(struct scan *s, const char *what)
{
    snprintf(s->err, s->errlen, "invalid JSON at byte %zu: %s", (size_t)(s->p - s->start), what);
    return -1;
}

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* A scanned JSON value: its kind and, for strings, numbers and containers, where it is. */
enum jkind { J_NULL, J_TRUE, J_FALSE, J_INT, J_REAL, J_STRING, J_OBJECT, J_ARRAY };

struct jvalue {
    enum jkind kind;
    const char *text; /* the raw value text (strings: the content between the quotes) */
    size_t len;
    bool escaped; /* a string containing backslash escapes */
    int64_t i;
    double d;
};

/* ---------------------------------------------------------------- strings */

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

#define SWAR_ONES 0x0101010101010101ull
#define SWAR_HIGHS 0x8080808080808080ull

/* Nonzero when one of the 8 bytes in w is '"', '\\', a control character or ≥ 0x80. */
static inline uint64_t swar_special(uint64_t w)
{
    uint64_t quote = w ^ (SWAR_ONES * '"'), bslash = w ^ (SWAR_ONES * '\\');
    uint64_t zero_quote = (quote - SWAR_ONES) & ~quote, zero_bslash = (bslash - SWAR_ONES) & ~bslash;
    uint64_t below_space = (w - SWAR_ONES * 0x20) & ~w;
    return (zero_quote | zero_bslash | below_space | w) & SWAR_HIGHS;
}

/* Scans a string (s->p at the opening quote), validating escapes and UTF-8. */
static int scan_string(struct scan *s, struct jvalue *v)
{
    const unsigned char *p = (const unsigned char *)s->p + 1, *end = (const unsigned char *)s->end;
    v->kind = J_STRING;
    v->escaped = false;
    v->text = (const char *)p;
    for (;;) {
        /* fast run over plain ASCII, 16 bytes (SSE2) or 8 bytes (SWAR) at a time */
#if defined(__SSE2__)
        {
            const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
            while (end - p >= 16) {
                __m128i x = _mm_loadu_si128((const __m128i *)p);
                /* signed x < 0x20 also catches bytes ≥ 0x80 (negative) */
                __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                                           _mm_cmplt_epi8(x, space));
                unsigned mask = (unsigned)_mm_movemask_epi8(hit);
                if (mask) {
                    p += __builtin_ctz(mask);
                    goto special;
                }
                p += 16;
            }
        }
#endif
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            uint64_t hit = swar_special(w);
            if (hit) {
                p += __builtin_ctzll(hit) / 8;
                goto special;
            }
            p += 8;
        }
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
    special: /* p at a quote, backslash, control or non-ASCII byte, or at the end */
        if (p >= end) {
            s->p = (const char *)p;
            return scan_fail(s, "unterminated string");
        }
        unsigned c = *p;
        if (c == '"')
            break;
        if (c < 0x20) {
            s->p = (const char *)p;
            return scan_fail(s, "control character in string");
        }
        if (c >= 0x80) {
            size_t n = json_utf8_sequence_length(p, end);
            if (!n) {
                s->p = (const char *)p;
                return scan_fail(s, "invalid UTF-8 in string");
            }
            p += n;
            continue;
        }
        /* backslash */
        v->escaped = true;
        if (end - p < 2) {
            s->p = (const char *)p;
            return scan_fail(s, "unterminated string");
        }
        char e = (char)p[1];
        if (e == 'u') {
            unsigned cp;
            if (end - p < 6 || hex4((const char *)p + 2, &cp) != 0) {
                s->p = (const char *)p;
                return scan_fail(s, "invalid \\u escape");
            }
            if (cp == 0) {
                s->p = (const char *)p;
                return scan_fail(s, "\\u0000 is not supported");
            }
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                s->p = (const char *)p;
                return scan_fail(s, "lone low surrogate in \\u escape");
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4((const char *)p + 8, &lo) != 0 || lo < 0xDC00 ||
                    lo > 0xDFFF) {
                    s->p = (const char *)p;
                    return scan_fail(s, "unpaired high surrogate in \\u escape");
                }
                p += 12;
            } else {
                p += 6;
            }
            continue;
        }
        if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't') {
            s->p = (const char *)p;
            return scan_fail(s, "invalid escape in string");
        }
        p += 2;
    }
    v->len = (size_t)((const char *)p - v->text);
    s->p = (const char *)p + 1;
    return 0;
}

static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | cp >> 12);
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | cp >> 18);
        *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* Unescapes an already validated string body into out (room for len bytes); returns the length. */
static size_t unescape(const char *in, size_t len, char *out)
{
    const char *end = in + len;
    char *o = out;
    while (in < end) {
        if (*in != '\\') {
            *o++ = *in++;
            continue;
        }
        char e = in[1];
        if (e == 'u') {
            unsigned cp, lo;
            hex4(in + 2, &cp);
            in += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                hex4(in + 2, &lo);
                in += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            o = put_utf8(o, cp);
            continue;
        }
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        *o++ = to[strchr(from, e) - from];
        in += 2;
    }
    return (size_t)(o - out);
}

/* ---------------------------------------------------------------- numbers */

static const double pow10_table[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int scan_number(struct scan *s, struct jvalue *v)
{
    const char *p = s->p, *end = s->end, *start = p;
    bool neg = false, real = false;
    if (p < end && *p == '-') {
        neg = true;
        p++;
    }
    if (p >= end || *p < '0' || *p > '9') {
        s->p = p;
        return scan_fail(s, "invalid number");
    }
    uint64_t mant = 0; /* the first 19 digits, integer and fraction part together */
    int total = 0, frac_digits = 0;
    if (*p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9') {
            s->p = p;
            return scan_fail(s, "invalid number (leading zero)");
        }
    } else {
        for (; p < end && *p >= '0' && *p <= '9'; p++, total++)
            if (total < 19)
                mant = mant * 10 + (uint64_t)(*p - '0');
    }
    if (p < end && *p == '.') {
        real = true;
        p++;
        if (p >= end || *p < '0' || *p > '9') {
            s->p = p;
            return scan_fail(s, "invalid number (no digit after '.')");
        }
        for (; p < end && *p >= '0' && *p <= '9'; p++, total++, frac_digits++)
            if (total < 19)
                mant = mant * 10 + (uint64_t)(*p - '0');
    }
    bool has_exp = false;
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = has_exp = true;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9') {
            s->p = p;
            return scan_fail(s, "invalid number (no digit in exponent)");
        }
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    v->text = start;
    v->len = (size_t)(p - start);
    s->p = p;
    if (!real) {
        v->kind = J_INT;
        if (total < 19) {
            v->i = neg ? -(int64_t)mant : (int64_t)mant;
            return 0;
        }
    } else {
        v->kind = J_REAL;
        /* exact fast path (Clinger): mantissa < 2^53 and a power of ten ≤ 1e22, one division */
        if (!has_exp && total <= 19 && mant < (1ull << 53) && frac_digits <= 22) {
            double d = (double)mant / pow10_table[frac_digits];
            v->d = neg ? -d : d;
            return 0;
        }
    }
    /* slow path: libc on a NUL-terminated copy */
    char small[64], *copy = small;
    if (v->len >= sizeof small) {
        copy = arena_alloc(s->arena, v->len + 1);
        if (!copy)
            return scan_fail(s, "out of memory");
    }
    memcpy(copy, start, v->len);
    copy[v->len] = '\0';
    errno = 0;
    if (!real) {
        long long x = strtoll(copy, NULL, 10);
        if (errno == ERANGE) {
            s->p = start;
            return scan_fail(s, neg ? "too big negative integer" : "too big integer");
        }
        v->i = x;
    } else {
        double d = strtod(copy, NULL);
        if (errno == ERANGE && isinf(d)) {
            s->p = start;
            return scan_fail(s, "real number overflow");
        }
        v->d = d;
    }
    return 0;
}

/* ---------------------------------------------------------------- values */

static int scan_value(struct scan *s, struct jvalue *v, int depth);

static int expect_literal(struct scan *s, const char *lit, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return scan_fail(s, "invalid token");
    s->p += n;
    return 0;
}

/* Skips a container (s->p at '{' or '['), validating it. */
static int scan_container(struct scan *s, int depth)
{
    if (depth > JSON_DECODE_MAX_DEPTH)
        return scan_fail(s, "maximum nesting depth reached");
    bool object = *s->p == '{';
    char close = object ? '}' : ']';
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 0;
    }
    for (;;) {
        struct jvalue v;
        if (object) {
            if (s->p >= s->end || *s->p != '"')
                return scan_fail(s, "expected a string as object key");
            if (scan_string(s, &v) != 0)
                return -1;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return scan_fail(s, "expected ':'");
            s->p++;
            skip_ws(s);
        }
        if (scan_value(s, &v, depth) != 0)
            return -1;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            skip_ws(s);
            continue;
        }
        if (s->p < s->end && *s->p == close) {
            s->p++;
            return 0;
        }
        return scan_fail(s, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

/* Scans any value at s->p (whitespace already skipped). depth: containers around it. */
static int scan_value(struct scan *s, struct jvalue *v, int depth)
{
    if (s->p >= s->end)
        return scan_fail(s, "unexpected end of input");
    const char *start = s->p;
    switch (*s->p) {
    case '"':
        return scan_string(s, v);
    case '{':
    case '[':
        v->kind = *s->p == '{' ? J_OBJECT : J_ARRAY;
        if (scan_container(s, depth + 1) != 0)
            return -1;
        v->text = start;
        v->len = (size_t)(s->p - start);
        return 0;
    case 't':
        v->kind = J_TRUE;
        break;
    case 'f':
        v->kind = J_FALSE;
        break;
    case 'n':
        v->kind = J_NULL;
        break;
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return scan_number(s, v);
        return scan_fail(s, "invalid token");
    }
    static const char *const lits[] = {[J_TRUE] = "true", [J_FALSE] = "false", [J_NULL] = "null"};
    const char *lit = lits[v->kind];
    if (expect_literal(s, lit, strlen(lit)) != 0)
        return -1;
    v->text = start;
    v->len = (size_t)(s->p - start);
    return 0;
}

/* ---------------------------------------------------------------- fields */

static int field_fail(struct scan *s, const char *name, const char *what)
{
    snprintf(s->err, s->errlen, "field \"%s\": %s", name, what);
    return -1;
}

/* The string body of v, unescaped into the arena when it has escapes. */
static int string_of(struct scan *s, const struct jvalue *v, const char **ptr, size_t *len)
{
    if (!v->escaped) {
        *ptr = v->text;
        *len = v->len;
        return 0;
    }
    char *out = arena_alloc(s->arena, v->len ? v->len : 1);
    if (!out)
        return scan_fail(s, "out of memory");
    *len = unescape(v->text, v->len, out);
    *ptr = out;
    return 0;
}

/* DECIMAL(p, s): a number read exactly from its text (or a string holding one), rounded half up
 * to the scale; beyond the precision is an error. */
static int convert_decimal(struct scan *s, const struct field *f, const struct jvalue *v, struct value *out)
{
    int precision = value_decimal_precision(f->type), scale = value_decimal_scale(f->type), rc;
    const char *str = v->text;
    size_t len = v->len;
    if (v->kind == J_INT)
        rc = value_decimal_rescale(v->i, 0, scale, precision, &out->u.dec) < 0 ? -2 : 0;
    else if (v->kind == J_INT || v->kind == J_REAL || v->kind == J_STRING) {
        if (v->kind == J_STRING && string_of(s, v, &str, &len) != 0)
            return -1;
        rc = value_decimal_parse(str, len, precision, scale, &out->u.dec);
    } else
        rc = -1;
    if (rc == -1)
        return field_fail(s, f->name, "expected a number");
    if (rc == -2) {
        char what[64];
        snprintf(what, sizeof what, "number does not fit %s", value_type_name(f->type));
        return field_fail(s, f->name, what);
    }
    out->type = f->type;
    return 0;
}

/* DATE: a "yyyy-MM-dd" string. */
static int convert_date(struct scan *s, const struct field *f, const struct jvalue *v, struct value *out)
{
    const char *str;
    size_t len;
    int64_t ms;
    if (v->kind != J_STRING)
        return field_fail(s, f->name, "expected a date string like \"2024-01-31\"");
    if (string_of(s, v, &str, &len) != 0)
        return -1;
    if (len != 10 || timestamp_parse_text(str, len, TIMESTAMP_TEXT_SQL, &ms) != 0)
        return field_fail(s, f->name, "expected a date string like \"2024-01-31\"");
    out->type = VT_DATE;
    out->u.i = ms / 86400000 - (ms % 86400000 < 0);
    return 0;
}

static int convert(struct scan *s, const struct field *f, const struct jvalue *v, struct value *out)
{
    if (v->kind == J_NULL) {
        out->type = VT_NULL;
        return 0;
    }
    const char *str;
    size_t len;
    switch (value_type_base(f->type)) {
    case VT_DECIMAL:
        return convert_decimal(s, f, v, out);
    case VT_DATE:
        return convert_date(s, f, v, out);
    case VT_TYPE_ENCODED_MAX_:
        break;
    case VT_BIGINT:
        if (v->kind != J_INT)
            return field_fail(s, f->name, "expected an integer");
        out->type = VT_BIGINT;
        out->u.i = v->i;
        return 0;
    case VT_DOUBLE:
        if (v->kind != J_INT && v->kind != J_REAL)
            return field_fail(s, f->name, "expected a number");
        out->type = VT_DOUBLE;
        out->u.d = v->kind == J_INT ? (double)v->i : v->d;
        return 0;
    case VT_BOOLEAN:
        if (v->kind != J_TRUE && v->kind != J_FALSE)
            return field_fail(s, f->name, "expected true or false");
        out->type = VT_BOOLEAN;
        out->u.b = v->kind == J_TRUE;
        return 0;
    case VT_STRING:
        if (v->kind == J_STRING) {
            if (string_of(s, v, &str, &len) != 0)
                return -1;
        } else {
            str = v->text;
            len = v->len;
        }
        if (len > UINT32_MAX)
            return field_fail(s, f->name, "string too long");
        out->type = VT_STRING;
        out->u.s.ptr = str;
        out->u.s.len = (uint32_t)len;
        return 0;
    case VT_TIMESTAMP:
        if (v->kind == J_INT) {
            if (v->i < TIMESTAMP_MIN_MS || v->i > TIMESTAMP_MAX_MS)
                return field_fail(s, f->name, "timestamp out of range (years 0000 to 9999)");
            out->type = VT_TIMESTAMP;
            out->u.i = v->i;
            return 0;
        }
        if (v->kind != J_STRING)
            return field_fail(s, f->name, "expected a timestamp string or epoch milliseconds");
        if (string_of(s, v, &str, &len) != 0)
            return -1;
        if (timestamp_parse(str, len, &out->u.i) != 0)
            return field_fail(s, f->name, "expected a timestamp like \"2024-01-31 12:00:00.000\"");
        out->type = VT_TIMESTAMP;
        return 0;
    case VT_NULL:
        out->type = VT_NULL;
        return 0;
    }
    return field_fail(s, f->name, "unsupported type");
}

/* The needed field (index into needed_index) the key names, or -1 (not in the schema, or not
 * read). Looks from schema field *hint on (a record's keys usually come in the schema's order)
 * and moves *hint past the field found. */
static inline int find_field(const struct json_decoder *d, const char *key, size_t len, int *hint)
{
    int n = d->nfields;
    for (int k = 0; k < n; k++) {
        int f = *hint + k < n ? *hint + k : *hint + k - n;
        if (d->field_len[f] != len)
            continue;
        const char *name = d->field_name[f];
        size_t i = 0;
        while (i < len && name[i] == key[i]) /* names are short: no memcmp call */
            i++;
        if (i == len) {
            *hint = f + 1 < n ? f + 1 : 0;
            return d->field_needed[f];
        }
    }
    return -1;
}

int json_decode_row(const struct json_decoder *d, const char *buf, size_t len, struct value *row, struct arena *a,
                    char *err, size_t errlen)
{
    struct scan s = {.start = buf, .p = buf, .end = buf + len, .arena = a, .err = err, .errlen = errlen};
    for (int i = 0; i < d->nfields; i++)
        row[i].type = VT_NULL;
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return scan_fail(&s, s.p >= s.end ? "empty input" : "a record must be a JSON object");
    s.p++;
    skip_ws(&s);
    int hint = 0;
    if (s.p < s.end && *s.p == '}') {
        s.p++;
    } else {
        for (;;) {
            struct jvalue key, v;
            if (s.p >= s.end || *s.p != '"')
                return scan_fail(&s, "expected a string as object key");
            if (scan_string(&s, &key) != 0)
                return -1;
            skip_ws(&s);
            if (s.p >= s.end || *s.p != ':')
                return scan_fail(&s, "expected ':'");
            s.p++;
            skip_ws(&s);
            int j = -1;
            if (d->nneeded) {
                if (!key.escaped) {
                    j = find_field(d, key.text, key.len, &hint);
                } else if (key.len <= 1024) {
                    char tmp[1024];
                    size_t tmp_len = unescape(key.text, key.len, tmp);
                    j = find_field(d, tmp, tmp_len, &hint);
                }
            }
            if (scan_value(&s, &v, 1) != 0)
                return -1;
            if (j >= 0) {
                int fi = d->needed_index[j];
                if (convert(&s, &d->schema->fields[fi], &v, &row[fi]) != 0)
                    return -1;
            }
            skip_ws(&s);
            if (s.p < s.end && *s.p == ',') {
                s.p++;
                skip_ws(&s);
                continue;
            }
            if (s.p < s.end && *s.p == '}') {
                s.p++;
                break;
            }
            return scan_fail(&s, "expected ',' or '}'");
        }
    }
    skip_ws(&s);
    if (s.p != s.end)
        return scan_fail(&s, "end of input expected after the object");
    return 0;
}
