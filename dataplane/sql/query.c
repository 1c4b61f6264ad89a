/* query.c — compiles one SELECT block into an operator of the plan (query.h): resolves names
 * against the block's input schema, compiles WHERE, the window table function, GROUP BY keys
 * (columns or expressions), aggregates with FILTER, HAVING and the SELECT list, and derives the
 * block's output schema (with the event-time column when a plain column passes it on). */
#include "dataplane/sql/query.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"
#include "dataplane/sql/functions.h"
#include "dataplane/sql/udf.h"

/* Grouping keys are gathered per row in a fixed array. */
#define MAX_GROUP_KEYS 64

/* The qualifier of a column node that stands for GROUP BY key lit.u.i (an expression key
 * found again in the SELECT list or HAVING). */
static const char query_key_marker[] = "<group key>";

/* Errors at a line and column, or at a token (lexer.h). */
#define fail_at sql_error_at
#define fail_tok sql_error_tok

int query_name_matches(const char *name, const char *want, int quoted)
{
    return quoted ? strcmp(name, want) == 0 : strcasecmp(name, want) == 0;
}

static int is_window_column(const char *name)
{
    return strcasecmp(name, "window_start") == 0 || strcasecmp(name, "window_end") == 0;
}

/* ---- Syntax trees: equality and the GROUP BY key rewrite ----------------------------------*/

static int ast_equal(const struct ast *a, const struct ast *b)
{
    if (!a || !b)
        return a == b;
    if (a->kind != b->kind || a->op != b->op || a->nargs != b->nargs || a->negated != b->negated ||
        a->distinct != b->distinct || a->cast_type != b->cast_type)
        return 0;
    if ((a->name == NULL) != (b->name == NULL) || (a->name && strcasecmp(a->name, b->name) != 0))
        return 0;
    if ((a->qualifier == NULL) != (b->qualifier == NULL) || (a->qualifier && strcasecmp(a->qualifier, b->qualifier)))
        return 0;
    if (a->kind == AST_LITERAL || a->kind == AST_INTERVAL) {
        if (a->lit.type != b->lit.type)
            return 0;
        if (a->lit.type == VT_STRING)
            return a->lit.u.s.len == b->lit.u.s.len && memcmp(a->lit.u.s.ptr, b->lit.u.s.ptr, a->lit.u.s.len) == 0;
        if (a->lit.type != VT_NULL && value_compare(&a->lit, &b->lit) != 0)
            return 0;
    }
    for (int i = 0; i < a->nargs; i++)
        if (!ast_equal(a->args[i], b->args[i]))
            return 0;
    return ast_equal(a->operand, b->operand) && ast_equal(a->else_expr, b->else_expr) &&
           ast_equal(a->filter, b->filter);
}

/* a with every subtree equal to an expression key of q replaced by a key reference (a copy
 * where something changed); NULL when out of memory. */
static const struct ast *ast_rewrite_keys(struct query *q, struct arena *arena, const struct ast *a)
{
    if (!a)
        return NULL;
    for (int k = 0; k < q->nkeys; k++)
        if (q->key_asts[k] && q->key_asts[k]->kind != AST_COLUMN && ast_equal(a, q->key_asts[k])) {
            struct ast *m = arena_alloc(arena, sizeof *m);
            if (!m)
                return NULL;
            memset(m, 0, sizeof *m);
            m->kind = AST_COLUMN;
            m->line = a->line;
            m->column = a->column;
            m->name = "<expression>";
            m->qualifier = query_key_marker;
            m->lit.u.i = k;
            return m;
        }
    if (a->kind == AST_FUNC && a->args) {
        const struct sql_function *f = functions_find(a->name);
        if (f && f->agg != AGG_NONE)
            return a; /* aggregate arguments read input rows */
    }
    struct ast *copy = NULL;
    for (int i = 0; i < a->nargs; i++) {
        const struct ast *n = ast_rewrite_keys(q, arena, a->args[i]);
        if (!n)
            return NULL;
        if (n != a->args[i] && !copy) {
            if (!(copy = arena_alloc(arena, sizeof *copy)) ||
                !(copy->args = arena_alloc(arena, (size_t)a->nargs * sizeof *copy->args)))
                return NULL;
            struct ast **args = copy->args;
            *copy = *a;
            copy->args = args;
            memcpy(copy->args, a->args, (size_t)a->nargs * sizeof *a->args);
        }
        if (copy)
            copy->args[i] = (struct ast *)n;
    }
    const struct ast *operand = a->operand ? ast_rewrite_keys(q, arena, a->operand) : NULL;
    const struct ast *else_expr = a->else_expr ? ast_rewrite_keys(q, arena, a->else_expr) : NULL;
    if ((a->operand && !operand) || (a->else_expr && !else_expr))
        return NULL;
    if ((operand != a->operand || else_expr != a->else_expr) && !copy) {
        if (!(copy = arena_alloc(arena, sizeof *copy)))
            return NULL;
        *copy = *a;
    }
    if (copy) {
        copy->operand = (struct ast *)operand;
        copy->else_expr = (struct ast *)else_expr;
        return copy;
    }
    return a;
}

/* 1 when a calls an aggregate (a built-in one, or a Lua one of c->udfs). */
static int ast_has_aggregate(const struct expr_compiler *c, const struct ast *a)
{
    if (!a)
        return 0;
    if (a->kind == AST_FUNC) {
        const struct sql_function *f = functions_find(a->name);
        const struct sql_function_def *d = f ? NULL : udf_find(c->udfs, c->nudfs, a->name);
        if ((f && f->agg != AGG_NONE) || (d && d->aggregate))
            return 1;
    }
    for (int i = 0; i < a->nargs; i++)
        if (ast_has_aggregate(c, a->args[i]))
            return 1;
    return ast_has_aggregate(c, a->operand) || ast_has_aggregate(c, a->else_expr);
}

/* FILTER (WHERE ...) only on aggregate calls. */
static int check_filters(const struct ast *a, struct sql_error *err)
{
    if (!a)
        return 0;
    if (a->filter) {
        const struct sql_function *f = functions_find(a->name);
        const struct ast *at = a->filter;
        while ((at->kind == AST_BINARY || at->kind == AST_IS_NULL || at->kind == AST_LIKE || at->kind == AST_IN ||
                at->kind == AST_BETWEEN) &&
               at->nargs > 0)
            at = at->args[0];
        if (!f || f->agg == AGG_NONE)
            return fail_at(err, at->line, at->column, "FILTER (WHERE ...) is only allowed on aggregate functions");
    }
    for (int i = 0; i < a->nargs; i++)
        if (check_filters(a->args[i], err) < 0)
            return -1;
    return check_filters(a->operand, err) < 0 ? -1 : check_filters(a->else_expr, err);
}

