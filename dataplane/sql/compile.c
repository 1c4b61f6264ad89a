/* compile.c — the expression compiler: syntax trees to typed node trees (eval.h), with type
 * checking, implicit BIGINT -> DOUBLE promotion, TIMESTAMP literals, constant folding of CASTs,
 * and the lookup of built-in functions in their table (functions.h). */
#include "dataplane/sql/compile.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "dataplane/codec/timestamp.h"
#include "dataplane/sql/functions.h"
#include "dataplane/sql/lexer.h"
#include "dataplane/sql/udf.h"

/* ---- Compiler state ----------------------------------------------------------------------*/

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

static int is_numeric(enum value_type t) { return t == VT_BIGINT || t == VT_DOUBLE || value_is_decimal(t); }
static int is_exact(enum value_type t) { return t == VT_BIGINT || value_is_decimal(t); }
/* Precision and scale of an exact numeric type (BIGINT is DECIMAL(19, 0), as in Flink). */
static int precision_of(enum value_type t)
{
    return value_is_decimal(t) ? value_decimal_precision(t) : DECIMAL_BIGINT_PRECISION;
}
static int scale_of(enum value_type t) { return value_decimal_scale(t); }

/* Flink's adjustPrecisionScale: beyond 38 digits, the scale gives way (keeping at least 6
 * fraction digits, or fewer when it had fewer) so that the integer part is not cut. */
static enum value_type decimal_adjusted(int precision, int scale)
{
    if (precision <= DECIMAL_MAX_PRECISION)
        return value_decimal_type(precision, scale);
    int digits = precision - scale, min_scale = scale < 6 ? scale : 6;
    int adjusted = DECIMAL_MAX_PRECISION - digits > min_scale ? DECIMAL_MAX_PRECISION - digits : min_scale;
    return value_decimal_type(DECIMAL_MAX_PRECISION, adjusted);
}

static int max_int(int a, int b) { return a > b ? a : b; }
static int min_int(int a, int b) { return a < b ? a : b; }

/* The result type of x op y where both are exact and one is DECIMAL (Flink's
 * LogicalTypeMerging; a NULL operand takes the other's type). */
static enum value_type decimal_arith_type(enum ast_op op, enum value_type x, enum value_type y)
{
    if (x == VT_NULL)
        x = y;
    if (y == VT_NULL)
        y = x;
    int p1 = precision_of(x), s1 = scale_of(x), p2 = precision_of(y), s2 = scale_of(y), s;
    switch (op) {
    case AST_OP_MUL:
        return decimal_adjusted(p1 + p2 + 1, s1 + s2);
    case AST_OP_DIV:
        s = max_int(6, s1 + p2 + 1);
        return decimal_adjusted(p1 - s1 + s2 + s, s);
    case AST_OP_MOD:
        s = max_int(s1, s2);
        return decimal_adjusted(min_int(p1 - s1, p2 - s2) + s, s);
    default: /* + and - */
        s = max_int(s1, s2);
        return decimal_adjusted(max_int(p1 - s1, p2 - s2) + s + 1, s);
    }
}

enum value_type compile_sum_type(enum value_type arg)
{
    return value_is_decimal(arg) ? value_decimal_type(DECIMAL_MAX_PRECISION, scale_of(arg)) : arg;
}

enum value_type compile_avg_type(enum value_type arg)
{
    return value_is_decimal(arg) ? value_decimal_type(DECIMAL_MAX_PRECISION, max_int(6, scale_of(arg))) : arg;
}

int compile_implicit_cast(enum value_type from, enum value_type to)
{
    if (from == to)
        return 1;
    if (to == VT_DOUBLE)
        return is_exact(from);
    return value_is_decimal(to) && is_exact(from);
}

