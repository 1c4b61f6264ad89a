/* eval.h — compiled expressions: trees of typed nodes (built once by compile.h from syntax
 * trees), evaluated per row without malloc (temporary strings go to the per-batch arena); and
 * the run-time helpers the built-in functions share (internal to sql/). */
#ifndef SLUICE_DATAPLANE_SQL_EVAL_H
#define SLUICE_DATAPLANE_SQL_EVAL_H

#include "dataplane/sql/sql.h"

struct arena;
struct expr;
struct sql_function;

/* What an expression reads while it runs. */
struct eval_ctx {
    const struct value *row;
    struct arena *scratch;
    struct sql_error *err;
};

typedef int (*expr_fn)(const struct expr *e, struct eval_ctx *c, struct value *out);

/* One node. Nodes and constants live in the compiler's arena (owned by the plan). */
struct expr {
    expr_fn fn;
    enum value_type type; /* result type (VT_NULL: the NULL literal) */
    int index;            /* column: row index; other nodes: op-specific */
    struct value constant;
    struct expr **args;
    int nargs;
    const struct sql_function *func;
    void *state; /* compiled pattern etc., released by the compiler's cleanups */
    int line, column;
    int negated;
};

static inline int expr_eval(const struct expr *e, struct eval_ctx *c, struct value *out) { return e->fn(e, c, out); }

/* ---- Node evaluators: one per kind of node, what compile.c puts in expr.fn ---------------*/
int eval_column(const struct expr *e, struct eval_ctx *c, struct value *out); /* c->row[e->index] */
int eval_const(const struct expr *e, struct eval_ctx *c, struct value *out);  /* e->constant */
/* Arithmetic on args[0] and args[1]: BIGINT (overflow checked; also TIMESTAMP +/- INTERVAL) and
 * DOUBLE versions. */
int eval_add_int(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_sub_int(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_mul_int(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_div_int(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_mod_int(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_add_double(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_sub_double(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_mul_double(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_div_double(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_mod_double(const struct expr *e, struct eval_ctx *c, struct value *out);
/* DECIMAL versions: operands BIGINT or DECIMAL(p, s), result e->type (Flink's precision and
 * scale, see compile.c), rounded half up; a result beyond the precision is an error. */
int eval_add_decimal(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_sub_decimal(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_mul_decimal(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_div_decimal(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_mod_decimal(const struct expr *e, struct eval_ctx *c, struct value *out);
/* ABS, FLOOR, CEIL, ROUND of a DECIMAL as Flink types them: e->index the kind, e->type the
 * result (ABS the argument's type, FLOOR/CEIL scale 0, ROUND see compile.c), e->constant.u.i
 * ROUND's digits. */
enum decimal_rounding { DECIMAL_ABS, DECIMAL_FLOOR, DECIMAL_CEIL, DECIMAL_ROUND };
int eval_decimal_rounding(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_neg(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_concat(const struct expr *e, struct eval_ctx *c, struct value *out); /* || */
/* Comparison; e->index is the ast_op. eval_compare_int: BIGINT or TIMESTAMP on both sides. */
int eval_compare(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_compare_int(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_and(const struct expr *e, struct eval_ctx *c, struct value *out); /* three-valued */
int eval_or(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_not(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_is_null(const struct expr *e, struct eval_ctx *c, struct value *out); /* e->negated: IS NOT NULL */
/* CASE: args = [operand?] when, then, ..., [else]; e->index: 1 when simple (operand first),
 * constant.u.i: 1 when an ELSE is present. */
int eval_case(const struct expr *e, struct eval_ctx *c, struct value *out);
int eval_cast_node(const struct expr *e, struct eval_ctx *c, struct value *out); /* args[0] to e->type */
int eval_in(const struct expr *e, struct eval_ctx *c, struct value *out);        /* args[0] IN args[1..] */
int eval_between(const struct expr *e, struct eval_ctx *c, struct value *out);   /* args[0] BETWEEN 1 AND 2 */
int eval_like(const struct expr *e, struct eval_ctx *c, struct value *out);      /* s, pattern[, escape] */
int eval_call(const struct expr *e, struct eval_ctx *c, struct value *out);      /* e->func's impl */

/* ---- Helpers -----------------------------------------------------------------------------*/
/* Sets *err from a node's position. Always returns -1. */
int eval_fail(struct eval_ctx *c, const struct expr *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The longest string any expression may build (REPEAT, REPLACE, CONCAT, ||, LPAD, JSON_QUERY,
 * REGEXP_REPLACE, ...): one cap, checked before the result is allocated, so a query cannot
 * amplify a few bytes into gigabytes by nesting functions. */
#define SQL_STRING_MAX ((size_t)16 << 20)
#define SQL_STRING_MAX_TEXT "16 MiB"
/* A string of n bytes for e's result, from the scratch arena: NULL with the error set when n
 * exceeds SQL_STRING_MAX ("<what> result exceeds the 16 MiB string limit") or memory is out.
 * what names the function or operator; NULL: e's function. */
char *eval_string_alloc(struct eval_ctx *c, const struct expr *e, const char *what, size_t n);
/* Converts a value to type t (CAST semantics; text to TIMESTAMP as the codec's SQL form).
 * Returns 0 or -1 with err filled at e. */
int eval_cast(struct eval_ctx *c, const struct expr *e, const struct value *in, enum value_type t, struct value *out);

#endif
