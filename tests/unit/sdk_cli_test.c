/* sdk_cli_test.c — unit tests for the CLI's modules that need no server: the apply-file reader
 * (typing, positions of errors), the apply comparison, profiles, and YAML output read back.
 * The CLI's modules are not in a library, so their sources are compiled in here (cli.c, which
 * holds main, is not). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sdk/cli_apply.c"
#include "sdk/cli_config.c"
#include "sdk/cli_output.c"
#include "sdk/cli_spec.c"
#include "tests/unit/check_main.h"

static int parse(const char *text, struct cli_spec_set *set, char *errbuf)
{
    return cli_spec_parse("r.yaml", text, strlen(text), set, errbuf, 512);
}

/* ==== apply files ======================================================================== */

START_TEST(test_multi_document_yaml)
{
    const char *text = "# comment\n"
                       "---\n"
                       "kind: pipeline\n"
                       "metadata: {name: p}\n"
                       "spec:\n"
                       "  sql: |\n"
                       "    INSERT INTO b\n"
                       "    SELECT * FROM a\n"
                       "  task_count: 2\n"
                       "---\n"
                       "kind: streams\n"
                       "metadata:\n"
                       "  name: s\n"
                       "spec:\n"
                       "  partitions: 4\n"
                       "  schema:\n" /* the reader checks no deeper than the spec's fields */
                       "    ratio: 0.5\n"
                       "    on: true\n"
                       "    nothing: ~\n"
                       "    quoted: \"1000\"\n"
                       "    tagged: !!str 12\n"
                       "---\n";
    struct cli_spec_set set;
    char errbuf[512] = "";
    ck_assert_msg(parse(text, &set, errbuf) == 0, "%s", errbuf);
    ck_assert_uint_eq(set.count, 2);
    ck_assert_int_eq(set.docs[0].kind, SLUICE_KIND_PIPELINE);
    ck_assert_str_eq(set.docs[0].name, "p");
    ck_assert_int_eq(set.docs[0].line, 3);
    ck_assert_str_eq(json_string_value(json_object_get(set.docs[0].spec, "sql")), "INSERT INTO b\nSELECT * FROM a\n");
    ck_assert_int_eq(json_integer_value(json_object_get(set.docs[0].spec, "task_count")), 2);
    json_t *s = json_object_get(set.docs[1].spec, "schema");
    ck_assert_int_eq(set.docs[1].kind, SLUICE_KIND_STREAM);
    ck_assert(json_is_integer(json_object_get(set.docs[1].spec, "partitions")));
    ck_assert(json_is_real(json_object_get(s, "ratio")));
    ck_assert(json_is_true(json_object_get(s, "on")));
    ck_assert(json_is_null(json_object_get(s, "nothing")));
    ck_assert_str_eq(json_string_value(json_object_get(s, "quoted")), "1000");
    ck_assert_str_eq(json_string_value(json_object_get(s, "tagged")), "12");
    cli_spec_free(&set);
}
END_TEST

/* A function document: its source as a YAML block, kind by its name or alias. */
START_TEST(test_function_document)
{
    const char *text = "kind: function\n"
                       "metadata: {name: count_char}\n"
                       "spec:\n"
                       "  returns: BIGINT\n"
                       "  language: lua\n"
                       "  source: |\n"
                       "    return function(s, c) return 0 end\n"
                       "---\n"
                       "kind: fn\n"
                       "metadata: {name: other}\n"
                       "spec: {source: 'return 1', language: python}\n";
    struct cli_spec_set set;
    char errbuf[512] = "";
    ck_assert_int_eq(parse(text, &set, errbuf), -1);
    ck_assert_msg(strstr(errbuf, "r.yaml:11:") && strstr(errbuf, "language"), "%s", errbuf);
    const char *good = "kind: function\n"
                       "metadata: {name: count_char}\n"
                       "spec:\n"
                       "  returns: BIGINT\n"
                       "  source: |\n"
                       "    return function(s, c) return 0 end\n";
    ck_assert_msg(parse(good, &set, errbuf) == 0, "%s", errbuf);
    ck_assert_uint_eq(set.count, 1);
    ck_assert_int_eq(set.docs[0].kind, SLUICE_KIND_FUNCTION);
    ck_assert_str_eq(sluice_kind_name(set.docs[0].kind), "function");
    ck_assert_str_eq(json_string_value(json_object_get(set.docs[0].spec, "source")),
                     "return function(s, c) return 0 end\n");
    cli_spec_free(&set);
}
END_TEST