/* ---- Name resolution ---------------------------------------------------------------------*/

static int check_qualifier(struct expr_compiler *c, const struct ast *col)
{
    struct query *q = c->ctx;
    if (q->join && col->qualifier && col->qualifier != query_key_marker && !join_has_qualifier(q->join, col->qualifier))
        return compile_fail(c, col, "unknown table \"%s\" in \"%s.%s\"", col->qualifier, col->qualifier, col->name);
    if (q->join)
        return 0;
    if (col->qualifier && col->qualifier != query_key_marker &&
        !(q->name && strcasecmp(col->qualifier, q->name) == 0) &&
        !(q->alias && strcasecmp(col->qualifier, q->alias) == 0))
        return compile_fail(c, col, "unknown table \"%s\" in \"%s.%s\"", col->qualifier, col->qualifier, col->name);
    return 0;
}

/* Input column of a reference, or -1 with err filled (with a suggestion). */
static int find_input_column(struct expr_compiler *c, const struct ast *col)
{
    struct query *q = c->ctx;
    if (q->join) {
        int i = join_find_column(q->join, col->qualifier == query_key_marker ? NULL : col->qualifier, col->name,
                                 col->quoted);
        if (i == -2)
            return compile_fail(c, col, "column \"%s\" is ambiguous: both sides of the join have it; qualify it",
                                col->name);
        if (i < 0)
            return compile_fail(c, col, "column \"%s\" not found in either side of the join", col->name);
        return i;
    }
    for (int i = 0; i < q->in.nfields; i++)
        if (query_name_matches(q->in.fields[i].name, col->name, col->quoted))
            return i;
    if (is_window_column(col->name) && q->window != WINDOW_NONE && !q->tvf)
        return compile_fail(c, col,
                            "column \"%s\" can only be used in the SELECT list and GROUP BY of a windowed aggregate",
                            col->name);
    const char *best = NULL;
    int best_d = 99;
    for (int i = 0; i < q->in.nfields; i++) {
        int d = functions_distance(col->name, q->in.fields[i].name);
        if (d < best_d) {
            best_d = d;
            best = q->in.fields[i].name;
        }
    }
    int limit = (int)strlen(col->name) / 3 + 1;
    if (best && best_d <= (limit > 3 ? 3 : limit) && best_d < (int)strlen(col->name))
        return compile_fail(c, col, "column \"%s\" not found; did you mean \"%s\"?", col->name, best);
    if (q->name)
        return compile_fail(c, col, "column \"%s\" not found in %s \"%s\"", col->name,
                            q->reads_source ? "stream" : "query", q->name);
    return compile_fail(c, col, "column \"%s\" not found in the subquery", col->name);
}

/* Columns a window table function adds after the input columns (without GROUP BY). */
static const char *const tvf_columns[] = {"window_start", "window_end", "window_time"};
#define TVF_NCOLUMNS 3

static void mark_needed(struct query *q, int col)
{
    if (q->needed)
        q->needed[col] = 1;
}

static int resolve_input_column(struct expr_compiler *c, const struct ast *col, int *index, enum value_type *type)
{
    struct query *q = c->ctx;
    if (col->qualifier == query_key_marker)
        return compile_fail(c, col, "an expression of GROUP BY cannot be used here");
    if (check_qualifier(c, col) < 0)
        return -1;
    for (int k = 0; q->tvf && k < TVF_NCOLUMNS; k++) {
        int shadowed = 0;
        for (int f = 0; f < q->in.nfields; f++)
            shadowed |= query_name_matches(q->in.fields[f].name, col->name, col->quoted);
        if (!shadowed && query_name_matches(tvf_columns[k], col->name, col->quoted)) {
            *index = q->in.nfields + k;
            *type = VT_TIMESTAMP;
            return 0;
        }
    }
    int i = find_input_column(c, col);
    if (i < 0)
        return -1;
    mark_needed(q, i);
    *index = i;
    *type = q->in.fields[i].type;
    return 0;
}

/* The position of the aggregates in the grouped row: keys, [window_start, window_end]. */
static int agg_base(const struct query *q) { return q->nkeys + (q->window != WINDOW_NONE ? 2 : 0); }

/* After grouping: a column is a GROUP BY key, or window_start/window_end. */
static int resolve_group_column(struct expr_compiler *c, const struct ast *col, int *index, enum value_type *type)
{
    struct query *q = c->ctx;
    if (col->qualifier == query_key_marker) {
        *index = (int)col->lit.u.i;
        *type = q->key_types[*index];
        return 0;
    }
    if (check_qualifier(c, col) < 0)
        return -1;
    if (q->window != WINDOW_NONE && is_window_column(col->name) && !col->quoted) {
        *index = q->nkeys + (strcasecmp(col->name, "window_end") == 0);
        *type = VT_TIMESTAMP;
        return 0;
    }
    int i = find_input_column(c, col);
    if (i < 0)
        return -1;
    for (int k = 0; k < q->nkeys; k++)
        if (q->key_cols[k] == i) {
            *index = k;
            *type = q->in.fields[i].type;
            return 0;
        }
    return compile_fail(c, col, "column \"%s\" must appear in GROUP BY or be used in an aggregate function", col->name);
}

/* Compiles a in the input scope of the block (aggregate arguments, FILTER conditions). */
static int compile_in_input_scope(struct expr_compiler *c, const struct ast *a, const char *clause, struct expr **out)
{
    struct expr_compiler inner = *c;
    inner.resolve_column = resolve_input_column;
    inner.resolve_aggregate = NULL;
    inner.clause = clause;
    int rc = expr_compile(&inner, a, out);
    c->cleanups = inner.cleanups;
    c->ncleanups = inner.ncleanups;
    c->capcleanups = inner.capcleanups;
    return rc;
}

