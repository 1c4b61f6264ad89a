/* plan.c — the planner and executor: builds the operator tree of an INSERT INTO ... SELECT
 * (query.h) from its SELECT blocks, subqueries, WITH queries, views and UNION ALL; derives
 * the changelog mode of every operator and checks the sink takes it; runs source rows up the
 * tree (filter and projection, window table functions, windowed aggregates fired by the
 * watermark, group aggregates emitting +I/-U/+U/-D); and snapshots and restores the state of
 * every stateful operator for checkpoints. */
#include "dataplane/sql/sql.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"
#include "common/clock.h"
#include "dataplane/codec/timestamp.h"
#include "dataplane/sql/compile.h"
#include "dataplane/sql/eval.h"
#include "dataplane/sql/lexer.h"
#include "dataplane/sql/parser.h"
#include "dataplane/sql/functions.h"
#include "dataplane/sql/group_window.h"
#include "dataplane/sql/join.h"
#include "dataplane/sql/temporal.h"
#include "dataplane/sql/over.h"
#include "dataplane/sql/query.h"
#include "dataplane/sql/rank.h"
#include "dataplane/sql/rownum_where.h"
#include "dataplane/sql/udf.h"

#define MAX_GROUP_KEYS 64

/* Top-N or deduplication over the rows of a subquery (OP_RANK): its input's columns, and the
 * rank number when the outer block reads it. */
struct rank_op {
    struct op op;
    struct rank *rank;
    int *part_cols; /* PARTITION BY columns of its input (plan arena) */
    int npart;
    int window;        /* RANK_WINDOW_TOP_N: fired by the watermark */
    struct schema out; /* fields in the plan's arena */
    struct plan *plan;
};

/* Running OVER aggregates (OP_OVER): its input's columns, then "$over<i>" per aggregate. */
struct over_op {
    struct op op;
    struct over *over;
    int *part_cols; /* PARTITION BY columns of its input (plan arena) */
    int npart;
    struct schema out; /* fields in the plan's arena */
    struct plan *plan;
};

/* A regular join (OP_JOIN) of two blocks: the left block's columns, then the right's. */
struct join_op {
    struct op op;
    struct join *join;
    struct op *left, *right;
    struct schema out;       /* fields in the plan's arena */
    struct join_scope scope; /* out, with each column's side name */
    struct plan *plan;
    int temporal; /* FOR SYSTEM_TIME AS OF (temporal.h): right is a scan that takes row kinds */
    /* equality keys that are plain columns of each side's row (-1: an expression) */
    int key_left[JOIN_MAX_KEYS], key_right[JOIN_MAX_KEYS];
    int nkeys;
    unsigned char *needed; /* per column of out: the block above reads it (plan arena) */
};

/* A stream the plan reads: its schema, the fields read, and its share of the watermark. */
struct plan_src {
    char *name;
    struct schema in;
    unsigned char *needed;
    int rowtime;           /* column of the event time, or -1 */
    int64_t delay, max_ts; /* its watermark delay; the largest event time seen */
    int64_t last_ms;       /* processing time of its last row (the idle timeout) */
    int ended;             /* plan_source_ended: no more rows */
    int preload;           /* a lookup join's table: read to its end first (plan_source_preload) */
    int queried;           /* a lookup join's table queried per key, never read (plan_set_queried) */
    struct value *procrow; /* the row with its PROCTIME() column filled, when it has one */
};

struct plan {
    char *sink, *sql;
    struct schema out;
    struct plan_src *srcs; /* the streams read, in the order FROM names them */
    int nsrcs;
    struct arena *arena; /* expression nodes, constants, names */
    struct expr_compiler compiler;
    struct op *root;
    struct query **queries; /* every block, inputs before the blocks that read them */
    int nqueries, capqueries;
    struct query **scans; /* the blocks that read the source stream */
    int nscans;
    struct union_op **unions;
    int nunions, capunions;
    struct rank_op **ranks; /* in the order they were built (inputs first) */
    int nranks, capranks;
    struct over_op **overs;
    int novers, capovers;
    struct join_op **joins;
    int njoins, capjoins;
    int explain;        /* the statement is EXPLAIN ...: shown, not run */
    int windowed;       /* some block reads a window table function: the watermark is kept */
    int grouped;        /* some block is a group aggregate */
    int proctime;       /* some windowed aggregate is on processing time: the wall clock fires it */
    int64_t proc_limit; /* processing-time windows with end - 1 <= this have fired */
    struct plan_stats stats;
    uint64_t fingerprint;
    struct plan_options opts;
    /* the call in progress (plan_process, plan_finish) */
    plan_emit_fn emit;
    void *emit_ctx;
    struct arena *scratch;
    struct sql_error *err;
    int sink_failed;
    struct sql_error finish_err; /* plan_finish reports no error: where its errors go */
    /* mini-batch (opts.minibatch_size > 0): rows folded into the group aggregates' batches since
     * the last flush, and the processing time of the first of them */
    int64_t batch_rows, batch_since_ms;
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

/* Errors at a line and column, or at a token (lexer.h). */
#define fail_at sql_error_at
#define fail_tok sql_error_tok

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

/* ---- Building the tree -------------------------------------------------------------------*/

struct build {
    struct plan *p;
    const struct ast_insert *ins;
    sql_catalog_fn catalog;
    void *ctx;
    struct sql_error *err;
    int visible; /* the named queries FROM can see: ins->named[0 .. visible) */
};

static struct op *build_query(struct build *b, const struct ast_query *q);

static const struct schema *op_schema(const struct op *o)
{
    if (o->kind == OP_RANK)
        return &((const struct rank_op *)o)->out;
    if (o->kind == OP_OVER)
        return &((const struct over_op *)o)->out;
    if (o->kind == OP_JOIN)
        return &((const struct join_op *)o)->out;
    return o->kind == OP_UNION ? ((const struct union_op *)o)->out : &((const struct query *)o)->out;
}

static int push_ptr(void ***items, int *n, int *cap, void *x)
{
    if (*n == *cap) {
        int ncap = *cap ? *cap * 2 : 4;
        void **m = realloc(*items, (size_t)ncap * sizeof *m);
        if (!m)
            return -1;
        *items = m;
        *cap = ncap;
    }
    (*items)[(*n)++] = x;
    return 0;
}

/* The source stream a FROM names: one of the plan's, added when new (*index: which). */
static int bind_source(struct build *b, const struct ast_select *sel, const struct schema **in, int *index)
{
    struct plan *p = b->p;
    const struct schema *s = b->catalog ? b->catalog(b->ctx, sel->source) : NULL;
    if (!s)
        return fail_tok(b->err, sel->source_token, "stream \"%s\" not found", sel->source);
    for (int i = 0; i < p->nsrcs; i++)
        if (strcasecmp(p->srcs[i].name, sel->source) == 0) {
            *in = &p->srcs[i].in;
            *index = i;
            return 0;
        }
    if (p->nsrcs == PLAN_MAX_SOURCES)
        return fail_tok(b->err, sel->source_token, "a pipeline reads at most %d streams", PLAN_MAX_SOURCES);
    struct plan_src *grown = realloc(p->srcs, (size_t)(p->nsrcs + 1) * sizeof *grown);
    if (!grown)
        return fail_at(b->err, 0, 0, "out of memory");
    p->srcs = grown;
    struct plan_src *src = &p->srcs[p->nsrcs];
    memset(src, 0, sizeof *src);
    p->nsrcs++;
    if (!(src->name = strdup(sel->source)) || schema_copy(&src->in, s) < 0 ||
        !(src->needed = calloc((size_t)s->nfields + 1, 1)))
        return fail_at(b->err, 0, 0, "out of memory");
    src->rowtime = src->in.rowtime_field;
    src->delay = src->in.watermark_delay_ms;
    src->max_ts = INT64_MIN;
    *in = &src->in;
    *index = p->nsrcs - 1;
    return 0;
}

/* The named query (view or WITH) FROM name refers to, among the visible ones, or -1. */
static int find_named(const struct build *b, const char *name)
{
    for (int i = b->visible - 1; i >= 0; i--)
        if (strcasecmp(b->ins->named[i].name, name) == 0)
            return i;
    return -1;
}

/* A copy of cols[0..n) in the plan's arena (NULL when n is 0 or out of memory). */
static int *plan_copy_cols(struct plan *p, const int *cols, int n)
{
    int *copy = n ? arena_alloc(p->arena, (size_t)n * sizeof *copy) : NULL;
    if (copy)
        memcpy(copy, cols, (size_t)n * sizeof *copy);
    return copy;
}

/* The names of columns cols[0..n) of schema in, comma-separated (plan arena); NULL when n is 0
 * or out of memory. A column -1 (an expression) shows as "<expression>". */
static const char *column_list(struct plan *p, const struct schema *in, const int *cols, int n)
{
    char buf[256];
    size_t len = 0;
    buf[0] = '\0';
    for (int k = 0; k < n && len < sizeof buf; k++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", k ? ", " : "",
                                cols[k] >= 0 ? in->fields[cols[k]].name : "<expression>");
    return n ? arena_strndup(p->arena, buf, strlen(buf)) : NULL;
}

/* "GroupAggregate(groupBy=[a, b])", as the operator is named in messages (plan arena). */
static const char *describe_group(struct plan *p, const struct query *q)
{
    char buf[256];
    size_t n = (size_t)snprintf(buf, sizeof buf, "GroupAggregate(groupBy=[");
    for (int k = 0; k < q->nkeys && n < sizeof buf; k++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", k ? ", " : "",
                              q->key_cols[k] >= 0 ? q->in.fields[q->key_cols[k]].name : "<expression>");
    if (n < sizeof buf)
        snprintf(buf + n, sizeof buf - n, "])");
    return arena_strndup(p->arena, buf, strlen(buf));
}

/* Changelog mode of block q from its input's (NULL: the source stream, insert-only). */
static int derive_changelog(struct build *b, struct query *q, const struct op *input, const struct ast_select *sel)
{
    q->groups.append_only = !(input && input->updating);
    if (input && input->updating) {
        if (q->op.kind == OP_WINDOW_TVF || q->op.kind == OP_WINDOW_AGG)
            return fail_tok(b->err, sel->window_token,
                            "a window table function doesn't support consuming update changes produced by node %s "
                            "(line %d, column %d)",
                            input->updating_by, input->updating_line, input->updating_column);
        q->op.updating = 1;
        q->op.updating_by = input->updating_by;
        q->op.updating_line = input->updating_line;
        q->op.updating_column = input->updating_column;
    }
    if (q->op.kind == OP_GROUP_AGG) {
        const struct token *at = sel->ngroup_by ? sel->group_by_token : sel->select_token;
        q->op.updating = 1;
        q->op.updating_by = q->op.name = describe_group(b->p, q);
        q->op.key = column_list(b->p, &q->in, q->key_cols, q->nkeys);
        q->op.updating_line = at->line;
        q->op.updating_column = at->column;
        if (!q->op.updating_by)
            return fail_at(b->err, 0, 0, "out of memory");
        b->p->grouped = 1;
    }
    if (q->op.kind == OP_WINDOW_TVF || q->op.kind == OP_WINDOW_AGG)
        b->p->windowed = 1;
    return 0;
}

static struct op *build_select(struct build *b, const struct ast_select *sel);
static int input_column(struct build *b, const struct schema *in, const struct ast *a, const char *clause,
                        const char *what, const char *where);

/* Column of in (the output of block input) that a PARTITION BY / ORDER BY expression of
 * ROW_NUMBER() names, or -1 with the error filled. A qualified name over a join (B.dateTime)
 * is the output column that selects that side's column, whatever it is called there. */
static int rank_column(struct build *b, const struct op *input, const struct schema *in, const struct ast *a,
                       const char *clause)
{
    const struct query *q = input->kind == OP_CALC ? (const struct query *)input : NULL;
    if (a->kind == AST_COLUMN && a->qualifier && q && q->join) {
        int j = join_find_column(q->join, a->qualifier, a->name, a->quoted);
        for (int i = 0; j >= 0 && i < q->nitems; i++)
            if (q->items[i]->fn == eval_column && q->items[i]->index == j)
                return i;
    }
    return input_column(b, in, a, clause, "ROW_NUMBER()", "the subquery selects");
}

/* Column of in that a key of a window (what: ROW_NUMBER(), OVER) names, or -1 with the error. */
static int input_column(struct build *b, const struct schema *in, const struct ast *a, const char *clause,
                        const char *what, const char *where)
{
    if (a->kind == AST_COLUMN)
        for (int i = 0; i < in->nfields; i++)
            if (query_name_matches(in->fields[i].name, a->name, a->quoted))
                return i;
    while ((a->kind == AST_BINARY || a->kind == AST_IS_NULL || a->kind == AST_LIKE || a->kind == AST_IN ||
            a->kind == AST_BETWEEN) &&
           a->nargs > 0)
        a = a->args[0]; /* where the expression starts, not its operator */
    fail_at(b->err, a->line, a->column, "%s of %s must name a column %s; an expression is not supported", clause, what,
            where);
    return -1;
}

/* "Rank(rankRange=[rankStart=1, rankEnd=3], partitionBy=[a], orderBy=[b DESC])" or
 * "Deduplicate(keep=[LastRow], key=[a], order=[ROWTIME])", as messages name the node. */
static const char *describe_rank(struct plan *p, const struct rank_config *c, const struct schema *in)
{
    char buf[512];
    int dedup = c->mode == RANK_DEDUP_FIRST || c->mode == RANK_DEDUP_LAST;
    size_t n = dedup ? (size_t)snprintf(buf, sizeof buf, "Deduplicate(keep=[%s], key=[",
                                        c->mode == RANK_DEDUP_LAST ? "LastRow" : "FirstRow")
                     : (size_t)snprintf(buf, sizeof buf, "Rank(rankRange=[rankStart=%lld, rankEnd=%lld], partitionBy=[",
                                        (long long)c->rank_start, (long long)c->limit);
    for (int k = 0; k < c->npart && n < sizeof buf; k++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", k ? ", " : "", in->fields[c->part_cols[k]].name);
    if (dedup && n < sizeof buf)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "], order=[ROWTIME");
    else if (n < sizeof buf)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "], orderBy=[");
    for (int k = 0; !dedup && k < c->norder && n < sizeof buf; k++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s%s", k ? ", " : "", in->fields[c->order[k].col].name,
                              c->order[k].desc ? " DESC" : "");
    if (n < sizeof buf)
        snprintf(buf + n, sizeof buf - n, "])");
    return arena_strndup(p->arena, buf, strlen(buf));
}

