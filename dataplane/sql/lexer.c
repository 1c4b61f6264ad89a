/* lexer.c — SQL tokenizer: identifiers, quoted identifiers, numbers, strings, operators and
 * comments (-- and block), tracking line and column for error messages. */
#include "dataplane/sql/lexer.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"

/* Operators as rows: longest first so that "<=" wins over "<". */
static const struct {
    const char *text;
    enum token_kind kind;
} lexer_operators[] = {
    {"<>", TK_NE},    {"!=", TK_NE},   {"<=", TK_LE},     {">=", TK_GE},  {"||", TK_CONCAT}, {"(", TK_LPAREN},
    {")", TK_RPAREN}, {",", TK_COMMA}, {".", TK_DOT},     {";", TK_SEMI}, {"*", TK_STAR},    {"+", TK_PLUS},
    {"-", TK_MINUS},  {"/", TK_SLASH}, {"%", TK_PERCENT}, {"=", TK_EQ},   {"<", TK_LT},      {">", TK_GT},
};

static const char *const lexer_kind_names[] = {
    [TK_END] = "end of input", [TK_IDENT] = "identifier", [TK_QIDENT] = "quoted identifier",
    [TK_INTEGER] = "number",   [TK_DECIMAL] = "number",   [TK_STRING] = "string",
    [TK_LPAREN] = "\"(\"",     [TK_RPAREN] = "\")\"",     [TK_COMMA] = "\",\"",
    [TK_DOT] = "\".\"",        [TK_SEMI] = "\";\"",       [TK_STAR] = "\"*\"",
    [TK_PLUS] = "\"+\"",       [TK_MINUS] = "\"-\"",      [TK_SLASH] = "\"/\"",
    [TK_PERCENT] = "\"%\"",    [TK_EQ] = "\"=\"",         [TK_NE] = "\"<>\"",
    [TK_LT] = "\"<\"",         [TK_LE] = "\"<=\"",        [TK_GT] = "\">\"",
    [TK_GE] = "\">=\"",        [TK_CONCAT] = "\"||\"",
};

int sql_error_vset(struct sql_error *err, int line, int column, const char *fmt, va_list ap)
{
    if (err) {
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        err->line = line;
        err->column = column;
    }
    return -1;
}

int sql_error_at(struct sql_error *err, int line, int column, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sql_error_vset(err, line, column, fmt, ap);
    va_end(ap);
    return -1;
}

const char *lexer_kind_name(enum token_kind k) { return lexer_kind_names[k]; }

static void lexer_fail(struct sql_error *err, int line, int col, const char *msg, char c)
{
    if (!err)
        return;
    err->line = line;
    err->column = col;
    if (c)
        snprintf(err->message, sizeof err->message, msg, c);
    else
        snprintf(err->message, sizeof err->message, "%s", msg);
}

/* ---- Scanning ----------------------------------------------------------------------------*/

/* Where the lexer is in the text. */
struct lexer {
    const char *text;
    size_t len, i;
    int line, col; /* of text[i], 1-based */
    struct arena *arena;
    struct sql_error *err;
};

/* Moves past one byte, counting lines and columns. */
static void lexer_advance(struct lexer *lx)
{
    if (lx->text[lx->i] == '\n') {
        lx->line++;
        lx->col = 1;
    } else {
        lx->col++;
    }
    lx->i++;
}

static void lexer_advance_n(struct lexer *lx, size_t n)
{
    while (n-- > 0)
        lexer_advance(lx);
}

/* Skips white space, -- line comments and block comments. Returns 0, or -1 with err filled
 * when a block comment is not closed. */
static int lexer_skip_blanks(struct lexer *lx)
{
    const char *s = lx->text;
    for (;;) {
        while (lx->i < lx->len && isspace((unsigned char)s[lx->i]))
            lexer_advance(lx);
        if (lx->i + 1 < lx->len && s[lx->i] == '-' && s[lx->i + 1] == '-') {
            while (lx->i < lx->len && s[lx->i] != '\n')
                lexer_advance(lx);
        } else if (lx->i + 1 < lx->len && s[lx->i] == '/' && s[lx->i + 1] == '*') {
            int l0 = lx->line, c0 = lx->col;
            lexer_advance_n(lx, 2);
            while (lx->i < lx->len && !(s[lx->i] == '*' && lx->i + 1 < lx->len && s[lx->i + 1] == '/'))
                lexer_advance(lx);
            if (lx->i >= lx->len) {
                lexer_fail(lx->err, l0, c0, "unterminated comment", 0);
                return -1;
            }
            lexer_advance_n(lx, 2);
        } else {
            return 0;
        }
    }
}

/* An identifier or keyword: letters, digits, '_', '$' and any non-ASCII byte. */
static int lexer_word(struct lexer *lx, struct token *t)
{
    size_t start = lx->i;
    while (lx->i < lx->len && (isalnum((unsigned char)lx->text[lx->i]) || lx->text[lx->i] == '_' ||
                               lx->text[lx->i] == '$' || (unsigned char)lx->text[lx->i] >= 0x80))
        lexer_advance(lx);
    t->kind = TK_IDENT;
    t->text = arena_strndup(lx->arena, lx->text + start, lx->i - start);
    return 0;
}