static int compile_agg_filter(struct expr_compiler *c, const struct ast *call, struct agg_slot *slot)
{
    if (compile_in_input_scope(c, call->filter, "FILTER (WHERE ...)", &slot->filter) < 0)
        return -1;
    if (slot->filter->type != VT_BOOLEAN && slot->filter->type != VT_NULL)
        return compile_fail(c, call->filter, "FILTER must be a BOOLEAN condition, found %s",
                            value_type_name(slot->filter->type));
    if (!slot->arg) { /* COUNT(*) FILTER: counts a TRUE for each row that passes */
        struct ast t = {.kind = AST_LITERAL, .line = call->line, .column = call->column};
        t.lit.type = VT_BOOLEAN;
        t.lit.u.b = 1;
        if (expr_compile(c, &t, &slot->arg) < 0)
            return -1;
    }
    return 0;
}

static int check_agg_call(struct expr_compiler *c, const struct ast *call, const struct sql_function *f)
{
    struct query *q = c->ctx;
    if (f->agg == AGG_COUNT ? call->nargs > 1 : call->nargs != 1)
        return compile_fail(c, call, "function %s takes 1 argument, found %d", f->name, call->nargs);
    if (f->agg != AGG_COUNT && call->args[0]->kind == AST_STAR)
        return compile_fail(c, call->args[0], "\"*\" is only allowed in COUNT(*)");
    if (f->agg == AGG_COUNT && call->nargs == 0)
        return compile_fail(c, call, "COUNT needs an argument: use COUNT(*) to count rows");
    if (call->distinct && (f->agg != AGG_COUNT || call->args[0]->kind == AST_STAR))
        return compile_fail(c, call, "DISTINCT is only supported in COUNT(DISTINCT expression)");
    if (q->window == WINDOW_NONE && !group_agg_supported(f->agg))
        return compile_fail(c, call, "%s is not supported in a GROUP BY without a window", f->name);
    return 0;
}

/* Room for one more aggregate slot. Returns 0 or -1. */
static int agg_slot_reserve(struct expr_compiler *c, const struct ast *call)
{
    struct query *q = c->ctx;
    if (q->naggs == q->capaggs) {
        int cap = q->capaggs ? q->capaggs * 2 : 4;
        struct agg_slot *n = realloc(q->aggs, (size_t)cap * sizeof *n);
        if (!n)
            return compile_fail(c, call, "out of memory");
        q->aggs = n;
        q->capaggs = cap;
    }
    return 0;
}

/* A Lua aggregate (CREATE FUNCTION, udf.h) of one argument: its own Lua state, owned by the
 * plan through the compiler's cleanups; none when d is only declared (sql.h). */
static int resolve_udf_aggregate(struct expr_compiler *c, const struct ast *call, const struct sql_function_def *d,
                                 int *index, enum value_type *type)
{
    struct query *q = c->ctx;
    char msg[300];
    if (call->nargs != 1 || call->args[0]->kind == AST_STAR)
        return compile_fail(c, call, "aggregate function %s takes 1 argument, found %s", d->name,
                            call->nargs == 1   ? "*"
                            : call->nargs == 0 ? "none"
                                               : "more");
    if (call->distinct)
        return compile_fail(c, call, "DISTINCT is only supported in COUNT(DISTINCT expression)");
    struct agg_slot slot = {.kind = AGG_UDF, .result = d->returns, .line = call->line, .column = call->column};
    if (!d->declared && !(slot.udf = udf_new(d->name, d->source, d->returns, msg, sizeof msg)))
        return compile_fail(c, call, "%s", msg);
    if (slot.udf && expr_compiler_defer(c, udf_free_void, slot.udf) < 0) {
        udf_free(slot.udf);
        return compile_fail(c, call, "out of memory");
    }
    if (q->window == WINDOW_SESSION && !(slot.udf ? udf_has(slot.udf, "merge") : d->merge))
        return compile_fail(c, call, "aggregate function %s needs a merge function in a SESSION window", d->name);
    if (agg_slot_reserve(c, call) < 0 ||
        compile_in_input_scope(c, call->args[0], "an aggregate argument", &slot.arg) < 0)
        return -1;
    q->aggs[q->naggs] = slot;
    *index = agg_base(q) + q->naggs;
    *type = slot.result;
    q->naggs++;
    return 0;
}

static int resolve_aggregate(struct expr_compiler *c, const struct ast *call, int *index, enum value_type *type)
{
    struct query *q = c->ctx;
    const struct sql_function *f = functions_find(call->name);
    if (!f)
        return resolve_udf_aggregate(c, call, udf_find(c->udfs, c->nudfs, call->name), index, type);
    if (check_agg_call(c, call, f) < 0 || agg_slot_reserve(c, call) < 0)
        return -1;
    struct agg_slot slot = {.kind = f->agg, .distinct = call->distinct};
    if (call->args[0]->kind != AST_STAR) {
        if (compile_in_input_scope(c, call->args[0], "an aggregate argument", &slot.arg) < 0)
            return -1;
        enum value_type t = slot.arg->type;
        int numeric = f->agg == AGG_SUM || f->agg == AGG_AVG || f->agg == AGG_VAR_POP || f->agg == AGG_VAR_SAMP ||
                      f->agg == AGG_STDDEV_POP || f->agg == AGG_STDDEV_SAMP;
        if (numeric && t != VT_BIGINT && t != VT_DOUBLE && !value_is_decimal(t))
            return compile_fail(c, call->args[0], "type mismatch: %s needs a numeric argument, found %s", f->name,
                                value_type_name(t));
        if (t == VT_NULL && f->agg != AGG_COUNT)
            return compile_fail(c, call->args[0], "%s of an untyped NULL; use CAST(NULL AS type)", f->name);
    }
    slot.result = f->agg == AGG_COUNT ? VT_BIGINT : f->rule == RET_FIXED ? f->ret : slot.arg->type;
    if (f->agg == AGG_SUM || f->agg == AGG_AVG)
        slot.result = f->agg == AGG_SUM ? compile_sum_type(slot.result) : compile_avg_type(slot.result);
    if (call->filter && compile_agg_filter(c, call, &slot) < 0)
        return -1;
    q->aggs[q->naggs] = slot;
    *index = agg_base(q) + q->naggs;
    *type = slot.result;
    q->naggs++;
    return 0;
}

/* ---- Window table function ---------------------------------------------------------------*/

