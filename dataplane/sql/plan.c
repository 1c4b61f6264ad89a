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
#include "dataplane/codec/timestamp.h"
#include "dataplane/sql/compile.h"
#include "dataplane/sql/eval.h"
#include "dataplane/sql/functions.h"
#include "dataplane/sql/lexer.h"
#include "dataplane/sql/parser.h"
#include "dataplane/sql/window.h"

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
    enum value_type *key_types;
    int nkeys;
    struct agg_slot *aggs;
    int naggs, capaggs;
    struct window_table table;
    struct value *aggargs;
    struct value *postrow; /* keys, window_start, window_end, aggregates */
    struct window_bounds {
        int64_t start, end;
    } * bounds;           /* the windows of the current row */
    int tvf;              /* window table function without GROUP BY: one row per (row, window) */
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

/* The text forms sql.h offers its users: the value helpers and the timestamp codec's, by the
 * names the SQL front end has always given them. */
const char *sql_type_name(enum value_type t) { return value_type_name(t); }
size_t sql_format_double(double d, char *buf) { return value_format_double(d, buf); }
size_t sql_format_timestamp(int64_t ms, char *buf) { return timestamp_format(ms, buf); }
int sql_parse_timestamp(const char *s, size_t len, int64_t *ms)
{
    return timestamp_parse_text(s, len, TIMESTAMP_TEXT_SQL, ms);
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
        return compile_fail(c, col,
                            "column \"%s\" can only be used in the SELECT list and GROUP BY of a windowed aggregate",
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

static int resolve_input_column(struct expr_compiler *c, const struct ast *col, int *index, enum value_type *type)
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
static int resolve_group_column(struct expr_compiler *c, const struct ast *col, int *index, enum value_type *type)
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
    return compile_fail(c, col, "column \"%s\" must appear in GROUP BY or be used in an aggregate function", col->name);
}

static int resolve_aggregate(struct expr_compiler *c, const struct ast *call, int *index, enum value_type *type)
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
                        ins->descriptor, value_type_name(p->in.fields[col].type));
    if (p->in.rowtime_field < 0)
        return fail_tok(err, ins->window_token,
                        "windowed query on stream \"%s\" needs a watermark; declare one such as "
                        "WATERMARK FOR %s AS %s - INTERVAL '5' SECOND",
                        p->source, p->in.fields[col].name, p->in.fields[col].name);
    if (p->in.rowtime_field != col)
        return fail_tok(
            err, ins->descriptor_token,
            "window column \"%s\" is not the event-time column of stream \"%s\" (the one its WATERMARK is declared on)",
            ins->descriptor, p->source);
    p->window = ins->window;
    p->win_a = ins->window_a_ms;
    p->win_b = ins->window_b_ms;
    p->rowtime = col;
    p->delay = p->in.watermark_delay_ms;
    p->needed[col] = 1;
    if (ins->window == WINDOW_SESSION) {
        p->table.gap = p->win_a;
        p->bounds = calloc(1, sizeof *p->bounds);
        return p->bounds ? 0 : fail_at(err, 0, 0, "out of memory");
    }
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

/* SESSION ... PARTITION BY: each column must be a GROUP BY key; the keys are reordered so
 * that the partition columns come first (the window table's partition prefix). */
static int compile_partition_by(struct plan *p, const struct ast_insert *ins)
{
    for (int i = 0; i < ins->npartition_by; i++) {
        const struct ast *col = ins->partition_by[i];
        int c = find_source_column(&p->compiler, col), k = p->table.npart;
        if (c < 0)
            return -1;
        while (k < p->nkeys && p->key_cols[k] != c)
            k++;
        int seen = 0;
        for (int j = 0; j < p->table.npart; j++)
            seen |= p->key_cols[j] == c;
        if (seen)
            continue;
        if (k == p->nkeys)
            return fail_at(p->compiler.err, col->line, col->column,
                           "PARTITION BY column \"%s\" must also be a GROUP BY key of the SESSION window",
                           p->in.fields[c].name);
        memmove(&p->key_cols[p->table.npart + 1], &p->key_cols[p->table.npart],
                (size_t)(k - p->table.npart) * sizeof *p->key_cols);
        p->key_cols[p->table.npart++] = c;
    }
    return 0;
}

