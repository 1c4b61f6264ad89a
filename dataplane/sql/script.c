/* script.c — pipeline files for `sluiced run`: CREATE TABLE|STREAM definitions (columns,
 * WATERMARK, PRIMARY KEY (...) NOT ENFORCED, WITH options), CREATE VIEW and INSERT statements,
 * split and checked with positions. A primary key makes the stream an upsert stream (value.h). */
#include "dataplane/sql/sql.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"
#include "dataplane/sql/functions.h"
#include "dataplane/sql/parser.h"
#include "dataplane/sql/udf.h"

static char *script_strdup(struct parser *p, const char *s, size_t n)
{
    char *m = malloc(n + 1);
    if (!m)
        parser_error(p, NULL, "out of memory");
    memcpy(m, s, n);
    m[n] = '\0';
    return m;
}

static void *script_grow(struct parser *p, void *ptr, size_t n, size_t size)
{
    void *m = realloc(ptr, n * size);
    if (!m)
        parser_error(p, NULL, "out of memory");
    return m;
}

/* NOT ENFORCED after a PRIMARY KEY (Flink checks no key: it must be declared so). */
static void script_not_enforced(struct parser *p)
{
    const struct token *t = parser_peek(p);
    if (!parser_accept_keyword(p, "NOT") || !parser_accept_keyword(p, "ENFORCED"))
        parser_error(p, t, "PRIMARY KEY must be declared NOT ENFORCED (the key is not checked)");
}

/* Adds column idx to the stream's primary key (its name token col, for errors). */
static void script_key_add(struct parser *p, struct sql_stream_def *d, int idx, const struct token *col)
{
    for (int k = 0; k < d->schema.nprimary_key; k++)
        if (d->schema.primary_key[k] == idx)
            parser_error(p, col, "PRIMARY KEY names column \"%s\" twice", col->text);
    if (d->schema.nprimary_key == SCHEMA_MAX_KEY)
        parser_error(p, col, "PRIMARY KEY has more than %d columns", SCHEMA_MAX_KEY);
    d->schema.primary_key[d->schema.nprimary_key++] = idx;
}

/* PRIMARY KEY (col, ...) NOT ENFORCED, after PRIMARY: the columns may be defined after it, so
 * their tokens are resolved at the end of the column list (script_key_resolve). */
static int script_key_clause(struct parser *p, struct sql_stream_def *d, const struct token *at,
                             const struct token **cols)
{
    if (d->schema.nprimary_key > 0 || cols[0])
        parser_error(p, at, "stream \"%s\" has more than one PRIMARY KEY", d->name);
    parser_expect_keyword(p, "KEY");
    parser_expect(p, TK_LPAREN, NULL);
    int n = 0;
    do {
        const struct token *col = parser_identifier(p, "a column name", NULL);
        if (n == SCHEMA_MAX_KEY)
            parser_error(p, col, "PRIMARY KEY has more than %d columns", SCHEMA_MAX_KEY);
        cols[n++] = col;
    } while (parser_accept(p, TK_COMMA));
    parser_expect(p, TK_RPAREN, "\",\" or \")\"");
    script_not_enforced(p);
    return n;
}

static void script_key_resolve(struct parser *p, struct sql_stream_def *d, const struct token **cols, int n)
{
    for (int i = 0; i < n; i++) {
        int idx = -1;
        for (int f = 0; f < d->schema.nfields; f++)
            if (strcasecmp(d->schema.fields[f].name, cols[i]->text) == 0)
                idx = f;
        if (idx < 0)
            parser_error(p, cols[i], "PRIMARY KEY column \"%s\" is not a column of stream \"%s\"", cols[i]->text,
                         d->name);
        script_key_add(p, d, idx, cols[i]);
    }
}

/* CREATE [TEMPORARY] VIEW name AS query, CREATE and TEMPORARY consumed (at start): its text up
 * to the ';' is kept for the INSERTs that follow (syntax is checked by plan_compile). */
