/* sql_over_test.c — unit tests of dataplane/sql/over (running OVER aggregates): exact output
 * for ROWS and RANGE frames (bounded and UNBOUNDED PRECEDING), rows held until the watermark
 * and released in rowtime order, late rows, MIN/MAX after the extreme leaves a sliding frame,
 * NULL arguments, strings, and snapshot/restore mid-stream. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/sql/over.h"
#include "tests/unit/changelog_collect.h"
#include "tests/unit/check_main.h"

/* Input rows: k BIGINT, v BIGINT, d DOUBLE, s STRING, ts TIMESTAMP. */
static const enum value_type types[] = {VT_BIGINT, VT_BIGINT, VT_DOUBLE, VT_STRING, VT_TIMESTAMP};
static const int part_k[] = {0};
#define NULLV INT64_MIN

static void row5(struct value *row, int64_t k, int64_t v, double d, const char *s, int64_t ts)
{
    row[0] = (struct value){.type = VT_BIGINT, .u.i = k};
    row[1] = (struct value){.type = v == NULLV ? VT_NULL : VT_BIGINT, .u.i = v};
    row[2] = (struct value){.type = VT_DOUBLE, .u.d = d};
    test_string_value(&row[3], s);
    row[4] = (struct value){.type = VT_TIMESTAMP, .u.i = ts};
}

/* The configuration over k's partitions, ordered by ts, that the tests start from. */
static struct over_config config_of(enum over_frame frame, int unbounded, int64_t preceding,
                                    const struct over_agg *aggs, int naggs)
{
    return (struct over_config){.ncols = 5,
                                .col_types = types,
                                .part_cols = part_k,
                                .npart = 1,
                                .time_col = 4,
                                .frame = frame,
                                .unbounded = unbounded,
                                .preceding = preceding,
                                .aggs = aggs,
                                .naggs = naggs};
}

static struct over *make(enum over_frame frame, int unbounded, int64_t preceding, const struct over_agg *aggs,
                         int naggs)
{
    struct over_config c = config_of(frame, unbounded, preceding, aggs, naggs);
    struct sql_error err;
    struct over *o = over_new(&c, &err);
    ck_assert_msg(o != NULL, "%s", err.message);
    return o;
}

static void feed(struct over *o, int64_t k, int64_t v, double d, const char *s, int64_t ts)
{
    struct value row[5];
    struct sql_error err;
    char buf[32] = ""; /* overwritten after the call: the operator must copy */
    if (s)
        snprintf(buf, sizeof buf, "%s", s);
    row5(row, k, v, d, s ? buf : NULL, ts);
    ck_assert_msg(over_process(o, ROW_INSERT, row, &err) == 0, "%s", err.message);
    memset(buf, 'X', sizeof buf - 1);
}

static const char *advance(struct over *o, struct changelog *c, int64_t wm)
{
    struct sql_error err;
    ck_assert_msg(over_watermark(o, wm, changelog_emit, c, &err) == 0, "%s", err.message);
    return changelog_take(c);
}

/* COUNT(*), SUM(v), MIN(v), MAX(v), AVG(v) */
static const struct over_agg basic[] = {
    {AGG_COUNT, -1, VT_BIGINT}, {AGG_SUM, 1, VT_BIGINT}, {AGG_MIN, 1, VT_BIGINT},
    {AGG_MAX, 1, VT_BIGINT},    {AGG_AVG, 1, VT_BIGINT},
};

