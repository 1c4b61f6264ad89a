/* sql_plan_test.c — unit tests for dataplane/sql through its public interface: compile,
 * process, needed fields, snapshot/restore mid-stream, scripts and error formatting. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"
#include "dataplane/sql/lexer.h"
#include "dataplane/sql/sql.h"
#include "tests/unit/changelog_collect.h"
#include "tests/unit/check_main.h"

static struct field bid_fields[] = {
    {"auction", VT_BIGINT}, {"bidder", VT_BIGINT},      {"price", VT_BIGINT},
    {"channel", VT_STRING}, {"dateTime", VT_TIMESTAMP},
};
static const struct schema bid_schema = {bid_fields, 5, 4, 4000, {0}, 0, 0};
static struct field plain_fields[] = {{"id", VT_BIGINT}};
static const struct schema plain_schema = {plain_fields, 1, -1, 0, {0}, 0, 0};

static const struct schema *test_catalog(void *ctx, const char *name)
{
    (void)ctx;
    if (strcasecmp(name, "bid") == 0)
        return &bid_schema;
    return strcasecmp(name, "plain") == 0 ? &plain_schema : NULL;
}

/* Collects emitted rows as text lines. */
struct collect {
    const struct schema *schema;
    char *text; /* malloc'd, grows */
    size_t len, cap;
    int n;
};

static void collect_add(struct collect *c, const char *s) { test_text_append(&c->text, &c->len, &c->cap, s); }

static void collect_row(struct collect *c, const struct value *row);

static int collect_emit(void *ctx, enum row_kind kind, const struct value *row)
{
    ck_assert_int_eq(kind, ROW_INSERT); /* these plans are append-only */
    collect_row(ctx, row);
    return 0;
}

/* For updating plans: each row after its kind ("+U 1,2"). */
static int collect_changes(void *ctx, enum row_kind kind, const struct value *row)
{
    collect_add(ctx, row_kind_name(kind));
    collect_add(ctx, " ");
    collect_row(ctx, row);
    return 0;
}

static void collect_row(struct collect *c, const struct value *row)
{
    for (int i = 0; i < c->schema->nfields; i++) {
        char buf[64];
        test_value_text(&row[i], buf);
        if (i)
            collect_add(c, ",");
        collect_add(c, buf);
    }
    collect_add(c, "\n");
    c->n++;
}

static int stop_emit(void *ctx, enum row_kind kind, const struct value *row)
{
    (void)ctx;
    (void)kind;
    (void)row;
    return -1;
}

static void bid_row(struct value *row, int64_t auction, int64_t bidder, int64_t price, const char *channel,
                    int64_t ts_ms)
{
    row[0] = (struct value){.type = VT_BIGINT, .u.i = auction};
    row[1] = (struct value){.type = VT_BIGINT, .u.i = bidder};
    row[2] = (struct value){.type = VT_BIGINT, .u.i = price};
    test_string_value(&row[3], channel);
    row[4] = (struct value){.type = VT_TIMESTAMP, .u.i = ts_ms};
}

START_TEST(test_compile_simple_projection)
{
    struct sql_error err;
    struct plan *p = plan_compile("INSERT INTO a SELECT price, auction FROM bid", test_catalog, NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.message);
    ck_assert_str_eq(plan_source(p), "bid");
    ck_assert_str_eq(plan_sink(p), "a");
    ck_assert_int_eq(plan_is_windowed(p), 0);
    const struct schema *out = plan_output_schema(p);
    ck_assert_int_eq(out->nfields, 2);
    ck_assert_str_eq(out->fields[0].name, "price");
    ck_assert_int_eq(out->fields[1].type, VT_BIGINT);
    const unsigned char *need = plan_needed_fields(p);
    ck_assert(need[0] && !need[1] && need[2] && !need[3] && !need[4]);
    struct value row[5];
    bid_row(row, 7, 1, 99, "x", 0);
    struct collect c = {.schema = out};
    struct arena *a = arena_new(1024);
    ck_assert_int_eq(plan_process(p, row, a, collect_emit, &c, &err), 0);
    ck_assert_str_eq(c.text, "99,7\n");
    free(c.text);
    arena_free(a);
    plan_free(p);
    plan_free(NULL);
}
END_TEST

