/* eval.c — the node evaluators compile.c builds trees of: columns, constants, arithmetic,
 * comparison, three-valued logic, CASE, CAST, IS NULL, LIKE, IN, BETWEEN, function calls; and
 * the run-time error and string helpers the built-in functions share. */
#include "dataplane/sql/eval.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "dataplane/codec/timestamp.h"
#include "dataplane/sql/functions.h"
#include "dataplane/sql/lexer.h"
#include "dataplane/sql/parser.h"

/* ---- Errors and helpers ----------------------------------------------------------------*/

int eval_fail(struct eval_ctx *c, const struct expr *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sql_error_vset(c->err, e ? e->line : 0, e ? e->column : 0, fmt, ap);
    va_end(ap);
    return -1;
}

char *eval_string_alloc(struct eval_ctx *c, const struct expr *e, const char *what, size_t n)
{
    if (!what)
        what = e && e->func ? e->func->name : "string";
    if (n > SQL_STRING_MAX) {
        eval_fail(c, e, "%s result exceeds the " SQL_STRING_MAX_TEXT " string limit", what);
        return NULL;
    }
    char *m = arena_alloc(c->scratch, n ? n : 1);
    if (!m)
        eval_fail(c, e, "out of memory");
    return m;
}

/* ---- Node evaluators --------------------------------------------------------------------*/

int eval_column(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    *out = c->row[e->index];
    return 0;
}

int eval_const(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    *out = e->constant;
    return 0;
}

// clang-format off
#define EVAL_TWO(e, c, a, b)                                                                   \
    struct value a, b;                                                                         \
    if (expr_eval((e)->args[0], c, &a) < 0 || expr_eval((e)->args[1], c, &b) < 0)              \
        return -1;                                                                             \
    if (a.type == VT_NULL || b.type == VT_NULL) {                                              \
        out->type = VT_NULL;                                                                   \
        return 0;                                                                              \
    }
// clang-format on

/* BIGINT (and TIMESTAMP +/- INTERVAL) +, -, * with overflow checks. */
// clang-format off
#define EVAL_INT_CHECKED(name, builtin, text)                                                  \
    int name(const struct expr *e, struct eval_ctx *c, struct value *out)                      \
    {                                                                                          \
        EVAL_TWO(e, c, a, b);                                                                  \
        if (builtin(a.u.i, b.u.i, &out->u.i))                                                  \
            return eval_fail(c, e, "BIGINT overflow in \"" text "\"");                         \
        out->type = e->type;                                                                   \
        return 0;                                                                              \
    }
// clang-format on
EVAL_INT_CHECKED(eval_add_int, __builtin_add_overflow, "+")
EVAL_INT_CHECKED(eval_sub_int, __builtin_sub_overflow, "-")
EVAL_INT_CHECKED(eval_mul_int, __builtin_mul_overflow, "*")

int eval_div_int(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    EVAL_TWO(e, c, a, b);
    if (b.u.i == 0)
        return eval_fail(c, e, "division by zero");
    if (b.u.i == -1 && a.u.i == INT64_MIN)
        return eval_fail(c, e, "BIGINT overflow in \"/\"");
    out->type = VT_BIGINT;
    out->u.i = a.u.i / b.u.i;
    return 0;
}

int eval_mod_int(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    EVAL_TWO(e, c, a, b);
    if (b.u.i == 0)
        return eval_fail(c, e, "division by zero");
    out->type = VT_BIGINT;
    out->u.i = b.u.i == -1 ? 0 : a.u.i % b.u.i;
    return 0;
}

// clang-format off
#define EVAL_DOUBLE(name, op)                                                                  \
    int name(const struct expr *e, struct eval_ctx *c, struct value *out)                      \
    {                                                                                          \
        EVAL_TWO(e, c, a, b);                                                                  \
        out->type = VT_DOUBLE;                                                                 \
        out->u.d = value_as_double(&a) op value_as_double(&b);                                             \
        return 0;                                                                              \
    }
// clang-format on
EVAL_DOUBLE(eval_add_double, +)
EVAL_DOUBLE(eval_sub_double, -)
EVAL_DOUBLE(eval_mul_double, *)

