/* lexer.h — splits SQL text into tokens with line/column positions (internal to sql/). */
#ifndef SLUICE_DATAPLANE_SQL_LEXER_H
#define SLUICE_DATAPLANE_SQL_LEXER_H

#include <stdarg.h>
#include <stddef.h>

#include "dataplane/sql/sql.h"

enum token_kind {
    TK_END = 0,
    TK_IDENT,   /* bare word (keywords too; compared case-insensitively) */
    TK_QIDENT,  /* `quoted` or "quoted" identifier: exact case, never a keyword */
    TK_INTEGER, /* 123 */
    TK_DECIMAL, /* 1.5, 1e3 */
    TK_STRING,  /* 'text' ('' inside for a quote); text holds the decoded value */
    TK_LPAREN,
    TK_RPAREN,
    TK_COMMA,
    TK_DOT,
    TK_SEMI,
    TK_STAR,
    TK_PLUS,
    TK_MINUS,
    TK_SLASH,
    TK_PERCENT,
    TK_EQ,
    TK_NE,
    TK_LT,
    TK_LE,
    TK_GT,
    TK_GE,
    TK_CONCAT,
};

struct token {
    enum token_kind kind;
    const char *text; /* NUL-terminated: identifier as written, decoded string, number */
    size_t offset;    /* byte offset of the token in the input */
    int line, column; /* 1-based */
};

/* Tokenizes text[0..len). The token array (ending with TK_END) and its texts are allocated
 * from arena. Returns 0, or -1 with err filled (unterminated string, stray character). */
int lexer_tokenize(const char *text, size_t len, struct arena *arena, struct token **out, int *ntokens,
                   struct sql_error *err);
/* Fills err (when not NULL) with line, column and a formatted message. Returns -1. */
int sql_error_vset(struct sql_error *err, int line, int column, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
/* The same with the message's arguments inline. Returns -1. */
int sql_error_at(struct sql_error *err, int line, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* sql_error_at at token t (line and column 0 when t is NULL). */
#define sql_error_tok(err, t, ...) sql_error_at(err, (t) ? (t)->line : 0, (t) ? (t)->column : 0, __VA_ARGS__)
/* How a token kind is shown in "expected X, found Y" messages. Static string. */
const char *lexer_kind_name(enum token_kind k);

#endif