START_TEST(test_rows_frame_one_preceding)
{
    struct over *o = make(OVER_ROWS, 0, 1, basic, 5);
    struct changelog c = {.width = 10};
    ck_assert_int_eq(over_output_width(o), 10);
    feed(o, 1, 5, 0, "a", 1000);
    feed(o, 1, 3, 0, "b", 2000);
    feed(o, 1, 8, 0, "c", 3000);
    feed(o, 2, 1, 0, "d", 2500);
    feed(o, 1, NULLV, 0, "e", 4000);
    ck_assert_str_eq(advance(o, &c, 10000), "+I 1,5,0.0,a,1000,1,5,5,5,5\n"
                                            "+I 1,3,0.0,b,2000,2,8,3,5,4\n"
                                            "+I 2,1,0.0,d,2500,1,1,1,1,1\n"
                                            "+I 1,8,0.0,c,3000,2,11,3,8,5\n"
                                            "+I 1,null,0.0,e,4000,2,8,8,8,8\n");
    struct over_stats st;
    over_stats(o, &st);
    ck_assert_uint_eq(st.rows_in, 5);
    ck_assert_uint_eq(st.rows_out, 5);
    ck_assert_uint_eq(st.partitions, 2);
    ck_assert_uint_eq(st.rows_held, 0);
    ck_assert_uint_eq(st.rows_in_frames, 3); /* k=1 keeps 2 rows, k=2 one */
    ck_assert_int_eq(st.watermark, 10000);
    over_free(o);
    over_free(NULL);
}
END_TEST

START_TEST(test_rows_wait_for_the_watermark)
{
    static const struct over_agg sum[] = {{AGG_SUM, 1, VT_BIGINT}};
    struct over *o = make(OVER_ROWS, 1, 0, sum, 1);
    struct changelog c = {.width = 6};
    struct sql_error err;
    feed(o, 1, 30, 0, "c", 3000);
    feed(o, 1, 10, 0, "a", 1000);
    feed(o, 1, 20, 0, "b", 2000);
    ck_assert_str_eq(advance(o, &c, 999), "");
    ck_assert_str_eq(advance(o, &c, 1500), "+I 1,10,0.0,a,1000,10\n");
    ck_assert_str_eq(advance(o, &c, 2999), "+I 1,20,0.0,b,2000,30\n");
    ck_assert_str_eq(advance(o, &c, 2000), ""); /* a watermark never goes back */
    feed(o, 1, 99, 0, "late", 2999);            /* at the watermark: late */
    struct over_stats st;
    over_stats(o, &st);
    ck_assert_uint_eq(st.late_dropped, 1);
    ck_assert_uint_eq(st.rows_held, 1);
    ck_assert_int_eq(over_finish(o, changelog_emit, &c, &err), 0);
    ck_assert_str_eq(changelog_take(&c), "+I 1,30,0.0,c,3000,60\n");
    over_free(o);
}
END_TEST

START_TEST(test_min_max_when_the_extreme_leaves_the_frame)
{
    static const struct over_agg mm[] = {{AGG_MIN, 1, VT_BIGINT}, {AGG_MAX, 1, VT_BIGINT}};
    struct over *o = make(OVER_ROWS, 0, 2, mm, 2);
    struct changelog c = {.width = 7};
    int64_t vals[] = {9, 1, 5, 4, 3, 7};
    for (int i = 0; i < 6; i++)
        feed(o, 1, vals[i], 0, "x", 1000 * (i + 1));
    ck_assert_str_eq(advance(o, &c, 6000), "+I 1,9,0.0,x,1000,9,9\n"
                                           "+I 1,1,0.0,x,2000,1,9\n"
                                           "+I 1,5,0.0,x,3000,1,9\n"
                                           "+I 1,4,0.0,x,4000,1,5\n" /* 9 left: max 5 */
                                           "+I 1,3,0.0,x,5000,3,5\n" /* 1 left: min 3 */
                                           "+I 1,7,0.0,x,6000,3,7\n");
    over_free(o);
}
END_TEST