/* The rank configuration of match m over the rows of input. Returns 0 or -1. */
static int rank_configure(struct build *b, const struct rank_match *m, const struct op *input, struct rank_config *c,
                          int *part, struct rank_order *order, enum value_type *types)
{
    const struct schema *in = op_schema(input);
    const struct ast_over *w = m->call->over;
    if (w->npartition_by > MAX_GROUP_KEYS || w->norder_by > MAX_GROUP_KEYS)
        return fail_at(b->err, w->line, w->column, "too many PARTITION BY or ORDER BY keys (at most %d)",
                       MAX_GROUP_KEYS);
    for (int i = 0; i < in->nfields; i++)
        types[i] = in->fields[i].type;
    for (int i = 0; i < w->npartition_by; i++)
        if ((part[i] = rank_column(b, input, in, w->partition_by[i], "PARTITION BY")) < 0)
            return -1;
    for (int i = 0; i < w->norder_by; i++) {
        const struct ast_order_item *it = &w->order_by[i];
        if ((order[i].col = rank_column(b, input, in, it->expr, "ORDER BY")) < 0)
            return -1;
        order[i].desc = it->desc;
        order[i].nulls_first = it->nulls == AST_NULLS_DEFAULT ? !it->desc : it->nulls == AST_NULLS_FIRST;
    }
    *c = (struct rank_config){.mode = RANK_TOP_N,
                              .ncols = in->nfields,
                              .col_types = types,
                              .part_cols = part,
                              .npart = w->npartition_by,
                              .order = order,
                              .norder = w->norder_by,
                              .limit = m->limit,
                              .rank_start = m->rank_start,
                              .output_rank = m->output_rank,
                              .input_updating = input->updating};
    /* Flink's window Top-N: partitioned by window_start and window_end of append-only rows */
    int ws = -1, we = -1;
    for (int i = 0; i < w->npartition_by; i++)
        if (in->fields[part[i]].type == VT_TIMESTAMP) {
            if (strcasecmp(in->fields[part[i]].name, "window_start") == 0)
                ws = part[i];
            else if (strcasecmp(in->fields[part[i]].name, "window_end") == 0)
                we = part[i];
        }
    if (!input->updating && ws >= 0 && we >= 0) {
        c->mode = RANK_WINDOW_TOP_N;
        c->window_end_col = we;
        return 0;
    }
    /* Flink's Deduplicate: ordered by the time attribute, keeping rank 1, rank not read */
    if (!input->updating && !m->output_rank && m->limit == 1 && w->norder_by == 1 && in->rowtime_field >= 0 &&
        order[0].col == in->rowtime_field) {
        c->mode = order[0].desc ? RANK_DEDUP_LAST : RANK_DEDUP_FIRST;
        c->rank_start = 0;
    }
    return 0;
}

/* The rank operator's output schema: its input's columns, then rn when read. */
static int rank_schema(struct build *b, struct rank_op *r, const struct schema *in, const struct rank_match *m)
{
    struct plan *p = b->p;
    r->out = *in;
    r->out.fields = arena_alloc(p->arena, ((size_t)in->nfields + 1) * sizeof *r->out.fields);
    if (!r->out.fields)
        return fail_at(b->err, 0, 0, "out of memory");
    memcpy(r->out.fields, in->fields, (size_t)in->nfields * sizeof *in->fields);
    if (m->output_rank) {
        r->out.fields[in->nfields].type = VT_BIGINT;
        if (!(r->out.fields[in->nfields].name = arena_strndup(p->arena, m->rn_name, strlen(m->rn_name))))
            return fail_at(b->err, 0, 0, "out of memory");
        r->out.nfields++;
    }
    return 0;
}

/* Top-N or deduplication (match m of the outer block sel): builds the subquery's block without
 * its ROW_NUMBER() item, the rank operator over it, and *outer, sel without the rn bounds. */
static struct op *build_rank(struct build *b, const struct ast_select *sel, const struct rank_match *m,
                             const struct ast_select **outer)
{
    struct plan *p = b->p;
    const struct ast_select *inner = m->inner;
    struct ast_select *in2 = arena_alloc(p->arena, sizeof *in2), *out2 = arena_alloc(p->arena, sizeof *out2);
    struct rank_op *r = calloc(1, sizeof *r);
    if (!in2 || !out2 || !r || push_ptr((void ***)&p->ranks, &p->nranks, &p->capranks, r) < 0) {
        free(r);
        fail_at(b->err, 0, 0, "out of memory");
        return NULL;
    }
    if (m->output_rank && m->rn_item != inner->nitems - 1)
        return fail_at(b->err, m->call->line, m->call->column,
                       "ROW_NUMBER() before other columns of the subquery is not supported when the outer query "
                       "reads it; make it the last column"),
               NULL;
    *in2 = *inner;
    if (!(in2->items = arena_alloc(p->arena, (size_t)inner->nitems * sizeof *in2->items))) {
        fail_at(b->err, 0, 0, "out of memory");
        return NULL;
    }
    in2->nitems = 0;
    for (int i = 0; i < inner->nitems; i++)
        if (i != m->rn_item)
            in2->items[in2->nitems++] = inner->items[i];
    *out2 = *sel;
    out2->where = m->outer_where;
    *outer = out2;
    r->op.kind = OP_RANK;
    r->plan = p;
    struct op *input = build_select(b, in2);
    if (!input)
        return NULL;
    input->parent = &r->op;
    const struct schema *in = op_schema(input);
    int part[MAX_GROUP_KEYS];
    struct rank_order order[MAX_GROUP_KEYS];
    enum value_type *types = arena_alloc(p->arena, ((size_t)in->nfields + 1) * sizeof *types);
    struct rank_config c;
    if (!types)
        return fail_at(b->err, 0, 0, "out of memory"), NULL;
    if (rank_configure(b, m, input, &c, part, order, types) < 0 || rank_schema(b, r, in, m) < 0)
        return NULL;
    if (!(r->rank = rank_new(&c, b->err)))
        return NULL;
    /* Flink: Top-N and both deduplications on a time attribute update; window Top-N emits
     * each window's final top N once */
    r->op.updating = c.mode != RANK_WINDOW_TOP_N;
    r->window = c.mode == RANK_WINDOW_TOP_N;
    p->windowed |= r->window;
    r->op.updating_by = r->op.name = describe_rank(p, &c, in);
    r->op.key = column_list(p, in, c.part_cols, c.npart);
    r->part_cols = plan_copy_cols(p, c.part_cols, c.npart);
    r->npart = c.npart;
    r->op.updating_line = m->call->line;
    r->op.updating_column = m->call->column;
    if (!r->op.updating_by)
        return fail_at(b->err, 0, 0, "out of memory"), NULL;
    return &r->op;
}

/* The aggregate of OVER call a over input in, into agg. Returns 0 or -1. */
static int over_aggregate(struct build *b, const struct schema *in, const struct ast *a, struct over_agg *agg)
{
    const struct sql_function *f = functions_find(a->name);
    enum agg_kind k = f->agg;
    if (k != AGG_COUNT && k != AGG_SUM && k != AGG_AVG && k != AGG_MIN && k != AGG_MAX)
        return fail_at(b->err, a->line, a->column, "%s OVER is not supported (COUNT, SUM, AVG, MIN and MAX are)",
                       f->name);
    if (a->distinct || a->filter)
        return fail_at(b->err, a->line, a->column, "DISTINCT or FILTER in an OVER aggregate is not supported");
    if (a->nargs != 1)
        return fail_at(b->err, a->line, a->column, "function %s takes 1 argument, found %d", f->name, a->nargs);
    agg->kind = k;
    agg->col = -1;
    agg->result = VT_BIGINT;
    if (a->args[0]->kind == AST_STAR) {
        if (k != AGG_COUNT)
            return fail_at(b->err, a->args[0]->line, a->args[0]->column, "\"*\" is only allowed in COUNT(*)");
        return 0;
    }
    if ((agg->col = input_column(b, in, a->args[0], "the argument", "an OVER aggregate", "of its input")) < 0)
        return -1;
    enum value_type t = in->fields[agg->col].type;
    if ((k == AGG_SUM || k == AGG_AVG) && t != VT_BIGINT && t != VT_DOUBLE)
        return fail_at(b->err, a->args[0]->line, a->args[0]->column,
                       "%s OVER needs a BIGINT or DOUBLE argument, found %s", f->name, value_type_name(t));
    if (k != AGG_COUNT)
        agg->result = t;
    return 0;
}

/* The TIMESTAMP column OVER's window w orders by (ascending), or -1. */
static int over_order_column(const struct schema *in, const struct ast_over *w)
{
    const struct ast *o = w->norder_by == 1 && !w->order_by[0].desc ? w->order_by[0].expr : NULL;
    for (int i = 0; o && o->kind == AST_COLUMN && i < in->nfields; i++)
        if (in->fields[i].type == VT_TIMESTAMP && query_name_matches(in->fields[i].name, o->name, o->quoted))
            return i;
    return -1;
}

/* The over configuration of match m over input in (updating: an updating input). Returns 0
 * or -1. */
static int over_configure(struct build *b, const struct over_match *m, const struct schema *in, int updating,
                          struct over_config *c, int *part, struct over_agg *aggs, enum value_type *types)
{
    const struct ast_over *w = m->win;
    if (w->npartition_by > MAX_GROUP_KEYS)
        return fail_at(b->err, w->line, w->column, "too many PARTITION BY keys (at most %d)", MAX_GROUP_KEYS);
    const struct ast *o = w->norder_by ? w->order_by[0].expr : NULL;
    const char *pt = in->proctime_column > 0 ? in->fields[in->proctime_column - 1].name : NULL;
    if (pt && o && o->kind == AST_COLUMN && query_name_matches(pt, o->name, o->quoted))
        return fail_at(b->err, o->line, o->column,
                       "OVER ordered by the processing-time attribute \"%s\" is not supported; order by an "
                       "event-time column with a WATERMARK",
                       pt);
    int time_col = in->rowtime_field;
    if (time_col < 0 && updating) /* rows are ordered as they change: any TIMESTAMP column will do */
        time_col = over_order_column(in, w);
    if (time_col < 0)
        return fail_at(b->err, w->line, w->column,
                       "OVER needs a time attribute on its input: the event-time column of a WATERMARK");
    const char *rt = in->fields[time_col].name;
    if (w->norder_by != 1 || w->order_by[0].desc || w->order_by[0].expr->kind != AST_COLUMN ||
        !query_name_matches(rt, w->order_by[0].expr->name, w->order_by[0].expr->quoted)) {
        const struct ast *at = w->norder_by ? w->order_by[0].expr : NULL;
        return fail_at(b->err, at ? at->line : w->line, at ? at->column : w->column,
                       "OVER must be ORDER BY the time attribute \"%s\" ascending; another order is not supported", rt);
    }
    for (int i = 0; i < in->nfields; i++)
        types[i] = in->fields[i].type;
    for (int i = 0; i < w->npartition_by; i++)
        if ((part[i] = input_column(b, in, w->partition_by[i], "PARTITION BY", "OVER", "of its input")) < 0)
            return -1;
    for (int i = 0; i < m->ncalls; i++)
        if (over_aggregate(b, in, m->calls[i], &aggs[i]) < 0)
            return -1;
    *c = (struct over_config){.ncols = in->nfields,
                              .col_types = types,
                              .part_cols = part,
                              .npart = w->npartition_by,
                              .time_col = time_col,
                              .frame = w->frame == AST_FRAME_ROWS ? OVER_ROWS : OVER_RANGE,
                              .unbounded = w->frame == AST_FRAME_NONE || w->unbounded,
                              .preceding = w->preceding,
                              .aggs = aggs,
                              .naggs = m->ncalls};
    return 0;
}

static int over_schema(struct build *b, struct over_op *o, const struct schema *in, const struct over_agg *aggs,
                       int naggs)
{
    struct plan *p = b->p;
    o->out = *in;
    if (!(o->out.fields = arena_alloc(p->arena, ((size_t)in->nfields + (size_t)naggs) * sizeof *o->out.fields)))
        return fail_at(b->err, 0, 0, "out of memory");
    memcpy(o->out.fields, in->fields, (size_t)in->nfields * sizeof *in->fields);
    for (int i = 0; i < naggs; i++) {
        char name[32];
        snprintf(name, sizeof name, "$over%d", i);
        o->out.fields[in->nfields + i].type = aggs[i].result;
        if (!(o->out.fields[in->nfields + i].name = arena_strndup(p->arena, name, strlen(name))))
            return fail_at(b->err, 0, 0, "out of memory");
    }
    o->out.nfields = in->nfields + naggs;
    return 0;
}

/* OVER aggregates of block sel (match m): the block's input filtered by its WHERE (a block
 * SELECT * ... WHERE ...), the over operator on it, and *outer, sel reading the aggregates as
 * columns without its WHERE. */
