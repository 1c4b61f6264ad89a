/* task_spec_test.c — unit tests for common/task_spec: a spec survives the trip through JSON
 * with every field, and a bad spec is refused with a message naming the field. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/task_spec.h"
#include "tests/unit/check_main.h"

static char *dup(const char *s)
{
    char *d = strdup(s);
    ck_assert_ptr_nonnull(d);
    return d;
}

static struct task_spec_property *props(size_t n, const char *const *kv)
{
    struct task_spec_property *p = calloc(n, sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (struct task_spec_property){dup(kv[2 * i]), dup(kv[2 * i + 1])};
    return p;
}

/* A spec of kind with every field set to something other than its default. */
static void full_spec(struct task_spec *s, enum task_spec_kind kind)
{
    memset(s, 0, sizeof *s);
    s->task_id = dup("task-1");
    s->tenant_id = dup("tenant-1");
    s->kind = kind;
    s->task_index = 2;
    s->task_count = 3;
    s->generation = 1LL << 40;
    s->bounded = true;
    s->data_dir = dup("/data/tasks/task-1");
    s->checkpoint_dir = dup("/data/checkpoints/r1");
    s->seccomp = true;
    s->sql = dup("INSERT INTO out SELECT * FROM bids");
    s->error_policy = dup("dead_letter");
    s->dead_letter_stream = dup("dlq");
    s->connector.name = dup("kafka");
    s->connector.type = dup("sink");
    s->connector.stream = dup("orders");
    s->connector.properties = props(2, (const char *const[]){"topic", "t", "events", "1000"});
    s->connector.nproperties = 2;
    s->secrets = props(1, (const char *const[]){"password", "hunter2"});
    s->nsecrets = 1;
    s->streams = calloc(2, sizeof *s->streams);
    ck_assert_ptr_nonnull(s->streams);
    s->nstreams = 2;
    for (int i = 0; i < 2; i++) {
        s->streams[i].id = dup(i ? "id-b" : "id-a");
        s->streams[i].name = dup(i ? "b" : "a");
        s->streams[i].dir = dup(i ? "/d/b" : "/d/a");
        s->streams[i].schema = json_pack("{s:[{s:s,s:s}]}", "fields", "name", i ? "x" : "y", "type", "BIGINT");
        s->streams[i].partitions = 4 + i;
    }
    s->storage_quota_bytes = 5ull << 30;
    s->storage_dir = dup("/data/tenants/t/streams");
    s->functions = calloc(2, sizeof *s->functions);
    ck_assert_ptr_nonnull(s->functions);
    s->nfunctions = 2;
    s->functions[0] = (struct task_spec_function){dup("count_char"), dup("BIGINT"),
                                                  dup("return function(s, c)\n  return 0 -- 'quoted'\nend")};
    s->functions[1] = (struct task_spec_function){dup("total"), dup("STRING"), dup("")};
    s->lookups = calloc(1, sizeof *s->lookups);
    ck_assert_ptr_nonnull(s->lookups);
    s->nlookups = 1;
    s->lookups[0] = (struct task_spec_lookup){
        dup("crm_customers"), dup("postgres"), json_pack("{s:[{s:s,s:s}]}", "fields", "name", "id", "type", "BIGINT"),
        props(3, (const char *const[]){"url", "postgresql://crm@db/crm", "table", "customers", "password", "pw"}), 3};
    s->task_size = dup("S");
    s->state_max_bytes = 128ull << 20;
}

static void str_eq(const char *a, const char *b)
{
    if (!a || !b)
        ck_assert_ptr_eq(a, b);
    else
        ck_assert_str_eq(a, b);
}

static void props_eq(const struct task_spec_property *a, size_t na, const struct task_spec_property *b, size_t nb)
{
    ck_assert_uint_eq(na, nb);
    for (size_t i = 0; i < na; i++) {
        str_eq(a[i].key, b[i].key);
        str_eq(a[i].value, b[i].value);
    }
}

