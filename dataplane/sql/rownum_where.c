/* rownum_where.c — a ROW_NUMBER() alias in the WHERE of its own SELECT, read as Top-N over the
 * block's input (see rownum_where.h). */
#include "dataplane/sql/rownum_where.h"

#include <string.h>
#include <strings.h>

#include "common/arena.h"

struct rn {
    const char *name;
    int quoted;
};

static int names_rn(const char *name, int quoted, const struct rn *rn)
{
    return rn->quoted || quoted ? strcmp(name, rn->name) == 0 : strcasecmp(name, rn->name) == 0;
}

static int reads_rn(const struct ast *a, const struct rn *rn)
{
    if (!a)
        return 0;
    if (a->kind == AST_COLUMN && !a->qualifier && names_rn(a->name, a->quoted, rn))
        return 1;
    for (int i = 0; i < a->nargs; i++)
        if (reads_rn(a->args[i], rn))
            return 1;
    return reads_rn(a->operand, rn) || reads_rn(a->else_expr, rn) || reads_rn(a->filter, rn);
}

/* The aliased ROW_NUMBER() OVER (... ORDER BY ...) item of a plain block, or -1. */
static int row_number_item(const struct ast_select *sel)
{
    if (sel->ngroup_by || sel->having || sel->distinct || sel->window != WINDOW_NONE || sel->join)
        return -1;
    for (int i = 0; i < sel->nitems; i++) {
        const struct ast *a = sel->items[i].expr;
        if (a->kind == AST_FUNC && a->over && strcasecmp(a->name, "ROW_NUMBER") == 0 && sel->items[i].alias &&
            a->over->norder_by > 0 && a->over->frame == AST_FRAME_NONE)
            return i;
    }
    return -1;
}

/* 1 when every column of the subquery sub is named and none is rn. */
static int columns_exclude_rn(const struct ast_query *sub, const struct rn *rn)
{
    if (!sub || sub->nselects < 1)
        return 0;
    const struct ast_select *s = sub->selects[0];
    for (int i = 0; i < s->nitems; i++) {
        const struct ast_select_item *it = &s->items[i];
        const char *name = it->alias ? it->alias : it->expr->kind == AST_COLUMN ? it->expr->name : NULL;
        if (it->expr->kind == AST_STAR)
            return 0;
        if (name && names_rn(name, it->alias ? it->alias_quoted : it->expr->quoted, rn))
            return 0;
    }
    return 1;
}

/* Appends a to *list (an AND of conjuncts; NULL: none yet). Returns 0 or -1 (no memory). */
static int and_into(struct arena *arena, struct ast **list, struct ast *a)
{
    if (!*list) {
        *list = a;
        return 0;
    }
    struct ast *and = arena_alloc(arena, sizeof *and);
    struct ast **args = arena_alloc(arena, 2 * sizeof *args);
    if (!and || !args)
        return -1;
    *and = (struct ast){.kind = AST_BINARY, .op = AST_OP_AND, .line = a->line, .column = a->column};
    args[0] = *list;
    args[1] = a;
    and->args = args;
    and->nargs = 2;
    *list = and;
    return 0;
}

/* Splits the WHERE a into the conjuncts that read rn (*outer) and the rest (*inner). */
static int split(struct arena *arena, struct ast *a, const struct rn *rn, struct ast **outer, struct ast **inner)
{
    if (a->kind == AST_BINARY && a->op == AST_OP_AND && a->nargs == 2)
        return split(arena, a->args[0], rn, outer, inner) < 0 ? -1 : split(arena, a->args[1], rn, outer, inner);
    return and_into(arena, reads_rn(a, rn) ? outer : inner, a);
}

/* sel becomes SELECT * FROM (sel without the rn conjuncts) WHERE the rn conjuncts. */
static int rewrite_block(struct ast_select *sel, const struct rn *rn, struct arena *arena)
{
    struct ast_select *inner = arena_alloc(arena, sizeof *inner);
    struct ast_query *q = arena_alloc(arena, sizeof *q);
    struct ast_select **selects = arena_alloc(arena, sizeof *selects);
    struct ast_select_item *item = arena_alloc(arena, sizeof *item);
    struct ast *star = arena_alloc(arena, sizeof *star);
    struct ast *outer_where = NULL, *inner_where = NULL;
    if (!inner || !q || !selects || !item || !star || split(arena, sel->where, rn, &outer_where, &inner_where) < 0)
        return -1;
    *inner = *sel;
    inner->where = inner_where;
    selects[0] = inner;
    *q = (struct ast_query){.selects = selects, .nselects = 1};
    *star = (struct ast){.kind = AST_STAR, .line = sel->select_token->line, .column = sel->select_token->column};
    *item = (struct ast_select_item){.expr = star};
    struct ast_select outer = {.select_token = sel->select_token,
                               .items = item,
                               .nitems = 1,
                               .source_token = sel->select_token,
                               .subquery = q,
                               .where = outer_where};
    *sel = outer;
    return 0;
}

static int rewrite_query(struct ast_query *q, struct arena *arena);

static int rewrite_select(struct ast_select *sel, struct arena *arena)
{
    if (sel->subquery && rewrite_query(sel->subquery, arena) < 0)
        return -1;
    if (sel->join && (rewrite_select(sel->join->left, arena) < 0 || rewrite_select(sel->join->right, arena) < 0))
        return -1;
    int i = sel->where && sel->subquery ? row_number_item(sel) : -1;
    if (i < 0)
        return 0;
    struct rn rn = {sel->items[i].alias, sel->items[i].alias_quoted};
    if (!reads_rn(sel->where, &rn) || !columns_exclude_rn(sel->subquery, &rn))
        return 0;
    return rewrite_block(sel, &rn, arena);
}

static int rewrite_query(struct ast_query *q, struct arena *arena)
{
    for (int i = 0; q && i < q->nselects; i++)
        if (rewrite_select(q->selects[i], arena) < 0)
            return -1;
    return 0;
}

int rownum_where_rewrite(struct ast_insert *ins, struct arena *arena, struct sql_error *err)
{
    for (int i = 0; i < ins->nnamed; i++)
        if (rewrite_query(ins->named[i].query, arena) < 0)
            return sql_error_at(err, 0, 0, "out of memory");
    if (rewrite_query(ins->query, arena) < 0)
        return sql_error_at(err, 0, 0, "out of memory");
    return 0;
}