static void script_view(struct parser *p, struct sql_script *out, const struct token *start)
{
    if (parser_accept_keyword(p, "IF")) {
        parser_expect_keyword(p, "NOT");
        parser_expect_keyword(p, "EXISTS");
    }
    const struct token *name = parser_identifier(p, "a view name", NULL);
    for (int i = 0; i < out->nstreams; i++)
        if (strcasecmp(out->streams[i].name, name->text) == 0)
            parser_error(p, name, "\"%s\" is defined twice (as a stream and as a view)", name->text);
    for (int i = 0; i < out->nviews; i++)
        if (strcasecmp(out->views[i].name, name->text) == 0)
            parser_error(p, name, "view \"%s\" is defined twice", name->text);
    parser_expect_keyword(p, "AS");
    int depth = 0;
    while (parser_peek(p)->kind != TK_END && !(depth == 0 && parser_peek(p)->kind == TK_SEMI)) {
        const struct token *t = parser_next(p);
        depth += t->kind == TK_LPAREN ? 1 : t->kind == TK_RPAREN ? -1 : 0;
    }
    out->views = script_grow(p, out->views, (size_t)out->nviews + 1, sizeof *out->views);
    struct sql_view *v = &out->views[out->nviews++];
    v->name = NULL;
    v->start = start->offset;
    v->end = parser_peek(p)->offset + (parser_peek(p)->kind == TK_SEMI); /* with its ';' */
    v->line = start->line;
    v->column = start->column;
    v->name = script_strdup(p, name->text, strlen(name->text));
}

int sql_function_check(struct sql_function_def *d, struct sql_error *err)
{
    enum udf_kind kind;
    memset(err, 0, sizeof *err);
    if (udf_check(d->name, d->source, &kind, &d->merge, err->message, sizeof err->message) < 0)
        return -1;
    d->aggregate = kind == UDF_AGGREGATE;
    return 0;
}

void sql_function_def_free(struct sql_function_def *d)
{
    if (!d)
        return;
    free(d->name);
    free(d->source);
    memset(d, 0, sizeof *d);
}

void sql_function_defs_free(struct sql_function_def *defs, size_t n)
{
    for (size_t i = 0; defs && i < n; i++)
        sql_function_def_free(&defs[i]);
    free(defs);
}

static int script_parse(const char *text, struct sql_script *out, struct sql_error *err, int declare_functions);

/* CREATE FUNCTION `name` RETURNS type AS '<source, quotes doubled>' LANGUAGE LUA parsed into
 * *out: checked in a Lua sandbox (sql_function_check), or only declared. 0, or -1 with err. */