/* Every field of a equals b's. */
static void spec_eq(const struct task_spec *a, const struct task_spec *b)
{
    str_eq(a->task_id, b->task_id);
    str_eq(a->tenant_id, b->tenant_id);
    ck_assert_int_eq(a->kind, b->kind);
    ck_assert_int_eq(a->task_index, b->task_index);
    ck_assert_int_eq(a->task_count, b->task_count);
    ck_assert(a->generation == b->generation);
    ck_assert(a->bounded == b->bounded);
    str_eq(a->data_dir, b->data_dir);
    str_eq(a->checkpoint_dir, b->checkpoint_dir);
    ck_assert(a->seccomp == b->seccomp);
    str_eq(a->sql, b->sql);
    str_eq(a->error_policy, b->error_policy);
    str_eq(a->dead_letter_stream, b->dead_letter_stream);
    str_eq(a->connector.name, b->connector.name);
    str_eq(a->connector.type, b->connector.type);
    str_eq(a->connector.stream, b->connector.stream);
    props_eq(a->connector.properties, a->connector.nproperties, b->connector.properties, b->connector.nproperties);
    props_eq(a->secrets, a->nsecrets, b->secrets, b->nsecrets);
    ck_assert_uint_eq(a->nstreams, b->nstreams);
    for (size_t i = 0; i < a->nstreams; i++) {
        str_eq(a->streams[i].id, b->streams[i].id);
        str_eq(a->streams[i].name, b->streams[i].name);
        str_eq(a->streams[i].dir, b->streams[i].dir);
        ck_assert(json_equal(a->streams[i].schema, b->streams[i].schema));
        ck_assert_int_eq(a->streams[i].partitions, b->streams[i].partitions);
    }
    ck_assert(a->storage_quota_bytes == b->storage_quota_bytes);
    str_eq(a->storage_dir, b->storage_dir);
    ck_assert_uint_eq(a->nfunctions, b->nfunctions);
    for (size_t i = 0; i < a->nfunctions; i++) {
        str_eq(a->functions[i].name, b->functions[i].name);
        str_eq(a->functions[i].returns, b->functions[i].returns);
        str_eq(a->functions[i].source, b->functions[i].source);
    }
    ck_assert_uint_eq(a->nlookups, b->nlookups);
    for (size_t i = 0; i < a->nlookups; i++) {
        str_eq(a->lookups[i].name, b->lookups[i].name);
        str_eq(a->lookups[i].connector, b->lookups[i].connector);
        ck_assert(json_equal(a->lookups[i].schema, b->lookups[i].schema));
        props_eq(a->lookups[i].properties, a->lookups[i].nproperties, b->lookups[i].properties,
                 b->lookups[i].nproperties);
    }
    str_eq(a->task_size, b->task_size);
    ck_assert(a->state_max_bytes == b->state_max_bytes);
}

/* spec → JSON → text → JSON → spec */
static void round_trip(const struct task_spec *in, struct task_spec *out)
{
    json_t *js = task_spec_to_json(in);
    ck_assert_ptr_nonnull(js);
    char *text = json_dumps(js, JSON_COMPACT);
    json_decref(js);
    ck_assert_ptr_nonnull(text);
    json_error_t je;
    json_t *back = json_loads(text, 0, &je);
    free(text);
    ck_assert_ptr_nonnull(back);
    char err[512] = "";
    ck_assert_msg(task_spec_from_json(back, out, err, sizeof err) == 0, "%s", err);
    json_decref(back);
}

START_TEST(test_round_trip_connection)
{
    struct task_spec in, out;
    full_spec(&in, TASK_SPEC_CONNECTION);
    round_trip(&in, &out);
    spec_eq(&in, &out);
    task_spec_free(&in);
    task_spec_free(&out);
    task_spec_free(NULL);
}
END_TEST

START_TEST(test_round_trip_pipeline)
{
    struct task_spec in, out;
    full_spec(&in, TASK_SPEC_PIPELINE);
    round_trip(&in, &out);
    spec_eq(&in, &out);
    task_spec_free(&in);
    task_spec_free(&out);
}
END_TEST