int eval_div_double(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    EVAL_TWO(e, c, a, b);
    double y = value_as_double(&b);
    if (y == 0)
        return eval_fail(c, e, "division by zero");
    out->type = VT_DOUBLE;
    out->u.d = value_as_double(&a) / y;
    return 0;
}

int eval_mod_double(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    EVAL_TWO(e, c, a, b);
    double y = value_as_double(&b);
    if (y == 0)
        return eval_fail(c, e, "division by zero");
    out->type = VT_DOUBLE;
    out->u.d = fmod(value_as_double(&a), y);
    return 0;
}

/* ---- DECIMAL arithmetic: operands BIGINT (as DECIMAL(19, 0)) or DECIMAL, result e->type ----*/

/* The unscaled value of a BIGINT or DECIMAL operand (its scale is its type's: 0 for BIGINT). */
static inline value_int128 dec_of(const struct value *v) { return value_is_decimal(v->type) ? v->u.dec : v->u.i; }

static int decimal_overflow(struct eval_ctx *c, const struct expr *e, const char *op)
{
    return eval_fail(c, e, "numeric overflow in \"%s\": the result does not fit %s", op, value_type_name(e->type));
}

/* Sets out to r at scale `from`, brought to e's scale and checked against its precision. */
static int decimal_result(struct eval_ctx *c, const struct expr *e, value_int128 r, int from, const char *op,
                          struct value *out)
{
    int p = value_decimal_precision(e->type), s = value_decimal_scale(e->type);
    if (from == s ? !value_decimal_fits(r, p) : value_decimal_rescale(r, from, s, p, &r) < 0)
        return decimal_overflow(c, e, op);
    out->type = e->type;
    out->u.dec = r;
    return 0;
}

/* Both operands at the larger of their scales (*scale). Returns 0, or -1 when one overflows. */
static int decimal_align(const struct expr *e, const struct value *a, const struct value *b, value_int128 *x,
                         value_int128 *y, int *scale)
{
    int sa = value_decimal_scale(a->type), sb = value_decimal_scale(b->type);
    *x = dec_of(a);
    *y = dec_of(b);
    *scale = sa > sb ? sa : sb;
    if (sa < sb && __builtin_mul_overflow(*x, value_pow10(sb - sa), x))
        return -1;
    if (sb < sa && __builtin_mul_overflow(*y, value_pow10(sa - sb), y))
        return -1;
    return 0;
}

int eval_add_decimal(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    EVAL_TWO(e, c, a, b);
    value_int128 x, y;
    int s;
    if (decimal_align(e, &a, &b, &x, &y, &s) < 0 || __builtin_add_overflow(x, y, &x))
        return decimal_overflow(c, e, "+");
    return decimal_result(c, e, x, s, "+", out);
}

int eval_sub_decimal(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    EVAL_TWO(e, c, a, b);
    value_int128 x, y;
    int s;
    if (decimal_align(e, &a, &b, &x, &y, &s) < 0 || __builtin_sub_overflow(x, y, &x))
        return decimal_overflow(c, e, "-");
    return decimal_result(c, e, x, s, "-", out);
}

int eval_mul_decimal(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    EVAL_TWO(e, c, a, b);
    value_int128 x = dec_of(&a), y = dec_of(&b), r;
    int s = value_decimal_scale(a.type) + value_decimal_scale(b.type);
    if (x >= INT64_MIN && x <= INT64_MAX && y >= INT64_MIN && y <= INT64_MAX)
        r = (value_int128)(int64_t)x * (int64_t)y; /* cannot overflow 128 bits */
    else if (__builtin_mul_overflow(x, y, &r))
        return decimal_overflow(c, e, "*");
    return decimal_result(c, e, r, s, "*", out);
}

/* |x| * 10^k / |y| rounded half up, digit by digit where x * 10^k overflows. -1 on overflow. */
static int decimal_divide(value_int128 x, value_int128 y, int k, value_int128 *out)
{
    int neg = (x < 0) != (y < 0);
    unsigned __int128 n = x < 0 ? -(unsigned __int128)x : (unsigned __int128)x;
    unsigned __int128 d = y < 0 ? -(unsigned __int128)y : (unsigned __int128)y, q = n / d, r = n % d;
    for (int i = 0; i < k; i++) {
        if (r > (~(unsigned __int128)0) / 10 || q > (~(unsigned __int128)0 >> 1) / 10)
            return -1;
        r *= 10;
        q = q * 10 + r / d;
        r %= d;
    }
    if (r >= d - r)
        q++;
    if (q > (~(unsigned __int128)0 >> 1))
        return -1;
    *out = neg ? -(value_int128)q : (value_int128)q;
    return 0;
}

