/* parser.c — recursive-descent parser from tokens to syntax trees: the SELECT grammar
 * (expressions with SQL precedence, CASE, CAST, LIKE, IN, BETWEEN, window table functions,
 * GROUP BY) and the shared pieces (types, intervals) used by script.c. */
#include "dataplane/sql/parser.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"

/* Words that end an expression or a list, so they cannot be bare column names or aliases. */
static const char *const parser_reserved[] = {
    "SELECT", "FROM",  "WHERE",  "GROUP",   "BY",     "HAVING", "AS",       "AND",  "OR",   "NOT",
    "IN",     "IS",    "LIKE",   "BETWEEN", "CASE",   "WHEN",   "THEN",     "ELSE", "END",  "INSERT",
    "INTO",   "TABLE", "ESCAPE", "UNION",   "ORDER",  "LIMIT",  "DISTINCT", "ON",   "JOIN", "NULL",
    "TRUE",   "FALSE", "WINDOW", "WITH",    "VALUES", "CREATE", "SET",      "OVER",
};

/* SQL type names as rows: name, type, whether it takes (n[, m]) parameters. */
static const struct {
    const char *name;
    enum value_type type;
} parser_types[] = {
    {"BOOLEAN", VT_BOOLEAN}, {"BOOL", VT_BOOLEAN},        {"BIGINT", VT_BIGINT},           {"INT", VT_BIGINT},
    {"INTEGER", VT_BIGINT},  {"SMALLINT", VT_BIGINT},     {"TINYINT", VT_BIGINT},          {"DOUBLE", VT_DOUBLE},
    {"FLOAT", VT_DOUBLE},    {"REAL", VT_DOUBLE},         {"DECIMAL", VT_DECIMAL},         {"DEC", VT_DECIMAL},
    {"NUMERIC", VT_DECIMAL}, {"STRING", VT_STRING},       {"VARCHAR", VT_STRING},          {"CHAR", VT_STRING},
    {"TEXT", VT_STRING},     {"TIMESTAMP", VT_TIMESTAMP}, {"TIMESTAMP_LTZ", VT_TIMESTAMP}, {"DATE", VT_DATE},
};

/* Interval units as rows. */
static const struct {
    const char *name;
    int64_t ms;
} parser_units[] = {
    {"MILLISECOND", 1},  {"SECOND", 1000},  {"MINUTE", 60000},  {"HOUR", 3600000},  {"DAY", 86400000},
    {"MILLISECONDS", 1}, {"SECONDS", 1000}, {"MINUTES", 60000}, {"HOURS", 3600000}, {"DAYS", 86400000},
};

static const char *const parser_extract_units[] = {
    "YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND", "MILLISECOND", "DOW", "DOY", "QUARTER", "EPOCH",
};

/* Units of TIMESTAMPADD and TIMESTAMPDIFF. */
static const char *const parser_timestamp_units[] = {
    "MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR",
};

static int parser_is_reserved(const char *word)
{
    for (size_t i = 0; i < sizeof parser_reserved / sizeof parser_reserved[0]; i++)
        if (strcasecmp(word, parser_reserved[i]) == 0)
            return 1;
    return 0;
}

void parser_describe(const struct token *t, char *buf, size_t size)
{
    if (t->kind == TK_END)
        snprintf(buf, size, "end of input");
    else if (t->kind == TK_IDENT && parser_is_reserved(t->text)) {
        size_t i;
        for (i = 0; t->text[i] && i + 1 < size; i++)
            buf[i] = (char)(t->text[i] >= 'a' && t->text[i] <= 'z' ? t->text[i] - 32 : t->text[i]);
        buf[i] = '\0';
    } else if (t->kind == TK_STRING)
        snprintf(buf, size, "string '%.60s'", t->text);
    else if (t->kind == TK_INTEGER || t->kind == TK_DECIMAL)
        snprintf(buf, size, "number %.40s", t->text);
    else if (t->kind == TK_IDENT || t->kind == TK_QIDENT)
        snprintf(buf, size, "\"%.60s\"", t->text);
    else
        snprintf(buf, size, "%s", lexer_kind_name(t->kind));
}

void parser_error(struct parser *p, const struct token *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sql_error_vset(p->err, at ? at->line : 0, at ? at->column : 0, fmt, ap);
    va_end(ap);
    longjmp(p->fail, 1);
}

const struct token *parser_peek(const struct parser *p) { return &p->tokens[p->pos]; }

const struct token *parser_next(struct parser *p)
{
    const struct token *t = &p->tokens[p->pos];
    if (t->kind != TK_END)
        p->pos++;
    return t;
}

static int parser_is_keyword(const struct token *t, const char *kw)
{
    return t->kind == TK_IDENT && strcasecmp(t->text, kw) == 0;
}

int parser_accept_keyword(struct parser *p, const char *kw)
{
    if (!parser_is_keyword(parser_peek(p), kw))
        return 0;
    p->pos++;
    return 1;
}

static void parser_expected(struct parser *p, const char *what) __attribute__((noreturn));
static void parser_expected(struct parser *p, const char *what)
{
    char found[96];
    parser_describe(parser_peek(p), found, sizeof found);
    parser_error(p, parser_peek(p), "expected %s, found %s", what, found);
}

void parser_expect_keyword(struct parser *p, const char *kw)
{
    if (!parser_accept_keyword(p, kw))
        parser_expected(p, kw);
}

int parser_accept(struct parser *p, enum token_kind k)
{
    if (parser_peek(p)->kind != k)
        return 0;
    p->pos++;
    return 1;
}

const struct token *parser_expect(struct parser *p, enum token_kind k, const char *what)
{
    if (parser_peek(p)->kind != k)
        parser_expected(p, what ? what : lexer_kind_name(k));
    return parser_next(p);
}

const struct token *parser_identifier(struct parser *p, const char *what, int *quoted)
{
    const struct token *t = parser_peek(p);
    if (t->kind == TK_QIDENT || (t->kind == TK_IDENT && !parser_is_reserved(t->text))) {
        if (quoted)
            *quoted = t->kind == TK_QIDENT;
        return parser_next(p);
    }
    parser_expected(p, what);
}

static void *parser_alloc(struct parser *p, size_t size)
{
    void *m = arena_alloc(p->arena, size);
    if (!m)
        parser_error(p, NULL, "out of memory");
    memset(m, 0, size);
    return m;
}

/* The "(p[, s])" of DECIMAL, after its name: DECIMAL alone is DECIMAL(10, 0), as in Flink. */
static enum value_type parser_decimal_type(struct parser *p)
{
    long precision = 10, scale = 0;
    if (parser_accept(p, TK_LPAREN)) {
        const struct token *t = parser_expect(p, TK_INTEGER, "a precision");
        precision = strtol(t->text, NULL, 10);
        if (precision < 1 || precision > DECIMAL_MAX_PRECISION)
            parser_error(p, t, "DECIMAL precision must be between 1 and %d, found %s", DECIMAL_MAX_PRECISION, t->text);
        if (parser_accept(p, TK_COMMA)) {
            t = parser_expect(p, TK_INTEGER, "a scale");
            scale = strtol(t->text, NULL, 10);
            if (scale > precision)
                parser_error(p, t, "DECIMAL scale must be between 0 and the precision %ld, found %s", precision,
                             t->text);
        }
        parser_expect(p, TK_RPAREN, NULL);
    }
    return value_decimal_type((int)precision, (int)scale);
}

/* An exact numeric literal ("0.908", or an integer too big for BIGINT) as a DECIMAL of its
 * digits, as Flink types it: 0.908 is DECIMAL(3, 3), 12.50 DECIMAL(4, 2). 0: more than 38
 * digits. */