static struct op *build_over(struct build *b, const struct ast_select *sel, const struct over_match *m,
                             const struct ast_select **outer)
{
    struct plan *p = b->p;
    struct ast_select *in2 = arena_alloc(p->arena, sizeof *in2), *out2 = arena_alloc(p->arena, sizeof *out2);
    struct ast *star = arena_alloc(p->arena, sizeof *star);
    struct ast_select_item *items = arena_alloc(p->arena, sizeof *items);
    struct over_op *o = calloc(1, sizeof *o);
    if (!in2 || !out2 || !star || !items || !o || push_ptr((void ***)&p->overs, &p->novers, &p->capovers, o) < 0) {
        free(o);
        return fail_at(b->err, 0, 0, "out of memory"), NULL;
    }
    *star = (struct ast){.kind = AST_STAR, .line = sel->select_token->line, .column = sel->select_token->column};
    *items = (struct ast_select_item){.expr = star};
    *in2 = *sel;
    in2->items = items;
    in2->nitems = 1;
    *out2 = *sel;
    out2->where = NULL;
    out2->items = m->items;
    *outer = out2;
    o->op.kind = OP_OVER;
    o->plan = p;
    struct op *input = build_select(b, in2);
    if (!input)
        return NULL;
    if (input->updating && m->win->frame != AST_FRAME_ROWS)
        return fail_at(b->err, m->win->line, m->win->column,
                       "OVER doesn't support consuming update changes produced by node %s (line %d, column %d) "
                       "unless its frame is ROWS",
                       input->updating_by, input->updating_line, input->updating_column),
               NULL;
    input->parent = &o->op;
    const struct schema *in = op_schema(input);
    int part[MAX_GROUP_KEYS];
    struct over_agg aggs[QUERY_MAX_OVER];
    enum value_type *types = arena_alloc(p->arena, ((size_t)in->nfields + 1) * sizeof *types);
    struct over_config c;
    if (!types)
        return fail_at(b->err, 0, 0, "out of memory"), NULL;
    if (over_configure(b, m, in, input->updating, &c, part, aggs, types) < 0 ||
        over_schema(b, o, in, aggs, m->ncalls) < 0)
        return NULL;
    c.input_updating = input->updating;
    if (input->updating) { /* its rows are re-emitted as the input changes */
        o->op.updating = 1;
        o->op.updating_by = "OverAggregate";
        o->op.updating_line = m->win->line;
        o->op.updating_column = m->win->column;
    }
    if (!(o->over = over_new(&c, b->err)))
        return NULL;
    o->op.key = column_list(p, in, c.part_cols, c.npart);
    o->part_cols = plan_copy_cols(p, c.part_cols, c.npart);
    o->npart = c.npart;
    char name[320];
    snprintf(name, sizeof name, "OverAggregate(partitionBy=[%s], orderBy=[%s ASC])", o->op.key ? o->op.key : "",
             in->fields[c.time_col].name);
    o->op.name = arena_strndup(p->arena, name, strlen(name));
    p->windowed = 1; /* the watermark releases the rows */
    return &o->op;
}

/* The name the columns of a join's side go by: its alias, else its stream or query name. */
static const char *side_name(const struct ast_select *side)
{
    return side->source_alias ? side->source_alias : side->source;
}

static const struct op *feeding_block(const struct op *o);

/* 1 when column col of o's output is the window_end of an event-time TUMBLE, HOP or CUMULATE
 * window aggregate, passed on as a plain column by projections above it: its rows come out when
 * the watermark passes window_end - 1 (fire_all: before the joins advance), and a row late for
 * its window goes into none, so each later row has window_end - 1 > the watermark. */
static int fired_window_end(const struct op *o, int col)
{
    for (; o && o->kind == OP_CALC; o = feeding_block(o)) {
        const struct query *q = (const struct query *)o;
        if (col < 0 || col >= q->nitems || q->items[col]->fn != eval_column)
            return 0;
        col = q->items[col]->index;
    }
    if (!o || o->kind != OP_WINDOW_AGG)
        return 0;
    const struct query *q = (const struct query *)o;
    if (q->proctime || (q->window != WINDOW_TUMBLE && q->window != WINDOW_HOP && q->window != WINDOW_CUMULATE))
        return 0;
    return col >= 0 && col < q->nitems && q->items[col]->fn == eval_column && q->items[col]->index == q->nkeys + 1;
}

/* The join's output schema (left columns, then right) and its scope. */
static int join_schema(struct build *b, struct join_op *jo, const struct ast_join *aj)
{
    struct plan *p = b->p;
    const struct schema *l = op_schema(jo->left), *r = op_schema(jo->right);
    int n = l->nfields + r->nfields;
    const char **quals = arena_alloc(p->arena, ((size_t)n + 1) * sizeof *quals);
    enum value_type *types = arena_alloc(p->arena, ((size_t)n + 1) * sizeof *types);
    jo->out = (struct schema){0};
    jo->out.fields = arena_alloc(p->arena, ((size_t)n + 1) * sizeof *jo->out.fields);
    if (!quals || !types || !jo->out.fields)
        return fail_at(b->err, 0, 0, "out of memory");
    memcpy(jo->out.fields, l->fields, (size_t)l->nfields * sizeof *l->fields);
    memcpy(jo->out.fields + l->nfields, r->fields, (size_t)r->nfields * sizeof *r->fields);
    jo->out.nfields = n;
    jo->out.rowtime_field = -1; /* a regular join keeps no time attribute (Flink) */
    for (int i = 0; i < n; i++) {
        quals[i] = side_name(i < l->nfields ? aj->left : aj->right);
        types[i] = jo->out.fields[i].type;
    }
    unsigned char *fired = arena_alloc(p->arena, (size_t)n + 1);
    if (!fired)
        return fail_at(b->err, 0, 0, "out of memory");
    for (int i = 0; i < n; i++)
        fired[i] = (unsigned char)(i < l->nfields ? fired_window_end(jo->left, i)
                                                  : fired_window_end(jo->right, i - l->nfields));
    jo->scope = (struct join_scope){.fired_end = fired,
                                    .in = &jo->out,
                                    .quals = quals,
                                    .nleft = l->nfields,
                                    .left_rowtime = l->rowtime_field,
                                    .right_rowtime = r->rowtime_field >= 0 ? l->nfields + r->rowtime_field : -1};
    return 0;
}

/* The block that feeds block o (its input when that is a block), or NULL. */
static const struct op *feeding_block(const struct op *o)
{
    const struct plan *p = ((const struct query *)o)->plan;
    for (int i = 0; i < p->nqueries; i++)
        if (p->queries[i]->op.parent == o)
            return &p->queries[i]->op;
    return NULL;
}

/* 1 when column col of o's output is a window's window_start, 2 when its window_end, else 0:
 * an item of a windowed aggregate or window table function that names it, passed on as a
 * plain column (or a GROUP BY key) by blocks above. */
static int window_bound(const struct op *o, int col)
{
    if (!o || (o->kind != OP_CALC && o->kind != OP_WINDOW_AGG && o->kind != OP_WINDOW_TVF))
        return 0;
    const struct query *q = (const struct query *)o;
    if (col < 0 || col >= q->nitems || q->items[col]->fn != eval_column)
        return 0;
    int in = q->items[col]->index;
    if (o->kind == OP_WINDOW_TVF)
        return in == q->in.nfields ? 1 : in == q->in.nfields + 1 ? 2 : 0;
    if (o->kind == OP_WINDOW_AGG) {
        if (in == q->nkeys || in == q->nkeys + 1)
            return in == q->nkeys ? 1 : 2;
        return in < q->nkeys && q->key_cols[in] >= 0 ? window_bound(feeding_block(o), q->key_cols[in]) : 0;
    }
    return window_bound(feeding_block(o), in);
}

static int is_window_end(const struct op *o, int col) { return window_bound(o, col) == 2; }

/* Time bounds of an inner join of append-only inputs: the watermark drops its state (an
 * interval join, or a window join: a key pair of window_end columns). */
static void join_time_bounds(struct plan *p, struct join_op *jo, struct join_config *c)
{
    if (c->type != JOIN_INNER || jo->left->updating || jo->right->updating) {
        c->interval = 0;
        c->end_by = 0;
        return;
    }
    for (int k = 0; k < c->nkeys && c->window_key < 0; k++)
        if (c->left_keys[k]->fn == eval_column && c->right_keys[k]->fn == eval_column &&
            is_window_end(jo->left, c->left_keys[k]->index) && is_window_end(jo->right, c->right_keys[k]->index))
            c->window_key = k;
    if (c->window_key >= 0 || c->interval)
        c->end_by = 0; /* the watermark drops both sides' rows already */
    if (c->window_key >= 0 || c->interval || c->end_by)
        p->windowed = 1; /* the watermark is kept */
}

/* FROM l JOIN r FOR SYSTEM_TIME AS OF l.t (temporal.h): checks it into c; its table's rows go
 * with their kinds, a lookup's table is read first, the left's event time goes on. */
static int temporal_setup(struct build *b, struct join_op *jo, const struct ast_join *aj, struct join_config *c)
{
    struct plan *p = b->p;
    const struct ast *a = aj->as_of;
    const struct schema *l = op_schema(jo->left);
    int col = a->kind == AST_COLUMN ? join_find_column(&jo->scope, a->qualifier, a->name, a->quoted) : -1;
    const struct ast_select *r = aj->right;
    int src = -1;
    for (int i = 0;
         r->source && !r->subquery && r->window == WINDOW_NONE && find_named(b, r->source) < 0 && i < p->nsrcs; i++)
        if (strcasecmp(p->srcs[i].name, r->source) == 0)
            src = i;
    if (jo->left->updating)
        return fail_tok(b->err, aj->token, "the left side of a temporal join must be append-only; node %s updates it",
                        jo->left->updating_by);
    if (temporal_configure(aj, col < l->nfields ? col : -1, l, src >= 0 ? &p->srcs[src].in : NULL, c, b->err) < 0)
        return -1;
    jo->temporal = 1;
    p->srcs[src].preload = c->temporal == JOIN_TEMPORAL_PROC;
    p->windowed |= c->temporal == JOIN_TEMPORAL_EVENT; /* the watermark releases the left rows */
    jo->out.rowtime_field = c->temporal == JOIN_TEMPORAL_EVENT ? l->rowtime_field : -1;
    return 0;
}

/* "Join(joinType=[LeftOuterJoin])", as messages name the node. */
static const char *describe_join(enum join_type t)
{
    static const char *const names[] = {"Join(joinType=[InnerJoin])", "Join(joinType=[LeftOuterJoin])",
                                        "Join(joinType=[RightOuterJoin])", "Join(joinType=[FullOuterJoin])"};
    return names[t];
}

/* One side's key k as EXPLAIN shows it: "side.column", or "<expression>". */
static void join_key_text(const struct join_op *jo, const struct expr *e, int offset, char *buf, size_t size)
{
    if (e->fn == eval_column)
        snprintf(buf, size, "%s.%s", jo->scope.quals[offset + e->index], jo->out.fields[offset + e->index].name);
    else
        snprintf(buf, size, "<expression>");
}

/* The join's name and key for EXPLAIN: "Join(joinType=[InnerJoin], ...)", or IntervalJoin /
 * WindowJoin when the watermark bounds its state; its key "a.x = b.y, ...". */
static void join_describe(struct plan *p, struct join_op *jo, const struct join_config *c)
{
    char key[256], l[96], r[96], name[400];
    size_t n = 0;
    key[0] = '\0';
    jo->nkeys = c->nkeys;
    for (int k = 0; k < c->nkeys; k++) {
        jo->key_left[k] = c->left_keys[k]->fn == eval_column ? c->left_keys[k]->index : -1;
        jo->key_right[k] = c->right_keys[k]->fn == eval_column ? c->right_keys[k]->index : -1;
    }
    for (int k = 0; k < c->nkeys && n < sizeof key; k++) {
        join_key_text(jo, c->left_keys[k], 0, l, sizeof l);
        join_key_text(jo, c->right_keys[k], c->nleft, r, sizeof r);
        n += (size_t)snprintf(key + n, sizeof key - n, "%s%s = %s", k ? ", " : "", l, r);
    }
    const char *type = strchr(describe_join(c->type), '(');
    const char *kind = c->window_key >= 0 ? "WindowJoin" : c->interval ? "IntervalJoin" : "Join";
    snprintf(name, sizeof name, "%s%.*s, where=[%s])", kind, (int)strlen(type) - 1, type, key);
    jo->op.name = arena_strndup(p->arena, name, strlen(name));
    jo->op.key = c->nkeys ? arena_strndup(p->arena, key, strlen(key)) : NULL;
}

/* The join's ON condition (a comma join's: the block's WHERE, taken from *outer), less what
 * goes below the join as filters of a side (join_compile_filters: of an INNER join's condition
 * and of the WHERE over a join, whose other conjuncts stay in *outer's WHERE) into *cond (NULL:
 * none left). Returns 0 or -1 with b->err filled. */
static int join_conditions(struct build *b, struct join_op *jo, const struct ast_select *sel,
                           const struct ast_select **outer, struct join_config *c, const struct ast **cond)
{
    struct plan *p = b->p;
    const struct ast_join *aj = sel->join;
    const struct ast *on = aj->on;
    struct ast *rest = NULL;
    if (aj->comma || (sel->where && !aj->as_of)) {
        struct ast_select *out2 = arena_alloc(p->arena, sizeof *out2);
        if (!out2)
            return fail_at(b->err, 0, 0, "out of memory");
        *out2 = *sel;
        out2->where = NULL;
        *outer = out2;
        if (aj->comma)
            on = sel->where;
        else if (join_compile_filters(&p->compiler, &jo->scope, sel->where, "WHERE", c, &out2->where) < 0)
            return -1;
    }
    *cond = on;
    if (aj->as_of || aj->type != JOIN_INNER)
        return 0;
    if (join_compile_filters(&p->compiler, &jo->scope, on, "ON", c, &rest) < 0)
        return -1;
    *cond = rest;
    return 0;
}

/* FROM a JOIN b ON cond (a comma join: cond is the block's WHERE, taken from *outer): the
 * blocks of both sides and the join over them. */