/* Grouping keys (window_start and window_end aside) are gathered per row in a fixed array. */
#define MAX_GROUP_KEYS 64

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
        if (p->nkeys == MAX_GROUP_KEYS)
            return fail_at(err, g->line, g->column, "too many GROUP BY keys (more than %d)", MAX_GROUP_KEYS);
        p->needed[col] = 1;
        p->key_cols[p->nkeys++] = col;
    }
    if (p->window == WINDOW_NONE)
        return fail_tok(err, ins->group_by_token,
                        "GROUP BY without a window is not supported (its result would be an updating table); "
                        "group by window_start, window_end of TUMBLE, HOP, CUMULATE or SESSION");
    if (!has_start || !has_end)
        return fail_tok(err, ins->group_by_token, "a windowed GROUP BY must list both window_start and window_end");
    return p->window == WINDOW_SESSION ? compile_partition_by(p, ins) : 0;
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
                struct ast col = {
                    .kind = AST_COLUMN, .name = fname, .quoted = 1, .line = it->expr->line, .column = it->expr->column};
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
                               "duplicate output column \"%s\"; use AS to give it another name", p->out.fields[i].name);
            }
    return 0;
}

/* When the sink stream is declared, the query must fit it (BIGINT widens to DOUBLE). */
static int check_sink(struct plan *p, const struct ast_insert *ins, const struct schema *sink, struct sql_error *err)
{
    const struct token *t = ins->sink_token;
    if (sink->nfields != p->nitems)
        return fail_tok(err, t, "stream \"%s\" has %d column%s but the query gives %d", ins->sink, sink->nfields,
                        sink->nfields == 1 ? "" : "s", p->nitems);
    for (int i = 0; i < p->nitems; i++) {
        enum value_type want = sink->fields[i].type, got = p->items[i]->type;
        if (!compile_implicit_cast(got, want))
            return fail_tok(err, t, "column %d (\"%s\") of stream \"%s\" is %s but the query gives %s", i + 1,
                            sink->fields[i].name, ins->sink, value_type_name(want), value_type_name(got));
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
            start->kind == AST_IN || start->kind == AST_BETWEEN) &&
           start->nargs > 0)
        start = start->args[0];
    if ((*out)->type != VT_BOOLEAN && (*out)->type != VT_NULL)
        return fail_at(p->compiler.err, start->line, start->column, "%s must be a BOOLEAN condition, found %s", clause,
                       value_type_name((*out)->type));
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
    if (p->tvf && p->window == WINDOW_SESSION) {
        fail_tok(err, ins->window_token,
                 "a SESSION window needs GROUP BY window_start, window_end (a session's bounds are known only when "
                 "it closes)");
        goto fail;
    }
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
                    "aggregates need GROUP BY window_start, window_end over TUMBLE, HOP, CUMULATE or SESSION");
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
    if (!(p->key_types = calloc((size_t)p->nkeys + 1, sizeof *p->key_types))) {
        fail_at(err, 0, 0, "out of memory");
        goto fail;
    }
    for (int i = 0; i < p->nkeys; i++)
        p->key_types[i] = p->in.fields[p->key_cols[i]].type;
    p->table.nkeys = p->nkeys;
    p->table.key_types = p->key_types;
    p->table.naggs = p->naggs;
    p->table.aggs = p->aggs;
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

/* ---- Firing windows ----------------------------------------------------------------------*/