/* Which casts compile (the value may still fail at run time, e.g. 'abc' to BIGINT). */
static int cast_allowed(enum value_type from, enum value_type to)
{
    if (from == VT_NULL || from == to || to == VT_STRING || from == VT_STRING)
        return 1;
    if (to == VT_TIMESTAMP)
        return from == VT_BIGINT || from == VT_DATE;
    if (to == VT_DATE)
        return from == VT_TIMESTAMP;
    if (from == VT_TIMESTAMP)
        return to == VT_BIGINT || to == VT_DATE;
    return from != VT_DATE; /* among BOOLEAN, BIGINT, DOUBLE, DECIMAL */
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
    if (is_exact(a) && is_exact(b)) { /* a DECIMAL that holds both */
        int s = max_int(scale_of(a), scale_of(b));
        return (int)value_decimal_type(
            min_int(DECIMAL_MAX_PRECISION, max_int(precision_of(a) - scale_of(a), precision_of(b) - scale_of(b)) + s),
            s);
    }
    if (is_numeric(a) && is_numeric(b))
        return VT_DOUBLE;
    if ((a == VT_DATE && b == VT_TIMESTAMP) || (a == VT_TIMESTAMP && b == VT_DATE))
        return VT_TIMESTAMP;
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

/* Arithmetic evaluators as rows: op, integer, double and decimal versions. */
static const struct {
    enum ast_op op;
    expr_fn int_fn, double_fn, decimal_fn;
} arith_ops[] = {
    {AST_OP_ADD, eval_add_int, eval_add_double, eval_add_decimal},
    {AST_OP_SUB, eval_sub_int, eval_sub_double, eval_sub_decimal},
    {AST_OP_MUL, eval_mul_int, eval_mul_double, eval_mul_decimal},
    {AST_OP_DIV, eval_div_int, eval_div_double, eval_div_decimal},
    {AST_OP_MOD, eval_mod_int, eval_mod_double, eval_mod_decimal},
};

/* A string literal compared with a TIMESTAMP or DATE becomes a constant of that type. */
static int coerce_literal(struct expr_compiler *c, const struct ast *a, struct expr *e, enum value_type want)
{
    if (e->fn != eval_const || e->type != VT_STRING || (want != VT_TIMESTAMP && want != VT_DATE))
        return 0;
    struct eval_ctx ec = {.err = c->err};
    struct value v;
    if (eval_cast(&ec, e, &e->constant, want, &v) < 0)
        return compile_fail(c, a, "invalid %s literal '%s'", want == VT_DATE ? "date" : "timestamp",
                            e->constant.u.s.ptr);
    e->constant = v;
    e->type = want;
    return 0;
}

static int compile_comparable(struct expr_compiler *c, const struct ast *at, struct expr **l, struct expr **r,
                              const struct ast *la, const struct ast *ra)
{
    if (coerce_literal(c, la, *l, (*r)->type) < 0 || coerce_literal(c, ra, *r, (*l)->type) < 0)
        return -1;
    enum value_type x = (*l)->type, y = (*r)->type;
    if (common_type(x, y) < 0)
        return compile_fail(c, at, "type mismatch: cannot compare %s with %s", value_type_name(x), value_type_name(y));
    /* a DATE meets a TIMESTAMP at midnight */
    if (x == VT_DATE && y == VT_TIMESTAMP && !(*l = expr_promote(c, la, *l, VT_TIMESTAMP)))
        return -1;
    if (y == VT_DATE && x == VT_TIMESTAMP && !(*r = expr_promote(c, ra, *r, VT_TIMESTAMP)))
        return -1;
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
                                value_type_name(x), value_type_name(y));
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
        e = node_new(c, a,
                     (x == VT_BIGINT || x == VT_TIMESTAMP || x == VT_DATE) && x == y ? eval_compare_int : eval_compare,
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
            if (!is_double && (value_is_decimal(x) || value_is_decimal(y)))
                e = node_new(c, a, arith_ops[i].decimal_fn, decimal_arith_type(a->op, x, y), 2);
            else
                e = node_new(c, a, is_double ? arith_ops[i].double_fn : arith_ops[i].int_fn,
                             is_double ? VT_DOUBLE : VT_BIGINT, 2);
        } else {
            return compile_fail(c, a, "type mismatch: cannot apply \"%s\" to %s and %s", op_text(a->op),
                                interval_l ? "INTERVAL" : value_type_name(x),
                                interval_r ? "INTERVAL" : value_type_name(y));
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
                                    value_type_name(x->type));
            }
        } else {
            int t = common_type((enum value_type)result, x->type);
            if (t < 0)
                return compile_fail(c, a->args[i], "type mismatch: CASE branches have types %s and %s",
                                    value_type_name((enum value_type)result), value_type_name(x->type));
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
                                value_type_name((enum value_type)result), value_type_name(x->type));
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