static int parser_decimal_literal(const char *text, struct value *out)
{
    const char *dot = strchr(text, '.'), *first = text;
    int scale = dot ? (int)strlen(dot + 1) : 0, digits = 0;
    while (*first == '0' || *first == '.') /* leading zeros are not significant */
        first++;
    for (const char *q = first; *q; q++)
        digits += *q >= '0' && *q <= '9';
    int precision = digits > scale ? digits : scale;
    if (precision < 1)
        precision = 1;
    if (precision > DECIMAL_MAX_PRECISION)
        return 0;
    out->type = value_decimal_type(precision, scale);
    return value_decimal_parse(text, strlen(text), precision, scale, &out->u.dec) == 0;
}

enum value_type parser_type(struct parser *p)
{
    const struct token *t = parser_peek(p);
    if (t->kind == TK_IDENT) {
        for (size_t i = 0; i < sizeof parser_types / sizeof parser_types[0]; i++) {
            if (strcasecmp(t->text, parser_types[i].name) != 0)
                continue;
            parser_next(p);
            if (parser_types[i].type == VT_DOUBLE && strcasecmp(t->text, "DOUBLE") == 0)
                parser_accept_keyword(p, "PRECISION");
            if (parser_types[i].type == VT_DECIMAL)
                return parser_decimal_type(p);
            if (parser_accept(p, TK_LPAREN)) {
                parser_expect(p, TK_INTEGER, "a number");
                if (parser_accept(p, TK_COMMA))
                    parser_expect(p, TK_INTEGER, "a number");
                parser_expect(p, TK_RPAREN, NULL);
            }
            if (parser_types[i].type == VT_TIMESTAMP && parser_accept_keyword(p, "WITH")) {
                parser_expect_keyword(p, "LOCAL");
                parser_expect_keyword(p, "TIME");
                parser_expect_keyword(p, "ZONE");
            }
            return parser_types[i].type;
        }
    }
    if (t->kind == TK_IDENT && (strcasecmp(t->text, "MAP") == 0 || strcasecmp(t->text, "MULTISET") == 0))
        parser_error(p, t,
                     "type %s is not supported: declare the column STRING, which holds a JSON object as text "
                     "(read it with JSON_VALUE; Kafka's headers METADATA column is one)",
                     t->text);
    char found[96];
    parser_describe(t, found, sizeof found);
    parser_error(p, t, "unknown type %s", found);
}

int64_t parser_interval_body(struct parser *p)
{
    const struct token *n = parser_peek(p);
    if (n->kind != TK_STRING && n->kind != TK_INTEGER)
        parser_expected(p, "an interval value such as '10'");
    parser_next(p);
    char *end;
    errno = 0;
    long long v = strtoll(n->text, &end, 10);
    if (errno || end == n->text || *end || v <= 0 || v > 100000000000LL)
        parser_error(p, n, "invalid interval value '%s': expected a positive whole number", n->text);
    const struct token *u = parser_peek(p);
    if (u->kind == TK_IDENT)
        for (size_t i = 0; i < sizeof parser_units / sizeof parser_units[0]; i++)
            if (strcasecmp(u->text, parser_units[i].name) == 0) {
                parser_next(p);
                return v * parser_units[i].ms;
            }
    parser_expected(p, "an interval unit (SECOND, MINUTE, HOUR, DAY)");
}

/* ---- Expressions -----------------------------------------------------------------------*/

static struct ast *parser_expr(struct parser *p);
static struct ast *parser_additive(struct parser *p);

static struct ast *parser_node(struct parser *p, enum ast_kind kind, const struct token *at)
{
    struct ast *a = parser_alloc(p, sizeof *a);
    a->kind = kind;
    a->line = at->line;
    a->column = at->column;
    return a;
}

static void parser_set_args(struct parser *p, struct ast *a, int n, struct ast *x, struct ast *y, struct ast *z)
{
    struct ast *list[3] = {x, y, z};
    a->args = parser_alloc(p, (size_t)n * sizeof *a->args);
    for (int i = 0; i < n; i++)
        a->args[i] = list[i];
    a->nargs = n;
}

/* Appends x to an arena array of n items with room for *cap (doubling when full). */
static void parser_push(struct parser *p, struct ast ***items, int *n, int *cap, struct ast *x)
{
    if (*n == *cap) {
        int ncap = *cap ? *cap * 2 : 4;
        struct ast **bigger = parser_alloc(p, (size_t)ncap * sizeof *bigger);
        if (*n)
            memcpy(bigger, *items, (size_t)*n * sizeof *bigger);
        *items = bigger;
        *cap = ncap;
    }
    (*items)[(*n)++] = x;
}

/* Comma-separated expressions up to ')' (consumed); '*' allowed as an argument when star. */
static void parser_expr_list(struct parser *p, struct ast *into, int star)
{
    int cap = 0;
    if (parser_accept(p, TK_RPAREN))
        return;
    for (;;) {
        if (star && parser_peek(p)->kind == TK_STAR)
            parser_push(p, &into->args, &into->nargs, &cap, parser_node(p, AST_STAR, parser_next(p)));
        else
            parser_push(p, &into->args, &into->nargs, &cap, parser_expr(p));
        if (parser_accept(p, TK_RPAREN))
            return;
        if (!parser_accept(p, TK_COMMA))
            parser_expected(p, "\",\" or \")\"");
    }
}

static struct ast *parser_string_literal(struct parser *p, const struct token *t, const char *s)
{
    struct ast *a = parser_node(p, AST_LITERAL, t);
    a->lit.type = VT_STRING;
    a->lit.u.s.ptr = s;
    a->lit.u.s.len = (uint32_t)strlen(s);
    return a;
}

/* The next token as one of units (a bare word, case-insensitive), consumed; what is named in
 * the error otherwise. Returns the unit's spelling in units. */
static const char *parser_unit(struct parser *p, const char *const *units, size_t n, const char *what)
{
    const struct token *u = parser_peek(p);
    for (size_t i = 0; i < n; i++)
        if (u->kind == TK_IDENT && strcasecmp(u->text, units[i]) == 0) {
            parser_next(p);
            return units[i];
        }
    parser_expected(p, what);
}

/* JSON_OBJECT([[KEY] k VALUE v [, ...]] [NULL | ABSENT ON NULL]) after "(": args are the mode
 * as a string literal ("NULL" or "ABSENT"), then k1, v1, k2, v2 ... */
static struct ast *parser_json_object(struct parser *p, struct ast *f)
{
    const struct token *at = parser_peek(p);
    const char *mode = "NULL";
    int cap = 0;
    struct ast *mode_lit = parser_string_literal(p, at, mode);
    parser_push(p, &f->args, &f->nargs, &cap, mode_lit);
    while (parser_peek(p)->kind != TK_RPAREN) {
        if (parser_is_keyword(parser_peek(p), "NULL") || parser_is_keyword(parser_peek(p), "ABSENT")) {
            const struct token *m = parser_next(p);
            if (parser_accept_keyword(p, "ON")) {
                parser_expect_keyword(p, "NULL");
                mode_lit->lit.u.s.ptr = parser_is_keyword(m, "NULL") ? "NULL" : "ABSENT";
                mode_lit->lit.u.s.len = (uint32_t)strlen(mode_lit->lit.u.s.ptr);
                break;
            }
            p->pos--;
        }
        if (f->nargs > 1)
            parser_expect(p, TK_COMMA, NULL);
        parser_accept_keyword(p, "KEY");
        parser_push(p, &f->args, &f->nargs, &cap, parser_additive(p));
        parser_expect_keyword(p, "VALUE");
        parser_push(p, &f->args, &f->nargs, &cap, parser_expr(p));
    }
    parser_expect(p, TK_RPAREN, NULL);
    f->name = "JSON_OBJECT";
    return f;
}

/* Special argument syntax: SUBSTRING(s FROM a [FOR b]), TRIM([BOTH|LEADING|TRAILING] [c] FROM s),
 * EXTRACT(unit FROM ts), JSON_OBJECT(KEY k VALUE v, ...). Returns NULL when name is an ordinary
 * function. */