static struct op *build_join(struct build *b, const struct ast_select *sel, const struct ast_select **outer)
{
    struct plan *p = b->p;
    const struct ast_join *aj = sel->join;
    struct join_op *jo = calloc(1, sizeof *jo);
    if (!jo || push_ptr((void ***)&p->joins, &p->njoins, &p->capjoins, jo) < 0) {
        free(jo);
        return fail_at(b->err, 0, 0, "out of memory"), NULL;
    }
    jo->op.kind = OP_JOIN;
    jo->plan = p;
    if (!(jo->left = build_select(b, aj->left)) || !(jo->right = build_select(b, aj->right)))
        return NULL;
    jo->left->parent = jo->right->parent = &jo->op;
    if (join_schema(b, jo, aj) < 0)
        return NULL;
    if (!(jo->needed = arena_alloc(p->arena, (size_t)jo->out.nfields + 1)))
        return fail_at(b->err, 0, 0, "out of memory"), NULL;
    memset(jo->needed, 0, (size_t)jo->out.nfields + 1);
    struct join_config c = {.type = aj->type,
                            .nleft = op_schema(jo->left)->nfields,
                            .nright = op_schema(jo->right)->nfields,
                            .types = NULL,
                            .state_ttl_ms = p->opts.state_ttl_ms};
    const struct ast *on = NULL;
    if (join_conditions(b, jo, sel, outer, &c, &on) < 0)
        return NULL;
    enum value_type *types = arena_alloc(p->arena, ((size_t)jo->out.nfields + 1) * sizeof *types);
    if (!types)
        return fail_at(b->err, 0, 0, "out of memory"), NULL;
    for (int i = 0; i < jo->out.nfields; i++)
        types[i] = jo->out.fields[i].type;
    c.types = types;
    if (join_compile_on(&p->compiler, &jo->scope, on, aj->token, &c) < 0)
        return NULL;
    if (aj->as_of && temporal_setup(b, jo, aj, &c) < 0)
        return NULL;
    c.end_by = aj->as_of ? 0 : c.end_by;
    if (!aj->as_of && aj->type == JOIN_INNER) /* the WHERE over an inner join filters its rows as ON does */
        join_compile_end_bounds(&jo->scope, (*outer)->where, &c);
    if (!aj->as_of)
        join_time_bounds(p, jo, &c);
    join_describe(p, jo, &c);
    if (!(jo->join = join_new(&c, b->err)))
        return NULL;
    if (!aj->as_of && (aj->type != JOIN_INNER || jo->left->updating || jo->right->updating)) {
        const struct op *u = jo->left->updating ? jo->left : jo->right->updating ? jo->right : NULL;
        jo->op.updating = 1;
        jo->op.updating_by = u ? u->updating_by : describe_join(aj->type);
        jo->op.updating_line = u ? u->updating_line : aj->token->line;
        jo->op.updating_column = u ? u->updating_column : aj->token->column;
    }
    return &jo->op;
}

/* The input of a block: a subquery, a named query, or the source stream. */
static int build_input(struct build *b, const struct ast_select *sel, struct query *q, struct op **input,
                       const struct schema **in)
{
    *input = NULL;
    if (sel->join) {
        if (!(*input = build_join(b, sel, &q->sel)))
            return -1;
        q->join = &((struct join_op *)*input)->scope;
        *in = op_schema(*input);
        return 0;
    }
    struct over_match om;
    int orc = query_match_over(sel, b->p->arena, &om, b->err);
    if (orc < 0)
        return -1;
    if (orc == 1) {
        q->name = sel->source;
        if (!(*input = build_over(b, sel, &om, &q->sel)))
            return -1;
        *in = op_schema(*input);
        return 0;
    }
    if (sel->subquery) {
        struct rank_match m;
        int rc = query_match_rank(sel, b->p->arena, &m, b->err);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            if (!(*input = build_rank(b, sel, &m, &q->sel)))
                return -1;
            *in = op_schema(*input);
            return 0;
        }
        if (!(*input = build_query(b, sel->subquery)))
            return -1;
        *in = op_schema(*input);
        return 0;
    }
    q->name = sel->source;
    int named = find_named(b, sel->source);
    if (named >= 0) {
        int visible = b->visible;
        b->visible = named; /* a named query sees those defined before it */
        *input = build_query(b, b->ins->named[named].query);
        b->visible = visible;
        if (!*input)
            return -1;
        *in = op_schema(*input);
        return 0;
    }
    q->reads_source = 1;
    return bind_source(b, sel, in, &q->source);
}

static struct op *build_select(struct build *b, const struct ast_select *sel)
{
    struct plan *p = b->p;
    struct query *q = calloc(1, sizeof *q);
    struct op *input;
    const struct schema *in = NULL;
    if (!q || push_ptr((void ***)&p->queries, &p->nqueries, &p->capqueries, q) < 0) {
        free(q);
        fail_at(b->err, 0, 0, "out of memory");
        return NULL;
    }
    q->plan = p;
    q->sel = sel;
    q->alias = sel->source_alias;
    if (build_input(b, sel, q, &input, &in) < 0)
        return NULL;
    /* the block goes after its inputs: windows fire and state is written in that order */
    for (int i = 0; i < p->nqueries - 1; i++)
        if (p->queries[i] == q) {
            memmove(&p->queries[i], &p->queries[i + 1], (size_t)(p->nqueries - 1 - i) * sizeof *p->queries);
            p->queries[p->nqueries - 1] = q;
            break;
        }
    unsigned char *scan_needed = NULL; /* a scan's own: source_columns() gathers them */
    if (q->reads_source && !(scan_needed = arena_alloc(p->arena, (size_t)in->nfields + 1)))
        return fail_at(b->err, 0, 0, "out of memory"), NULL;
    if (scan_needed)
        memset(scan_needed, 0, (size_t)in->nfields + 1);
    struct query_env env = {.arena = p->arena,
                            .compiler = &p->compiler,
                            .err = b->err,
                            .needed = q->reads_source                   ? scan_needed
                                      : input && input->kind == OP_JOIN ? ((struct join_op *)input)->needed
                                                                        : NULL,
                            .win_start_col = -1,
                            .win_end_col = -1};
    for (int i = 0; input && !input->updating && i < in->nfields; i++) {
        int w = window_bound(input, i);
        if (w == 1 && env.win_start_col < 0)
            env.win_start_col = i;
        if (w == 2 && env.win_end_col < 0)
            env.win_end_col = i;
    }
    if (query_compile(q, q->sel, in, &env) < 0)
        return NULL;
    if (input)
        input->parent = &q->op;
    if (derive_changelog(b, q, input, q->sel) < 0)
        return NULL;
    return &q->op;
}

/* Branch i of a UNION ALL must give the first branch's column count and types. */
static int check_union_branch(struct build *b, const struct ast_query *aq, int i, const struct schema *first,
                              const struct schema *s)
{
    const struct token *at = aq->selects[i]->select_token;
    if (s->nfields != first->nfields)
        return fail_tok(b->err, at, "UNION ALL branches differ: the first gives %d column%s, this one %d",
                        first->nfields, first->nfields == 1 ? "" : "s", s->nfields);
    for (int c = 0; c < s->nfields; c++)
        if (s->fields[c].type != first->fields[c].type)
            return fail_tok(b->err, at, "UNION ALL branches differ: column %d is %s in the first branch but %s here",
                            c + 1, value_type_name(first->fields[c].type), value_type_name(s->fields[c].type));
    return 0;
}

static struct op *build_query(struct build *b, const struct ast_query *aq)
{
    struct plan *p = b->p;
    if (aq->nselects == 1)
        return build_select(b, aq->selects[0]);
    struct union_op *u = calloc(1, sizeof *u);
    if (!u || push_ptr((void ***)&p->unions, &p->nunions, &p->capunions, u) < 0 ||
        !(u->inputs = calloc((size_t)aq->nselects, sizeof *u->inputs))) {
        free(u);
        fail_at(b->err, 0, 0, "out of memory");
        return NULL;
    }
    u->op.kind = OP_UNION;
    for (int i = 0; i < aq->nselects; i++) {
        struct op *in = build_select(b, aq->selects[i]);
        if (!in || (i > 0 && check_union_branch(b, aq, i, u->out, op_schema(in)) < 0))
            return NULL;
        if (i == 0)
            u->out = op_schema(in);
        in->parent = &u->op;
        u->inputs[u->ninputs++] = in;
        if (in->updating && !u->op.updating) {
            u->op.updating = 1;
            u->op.updating_by = in->updating_by;
            u->op.updating_line = in->updating_line;
            u->op.updating_column = in->updating_column;
        }
    }
    return &u->op;
}

/* ---- The sink ----------------------------------------------------------------------------*/

/* Output names must be unique unless a declared sink gives the names (by position). */
static int check_output_names(const struct query *q, struct sql_error *err)
{
    const struct ast_select *sel = q->sel;
    int nstar = q->in.nfields + (q->tvf ? 3 : 0);
    for (int i = 0; i < q->nitems; i++)
        for (int j = 0; j < i; j++)
            if (strcasecmp(q->out.fields[i].name, q->out.fields[j].name) == 0) {
                const struct ast *at = NULL;
                int k = 0;
                for (int s = 0; s < sel->nitems && !at; s++) {
                    k += sel->items[s].expr->kind == AST_STAR ? nstar : 1;
                    if (k > i)
                        at = sel->items[s].expr;
                }
                return fail_at(err, at ? at->line : 0, at ? at->column : 0,
                               "duplicate output column \"%s\"; use AS to give it another name", q->out.fields[i].name);
            }
    return 0;
}

/* When the sink stream is declared, the query must fit it (BIGINT widens to DOUBLE). */
static int fit_sink(struct plan *p, struct query *q, const struct ast_insert *ins, const struct schema *sink,
                    struct sql_error *err)
{
    const struct token *t = ins->sink_token;
    if (sink->nfields != q->nitems)
        return fail_tok(err, t, "stream \"%s\" has %d column%s but the query gives %d", ins->sink, sink->nfields,
                        sink->nfields == 1 ? "" : "s", q->nitems);
    for (int i = 0; i < q->nitems; i++) {
        enum value_type want = sink->fields[i].type, got = q->items[i]->type;
        if (!compile_implicit_cast(got, want))
            return fail_tok(err, t, "column %d (\"%s\") of stream \"%s\" is %s but the query gives %s", i + 1,
                            sink->fields[i].name, ins->sink, value_type_name(want), value_type_name(got));
        struct ast at = {.line = t->line, .column = t->column};
        p->compiler.ctx = q;
        if (!(q->items[i] = expr_promote(&p->compiler, &at, q->items[i], want)))
            return -1;
        q->out.fields[i].name = arena_strndup(p->arena, sink->fields[i].name, strlen(sink->fields[i].name));
        if (!q->out.fields[i].name)
            return fail_at(err, 0, 0, "out of memory");
        q->out.fields[i].type = want;
    }
    return 0;
}

static int check_sink(struct build *b, const struct schema *sink)
{
    struct plan *p = b->p;
    const struct ast_insert *ins = b->ins;
    struct op *root = p->root;
    int n = root->kind == OP_UNION ? ((struct union_op *)root)->ninputs : 1;
    for (int i = 0; i < n; i++) {
        struct query *q = (struct query *)(root->kind == OP_UNION ? ((struct union_op *)root)->inputs[i] : root);
        if (sink ? fit_sink(p, q, ins, sink, b->err) < 0 : i == 0 && check_output_names(q, b->err) < 0)
            return -1;
    }
    /* an upsert stream (a PRIMARY KEY) takes updates; so does whatever the caller says does */
    if (root->updating && ins->sink && !p->opts.sink_accepts_updates && !(sink && sink->nprimary_key > 0))
        return fail_at(b->err, root->updating_line, root->updating_column,
                       "append-only stream \"%s\" doesn't support consuming update changes produced by node %s; "
                       "declare a PRIMARY KEY on \"%s\" to write an upsert stream",
                       ins->sink, root->updating_by, ins->sink);
    if (schema_copy(&p->out, op_schema(root)) < 0)
        return fail_at(b->err, 0, 0, "out of memory");
    p->out.rowtime_field = -1;
    p->out.watermark_delay_ms = 0;
    p->out.proctime_column = 0; /* what the sink stores is a plain TIMESTAMP(3) */
    return 0;
}

/* Processing-time windows: which aggregates close by the wall clock; a window Top-N over them
 * is refused (it closes by the watermark). A source with PROCTIME() columns gets a row buffer. */
static int check_proctime(struct build *b)
{
    struct plan *p = b->p;
    int tvf = 0;
    for (int i = 0; i < p->nqueries; i++) {
        const struct query *q = p->queries[i];
        tvf |= q->proctime;
        p->proctime |= q->proctime && q->op.kind == OP_WINDOW_AGG;
    }
    for (int i = 0; tvf && i < p->nranks; i++)
        if (p->ranks[i]->window)
            return fail_tok(b->err, b->ins->sink_token,
                            "window Top-N over a processing-time window (PROCTIME()) is not supported; use an "
                            "event-time column with a WATERMARK");
    for (int i = 0; i < p->nsrcs; i++) {
        struct plan_src *src = &p->srcs[i];
        if (src->in.proctime_column > 0 && !(src->procrow = calloc((size_t)src->in.nfields, sizeof *src->procrow)))
            return fail_at(b->err, 0, 0, "out of memory");
    }
    p->proc_limit = INT64_MIN;
    return 0;
}

/* 1 when o is a block that passes a source's rows through as they are (a join's side
 * "FROM s AS x": no filter, no window, every column in order), of an append-only stream
 * without a processing-time attribute. */
static int scan_passes_through(const struct plan *p, const struct op *o)
{
    if (o->kind != OP_CALC)
        return 0;
    const struct query *q = (const struct query *)o;
    if (!q->reads_source || q->where || q->tvf || q->nitems != q->in.nfields)
        return 0;
    const struct schema *in = &p->srcs[q->source].in;
    if (in->nprimary_key || in->proctime_column)
        return 0;
    for (int i = 0; i < q->nitems; i++)
        if (q->items[i]->fn != eval_column || q->items[i]->index != i)
            return 0;
    return 1;
}

/* The columns the decoder fills of each stream (plan_source_needed): what its scans read; for
 * a scan that only passes rows through to a join (a side "FROM s AS x"), what the join reads
 * of them (join_side_reads), and the event time (the watermark), as the join keeps them. */
static void source_columns(struct plan *p)
{
    for (int i = 0; i < p->nsrcs; i++)
        memset(p->srcs[i].needed, 0, (size_t)p->srcs[i].in.nfields + 1);
    for (int i = 0; i < p->nqueries; i++) {
        struct query *q = p->queries[i];
        if (!q->reads_source)
            continue;
        struct plan_src *src = &p->srcs[q->source];
        const struct join_op *jo = (const struct join_op *)q->op.parent;
        int n = src->in.nfields, side = -1;
        if (jo && jo->op.kind == OP_JOIN && !jo->temporal && scan_passes_through(p, &q->op))
            side = jo->left == &q->op ? 0 : jo->right == &q->op ? 1 : -1;
        if (side >= 0 && join_side_reads(jo->join, side, jo->needed, q->needed) != 0)
            memset(q->needed, 1, (size_t)n);
        else if (side >= 0 && src->rowtime >= 0)
            q->needed[src->rowtime] = 1;
        for (int c = 0; c < n; c++)
            src->needed[c] |= q->needed[c];
    }
}

