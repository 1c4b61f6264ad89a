/* join.c — regular joins with keyed state per side (join.h): the ON condition split into key
 * pairs and a residual, the changelog of inner and outer joins, the idle-state TTL, and the
 * state's byte form for checkpoints. */
#include "dataplane/sql/join.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"
#include "dataplane/sql/eval.h"
#include "dataplane/sql/functions.h"
#include "dataplane/sql/opstate.h"
#include "dataplane/sql/temporal.h"

static int jfail(struct sql_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int jfail(struct sql_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sql_error_vset(err, 0, 0, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- Names over the joined row -----------------------------------------------------------*/

static int name_matches(const char *name, const char *want, int quoted)
{
    return quoted ? strcmp(name, want) == 0 : strcasecmp(name, want) == 0;
}

int join_has_qualifier(const struct join_scope *s, const char *qualifier)
{
    for (int i = 0; i < s->in->nfields; i++)
        if (s->quals[i] && strcasecmp(s->quals[i], qualifier) == 0)
            return 1;
    return 0;
}

int join_find_column(const struct join_scope *s, const char *qualifier, const char *name, int quoted)
{
    int found = -1;
    for (int i = 0; i < s->in->nfields; i++) {
        if (!name_matches(s->in->fields[i].name, name, quoted))
            continue;
        if (qualifier && !(s->quals[i] && strcasecmp(s->quals[i], qualifier) == 0))
            continue;
        if (found >= 0)
            return -2;
        found = i;
    }
    return found;
}

/* ---- The ON condition --------------------------------------------------------------------*/

/* Which sides an expression reads: bit 0 the left, bit 1 the right (4: a name not found). */
static int sides_read(const struct join_scope *s, const struct ast *a)
{
    if (!a)
        return 0;
    int m = 0;
    if (a->kind == AST_COLUMN) {
        int i = join_find_column(s, a->qualifier, a->name, a->quoted);
        return i < 0 ? 4 : i < s->nleft ? 1 : 2;
    }
    for (int i = 0; i < a->nargs; i++)
        m |= sides_read(s, a->args[i]);
    return m | sides_read(s, a->operand) | sides_read(s, a->else_expr);
}

/* What the resolver of a compile sees: the scope, and the side a key reads (-1: both). */
struct on_ctx {
    const struct join_scope *scope;
    int side;
};

static int resolve_joined(struct expr_compiler *c, const struct ast *col, int *index, enum value_type *type)
{
    const struct on_ctx *o = c->ctx;
    const struct join_scope *s = o->scope;
    if (col->qualifier && !join_has_qualifier(s, col->qualifier))
        return compile_fail(c, col, "unknown table \"%s\" in \"%s.%s\"", col->qualifier, col->qualifier, col->name);
    int i = join_find_column(s, col->qualifier, col->name, col->quoted);
    if (i == -2)
        return compile_fail(c, col, "column \"%s\" is ambiguous: both sides of the join have it; qualify it",
                            col->name);
    if (i < 0)
        return compile_fail(c, col, "column \"%s\" not found in either side of the join", col->name);
    *type = s->in->fields[i].type;
    *index = o->side == 1 ? i - s->nleft : i;
    return 0;
}

static int compile_clause(struct expr_compiler *c, const struct join_scope *s, int side, const struct ast *a,
                          const char *clause, struct expr **out)
{
    struct on_ctx o = {s, side};
    struct expr_compiler inner = *c;
    inner.ctx = &o;
    inner.resolve_column = resolve_joined;
    inner.resolve_aggregate = NULL;
    inner.clause = clause;
    int rc = expr_compile(&inner, a, out);
    c->cleanups = inner.cleanups;
    c->ncleanups = inner.ncleanups;
    c->capcleanups = inner.capcleanups;
    return rc;
}

static int compile_over(struct expr_compiler *c, const struct join_scope *s, int side, const struct ast *a,
                        struct expr **out)
{
    return compile_clause(c, s, side, a, "ON", out);
}

/* a AND b as a new node (arena), or b when a is NULL; NULL on out of memory. */
static struct ast *and_of(struct expr_compiler *c, struct ast *a, const struct ast *b)
{
    if (!a)
        return (struct ast *)b;
    struct ast *and = arena_alloc(c->arena, sizeof *and);
    struct ast **args = arena_alloc(c->arena, 2 * sizeof *args);
    if (!and || !args)
        return NULL;
    memset(and, 0, sizeof *and);
    and->kind = AST_BINARY;
    and->op = AST_OP_AND;
    and->line = b->line;
    and->column = b->column;
    args[0] = a;
    args[1] = (struct ast *)b;
    and->args = args;
    and->nargs = 2;
    return and;
}

/* Conjunct a = b as a key pair (1), or not one (0); -1 on error. */
static int key_pair(struct expr_compiler *c, const struct join_scope *s, const struct ast *a, struct join_config *jc)
{
    if (a->kind != AST_BINARY || a->op != AST_OP_EQ || a->nargs != 2)
        return 0;
    int l = sides_read(s, a->args[0]), r = sides_read(s, a->args[1]);
    const struct ast *la = a->args[0], *ra = a->args[1];
    if (l == 2 && r == 1) {
        la = a->args[1];
        ra = a->args[0];
    } else if (!(l == 1 && r == 2)) {
        return 0;
    }
    if (jc->nkeys == JOIN_MAX_KEYS)
        return compile_fail(c, a, "too many join keys (at most %d)", JOIN_MAX_KEYS);
    struct expr *le, *re;
    if (compile_over(c, s, 0, la, &le) < 0 || compile_over(c, s, 1, ra, &re) < 0)
        return -1;
    if (le->type != re->type) {
        if (compile_implicit_cast(le->type, re->type))
            le = expr_promote(c, la, le, re->type);
        else if (compile_implicit_cast(re->type, le->type))
            re = expr_promote(c, ra, re, le->type);
        else
            return compile_fail(c, a, "join keys of different types: %s = %s; CAST one side", value_type_name(le->type),
                                value_type_name(re->type));
        if (!le || !re)
            return -1;
    }
    jc->left_keys[jc->nkeys] = le;
    jc->right_keys[jc->nkeys] = re;
    jc->key_types[jc->nkeys++] = le->type;
    return 1;
}

/* a as a column plus a constant interval (*off): the column's index in the joined row, or -1. */
static int offset_column(const struct join_scope *s, const struct ast *a, int64_t *off)
{
    if (a->kind == AST_BINARY && (a->op == AST_OP_ADD || a->op == AST_OP_SUB) && a->nargs == 2 &&
        a->args[1]->kind == AST_INTERVAL) {
        int i = offset_column(s, a->args[0], off);
        *off += a->op == AST_OP_ADD ? a->args[1]->lit.u.i : -a->args[1]->lit.u.i;
        return i;
    }
    *off = 0;
    if (a->kind != AST_COLUMN)
        return -1;
    int i = join_find_column(s, a->qualifier, a->name, a->quoted);
    return i < 0 ? -1 : i;
}

/* a as a side's time attribute plus a constant interval (*off): the side, or -1. */
static int time_term(const struct join_scope *s, const struct ast *a, int64_t *off)
{
    int i = offset_column(s, a, off);
    return i < 0 ? -1 : i == s->left_rowtime ? 0 : i == s->right_rowtime ? 1 : -1;
}

/* x op y, when it says T.t - S.end >= d (join_config.end_by), narrows c's end bound. */
static void end_bound(const struct join_scope *s, const struct ast *x, enum ast_op op, const struct ast *y,
                      struct join_config *c)
{
    if (!s->fired_end)
        return;
    if (op == AST_OP_LE || op == AST_OP_LT) { /* y >= x */
        const struct ast *t = x;
        x = y;
        y = t;
        op = op == AST_OP_LE ? AST_OP_GE : AST_OP_GT;
    }
    int64_t ox, oy, d;
    int it = offset_column(s, x, &ox), ie = offset_column(s, y, &oy); /* T.t + ox >= S.end + oy */
    if (it < 0 || ie < 0 || (it < s->nleft) == (ie < s->nleft) || !s->fired_end[ie] ||
        s->in->fields[it].type != VT_TIMESTAMP || __builtin_sub_overflow(oy, ox, &d) ||
        __builtin_add_overflow(d, op == AST_OP_GT, &d))
        return;
    int by = 1 + (ie >= s->nleft), col = ie - (ie >= s->nleft ? s->nleft : 0);
    int tcol = it - (it >= s->nleft ? s->nleft : 0);
    if (c->end_by && (c->end_by != by || c->end_col != col || c->end_time != tcol))
        return; /* one pair of columns bounds the state */
    if (!c->end_by || d > c->end_lower) {
        c->end_by = by;
        c->end_col = col;
        c->end_time = tcol;
        c->end_lower = d;
    }
}

/* A conjunct that bounds a side's time by the other's fired window_end narrows the end bound. */
static void end_bounds(const struct join_scope *s, const struct ast *a, struct join_config *c)
{
    if (a->kind == AST_BINARY && a->op == AST_OP_AND && a->nargs == 2) {
        end_bounds(s, a->args[0], c);
        end_bounds(s, a->args[1], c);
    } else if (a->kind == AST_BETWEEN && !a->negated && a->nargs == 3) {
        end_bound(s, a->args[0], AST_OP_GE, a->args[1], c);
        end_bound(s, a->args[0], AST_OP_LE, a->args[2], c);
    } else if (a->kind == AST_BINARY && a->nargs == 2 &&
               (a->op == AST_OP_GE || a->op == AST_OP_GT || a->op == AST_OP_LE || a->op == AST_OP_LT)) {
        end_bound(s, a->args[0], a->op, a->args[1], c);
    }
}

void join_compile_end_bounds(const struct join_scope *scope, const struct ast *cond, struct join_config *c)
{
    if (cond)
        end_bounds(scope, cond, c);
}

/* x op y, when it bounds l.t - r.t (the sides' time attributes), narrows c->lower/upper. */
static void time_bound(const struct join_scope *s, const struct ast *x, enum ast_op op, const struct ast *y,
                       struct join_config *c)
{
    int64_t ox, oy;
    int sx = time_term(s, x, &ox), sy = time_term(s, y, &oy);
    if (sx < 0 || sy < 0 || sx == sy)
        return;
    int64_t d = oy - ox; /* x - y op d */
    if (sx == 1) {       /* x is the right side's: l.t - r.t = -(x - y) */
        d = -d;
        op = op == AST_OP_GE ? AST_OP_LE : op == AST_OP_GT ? AST_OP_LT : op == AST_OP_LE ? AST_OP_GE : AST_OP_GT;
    }
    if (op == AST_OP_GE || op == AST_OP_GT) {
        d += op == AST_OP_GT;
        c->lower = d > c->lower ? d : c->lower;
    } else {
        d -= op == AST_OP_LT;
        c->upper = d < c->upper ? d : c->upper;
    }
}

/* A conjunct of the residual that bounds the sides' times narrows the interval. */
static void time_bounds(const struct join_scope *s, const struct ast *a, struct join_config *c)
{
    if (a->kind == AST_BETWEEN && !a->negated && a->nargs == 3) {
        time_bound(s, a->args[0], AST_OP_GE, a->args[1], c);
        time_bound(s, a->args[0], AST_OP_LE, a->args[2], c);
    } else if (a->kind == AST_BINARY && a->nargs == 2 &&
               (a->op == AST_OP_GE || a->op == AST_OP_GT || a->op == AST_OP_LE || a->op == AST_OP_LT)) {
        time_bound(s, a->args[0], a->op, a->args[1], c);
    }
}

/* Splits on at its ANDs: key pairs into jc, the rest into *rest (AND again, arena). */
static int split_on(struct expr_compiler *c, const struct join_scope *s, const struct ast *a, struct join_config *jc,
                    struct ast **rest)
{
    if (a->kind == AST_BINARY && a->op == AST_OP_AND && a->nargs == 2)
        return split_on(c, s, a->args[0], jc, rest) < 0 ? -1 : split_on(c, s, a->args[1], jc, rest);
    int k = key_pair(c, s, a, jc);
    if (k != 0)
        return k < 0 ? -1 : 0;
    time_bounds(s, a, jc);
    end_bounds(s, a, jc);
    if (!(*rest = and_of(c, *rest, a)))
        return compile_fail(c, a, "out of memory");
    return 0;
}

int join_compile_on(struct expr_compiler *compiler, const struct join_scope *scope, const struct ast *on,
                    const struct token *at, struct join_config *c)
{
    struct ast *rest = NULL;
    c->nkeys = 0;
    c->residual = NULL;
    c->lower = INT64_MIN;
    c->upper = INT64_MAX;
    c->window_key = -1;
    c->end_by = 0;
    if (on && split_on(compiler, scope, on, c, &rest) < 0)
        return -1;
    if (rest) {
        if (compile_over(compiler, scope, -1, rest, &c->residual) < 0)
            return -1;
        if (c->residual->type != VT_BOOLEAN && c->residual->type != VT_NULL)
            return compile_fail(compiler, rest, "the join condition must be BOOLEAN, found %s",
                                value_type_name(c->residual->type));
    }
    c->interval = c->lower != INT64_MIN && c->upper != INT64_MAX && c->lower <= c->upper;
    c->left_time = scope->left_rowtime;
    c->right_time = scope->right_rowtime >= 0 ? scope->right_rowtime - scope->nleft : -1;
    if (c->nkeys == 0 && !c->interval) {
        struct ast where = {.line = at ? at->line : 0, .column = at ? at->column : 0};
        return compile_fail(compiler, &where,
                            "a join without an equality condition between its two sides (a non-equi join) is not "
                            "supported");
    }
    return 0;
}

/* ---- Filters pushed below the join --------------------------------------------------------*/

/* 1 when a gives the same answer for a row wherever it is evaluated: its calls are built-in
 * scalar functions that read no clock (no aggregate, OVER, FILTER or user-defined function). */
static int deterministic(const struct ast *a)
{
    if (!a)
        return 1;
    if (a->kind == AST_FUNC) {
        static const char *const clocks[] = {"PROCTIME", "CURRENT_TIMESTAMP", "UNIX_TIMESTAMP"};
        const struct sql_function *f = functions_find(a->name);
        if (!f || f->agg != AGG_NONE || a->over || a->filter)
            return 0;
        for (size_t i = 0; i < sizeof clocks / sizeof *clocks; i++)
            if (strcasecmp(a->name, clocks[i]) == 0)
                return 0;
    }
    for (int i = 0; i < a->nargs; i++)
        if (!deterministic(a->args[i]))
            return 0;
    return deterministic(a->operand) && deterministic(a->else_expr);
}

/* The side whose rows conjunct a alone decides on, when a row it rejects can be dropped before
 * the join (the side keeps no row it rejects: either side of an inner join, the outer side of a
 * LEFT or RIGHT join for a WHERE); -1 when none. */
static int filter_side(const struct join_scope *s, const struct ast *a, const struct join_config *c)
{
    int m = sides_read(s, a), side = m == 1 ? 0 : m == 2 ? 1 : -1;
    if (side < 0 || !deterministic(a))
        return -1;
    if (c->type == JOIN_INNER || (side == 0 && c->type == JOIN_LEFT) || (side == 1 && c->type == JOIN_RIGHT))
        return side;
    return -1;
}

/* Conjunct a as a filter of side `side` into jc (1), or not one (0: it stays where it was, and
 * the clause's own compile reports what is wrong with it, if anything). */
static int add_filter(struct expr_compiler *c, const struct join_scope *s, int side, const struct ast *a,
                      const char *clause, struct join_config *jc)
{
    struct sql_error saved = *c->err;
    struct expr *e;
    if (compile_clause(c, s, side, a, clause, &e) < 0) {
        *c->err = saved;
        return 0;
    }
    if (e->type != VT_BOOLEAN && e->type != VT_NULL)
        return 0;
    if (jc->nfilters[side] == JOIN_MAX_KEYS)
        return 0;
    jc->filters[side][jc->nfilters[side]++] = e;
    return 1;
}

/* Splits cond at its ANDs: the conjuncts filter_side() gives a side into c->filters, the rest
 * into *rest. */
static int split_filters(struct expr_compiler *c, const struct join_scope *s, const struct ast *a, const char *clause,
                         struct join_config *jc, struct ast **rest)
{
    if (a->kind == AST_BINARY && a->op == AST_OP_AND && a->nargs == 2)
        return split_filters(c, s, a->args[0], clause, jc, rest) < 0
                   ? -1
                   : split_filters(c, s, a->args[1], clause, jc, rest);
    int side = filter_side(s, a, jc);
    if (side >= 0 && add_filter(c, s, side, a, clause, jc))
        return 0;
    if (!(*rest = and_of(c, *rest, a)))
        return compile_fail(c, a, "out of memory");
    return 0;
}

int join_compile_filters(struct expr_compiler *compiler, const struct join_scope *scope, const struct ast *cond,
                         const char *clause, struct join_config *c, struct ast **rest)
{
    *rest = NULL;
    return cond ? split_filters(compiler, scope, cond, clause, c, rest) : 0;
}

/* ---- State -------------------------------------------------------------------------------*/

struct jrec {
    struct value *row; /* opstate_row_copy */
    size_t size;
    int64_t assoc; /* rows of the other side it matches (outer joins) */
};

struct jpart {
    struct opstate_part base; /* keys: in keys[] */
    struct jrec *recs;        /* &one while cap is 1 */
    int n, cap;
    int64_t touched; /* processing time of the last write (the TTL) */
    size_t bytes;
    struct jrec one;
    struct value keys[]; /* opstate_row_copy_into: one allocation with the partition */
};

struct jside {
    struct opstate_table t;
    int ncols;
    size_t bytes;
    /* The columns state keeps of a row (join_keep_columns), in order: a stored row is
     * stored[k] = row[cols[k]] for k < nstored. cols NULL: all, as they are. */
    int *cols, nstored;
    int time_at; /* where the time attribute is in a stored row (interval joins) */
};

struct join {
    struct join_config c;
    struct jside sides[2];
    struct value *out;
    struct value *pruned; /* a side's row as state keeps it (part_add) */
    int key_cols[JOIN_MAX_KEYS];
    int64_t last_sweep;
    int64_t wm, wm_swept; /* the watermark (join_watermark), and at the last sweep */
    size_t bytes_swept;   /* the state's size after the last sweep */
    struct join_stats stats;
    struct temporal *tj; /* a temporal join (c.temporal): it runs the join */
};

struct join *join_new(const struct join_config *c, struct sql_error *err)
{
    struct join *j = calloc(1, sizeof *j);
    if (!j || !(j->out = calloc((size_t)(c->nleft + c->nright) + 1, sizeof *j->out))) {
        free(j);
        jfail(err, "out of memory");
        return NULL;
    }
    j->c = *c;
    if (c->temporal && !(j->tj = temporal_new(c, err))) {
        free(j->out);
        free(j);
        return NULL;
    }
    for (int s = 0; s < 2; s++) {
        j->sides[s].t.nkeys = c->nkeys;
        j->sides[s].ncols = s ? c->nright : c->nleft;
    }
    for (int k = 0; k < c->nkeys; k++)
        j->key_cols[k] = k;
    j->last_sweep = INT64_MIN;
    j->wm = j->wm_swept = INT64_MIN;
    return j;
}

/* Frees p and its records (unlinked, or its table going as a whole). */
static void part_release(struct jpart *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->recs[i].row);
    if (p->recs != &p->one)
        free(p->recs);
    free(p);
}

static void part_free(struct jside *side, struct jpart *p)
{
    opstate_remove(&side->t, &p->base);
    side->bytes -= p->bytes;
    part_release(p);
}

static void side_clear(struct jside *side)
{
    for (size_t b = 0; b < side->t.cap; b++) /* every partition goes: no unlinking one by one */
        if (opstate_slot(&side->t, b))
            part_release((struct jpart *)opstate_slot(&side->t, b));
    opstate_table_free(&side->t);
    side->bytes = 0;
}

void join_free(struct join *j)
{
    if (!j)
        return;
    side_clear(&j->sides[0]);
    side_clear(&j->sides[1]);
    temporal_free(j->tj);
    free(j->sides[0].cols);
    free(j->sides[1].cols);
    free(j->pruned);
    free(j->out);
    free(j);
}

/* Marks in used the columns (of the joined row, or of side `side`'s row at offset) e reads. */
static void mark_columns(const struct expr *e, unsigned char *used, int offset)
{
    if (!e)
        return;
    if (e->fn == eval_column)
        used[offset + e->index] = 1;
    for (int i = 0; i < e->nargs; i++)
        mark_columns(e->args[i], used, offset);
}

/* The column of side s's rows whose time lets the watermark drop them (an interval join's time
 * attribute, an end bound's T.t), or -1. */
static int time_col(const struct join *j, int s)
{
    if (j->c.interval)
        return s ? j->c.right_time : j->c.left_time;
    return j->c.end_by && s == 2 - j->c.end_by ? j->c.end_time : -1;
}

void join_keep_columns(struct join *j, const unsigned char *needed)
{
    int nl = j->c.nleft, n = nl + j->c.nright;
    unsigned char *used = needed && !j->tj ? malloc((size_t)n + 1) : NULL;
    size_t width = (size_t)(nl > j->c.nright ? nl : j->c.nright) + 1;
    struct value *pruned = used ? calloc(width, sizeof *pruned) : NULL;
    if (!pruned) { /* keep everything */
        free(pruned);
        free(used);
        return;
    }
    memcpy(used, needed, (size_t)n);
    mark_columns(j->c.residual, used, 0);
    for (int s = 0; s < 2; s++)
        if (time_col(j, s) >= 0)
            used[(s ? nl : 0) + time_col(j, s)] = 1;
    for (int s = 0; s < 2; s++) {
        struct jside *side = &j->sides[s];
        const unsigned char *u = used + (s ? nl : 0);
        int *cols = malloc(((size_t)side->ncols + 1) * sizeof *cols), kept = 0;
        if (!cols)
            continue; /* this side keeps everything */
        for (int i = 0; i < side->ncols; i++) {
            if (i == time_col(j, s))
                side->time_at = kept;
            if (u[i])
                cols[kept++] = i;
        }
        free(side->cols);
        side->cols = cols;
        side->nstored = kept;
    }
    free(j->pruned);
    j->pruned = pruned;
    free(used);
}

int join_side_reads(const struct join *j, int side, const unsigned char *needed, unsigned char *reads)
{
    int nl = j->c.nleft, n = nl + j->c.nright, off = side ? nl : 0, ncols = side ? j->c.nright : nl;
    if (j->tj || !needed)
        return -1;
    unsigned char *used = calloc((size_t)n + 1, 1);
    if (!used)
        return -1;
    memcpy(used, needed, (size_t)n);
    mark_columns(j->c.residual, used, 0);
    if (j->c.interval) {
        used[j->c.left_time] = 1;
        used[nl + j->c.right_time] = 1;
    }
    for (int k = 0; k < j->c.nkeys; k++)
        mark_columns(side ? j->c.right_keys[k] : j->c.left_keys[k], used, off);
    for (int f = 0; f < j->c.nfilters[side]; f++)
        mark_columns(j->c.filters[side][f], used, off);
    memcpy(reads, used + off, (size_t)ncols);
    free(used);
    return 0;
}

/* Stored row `stored` of side s with its columns back in place in full (the others NULL). */
static void side_expand(const struct jside *side, const struct value *stored, struct value *full)
{
    if (!side->cols) {
        memcpy(full, stored, (size_t)side->ncols * sizeof *full);
        return;
    }
    for (int i = 0; i < side->ncols; i++)
        full[i] = (struct value){.type = VT_NULL};
    for (int k = 0; k < side->nstored; k++)
        full[side->cols[k]] = stored[k];
}

/* The partition of keys on side s (created when create), or NULL. */
static struct jpart *part_get(struct join *j, int s, const struct value *keys, uint64_t h, int create)
{
    struct jside *side = &j->sides[s];
    struct jpart *p = (struct jpart *)opstate_find(&side->t, keys, j->key_cols, h);
    if (p || !create)
        return p;
    size_t size = opstate_row_size(keys, j->c.nkeys);
    if (!(p = calloc(1, sizeof *p + size)))
        return NULL;
    p->base.hash = h;
    p->base.keys = opstate_row_copy_into(p->keys, keys, j->c.nkeys);
    p->recs = &p->one;
    p->cap = 1;
    if (opstate_insert(&side->t, &p->base) < 0) {
        free(p);
        return NULL;
    }
    p->bytes = sizeof *p + size;
    side->bytes += p->bytes;
    return p;
}

/* Adds row to p (the columns side keeps; pruned: room for a row of the side). */
static int part_add(struct jside *side, struct jpart *p, const struct value *row, int64_t assoc, struct value *pruned)
{
    if (p->n == p->cap) {
        int cap = p->cap < 4 ? 4 : p->cap * 2; /* from the one inline: 4, 8, ... */
        struct jrec *r =
            p->recs == &p->one ? malloc((size_t)cap * sizeof *r) : realloc(p->recs, (size_t)cap * sizeof *r);
        if (!r)
            return -1;
        if (p->recs == &p->one)
            r[0] = p->one;
        p->recs = r;
        p->cap = cap;
    }
    struct jrec *r = &p->recs[p->n];
    int n = side->ncols;
    if (side->cols && pruned) {
        for (int k = 0; k < side->nstored; k++)
            pruned[k] = row[side->cols[k]];
        row = pruned;
        n = side->nstored;
    }
    if (!(r->row = opstate_row_copy(row, n, &r->size)))
        return -1;
    r->assoc = assoc;
    p->n++;
    p->bytes += r->size + sizeof *r;
    side->bytes += r->size + sizeof *r;
    return 0;
}

/* Removes one record equal to row; 1 when one was there. */
static int part_remove(struct jside *side, struct jpart *p, const struct value *row)
{
    for (int i = 0; i < p->n; i++) {
        int same = 1;
        int n = side->cols ? side->nstored : side->ncols;
        for (int k = 0; same && k < n; k++) {
            const struct value *v = &row[side->cols ? side->cols[k] : k];
            same = value_equal(&p->recs[i].row[k], v) && p->recs[i].row[k].type == v->type;
        }
        if (!same)
            continue;
        p->bytes -= p->recs[i].size + sizeof *p->recs;
        side->bytes -= p->recs[i].size + sizeof *p->recs;
        free(p->recs[i].row);
        memmove(&p->recs[i], &p->recs[i + 1], (size_t)(p->n - i - 1) * sizeof *p->recs);
        p->n--;
        return 1;
    }
    return 0;
}

/* ---- Processing --------------------------------------------------------------------------*/

struct jcall {
    struct join *j;
    int side;
    const struct value *row;
    struct arena *scratch;
    join_emit_fn emit;
    void *ctx;
    struct sql_error *err;
};

static int is_outer(const struct join *j, int side)
{
    return j->c.type == JOIN_FULL || (side == 0 ? j->c.type == JOIN_LEFT : j->c.type == JOIN_RIGHT);
}

/* Side s's part of the joined row j->out: row as it came (stored 0), as state holds it
 * (stored 1), or NULLs (row NULL: padded). */
static void put_side(struct join *j, int s, const struct value *row, int stored)
{
    const struct jside *side = &j->sides[s];
    struct value *dst = j->out + (s ? j->c.nleft : 0);
    if (!row) {
        for (int i = 0; i < side->ncols; i++)
            dst[i] = (struct value){.type = VT_NULL};
    } else if (stored) {
        side_expand(side, row, dst);
    } else {
        memcpy(dst, row, (size_t)side->ncols * sizeof *dst);
    }
}

/* Emits the joined row of side-s row `mine` (as it came; mine_stored: as state holds it) and
 * the other side's stored row `theirs` (NULL: padded). */
static int emit_joined(struct jcall *x, enum row_kind kind, int s, const struct value *mine, int mine_stored,
                       const struct value *theirs)
{
    struct join *j = x->j;
    put_side(j, s, mine, mine_stored);
    put_side(j, 1 - s, theirs, 1);
    return x->emit(x->ctx, kind, j->out);
}

/* 1 when the row of this call and other-side row o pass the residual; -1 on error. */
static int matches(struct jcall *x, const struct value *o)
{
    struct join *j = x->j;
    if (!j->c.residual)
        return 1;
    put_side(j, x->side, x->row, 0);
    put_side(j, 1 - x->side, o, 1);
    struct eval_ctx ec = {.row = j->out, .scratch = x->scratch, .err = x->err};
    struct value v;
    if (expr_eval(j->c.residual, &ec, &v) < 0) {
        j->stats.eval_errors++;
        return -1;
    }
    return v.type == VT_BOOLEAN && v.u.b;
}

/* Joins the row with the other side's rows of its key (theirs, may be NULL): emits the joined
 * rows and the outer side's padded changes. Returns how many matched, or -1. */
static int64_t join_with(struct jcall *x, struct jpart *theirs, int add)
{
    struct join *j = x->j;
    int o = 1 - x->side, outer_o = is_outer(j, o);
    int64_t n = 0;
    for (int i = 0; theirs && i < theirs->n; i++) {
        const struct value *their = theirs->recs[i].row;
        int m = matches(x, their);
        if (m < 0)
            return -1;
        if (!m)
            continue;
        n++;
        if (add) {
            if (outer_o && theirs->recs[i].assoc++ == 0 && emit_joined(x, ROW_DELETE, o, their, 1, NULL) < 0)
                return -1;
            if (emit_joined(x, ROW_INSERT, x->side, x->row, 0, their) < 0)
                return -1;
        } else {
            if (emit_joined(x, ROW_DELETE, x->side, x->row, 0, their) < 0)
                return -1;
            if (outer_o && --theirs->recs[i].assoc == 0 && emit_joined(x, ROW_INSERT, o, their, 1, NULL) < 0)
                return -1;
        }
    }
    return n;
}

/* 1 when the row passes its side's filters (join_compile_filters), 0 when not; -1 on error. */
static int passes(struct jcall *x)
{
    struct join *j = x->j;
    struct eval_ctx ec = {.row = x->row, .scratch = x->scratch, .err = x->err};
    for (int i = 0; i < j->c.nfilters[x->side]; i++) {
        struct value v;
        if (expr_eval(j->c.filters[x->side][i], &ec, &v) < 0) {
            j->stats.eval_errors++;
            return -1;
        }
        if (v.type != VT_BOOLEAN || !v.u.b)
            return 0;
    }
    return 1;
}

/* The row's keys into keys; 1 when one of them is NULL (it matches nothing). */
static int eval_keys(struct jcall *x, struct value *keys)
{
    struct join *j = x->j;
    struct expr **exprs = x->side == 0 ? j->c.left_keys : j->c.right_keys;
    struct eval_ctx ec = {.row = x->row, .scratch = x->scratch, .err = x->err};
    int null = 0;
    for (int k = 0; k < j->c.nkeys; k++) {
        if (expr_eval(exprs[k], &ec, &keys[k]) < 0) {
            j->stats.eval_errors++;
            return -1;
        }
        null |= keys[k].type == VT_NULL;
    }
    return null;
}

/* 1 when the time bounds let no later row of the other side match this row of side s (keys:
 * its keys): it would go at once. */
static int expired(const struct join *j, int s, const struct value *row, int stored, const struct value *keys,
                   int64_t wm)
{
    if (j->c.window_key >= 0) {
        const struct value *we = &keys[j->c.window_key];
        return we->type == VT_TIMESTAMP && we->u.i - 1 <= wm;
    }
    int col = time_col(j, s);
    if (col < 0) /* no bounds, or an end bound's S side: kept */
        return 0;
    const struct value *t = &row[stored && j->sides[s].cols ? j->sides[s].time_at : col];
    if (t->type != VT_TIMESTAMP)
        return 1; /* a NULL time matches nothing */
    int64_t go;
    if (j->c.end_by)
        return __builtin_sub_overflow(t->u.i, j->c.end_lower, &go) ? j->c.end_lower < 0 : go <= wm;
    return s == 0 ? t->u.i - j->c.lower <= wm : t->u.i + j->c.upper <= wm;
}

static int is_late(const struct join *j, int s, const struct value *row, const struct value *keys)
{
    return j->wm != INT64_MIN && expired(j, s, row, 0, keys, j->wm);
}

int join_process(struct join *j, int side, enum row_kind kind, const struct value *row, int64_t now,
                 struct arena *scratch, join_emit_fn emit, void *ctx, struct sql_error *err)
{
    if (j->tj)
        return temporal_process(j->tj, side, kind, row, scratch, emit, ctx, err);
    struct jcall x = {j, side, row, scratch, emit, ctx, err};
    struct value keys[JOIN_MAX_KEYS];
    int add = row_kind_is_accumulate(kind), outer = is_outer(j, side);
    j->stats.rows_in++;
    int pass = passes(&x);
    if (pass <= 0) /* a row a filter rejects joins with nothing and shows nowhere */
        return pass;
    int null = eval_keys(&x, keys);
    if (null < 0)
        return -1;
    if (null) /* matches nothing, and is not kept: an outer side's row stands alone */
        return outer ? emit_joined(&x, add ? ROW_INSERT : ROW_DELETE, side, row, 0, NULL) : 0;
    /* late: no later row of the other side can match it; an end bound's T row still joins
     * what is held */
    int late = is_late(j, side, row, keys);
    if (late && !j->c.end_by) {
        j->stats.late_dropped++;
        return 0;
    }
    int keep = add && !late;
    uint64_t h = opstate_hash_cols(keys, j->key_cols, j->c.nkeys);
    struct jpart *mine = part_get(j, side, keys, h, keep);
    if (keep && !mine)
        return jfail(err, "out of memory");
    if (!add && (!mine || !part_remove(&j->sides[side], mine, row)))
        return 0; /* a retraction of a row not held (dropped by the TTL) */
    struct jpart *theirs = part_get(j, 1 - side, keys, h, 0);
    int64_t n = join_with(&x, theirs, add);
    if (n < 0)
        return -1;
    if (n == 0 && outer && emit_joined(&x, add ? ROW_INSERT : ROW_DELETE, side, row, 0, NULL) < 0)
        return -1;
    if (keep && part_add(&j->sides[side], mine, row, n, j->pruned) < 0)
        return jfail(err, "out of memory");
    if (!mine)
        return 0;
    mine->touched = now;
    if (mine->n == 0)
        part_free(&j->sides[side], mine);
    return 0;
}

void join_expire(struct join *j, int64_t now)
{
    int64_t ttl = j->c.state_ttl_ms, every = ttl / 8 > 0 ? ttl / 8 : 1;
    if (ttl <= 0 || j->tj || (j->last_sweep != INT64_MIN && now - j->last_sweep < every))
        return;
    j->last_sweep = now;
    for (int s = 0; s < 2; s++) {
        struct jside *side = &j->sides[s];
        for (size_t b = 0; b < side->t.cap;) {
            struct jpart *p = (struct jpart *)opstate_slot(&side->t, b);
            if (p && p->touched < now - ttl)
                part_free(side, p); /* another may have moved into slot b */
            else
                b++;
        }
    }
}

/* Drops p's records that expired() at wm, keeping the others in their order. */
static void part_drop_expired(struct join *j, int s, struct jpart *p, int64_t wm)
{
    struct jside *side = &j->sides[s];
    int kept = 0;
    for (int i = 0; i < p->n; i++) {
        struct jrec *r = &p->recs[i];
        if (!expired(j, s, r->row, 1, p->base.keys, wm)) {
            p->recs[kept++] = *r;
            continue;
        }
        p->bytes -= r->size + sizeof *r;
        side->bytes -= r->size + sizeof *r;
        free(r->row);
    }
    p->n = kept;
}

void join_watermark(struct join *j, int64_t wm)
{
    if ((j->c.window_key < 0 && !j->c.interval && !j->c.end_by) || wm <= j->wm)
        return;
    j->wm = wm;
    /* a sweep visits every key: at most once per second of event time (or at the end). With an
     * end bound, only once the state grew by half since the last one or 10 s of event time
     * passed, so that a row is visited a few times however many come: what it drops matches
     * no later row, so when it runs changes no output (an interval join's sweeps keep their
     * schedule, which the checkpoint holds) */
    size_t bytes = j->sides[0].bytes + j->sides[1].bytes;
    if (wm != INT64_MAX && j->wm_swept != INT64_MIN &&
        (wm - j->wm_swept < 1000 ||
         (j->c.end_by && bytes < j->bytes_swept + j->bytes_swept / 2 && wm - j->wm_swept < 10000)))
        return;
    j->wm_swept = wm;
    for (int s = 0; s < 2; s++) {
        struct jside *side = &j->sides[s];
        if (j->c.end_by && s == j->c.end_by - 1)
            continue; /* an end bound's S rows stay */
        for (size_t b = 0; b < side->t.cap;) {
            struct jpart *p = (struct jpart *)opstate_slot(&side->t, b);
            if (p)
                part_drop_expired(j, s, p, wm);
            if (p && p->n == 0)
                part_free(side, p); /* another may have moved into slot b */
            else
                b++;
        }
    }
    j->bytes_swept = j->sides[0].bytes + j->sides[1].bytes;
}

int join_advance(struct join *j, int64_t wm, struct arena *scratch, join_emit_fn emit, void *ctx, struct sql_error *err)
{
    if (j->tj)
        return temporal_watermark(j->tj, wm, scratch, emit, ctx, err);
    join_watermark(j, wm);
    return 0;
}

int join_lookup_keys(const struct join *j, int *cols, int max)
{
    return j->tj ? temporal_lookup_keys(j->tj, cols, max) : -1;
}

void join_set_lookup(struct join *j, plan_lookup_fn fn, void *ctx)
{
    if (j->tj)
        temporal_set_lookup(j->tj, fn, ctx);
}

void join_stats(const struct join *j, struct join_stats *out)
{
    if (j->tj) {
        temporal_stats(j->tj, out);
        return;
    }
    *out = j->stats;
    out->state_bytes = j->sides[0].bytes + j->sides[1].bytes;
}

/* ---- Snapshot ----------------------------------------------------------------------------
 * "JOIN0001", rows_in, late_dropped, the watermark and the last sweep's, then per side: the number of keys, and per key
 * its values, the time of its last write, its record count and per record the matches and the row. */

/* A stored row of side as a whole row of it: the columns state does not keep are NULL. */
static void put_stored_row(struct window_writer *w, const struct jside *side, const struct value *row)
{
    if (!side->cols) {
        opstate_put_row(w, row, side->ncols);
        return;
    }
    static const struct value null = {.type = VT_NULL};
    for (int i = 0, k = 0; i < side->ncols; i++)
        opstate_put_value(w, k < side->nstored && side->cols[k] == i ? &row[k++] : &null);
}

int join_snapshot_to(const struct join *j, struct window_writer *w)
{
    if (j->tj) {
        char *buf;
        size_t len;
        if (temporal_snapshot(j->tj, &buf, &len) < 0)
            return -1;
        window_put(w, buf, len);
        free(buf);
        return w->oom ? -1 : 0;
    }
    window_put(w, "JOIN0001", 8);
    opstate_put_i64(w, (int64_t)j->stats.rows_in);
    opstate_put_i64(w, (int64_t)j->stats.late_dropped);
    opstate_put_i64(w, j->wm);
    opstate_put_i64(w, j->wm_swept);
    for (int s = 0; s < 2; s++) {
        const struct jside *side = &j->sides[s];
        opstate_put_i64(w, (int64_t)side->t.n);
        for (size_t b = 0; b < side->t.cap; b++) {
            const struct jpart *p = (const struct jpart *)opstate_slot(&side->t, b);
            if (!p)
                continue;
            opstate_put_row(w, p->base.keys, j->c.nkeys);
            opstate_put_i64(w, p->touched);
            opstate_put_i64(w, p->n);
            for (int i = 0; i < p->n; i++) {
                opstate_put_i64(w, p->recs[i].assoc);
                put_stored_row(w, side, p->recs[i].row);
            }
        }
    }
    return w->oom ? -1 : 0;
}

int join_snapshot(const struct join *j, char **buf, size_t *len)
{
    struct window_writer w = {0};
    if (join_snapshot_to(j, &w) < 0) {
        free(w.p);
        return -1;
    }
    *buf = w.p;
    *len = w.len;
    return 0;
}

static int read_side(struct join *j, int s, struct window_reader *r)
{
    struct jside *side = &j->sides[s];
    const enum value_type *types = j->c.types + (s ? j->c.nleft : 0);
    int64_t nparts = opstate_get_i64(r);
    for (int64_t k = 0; k < nparts && !r->bad; k++) {
        struct value *keys = opstate_get_row(r, j->c.nkeys, j->c.key_types, NULL);
        if (!keys)
            return -1;
        struct jpart *p = part_get(j, s, keys, opstate_hash_cols(keys, j->key_cols, j->c.nkeys), 1);
        free(keys);
        if (!p)
            return -1;
        p->touched = opstate_get_i64(r);
        int64_t n = opstate_get_i64(r);
        for (int64_t i = 0; i < n && !r->bad; i++) {
            int64_t assoc = opstate_get_i64(r);
            struct value *row = opstate_get_row(r, side->ncols, types, NULL);
            int rc = row ? part_add(side, p, row, assoc, j->pruned) : -1;
            free(row);
            if (rc < 0)
                return -1;
        }
    }
    return r->bad ? -1 : 0;
}

int join_restore(struct join *j, const char *buf, size_t len, struct sql_error *err)
{
    if (j->tj)
        return temporal_restore(j->tj, buf, len, err);
    struct window_reader r = {buf, len, 0, 0};
    char magic[8];
    window_get(&r, magic, 8);
    if (r.bad || memcmp(magic, "JOIN0001", 8) != 0)
        return jfail(err, "checkpoint state is not a join's");
    j->stats.rows_in = (uint64_t)opstate_get_i64(&r);
    j->stats.late_dropped = (uint64_t)opstate_get_i64(&r);
    j->wm = opstate_get_i64(&r);
    j->wm_swept = opstate_get_i64(&r);
    if (read_side(j, 0, &r) < 0 || read_side(j, 1, &r) < 0 || r.pos != r.len) {
        side_clear(&j->sides[0]);
        side_clear(&j->sides[1]);
        return jfail(err, "checkpoint state of a join is truncated or corrupt");
    }
    return 0;
}
