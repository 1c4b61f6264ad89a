/* db_test.c — common/db.h without a server: db_query_or_err on a connection that was refused
 * returns NULL with the failure's message, on one line, cut to the caller's buffer. */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "common/db.h"

static PGconn *refused_conn(void)
{
    PGconn *conn = PQconnectdb("postgresql://u@127.0.0.1:1/db?connect_timeout=5");
    ck_assert_ptr_nonnull(conn);
    ck_assert_int_eq(PQstatus(conn), CONNECTION_BAD);
    return conn;
}

START_TEST(test_query_or_err_message)
{
    PGconn *conn = refused_conn();
    const char *params[] = {"1"};
    char err[512] = "";
    ck_assert_ptr_null(db_query_or_err(conn, "SELECT $1::int", 1, params, err, sizeof err));
    /* the same text db_query gives in its struct db_error */
    struct db_error dberr;
    ck_assert_ptr_null(db_query(conn, "SELECT $1::int", 1, params, &dberr));
    ck_assert_str_eq(err, dberr.message);
    ck_assert_msg(strlen(err) > 0 && !strchr(err, '\n'), "%s", err);
    PQfinish(conn);
}
END_TEST

START_TEST(test_query_or_err_cut)
{
    PGconn *conn = refused_conn();
    char full[512] = "", small[8] = "", none[4] = "xyz";
    ck_assert_ptr_null(db_query_or_err(conn, "SELECT 1", 0, NULL, full, sizeof full));
    ck_assert_ptr_null(db_query_or_err(conn, "SELECT 1", 0, NULL, small, sizeof small));
    ck_assert_int_ge(strlen(full), sizeof small);
    ck_assert_int_eq(strlen(small), sizeof small - 1);
    ck_assert_int_eq(strncmp(full, small, sizeof small - 1), 0);
    ck_assert_ptr_null(db_query_or_err(conn, "SELECT 1", 0, NULL, none, 0)); /* no room: left as it was */
    ck_assert_str_eq(none, "xyz");
    PQfinish(conn);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("db");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_query_or_err_message);
    tcase_add_test(tc, test_query_or_err_cut);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