static int build_plan(struct build *b)
{
    struct plan *p = b->p;
    const struct ast_insert *ins = b->ins;
    b->visible = ins->nnamed;
    if (!(p->root = build_query(b, ins->query)))
        return -1;
    for (int i = 0; i < p->njoins; i++) /* every block is compiled: what each reads is known */
        join_keep_columns(p->joins[i]->join, p->joins[i]->needed);
    source_columns(p);
    for (int i = 0; i < p->nqueries; i++)
        if (p->queries[i]->reads_source)
            p->nscans++;
    if (!(p->scans = calloc((size_t)p->nscans + 1, sizeof *p->scans)))
        return fail_at(b->err, 0, 0, "out of memory");
    p->nscans = 0;
    for (int i = 0; i < p->nqueries; i++)
        if (p->queries[i]->reads_source)
            p->scans[p->nscans++] = p->queries[i];
    if (!p->nsrcs) /* every FROM names a query that reads ... nothing: cannot happen (no cycles) */
        return fail_tok(b->err, ins->sink_token, "the query reads no stream");
    for (int i = 0; ins->sink && i < p->nsrcs; i++)
        if (strcasecmp(ins->sink, p->srcs[i].name) == 0)
            return fail_tok(b->err, ins->sink_token, "a pipeline cannot write to the stream it reads (\"%s\")",
                            ins->sink);
    if (check_proctime(b) < 0)
        return -1;
    return check_sink(b, b->catalog && ins->sink ? b->catalog(b->ctx, ins->sink) : NULL);
}

static const struct plan_options plan_defaults;

struct plan *plan_compile_with(const char *sql, sql_catalog_fn catalog, void *ctx, const struct plan_options *o,
                               struct sql_error *err)
{
    struct sql_error local;
    if (!err)
        err = &local;
    memset(err, 0, sizeof *err);
    struct arena *tmp = arena_new(16384);
    struct plan *p = calloc(1, sizeof *p);
    struct ast_insert *ins;
    if (!tmp || !p || !(p->arena = arena_new(16384)) || !(p->sql = strdup(sql))) {
        fail_at(err, 0, 0, "out of memory");
        goto fail;
    }
    p->opts = o ? *o : plan_defaults;
    p->stats.watermark_ms = INT64_MIN;
    p->compiler.arena = p->arena;
    p->compiler.err = err;
    p->compiler.udfs = p->opts.functions;
    p->compiler.nudfs = p->opts.nfunctions;
    p->opts.functions = NULL; /* borrowed during the compile only */
    p->opts.nfunctions = 0;
    if (parser_parse_insert(sql, tmp, &ins, err) < 0 || group_window_rewrite(ins, tmp, err) < 0 ||
        rownum_where_rewrite(ins, tmp, err) < 0)
        goto fail;
    struct build b = {.p = p, .ins = ins, .catalog = catalog, .ctx = ctx, .err = err};
    p->explain = ins->explain;
    if (build_plan(&b) < 0 || !(p->sink = strdup(ins->sink ? ins->sink : ""))) {
        if (!err->message[0])
            fail_at(err, 0, 0, "out of memory");
        goto fail;
    }
    for (int i = 0; i < p->nqueries; i++)
        p->queries[i]->sel = NULL; /* the syntax tree goes with tmp */
    p->compiler.udfs = NULL;
    p->compiler.nudfs = 0;
    /* fingerprint: what a snapshot must match */
    uint64_t h = 0xcbf29ce484222325ULL;
    h = hash_bytes(h, sql, strlen(sql));
    for (int k = 0; k < p->nsrcs; k++)
        for (int i = 0; i < p->srcs[k].in.nfields; i++) {
            const struct field *f = &p->srcs[k].in.fields[i];
            h = hash_bytes(h, f->name, strlen(f->name));
            h = hash_bytes(h, &f->type, sizeof f->type);
        }
    p->fingerprint = h;
    arena_free(tmp);
    return p;
fail:
    arena_free(tmp);
    plan_free(p);
    return NULL;
}

struct plan *plan_compile(const char *sql, sql_catalog_fn catalog, void *ctx, struct sql_error *err)
{
    return plan_compile_with(sql, catalog, ctx, NULL, err);
}

int sql_validate(const char *sql, sql_catalog_fn catalog, void *ctx, struct sql_error *err)
{
    struct plan *p = plan_compile(sql, catalog, ctx, err);
    if (!p)
        return -1;
    plan_free(p);
    return 0;
}

/* ---- Running rows up the tree ------------------------------------------------------------*/

static int query_push(struct plan *p, struct query *q, enum row_kind kind, const struct value *row);
static int op_emit(struct plan *p, struct op *o, enum row_kind kind, const struct value *row);

static int over_emit(void *ctx, enum row_kind kind, const struct value *row)
{
    struct over_op *o = ctx;
    return op_emit(o->plan, &o->op, kind, row);
}

static int rank_emit(void *ctx, enum row_kind kind, const struct value *row)
{
    struct rank_op *r = ctx;
    return op_emit(r->plan, &r->op, kind, row);
}

static int64_t plan_now(const struct plan *p);

static int join_emit(void *ctx, enum row_kind kind, const struct value *row)
{
    struct join_op *jo = ctx;
    return op_emit(jo->plan, &jo->op, kind, row);
}

/* A row of child `from` (a side) into a join; the joined rows go on to the parent. */
static int join_push(struct plan *p, struct join_op *jo, const struct op *from, enum row_kind kind,
                     const struct value *row)
{
    int64_t now = p->opts.state_ttl_ms > 0 ? plan_now(p) : 0;
    return join_process(jo->join, from == jo->left ? 0 : 1, kind, row, now, p->scratch, join_emit, jo, p->err);
}

/* A row into Top-N or deduplication; its changes go on to the parent. */
static int rank_push(struct plan *p, struct rank_op *r, enum row_kind kind, const struct value *row)
{
    return rank_process(r->rank, kind, row, rank_emit, r, p->err);
}

/* Passes a row of operator o to its parent (through unions), or to the sink. */
static int op_emit(struct plan *p, struct op *o, enum row_kind kind, const struct value *row)
{
    for (;;) {
        struct op *to = o->parent;
        if (!to) {
            p->stats.rows_out++;
            if (p->emit(p->emit_ctx, kind, row) < 0) {
                p->sink_failed = 1;
                return fail_at(p->err, 0, 0, "output rejected the row");
            }
            return 0;
        }
        if (to->kind == OP_RANK)
            return rank_push(p, (struct rank_op *)to, kind, row);
        if (to->kind == OP_OVER)
            return over_push(((struct over_op *)to)->over, kind, row, over_emit, to, p->err);
        if (to->kind == OP_JOIN)
            return join_push(p, (struct join_op *)to, o, kind, row);
        if (to->kind != OP_UNION)
            return query_push(p, (struct query *)to, kind, row);
        o = to;
    }
}

/* Evaluates cond (WHERE, HAVING) over ec->row: *pass when TRUE. Returns 0 or -1. */
static int test_condition(struct plan *p, const struct expr *cond, struct eval_ctx *ec, int *pass)
{
    struct value w;
    if (expr_eval(cond, ec, &w) < 0) {
        p->stats.eval_errors++;
        return -1;
    }
    *pass = w.type == VT_BOOLEAN && w.u.b;
    return 0;
}

/* Evaluates the SELECT list over ec->row into q->outrow. */
static int project(struct plan *p, struct query *q, struct eval_ctx *ec)
{
    for (int i = 0; i < q->nitems; i++)
        if (expr_eval(q->items[i], ec, &q->outrow[i]) < 0) {
            p->stats.eval_errors++;
            return -1;
        }
    return 0;
}

static int calc_push(struct plan *p, struct query *q, enum row_kind kind, const struct value *row)
{
    struct eval_ctx ec = {.row = row, .scratch = p->scratch, .err = p->err};
    int pass = 1;
    if (q->where && (test_condition(p, q->where, &ec, &pass) < 0 || !pass))
        return pass ? -1 : 0;
    if (project(p, q, &ec) < 0)
        return -1;
    return op_emit(p, &q->op, kind, q->outrow);
}

