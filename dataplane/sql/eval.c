/* eval.c — expression compiler (syntax tree -> typed nodes, with type checking and implicit
 * BIGINT -> DOUBLE promotion) and the node evaluators: columns, constants, arithmetic,
 * comparison, three-valued logic, CASE, CAST, IS NULL, LIKE, IN, BETWEEN, function calls. */
#include "dataplane/sql/eval.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "dataplane/sql/functions.h"

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

int compile_fail(struct expr_compiler *c, const struct ast *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sql_error_vset(c->err, at ? at->line : 0, at ? at->column : 0, fmt, ap);
    va_end(ap);
    return -1;
}

int expr_compiler_defer(struct expr_compiler *c, void (*fn)(void *), void *ptr)
{
    if (c->ncleanups == c->capcleanups) {
        int cap = c->capcleanups ? c->capcleanups * 2 : 8;
        struct expr_cleanup *n = realloc(c->cleanups, (size_t)cap * sizeof *n);
        if (!n)
            return -1;
        c->cleanups = n;
        c->capcleanups = cap;
    }
    c->cleanups[c->ncleanups].fn = fn;
    c->cleanups[c->ncleanups].ptr = ptr;
    c->ncleanups++;
    return 0;
}

void expr_compiler_cleanup(struct expr_compiler *c)
{
    for (int i = 0; i < c->ncleanups; i++)
        c->cleanups[i].fn(c->cleanups[i].ptr);
    free(c->cleanups);
    c->cleanups = NULL;
    c->ncleanups = c->capcleanups = 0;
}

static int is_numeric(enum value_type t) { return t == VT_BIGINT || t == VT_DOUBLE; }

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

/* ---- Node evaluators --------------------------------------------------------------------*/

static int eval_column(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    *out = c->row[e->index];
    return 0;
}

static int eval_const(const struct expr *e, struct eval_ctx *c, struct value *out)
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
    static int name(const struct expr *e, struct eval_ctx *c, struct value *out)               \
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

static int eval_div_int(const struct expr *e, struct eval_ctx *c, struct value *out)
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

static int eval_mod_int(const struct expr *e, struct eval_ctx *c, struct value *out)
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
    static int name(const struct expr *e, struct eval_ctx *c, struct value *out)               \
    {                                                                                          \
        EVAL_TWO(e, c, a, b);                                                                  \
        out->type = VT_DOUBLE;                                                                 \
        out->u.d = as_double(&a) op as_double(&b);                                             \
        return 0;                                                                              \
    }
// clang-format on
EVAL_DOUBLE(eval_add_double, +)
EVAL_DOUBLE(eval_sub_double, -)
EVAL_DOUBLE(eval_mul_double, *)

static int eval_div_double(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    EVAL_TWO(e, c, a, b);
    double y = as_double(&b);
    if (y == 0)
        return eval_fail(c, e, "division by zero");
    out->type = VT_DOUBLE;
    out->u.d = as_double(&a) / y;
    return 0;
}

static int eval_mod_double(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    EVAL_TWO(e, c, a, b);
    double y = as_double(&b);
    if (y == 0)
        return eval_fail(c, e, "division by zero");
    out->type = VT_DOUBLE;
    out->u.d = fmod(as_double(&a), y);
    return 0;
}

static int eval_neg(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    if (expr_eval(e->args[0], c, out) < 0)
        return -1;
    if (out->type == VT_DOUBLE)
        out->u.d = -out->u.d;
    else if (out->type == VT_BIGINT) {
        if (out->u.i == INT64_MIN)
            return eval_fail(c, e, "BIGINT overflow in \"-\"");
        out->u.i = -out->u.i;
    }
    return 0;
}

