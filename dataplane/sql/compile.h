/* compile.h — the expression compiler: turns a syntax tree (parser.h) into a type-checked tree
 * of nodes (eval.h), resolving names through callbacks of the planner (internal to sql/). */
#ifndef SLUICE_DATAPLANE_SQL_COMPILE_H
#define SLUICE_DATAPLANE_SQL_COMPILE_H

#include "dataplane/sql/eval.h"
#include "dataplane/sql/parser.h"

/* How names in an expression are resolved; each callback fills the compiler's err on failure.
 * resolve_aggregate NULL: aggregate calls are not allowed in this clause (where is named in
 * the error). */
struct expr_compiler {
    struct arena *arena;
    struct sql_error *err;
    int (*resolve_column)(struct expr_compiler *c, const struct ast *col, int *index, enum value_type *type);
    int (*resolve_aggregate)(struct expr_compiler *c, const struct ast *call, int *index, enum value_type *type);
    void *ctx;
    const char *clause;                  /* "WHERE", "GROUP BY", ... for messages */
    const struct sql_function_def *udfs; /* CREATE FUNCTION definitions (udf.h), borrowed */
    int nudfs;
    int allow_proctime; /* PROCTIME() may be compiled (a whole column of a SELECT list) */
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
/* Flink's result types of SUM and AVG over arg (DECIMAL(38, s) and DECIMAL(38, max(6, s)) for
 * a DECIMAL(p, s); otherwise arg's type). */
enum value_type compile_sum_type(enum value_type arg);
enum value_type compile_avg_type(enum value_type arg);
/* 1 when a value of type from may go where to is wanted without a CAST (a sink's column):
 * the same type, BIGINT or DECIMAL to DOUBLE or to any DECIMAL (checked when it runs). */
int compile_implicit_cast(enum value_type from, enum value_type to);
/* Registers fn(ptr) to run at expr_compiler_cleanup(). Returns 0 or -1. */
int expr_compiler_defer(struct expr_compiler *c, void (*fn)(void *), void *ptr);
void expr_compiler_cleanup(struct expr_compiler *c);
/* Sets c->err at a syntax node's position. Always returns -1. */
int compile_fail(struct expr_compiler *c, const struct ast *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