START_TEST(test_json_list_of_resources)
{
    const char *text = "[{\"kind\":\"secret\",\"metadata\":{\"name\":\"k\"},\"spec\":{\"value\":\"v\"}},"
                       " {\"kind\":\"stream\",\"metadata\":{\"name\":\"s\"},\"spec\":{\"name\":\"s\"}}]";
    struct cli_spec_set set;
    char errbuf[512] = "";
    ck_assert_msg(parse(text, &set, errbuf) == 0, "%s", errbuf);
    ck_assert_uint_eq(set.count, 2);
    ck_assert_int_eq(set.docs[0].kind, SLUICE_KIND_SECRET);
    ck_assert_ptr_null(json_object_get(set.docs[1].spec, "name")); /* the name is metadata's */
    cli_spec_free(&set);
}
END_TEST

struct bad_file {
    const char *text;
    const char *error; /* expected message, "r.yaml:LINE:COL: ..." */
};

static const struct bad_file bad_files[] = {
    {"kind: stream\nmetadata: {name: a}\nspec: {x: [1, 2}\n", "r.yaml:3:16: did not find expected ',' or ']'"},
    {"kind: stream\nmetadata: {name: a}\nspec: {}\n---\nkind: widget\nmetadata: {name: w}\nspec: {}\n",
     "r.yaml:5:7: unknown kind \"widget\"; expected stream, connection, pipeline, secret or function"},
    {"kind: api-key\nmetadata: {name: a}\nspec: {}\n", "r.yaml:1:7: unknown kind \"api-key\""},
    {"metadata: {name: a}\nspec: {}\n", "r.yaml:1:1: missing \"kind\""},
    {"kind: stream\nspec: {}\n", "r.yaml:1:1: missing metadata.name"},
    {"kind: stream\nmetadata:\n  title: a\nspec: {}\n", "r.yaml:3:3: missing metadata.name"},
    {"kind: stream\nmetadata: {name: a}\nspec: [1]\n", "r.yaml:3:7: stream \"a\": \"spec\" must be a mapping"},
    {"kind: stream\nmetadata: {name: a}\nspec: {name: b}\n", "r.yaml:3:7: spec.name differs"},
    {"kind: stream\nmetadata: {name: a}\nspec: {}\nstatus: {}\n", "r.yaml:4:9: unknown field \"status\""},
    {"kind: stream\nkind: stream\n", "r.yaml:2:1: duplicate key \"kind\""},
    {"kind: stream\nmetadata: {name: a}\nspec: {}\n---\nkind: stream\nmetadata: {name: a}\nspec: {}\n",
     "r.yaml:5:1: stream \"a\" is defined twice (first at line 1)"},
    {"kind: stream\nmetadata: &m {name: a}\nspec: *m\n", "r.yaml:3:7: aliases (*m) are not supported"},
    {"- 1\n", "r.yaml:1:3: a resource must be a mapping"},
    {"kind: stream\n\tmetadata: {}\n", "r.yaml:2:1: found a tab character"},
    /* a flow sequence left open: the error is where its ',' or ']' was due, not where it began */
    {"kind: stream\nmetadata:\n  name: s\nspec:\n  schema: {fields: [\n    {name: a, type: BIGINT}\n  partitions: 2\n",
     "r.yaml:7:3: did not find expected ',' or ']'"},
};

START_TEST(test_bad_files_point_at_the_line)
{
    const struct bad_file *b = &bad_files[_i];
    struct cli_spec_set set;
    char errbuf[512] = "";
    ck_assert_int_eq(parse(b->text, &set, errbuf), -1);
    ck_assert_msg(strncmp(errbuf, b->error, strlen(b->error)) == 0, "got [%s], expected [%s...]", errbuf, b->error);
    ck_assert_uint_eq(set.count, 0);
}
END_TEST

