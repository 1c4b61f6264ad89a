/* lexer.c — SQL tokenizer: identifiers, quoted identifiers, numbers, strings, operators and
 * comments (-- and block), tracking line and column for error messages. */
#include "dataplane/sql/lexer.h"

#include <ctype.h>
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

int lexer_tokenize(const char *text, size_t len, struct arena *arena, struct token **out, int *ntokens,
                   struct sql_error *err)
{
    size_t cap = 64, n = 0, i = 0;
    int line = 1, col = 1;
    struct token *toks = malloc(cap * sizeof *toks);
    if (!toks)
        return -1;
#define ADVANCE()                                                                                                      \
    do {                                                                                                               \
        if (text[i] == '\n') {                                                                                         \
            line++;                                                                                                    \
            col = 1;                                                                                                   \
        } else {                                                                                                       \
            col++;                                                                                                     \
        }                                                                                                              \
        i++;                                                                                                           \
    } while (0)
    for (;;) {
        while (i < len && isspace((unsigned char)text[i]))
            ADVANCE();
        if (i + 1 < len && text[i] == '-' && text[i + 1] == '-') {
            while (i < len && text[i] != '\n')
                ADVANCE();
            continue;
        }
        if (i + 1 < len && text[i] == '/' && text[i + 1] == '*') {
            int l0 = line, c0 = col;
            ADVANCE();
            ADVANCE();
            while (i < len && !(text[i] == '*' && i + 1 < len && text[i + 1] == '/'))
                ADVANCE();
            if (i >= len) {
                lexer_fail(err, l0, c0, "unterminated comment", 0);
                goto fail;
            }
            ADVANCE();
            ADVANCE();
            continue;
        }
        if (n + 1 >= cap) {
            cap *= 2;
            struct token *t2 = realloc(toks, cap * sizeof *toks);
            if (!t2)
                goto fail;
            toks = t2;
        }
        struct token *t = &toks[n];
        t->offset = i;
        t->line = line;
        t->column = col;
        if (i >= len) {
            t->kind = TK_END;
            t->text = "";
            n++;
            break;
        }
        unsigned char c = (unsigned char)text[i];
        size_t start = i;
        if (c == '\0') {
            lexer_fail(err, line, col, "unexpected NUL byte", 0);
            goto fail;
        }
        if (isalpha(c) || c == '_' || c >= 0x80) {
            while (i < len && (isalnum((unsigned char)text[i]) || text[i] == '_' || text[i] == '$' ||
                               (unsigned char)text[i] >= 0x80))
                ADVANCE();
            t->kind = TK_IDENT;
            t->text = arena_strndup(arena, text + start, i - start);
        } else if (isdigit(c) || (c == '.' && i + 1 < len && isdigit((unsigned char)text[i + 1]))) {
            int is_decimal = 0;
            while (i < len && isdigit((unsigned char)text[i]))
                ADVANCE();
            if (i < len && text[i] == '.') {
                is_decimal = 1;
                ADVANCE();
                while (i < len && isdigit((unsigned char)text[i]))
                    ADVANCE();
            }
            if (i < len && (text[i] == 'e' || text[i] == 'E')) {
                size_t j = i + 1;
                if (j < len && (text[j] == '+' || text[j] == '-'))
                    j++;
                if (j < len && isdigit((unsigned char)text[j])) {
                    is_decimal = 1;
                    while (i < j)
                        ADVANCE();
                    while (i < len && isdigit((unsigned char)text[i]))
                        ADVANCE();
                }
            }
            if (i < len && (isalpha((unsigned char)text[i]) || text[i] == '_')) {
                lexer_fail(err, line, col, "unexpected character '%c' after a number", text[i]);
                goto fail;
            }
            t->kind = is_decimal ? TK_DECIMAL : TK_INTEGER;
            t->text = arena_strndup(arena, text + start, i - start);
        } else if (c == '\'' || c == '`' || c == '"') {
            char q = (char)c;
            int l0 = line, c0 = col;
            char *buf = arena_alloc(arena, len - i + 1);
            size_t bl = 0;
            if (!buf)
                goto fail;
            ADVANCE();
            for (;;) {
                if (i >= len) {
                    lexer_fail(err, l0, c0,
                               q == '\'' ? "unterminated string literal" : "unterminated quoted identifier", 0);
                    goto fail;
                }
                if (text[i] == q) {
                    if (i + 1 < len && text[i + 1] == q) {
                        buf[bl++] = q;
                        ADVANCE();
                        ADVANCE();
                        continue;
                    }
                    ADVANCE();
                    break;
                }
                if (text[i] == '\0') {
                    lexer_fail(err, line, col, "unexpected NUL byte", 0);
                    goto fail;
                }
                buf[bl++] = text[i];
                ADVANCE();
            }
            buf[bl] = '\0';
            if (q != '\'' && bl == 0) {
                lexer_fail(err, l0, c0, "empty quoted identifier", 0);
                goto fail;
            }
            t->kind = q == '\'' ? TK_STRING : TK_QIDENT;
            t->text = buf;
        } else {
            size_t k;
            for (k = 0; k < sizeof lexer_operators / sizeof lexer_operators[0]; k++) {
                size_t ol = strlen(lexer_operators[k].text);
                if (i + ol <= len && memcmp(text + i, lexer_operators[k].text, ol) == 0)
                    break;
            }
            if (k == sizeof lexer_operators / sizeof lexer_operators[0]) {
                if (isprint(c))
                    lexer_fail(err, line, col, "unexpected character '%c'", (char)c);
                else
                    lexer_fail(err, line, col, "unexpected byte in input", 0);
                goto fail;
            }
            t->kind = lexer_operators[k].kind;
            t->text = lexer_operators[k].text;
            for (size_t ol = strlen(lexer_operators[k].text); ol > 0; ol--)
                ADVANCE();
        }
        if (!t->text)
            goto fail;
        n++;
    }
#undef ADVANCE
    {
        struct token *res = arena_alloc(arena, n * sizeof *res);
        if (!res)
            goto fail;
        memcpy(res, toks, n * sizeof *res);
        free(toks);
        *out = res;
        *ntokens = (int)n;
        return 0;
    }
fail:
    if (err && !err->message[0])
        lexer_fail(err, 0, 0, "out of memory", 0);
    free(toks);
    return -1;
}