static int eval_concat(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    EVAL_TWO(e, c, a, b);
    struct value sa, sb;
    if (functions_to_string(&a, c->scratch, &sa) < 0 || functions_to_string(&b, c->scratch, &sb) < 0)
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

static int eval_compare(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    EVAL_TWO(e, c, a, b);
    out->type = VT_BOOLEAN;
    out->u.b = compare_result((enum ast_op)e->index, value_compare(&a, &b));
    return 0;
}

/* Fast path: BIGINT or TIMESTAMP on both sides. */
static int eval_compare_int(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    EVAL_TWO(e, c, a, b);
    out->type = VT_BOOLEAN;
    out->u.b = compare_result((enum ast_op)e->index, a.u.i < b.u.i ? -1 : a.u.i > b.u.i);
    return 0;
}

static int eval_and(const struct expr *e, struct eval_ctx *c, struct value *out)
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

static int eval_or(const struct expr *e, struct eval_ctx *c, struct value *out)
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

static int eval_not(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    if (expr_eval(e->args[0], c, out) < 0)
        return -1;
    if (out->type == VT_BOOLEAN)
        out->u.b = !out->u.b;
    return 0;
}

static int eval_is_null(const struct expr *e, struct eval_ctx *c, struct value *out)
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
static int eval_case(const struct expr *e, struct eval_ctx *c, struct value *out)
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

static int eval_cast_node(const struct expr *e, struct eval_ctx *c, struct value *out)
{
    struct value a;
    if (expr_eval(e->args[0], c, &a) < 0)
        return -1;
    return eval_cast(c, e, &a, e->type, out);
}

static int eval_in(const struct expr *e, struct eval_ctx *c, struct value *out)
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

static int eval_between(const struct expr *e, struct eval_ctx *c, struct value *out)
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

static int eval_call(const struct expr *e, struct eval_ctx *c, struct value *out)
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

static int eval_like(const struct expr *e, struct eval_ctx *c, struct value *out)
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

int eval_cast(struct eval_ctx *c, const struct expr *e, const struct value *in, enum value_type t, struct value *out)
{
    if (in->type == VT_NULL || in->type == t) {
        *out = *in;
        return 0;
    }
    const char *tn = sql_type_name(t);
    out->type = t;
    switch (t) {
    case VT_STRING:
        if (functions_to_string(in, c->scratch, out) < 0)
            return eval_fail(c, e, "out of memory");
        return 0;
    case VT_BIGINT:
        if (in->type == VT_DOUBLE) {
            if (!(in->u.d > -9.2233720368547758e18 && in->u.d < 9.2233720368547758e18))
                return eval_fail(c, e, "cannot cast %g to BIGINT: out of range", in->u.d);
            out->u.i = (int64_t)in->u.d;
            return 0;
        }
        if (in->type == VT_BOOLEAN) {
            out->u.i = in->u.b;
            return 0;
        }
        if (in->type == VT_TIMESTAMP) {
            out->u.i = in->u.i;
            return 0;
        }
        if (in->type == VT_STRING) {
            if (cast_parse_int(in->u.s.ptr, in->u.s.len, &out->u.i) == 0)
                return 0;
            double d;
            if (cast_parse_double(in->u.s.ptr, in->u.s.len, &d) == 0 && d > -9.2e18 && d < 9.2e18) {
                out->u.i = (int64_t)d;
                return 0;
            }
            return eval_fail(c, e, "cannot cast '%.*s' to %s", (int)(in->u.s.len > 60 ? 60 : in->u.s.len), in->u.s.ptr,
                             tn);
        }
        break;
    case VT_DOUBLE:
        if (in->type == VT_BIGINT) {
            out->u.d = (double)in->u.i;
            return 0;
        }
        if (in->type == VT_BOOLEAN) {
            out->u.d = in->u.b;
            return 0;
        }
        if (in->type == VT_STRING) {
            if (cast_parse_double(in->u.s.ptr, in->u.s.len, &out->u.d) == 0)
                return 0;
            return eval_fail(c, e, "cannot cast '%.*s' to %s", (int)(in->u.s.len > 60 ? 60 : in->u.s.len), in->u.s.ptr,
                             tn);
        }
        break;
    case VT_BOOLEAN:
        if (in->type == VT_BIGINT) {
            out->u.b = in->u.i != 0;
            return 0;
        }
        if (in->type == VT_DOUBLE) {
            out->u.b = in->u.d != 0;
            return 0;
        }
        if (in->type == VT_STRING) {
            const char *s = in->u.s.ptr;
            uint32_t n = in->u.s.len;
            if ((n == 4 && strncasecmp(s, "true", 4) == 0) || (n == 1 && s[0] == '1')) {
                out->u.b = 1;
                return 0;
            }
            if ((n == 5 && strncasecmp(s, "false", 5) == 0) || (n == 1 && s[0] == '0')) {
                out->u.b = 0;
                return 0;
            }
            return eval_fail(c, e, "cannot cast '%.*s' to BOOLEAN", (int)(n > 60 ? 60 : n), s);
        }
        break;
    case VT_TIMESTAMP:
        if (in->type == VT_STRING) {
            if (sql_parse_timestamp(in->u.s.ptr, in->u.s.len, &out->u.i) == 0)
                return 0;
            return eval_fail(c, e, "cannot cast '%.*s' to TIMESTAMP(3)", (int)(in->u.s.len > 60 ? 60 : in->u.s.len),
                             in->u.s.ptr);
        }
        if (in->type == VT_BIGINT) {
            out->u.i = in->u.i;
            return 0;
        }
        break;
    default:
        break;
    }
    return eval_fail(c, e, "cannot cast %s to %s", sql_type_name(in->type), tn);
}

/* Which casts compile (the value may still fail at run time, e.g. 'abc' to BIGINT). */
static int cast_allowed(enum value_type from, enum value_type to)
{
    if (from == VT_NULL || from == to || to == VT_STRING || from == VT_STRING)
        return 1;
    if (to == VT_TIMESTAMP)
        return from == VT_BIGINT;
    if (from == VT_TIMESTAMP)
        return to == VT_BIGINT;
    return 1; /* among BOOLEAN, BIGINT, DOUBLE */
}

/* ---- Compiler --------------------------------------------------------------------------*/

static struct expr *node_new(struct expr_compiler *c, const struct ast *a, expr_fn fn, enum value_type type, int nargs)
{
    struct expr *e = arena_alloc(c->arena, sizeof *e);
    if (!e) {
        compile_fail(c, a, "out of memory");
        return NULL;
    }
    memset(e, 0, sizeof *e);
    e->fn = fn;
    e->type = type;
    e->line = a->line;
    e->column = a->column;
    if (nargs > 0) {
        e->args = arena_alloc(c->arena, (size_t)nargs * sizeof *e->args);
        if (!e->args) {
            compile_fail(c, a, "out of memory");
            return NULL;
        }
        e->nargs = nargs;
    }
    return e;
}

/* Wraps e in a cast to t when its type differs (BIGINT -> DOUBLE promotion, NULL typing). */
struct expr *expr_promote(struct expr_compiler *c, const struct ast *a, struct expr *e, enum value_type t)
{
    if (!e || e->type == t || t == VT_NULL)
        return e;
    if (e->fn == eval_const) {
        struct eval_ctx ec = {.err = c->err};
        struct value v;
        if (eval_cast(&ec, e, &e->constant, t, &v) < 0)
            return NULL;
        e->constant = v;
        e->type = t;
        return e;
    }
    struct expr *w = node_new(c, a, eval_cast_node, t, 1);
    if (w)
        w->args[0] = e;
    return w;
}

/* The type both a and b can become (numeric promotion, NULL fits anything), or -1. */
static int common_type(enum value_type a, enum value_type b)
{
    if (a == VT_NULL)
        return (int)b;
    if (b == VT_NULL || a == b)
        return (int)a;
    if (is_numeric(a) && is_numeric(b))
        return VT_DOUBLE;
    return -1;
}

static const char *op_text(enum ast_op op)
{
    static const char *const texts[] = {
        [AST_OP_ADD] = "+", [AST_OP_SUB] = "-",     [AST_OP_MUL] = "*",   [AST_OP_DIV] = "/",
        [AST_OP_MOD] = "%", [AST_OP_EQ] = "=",      [AST_OP_NE] = "<>",   [AST_OP_LT] = "<",
        [AST_OP_LE] = "<=", [AST_OP_GT] = ">",      [AST_OP_GE] = ">=",   [AST_OP_AND] = "AND",
        [AST_OP_OR] = "OR", [AST_OP_CONCAT] = "||", [AST_OP_NOT] = "NOT", [AST_OP_NEG] = "-",
    };
    return texts[op];
}

/* Arithmetic evaluators as rows: op, integer version, double version. */
static const struct {
    enum ast_op op;
    expr_fn int_fn, double_fn;
} arith_ops[] = {
    {AST_OP_ADD, eval_add_int, eval_add_double}, {AST_OP_SUB, eval_sub_int, eval_sub_double},
    {AST_OP_MUL, eval_mul_int, eval_mul_double}, {AST_OP_DIV, eval_div_int, eval_div_double},
    {AST_OP_MOD, eval_mod_int, eval_mod_double},
};

/* A string literal compared with a TIMESTAMP becomes a TIMESTAMP constant. */
static int coerce_literal(struct expr_compiler *c, const struct ast *a, struct expr *e, enum value_type want)
{
    if (e->fn != eval_const || e->type != VT_STRING || want != VT_TIMESTAMP)
        return 0;
    if (sql_parse_timestamp(e->constant.u.s.ptr, e->constant.u.s.len, &e->constant.u.i) < 0)
        return compile_fail(c, a, "invalid timestamp literal '%s'", e->constant.u.s.ptr);
    e->constant.type = VT_TIMESTAMP;
    e->type = VT_TIMESTAMP;
    return 0;
}

static int compile_comparable(struct expr_compiler *c, const struct ast *at, struct expr **l, struct expr **r,
                              const struct ast *la, const struct ast *ra)
{
    if (coerce_literal(c, la, *l, (*r)->type) < 0 || coerce_literal(c, ra, *r, (*l)->type) < 0)
        return -1;
    enum value_type x = (*l)->type, y = (*r)->type;
    if (common_type(x, y) < 0)
        return compile_fail(c, at, "type mismatch: cannot compare %s with %s", sql_type_name(x), sql_type_name(y));
    return 0;
}

static int compile_binary(struct expr_compiler *c, const struct ast *a, struct expr **out)
{
    struct expr *l, *r;
    if (expr_compile(c, a->args[0], &l) < 0 || expr_compile(c, a->args[1], &r) < 0)
        return -1;
    enum value_type x = l->type, y = r->type;
    struct expr *e = NULL;
    switch (a->op) {
    case AST_OP_AND:
    case AST_OP_OR:
        if ((x != VT_BOOLEAN && x != VT_NULL) || (y != VT_BOOLEAN && y != VT_NULL))
            return compile_fail(c, a, "type mismatch: %s needs BOOLEAN operands, found %s and %s", op_text(a->op),
                                sql_type_name(x), sql_type_name(y));
        e = node_new(c, a, a->op == AST_OP_AND ? eval_and : eval_or, VT_BOOLEAN, 2);
        break;
    case AST_OP_CONCAT:
        e = node_new(c, a, eval_concat, VT_STRING, 2);
        break;
    case AST_OP_EQ:
    case AST_OP_NE:
    case AST_OP_LT:
    case AST_OP_LE:
    case AST_OP_GT:
    case AST_OP_GE:
        if (compile_comparable(c, a, &l, &r, a->args[0], a->args[1]) < 0)
            return -1;
        x = l->type;
        y = r->type;
        e = node_new(c, a, (x == VT_BIGINT || x == VT_TIMESTAMP) && x == y ? eval_compare_int : eval_compare,
                     VT_BOOLEAN, 2);
        if (e)
            e->index = (int)a->op;
        break;
    default: {
        size_t i;
        for (i = 0; arith_ops[i].op != a->op; i++)
            ;
        int interval_r = a->args[1]->kind == AST_INTERVAL, interval_l = a->args[0]->kind == AST_INTERVAL;
        if ((a->op == AST_OP_ADD || a->op == AST_OP_SUB) && x == VT_TIMESTAMP && interval_r) {
            e = node_new(c, a, arith_ops[i].int_fn, VT_TIMESTAMP, 2);
        } else if (a->op == AST_OP_ADD && y == VT_TIMESTAMP && interval_l) {
            e = node_new(c, a, arith_ops[i].int_fn, VT_TIMESTAMP, 2);
        } else if ((is_numeric(x) || x == VT_NULL) && (is_numeric(y) || y == VT_NULL) && !interval_l && !interval_r) {
            int is_double = x == VT_DOUBLE || y == VT_DOUBLE;
            e = node_new(c, a, is_double ? arith_ops[i].double_fn : arith_ops[i].int_fn,
                         is_double ? VT_DOUBLE : VT_BIGINT, 2);
        } else {
            return compile_fail(c, a, "type mismatch: cannot apply \"%s\" to %s and %s", op_text(a->op),
                                interval_l ? "INTERVAL" : sql_type_name(x), interval_r ? "INTERVAL" : sql_type_name(y));
        }
    }
    }
    if (!e)
        return -1;
    e->args[0] = l;
    e->args[1] = r;
    *out = e;
    return 0;
}

static int compile_case(struct expr_compiler *c, const struct ast *a, struct expr **out)
{
    int simple = a->operand != NULL, has_else = a->else_expr != NULL;
    int n = simple + a->nargs + has_else;
    struct expr *e = node_new(c, a, eval_case, VT_NULL, n);
    if (!e)
        return -1;
    e->index = simple;
    e->constant.u.i = has_else;
    int k = 0;
    struct expr *operand = NULL;
    if (simple) {
        if (expr_compile(c, a->operand, &operand) < 0)
            return -1;
        e->args[k++] = operand;
    }
    int result = VT_NULL;
    for (int i = 0; i < a->nargs; i++) {
        struct expr *x;
        if (expr_compile(c, a->args[i], &x) < 0)
            return -1;
        if (i % 2 == 0) {
            if (simple) {
                if (compile_comparable(c, a->args[i], &operand, &x, a->operand, a->args[i]) < 0)
                    return -1;
            } else if (x->type != VT_BOOLEAN && x->type != VT_NULL) {
                return compile_fail(c, a->args[i], "type mismatch: WHEN condition must be BOOLEAN, found %s",
                                    sql_type_name(x->type));
            }
        } else {
            int t = common_type((enum value_type)result, x->type);
            if (t < 0)
                return compile_fail(c, a->args[i], "type mismatch: CASE branches have types %s and %s",
                                    sql_type_name((enum value_type)result), sql_type_name(x->type));
            result = t;
        }
        e->args[k++] = x;
    }
    if (has_else) {
        struct expr *x;
        if (expr_compile(c, a->else_expr, &x) < 0)
            return -1;
        int t = common_type((enum value_type)result, x->type);
        if (t < 0)
            return compile_fail(c, a->else_expr, "type mismatch: CASE branches have types %s and %s",
                                sql_type_name((enum value_type)result), sql_type_name(x->type));
        result = t;
        e->args[k++] = x;
    }
    /* promote every result branch to the common type */
    for (int i = 0; i < a->nargs / 2; i++) {
        int k2 = simple + 2 * i + 1;
        if (!(e->args[k2] = expr_promote(c, a->args[2 * i + 1], e->args[k2], (enum value_type)result)))
            return -1;
    }
    if (has_else && !(e->args[n - 1] = expr_promote(c, a->else_expr, e->args[n - 1], (enum value_type)result)))
        return -1;
    e->type = (enum value_type)result;
    *out = e;
    return 0;
}

static int compile_function(struct expr_compiler *c, const struct ast *a, struct expr **out)
{
    const struct sql_function *f = functions_find(a->name);
    if (!f) {
        const char *s = functions_suggest(a->name);
        if (s)
            return compile_fail(c, a, "unknown function \"%s\"; did you mean \"%s\"?", a->name, s);
        return compile_fail(c, a, "unknown function \"%s\"", a->name);
    }
    if (f->agg != AGG_NONE) {
        int index;
        enum value_type type;
        if (!c->resolve_aggregate)
            return compile_fail(c, a, "aggregate function %s is not allowed in %s", f->name, c->clause);
        if (c->resolve_aggregate(c, a, &index, &type) < 0)
            return -1;
        struct expr *e = node_new(c, a, eval_column, type, 0);
        if (!e)
            return -1;
        e->index = index;
        *out = e;
        return 0;
    }
    if (a->distinct)
        return compile_fail(c, a, "DISTINCT is only allowed in aggregate functions");
    if (a->nargs < f->min_args || a->nargs > f->max_args) {
        if (f->min_args == f->max_args)
            return compile_fail(c, a, "function %s takes %d argument%s, found %d", f->name, f->min_args,
                                f->min_args == 1 ? "" : "s", a->nargs);
        if (f->max_args >= FUNCTIONS_MAX_ARGS)
            return compile_fail(c, a, "function %s takes at least %d argument%s, found %d", f->name, f->min_args,
                                f->min_args == 1 ? "" : "s", a->nargs);
        return compile_fail(c, a, "function %s takes %d to %d arguments, found %d", f->name, f->min_args, f->max_args,
                            a->nargs);
    }
    struct expr *e = node_new(c, a, eval_call, f->ret, a->nargs);
    if (!e)
        return -1;
    e->func = f;
    size_t nletters = strlen(f->args);
    int any_double = 0;
    for (int i = 0; i < a->nargs; i++) {
        if (a->args[i]->kind == AST_STAR)
            return compile_fail(c, a->args[i], "\"*\" is only allowed in COUNT(*)");
        if (expr_compile(c, a->args[i], &e->args[i]) < 0)
            return -1;
        enum value_type t = e->args[i]->type;
        char want = f->args[(size_t)i < nletters ? (size_t)i : nletters - 1];
        int ok = t == VT_NULL;
        const char *wants = "";
        switch (want) {
        case 'S':
            ok |= t == VT_STRING;
            wants = "STRING";
            break;
        case 'N':
            ok |= is_numeric(t);
            wants = "numeric";
            break;
        case 'I':
            ok |= t == VT_BIGINT;
            wants = "BIGINT";
            break;
        case 'T':
            ok |= t == VT_TIMESTAMP;
            wants = "TIMESTAMP(3)";
            break;
        case 'B':
            ok |= t == VT_BOOLEAN;
            wants = "BOOLEAN";
            break;
        case 'X':
            ok |= t == VT_TIMESTAMP || t == VT_STRING;
            wants = "TIMESTAMP(3) or STRING";
            break;
        default:
            ok = 1;
        }
        if (!ok)
            return compile_fail(c, a->args[i], "type mismatch: argument %d of %s must be %s, found %s", i + 1, f->name,
                                wants, sql_type_name(t));
        any_double |= t == VT_DOUBLE;
    }
    if (f->rule == RET_ARG0)
        e->type = e->args[0]->type == VT_NULL ? VT_BIGINT : e->args[0]->type;
    else if (f->rule == RET_NUMERIC)
        e->type = any_double ? VT_DOUBLE : VT_BIGINT;
    else if (f->rule == RET_ARG1) {
        /* IF(cond, a, b) and COALESCE-like: common type of the value arguments */
        int t = VT_NULL;
        for (int i = f->min_args == 3 ? 1 : 0; i < e->nargs; i++) {
            int u = common_type((enum value_type)t, e->args[i]->type);
            if (u < 0)
                return compile_fail(c, a->args[i], "type mismatch: arguments of %s have types %s and %s", f->name,
                                    sql_type_name((enum value_type)t), sql_type_name(e->args[i]->type));
            t = u;
        }
        for (int i = f->min_args == 3 ? 1 : 0; i < e->nargs; i++)
            if (!(e->args[i] = expr_promote(c, a->args[i], e->args[i], (enum value_type)t)))
                return -1;
        e->type = t == VT_NULL ? VT_STRING : (enum value_type)t;
    }
    if (f->prepare && f->prepare(c, e, a) < 0)
        return -1;
    *out = e;
    return 0;
}

int expr_compile(struct expr_compiler *c, const struct ast *a, struct expr **out)
{
    struct expr *e = NULL, *x;
    switch (a->kind) {
    case AST_LITERAL:
    case AST_INTERVAL:
        if (!(e = node_new(c, a, eval_const, a->lit.type, 0)))
            return -1;
        e->constant = a->lit;
        if (a->lit.type == VT_STRING) { /* the syntax tree goes away after compiling */
            e->constant.u.s.ptr = arena_strndup(c->arena, a->lit.u.s.ptr, a->lit.u.s.len);
            if (!e->constant.u.s.ptr)
                return compile_fail(c, a, "out of memory");
        }
        break;
    case AST_COLUMN: {
        int index;
        enum value_type type;
        if (c->resolve_column(c, a, &index, &type) < 0)
            return -1;
        if (!(e = node_new(c, a, eval_column, type, 0)))
            return -1;
        e->index = index;
        break;
    }
    case AST_STAR:
        /* No query reaches this: compile_select expands or rejects a "*" item, and
         * compile_function and resolve_aggregate reject "*" arguments other than COUNT(*)'s
         * before compiling them. Kept as a guard for new callers. */
        return compile_fail(c, a, "\"*\" is not allowed here");
    case AST_UNARY:
        if (expr_compile(c, a->args[0], &x) < 0)
            return -1;
        if (a->op == AST_OP_NOT && x->type != VT_BOOLEAN && x->type != VT_NULL)
            return compile_fail(c, a, "type mismatch: NOT needs a BOOLEAN operand, found %s", sql_type_name(x->type));
        if (a->op == AST_OP_NEG && !is_numeric(x->type) && x->type != VT_NULL)
            return compile_fail(c, a, "type mismatch: cannot negate %s", sql_type_name(x->type));
        if (!(e = node_new(c, a, a->op == AST_OP_NOT ? eval_not : eval_neg, a->op == AST_OP_NOT ? VT_BOOLEAN : x->type,
                           1)))
            return -1;
        e->args[0] = x;
        break;
    case AST_BINARY:
        return compile_binary(c, a, out);
    case AST_FUNC:
        return compile_function(c, a, out);
    case AST_CASE:
        return compile_case(c, a, out);
    case AST_CAST:
        if (expr_compile(c, a->args[0], &x) < 0)
            return -1;
        if (!cast_allowed(x->type, a->cast_type))
            return compile_fail(c, a, "cannot cast %s to %s", sql_type_name(x->type), sql_type_name(a->cast_type));
        if (x->fn == eval_const) {
            struct eval_ctx ec = {.err = c->err};
            struct value v;
            /* constant folding; string results of constants need a lasting home */
            if (x->type == VT_STRING || a->cast_type != VT_STRING) {
                if (x->type != VT_NULL && eval_cast(&ec, x, &x->constant, a->cast_type, &v) < 0)
                    return -1;
                if (x->type != VT_NULL)
                    x->constant = v;
                x->type = a->cast_type;
                x->constant.type = x->constant.type == VT_NULL ? VT_NULL : a->cast_type;
                *out = x;
                return 0;
            }
        }
        if (!(e = node_new(c, a, eval_cast_node, a->cast_type, 1)))
            return -1;
        e->args[0] = x;
        break;
    case AST_IS_NULL:
        if (expr_compile(c, a->args[0], &x) < 0)
            return -1;
        if (!(e = node_new(c, a, eval_is_null, VT_BOOLEAN, 1)))
            return -1;
        e->args[0] = x;
        e->negated = a->negated;
        break;
    case AST_LIKE:
    case AST_IN:
    case AST_BETWEEN:
        if (!(e = node_new(c, a,
                           a->kind == AST_LIKE ? eval_like
                           : a->kind == AST_IN ? eval_in
                                               : eval_between,
                           VT_BOOLEAN, a->nargs)))
            return -1;
        e->negated = a->negated;
        for (int i = 0; i < a->nargs; i++) {
            if (expr_compile(c, a->args[i], &e->args[i]) < 0)
                return -1;
            if (a->kind == AST_LIKE) {
                if (e->args[i]->type != VT_STRING && e->args[i]->type != VT_NULL)
                    return compile_fail(c, a->args[i], "type mismatch: LIKE needs STRING operands, found %s",
                                        sql_type_name(e->args[i]->type));
            } else if (i > 0 &&
                       compile_comparable(c, a->args[i], &e->args[0], &e->args[i], a->args[0], a->args[i]) < 0) {
                return -1;
            }
        }
        break;
    }
    *out = e;
    return 0;
}