static int compile_window(struct query *q, const struct ast_select *sel, const struct query_env *env)
{
    struct sql_error *err = env->err;
    int col = -1;
    const char *what = q->reads_source ? "stream" : "query";
    for (int i = 0; i < q->in.nfields; i++)
        if (query_name_matches(q->in.fields[i].name, sel->descriptor, sel->descriptor_quoted))
            col = i;
    if (col < 0)
        return fail_tok(err, sel->descriptor_token, "column \"%s\" not found in %s \"%s\"", sel->descriptor, what,
                        q->name);
    if (q->in.fields[col].type != VT_TIMESTAMP)
        return fail_tok(err, sel->descriptor_token, "window column \"%s\" must be a TIMESTAMP(3), found %s",
                        sel->descriptor, value_type_name(q->in.fields[col].type));
    if (q->in.proctime_column == col + 1)
        q->proctime = 1; /* a processing-time window: the wall clock closes it, no watermark */
    else if (q->in.rowtime_field < 0 && !q->reads_source)
        return fail_tok(err, sel->descriptor_token,
                        "window column \"%s\" of %s%s%s%s is not an event-time column: only a column selected as "
                        "it is, without GROUP BY, keeps its stream's WATERMARK",
                        sel->descriptor, q->name ? "query \"" : "the subquery", q->name ? q->name : "",
                        q->name ? "\"" : "", "");
    else if (q->in.rowtime_field < 0)
        return fail_tok(err, sel->window_token,
                        "windowed query on %s \"%s\" needs a watermark; declare one such as "
                        "WATERMARK FOR %s AS %s - INTERVAL '5' SECOND",
                        what, q->name, q->in.fields[col].name, q->in.fields[col].name);
    else if (q->in.rowtime_field != col)
        return fail_tok(
            err, sel->descriptor_token,
            "window column \"%s\" is not the event-time column of %s \"%s\" (the one its WATERMARK is declared on)",
            sel->descriptor, what, q->name);
    q->window = sel->window;
    q->win_a = sel->window_a_ms;
    q->win_b = sel->window_b_ms;
    q->rowtime = col;
    mark_needed(q, col);
    if (sel->window == WINDOW_SESSION) {
        q->table.gap = q->win_a;
        q->bounds = calloc(1, sizeof *q->bounds);
        return q->bounds ? 0 : fail_at(err, 0, 0, "out of memory");
    }
    if (sel->window == WINDOW_HOP && q->win_b % q->win_a != 0)
        return fail_tok(err, sel->window_b_token, "HOP size must be a whole multiple of its slide");
    if (sel->window == WINDOW_CUMULATE && q->win_b % q->win_a != 0)
        return fail_tok(err, sel->window_b_token, "CUMULATE max size must be a whole multiple of its step");
    if (sel->window != WINDOW_TUMBLE && q->win_b / q->win_a > 10000)
        return fail_tok(err, sel->window_b_token, "window has too many slices (more than 10000)");
    q->bounds = calloc(sel->window == WINDOW_TUMBLE ? 1 : (size_t)(q->win_b / q->win_a), sizeof *q->bounds);
    return q->bounds ? 0 : fail_at(err, 0, 0, "out of memory");
}

/* ---- GROUP BY ----------------------------------------------------------------------------*/

/* SESSION ... PARTITION BY: each column must be a GROUP BY key; the keys are reordered so
 * that the partition columns come first (the window table's partition prefix). */
static int compile_partition_by(struct query *q, const struct ast_select *sel, const struct query_env *env)
{
    for (int i = 0; i < sel->npartition_by; i++) {
        const struct ast *col = sel->partition_by[i];
        int c = find_input_column(env->compiler, col), k = q->table.npart;
        if (c < 0)
            return -1;
        while (k < q->nkeys && q->key_cols[k] != c)
            k++;
        int seen = 0;
        for (int j = 0; j < q->table.npart; j++)
            seen |= q->key_cols[j] == c;
        if (seen)
            continue;
        if (k == q->nkeys)
            return fail_at(env->err, col->line, col->column,
                           "PARTITION BY column \"%s\" must also be a GROUP BY key of the SESSION window",
                           q->in.fields[c].name);
        int n = k - q->table.npart, at = q->table.npart;
        struct expr *e = q->key_exprs[k];
        const struct ast *a = q->key_asts[k];
        memmove(&q->key_cols[at + 1], &q->key_cols[at], (size_t)n * sizeof *q->key_cols);
        memmove(&q->key_exprs[at + 1], &q->key_exprs[at], (size_t)n * sizeof *q->key_exprs);
        memmove(&q->key_asts[at + 1], &q->key_asts[at], (size_t)n * sizeof *q->key_asts);
        q->key_cols[at] = c;
        q->key_exprs[at] = e;
        q->key_asts[at] = a;
        q->table.npart++;
    }
    return 0;
}

static int add_key(struct query *q, const struct ast *g, const struct query_env *env)
{
    struct expr_compiler *c = env->compiler;
    if (q->nkeys == MAX_GROUP_KEYS)
        return fail_at(env->err, g->line, g->column, "too many GROUP BY keys (more than %d)", MAX_GROUP_KEYS);
    struct expr *e;
    c->clause = "GROUP BY";
    if (compile_in_input_scope(c, g, "GROUP BY", &e) < 0)
        return -1;
    if (e->type == VT_NULL)
        return fail_at(env->err, g->line, g->column, "cannot group by an untyped NULL");
    int col = g->kind == AST_COLUMN && e->index < q->in.nfields ? e->index : -1;
    if (col >= 0)
        mark_needed(q, col);
    q->key_cols[q->nkeys] = col;
    q->key_exprs[q->nkeys] = e;
    q->key_asts[q->nkeys] = g;
    q->key_types[q->nkeys] = e->type;
    q->nkeys++;
    return 0;
}

/* keys: the GROUP BY list, or (SELECT DISTINCT) the SELECT list. */
static int compile_group_by(struct query *q, const struct ast_select *sel, const struct query_env *env)
{
    int has_start = 0, has_end = 0, n = sel->distinct ? sel->nitems : sel->ngroup_by;
    const struct token *at = sel->distinct ? sel->select_token : sel->group_by_token;
    q->key_cols = calloc((size_t)n + 1, sizeof *q->key_cols);
    q->key_exprs = calloc((size_t)n + 1, sizeof *q->key_exprs);
    q->key_asts = calloc((size_t)n + 1, sizeof *q->key_asts);
    q->key_types = calloc((size_t)n + 1, sizeof *q->key_types);
    if (!q->key_cols || !q->key_exprs || !q->key_asts || !q->key_types)
        return fail_at(env->err, 0, 0, "out of memory");
    for (int i = 0; i < n; i++) {
        const struct ast *g = sel->distinct ? sel->items[i].expr : sel->group_by[i];
        if (g->kind == AST_STAR)
            return fail_at(env->err, g->line, g->column, "SELECT DISTINCT * is not supported; list the columns");
        if (sel->distinct && ast_has_aggregate(env->compiler, g))
            return fail_at(env->err, g->line, g->column, "SELECT DISTINCT with aggregates is not supported");
        if (q->window != WINDOW_NONE && q->window != WINDOW_GIVEN && g->kind == AST_COLUMN &&
            is_window_column(g->name) && !g->quoted) {
            has_start |= strcasecmp(g->name, "window_start") == 0;
            has_end |= strcasecmp(g->name, "window_end") == 0;
            continue;
        }
        if (add_key(q, g, env) < 0)
            return -1;
    }
    if (q->window == WINDOW_NONE || q->window == WINDOW_GIVEN)
        return 0; /* a given window's columns are keys too */
    if (!has_start || !has_end)
        return fail_tok(env->err, at, "a windowed GROUP BY must list both window_start and window_end");
    return q->window == WINDOW_SESSION ? compile_partition_by(q, sel, env) : 0;
}