/* Every problem of a file is reported, each with its place and document, and nothing is
 * returned; desired_state is taken off the spec of a connection or pipeline. */
START_TEST(test_every_problem_is_reported)
{
    const char *text = "kind: stream\n"                                                 /* 1 */
                       "metadata: {name: a}\n"                                          /* 2 */
                       "spec: {partitions: many, schema: {}}\n"                         /* 3 */
                       "---\n"                                                          /* 4 */
                       "kind: connection\n"                                             /* 5 */
                       "metadata: {name: c}\n"                                          /* 6 */
                       "spec:\n"                                                        /* 7 */
                       "  connector: datagen\n"                                         /* 8 */
                       "  properties: {rate: 1000}\n"                                   /* 9 */
                       "  desired_state: started\n"                                     /* 10 */
                       "---\n"                                                          /* 11 */
                       "kind: pipeline\n"                                               /* 12 */
                       "metadata: {name: p}\n"                                          /* 13 */
                       "spec: {sql: 'INSERT INTO b SELECT * FROM a', paralelism: 2}\n"; /* 14 */
    struct cli_spec_set set;
    char errbuf[2048] = "";
    ck_assert_int_eq(parse(text, &set, errbuf), -1);
    ck_assert_uint_eq(set.count, 0);
    const char *want[] = {
        "r.yaml:3:20: stream field \"partitions\" must be a whole number from 1 to 256 (document 1)",
        "r.yaml:9:22: connection field \"properties.rate\" must be a string; quote it (document 2)",
        "r.yaml:10:18: connection field \"desired_state\" must be running or stopped (document 2)",
        "r.yaml:14:58: unknown field \"paralelism\" in the spec of a pipeline, whose fields are description, sql, "
        "error_policy, dead_letter_stream, task_count, task_size and desired_state (document 3)",
    };
    char expected[2048] = "";
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s%s", i ? "\n" : "", want[i]);
    ck_assert_str_eq(errbuf, expected);
}
END_TEST

START_TEST(test_desired_state_leaves_the_spec)
{
    const char *text = "kind: pipeline\nmetadata: {name: p}\nspec: {sql: x, desired_state: running}\n---\n"
                       "kind: connection\nmetadata: {name: c}\nspec: {connector: http, desired_state: stopped}\n---\n"
                       "kind: stream\nmetadata: {name: s}\nspec: {schema: {}}\n";
    struct cli_spec_set set;
    char errbuf[1024] = "";
    ck_assert_msg(parse(text, &set, errbuf) == 0, "%s", errbuf);
    ck_assert_uint_eq(set.count, 3);
    ck_assert_str_eq(set.docs[0].desired_state, "running");
    ck_assert_ptr_null(json_object_get(set.docs[0].spec, "desired_state"));
    ck_assert_str_eq(set.docs[1].desired_state, "stopped");
    ck_assert_ptr_null(set.docs[2].desired_state);
    ck_assert_int_eq(set.docs[2].index, 3);
    ck_assert_int_eq(set.docs[2].line, 9);
    ck_assert_str_eq(set.label, "r.yaml");
    cli_spec_free(&set);
    /* a stream has no desired state */
    ck_assert_int_eq(
        parse("kind: stream\nmetadata: {name: s}\nspec: {schema: {}, desired_state: running}\n", &set, errbuf), -1);
    ck_assert_ptr_nonnull(strstr(errbuf, "r.yaml:3:35: unknown field \"desired_state\" in the spec of a stream"));
}
END_TEST

struct sql_case {
    const char *sql;
    const char *streams; /* the names found, comma separated */
};

