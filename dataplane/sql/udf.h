/* udf.h — user-defined functions written in Lua (CREATE FUNCTION name [RETURNS type] AS '...'
 * LANGUAGE LUA): each use of a function in a plan gets its own sandboxed Lua 5.4 state, with
 * only the base (without load, loadstring, dofile, loadfile, collectgarbage and print), string
 * (without string.dump), table, math and utf8 libraries, an instruction budget per call and a
 * memory budget per state (internal to sql/).
 *
 * The chunk returns a function (a scalar function) or a table with init, accumulate and
 * result, and optionally retract and merge (an aggregate function). SQL values go to Lua as
 * numbers (BIGINT, TIMESTAMP as epoch milliseconds and DATE as days: integers; DOUBLE and
 * DECIMAL: floats), strings, booleans and nil for NULL; the result comes back as the declared
 * type (nil is NULL). An aggregate's accumulator lives between calls in its byte form (nil,
 * booleans, numbers, strings and tables of them), which is also what checkpoints hold. */
#ifndef SLUICE_DATAPLANE_SQL_UDF_H
#define SLUICE_DATAPLANE_SQL_UDF_H

#include <stddef.h>

#include "dataplane/sql/eval.h"

/* Instructions one call may run (counted by a Lua count hook) and bytes one function's Lua
 * state may hold. */
#define UDF_INSTRUCTION_BUDGET 20000000L
#define UDF_MEMORY_BUDGET ((size_t)32 << 20)
#define UDF_MEMORY_BUDGET_TEXT "32 MiB"

enum udf_kind { UDF_SCALAR, UDF_AGGREGATE };

struct udf; /* one loaded function in its own Lua state */

/* Loads source (Lua text; binary chunks are refused) for function name into a new sandbox and
 * runs it once to get the function or the aggregate's table. returns: the declared result
 * type. NULL with the reason in errbuf ("syntax error ...", "the chunk must return ..."). */
struct udf *udf_new(const char *name, const char *source, enum value_type returns, char *errbuf, size_t errlen);
void udf_free(struct udf *u); /* NULL is a no-op */
void udf_free_void(void *u);  /* udf_free for a cleanup list */
enum udf_kind udf_kind(const struct udf *u);
const char *udf_name(const struct udf *u);
enum value_type udf_returns(const struct udf *u);
/* 1 when the aggregate's table has member ("retract", "merge"). */
int udf_has(const struct udf *u, const char *member);
/* Checks source as udf_new does (syntax, what the chunk returns, budgets) and frees the state.
 * Returns 0, or -1 with errbuf filled. *kind: scalar or aggregate; *merge: 1 when the
 * aggregate's table has a merge function (session windows need it). */
int udf_check(const char *name, const char *source, enum udf_kind *kind, int *merge, char *errbuf, size_t errlen);
/* The definition named name (case-insensitive) among defs, or NULL. */
const struct sql_function_def *udf_find(const struct sql_function_def *defs, int n, const char *name);
/* RETURNS types a Lua function may declare: 1 when t is one. */
int udf_type_supported(enum value_type t);

/* Expression node of a scalar call: e->state is the struct udf, e->args the arguments. A Lua
 * error, a budget exceeded or a result of the wrong type is an evaluation error of the row.
 * e->state NULL (a declared function, sql.h: planned, never loaded) is an error of every row. */
int udf_eval(const struct expr *e, struct eval_ctx *c, struct value *out);

/* ---- Aggregates: state is VT_NULL (no row yet) or a malloc'd VT_STRING, the accumulator's
 * byte form, replaced on success and left as it was on error. Return 0, or -1 with the message
 * kept for udf_take_error() (a Lua error, a budget exceeded, an accumulator that cannot be
 * kept). u NULL (a declared function's slot: planned, never loaded) fails, a result is NULL. */
int udf_agg_update(struct udf *u, struct value *state, const struct value *arg, int retract);
int udf_agg_merge(struct udf *u, struct value *dst, const struct value *src);
/* The result of state as the declared type; a string is held by u until its next result
 * call. An error in result (or a result of the wrong type) gives NULL: a result belongs to a
 * group, not to one input row that the error policy could take. */
void udf_agg_result(struct udf *u, const struct value *state, struct value *out);
/* The message of the last failed call ("function \"f\": ..."), and clears it; NULL when none
 * (or u NULL). */
const char *udf_take_error(struct udf *u);

#endif
