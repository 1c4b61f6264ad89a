/* changelog_collect.h — a changelog emit callback for unit tests of the changelog operators:
 * collects each row as one text line "+I v1,v2,..." (NULL as "null", TIMESTAMP as epoch ms). */
#ifndef SLUICE_TESTS_UNIT_CHANGELOG_COLLECT_H
#define SLUICE_TESTS_UNIT_CHANGELOG_COLLECT_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/sql/sql.h"
#include "dataplane/value.h"

struct changelog {
    int width;  /* values per row */
    char *text; /* malloc'd, NUL-terminated; NULL before the first row */
    size_t len, cap;
    int n, stop_after; /* stop_after > 0: the call after that many rows returns -1 */
};

static inline void changelog_add(struct changelog *c, const char *s)
{
    size_t n = strlen(s);
    if (c->len + n + 1 > c->cap) {
        c->cap = (c->len + n + 1) * 2;
        c->text = realloc(c->text, c->cap);
        ck_assert_ptr_nonnull(c->text);
    }
    memcpy(c->text + c->len, s, n + 1);
    c->len += n;
}

static inline int changelog_emit(void *ctx, enum row_kind kind, const struct value *row)
{
    struct changelog *c = ctx;
    if (c->stop_after > 0 && c->n == c->stop_after)
        return -1;
    changelog_add(c, row_kind_name(kind));
    for (int i = 0; i < c->width; i++) {
        const struct value *v = &row[i];
        char buf[64];
        if (v->type == VT_STRING)
            snprintf(buf, sizeof buf, "%.*s", (int)v->u.s.len, v->u.s.ptr);
        else if (v->type == VT_NULL)
            snprintf(buf, sizeof buf, "null");
        else if (v->type == VT_DOUBLE)
            sql_format_double(v->u.d, buf);
        else
            snprintf(buf, sizeof buf, "%lld", (long long)v->u.i);
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
