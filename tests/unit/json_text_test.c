/* json_text_test.c — unit tests for common/json_text: what it writes is JSON that reads back as
 * what was written. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_text.h"
#include "tests/unit/check_main.h"

/* s[0..len) written as a JSON string, then read back with jansson: the same bytes. */
static void assert_string_round_trip(const char *s, size_t len)
{
    struct json_text t = {0};
    json_text_string(&t, s, len);
    char *text = json_text_take(&t);
    ck_assert_ptr_nonnull(text);
    json_error_t error;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
    ck_assert_msg(v != NULL, "not JSON: %s (%s)", text, error.text);
    ck_assert(json_is_string(v));
    ck_assert_uint_eq(json_string_length(v), len);
    ck_assert_mem_eq(json_string_value(v), s, len);
    json_decref(v);
    free(text);
}

START_TEST(test_every_control_byte_and_quote_escaped)
{
    char all[128];
    for (int i = 0; i < 128; i++)
        all[i] = (char)i; /* NUL, every control byte, '"', '\\', DEL */
    assert_string_round_trip(all, sizeof all);
    assert_string_round_trip("", 0);
    assert_string_round_trip("plain", 5);
    assert_string_round_trip("\"", 1);
    assert_string_round_trip("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14); /* UTF-8 kept as is */
}
END_TEST

START_TEST(test_escapes_spelled_as_json_does)
{
    struct json_text t = {0};
    json_text_string(&t, "a\"b\\c\nd\te\x01\x1f", 11);
    char *text = json_text_take(&t);
    ck_assert_str_eq(text, "\"a\\\"b\\\\c\\nd\\te\\u0001\\u001f\"");
    free(text);
}
END_TEST

START_TEST(test_object_from_pieces_grows)
{
    size_t big = 100000;
    char *long_value = malloc(big);
    ck_assert_ptr_nonnull(long_value);
    for (size_t i = 0; i < big; i++)
        long_value[i] = i % 97 == 0 ? '\n' : (char)('a' + i % 26);
    struct json_text t = {0};
    json_text_raw(&t, "{\"n\":", 5);
    json_text_cstr(&t, "42");
    json_text_raw(&t, ",\"s\":", 5);
    json_text_string(&t, long_value, big);
    json_text_raw(&t, ",\"j\":{\"x\": [1, 2]}}", 19);
    char *text = json_text_take(&t);
    ck_assert_ptr_null(t.data);
    json_t *v = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "n")), 42);
    ck_assert_uint_eq(json_string_length(json_object_get(v, "s")), big);
    ck_assert_mem_eq(json_string_value(json_object_get(v, "s")), long_value, big);
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(json_object_get(v, "j"), "x"), 1)), 2);
    json_decref(v);
    free(text);
    free(long_value);
}
END_TEST

START_TEST(test_empty_and_free)
{
    struct json_text t = {0};
    ck_assert_ptr_null(json_text_take(&t)); /* nothing appended */
    json_text_cstr(&t, "x");
    json_text_free(&t);
    ck_assert_ptr_null(t.data);
    ck_assert_uint_eq(t.len, 0);
    json_text_free(&t); /* twice: no-op */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("json_text");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_every_control_byte_and_quote_escaped);
    tcase_add_test(tc, test_escapes_spelled_as_json_does);
    tcase_add_test(tc, test_object_from_pieces_grows);
    tcase_add_test(tc, test_empty_and_free);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