int eval_div_decimal(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    EVAL_TWO(e, c, a, b);
    value_int128 x = dec_of(&a), y = dec_of(&b), r;
    if (y == 0)
        return eval_fail(c, e, "division by zero");
    /* x / 10^sa / (y / 10^sb) at scale s: x * 10^(s - sa + sb) / y */
    int s = value_decimal_scale(e->type), k = s - value_decimal_scale(a.type) + value_decimal_scale(b.type);
    if (k < 0) {
        if (value_decimal_rescale(x, -k, 0, DECIMAL_MAX_PRECISION, &x) < 0)
            return decimal_overflow(c, e, "/");
        k = 0;
    }
    if (decimal_divide(x, y, k, &r) < 0)
        return decimal_overflow(c, e, "/");
    return decimal_result(c, e, r, s, "/", out);
}

int eval_mod_decimal(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    EVAL_TWO(e, c, a, b);
    value_int128 x, y;
    int s;
    if (dec_of(&b) == 0)
        return eval_fail(c, e, "division by zero");
    if (decimal_align(e, &a, &b, &x, &y, &s) < 0) /* |a| far beyond |b|: exact only through a loop */
        return decimal_overflow(c, e, "%");
    return decimal_result(c, e, x % y, s, "%", out);
}

/* ABS, FLOOR, CEIL and ROUND of a DECIMAL (args[0]); e->type has the result's scale. */
int eval_decimal_rounding(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    if (expr_eval(e->args[0], c, out) < 0)
        return -1;
    if (out->type == VT_NULL)
        return 0;
    /* ROUND to -k digits: round at 10^(s + k), then scale back up by 10^k */
    int k = e->index == DECIMAL_ROUND && e->constant.u.i < 0 ? (int)-e->constant.u.i : 0;
    int shift = value_decimal_scale(out->type) - value_decimal_scale(e->type) + k;
    value_int128 v = out->u.dec, unit = shift > DECIMAL_MAX_PRECISION ? 0 : value_pow10(shift);
    value_int128 q = unit ? v / unit : 0, r = unit ? v % unit : v, mag = r < 0 ? -r : r;
    switch ((enum decimal_rounding)e->index) {
    case DECIMAL_ABS:
        q = v < 0 ? -v : v;
        break;
    case DECIMAL_FLOOR:
        q -= r < 0;
        break;
    case DECIMAL_CEIL:
        q += r > 0;
        break;
    case DECIMAL_ROUND: /* half away from zero */
        if (unit && mag >= unit - mag)
            q += v < 0 ? -1 : 1;
        if (k && q != 0 && __builtin_mul_overflow(q, value_pow10(k), &q))
            return decimal_overflow(c, e, "ROUND");
        break;
    }
    return decimal_result(c, e, q, value_decimal_scale(e->type), e->func ? e->func->name : "ROUND", out);
}

int eval_neg(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    if (expr_eval(e->args[0], c, out) < 0)
        return -1;
    if (value_is_decimal(out->type))
        out->u.dec = -out->u.dec;
    else if (out->type == VT_DOUBLE)
        out->u.d = -out->u.d;
    else if (out->type == VT_BIGINT) {
        if (out->u.i == INT64_MIN)
            return eval_fail(c, e, "BIGINT overflow in \"-\"");
        out->u.i = -out->u.i;
    }
    return 0;
}

int eval_concat(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    EVAL_TWO(e, c, a, b);
    struct value sa, sb;
    if (value_to_string(&a, c->scratch, &sa) < 0 || value_to_string(&b, c->scratch, &sb) < 0)
        return eval_fail(c, e, "out of memory");
    char *m = eval_string_alloc(c, e, "\"||\"", (size_t)sa.u.s.len + sb.u.s.len);
    if (!m)
        return -1;
    memcpy(m, sa.u.s.ptr, sa.u.s.len);
    memcpy(m + sa.u.s.len, sb.u.s.ptr, sb.u.s.len);
    out->type = VT_STRING;
    out->u.s.ptr = m;
    out->u.s.len = sa.u.s.len + sb.u.s.len;
    return 0;
}