START_TEST(test_range_frame_with_peers_and_expiry)
{
    static const struct over_agg aggs[] = {{AGG_SUM, 1, VT_BIGINT}, {AGG_COUNT, 1, VT_BIGINT}, {AGG_MIN, 1, VT_BIGINT}};
    struct over *o = make(OVER_RANGE, 0, 2000, aggs, 3);
    struct changelog c = {.width = 8};
    feed(o, 1, 1, 0, "a", 1000);
    feed(o, 1, 2, 0, "b", 2000);
    feed(o, 2, 100, 0, "other", 2000);
    feed(o, 1, 3, 0, "c", 2000);
    feed(o, 1, 4, 0, "d", 3000);
    feed(o, 1, 5, 0, "e", 4500);
    feed(o, 1, 6, 0, "f", 5000);
    /* rows of one rowtime go partition by partition; peers see each other */
    ck_assert_str_eq(advance(o, &c, 3000), "+I 1,1,0.0,a,1000,1,1,1\n"
                                           "+I 1,2,0.0,b,2000,6,3,1\n"
                                           "+I 1,3,0.0,c,2000,6,3,1\n"
                                           "+I 2,100,0.0,other,2000,100,1,100\n"
                                           "+I 1,4,0.0,d,3000,10,4,1\n");
    /* 4500: rows before 2500 leave (min 1 goes); 5000: 3000 is still in (bounds inclusive) */
    ck_assert_str_eq(advance(o, &c, 5000), "+I 1,5,0.0,e,4500,9,2,4\n"
                                           "+I 1,6,0.0,f,5000,15,3,4\n");
    over_free(o);
}
END_TEST

START_TEST(test_unbounded_rows_and_range)
{
    static const struct over_agg aggs[] = {{AGG_SUM, 1, VT_BIGINT}, {AGG_MAX, 3, VT_STRING}};
    struct over *rows = make(OVER_ROWS, 1, 0, aggs, 2), *range = make(OVER_RANGE, 1, 0, aggs, 2);
    struct changelog c = {.width = 7};
    struct over *ops[] = {rows, range};
    for (int i = 0; i < 2; i++) {
        feed(ops[i], 1, 1, 0, "b", 1000);
        feed(ops[i], 1, 2, 0, "c", 2000);
        feed(ops[i], 1, 3, 0, "a", 2000);
        feed(ops[i], 1, NULLV, 0, NULL, 3000);
    }
    ck_assert_str_eq(advance(rows, &c, 5000), "+I 1,1,0.0,b,1000,1,b\n"
                                              "+I 1,2,0.0,c,2000,3,c\n"
                                              "+I 1,3,0.0,a,2000,6,c\n"
                                              "+I 1,null,0.0,null,3000,6,c\n");
    ck_assert_str_eq(advance(range, &c, 5000), "+I 1,1,0.0,b,1000,1,b\n"
                                               "+I 1,2,0.0,c,2000,6,c\n"
                                               "+I 1,3,0.0,a,2000,6,c\n"
                                               "+I 1,null,0.0,null,3000,6,c\n");
    struct over_stats st;
    over_stats(range, &st);
    ck_assert_uint_eq(st.rows_in_frames, 0); /* unbounded: accumulators only */
    over_free(rows);
    over_free(range);
}
END_TEST

START_TEST(test_doubles_strings_and_nulls)
{
    static const struct over_agg aggs[] = {
        {AGG_AVG, 2, VT_DOUBLE}, {AGG_SUM, 2, VT_DOUBLE},   {AGG_MIN, 3, VT_STRING},
        {AGG_AVG, 1, VT_DOUBLE}, {AGG_COUNT, 1, VT_BIGINT},
    };
    struct over *o = make(OVER_ROWS, 0, 1, aggs, 5);
    struct changelog c = {.width = 10};
    feed(o, 1, NULLV, 1.5, "pear", 1000);
    feed(o, 1, 1, 2.25, "apple", 2000);
    feed(o, 1, 2, 0.5, NULL, 3000);
    ck_assert_str_eq(advance(o, &c, 3000), "+I 1,null,1.5,pear,1000,1.5,1.5,pear,null,0\n"
                                           "+I 1,1,2.25,apple,2000,1.875,3.75,apple,1.0,1\n"
                                           "+I 1,2,0.5,null,3000,1.375,2.75,apple,1.5,2\n");
    over_free(o);
}
END_TEST