START_TEST(test_unknown_stream_is_an_error)
{
    struct sql_error err;
    char buf[300];
    ck_assert_int_eq(sql_validate("INSERT INTO a SELECT x FROM nope", test_catalog, NULL, &err), -1);
    ck_assert_int_eq(err.line, 1);
    ck_assert_int_eq(err.column, 29);
    ck_assert_str_eq(err.message, "stream \"nope\" not found");
    sql_error_format(&err, buf, sizeof buf);
    ck_assert_str_eq(buf, "line 1, column 29: stream \"nope\" not found");
    ck_assert_int_eq(sql_validate("INSERT INTO a SELECT id FROM plain", test_catalog, NULL, &err), 0);
    ck_assert_int_eq(sql_validate("INSERT INTO a SELECT id FROM plain", test_catalog, NULL, NULL), 0);
}
END_TEST

START_TEST(test_emit_failure_goes_up)
{
    struct sql_error err;
    struct plan *p = plan_compile("INSERT INTO a SELECT price FROM bid", test_catalog, NULL, &err);
    struct value row[5];
    struct arena *a = arena_new(1024);
    bid_row(row, 1, 1, 1, NULL, 0);
    ck_assert_int_eq(plan_process(p, row, a, stop_emit, NULL, &err), -1);
    arena_free(a);
    plan_free(p);
}
END_TEST

/* Drives the same windowed query over the same rows twice: straight through, and with a
 * snapshot after every `cut` rows restored into a fresh plan. Outputs must be identical. */
static void run_windowed(const char *sql, int nrows, int cut, struct collect *out, struct plan_stats *st)
{
    struct sql_error err;
    struct plan *p = plan_compile(sql, test_catalog, NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.message);
    struct arena *a = arena_new(4096);
    static const char *const channels[] = {"web", "app", "api", NULL};
    out->schema = plan_output_schema(p);
    for (int i = 0; i < nrows; i++) {
        struct value row[5];
        /* event time moves forward with some disorder (and a few late rows) */
        int64_t ts = 1704067200000LL + i * 137 - (i % 7) * 400 - (i % 50 == 49 ? 20000 : 0);
        bid_row(row, i % 13, i % 5, (i * 7919) % 1000, channels[i % 4], ts);
        ck_assert_int_eq(plan_process(p, row, a, collect_emit, out, &err), 0);
        arena_reset(a);
        if (cut && i % cut == cut - 1) {
            char *buf;
            size_t len;
            ck_assert_int_eq(plan_snapshot(p, &buf, &len), 0);
            plan_free(p);
            p = plan_compile(sql, test_catalog, NULL, &err);
            ck_assert_int_eq(plan_restore(p, buf, len, &err), 0);
            free(buf);
            out->schema = plan_output_schema(p);
        }
    }
    ck_assert_int_eq(plan_finish(p, a, collect_emit, out), 0);
    plan_stats(p, st);
    arena_free(a);
    plan_free(p);
}

START_TEST(test_snapshot_restore_mid_stream_is_identical)
{
    static const char *const queries[] = {
        "INSERT INTO o SELECT auction, COUNT(*) AS n, COUNT(DISTINCT bidder) AS nb, SUM(price) AS s, "
        "MIN(channel) AS mn, MAX(price) AS mx, AVG(price) AS av, window_start, window_end FROM "
        "TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND)) "
        "GROUP BY auction, window_start, window_end",
        "INSERT INTO o SELECT channel, COUNT(channel) AS n, window_end FROM TABLE(CUMULATE(TABLE bid, "
        "DESCRIPTOR(dateTime), INTERVAL '1' SECOND, INTERVAL '5' SECOND)) GROUP BY channel, window_start, window_end",
        /* sessions that merge often (rows of a bidder arrive about 700 ms apart, out of order) */
        "INSERT INTO o SELECT bidder, channel, COUNT(*) AS n, COUNT(DISTINCT auction) AS na, MIN(price) AS mn, "
        "MAX(channel) AS mx, FIRST_VALUE(price) AS f, LAST_VALUE(channel) AS l, STDDEV_SAMP(price) AS sd, "
        "VAR_POP(price) AS vp, window_start, window_end FROM TABLE(SESSION(TABLE bid PARTITION BY bidder, "
        "DESCRIPTOR(dateTime), INTERVAL '600' MILLISECOND)) GROUP BY bidder, channel, window_start, window_end",
    };
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        struct collect straight = {0}, cut = {0};
        struct plan_stats s1, s2;
        run_windowed(queries[q], 400, 0, &straight, &s1);
        run_windowed(queries[q], 400, 37, &cut, &s2);
        ck_assert_int_gt(straight.n, 20);
        ck_assert_int_gt(s1.late_dropped, 0);
        ck_assert_int_eq(straight.n, cut.n);
        ck_assert_str_eq(straight.text, cut.text);
        ck_assert_int_eq(s1.rows_in, s2.rows_in);
        ck_assert_int_eq(s1.rows_out, s2.rows_out);
        ck_assert_int_eq(s1.late_dropped, s2.late_dropped);
        ck_assert_int_eq(s1.watermark_ms, s2.watermark_ms);
        free(straight.text);
        free(cut.text);
    }
}
END_TEST