/* Comparison: e->index is the ast_op. */
static int compare_result(enum ast_op op, int r)
{
    switch (op) {
    case AST_OP_EQ:
        return r == 0;
    case AST_OP_NE:
        return r != 0;
    case AST_OP_LT:
        return r < 0;
    case AST_OP_LE:
        return r <= 0;
    case AST_OP_GT:
        return r > 0;
    default:
        return r >= 0;
    }
}

int eval_compare(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    EVAL_TWO(e, c, a, b);
    out->type = VT_BOOLEAN;
    out->u.b = compare_result((enum ast_op)e->index, value_compare(&a, &b));
    return 0;
}

/* Fast path: BIGINT or TIMESTAMP on both sides. */
int eval_compare_int(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    EVAL_TWO(e, c, a, b);
    out->type = VT_BOOLEAN;
    out->u.b = compare_result((enum ast_op)e->index, a.u.i < b.u.i ? -1 : a.u.i > b.u.i);
    return 0;
}

int eval_and(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    struct value a, b;
    if (expr_eval(e->args[0], c, &a) < 0)
        return -1;
    if (a.type == VT_BOOLEAN && !a.u.b) {
        *out = a;
        return 0;
    }
    if (expr_eval(e->args[1], c, &b) < 0)
        return -1;
    if (b.type == VT_BOOLEAN && !b.u.b)
        *out = b;
    else if (a.type == VT_NULL || b.type == VT_NULL)
        out->type = VT_NULL;
    else
        *out = b;
    return 0;
}

int eval_or(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    struct value a, b;
    if (expr_eval(e->args[0], c, &a) < 0)
        return -1;
    if (a.type == VT_BOOLEAN && a.u.b) {
        *out = a;
        return 0;
    }
    if (expr_eval(e->args[1], c, &b) < 0)
        return -1;
    if (b.type == VT_BOOLEAN && b.u.b)
        *out = b;
    else if (a.type == VT_NULL || b.type == VT_NULL)
        out->type = VT_NULL;
    else
        *out = b;
    return 0;
}

int eval_not(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    if (expr_eval(e->args[0], c, out) < 0)
        return -1;
    if (out->type == VT_BOOLEAN)
        out->u.b = !out->u.b;
    return 0;
}

int eval_is_null(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    struct value a;
    if (expr_eval(e->args[0], c, &a) < 0)
        return -1;
    out->type = VT_BOOLEAN;
    out->u.b = (a.type == VT_NULL) != e->negated;
    return 0;
}

/* CASE: args = [operand?] when, then, ..., [else]; e->index: 1 when simple (operand first),
 * constant.u.i: 1 when an ELSE is present. */
int eval_case(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    int simple = e->index, has_else = (int)e->constant.u.i;
    int first = simple, npairs = (e->nargs - simple - has_else) / 2;
    struct value operand, w;
    if (simple && expr_eval(e->args[0], c, &operand) < 0)
        return -1;
    for (int i = 0; i < npairs; i++) {
        if (expr_eval(e->args[first + 2 * i], c, &w) < 0)
            return -1;
        int hit;
        if (simple)
            hit = operand.type != VT_NULL && w.type != VT_NULL && value_compare(&operand, &w) == 0;
        else
            hit = w.type == VT_BOOLEAN && w.u.b;
        if (hit)
            return expr_eval(e->args[first + 2 * i + 1], c, out);
    }
    if (has_else)
        return expr_eval(e->args[e->nargs - 1], c, out);
    out->type = VT_NULL;
    return 0;
}

int eval_cast_node(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    struct value a;
    if (expr_eval(e->args[0], c, &a) < 0)
        return -1;
    return eval_cast(c, e, &a, e->type, out);
}

