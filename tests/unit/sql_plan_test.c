/* sql_plan_test.c — unit tests for dataplane/sql: plan compile, process and snapshot. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "dataplane/sql/sql.h"

static struct field bid_fields[] = {
    {"auction", VT_BIGINT}, {"bidder", VT_BIGINT}, {"price", VT_BIGINT},
    {"channel", VT_STRING}, {"dateTime", VT_TIMESTAMP},
};
static const struct schema bid_schema = {bid_fields, 5, 4, 4000};

static const struct schema *test_catalog(void *ctx, const char *name)
{
    (void)ctx;
    return strcasecmp(name, "bid") == 0 ? &bid_schema : NULL;
}

struct collect {
    int n;
    struct value last[8];
};

static int collect_emit(void *ctx, const struct value *row)
{
    struct collect *c = ctx;
    c->n++;
    memcpy(c->last, row, 2 * sizeof *row);
    return 0;
}

START_TEST(test_compile_simple_projection)
{
    struct sql_error err;
    struct plan *p = plan_compile("INSERT INTO a SELECT price, auction FROM bid", test_catalog, NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.message);
    ck_assert_str_eq(plan_source(p), "bid");
    ck_assert_str_eq(plan_sink(p), "a");
    const struct schema *out = plan_output_schema(p);
    ck_assert_int_eq(out->nfields, 2);
    ck_assert_str_eq(out->fields[0].name, "price");
    ck_assert_int_eq(out->fields[1].type, VT_BIGINT);
    const unsigned char *need = plan_needed_fields(p);
    ck_assert(need[0] && !need[1] && need[2] && !need[3]);
    struct value row[5] = {{.type = VT_BIGINT, .u.i = 7}, {.type = VT_NULL}, {.type = VT_BIGINT, .u.i = 99}};
    struct collect c = {0};
    struct arena *a = arena_new(1024);
    ck_assert_int_eq(plan_process(p, row, a, collect_emit, &c, &err), 0);
    ck_assert_int_eq(c.n, 1);
    ck_assert_int_eq(c.last[0].u.i, 99);
    ck_assert_int_eq(c.last[1].u.i, 7);
    arena_free(a);
    plan_free(p);
    plan_free(NULL);
}
END_TEST

START_TEST(test_unknown_stream_is_an_error)
{
    struct sql_error err;
    ck_assert_int_eq(sql_validate("INSERT INTO a SELECT x FROM nope", test_catalog, NULL, &err), -1);
    ck_assert_int_eq(err.line, 1);
    ck_assert_int_eq(err.column, 29);
    ck_assert_str_eq(err.message, "stream \"nope\" not found");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sql_plan");
    TCase *tc = tcase_create("plan");
    tcase_add_test(tc, test_compile_simple_projection);
    tcase_add_test(tc, test_unknown_stream_is_an_error);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
