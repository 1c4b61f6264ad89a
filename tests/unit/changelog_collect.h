/* changelog_collect.h — what the unit tests of the SQL operators and plans share: a row
 * builder for string columns, a value's text ("null", DOUBLE as SQL formats it, TIMESTAMP as
 * epoch ms), and a changelog emit callback that collects each row as one text line
 * "+I v1,v2,...". */
#ifndef SLUICE_TESTS_UNIT_CHANGELOG_COLLECT_H
#define SLUICE_TESTS_UNIT_CHANGELOG_COLLECT_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/sql/sql.h"
#include "dataplane/value.h"

/* Sets v to the string s (borrowed), or to NULL when s is NULL. */
static inline void test_string_value(struct value *v, const char *s)
{
    *v = (struct value){.type = s ? VT_STRING : VT_NULL};
    if (s) {
        v->u.s.ptr = s;
        v->u.s.len = (uint32_t)strlen(s);
    }
}

/* v as text into buf[64]. */
static inline void test_value_text(const struct value *v, char *buf)
{
    if (v->type == VT_STRING)
        snprintf(buf, 64, "%.*s", (int)v->u.s.len, v->u.s.ptr);
    else if (v->type == VT_NULL)
        snprintf(buf, 64, "null");
    else if (v->type == VT_DOUBLE)
        sql_format_double(v->u.d, buf);
    else
        snprintf(buf, 64, "%lld", (long long)v->u.i);
}

/* Appends s to the malloc'd text *text of length *len (capacity *cap), NUL-terminated. */
static inline void test_text_append(char **text, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *text = realloc(*text, *cap);
        ck_assert_ptr_nonnull(*text);
    }
    memcpy(*text + *len, s, n + 1);
    *len += n;
}

struct changelog {
    int width;  /* values per row */
    char *text; /* malloc'd, NUL-terminated; NULL before the first row */
    size_t len, cap;
    int n, stop_after; /* stop_after > 0: the call after that many rows returns -1 */
};

static inline void changelog_add(struct changelog *c, const char *s)
{
    test_text_append(&c->text, &c->len, &c->cap, s);
}

static inline int changelog_emit(void *ctx, enum row_kind kind, const struct value *row)
{
    struct changelog *c = ctx;
    if (c->stop_after > 0 && c->n == c->stop_after)
        return -1;
    changelog_add(c, row_kind_name(kind));
    for (int i = 0; i < c->width; i++) {
        char buf[64];
        test_value_text(&row[i], buf);
        changelog_add(c, i ? "," : " ");
        changelog_add(c, buf);
    }
    changelog_add(c, "\n");
    c->n++;
    return 0;
}

/* The text so far ("" when none), and resets the collector for the next step. The returned
 * string is valid until the next call. */
static inline const char *changelog_take(struct changelog *c)
{
    static char *last;
    free(last);
    last = c->text ? c->text : strdup("");
    c->text = NULL;
    c->len = c->cap = 0;
    c->n = 0;
    return last;
}

#endif