int eval_in(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    struct value a, b;
    int saw_null = 0;
    if (expr_eval(e->args[0], c, &a) < 0)
        return -1;
    if (a.type == VT_NULL) {
        out->type = VT_NULL;
        return 0;
    }
    for (int i = 1; i < e->nargs; i++) {
        if (expr_eval(e->args[i], c, &b) < 0)
            return -1;
        if (b.type == VT_NULL)
            saw_null = 1;
        else if (value_compare(&a, &b) == 0) {
            out->type = VT_BOOLEAN;
            out->u.b = !e->negated;
            return 0;
        }
    }
    if (saw_null) {
        out->type = VT_NULL;
        return 0;
    }
    out->type = VT_BOOLEAN;
    out->u.b = e->negated;
    return 0;
}

int eval_between(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    struct value v, lo, hi;
    if (expr_eval(e->args[0], c, &v) < 0 || expr_eval(e->args[1], c, &lo) < 0 || expr_eval(e->args[2], c, &hi) < 0)
        return -1;
    /* (v >= lo) AND (v <= hi), three-valued */
    int ge = v.type == VT_NULL || lo.type == VT_NULL ? -1 : value_compare(&v, &lo) >= 0;
    int le = v.type == VT_NULL || hi.type == VT_NULL ? -1 : value_compare(&v, &hi) <= 0;
    int r = ge == 0 || le == 0 ? 0 : ge < 0 || le < 0 ? -1 : 1;
    if (r < 0) {
        out->type = VT_NULL;
        return 0;
    }
    out->type = VT_BOOLEAN;
    out->u.b = (r == 1) != e->negated;
    return 0;
}

int eval_call(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    struct value av[FUNCTIONS_MAX_ARGS];
    for (int i = 0; i < e->nargs; i++) {
        if (expr_eval(e->args[i], c, &av[i]) < 0)
            return -1;
        if (av[i].type == VT_NULL && e->func->strict) {
            out->type = VT_NULL;
            return 0;
        }
    }
    return e->func->impl(e, av, c, out);
}

/* ---- LIKE ------------------------------------------------------------------------------*/

/* Matches s against a LIKE pattern (% any run, _ one character, esc escapes). UTF-8 aware. */
static int like_match(const char *s, size_t sn, const char *p, size_t pn, int esc)
{
    size_t si = 0, pi = 0, star_p = (size_t)-1, star_s = 0;
    while (si < sn) {
        if (pi < pn && p[pi] == '%') {
            star_p = ++pi;
            star_s = si;
            continue;
        }
        if (pi < pn) {
            if (p[pi] == '_') {
                si++;
                while (si < sn && ((unsigned char)s[si] & 0xC0) == 0x80)
                    si++;
                pi++;
                continue;
            }
            size_t lit = pi;
            if (esc >= 0 && (unsigned char)p[pi] == esc && pi + 1 < pn)
                lit = pi + 1;
            if (p[lit] == s[si]) {
                si++;
                pi = lit + 1;
                continue;
            }
        }
        if (star_p == (size_t)-1)
            return 0;
        star_s++;
        while (star_s < sn && ((unsigned char)s[star_s] & 0xC0) == 0x80)
            star_s++;
        si = star_s;
        pi = star_p;
    }
    while (pi < pn && p[pi] == '%')
        pi++;
    return pi == pn;
}

int eval_like(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    struct value s, pat, esc = {.type = VT_NULL};
    if (expr_eval(e->args[0], c, &s) < 0 || expr_eval(e->args[1], c, &pat) < 0)
        return -1;
    if (e->nargs > 2 && expr_eval(e->args[2], c, &esc) < 0)
        return -1;
    if (s.type == VT_NULL || pat.type == VT_NULL || (e->nargs > 2 && esc.type == VT_NULL)) {
        out->type = VT_NULL;
        return 0;
    }
    int ch = -1;
    if (e->nargs > 2) {
        if (esc.u.s.len != 1)
            return eval_fail(c, e, "LIKE escape must be a single character");
        ch = (unsigned char)esc.u.s.ptr[0];
    }
    out->type = VT_BOOLEAN;
    out->u.b = like_match(s.u.s.ptr, s.u.s.len, pat.u.s.ptr, pat.u.s.len, ch) != e->negated;
    return 0;
}

/* ---- CAST ------------------------------------------------------------------------------*/