START_TEST(test_restore_rejects_foreign_or_corrupt_state)
{
    struct sql_error err;
    const char *q1 = "INSERT INTO o SELECT COUNT(*) AS n, window_end FROM TABLE(TUMBLE(TABLE bid, "
                     "DESCRIPTOR(dateTime), INTERVAL '1' SECOND)) GROUP BY window_start, window_end";
    const char *q2 = "INSERT INTO o SELECT MAX(price) AS n, window_end FROM TABLE(TUMBLE(TABLE bid, "
                     "DESCRIPTOR(dateTime), INTERVAL '1' SECOND)) GROUP BY window_start, window_end";
    struct plan *p = plan_compile(q1, test_catalog, NULL, &err);
    struct arena *a = arena_new(1024);
    struct value row[5];
    struct collect c = {.schema = plan_output_schema(p)};
    bid_row(row, 1, 1, 1, "x", 1000);
    ck_assert_int_eq(plan_process(p, row, a, collect_emit, &c, &err), 0);
    char *buf;
    size_t len;
    ck_assert_int_eq(plan_snapshot(p, &buf, &len), 0);
    struct plan *other = plan_compile(q2, test_catalog, NULL, &err);
    ck_assert_int_eq(plan_restore(other, buf, len, &err), -1);
    ck_assert_str_eq(err.message, "checkpoint state was written by a different query or schema");
    struct plan *same = plan_compile(q1, test_catalog, NULL, &err);
    ck_assert_int_eq(plan_restore(same, buf, len - 3, &err), -1);
    ck_assert_str_eq(err.message, "checkpoint state is truncated or corrupt");
    ck_assert_int_eq(plan_restore(same, "garbage", 7, &err), -1);
    ck_assert_str_eq(err.message, "checkpoint state is not a plan snapshot");
    plan_free(same);
    same = plan_compile(q1, test_catalog, NULL, &err);
    ck_assert_int_eq(plan_restore(same, buf, len, &err), 0);
    struct plan_stats st;
    plan_stats(same, &st);
    ck_assert_int_eq(st.rows_in, 1);
    ck_assert_int_eq(st.watermark_ms, 1000 - 4000);
    free(buf);
    free(c.text);
    arena_free(a);
    plan_free(p);
    plan_free(other);
    plan_free(same);
}
END_TEST

/* A session snapshot restores into the same query only, rejects truncation at every length,
 * and the restored plan fires the same sessions as the original. */
START_TEST(test_session_snapshot_restore)
{
    struct sql_error err;
    const char *q = "INSERT INTO o SELECT bidder, COUNT(*) AS n, MAX(channel) AS mx, window_start, window_end FROM "
                    "TABLE(SESSION(TABLE bid PARTITION BY bidder, DESCRIPTOR(dateTime), INTERVAL '1' SECOND)) "
                    "GROUP BY bidder, window_start, window_end";
    const char *tumble = "INSERT INTO o SELECT bidder, COUNT(*) AS n, MAX(channel) AS mx, window_start, window_end "
                         "FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '1' SECOND)) "
                         "GROUP BY bidder, window_start, window_end";
    struct plan *p = plan_compile(q, test_catalog, NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.message);
    struct arena *a = arena_new(1024);
    struct collect before = {.schema = plan_output_schema(p)}, after = {.schema = plan_output_schema(p)};
    struct value row[5];
    static const int64_t times[] = {0, 1500, 700, 300, 5000, 5200};
    for (int i = 0; i < 6; i++) {
        bid_row(row, 1, i % 2, i, i % 3 ? "web" : "app", times[i]);
        ck_assert_int_eq(plan_process(p, row, a, collect_emit, &before, &err), 0);
    }
    char *buf;
    size_t len;
    ck_assert_int_eq(plan_snapshot(p, &buf, &len), 0);
    struct plan *other = plan_compile(tumble, test_catalog, NULL, &err);
    ck_assert_int_eq(plan_restore(other, buf, len, &err), -1);
    ck_assert_str_eq(err.message, "checkpoint state was written by a different query or schema");
    for (size_t cut = 16; cut < len; cut++) {
        struct plan *r = plan_compile(q, test_catalog, NULL, &err);
        ck_assert_int_eq(plan_restore(r, buf, cut, &err), -1);
        plan_free(r);
    }
    struct plan *same = plan_compile(q, test_catalog, NULL, &err);
    ck_assert_int_eq(plan_restore(same, buf, len, &err), 0);
    ck_assert_int_eq(plan_finish(p, a, collect_emit, &before), 0);
    ck_assert_int_eq(plan_finish(same, a, collect_emit, &after), 0);
    /* nothing fired yet (watermark 1200): bidder 0's rows at 0 and 700 ms share [0, 1700);
     * bidder 1's at 300 and 1500 ms are more than 1 s apart, so they stay two sessions */
    ck_assert_str_eq(before.text, after.text);
    ck_assert_str_eq(before.text, "1,1,app,300,1300\n"
                                  "0,2,web,0,1700\n"
                                  "1,1,web,1500,2500\n"
                                  "0,1,web,5000,6000\n"
                                  "1,1,web,5200,6200\n");
    free(buf);
    free(before.text);
    free(after.text);
    arena_free(a);
    plan_free(p);
    plan_free(other);
    plan_free(same);
}
END_TEST