START_TEST(test_errors)
{
    struct sql_error err;
    static const struct over_agg bad[] = {{AGG_SUM, 3, VT_STRING}};
    struct over_config c = config_of(OVER_ROWS, 0, 1, bad, 1);
    ck_assert_ptr_null(over_new(&c, &err));
    ck_assert_str_eq(err.message, "over: SUM and AVG need a numeric argument");
    c.aggs = basic;
    c.time_col = 1;
    ck_assert_ptr_null(over_new(&c, &err));
    ck_assert_str_eq(err.message, "over: ORDER BY needs the TIMESTAMP rowtime column");
    c.time_col = 4;
    struct over *o = over_new(&c, &err);
    ck_assert_ptr_nonnull(o);
    struct value row[5];
    row5(row, 1, 1, 0, "a", 1);
    ck_assert_int_eq(over_process(o, ROW_UPDATE_AFTER, row, &err), -1);
    ck_assert_str_eq(err.message, "over: +U received by an operator that accepts only inserts");
    row[4].type = VT_NULL;
    ck_assert_int_eq(over_process(o, ROW_INSERT, row, &err), -1);
    ck_assert_str_eq(err.message, "over: the rowtime of a row is NULL");
    over_free(o);
}
END_TEST

/* Output of n generated rows with the watermark 300 ms behind the largest rowtime; when split
 * >= 0, snapshot after row split and continue on a new operator restored from it. */
static char *run_split(struct over *(*maker)(void), int n, int split, int width)
{
    struct over *o = maker();
    struct changelog c = {.width = width};
    struct sql_error err;
    static const char *names[] = {"kiwi", "fig", "lime", "date", "plum"};
    int64_t max_ts = 0;
    for (int i = 0; i < n; i++) {
        int64_t ts = 1000 + i * 40 + (i * 37) % 7 * 40; /* out of order, some equal, none late */
        max_ts = ts > max_ts ? ts : max_ts;
        feed(o, i % 3, i % 4 == 0 ? NULLV : (i * 13) % 17, (i % 5) * 0.1, names[i % 5], ts);
        ck_assert_int_eq(over_watermark(o, max_ts - 300, changelog_emit, &c, &err), 0);
        if (i == split) {
            char *buf;
            size_t len;
            ck_assert_int_eq(over_snapshot(o, &buf, &len), 0);
            struct over_stats before, after;
            over_stats(o, &before);
            over_free(o);
            o = maker();
            ck_assert_msg(over_restore(o, buf, len, &err) == 0, "%s", err.message);
            over_stats(o, &after);
            ck_assert_uint_eq(after.rows_held, before.rows_held);
            ck_assert_uint_eq(after.rows_in_frames, before.rows_in_frames);
            ck_assert_uint_eq(after.state_bytes, before.state_bytes);
            ck_assert_int_eq(after.watermark, before.watermark);
            free(buf);
        }
    }
    ck_assert_int_eq(over_finish(o, changelog_emit, &c, &err), 0);
    over_free(o);
    return strdup(changelog_take(&c));
}

static const struct over_agg mixed[] = {
    {AGG_COUNT, -1, VT_BIGINT}, {AGG_SUM, 2, VT_DOUBLE}, {AGG_MIN, 1, VT_BIGINT},
    {AGG_MAX, 3, VT_STRING},    {AGG_AVG, 1, VT_BIGINT},
};
static struct over *make_rows(void) { return make(OVER_ROWS, 0, 3, mixed, 5); }
static struct over *make_range(void) { return make(OVER_RANGE, 0, 500, mixed, 5); }
static struct over *make_unbounded(void) { return make(OVER_RANGE, 1, 0, mixed, 5); }

START_TEST(test_snapshot_restore_continues_identically)
{
    struct over *(*makers[])(void) = {make_rows, make_range, make_unbounded};
    for (size_t m = 0; m < sizeof makers / sizeof *makers; m++) {
        char *whole = run_split(makers[m], 70, -1, 10);
        ck_assert_uint_gt(strlen(whole), 70 * 20);
        for (int split = 0; split < 70; split += 11) {
            char *parts = run_split(makers[m], 70, split, 10);
            ck_assert_str_eq(parts, whole);
            free(parts);
        }
        free(whole);
    }
}
END_TEST

