/* query.h — the plan's operator tree (internal to sql/): the operators a plan is made of, each
 * with its changelog mode, and the compiler of one SELECT block into an operator (query.c).
 *
 * Rows flow from the source stream up the tree: plan.c feeds each source row to the
 * operators that read the stream (the scans), and each operator pushes its output rows, with
 * their row kind, into its parent; the root's parent is the sink. A SELECT block is one
 * operator of a kind chosen by its shape (calc, window table function, window aggregate,
 * group aggregate); a UNION ALL is another; the rank/over operators get their slot as
 * OP_RANK. */
#ifndef SLUICE_DATAPLANE_SQL_QUERY_H
#define SLUICE_DATAPLANE_SQL_QUERY_H

#include <stdint.h>

#include "dataplane/sql/compile.h"
#include "dataplane/sql/group_agg.h"
#include "dataplane/sql/join.h"
#include "dataplane/sql/parser.h"
#include "dataplane/sql/window.h"

enum op_kind {
    OP_CALC,       /* WHERE and SELECT over each row; keeps the row kind */
    OP_WINDOW_TVF, /* window table function without GROUP BY: the row once per window */
    OP_WINDOW_AGG, /* GROUP BY window_start, window_end: rows when the watermark passes a window */
    OP_GROUP_AGG,  /* GROUP BY without a window, SELECT DISTINCT: an updating result */
    OP_UNION,      /* UNION ALL: rows of every input as they come */
    OP_RANK,       /* Top-N and deduplication (rank.h) over a subquery's rows: plan.c */
    OP_OVER,       /* OVER aggregates (over.h) over a block's filtered input rows: plan.c */
    OP_JOIN,       /* a regular join (join.h) of two blocks: plan.c */
};

/* Changelog mode of an operator's output, as Flink's: insert-only, or updating (-U, +U, -D
 * too). updating_by names the operator that made it updating (plan-owned), at line/column. */
struct op {
    enum op_kind kind;
    struct op *parent; /* NULL: the sink */
    int updating;
    const char *updating_by;
    int updating_line, updating_column;
    /* As EXPLAIN shows it (plan arena): the name messages give the node ("Rank(...)",
     * "Join(...)"), and what its state is keyed by; NULL when explain.c derives them. */
    const char *name, *key;
};

struct plan;

/* UNION ALL: its inputs' rows as they come; its output schema is its first input's. */
struct union_op {
    struct op op;
    struct op **inputs;
    int ninputs;
    const struct schema *out;
};

/* Every operator of plan p (blocks, unions, ranks, overs, joins; inputs before the operators
 * that read them) into ops (plan-owned), at most max; returns how many there are (plan.c). */
int plan_operator_list(const struct plan *p, const struct op **ops, int max);
/* The plan's root operator (its parent is the sink) (plan.c). */
const struct op *plan_root(const struct plan *p);

/* One compiled SELECT block. Its input rows are laid out by `in` (the source stream's schema,
 * or the output of the operator it reads); its output rows by `out`, in outrow. */
