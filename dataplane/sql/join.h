/* join.h — regular joins (INNER, LEFT, RIGHT, FULL OUTER) on equality keys with a residual
 * condition, as Flink's streaming join runs them (internal to sql/): each side's rows are kept
 * per key; a row from one side is joined with the other side's rows of its key that pass the
 * residual condition. Output rows are the left side's columns then the right side's.
 *
 * Changelog: an accumulating row (+I, +U) emits +I per match; a retracting one (-U, -D) emits
 * -D per match. An outer side's row without a match emits itself padded with NULLs (+I), and
 * takes that back (-D) when its first match arrives; when its last match goes, it comes back
 * (+I). State is bounded by the idle-state TTL: a key no row of a side touched for that long
 * (processing time) is dropped from that side, silently, as Flink's state TTL does.
 *
 * Compile side: join_compile_on() splits the ON condition (or a comma join's WHERE) into key
 * pairs and the residual; join_find_column() resolves qualified names over the joined row. */
#ifndef SLUICE_DATAPLANE_SQL_JOIN_H
#define SLUICE_DATAPLANE_SQL_JOIN_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/sql/compile.h"
#include "dataplane/sql/opstate.h"
#include "dataplane/sql/parser.h"

#define JOIN_MAX_KEYS 32

/* The joined row's columns: the schema (left columns, then right) and, per column, the name
 * of the side it comes from (its alias, or the stream or query name; NULL: a subquery without
 * an alias). */
struct join_scope {
    const struct schema *in;
    const char *const *quals;
    int nleft;
    int left_rowtime, right_rowtime; /* columns of the sides' time attributes, or -1 */
    /* Per column (NULL: none): 1 when it is the window_end of an event-time window aggregate
     * below (through plain projections), whose rows come out once the watermark passes
     * window_end - 1: the side's later rows all have window_end - 1 > the watermark. */
    const unsigned char *fired_end;
};

/* Column of scope that reference col names ([qualifier.]name; quoted: exact case). Returns the
 * index, -1 when none has that name, -2 when it is ambiguous (two unqualified matches). */
int join_find_column(const struct join_scope *s, const char *qualifier, const char *name, int quoted);
/* 1 when qualifier names a side of the scope. */
int join_has_qualifier(const struct join_scope *s, const char *qualifier);

struct join_config {
    enum join_type type;
    int nleft, nright;
    const enum value_type *types;                                      /* nleft + nright column types */
    struct expr *left_keys[JOIN_MAX_KEYS], *right_keys[JOIN_MAX_KEYS]; /* over the side's own row */
    enum value_type key_types[JOIN_MAX_KEYS];
    int nkeys;
    struct expr *residual; /* over the joined row; NULL: none */
    /* Per side, conditions over the side's own row that a row must all pass to be joined or
     * kept at all (join_compile_filters): a row one rejects is dropped, as if filtered before
     * the join. */
    struct expr *filters[2][JOIN_MAX_KEYS];
    int nfilters[2];
    int64_t state_ttl_ms; /* 0: kept forever */
    /* Time bounds that let the watermark drop state (join_watermark), set by the planner for an
     * inner join of append-only inputs:
     * - an interval join (join_compile_on finds lower <= l.t - r.t <= upper on the sides' time
     *   attributes, columns left_time and right_time of each side's row): a left row goes
     *   once l.t - lower <= watermark, a right row once r.t + upper <= watermark;
     * - a window join: key window_key holds both sides' window_end; a key goes once its
     *   window_end - 1 <= watermark.
     * A row that would go at once is late: dropped and counted. */
    int interval;
    int left_time, right_time;
    int64_t lower, upper;
    int window_key; /* -1: none */
    /* An inner join of append-only inputs where one side's (S's) column end_col is a fired
     * window_end (join_scope.fired_end) and a condition over the joined rows (ON, or the WHERE
     * right above the join) says T.t - S.end >= end_lower, T the other side and t its TIMESTAMP
     * column end_time: a T row no later S row can match (T.t - end_lower <= the watermark) goes;
     * one that comes so late still joins the S rows held, and is not kept. S rows are kept as in
     * a regular join. end_by: 1 + S's side (0 = left, 1 = right), 0: no such bound. */
    int end_by, end_col, end_time;
    int64_t end_lower;
    /* A temporal join (FROM l JOIN r FOR SYSTEM_TIME AS OF l.t, temporal.h), INNER or LEFT:
     * JOIN_TEMPORAL_EVENT (l.t the left's event time: left_time, right_time), or
     * JOIN_TEMPORAL_PROC (l.t a PROCTIME() column: a lookup into the right side's rows as they
     * are now); 0: a regular join. right_pk: the right row's PRIMARY KEY columns (nright_pk 0:
     * none), by which a later right row replaces an earlier one. */
    int temporal;
    int right_pk[16];
    int nright_pk;
};
enum { JOIN_TEMPORAL_EVENT = 1, JOIN_TEMPORAL_PROC = 2 };