static int function_from_parts(const char *name, const char *returns, const char *source, int declare,
                               struct sql_function_def *out, struct sql_error *err)
{
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    if (strspn(returns, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_(), ") != strlen(returns) ||
        strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != strlen(name)) {
        snprintf(err->message, sizeof err->message, "invalid function name or return type");
        return -1;
    }
    size_t quotes = 0;
    for (const char *s = source; *s; s++)
        quotes += *s == '\'';
    size_t size = strlen(name) + strlen(returns) + strlen(source) + quotes + 80;
    char *text = malloc(size), *w;
    if (!text) {
        snprintf(err->message, sizeof err->message, "out of memory");
        return -1;
    }
    w = text + snprintf(text, size, "CREATE FUNCTION `%s` RETURNS %s AS '", name, returns);
    for (const char *s = source; *s; s++) {
        if (*s == '\'')
            *w++ = '\'';
        *w++ = *s;
    }
    strcpy(w, "' LANGUAGE LUA");
    struct sql_script script;
    int rc = script_parse(text, &script, err, declare);
    free(text);
    if (rc < 0 || script.nfunctions != 1 || script.nstreams || script.nviews || script.ninserts) {
        if (rc == 0)
            snprintf(err->message, sizeof err->message, "invalid function definition");
        err->line = err->column = 0;
        sql_script_free(&script);
        return -1;
    }
    *out = script.functions[0];
    script.nfunctions = 0; /* moved */
    sql_script_free(&script);
    return 0;
}

int sql_function_define(const char *name, const char *returns, const char *source, struct sql_function_def *out,
                        struct sql_error *err)
{
    return function_from_parts(name, returns, source, 0, out, err);
}

int sql_function_declare(const char *name, const char *returns, int aggregate, int merge, struct sql_function_def *out,
                         struct sql_error *err)
{
    if (function_from_parts(name, returns, "", 1, out, err) < 0)
        return -1;
    out->aggregate = aggregate != 0;
    out->merge = aggregate && merge;
    return 0;
}

int sql_functions_define(int n, sql_function_cell cell, const void *rows, struct sql_function_def **defs)
{
    int defined = 0;
    if (!(*defs = calloc((size_t)(n > 0 ? n : 0) + 1, sizeof **defs)))
        return -1;
    for (int i = 0; i < n; i++) {
        struct sql_error se;
        if (sql_function_define(cell(rows, i, 0), cell(rows, i, 1), cell(rows, i, 2), &(*defs)[defined], &se) == 0)
            defined++;
    }
    return defined;
}

int sql_functions_declare(int n, sql_function_cell cell, const void *rows, struct sql_function_def **defs)
{
    int defined = 0;
    if (!(*defs = calloc((size_t)(n > 0 ? n : 0) + 1, sizeof **defs)))
        return -1;
    for (int i = 0; i < n; i++) {
        const char *kind = cell(rows, i, 2), *merge = cell(rows, i, 3);
        int aggregate = kind && strcmp(kind, "aggregate") == 0;
        struct sql_error se;
        if ((aggregate || (kind && strcmp(kind, "scalar") == 0)) &&
            sql_function_declare(cell(rows, i, 0), cell(rows, i, 1), aggregate, merge && strcmp(merge, "t") == 0,
                                 &(*defs)[defined], &se) == 0)
            defined++;
    }
    return defined;
}

/* CREATE [TEMPORARY [SYSTEM]] FUNCTION [IF NOT EXISTS] name [RETURNS type] AS 'source'
 * LANGUAGE LUA, CREATE and TEMPORARY consumed (at start): the source is loaded in a sandbox
 * here, so that its errors point at the file; or only declared (p->declare_functions: no Lua,
 * no source kept). */
static void script_function(struct parser *p, struct sql_script *out, const struct token *start)
{
    if (parser_accept_keyword(p, "IF")) {
        parser_expect_keyword(p, "NOT");
        parser_expect_keyword(p, "EXISTS");
    }
    const struct token *name = parser_identifier(p, "a function name", NULL);
    if (functions_find(name->text))
        parser_error(p, name, "function \"%s\" is a built-in function; choose another name", name->text);
    if (udf_find(out->functions, out->nfunctions, name->text))
        parser_error(p, name, "function \"%s\" is defined twice", name->text);
    enum value_type returns = VT_STRING;
    if (parser_accept_keyword(p, "RETURNS")) {
        const struct token *t = parser_peek(p);
        returns = parser_type(p);
        if (!udf_type_supported(returns))
            parser_error(p, t,
                         "a Lua function cannot return %s (BIGINT, DOUBLE, STRING, BOOLEAN, TIMESTAMP(3) or DATE)",
                         sql_type_name(returns));
    }
    parser_expect_keyword(p, "AS");
    const struct token *src = parser_expect(p, TK_STRING, "the function's Lua source in quotes");
    const struct token *lang = parser_peek(p);
    if (!parser_accept_keyword(p, "LANGUAGE"))
        parser_error(p, lang, "function \"%s\" needs LANGUAGE LUA after its source (only Lua functions are supported)",
                     name->text);
    lang = parser_peek(p);
    if (!parser_accept_keyword(p, "LUA"))
        parser_error(p, lang, "only LANGUAGE LUA is supported");
    struct sql_function_def d = {.returns = returns, .line = start->line, .column = start->column};
    d.name = script_strdup(p, name->text, strlen(name->text));
    if (p->declare_functions) {
        d.declared = 1;
        out->functions = script_grow(p, out->functions, (size_t)out->nfunctions + 1, sizeof *out->functions);
        out->functions[out->nfunctions++] = d;
        return;
    }
    struct sql_error check;
    d.source = malloc(strlen(src->text) + 1);
    if (d.source)
        strcpy(d.source, src->text);
    if (!d.source)
        snprintf(check.message, sizeof check.message, "out of memory");
    if (!d.source || sql_function_check(&d, &check) < 0) {
        free(d.name);
        free(d.source);
        parser_error(p, src, "%s", check.message);
    }
    out->functions = script_grow(p, out->functions, (size_t)out->nfunctions + 1, sizeof *out->functions);
    out->functions[out->nfunctions++] = d;
}

/* A computed column, `name AS PROCTIME()` (the only one supported): returns 1 when it is one,
 * 0 when the column has a type instead. */
static int script_computed_column(struct parser *p, const struct token *col)
{
    if (!parser_accept_keyword(p, "AS"))
        return 0;
    const struct token *t = parser_peek(p);
    if (!parser_accept_keyword(p, "PROCTIME"))
        parser_error(p, t, "computed column \"%s\" is not supported: the only computed column is %s AS PROCTIME()",
                     col->text, col->text);
    parser_expect(p, TK_LPAREN, NULL);
    parser_expect(p, TK_RPAREN, NULL);
    return 1;
}

/* Appends the option key = value to d. */
static void script_option_add(struct parser *p, struct sql_stream_def *d, const char *key, const char *value)
{
    d->options = script_grow(p, d->options, (size_t)d->noptions + 1, sizeof *d->options);
    d->options[d->noptions].key = NULL;
    d->options[d->noptions].value = NULL;
    d->noptions++;
    d->options[d->noptions - 1].key = script_strdup(p, key, strlen(key));
    d->options[d->noptions - 1].value = script_strdup(p, value, strlen(value));
}

/* BY (col, ...) after PARTITIONED: the columns, each of the table, become the option
 * 'partition-by' = 'col,col' (the filesystem sink's). */
static void script_partitioned_by(struct parser *p, struct sql_stream_def *d)
{
    parser_expect_keyword(p, "BY");
    parser_expect(p, TK_LPAREN, NULL);
    char cols[1024] = "";
    do {
        const struct token *col = parser_identifier(p, "a column name", NULL);
        bool found = false;
        for (int i = 0; i < d->schema.nfields && !found; i++)
            found = strcmp(d->schema.fields[i].name, col->text) == 0;
        if (!found)
            parser_error(p, col, "PARTITIONED BY column \"%s\" is not a column of stream \"%s\"", col->text, d->name);
        size_t used = strlen(cols);
        if (snprintf(cols + used, sizeof cols - used, "%s%s", used ? "," : "", col->text) >= (int)(sizeof cols - used))
            parser_error(p, col, "PARTITIONED BY names too many columns");
    } while (parser_accept(p, TK_COMMA));
    parser_expect(p, TK_RPAREN, "\",\" or \")\"");
    script_option_add(p, d, "partition-by", cols);
}

/* METADATA [FROM 'key'] [VIRTUAL] after column col's type, when there: records the column
 * (field index idx of d) as one the connector fills (sql_metadata_column). */
static void script_metadata_column(struct parser *p, struct sql_stream_def *d, const struct token *col, int idx)
{
    if (!parser_accept_keyword(p, "METADATA"))
        return;
    const char *key = col->text;
    if (parser_accept_keyword(p, "FROM"))
        key = parser_expect(p, TK_STRING, "a metadata key in quotes, such as 'headers'")->text;
    for (int i = 0; i < d->nmetadata; i++)
        if (strcmp(d->metadata[i].key, key) == 0)
            parser_error(p, col, "metadata key '%s' is read into two columns of stream \"%s\"", key, d->name);
    d->metadata = script_grow(p, d->metadata, (size_t)d->nmetadata + 1, sizeof *d->metadata);
    struct sql_metadata_column *m = &d->metadata[d->nmetadata];
    *m = (struct sql_metadata_column){.field = idx, .line = col->line, .column = col->column};
    d->nmetadata++;
    m->key = script_strdup(p, key, strlen(key));
    m->is_virtual = parser_accept_keyword(p, "VIRTUAL");
}

static void script_create(struct parser *p, struct sql_script *out, const struct token *start)
{
    if (parser_accept_keyword(p, "TEMPORARY"))
        parser_accept_keyword(p, "SYSTEM");
    if (parser_accept_keyword(p, "FUNCTION")) {
        script_function(p, out, start);
        return;
    }
    if (parser_accept_keyword(p, "VIEW")) {
        script_view(p, out, start);
        return;
    }
    if (!parser_accept_keyword(p, "TABLE") && !parser_accept_keyword(p, "STREAM")) {
        char found[96];
        parser_describe(parser_peek(p), found, sizeof found);
        parser_error(p, parser_peek(p), "expected TABLE, STREAM, VIEW or FUNCTION, found %s", found);
    }
    if (parser_accept_keyword(p, "IF")) {
        parser_expect_keyword(p, "NOT");
        parser_expect_keyword(p, "EXISTS");
    }
    const struct token *name = parser_identifier(p, "a stream name", NULL);
    for (int i = 0; i < out->nstreams; i++)
        if (strcasecmp(out->streams[i].name, name->text) == 0)
            parser_error(p, name, "stream \"%s\" is defined twice", name->text);
    out->streams = script_grow(p, out->streams, (size_t)out->nstreams + 1, sizeof *out->streams);
    struct sql_stream_def *d = &out->streams[out->nstreams++];
    memset(d, 0, sizeof *d);
    d->schema.rowtime_field = -1;
    d->name = script_strdup(p, name->text, strlen(name->text));
    parser_expect(p, TK_LPAREN, NULL);
    const struct token *key_cols[SCHEMA_MAX_KEY] = {0};
    int nkey_cols = 0;
    do {
        const struct token *t = parser_peek(p);
        if (parser_accept_keyword(p, "WATERMARK")) {
            if (d->schema.rowtime_field >= 0)
                parser_error(p, t, "stream \"%s\" has more than one WATERMARK", d->name);
            parser_expect_keyword(p, "FOR");
            const struct token *col = parser_identifier(p, "a column name", NULL);
            int idx = -1;
            for (int i = 0; i < d->schema.nfields; i++)
                if (strcasecmp(d->schema.fields[i].name, col->text) == 0)
                    idx = i;
            if (idx < 0)
                parser_error(p, col, "WATERMARK column \"%s\" is not a column of stream \"%s\"", col->text, d->name);
            if (d->schema.proctime_column == idx + 1)
                parser_error(p, col,
                             "WATERMARK column \"%s\" is a processing-time attribute (PROCTIME()); a WATERMARK "
                             "needs an event-time column",
                             col->text);
            if (d->schema.fields[idx].type != VT_TIMESTAMP)
                parser_error(p, col, "WATERMARK column \"%s\" must be a TIMESTAMP(3), found %s", col->text,
                             value_type_name(d->schema.fields[idx].type));
            parser_expect_keyword(p, "AS");
            const struct token *col2 = parser_identifier(p, "a column name", NULL);
            if (strcasecmp(col2->text, col->text) != 0)
                parser_error(p, col2, "WATERMARK must be \"%s - INTERVAL ...\"", col->text);
            int64_t delay = 0;
            if (parser_accept(p, TK_MINUS)) {
                parser_expect_keyword(p, "INTERVAL");
                delay = parser_interval_body(p);
            }
            d->schema.rowtime_field = idx;
            d->schema.watermark_delay_ms = delay;
            continue;
        }
        if (parser_accept_keyword(p, "CONSTRAINT"))
            parser_identifier(p, "a constraint name", NULL);
        t = parser_peek(p);
        if (parser_accept_keyword(p, "PRIMARY")) {
            nkey_cols = script_key_clause(p, d, t, key_cols);
            continue;
        }
        const struct token *col = parser_identifier(p, "a column name", NULL);
        for (int i = 0; i < d->schema.nfields; i++)
            if (strcasecmp(d->schema.fields[i].name, col->text) == 0)
                parser_error(p, col, "column \"%s\" is defined twice", col->text);
        int proctime = script_computed_column(p, col);
        enum value_type type = proctime ? VT_TIMESTAMP : parser_type(p);
        if (!proctime)
            script_metadata_column(p, d, col, d->schema.nfields);
        if (!proctime && parser_accept_keyword(p, "NOT"))
            parser_expect_keyword(p, "NULL");
        const struct token *pk = parser_peek(p);
        if (!proctime && parser_accept_keyword(p, "PRIMARY")) { /* a column's own PRIMARY KEY NOT ENFORCED */
            if (d->schema.nprimary_key > 0 || nkey_cols > 0)
                parser_error(p, pk, "stream \"%s\" has more than one PRIMARY KEY", d->name);
            parser_expect_keyword(p, "KEY");
            script_not_enforced(p);
            d->schema.primary_key[d->schema.nprimary_key++] = d->schema.nfields;
        }
        d->schema.fields = script_grow(p, d->schema.fields, (size_t)d->schema.nfields + 1, sizeof *d->schema.fields);
        d->schema.fields[d->schema.nfields].name = NULL;
        d->schema.fields[d->schema.nfields].type = type;
        if (proctime && d->schema.proctime_column > 0)
            parser_error(p, col, "stream \"%s\" has more than one PROCTIME() column", d->name);
        if (proctime)
            d->schema.proctime_column = d->schema.nfields + 1;
        d->schema.nfields++;
        d->schema.fields[d->schema.nfields - 1].name = script_strdup(p, col->text, strlen(col->text));
    } while (parser_accept(p, TK_COMMA));
    parser_expect(p, TK_RPAREN, "\",\" or \")\"");
    script_key_resolve(p, d, key_cols, nkey_cols);
    if (parser_accept_keyword(p, "PARTITIONED"))
        script_partitioned_by(p, d);
    if (parser_accept_keyword(p, "WITH")) {
        parser_expect(p, TK_LPAREN, NULL);
        do {
            const struct token *k = parser_expect(p, TK_STRING, "an option name in quotes");
            parser_expect(p, TK_EQ, NULL);
            const struct token *v = parser_expect(p, TK_STRING, "an option value in quotes");
            for (int i = 0; i < d->noptions; i++)
                if (strcasecmp(d->options[i].key, k->text) == 0)
                    parser_error(p, k, "option '%s' is given twice", k->text);
            d->options = script_grow(p, d->options, (size_t)d->noptions + 1, sizeof *d->options);
            d->options[d->noptions].key = NULL;
            d->options[d->noptions].value = NULL;
            d->noptions++;
            d->options[d->noptions - 1].key = script_strdup(p, k->text, strlen(k->text));
            d->options[d->noptions - 1].value = script_strdup(p, v->text, strlen(v->text));
            d->options[d->noptions - 1].line = k->line;
            d->options[d->noptions - 1].column = k->column;
        } while (parser_accept(p, TK_COMMA));
        parser_expect(p, TK_RPAREN, "\",\" or \")\"");
    }
}

/* Copies the INSERT statement's text up to its ';' (syntax is checked by plan_compile). */
static void script_insert(struct parser *p, struct sql_script *out)
{
    const struct token *start = parser_peek(p);
    int depth = 0;
    while (parser_peek(p)->kind != TK_END && !(depth == 0 && parser_peek(p)->kind == TK_SEMI)) {
        const struct token *t = parser_next(p);
        depth += t->kind == TK_LPAREN ? 1 : t->kind == TK_RPAREN ? -1 : 0;
    }
    size_t end = parser_peek(p)->offset;
    int n = out->ninserts + 1;
    out->inserts = script_grow(p, out->inserts, (size_t)n, sizeof *out->inserts);
    out->insert_line = script_grow(p, out->insert_line, (size_t)n, sizeof *out->insert_line);
    out->insert_column = script_grow(p, out->insert_column, (size_t)n, sizeof *out->insert_column);
    out->insert_explain = script_grow(p, out->insert_explain, (size_t)n, sizeof *out->insert_explain);
    out->insert_explain[n - 1] = start->kind == TK_IDENT && strcasecmp(start->text, "EXPLAIN") == 0;
    out->inserts[n - 1] = NULL;
    out->ninserts = n;
    out->insert_line[n - 1] = start->line;
    out->insert_column[n - 1] = start->column;
    if (out->nviews == 0) {
        out->inserts[n - 1] = script_strdup(p, p->text + start->offset, end - start->offset);
        return;
    }
    /* the views defined before it, then the INSERT, at their places in the file: from the
     * first view on, all else is blanked (line breaks kept), so positions stay the file's */
    size_t from = out->views[0].start;
    char *text = script_strdup(p, p->text + from, end - from);
    for (size_t i = from; i < end; i++) {
        int keep = i >= start->offset || p->text[i] == '\n';
        for (int v = 0; v < out->nviews && !keep; v++)
            keep = i >= out->views[v].start && i < out->views[v].end;
        if (!keep)
            text[i - from] = ' ';
    }
    out->inserts[n - 1] = text;
    out->insert_line[n - 1] = out->views[0].line;
    out->insert_column[n - 1] = out->views[0].column;
}

struct sql_unit {
    const char *unit;
    int64_t scale;
};

/* A whole number and a unit of units[n] (case-insensitive), with or without a space between. */
static int parse_with_unit(const char *s, const struct sql_unit *units, size_t n, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno || v < 0)
        return -1;
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(end, units[i].unit) == 0) {
            if (v > INT64_MAX / units[i].scale)
                return -1;
            *out = v * units[i].scale;
            return 0;
        }
    return -1;
}