/* s[0..n) without surrounding blanks, NUL-terminated in buf; -1 when empty or too long. */
static int cast_trim(const char *s, size_t n, char *buf, size_t size)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= size)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return 0;
}

static int cast_parse_int(const char *s, size_t n, int64_t *out)
{
    char buf[64], *end;
    if (cast_trim(s, n, buf, sizeof buf) < 0)
        return -1;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int cast_parse_double(const char *s, size_t n, double *out)
{
    char buf[128], *end;
    if (cast_trim(s, n, buf, sizeof buf) < 0)
        return -1;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

/* "cannot cast 'text' to T" for a string that does not read as T (the first 60 bytes). */
static int cast_text_fail(struct eval_ctx *c, const struct expr *e, const struct value *in, enum value_type t)
{
    return eval_fail(c, e, "cannot cast '%.*s' to %s", (int)(in->u.s.len > 60 ? 60 : in->u.s.len), in->u.s.ptr,
                     value_type_name(t));
}

/* The casts to one type: 0 done, -1 failed (err set), 1 no such cast from in's type. */
static int cast_to_bigint(struct eval_ctx *c, const struct expr *e, const struct value *in, struct value *out)
{
    double d;
    if (value_is_decimal(in->type)) { /* truncated toward zero, as Flink */
        value_int128 q = in->u.dec / value_pow10(value_decimal_scale(in->type));
        if (q < INT64_MIN || q > INT64_MAX)
            return eval_fail(c, e, "cannot cast %s to BIGINT: out of range", value_type_name(in->type));
        out->u.i = (int64_t)q;
        return 0;
    }
    switch (in->type) {
    case VT_DOUBLE:
        if (!(in->u.d > -9.2233720368547758e18 && in->u.d < 9.2233720368547758e18))
            return eval_fail(c, e, "cannot cast %g to BIGINT: out of range", in->u.d);
        out->u.i = (int64_t)in->u.d;
        return 0;
    case VT_BOOLEAN:
        out->u.i = in->u.b;
        return 0;
    case VT_TIMESTAMP:
        out->u.i = in->u.i;
        return 0;
    case VT_STRING:
        if (cast_parse_int(in->u.s.ptr, in->u.s.len, &out->u.i) == 0)
            return 0;
        if (cast_parse_double(in->u.s.ptr, in->u.s.len, &d) == 0 && d > -9.2e18 && d < 9.2e18) {
            out->u.i = (int64_t)d;
            return 0;
        }
        return cast_text_fail(c, e, in, VT_BIGINT);
    default:
        return 1;
    }
}

static int cast_to_double(struct eval_ctx *c, const struct expr *e, const struct value *in, struct value *out)
{
    if (value_is_decimal(in->type)) {
        out->u.d = value_as_double(in);
        return 0;
    }
    switch (in->type) {
    case VT_BIGINT:
        out->u.d = (double)in->u.i;
        return 0;
    case VT_BOOLEAN:
        out->u.d = in->u.b;
        return 0;
    case VT_STRING:
        if (cast_parse_double(in->u.s.ptr, in->u.s.len, &out->u.d) == 0)
            return 0;
        return cast_text_fail(c, e, in, VT_DOUBLE);
    default:
        return 1;
    }
}

static int cast_to_boolean(struct eval_ctx *c, const struct expr *e, const struct value *in, struct value *out)
{
    const char *s = in->type == VT_STRING ? in->u.s.ptr : "";
    uint32_t n = in->type == VT_STRING ? in->u.s.len : 0;
    if (value_is_decimal(in->type)) {
        out->u.b = in->u.dec != 0;
        return 0;
    }
    switch (in->type) {
    case VT_BIGINT:
        out->u.b = in->u.i != 0;
        return 0;
    case VT_DOUBLE:
        out->u.b = in->u.d != 0;
        return 0;
    case VT_STRING:
        if ((n == 4 && strncasecmp(s, "true", 4) == 0) || (n == 1 && s[0] == '1')) {
            out->u.b = 1;
            return 0;
        }
        if ((n == 5 && strncasecmp(s, "false", 5) == 0) || (n == 1 && s[0] == '0')) {
            out->u.b = 0;
            return 0;
        }
        return cast_text_fail(c, e, in, VT_BOOLEAN);
    default:
        return 1;
    }
}

/* Text as the codec's SQL form (what JSON decoding reads, and a date alone or no seconds). */
static int cast_to_timestamp(struct eval_ctx *c, const struct expr *e, const struct value *in, struct value *out)
{
    switch (in->type) {
    case VT_STRING:
        if (timestamp_parse_text(in->u.s.ptr, in->u.s.len, TIMESTAMP_TEXT_SQL, &out->u.i) == 0)
            return 0;
        return cast_text_fail(c, e, in, VT_TIMESTAMP);
    case VT_BIGINT:
        out->u.i = in->u.i;
        return 0;
    case VT_DATE:
        out->u.i = in->u.i * 86400000;
        return 0;
    default:
        return 1;
    }
}

/* Text as a date ('yyyy-MM-dd', or a timestamp's date); a TIMESTAMP's UTC date. */
static int cast_to_date(struct eval_ctx *c, const struct expr *e, const struct value *in, struct value *out)
{
    int64_t ms;
    switch (in->type) {
    case VT_STRING:
        if (timestamp_parse_text(in->u.s.ptr, in->u.s.len, TIMESTAMP_TEXT_SQL, &ms) < 0)
            return cast_text_fail(c, e, in, VT_DATE);
        break;
    case VT_TIMESTAMP:
        ms = in->u.i;
        break;
    default:
        return 1;
    }
    out->u.i = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    return 0;
}

/* BIGINT, DECIMAL, DOUBLE (through its shortest text, as Java's BigDecimal.valueOf), text and
 * BOOLEAN to DECIMAL(p, s), rounded half up; beyond the precision is an error. */
static int cast_to_decimal(struct eval_ctx *c, const struct expr *e, const struct value *in, enum value_type t,
                           struct value *out)
{
    int p = value_decimal_precision(t), s = value_decimal_scale(t), rc;
    char buf[40];
    size_t n;
    if (value_is_decimal(in->type))
        rc = value_decimal_rescale(in->u.dec, value_decimal_scale(in->type), s, p, &out->u.dec);
    else if (in->type == VT_BIGINT || in->type == VT_BOOLEAN)
        rc = value_decimal_rescale(in->type == VT_BIGINT ? in->u.i : in->u.b, 0, s, p, &out->u.dec);
    else if (in->type == VT_DOUBLE) {
        if (!isfinite(in->u.d))
            return eval_fail(c, e, "cannot cast %g to %s", in->u.d, value_type_name(t));
        n = value_format_double(in->u.d, buf);
        rc = value_decimal_parse(buf, n, p, s, &out->u.dec) < 0 ? -1 : 0;
    } else if (in->type == VT_STRING) {
        rc = value_decimal_parse(in->u.s.ptr, in->u.s.len, p, s, &out->u.dec);
        if (rc == -1)
            return cast_text_fail(c, e, in, t);
    } else
        return 1;
    if (rc < 0)
        return eval_fail(c, e, "numeric overflow: the value does not fit %s", value_type_name(t));
    return 0;
}

int eval_cast(struct eval_ctx *c, const struct expr *e, const struct value *in, enum value_type t, struct value *out)
{
    if (in->type == VT_NULL || in->type == t) {
        *out = *in;
        return 0;
    }
    int rc = 1;
    out->type = t;
    switch (value_type_base(t)) {
    case VT_STRING:
        if (value_to_string(in, c->scratch, out) < 0)
            return eval_fail(c, e, "out of memory");
        return 0;
    case VT_BIGINT:
        rc = cast_to_bigint(c, e, in, out);
        break;
    case VT_DOUBLE:
        rc = cast_to_double(c, e, in, out);
        break;
    case VT_BOOLEAN:
        rc = cast_to_boolean(c, e, in, out);
        break;
    case VT_TIMESTAMP:
        rc = cast_to_timestamp(c, e, in, out);
        break;
    case VT_DATE:
        rc = cast_to_date(c, e, in, out);
        break;
    case VT_DECIMAL:
        rc = cast_to_decimal(c, e, in, t, out);
        break;
    default:
        break;
    }
    if (rc <= 0)
        return rc;
    return eval_fail(c, e, "cannot cast %s to %s", value_type_name(in->type), value_type_name(t));
}
