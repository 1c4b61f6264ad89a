/* group_window.c — Flink's legacy group windows rewritten into window table functions (see
 * group_window.h). */
#include "dataplane/sql/group_window.h"

#include <string.h>
#include <strings.h>

#include "common/arena.h"

static const struct {
    const char *name;
    enum window_kind kind;
    int nintervals;
} group_windows[] = {
    {"TUMBLE", WINDOW_TUMBLE, 1},
    {"HOP", WINDOW_HOP, 2},
    {"SESSION", WINDOW_SESSION, 1},
};
#define NGROUP_WINDOWS (sizeof group_windows / sizeof group_windows[0])

struct rewrite {
    struct arena *arena;
    struct sql_error *err;
    const struct ast *call; /* the group window of the block */
    int w;                  /* its row of group_windows */
};

/* Row of group_windows named by a (an AST_FUNC without OVER), or -1. */
static int window_row(const struct ast *a)
{
    if (a->kind != AST_FUNC || a->over)
        return -1;
    for (size_t i = 0; i < NGROUP_WINDOWS; i++)
        if (strcasecmp(a->name, group_windows[i].name) == 0)
            return (int)i;
    return -1;
}

/* X_START / X_END / X_ROWTIME / X_PROCTIME of a group window: its row, and which (0..3). */
static int auxiliary_row(const struct ast *a, int *which)
{
    static const char *const suffixes[] = {"_START", "_END", "_ROWTIME", "_PROCTIME"};
    if (a->kind != AST_FUNC || a->over)
        return -1;
    for (size_t i = 0; i < NGROUP_WINDOWS; i++) {
        size_t n = strlen(group_windows[i].name);
        if (strncasecmp(a->name, group_windows[i].name, n) != 0)
            continue;
        for (int k = 0; k < 4; k++)
            if (strcasecmp(a->name + n, suffixes[k]) == 0) {
                *which = k;
                return (int)i;
            }
    }
    return -1;
}

static struct ast *new_node(struct rewrite *r, enum ast_kind kind, const struct ast *at)
{
    struct ast *a = arena_alloc(r->arena, sizeof *a);
    if (!a)
        return NULL;
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->line = at->line;
    a->column = at->column;
    return a;
}

static struct ast *new_column(struct rewrite *r, const char *name, const struct ast *at)
{
    struct ast *a = new_node(r, AST_COLUMN, at);
    if (a)
        a->name = name;
    return a;
}

static const struct token *new_token(struct rewrite *r, const struct ast *at, const char *text)
{
    struct token *t = arena_alloc(r->arena, sizeof *t);
    if (!t)
        return NULL;
    memset(t, 0, sizeof *t);
    t->kind = TK_IDENT;
    t->text = text;
    t->line = at->line;
    t->column = at->column;
    return t;
}

/* The arguments of a group window or of one of its auxiliary functions: a time column, then
 * its intervals. */
static int check_args(struct rewrite *r, const struct ast *a, int w)
{
    int n = group_windows[w].nintervals;
    if (a->nargs != n + 1)
        return sql_error_at(r->err, a->line, a->column, "%s needs %d arguments: a time column and %s", a->name, n + 1,
                            n == 1 ? "an interval" : "two intervals");
    if (a->args[0]->kind != AST_COLUMN)
        return sql_error_at(r->err, a->args[0]->line, a->args[0]->column,
                            "the first argument of %s must be a time column", a->name);
    for (int i = 1; i <= n; i++)
        if (a->args[i]->kind != AST_INTERVAL)
            return sql_error_at(r->err, a->args[i]->line, a->args[i]->column,
                                "argument %d of %s must be an INTERVAL literal", i + 1, a->name);
    return 0;
}

