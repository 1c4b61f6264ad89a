/* sql_rank_test.c — unit tests of dataplane/sql/rank (Top-N, deduplication, Window Top-N):
 * exact changelogs for rows entering and leaving the top N, ties, keep-first and keep-last,
 * partitions, retractions, window firing, and snapshot/restore mid-stream. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/sql/rank.h"
#include "tests/unit/changelog_collect.h"
#include "tests/unit/check_main.h"

/* Input rows: k BIGINT, id STRING, price BIGINT, ts TIMESTAMP. */
static const enum value_type types[] = {VT_BIGINT, VT_STRING, VT_BIGINT, VT_TIMESTAMP};
static const int part_k[] = {0};
static const struct rank_order price_desc[] = {{2, 1, 0}};
static const struct rank_order price_asc[] = {{2, 0, 1}};
static const struct rank_order by_ts[] = {{3, 0, 1}};

static void row4(struct value *row, int64_t k, const char *id, int64_t price, int64_t ts)
{
    row[0] = (struct value){.type = VT_BIGINT, .u.i = k};
    test_string_value(&row[1], id);
    row[2] = (struct value){.type = price < 0 ? VT_NULL : VT_BIGINT, .u.i = price};
    row[3] = (struct value){.type = VT_TIMESTAMP, .u.i = ts};
}

/* The configuration the tests start from: the four columns, partitioned by k, one order key. */
static struct rank_config config_of(enum rank_mode mode, const struct rank_order *order, int64_t limit)
{
    return (struct rank_config){.mode = mode,
                                .ncols = 4,
                                .col_types = types,
                                .part_cols = part_k,
                                .npart = 1,
                                .order = order,
                                .norder = 1,
                                .limit = limit};
}

/* rank_new that must succeed. */
static struct rank *rank_ok(const struct rank_config *c)
{
    struct sql_error err;
    struct rank *r = rank_new(c, &err);
    ck_assert_msg(r != NULL, "%s", err.message);
    return r;
}

static struct rank *topn(const struct rank_order *order, int64_t limit, int output_rank, int updating)
{
    struct rank_config c = config_of(RANK_TOP_N, order, limit);
    c.output_rank = output_rank;
    c.input_updating = updating;
    return rank_ok(&c);
}

/* Feeds one row of kind kind and returns the changelog it gave. */
static const char *feed(struct rank *r, struct changelog *c, enum row_kind kind, int64_t k, const char *id,
                        int64_t price, int64_t ts)
{
    struct value row[4];
    struct sql_error err;
    /* the operator must copy: give it a string that is overwritten right after */
    char buf[32] = "";
    if (id)
        snprintf(buf, sizeof buf, "%s", id);
    row4(row, k, id ? buf : NULL, price, ts);
    ck_assert_msg(rank_process(r, kind, row, changelog_emit, c, &err) == 0, "%s", err.message);
    memset(buf, 'X', sizeof buf - 1);
    return changelog_take(c);
}

START_TEST(test_topn_row_leaves_top_n)
{
    struct rank *r = topn(price_desc, 2, 0, 0);
    struct changelog c = {.width = 4};
    ck_assert_int_eq(rank_output_width(r), 4);
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "a", 10, 1), "+I 1,a,10,1\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "b", 20, 2), "+I 1,b,20,2\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "c", 15, 3), "-D 1,a,10,1\n+I 1,c,15,3\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "d", 5, 4), "");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "e", 30, 5), "-D 1,c,15,3\n+I 1,e,30,5\n");
    struct rank_stats st;
    rank_stats(r, &st);
    ck_assert_uint_eq(st.rows_in, 5);
    ck_assert_uint_eq(st.rows_out, 6);
    ck_assert_uint_eq(st.rows_kept, 2); /* append-only input: only the top N is kept */
    ck_assert_uint_eq(st.partitions, 1);
    ck_assert_uint_gt(st.state_bytes, 2 * 4 * sizeof(struct value));
    rank_free(r);
    rank_free(NULL);
}
END_TEST

START_TEST(test_topn_rank_numbers_shift)
{
    struct rank *r = topn(price_desc, 2, 1, 0);
    struct changelog c = {.width = 5};
    ck_assert_int_eq(rank_output_width(r), 5);
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "a", 10, 1), "+I 1,a,10,1,1\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "b", 20, 2), "-U 1,a,10,1,1\n+U 1,b,20,2,1\n+I 1,a,10,1,2\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "c", 15, 3), "-U 1,a,10,1,2\n+U 1,c,15,3,2\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "d", 5, 4), "");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "e", 30, 5),
                     "-U 1,b,20,2,1\n+U 1,e,30,5,1\n-U 1,c,15,3,2\n+U 1,b,20,2,2\n");
    rank_free(r);
}
END_TEST

