/* json_check_test.c — unit tests for common/json_check: table-driven body validation. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_check.h"
#include "tests/unit/check_main.h"

static const char *const sizes[] = {"S", "M", "L", NULL};
static const struct json_check_field fields[] = {
    {"name", JSON_CHECK_NAME, JSON_CHECK_REQUIRED, 0, 0, NULL},
    {"description", JSON_CHECK_STRING, JSON_CHECK_NULLABLE, 0, 10, NULL},
    {"count", JSON_CHECK_INT, 0, 1, 64, NULL},
    {"size", JSON_CHECK_ENUM, 0, 0, 0, sizes},
    {"enabled", JSON_CHECK_BOOL, 0, 0, 0, NULL},
    {"props", JSON_CHECK_STRING_MAP, 0, 0, 2, NULL},
    {"schema", JSON_CHECK_OBJECT, 0, 0, 0, NULL},
    {"items", JSON_CHECK_ARRAY, 0, 0, 3, NULL},
};
#define N (sizeof fields / sizeof fields[0])

/* Checks text; returns the offending field ("" when valid). */
static const char *check(const char *text, bool partial, struct json_check_error *err)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    ck_assert_msg(v != NULL, "bad test JSON %s: %s", text, jerr.text);
    memset(err, 0, sizeof *err);
    int rc = json_check_object(v, "", fields, N, partial, err);
    json_decref(v);
    if (rc == 0)
        ck_assert_str_eq(err->field, "");
    else
        ck_assert_msg(err->message[0] != '\0', "no message for %s", text);
    return err->field;
}

START_TEST(test_valid_bodies)
{
    struct json_check_error e;
    ck_assert_str_eq(check("{\"name\":\"orders\"}", false, &e), "");
    ck_assert_str_eq(check("{\"name\":\"a-b_9\",\"description\":null,\"count\":64,\"size\":\"L\",\"enabled\":false,"
                           "\"props\":{\"a\":\"1\",\"b\":\"\"},\"schema\":{},\"items\":[1,2,3]}",
                           false, &e),
                     "");
    ck_assert_str_eq(check("{}", true, &e), ""); /* partial: nothing required */
}
END_TEST

START_TEST(test_each_problem_names_its_field)
{
    struct json_check_error e;
    ck_assert_str_eq(check("{}", false, &e), "name");
    ck_assert_ptr_nonnull(strstr(e.message, "missing"));
    ck_assert_str_eq(check("{\"name\":\"x\",\"extra\":1}", false, &e), "extra");
    ck_assert_ptr_nonnull(strstr(e.message, "unknown"));
    ck_assert_str_eq(check("{\"name\":5}", false, &e), "name");
    ck_assert_str_eq(check("{\"name\":\"1abc\"}", false, &e), "name");
    ck_assert_str_eq(check("{\"name\":\"x'; DROP TABLE t;--\"}", false, &e), "name");
    ck_assert_str_eq(check("{\"name\":\"x\",\"description\":\"01234567890\"}", false, &e), "description");
    ck_assert_str_eq(check("{\"name\":\"x\",\"count\":0}", false, &e), "count");
    ck_assert_str_eq(check("{\"name\":\"x\",\"count\":65}", false, &e), "count");
    ck_assert_str_eq(check("{\"name\":\"x\",\"count\":1.5}", false, &e), "count");
    ck_assert_str_eq(check("{\"name\":\"x\",\"count\":\"3\"}", false, &e), "count");
    ck_assert_str_eq(check("{\"name\":\"x\",\"size\":\"XL\"}", false, &e), "size");
    ck_assert_ptr_nonnull(strstr(e.message, "\"S\", \"M\", \"L\""));
    ck_assert_str_eq(check("{\"name\":\"x\",\"enabled\":1}", false, &e), "enabled");
    ck_assert_str_eq(check("{\"name\":\"x\",\"props\":{\"a\":1}}", false, &e), "props.a");
    ck_assert_str_eq(check("{\"name\":\"x\",\"props\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}}", false, &e), "props");
    ck_assert_str_eq(check("{\"name\":\"x\",\"schema\":[]}", false, &e), "schema");
    ck_assert_str_eq(check("{\"name\":\"x\",\"items\":[1,2,3,4]}", false, &e), "items");
    ck_assert_str_eq(check("{\"name\":\"x\",\"count\":null}", false, &e), "count");
    ck_assert_str_eq(check("{\"name\":\"x\\u0000y\"}", false, &e), "name");
    ck_assert_str_eq(check("{\"count\":\"x\"}", true, &e), "count"); /* partial still checks types */
    ck_assert_str_eq(check("[1]", false, &e), "");                   /* not an object: whole body */
    ck_assert_ptr_nonnull(strstr(e.message, "object"));
}
END_TEST

START_TEST(test_nested_path)
{
    static const struct json_check_field inner[] = {{"type", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, 8, NULL}};
    json_t *v = json_loads("{\"type\":\"x\",\"oops\":true}", 0, NULL);
    struct json_check_error e;
    ck_assert_int_eq(json_check_object(v, "schema.fields[2]", inner, 1, false, &e), -1);
    ck_assert_str_eq(e.field, "schema.fields[2].oops");
    json_decref(v);
}
END_TEST

START_TEST(test_names)
{
    ck_assert(json_check_name("a"));
    ck_assert(json_check_name("Orders_2024-eu"));
    ck_assert(!json_check_name(""));
    ck_assert(!json_check_name("_x"));
    ck_assert(!json_check_name("9x"));
    ck_assert(!json_check_name("a b"));
    ck_assert(!json_check_name("a.b"));
    ck_assert(!json_check_name("é"));
    char long_name[65];
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    ck_assert(!json_check_name(long_name));
    long_name[63] = '\0';
    ck_assert(json_check_name(long_name));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("json_check");
    TCase *tc = tcase_create("json_check");
    tcase_add_test(tc, test_valid_bodies);
    tcase_add_test(tc, test_each_problem_names_its_field);
    tcase_add_test(tc, test_nested_path);
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