/* Emits the rows of window w (HAVING, SELECT). */
static int window_fire(struct plan *p, struct window *w, struct arena *scratch, plan_emit_fn emit, void *ctx,
                       struct sql_error *err)
{
    struct eval_ctx ec = {.row = p->postrow, .scratch = scratch, .err = err};
    int rc = 0;
    for (struct window_group *g = w->first; g && rc == 0; g = g->next) {
        memcpy(p->postrow, g->keys, (size_t)p->nkeys * sizeof *g->keys);
        p->postrow[p->nkeys].type = VT_TIMESTAMP;
        p->postrow[p->nkeys].u.i = w->start;
        p->postrow[p->nkeys + 1].type = VT_TIMESTAMP;
        p->postrow[p->nkeys + 1].u.i = w->end;
        for (int i = 0; i < p->naggs; i++)
            window_group_result(&p->table, g, i, &p->postrow[p->nkeys + 2 + i]);
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
    return rc;
}

/* Fires (in end order) every window whose end <= limit, and drops their state. */
static int fire_until(struct plan *p, int64_t limit, struct arena *scratch, plan_emit_fn emit, void *ctx,
                      struct sql_error *err)
{
    int n = 0, rc = 0;
    while (n < p->table.nwindows && p->table.windows[n].end - 1 <= limit) { /* Flink: at max timestamp end - 1 */
        if (rc == 0)
            rc = window_fire(p, &p->table.windows[n], scratch, emit, ctx, err);
        n++;
    }
    window_table_drop(&p->table, n);
    return rc;
}

/* ---- Execution -------------------------------------------------------------------------*/

/* The windows of event time ts whose last millisecond (end - 1) is after wm, into p->bounds;
 * returns how many. */
static int window_list(struct plan *p, int64_t ts, int64_t wm)
{
    int n = 0;
    if (p->window == WINDOW_CUMULATE) {
        /* windows [s, s + step * k) for k = 1 .. max / step, s = start of the max window */
        int64_t s = floor_div(ts, p->win_b) * p->win_b;
        for (int64_t end = s + p->win_b; end > ts && end > s && end - 1 > wm; end -= p->win_a)
            p->bounds[n++] = (struct window_bounds){s, end};
    } else {
        int64_t size = p->window == WINDOW_HOP ? p->win_b : p->win_a;
        for (int64_t s = floor_div(ts, p->win_a) * p->win_a; s > ts - size && s + size - 1 > wm; s -= p->win_a)
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
    if (!timestamp_in_range(v->u.i)) { /* years 0000 to 9999: window arithmetic cannot overflow */
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
static int process_tvf(struct plan *p, const struct value *row, struct arena *scratch, plan_emit_fn emit, void *ctx,
                       struct sql_error *err)
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

static int process_windowed(struct plan *p, const struct value *row, struct arena *scratch, plan_emit_fn emit,
                            void *ctx, struct sql_error *err, int pass)
{
    struct eval_ctx ec = {.row = row, .scratch = scratch, .err = err};
    int64_t ts;
    if (event_time(p, row, &ts, err) < 0)
        return -1;
    if (pass) {
        struct value keys[MAX_GROUP_KEYS]; /* compile_group_by caps nkeys */
        for (int i = 0; i < p->naggs; i++)
            if (p->aggs[i].arg && expr_eval(p->aggs[i].arg, &ec, &p->aggargs[i]) < 0) {
                p->stats.eval_errors++;
                return -1;
            }
        for (int i = 0; i < p->nkeys; i++)
            keys[i] = row[p->key_cols[i]];
        uint64_t h = window_keys_hash(&p->table, keys);
        int64_t seq = (int64_t)p->stats.rows_in;
        if (p->window == WINDOW_SESSION) {
            int rc = window_session_add(&p->table, ts, p->stats.watermark_ms, keys, h, p->aggargs, seq);
            if (rc < 0)
                return fail_at(err, 0, 0, "out of memory");
            p->stats.late_dropped += rc == 1;
            return advance_watermark(p, ts, scratch, emit, ctx, err);
        }
        int n = window_list(p, ts, p->stats.watermark_ms);
        for (int i = 0; i < n; i++)
            if (window_table_add(&p->table, p->bounds[i].start, p->bounds[i].end, keys, h, p->aggargs, seq) < 0)
                return fail_at(err, 0, 0, "out of memory");
        if (n == 0)
            p->stats.late_dropped++;
    }
    return advance_watermark(p, ts, scratch, emit, ctx, err);
}

int plan_process(struct plan *p, const struct value *row, struct arena *scratch, plan_emit_fn emit, void *ctx,
                 struct sql_error *err)
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
    window_table_clear(&p->table);
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
    free(p->key_types);
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
 * "SQLPLAN1", fingerprint, counters, max event time, then the window table's byte form. */

int plan_snapshot(const struct plan *p, char **out, size_t *len)
{
    struct window_writer w = {0};
    window_put(&w, "SQLPLAN1", 8);
    window_put(&w, &p->fingerprint, sizeof p->fingerprint);
    window_put(&w, &p->stats, sizeof p->stats);
    window_put(&w, &p->max_ts, sizeof p->max_ts);
    window_table_write(&p->table, &w);
    if (w.oom) {
        free(w.p);
        return -1;
    }
    *out = w.p;
    *len = w.len;
    return 0;
}

int plan_restore(struct plan *p, const char *data, size_t len, struct sql_error *err)
{
    struct window_reader r = {data, len, 0, 0};
    char magic[8];
    uint64_t fp;
    struct plan_stats stats;
    int64_t max_ts;
    window_get(&r, magic, 8);
    window_get(&r, &fp, sizeof fp);
    if (r.bad || memcmp(magic, "SQLPLAN1", 8) != 0)
        return fail_at(err, 0, 0, "checkpoint state is not a plan snapshot");
    if (fp != p->fingerprint)
        return fail_at(err, 0, 0, "checkpoint state was written by a different query or schema");
    if (p->table.nwindows)
        return fail_at(err, 0, 0, "plan_restore needs a freshly compiled plan");
    window_get(&r, &stats, sizeof stats);
    window_get(&r, &max_ts, sizeof max_ts);
    if (r.bad || window_table_read(&p->table, &r) < 0 || r.pos != len ||
        (p->window == WINDOW_NONE && p->table.nwindows > 0)) {
        window_table_clear(&p->table);
        return fail_at(err, 0, 0, "checkpoint state is truncated or corrupt");
    }
    p->stats = stats;
    p->max_ts = max_ts;
    return 0;
}