START_TEST(test_topn_rank_range_from_two)
{
    /* rn BETWEEN 2 AND 3: rank 1 never shows; without the rank column the same rows show */
    for (int output_rank = 1; output_rank >= 0; output_rank--) {
        struct rank_config cfg = config_of(RANK_TOP_N, price_desc, 3);
        cfg.rank_start = 2;
        cfg.output_rank = output_rank;
        struct rank *r = rank_ok(&cfg);
        struct changelog c = {.width = 4 + output_rank};
        ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "a", 10, 1), "");
        ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "b", 20, 2), output_rank ? "+I 1,a,10,1,2\n" : "+I 1,a,10,1\n");
        ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "c", 15, 3), output_rank
                                                                     ? "-U 1,a,10,1,2\n+U 1,c,15,3,2\n+I 1,a,10,1,3\n"
                                                                     : "-U 1,a,10,1\n+U 1,c,15,3\n+I 1,a,10,1\n");
        ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "d", 30, 4),
                         output_rank ? "-U 1,c,15,3,2\n+U 1,b,20,2,2\n-U 1,a,10,1,3\n+U 1,c,15,3,3\n"
                                     : "-U 1,c,15,3\n+U 1,b,20,2\n-U 1,a,10,1\n+U 1,c,15,3\n");
        rank_free(r);
    }
    struct rank_config bad = config_of(RANK_TOP_N, price_desc, 3);
    bad.rank_start = 4;
    struct sql_error err;
    ck_assert_ptr_null(rank_new(&bad, &err));
    ck_assert_str_eq(err.message, "rank: the first rank must be between 1 and N (Top-N only)");
}
END_TEST

START_TEST(test_topn_ties_keep_the_earlier_row)
{
    struct rank *r = topn(price_asc, 2, 0, 0);
    struct changelog c = {.width = 4};
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "x", 10, 1), "+I 1,x,10,1\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "y", 10, 2), "+I 1,y,10,2\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "z", 10, 3), ""); /* equal to the N-th: stays out */
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "w", 5, 4), "-D 1,y,10,2\n+I 1,w,5,4\n");
    rank_free(r);

    r = topn(price_asc, 3, 1, 0);
    c.width = 5;
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "x", 10, 1), "+I 1,x,10,1,1\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "y", 10, 2), "+I 1,y,10,2,2\n"); /* after x */
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "w", 5, 3),
                     "-U 1,x,10,1,1\n+U 1,w,5,3,1\n-U 1,y,10,2,2\n+U 1,x,10,1,2\n+I 1,y,10,2,3\n");
    rank_free(r);
}
END_TEST

START_TEST(test_topn_nulls_sort_as_flink)
{
    /* ASC: NULL first (Flink's default); DESC with nulls_first = 0: NULL last */
    struct rank *r = topn(price_asc, 1, 0, 0);
    struct changelog c = {.width = 4};
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "a", 10, 1), "+I 1,a,10,1\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "n", -1, 2), "-D 1,a,10,1\n+I 1,n,null,2\n");
    rank_free(r);
    r = topn(price_desc, 1, 0, 0);
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "n", -1, 1), "+I 1,n,null,1\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "a", 10, 2), "-D 1,n,null,1\n+I 1,a,10,2\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "m", -1, 3), "");
    rank_free(r);
}
END_TEST

START_TEST(test_partitions_are_isolated)
{
    struct rank *r = topn(price_desc, 1, 0, 0);
    struct changelog c = {.width = 4};
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "a", 10, 1), "+I 1,a,10,1\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 2, "b", 5, 2), "+I 2,b,5,2\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 2, "c", 7, 3), "-D 2,b,5,2\n+I 2,c,7,3\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "d", 8, 4), "");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "e", 11, 5), "-D 1,a,10,1\n+I 1,e,11,5\n");
    struct rank_stats st;
    rank_stats(r, &st);
    ck_assert_uint_eq(st.partitions, 2);
    ck_assert_uint_eq(st.rows_kept, 2);
    rank_free(r);
}
END_TEST