/* Group aggregate state (the MIN/MAX and COUNT(DISTINCT) values, strings) restores into the
 * same query only, rejects truncation at every length, and the restored plan goes on with the
 * changelog of the original. */
START_TEST(test_group_snapshot_restore)
{
    struct sql_error err;
    const struct plan_options opts = {.sink_accepts_updates = 1};
    const char *q = "INSERT INTO o SELECT MAX(c) AS hi, MIN(c) AS lo, COUNT(DISTINCT c) AS k, COUNT(*) AS n FROM "
                    "(SELECT bidder, MAX(channel) AS c FROM bid GROUP BY bidder) t";
    struct plan *p = plan_compile_with(q, test_catalog, NULL, &opts, &err);
    ck_assert_msg(p != NULL, "%s", err.message);
    ck_assert_int_eq(plan_is_updating(p), 1);
    struct arena *a = arena_new(1024);
    struct collect first = {.schema = plan_output_schema(p)}, before = {.schema = plan_output_schema(p)},
                   after = {.schema = plan_output_schema(p)};
    struct value row[5];
    static const char *const channels[] = {"b", "d", "b"};
    for (int i = 0; i < 3; i++) {
        bid_row(row, 1, i, i, channels[i], i);
        ck_assert_int_eq(plan_process(p, row, a, collect_changes, &first, &err), 0);
    }
    ck_assert_str_eq(first.text, "+I b,b,1,1\n-U b,b,1,1\n+U d,b,2,2\n-U d,b,2,2\n+U d,b,2,3\n");
    char *buf;
    size_t len;
    ck_assert_int_eq(plan_snapshot(p, &buf, &len), 0);
    struct plan *other = plan_compile_with("INSERT INTO o SELECT bidder, COUNT(*) AS n FROM bid GROUP BY bidder",
                                           test_catalog, NULL, &opts, &err);
    ck_assert_int_eq(plan_restore(other, buf, len, &err), -1);
    plan_free(other);
    for (size_t cut = 16; cut < len; cut++) {
        struct plan *r = plan_compile_with(q, test_catalog, NULL, &opts, &err);
        ck_assert_int_eq(plan_restore(r, buf, cut, &err), -1);
        plan_free(r);
    }
    struct plan *same = plan_compile_with(q, test_catalog, NULL, &opts, &err);
    ck_assert_int_eq(plan_restore(same, buf, len, &err), 0);
    /* bidder 1's max becomes z: its d is retracted (the max falls back to b), then z comes;
     * bidder 0's max stays b: nothing */
    bid_row(row, 1, 1, 0, "z", 5);
    ck_assert_int_eq(plan_process(p, row, a, collect_changes, &before, &err), 0);
    ck_assert_int_eq(plan_process(same, row, a, collect_changes, &after, &err), 0);
    bid_row(row, 1, 0, 0, "a", 6);
    ck_assert_int_eq(plan_process(p, row, a, collect_changes, &before, &err), 0);
    ck_assert_int_eq(plan_process(same, row, a, collect_changes, &after, &err), 0);
    ck_assert_str_eq(before.text, "-U d,b,2,3\n+U b,b,1,2\n-U b,b,1,2\n+U z,b,2,3\n");
    ck_assert_str_eq(after.text, before.text);
    free(buf);
    free(first.text);
    free(before.text);
    free(after.text);
    arena_free(a);
    plan_free(p);
    plan_free(same);
}
END_TEST

