/* upsert_schema_test.c — unit tests for upsert streams' keys: PRIMARY KEY (...) NOT ENFORCED in
 * pipeline files (dataplane/sql/script.c), "primary_key" in schema JSON
 * (dataplane/schema_json.c) and the key bytes the log compacts by (dataplane/codec/row_key.c). */
#include <check.h>
#include <jansson.h>
#include <string.h>

#include "dataplane/codec/row_key.h"
#include "dataplane/schema_json.h"
#include "dataplane/sql/sql.h"
#include "tests/unit/check_main.h"

START_TEST(test_script_primary_key)
{
    struct sql_script s;
    struct sql_error err;
    const char *text = "CREATE TABLE t (a BIGINT, b STRING, c DOUBLE,\n"
                       "  PRIMARY KEY (c, a) NOT ENFORCED) WITH ('connector' = 'log');\n"
                       "CREATE TABLE u (x BIGINT PRIMARY KEY NOT ENFORCED, y STRING);\n"
                       "CREATE TABLE v (CONSTRAINT pk PRIMARY KEY (y) NOT ENFORCED, y STRING);\n"
                       "CREATE TABLE w (z BIGINT);\n"
                       "INSERT INTO t SELECT * FROM w";
    ck_assert_msg(sql_script_parse(text, &s, &err) == 0, "%s", err.message);
    ck_assert_int_eq(s.nstreams, 4);
    ck_assert_int_eq(s.streams[0].schema.nprimary_key, 2);
    ck_assert_int_eq(s.streams[0].schema.primary_key[0], 2);
    ck_assert_int_eq(s.streams[0].schema.primary_key[1], 0);
    ck_assert_int_eq(s.streams[1].schema.nprimary_key, 1);
    ck_assert_int_eq(s.streams[1].schema.primary_key[0], 0);
    ck_assert_int_eq(s.streams[2].schema.nprimary_key, 1);
    ck_assert_int_eq(s.streams[2].schema.primary_key[0], 0);
    ck_assert_int_eq(s.streams[3].schema.nprimary_key, 0);
    sql_script_free(&s);
}
END_TEST

START_TEST(test_script_primary_key_errors)
{
    static const struct {
        const char *sql, *message;
        int line, column;
    } cases[] = {
        {"CREATE TABLE t (a BIGINT,\n PRIMARY KEY (b) NOT ENFORCED)",
         "PRIMARY KEY column \"b\" is not a column of stream \"t\"", 2, 15},
        {"CREATE TABLE t (a BIGINT, PRIMARY KEY (a))",
         "PRIMARY KEY must be declared NOT ENFORCED (the key is not checked)", 1, 42},
        {"CREATE TABLE t (a BIGINT, PRIMARY KEY (a, a) NOT ENFORCED)", "PRIMARY KEY names column \"a\" twice", 1, 43},
        {"CREATE TABLE t (a BIGINT PRIMARY KEY NOT ENFORCED, PRIMARY KEY (a) NOT ENFORCED)",
         "stream \"t\" has more than one PRIMARY KEY", 1, 52},
        {"CREATE TABLE t (a BIGINT, PRIMARY KEY () NOT ENFORCED)", NULL, 1, 40},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sql_script s;
        struct sql_error err = {0};
        ck_assert_int_eq(sql_script_parse(cases[i].sql, &s, &err), -1);
        if (cases[i].message)
            ck_assert_str_eq(err.message, cases[i].message);
        ck_assert_int_eq(err.line, cases[i].line);
        ck_assert_int_eq(err.column, cases[i].column);
    }
}
END_TEST

START_TEST(test_schema_json_primary_key)
{
    struct schema s;
    char err[256];
    json_t *js = json_loads("{\"fields\":[{\"name\":\"id\",\"type\":\"BIGINT\"},{\"name\":\"n\",\"type\":\"STRING\"}],"
                            "\"primary_key\":[\"n\",\"id\"]}",
                            0, NULL);
    ck_assert_int_eq(schema_from_json(js, &s, "x", err, sizeof err), 0);
    ck_assert_int_eq(s.nprimary_key, 2);
    ck_assert_int_eq(s.primary_key[0], 1);
    ck_assert_int_eq(s.primary_key[1], 0);
    schema_free_fields(&s);
    json_decref(js);
    const char *bad[][2] = {
        {"[\"nope\"]", "stream \"x\": schema.primary_key[0] is not a field of the schema"},
        {"[\"id\",\"id\"]", "stream \"x\": schema.primary_key[1] names a field twice"},
        {"[]", "stream \"x\": schema.primary_key must be an array of 1 to 16 field names"},
        {"\"id\"", "stream \"x\": schema.primary_key must be an array of 1 to 16 field names"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "{\"fields\":[{\"name\":\"id\",\"type\":\"BIGINT\"}],\"primary_key\":%s}",
                 bad[i][0]);
        js = json_loads(text, 0, NULL);
        ck_assert_int_eq(schema_from_json(js, &s, "x", err, sizeof err), -1);
        ck_assert_str_eq(err, bad[i][1]);
        ck_assert_int_eq(s.nprimary_key, 0);
        json_decref(js);
    }
}
END_TEST

/* Equal keys give equal bytes whatever the other fields, field order or escapes; different keys
 * (including null against a value, and "1" against 1 in another field) differ. */
START_TEST(test_row_key_bytes)
{
    struct field fields[] = {{"id", VT_BIGINT}, {"name", VT_STRING}, {"v", VT_DOUBLE}};
    struct schema s = {fields, 3, -1, 0, {1, 0}, 2, 0};
    struct row_key *k = row_key_new(&s);
    ck_assert_ptr_nonnull(k);
    char a[256], b[256];
    size_t alen, blen;
    const char *row = "{\"id\":1,\"name\":\"x\",\"v\":1.5}";
    ck_assert_int_eq(row_key_of(k, row, (uint32_t)strlen(row), a, sizeof a, &alen), 0);
    const char *same = "{\"v\":9,\"name\":\"\\u0078\",\"id\":1}";
    ck_assert_int_eq(row_key_of(k, same, (uint32_t)strlen(same), b, sizeof b, &blen), 0);
    ck_assert(alen == blen && memcmp(a, b, alen) == 0);
    const char *others[] = {"{\"id\":2,\"name\":\"x\"}", "{\"id\":1,\"name\":\"xy\"}", "{\"id\":1}",
                            "{\"id\":null,\"name\":\"x\"}"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        ck_assert_int_eq(row_key_of(k, others[i], (uint32_t)strlen(others[i]), b, sizeof b, &blen), 0);
        ck_assert(alen != blen || memcmp(a, b, alen) != 0);
    }
    ck_assert_int_eq(row_key_of(k, "{\"id\":\"one\"}", 12, b, sizeof b, &blen), -1); /* not a BIGINT */
    ck_assert_int_eq(row_key_of(k, row, (uint32_t)strlen(row), b, 4, &blen), -1);    /* does not fit */
    row_key_free(k);
    row_key_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("upsert_schema");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_script_primary_key);
    tcase_add_test(tc, test_script_primary_key_errors);
    tcase_add_test(tc, test_schema_json_primary_key);
    tcase_add_test(tc, test_row_key_bytes);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