START_TEST(test_topn_with_retractions)
{
    struct rank *r = topn(price_desc, 2, 0, 1);
    struct changelog c = {.width = 4};
    feed(r, &c, ROW_INSERT, 1, "a", 10, 1);
    feed(r, &c, ROW_INSERT, 1, "b", 20, 2);
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "c", 15, 3), "-D 1,a,10,1\n+I 1,c,15,3\n");
    /* b leaves: a, kept beyond the top N, comes back */
    ck_assert_str_eq(feed(r, &c, ROW_DELETE, 1, "b", 20, 2), "-D 1,b,20,2\n+I 1,a,10,1\n");
    ck_assert_str_eq(feed(r, &c, ROW_UPDATE_BEFORE, 1, "zz", 20, 2), ""); /* never seen */
    ck_assert_str_eq(feed(r, &c, ROW_DELETE, 1, "a", 10, 1), "-D 1,a,10,1\n");
    ck_assert_str_eq(feed(r, &c, ROW_UPDATE_AFTER, 1, "d", 1, 4), "+I 1,d,1,4\n");
    struct rank_stats st;
    rank_stats(r, &st);
    ck_assert_uint_eq(st.retract_missing, 1);
    rank_free(r);

    r = topn(price_desc, 2, 1, 1);
    c.width = 5;
    feed(r, &c, ROW_INSERT, 1, "a", 10, 1);
    feed(r, &c, ROW_INSERT, 1, "b", 20, 2);
    feed(r, &c, ROW_INSERT, 1, "c", 15, 3);
    ck_assert_str_eq(feed(r, &c, ROW_DELETE, 1, "b", 20, 2),
                     "-U 1,b,20,2,1\n+U 1,c,15,3,1\n-U 1,c,15,3,2\n+U 1,a,10,1,2\n");
    ck_assert_str_eq(feed(r, &c, ROW_DELETE, 1, "a", 10, 1), "-D 1,a,10,1,2\n");
    ck_assert_str_eq(feed(r, &c, ROW_DELETE, 1, "c", 15, 3), "-D 1,c,15,3,1\n");
    rank_stats(r, &st);
    ck_assert_uint_eq(st.partitions, 0); /* an empty partition is dropped */
    ck_assert_uint_eq(st.rows_kept, 0);
    rank_free(r);
}
END_TEST

START_TEST(test_append_only_rejects_retraction)
{
    struct rank *r = topn(price_desc, 2, 0, 0);
    struct value row[4];
    struct sql_error err;
    struct changelog c = {.width = 4};
    row4(row, 1, "a", 1, 1);
    ck_assert_int_eq(rank_process(r, ROW_DELETE, row, changelog_emit, &c, &err), -1);
    ck_assert_str_eq(err.message, "rank: -D received by an operator that accepts only inserts");
    rank_free(r);
}
END_TEST

static struct rank *dedup(enum rank_mode mode)
{
    struct rank_config cfg = config_of(mode, by_ts, 1);
    return rank_ok(&cfg);
}

START_TEST(test_dedup_keep_first)
{
    struct rank *r = dedup(RANK_DEDUP_FIRST);
    struct changelog c = {.width = 4};
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "a", 1, 1000), "+I 1,a,1,1000\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 2, "b", 2, 1500), "+I 2,b,2,1500\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "c", 3, 2000), "");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "d", 4, 1000), ""); /* same time: the first stays */
    /* out of order: an earlier row replaces the first */
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "e", 5, 900), "-U 1,a,1,1000\n+U 1,e,5,900\n");
    rank_free(r);
}
END_TEST

START_TEST(test_dedup_keep_last)
{
    struct rank *r = dedup(RANK_DEDUP_LAST);
    struct changelog c = {.width = 4};
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "a", 1, 1000), "+I 1,a,1,1000\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "b", 2, 2000), "-U 1,a,1,1000\n+U 1,b,2,2000\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 2, "x", 9, 2000), "+I 2,x,9,2000\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "c", 3, 2000), "-U 1,b,2,2000\n+U 1,c,3,2000\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "d", 4, 1500), ""); /* older than the last */
    struct rank_stats st;
    rank_stats(r, &st);
    ck_assert_uint_eq(st.rows_kept, 2);
    rank_free(r);
}
END_TEST