static struct ast *parser_special_call(struct parser *p, const struct token *name)
{
    struct ast *f = parser_node(p, AST_FUNC, name);
    f->name = name->text;
    if (strcasecmp(name->text, "JSON_OBJECT") == 0)
        return parser_json_object(p, f);
    if (strcasecmp(name->text, "EXTRACT") == 0) {
        const struct token *u = parser_peek(p);
        const char *unit =
            parser_unit(p, parser_extract_units, sizeof parser_extract_units / sizeof *parser_extract_units,
                        "a time unit (YEAR, MONTH, DAY, HOUR, MINUTE, SECOND)");
        parser_expect_keyword(p, "FROM");
        struct ast *ts = parser_expr(p);
        parser_expect(p, TK_RPAREN, NULL);
        parser_set_args(p, f, 2, parser_string_literal(p, u, unit), ts, NULL);
        f->name = "EXTRACT";
        return f;
    }
    if (strcasecmp(name->text, "TIMESTAMPADD") == 0 || strcasecmp(name->text, "TIMESTAMPDIFF") == 0) {
        /* TIMESTAMPADD(unit, n, ts), TIMESTAMPDIFF(unit, ts1, ts2): the unit becomes a string */
        const struct token *u = parser_peek(p);
        const char *unit =
            parser_unit(p, parser_timestamp_units, sizeof parser_timestamp_units / sizeof *parser_timestamp_units,
                        "a time unit (SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR)");
        parser_expect(p, TK_COMMA, NULL);
        struct ast rest = {0};
        parser_expr_list(p, &rest, 0);
        int cap = 0;
        parser_push(p, &f->args, &f->nargs, &cap, parser_string_literal(p, u, unit));
        for (int k = 0; k < rest.nargs; k++)
            parser_push(p, &f->args, &f->nargs, &cap, rest.args[k]);
        f->name = strcasecmp(name->text, "TIMESTAMPADD") == 0 ? "TIMESTAMPADD" : "TIMESTAMPDIFF";
        return f;
    }
    if (strcasecmp(name->text, "POSITION") == 0) { /* POSITION(needle IN s) */
        struct ast *needle = parser_additive(p);
        parser_expect_keyword(p, "IN");
        struct ast *hay = parser_expr(p);
        parser_expect(p, TK_RPAREN, NULL);
        parser_set_args(p, f, 2, needle, hay, NULL);
        f->name = "POSITION";
        return f;
    }
    if (strcasecmp(name->text, "TRIM") == 0) {
        const char *mode = "BOTH";
        const struct token *at = parser_peek(p);
        struct ast *chars = NULL, *s;
        if (parser_accept_keyword(p, "BOTH"))
            mode = "BOTH";
        else if (parser_accept_keyword(p, "LEADING"))
            mode = "LEADING";
        else if (parser_accept_keyword(p, "TRAILING"))
            mode = "TRAILING";
        if (parser_accept_keyword(p, "FROM")) {
            s = parser_expr(p);
        } else {
            s = parser_expr(p);
            if (parser_accept_keyword(p, "FROM")) {
                chars = s;
                s = parser_expr(p);
            }
        }
        parser_expect(p, TK_RPAREN, NULL);
        if (!chars)
            chars = parser_string_literal(p, at, " ");
        parser_set_args(p, f, 3, parser_string_literal(p, at, mode), chars, s);
        f->name = "TRIM";
        return f;
    }
    if (strcasecmp(name->text, "SUBSTRING") == 0 || strcasecmp(name->text, "SUBSTR") == 0) {
        struct ast *s = parser_expr(p);
        if (parser_accept_keyword(p, "FROM")) {
            struct ast *from = parser_expr(p);
            if (parser_accept_keyword(p, "FOR")) {
                struct ast *len = parser_expr(p);
                parser_expect(p, TK_RPAREN, NULL);
                parser_set_args(p, f, 3, s, from, len);
            } else {
                parser_expect(p, TK_RPAREN, NULL);
                parser_set_args(p, f, 2, s, from, NULL);
            }
            f->name = "SUBSTRING";
            return f;
        }
        struct ast tmp = {0};
        if (parser_accept(p, TK_RPAREN)) {
            parser_set_args(p, f, 1, s, NULL, NULL);
        } else {
            parser_expect(p, TK_COMMA, "FROM or \",\"");
            parser_expr_list(p, &tmp, 0);
            f->args = parser_alloc(p, (size_t)(tmp.nargs + 1) * sizeof *f->args);
            f->args[0] = s;
            memcpy(f->args + 1, tmp.args, (size_t)tmp.nargs * sizeof *f->args);
            f->nargs = tmp.nargs + 1;
        }
        f->name = "SUBSTRING";
        return f;
    }
    return NULL;
}

static struct ast *parser_case(struct parser *p, const struct token *at)
{
    struct ast *c = parser_node(p, AST_CASE, at);
    if (!parser_is_keyword(parser_peek(p), "WHEN"))
        c->operand = parser_expr(p);
    int cap = 0;
    if (!parser_is_keyword(parser_peek(p), "WHEN"))
        parser_expected(p, "WHEN");
    while (parser_accept_keyword(p, "WHEN")) {
        parser_push(p, &c->args, &c->nargs, &cap, parser_expr(p));
        parser_expect_keyword(p, "THEN");
        parser_push(p, &c->args, &c->nargs, &cap, parser_expr(p));
    }
    if (parser_accept_keyword(p, "ELSE"))
        c->else_expr = parser_expr(p);
    parser_expect_keyword(p, "END");
    return c;
}

/* ---- OVER windows ------------------------------------------------------------------------*/

static int parser_is_window_function(const char *name)
{
    return strcasecmp(name, "ROW_NUMBER") == 0 || strcasecmp(name, "RANK") == 0 || strcasecmp(name, "DENSE_RANK") == 0;
}

/* ORDER BY items of an OVER window, up to (not including) what follows them. */
static void parser_over_order_by(struct parser *p, struct ast_over *w)
{
    int cap = 0;
    do {
        if (w->norder_by == cap) {
            cap = cap ? cap * 2 : 4;
            struct ast_order_item *items = parser_alloc(p, (size_t)cap * sizeof *items);
            if (w->norder_by)
                memcpy(items, w->order_by, (size_t)w->norder_by * sizeof *items);
            w->order_by = items;
        }
        struct ast_order_item *it = &w->order_by[w->norder_by++];
        it->expr = parser_expr(p);
        if (parser_accept_keyword(p, "DESC"))
            it->desc = 1;
        else
            parser_accept_keyword(p, "ASC");
        if (parser_accept_keyword(p, "NULLS")) {
            if (parser_accept_keyword(p, "FIRST"))
                it->nulls = AST_NULLS_FIRST;
            else if (parser_accept_keyword(p, "LAST"))
                it->nulls = AST_NULLS_LAST;
            else
                parser_expected(p, "FIRST or LAST");
        }
    } while (parser_accept(p, TK_COMMA));
}

/* One frame bound: UNBOUNDED PRECEDING, CURRENT ROW, n PRECEDING (ROWS) or INTERVAL ...
 * PRECEDING (RANGE). end: the bound after AND, which must be CURRENT ROW. */
static void parser_over_bound(struct parser *p, struct ast_over *w, int end)
{
    const struct token *at = parser_peek(p);
    if (parser_accept_keyword(p, "CURRENT")) {
        parser_expect_keyword(p, "ROW");
        return;
    }
    if (end)
        parser_error(p, at, "an OVER window frame must end at CURRENT ROW");
    if (parser_accept_keyword(p, "UNBOUNDED")) {
        w->unbounded = 1;
    } else if (w->frame == AST_FRAME_ROWS && at->kind == TK_INTEGER) {
        parser_next(p);
        char *stop;
        errno = 0;
        long long n = strtoll(at->text, &stop, 10);
        if (errno || *stop || n < 0)
            parser_error(p, at, "invalid row count %s: expected a whole number", at->text);
        w->preceding = n;
    } else if (w->frame == AST_FRAME_RANGE && parser_accept_keyword(p, "INTERVAL")) {
        w->preceding = parser_interval_body(p);
    } else {
        parser_expected(p, w->frame == AST_FRAME_ROWS ? "UNBOUNDED, CURRENT ROW or a row count"
                                                      : "UNBOUNDED, CURRENT ROW or INTERVAL");
    }
    if (parser_is_keyword(parser_peek(p), "FOLLOWING"))
        parser_error(p, parser_peek(p), "an OVER window frame must end at CURRENT ROW");
    parser_expect_keyword(p, "PRECEDING");
}