/* Runs f's compile-time step on e; what it keeps in e->state is released with the plan. */
static int compile_prepare(struct expr_compiler *c, const struct sql_function *f, struct expr *e, const struct ast *a)
{
    void (*release)(void *) = NULL;
    if (f->prepare(e, a, &release, c->err) < 0)
        return -1;
    if (release && expr_compiler_defer(c, release, e->state) < 0) {
        release(e->state);
        e->state = NULL;
        return compile_fail(c, a, "out of memory");
    }
    return 0;
}

/* A name the planner resolves (resolve: one of c's callbacks) to a column of the row the
 * expression reads: the input row, or the aggregated row for an aggregate call. */
static int compile_resolved(struct expr_compiler *c, const struct ast *a,
                            int (*resolve)(struct expr_compiler *, const struct ast *, int *, enum value_type *),
                            struct expr **out)
{
    int index;
    enum value_type type;
    if (resolve(c, a, &index, &type) < 0)
        return -1;
    struct expr *e = node_new(c, a, eval_column, type, 0);
    if (!e)
        return -1;
    e->index = index;
    *out = e;
    return 0;
}

/* A call of aggregate f: the planner's slot for it, read as a column of the aggregated row. */
static int compile_aggregate_ref(struct expr_compiler *c, const struct ast *a, const struct sql_function *f,
                                 struct expr **out)
{
    if (!c->resolve_aggregate)
        return compile_fail(c, a, "aggregate function %s is not allowed in %s", f->name, c->clause);
    return compile_resolved(c, a, c->resolve_aggregate, out);
}

static int check_arity(struct expr_compiler *c, const struct ast *a, const struct sql_function *f)
{
    if (a->nargs >= f->min_args && a->nargs <= f->max_args)
        return 0;
    if (f->min_args == f->max_args)
        return compile_fail(c, a, "function %s takes %d argument%s, found %d", f->name, f->min_args,
                            f->min_args == 1 ? "" : "s", a->nargs);
    if (f->max_args >= FUNCTIONS_MAX_ARGS)
        return compile_fail(c, a, "function %s takes at least %d argument%s, found %d", f->name, f->min_args,
                            f->min_args == 1 ? "" : "s", a->nargs);
    return compile_fail(c, a, "function %s takes %d to %d arguments, found %d", f->name, f->min_args, f->max_args,
                        a->nargs);
}

/* Argument letters of the function table (functions.h) as rows: letter, accepted types, name. */
static const struct {
    char letter;
    enum value_type t1, t2; /* t2 VT_NULL: only t1 (NULL always fits) */
    const char *text;
} arg_kinds[] = {
    {'S', VT_STRING, VT_NULL, "STRING"},   {'N', VT_BIGINT, VT_DOUBLE, "numeric"},
    {'I', VT_BIGINT, VT_NULL, "BIGINT"},   {'T', VT_TIMESTAMP, VT_NULL, "TIMESTAMP(3)"},
    {'B', VT_BOOLEAN, VT_NULL, "BOOLEAN"}, {'X', VT_TIMESTAMP, VT_STRING, "TIMESTAMP(3) or STRING"},
};

/* The functions that keep a DECIMAL argument DECIMAL, as Flink's (others compute in DOUBLE). */
static const struct {
    const char *name;
    enum decimal_rounding kind;
} decimal_calls[] = {
    {"ABS", DECIMAL_ABS},      {"FLOOR", DECIMAL_FLOOR}, {"CEIL", DECIMAL_CEIL},
    {"CEILING", DECIMAL_CEIL}, {"ROUND", DECIMAL_ROUND},
};

static int decimal_call(const struct sql_function *f)
{
    for (size_t i = 0; i < sizeof decimal_calls / sizeof decimal_calls[0]; i++)
        if (strcmp(f->name, decimal_calls[i].name) == 0)
            return (int)i;
    return -1;
}

/* ABS/FLOOR/CEIL/ROUND of a DECIMAL: e becomes an eval_decimal_rounding node of Flink's type
 * (ABS the argument's; FLOOR and CEIL DECIMAL(p, 0); ROUND(x, r) LogicalTypeMerging's
 * findRoundDecimalType, r a constant). */