/* ---- SELECT list -------------------------------------------------------------------------*/

/* Output column names: alias, column name, or EXPR$n. */
static int output_name(const struct ast_select_item *it, int pos, const struct query *q, int col, struct arena *arena,
                       const char **out)
{
    char buf[32];
    const char *n = it->alias;
    if (!n && it->expr->kind == AST_COLUMN)
        n = col >= 0 ? q->in.fields[col].name : it->expr->name;
    if (!n) {
        snprintf(buf, sizeof buf, "EXPR$%d", pos);
        n = buf;
    }
    *out = arena_strndup(arena, n, strlen(n));
    return *out ? 0 : -1;
}

static void add_output(struct query *q, struct expr *e, const char *name, int cap)
{
    if (q->nitems == cap)
        return;
    q->items[q->nitems] = e;
    q->out.fields[q->nitems].name = (char *)name;
    q->out.fields[q->nitems].type = e->type;
    q->out.nfields = ++q->nitems;
}

/* A plain column that is the input's event-time column keeps it in the output. */
static void pass_rowtime(struct query *q, const struct ast *a, const struct expr *e, int grouped)
{
    if (!grouped && a->kind == AST_COLUMN && q->out.rowtime_field < 0 && q->in.rowtime_field >= 0 &&
        e->index == q->in.rowtime_field) {
        q->out.rowtime_field = q->nitems;
        q->out.watermark_delay_ms = q->in.watermark_delay_ms;
    }
}

/* PROCTIME() as a whole column, or a plain column that is a processing-time attribute of the
 * input, makes the output column (the last added) one. */
static void pass_proctime(struct query *q, const struct ast *a, const struct expr *e, int grouped)
{
    if (grouped || q->out.proctime_column > 0)
        return;
    if ((a->kind == AST_FUNC && strcasecmp(a->name, "PROCTIME") == 0) ||
        (a->kind == AST_COLUMN && q->in.proctime_column > 0 && e->index == q->in.proctime_column - 1))
        q->out.proctime_column = q->nitems;
}

static int compile_star(struct query *q, const struct ast_select_item *it, int pos, int cap,
                        const struct query_env *env)
{
    int nstar = q->in.nfields + (q->tvf ? TVF_NCOLUMNS : 0);
    const char *qual = it->expr->qualifier; /* alias.*: the columns of that side of a join */
    if (qual &&
        !(q->join ? join_has_qualifier(q->join, qual)
                  : (q->name && strcasecmp(qual, q->name) == 0) || (q->alias && strcasecmp(qual, q->alias) == 0)))
        return fail_at(env->err, it->expr->line, it->expr->column, "unknown table \"%s\" in \"%s.*\"", qual, qual);
    for (int f = 0; f < nstar; f++) {
        const char *fname = f < q->in.nfields ? q->in.fields[f].name : tvf_columns[f - q->in.nfields];
        if (strncmp(fname, "$over", 5) == 0)
            continue; /* the OVER aggregates' values (query_match_over): the calls name them */
        struct ast col = {
            .kind = AST_COLUMN, .name = fname, .quoted = 1, .line = it->expr->line, .column = it->expr->column};
        if (q->join) { /* each column by its side's name: both sides may have one of that name */
            if (qual && !(q->join->quals[f] && strcasecmp(q->join->quals[f], qual) == 0))
                continue;
            col.qualifier = q->join->quals[f];
        }
        struct expr *e;
        const char *name;
        if (expr_compile(env->compiler, &col, &e) < 0 || output_name(&(struct ast_select_item){.expr = &col}, pos, q,
                                                                     f < q->in.nfields ? f : -1, env->arena, &name) < 0)
            return -1;
        pass_rowtime(q, &col, e, 0);
        add_output(q, e, name, cap);
        pass_proctime(q, &col, e, 0);
    }
    return 0;
}

static int compile_select(struct query *q, const struct ast_select *sel, int grouped, const struct query_env *env)
{
    int cap = 0;
    int nstar = q->in.nfields + (q->tvf ? TVF_NCOLUMNS : 0);
    struct sql_error *err = env->err;
    for (int i = 0; i < sel->nitems; i++)
        cap += sel->items[i].expr->kind == AST_STAR ? nstar : 1;
    q->items = calloc((size_t)cap + 1, sizeof *q->items);
    q->out.fields = arena_alloc(env->arena, ((size_t)cap + 1) * sizeof *q->out.fields);
    q->outrow = calloc((size_t)cap + 1, sizeof *q->outrow);
    q->out.rowtime_field = -1;
    q->out.proctime_column = 0;
    if (!q->items || !q->out.fields || !q->outrow)
        return fail_at(err, 0, 0, "out of memory");
    struct expr_compiler *c = env->compiler;
    c->resolve_column = grouped ? resolve_group_column : resolve_input_column;
    c->resolve_aggregate = grouped ? resolve_aggregate : NULL;
    c->clause = "the SELECT list of a query without GROUP BY";
    for (int i = 0; i < sel->nitems; i++) {
        const struct ast_select_item *it = &sel->items[i];
        const char *name;
        if (it->expr->kind == AST_STAR) {
            if (grouped)
                return fail_at(err, it->expr->line, it->expr->column,
                               "SELECT * is not allowed with GROUP BY; list the keys and aggregates");
            if (compile_star(q, it, i, cap, env) < 0)
                return -1;
            continue;
        }
        struct expr *e;
        const struct ast *a = grouped ? ast_rewrite_keys(q, env->arena, it->expr) : it->expr;
        if (!a)
            return fail_at(err, 0, 0, "out of memory");
        c->allow_proctime = !grouped && a->kind == AST_FUNC && !a->over && strcasecmp(a->name, "PROCTIME") == 0;
        int rc = expr_compile(c, a, &e);
        c->allow_proctime = 0;
        if (rc < 0)
            return -1;
        if (e->type == VT_NULL)
            return fail_at(err, it->expr->line, it->expr->column,
                           "cannot select an untyped NULL; use CAST(NULL AS type)");
        int col = -1;
        if (a->kind == AST_COLUMN && a->qualifier != query_key_marker && !grouped && e->index < q->in.nfields)
            col = e->index;
        else if (a->kind == AST_COLUMN && a->qualifier != query_key_marker && e->index < q->nkeys)
            col = q->key_cols[e->index];
        if (output_name(it, i, q, col, env->arena, &name) < 0)
            return fail_at(err, 0, 0, "out of memory");
        pass_rowtime(q, a, e, grouped);
        add_output(q, e, name, cap);
        pass_proctime(q, a, e, grouped);
    }
    return 0;
}