/* OVER (...) after a function call (the OVER keyword is next). See struct ast_over. */
static struct ast_over *parser_over_clause(struct parser *p)
{
    const struct token *over = parser_next(p);
    struct ast_over *w = parser_alloc(p, sizeof *w);
    w->line = over->line;
    w->column = over->column;
    const struct token *t = parser_peek(p);
    if (t->kind == TK_IDENT || t->kind == TK_QIDENT)
        parser_error(p, t, "named windows (OVER name) are not supported; write the window as OVER (...)");
    parser_expect(p, TK_LPAREN, NULL);
    if (parser_accept_keyword(p, "PARTITION")) {
        int cap = 0;
        parser_expect_keyword(p, "BY");
        do
            parser_push(p, &w->partition_by, &w->npartition_by, &cap, parser_expr(p));
        while (parser_accept(p, TK_COMMA));
    }
    if (parser_accept_keyword(p, "ORDER")) {
        parser_expect_keyword(p, "BY");
        parser_over_order_by(p, w);
    }
    t = parser_peek(p);
    if (parser_accept_keyword(p, "ROWS") || parser_accept_keyword(p, "RANGE")) {
        w->frame = parser_is_keyword(t, "ROWS") ? AST_FRAME_ROWS : AST_FRAME_RANGE;
        w->frame_line = t->line;
        w->frame_column = t->column;
        if (parser_accept_keyword(p, "BETWEEN")) {
            parser_over_bound(p, w, 0);
            parser_expect_keyword(p, "AND");
            parser_over_bound(p, w, 1);
        } else {
            parser_over_bound(p, w, 0);
        }
    }
    if (parser_peek(p)->kind != TK_RPAREN)
        parser_expected(p, w->frame ? "\")\"" : "PARTITION BY, ORDER BY, ROWS, RANGE or \")\"");
    parser_next(p);
    return w;
}

static struct ast *parser_primary(struct parser *p)
{
    const struct token *t = parser_peek(p);
    struct ast *a;
    switch (t->kind) {
    case TK_INTEGER: {
        parser_next(p);
        a = parser_node(p, AST_LITERAL, t);
        errno = 0;
        char *end;
        long long v = strtoll(t->text, &end, 10);
        if (errno == ERANGE && !parser_decimal_literal(t->text, &a->lit)) {
            a->lit.type = VT_DOUBLE;
            a->lit.u.d = strtod(t->text, NULL);
        } else if (errno != ERANGE) {
            a->lit.type = VT_BIGINT;
            a->lit.u.i = v;
        }
        return a;
    }
    case TK_DECIMAL: /* 1.5 is DECIMAL(2, 1); with an exponent (1.5e3) a DOUBLE */
        parser_next(p);
        a = parser_node(p, AST_LITERAL, t);
        if (strpbrk(t->text, "eE") || !parser_decimal_literal(t->text, &a->lit)) {
            a->lit.type = VT_DOUBLE;
            a->lit.u.d = strtod(t->text, NULL);
        }
        return a;
    case TK_STRING:
        parser_next(p);
        return parser_string_literal(p, t, t->text);
    case TK_LPAREN:
        parser_next(p);
        if (parser_is_keyword(parser_peek(p), "SELECT"))
            parser_error(p, t, "a subquery in an expression is not supported");
        a = parser_expr(p);
        parser_expect(p, TK_RPAREN, NULL);
        return a;
    case TK_QIDENT:
        parser_next(p);
        a = parser_node(p, AST_COLUMN, t);
        a->name = t->text;
        a->quoted = 1;
        break;
    case TK_IDENT:
        parser_next(p);
        if (parser_is_keyword(t, "NULL")) {
            a = parser_node(p, AST_LITERAL, t);
            a->lit.type = VT_NULL;
            return a;
        }
        if (parser_is_keyword(t, "TRUE") || parser_is_keyword(t, "FALSE")) {
            a = parser_node(p, AST_LITERAL, t);
            a->lit.type = VT_BOOLEAN;
            a->lit.u.b = parser_is_keyword(t, "TRUE");
            return a;
        }
        if (parser_is_keyword(t, "CASE"))
            return parser_case(p, t);
        if (parser_is_keyword(t, "EXISTS") && parser_peek(p)->kind == TK_LPAREN)
            parser_error(p, t, "EXISTS (a subquery in an expression) is not supported");
        if (parser_is_keyword(t, "CAST") || parser_is_keyword(t, "TRY_CAST")) {
            parser_expect(p, TK_LPAREN, NULL);
            a = parser_node(p, AST_CAST, t);
            parser_set_args(p, a, 1, parser_expr(p), NULL, NULL);
            parser_expect_keyword(p, "AS");
            const struct token *ty = parser_peek(p);
            a->cast_type = parser_type(p);
            if (ty->kind == TK_IDENT &&
                (strcasecmp(ty->text, "TIMESTAMP_LTZ") == 0 || parser_is_keyword(&p->tokens[p->pos - 1], "ZONE")))
                parser_error(p, ty,
                             "CAST to TIMESTAMP_LTZ is not supported; use TO_TIMESTAMP_LTZ(epoch, precision) "
                             "or CAST to TIMESTAMP(3)");
            parser_expect(p, TK_RPAREN, NULL);
            return a;
        }
        if (parser_is_keyword(t, "INTERVAL")) {
            a = parser_node(p, AST_INTERVAL, t);
            a->lit.type = VT_BIGINT;
            a->lit.u.i = parser_interval_body(p);
            return a;
        }
        if ((parser_is_keyword(t, "TIMESTAMP") || parser_is_keyword(t, "DATE")) &&
            parser_peek(p)->kind == TK_STRING) { /* TIMESTAMP '...' and DATE 'yyyy-MM-dd' */
            const struct token *text = parser_next(p);
            struct ast *s = parser_string_literal(p, text, text->text);
            a = parser_node(p, AST_CAST, t);
            parser_set_args(p, a, 1, s, NULL, NULL);
            a->cast_type = parser_is_keyword(t, "DATE") ? VT_DATE : VT_TIMESTAMP;
            return a;
        }
        if (parser_peek(p)->kind == TK_LPAREN) {
            parser_next(p);
            a = parser_special_call(p, t);
            if (a)
                return a;
            a = parser_node(p, AST_FUNC, t);
            a->name = t->text;
            if (parser_accept_keyword(p, "DISTINCT"))
                a->distinct = 1;
            else
                parser_accept_keyword(p, "ALL");
            parser_expr_list(p, a, 1);
            if (parser_is_keyword(parser_peek(p), "FILTER") && p->tokens[p->pos + 1].kind == TK_LPAREN) {
                parser_next(p);
                parser_expect(p, TK_LPAREN, NULL);
                parser_expect_keyword(p, "WHERE");
                a->filter = parser_expr(p);
                parser_expect(p, TK_RPAREN, NULL);
            }
            if (parser_is_keyword(parser_peek(p), "OVER"))
                a->over = parser_over_clause(p);
            else if (parser_is_window_function(a->name))
                parser_error(p, t, "%s() needs an OVER clause", a->name);
            return a;
        }
        if (parser_is_reserved(t->text)) {
            p->pos--;
            parser_expected(p, "an expression");
        }
        if (parser_is_keyword(t, "CURRENT_TIMESTAMP")) { /* a function without parentheses */
            a = parser_node(p, AST_FUNC, t);
            a->name = "CURRENT_TIMESTAMP";
            return a;
        }
        a = parser_node(p, AST_COLUMN, t);
        a->name = t->text;
        break;
    default:
        parser_expected(p, "an expression");
    }
    /* qualified column: alias.column */
    if (parser_accept(p, TK_DOT)) {
        int quoted;
        if (a->kind == AST_COLUMN && parser_peek(p)->kind == TK_STAR) { /* alias.* */
            parser_next(p);
            a->kind = AST_STAR;
            a->qualifier = a->name;
            a->name = NULL;
            return a;
        }
        const struct token *c = parser_identifier(p, "a column name", &quoted);
        a->qualifier = a->name;
        a->name = c->text;
        a->quoted = quoted;
        a->line = c->line;
        a->column = c->column;
    }
    return a;
}