static int compile_decimal_call(struct expr_compiler *c, const struct ast *a, struct expr *e, int row)
{
    enum value_type t = e->args[0]->type;
    int p = value_decimal_precision(t), s = value_decimal_scale(t);
    int64_t r = 0;
    e->fn = eval_decimal_rounding;
    e->index = (int)decimal_calls[row].kind;
    if (e->index == DECIMAL_ABS)
        e->type = t;
    else if (e->index != DECIMAL_ROUND)
        e->type = value_decimal_type(p, 0);
    else {
        if (e->nargs > 1 && e->args[1]->fn != eval_const)
            return compile_fail(c, a->args[1], "ROUND of a DECIMAL needs a constant number of digits");
        r = e->nargs > 1 && e->args[1]->constant.type != VT_NULL ? e->args[1]->constant.u.i : 0;
        if (r < -DECIMAL_MAX_PRECISION || r > DECIMAL_MAX_PRECISION)
            return compile_fail(c, a->args[1], "ROUND digits must be between -38 and 38");
        e->constant.u.i = r;
        e->type = r >= s  ? t
                  : r < 0 ? value_decimal_type(min_int(DECIMAL_MAX_PRECISION, 1 + p - s), 0)
                          : value_decimal_type(min_int(DECIMAL_MAX_PRECISION, 1 + p - s + (int)r), (int)r);
    }
    return 0;
}

/* Compiles argument i of call a into e->args[i] and checks it against f's letter for it. */
static int compile_call_arg(struct expr_compiler *c, const struct ast *a, const struct sql_function *f, struct expr *e,
                            int i)
{
    if (a->args[i]->kind == AST_STAR)
        return compile_fail(c, a->args[i], "\"*\" is only allowed in COUNT(*)");
    if (expr_compile(c, a->args[i], &e->args[i]) < 0)
        return -1;
    size_t nletters = strlen(f->args);
    char want = f->args[(size_t)i < nletters ? (size_t)i : nletters - 1];
    enum value_type t = e->args[i]->type;
    if (want == 'N' && value_is_decimal(t) && !(i == 0 && decimal_call(f) >= 0)) /* others compute in DOUBLE */
        return (e->args[i] = expr_promote(c, a->args[i], e->args[i], VT_DOUBLE)) ? 0 : -1;
    for (size_t k = 0; k < sizeof arg_kinds / sizeof arg_kinds[0]; k++)
        if (arg_kinds[k].letter == want && t != VT_NULL && t != arg_kinds[k].t1 &&
            !(want == 'N' && value_is_decimal(t)) && (arg_kinds[k].t2 == VT_NULL || t != arg_kinds[k].t2))
            return compile_fail(c, a->args[i], "type mismatch: argument %d of %s must be %s, found %s", i + 1, f->name,
                                arg_kinds[k].text, value_type_name(t));
    return 0;
}

/* e's result type by f's rule (RET_ARG1: the value arguments promoted to their common type). */
static int call_result_type(struct expr_compiler *c, const struct ast *a, const struct sql_function *f, struct expr *e)
{
    int any_double = 0, t = VT_NULL, first = f->min_args == 3 ? 1 : 0;
    for (int i = 0; i < e->nargs; i++)
        any_double |= e->args[i]->type == VT_DOUBLE;
    if (f->rule == RET_ARG0)
        e->type = e->args[0]->type == VT_NULL ? VT_BIGINT : e->args[0]->type;
    else if (f->rule == RET_NUMERIC)
        e->type = any_double ? VT_DOUBLE : VT_BIGINT;
    if (f->rule != RET_ARG1)
        return 0;
    /* IF(cond, a, b) and COALESCE-like: common type of the value arguments */
    for (int i = first; i < e->nargs; i++) {
        int u = common_type((enum value_type)t, e->args[i]->type);
        if (u < 0)
            return compile_fail(c, a->args[i], "type mismatch: arguments of %s have types %s and %s", f->name,
                                value_type_name((enum value_type)t), value_type_name(e->args[i]->type));
        t = u;
    }
    for (int i = first; i < e->nargs; i++)
        if (!(e->args[i] = expr_promote(c, a->args[i], e->args[i], (enum value_type)t)))
            return -1;
    e->type = t == VT_NULL ? VT_STRING : (enum value_type)t;
    return 0;
}

/* A call of a CREATE FUNCTION function d: an aggregate goes to the planner as the built-in
 * ones do; a scalar runs in its own Lua state (udf.h), owned by the plan through the
 * compiler's cleanups, or none when d is only declared. Arguments take any type. */