/* Durations as Flink writes them: a whole number and a unit (ms, s, min, h, d and their long
 * forms), with or without a space; a bare number is milliseconds. */
int sql_parse_duration(const char *s, int64_t *ms)
{
    static const struct sql_unit units[] = {
        {"", 1},          {"ms", 1},          {"milli", 1},
        {"millis", 1},    {"millisecond", 1}, {"milliseconds", 1},
        {"s", 1000},      {"sec", 1000},      {"secs", 1000},
        {"second", 1000}, {"seconds", 1000},  {"min", 60000},
        {"mins", 60000},  {"minute", 60000},  {"minutes", 60000},
        {"h", 3600000},   {"hour", 3600000},  {"hours", 3600000},
        {"d", 86400000},  {"day", 86400000},  {"days", 86400000},
    };
    return parse_with_unit(s, units, sizeof units / sizeof units[0], ms);
}

/* Memory sizes as Flink's MemorySize writes them: a whole number and a unit (b, kb, mb, gb,
 * tb, powers of 1024, and their short and long forms); a bare number is bytes. */
int sql_parse_bytes(const char *s, int64_t *bytes)
{
    static const struct sql_unit units[] = {
        {"", 1},
        {"b", 1},
        {"bytes", 1},
        {"k", 1 << 10},
        {"kb", 1 << 10},
        {"kib", 1 << 10},
        {"kibibytes", 1 << 10},
        {"m", 1 << 20},
        {"mb", 1 << 20},
        {"mib", 1 << 20},
        {"mebibytes", 1 << 20},
        {"g", 1 << 30},
        {"gb", 1 << 30},
        {"gib", 1 << 30},
        {"gibibytes", 1 << 30},
        {"t", 1LL << 40},
        {"tb", 1LL << 40},
        {"tib", 1LL << 40},
        {"tebibytes", 1LL << 40},
    };
    return parse_with_unit(s, units, sizeof units / sizeof units[0], bytes);
}