static const struct sql_case sql_cases[] = {
    {"INSERT INTO out SELECT a FROM input WHERE a > 1", "out,input"},
    {"insert into \"Out\" select * from `in` -- FROM commented\n /* FROM x */", "Out,in"},
    {"INSERT INTO w SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' "
     "SECOND)) GROUP BY window_start",
     "w,bids"},
    {"INSERT INTO o SELECT EXTRACT(HOUR FROM ts), TRIM(BOTH ' ' FROM name) FROM src", "o,src"},
    {"INSERT INTO o SELECT a.x FROM a JOIN b ON a.k = b.k LEFT JOIN c ON c.k = a.k", "o,a,b,c"},
    {"WITH recent AS (SELECT * FROM events) INSERT INTO o SELECT * FROM recent", "o"},
    {"INSERT INTO o SELECT 'FROM nowhere' AS s FROM src", "o,src"},
    {"INSERT INTO o SELECT * FROM cat.db.t", "o"},
    {"INSERT INTO o SELECT * FROM src UNION ALL SELECT * FROM src", "o,src"},
    {"", ""},
};

START_TEST(test_sql_stream_names)
{
    const struct sql_case *c = &sql_cases[_i];
    json_t *names = cli_apply_sql_streams(c->sql);
    char got[256] = "";
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
    {
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? "," : "", json_string_value(v));
    }
    ck_assert_msg(strcmp(got, c->streams) == 0, "%s: got [%s], expected [%s]", c->sql, got, c->streams);
    json_decref(names);
}
END_TEST

START_TEST(test_read_missing_file)
{
    struct cli_spec_set set;
    char errbuf[512];
    ck_assert_int_eq(cli_spec_read("/nonexistent/r.yaml", &set, errbuf, sizeof errbuf), -1);
    ck_assert_str_eq(errbuf, "cannot open /nonexistent/r.yaml: No such file or directory");
}
END_TEST

/* ==== apply comparison =================================================================== */

START_TEST(test_apply_matches_compares_only_spec_fields)
{
    json_t *have = json_loads("{\"id\":\"x\",\"partitions\":4,\"ratio\":1.0,\"schema\":{\"fields\":"
                              "[{\"name\":\"a\",\"type\":\"BIGINT\",\"extra\":1}],\"watermark\":null},"
                              "\"description\":null}",
                              0, NULL);
    const char *same[] = {
        "{}",
        "{\"partitions\":4}",
        "{\"partitions\":4.0, \"ratio\":1}",
        "{\"schema\":{\"fields\":[{\"name\":\"a\",\"type\":\"BIGINT\"}]}}",
        "{\"schema\":{\"watermark\":null}, \"description\":null, \"missing\":null}",
    };
    const char *different[] = {
        "{\"partitions\":5}",
        "{\"partitions\":\"4\"}",
        "{\"schema\":{\"fields\":[]}}",
        "{\"schema\":{\"fields\":[{\"name\":\"a\",\"type\":\"INT\"}]}}",
        "{\"schema\":{\"fields\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
        "{\"description\":\"now\"}",
        "{\"missing\":1}",
        "{\"schema\":[]}",
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        json_t *want = json_loads(same[i], 0, NULL);
        ck_assert_msg(cli_apply_matches(want, have), "%s should match", same[i]);
        json_decref(want);
    }
    for (size_t i = 0; i < sizeof different / sizeof different[0]; i++) {
        json_t *want = json_loads(different[i], 0, NULL);
        ck_assert_msg(!cli_apply_matches(want, have), "%s should differ", different[i]);
        json_decref(want);
    }
    json_decref(have);
}
END_TEST

START_TEST(test_changed_fields_skip_secret_values)
{
    json_t *spec = json_pack("{s:s, s:s}", "value", "new", "description", "d");
    json_t *current = json_pack("{s:s, s:s}", "name", "k", "description", "d");
    json_t *patch = changed_fields(SLUICE_KIND_SECRET, spec, current);
    ck_assert_uint_eq(json_object_size(patch), 0);
    json_decref(patch);
    patch = changed_fields(SLUICE_KIND_STREAM, spec, current);
    ck_assert_uint_eq(json_object_size(patch), 1);
    ck_assert_str_eq(json_string_value(json_object_get(patch, "value")), "new");
    json_decref(patch);
    json_decref(spec);
    json_decref(current);
}
END_TEST

/* ==== profiles =========================================================================== */

static char home[256];