static int compile_udf_call(struct expr_compiler *c, const struct ast *a, const struct sql_function_def *d,
                            struct expr **out)
{
    char msg[300];
    if (a->over)
        return compile_fail(c, a, "OVER is not supported with the user-defined function %s", d->name);
    if (d->aggregate) {
        if (!c->resolve_aggregate)
            return compile_fail(c, a, "aggregate function %s is not allowed in %s", d->name, c->clause);
        return compile_resolved(c, a, c->resolve_aggregate, out);
    }
    if (a->distinct)
        return compile_fail(c, a, "DISTINCT is only allowed in aggregate functions");
    if (a->nargs > FUNCTIONS_MAX_ARGS)
        return compile_fail(c, a, "function %s takes at most %d arguments, found %d", d->name, FUNCTIONS_MAX_ARGS,
                            a->nargs);
    struct expr *e = node_new(c, a, udf_eval, d->returns, a->nargs);
    if (!e)
        return -1;
    if (d->declared) /* planned from stored facts: nothing loaded (udf_eval refuses to run it) */
        e->state = NULL;
    else if (!(e->state = udf_new(d->name, d->source, d->returns, msg, sizeof msg)))
        return compile_fail(c, a, "%s", msg);
    if (e->state && expr_compiler_defer(c, udf_free_void, e->state) < 0) {
        udf_free(e->state);
        return compile_fail(c, a, "out of memory");
    }
    for (int i = 0; i < a->nargs; i++) {
        if (a->args[i]->kind == AST_STAR)
            return compile_fail(c, a->args[i], "\"*\" is only allowed in COUNT(*)");
        if (expr_compile(c, a->args[i], &e->args[i]) < 0)
            return -1;
    }
    *out = e;
    return 0;
}

static int compile_function(struct expr_compiler *c, const struct ast *a, struct expr **out)
{
    const struct sql_function *f = functions_find(a->name);
    const struct sql_function_def *d = f ? NULL : udf_find(c->udfs, c->nudfs, a->name);
    if (d)
        return compile_udf_call(c, a, d, out);
    if (!f) {
        const char *s = functions_suggest(a->name);
        if (s)
            return compile_fail(c, a, "unknown function \"%s\"; did you mean \"%s\"?", a->name, s);
        return compile_fail(c, a, "unknown function \"%s\"", a->name);
    }
    if (f->agg != AGG_NONE)
        return compile_aggregate_ref(c, a, f, out);
    if (!c->allow_proctime && strcmp(f->name, "PROCTIME") == 0)
        return compile_fail(c, a,
                            "PROCTIME() is only supported as a whole column of a SELECT list without GROUP BY "
                            "(SELECT *, PROCTIME() AS p_time FROM ...) or as a computed column of CREATE TABLE "
                            "(p_time AS PROCTIME())");
    if (a->distinct)
        return compile_fail(c, a, "DISTINCT is only allowed in aggregate functions");
    if (check_arity(c, a, f) < 0)
        return -1;
    struct expr *e = node_new(c, a, eval_call, f->ret, a->nargs);
    if (!e)
        return -1;
    e->func = f;
    for (int i = 0; i < a->nargs; i++)
        if (compile_call_arg(c, a, f, e, i) < 0)
            return -1;
    if (call_result_type(c, a, f, e) < 0)
        return -1;
    if (decimal_call(f) >= 0 && value_is_decimal(e->args[0]->type))
        return compile_decimal_call(c, a, e, decimal_call(f)) < 0 ? -1 : (*out = e, 0);
    if (f->prepare && compile_prepare(c, f, e, a) < 0)
        return -1;
    *out = e;
    return 0;
}

/* A constant; a string is copied, as the syntax tree goes away after compiling. */
static int compile_literal(struct expr_compiler *c, const struct ast *a, struct expr **out)
{
    struct expr *e = node_new(c, a, eval_const, a->lit.type, 0);
    if (!e)
        return -1;
    e->constant = a->lit;
    if (a->lit.type == VT_STRING) {
        e->constant.u.s.ptr = arena_strndup(c->arena, a->lit.u.s.ptr, a->lit.u.s.len);
        if (!e->constant.u.s.ptr)
            return compile_fail(c, a, "out of memory");
    }
    *out = e;
    return 0;
}