/* SET 'table.exec.mini-batch.enabled' = 'true' | 'false', '...allow-latency' = '2 s',
 * '...size' = '50000'. */
static void script_set_minibatch(struct parser *p, const struct token *k, const struct token *v, struct sql_script *out)
{
    const char *what = k->text + 22;
    if (strcmp(what, "enabled") == 0) {
        if (strcasecmp(v->text, "true") != 0 && strcasecmp(v->text, "false") != 0)
            parser_error(p, v, "invalid value '%s' for '%s': expected 'true' or 'false'", v->text, k->text);
        out->minibatch_enabled = strcasecmp(v->text, "true") == 0 ? 1 : -1;
    } else if (strcmp(what, "allow-latency") == 0) {
        if (sql_parse_duration(v->text, &out->minibatch_latency_ms) < 0 || out->minibatch_latency_ms <= 0)
            parser_error(p, v,
                         "invalid duration '%s' for '%s': expected a whole number above 0 and a unit such as '2 s'",
                         v->text, k->text);
    } else if (strcmp(what, "size") == 0) {
        char *end;
        errno = 0;
        long long n = strtoll(v->text, &end, 10);
        if (errno || end == v->text || *end || n <= 0 || n > INT32_MAX)
            parser_error(p, v, "invalid size '%s' for '%s': expected a whole number of rows above 0", v->text, k->text);
        out->minibatch_size = n;
    } else {
        parser_error(p, k,
                     "setting '%s' is not supported (only 'table.exec.mini-batch.enabled', "
                     "'table.exec.mini-batch.allow-latency' and 'table.exec.mini-batch.size')",
                     k->text);
    }
}