START_TEST(test_config_errors)
{
    struct sql_error err;
    struct rank_config cfg = config_of(RANK_DEDUP_LAST, by_ts, 1);
    cfg.output_rank = 1;
    ck_assert_ptr_null(rank_new(&cfg, &err));
    ck_assert_str_eq(err.message, "rank: deduplication orders by one time column, keeps 1 row and outputs no rank");
    cfg = config_of(RANK_TOP_N, by_ts, 0);
    ck_assert_ptr_null(rank_new(&cfg, &err));
    ck_assert_str_eq(err.message, "rank: invalid configuration");
    cfg.limit = 3;
    cfg.mode = RANK_WINDOW_TOP_N;
    cfg.window_end_col = 3; /* not a partition column */
    ck_assert_ptr_null(rank_new(&cfg, &err));
    ck_assert_str_eq(err.message, "rank: window Top-N partitions by its TIMESTAMP window_end column");
}
END_TEST

/* Window Top-N: rows k, id, price, window_end; partitions by (window_end, k). */
static const int part_win_k[] = {3, 0};

static struct rank *window_topn(int output_rank)
{
    struct rank_config cfg = config_of(RANK_WINDOW_TOP_N, price_desc, 2);
    cfg.part_cols = part_win_k;
    cfg.npart = 2;
    cfg.output_rank = output_rank;
    cfg.window_end_col = 3;
    return rank_ok(&cfg);
}

START_TEST(test_window_topn_fires_on_watermark)
{
    struct rank *r = window_topn(1);
    struct changelog c = {.width = 5};
    struct sql_error err;
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "a", 10, 2000), "");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 2, "b", 5, 2000), "");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "c", 30, 2000), "");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "d", 20, 2000), "");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "e", 1, 4000), "");
    ck_assert_int_eq(rank_watermark(r, 1998, changelog_emit, &c, &err), 0);
    ck_assert_str_eq(changelog_take(&c), ""); /* fires at window_end - 1 */
    ck_assert_int_eq(rank_watermark(r, 1999, changelog_emit, &c, &err), 0);
    ck_assert_str_eq(changelog_take(&c), "+I 1,c,30,2000,1\n+I 1,d,20,2000,2\n+I 2,b,5,2000,1\n");
    ck_assert_str_eq(feed(r, &c, ROW_INSERT, 1, "late", 99, 2000), "");
    struct rank_stats st;
    rank_stats(r, &st);
    ck_assert_uint_eq(st.late_dropped, 1);
    ck_assert_uint_eq(st.partitions, 1);
    ck_assert_int_eq(rank_finish(r, changelog_emit, &c, &err), 0);
    ck_assert_str_eq(changelog_take(&c), "+I 1,e,1,4000,1\n");
    rank_stats(r, &st);
    ck_assert_uint_eq(st.partitions, 0);
    ck_assert_uint_eq(st.rows_kept, 0);
    rank_free(r);
}
END_TEST

START_TEST(test_window_topn_orders_windows_by_end)
{
    struct rank *r = window_topn(0);
    struct changelog c = {.width = 4};
    struct sql_error err;
    feed(r, &c, ROW_INSERT, 1, "late-window", 1, 6000);
    feed(r, &c, ROW_INSERT, 1, "early-window", 1, 3000);
    ck_assert_int_eq(rank_watermark(r, 10000, changelog_emit, &c, &err), 0);
    ck_assert_str_eq(changelog_take(&c), "+I 1,early-window,1,3000\n+I 1,late-window,1,6000\n");
    rank_free(r);
}
END_TEST

/* A changelog run of rows 0..n over a fresh operator made by make; when split >= 0 the state is
 * snapshot after row split and the rest runs on a new operator restored from it. */
static char *run_split(struct rank *(*make)(void), int n, int split, int width)
{
    struct rank *r = make();
    struct changelog c = {.width = width};
    struct sql_error err;
    static const char *ids[] = {"p", "q", "r", "s", "t", "u", "v"};
    for (int i = 0; i < n; i++) {
        struct value row[4];
        row4(row, i % 3, ids[i % 7], (i * 37) % 23, 1000 + (i * 53) % 40 * 100);
        ck_assert_msg(rank_process(r, ROW_INSERT, row, changelog_emit, &c, &err) == 0, "%s", err.message);
        if (i == split) {
            char *buf;
            size_t len;
            ck_assert_int_eq(rank_snapshot(r, &buf, &len), 0);
            struct rank_stats before, after;
            rank_stats(r, &before);
            rank_free(r);
            r = make();
            ck_assert_msg(rank_restore(r, buf, len, &err) == 0, "%s", err.message);
            rank_stats(r, &after);
            ck_assert_uint_eq(after.rows_in, before.rows_in);
            ck_assert_uint_eq(after.rows_kept, before.rows_kept);
            ck_assert_uint_eq(after.state_bytes, before.state_bytes);
            free(buf);
        }
    }
    ck_assert_int_eq(rank_finish(r, changelog_emit, &c, &err), 0);
    rank_free(r);
    return strdup(changelog_take(&c));
}