static void parser_enter(struct parser *p)
{
    if (++p->nesting > PARSER_MAX_DEPTH)
        parser_error(p, parser_peek(p), "expression is nested too deeply (more than %d levels)", PARSER_MAX_DEPTH);
}

static struct ast *parser_unary(struct parser *p)
{
    const struct token *t = parser_peek(p);
    if (t->kind == TK_MINUS || t->kind == TK_PLUS) {
        parser_next(p);
        parser_enter(p);
        struct ast *x = parser_unary(p);
        p->nesting--;
        if (t->kind == TK_PLUS)
            return x;
        if (x->kind == AST_LITERAL && x->lit.type == VT_BIGINT && x->lit.u.i != INT64_MIN) {
            x->lit.u.i = -x->lit.u.i;
            x->line = t->line;
            x->column = t->column;
            return x;
        }
        if (x->kind == AST_LITERAL && (x->lit.type == VT_DOUBLE || value_is_decimal(x->lit.type))) {
            if (x->lit.type == VT_DOUBLE)
                x->lit.u.d = -x->lit.u.d;
            else
                x->lit.u.dec = -x->lit.u.dec;
            x->line = t->line;
            x->column = t->column;
            return x;
        }
        struct ast *u = parser_node(p, AST_UNARY, t);
        u->op = AST_OP_NEG;
        parser_set_args(p, u, 1, x, NULL, NULL);
        return u;
    }
    return parser_primary(p);
}

static struct ast *parser_binary(struct parser *p, const struct token *at, enum ast_op op, struct ast *l, struct ast *r)
{
    struct ast *b = parser_node(p, AST_BINARY, at);
    b->op = op;
    parser_set_args(p, b, 2, l, r, NULL);
    return b;
}

/* Left-associative binary operators of one precedence level, as rows. */
struct binary_op {
    enum token_kind kind;
    enum ast_op op;
};
static const struct binary_op multiplicative_ops[] = {
    {TK_STAR, AST_OP_MUL},
    {TK_SLASH, AST_OP_DIV},
    {TK_PERCENT, AST_OP_MOD},
    {TK_END, AST_OP_NONE},
};
static const struct binary_op additive_ops[] = {
    {TK_PLUS, AST_OP_ADD},
    {TK_MINUS, AST_OP_SUB},
    {TK_CONCAT, AST_OP_CONCAT},
    {TK_END, AST_OP_NONE},
};

static struct ast *parser_level(struct parser *p, const struct binary_op *ops, struct ast *(*operand)(struct parser *))
{
    struct ast *l = operand(p);
    for (;;) {
        const struct token *t = parser_peek(p);
        const struct binary_op *o = ops;
        while (o->kind != TK_END && o->kind != t->kind)
            o++;
        if (o->kind == TK_END)
            return l;
        parser_next(p);
        l = parser_binary(p, t, o->op, l, operand(p));
    }
}

static struct ast *parser_multiplicative(struct parser *p) { return parser_level(p, multiplicative_ops, parser_unary); }

static struct ast *parser_additive(struct parser *p) { return parser_level(p, additive_ops, parser_multiplicative); }

static struct ast *parser_predicate(struct parser *p)
{
    struct ast *l = parser_additive(p);
    const struct token *t = parser_peek(p);
    static const struct {
        enum token_kind kind;
        enum ast_op op;
    } comparisons[] = {
        {TK_EQ, AST_OP_EQ}, {TK_NE, AST_OP_NE}, {TK_LT, AST_OP_LT},
        {TK_LE, AST_OP_LE}, {TK_GT, AST_OP_GT}, {TK_GE, AST_OP_GE},
    };
    for (size_t i = 0; i < sizeof comparisons / sizeof comparisons[0]; i++)
        if (t->kind == comparisons[i].kind) {
            parser_next(p);
            return parser_binary(p, t, comparisons[i].op, l, parser_additive(p));
        }
    if (parser_accept_keyword(p, "IS")) {
        struct ast *n = parser_node(p, AST_IS_NULL, t);
        n->negated = parser_accept_keyword(p, "NOT");
        parser_expect_keyword(p, "NULL");
        parser_set_args(p, n, 1, l, NULL, NULL);
        return n;
    }
    int negated = 0;
    if (parser_is_keyword(t, "NOT")) {
        const struct token *t2 = &p->tokens[p->pos + 1];
        if (!(parser_is_keyword(t2, "LIKE") || parser_is_keyword(t2, "IN") || parser_is_keyword(t2, "BETWEEN")))
            return l;
        parser_next(p);
        negated = 1;
    }
    const struct token *op = parser_peek(p);
    if (parser_accept_keyword(p, "LIKE")) {
        struct ast *n = parser_node(p, AST_LIKE, op);
        struct ast *pat = parser_additive(p);
        if (parser_accept_keyword(p, "ESCAPE"))
            parser_set_args(p, n, 3, l, pat, parser_additive(p));
        else
            parser_set_args(p, n, 2, l, pat, NULL);
        n->negated = negated;
        return n;
    }
    if (parser_accept_keyword(p, "IN")) {
        struct ast *n = parser_node(p, AST_IN, op), tmp = {0};
        parser_expect(p, TK_LPAREN, NULL);
        if (parser_peek(p)->kind == TK_RPAREN)
            parser_expected(p, "an expression");
        if (parser_is_keyword(parser_peek(p), "SELECT"))
            parser_error(p, op, "IN with a subquery is not supported");
        parser_expr_list(p, &tmp, 0);
        n->args = parser_alloc(p, (size_t)(tmp.nargs + 1) * sizeof *n->args);
        n->args[0] = l;
        memcpy(n->args + 1, tmp.args, (size_t)tmp.nargs * sizeof *n->args);
        n->nargs = tmp.nargs + 1;
        n->negated = negated;
        return n;
    }
    if (parser_accept_keyword(p, "BETWEEN")) {
        struct ast *n = parser_node(p, AST_BETWEEN, op);
        parser_accept_keyword(p, "ASYMMETRIC");
        struct ast *lo = parser_additive(p);
        parser_expect_keyword(p, "AND");
        parser_set_args(p, n, 3, l, lo, parser_additive(p));
        n->negated = negated;
        return n;
    }
    return l;
}

static struct ast *parser_not(struct parser *p)
{
    const struct token *t = parser_peek(p);
    if (parser_accept_keyword(p, "NOT")) {
        struct ast *u = parser_node(p, AST_UNARY, t);
        u->op = AST_OP_NOT;
        parser_enter(p);
        parser_set_args(p, u, 1, parser_not(p), NULL, NULL);
        p->nesting--;
        return u;
    }
    return parser_predicate(p);
}

static struct ast *parser_and(struct parser *p)
{
    struct ast *l = parser_not(p);
    while (parser_is_keyword(parser_peek(p), "AND")) {
        const struct token *t = parser_next(p);
        l = parser_binary(p, t, AST_OP_AND, l, parser_not(p));
    }
    return l;
}

static struct ast *parser_expr(struct parser *p)
{
    parser_enter(p);
    struct ast *l = parser_and(p);
    while (parser_is_keyword(parser_peek(p), "OR")) {
        const struct token *t = parser_next(p);
        l = parser_binary(p, t, AST_OP_OR, l, parser_and(p));
    }
    p->nesting--;
    return l;
}

/* Long operator chains build deep trees without deep parsing: check the tree's depth, with
 * recursion bounded by the limit itself. */
