/* parser.h — SQL syntax trees and the recursive-descent parser for INSERT INTO ... SELECT and
 * for the pieces of CREATE TABLE that script.c needs (internal to sql/). All nodes and strings
 * live in the arena given to the parser. */
#ifndef SLUICE_DATAPLANE_SQL_PARSER_H
#define SLUICE_DATAPLANE_SQL_PARSER_H

#include <setjmp.h>
#include <stdint.h>

#include "dataplane/sql/lexer.h"
#include "dataplane/sql/sql.h"

enum ast_kind {
    AST_LITERAL,  /* lit */
    AST_COLUMN,   /* name (qualifier: optional table name or alias) */
    AST_STAR,     /* * (select list, COUNT(*)) */
    AST_UNARY,    /* op (AST_OP_NEG, AST_OP_NOT), args[0] */
    AST_BINARY,   /* op, args[0], args[1] */
    AST_FUNC,     /* name, args (TRIM: args[0] mode string literal, args[1] chars, args[2] s;
                   * EXTRACT: args[0] unit string literal), distinct */
    AST_CASE,     /* operand (NULL when searched), args = when, then, when, then ..., else_expr */
    AST_CAST,     /* args[0], cast_type */
    AST_IS_NULL,  /* args[0], negated */
    AST_LIKE,     /* args[0] LIKE args[1] [ESCAPE args[2]], negated */
    AST_IN,       /* args[0] IN (args[1..]), negated */
    AST_BETWEEN,  /* args[0] BETWEEN args[1] AND args[2], negated */
    AST_INTERVAL, /* lit.u.i milliseconds */
};

enum ast_op {
    AST_OP_NONE,
    AST_OP_NEG,
    AST_OP_NOT,
    AST_OP_ADD,
    AST_OP_SUB,
    AST_OP_MUL,
    AST_OP_DIV,
    AST_OP_MOD,
    AST_OP_EQ,
    AST_OP_NE,
    AST_OP_LT,
    AST_OP_LE,
    AST_OP_GT,
    AST_OP_GE,
    AST_OP_AND,
    AST_OP_OR,
    AST_OP_CONCAT,
};

struct ast_over;

struct ast {
    enum ast_kind kind;
    enum ast_op op;
    int line, column; /* where the node starts (binary: the operator) */
    struct value lit; /* literal strings point into the arena, NUL-terminated */
    const char *name, *qualifier;
    int quoted; /* column name was `quoted`: match exactly */
    struct ast **args;
    int nargs;
    int negated, distinct;
    enum value_type cast_type;
    struct ast *operand, *else_expr;
    struct ast_over *over; /* AST_FUNC called with OVER (...): its window, else NULL */
    struct ast *filter;    /* AST_FUNC: agg(...) FILTER (WHERE filter) */
};

/* ---- OVER windows (parser_over_clause) ---------------------------------------------------*/

enum ast_nulls { AST_NULLS_DEFAULT, AST_NULLS_FIRST, AST_NULLS_LAST };

/* expr [ASC | DESC] [NULLS FIRST | NULLS LAST] */
struct ast_order_item {
    struct ast *expr;
    int desc;
    enum ast_nulls nulls; /* DEFAULT: Flink's, NULL smallest (first with ASC, last with DESC) */
};

enum ast_frame { AST_FRAME_NONE, AST_FRAME_ROWS, AST_FRAME_RANGE };

/* OVER ([PARTITION BY e, ...] [ORDER BY item, ...]
 *       [{ROWS | RANGE} {BETWEEN start AND CURRENT ROW | start}])
 * with start UNBOUNDED PRECEDING, CURRENT ROW, n PRECEDING (ROWS) or INTERVAL 'n' unit
 * PRECEDING (RANGE). Frames end at CURRENT ROW (Flink's only upper bound). When no frame is
 * written (frame NONE) SQL's default applies: RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT
 * ROW. */
struct ast_over {
    int line, column; /* of the OVER keyword */
    struct ast **partition_by;
    int npartition_by;
    struct ast_order_item *order_by;
    int norder_by;
    enum ast_frame frame;
    int frame_line, frame_column; /* of ROWS or RANGE */
    int unbounded;                /* UNBOUNDED PRECEDING */
    int64_t preceding;            /* ROWS: rows; RANGE: milliseconds; 0 for CURRENT ROW */
};

struct ast_select_item {
    struct ast *expr;
    const char *alias; /* NULL when none */
    int alias_quoted;
};

/* WINDOW_GIVEN: no window function; a GROUP BY of the window_start and window_end columns of an
 * append-only windowed input (a window aggregate over a window aggregate, Flink's window
 * propagation): each row's window is the one those columns give (query.h, plan.c). */
enum window_kind { WINDOW_NONE, WINDOW_TUMBLE, WINDOW_HOP, WINDOW_CUMULATE, WINDOW_SESSION, WINDOW_GIVEN };

struct ast_query;
struct ast_select;