/* The fewest fields: the defaults. */
START_TEST(test_defaults)
{
    json_t *js = json_loads("{\"task_id\":\"t\",\"kind\":\"pipeline\",\"data_dir\":\"d\",\"sql\":\"x\","
                            "\"streams\":[{\"name\":\"s\",\"dir\":\"s\",\"schema\":{}}]}",
                            0, NULL);
    struct task_spec s;
    char err[512] = "";
    ck_assert_msg(task_spec_from_json(js, &s, err, sizeof err) == 0, "%s", err);
    json_decref(js);
    ck_assert_int_eq(s.task_index, 0);
    ck_assert_int_eq(s.task_count, 1);
    ck_assert(s.generation == 0 && !s.bounded && !s.seccomp);
    ck_assert_ptr_null(s.tenant_id);
    ck_assert_ptr_null(s.checkpoint_dir);
    ck_assert_ptr_null(s.error_policy);
    ck_assert_ptr_null(s.storage_dir);
    ck_assert_uint_eq(s.nfunctions, 0);
    ck_assert_uint_eq(s.nlookups, 0);
    ck_assert_ptr_null(s.task_size);
    ck_assert(s.state_max_bytes == 0);
    ck_assert_ptr_null(s.streams[0].id);
    ck_assert_int_eq(s.streams[0].partitions, 0);
    task_spec_free(&s);
}
END_TEST

/* Numbers and booleans among the connector's properties become their JSON text. */
START_TEST(test_property_text)
{
    json_t *js =
        json_loads("{\"task_id\":\"t\",\"kind\":\"connection\",\"data_dir\":\"d\","
                   "\"connector\":{\"name\":\"datagen\",\"properties\":{\"events\":1000,\"ok\":true,"
                   "\"rate\":1.5,\"kind\":\"bid\"}},\"streams\":[{\"name\":\"s\",\"dir\":\"s\",\"schema\":{}}]}",
                   0, NULL);
    struct task_spec s;
    char err[512] = "";
    ck_assert_msg(task_spec_from_json(js, &s, err, sizeof err) == 0, "%s", err);
    json_decref(js);
    ck_assert_uint_eq(s.connector.nproperties, 4);
    const char *want[][2] = {{"events", "1000"}, {"ok", "true"}, {"rate", "1.5"}, {"kind", "bid"}};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_str_eq(s.connector.properties[i].key, want[i][0]);
        ck_assert_str_eq(s.connector.properties[i].value, want[i][1]);
    }
    ck_assert_ptr_null(s.connector.type);
    ck_assert_uint_eq(s.nsecrets, 0);
    task_spec_free(&s);
}
END_TEST

/* A valid pipeline spec with one change applied by jansson; returns the error (or ""). */
static const char *bad(const char *key, json_t *value, char *err, size_t errsz)
{
    json_t *js = json_loads("{\"task_id\":\"t\",\"kind\":\"pipeline\",\"data_dir\":\"d\",\"sql\":\"x\","
                            "\"connector\":{\"name\":\"datagen\"},"
                            "\"streams\":[{\"name\":\"s\",\"dir\":\"s\",\"schema\":{}}]}",
                            0, NULL);
    ck_assert_ptr_nonnull(js);
    if (value)
        json_object_set_new(js, key, value);
    else
        json_object_del(js, key);
    struct task_spec s;
    err[0] = '\0';
    int rc = task_spec_from_json(js, &s, err, errsz);
    json_decref(js);
    if (rc == 0) {
        task_spec_free(&s);
        return "";
    }
    ck_assert_int_eq(rc, -1);
    ck_assert_ptr_null(s.task_id); /* left empty */
    ck_assert_ptr_null(s.streams);
    return err;
}

