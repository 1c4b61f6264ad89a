/* value_test.c — DECIMAL helpers of dataplane/value.h: text in and out at the 38-digit edges,
 * half-up rescaling, exact comparison across scales and types, and hashes that agree with it. */
#include <check.h>
#include <string.h>

#include "dataplane/value.h"
#include "tests/unit/check_main.h"

static const char *format(value_int128 v, int scale)
{
    static char buf[48];
    value_format_decimal(v, scale, buf);
    return buf;
}

START_TEST(test_format_and_parse_round_trip_at_38_digits)
{
    value_int128 max = value_pow10(38) - 1, v;
    ck_assert_str_eq(format(max, 0), "99999999999999999999999999999999999999");
    ck_assert_str_eq(format(-max, 38), "-0.99999999999999999999999999999999999999");
    ck_assert_str_eq(format(5, 3), "0.005");
    ck_assert_str_eq(format(-5, 3), "-0.005");
    ck_assert_str_eq(format(0, 2), "0.00");
    ck_assert_str_eq(format(1234, 0), "1234");
    ck_assert_str_eq(format(value_pow10(19), 1), "1000000000000000000.0"); /* the 19-digit boundary */
    const char *texts[] = {"99999999999999999999999999999999999999", "-0.99999999999999999999999999999999999999",
                           "10000000000000000000", "-123456789012345678901234567.89"};
    int scales[] = {0, 38, 0, 2};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(value_decimal_parse(texts[i], strlen(texts[i]), 38, scales[i], &v), 0);
        ck_assert_str_eq(format(v, scales[i]), texts[i]);
    }
    /* one digit more than 38 does not fit; bad text is no number */
    ck_assert_int_eq(value_decimal_parse("100000000000000000000000000000000000000", 39, 38, 0, &v), -2);
    ck_assert_int_eq(value_decimal_parse("1.2.3", 5, 38, 0, &v), -1);
    ck_assert_int_eq(value_decimal_parse("", 0, 38, 0, &v), -1);
    ck_assert_int_eq(value_decimal_parse("-", 1, 38, 0, &v), -1);
    ck_assert_int_eq(value_decimal_parse("1e", 2, 38, 0, &v), -1);
    /* exponents, and rounding half away from zero */
    ck_assert_int_eq(value_decimal_parse("1.5e2", 5, 10, 0, &v), 0);
    ck_assert(v == 150);
    ck_assert_int_eq(value_decimal_parse("-2.5", 4, 10, 0, &v), 0);
    ck_assert(v == -3);
    ck_assert_int_eq(value_decimal_parse(" 2.449 ", 7, 10, 1, &v), 0);
    ck_assert(v == 24);
    ck_assert_int_eq(value_decimal_parse("1e-50", 5, 10, 2, &v), 0);
    ck_assert(v == 0);
}
END_TEST

START_TEST(test_rescale_rounds_half_up_and_checks_precision)
{
    value_int128 v;
    ck_assert_int_eq(value_decimal_rescale(125, 2, 1, 5, &v), 0);
    ck_assert(v == 13);
    ck_assert_int_eq(value_decimal_rescale(-125, 2, 1, 5, &v), 0);
    ck_assert(v == -13);
    ck_assert_int_eq(value_decimal_rescale(124, 2, 1, 5, &v), 0);
    ck_assert(v == 12);
    ck_assert_int_eq(value_decimal_rescale(999, 0, 2, 5, &v), 0); /* 999.00 fits 5 digits */
    ck_assert_int_eq(value_decimal_rescale(1000, 0, 2, 5, &v), -1);
    ck_assert_int_eq(value_decimal_rescale(value_pow10(37), 0, 2, 38, &v), -1); /* past 128 bits too */
    ck_assert(value_decimal_fits(value_pow10(38) - 1, 38) && !value_decimal_fits(value_pow10(38), 38));
}
END_TEST

START_TEST(test_compare_and_hash_across_scales_and_types)
{
    struct value a = {.type = value_decimal_type(10, 2), .u.dec = 150}; /* 1.50 */
    struct value b = {.type = value_decimal_type(5, 1), .u.dec = 15};   /* 1.5 */
    struct value c = {.type = value_decimal_type(3, 0), .u.dec = 2};    /* 2 */
    struct value i = {.type = VT_BIGINT, .u.i = 2};
    struct value d = {.type = VT_DOUBLE, .u.d = 1.25};
    struct value big = {.type = value_decimal_type(38, 0), .u.dec = value_pow10(38) - 1};
    struct value tiny = {.type = value_decimal_type(38, 38), .u.dec = 1}; /* 1e-38 */
    ck_assert_int_eq(value_compare(&a, &b), 0);
    ck_assert(value_hash(&a, 7) == value_hash(&b, 7));
    ck_assert_int_eq(value_compare(&c, &i), 0);
    ck_assert(value_hash(&c, 7) == value_hash(&i, 7));
    ck_assert_int_lt(value_compare(&a, &c), 0);
    ck_assert_int_gt(value_compare(&a, &d), 0);
    ck_assert_int_gt(value_compare(&big, &tiny), 0); /* scaling big to 38 places overflows */
    ck_assert_int_lt(value_compare(&tiny, &big), 0);
    ck_assert_str_eq(value_type_name(a.type), "DECIMAL(10, 2)");
    ck_assert(value_decimal_to_double(150, 2) == 1.5);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("value");
    TCase *tc = tcase_create("decimal");
    tcase_add_test(tc, test_format_and_parse_round_trip_at_38_digits);
    tcase_add_test(tc, test_rescale_rounds_half_up_and_checks_precision);
    tcase_add_test(tc, test_compare_and_hash_across_scales_and_types);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
