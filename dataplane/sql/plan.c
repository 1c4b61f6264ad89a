/* plan.c — compiles INSERT INTO ... SELECT into a plan and runs it row by row.
 * (First increment: column projections only; grows into the full planner.) */
#include "dataplane/sql/sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"
#include "dataplane/sql/lexer.h"

struct plan {
    char *source, *sink;
    struct schema in, out;
    int *proj; /* output column i = input field proj[i] */
    unsigned char *needed;
    struct value *row;
    struct plan_stats stats;
};

static void plan_err(struct sql_error *err, const struct token *t, const char *fmt, const char *a)
{
    if (!err)
        return;
    err->line = t ? t->line : 0;
    err->column = t ? t->column : 0;
    snprintf(err->message, sizeof err->message, fmt, a);
}

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

static int tok_is(const struct token *t, const char *kw)
{
    return t->kind == TK_IDENT && strcasecmp(t->text, kw) == 0;
}

struct plan *plan_compile(const char *sql, sql_catalog_fn catalog, void *ctx, struct sql_error *err)
{
    struct arena *a = arena_new(4096);
    struct token *tk;
    int n, pos = 0;
    struct plan *p = calloc(1, sizeof *p);
    if (err)
        memset(err, 0, sizeof *err);
    if (!a || !p || lexer_tokenize(sql, strlen(sql), a, &tk, &n, err) < 0)
        goto fail;
    const char *kw[] = {"INSERT", "INTO"};
    for (int k = 0; k < 2; k++, pos++)
        if (!tok_is(&tk[pos], kw[k])) {
            plan_err(err, &tk[pos], "expected %s", kw[k]);
            goto fail;
        }
    if (tk[pos].kind != TK_IDENT && tk[pos].kind != TK_QIDENT) {
        plan_err(err, &tk[pos], "expected %s", "a stream name");
        goto fail;
    }
    p->sink = strdup(tk[pos++].text);
    if (!tok_is(&tk[pos], "SELECT")) {
        plan_err(err, &tk[pos], "expected %s", "SELECT");
        goto fail;
    }
    int first = ++pos, ncols = 0;
    while (tk[pos].kind == TK_IDENT || tk[pos].kind == TK_QIDENT) {
        if (tok_is(&tk[pos], "FROM"))
            break;
        ncols++;
        pos++;
        if (tk[pos].kind != TK_COMMA)
            break;
        pos++;
    }
    if (!tok_is(&tk[pos], "FROM") || ncols == 0) {
        plan_err(err, &tk[pos], "expected %s", "FROM");
        goto fail;
    }
    pos++;
    const struct schema *in = catalog(ctx, tk[pos].text);
    if (!in) {
        plan_err(err, &tk[pos], "stream \"%s\" not found", tk[pos].text);
        goto fail;
    }
    p->source = strdup(tk[pos].text);
    if (schema_copy(&p->in, in) < 0)
        goto fail;
    p->proj = calloc((size_t)ncols, sizeof *p->proj);
    p->needed = calloc((size_t)in->nfields + 1, 1);
    p->row = calloc((size_t)ncols, sizeof *p->row);
    p->out.fields = calloc((size_t)ncols, sizeof *p->out.fields);
    p->out.rowtime_field = -1;
    for (int c = 0; c < ncols; c++) {
        const struct token *t = &tk[first + 2 * c];
        int f;
        for (f = 0; f < in->nfields; f++)
            if (strcasecmp(in->fields[f].name, t->text) == 0)
                break;
        if (f == in->nfields) {
            plan_err(err, t, "column \"%s\" not found", t->text);
            goto fail;
        }
        p->proj[c] = f;
        p->needed[f] = 1;
        p->out.fields[c].name = strdup(in->fields[f].name);
        p->out.fields[c].type = in->fields[f].type;
        p->out.nfields++;
    }
    arena_free(a);
    p->stats.watermark_ms = INT64_MIN;
    return p;
fail:
    arena_free(a);
    plan_free(p);
    return NULL;
}

void plan_free(struct plan *p)
{
    if (!p)
        return;
    free(p->source);
    free(p->sink);
    schema_free_fields(&p->in);
    schema_free_fields(&p->out);
    free(p->proj);
    free(p->needed);
    free(p->row);
    free(p);
}

const char *plan_source(const struct plan *p) { return p->source; }
const char *plan_sink(const struct plan *p) { return p->sink; }
const struct schema *plan_input_schema(const struct plan *p) { return &p->in; }
const struct schema *plan_output_schema(const struct plan *p) { return &p->out; }
const unsigned char *plan_needed_fields(const struct plan *p) { return p->needed; }
int plan_is_windowed(const struct plan *p) { return 0; }

int plan_process(struct plan *p, const struct value *row, struct arena *scratch,
                 plan_emit_fn emit, void *ctx, struct sql_error *err)
{
    p->stats.rows_in++;
    for (int c = 0; c < p->out.nfields; c++)
        p->row[c] = row[p->proj[c]];
    p->stats.rows_out++;
    return emit(ctx, p->row);
}

int plan_finish(struct plan *p, struct arena *scratch, plan_emit_fn emit, void *ctx) { return 0; }
void plan_stats(const struct plan *p, struct plan_stats *out) { *out = p->stats; }

int plan_snapshot(const struct plan *p, char **buf, size_t *len)
{
    *buf = malloc(sizeof p->stats);
    if (!*buf)
        return -1;
    memcpy(*buf, &p->stats, sizeof p->stats);
    *len = sizeof p->stats;
    return 0;
}

int plan_restore(struct plan *p, const char *buf, size_t len, struct sql_error *err)
{
    if (len != sizeof p->stats) {
        plan_err(err, NULL, "%s", "checkpoint state does not match this plan");
        return -1;
    }
    memcpy(&p->stats, buf, len);
    return 0;
}

int sql_validate(const char *sql, sql_catalog_fn catalog, void *ctx, struct sql_error *err)
{
    struct plan *p = plan_compile(sql, catalog, ctx, err);
    plan_free(p);
    return p ? 0 : -1;
}

const char *sql_type_name(enum value_type t)
{
    static const char *const names[] = {"NULL", "BOOLEAN", "BIGINT", "DOUBLE", "STRING", "TIMESTAMP(3)"};
    return names[t];
}

int sql_script_parse(const char *text, struct sql_script *out, struct sql_error *err)
{
    memset(out, 0, sizeof *out);
    plan_err(err, NULL, "%s", "pipeline scripts are not supported yet");
    return -1;
}

void sql_script_free(struct sql_script *s) { (void)s; }

const char *sql_stream_option(const struct sql_stream_def *d, const char *key)
{
    for (int i = 0; i < d->noptions; i++)
        if (strcasecmp(d->options[i].key, key) == 0)
            return d->options[i].value;
    return NULL;
}
