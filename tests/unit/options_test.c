/* options_test.c — unit tests for common/options: look-up, the validator's messages for each
 * type, required options, defaults and storing into a struct. */
#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "common/options.h"

struct target {
    char *name;
    long count;
    uint32_t small;
    int32_t offset;
    int flag;
    bool on;
    unsigned char guard; /* the byte after on: a bool is stored in one byte */
    double rate;
    int colour;
};

static const char *const colours[] = {"red", "green", "blue", NULL};

static const struct option_row rows[] = {
    {.name = "name", .type = OPTION_STRING, .flags = OPTION_REQUIRED, OPTION_FIELD(struct target, name)},
    {.name = "count", .type = OPTION_INT, .def = "7", .min = 1, .max = 100, OPTION_FIELD(struct target, count)},
    {.name = "small", .type = OPTION_INT, .min = 0, .max = UINT32_MAX, OPTION_FIELD(struct target, small)},
    {.name = "offset", .type = OPTION_INT, .min = -50, .max = 50, OPTION_FIELD(struct target, offset)},
    {.name = "flag", .type = OPTION_BOOL, .def = "off", OPTION_FIELD(struct target, flag)},
    {.name = "on", .type = OPTION_BOOL, OPTION_FIELD(struct target, on)},
    {.name = "rate", .type = OPTION_DOUBLE, .min = 0, OPTION_FIELD(struct target, rate)},
    {.name = "colour", .type = OPTION_ENUM, .def = "green", .values = colours, OPTION_FIELD(struct target, colour)},
    {.name = "extra.deep", .type = OPTION_STRING},
    {.name = "extra.", .type = OPTION_STRING, .flags = OPTION_PREFIX},
    {.name = "connector", .type = OPTION_STRING, .flags = OPTION_HIDDEN},
};
static const struct option_table table = OPTION_TABLE("thing", rows);

/* get over a NULL-terminated list of key, value pairs */
static const char *pairs_get(void *ctx, const char *name)
{
    const char *const *p = ctx;
    const char *v = NULL;
    for (; p[0]; p += 2)
        if (strcmp(p[0], name) == 0)
            v = p[1];
    return v;
}

START_TEST(test_find)
{
    ck_assert_ptr_eq(option_find(&table, "count"), &rows[1]);
    ck_assert_ptr_eq(option_find(&table, "extra.x"), &rows[9]);
    ck_assert_ptr_null(option_find(&table, "extra.")); /* a prefix needs something after it */
    ck_assert_ptr_null(option_find(&table, "coun"));
    ck_assert_ptr_eq(option_find(&table, "connector"), &rows[10]);
    char names[200];
    option_names(&table, names, sizeof names);
    ck_assert_str_eq(names, "name, count, small, offset, flag, on, rate, colour, extra.deep, extra.*");
}
END_TEST

