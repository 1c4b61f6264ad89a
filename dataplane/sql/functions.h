/* functions.h — the table of SQL built-in functions (scalars and aggregates): what the
 * compiler checks calls against and what a call node runs (internal to sql/). */
#ifndef SLUICE_DATAPLANE_SQL_FUNCTIONS_H
#define SLUICE_DATAPLANE_SQL_FUNCTIONS_H

#include "dataplane/sql/eval.h"

struct ast;

#define FUNCTIONS_MAX_ARGS 16

enum agg_kind {
    AGG_NONE,
    AGG_COUNT,
    AGG_SUM,
    AGG_MIN,
    AGG_MAX,
    AGG_AVG,
    AGG_FIRST_VALUE,
    AGG_LAST_VALUE,
    AGG_VAR_POP,
    AGG_VAR_SAMP,
    AGG_STDDEV_POP,
    AGG_STDDEV_SAMP,
    AGG_UDF, /* a Lua aggregate (udf.h): agg_slot.udf */
};

/* How the result type follows from the argument types. */
enum ret_rule {
    RET_FIXED,   /* sql_function.ret */
    RET_ARG0,    /* type of the first argument (ABS, FLOOR, MIN, ...) */
    RET_NUMERIC, /* BIGINT when all numeric arguments are BIGINT, else DOUBLE */
    RET_ARG1,    /* type of the second argument (IF) */
};

/* One row per function. args: one letter per argument position, the last one repeating:
 * S string, N numeric, I integer, T timestamp, B boolean, A any, X time or string. */
struct sql_function {
    const char *name;
    int min_args, max_args;
    const char *args;
    enum value_type ret;
    enum ret_rule rule;
    int strict; /* a NULL argument makes the result NULL without calling impl */
    /* Scalar implementation: args evaluated (never NULL when strict). */
    int (*impl)(const struct expr *e, const struct value *args, struct eval_ctx *c, struct value *out);
    /* Optional compile-time step on the call node e (constant patterns), args compiled: may
     * set e->state, and then *release to what frees it when the plan goes. Returns 0, or -1
     * with err filled at a position of call. */
    int (*prepare)(struct expr *e, const struct ast *call, void (**release)(void *), struct sql_error *err);
    enum agg_kind agg;
};

/* Row for name (case-insensitive), or NULL. */
const struct sql_function *functions_find(const char *name);
/* Closest known function name to a misspelt one, or NULL. */
const char *functions_suggest(const char *name);
/* Edit distance between a and b, ignoring ASCII case. */
int functions_distance(const char *a, const char *b);

#endif
