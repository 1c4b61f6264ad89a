/* stream_cache_test.c — unit tests for the api's per-tenant stream catalogs (api/stream_cache):
 * a catalog made from STREAM_CACHE_SQL's rows, the lookup by name as the database would pick,
 * a tenant without streams, replacing and forgetting, and references that outlive the entry. */
#include <check.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <string.h>

#include "api/stream_cache.h"
#include "tests/unit/check_main.h"

/* A result shaped as STREAM_CACHE_SQL's: fingerprint, name, schema per row (rows[i][1] NULL:
 * the one row of a tenant without streams). */
static PGresult *rows_of(const char *fp, const char *const (*rows)[2], int n)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[3] = {{.name = "fp", .typid = 25, .typlen = -1},
                             {.name = "name", .typid = 25, .typlen = -1},
                             {.name = "schema", .typid = 25, .typlen = -1}};
    ck_assert_int_eq(PQsetResultAttrs(res, 3, attrs), 1);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(PQsetvalue(res, i, 0, (char *)fp, (int)strlen(fp)), 1);
        for (int f = 0; f < 2; f++) {
            const char *v = rows[i][f];
            ck_assert_int_eq(PQsetvalue(res, i, f + 1, (char *)v, v ? (int)strlen(v) : -1), 1);
        }
    }
    return res;
}

/* The name of the one field of the schema found for name, or "" when none is found. */
static const char *field_of(struct stream_catalog *c, const char *name, char *out)
{
    json_t *js = stream_catalog_schema(c, name);
    snprintf(out, 64, "%s",
             js ? json_string_value(json_object_get(json_array_get(json_object_get(js, "fields"), 0), "name")) : "");
    json_decref(js);
    return out;
}

#define SCHEMA(f) "{\"fields\":[{\"name\":\"" f "\",\"type\":\"BIGINT\"}]}"

START_TEST(test_catalog_lookup_exact_then_ignoring_case)
{
    const char *const rows[][2] = {{"Bids", SCHEMA("upper")}, {"bids", SCHEMA("lower")}, {"out", SCHEMA("o")}};
    PGresult *res = rows_of("fp1", rows, 3);
    struct stream_catalog *c = stream_cache_put("t-lookup", res);
    PQclear(res);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(stream_catalog_fingerprint(c), "fp1");
    char buf[64];
    ck_assert_str_eq(field_of(c, "bids", buf), "lower");
    ck_assert_str_eq(field_of(c, "Bids", buf), "upper");
    ck_assert_str_eq(field_of(c, "BIDS", buf), "upper"); /* the first equal ignoring case, in the rows' order */
    ck_assert_str_eq(field_of(c, "OUT", buf), "o");
    ck_assert_str_eq(field_of(c, "missing", buf), "");
    stream_catalog_release(c);
    stream_cache_forget("t-lookup");
}
END_TEST

START_TEST(test_tenant_without_streams)
{
    const char *const rows[][2] = {{NULL, NULL}};
    PGresult *res = rows_of("d41d8cd98f00b204e9800998ecf8427e", rows, 1);
    struct stream_catalog *c = stream_cache_put("t-empty", res);
    PQclear(res);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(stream_catalog_fingerprint(c), "d41d8cd98f00b204e9800998ecf8427e");
    ck_assert_ptr_null(stream_catalog_schema(c, "bids"));
    stream_catalog_release(c);
    stream_cache_forget("t-empty");
}
END_TEST

START_TEST(test_get_replace_forget)
{
    ck_assert_ptr_null(stream_cache_get("t-cycle"));
    const char *const v1[][2] = {{"s", SCHEMA("a")}};
    const char *const v2[][2] = {{"s", SCHEMA("b")}};
    PGresult *r1 = rows_of("one", v1, 1), *r2 = rows_of("two", v2, 1);
    struct stream_catalog *first = stream_cache_put("t-cycle", r1);
    struct stream_catalog *got = stream_cache_get("t-cycle");
    ck_assert_ptr_eq(got, first);
    stream_catalog_release(got);
    struct stream_catalog *second = stream_cache_put("t-cycle", r2); /* replaces the first */
    got = stream_cache_get("t-cycle");
    ck_assert_str_eq(stream_catalog_fingerprint(got), "two");
    stream_catalog_release(got);
    char buf[64];
    ck_assert_str_eq(field_of(first, "s", buf), "a"); /* a reference outlives its entry */
    stream_catalog_release(first);
    stream_cache_forget("t-cycle");
    ck_assert_ptr_null(stream_cache_get("t-cycle"));
    ck_assert_str_eq(field_of(second, "s", buf), "b");
    stream_catalog_release(second);
    ck_assert_ptr_null(stream_cache_get("t-other")); /* tenants do not share catalogs */
    PQclear(r1);
    PQclear(r2);
}
END_TEST

START_TEST(test_not_rows_of_the_query)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK); /* no columns, no rows */
    ck_assert_ptr_null(stream_cache_put("t-bad", res));
    ck_assert_ptr_null(stream_cache_get("t-bad"));
    PQclear(res);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stream_cache");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_catalog_lookup_exact_then_ignoring_case);
    tcase_add_test(tc, test_tenant_without_streams);
    tcase_add_test(tc, test_get_replace_forget);
    tcase_add_test(tc, test_not_rows_of_the_query);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