/* An auxiliary call must name the block's group window with the same arguments. */
static int check_auxiliary(struct rewrite *r, const struct ast *a, int w)
{
    if (check_args(r, a, w) < 0)
        return -1;
    const struct ast *g = r->call;
    int same = g && w == r->w && strcasecmp(a->args[0]->name, g->args[0]->name) == 0;
    for (int i = 1; same && i < a->nargs; i++)
        same = a->args[i]->lit.u.i == g->args[i]->lit.u.i;
    if (!g)
        return sql_error_at(r->err, a->line, a->column, "%s needs a %s(...) group window in GROUP BY", a->name,
                            group_windows[w].name);
    if (!same)
        return sql_error_at(r->err, a->line, a->column,
                            "%s must name the GROUP BY's group window %s with the same arguments", a->name,
                            r->call->name);
    return 0;
}

/* X_START -> window_start, X_END -> window_end, X_ROWTIME -> window_end - 1 ms. */
static struct ast *auxiliary_node(struct rewrite *r, const struct ast *a, int which)
{
    if (which == 0 || which == 1)
        return new_column(r, which == 0 ? "window_start" : "window_end", a);
    struct ast *sub = new_node(r, AST_BINARY, a), *one = new_node(r, AST_INTERVAL, a);
    struct ast **args = arena_alloc(r->arena, 2 * sizeof *args);
    if (!sub || !one || !args || !(args[0] = new_column(r, "window_end", a)))
        return NULL;
    one->lit.type = VT_BIGINT;
    one->lit.u.i = 1;
    args[1] = one;
    sub->op = AST_OP_SUB;
    sub->args = args;
    sub->nargs = 2;
    return sub;
}

/* Replaces the auxiliary calls in *slot (recursively). */
static int rewrite_expr(struct rewrite *r, struct ast **slot)
{
    struct ast *a = *slot;
    if (!a)
        return 0;
    int which, w = auxiliary_row(a, &which);
    if (w >= 0) {
        if (check_auxiliary(r, a, w) < 0)
            return -1;
        if (which == 3)
            return sql_error_at(r->err, a->line, a->column, "%s is not supported: group windows run on event time",
                                a->name);
        if (!(*slot = auxiliary_node(r, a, which)))
            return sql_error_at(r->err, 0, 0, "out of memory");
        return 0;
    }
    if (window_row(a) >= 0)
        return sql_error_at(r->err, a->line, a->column, "group window %s(...) is only allowed in GROUP BY", a->name);
    for (int i = 0; i < a->nargs; i++)
        if (rewrite_expr(r, &a->args[i]) < 0)
            return -1;
    if (rewrite_expr(r, &a->operand) < 0 || rewrite_expr(r, &a->else_expr) < 0 || rewrite_expr(r, &a->filter) < 0)
        return -1;
    return 0;
}

/* SESSION: every other GROUP BY key is a partition column. */
static int session_partition(struct rewrite *r, struct ast_select *sel)
{
    sel->partition_by = arena_alloc(r->arena, (size_t)sel->ngroup_by * sizeof *sel->partition_by);
    if (!sel->partition_by)
        return sql_error_at(r->err, 0, 0, "out of memory");
    sel->npartition_by = 0;
    for (int i = 0; i < sel->ngroup_by; i++) {
        struct ast *g = sel->group_by[i];
        if (g == r->call)
            continue;
        if (g->kind != AST_COLUMN)
            return sql_error_at(r->err, g->line, g->column,
                                "a GROUP BY key beside a SESSION group window must be a column");
        sel->partition_by[sel->npartition_by++] = g;
    }
    sel->partition_token = sel->window_token;
    return 0;
}