#define ASSERT_BAD(key, value, want)                                                                                   \
    do {                                                                                                               \
        char e_[512];                                                                                                  \
        const char *got_ = bad(key, value, e_, sizeof e_);                                                             \
        ck_assert_msg(strstr(got_, want) != NULL, "%s: got \"%s\", want \"%s\"", key, got_, want);                     \
    } while (0)

START_TEST(test_missing_fields)
{
    ASSERT_BAD("task_id", NULL, "missing field \"task_id\"");
    ASSERT_BAD("kind", NULL, "missing field \"kind\"");
    ASSERT_BAD("data_dir", NULL, "missing field \"data_dir\"");
    ASSERT_BAD("streams", NULL, "missing field \"streams\"");
    ASSERT_BAD("sql", NULL, "a pipeline task needs sql");
    ASSERT_BAD("streams", json_pack("[{s:s,s:{}}]", "name", "s", "schema"),
               "missing field \"dir\" (at streams[0].dir)");
    ASSERT_BAD("streams", json_pack("[{s:s,s:s}]", "name", "s", "dir", "d"), "missing field \"schema\"");
    ASSERT_BAD("storage", json_pack("{s:I}", "quota_bytes", (json_int_t)5), "missing field \"dir\" (at storage.dir)");
    ASSERT_BAD("limits", json_pack("{s:s}", "task_size", "S"),
               "missing field \"state_max_bytes\" (at limits.state_max_bytes)");
    char e[512];
    ck_assert_str_eq(bad("kind", json_string("connection"), e, sizeof e), "");
    ASSERT_BAD("connector", json_pack("{s:s}", "type", "source"), "missing field \"name\" (at connector.name)");
    ASSERT_BAD("functions", json_pack("[{s:s,s:s}]", "name", "f", "returns", "BIGINT"),
               "missing field \"source\" (at functions[0].source)");
    ASSERT_BAD("lookups", json_pack("[{s:s,s:s,s:{}}]", "name", "t", "connector", "postgres", "schema"),
               "missing field \"properties\" (at lookups[0].properties)");
}
END_TEST

START_TEST(test_ill_typed_fields)
{
    ASSERT_BAD("task_id", json_integer(5), "field \"task_id\" must be a string");
    ASSERT_BAD("kind", json_string("batch"), "field \"kind\" must be one of \"pipeline\", \"connection\"");
    ASSERT_BAD("task_index", json_string("0"), "field \"task_index\" must be an integer");
    ASSERT_BAD("task_count", json_integer(0), "field \"task_count\" must be between 1 and");
    ASSERT_BAD("bounded", json_string("yes"), "field \"bounded\" must be a boolean");
    ASSERT_BAD("streams", json_object(), "field \"streams\" must be an array");
    ASSERT_BAD("streams", json_pack("[i]", 1), "streams[0] must be a JSON object");
    ASSERT_BAD("streams", json_pack("[{s:s,s:s,s:{},s:s}]", "name", "s", "dir", "d", "schema", "partitions", "2"),
               "field \"partitions\" must be an integer (at streams[0].partitions)");
    ASSERT_BAD("sandbox", json_pack("{s:i}", "seccomp", 1), "field \"seccomp\" must be a boolean (at sandbox.seccomp)");
    ASSERT_BAD("storage", json_pack("{s:s,s:s}", "quota_bytes", "5", "dir", "d"), "field \"quota_bytes\" must be");
    ASSERT_BAD("limits", json_pack("{s:s,s:I}", "task_size", "S", "state_max_bytes", (json_int_t)0),
               "field \"state_max_bytes\" must be between 1 and");
    ASSERT_BAD("secrets", json_pack("{s:i}", "password", 5), "field \"secrets.password\" must be a string");
    ASSERT_BAD("data_dir", json_null(), "field \"data_dir\" must not be null");
    ASSERT_BAD("functions", json_object(), "field \"functions\" must be an array");
    ASSERT_BAD("functions", json_pack("[{s:s,s:s,s:i}]", "name", "f", "returns", "BIGINT", "source", 5),
               "field \"source\" must be a string (at functions[0].source)");
}
END_TEST