START_TEST(test_restore_rejects_foreign_or_corrupt_state)
{
    struct over *o = make_rows();
    feed(o, 1, 1, 0.5, "a", 1000);
    feed(o, 1, 2, 0.5, "b", 2000);
    struct changelog c = {.width = 10};
    advance(o, &c, 1500);
    char *buf;
    size_t len;
    struct sql_error err;
    ck_assert_int_eq(over_snapshot(o, &buf, &len), 0);
    struct over *other = make_range();
    ck_assert_int_eq(over_restore(other, buf, len, &err), -1);
    ck_assert_str_eq(err.message, "over: snapshot is not from this operator");
    for (size_t cut = 0; cut < len; cut += 5) {
        struct over *fresh = make_rows();
        ck_assert_int_eq(over_restore(fresh, buf, cut, &err), -1);
        struct over_stats st;
        over_stats(fresh, &st);
        ck_assert_uint_eq(st.rows_held + st.rows_in_frames + st.partitions, 0);
        over_free(fresh);
    }
    free(buf);
    over_free(other);
    over_free(o);
}
END_TEST

/* ---- Against a model: every row that is not late comes out once, in rowtime order, with the
 * aggregates of its frame computed from scratch over all the rows of its partition. */

#define MODEL_ROWS 300
struct over_model {
    int64_t k[MODEL_ROWS], v[MODEL_ROWS], ts[MODEL_ROWS];
    int late[MODEL_ROWS], out[MODEL_ROWS];
    int64_t got[MODEL_ROWS][4]; /* COUNT(*), COUNT(v), SUM(v), MIN(v) - MAX(v) packed below */
    int64_t max[MODEL_ROWS];
    int nulls[MODEL_ROWS]; /* bit 0: SUM NULL, bit 1: MIN NULL, bit 2: MAX NULL */
    int64_t last_ts;
    int bad;
};

static const struct over_agg model_aggs[] = {
    {AGG_COUNT, -1, VT_BIGINT}, {AGG_COUNT, 1, VT_BIGINT}, {AGG_SUM, 1, VT_BIGINT},
    {AGG_MIN, 1, VT_BIGINT},    {AGG_MAX, 1, VT_BIGINT},
};

static int over_model_emit(void *ctx, enum row_kind kind, const struct value *row)
{
    struct over_model *m = ctx;
    char buf[16];
    snprintf(buf, sizeof buf, "%.*s", (int)row[3].u.s.len, row[3].u.s.ptr);
    int id = atoi(buf);
    m->bad |= kind != ROW_INSERT || m->out[id]++ || row[4].u.i < m->last_ts;
    m->last_ts = row[4].u.i;
    for (int i = 0; i < 4; i++)
        m->got[id][i] = row[5 + i].u.i;
    m->max[id] = row[9].u.i;
    m->nulls[id] = (row[7].type == VT_NULL) | (row[8].type == VT_NULL) << 1 | (row[9].type == VT_NULL) << 2;
    return 0;
}

/* Whether row j is in the frame of row i (same partition, neither late). */
static int in_frame(const struct over_model *m, const struct over_config *c, int i, int j, int n)
{
    if (m->late[j] || m->k[j] != m->k[i] || m->ts[j] > m->ts[i])
        return 0;
    if (c->frame == OVER_RANGE)
        return c->unbounded || m->ts[j] >= m->ts[i] - c->preceding;
    if (j > i && m->ts[j] == m->ts[i])
        return 0; /* ROWS: a later peer comes after */
    if (c->unbounded || j == i)
        return 1;
    int between = 0; /* rows of the partition after j and before i */
    for (int x = 0; x < n; x++)
        between += x != i && x != j && !m->late[x] && m->k[x] == m->k[i] &&
                   (m->ts[x] > m->ts[j] || (x > j && m->ts[x] == m->ts[j])) &&
                   (m->ts[x] < m->ts[i] || (x < i && m->ts[x] == m->ts[i]));
    return between < c->preceding;
}

