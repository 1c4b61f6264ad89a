/* explain.c — EXPLAIN: a compiled plan's operator tree, from the sink down to the streams it
 * reads, with each operator's name (as changelog errors name it), its changelog mode, whether
 * it keeps state and what that state is keyed by; as rows (for the API) and as text. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/sql/query.h"
#include "dataplane/sql/sql.h"

#define EXPLAIN_MAX_OPS 512

struct explain_build {
    const struct plan *p;
    const struct op *all[EXPLAIN_MAX_OPS];
    int nall;
    struct plan_explain *out;
    int cap;
};

/* ---- Names -------------------------------------------------------------------------------*/

/* malloc'd printf; NULL when out of memory. */
static char *explain_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *explain_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

/* A window's size as the SQL writes it: "10 s", "1 min", "2 h", "500 ms". */
static void explain_duration(int64_t ms, char *buf, size_t size)
{
    if (ms != 0 && ms % 3600000 == 0)
        snprintf(buf, size, "%lld h", (long long)(ms / 3600000));
    else if (ms != 0 && ms % 60000 == 0)
        snprintf(buf, size, "%lld min", (long long)(ms / 60000));
    else if (ms != 0 && ms % 1000 == 0)
        snprintf(buf, size, "%lld s", (long long)(ms / 1000));
    else
        snprintf(buf, size, "%lld ms", (long long)ms);
}

/* "TUMBLE(time_col=[ts], size=[10 s])" for the window of block q. */
static void explain_window(const struct query *q, char *buf, size_t size)
{
    char a[32], b[32];
    const char *time_col = q->rowtime >= 0 ? q->in.fields[q->rowtime].name : "?";
    explain_duration(q->win_a, a, sizeof a);
    explain_duration(q->win_b, b, sizeof b);
    switch (q->window) {
    case WINDOW_TUMBLE:
        snprintf(buf, size, "TUMBLE(time_col=[%s], size=[%s])", time_col, a);
        break;
    case WINDOW_HOP:
        snprintf(buf, size, "HOP(time_col=[%s], slide=[%s], size=[%s])", time_col, a, b);
        break;
    case WINDOW_CUMULATE:
        snprintf(buf, size, "CUMULATE(time_col=[%s], step=[%s], max_size=[%s])", time_col, a, b);
        break;
    case WINDOW_SESSION:
        snprintf(buf, size, "SESSION(time_col=[%s], gap=[%s])", time_col, a);
        break;
    default:
        snprintf(buf, size, "GIVEN(window_start=[%s], window_end=[%s])",
                 q->given_start >= 0 ? q->in.fields[q->given_start].name : "?",
                 q->given_end >= 0 ? q->in.fields[q->given_end].name : "?");
    }
}

/* The names of fields[0..n) of s, comma-separated, into buf. */
static void explain_fields(const struct schema *s, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->nfields && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", s->fields[i].name);
}

/* The group keys of block q, comma-separated, into buf. */
static void explain_keys(const struct query *q, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int k = 0; k < q->nkeys && len < size; k++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", k ? ", " : "",
                                q->key_cols[k] >= 0 ? q->in.fields[q->key_cols[k]].name : "<expression>");
}

/* The name of a block without one set by the planner (a calc, a window table function or a
 * window aggregate), malloc'd; its key into *key (malloc'd, or NULL). */
static char *explain_block_name(const struct query *q, char **key)
{
    char cols[512], win[256], keys[256];
    explain_fields(&q->out, cols, sizeof cols);
    *key = NULL;
    switch (q->op.kind) {
    case OP_WINDOW_TVF:
        explain_window(q, win, sizeof win);
        return explain_printf("WindowTableFunction(window=[%s], select=[%s]%s)", win, cols,
                              q->where ? ", where=[...]" : "");
    case OP_WINDOW_AGG:
        explain_window(q, win, sizeof win);
        explain_keys(q, keys, sizeof keys);
        *key = explain_printf("%s%swindow", keys, keys[0] ? ", " : "");
        return explain_printf("WindowAggregate(groupBy=[%s], window=[%s], select=[%s])", keys, win, cols);
    default:
        return explain_printf("Calc(select=[%s]%s)", cols, q->where ? ", where=[...]" : "");
    }
}

static int explain_stateful(enum op_kind k)
{
    return k == OP_WINDOW_AGG || k == OP_GROUP_AGG || k == OP_RANK || k == OP_OVER || k == OP_JOIN;
}

/* ---- The tree ----------------------------------------------------------------------------*/

/* A new row of out under parent, with name (taken, NULL: out of memory) and key (copied). */
static int explain_add(struct explain_build *b, char *name, const char *key, int parent, int updating, int stateful)
{
    struct plan_explain *e = b->out;
    if (!name)
        return -1;
    if (e->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 16;
        struct plan_operator *grown = realloc(e->ops, (size_t)cap * sizeof *grown);
        if (!grown) {
            free(name);
            return -1;
        }
        e->ops = grown;
        b->cap = cap;
    }
    struct plan_operator *row = &e->ops[e->n];
    *row = (struct plan_operator){.name = name,
                                  .parent = parent,
                                  .depth = parent < 0 ? 0 : e->ops[parent].depth + 1,
                                  .updating = updating,
                                  .stateful = stateful};
    if (key && !(row->key = strdup(key))) {
        free(name);
        return -1;
    }
    return e->n++;
}

