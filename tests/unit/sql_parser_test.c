/* sql_parser_test.c — unit tests of dataplane/sql/parser's OVER windows: the syntax tree of
 * ROW_NUMBER() and aggregate calls with OVER (PARTITION BY, ORDER BY, ROWS/RANGE frames). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "dataplane/sql/parser.h"
#include "tests/unit/check_main.h"

static struct arena *arena;

static const struct ast *parse(const char *sql)
{
    struct ast *a = NULL;
    struct sql_error err;
    ck_assert_msg(parser_parse_expression(sql, arena, &a, &err) == 0, "%s: %s", sql, err.message);
    return a;
}

static void setup(void) { arena = arena_new(4096); }
static void teardown(void) { arena_free(arena); }

START_TEST(test_row_number_over)
{
    const struct ast *a =
        parse("ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY dateTime DESC, price NULLS FIRST)");
    ck_assert_int_eq(a->kind, AST_FUNC);
    ck_assert_str_eq(a->name, "ROW_NUMBER");
    ck_assert_int_eq(a->nargs, 0);
    const struct ast_over *w = a->over;
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(w->line, 1);
    ck_assert_int_eq(w->column, 14);
    ck_assert_int_eq(w->npartition_by, 2);
    ck_assert_str_eq(w->partition_by[0]->name, "bidder");
    ck_assert_str_eq(w->partition_by[1]->name, "auction");
    ck_assert_int_eq(w->norder_by, 2);
    ck_assert_str_eq(w->order_by[0].expr->name, "dateTime");
    ck_assert_int_eq(w->order_by[0].desc, 1);
    ck_assert_int_eq(w->order_by[0].nulls, AST_NULLS_DEFAULT);
    ck_assert_str_eq(w->order_by[1].expr->name, "price");
    ck_assert_int_eq(w->order_by[1].desc, 0);
    ck_assert_int_eq(w->order_by[1].nulls, AST_NULLS_FIRST);
    ck_assert_int_eq(w->frame, AST_FRAME_NONE);
}
END_TEST

START_TEST(test_aggregate_frames)
{
    const struct ast *a = parse("SUM(price) OVER (PARTITION BY auction ORDER BY dateTime "
                                "ROWS BETWEEN 3 PRECEDING AND CURRENT ROW)");
    ck_assert_str_eq(a->name, "SUM");
    ck_assert_int_eq(a->nargs, 1);
    ck_assert_int_eq(a->over->frame, AST_FRAME_ROWS);
    ck_assert_int_eq(a->over->frame_column, 57);
    ck_assert_int_eq(a->over->unbounded, 0);
    ck_assert_int_eq(a->over->preceding, 3);

    a = parse("MAX(price) OVER (ORDER BY dateTime RANGE BETWEEN INTERVAL '10' MINUTE PRECEDING AND CURRENT ROW)");
    ck_assert_int_eq(a->over->npartition_by, 0);
    ck_assert_int_eq(a->over->frame, AST_FRAME_RANGE);
    ck_assert_int_eq(a->over->preceding, 600000);

    a = parse("COUNT(*) OVER (ORDER BY ts RANGE UNBOUNDED PRECEDING)");
    ck_assert_int_eq(a->args[0]->kind, AST_STAR);
    ck_assert_int_eq(a->over->frame, AST_FRAME_RANGE);
    ck_assert_int_eq(a->over->unbounded, 1);

    a = parse("AVG(x) OVER (ORDER BY ts ROWS BETWEEN CURRENT ROW AND CURRENT ROW) + 1");
    ck_assert_int_eq(a->kind, AST_BINARY);
    ck_assert_int_eq(a->args[0]->over->frame, AST_FRAME_ROWS);
    ck_assert_int_eq(a->args[0]->over->preceding, 0);
    ck_assert_ptr_null(a->args[1]->over);

    a = parse("COUNT(*) OVER ()");
    ck_assert_int_eq(a->over->npartition_by + a->over->norder_by, 0);
}
END_TEST

START_TEST(test_nexmark_windows)
{
    /* q9's and q6's windows: qualified and quoted columns */
    const struct ast *a = parse("ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.`dateTime` ASC)");
    ck_assert_str_eq(a->over->partition_by[0]->qualifier, "A");
    ck_assert_str_eq(a->over->partition_by[0]->name, "id");
    ck_assert_str_eq(a->over->order_by[1].expr->name, "dateTime");
    ck_assert_int_eq(a->over->order_by[1].expr->quoted, 1);
    ck_assert_int_eq(a->over->order_by[1].desc, 0);
    a = parse(
        "AVG(Q.price) OVER\n (PARTITION BY Q.seller ORDER BY Q.`dateTime` ROWS BETWEEN 10 PRECEDING AND CURRENT ROW)");
    ck_assert_int_eq(a->over->line, 1);
    ck_assert_int_eq(a->over->frame_line, 2);
    ck_assert_int_eq(a->over->preceding, 10);
}
END_TEST

START_TEST(test_over_errors)
{
    struct ast *a;
    struct sql_error err;
    ck_assert_int_eq(parser_parse_expression("RANK() + 1", arena, &a, &err), -1);
    ck_assert_str_eq(err.message, "RANK() needs an OVER clause");
    ck_assert_int_eq(parser_parse_expression("SUM(x) OVER (ORDER BY ts ROWS -1 PRECEDING)", arena, &a, &err), -1);
    ck_assert_int_eq(err.column, 31);
    ck_assert_int_eq(parser_parse_expression("SUM(x) OVER (PARTITION k)", arena, &a, &err), -1);
    ck_assert_str_eq(err.message, "expected BY, found \"k\"");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sql_parser");
    TCase *tc = tcase_create("over");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_row_number_over);
    tcase_add_test(tc, test_aggregate_frames);
    tcase_add_test(tc, test_nexmark_windows);
    tcase_add_test(tc, test_over_errors);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
