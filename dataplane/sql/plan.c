/* plan.c — the planner and executor: binds an INSERT INTO ... SELECT to its source schema,
 * derives the output schema, and runs rows through filter and projection (stateless) or
 * through event-time windows with grouped aggregates fired by the watermark (windowed). The
 * window state can be snapshotted and restored for checkpoints. */
#include "dataplane/sql/sql.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"
#include "dataplane/sql/eval.h"
#include "dataplane/sql/functions.h"
#include "dataplane/sql/lexer.h"
#include "dataplane/sql/parser.h"

/* Event times beyond year 9999 (either side of 1970) are rejected, so window arithmetic
 * cannot overflow. */
#define PLAN_MAX_EVENT_TIME 253402300799999LL

/* ---- State types -----------------------------------------------------------------------*/

struct agg_slot {
    enum agg_kind kind;
    int distinct;
    struct expr *arg; /* NULL for COUNT(*) */
    enum value_type result;
};

/* A set of distinct values (COUNT(DISTINCT x)); strings owned. */
struct value_set {
    struct value *vals; /* VT_NULL marks an empty slot */
    size_t cap, n;
};

struct agg_state {
    int64_t count;
    union {
        int64_t i;
        double d;
    } sum;
    struct value best;    /* MIN/MAX; a string is malloc'd */
    struct value_set *set; /* COUNT(DISTINCT) */
};

struct group {
    struct group *hnext, *next; /* hash chain, insertion order */
    uint64_t hash;
    struct value *keys;
    struct agg_state *aggs;
};

struct window {
    int64_t start, end;
    struct group **buckets;
    size_t nbuckets, ngroups;
    struct group *first, *last;
};

struct plan {
    char *source, *sink, *sql, *alias;
    struct schema in, out;
    unsigned char *needed;
    struct arena *arena; /* expression nodes and constants */
    struct expr_compiler compiler;
    struct expr *where, *having;
    struct expr **items; /* output expressions */
    struct value *outrow;
    int nitems;
    /* windowed aggregation */
    enum window_kind window;
    int64_t win_a, win_b, delay;
    int rowtime;
    int *key_cols; /* source column of each non-window GROUP BY key */
    int nkeys;
    struct agg_slot *aggs;
    int naggs, capaggs;
    struct value *aggargs;
    struct value *postrow; /* keys, window_start, window_end, aggregates */
    struct window *windows; /* sorted by (end, start) */
    int nwindows, capwindows;
    struct window_bounds {
        int64_t start, end;
    } *bounds; /* the windows of the current row */
    int tvf;   /* window table function without GROUP BY: one row per (row, window) */
    struct value *tvfrow; /* input row, window_start, window_end, window_time */
    int64_t max_ts;
    struct plan_stats stats;
    uint64_t fingerprint;
};

/* ---- Schemas and small helpers -----------------------------------------------------------*/

void sql_error_format(const struct sql_error *err, char *buf, size_t size)
{
    if (err->line > 0)
        snprintf(buf, size, "line %d, column %d: %s", err->line, err->column, err->message);
    else
        snprintf(buf, size, "%s", err->message);
}

void sql_error_shift(struct sql_error *err, int line, int column)
{
    if (err->line <= 0)
        return;
    if (err->line == 1)
        err->column += column - 1;
    err->line += line - 1;
}

void schema_free_fields(struct schema *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->nfields; i++)
        free(s->fields[i].name);
    free(s->fields);
    s->fields = NULL;
    s->nfields = 0;
}

int schema_copy(struct schema *dst, const struct schema *src)
{
    *dst = *src;
    dst->fields = calloc(src->nfields ? (size_t)src->nfields : 1, sizeof *dst->fields);
    if (!dst->fields)
        return -1;
    for (int i = 0; i < src->nfields; i++) {
        dst->fields[i].type = src->fields[i].type;
        dst->fields[i].name = strdup(src->fields[i].name);
        if (!dst->fields[i].name) {
            dst->nfields = i;
            schema_free_fields(dst);
            return -1;
        }
    }
    return 0;
}