static int explain_op(struct explain_build *b, const struct op *o, int parent);

/* The inputs of o, in the order the query names them. */
static int explain_inputs(struct explain_build *b, const struct op *o, int row)
{
    if (o->kind == OP_UNION) {
        const struct union_op *u = (const struct union_op *)o;
        for (int i = 0; i < u->ninputs; i++)
            if (explain_op(b, u->inputs[i], row) < 0)
                return -1;
        return 0;
    }
    for (int i = 0; i < b->nall; i++)
        if (b->all[i]->parent == o && explain_op(b, b->all[i], row) < 0)
            return -1;
    if (o->kind != OP_RANK && o->kind != OP_OVER && o->kind != OP_JOIN) {
        const struct query *q = (const struct query *)o;
        if (q->reads_source &&
            explain_add(b, explain_printf("TableSourceScan(table=[%s])", plan_source_at(b->p, q->source)), NULL, row, 0,
                        0) < 0)
            return -1;
    }
    return 0;
}

static int explain_op(struct explain_build *b, const struct op *o, int parent)
{
    char *key = NULL, *name;
    if (o->name)
        name = strdup(o->name);
    else if (o->kind == OP_UNION)
        name = strdup("Union(all=[true])");
    else
        name = explain_block_name((const struct query *)o, &key);
    int row = explain_add(b, name, o->key ? o->key : key, parent, o->updating, explain_stateful(o->kind));
    free(key);
    return row < 0 ? -1 : explain_inputs(b, o, row);
}

int plan_explain(const struct plan *p, struct plan_explain *out)
{
    struct explain_build *b = calloc(1, sizeof *b);
    memset(out, 0, sizeof *out);
    if (!b)
        return -1;
    b->p = p;
    b->out = out;
    b->nall = plan_operator_list(p, b->all, EXPLAIN_MAX_OPS);
    if (b->nall > EXPLAIN_MAX_OPS)
        b->nall = EXPLAIN_MAX_OPS;
    const struct op *root = plan_root(p);
    int parent = -1, rc = 0;
    if (plan_sink(p)[0] &&
        (parent = explain_add(b, explain_printf("Sink(table=[%s])", plan_sink(p)), NULL, -1, root->updating, 0)) < 0)
        rc = -1;
    else if (explain_op(b, root, parent) < 0 || !(out->text = plan_explain_format(out)))
        rc = -1;
    free(b);
    if (rc < 0)
        plan_explain_free(out);
    return rc;
}

/* ---- Text --------------------------------------------------------------------------------*/

/* 1 when row i is the last input of its parent. */
static int explain_last_child(const struct plan_explain *e, int i)
{
    for (int j = i + 1; j < e->n; j++)
        if (e->ops[j].parent == e->ops[i].parent)
            return 0;
    return 1;
}

/* Row i's tree prefix, Flink style: ":- " before an input with more after it, "+- " before
 * the last, and ":  " or "   " below them. */
static size_t explain_prefix(const struct plan_explain *e, int i, char *buf, size_t size)
{
    int chain[EXPLAIN_MAX_OPS], n = 0;
    for (int j = i; j >= 0 && e->ops[j].parent >= 0 && n < EXPLAIN_MAX_OPS; j = e->ops[j].parent)
        chain[n++] = j;
    size_t len = 0;
    buf[0] = '\0';
    for (int k = n - 1; k >= 0 && len < size; k--) {
        int last = explain_last_child(e, chain[k]);
        len += (size_t)snprintf(buf + len, size - len, "%s", k ? (last ? "   " : ":  ") : (last ? "+- " : ":- "));
    }
    return len < size ? len : size - 1;
}

/* Row i of e as a line of the text, with its tree prefix, into line. */
static void explain_line(const struct plan_explain *e, int i, char *line, size_t size)
{
    const struct plan_operator *o = &e->ops[i];
    char prefix[512];
    explain_prefix(e, i, prefix, sizeof prefix);
    snprintf(line, size, "%s%s, changelog=[%s], state=[%s%s]\n", prefix, o->name,
             o->updating ? "updating: +I,-U,+U,-D" : "append-only: +I",
             !o->stateful ? "none"
             : o->key     ? "keyed by "
                          : "one key",
             o->key && o->stateful ? o->key : "");
}

char *plan_explain_format(const struct plan_explain *e)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    for (int i = 0; i < e->n; i++) {
        char line[2048];
        explain_line(e, i, line, sizeof line);
        fputs(line, out);
    }
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

void plan_explain_free(struct plan_explain *e)
{
    if (!e)
        return;
    for (int i = 0; i < e->n; i++) {
        free(e->ops[i].name);
        free(e->ops[i].key);
    }
    free(e->ops);
    free(e->text);
    memset(e, 0, sizeof *e);
}