static void over_model_check(const struct over_model *m, const struct over_config *c, int n)
{
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(m->out[i], !m->late[i]);
        if (m->late[i])
            continue;
        int64_t rows = 0, cnt = 0, sum = 0, min = INT64_MAX, max = INT64_MIN;
        for (int j = 0; j < n; j++) {
            if (!in_frame(m, c, i, j, n))
                continue;
            rows++;
            if (m->v[j] == NULLV)
                continue;
            cnt++;
            sum += m->v[j];
            min = m->v[j] < min ? m->v[j] : min;
            max = m->v[j] > max ? m->v[j] : max;
        }
        ck_assert_msg(m->got[i][0] == rows && m->got[i][1] == cnt, "row %d: counts %lld %lld, expected %lld %lld", i,
                      (long long)m->got[i][0], (long long)m->got[i][1], (long long)rows, (long long)cnt);
        ck_assert_int_eq(m->nulls[i], cnt ? 0 : 7);
        if (cnt)
            ck_assert_msg(m->got[i][2] == sum && m->got[i][3] == min && m->max[i] == max,
                          "row %d: sum/min/max %lld %lld %lld, expected %lld %lld %lld", i, (long long)m->got[i][2],
                          (long long)m->got[i][3], (long long)m->max[i], (long long)sum, (long long)min,
                          (long long)max);
    }
}

static void over_model_run(enum over_frame frame, int unbounded, int64_t preceding, unsigned seed)
{
    struct over_config c = config_of(frame, unbounded, preceding, model_aggs, 5);
    struct sql_error err;
    struct over *o = over_new(&c, &err);
    struct over_model *m = calloc(1, sizeof *m);
    ck_assert_ptr_nonnull(o);
    int64_t wm = INT64_MIN, max_ts = 0;
    for (int i = 0; i < MODEL_ROWS; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned x = seed >> 8;
        m->k[i] = x % 3;
        m->v[i] = x % 7 == 0 ? NULLV : (int64_t)((x >> 3) % 50) - 10;
        m->ts[i] = 1000 + i * 20 - (int64_t)((x >> 9) % 12) * 20; /* out of order, peers, some late */
        m->late[i] = m->ts[i] <= wm;
        char id[16];
        snprintf(id, sizeof id, "%d", i);
        feed(o, m->k[i], m->v[i], 0, id, m->ts[i]);
        max_ts = m->ts[i] > max_ts ? m->ts[i] : max_ts;
        if (x % 4 == 0) {
            wm = max_ts - 60;
            ck_assert_int_eq(over_watermark(o, wm, over_model_emit, m, &err), 0);
        }
    }
    ck_assert_int_eq(over_finish(o, over_model_emit, m, &err), 0);
    ck_assert_int_eq(m->bad, 0);
    over_model_check(m, &c, MODEL_ROWS);
    struct over_stats st;
    over_stats(o, &st);
    ck_assert_uint_gt(st.late_dropped, 0);
    free(m);
    over_free(o);
}

START_TEST(test_output_matches_model)
{
    over_model_run(OVER_ROWS, 0, 2, 11);
    over_model_run(OVER_ROWS, 0, 0, 12);
    over_model_run(OVER_ROWS, 1, 0, 13);
    over_model_run(OVER_RANGE, 0, 100, 14);
    over_model_run(OVER_RANGE, 1, 0, 15);
}
END_TEST

/* input_updating: a change applies at once through over_push, re-emitting the later rows whose
 * frame it touched; a retraction of a row never seen does nothing; snapshots carry the rows. */
static const char *push(struct over *o, struct changelog *c, enum row_kind kind, int64_t k, int64_t v, const char *s,
                        int64_t ts)
{
    struct value row[5];
    struct sql_error err;
    row5(row, k, v, 0, s, ts);
    ck_assert_msg(over_push(o, kind, row, changelog_emit, c, &err) == 0, "%s", err.message);
    return changelog_take(c);
}