/* FROM a [INNER | LEFT [OUTER] | RIGHT [OUTER] | FULL [OUTER]] JOIN b ON cond, or FROM a, b
 * (comma: an inner join whose condition is the block's WHERE). Each side is a block SELECT *
 * FROM item [alias] (a stream, named query, subquery or window table function). */
enum join_type { JOIN_INNER, JOIN_LEFT, JOIN_RIGHT, JOIN_FULL };
struct ast_join {
    enum join_type type;
    const struct token *token; /* the join's first word, or the ',' */
    struct ast_select *left, *right;
    struct ast *on; /* NULL for a comma join */
    int comma;
    /* FROM a JOIN b FOR SYSTEM_TIME AS OF expr [alias] ON ...: a temporal join (NULL: none);
     * as_of_token: its FOR */
    struct ast *as_of;
    const struct token *as_of_token;
};

/* One SELECT block: SELECT [DISTINCT] items FROM source [WHERE] [GROUP BY] [HAVING]. The source
 * is a name (a stream, a WITH query or a view: source, source_token), a window table function
 * over such a name (window != WINDOW_NONE), or a subquery in parentheses (subquery). */
struct ast_select {
    const struct token *select_token;
    int distinct;
    struct ast_select_item *items;
    int nitems;
    const char *source, *source_alias;
    const struct token *source_token; /* the name, or the subquery's '(' */
    struct ast_query *subquery;       /* FROM (SELECT ...) [AS] alias */
    struct ast_join *join;            /* FROM a JOIN b: the FROM item fields above are unset */
    enum window_kind window;
    const struct token *window_token, *descriptor_token;
    const char *descriptor;
    int descriptor_quoted;
    int64_t window_a_ms, window_b_ms; /* TUMBLE: size; HOP: slide, size; CUMULATE: step, max; SESSION: gap */
    struct ast **partition_by;        /* SESSION(TABLE s PARTITION BY a, b, ...): AST_COLUMN nodes */
    int npartition_by;
    const struct token *partition_token;
    const struct token *window_a_token, *window_b_token;
    struct ast *where, *having;
    struct ast **group_by;
    int ngroup_by;
    const struct token *group_by_token;
};

/* A query: one SELECT, or SELECTs joined by UNION ALL (union_token: the first UNION). */
struct ast_query {
    struct ast_select **selects;
    int nselects;
    const struct token *union_token;
};

/* A named query: WITH name AS (query), or CREATE [TEMPORARY] VIEW name AS query before the
 * INSERT (views first, in order; a later one may read an earlier one). */
struct ast_named_query {
    const char *name;
    const struct token *token;
    struct ast_query *query;
};

/* [CREATE VIEW ...; ...] [EXPLAIN] INSERT INTO sink [WITH ...] query, or EXPLAIN query (sink
 * NULL, sink_token the query's first token) */
struct ast_insert {
    int explain;
    const char *sink;
    const struct token *sink_token;
    struct ast_named_query *named; /* views, then WITH queries */
    int nnamed;
    struct ast_query *query;
};

/* Parser state; errors longjmp to `fail` after filling err (so set it with setjmp first). */
struct parser {
    const char *text;
    const struct token *tokens;
    int pos, ntokens;
    struct arena *arena;
    struct sql_error *err;
    int nesting; /* parser recursion, bounded by PARSER_MAX_DEPTH */
    /* script.c: a CREATE FUNCTION is declared (its source neither loaded nor run, sql.h's
     * sql_function_declare) rather than checked in a Lua sandbox here */
    int declare_functions;
    jmp_buf fail;
};

/* Expressions nest at most this deep (parentheses, operators, arguments), so that compiling
 * and evaluating them cannot exhaust the stack. */
#define PARSER_MAX_DEPTH 200

/* Parses one INSERT INTO ... SELECT statement (optionally ending in ';'), after any number of
 * CREATE [TEMPORARY] VIEW name AS query; statements. Returns 0, or -1 with err filled. */
int parser_parse_insert(const char *sql, struct arena *arena, struct ast_insert **out, struct sql_error *err);

/* Parses one expression (the whole of sql), OVER windows included. Returns 0, or -1 with err
 * filled. */
int parser_parse_expression(const char *sql, struct arena *arena, struct ast **out, struct sql_error *err);

/* Building blocks for script.c (each longjmps on error). */
void parser_error(struct parser *p, const struct token *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
const struct token *parser_peek(const struct parser *p);
const struct token *parser_next(struct parser *p);
int parser_accept_keyword(struct parser *p, const char *kw);
void parser_expect_keyword(struct parser *p, const char *kw);
int parser_accept(struct parser *p, enum token_kind k);
const struct token *parser_expect(struct parser *p, enum token_kind k, const char *what);
/* An identifier (bare or quoted); *quoted set when given. */
const struct token *parser_identifier(struct parser *p, const char *what, int *quoted);
enum value_type parser_type(struct parser *p);
/* INTERVAL 'n' UNIT after the INTERVAL keyword was consumed: milliseconds, > 0. */
int64_t parser_interval_body(struct parser *p);
/* How a token is shown in "found X". */
void parser_describe(const struct token *t, char *buf, size_t size);

#endif