static void setup_home(void)
{
    snprintf(home, sizeof home, "/tmp/sdk_cli_test.%ld", (long)getpid());
    mkdir(home, 0700);
    setenv("HOME", home, 1);
    unsetenv("XDG_CONFIG_HOME");
}

static void teardown_home(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_profiles_round_trip)
{
    char errbuf[512], path[4096];
    struct cli_profile a = {.api_url = "https://a:1", .api_key = "sk_a", .ca_file = "/ca.pem"};
    struct cli_profile b = {.api_url = "https://b:2", .api_key = "sk_b", .insecure = true};
    ck_assert_int_eq(cli_profile_save("default", &a, errbuf, sizeof errbuf), 0);
    ck_assert_int_eq(cli_profile_save("staging", &b, errbuf, sizeof errbuf), 0);
    a.api_key = "sk_a2"; /* replacing one profile keeps the other */
    ck_assert_int_eq(cli_profile_save("default", &a, errbuf, sizeof errbuf), 0);
    ck_assert_int_eq(cli_config_path(path, sizeof path), 0);
    char expected[300];
    snprintf(expected, sizeof expected, "%s/.config/sluice/config", home);
    ck_assert_str_eq(path, expected);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);

    struct cli_profile p;
    ck_assert_int_eq(cli_profile_load("default", &p, errbuf, sizeof errbuf), 0);
    ck_assert_str_eq(p.api_url, "https://a:1");
    ck_assert_str_eq(p.api_key, "sk_a2");
    ck_assert_str_eq(p.ca_file, "/ca.pem");
    ck_assert(!p.insecure);
    cli_profile_clear(&p);
    ck_assert_int_eq(cli_profile_load("staging", &p, errbuf, sizeof errbuf), 0);
    ck_assert_str_eq(p.api_key, "sk_b");
    ck_assert_ptr_null(p.ca_file);
    ck_assert(p.insecure);
    cli_profile_clear(&p);
    ck_assert_int_eq(cli_profile_load("nope", &p, errbuf, sizeof errbuf), 0);
    ck_assert_ptr_null(p.api_url);
}
END_TEST

START_TEST(test_profiles_xdg_and_malformed)
{
    char xdg[300], path[4096], errbuf[512];
    snprintf(xdg, sizeof xdg, "%s/xdg", home);
    setenv("XDG_CONFIG_HOME", xdg, 1);
    ck_assert_int_eq(cli_config_path(path, sizeof path), 0);
    char expected[400];
    snprintf(expected, sizeof expected, "%s/sluice/config", xdg);
    ck_assert_str_eq(path, expected);
    struct cli_profile p = {0};
    ck_assert_int_eq(cli_profile_load("default", &p, errbuf, sizeof errbuf), 0); /* no file yet */
    struct cli_profile a = {.api_url = "https://x"};
    ck_assert_int_eq(cli_profile_save("default", &a, errbuf, sizeof errbuf), 0);
    FILE *f = fopen(path, "a");
    fputs("this line is not a setting\n", f);
    fclose(f);
    ck_assert_int_eq(cli_profile_load("default", &p, errbuf, sizeof errbuf), -1);
    ck_assert_ptr_nonnull(strstr(errbuf, "config:5: expected key = value"));
    unsetenv("XDG_CONFIG_HOME");
}
END_TEST

/* ==== YAML output ======================================================================== */

START_TEST(test_yaml_output_reads_back_the_same)
{
    json_t *v = json_loads("{\"name\":\"x\",\"n\":4,\"r\":0.5,\"t\":true,\"z\":null,\"s\":\"1000\","
                           "\"w\":\"yes\",\"e\":\"\",\"sql\":\"SELECT 1\\nFROM a\\n\",\"colon\":\"a: b\","
                           "\"list\":[{\"k\":\"v\"},[1,2],\"#hash\"],\"empty\":{},\"none\":[]}",
                           0, NULL);
    ck_assert_ptr_nonnull(v);
    char path[] = "/tmp/sdk_cli_yaml.XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    ck_assert_int_eq(cli_write_yaml(f, v), 0);
    fclose(f);
    char errbuf[512] = "";
    json_t *back = cli_spec_read_value(path, errbuf, sizeof errbuf);
    unlink(path);
    ck_assert_msg(back != NULL, "%s", errbuf);
    char *a = json_dumps(v, JSON_SORT_KEYS), *b = json_dumps(back, JSON_SORT_KEYS);
    ck_assert_str_eq(b, a);
    free(a);
    free(b);
    json_decref(back);
    json_decref(v);
}
END_TEST