START_TEST(test_updating_input)
{
    struct over_config cfg = config_of(OVER_ROWS, 0, 1, basic, 5);
    cfg.input_updating = 1;
    struct sql_error err;
    struct over *o = over_new(&cfg, &err);
    ck_assert_msg(o != NULL, "%s", err.message);
    struct changelog c = {.width = 10};
    ck_assert_str_eq(push(o, &c, ROW_DELETE, 1, 5, "a", 1000), "");
    ck_assert_str_eq(push(o, &c, ROW_INSERT, 1, 5, "a", 1000), "+I 1,5,0.0,a,1000,1,5,5,5,5\n");
    ck_assert_str_eq(push(o, &c, ROW_INSERT, 1, 3, "b", 2000), "+I 1,3,0.0,b,2000,2,8,3,5,4\n");
    ck_assert_str_eq(push(o, &c, ROW_UPDATE_AFTER, 1, 8, "c", 500), "+I 1,8,0.0,c,500,1,8,8,8,8\n"
                                                                    "-U 1,5,0.0,a,1000,1,5,5,5,5\n"
                                                                    "+U 1,5,0.0,a,1000,2,13,5,8,6\n");
    ck_assert_str_eq(push(o, &c, ROW_UPDATE_BEFORE, 1, 5, "a", 1000), "-D 1,5,0.0,a,1000,2,13,5,8,6\n"
                                                                      "-U 1,3,0.0,b,2000,2,8,3,5,4\n"
                                                                      "+U 1,3,0.0,b,2000,2,11,3,8,5\n");
    ck_assert_int_eq(advance(o, &c, 100000)[0], '\0'); /* nothing waits for the watermark */
    struct value row[5];
    row5(row, 1, 1, 0, "z", 9000);
    ck_assert_int_eq(over_process(o, ROW_INSERT, row, &err), -1);
    char *snap;
    size_t len;
    ck_assert_int_eq(over_snapshot(o, &snap, &len), 0);
    struct over *r = over_new(&cfg, &err);
    ck_assert_msg(over_restore(r, snap, len, &err) == 0, "%s", err.message);
    free(snap);
    const char *want = "+I 1,9,0.0,a,1500,2,17,8,9,8\n"
                       "-U 1,3,0.0,b,2000,2,11,3,8,5\n"
                       "+U 1,3,0.0,b,2000,2,12,3,9,6\n";
    ck_assert_str_eq(push(o, &c, ROW_INSERT, 1, 9, "a", 1500), want);
    ck_assert_str_eq(push(r, &c, ROW_INSERT, 1, 9, "a", 1500), want);
    struct over_stats st;
    over_stats(r, &st);
    ck_assert_uint_eq(st.partitions, 1);
    ck_assert_uint_eq(st.rows_in_frames, 3);
    over_free(o);
    over_free(r);
    cfg.frame = OVER_RANGE;
    ck_assert_ptr_null(over_new(&cfg, &err));
    ck_assert_str_eq(err.message, "over: an updating input needs a ROWS frame");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sql_over");
    TCase *tc = tcase_create("over");
    tcase_set_timeout(tc, 60); /* the model check is cubic; slow under sanitizers and load */
    tcase_add_test(tc, test_rows_frame_one_preceding);
    tcase_add_test(tc, test_rows_wait_for_the_watermark);
    tcase_add_test(tc, test_min_max_when_the_extreme_leaves_the_frame);
    tcase_add_test(tc, test_range_frame_with_peers_and_expiry);
    tcase_add_test(tc, test_unbounded_rows_and_range);
    tcase_add_test(tc, test_doubles_strings_and_nulls);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_snapshot_restore_continues_identically);
    tcase_add_test(tc, test_restore_rejects_foreign_or_corrupt_state);
    tcase_add_test(tc, test_output_matches_model);
    tcase_add_test(tc, test_updating_input);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