static struct rank *make_topn3(void) { return topn(price_desc, 3, 1, 0); }
static struct rank *make_topn_retract(void) { return topn(price_desc, 2, 0, 1); }
static struct rank *make_dedup_last(void) { return dedup(RANK_DEDUP_LAST); }
static struct rank *make_window(void) { return window_topn(1); }

START_TEST(test_snapshot_restore_continues_identically)
{
    struct rank *(*makers[])(void) = {make_topn3, make_topn_retract, make_dedup_last, make_window};
    int widths[] = {5, 4, 4, 5};
    for (size_t m = 0; m < sizeof makers / sizeof *makers; m++) {
        char *whole = run_split(makers[m], 60, -1, widths[m]);
        ck_assert_uint_gt(strlen(whole), 20);
        for (int split = 0; split < 60; split += 13) {
            char *parts = run_split(makers[m], 60, split, widths[m]);
            ck_assert_str_eq(parts, whole);
            free(parts);
        }
        free(whole);
    }
}
END_TEST

START_TEST(test_restore_rejects_foreign_or_corrupt_state)
{
    struct rank *r = topn(price_desc, 3, 1, 0);
    struct changelog c = {.width = 5};
    feed(r, &c, ROW_INSERT, 1, "a", 10, 1);
    feed(r, &c, ROW_INSERT, 2, "b", 20, 2);
    char *buf;
    size_t len;
    struct sql_error err;
    ck_assert_int_eq(rank_snapshot(r, &buf, &len), 0);
    struct rank *other = topn(price_desc, 4, 1, 0);
    ck_assert_int_eq(rank_restore(other, buf, len, &err), -1);
    ck_assert_str_eq(err.message, "rank: snapshot is not from this operator");
    for (size_t cut = 0; cut < len; cut += 7) {
        struct rank *fresh = topn(price_desc, 3, 1, 0);
        ck_assert_int_eq(rank_restore(fresh, buf, cut, &err), -1);
        struct rank_stats st;
        rank_stats(fresh, &st);
        ck_assert_uint_eq(st.rows_kept, 0);
        rank_free(fresh);
    }
    free(buf);
    rank_free(other);
    rank_free(r);
}
END_TEST

START_TEST(test_emit_failure_goes_up)
{
    struct rank *r = topn(price_desc, 2, 1, 0);
    struct changelog c = {.width = 5, .stop_after = 1};
    struct value row[4];
    struct sql_error err = {0};
    row4(row, 1, "a", 10, 1);
    ck_assert_int_eq(rank_process(r, ROW_INSERT, row, changelog_emit, &c, &err), 0);
    row4(row, 1, "b", 20, 1);
    ck_assert_int_eq(rank_process(r, ROW_INSERT, row, changelog_emit, &c, &err), -1);
    ck_assert_str_eq(err.message, "");
    rank_free(r);
    changelog_take(&c);
}
END_TEST

/* ---- Against a model: the changelog, applied to a table, always equals the top N computed
 * from scratch over the live rows (ordered by price DESC, then arrival). */

#define MODEL_ROWS 120
struct model {
    int k[MODEL_ROWS], price[MODEL_ROWS], live[MODEL_ROWS]; /* input rows, by id */
    int shown[MODEL_ROWS][4]; /* the materialized result: how often (row, rank r) is in it */
    int width, bad;
};

static int model_emit(void *ctx, enum row_kind kind, const struct value *row)
{
    struct model *m = ctx;
    char buf[16];
    snprintf(buf, sizeof buf, "%.*s", (int)row[1].u.s.len, row[1].u.s.ptr);
    int id = atoi(buf);
    int rank = m->width == 5 ? (int)row[4].u.i : 1;
    /* output rows are (row, rank): a row moving from rank 2 to 3 is -U (row, 2) ... +U (row, 3); without
     * the rank column, a multiset of rows (with an offset a row may be added before it is removed) */
    if (row_kind_is_accumulate(kind)) {
        m->shown[id][rank]++;
    } else {
        m->bad |= --m->shown[id][rank] < 0; /* retracts what is not there */
    }
    return 0;
}