/* The row's event time, checked. Returns 0 or -1 (counted as an evaluation error). */
static int event_time(struct plan *p, struct query *q, const struct value *row, int64_t *ts)
{
    const struct value *v = &row[q->rowtime];
    const char *name = q->in.fields[q->rowtime].name;
    if (v->type != VT_TIMESTAMP) {
        p->stats.eval_errors++;
        return fail_at(p->err, 0, 0, "event-time column \"%s\" is NULL", name);
    }
    if (!timestamp_in_range(v->u.i)) { /* years 0000 to 9999: window arithmetic cannot overflow */
        p->stats.eval_errors++;
        return fail_at(p->err, 0, 0, "event time %lld of column \"%s\" is out of range", (long long)v->u.i, name);
    }
    *ts = v->u.i;
    return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The windows of event time ts whose last millisecond (end - 1) is after wm (Flink), into
 * q->bounds; returns how many. */
static int window_list(struct query *q, int64_t ts, int64_t wm)
{
    int n = 0;
    if (q->window == WINDOW_CUMULATE) {
        /* windows [s, s + step * k) for k = 1 .. max / step, s = start of the max window */
        int64_t s = floor_div(ts, q->win_b) * q->win_b;
        for (int64_t end = s + q->win_b; end > ts && end > s && end - 1 > wm; end -= q->win_a)
            q->bounds[n++] = (struct window_bounds){s, end};
    } else {
        int64_t size = q->window == WINDOW_HOP ? q->win_b : q->win_a;
        for (int64_t s = floor_div(ts, q->win_a) * q->win_a; s > ts - size && s + size - 1 > wm; s -= q->win_a)
            q->bounds[n++] = (struct window_bounds){s, s + size};
    }
    return n;
}

/* Window table function without GROUP BY: the row once per window, with its bounds. */
static int tvf_push(struct plan *p, struct query *q, const struct value *row)
{
    struct eval_ctx ec = {.row = q->tvfrow, .scratch = p->scratch, .err = p->err};
    int64_t ts;
    int nf = q->in.nfields;
    if (event_time(p, q, row, &ts) < 0)
        return -1;
    memcpy(q->tvfrow, row, (size_t)nf * sizeof *row);
    int n = window_list(q, ts, INT64_MIN);
    for (int i = 0; i < n; i++) {
        q->tvfrow[nf] = (struct value){.type = VT_TIMESTAMP, .u.i = q->bounds[i].start};
        q->tvfrow[nf + 1] = (struct value){.type = VT_TIMESTAMP, .u.i = q->bounds[i].end};
        q->tvfrow[nf + 2] = (struct value){.type = VT_TIMESTAMP, .u.i = q->bounds[i].end - 1};
        int pass = 1;
        if (q->where && test_condition(p, q->where, &ec, &pass) < 0)
            return -1;
        if (pass && (project(p, q, &ec) < 0 || op_emit(p, &q->op, ROW_INSERT, q->outrow) < 0))
            return -1;
    }
    return 0;
}

/* Evaluates the grouping keys and the aggregate arguments (NULL where a FILTER rejects the
 * row) of an input row. */
static int group_inputs(struct plan *p, struct query *q, struct eval_ctx *ec, struct value *keys)
{
    for (int i = 0; i < q->naggs; i++) {
        const struct agg_slot *s = &q->aggs[i];
        int pass = 1;
        if (s->filter && test_condition(p, s->filter, ec, &pass) < 0)
            return -1;
        if (!pass)
            q->aggargs[i].type = VT_NULL;
        else if (s->arg && expr_eval(s->arg, ec, &q->aggargs[i]) < 0) {
            p->stats.eval_errors++;
            return -1;
        }
    }
    for (int i = 0; i < q->nkeys; i++) {
        if (q->key_cols[i] >= 0)
            keys[i] = ec->row[q->key_cols[i]];
        else if (expr_eval(q->key_exprs[i], ec, &keys[i]) < 0) {
            p->stats.eval_errors++;
            return -1;
        }
    }
    return 0;
}

/* An aggregate update that returned rc < 0: out of memory (-1), or the error of the Lua
 * aggregate that failed (-2), at its call; counted as an evaluation error. Returns -1. */
static int agg_fail(struct plan *p, struct query *q, int rc)
{
    for (int i = 0; rc == -2 && i < q->naggs; i++) {
        const char *msg = q->aggs[i].udf ? udf_take_error(q->aggs[i].udf) : NULL;
        if (msg) {
            p->stats.eval_errors++;
            return fail_at(p->err, q->aggs[i].line, q->aggs[i].column, "%s", msg);
        }
    }
    return fail_at(p->err, 0, 0, rc == -2 ? "an aggregate function failed" : "out of memory");
}

/* A row into the window its columns give (WINDOW_GIVEN): it comes from a window that fired,
 * so it is never late. */
static int given_window_push(struct plan *p, struct query *q, struct eval_ctx *ec)
{
    struct value keys[MAX_GROUP_KEYS];
    const struct value *s = &ec->row[q->given_start], *e = &ec->row[q->given_end];
    if (s->type != VT_TIMESTAMP || e->type != VT_TIMESTAMP) {
        p->stats.eval_errors++;
        return fail_at(p->err, 0, 0, "window_start or window_end of the input is NULL");
    }
    if (group_inputs(p, q, ec, keys) < 0)
        return -1;
    uint64_t h = window_keys_hash(&q->table, keys);
    int rc = window_table_add(&q->table, s->u.i, e->u.i, keys, h, q->aggargs, (int64_t)p->stats.rows_in);
    return rc < 0 ? agg_fail(p, q, rc) : 0;
}

/* Where q's windows have fired up to: the watermark, or for a processing-time window the wall
 * clock's last firing. */
static int64_t query_watermark(const struct plan *p, const struct query *q)
{
    return q->proctime ? p->proc_limit : p->stats.watermark_ms;
}

static int window_push(struct plan *p, struct query *q, const struct value *row)
{
    struct eval_ctx ec = {.row = row, .scratch = p->scratch, .err = p->err};
    struct value keys[MAX_GROUP_KEYS];
    int64_t ts;
    int pass = 1;
    if (q->where && test_condition(p, q->where, &ec, &pass) < 0)
        return -1;
    if (q->window == WINDOW_GIVEN)
        return pass ? given_window_push(p, q, &ec) : 0;
    if (event_time(p, q, row, &ts) < 0)
        return -1;
    if (!pass)
        return 0;
    if (group_inputs(p, q, &ec, keys) < 0)
        return -1;
    uint64_t h = window_keys_hash(&q->table, keys);
    int64_t seq = (int64_t)p->stats.rows_in;
    if (q->window == WINDOW_SESSION) {
        int rc = window_session_add(&q->table, ts, query_watermark(p, q), keys, h, q->aggargs, seq);
        if (rc < 0)
            return agg_fail(p, q, rc);
        p->stats.late_dropped += rc == 1;
        return 0;
    }
    int n = window_list(q, ts, query_watermark(p, q));
    for (int i = 0; i < n; i++) {
        int rc = window_table_add(&q->table, q->bounds[i].start, q->bounds[i].end, keys, h, q->aggargs, seq);
        if (rc < 0)
            return agg_fail(p, q, rc);
    }
    if (n == 0)
        p->stats.late_dropped++;
    return 0;
}

/* HAVING and the SELECT list over a grouped row, and the result to the parent. Returns 0, or
 * -1 (an evaluation error, counted, or the output failed). */
static int group_output(struct plan *p, struct query *q, enum row_kind kind, const struct value *grouped)
{
    struct eval_ctx ec = {.row = grouped, .scratch = p->scratch, .err = p->err};
    int pass = 1;
    if (q->having && (test_condition(p, q->having, &ec, &pass) < 0 || !pass))
        return pass ? -1 : 0;
    if (project(p, q, &ec) < 0)
        return -1;
    return op_emit(p, &q->op, kind, q->outrow);
}

/* The grouped row of group g (keys, aggregates) into row; with scratch, its strings copied
 * there (they outlive a change of the group). Returns 0 or -1 (no memory). */
static int group_row(struct query *q, const struct group_entry *g, struct value *row, struct arena *scratch)
{
    memcpy(row, g->keys, (size_t)q->nkeys * sizeof *row);
    for (int i = 0; i < q->naggs; i++)
        group_entry_result(&q->groups, g, i, &row[q->nkeys + i]);
    for (int i = 0; scratch && i < q->nkeys + q->naggs; i++)
        if (row[i].type == VT_STRING) {
            char *s = arena_strndup(scratch, row[i].u.s.ptr, row[i].u.s.len);
            if (!s)
                return -1;
            row[i].u.s.ptr = s;
        }
    return 0;
}

static int64_t plan_now(const struct plan *p)
{
    /* (declared earlier for the joins) */
    return p->opts.clock_ms ? p->opts.clock_ms(p->opts.clock_ctx) : clock_wall_ms();
}

/* Mini-batch (Flink's table.exec.mini-batch): folds the row into its group at once but emits
 * nothing; the group joins the batch with its result before it, and the flush emits one change
 * per group. A group whose last row goes stays, emptied, until the flush. */
static int group_push_batched(struct plan *p, struct query *q, int add, const struct value *keys)
{
    struct group_entry *g = group_table_find(&q->groups, keys, group_keys_hash(&q->groups, keys), add,
                                             p->opts.state_ttl_ms ? plan_now(p) : 0);
    if (!g)
        return add ? fail_at(p->err, 0, 0, "out of memory") : 0; /* a retraction of a group not held */
    if (!add && g->rows <= 0)
        return 0; /* emptied in this batch: not held */
    if (!g->batched) {
        int had = g->rows > 0;
        if (had)
            group_row(q, g, q->prevrow, NULL);
        if (group_batch_add(&q->groups, g, had ? q->prevrow : NULL, q->nkeys + q->naggs) < 0)
            return fail_at(p->err, 0, 0, "out of memory");
    }
    int rc = group_entry_update(&q->groups, g, q->aggargs, add ? 1 : -1);
    if (rc < 0)
        return agg_fail(p, q, rc);
    if (g->rows <= 0)
        group_entry_reset(&q->groups, g);
    if (p->batch_rows++ == 0)
        p->batch_since_ms = plan_now(p);
    return 0;
}

/* The change of a group's result: -D (its last row went), +I (new), or -U and +U (changed);
 * nothing when the result is as before. */
static int group_change(struct plan *p, struct query *q, const struct value *before, const struct group_entry *g)
{
    if (g->rows <= 0)
        return before ? group_output(p, q, ROW_DELETE, before) : 0;
    group_row(q, g, q->postrow, NULL);
    if (!before)
        return group_output(p, q, ROW_INSERT, q->postrow);
    int same = 1;
    for (int i = q->nkeys; same && i < q->nkeys + q->naggs; i++)
        same = value_equal(&before[i], &q->postrow[i]) && before[i].type == q->postrow[i].type;
    if (same)
        return 0;
    if (group_output(p, q, ROW_UPDATE_BEFORE, before) < 0)
        return -1;
    return group_output(p, q, ROW_UPDATE_AFTER, q->postrow);
}

/* Emits the batch of q: one change per group, in the order of their first change; a row that
 * cannot be evaluated is dropped and counted, only a failing output stops. Emptied groups go. */
static int group_flush(struct plan *p, struct query *q)
{
    struct group_table *t = &q->groups;
    int rc = 0;
    for (size_t i = 0; i < t->nbatch && rc == 0; i++)
        if (t->batch[i] && group_change(p, q, t->batch[i]->before, t->batch[i]) < 0 && p->sink_failed)
            rc = -1;
    for (size_t i = 0; i < t->nbatch; i++)
        if (t->batch[i] && t->batch[i]->rows <= 0)
            group_table_remove(t, t->batch[i]);
    group_batch_clear(t);
    return rc;
}

/* Flushes every group aggregate's batch, inputs first (a flush may fill a later block's). */
static int flush_batches(struct plan *p)
{
    for (int i = 0; i < p->nqueries; i++)
        if (p->queries[i]->op.kind == OP_GROUP_AGG && p->queries[i]->groups.nbatch && group_flush(p, p->queries[i]) < 0)
            return -1;
    p->batch_rows = 0; /* (rows a flush folded into a later block were flushed with it) */
    return 0;
}

/* GROUP BY without a window: folds the row into (kind +I/+U) or out of (-U/-D) its group and
 * emits the change of the group's result: +I for a new group, -U and +U for a changed one,
 * -D when its last row goes (nothing when the result did not change). */
static int group_push(struct plan *p, struct query *q, enum row_kind kind, const struct value *row)
{
    struct eval_ctx ec = {.row = row, .scratch = p->scratch, .err = p->err};
    struct value keys[MAX_GROUP_KEYS];
    int pass = 1, add = row_kind_is_accumulate(kind);
    if (q->where && (test_condition(p, q->where, &ec, &pass) < 0 || !pass))
        return pass ? -1 : 0;
    if (group_inputs(p, q, &ec, keys) < 0)
        return -1;
    if (p->opts.minibatch_size > 0)
        return group_push_batched(p, q, add, keys);
    struct group_entry *g = group_table_find(&q->groups, keys, group_keys_hash(&q->groups, keys), add,
                                             p->opts.state_ttl_ms ? plan_now(p) : 0);
    if (!g)
        return add ? fail_at(p->err, 0, 0, "out of memory") : 0; /* a retraction of a group not held */
    int had = g->rows > 0;
    if (had && group_row(q, g, q->prevrow, p->scratch) < 0)
        return fail_at(p->err, 0, 0, "out of memory");
    int rc = group_entry_update(&q->groups, g, q->aggargs, add ? 1 : -1);
    if (rc < 0)
        return agg_fail(p, q, rc);
    if (g->rows <= 0) {
        group_table_remove(&q->groups, g);
        return had ? group_output(p, q, ROW_DELETE, q->prevrow) : 0;
    }
    group_row(q, g, q->postrow, NULL);
    if (!had)
        return group_output(p, q, ROW_INSERT, q->postrow);
    int same = 1;
    for (int i = q->nkeys; same && i < q->nkeys + q->naggs; i++)
        same = value_equal(&q->prevrow[i], &q->postrow[i]) && q->prevrow[i].type == q->postrow[i].type;
    if (same)
        return 0;
    if (group_output(p, q, ROW_UPDATE_BEFORE, q->prevrow) < 0)
        return -1;
    return group_output(p, q, ROW_UPDATE_AFTER, q->postrow);
}

static int query_push(struct plan *p, struct query *q, enum row_kind kind, const struct value *row)
{
    switch (q->op.kind) {
    case OP_CALC:
        return calc_push(p, q, kind, row);
    case OP_WINDOW_TVF:
        return tvf_push(p, q, row);
    case OP_WINDOW_AGG:
        return window_push(p, q, row);
    case OP_GROUP_AGG:
        return group_push(p, q, kind, row);
    default: /* OP_UNION passes through in op_emit; OP_RANK: the rank operators' slot */
        return fail_at(p->err, 0, 0, "internal error: operator %d cannot take rows", (int)q->op.kind);
    }
}

/* ---- Firing windows ----------------------------------------------------------------------*/

/* Emits the rows of window w (HAVING, SELECT). A row that cannot be evaluated is dropped and
 * counted; only a failing output stops. */
static int window_fire(struct plan *p, struct query *q, struct window *w)
{
    int rc = 0;
    for (struct window_group *g = w->first; g && rc == 0; g = g->next) {
        memcpy(q->postrow, g->keys, (size_t)q->nkeys * sizeof *g->keys);
        q->postrow[q->nkeys] = (struct value){.type = VT_TIMESTAMP, .u.i = w->start};
        q->postrow[q->nkeys + 1] = (struct value){.type = VT_TIMESTAMP, .u.i = w->end};
        for (int i = 0; i < q->naggs; i++)
            window_group_result(&q->table, g, i, &q->postrow[q->nkeys + 2 + i]);
        if (group_output(p, q, ROW_INSERT, q->postrow) < 0 && p->sink_failed)
            rc = -1;
    }
    return rc;
}

/* Fires (in end order) every window of q whose end - 1 <= limit, and drops their state. */
static int fire_until(struct plan *p, struct query *q, int64_t limit)
{
    int n = 0, rc = 0;
    while (n < q->table.nwindows && q->table.windows[n].end - 1 <= limit) { /* Flink: at max timestamp end - 1 */
        if (rc == 0)
            rc = window_fire(p, q, &q->table.windows[n]);
        n++;
    }
    window_table_drop(&q->table, n);
    return rc;
}

static int fire_ranks(struct plan *p, int64_t limit)
{
    for (int i = 0; i < p->nranks; i++) {
        struct rank_op *r = p->ranks[i];
        if (r->window && (limit == INT64_MAX ? rank_finish(r->rank, rank_emit, r, p->err)
                                             : rank_watermark(r->rank, limit, rank_emit, r, p->err)) < 0)
            return -1;
    }
    return 0;
}

static int fire_all(struct plan *p, int64_t limit)
{
    /* The end of the input flushes the mini-batches. A watermark does not: what a group
     * aggregate emits is updating, and nothing that reads an updating input (Top-N, a regular
     * join, another aggregate) waits for the watermark, so a batch may stay behind it. (The
     * watermark moves with every row here, where Flink's comes every 200 ms.) */
    if (limit == INT64_MAX && p->batch_rows && flush_batches(p) < 0)
        return -1;
    for (int i = 0; i < p->novers; i++) { /* OVER rows first: a window downstream sees them */
        struct over_op *o = p->overs[i];
        if ((limit == INT64_MAX ? over_finish(o->over, over_emit, o, p->err)
                                : over_watermark(o->over, limit, over_emit, o, p->err)) < 0)
            return -1;
    }
    for (int i = 0; i < p->nqueries; i++) {
        struct query *q = p->queries[i];
        if (q->op.kind == OP_WINDOW_AGG && (!q->proctime || limit == INT64_MAX) && fire_until(p, q, limit) < 0)
            return -1;
    }
    if (fire_ranks(p, limit) < 0) /* after the windows that feed them */
        return -1;
    for (int i = 0; i < p->njoins; i++) /* after every window fired into them */
        if (join_advance(p->joins[i]->join, limit, p->scratch, join_emit, p->joins[i], p->err) < 0)
            return -1;
    return 0;
}

/* Processing time: fires every processing-time window that ended before the wall clock's
 * current millisecond (a row of this millisecond still goes into a window that is open). */
static int fire_proctime(struct plan *p)
{
    int64_t now = clock_wall_ms();
    if (now - 1 <= p->proc_limit)
        return 0;
    p->proc_limit = now - 1;
    for (int i = 0; i < p->nqueries; i++) {
        struct query *q = p->queries[i];
        if (q->op.kind == OP_WINDOW_AGG && q->proctime && fire_until(p, q, p->proc_limit) < 0)
            return -1;
    }
    return 0;
}

/* The source row with its PROCTIME() columns set to the wall clock. */
static const struct value *fill_proctime(struct plan_src *src, const struct value *row)
{
    memcpy(src->procrow, row, (size_t)src->in.nfields * sizeof *row);
    src->procrow[src->in.proctime_column - 1] = (struct value){.type = VT_TIMESTAMP, .u.i = clock_wall_ms()};
    return src->procrow;
}

/* The plan's watermark: the least of its streams' (event time - delay), leaving out streams
 * without an event time, streams that ended and streams idle for source_idle_timeout_ms
 * (processing time); INT64_MIN while a stream that counts has no row yet. */
static int64_t min_watermark(struct plan *p)
{
    int64_t wm = INT64_MAX, now = p->opts.source_idle_timeout_ms > 0 && p->nsrcs > 1 ? plan_now(p) : 0;
    int counted = 0;
    for (int i = 0; i < p->nsrcs; i++) {
        const struct plan_src *s = &p->srcs[i];
        if (s->rowtime < 0 || s->ended ||
            (p->opts.source_idle_timeout_ms > 0 && p->nsrcs > 1 && now - s->last_ms >= p->opts.source_idle_timeout_ms))
            continue;
        int64_t w = s->max_ts == INT64_MIN ? INT64_MIN : s->max_ts - s->delay;
        wm = w < wm ? w : wm;
        counted++;
    }
    return counted ? wm : INT64_MIN;
}

/* Moves the stream's largest event time to the row's when that is later, and the watermark
 * with it; fires due windows. A row without a valid event time leaves it (the window that
 * reads it failed it). */
static int advance_watermark(struct plan *p, struct plan_src *src, const struct value *row)
{
    if (src->rowtime >= 0) {
        const struct value *v = &row[src->rowtime];
        if (v->type == VT_TIMESTAMP && timestamp_in_range(v->u.i) && v->u.i > src->max_ts)
            src->max_ts = v->u.i;
    }
    int64_t wm = min_watermark(p);
    if (wm == INT64_MIN || wm <= p->stats.watermark_ms)
        return 0;
    p->stats.watermark_ms = wm;
    return fire_all(p, p->stats.watermark_ms);
}

static int expire_state(struct plan *p)
{
    int64_t limit = plan_now(p) - p->opts.state_ttl_ms;
    for (int i = 0; p->batch_rows && i < p->nqueries; i++) { /* the batch goes out before a group of it expires */
        const struct group_table *t = &p->queries[i]->groups;
        if (p->queries[i]->op.kind == OP_GROUP_AGG && t->oldest && t->oldest->accessed_ms <= limit) {
            if (flush_batches(p) < 0)
                return -1;
            break;
        }
    }
    for (int i = 0; i < p->nqueries; i++)
        if (p->queries[i]->op.kind == OP_GROUP_AGG)
            group_table_expire(&p->queries[i]->groups, limit);
    for (int i = 0; i < p->njoins; i++)
        join_expire(p->joins[i]->join, limit + p->opts.state_ttl_ms);
    return 0;
}

/* ---- Execution -------------------------------------------------------------------------*/

/* The kind a scan takes a row of kind `kind` as: its own when it feeds a temporal join's table
 * (a versioned table's -D ends a version), else +I (the planner sees streams as append-only). */
static enum row_kind scan_kind(const struct query *q, enum row_kind kind)
{
    const struct op *to = q->op.parent;
    if (to && to->kind == OP_JOIN && ((const struct join_op *)to)->temporal &&
        ((const struct join_op *)to)->right == &q->op)
        return kind;
    return ROW_INSERT;
}

int plan_process_source(struct plan *p, int source, const struct value *row, struct arena *scratch, plan_emit_fn emit,
                        void *ctx, struct sql_error *err)
{
    return plan_process_source_kind(p, source, ROW_INSERT, row, scratch, emit, ctx, err);
}

int plan_process_source_kind(struct plan *p, int source, enum row_kind kind, const struct value *row,
                             struct arena *scratch, plan_emit_fn emit, void *ctx, struct sql_error *err)
{
    p->stats.rows_in++;
    p->emit = emit;
    p->emit_ctx = ctx;
    p->scratch = scratch;
    p->err = err;
    p->sink_failed = 0;
    if (source < 0 || source >= p->nsrcs)
        return fail_at(err, 0, 0, "internal error: the plan has no source %d", source);
    struct plan_src *src = &p->srcs[source];
    if (p->opts.source_idle_timeout_ms > 0 && p->nsrcs > 1)
        src->last_ms = plan_now(p);
    if ((p->grouped || p->njoins) && p->opts.state_ttl_ms > 0 && expire_state(p) < 0)
        return -1; /* before the row: a group idle for the TTL starts anew */
    if (src->procrow)
        row = fill_proctime(src, row);
    for (int i = 0; i < p->nscans; i++)
        if (p->scans[i]->source == source && query_push(p, p->scans[i], scan_kind(p->scans[i], kind), row) < 0)
            return -1;
    if (p->proctime && fire_proctime(p) < 0)
        return -1;
    if (p->batch_rows >= p->opts.minibatch_size && p->batch_rows && flush_batches(p) < 0)
        return -1;
    return p->windowed ? advance_watermark(p, src, row) : 0;
}

int plan_process(struct plan *p, const struct value *row, struct arena *scratch, plan_emit_fn emit, void *ctx,
                 struct sql_error *err)
{
    return plan_process_source(p, 0, row, scratch, emit, ctx, err);
}

int plan_source_preload(const struct plan *p, int source)
{
    return source >= 0 && source < p->nsrcs && p->srcs[source].preload;
}

/* The lookup join whose table is stream source, or NULL. */
static struct join *lookup_join(const struct plan *p, int source)
{
    for (int i = 0; i < p->njoins; i++) {
        const struct join_op *jo = p->joins[i];
        if (jo->temporal && jo->right->kind != OP_JOIN && jo->right->kind != OP_UNION && jo->right->kind != OP_RANK &&
            jo->right->kind != OP_OVER && ((const struct query *)jo->right)->reads_source &&
            ((const struct query *)jo->right)->source == source)
            return jo->join;
    }
    return NULL;
}

int plan_lookup_keys(const struct plan *p, int source, int *cols, int max)
{
    const struct join *j = lookup_join(p, source);
    return j ? join_lookup_keys(j, cols, max) : -1;
}

void plan_set_lookup(struct plan *p, int source, plan_lookup_fn fn, void *ctx)
{
    struct join *j = lookup_join(p, source);
    if (j)
        join_set_lookup(j, fn, ctx);
    plan_set_queried(p, source);
}

void plan_set_queried(struct plan *p, int source)
{
    if (lookup_join(p, source))
        p->srcs[source].queried = 1;
}

int plan_source_queried(const struct plan *p, int source)
{
    return source >= 0 && source < p->nsrcs && p->srcs[source].queried;
}

int plan_read_sources(const struct plan *p)
{
    int n = 0;
    for (int i = 0; i < p->nsrcs; i++)
        n += !p->srcs[i].queried;
    return n;
}

int plan_is_stateful(const struct plan *p)
{
    int njoins = p->njoins;
    for (int i = 0; i < p->nsrcs; i++)
        njoins -= p->srcs[i].queried; /* a queried table's lookup join keeps no state */
    return p->windowed || p->grouped || p->nranks > 0 || njoins > 0;
}

void plan_source_ended(struct plan *p, int source)
{
    if (source >= 0 && source < p->nsrcs)
        p->srcs[source].ended = 1;
}

int plan_tick(struct plan *p, struct arena *scratch, plan_emit_fn emit, void *ctx, struct sql_error *err)
{
    int batch_due = p->batch_rows && plan_now(p) - p->batch_since_ms >= p->opts.minibatch_latency_ms;
    if (!p->proctime && !batch_due)
        return 0;
    p->emit = emit;
    p->emit_ctx = ctx;
    p->scratch = scratch;
    p->err = err;
    p->sink_failed = 0;
    if (batch_due && flush_batches(p) < 0)
        return -1;
    return p->proctime ? fire_proctime(p) : 0;
}

int plan_flush(struct plan *p, struct arena *scratch, plan_emit_fn emit, void *ctx, struct sql_error *err)
{
    if (!p->batch_rows)
        return 0;
    p->emit = emit;
    p->emit_ctx = ctx;
    p->scratch = scratch;
    p->err = err;
    p->sink_failed = 0;
    return flush_batches(p);
}

int plan_finish(struct plan *p, struct arena *scratch, plan_emit_fn emit, void *ctx)
{
    p->emit = emit;
    p->emit_ctx = ctx;
    p->scratch = scratch;
    p->err = &p->finish_err;
    p->sink_failed = 0;
    return fire_all(p, INT64_MAX);
}

void plan_free(struct plan *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nqueries; i++) {
        query_release(p->queries[i]);
        free(p->queries[i]);
    }
    free(p->queries);
    free(p->scans);
    for (int i = 0; i < p->nunions; i++) {
        free(p->unions[i]->inputs);
        free(p->unions[i]);
    }
    free(p->unions);
    for (int i = 0; i < p->nranks; i++) {
        rank_free(p->ranks[i]->rank);
        free(p->ranks[i]);
    }
    free(p->ranks);
    for (int i = 0; i < p->novers; i++) {
        over_free(p->overs[i]->over);
        free(p->overs[i]);
    }
    free(p->overs);
    for (int i = 0; i < p->njoins; i++) {
        join_free(p->joins[i]->join);
        free(p->joins[i]);
    }
    free(p->joins);
    expr_compiler_cleanup(&p->compiler);
    arena_free(p->arena);
    for (int i = 0; i < p->nsrcs; i++) {
        free(p->srcs[i].name);
        schema_free_fields(&p->srcs[i].in);
        free(p->srcs[i].needed);
        free(p->srcs[i].procrow);
    }
    free(p->srcs);
    free(p->sink);
    free(p->sql);
    schema_free_fields(&p->out);
    free(p);
}