/* An integer, or a decimal with a point or an exponent; a letter right after it is an error. */
static int lexer_number(struct lexer *lx, struct token *t)
{
    const char *s = lx->text;
    size_t start = lx->i;
    int is_decimal = 0;
    while (lx->i < lx->len && isdigit((unsigned char)s[lx->i]))
        lexer_advance(lx);
    if (lx->i < lx->len && s[lx->i] == '.') {
        is_decimal = 1;
        lexer_advance(lx);
        while (lx->i < lx->len && isdigit((unsigned char)s[lx->i]))
            lexer_advance(lx);
    }
    if (lx->i < lx->len && (s[lx->i] == 'e' || s[lx->i] == 'E')) {
        size_t j = lx->i + 1;
        if (j < lx->len && (s[j] == '+' || s[j] == '-'))
            j++;
        if (j < lx->len && isdigit((unsigned char)s[j])) {
            is_decimal = 1;
            lexer_advance_n(lx, j - lx->i);
            while (lx->i < lx->len && isdigit((unsigned char)s[lx->i]))
                lexer_advance(lx);
        }
    }
    if (lx->i < lx->len && (isalpha((unsigned char)s[lx->i]) || s[lx->i] == '_')) {
        lexer_fail(lx->err, lx->line, lx->col, "unexpected character '%c' after a number", s[lx->i]);
        return -1;
    }
    t->kind = is_decimal ? TK_DECIMAL : TK_INTEGER;
    t->text = arena_strndup(lx->arena, s + start, lx->i - start);
    return 0;
}

/* A 'string' or a `quoted` / "quoted" identifier; a doubled quote stands for one. */
static int lexer_quoted(struct lexer *lx, struct token *t)
{
    const char *s = lx->text;
    char q = s[lx->i];
    int l0 = lx->line, c0 = lx->col;
    char *buf = arena_alloc(lx->arena, lx->len - lx->i + 1);
    size_t bl = 0;
    if (!buf)
        return -1;
    lexer_advance(lx);
    for (;;) {
        if (lx->i >= lx->len) {
            lexer_fail(lx->err, l0, c0, q == '\'' ? "unterminated string literal" : "unterminated quoted identifier",
                       0);
            return -1;
        }
        if (s[lx->i] == q) {
            if (lx->i + 1 < lx->len && s[lx->i + 1] == q) {
                buf[bl++] = q;
                lexer_advance_n(lx, 2);
                continue;
            }
            lexer_advance(lx);
            break;
        }
        if (s[lx->i] == '\0') {
            lexer_fail(lx->err, lx->line, lx->col, "unexpected NUL byte", 0);
            return -1;
        }
        buf[bl++] = s[lx->i];
        lexer_advance(lx);
    }
    buf[bl] = '\0';
    if (q != '\'' && bl == 0) {
        lexer_fail(lx->err, l0, c0, "empty quoted identifier", 0);
        return -1;
    }
    t->kind = q == '\'' ? TK_STRING : TK_QIDENT;
    t->text = buf;
    return 0;
}

/* An operator or punctuation from lexer_operators; anything else is an error. */
static int lexer_operator(struct lexer *lx, struct token *t)
{
    unsigned char c = (unsigned char)lx->text[lx->i];
    for (size_t k = 0; k < sizeof lexer_operators / sizeof lexer_operators[0]; k++) {
        size_t ol = strlen(lexer_operators[k].text);
        if (lx->i + ol <= lx->len && memcmp(lx->text + lx->i, lexer_operators[k].text, ol) == 0) {
            t->kind = lexer_operators[k].kind;
            t->text = lexer_operators[k].text;
            lexer_advance_n(lx, ol);
            return 0;
        }
    }
    if (isprint(c))
        lexer_fail(lx->err, lx->line, lx->col, "unexpected character '%c'", (char)c);
    else
        lexer_fail(lx->err, lx->line, lx->col, "unexpected byte in input", 0);
    return -1;
}

/* Reads the token at text[i] (not the end) into t. Returns 0, or -1 with err filled (left
 * empty when memory ran out). */
static int lexer_token(struct lexer *lx, struct token *t)
{
    unsigned char c = (unsigned char)lx->text[lx->i];
    int rc;
    t->text = NULL;
    if (c == '\0') {
        lexer_fail(lx->err, lx->line, lx->col, "unexpected NUL byte", 0);
        return -1;
    }
    if (isalpha(c) || c == '_' || c >= 0x80)
        rc = lexer_word(lx, t);
    else if (isdigit(c) || (c == '.' && lx->i + 1 < lx->len && isdigit((unsigned char)lx->text[lx->i + 1])))
        rc = lexer_number(lx, t);
    else if (c == '\'' || c == '`' || c == '"')
        rc = lexer_quoted(lx, t);
    else
        rc = lexer_operator(lx, t);
    return rc < 0 || !t->text ? -1 : 0;
}

int lexer_tokenize(const char *text, size_t len, struct arena *arena, struct token **out, int *ntokens,
                   struct sql_error *err)
{
    struct lexer lx = {.text = text, .len = len, .line = 1, .col = 1, .arena = arena, .err = err};
    size_t cap = 64, n = 0;
    struct token *toks = malloc(cap * sizeof *toks), *res;
    if (!toks)
        return -1;
    for (;;) {
        if (lexer_skip_blanks(&lx) < 0)
            goto fail;
        if (n + 1 >= cap) {
            cap *= 2;
            struct token *t2 = realloc(toks, cap * sizeof *toks);
            if (!t2)
                goto fail;
            toks = t2;
        }
        struct token *t = &toks[n];
        t->offset = lx.i;
        t->line = lx.line;
        t->column = lx.col;
        if (lx.i >= len) {
            t->kind = TK_END;
            t->text = "";
            n++;
            break;
        }
        if (lexer_token(&lx, t) < 0)
            goto fail;
        n++;
    }
    if (!(res = arena_alloc(arena, n * sizeof *res)))
        goto fail;
    memcpy(res, toks, n * sizeof *res);
    free(toks);
    *out = res;
    *ntokens = (int)n;
    return 0;
fail:
    if (err && !err->message[0])
        lexer_fail(err, 0, 0, "out of memory", 0);
    free(toks);
    return -1;
}