/* plan_state_bytes follows the groups: 0 for a stateless plan; per new group more, a longer
 * string key more than a short one; the same after a restore; the operators named. */
START_TEST(test_state_bytes)
{
    struct sql_error err;
    const struct plan_options opts = {.sink_accepts_updates = 1};
    struct arena *a = arena_new(1024);
    struct collect sink = {0};
    struct value row[5];
    struct plan *stateless = plan_compile("INSERT INTO o SELECT price FROM bid", test_catalog, NULL, &err);
    ck_assert_msg(stateless != NULL, "%s", err.message);
    bid_row(row, 1, 1, 1, "x", 1);
    sink.schema = plan_output_schema(stateless);
    ck_assert_int_eq(plan_process(stateless, row, a, collect_emit, &sink, &err), 0);
    ck_assert_uint_eq(plan_state_bytes(stateless), 0);
    char names[64];
    ck_assert_int_eq(plan_state_operators(stateless, names, sizeof names), 0);
    ck_assert_str_eq(names, "");

    struct plan *p = plan_compile_with("INSERT INTO o SELECT channel, COUNT(*) AS n, MAX(price) AS hi FROM bid "
                                       "GROUP BY channel",
                                       test_catalog, NULL, &opts, &err);
    ck_assert_msg(p != NULL, "%s", err.message);
    sink.schema = plan_output_schema(p);
    ck_assert_uint_eq(plan_state_bytes(p), 0);
    bid_row(row, 1, 1, 5, "short", 1);
    ck_assert_int_eq(plan_process(p, row, a, collect_changes, &sink, &err), 0);
    size_t one = plan_state_bytes(p);
    ck_assert_uint_gt(one, 5);
    bid_row(row, 1, 1, 6, "short", 2); /* the same group: MAX keeps one more value */
    ck_assert_int_eq(plan_process(p, row, a, collect_changes, &sink, &err), 0);
    size_t same_group = plan_state_bytes(p);
    ck_assert_uint_ge(same_group, one);
    static const char long_key[] = "a channel name that is a good deal longer than the first one";
    bid_row(row, 1, 1, 5, long_key, 3);
    ck_assert_int_eq(plan_process(p, row, a, collect_changes, &sink, &err), 0);
    size_t two = plan_state_bytes(p);
    ck_assert_uint_ge(two - same_group, sizeof long_key + sizeof(struct value)); /* its key copied, and more */
    ck_assert_int_eq(plan_state_operators(p, names, sizeof names), 1);
    ck_assert_str_eq(names, "GroupAggregate");

    char *buf;
    size_t len;
    ck_assert_int_eq(plan_snapshot(p, &buf, &len), 0);
    struct plan *restored = plan_compile_with("INSERT INTO o SELECT channel, COUNT(*) AS n, MAX(price) AS hi FROM bid "
                                              "GROUP BY channel",
                                              test_catalog, NULL, &opts, &err);
    ck_assert_int_eq(plan_restore(restored, buf, len, &err), 0);
    ck_assert_uint_gt(plan_state_bytes(restored), two / 2);
    ck_assert_uint_le(plan_state_bytes(restored), two);
    free(buf);
    free(sink.text);
    arena_free(a);
    plan_free(stateless);
    plan_free(p);
    plan_free(restored);
}
END_TEST

/* Flink's METADATA columns: the key (the column's name without FROM), VIRTUAL, the column's
 * place; a key read twice and a MAP type are errors at their place. */