START_TEST(test_unknown_fields)
{
    ASSERT_BAD("priority", json_integer(1), "unknown field \"priority\"");
    ASSERT_BAD("streams", json_pack("[{s:s,s:s,s:{},s:b}]", "name", "s", "dir", "d", "schema", "compacted", 1),
               "unknown field \"compacted\" (at streams[0].compacted)");
    ASSERT_BAD("sandbox", json_pack("{s:b}", "landlock", 1), "unknown field \"landlock\" (at sandbox.landlock)");
    ASSERT_BAD("connector", json_pack("{s:s,s:s}", "name", "x", "mode", "y"),
               "unknown field \"mode\" (at connector.mode)");
    ASSERT_BAD("lookups",
               json_pack("[{s:s,s:s,s:{},s:{},s:s}]", "name", "t", "connector", "postgres", "schema", "properties",
                         "dir", "d"),
               "unknown field \"dir\" (at lookups[0].dir)");
}
END_TEST

/* What a connection needs beyond the common fields, and what its properties may hold. */
START_TEST(test_connection_errors)
{
    const char *base = "{\"task_id\":\"t\",\"kind\":\"connection\",\"data_dir\":\"d\",%s}";
    const struct {
        const char *rest, *want;
    } cases[] = {
        {"\"streams\":[{\"name\":\"s\",\"dir\":\"s\",\"schema\":{}}]", "a connection task needs a connector"},
        {"\"connector\":{\"name\":\"datagen\"},\"streams\":[]", "a connection task needs its stream"},
        {"\"connector\":{\"name\":\"datagen\",\"properties\":{\"a\":[1]}},"
         "\"streams\":[{\"name\":\"s\",\"dir\":\"s\",\"schema\":{}}]",
         "property \"a\" must be a string, a number or a boolean (at connector.properties.a)"},
        {"\"connector\":{\"name\":\"datagen\",\"properties\":[]},"
         "\"streams\":[{\"name\":\"s\",\"dir\":\"s\",\"schema\":{}}]",
         "field \"properties\" must be an object (at connector.properties)"},
        {"\"connector\":{\"name\":\"datagen\",\"extra\":1},\"streams\":[{\"name\":\"s\",\"dir\":\"s\",\"schema\":{}}]",
         "unknown field \"extra\" (at connector.extra)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024], err[512] = "";
        snprintf(text, sizeof text, base, cases[i].rest);
        json_t *js = json_loads(text, 0, NULL);
        ck_assert_msg(js != NULL, "bad test JSON %s", text);
        struct task_spec s;
        ck_assert_int_eq(task_spec_from_json(js, &s, err, sizeof err), -1);
        json_decref(js);
        ck_assert_msg(strstr(err, cases[i].want) != NULL, "got \"%s\", want \"%s\"", err, cases[i].want);
    }
    struct task_spec s;
    char err[512];
    json_t *arr = json_array();
    ck_assert_int_eq(task_spec_from_json(arr, &s, err, sizeof err), -1);
    json_decref(arr);
    ck_assert_str_eq(err, "the task spec is not a JSON object");
}
END_TEST

/* to_json refuses a spec without its required strings instead of writing a partial one. */
START_TEST(test_to_json_incomplete)
{
    struct task_spec s;
    full_spec(&s, TASK_SPEC_CONNECTION);
    free(s.streams[1].dir);
    s.streams[1].dir = NULL;
    ck_assert_ptr_null(task_spec_to_json(&s));
    free(s.data_dir);
    s.data_dir = NULL;
    ck_assert_ptr_null(task_spec_to_json(&s));
    task_spec_free(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("task_spec");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_round_trip_connection);
    tcase_add_test(tc, test_round_trip_pipeline);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_property_text);
    tcase_add_test(tc, test_missing_fields);
    tcase_add_test(tc, test_ill_typed_fields);
    tcase_add_test(tc, test_unknown_fields);
    tcase_add_test(tc, test_connection_errors);
    tcase_add_test(tc, test_to_json_incomplete);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