/* WHERE / HAVING: a BOOLEAN expression in the compiler's current scope. */
static int compile_condition(struct query *q, const struct ast *a, const char *clause, struct expr **out,
                             const struct query_env *env)
{
    struct expr_compiler *c = env->compiler;
    c->clause = clause;
    if (strcmp(clause, "HAVING") == 0 && !(a = ast_rewrite_keys(q, env->arena, a)))
        return fail_at(env->err, 0, 0, "out of memory");
    if (expr_compile(c, a, out) < 0)
        return -1;
    const struct ast *start = a; /* point at where the condition starts, not at its operator */
    while ((start->kind == AST_BINARY || start->kind == AST_IS_NULL || start->kind == AST_LIKE ||
            start->kind == AST_IN || start->kind == AST_BETWEEN) &&
           start->nargs > 0)
        start = start->args[0];
    if ((*out)->type != VT_BOOLEAN && (*out)->type != VT_NULL)
        return fail_at(env->err, start->line, start->column, "%s must be a BOOLEAN condition, found %s", clause,
                       value_type_name((*out)->type));
    return 0;
}

/* ---- The block ---------------------------------------------------------------------------*/

/* An OVER window left in a block (not the Top-N / deduplication pattern plan.c takes). */
static int check_over(const struct ast *a, struct sql_error *err)
{
    if (!a)
        return 0;
    if (a->kind == AST_FUNC && a->over) {
        if (strcasecmp(a->name, "RANK") == 0 || strcasecmp(a->name, "DENSE_RANK") == 0)
            return fail_at(err, a->line, a->column, "%s() is not supported; use ROW_NUMBER()", a->name);
        if (strcasecmp(a->name, "ROW_NUMBER") == 0)
            return fail_at(err, a->line, a->column,
                           "ROW_NUMBER() is not supported here: write Top-N or deduplication as SELECT ... FROM "
                           "(SELECT ..., ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...) AS rn FROM ...) WHERE rn "
                           "<= N");
        return fail_at(err, a->over->line, a->over->column, "OVER is only supported in the SELECT list");
    }
    for (int i = 0; i < a->nargs; i++)
        if (check_over(a->args[i], err) < 0)
            return -1;
    return check_over(a->operand, err) < 0 || check_over(a->else_expr, err) < 0 ? -1 : check_over(a->filter, err);
}

static int check_shape(const struct ast_select *sel, struct sql_error *err)
{
    for (int i = 0; i < sel->nitems; i++)
        if (check_over(sel->items[i].expr, err) < 0)
            return -1;
    for (int i = 0; i < sel->ngroup_by; i++)
        if (check_over(sel->group_by[i], err) < 0)
            return -1;
    if (check_over(sel->where, err) < 0 || check_over(sel->having, err) < 0)
        return -1;
    for (int i = 0; i < sel->nitems; i++)
        if (check_filters(sel->items[i].expr, err) < 0)
            return -1;
    if (check_filters(sel->where, err) < 0 || check_filters(sel->having, err) < 0)
        return -1;
    if (sel->distinct && (sel->ngroup_by || sel->having))
        return fail_tok(err, sel->select_token, "SELECT DISTINCT with GROUP BY or HAVING is not supported");
    if (sel->distinct && sel->window != WINDOW_NONE)
        return fail_tok(err, sel->select_token, "SELECT DISTINCT over a window table function is not supported");
    return 0;
}

/* A GROUP BY (no window function) that lists the input's window_start and window_end
 * columns as they are: a window aggregate over the windows they give. */
static void find_given_window(struct query *q, const struct ast_select *sel, const struct query_env *env)
{
    int has_start = 0, has_end = 0;
    if (sel->window != WINDOW_NONE || sel->distinct || env->win_start_col < 0 || env->win_end_col < 0)
        return;
    for (int i = 0; i < sel->ngroup_by; i++) {
        const struct ast *g = sel->group_by[i];
        if (g->kind != AST_COLUMN)
            continue;
        int col = -1;
        for (int f = 0; f < q->in.nfields && col < 0; f++)
            if (query_name_matches(q->in.fields[f].name, g->name, g->quoted))
                col = f;
        has_start |= col == env->win_start_col;
        has_end |= col == env->win_end_col;
    }
    if (has_start && has_end) {
        q->window = WINDOW_GIVEN;
        q->given_start = env->win_start_col;
        q->given_end = env->win_end_col;
        mark_needed(q, q->given_start);
        mark_needed(q, q->given_end);
    }
}

static int compile_grouped(struct query *q, const struct ast_select *sel, const struct query_env *env)
{
    find_given_window(q, sel, env);
    if (q->window != WINDOW_NONE && sel->ngroup_by == 0)
        return fail_at(env->err, sel->items[0].expr->line, sel->items[0].expr->column,
                       "aggregates over a window table function need GROUP BY window_start, window_end");
    q->op.kind = q->window != WINDOW_NONE ? OP_WINDOW_AGG : OP_GROUP_AGG;
    return compile_group_by(q, sel, env);
}