START_TEST(test_script_metadata_columns)
{
    struct sql_script s;
    struct sql_error err;
    const char *text = "CREATE TABLE k (id BIGINT, headers STRING METADATA,\n"
                       "  o BIGINT METADATA FROM 'offset' VIRTUAL, ts TIMESTAMP(3) METADATA FROM 'timestamp' NOT NULL)"
                       " WITH ('connector' = 'kafka');";
    ck_assert_msg(sql_script_parse(text, &s, &err) == 0, "%s", err.message);
    const struct sql_stream_def *d = &s.streams[0];
    ck_assert_int_eq(d->schema.nfields, 4);
    ck_assert_int_eq(d->nmetadata, 3);
    ck_assert_int_eq(d->metadata[0].field, 1);
    ck_assert_str_eq(d->metadata[0].key, "headers");
    ck_assert(!d->metadata[0].is_virtual);
    ck_assert_int_eq(d->metadata[1].field, 2);
    ck_assert_str_eq(d->metadata[1].key, "offset");
    ck_assert(d->metadata[1].is_virtual);
    ck_assert_int_eq(d->metadata[1].line, 2);
    ck_assert_int_eq(d->metadata[1].column, 3);
    ck_assert_str_eq(d->metadata[2].key, "timestamp");
    ck_assert_int_eq(d->schema.fields[3].type, VT_TIMESTAMP);
    sql_script_free(&s);

    ck_assert_int_eq(
        sql_script_parse("CREATE TABLE k (a STRING METADATA FROM 'topic', b STRING METADATA FROM 'topic');", &s, &err),
        -1);
    ck_assert_str_eq(err.message, "metadata key 'topic' is read into two columns of stream \"k\"");
    ck_assert_int_eq(err.column, 49);
    ck_assert_int_eq(sql_script_parse("CREATE TABLE k (id BIGINT,\n  headers MAP<STRING, STRING> METADATA);", &s, &err),
                     -1);
    ck_assert_int_eq(err.line, 2);
    ck_assert_int_eq(err.column, 11);
    ck_assert_str_eq(err.message, "type MAP is not supported: declare the column STRING, which holds a JSON object as "
                                  "text (read it with JSON_VALUE; Kafka's headers METADATA column is one)");
}
END_TEST

START_TEST(test_script_parse_streams_and_inserts)
{
    struct sql_script s;
    struct sql_error err;
    const char *text = "CREATE TABLE bid (auction BIGINT, ts TIMESTAMP(3),\n"
                       "  WATERMARK FOR ts AS ts - INTERVAL '3' SECOND) WITH ('connector' = 'datagen', 'rows' = '5');\n"
                       "-- comment\n"
                       "  INSERT INTO out SELECT auction FROM bid;\n"
                       "INSERT INTO out2 SELECT ts FROM bid";
    ck_assert_int_eq(sql_script_parse(text, &s, &err), 0);
    ck_assert_int_eq(s.nstreams, 1);
    ck_assert_str_eq(s.streams[0].name, "bid");
    ck_assert_int_eq(s.streams[0].schema.nfields, 2);
    ck_assert_int_eq(s.streams[0].schema.rowtime_field, 1);
    ck_assert_int_eq(s.streams[0].schema.watermark_delay_ms, 3000);
    ck_assert_str_eq(sql_stream_option(&s.streams[0], "CONNECTOR"), "datagen");
    ck_assert_ptr_null(sql_stream_option(&s.streams[0], "nope"));
    ck_assert_int_eq(s.ninserts, 2);
    ck_assert_str_eq(s.inserts[0], "INSERT INTO out SELECT auction FROM bid");
    ck_assert_int_eq(s.insert_line[0], 4);
    ck_assert_int_eq(s.insert_column[0], 3);
    ck_assert_str_eq(s.inserts[1], "INSERT INTO out2 SELECT ts FROM bid");
    struct schema copy;
    ck_assert_int_eq(schema_copy(&copy, &s.streams[0].schema), 0);
    ck_assert_str_eq(copy.fields[1].name, "ts");
    schema_free_fields(&copy);
    ck_assert_ptr_null(copy.fields);
    sql_script_free(&s);
    sql_script_free(NULL);
    ck_assert_int_eq(sql_script_parse("CREATE TABLE (", &s, &err), -1);
    ck_assert_int_eq(s.nstreams, 0);
}
END_TEST

START_TEST(test_value_text_forms)
{
    char buf[32];
    int64_t ms;
    ck_assert_int_eq(sql_parse_timestamp("2024-02-29 23:59:59.5", 21, &ms), 0);
    sql_format_timestamp(ms, buf);
    ck_assert_str_eq(buf, "2024-02-29 23:59:59.500");
    ck_assert_int_eq(sql_parse_timestamp("2023-02-29 00:00:00", 19, &ms), -1);
    ck_assert_int_eq(sql_parse_timestamp("1970-01-01", 10, &ms), 0);
    ck_assert_int_eq(ms, 0);
    sql_format_timestamp(-1, buf);
    ck_assert_str_eq(buf, "1969-12-31 23:59:59.999");
    sql_format_double(0.1 + 0.2, buf);
    ck_assert_str_eq(buf, "0.30000000000000004");
    sql_format_double(10, buf);
    ck_assert_str_eq(buf, "10.0");
    ck_assert_str_eq(sql_type_name(VT_TIMESTAMP), "TIMESTAMP(3)");
}
END_TEST