/* A DOUBLE cell is the shortest text that reads back as the same number, never in exponent
 * form while it fits 17 digits (0.908 * 2186519 is 1985359.252, which %g showed as 1.98536e+06). */
START_TEST(test_double_cells_read_back)
{
    static const struct {
        double value;
        const char *text;
    } cases[] = {
        {0.908 * 2186519, "1985359.252"},
        {0.908 * 95232, "86470.656"},
        {0.1, "0.1"},
        {100.0, "100"},
        {-2.5, "-2.5"},
        {1e300, "1e+300"},
        {2e16, "20000000000000000"},
        {1.0 / 3, "0.3333333333333333"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = json_real(cases[i].value);
        char *text = cell_text(v);
        ck_assert_str_eq(text, cases[i].text);
        free(text);
        json_decref(v);
    }
}
END_TEST

/* -o json: laid out as jansson's JSON_INDENT(2), reals in their shortest exact form, and it
 * reads back as the same value. */
START_TEST(test_json_output_keeps_short_reals)
{
    json_t *v = json_pack("{s:f, s:f, s:[i, s, b, n], s:{}, s:[], s:{s:s}}", "usd", 0.908 * 2186519, "whole", 100.0,
                          "list", 7, "a\"b", 1, "empty", "none", "nested", "k", "v");
    ck_assert_ptr_nonnull(v);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    write_json(f, v, 0);
    fclose(f);
    ck_assert_str_eq(text, "{\n  \"usd\": 1985359.252,\n  \"whole\": 100.0,\n  \"list\": [\n    7,\n    \"a\\\"b\",\n"
                           "    true,\n    null\n  ],\n  \"empty\": {},\n  \"none\": [],\n  \"nested\": {\n"
                           "    \"k\": \"v\"\n  }\n}");
    json_t *back = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(back);
    ck_assert(json_equal(back, v));
    json_decref(back);
    free(text);
    json_decref(v);
}
END_TEST

START_TEST(test_output_format_names)
{
    enum cli_output o;
    ck_assert_int_eq(cli_output_parse("yaml", &o), 0);
    ck_assert_int_eq(o, CLI_OUT_YAML);
    ck_assert_int_eq(cli_output_parse("xml", &o), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sdk_cli");
    TCase *tc = tcase_create("spec");
    tcase_add_test(tc, test_multi_document_yaml);
    tcase_add_test(tc, test_function_document);
    tcase_add_test(tc, test_json_list_of_resources);
    tcase_add_loop_test(tc, test_bad_files_point_at_the_line, 0, (int)(sizeof bad_files / sizeof bad_files[0]));
    tcase_add_test(tc, test_every_problem_is_reported);
    tcase_add_test(tc, test_desired_state_leaves_the_spec);
    tcase_add_loop_test(tc, test_sql_stream_names, 0, (int)(sizeof sql_cases / sizeof sql_cases[0]));
    tcase_add_test(tc, test_read_missing_file);
    tcase_add_test(tc, test_apply_matches_compares_only_spec_fields);
    tcase_add_test(tc, test_changed_fields_skip_secret_values);
    tcase_add_test(tc, test_yaml_output_reads_back_the_same);
    tcase_add_test(tc, test_output_format_names);
    tcase_add_test(tc, test_double_cells_read_back);
    tcase_add_test(tc, test_json_output_keeps_short_reals);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("profiles");
    tcase_add_checked_fixture(tp, setup_home, teardown_home);
    tcase_add_test(tp, test_profiles_round_trip);
    tcase_add_test(tp, test_profiles_xdg_and_malformed);
    suite_add_tcase(s, tp);
    return check_run_suite(s);
}