int query_compile(struct query *q, const struct ast_select *sel, const struct schema *in, const struct query_env *env)
{
    struct sql_error *err = env->err;
    struct expr_compiler *c = env->compiler;
    q->in = *in;
    q->rowtime = -1;
    q->needed = env->needed;
    q->op.kind = OP_CALC;
    c->ctx = q;
    if (check_shape(sel, err) < 0)
        return -1;
    int grouped = sel->ngroup_by > 0 || sel->having || sel->distinct;
    for (int i = 0; i < sel->nitems && !grouped; i++)
        grouped = ast_has_aggregate(c, sel->items[i].expr);
    if (sel->window != WINDOW_NONE && compile_window(q, sel, env) < 0)
        return -1;
    q->tvf = q->window != WINDOW_NONE && !grouped;
    if (q->tvf && q->window == WINDOW_SESSION)
        return fail_tok(err, sel->window_token,
                        "a SESSION window needs GROUP BY window_start, window_end (a session's bounds are known only "
                        "when it closes)");
    if (q->tvf) {
        q->op.kind = OP_WINDOW_TVF;
        if (!(q->tvfrow = calloc((size_t)q->in.nfields + TVF_NCOLUMNS, sizeof *q->tvfrow)))
            return fail_at(err, 0, 0, "out of memory");
    }
    c->resolve_column = resolve_input_column;
    c->resolve_aggregate = NULL;
    if (sel->where && compile_condition(q, sel->where, "WHERE", &q->where, env) < 0)
        return -1;
    if (grouped && compile_grouped(q, sel, env) < 0)
        return -1;
    if (compile_select(q, sel, grouped, env) < 0)
        return -1;
    if (sel->having && compile_condition(q, sel->having, "HAVING", &q->having, env) < 0)
        return -1;
    free(q->key_asts); /* they live in the parser's arena */
    q->key_asts = NULL;
    if (grouped) {
        int width = agg_base(q) + q->naggs;
        q->aggargs = calloc((size_t)q->naggs + 1, sizeof *q->aggargs);
        q->postrow = calloc((size_t)width + 1, sizeof *q->postrow);
        q->prevrow = calloc((size_t)width + 1, sizeof *q->prevrow);
        if (!q->aggargs || !q->postrow || !q->prevrow)
            return fail_at(err, 0, 0, "out of memory");
    }
    q->table.nkeys = q->groups.nkeys = q->nkeys;
    q->table.key_types = q->groups.key_types = q->key_types;
    q->table.naggs = q->groups.naggs = q->naggs;
    q->table.aggs = q->groups.aggs = q->aggs;
    return 0;
}

void query_release(struct query *q)
{
    window_table_clear(&q->table);
    group_table_clear(&q->groups);
    free(q->items);
    free(q->outrow);
    free(q->key_cols);
    free(q->key_exprs);
    free(q->key_asts);
    free(q->key_types);
    free(q->aggs);
    free(q->aggargs);
    free(q->postrow);
    free(q->prevrow);
    free(q->bounds);
    free(q->tvfrow);
}

/* ---- Top-N and deduplication: the pattern around ROW_NUMBER() ---------------------------*/

static int is_rn_column(const struct ast *a, const struct rank_match *m)
{
    return a && a->kind == AST_COLUMN && !a->qualifier && query_name_matches(m->rn_name, a->name, a->quoted);
}

/* 1 when a reads column rn anywhere. */
static int ast_reads_rn(const struct ast *a, const struct rank_match *m)
{
    if (!a)
        return 0;
    if (is_rn_column(a, m))
        return 1;
    for (int i = 0; i < a->nargs; i++)
        if (ast_reads_rn(a->args[i], m))
            return 1;
    return ast_reads_rn(a->operand, m) || ast_reads_rn(a->else_expr, m) || ast_reads_rn(a->filter, m);
}

/* A conjunct rn <= N, rn < N or rn = N narrows the ranks kept: 1; anything else 0. */
static int rn_bound(const struct ast *a, struct rank_match *m)
{
    if (a->kind != AST_BINARY || a->nargs != 2 || !is_rn_column(a->args[0], m) || a->args[1]->kind != AST_LITERAL ||
        a->args[1]->lit.type != VT_BIGINT)
        return 0;
    int64_t n = a->args[1]->lit.u.i;
    m->bound_at = a->args[0];
    if (a->op == AST_OP_LE)
        m->limit = m->limit < n ? m->limit : n;
    else if (a->op == AST_OP_LT)
        m->limit = m->limit < n - 1 ? m->limit : n - 1;
    else if (a->op == AST_OP_EQ) {
        m->limit = m->limit < n ? m->limit : n;
        m->rank_start = m->rank_start > n ? m->rank_start : n;
    } else
        return 0;
    return 1;
}

/* Splits the outer WHERE into rn bounds and the rest (joined again with AND). Returns 1 when a
 * bound was found, 0 when not, -1 when out of memory. */
static int split_where(const struct ast *a, struct arena *arena, struct rank_match *m, int *bounds)
{
    if (a->kind == AST_BINARY && a->op == AST_OP_AND && a->nargs == 2)
        return split_where(a->args[0], arena, m, bounds) < 0 ? -1 : split_where(a->args[1], arena, m, bounds);
    if (rn_bound(a, m)) {
        (*bounds)++;
        return 0;
    }
    if (!m->outer_where) {
        m->outer_where = (struct ast *)a;
        return 0;
    }
    struct ast *and = arena_alloc(arena, sizeof *and);
    struct ast **args = arena_alloc(arena, 2 * sizeof *args);
    if (!and || !args)
        return -1;
    memset(and, 0, sizeof *and);
    *and = (struct ast){.kind = AST_BINARY, .op = AST_OP_AND, .line = a->line, .column = a->column};
    args[0] = m->outer_where;
    args[1] = (struct ast *)a;
    and->args = args;
    and->nargs = 2;
    m->outer_where = and;
    return 0;
}

/* The ROW_NUMBER() item of a plain (not grouped, not windowed) block, or -1. */
static int find_row_number(const struct ast_select *inner)
{
    if (inner->ngroup_by || inner->having || inner->distinct)
        return -1; /* a window table function is fine: window Top-N over its rows */
    for (int i = 0; i < inner->nitems; i++) {
        const struct ast *a = inner->items[i].expr;
        if (a->kind == AST_FUNC && a->over && strcasecmp(a->name, "ROW_NUMBER") == 0 && inner->items[i].alias &&
            a->over->norder_by > 0 && a->over->frame == AST_FRAME_NONE)
            return i;
    }
    return -1;
}