/* Rows of (name, returns, source) as the API keeps functions (sql_functions_define). */
static const char *const function_rows[][3] = {
    {"twice", "BIGINT", "return function(x) return x * 2 end"},
    {"broken", "BIGINT", "return function(x) return x +* 1 end"},
    {"total", "BIGINT",
     "return {init = function() return 0 end, accumulate = function(a, v) return a + v end, "
     "merge = function(a, b) return a + b end, result = function(a) return a end}"},
    {"spin", "STRING", "while true do end"},
};
static const char *function_row_cell(const void *rows, int i, int col)
{
    const char *const(*table)[3] = rows;
    return table[i][col];
}

START_TEST(test_functions_define_rows)
{
    struct sql_function_def *defs = NULL;
    int n = sql_functions_define(4, function_row_cell, function_rows, &defs);
    ck_assert_int_eq(n, 2); /* the syntax error and the spin are left out */
    ck_assert_str_eq(defs[0].name, "twice");
    ck_assert_int_eq(defs[0].aggregate, 0);
    ck_assert_int_eq(defs[0].returns, VT_BIGINT);
    ck_assert_str_eq(defs[1].name, "total");
    ck_assert_int_eq(defs[1].aggregate, 1);
    sql_function_defs_free(defs, (size_t)n);
    ck_assert_int_eq(sql_functions_define(0, function_row_cell, function_rows, &defs), 0);
    sql_function_defs_free(defs, 0);
}
END_TEST

/* Rows of (name, returns, kind, merge) as the controlplane reads the stored facts
 * (sql_functions_declare): a kind not checked yet (NULL) or unknown is left out. */
static const char *const declared_rows[][4] = {
    {"twice", "BIGINT", "scalar", NULL}, {"legacy", "BIGINT", NULL, NULL},       {"total", "BIGINT", "aggregate", "t"},
    {"odd", "BIGINT", "", NULL},         {"bad-name", "BIGINT", "scalar", NULL},
};
static const char *declared_row_cell(const void *rows, int i, int col)
{
    const char *const(*table)[4] = rows;
    return table[i][col];
}

static struct plan *compile_declared(const char *sql, const struct sql_function_def *defs, int n, struct sql_error *err)
{
    struct plan_options opts = {.functions = defs, .nfunctions = n, .sink_accepts_updates = 1};
    return plan_compile_with(sql, test_catalog, NULL, &opts, err);
}

/* A declared function (the stored facts, no source) plans as a loaded one would, and nothing
 * loads Lua: its source is NULL, which a load would read. */
START_TEST(test_functions_declared)
{
    struct sql_function_def defs[3];
    struct sql_error err;
    ck_assert_int_eq(sql_function_declare("twice", "BIGINT", 0, 1, &defs[0], &err), 0);
    ck_assert_int_eq(defs[0].declared, 1);
    ck_assert_ptr_null(defs[0].source);
    ck_assert_int_eq(defs[0].returns, VT_BIGINT);
    ck_assert_int_eq(defs[0].merge, 0); /* a scalar has no merge */
    ck_assert_int_eq(sql_function_declare("total", "BIGINT", 1, 0, &defs[1], &err), 0);
    ck_assert_int_eq(sql_function_declare("total_m", "DOUBLE", 1, 1, &defs[2], &err), 0);
    ck_assert_int_eq(defs[2].aggregate, 1);
    ck_assert_int_eq(defs[2].merge, 1);
    struct sql_function_def bad;
    ck_assert_int_eq(sql_function_declare("upper", "BIGINT", 0, 0, &bad, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "is a built-in function"));
    ck_assert_int_eq(sql_function_declare("f", "DECIMAL(5, 2)", 0, 0, &bad, &err), -1);

    struct plan *p = compile_declared("INSERT INTO a SELECT twice(price) AS p FROM bid", defs, 3, &err);
    ck_assert_msg(p != NULL, "%s", err.message);
    ck_assert_int_eq(plan_output_schema(p)->fields[0].type, VT_BIGINT);
    plan_free(p);
    p = compile_declared("INSERT INTO a SELECT bidder, total(price) AS t FROM bid GROUP BY bidder", defs, 3, &err);
    ck_assert_msg(p != NULL, "%s", err.message);
    ck_assert_int_eq(plan_is_updating(p), 1);
    struct plan_explain ex;
    ck_assert_int_eq(plan_explain(p, &ex), 0);
    ck_assert_ptr_nonnull(strstr(ex.text, "GroupAggregate(groupBy=[bidder])"));
    plan_explain_free(&ex);
    plan_free(p);
    /* a session window needs merge: known from the facts */
    const char *session = "INSERT INTO a SELECT bidder, %s(price) AS t FROM TABLE(SESSION(TABLE bid PARTITION BY "
                          "bidder, DESCRIPTOR(dateTime), INTERVAL '1' SECOND)) GROUP BY bidder, window_start, "
                          "window_end";
    char sql[400];
    snprintf(sql, sizeof sql, session, "total");
    ck_assert_ptr_null(compile_declared(sql, defs, 3, &err));
    ck_assert_ptr_nonnull(strstr(err.message, "needs a merge function in a SESSION window"));
    snprintf(sql, sizeof sql, session, "total_m");
    p = compile_declared(sql, defs, 3, &err);
    ck_assert_msg(p != NULL, "%s", err.message);
    plan_free(p);
    for (int i = 0; i < 3; i++)
        sql_function_def_free(&defs[i]);

    struct sql_function_def *rows = NULL;
    int n = sql_functions_declare(5, declared_row_cell, declared_rows, &rows);
    ck_assert_int_eq(n, 2); /* not checked yet, an unknown kind and a bad name are left out */
    ck_assert_str_eq(rows[0].name, "twice");
    ck_assert_int_eq(rows[0].aggregate, 0);
    ck_assert_str_eq(rows[1].name, "total");
    ck_assert_int_eq(rows[1].aggregate, 1);
    ck_assert_int_eq(rows[1].merge, 1);
    ck_assert_int_eq(rows[1].declared, 1);
    sql_function_defs_free(rows, (size_t)n);
}
END_TEST