static void parser_check_depth(struct parser *p, const struct ast *a, int depth)
{
    if (!a)
        return;
    if (depth > PARSER_MAX_DEPTH) {
        struct token at = {.line = a->line, .column = a->column};
        parser_error(p, &at, "expression is nested too deeply (more than %d levels)", PARSER_MAX_DEPTH);
    }
    for (int i = 0; i < a->nargs; i++)
        parser_check_depth(p, a->args[i], depth + 1);
    parser_check_depth(p, a->operand, depth + 1);
    parser_check_depth(p, a->else_expr, depth + 1);
    parser_check_depth(p, a->filter, depth + 1);
}

/* ---- Statement -------------------------------------------------------------------------*/

static void parser_select_list(struct parser *p, struct ast_select *ins)
{
    int cap = 8;
    ins->items = parser_alloc(p, (size_t)cap * sizeof *ins->items);
    do {
        if (ins->nitems == cap) {
            struct ast_select_item *bigger = parser_alloc(p, (size_t)cap * 2 * sizeof *bigger);
            memcpy(bigger, ins->items, (size_t)cap * sizeof *bigger);
            ins->items = bigger;
            cap *= 2;
        }
        struct ast_select_item *it = &ins->items[ins->nitems++];
        if (parser_peek(p)->kind == TK_STAR) {
            it->expr = parser_node(p, AST_STAR, parser_next(p));
            continue;
        }
        it->expr = parser_expr(p);
        const struct token *t = parser_peek(p);
        if (parser_accept_keyword(p, "AS") || t->kind == TK_QIDENT ||
            (t->kind == TK_IDENT && !parser_is_reserved(t->text)))
            it->alias = parser_identifier(p, "an alias", &it->alias_quoted)->text;
    } while (parser_accept(p, TK_COMMA));
}

/* PARTITION BY a | PARTITION BY (a, b) | PARTITION BY a, b (a list ends before DESCRIPTOR)
 * after TABLE s, the keyword PARTITION consumed. */
static void parser_partition_by(struct parser *p, struct ast_select *ins)
{
    int cap = 0;
    parser_expect_keyword(p, "BY");
    int paren = parser_accept(p, TK_LPAREN);
    for (;;) {
        int quoted;
        const struct token *t = parser_identifier(p, "a column name", &quoted);
        struct ast *col = parser_node(p, AST_COLUMN, t);
        col->name = t->text;
        col->quoted = quoted;
        parser_push(p, &ins->partition_by, &ins->npartition_by, &cap, col);
        if (paren ? !parser_accept(p, TK_COMMA)
                  : (parser_peek(p)->kind != TK_COMMA || p->pos + 1 >= p->ntokens ||
                     parser_is_keyword(&p->tokens[p->pos + 1], "DESCRIPTOR")))
            break;
        if (!paren)
            parser_next(p);
    }
    if (paren)
        parser_expect(p, TK_RPAREN, NULL);
}

/* TABLE(TUMBLE|HOP|CUMULATE|SESSION(TABLE s [PARTITION BY ...], DESCRIPTOR(ts), INTERVAL ...,
 * [INTERVAL ...])) after the first TABLE keyword. */
static void parser_window(struct parser *p, struct ast_select *ins)
{
    static const struct window_row {
        const char *name;
        enum window_kind kind;
        int nintervals;
    } windows[] = {
        {"TUMBLE", WINDOW_TUMBLE, 1},
        {"HOP", WINDOW_HOP, 2},
        {"CUMULATE", WINDOW_CUMULATE, 2},
        {"SESSION", WINDOW_SESSION, 1},
    };
    parser_expect(p, TK_LPAREN, NULL);
    const struct token *w = parser_peek(p);
    const struct window_row *row = &windows[0];
    size_t i, n = sizeof windows / sizeof windows[0];
    for (i = 0; i < n && !parser_is_keyword(w, windows[i].name); i++)
        ;
    if (i < n)
        row = &windows[i];
    else if (w->kind == TK_IDENT || w->kind == TK_QIDENT)
        parser_error(p, w, "unknown window function \"%s\"; expected TUMBLE, HOP, CUMULATE or SESSION", w->text);
    else
        parser_expected(p, "TUMBLE, HOP, CUMULATE or SESSION");
    parser_next(p);
    ins->window = row->kind;
    ins->window_token = w;
    parser_expect(p, TK_LPAREN, NULL);
    parser_expect_keyword(p, "TABLE");
    ins->source_token = parser_identifier(p, "a stream name", NULL);
    ins->source = ins->source_token->text;
    if (parser_is_keyword(parser_peek(p), "PARTITION")) {
        ins->partition_token = parser_next(p);
        if (row->kind != WINDOW_SESSION)
            parser_error(p, ins->partition_token, "PARTITION BY is only supported in SESSION windows");
        parser_partition_by(p, ins);
    }
    parser_expect(p, TK_COMMA, NULL);
    parser_expect_keyword(p, "DESCRIPTOR");
    parser_expect(p, TK_LPAREN, NULL);
    ins->descriptor_token = parser_identifier(p, "a column name", &ins->descriptor_quoted);
    ins->descriptor = ins->descriptor_token->text;
    parser_expect(p, TK_RPAREN, NULL);
    for (int k = 0; k < row->nintervals; k++) {
        parser_expect(p, TK_COMMA, row->nintervals == 2 && k == 1 ? "\",\" and a second interval" : NULL);
        const struct token *at = parser_peek(p);
        parser_expect_keyword(p, "INTERVAL");
        int64_t ms = parser_interval_body(p);
        if (k == 0) {
            ins->window_a_ms = ms;
            ins->window_a_token = at;
        } else {
            ins->window_b_ms = ms;
            ins->window_b_token = at;
        }
    }
    parser_expect(p, TK_RPAREN, NULL);
    parser_expect(p, TK_RPAREN, NULL);
}

/* Words that start a join after a FROM item; with the word that must follow them (NULL: none). */
static const struct {
    const char *word, *name;
} parser_joins[] = {
    {"JOIN", "JOIN"},      {"INNER", "INNER JOIN"}, {"LEFT", "LEFT JOIN"},       {"RIGHT", "RIGHT JOIN"},
    {"FULL", "FULL JOIN"}, {"CROSS", "CROSS JOIN"}, {"NATURAL", "NATURAL JOIN"},
};

/* Constructs after a FROM item that the engine does not run: each is "<construct> is not
 * supported" at its position. */
static void parser_unsupported_after_from(struct parser *p)
{
    const struct token *t = parser_peek(p);
    if (t->kind != TK_IDENT)
        return;
    const struct token *t2 = &p->tokens[p->pos + 1 < p->ntokens ? p->pos + 1 : p->pos];
    if (parser_is_keyword(t, "FOR") && parser_is_keyword(t2, "SYSTEM_TIME"))
        parser_error(p, t, "FOR SYSTEM_TIME AS OF is not supported");
    for (size_t i = 0; i < sizeof parser_joins / sizeof parser_joins[0]; i++)
        if (parser_is_keyword(t, parser_joins[i].word) &&
            (i == 0 || parser_is_keyword(t2, "JOIN") || parser_is_keyword(t2, "OUTER"))) {
            if (i <= 4 && !parser_is_keyword(t, "CROSS") && !parser_is_keyword(t, "NATURAL"))
                return; /* a join the engine runs (a temporal one too: parser_from) */
            /* a temporal or lookup join is named by its FOR SYSTEM_TIME AS OF */
            for (int k = p->pos + 1; k + 1 < p->ntokens && !parser_is_keyword(&p->tokens[k], "ON") &&
                                     !parser_is_keyword(&p->tokens[k], "WHERE");
                 k++)
                if (parser_is_keyword(&p->tokens[k], "FOR") && parser_is_keyword(&p->tokens[k + 1], "SYSTEM_TIME"))
                    parser_error(p, &p->tokens[k], "FOR SYSTEM_TIME AS OF is not supported");
            parser_error(p, t, "%s is not supported", parser_joins[i].name);
        }
    if (parser_is_keyword(t, "LATERAL") || parser_is_keyword(t, "MATCH_RECOGNIZE"))
        parser_error(p, t, "%s is not supported", parser_is_keyword(t, "LATERAL") ? "LATERAL" : "MATCH_RECOGNIZE");
}