const char *plan_source(const struct plan *p) { return p->srcs[0].name; }
const char *plan_sink(const struct plan *p) { return p->sink; }
const struct schema *plan_input_schema(const struct plan *p) { return &p->srcs[0].in; }
const struct schema *plan_output_schema(const struct plan *p) { return &p->out; }
const unsigned char *plan_needed_fields(const struct plan *p) { return p->srcs[0].needed; }
int plan_nsources(const struct plan *p) { return p->nsrcs; }
const char *plan_source_at(const struct plan *p, int i) { return p->srcs[i].name; }
const struct schema *plan_source_schema(const struct plan *p, int i) { return &p->srcs[i].in; }
const unsigned char *plan_source_needed(const struct plan *p, int i) { return p->srcs[i].needed; }
int plan_is_windowed(const struct plan *p) { return p->windowed || p->grouped || p->nranks > 0 || p->njoins > 0; }
int plan_is_updating(const struct plan *p) { return p->root->updating; }
int plan_is_explain(const struct plan *p) { return p->explain; }
const struct op *plan_root(const struct plan *p) { return p->root; }

int plan_operator_list(const struct plan *p, const struct op **ops, int max)
{
    int n = 0;
#define PLAN_LIST(arr, count)                                                                                          \
    for (int i = 0; i < (count); i++, n++)                                                                             \
        if (n < max)                                                                                                   \
            ops[n] = &(arr)[i]->op;
    PLAN_LIST(p->queries, p->nqueries)
    PLAN_LIST(p->unions, p->nunions)
    PLAN_LIST(p->ranks, p->nranks)
    PLAN_LIST(p->overs, p->novers)
    PLAN_LIST(p->joins, p->njoins)
#undef PLAN_LIST
    return n;
}
void plan_stats(const struct plan *p, struct plan_stats *out)
{
    *out = p->stats;
    for (int i = 0; i < p->novers; i++) {
        struct over_stats os;
        over_stats(p->overs[i]->over, &os);
        out->late_dropped += os.late_dropped;
    }
    for (int i = 0; i < p->nranks; i++) {
        struct rank_stats rs;
        rank_stats(p->ranks[i]->rank, &rs);
        out->late_dropped += rs.late_dropped;
    }
    for (int i = 0; i < p->njoins; i++) {
        struct join_stats js;
        join_stats(p->joins[i]->join, &js);
        out->late_dropped += js.late_dropped;
        out->eval_errors += js.eval_errors;
    }
}
size_t plan_state_bytes(const struct plan *p)
{
    size_t n = 0;
    for (int i = 0; i < p->nqueries; i++)
        n += group_table_bytes(&p->queries[i]->groups);
    for (int i = 0; i < p->nranks; i++) {
        struct rank_stats rs;
        rank_stats(p->ranks[i]->rank, &rs);
        n += rs.state_bytes;
    }
    for (int i = 0; i < p->novers; i++) {
        struct over_stats os;
        over_stats(p->overs[i]->over, &os);
        n += os.state_bytes;
    }
    for (int i = 0; i < p->njoins; i++) {
        struct join_stats js;
        join_stats(p->joins[i]->join, &js);
        n += js.state_bytes;
    }
    return n;
}

/* Appends name to the comma-separated list in buf (of size), once. */
static void state_name_add(char *buf, size_t size, const char *name)
{
    if (strstr(buf, name))
        return;
    size_t n = strlen(buf);
    snprintf(buf + n, size - n, "%s%s", n ? ", " : "", name);
}

int plan_state_operators(const struct plan *p, char *buf, size_t size)
{
    int n = 0;
    buf[0] = '\0';
    for (int i = 0; i < p->nqueries; i++)
        if (p->queries[i]->op.kind == OP_GROUP_AGG && group_table_bytes(&p->queries[i]->groups) > 0) {
            state_name_add(buf, size, "GroupAggregate");
            n++;
        }
    for (int i = 0; i < p->nranks; i++) {
        struct rank_stats rs;
        rank_stats(p->ranks[i]->rank, &rs);
        if (rs.state_bytes > 0) {
            state_name_add(buf, size, "Rank");
            n++;
        }
    }
    for (int i = 0; i < p->novers; i++) {
        struct over_stats os;
        over_stats(p->overs[i]->over, &os);
        if (os.state_bytes > 0) {
            state_name_add(buf, size, "OverAggregate");
            n++;
        }
    }
    return n;
}

/* ---- Snapshot and restore ----------------------------------------------------------------
 * "SQLPLAN1", fingerprint, counters, max event time, then the state of each stateful block
 * in order (a window table, or a group table), then of each rank operator (length, rank.h's
 * snapshot); a plan without one writes an empty window table (the form of plans with one
 * windowed aggregate is as it always was). */

static int is_stateful(const struct query *q) { return q->op.kind == OP_WINDOW_AGG || q->op.kind == OP_GROUP_AGG; }

/* Appends an operator's snapshot buf[0..n) after its length, and frees buf. */
static void put_blob(struct window_writer *w, char *buf, size_t n)
{
    uint64_t len64 = n;
    window_put(w, &len64, sizeof len64);
    window_put(w, buf, n);
    free(buf);
}

