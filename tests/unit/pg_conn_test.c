/* pg_conn_test.c — the libpq connectors' shared helpers (dataplane/connectors/pg_conn.h): libpq
 * messages on one line, the url check, and a refused connection's error (no server needed). */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "dataplane/connectors/pg_conn.h"

START_TEST(test_message)
{
    char buf[64];
    ck_assert_str_eq(pg_conn_message("FATAL:  no such role\nDETAIL:\tx \n", buf, sizeof buf),
                     "FATAL:  no such role DETAIL: x");
    ck_assert_str_eq(pg_conn_message(NULL, buf, sizeof buf), "");
    char small[8];
    ck_assert_str_eq(pg_conn_message("abcdef ghijk", small, sizeof small), "abcdef");
}
END_TEST

START_TEST(test_url_check)
{
    char err[128] = "";
    ck_assert_int_eq(pg_conn_url_check("postgresql://u@h/db", "postgres", err, sizeof err), 0);
    ck_assert_int_eq(pg_conn_url_check("postgres://h/db", "postgres", err, sizeof err), 0);
    ck_assert_int_eq(pg_conn_url_check("host=h dbname=db", "postgres", err, sizeof err), -1);
    ck_assert_str_eq(err, "postgres option \"url\" must be a postgresql:// URI");
    ck_assert_int_eq(pg_conn_url_check(NULL, "postgres lookup", err, sizeof err), -1);
    ck_assert_str_eq(err, "postgres lookup option \"url\" must be a postgresql:// URI");
}
END_TEST

START_TEST(test_refused)
{
    char err[512];
    const struct pg_conn_params p = {.url = "postgresql://u@127.0.0.1:1/db",
                                     .password = "s3cret-pw",
                                     .connect_timeout_s = 5,
                                     .application_name = "sluice-test",
                                     .what = "postgres sink"};
    ck_assert_ptr_null(pg_conn_open(&p, err, sizeof err));
    ck_assert_msg(strstr(err, "postgres sink: cannot connect: ") == err && strstr(err, "Connection refused"), "%s",
                  err);
    ck_assert_msg(!strchr(err, '\n') && !strstr(err, "s3cret-pw"), "%s", err);
    ck_assert_int_eq(pg_conn_ping(&p), PQPING_NO_RESPONSE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pg_conn");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_message);
    tcase_add_test(tc, test_url_check);
    tcase_add_test(tc, test_refused);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