/* An optional alias: [AS] name. */
static const char *parser_alias(struct parser *p)
{
    const struct token *t = parser_peek(p);
    int is_join = 0;
    for (size_t i = 0; i < sizeof parser_joins / sizeof parser_joins[0]; i++)
        is_join |= parser_is_keyword(t, parser_joins[i].word);
    static const char *const not_aliases[] = {"FOR",   "LATERAL", "INTERSECT", "EXCEPT",
                                              "MINUS", "OFFSET",  "FETCH",     "QUALIFY"};
    for (size_t i = 0; i < sizeof not_aliases / sizeof not_aliases[0]; i++)
        is_join |= parser_is_keyword(t, not_aliases[i]);
    if (parser_accept_keyword(p, "AS") || t->kind == TK_QIDENT ||
        (t->kind == TK_IDENT && !parser_is_reserved(t->text) && !is_join))
        return parser_identifier(p, "an alias", NULL)->text;
    return NULL;
}

static struct ast_query *parser_query(struct parser *p);

/* FOR SYSTEM_TIME AS OF expr after the right item of a join (a temporal join): the expression,
 * or NULL when there is none. */
static struct ast *parser_as_of(struct parser *p, const struct token **at)
{
    const struct token *t = parser_peek(p);
    const struct token *t2 = &p->tokens[p->pos + 1 < p->ntokens ? p->pos + 1 : p->pos];
    if (!parser_is_keyword(t, "FOR") || !parser_is_keyword(t2, "SYSTEM_TIME"))
        return NULL;
    *at = t;
    parser_next(p);
    parser_next(p);
    parser_expect_keyword(p, "AS");
    parser_expect_keyword(p, "OF");
    struct ast *e = parser_expr(p);
    parser_check_depth(p, e, 1);
    return e;
}

/* FROM item: name [alias] | TABLE(window function) [alias] | (query) [AS] alias; the right
 * item of a join (join not NULL) may take FOR SYSTEM_TIME AS OF before its alias. */
static void parser_from_item(struct parser *p, struct ast_select *sel, struct ast_join *join)
{
    const struct token *t = parser_peek(p);
    if (parser_is_keyword(t, "LATERAL") || parser_is_keyword(t, "UNNEST") || parser_is_keyword(t, "VALUES"))
        parser_error(p, t, "%s is not supported",
                     parser_is_keyword(t, "LATERAL")  ? "LATERAL"
                     : parser_is_keyword(t, "UNNEST") ? "UNNEST"
                                                      : "VALUES in FROM");
    if (parser_accept_keyword(p, "TABLE")) {
        parser_window(p, sel);
    } else if (t->kind == TK_LPAREN) {
        parser_next(p);
        parser_enter(p);
        sel->source_token = t;
        sel->subquery = parser_query(p);
        p->nesting--;
        parser_expect(p, TK_RPAREN, NULL);
    } else {
        sel->source_token = parser_identifier(p, "a stream name", NULL);
        sel->source = sel->source_token->text;
    }
    if (join)
        join->as_of = parser_as_of(p, &join->as_of_token);
    parser_unsupported_after_from(p);
    sel->source_alias = parser_alias(p);
    parser_unsupported_after_from(p);
}

/* At a join after a FROM item: its type (and the words consumed), else 0. */
static int parser_join_start(struct parser *p, enum join_type *type, const struct token **at)
{
    const struct token *t = parser_peek(p);
    static const struct {
        const char *word;
        enum join_type type;
    } words[] = {{"INNER", JOIN_INNER}, {"LEFT", JOIN_LEFT}, {"RIGHT", JOIN_RIGHT}, {"FULL", JOIN_FULL}};
    *at = t;
    *type = JOIN_INNER;
    if (t->kind == TK_COMMA || parser_is_keyword(t, "JOIN")) {
        parser_next(p);
        return t->kind == TK_COMMA ? 2 : 1;
    }
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (parser_is_keyword(t, words[i].word)) {
            parser_next(p);
            *type = words[i].type;
            if (words[i].type != JOIN_INNER)
                parser_accept_keyword(p, "OUTER");
            parser_expect_keyword(p, "JOIN");
            return 1;
        }
    return 0;
}

/* A side of a join: SELECT * FROM the item of from (whose FROM fields are copied). */
static struct ast_select *parser_join_side(struct parser *p, const struct ast_select *from, const struct token *at)
{
    struct ast_select *side = parser_alloc(p, sizeof *side);
    *side = *from;
    side->select_token = at;
    side->distinct = 0;
    side->items = parser_alloc(p, sizeof *side->items);
    side->items[0].expr = parser_node(p, AST_STAR, at);
    side->nitems = 1;
    side->where = side->having = NULL;
    side->group_by = NULL;
    side->ngroup_by = 0;
    side->join = NULL;
    return side;
}

/* FROM item [join item ON cond | , item]. */
static void parser_from(struct parser *p, struct ast_select *sel)
{
    const struct token *first = parser_peek(p), *at;
    enum join_type type;
    parser_from_item(p, sel, NULL);
    int kind = parser_join_start(p, &type, &at);
    if (!kind)
        return;
    struct ast_join *j = parser_alloc(p, sizeof *j);
    j->type = type;
    j->token = at;
    j->comma = kind == 2;
    j->left = parser_join_side(p, sel, first);
    struct ast_select item = {0};
    const struct token *second = parser_peek(p);
    parser_from_item(p, &item, j->comma ? NULL : j);
    j->right = parser_join_side(p, &item, second);
    if (!j->comma) {
        parser_expect_keyword(p, "ON");
        j->on = parser_expr(p);
        parser_check_depth(p, j->on, 1);
    }
    const struct token *more = parser_peek(p);
    if (parser_join_start(p, &type, &at))
        parser_error(p, more, "a join of more than two tables in one FROM is not supported; join a subquery");
    sel->source = sel->source_alias = NULL;
    sel->subquery = NULL;
    sel->window = WINDOW_NONE;
    sel->partition_by = NULL;
    sel->npartition_by = 0;
    sel->source_token = at;
    sel->join = j;
}

static void parser_group_by(struct parser *p, struct ast_select *sel)
{
    static const char *const sets[] = {"GROUPING", "ROLLUP", "CUBE"};
    struct ast tmp = {0};
    int cap = 0;
    parser_expect_keyword(p, "BY");
    do {
        const struct token *t = parser_peek(p);
        for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
            if (parser_is_keyword(t, sets[i]))
                parser_error(p, t, "%s is not supported", i == 0 ? "GROUPING SETS" : sets[i]);
        parser_push(p, &tmp.args, &tmp.nargs, &cap, parser_expr(p));
    } while (parser_accept(p, TK_COMMA));
    sel->group_by = tmp.args;
    sel->ngroup_by = tmp.nargs;
}

static struct ast_select *parser_select(struct parser *p)
{
    struct ast_select *sel = parser_alloc(p, sizeof *sel);
    sel->select_token = parser_peek(p);
    parser_expect_keyword(p, "SELECT");
    if (parser_accept_keyword(p, "DISTINCT"))
        sel->distinct = 1;
    else
        parser_accept_keyword(p, "ALL");
    parser_select_list(p, sel);
    parser_expect_keyword(p, "FROM");
    parser_from(p, sel);
    if (parser_accept_keyword(p, "WHERE"))
        sel->where = parser_expr(p);
    if (parser_is_keyword(parser_peek(p), "GROUP")) {
        sel->group_by_token = parser_next(p);
        parser_group_by(p, sel);
    }
    if (parser_accept_keyword(p, "HAVING"))
        sel->having = parser_expr(p);
    if (parser_is_keyword(parser_peek(p), "WINDOW") || parser_is_keyword(parser_peek(p), "QUALIFY"))
        parser_error(p, parser_peek(p), "%s is not supported",
                     parser_is_keyword(parser_peek(p), "WINDOW") ? "a WINDOW clause" : "QUALIFY");
    for (int i = 0; i < sel->nitems; i++)
        parser_check_depth(p, sel->items[i].expr, 1);
    for (int i = 0; i < sel->ngroup_by; i++)
        parser_check_depth(p, sel->group_by[i], 1);
    parser_check_depth(p, sel->where, 1);
    parser_check_depth(p, sel->having, 1);
    return sel;
}