/* One message per way a value can be wrong, each naming the owner and the option. */
START_TEST(test_check_messages)
{
    char err[400];
    ck_assert_int_eq(option_check(&table, "count", "100", err, sizeof err), 0);
    ck_assert_int_eq(option_check(&table, "extra.anything", "x", err, sizeof err), 0);
    ck_assert_int_eq(option_check(&table, "connector", "thing", err, sizeof err), 0);
    ck_assert_int_eq(option_check(&table, "colour", NULL, err, sizeof err), 0); /* value unseen */
    ck_assert_int_eq(option_check(&table, "cuont", "1", err, sizeof err), -1);
    ck_assert_str_eq(err,
                     "unknown thing option \"cuont\" (options: name, count, small, offset, flag, on, rate, colour, "
                     "extra.deep, extra.*)");
    ck_assert_int_eq(option_check(&table, "deep", NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "unknown thing option \"deep\" (options: name, count, small, offset, flag, on, rate, colour, "
                          "extra.deep, extra.*); did you mean \"extra.deep\"?");
    ck_assert_int_eq(option_check(&table, "count", "0", err, sizeof err), -1);
    ck_assert_str_eq(err, "thing option \"count\" must be a whole number from 1 to 100, not \"0\"");
    ck_assert_int_eq(option_check(&table, "count", "5x", err, sizeof err), -1);
    ck_assert_int_eq(option_check(&table, "count", "", err, sizeof err), -1);
    ck_assert_int_eq(option_check(&table, "count", "99999999999999999999", err, sizeof err), -1);
    ck_assert_int_eq(option_check(&table, "flag", "maybe", err, sizeof err), -1);
    ck_assert_str_eq(err, "thing option \"flag\" must be true or false, not \"maybe\"");
    ck_assert_int_eq(option_check(&table, "rate", "-0.5", err, sizeof err), -1);
    ck_assert_str_eq(err, "thing option \"rate\" must be a non-negative number, not \"-0.5\"");
    ck_assert_int_eq(option_check(&table, "rate", "inf", err, sizeof err), -1);
    ck_assert_int_eq(option_check(&table, "rate", "2.5", err, sizeof err), 0);
    ck_assert_int_eq(option_check(&table, "colour", "Red", err, sizeof err), -1);
    ck_assert_str_eq(err, "thing option \"colour\" must be red | green | blue, not \"Red\"");

    static const struct option_table anonymous = {.rows = rows, .n = 2};
    ck_assert_int_eq(option_check(&anonymous, "nope", "1", err, sizeof err), -1);
    ck_assert_str_eq(err, "unknown option \"nope\"");
    ck_assert_int_eq(option_check(&anonymous, "count", "x", err, sizeof err), -1);
    ck_assert_str_eq(err, "option \"count\" must be a whole number from 1 to 100, not \"x\"");
    const char *none[] = {NULL};
    ck_assert_int_eq(option_check_required(&anonymous, pairs_get, none, NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "option \"name\" is required");
}
END_TEST

/* OPTION_DURATION: the text forms, bounds in milliseconds, its message, stored as a long. */
START_TEST(test_duration)
{
    ck_assert_int_eq(option_duration_ms("500ms"), 500);
    ck_assert_int_eq(option_duration_ms("10s"), 10000);
    ck_assert_int_eq(option_duration_ms("1.5s"), 1500);
    ck_assert_int_eq(option_duration_ms("2m"), 120000);
    ck_assert_int_eq(option_duration_ms("1h"), 3600000);
    ck_assert_int_eq(option_duration_ms("3"), 3000);
    ck_assert_int_eq(option_duration_ms("x"), -1);
    ck_assert_int_eq(option_duration_ms("-1s"), -1);
    ck_assert_int_eq(option_duration_ms("5w"), -1);
    /* Flink's forms: a space, long unit names */
    ck_assert_int_eq(option_duration_ms("1 min"), 60000);
    ck_assert_int_eq(option_duration_ms("1min"), 60000);
    ck_assert_int_eq(option_duration_ms("30 sec"), 30000);
    ck_assert_int_eq(option_duration_ms("2 hours"), 7200000);
    ck_assert_int_eq(option_duration_ms("5d"), 432000000);
    ck_assert_int_eq(option_duration_ms("1 minx"), -1);
    static const struct option_row wait_rows[] = {
        {.name = "wait", .type = OPTION_DURATION, .min = 1, .max = 60000, OPTION_FIELD(struct target, count)}};
    static const struct option_table waits = OPTION_TABLE("thing", wait_rows);
    char err[200] = "";
    ck_assert_int_eq(option_check(&waits, "wait", "1m", err, sizeof err), 0);
    ck_assert_int_eq(option_check(&waits, "wait", "2m", err, sizeof err), -1);
    ck_assert_str_eq(err,
                     "thing option \"wait\" must be a duration such as 10s or 500ms, from 1 to 60000 ms, not \"2m\"");
    ck_assert_int_eq(option_check(&waits, "wait", "soon", err, sizeof err), -1);
    struct target t = {0};
    ck_assert_int_eq(option_store(&waits, &wait_rows[0], "250ms", &t, err, sizeof err), 0);
    ck_assert_int_eq(t.count, 250);
}
END_TEST

START_TEST(test_required)
{
    char err[400];
    const char *given[] = {"name", "n", NULL};
    const struct option_row *missing = NULL;
    ck_assert_int_eq(option_check_required(&table, pairs_get, given, &missing, err, sizeof err), 0);
    ck_assert_ptr_null(missing);
    const char *empty[] = {"name", "", NULL};
    ck_assert_int_eq(option_check_required(&table, pairs_get, empty, &missing, err, sizeof err), -1);
    ck_assert_ptr_eq(missing, &rows[0]);
    ck_assert_str_eq(err, "a thing connection needs the property \"name\"");
}
END_TEST

/* Defaults first, values over them, each stored in its field by type and size. */
START_TEST(test_apply_defaults_and_store)
{
    char err[400];
    struct target t = {.guard = 0x55};
    ck_assert_int_eq(option_table_apply(&table, NULL, NULL, &t, err, sizeof err), 0);
    ck_assert_ptr_null(t.name);
    ck_assert_int_eq(t.count, 7);
    ck_assert_int_eq(t.flag, 0);
    ck_assert_int_eq(t.colour, 1); /* green */
    const char *given[] = {"name",   "n1",   "count", "42", "small", "4294967295",    "offset",
                           "-50",    "flag", "yes",   "on", "true",  "rate",          "0.25",
                           "colour", "blue", "name",  "n2", "other", "not looked at", NULL};
    ck_assert_int_eq(option_table_apply(&table, pairs_get, given, &t, err, sizeof err), 0);
    ck_assert_str_eq(t.name, "n2"); /* the last value of a key wins */
    ck_assert_int_eq(t.count, 42);
    ck_assert_uint_eq(t.small, UINT32_MAX);
    ck_assert_int_eq(t.offset, -50);
    ck_assert_int_eq(t.flag, 1);
    ck_assert(t.on);
    ck_assert_int_eq(t.guard, 0x55);
    ck_assert_double_eq(t.rate, 0.25);
    ck_assert_int_eq(t.colour, 2);
    const char *bad[] = {"count", "101", NULL};
    ck_assert_int_eq(option_table_apply(&table, pairs_get, bad, &t, err, sizeof err), -1);
    ck_assert_str_eq(err, "thing option \"count\" must be a whole number from 1 to 100, not \"101\"");
    ck_assert_int_eq(t.count, 42); /* a bad value leaves the field alone */
    const char *bad_enum[] = {"colour", "black", NULL};
    ck_assert_int_eq(option_table_apply(&table, pairs_get, bad_enum, &t, err, sizeof err), -1);
    option_table_free(&table, &t);
    ck_assert_ptr_null(t.name);
    option_table_free(&table, &t); /* twice: nothing left to free */
}
END_TEST

/* OPTION_SIZE: the text forms (units of 1024), bounds, its message, stored as an int64. */
START_TEST(test_size)
{
    ck_assert_int_eq(option_size_bytes("128MB"), 128 << 20);
    ck_assert_int_eq(option_size_bytes("64 kb"), 64 << 10);
    ck_assert_int_eq(option_size_bytes("1GiB"), 1 << 30);
    ck_assert_int_eq(option_size_bytes("1000"), 1000);
    ck_assert_int_eq(option_size_bytes("10 bytes"), 10);
    ck_assert_int_eq(option_size_bytes("lots"), -1);
    ck_assert_int_eq(option_size_bytes("-1kb"), -1);
    ck_assert_int_eq(option_size_bytes("5 parsecs"), -1);
    struct sized {
        int64_t bytes;
    };
    static const struct option_row size_rows[] = {
        {.name = "file-size", .type = OPTION_SIZE, .min = 1, .max = INT64_MAX, OPTION_FIELD(struct sized, bytes)}};
    static const struct option_table sizes = OPTION_TABLE("thing", size_rows);
    char err[200] = "";
    ck_assert_int_eq(option_check(&sizes, "file-size", "0", err, sizeof err), -1);
    ck_assert_int_eq(option_check(&sizes, "file-size", "huge", err, sizeof err), -1);
    ck_assert_str_eq(err, "thing option \"file-size\" must be a size such as 128MB or 64kb, from 1 to "
                          "9223372036854775807 bytes, not \"huge\"");
    struct sized t = {0};
    ck_assert_int_eq(option_store(&sizes, &size_rows[0], "3 gb", &t, err, sizeof err), 0);
    ck_assert_int_eq(t.bytes, 3LL << 30);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, test_find);
    tcase_add_test(tc, test_check_messages);
    tcase_add_test(tc, test_duration);
    tcase_add_test(tc, test_size);
    tcase_add_test(tc, test_required);
    tcase_add_test(tc, test_apply_defaults_and_store);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