const char *sql_type_name(enum value_type t)
{
    static const char *const names[] = {
        [VT_NULL] = "NULL", [VT_BOOLEAN] = "BOOLEAN", [VT_BIGINT] = "BIGINT",
        [VT_DOUBLE] = "DOUBLE", [VT_STRING] = "STRING", [VT_TIMESTAMP] = "TIMESTAMP(3)",
    };
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

static int fail_at(struct sql_error *err, int line, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(struct sql_error *err, int line, int column, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sql_error_vset(err, line, column, fmt, ap);
    va_end(ap);
    return -1;
}

#define fail_tok(err, t, ...) fail_at(err, (t) ? (t)->line : 0, (t) ? (t)->column : 0, __VA_ARGS__)

static int name_matches(const char *name, const char *want, int quoted)
{
    return quoted ? strcmp(name, want) == 0 : strcasecmp(name, want) == 0;
}

static int is_window_column(const char *name)
{
    return strcasecmp(name, "window_start") == 0 || strcasecmp(name, "window_end") == 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- Name resolution -------------------------------------------------------------------*/

static int check_qualifier(struct expr_compiler *c, const struct ast *col)
{
    struct plan *p = c->ctx;
    if (col->qualifier && strcasecmp(col->qualifier, p->source) != 0 &&
        !(p->alias && strcasecmp(col->qualifier, p->alias) == 0))
        return compile_fail(c, col, "unknown table \"%s\" in \"%s.%s\"", col->qualifier, col->qualifier, col->name);
    return 0;
}

/* Source column of a reference, or -1 with err filled (with a suggestion). */
static int find_source_column(struct expr_compiler *c, const struct ast *col)
{
    struct plan *p = c->ctx;
    for (int i = 0; i < p->in.nfields; i++)
        if (name_matches(p->in.fields[i].name, col->name, col->quoted))
            return i;
    if (is_window_column(col->name) && p->window != WINDOW_NONE && !p->tvf)
        return compile_fail(c, col, "column \"%s\" can only be used in the SELECT list and GROUP BY of a windowed aggregate",
                            col->name);
    const char *best = NULL;
    int best_d = 99;
    for (int i = 0; i < p->in.nfields; i++) {
        int d = functions_distance(col->name, p->in.fields[i].name);
        if (d < best_d) {
            best_d = d;
            best = p->in.fields[i].name;
        }
    }
    int limit = (int)strlen(col->name) / 3 + 1;
    if (best && best_d <= (limit > 3 ? 3 : limit) && best_d < (int)strlen(col->name))
        return compile_fail(c, col, "column \"%s\" not found; did you mean \"%s\"?", col->name, best);
    return compile_fail(c, col, "column \"%s\" not found in stream \"%s\"", col->name, p->source);
}

/* Columns a window table function adds after the source columns (without GROUP BY). */
static const char *const tvf_columns[] = {"window_start", "window_end", "window_time"};
#define TVF_NCOLUMNS 3

static int resolve_input_column(struct expr_compiler *c, const struct ast *col, int *index,
                                enum value_type *type)
{
    struct plan *p = c->ctx;
    if (check_qualifier(c, col) < 0)
        return -1;
    for (int k = 0; p->tvf && k < TVF_NCOLUMNS; k++) {
        int shadowed = 0;
        for (int f = 0; f < p->in.nfields; f++)
            shadowed |= name_matches(p->in.fields[f].name, col->name, col->quoted);
        if (!shadowed && name_matches(tvf_columns[k], col->name, col->quoted)) {
            *index = p->in.nfields + k;
            *type = VT_TIMESTAMP;
            return 0;
        }
    }
    int i = find_source_column(c, col);
    if (i < 0)
        return -1;
    p->needed[i] = 1;
    *index = i;
    *type = p->in.fields[i].type;
    return 0;
}

/* After grouping: a column is a GROUP BY key or window_start/window_end. */
static int resolve_group_column(struct expr_compiler *c, const struct ast *col, int *index,
                                enum value_type *type)
{
    struct plan *p = c->ctx;
    if (check_qualifier(c, col) < 0)
        return -1;
    if (is_window_column(col->name) && !col->quoted) {
        *index = p->nkeys + (strcasecmp(col->name, "window_end") == 0);
        *type = VT_TIMESTAMP;
        return 0;
    }
    int i = find_source_column(c, col);
    if (i < 0)
        return -1;
    for (int k = 0; k < p->nkeys; k++)
        if (p->key_cols[k] == i) {
            *index = k;
            *type = p->in.fields[i].type;
            return 0;
        }
    return compile_fail(c, col, "column \"%s\" must appear in GROUP BY or be used in an aggregate function",
                        col->name);
}

static int resolve_aggregate(struct expr_compiler *c, const struct ast *call, int *index,
                             enum value_type *type)
{
    struct plan *p = c->ctx;
    const struct sql_function *f = functions_find(call->name);
    if (f->agg == AGG_COUNT ? call->nargs > 1 : call->nargs != 1)
        return compile_fail(c, call, "function %s takes 1 argument, found %d", f->name, call->nargs);
    if (f->agg != AGG_COUNT && call->args[0]->kind == AST_STAR)
        return compile_fail(c, call->args[0], "\"*\" is only allowed in COUNT(*)");
    if (f->agg == AGG_COUNT && call->nargs == 0)
        return compile_fail(c, call, "COUNT needs an argument: use COUNT(*) to count rows");
    if (call->distinct && (f->agg != AGG_COUNT || call->args[0]->kind == AST_STAR))
        return compile_fail(c, call, "DISTINCT is only supported in COUNT(DISTINCT expression)");
    if (p->naggs == p->capaggs) {
        int cap = p->capaggs ? p->capaggs * 2 : 4;
        struct agg_slot *n = realloc(p->aggs, (size_t)cap * sizeof *n);
        if (!n)
            return compile_fail(c, call, "out of memory");
        p->aggs = n;
        p->capaggs = cap;
    }
    struct agg_slot slot = {.kind = f->agg, .distinct = call->distinct};
    if (call->args[0]->kind != AST_STAR) {
        /* the argument reads input rows: compile it in the input scope */
        struct expr_compiler inner = *c;
        inner.resolve_column = resolve_input_column;
        inner.resolve_aggregate = NULL;
        inner.clause = "an aggregate argument";
        int rc = expr_compile(&inner, call->args[0], &slot.arg);
        c->cleanups = inner.cleanups;
        c->ncleanups = inner.ncleanups;
        c->capcleanups = inner.capcleanups;
        if (rc < 0)
            return -1;
        enum value_type t = slot.arg->type;
        if ((f->agg == AGG_SUM || f->agg == AGG_AVG) && t != VT_BIGINT && t != VT_DOUBLE)
            return compile_fail(c, call->args[0], "type mismatch: %s needs a numeric argument, found %s", f->name,
                                sql_type_name(t));
        if (t == VT_NULL && f->agg != AGG_COUNT)
            return compile_fail(c, call->args[0], "%s of an untyped NULL; use CAST(NULL AS type)", f->name);
    }
    slot.result = f->agg == AGG_COUNT ? VT_BIGINT : slot.arg->type;
    p->aggs[p->naggs] = slot;
    *index = p->nkeys + 2 + p->naggs;
    *type = slot.result;
    p->naggs++;
    return 0;
}

/* ---- Compile ---------------------------------------------------------------------------*/

static int ast_has_aggregate(const struct ast *a)
{
    if (!a)
        return 0;
    if (a->kind == AST_FUNC) {
        const struct sql_function *f = functions_find(a->name);
        if (f && f->agg != AGG_NONE)
            return 1;
    }
    for (int i = 0; i < a->nargs; i++)
        if (ast_has_aggregate(a->args[i]))
            return 1;
    return ast_has_aggregate(a->operand) || ast_has_aggregate(a->else_expr);
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static int compile_window(struct plan *p, const struct ast_insert *ins, struct sql_error *err)
{
    int col = -1;
    for (int i = 0; i < p->in.nfields; i++)
        if (name_matches(p->in.fields[i].name, ins->descriptor, ins->descriptor_quoted))
            col = i;
    if (col < 0)
        return fail_tok(err, ins->descriptor_token, "column \"%s\" not found in stream \"%s\"", ins->descriptor,
                        p->source);
    if (p->in.fields[col].type != VT_TIMESTAMP)
        return fail_tok(err, ins->descriptor_token, "window column \"%s\" must be a TIMESTAMP(3), found %s",
                        ins->descriptor, sql_type_name(p->in.fields[col].type));
    if (p->in.rowtime_field < 0)
        return fail_tok(err, ins->window_token,
                        "windowed query on stream \"%s\" needs a watermark; declare one such as "
                        "WATERMARK FOR %s AS %s - INTERVAL '5' SECOND",
                        p->source, p->in.fields[col].name, p->in.fields[col].name);
    if (p->in.rowtime_field != col)
        return fail_tok(err, ins->descriptor_token,
                        "window column \"%s\" is not the event-time column of stream \"%s\" (the one its WATERMARK is declared on)",
                        ins->descriptor, p->source);
    p->window = ins->window;
    p->win_a = ins->window_a_ms;
    p->win_b = ins->window_b_ms;
    p->rowtime = col;
    p->delay = p->in.watermark_delay_ms;
    p->needed[col] = 1;
    if (ins->window == WINDOW_HOP && p->win_b % p->win_a != 0)
        return fail_tok(err, ins->window_b_token, "HOP size must be a whole multiple of its slide");
    if (ins->window == WINDOW_CUMULATE && p->win_b % p->win_a != 0)
        return fail_tok(err, ins->window_b_token, "CUMULATE max size must be a whole multiple of its step");
    if (ins->window != WINDOW_TUMBLE && p->win_b / p->win_a > 10000)
        return fail_tok(err, ins->window_b_token, "window has too many slices (more than 10000)");
    p->bounds = calloc(ins->window == WINDOW_TUMBLE ? 1 : (size_t)(p->win_b / p->win_a), sizeof *p->bounds);
    if (!p->bounds)
        return fail_at(err, 0, 0, "out of memory");
    return 0;
}

static int compile_group_by(struct plan *p, const struct ast_insert *ins, struct sql_error *err)
{
    int has_start = 0, has_end = 0;
    p->key_cols = calloc((size_t)ins->ngroup_by + 1, sizeof *p->key_cols);
    if (!p->key_cols)
        return fail_at(err, 0, 0, "out of memory");
    for (int i = 0; i < ins->ngroup_by; i++) {
        const struct ast *g = ins->group_by[i];
        if (g->kind != AST_COLUMN)
            return fail_at(err, g->line, g->column, "GROUP BY supports column names only");
        if (is_window_column(g->name) && !g->quoted) {
            if (strcasecmp(g->name, "window_start") == 0)
                has_start = 1;
            else
                has_end = 1;
            continue;
        }
        if (check_qualifier(&p->compiler, g) < 0)
            return -1;
        int col = find_source_column(&p->compiler, g);
        if (col < 0)
            return -1;
        p->needed[col] = 1;
        p->key_cols[p->nkeys++] = col;
    }
    if (p->window == WINDOW_NONE)
        return fail_tok(err, ins->group_by_token,
                        "GROUP BY without a window is not supported (its result would be an updating table); "
                        "group by window_start, window_end of TUMBLE, HOP or CUMULATE");
    if (!has_start || !has_end)
        return fail_tok(err, ins->group_by_token, "a windowed GROUP BY must list both window_start and window_end");
    return 0;
}

/* Output column names: alias, column name, window column, or EXPR$n. */
static int output_name(const struct ast_select_item *it, int pos, const struct plan *p, int col, char **out)
{
    char buf[32];
    const char *n = it->alias;
    if (!n && it->expr->kind == AST_COLUMN)
        n = col >= 0 ? p->in.fields[col].name : it->expr->name;
    if (!n) {
        snprintf(buf, sizeof buf, "EXPR$%d", pos);
        n = buf;
    }
    *out = strdup(n);
    return *out ? 0 : -1;
}

static int add_output(struct plan *p, struct expr *e, char *name, int cap)
{
    if (p->nitems == cap)
        return -1;
    p->items[p->nitems] = e;
    p->out.fields[p->nitems].name = name;
    p->out.fields[p->nitems].type = e->type;
    p->out.nfields = ++p->nitems;
    return 0;
}

static int compile_select(struct plan *p, const struct ast_insert *ins, int grouped, struct sql_error *err)
{
    int cap = 0;
    int nstar = p->in.nfields + (p->tvf ? TVF_NCOLUMNS : 0);
    for (int i = 0; i < ins->nitems; i++)
        cap += ins->items[i].expr->kind == AST_STAR ? nstar : 1;
    p->items = calloc((size_t)cap + 1, sizeof *p->items);
    p->out.fields = calloc((size_t)cap + 1, sizeof *p->out.fields);
    p->outrow = calloc((size_t)cap + 1, sizeof *p->outrow);
    p->out.rowtime_field = -1;
    if (!p->items || !p->out.fields || !p->outrow)
        return fail_at(err, 0, 0, "out of memory");
    struct expr_compiler *c = &p->compiler;
    c->resolve_column = grouped ? resolve_group_column : resolve_input_column;
    c->resolve_aggregate = grouped ? resolve_aggregate : NULL;
    c->clause = "the SELECT list of a query without GROUP BY";
    for (int i = 0; i < ins->nitems; i++) {
        const struct ast_select_item *it = &ins->items[i];
        char *name;
        if (it->expr->kind == AST_STAR) {
            if (grouped)
                return fail_at(err, it->expr->line, it->expr->column,
                               "SELECT * is not allowed with GROUP BY; list the keys and aggregates");
            for (int f = 0; f < nstar; f++) {
                const char *fname = f < p->in.nfields ? p->in.fields[f].name : tvf_columns[f - p->in.nfields];
                struct ast col = {.kind = AST_COLUMN, .name = fname, .quoted = 1,
                                  .line = it->expr->line, .column = it->expr->column};
                struct expr *e;
                if (expr_compile(c, &col, &e) < 0 ||
                    output_name(&(struct ast_select_item){.expr = &col}, i, p, f < p->in.nfields ? f : -1, &name) < 0)
                    return -1;
                add_output(p, e, name, cap);
            }
            continue;
        }
        struct expr *e;
        if (expr_compile(c, it->expr, &e) < 0)
            return -1;
        if (e->type == VT_NULL)
            return fail_at(err, it->expr->line, it->expr->column,
                           "cannot select an untyped NULL; use CAST(NULL AS type)");
        int col = -1;
        if (it->expr->kind == AST_COLUMN && !grouped && e->index < p->in.nfields)
            col = e->index;
        else if (it->expr->kind == AST_COLUMN && e->index < p->nkeys)
            col = p->key_cols[e->index];
        if (output_name(it, i, p, col, &name) < 0)
            return fail_at(err, 0, 0, "out of memory");
        add_output(p, e, name, cap);
    }
    return 0;
}

/* Output names must be unique unless a declared sink gives the names (by position). */
static int check_output_names(struct plan *p, const struct ast_insert *ins, struct sql_error *err)
{
    int nstar = p->in.nfields + (p->tvf ? TVF_NCOLUMNS : 0);
    for (int i = 0; i < p->nitems; i++)
        for (int j = 0; j < i; j++)
            if (strcasecmp(p->out.fields[i].name, p->out.fields[j].name) == 0) {
                const struct ast *at = NULL;
                int k = 0;
                for (int s = 0; s < ins->nitems && !at; s++) {
                    k += ins->items[s].expr->kind == AST_STAR ? nstar : 1;
                    if (k > i)
                        at = ins->items[s].expr;
                }
                return fail_at(err, at ? at->line : 0, at ? at->column : 0,
                               "duplicate output column \"%s\"; use AS to give it another name",
                               p->out.fields[i].name);
            }
    return 0;
}

/* When the sink stream is declared, the query must fit it (BIGINT widens to DOUBLE). */
static int check_sink(struct plan *p, const struct ast_insert *ins, const struct schema *sink,
                      struct sql_error *err)
{
    const struct token *t = ins->sink_token;
    if (sink->nfields != p->nitems)
        return fail_tok(err, t, "stream \"%s\" has %d column%s but the query gives %d", ins->sink, sink->nfields,
                        sink->nfields == 1 ? "" : "s", p->nitems);
    for (int i = 0; i < p->nitems; i++) {
        enum value_type want = sink->fields[i].type, got = p->items[i]->type;
        if (got != want && !(got == VT_BIGINT && want == VT_DOUBLE))
            return fail_tok(err, t, "column %d (\"%s\") of stream \"%s\" is %s but the query gives %s", i + 1,
                            sink->fields[i].name, ins->sink, sql_type_name(want), sql_type_name(got));
        struct ast at = {.line = t->line, .column = t->column};
        if (!(p->items[i] = expr_promote(&p->compiler, &at, p->items[i], want)))
            return -1;
        free(p->out.fields[i].name);
        p->out.fields[i].name = strdup(sink->fields[i].name);
        p->out.fields[i].type = want;
        if (!p->out.fields[i].name)
            return fail_at(err, 0, 0, "out of memory");
    }
    return 0;
}

/* WHERE / HAVING: a BOOLEAN expression in the compiler's current scope. */
static int compile_condition(struct plan *p, const struct ast *a, const char *clause, struct expr **out)
{
    p->compiler.clause = clause;
    if (expr_compile(&p->compiler, a, out) < 0)
        return -1;
    const struct ast *start = a; /* point at where the condition starts, not at its operator */
    while ((start->kind == AST_BINARY || start->kind == AST_IS_NULL || start->kind == AST_LIKE ||
            start->kind == AST_IN || start->kind == AST_BETWEEN) && start->nargs > 0)
        start = start->args[0];
    if ((*out)->type != VT_BOOLEAN && (*out)->type != VT_NULL)
        return fail_at(p->compiler.err, start->line, start->column, "%s must be a BOOLEAN condition, found %s", clause,
                       sql_type_name((*out)->type));
    return 0;
}

struct plan *plan_compile(const char *sql, sql_catalog_fn catalog, void *ctx, struct sql_error *err)
{
    struct sql_error local;
    if (!err)
        err = &local;
    memset(err, 0, sizeof *err);
    struct arena *tmp = arena_new(16384);
    struct plan *p = calloc(1, sizeof *p);
    struct ast_insert *ins;
    if (!tmp || !p) {
        fail_at(err, 0, 0, "out of memory");
        goto fail;
    }
    p->rowtime = -1;
    p->max_ts = INT64_MIN;
    p->stats.watermark_ms = INT64_MIN;
    if (!(p->arena = arena_new(16384)) || !(p->sql = strdup(sql))) {
        fail_at(err, 0, 0, "out of memory");
        goto fail;
    }
    p->compiler.arena = p->arena;
    p->compiler.err = err;
    p->compiler.ctx = p;
    if (parser_parse_insert(sql, tmp, &ins, err) < 0)
        goto fail;
    const struct schema *in = catalog ? catalog(ctx, ins->source) : NULL;
    if (!in) {
        fail_tok(err, ins->source_token, "stream \"%s\" not found", ins->source);
        goto fail;
    }
    if (!(p->source = strdup(ins->source)) || !(p->sink = strdup(ins->sink)) || schema_copy(&p->in, in) < 0 ||
        !(p->needed = calloc((size_t)in->nfields + 1, 1))) {
        fail_at(err, 0, 0, "out of memory");
        goto fail;
    }
    if (ins->source_alias && !(p->alias = strdup(ins->source_alias))) {
        fail_at(err, 0, 0, "out of memory");
        goto fail;
    }
    int grouped = ins->ngroup_by > 0 || ins->having;
    for (int i = 0; i < ins->nitems && !grouped; i++)
        grouped = ast_has_aggregate(ins->items[i].expr);
    if (ins->window != WINDOW_NONE && compile_window(p, ins, err) < 0)
        goto fail;
    p->tvf = p->window != WINDOW_NONE && !grouped;
    if (p->tvf && !(p->tvfrow = calloc((size_t)p->in.nfields + TVF_NCOLUMNS, sizeof *p->tvfrow))) {
        fail_at(err, 0, 0, "out of memory");
        goto fail;
    }
    p->compiler.resolve_column = resolve_input_column;
    p->compiler.resolve_aggregate = NULL;
    if (ins->where && compile_condition(p, ins->where, "WHERE", &p->where) < 0)
        goto fail;
    if (grouped) {
        if (ins->ngroup_by == 0) {
            fail_at(err, ins->items[0].expr->line, ins->items[0].expr->column,
                    "aggregates need GROUP BY window_start, window_end over TUMBLE, HOP or CUMULATE");
            goto fail;
        }
        if (compile_group_by(p, ins, err) < 0)
            goto fail;
    }
    if (compile_select(p, ins, grouped, err) < 0)
        goto fail;
    if (ins->having && compile_condition(p, ins->having, "HAVING", &p->having) < 0)
        goto fail;
    if (grouped) {
        p->aggargs = calloc((size_t)p->naggs + 1, sizeof *p->aggargs);
        p->postrow = calloc((size_t)(p->nkeys + 2 + p->naggs), sizeof *p->postrow);
        if (!p->aggargs || !p->postrow) {
            fail_at(err, 0, 0, "out of memory");
            goto fail;
        }
    }
    if (strcasecmp(ins->sink, ins->source) == 0) {
        fail_tok(err, ins->sink_token, "a pipeline cannot write to the stream it reads (\"%s\")", ins->sink);
        goto fail;
    }
    const struct schema *sink = catalog ? catalog(ctx, ins->sink) : NULL;
    if (sink ? check_sink(p, ins, sink, err) < 0 : check_output_names(p, ins, err) < 0)
        goto fail;
    /* fingerprint: what a snapshot must match */
    uint64_t h = 0xcbf29ce484222325ULL;
    h = hash_bytes(h, sql, strlen(sql));
    for (int i = 0; i < p->in.nfields; i++) {
        h = hash_bytes(h, p->in.fields[i].name, strlen(p->in.fields[i].name));
        h = hash_bytes(h, &p->in.fields[i].type, sizeof p->in.fields[i].type);
    }
    p->fingerprint = h;
    arena_free(tmp);
    return p;
fail:
    arena_free(tmp);
    plan_free(p);
    return NULL;
}

int sql_validate(const char *sql, sql_catalog_fn catalog, void *ctx, struct sql_error *err)
{
    struct plan *p = plan_compile(sql, catalog, ctx, err);
    if (!p)
        return -1;
    plan_free(p);
    return 0;
}

/* ---- Window state ----------------------------------------------------------------------*/

static void value_release(struct value *v)
{
    if (v->type == VT_STRING)
        free((void *)v->u.s.ptr);
    v->type = VT_NULL;
}

/* Copies v so that it owns its string. Returns 0 or -1. */
static int value_own(struct value *dst, const struct value *v)
{
    *dst = *v;
    if (v->type != VT_STRING)
        return 0;
    char *m = malloc(v->u.s.len + 1);
    if (!m)
        return -1;
    memcpy(m, v->u.s.ptr, v->u.s.len);
    m[v->u.s.len] = '\0';
    dst->u.s.ptr = m;
    return 0;
}

static void value_set_free(struct value_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->cap; i++)
        value_release(&s->vals[i]);
    free(s->vals);
    free(s);
}

/* Adds v (non-null) to the set. Returns 0 or -1 (no memory). */
static int value_set_add(struct value_set *s, const struct value *v)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct value *vals = calloc(cap, sizeof *vals);
        if (!vals)
            return -1;
        for (size_t i = 0; i < s->cap; i++) {
            if (s->vals[i].type == VT_NULL)
                continue;
            size_t k = value_hash(&s->vals[i], 0) & (cap - 1);
            while (vals[k].type != VT_NULL)
                k = (k + 1) & (cap - 1);
            vals[k] = s->vals[i];
        }
        free(s->vals);
        s->vals = vals;
        s->cap = cap;
    }
    size_t k = value_hash(v, 0) & (s->cap - 1);
    while (s->vals[k].type != VT_NULL) {
        if (value_compare(&s->vals[k], v) == 0)
            return 0;
        k = (k + 1) & (s->cap - 1);
    }
    if (value_own(&s->vals[k], v) < 0)
        return -1;
    s->n++;
    return 0;
}

static void group_free(const struct plan *p, struct group *g)
{
    for (int i = 0; i < p->nkeys; i++)
        value_release(&g->keys[i]);
    for (int i = 0; i < p->naggs; i++) {
        value_release(&g->aggs[i].best);
        value_set_free(g->aggs[i].set);
    }
    free(g);
}

static void window_release(const struct plan *p, struct window *w)
{
    for (struct group *g = w->first, *n; g; g = n) {
        n = g->next;
        group_free(p, g);
    }
    free(w->buckets);
    memset(w, 0, sizeof *w);
}

/* The open window [start, end), created when missing. NULL on out of memory. */
static struct window *window_get(struct plan *p, int64_t start, int64_t end)
{
    int i = p->nwindows;
    while (i > 0 && (p->windows[i - 1].end > end || (p->windows[i - 1].end == end && p->windows[i - 1].start > start)))
        i--;
    if (i > 0 && p->windows[i - 1].end == end && p->windows[i - 1].start == start)
        return &p->windows[i - 1];
    if (p->nwindows == p->capwindows) {
        int cap = p->capwindows ? p->capwindows * 2 : 8;
        struct window *n = realloc(p->windows, (size_t)cap * sizeof *n);
        if (!n)
            return NULL;
        p->windows = n;
        p->capwindows = cap;
    }
    memmove(&p->windows[i + 1], &p->windows[i], (size_t)(p->nwindows - i) * sizeof *p->windows);
    p->nwindows++;
    struct window *w = &p->windows[i];
    memset(w, 0, sizeof *w);
    w->start = start;
    w->end = end;
    return w;
}

static uint64_t keys_hash(const struct plan *p, const struct value *keys)
{
    uint64_t h = 0x12345;
    for (int i = 0; i < p->nkeys; i++)
        h = value_hash(&keys[i], h);
    return h;
}

static int keys_equal(const struct plan *p, const struct value *a, const struct value *b)
{
    for (int i = 0; i < p->nkeys; i++)
        if (!value_equal(&a[i], &b[i]))
            return 0;
    return 1;
}

static struct group *group_new(const struct plan *p, uint64_t hash)
{
    size_t size = sizeof(struct group) + (size_t)p->nkeys * sizeof(struct value) +
                  (size_t)p->naggs * sizeof(struct agg_state);
    struct group *g = calloc(1, size);
    if (!g)
        return NULL;
    g->hash = hash;
    g->keys = (struct value *)(g + 1);
    g->aggs = (struct agg_state *)(g->keys + p->nkeys);
    return g;
}

static void window_link(struct window *w, struct group *g)
{
    if ((w->ngroups + 1) * 4 > w->nbuckets * 3) {
        size_t nb = w->nbuckets ? w->nbuckets * 2 : 16;
        struct group **b = calloc(nb, sizeof *b);
        if (b) {
            for (struct group *x = w->first; x; x = x->next) {
                x->hnext = b[x->hash & (nb - 1)];
                b[x->hash & (nb - 1)] = x;
            }
            free(w->buckets);
            w->buckets = b;
            w->nbuckets = nb;
        }
    }
    g->hnext = w->buckets[g->hash & (w->nbuckets - 1)];
    w->buckets[g->hash & (w->nbuckets - 1)] = g;
    if (w->last)
        w->last->next = g;
    else
        w->first = g;
    w->last = g;
    w->ngroups++;
}

/* The group of keys in w, created (owning copies of the keys) when missing. */
static struct group *window_group(struct plan *p, struct window *w, const struct value *keys, uint64_t h)
{
    if (w->nbuckets)
        for (struct group *g = w->buckets[h & (w->nbuckets - 1)]; g; g = g->hnext)
            if (g->hash == h && keys_equal(p, g->keys, keys))
                return g;
    if (!w->nbuckets) {
        w->buckets = calloc(16, sizeof *w->buckets);
        if (!w->buckets)
            return NULL;
        w->nbuckets = 16;
    }
    struct group *g = group_new(p, h);
    if (!g)
        return NULL;
    for (int i = 0; i < p->nkeys; i++)
        if (value_own(&g->keys[i], &keys[i]) < 0) {
            group_free(p, g);
            return NULL;
        }
    window_link(w, g);
    return g;
}

static int agg_update(const struct agg_slot *s, struct agg_state *st, const struct value *v)
{
    if (s->kind == AGG_COUNT && !s->arg) {
        st->count++;
        return 0;
    }
    if (v->type == VT_NULL)
        return 0;
    switch (s->kind) {
    case AGG_COUNT:
        if (s->distinct) {
            if (!st->set && !(st->set = calloc(1, sizeof *st->set)))
                return -1;
            return value_set_add(st->set, v);
        }
        st->count++;
        return 0;
    case AGG_SUM:
    case AGG_AVG:
        if (v->type == VT_DOUBLE)
            st->sum.d += v->u.d;
        else
            st->sum.i = (int64_t)((uint64_t)st->sum.i + (uint64_t)v->u.i); /* wraps like Flink's SUM */
        st->count++;
        return 0;
    case AGG_MIN:
    case AGG_MAX: {
        if (st->count > 0) {
            int r = value_compare(v, &st->best);
            if ((s->kind == AGG_MIN && r >= 0) || (s->kind == AGG_MAX && r <= 0))
                return 0;
        }
        struct value copy;
        if (value_own(&copy, v) < 0)
            return -1;
        value_release(&st->best);
        st->best = copy;
        st->count++;
        return 0;
    }
    default:
        return 0;
    }
}

static void agg_result(const struct agg_slot *s, const struct agg_state *st, struct value *out)
{
    out->type = s->result;
    switch (s->kind) {
    case AGG_COUNT:
        out->u.i = s->distinct ? (int64_t)(st->set ? st->set->n : 0) : st->count;
        return;
    case AGG_SUM:
        if (!st->count)
            out->type = VT_NULL;
        else if (s->result == VT_DOUBLE)
            out->u.d = st->sum.d;
        else
            out->u.i = st->sum.i;
        return;
    case AGG_AVG:
        if (!st->count)
            out->type = VT_NULL;
        else if (s->result == VT_DOUBLE)
            out->u.d = st->sum.d / (double)st->count;
        else
            out->u.i = st->sum.i / st->count;
        return;
    default:
        if (!st->count)
            out->type = VT_NULL;
        else
            *out = st->best;
        return;
    }
}

/* Emits the rows of window w (HAVING, SELECT) and frees its state. */
static int window_fire(struct plan *p, struct window *w, struct arena *scratch, plan_emit_fn emit,
                       void *ctx, struct sql_error *err)
{
    struct eval_ctx ec = {.row = p->postrow, .scratch = scratch, .err = err};
    int rc = 0;
    for (struct group *g = w->first; g && rc == 0; g = g->next) {
        memcpy(p->postrow, g->keys, (size_t)p->nkeys * sizeof *g->keys);
        p->postrow[p->nkeys].type = VT_TIMESTAMP;
        p->postrow[p->nkeys].u.i = w->start;
        p->postrow[p->nkeys + 1].type = VT_TIMESTAMP;
        p->postrow[p->nkeys + 1].u.i = w->end;
        for (int i = 0; i < p->naggs; i++)
            agg_result(&p->aggs[i], &g->aggs[i], &p->postrow[p->nkeys + 2 + i]);
        if (p->having) {
            struct value h;
            if (expr_eval(p->having, &ec, &h) < 0) {
                p->stats.eval_errors++;
                continue;
            }
            if (h.type != VT_BOOLEAN || !h.u.b)
                continue;
        }
        int bad = 0;
        for (int i = 0; i < p->nitems && !bad; i++)
            bad = expr_eval(p->items[i], &ec, &p->outrow[i]) < 0;
        if (bad) {
            p->stats.eval_errors++;
            continue;
        }
        p->stats.rows_out++;
        rc = emit(ctx, p->outrow);
        if (rc < 0)
            fail_at(err, 0, 0, "output rejected the row");
    }
    window_release(p, w);
    return rc;
}

/* Fires (in end order) every window whose end <= limit. */
static int fire_until(struct plan *p, int64_t limit, struct arena *scratch, plan_emit_fn emit, void *ctx,
                      struct sql_error *err)
{
    int n = 0, rc = 0;
    while (n < p->nwindows && p->windows[n].end <= limit) {
        if (rc == 0)
            rc = window_fire(p, &p->windows[n], scratch, emit, ctx, err);
        else
            window_release(p, &p->windows[n]);
        n++;
    }
    if (n) {
        memmove(p->windows, p->windows + n, (size_t)(p->nwindows - n) * sizeof *p->windows);
        p->nwindows -= n;
    }
    return rc;
}

/* ---- Execution -------------------------------------------------------------------------*/

/* Adds the current row (keys kv with hash h, aggregate arguments in p->aggargs) to window
 * [start, end). Returns 0 or -1 (no memory). */
static int window_add(struct plan *p, int64_t start, int64_t end, const struct value *kv, uint64_t h)
{
    struct window *w = window_get(p, start, end);
    struct group *g = w ? window_group(p, w, kv, h) : NULL;
    if (!g)
        return -1;
    for (int i = 0; i < p->naggs; i++)
        if (agg_update(&p->aggs[i], &g->aggs[i], &p->aggargs[i]) < 0)
            return -1;
    return 0;
}

/* The windows of event time ts whose end is after wm, into p->bounds; returns how many. */
static int window_list(struct plan *p, int64_t ts, int64_t wm)
{
    int n = 0;
    if (p->window == WINDOW_CUMULATE) {
        /* windows [s, s + step * k) for k = 1 .. max / step, s = start of the max window */
        int64_t s = floor_div(ts, p->win_b) * p->win_b;
        for (int64_t end = s + p->win_b; end > ts && end > s && end > wm; end -= p->win_a)
            p->bounds[n++] = (struct window_bounds){s, end};
    } else {
        int64_t size = p->window == WINDOW_HOP ? p->win_b : p->win_a;
        for (int64_t s = floor_div(ts, p->win_a) * p->win_a; s > ts - size && s + size > wm; s -= p->win_a)
            p->bounds[n++] = (struct window_bounds){s, s + size};
    }
    return n;
}

/* The row's event time, checked. Returns 0 or -1 (counted as an evaluation error). */
static int event_time(struct plan *p, const struct value *row, int64_t *ts, struct sql_error *err)
{
    const struct value *v = &row[p->rowtime];
    const char *name = p->in.fields[p->rowtime].name;
    if (v->type != VT_TIMESTAMP) {
        p->stats.eval_errors++;
        return fail_at(err, 0, 0, "event-time column \"%s\" is NULL", name);
    }
    if (v->u.i < -PLAN_MAX_EVENT_TIME || v->u.i > PLAN_MAX_EVENT_TIME) {
        p->stats.eval_errors++;
        return fail_at(err, 0, 0, "event time %lld of column \"%s\" is out of range", (long long)v->u.i, name);
    }
    *ts = v->u.i;
    return 0;
}

/* Moves the watermark to ts - delay when that is later; fires due windows (aggregates). */
static int advance_watermark(struct plan *p, int64_t ts, struct arena *scratch, plan_emit_fn emit, void *ctx,
                             struct sql_error *err)
{
    if (ts <= p->max_ts)
        return 0;
    p->max_ts = ts;
    if (ts - p->delay <= p->stats.watermark_ms)
        return 0;
    p->stats.watermark_ms = ts - p->delay;
    return p->tvf ? 0 : fire_until(p, p->stats.watermark_ms, scratch, emit, ctx, err);
}

/* Emits the current output row; -1 with err filled when the output refuses it. */
static int emit_row(struct plan *p, plan_emit_fn emit, void *ctx, struct sql_error *err)
{
    p->stats.rows_out++;
    if (emit(ctx, p->outrow) < 0)
        return fail_at(err, 0, 0, "output rejected the row");
    return 0;
}

/* Evaluates the SELECT list over ec->row into p->outrow. */
static int project(struct plan *p, struct eval_ctx *ec)
{
    for (int i = 0; i < p->nitems; i++)
        if (expr_eval(p->items[i], ec, &p->outrow[i]) < 0) {
            p->stats.eval_errors++;
            return -1;
        }
    return 0;
}

/* Window table function without GROUP BY: the row once per window, with its bounds. */
static int process_tvf(struct plan *p, const struct value *row, struct arena *scratch, plan_emit_fn emit,
                       void *ctx, struct sql_error *err)
{
    struct eval_ctx ec = {.row = p->tvfrow, .scratch = scratch, .err = err};
    int64_t ts;
    int nf = p->in.nfields;
    if (event_time(p, row, &ts, err) < 0)
        return -1;
    memcpy(p->tvfrow, row, (size_t)nf * sizeof *row);
    int n = window_list(p, ts, INT64_MIN);
    for (int i = 0; i < n; i++) {
        p->tvfrow[nf] = (struct value){.type = VT_TIMESTAMP, .u.i = p->bounds[i].start};
        p->tvfrow[nf + 1] = (struct value){.type = VT_TIMESTAMP, .u.i = p->bounds[i].end};
        p->tvfrow[nf + 2] = (struct value){.type = VT_TIMESTAMP, .u.i = p->bounds[i].end - 1};
        if (p->where) {
            struct value w;
            if (expr_eval(p->where, &ec, &w) < 0) {
                p->stats.eval_errors++;
                return -1;
            }
            if (w.type != VT_BOOLEAN || !w.u.b)
                continue;
        }
        if (project(p, &ec) < 0 || emit_row(p, emit, ctx, err) < 0)
            return -1;
    }
    return advance_watermark(p, ts, scratch, emit, ctx, err);
}

static int process_windowed(struct plan *p, const struct value *row, struct arena *scratch,
                             plan_emit_fn emit, void *ctx, struct sql_error *err, int pass)
{
    struct eval_ctx ec = {.row = row, .scratch = scratch, .err = err};
    int64_t ts;
    if (event_time(p, row, &ts, err) < 0)
        return -1;
    if (pass) {
        struct value keys[64];
        if (p->nkeys > 64)
            return fail_at(err, 0, 0, "too many GROUP BY keys");
        for (int i = 0; i < p->naggs; i++)
            if (p->aggs[i].arg && expr_eval(p->aggs[i].arg, &ec, &p->aggargs[i]) < 0) {
                p->stats.eval_errors++;
                return -1;
            }
        for (int i = 0; i < p->nkeys; i++)
            keys[i] = row[p->key_cols[i]];
        uint64_t h = keys_hash(p, keys);
        int n = window_list(p, ts, p->stats.watermark_ms);
        for (int i = 0; i < n; i++)
            if (window_add(p, p->bounds[i].start, p->bounds[i].end, keys, h) < 0)
                return fail_at(err, 0, 0, "out of memory");
        if (n == 0)
            p->stats.late_dropped++;
    }
    return advance_watermark(p, ts, scratch, emit, ctx, err);
}

int plan_process(struct plan *p, const struct value *row, struct arena *scratch,
                 plan_emit_fn emit, void *ctx, struct sql_error *err)
{
    struct eval_ctx ec = {.row = row, .scratch = scratch, .err = err};
    int pass = 1;
    p->stats.rows_in++;
    if (p->tvf)
        return process_tvf(p, row, scratch, emit, ctx, err);
    if (p->where) {
        struct value w;
        if (expr_eval(p->where, &ec, &w) < 0) {
            p->stats.eval_errors++;
            return -1;
        }
        pass = w.type == VT_BOOLEAN && w.u.b;
    }
    if (p->window != WINDOW_NONE)
        return process_windowed(p, row, scratch, emit, ctx, err, pass);
    if (!pass)
        return 0;
    if (project(p, &ec) < 0)
        return -1;
    return emit_row(p, emit, ctx, err);
}

int plan_finish(struct plan *p, struct arena *scratch, plan_emit_fn emit, void *ctx)
{
    struct sql_error err;
    if (p->window == WINDOW_NONE || p->tvf)
        return 0;
    return fire_until(p, INT64_MAX, scratch, emit, ctx, &err);
}

void plan_free(struct plan *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nwindows; i++)
        window_release(p, &p->windows[i]);
    free(p->windows);
    expr_compiler_cleanup(&p->compiler);
    arena_free(p->arena);
    free(p->source);
    free(p->sink);
    free(p->sql);
    free(p->alias);
    schema_free_fields(&p->in);
    schema_free_fields(&p->out);
    free(p->needed);
    free(p->items);
    free(p->outrow);
    free(p->key_cols);
    free(p->aggs);
    free(p->aggargs);
    free(p->postrow);
    free(p->bounds);
    free(p->tvfrow);
    free(p);
}