static void parser_push_select(struct parser *p, struct ast_query *q, int *cap, struct ast_select *sel)
{
    if (q->nselects == *cap) {
        int ncap = *cap ? *cap * 2 : 2;
        struct ast_select **bigger = parser_alloc(p, (size_t)ncap * sizeof *bigger);
        if (q->nselects)
            memcpy(bigger, q->selects, (size_t)q->nselects * sizeof *bigger);
        q->selects = bigger;
        *cap = ncap;
    }
    q->selects[q->nselects++] = sel;
}

/* A UNION ALL branch: SELECT ... or (query); appends its SELECTs to q. */
static void parser_union_term(struct parser *p, struct ast_query *q, int *cap)
{
    if (parser_peek(p)->kind == TK_LPAREN) {
        parser_next(p);
        parser_enter(p);
        struct ast_query *inner = parser_query(p);
        p->nesting--;
        parser_expect(p, TK_RPAREN, NULL);
        for (int i = 0; i < inner->nselects; i++)
            parser_push_select(p, q, cap, inner->selects[i]);
        return;
    }
    parser_push_select(p, q, cap, parser_select(p));
}

/* ORDER BY, LIMIT, OFFSET, FETCH after a query. */
static void parser_unsupported_after_query(struct parser *p)
{
    static const char *const words[] = {"ORDER", "LIMIT", "OFFSET", "FETCH"};
    const struct token *t = parser_peek(p);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (parser_is_keyword(t, words[i]))
            parser_error(p, t, "%s is not supported on a stream", i == 0 ? "ORDER BY" : words[i]);
}

static struct ast_query *parser_query(struct parser *p)
{
    struct ast_query *q = parser_alloc(p, sizeof *q);
    int cap = 0;
    if (parser_is_keyword(parser_peek(p), "WITH"))
        parser_error(p, parser_peek(p), "WITH inside a query is not supported; put it after INSERT INTO name");
    parser_union_term(p, q, &cap);
    for (;;) {
        const struct token *t = parser_peek(p);
        if (parser_is_keyword(t, "INTERSECT") || parser_is_keyword(t, "EXCEPT") || parser_is_keyword(t, "MINUS"))
            parser_error(p, t, "%s is not supported", parser_is_keyword(t, "INTERSECT") ? "INTERSECT" : "EXCEPT");
        if (!parser_is_keyword(t, "UNION"))
            break;
        parser_next(p);
        if (!parser_accept_keyword(p, "ALL"))
            parser_error(p, t, "UNION without ALL is not supported; use UNION ALL (and SELECT DISTINCT over it)");
        if (!q->union_token)
            q->union_token = t;
        parser_union_term(p, q, &cap);
    }
    parser_unsupported_after_query(p);
    return q;
}

/* name AS (query) after WITH or ","; or name AS query after CREATE VIEW (paren 0). */
static void parser_named_query(struct parser *p, struct ast_insert *ins, int *cap, int paren)
{
    const struct token *name = parser_identifier(p, paren ? "a query name" : "a view name", NULL);
    for (int i = 0; i < ins->nnamed; i++)
        if (strcasecmp(ins->named[i].name, name->text) == 0)
            parser_error(p, name, "\"%s\" is defined twice", name->text);
    if (paren && parser_peek(p)->kind == TK_LPAREN)
        parser_error(p, parser_peek(p), "a column list after a WITH query name is not supported");
    parser_expect_keyword(p, "AS");
    if (paren)
        parser_expect(p, TK_LPAREN, NULL);
    struct ast_query *q = parser_query(p);
    if (paren)
        parser_expect(p, TK_RPAREN, NULL);
    if (ins->nnamed == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        struct ast_named_query *bigger = parser_alloc(p, (size_t)*cap * sizeof *bigger);
        if (ins->nnamed)
            memcpy(bigger, ins->named, (size_t)ins->nnamed * sizeof *bigger);
        ins->named = bigger;
    }
    ins->named[ins->nnamed++] = (struct ast_named_query){name->text, name, q};
}

static void parser_insert(struct parser *p, struct ast_insert *ins)
{
    int cap = 0;
    while (parser_is_keyword(parser_peek(p), "CREATE")) { /* views of a pipeline file */
        const struct token *create = parser_next(p);
        parser_accept_keyword(p, "TEMPORARY");
        if (parser_is_keyword(parser_peek(p), "FUNCTION") || /* a file's are split off (script.c) */
            parser_is_keyword(parser_peek(p), "SYSTEM"))
            parser_error(p, create,
                         "CREATE FUNCTION is not allowed in a pipeline's SQL; create the function with POST "
                         "/v1/functions (its source is checked in a sandbox there) and call it by name");
        parser_expect_keyword(p, "VIEW");
        if (parser_accept_keyword(p, "IF")) {
            parser_expect_keyword(p, "NOT");
            parser_expect_keyword(p, "EXISTS");
        }
        parser_named_query(p, ins, &cap, 0);
        parser_expect(p, TK_SEMI, "\";\" after the view");
    }
    ins->explain = parser_accept_keyword(p, "EXPLAIN");
    if (ins->explain && !parser_is_keyword(parser_peek(p), "INSERT")) { /* EXPLAIN SELECT ... */
        ins->sink_token = parser_peek(p);
        ins->query = parser_query(p);
        parser_accept(p, TK_SEMI);
        if (parser_peek(p)->kind != TK_END)
            parser_expected(p, "end of statement");
        return;
    }
    parser_expect_keyword(p, "INSERT");
    if (parser_is_keyword(parser_peek(p), "OVERWRITE"))
        parser_error(p, parser_peek(p), "INSERT OVERWRITE is not supported");
    parser_expect_keyword(p, "INTO");
    ins->sink_token = parser_identifier(p, "a stream name", NULL);
    ins->sink = ins->sink_token->text;
    if (parser_peek(p)->kind == TK_LPAREN)
        parser_error(p, parser_peek(p), "a column list after the sink name is not supported");
    if (parser_accept_keyword(p, "WITH"))
        do
            parser_named_query(p, ins, &cap, 1);
        while (parser_accept(p, TK_COMMA));
    ins->query = parser_query(p);
    parser_accept(p, TK_SEMI);
    if (parser_peek(p)->kind != TK_END)
        parser_expected(p, "end of statement");
}

int parser_parse_expression(const char *sql, struct arena *arena, struct ast **out, struct sql_error *err)
{
    struct token *tokens;
    int n;
    if (lexer_tokenize(sql, strlen(sql), arena, &tokens, &n, err) < 0)
        return -1;
    struct parser p = {.text = sql, .tokens = tokens, .ntokens = n, .arena = arena, .err = err};
    if (setjmp(p.fail))
        return -1;
    struct ast *a = parser_expr(&p);
    if (parser_peek(&p)->kind != TK_END)
        parser_expected(&p, "end of input");
    *out = a;
    return 0;
}

int parser_parse_insert(const char *sql, struct arena *arena, struct ast_insert **out, struct sql_error *err)
{
    struct token *tokens;
    int n;
    if (lexer_tokenize(sql, strlen(sql), arena, &tokens, &n, err) < 0)
        return -1;
    struct parser p = {.text = sql, .tokens = tokens, .ntokens = n, .arena = arena, .err = err};
    struct ast_insert *ins = arena_alloc(arena, sizeof *ins);
    if (!ins)
        return -1;
    memset(ins, 0, sizeof *ins);
    if (setjmp(p.fail))
        return -1;
    parser_insert(&p, ins);
    *out = ins;
    return 0;
}