/* The expected rank of each id (0: not in the top N) from the live rows. */
static void model_expect(const struct model *m, int n, int limit, int *expect)
{
    for (int i = 0; i < n; i++) {
        expect[i] = 0;
        if (!m->live[i])
            continue;
        int better = 0;
        for (int j = 0; j < n; j++)
            better += m->live[j] && m->k[j] == m->k[i] &&
                      (m->price[j] > m->price[i] || (j < i && m->price[j] == m->price[i]));
        expect[i] = better < limit ? better + 1 : 0;
    }
}

static void model_run(int output_rank, int updating, int64_t start, unsigned seed)
{
    struct rank_config cfg = config_of(RANK_TOP_N, price_desc, 3);
    cfg.rank_start = start;
    cfg.output_rank = output_rank;
    cfg.input_updating = updating;
    struct rank *r = rank_ok(&cfg);
    struct sql_error err;
    struct model m = {.width = output_rank ? 5 : 4};
    int n = 0, expect[MODEL_ROWS];
    while (n < MODEL_ROWS) {
        seed = seed * 1103515245u + 12345u;
        unsigned x = seed >> 8;
        struct value row[4];
        char id[16];
        int victim = n ? (int)(x % (unsigned)n) : 0;
        if (updating && x % 10 < 3 && m.live[victim]) {
            snprintf(id, sizeof id, "%d", victim);
            row4(row, m.k[victim], id, m.price[victim], victim);
            m.live[victim] = 0;
            ck_assert_int_eq(rank_process(r, x % 2 ? ROW_DELETE : ROW_UPDATE_BEFORE, row, model_emit, &m, &err), 0);
        } else {
            m.k[n] = (int)(x % 3);
            m.price[n] = (int)((x >> 4) % 8);
            m.live[n] = 1;
            snprintf(id, sizeof id, "%d", n);
            row4(row, m.k[n], id, m.price[n], n);
            n++;
            ck_assert_int_eq(rank_process(r, ROW_INSERT, row, model_emit, &m, &err), 0);
        }
        ck_assert_msg(m.bad == 0, "rank %d, updating %d: a changelog row contradicts the result after %d rows",
                      output_rank, updating, n);
        model_expect(&m, n, 3, expect);
        for (int i = 0; i < n; i++)
            expect[i] = expect[i] >= start ? expect[i] : 0;
        for (int i = 0; i < n; i++)
            for (int k = 1; k <= 3; k++)
                ck_assert_msg(m.shown[i][k] == (expect[i] && (output_rank ? expect[i] : 1) == k),
                              "row %d: shown %d times at rank %d, expected rank %d after %d rows", i, m.shown[i][k], k,
                              expect[i], n);
    }
    rank_free(r);
}

START_TEST(test_changelog_matches_model)
{
    for (int output_rank = 0; output_rank < 2; output_rank++)
        for (int updating = 0; updating < 2; updating++)
            for (int start = 1; start <= 2; start++)
                model_run(output_rank, updating, start, 7u + (unsigned)(output_rank * 4 + updating * 2 + start));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sql_rank");
    TCase *tc = tcase_create("rank");
    tcase_set_timeout(tc, 60); /* the model checks are quadratic; slow under sanitizers and load */
    tcase_add_test(tc, test_topn_row_leaves_top_n);
    tcase_add_test(tc, test_topn_rank_numbers_shift);
    tcase_add_test(tc, test_topn_rank_range_from_two);
    tcase_add_test(tc, test_topn_ties_keep_the_earlier_row);
    tcase_add_test(tc, test_topn_nulls_sort_as_flink);
    tcase_add_test(tc, test_partitions_are_isolated);
    tcase_add_test(tc, test_topn_with_retractions);
    tcase_add_test(tc, test_append_only_rejects_retraction);
    tcase_add_test(tc, test_dedup_keep_first);
    tcase_add_test(tc, test_dedup_keep_last);
    tcase_add_test(tc, test_config_errors);
    tcase_add_test(tc, test_window_topn_fires_on_watermark);
    tcase_add_test(tc, test_window_topn_orders_windows_by_end);
    tcase_add_test(tc, test_snapshot_restore_continues_identically);
    tcase_add_test(tc, test_restore_rejects_foreign_or_corrupt_state);
    tcase_add_test(tc, test_emit_failure_goes_up);
    tcase_add_test(tc, test_changelog_matches_model);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