/* SET 'key' = 'value' (SET consumed): the settings a pipeline file may give, checked. */
static void script_set(struct parser *p, struct sql_script *out)
{
    const struct token *k = parser_expect(p, TK_STRING, "a setting name in quotes");
    parser_expect(p, TK_EQ, NULL);
    const struct token *v = parser_expect(p, TK_STRING, "a setting value in quotes");
    if (strcmp(k->text, "state.max-bytes") == 0) {
        if (sql_parse_bytes(v->text, &out->state_max_bytes) < 0 || out->state_max_bytes == 0)
            parser_error(p, v, "invalid size '%s' for '%s': expected a whole number above 0 and a unit such as '64 mb'",
                         v->text, k->text);
        return;
    }
    if (strncmp(k->text, "table.exec.mini-batch.", 22) == 0) {
        script_set_minibatch(p, k, v, out);
        return;
    }
    int64_t ms;
    int idle = strcmp(k->text, "table.exec.source.idle-timeout") == 0;
    if (strcmp(k->text, "table.exec.state.ttl") != 0 && !idle)
        parser_error(p, k,
                     "setting '%s' is not supported (only 'table.exec.state.ttl', "
                     "'table.exec.source.idle-timeout', 'table.exec.mini-batch.enabled', "
                     "'table.exec.mini-batch.allow-latency', 'table.exec.mini-batch.size' and 'state.max-bytes')",
                     k->text);
    if (sql_parse_duration(v->text, &ms) < 0)
        parser_error(p, v, "invalid duration '%s' for '%s': expected a whole number and a unit such as '12 h'", v->text,
                     k->text);
    if (idle)
        out->source_idle_timeout_ms = ms;
    else
        out->state_ttl_ms = ms;
}