/* NOT, unary minus, IS [NOT] NULL: one operand. */
static int compile_unary(struct expr_compiler *c, const struct ast *a, struct expr **out)
{
    struct expr *x, *e;
    if (expr_compile(c, a->args[0], &x) < 0)
        return -1;
    if (a->kind == AST_IS_NULL) {
        e = node_new(c, a, eval_is_null, VT_BOOLEAN, 1);
    } else {
        if (a->op == AST_OP_NOT && x->type != VT_BOOLEAN && x->type != VT_NULL)
            return compile_fail(c, a, "type mismatch: NOT needs a BOOLEAN operand, found %s", value_type_name(x->type));
        if (a->op == AST_OP_NEG && !is_numeric(x->type) && x->type != VT_NULL)
            return compile_fail(c, a, "type mismatch: cannot negate %s", value_type_name(x->type));
        e = node_new(c, a, a->op == AST_OP_NOT ? eval_not : eval_neg, a->op == AST_OP_NOT ? VT_BOOLEAN : x->type, 1);
    }
    if (!e)
        return -1;
    e->args[0] = x;
    e->negated = a->kind == AST_IS_NULL ? a->negated : 0;
    *out = e;
    return 0;
}

/* CAST(x AS t): folded when x is a constant (but a non-string constant to STRING, whose text
 * would need a lasting home). */
static int compile_cast(struct expr_compiler *c, const struct ast *a, struct expr **out)
{
    struct expr *x, *e;
    if (expr_compile(c, a->args[0], &x) < 0)
        return -1;
    if (!cast_allowed(x->type, a->cast_type))
        return compile_fail(c, a, "cannot cast %s to %s", value_type_name(x->type), value_type_name(a->cast_type));
    if (x->fn == eval_const && (x->type == VT_STRING || a->cast_type != VT_STRING)) {
        struct eval_ctx ec = {.err = c->err};
        struct value v;
        if (x->type != VT_NULL && eval_cast(&ec, x, &x->constant, a->cast_type, &v) < 0)
            return -1;
        if (x->type != VT_NULL)
            x->constant = v;
        x->type = a->cast_type;
        x->constant.type = x->constant.type == VT_NULL ? VT_NULL : a->cast_type;
        *out = x;
        return 0;
    }
    if (!(e = node_new(c, a, eval_cast_node, a->cast_type, 1)))
        return -1;
    e->args[0] = x;
    *out = e;
    return 0;
}

/* LIKE (STRING operands), IN and BETWEEN (operands comparable with the first). */
static int compile_predicate(struct expr_compiler *c, const struct ast *a, struct expr **out)
{
    expr_fn fn = a->kind == AST_LIKE ? eval_like : a->kind == AST_IN ? eval_in : eval_between;
    struct expr *e = node_new(c, a, fn, VT_BOOLEAN, a->nargs);
    if (!e)
        return -1;
    e->negated = a->negated;
    for (int i = 0; i < a->nargs; i++) {
        if (expr_compile(c, a->args[i], &e->args[i]) < 0)
            return -1;
        if (a->kind == AST_LIKE) {
            if (e->args[i]->type != VT_STRING && e->args[i]->type != VT_NULL)
                return compile_fail(c, a->args[i], "type mismatch: LIKE needs STRING operands, found %s",
                                    value_type_name(e->args[i]->type));
        } else if (i > 0 && compile_comparable(c, a->args[i], &e->args[0], &e->args[i], a->args[0], a->args[i]) < 0) {
            return -1;
        }
    }
    *out = e;
    return 0;
}

int expr_compile(struct expr_compiler *c, const struct ast *a, struct expr **out)
{
    switch (a->kind) {
    case AST_LITERAL:
    case AST_INTERVAL:
        return compile_literal(c, a, out);
    case AST_COLUMN:
        return compile_resolved(c, a, c->resolve_column, out);
    case AST_STAR:
        /* No query reaches this: compile_select expands or rejects a "*" item, and
         * compile_function and resolve_aggregate reject "*" arguments other than COUNT(*)'s
         * before compiling them. Kept as a guard for new callers. */
        return compile_fail(c, a, "\"*\" is not allowed here");
    case AST_UNARY:
    case AST_IS_NULL:
        return compile_unary(c, a, out);
    case AST_BINARY:
        return compile_binary(c, a, out);
    case AST_FUNC:
        return compile_function(c, a, out);
    case AST_CASE:
        return compile_case(c, a, out);
    case AST_CAST:
        return compile_cast(c, a, out);
    case AST_LIKE:
    case AST_IN:
    case AST_BETWEEN:
        return compile_predicate(c, a, out);
    }
    return compile_fail(c, a, "unknown expression");
}