/* The block's FROM becomes TABLE(X(TABLE source, DESCRIPTOR(ts), intervals)). */
static int set_window(struct rewrite *r, struct ast_select *sel)
{
    const struct ast *g = r->call;
    if (sel->window != WINDOW_NONE || sel->join)
        return sql_error_at(r->err, g->line, g->column,
                            "group window %s(...) needs a stream, view, WITH query or subquery in FROM (not a %s)",
                            g->name, sel->join ? "join" : "window table function");
    sel->window = group_windows[r->w].kind;
    sel->window_token = new_token(r, g, g->name);
    sel->descriptor_token = new_token(r, g->args[0], g->args[0]->name);
    sel->window_a_token = new_token(r, g->args[1], "INTERVAL");
    sel->window_b_token = g->nargs > 2 ? new_token(r, g->args[2], "INTERVAL") : NULL;
    if (!sel->window_token || !sel->descriptor_token || !sel->window_a_token || (g->nargs > 2 && !sel->window_b_token))
        return sql_error_at(r->err, 0, 0, "out of memory");
    sel->descriptor = g->args[0]->name;
    sel->descriptor_quoted = g->args[0]->quoted;
    sel->window_a_ms = g->args[1]->lit.u.i;
    sel->window_b_ms = g->nargs > 2 ? g->args[2]->lit.u.i : 0;
    return sel->window == WINDOW_SESSION ? session_partition(r, sel) : 0;
}

/* GROUP BY ..., X(...), ... -> GROUP BY ..., window_start, window_end. */
static int replace_group_key(struct rewrite *r, struct ast_select *sel)
{
    struct ast **keys = arena_alloc(r->arena, (size_t)(sel->ngroup_by + 1) * sizeof *keys);
    if (!keys)
        return sql_error_at(r->err, 0, 0, "out of memory");
    int n = 0;
    for (int i = 0; i < sel->ngroup_by; i++) {
        if (sel->group_by[i] != r->call) {
            keys[n++] = sel->group_by[i];
            continue;
        }
        if (!(keys[n++] = new_column(r, "window_start", r->call)) ||
            !(keys[n++] = new_column(r, "window_end", r->call)))
            return sql_error_at(r->err, 0, 0, "out of memory");
    }
    sel->group_by = keys;
    sel->ngroup_by = n;
    return 0;
}

static int find_group_window(struct rewrite *r, const struct ast_select *sel)
{
    r->call = NULL;
    r->w = -1;
    for (int i = 0; i < sel->ngroup_by; i++) {
        int w = window_row(sel->group_by[i]);
        if (w < 0)
            continue;
        if (r->call)
            return sql_error_at(r->err, sel->group_by[i]->line, sel->group_by[i]->column,
                                "GROUP BY has more than one group window");
        r->call = sel->group_by[i];
        r->w = w;
        if (check_args(r, r->call, w) < 0)
            return -1;
    }
    return 0;
}

static int rewrite_query(struct rewrite *r, struct ast_query *q);

static int rewrite_select(struct rewrite *r, struct ast_select *sel)
{
    if (sel->subquery && rewrite_query(r, sel->subquery) < 0)
        return -1;
    if (sel->join && (rewrite_select(r, sel->join->left) < 0 || rewrite_select(r, sel->join->right) < 0))
        return -1;
    if (find_group_window(r, sel) < 0)
        return -1;
    if (r->call && (set_window(r, sel) < 0 || replace_group_key(r, sel) < 0))
        return -1;
    for (int i = 0; i < sel->nitems; i++)
        if (rewrite_expr(r, &sel->items[i].expr) < 0)
            return -1;
    if (rewrite_expr(r, &sel->having) < 0)
        return -1;
    /* WHERE runs before grouping: an auxiliary call there has no window */
    r->call = NULL;
    return rewrite_expr(r, &sel->where);
}

static int rewrite_query(struct rewrite *r, struct ast_query *q)
{
    for (int i = 0; q && i < q->nselects; i++)
        if (rewrite_select(r, q->selects[i]) < 0)
            return -1;
    return 0;
}

int group_window_rewrite(struct ast_insert *ins, struct arena *arena, struct sql_error *err)
{
    struct rewrite r = {.arena = arena, .err = err};
    for (int i = 0; i < ins->nnamed; i++)
        if (rewrite_query(&r, ins->named[i].query) < 0)
            return -1;
    return rewrite_query(&r, ins->query);
}