static int script_parse(const char *text, struct sql_script *out, struct sql_error *err, int declare_functions)
{
    memset(err, 0, sizeof *err);
    memset(out, 0, sizeof *out);
    struct arena *a = arena_new(16384);
    struct token *tokens;
    int n;
    if (!a) {
        snprintf(err->message, sizeof err->message, "out of memory");
        return -1;
    }
    if (lexer_tokenize(text, strlen(text), a, &tokens, &n, err) < 0) {
        arena_free(a);
        return -1;
    }
    struct parser p = {
        .text = text, .tokens = tokens, .ntokens = n, .arena = a, .err = err, .declare_functions = declare_functions};
    if (setjmp(p.fail)) {
        arena_free(a);
        sql_script_free(out);
        return -1;
    }
    for (;;) {
        while (parser_accept(&p, TK_SEMI))
            ;
        const struct token *t = parser_peek(&p);
        if (t->kind == TK_END)
            break;
        if (parser_accept_keyword(&p, "CREATE"))
            script_create(&p, out, t);
        else if (t->kind == TK_IDENT && (strcasecmp(t->text, "INSERT") == 0 || strcasecmp(t->text, "EXPLAIN") == 0))
            script_insert(&p, out);
        else if (parser_accept_keyword(&p, "SET"))
            script_set(&p, out);
        else {
            char found[96];
            parser_describe(t, found, sizeof found);
            parser_error(&p, t, "expected CREATE TABLE, CREATE VIEW, SET, INSERT INTO or EXPLAIN, found %s", found);
        }
        if (parser_peek(&p)->kind != TK_END && !parser_accept(&p, TK_SEMI)) {
            char found[96];
            parser_describe(parser_peek(&p), found, sizeof found);
            parser_error(&p, parser_peek(&p), "expected \";\" after the statement, found %s", found);
        }
    }
    arena_free(a);
    return 0;
}