/* A pipeline's SQL (the API's) cannot define a function: a clear error at its CREATE. */
START_TEST(test_create_function_in_pipeline_sql)
{
    struct sql_error err;
    const char *sql = "CREATE VIEW v AS SELECT price FROM bid;\n"
                      "  CREATE TEMPORARY FUNCTION f AS 'return function(x) return x end' LANGUAGE LUA;\n"
                      "INSERT INTO a SELECT f(price) AS p FROM v";
    ck_assert_ptr_null(plan_compile(sql, test_catalog, NULL, &err));
    ck_assert_ptr_nonnull(strstr(err.message, "CREATE FUNCTION is not allowed in a pipeline's SQL"));
    ck_assert_ptr_nonnull(strstr(err.message, "POST /v1/functions"));
    ck_assert_int_eq(err.line, 2);
    ck_assert_int_eq(err.column, 3);
}
END_TEST

START_TEST(test_lexer_rejects_nul_bytes)
{
    struct arena *a = arena_new(1024);
    struct token *t;
    int n;
    struct sql_error err = {0};
    ck_assert_int_eq(lexer_tokenize("a \0b", 4, a, &t, &n, &err), -1);
    ck_assert_str_eq(err.message, "unexpected NUL byte");
    ck_assert_int_eq(err.column, 3);
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(lexer_tokenize("'x\0'", 4, a, &t, &n, &err), -1);
    ck_assert_str_eq(err.message, "unexpected NUL byte");
    ck_assert_int_eq(lexer_tokenize("a <= 'it''s' -- c\n/* d */ `q` 1.5e3", 35, a, &t, &n, &err), 0);
    ck_assert_int_eq(n, 6);
    ck_assert_int_eq(t[1].kind, TK_LE);
    ck_assert_str_eq(t[2].text, "it's");
    ck_assert_int_eq(t[3].kind, TK_QIDENT);
    ck_assert_int_eq(t[3].line, 2);
    ck_assert_int_eq(t[4].kind, TK_DECIMAL);
    ck_assert_int_eq(t[5].kind, TK_END);
    arena_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sql_plan");
    TCase *tc = tcase_create("plan");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_compile_simple_projection);
    tcase_add_test(tc, test_unknown_stream_is_an_error);
    tcase_add_test(tc, test_emit_failure_goes_up);
    tcase_add_test(tc, test_snapshot_restore_mid_stream_is_identical);
    tcase_add_test(tc, test_restore_rejects_foreign_or_corrupt_state);
    tcase_add_test(tc, test_session_snapshot_restore);
    tcase_add_test(tc, test_functions_declared);
    tcase_add_test(tc, test_create_function_in_pipeline_sql);
    tcase_add_test(tc, test_group_snapshot_restore);
    tcase_add_test(tc, test_state_bytes);
    tcase_add_test(tc, test_script_parse_streams_and_inserts);
    tcase_add_test(tc, test_script_metadata_columns);
    tcase_add_test(tc, test_value_text_forms);
    tcase_add_test(tc, test_lexer_rejects_nul_bytes);
    tcase_add_test(tc, test_functions_define_rows);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
