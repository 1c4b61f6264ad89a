/* schema_infer_test.c — the schema proposed from sampled records (dataplane/schema_infer.h):
 * each JSON type's SQL type, how disagreeing samples widen, field order, skipped records. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/schema_infer.h"
#include "tests/unit/check_main.h"

/* The proposal for the records (NULL-terminated) as compact JSON (caller frees), or NULL. */
static char *propose(const char *const *records, size_t *skipped)
{
    struct schema_infer *s = schema_infer_new();
    ck_assert_ptr_nonnull(s);
    for (int i = 0; records[i]; i++)
        schema_infer_add(s, records[i], strlen(records[i]));
    json_t *j = schema_infer_json(s);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (skipped)
        *skipped = schema_infer_skipped(s);
    json_decref(j);
    schema_infer_free(s);
    return text;
}

START_TEST(test_each_json_type)
{
    const char *const records[] = {
        "{\"n\":1,\"d\":1.5,\"b\":true,\"t\":\"2026-01-01 00:00:00.000\",\"iso\":\"2026-01-01T10:00:00Z\","
        "\"s\":\"web\",\"o\":{\"a\":1},\"a\":[1,2],\"z\":null}",
        NULL};
    char *got = propose(records, NULL);
    ck_assert_str_eq(got, "{\"fields\":[{\"name\":\"n\",\"type\":\"BIGINT\"},{\"name\":\"d\",\"type\":\"DOUBLE\"},"
                          "{\"name\":\"b\",\"type\":\"BOOLEAN\"},{\"name\":\"t\",\"type\":\"TIMESTAMP(3)\"},"
                          "{\"name\":\"iso\",\"type\":\"TIMESTAMP(3)\"},{\"name\":\"s\",\"type\":\"STRING\"},"
                          "{\"name\":\"o\",\"type\":\"STRING\"},{\"name\":\"a\",\"type\":\"STRING\"},"
                          "{\"name\":\"z\",\"type\":\"STRING\"}]}");
    free(got);
}
END_TEST

/* BIGINT and DOUBLE meet in DOUBLE, null takes the other's type, anything else in STRING; a
 * field first seen in a later record comes after the others; a non-object is skipped. */
START_TEST(test_samples_that_disagree)
{
    const char *const records[] = {"{\"x\":1,\"y\":null,\"t\":\"2026-01-01 00:00:00\",\"b\":true}",
                                   "{\"x\":2.5,\"y\":7,\"t\":\"yesterday\",\"b\":1}",
                                   "[1,2]",
                                   "not json",
                                   "{\"late\":false}",
                                   NULL};
    size_t skipped = 0;
    char *got = propose(records, &skipped);
    ck_assert_str_eq(got, "{\"fields\":[{\"name\":\"x\",\"type\":\"DOUBLE\"},{\"name\":\"y\",\"type\":\"BIGINT\"},"
                          "{\"name\":\"t\",\"type\":\"STRING\"},{\"name\":\"b\",\"type\":\"STRING\"},"
                          "{\"name\":\"late\",\"type\":\"BOOLEAN\"}]}");
    ck_assert_uint_eq(skipped, 2);
    free(got);
}
END_TEST

START_TEST(test_nothing_to_propose)
{
    const char *const records[] = {"1", "{}", NULL};
    ck_assert_ptr_null(propose(records, NULL));
    schema_infer_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("schema_infer");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_each_json_type);
    tcase_add_test(tc, test_samples_that_disagree);
    tcase_add_test(tc, test_nothing_to_propose);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