int plan_snapshot(const struct plan *p, char **out, size_t *len)
{
    if (p->batch_rows)
        return -1; /* a mini-batch not flushed (plan_flush) */
    struct window_writer w = {0};
    int nstate = 0;
    window_put(&w, "SQLPLAN1", 8);
    window_put(&w, &p->fingerprint, sizeof p->fingerprint);
    window_put(&w, &p->stats, sizeof p->stats);
    for (int i = 0; i < p->nsrcs; i++)
        window_put(&w, &p->srcs[i].max_ts, sizeof p->srcs[i].max_ts);
    for (int i = 0; i < p->nqueries; i++) {
        const struct query *q = p->queries[i];
        nstate += is_stateful(q);
        if (q->op.kind == OP_WINDOW_AGG)
            window_table_write(&q->table, &w);
        else if (q->op.kind == OP_GROUP_AGG)
            group_table_write(&q->groups, &w);
    }
    for (int i = 0; i < p->nranks; i++, nstate++) {
        char *buf;
        size_t n;
        if (rank_snapshot(p->ranks[i]->rank, &buf, &n) < 0) {
            free(w.p);
            return -1;
        }
        put_blob(&w, buf, n);
    }
    for (int i = 0; i < p->novers; i++, nstate++) {
        char *buf;
        size_t n;
        if (over_snapshot(p->overs[i]->over, &buf, &n) < 0) {
            free(w.p);
            return -1;
        }
        put_blob(&w, buf, n);
    }
    for (int i = 0; i < p->njoins; i++) { /* written in place, its length before it */
        uint64_t len64 = 0;
        size_t at = w.len;
        window_put(&w, &len64, sizeof len64);
        if (join_snapshot_to(p->joins[i]->join, &w) < 0) {
            free(w.p);
            return -1;
        }
        len64 = w.len - at - sizeof len64;
        memcpy(w.p + at, &len64, sizeof len64);
        nstate++;
    }
    if (!nstate) {
        int64_t none = 0;
        window_put(&w, &none, sizeof none);
    }
    if (w.oom) {
        free(w.p);
        return -1;
    }
    *out = w.p;
    *len = w.len;
    return 0;
}

static void clear_state(struct plan *p)
{
    for (int i = 0; i < p->nqueries; i++) {
        window_table_clear(&p->queries[i]->table);
        group_table_clear(&p->queries[i]->groups);
    }
}

/* The next length-prefixed blob of r (a rank's, an OVER's or a join's state): its bytes, *n of
 * them, or NULL when r is short or malformed. */
static const char *read_blob(struct window_reader *r, size_t *n)
{
    uint64_t len = 0;
    window_get(r, &len, sizeof len);
    if (r->bad || len > r->len - r->pos)
        return NULL;
    const char *blob = r->p + r->pos;
    r->pos += len;
    *n = (size_t)len;
    return blob;
}

static int read_state(struct plan *p, struct window_reader *r)
{
    int nstate = 0;
    struct sql_error ignored;
    const char *b;
    size_t n;
    for (int i = 0; i < p->nqueries; i++) {
        struct query *q = p->queries[i];
        nstate += is_stateful(q);
        if (q->op.kind == OP_WINDOW_AGG && window_table_read(&q->table, r) < 0)
            return -1;
        if (q->op.kind == OP_GROUP_AGG && group_table_read(&q->groups, r) < 0)
            return -1;
    }
    for (int i = 0; i < p->nranks; i++, nstate++)
        if (!(b = read_blob(r, &n)) || rank_restore(p->ranks[i]->rank, b, n, &ignored) < 0)
            return -1;
    for (int i = 0; i < p->novers; i++, nstate++)
        if (!(b = read_blob(r, &n)) || over_restore(p->overs[i]->over, b, n, &ignored) < 0)
            return -1;
    for (int i = 0; i < p->njoins; i++, nstate++)
        if (!(b = read_blob(r, &n)) || join_restore(p->joins[i]->join, b, n, &ignored) < 0)
            return -1;
    if (!nstate) {
        int64_t none = -1;
        window_get(r, &none, sizeof none);
        if (none != 0)
            return -1;
    }
    return r->bad || r->pos != r->len ? -1 : 0;
}

int plan_restore(struct plan *p, const char *data, size_t len, struct sql_error *err)
{
    struct window_reader r = {data, len, 0, 0};
    char magic[8];
    uint64_t fp;
    struct plan_stats stats;
    int64_t max_ts[PLAN_MAX_SOURCES];
    window_get(&r, magic, 8);
    window_get(&r, &fp, sizeof fp);
    if (r.bad || memcmp(magic, "SQLPLAN1", 8) != 0)
        return fail_at(err, 0, 0, "checkpoint state is not a plan snapshot");
    if (fp != p->fingerprint)
        return fail_at(err, 0, 0, "checkpoint state was written by a different query or schema");
    for (int i = 0; i < p->nqueries; i++)
        if (p->queries[i]->table.nwindows || p->queries[i]->groups.ngroups)
            return fail_at(err, 0, 0, "plan_restore needs a freshly compiled plan");
    for (int i = 0; i < p->nranks; i++) {
        struct rank_stats rs;
        rank_stats(p->ranks[i]->rank, &rs);
        if (rs.rows_in)
            return fail_at(err, 0, 0, "plan_restore needs a freshly compiled plan");
    }
    for (int i = 0; i < p->novers; i++) {
        struct over_stats os;
        over_stats(p->overs[i]->over, &os);
        if (os.rows_in)
            return fail_at(err, 0, 0, "plan_restore needs a freshly compiled plan");
    }
    for (int i = 0; i < p->njoins; i++) {
        struct join_stats js;
        join_stats(p->joins[i]->join, &js);
        if (js.rows_in)
            return fail_at(err, 0, 0, "plan_restore needs a freshly compiled plan");
    }
    window_get(&r, &stats, sizeof stats);
    for (int i = 0; i < p->nsrcs; i++)
        window_get(&r, &max_ts[i], sizeof max_ts[i]);
    if (r.bad || read_state(p, &r) < 0) {
        clear_state(p);
        return fail_at(err, 0, 0, "checkpoint state is truncated or corrupt");
    }
    p->stats = stats;
    for (int i = 0; i < p->nsrcs; i++)
        p->srcs[i].max_ts = max_ts[i];
    return 0;
}

/* ---- Splitting a plan over several tasks by key ------------------------------------------*/

/* The operator that feeds o (its input), or NULL when o reads a stream. */
static const struct op *split_input(const struct plan *p, const struct op *o)
{
    const struct op *all[1024];
    int n = plan_operator_list(p, all, 1024);
    for (int i = 0; i < n && i < 1024; i++)
        if (all[i]->parent == o)
            return all[i];
    return NULL;
}

/* Column col of o's output traced back through plain column references (projections, group
 * keys, passed-through columns) to column *scol of stream *src. 0, or -1 when it is computed. */
static int split_trace(const struct plan *p, const struct op *o, int col, int *src, int *scol)
{
    if (!o || col < 0)
        return -1;
    if (o->kind == OP_JOIN) {
        const struct join_op *jo = (const struct join_op *)o;
        int nl = op_schema(jo->left)->nfields;
        return col < nl ? split_trace(p, jo->left, col, src, scol) : split_trace(p, jo->right, col - nl, src, scol);
    }
    if (o->kind == OP_UNION)
        return -1;
    if (o->kind == OP_RANK || o->kind == OP_OVER) {
        const struct op *in = split_input(p, o);
        return in && col < op_schema(in)->nfields ? split_trace(p, in, col, src, scol) : -1;
    }
    const struct query *q = (const struct query *)o;
    if (col >= q->nitems || q->items[col]->fn != eval_column)
        return -1;
    int in = q->items[col]->index;
    if (o->kind == OP_GROUP_AGG || o->kind == OP_WINDOW_AGG)
        in = in < q->nkeys ? q->key_cols[in] : -1;
    else if (o->kind == OP_WINDOW_TVF && in >= q->in.nfields)
        in = -1; /* window_start, window_end, window_time */
    if (in < 0)
        return -1;
    if (q->reads_source) {
        *src = q->source;
        *scol = in;
        return 0;
    }
    return split_trace(p, split_input(p, o), in, src, scol);
}

/* Picks, for join jo, a key pair of plain stream columns of one type that agrees with the
 * columns chosen so far, and chooses them. 0, or -1 when it has none. */
static int split_join(const struct plan *p, const struct join_op *jo, int *cols)
{
    for (int k = 0; k < jo->nkeys; k++) {
        int ls, lc, rs, rc;
        if (split_trace(p, jo->left, jo->key_left[k], &ls, &lc) != 0 ||
            split_trace(p, jo->right, jo->key_right[k], &rs, &rc) != 0 || ls == rs || p->srcs[ls].queried ||
            p->srcs[rs].queried || p->srcs[ls].in.fields[lc].type != p->srcs[rs].in.fields[rc].type ||
            (cols[ls] >= 0 && cols[ls] != lc) || (cols[rs] >= 0 && cols[rs] != rc))
            continue;
        cols[ls] = lc;
        cols[rs] = rc;
        return 0;
    }
    return -1;
}

/* The key columns of stateful operator o (in terms of its input) and their count. */
static int split_keys_of(const struct op *o, const int **keys)
{
    if (o->kind == OP_RANK) {
        *keys = ((const struct rank_op *)o)->part_cols;
        return ((const struct rank_op *)o)->npart;
    }
    if (o->kind == OP_OVER) {
        *keys = ((const struct over_op *)o)->part_cols;
        return ((const struct over_op *)o)->npart;
    }
    *keys = ((const struct query *)o)->key_cols;
    return ((const struct query *)o)->nkeys;
}

/* Key column col of stateful operator o traced to its stream: 0 with *src and *scol, or -1
 * when it is computed. */
static int split_key_trace(const struct plan *p, const struct op *o, int col, int *src, int *scol)
{
    const struct query *q = (const struct query *)o;
    if (col < 0)
        return -1;
    if ((o->kind == OP_GROUP_AGG || o->kind == OP_WINDOW_AGG) && q->reads_source) {
        *src = q->source;
        *scol = col;
        return 0;
    }
    return split_trace(p, split_input(p, o), col, src, scol);
}

/* 1 when the state of stateful operator o (not a join) is keyed by a split column. */
static int split_keyed(const struct plan *p, const struct op *o, const int *cols)
{
    const int *keys;
    int nkeys = split_keys_of(o, &keys), src, scol;
    for (int k = 0; k < nkeys; k++)
        if (split_key_trace(p, o, keys[k], &src, &scol) == 0 && cols[src] == scol)
            return 1;
    return 0;
}

/* 1 when stateful operator o is one whose state split_keyed can judge (joins are judged by
 * split_join). */
static int split_stateful(const struct op *o)
{
    return o->kind == OP_GROUP_AGG || o->kind == OP_WINDOW_AGG || o->kind == OP_RANK || o->kind == OP_OVER;
}

/* The name of stateful operator o for a refusal. */
static const char *split_op_name(const struct op *o)
{
    return o->name ? o->name : o->kind == OP_WINDOW_AGG ? "a window aggregate" : "an aggregate";
}

/* The first stateful operator not keyed by the split columns cols, or NULL when each is. */
static const struct op *split_unkeyed(const struct plan *p, const int *cols)
{
    const struct op *all[1024];
    int n = plan_operator_list(p, all, 1024);
    for (int i = 0; i < n && i < 1024; i++)
        if (split_stateful(all[i]) && !split_keyed(p, all[i], cols))
            return all[i];
    return NULL;
}

/* A plan over one stream with no join: picks as its split column a key column of a stateful
 * operator that keys every stateful operator. 0, or -1 with why. */
static int split_one_stream(const struct plan *p, int *cols, char *why, size_t size)
{
    const struct op *all[1024], *first = NULL;
    int n = plan_operator_list(p, all, 1024);
    for (int i = 0; i < n && i < 1024; i++) {
        if (!split_stateful(all[i]))
            continue;
        first = first ? first : all[i];
        const int *keys;
        int nkeys = split_keys_of(all[i], &keys), src, scol;
        for (int k = 0; k < nkeys; k++) {
            if (split_key_trace(p, all[i], keys[k], &src, &scol) != 0 || p->srcs[src].queried)
                continue;
            cols[src] = scol;
            if (!split_unkeyed(p, cols))
                return 0;
            cols[src] = -1;
        }
    }
    if (!first)
        return snprintf(why, size, "it keeps no state by key (it joins nothing and aggregates nothing)"), -1;
    return snprintf(why, size,
                    "%s has no key column of the stream that keys every aggregate, Top-N and OVER (its groups "
                    "would be split)",
                    split_op_name(first)),
           -1;
}

/* 1 when jo is the lookup join of a table queried per key (plan_set_queried). */
static int queried_join(const struct plan *p, const struct join_op *jo)
{
    for (int i = 0; i < p->nsrcs; i++)
        if (p->srcs[i].queried && lookup_join(p, i) == jo->join)
            return 1;
    return 0;
}

int plan_split_columns(const struct plan *p, int *cols, char *why, size_t size)
{
    int joins = 0; /* the joins that keep state: all but a queried table's lookup join */
    for (int i = 0; i < p->nsrcs; i++)
        cols[i] = -1;
    for (int j = 0; j < p->njoins; j++)
        joins += !queried_join(p, p->joins[j]);
    if (joins == 0 && plan_read_sources(p) == 1)
        return split_one_stream(p, cols, why, size);
    if (joins == 0)
        return snprintf(why, size, "it joins no streams"), -1;
    for (int j = p->njoins - 1; j >= 0; j--) /* the inner joins first; a queried table's is no split */
        if (!queried_join(p, p->joins[j]) && split_join(p, p->joins[j], cols) != 0)
            return snprintf(why, size,
                            "%s has no equality key on columns of its streams (a cross join, or a window join on "
                            "the window only)",
                            p->joins[j]->op.name ? p->joins[j]->op.name : "a join"),
                   -1;
    for (int i = 0; i < p->nsrcs; i++)
        if (cols[i] < 0 && !p->srcs[i].queried)
            return snprintf(why, size, "stream \"%s\" is not joined on a key", p->srcs[i].name), -1;
    const struct op *o = split_unkeyed(p, cols);
    if (o)
        return snprintf(why, size, "%s is not keyed by the join key (its groups would be split)", split_op_name(o)), -1;
    return 0;
}

int plan_pass_source(struct plan *p, int source, const struct value *row, struct arena *scratch, plan_emit_fn emit,
                     void *ctx, struct sql_error *err)
{
    p->emit = emit;
    p->emit_ctx = ctx;
    p->scratch = scratch;
    p->err = err;
    p->sink_failed = 0;
    if (source < 0 || source >= p->nsrcs)
        return fail_at(err, 0, 0, "internal error: the plan has no source %d", source);
    struct plan_src *src = &p->srcs[source];
    if (p->opts.source_idle_timeout_ms > 0 && p->nsrcs > 1)
        src->last_ms = plan_now(p);
    return p->windowed ? advance_watermark(p, src, row) : 0;
}
