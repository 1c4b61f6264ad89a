/* json_encode.c — rows to compact JSON (see json_encode.h). */
#include "dataplane/codec/json_encode.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/codec/timestamp.h"

int json_buf_reserve(struct json_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d)
        return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

void json_buf_free(struct json_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Bytes that need escaping: 0 = copy, else the character after the backslash ('u' = \u00XX). */
static const char escape_table[256] = {
    ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't', ['"'] = '"', ['\\'] = '\\',
    [0] = 'u',    [1] = 'u',    [2] = 'u',    [3] = 'u',    [4] = 'u',    [5] = 'u',   [6] = 'u',
    [7] = 'u',    [11] = 'u',   [14] = 'u',   [15] = 'u',   [16] = 'u',   [17] = 'u',  [18] = 'u',
    [19] = 'u',   [20] = 'u',   [21] = 'u',   [22] = 'u',   [23] = 'u',   [24] = 'u',  [25] = 'u',
    [26] = 'u',   [27] = 'u',   [28] = 'u',   [29] = 'u',   [30] = 'u',   [31] = 'u',
};

int json_buf_put_string(struct json_buf *b, const char *s, size_t len)
{
    if (json_buf_reserve(b, len + 2) != 0)
        return -1;
    char *o = b->data + b->len;
    *o++ = '"';
    size_t i = 0;
    for (;;) {
        size_t run = i;
        while (run < len && !escape_table[(unsigned char)s[run]])
            run++;
        memcpy(o, s + i, run - i);
        o += run - i;
        i = run;
        if (i == len)
            break;
        b->len = (size_t)(o - b->data);
        if (json_buf_reserve(b, (len - i) + 8) != 0)
            return -1;
        o = b->data + b->len;
        char e = escape_table[(unsigned char)s[i]];
        *o++ = '\\';
        *o++ = e;
        if (e == 'u') {
            static const char hex[] = "0123456789abcdef";
            unsigned c = (unsigned char)s[i];
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
        i++;
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    return 0;
}

int json_buf_put_int(struct json_buf *b, long long v)
{
    if (json_buf_reserve(b, 24) != 0)
        return -1;
    char tmp[24], *t = tmp + sizeof tmp;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        *--t = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--t = '-';
    size_t n = (size_t)(tmp + sizeof tmp - t);
    memcpy(b->data + b->len, t, n);
    b->len += n;
    return 0;
}

static const double pow10_exact[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

/* Writes d with 15, 16 or 17 significant digits, the fewest that parse back to d, laid out as
 * %g would (trailing zeros dropped). One printf of all 17 digits, then the 15- and 16-digit
 * roundings are made from that text and checked with strtod: cheaper than printing each. */
static size_t format_shortest(double d, char *out)
{
    char e17[40];
    snprintf(e17, sizeof e17, "%.16e", d); /* [-]d.dddddddddddddddde[+-]XX */
    const char *p = e17;
    bool neg = *p == '-';
    if (neg)
        p++;
    char digits[18] = "00000000000000000";
    int nd = 0;
    for (; *p && *p != 'e' && nd < 17; p++)
        if (*p != '.')
            digits[nd++] = *p;
    while (*p && *p != 'e')
        p++;
    int exp10 = atoi(p + 1);
    char best[18];
    int best_n = 17, best_exp = exp10;
    memcpy(best, digits, 17);
    /* for 15 and 16 digits, the nearer rounding first, then the other (the 17-digit text is
     * itself rounded, so the nearer one can be wrong by a unit in its last place) */
    for (int prec = 15; prec <= 16 && best_n == 17; prec++) {
        for (int attempt = 0; attempt < 2; attempt++) {
            bool up = (digits[prec] >= '5') == (attempt == 0);
            char cand[18];
            int cexp = exp10;
            memcpy(cand, digits, (size_t)prec);
            if (up) { /* round up, carrying */
                int i = prec - 1;
                while (i >= 0 && cand[i] == '9')
                    cand[i--] = '0';
                if (i >= 0) {
                    cand[i]++;
                } else {
                    memmove(cand + 1, cand, (size_t)prec - 1);
                    cand[0] = '1';
                    cexp++;
                }
            }
            char text[40];
            snprintf(text, sizeof text, "%s%c.%.*se%d", neg ? "-" : "", cand[0], prec - 1, cand + 1, cexp);
            if (strtod(text, NULL) == d) {
                memcpy(best, cand, (size_t)prec);
                best_n = prec;
                best_exp = cexp;
                break;
            }
        }
    }
    int precision = best_n; /* %g switches to exponent form from this exponent on */
    while (best_n > 1 && best[best_n - 1] == '0')
        best_n--;
    char *o = out;
    if (neg)
        *o++ = '-';
    if (best_exp < -4 || best_exp >= precision) {
        *o++ = best[0];
        if (best_n > 1) {
            *o++ = '.';
            memcpy(o, best + 1, (size_t)best_n - 1);
            o += best_n - 1;
        }
        o += sprintf(o, "e%c%02d", best_exp < 0 ? '-' : '+', best_exp < 0 ? -best_exp : best_exp);
    } else if (best_exp < 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -best_exp - 1; i++)
            *o++ = '0';
        memcpy(o, best, (size_t)best_n);
        o += best_n;
    } else {
        for (int i = 0; i <= best_exp; i++)
            *o++ = i < best_n ? best[i] : '0';
        if (best_n > best_exp + 1) {
            *o++ = '.';
            memcpy(o, best + best_exp + 1, (size_t)(best_n - best_exp - 1));
            o += best_n - best_exp - 1;
        }
    }
    *o = '\0';
    return (size_t)(o - out);
}

int json_buf_put_double(struct json_buf *b, double d)
{
    if (!isfinite(d)) {
        if (json_buf_reserve(b, 4) != 0)
            return -1;
        memcpy(b->data + b->len, "null", 4);
        b->len += 4;
        return 0;
    }
    if (json_buf_reserve(b, 32) != 0)
        return -1;
    /* Fast path: a decimal with few fraction digits. If round(d·10^k)/10^k == d, with the
     * integer N = round(d·10^k) < 2^53, then the text "N/10^k" parses back to d exactly (the
     * quotient of two exact doubles is correctly rounded), and the smallest such k is shortest. */
    double a = fabs(d);
    if (a < 1e15 && a >= 1e-5) {
        for (int k = 0; k <= 15; k++) {
            double scaled = a * pow10_exact[k];
            if (scaled >= 9007199254740992.0)
                break;
            double n = nearbyint(scaled);
            if (n / pow10_exact[k] != a)
                continue;
            unsigned long long whole = (unsigned long long)n;
            unsigned long long ip = whole, fp = 0;
            for (int i = 0; i < k; i++)
                ip /= 10;
            fp = whole - ip * (unsigned long long)pow10_exact[k];
            char *o = b->data + b->len;
            if (d < 0)
                *o++ = '-';
            b->len = (size_t)(o - b->data);
            json_buf_put_int(b, (long long)ip);
            o = b->data + b->len;
            *o++ = '.';
            if (k == 0) {
                *o++ = '0';
            } else {
                for (int i = k - 1; i >= 0; i--) {
                    o[i] = (char)('0' + fp % 10);
                    fp /= 10;
                }
                o += k;
            }
            b->len = (size_t)(o - b->data);
            return 0;
        }
    }
    /* General case: the shortest of 15, 16 or 17 significant digits that round-trips. */
    char tmp[40];
    size_t n = format_shortest(d, tmp);
    memcpy(b->data + b->len, tmp, n);
    b->len += n;
    return 0;
}

size_t json_utf8_sequence_length(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

int json_buf_put_string_lossy(struct json_buf *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    size_t n = 1;
    while (p < end && n) {
        n = *p < 0x80 ? 1 : json_utf8_sequence_length(p, end);
        p += n;
    }
    if (n)
        return json_buf_put_string(b, s, len);
    /* some invalid bytes: copy valid sequences, replace each invalid byte with U+FFFD */
    struct json_buf tmp = {0};
    p = (const unsigned char *)s;
    while (p < end) {
        n = *p < 0x80 ? 1 : json_utf8_sequence_length(p, end);
        if (json_buf_reserve(&tmp, 4) != 0) {
            json_buf_free(&tmp);
            return -1;
        }
        if (n) {
            memcpy(tmp.data + tmp.len, p, n);
            tmp.len += n;
            p += n;
        } else {
            memcpy(tmp.data + tmp.len, "\xef\xbf\xbd", 3);
            tmp.len += 3;
            p++;
        }
    }
    int rc = json_buf_put_string(b, tmp.data ? tmp.data : "", tmp.len);
    json_buf_free(&tmp);
    return rc;
}

struct json_encoder {
    const struct schema *schema;
    char **prefix; /* per field: ,"name": (the first without the comma), pre-escaped */
    size_t *prefix_len;
};

struct json_encoder *json_encoder_new(const struct schema *s)
{
    struct json_encoder *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->schema = s;
    int n = s->nfields ? s->nfields : 1;
    e->prefix = calloc((size_t)n, sizeof *e->prefix);
    e->prefix_len = calloc((size_t)n, sizeof *e->prefix_len);
    if (!e->prefix || !e->prefix_len)
        goto err;
    for (int i = 0; i < s->nfields; i++) {
        struct json_buf b = {0};
        if ((i > 0 && json_buf_reserve(&b, 1) != 0))
            goto err;
        if (i > 0)
            b.data[b.len++] = ',';
        if (json_buf_put_string(&b, s->fields[i].name, strlen(s->fields[i].name)) != 0 ||
            json_buf_reserve(&b, 1) != 0) {
            json_buf_free(&b);
            goto err;
        }
        b.data[b.len++] = ':';
        e->prefix[i] = b.data;
        e->prefix_len[i] = b.len;
    }
    return e;
err:
    json_encoder_free(e);
    return NULL;
}

void json_encoder_free(struct json_encoder *e)
{
    if (!e)
        return;
    if (e->prefix)
        for (int i = 0; i < e->schema->nfields; i++)
            free(e->prefix[i]);
    free(e->prefix);
    free(e->prefix_len);
    free(e);
}

int json_encode_row(const struct json_encoder *e, const struct value *row, struct json_buf *out)
{
    if (json_buf_reserve(out, 2) != 0)
        return -1;
    out->data[out->len++] = '{';
    for (int i = 0; i < e->schema->nfields; i++) {
        const struct value *v = &row[i];
        if (json_buf_reserve(out, e->prefix_len[i] + TIMESTAMP_TEXT_MAX + 24) != 0)
            return -1;
        memcpy(out->data + out->len, e->prefix[i], e->prefix_len[i]);
        out->len += e->prefix_len[i];
        int rc = 0;
        switch (value_type_base(v->type)) {
        case VT_DECIMAL: /* a JSON number with exactly the scale's digits: integer formatting */
            out->len += value_format_decimal(v->u.dec, value_decimal_scale(v->type), out->data + out->len);
            break;
        case VT_DATE:
            out->data[out->len++] = '"';
            out->len += value_format_date(v->u.i, out->data + out->len);
            out->data[out->len++] = '"';
            break;
        case VT_TYPE_ENCODED_MAX_:
            break;
        case VT_NULL:
            memcpy(out->data + out->len, "null", 4);
            out->len += 4;
            break;
        case VT_BOOLEAN:
            memcpy(out->data + out->len, v->u.b ? "true" : "false", v->u.b ? 4 : 5);
            out->len += v->u.b ? 4 : 5;
            break;
        case VT_BIGINT:
            rc = json_buf_put_int(out, v->u.i);
            break;
        case VT_DOUBLE:
            rc = json_buf_put_double(out, v->u.d);
            break;
        case VT_STRING:
            rc = json_buf_put_string(out, v->u.s.ptr, v->u.s.len);
            break;
        case VT_TIMESTAMP:
            out->data[out->len++] = '"';
            out->len += timestamp_format(v->u.i, out->data + out->len);
            out->data[out->len++] = '"';
            break;
        }
        if (rc != 0)
            return -1;
    }
    if (json_buf_reserve(out, 1) != 0)
        return -1;
    out->data[out->len++] = '}';
    return 0;
}