const char *plan_source(const struct plan *p) { return p->source; }
const char *plan_sink(const struct plan *p) { return p->sink; }
const struct schema *plan_input_schema(const struct plan *p) { return &p->in; }
const struct schema *plan_output_schema(const struct plan *p) { return &p->out; }
const unsigned char *plan_needed_fields(const struct plan *p) { return p->needed; }
int plan_is_windowed(const struct plan *p) { return p->window != WINDOW_NONE; }
void plan_stats(const struct plan *p, struct plan_stats *out) { *out = p->stats; }

/* ---- Snapshot and restore ----------------------------------------------------------------
 * Format (native byte order, same build): "SQLPLAN1", fingerprint, stats, max_ts, nwindows,
 * then per window: start, end, ngroups, and per group: keys, then per aggregate: count, sum,
 * best value, distinct count and values. A value is a type byte and its payload. */

struct buf {
    char *p;
    size_t len, cap;
    int oom;
};

static void put(struct buf *b, const void *d, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void put_i64(struct buf *b, int64_t v) { put(b, &v, sizeof v); }

static void put_value(struct buf *b, const struct value *v)
{
    unsigned char t = (unsigned char)v->type;
    put(b, &t, 1);
    if (v->type == VT_STRING) {
        put(b, &v->u.s.len, sizeof v->u.s.len);
        put(b, v->u.s.ptr, v->u.s.len);
    } else if (v->type == VT_DOUBLE) {
        put(b, &v->u.d, sizeof v->u.d);
    } else if (v->type == VT_BOOLEAN) {
        unsigned char x = v->u.b;
        put(b, &x, 1);
    } else if (v->type != VT_NULL) {
        put_i64(b, v->u.i);
    }
}

int plan_snapshot(const struct plan *p, char **out, size_t *len)
{
    struct buf b = {0};
    put(&b, "SQLPLAN1", 8);
    put(&b, &p->fingerprint, sizeof p->fingerprint);
    put(&b, &p->stats, sizeof p->stats);
    put_i64(&b, p->max_ts);
    put_i64(&b, p->nwindows);
    for (int i = 0; i < p->nwindows; i++) {
        const struct window *w = &p->windows[i];
        put_i64(&b, w->start);
        put_i64(&b, w->end);
        put_i64(&b, (int64_t)w->ngroups);
        for (const struct group *g = w->first; g; g = g->next) {
            for (int k = 0; k < p->nkeys; k++)
                put_value(&b, &g->keys[k]);
            for (int a = 0; a < p->naggs; a++) {
                const struct agg_state *st = &g->aggs[a];
                put_i64(&b, st->count);
                put(&b, &st->sum, sizeof st->sum);
                put_value(&b, &st->best);
                put_i64(&b, st->set ? (int64_t)st->set->n : 0);
                for (size_t s = 0; st->set && s < st->set->cap; s++)
                    if (st->set->vals[s].type != VT_NULL)
                        put_value(&b, &st->set->vals[s]);
            }
        }
    }
    if (b.oom) {
        free(b.p);
        return -1;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}

struct reader {
    const char *p;
    size_t len, pos;
    int bad;
};

static void get(struct reader *r, void *d, size_t n)
{
    if (r->bad || r->len - r->pos < n) {
        r->bad = 1;
        memset(d, 0, n);
        return;
    }
    memcpy(d, r->p + r->pos, n);
    r->pos += n;
}

static int64_t get_i64(struct reader *r)
{
    int64_t v;
    get(r, &v, sizeof v);
    return v;
}

/* A value whose string points into the snapshot buffer (copied by the caller). */
static void get_value(struct reader *r, struct value *v)
{
    unsigned char t;
    get(r, &t, 1);
    memset(v, 0, sizeof *v);
    v->type = (enum value_type)t;
    switch (v->type) {
    case VT_NULL:
        return;
    case VT_STRING:
        get(r, &v->u.s.len, sizeof v->u.s.len);
        if (r->bad || r->len - r->pos < v->u.s.len) {
            r->bad = 1;
            v->type = VT_NULL;
            return;
        }
        v->u.s.ptr = r->p + r->pos;
        r->pos += v->u.s.len;
        return;
    case VT_DOUBLE:
        get(r, &v->u.d, sizeof v->u.d);
        return;
    case VT_BOOLEAN: {
        unsigned char x;
        get(r, &x, 1);
        v->u.b = x != 0;
        return;
    }
    case VT_BIGINT:
    case VT_TIMESTAMP:
        v->u.i = get_i64(r);
        return;
    default:
        r->bad = 1;
        v->type = VT_NULL;
    }
}

int plan_restore(struct plan *p, const char *data, size_t len, struct sql_error *err)
{
    struct reader r = {data, len, 0, 0};
    char magic[8];
    uint64_t fp;
    struct sql_error local;
    if (!err)
        err = &local;
    get(&r, magic, 8);
    get(&r, &fp, sizeof fp);
    if (r.bad || memcmp(magic, "SQLPLAN1", 8) != 0)
        return fail_at(err, 0, 0, "checkpoint state is not a plan snapshot");
    if (fp != p->fingerprint)
        return fail_at(err, 0, 0, "checkpoint state was written by a different query or schema");
    if (p->nwindows)
        return fail_at(err, 0, 0, "plan_restore needs a freshly compiled plan");
    struct plan_stats stats;
    get(&r, &stats, sizeof stats);
    int64_t max_ts = get_i64(&r), nwin = get_i64(&r);
    if (nwin < 0 || (nwin > 0 && p->window == WINDOW_NONE))
        r.bad = 1;
    for (int64_t i = 0; i < nwin && !r.bad; i++) {
        int64_t start = get_i64(&r), end = get_i64(&r), ngroups = get_i64(&r);
        struct window *w = r.bad ? NULL : window_get(p, start, end);
        if (!w || ngroups < 0) {
            r.bad = 1;
            break;
        }
        for (int64_t g = 0; g < ngroups && !r.bad; g++) {
            struct value keys[64];
            if (p->nkeys > 64) {
                r.bad = 1;
                break;
            }
            for (int k = 0; k < p->nkeys; k++)
                get_value(&r, &keys[k]);
            if (r.bad)
                break;
            struct group *grp = window_group(p, w, keys, keys_hash(p, keys));
            if (!grp) {
                r.bad = 1;
                break;
            }
            for (int a = 0; a < p->naggs && !r.bad; a++) {
                struct agg_state *st = &grp->aggs[a];
                struct value best;
                st->count = get_i64(&r);
                get(&r, &st->sum, sizeof st->sum);
                get_value(&r, &best);
                if (!r.bad && value_own(&st->best, &best) < 0)
                    r.bad = 1;
                int64_t nset = get_i64(&r);
                for (int64_t s = 0; s < nset && !r.bad; s++) {
                    struct value v;
                    get_value(&r, &v);
                    if (r.bad || v.type == VT_NULL ||
                        (!st->set && !(st->set = calloc(1, sizeof *st->set))) || value_set_add(st->set, &v) < 0)
                        r.bad = 1;
                }
            }
        }
    }
    if (r.bad || r.pos != len) {
        for (int i = 0; i < p->nwindows; i++)
            window_release(p, &p->windows[i]);
        p->nwindows = 0;
        return fail_at(err, 0, 0, "checkpoint state is truncated or corrupt");
    }
    p->stats = stats;
    p->max_ts = max_ts;
    return 0;
}
