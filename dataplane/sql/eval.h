/* eval.h — compiled expressions: type-checked trees of typed nodes built once from syntax
 * trees, evaluated per row without malloc (temporary strings go to the per-batch arena)
 * (internal to sql/). */
#ifndef SLUICE_DATAPLANE_SQL_EVAL_H
#define SLUICE_DATAPLANE_SQL_EVAL_H

#include "dataplane/sql/parser.h"
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

/* How names in an expression are resolved; each callback fills the compiler's err on failure.
 * resolve_aggregate NULL: aggregate calls are not allowed in this clause (where is named in
 * the error). */
struct expr_compiler {
    struct arena *arena;
    struct sql_error *err;
    int (*resolve_column)(struct expr_compiler *c, const struct ast *col, int *index, enum value_type *type);
    int (*resolve_aggregate)(struct expr_compiler *c, const struct ast *call, int *index, enum value_type *type);
    void *ctx;
    const char *clause; /* "WHERE", "GROUP BY", ... for messages */
    struct expr_cleanup {
        void (*fn)(void *);
        void *ptr;
    } * cleanups;
    int ncleanups, capcleanups;
};

/* Compiles a into *out. Returns 0 or -1 with c->err filled. */
int expr_compile(struct expr_compiler *c, const struct ast *a, struct expr **out);
/* e converted to type t (a cast node, or a folded constant); NULL with c->err filled. */
struct expr *expr_promote(struct expr_compiler *c, const struct ast *at, struct expr *e, enum value_type t);
/* Registers fn(ptr) to run at expr_compiler_cleanup(). Returns 0 or -1. */
int expr_compiler_defer(struct expr_compiler *c, void (*fn)(void *), void *ptr);
void expr_compiler_cleanup(struct expr_compiler *c);
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
/* Sets c->err at a syntax node's position. Always returns -1. */
int compile_fail(struct expr_compiler *c, const struct ast *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Converts a value to type t (CAST semantics). Returns 0 or -1 with err filled at e. */
int eval_cast(struct eval_ctx *c, const struct expr *e, const struct value *in, enum value_type t, struct value *out);
/* Total order used by comparisons, MIN/MAX and grouping (both non-null, comparable types). */
int value_compare(const struct value *a, const struct value *b);
int value_equal(const struct value *a, const struct value *b);
uint64_t value_hash(const struct value *v, uint64_t seed);

#endif