int sql_script_parse(const char *text, struct sql_script *out, struct sql_error *err)
{
    struct sql_error local;
    return script_parse(text, out, err ? err : &local, 0);
}

void sql_script_free(struct sql_script *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->nstreams; i++) {
        struct sql_stream_def *d = &s->streams[i];
        free(d->name);
        schema_free_fields(&d->schema);
        for (int k = 0; k < d->noptions; k++) {
            free(d->options[k].key);
            free(d->options[k].value);
        }
        free(d->options);
        for (int k = 0; k < d->nmetadata; k++)
            free(d->metadata[k].key);
        free(d->metadata);
    }
    free(s->streams);
    for (int i = 0; i < s->nfunctions; i++) {
        free(s->functions[i].name);
        free(s->functions[i].source);
    }
    free(s->functions);
    for (int i = 0; i < s->nviews; i++)
        free(s->views[i].name);
    free(s->views);
    for (int i = 0; i < s->ninserts; i++)
        free(s->inserts[i]);
    free(s->inserts);
    free(s->insert_line);
    free(s->insert_column);
    free(s->insert_explain);
    memset(s, 0, sizeof *s);
}

const char *sql_stream_option(const struct sql_stream_def *d, const char *key)
{
    for (int i = 0; i < d->noptions; i++)
        if (strcasecmp(d->options[i].key, key) == 0)
            return d->options[i].value;
    return NULL;
}