struct query {
    struct op op;
    struct plan *plan;
    const struct ast_select *sel;  /* compile time only (the syntax tree goes after plan_compile) */
    const char *name, *alias;      /* what FROM names (stream or named query), and its alias */
    const struct join_scope *join; /* FROM a JOIN b: the joined row's names (plan-owned), else NULL */
    int reads_source;              /* fed by a source stream directly */
    int source;                    /* then: which of the plan's streams (plan_source_at) */
    unsigned char *needed;         /* then: the plan's flags of source fields read */
    struct schema in, out;         /* names borrowed from the plan's arena */
    struct expr *where, *having;
    struct expr **items; /* output expressions */
    struct value *outrow;
    int nitems;
    /* windows */
    enum window_kind window;
    int64_t win_a, win_b;
    int rowtime;                /* input column of the event time (or processing time), or -1 */
    int given_start, given_end; /* WINDOW_GIVEN: the input columns of each row's window */
    int proctime;               /* the window is on a processing-time attribute (PROCTIME()) */
    int tvf;
    struct value *tvfrow; /* input row, window_start, window_end, window_time */
    struct window_bounds {
        int64_t start, end;
    } * bounds; /* the windows of the current row */
    struct window_table table;
    /* grouping (windowed or not) */
    struct expr **key_exprs;
    const struct ast **key_asts; /* compile time only */
    int *key_cols;               /* input column of a key that is a plain column, else -1 */
    enum value_type *key_types;
    int nkeys;
    struct agg_slot *aggs;
    int naggs, capaggs;
    struct value *aggargs;
    struct value *postrow; /* keys, [window_start, window_end,] aggregates */
    struct value *prevrow; /* group aggregate: the previous result of the group */
    struct group_table groups;
};

/* What the compiler of a block needs from the plan. */
struct query_env {
    struct arena *arena; /* plan lifetime: nodes, names */
    struct expr_compiler *compiler;
    struct sql_error *err;
    unsigned char *needed; /* input fields read: of the source, or of a join (NULL: not tracked) */
    /* The input's window_start and window_end columns when it is an append-only windowed
     * result (whatever they are called there), else -1: a GROUP BY of both is a window
     * aggregate over the windows they give (WINDOW_GIVEN). */
    int win_start_col, win_end_col;
};

/* Compiles sel over input schema in (borrowed until the plan goes) into q (zeroed by the
 * caller, q->name/alias/reads_source set). Returns 0 or -1 with env->err filled. */
int query_compile(struct query *q, const struct ast_select *sel, const struct schema *in, const struct query_env *env);
/* Frees what query_compile allocated (not q). */
void query_release(struct query *q);

/* Flink's Top-N / deduplication pattern, found in an outer block sel:
 *   SELECT ... FROM (SELECT ..., ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...) AS rn FROM x
 *                    [WHERE ...]) WHERE rn <= N [AND ...]
 * (also rn < N, rn = N). inner is the subquery's block; rn_item the ROW_NUMBER item of it
 * (whose call holds the window); rank_start/limit the ranks kept; output_rank set when the
 * outer block reads rn (a column or *); outer_where is sel's WHERE without the rn bounds
 * (NULL when nothing else), allocated in arena. */
struct rank_match {
    const struct ast_select *inner;
    int rn_item;
    const struct ast *call;
    const char *rn_name;
    int rn_quoted;
    int64_t rank_start, limit;
    int output_rank;
    struct ast *outer_where;
    const struct ast *bound_at; /* the rn of the last bound (for messages) */
};
/* Returns 1 when sel has the pattern (m filled), 0 when not (an OVER left in a block is
 * rejected when the block compiles), -1 with err filled (a bound that keeps no row). */
int query_match_rank(const struct ast_select *sel, struct arena *arena, struct rank_match *m, struct sql_error *err);

/* Running aggregates: a block (no GROUP BY, no window) whose SELECT list calls aggregates
 * with OVER (...), all over one window. calls are those calls (in order); items the SELECT
 * list with call i replaced by the column "$over<i>" (quoted), aliased EXPR$n when the item
 * was the call alone without AS (arena). */
#define QUERY_MAX_OVER 32
struct over_match {
    const struct ast_over *win;
    const struct ast *calls[QUERY_MAX_OVER];
    int ncalls;
    struct ast_select_item *items;
};
/* Returns 1 when sel has such calls (m filled), 0 when not, -1 with err filled (windows that
 * differ, too many calls, OVER with GROUP BY or a window table function). */
int query_match_over(const struct ast_select *sel, struct arena *arena, struct over_match *m, struct sql_error *err);

/* 1 when name is want: exactly when quoted, else ignoring ASCII case. */
int query_name_matches(const char *name, const char *want, int quoted);

#endif