/* Compiles the ON condition on (its join keyword at `at`) over scope into c's keys and
 * residual: each conjunct a = b with a reading only one side and b only the other is a key
 * pair; the others are the residual. Conjuncts that bound one side's time attribute by the
 * other's (l.t BETWEEN r.t - INTERVAL ... AND r.t + ..., >=, >, <=, <) set c->interval,
 * lower and upper when both bounds are found. Neither a key pair nor an interval: a "not
 * supported" error at `at` (a non-equi join). compiler is the plan's (its arena and
 * cleanups). Returns 0 or -1 with compiler->err filled. */
int join_compile_on(struct expr_compiler *compiler, const struct join_scope *scope, const struct ast *on,
                    const struct token *at, struct join_config *c);

/* Narrows c's end bound (end_by, end_lower) by the conjuncts of cond, a WHERE right above
 * an inner join (NULL: none): they filter the joined rows as the ON condition does.
 * join_compile_on already read the ON's. */
void join_compile_end_bounds(const struct join_scope *scope, const struct ast *cond, struct join_config *c);

/* Pushes the filters of cond (a WHERE over the join, clause "WHERE", or an inner join's ON,
 * clause "ON") below the join: each conjunct that reads one side only, calls no clock, aggregate
 * or user-defined function, and decides alone whether a row of that side can show in the output
 * (either side of an INNER join; the preserved side of a LEFT or RIGHT join for a WHERE) goes
 * into c->filters of that side. The other conjuncts go into *rest (AND again, compiler's arena;
 * NULL: none), for the clause to compile as before. Returns 0 or -1 with compiler->err filled. */
int join_compile_filters(struct expr_compiler *compiler, const struct join_scope *scope, const struct ast *cond,
                         const char *clause, struct join_config *c, struct ast **rest);

struct join;
typedef int (*join_emit_fn)(void *ctx, enum row_kind kind, const struct value *row);

/* A new join (c is copied; its expressions stay the plan's). NULL with err filled. */
struct join *join_new(const struct join_config *c, struct sql_error *err);
void join_free(struct join *j); /* NULL is a no-op */
/* A row of side 0 (left) or 1 (right), of kind `kind`, at processing time now; its output to
 * emit. Returns 0, or -1 with err filled (an evaluation error, out of memory, emit failed). */
int join_process(struct join *j, int side, enum row_kind kind, const struct value *row, int64_t now,
                 struct arena *scratch, join_emit_fn emit, void *ctx, struct sql_error *err);
/* What is read of the joined rows above the join: needed[i] for column i (left, then right),
 * borrowed for the call. The state keeps only those columns of a side's rows, and those its
 * residual condition and time bounds read; the others are NULL in the rows it emits from state.
 * NULL: all (as without the call). A temporal join keeps all. */
void join_keep_columns(struct join *j, const unsigned char *needed);
/* The columns of side `side`'s own row (0 left, 1 right) that the join reads when the block
 * above reads needed (as join_keep_columns) into reads[0..that side's column count): those
 * needed, and those its keys, the side's filters, the residual condition and the time bounds
 * read. Returns 0, or -1 (reads untouched) for a temporal join, needed NULL or out of memory:
 * then the join reads them all. */
int join_side_reads(const struct join *j, int side, const unsigned char *needed, unsigned char *reads);
/* Drops the keys idle since before now - state_ttl_ms (swept now and then, not every call). */
void join_expire(struct join *j, int64_t now);
/* The watermark moved to wm: drops what the time bounds say no later row can match (swept now
 * and then). No-op without time bounds. */
void join_watermark(struct join *j, int64_t wm);
/* join_watermark, and a temporal join's rows that waited for wm to pass their time go out
 * (INT64_MAX: the end of input, all of them). Returns 0, or -1 with err filled. */
int join_advance(struct join *j, int64_t wm, struct arena *scratch, join_emit_fn emit, void *ctx,
                 struct sql_error *err);

/* A processing-time lookup join: the right row's columns its keys are (-1: a key is not a plain
 * column, or this is no lookup join), and the function that gives the table's rows of a key
 * from now on instead of the right side's rows (sql.h: plan_set_lookup). */
int join_lookup_keys(const struct join *j, int *cols, int max);
void join_set_lookup(struct join *j, plan_lookup_fn fn, void *ctx);

struct join_stats {
    uint64_t rows_in, eval_errors, late_dropped;
    size_t state_bytes;
};
void join_stats(const struct join *j, struct join_stats *out);

/* State for checkpoints: a malloc'd buffer (caller frees); restore into a fresh join of the same
 * configuration. Returns 0 or -1. */
int join_snapshot(const struct join *j, char **buf, size_t *len);
/* The same bytes appended to w (no copy through a buffer of its own). Returns 0 or -1. */
int join_snapshot_to(const struct join *j, struct window_writer *w);
int join_restore(struct join *j, const char *buf, size_t len, struct sql_error *err);

#endif