int query_match_rank(const struct ast_select *sel, struct arena *arena, struct rank_match *m, struct sql_error *err)
{
    memset(m, 0, sizeof *m);
    if (!sel->subquery || sel->subquery->nselects != 1 || !sel->where)
        return 0;
    m->inner = sel->subquery->selects[0];
    if ((m->rn_item = find_row_number(m->inner)) < 0)
        return 0;
    m->call = m->inner->items[m->rn_item].expr;
    m->rn_name = m->inner->items[m->rn_item].alias;
    m->rn_quoted = m->inner->items[m->rn_item].alias_quoted;
    m->rank_start = 1;
    m->limit = INT64_MAX;
    int bounds = 0;
    if (split_where(sel->where, arena, m, &bounds) < 0)
        return fail_at(err, 0, 0, "out of memory");
    if (!bounds || ast_reads_rn(m->outer_where, m))
        return 0;
    if (m->limit < 1 || m->rank_start > m->limit)
        return fail_at(err, m->bound_at->line, m->bound_at->column,
                       "the condition on \"%s\" keeps no row (ROW_NUMBER() starts at 1)", m->rn_name);
    for (int i = 0; i < sel->nitems && !m->output_rank; i++)
        m->output_rank = sel->items[i].expr->kind == AST_STAR || ast_reads_rn(sel->items[i].expr, m);
    for (int i = 0; i < sel->ngroup_by && !m->output_rank; i++)
        m->output_rank = ast_reads_rn(sel->group_by[i], m);
    if (!m->output_rank)
        m->output_rank = ast_reads_rn(sel->having, m);
    return 1;
}

/* ---- OVER aggregates: the calls of a block ----------------------------------------------*/

static int is_over_aggregate(const struct ast *a)
{
    if (a->kind != AST_FUNC || !a->over)
        return 0;
    const struct sql_function *f = functions_find(a->name);
    return f && f->agg != AGG_NONE;
}

static int same_expr_name(const struct ast *a, const struct ast *b)
{
    if (a->kind != AST_COLUMN || b->kind != AST_COLUMN)
        return ast_equal(a, b);
    return strcasecmp(a->name, b->name) == 0;
}

static int same_window(const struct ast_over *a, const struct ast_over *b)
{
    if (a->npartition_by != b->npartition_by || a->norder_by != b->norder_by || a->frame != b->frame ||
        a->unbounded != b->unbounded || a->preceding != b->preceding)
        return 0;
    for (int i = 0; i < a->npartition_by; i++)
        if (!same_expr_name(a->partition_by[i], b->partition_by[i]))
            return 0;
    for (int i = 0; i < a->norder_by; i++)
        if (!same_expr_name(a->order_by[i].expr, b->order_by[i].expr) || a->order_by[i].desc != b->order_by[i].desc)
            return 0;
    return 1;
}

/* a with its OVER aggregate calls replaced by "$over<i>" columns (copies where something
 * changed); NULL with err filled on failure. */
static const struct ast *rewrite_over(const struct ast *a, struct arena *arena, struct over_match *m,
                                      struct sql_error *err)
{
    if (!a)
        return NULL;
    if (is_over_aggregate(a)) {
        if (m->ncalls == QUERY_MAX_OVER)
            return fail_at(err, a->line, a->column, "too many OVER aggregates (at most %d)", QUERY_MAX_OVER), NULL;
        if (m->win && !same_window(m->win, a->over))
            return fail_at(err, a->over->line, a->over->column,
                           "OVER windows that differ in one query are not supported; use one window"),
                   NULL;
        m->win = a->over;
        char name[32];
        snprintf(name, sizeof name, "$over%d", m->ncalls);
        struct ast *c = arena_alloc(arena, sizeof *c);
        if (!c || !(c->name = arena_strndup(arena, name, strlen(name))))
            return fail_at(err, 0, 0, "out of memory"), NULL;
        const char *n = c->name;
        memset(c, 0, sizeof *c);
        *c = (struct ast){.kind = AST_COLUMN, .line = a->line, .column = a->column, .name = n, .quoted = 1};
        m->calls[m->ncalls++] = a;
        return c;
    }
    struct ast *copy = arena_alloc(arena, sizeof *copy);
    struct ast **args = a->nargs ? arena_alloc(arena, (size_t)a->nargs * sizeof *args) : NULL;
    if (!copy || (a->nargs && !args))
        return fail_at(err, 0, 0, "out of memory"), NULL;
    *copy = *a;
    for (int i = 0; i < a->nargs; i++)
        if (!(args[i] = (struct ast *)rewrite_over(a->args[i], arena, m, err)))
            return NULL;
    copy->args = args;
    if ((a->operand && !(copy->operand = (struct ast *)rewrite_over(a->operand, arena, m, err))) ||
        (a->else_expr && !(copy->else_expr = (struct ast *)rewrite_over(a->else_expr, arena, m, err))))
        return NULL;
    return copy;
}

static int has_over_aggregate(const struct ast *a)
{
    if (!a)
        return 0;
    if (is_over_aggregate(a))
        return 1;
    for (int i = 0; i < a->nargs; i++)
        if (has_over_aggregate(a->args[i]))
            return 1;
    return has_over_aggregate(a->operand) || has_over_aggregate(a->else_expr);
}

int query_match_over(const struct ast_select *sel, struct arena *arena, struct over_match *m, struct sql_error *err)
{
    memset(m, 0, sizeof *m);
    const struct ast *first = NULL;
    for (int i = 0; i < sel->nitems && !first; i++)
        if (has_over_aggregate(sel->items[i].expr))
            first = sel->items[i].expr;
    if (!first)
        return 0;
    if (sel->ngroup_by || sel->having || sel->distinct || sel->window != WINDOW_NONE)
        return fail_at(err, first->line, first->column,
                       "OVER aggregates with GROUP BY, HAVING, DISTINCT or a window table function are not supported");
    if (!(m->items = arena_alloc(arena, (size_t)sel->nitems * sizeof *m->items)))
        return fail_at(err, 0, 0, "out of memory");
    for (int i = 0; i < sel->nitems; i++) {
        const struct ast *a = sel->items[i].expr;
        m->items[i] = sel->items[i];
        if (!has_over_aggregate(a))
            continue;
        if (!(m->items[i].expr = (struct ast *)rewrite_over(a, arena, m, err)))
            return -1;
        if (!m->items[i].alias && is_over_aggregate(a)) {
            char name[32];
            snprintf(name, sizeof name, "EXPR$%d", i);
            if (!(m->items[i].alias = arena_strndup(arena, name, strlen(name))))
                return fail_at(err, 0, 0, "out of memory");
        }
    }
    return 1;
}
