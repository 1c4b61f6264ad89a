/* sql_join_test.c — unit tests of the joins' state bounds through dataplane/sql's interface:
 * the state an interval join, a window join and the idle-state TTL keep (plan_state_bytes)
 * stays bounded as the watermark or processing time passes, and a two-stream plan names its streams. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"
#include "dataplane/sql/sql.h"
#include "tests/unit/check_main.h"

static struct field bid_fields[] = {{"auction", VT_BIGINT}, {"price", VT_BIGINT}, {"dateTime", VT_TIMESTAMP}};
static const struct schema bid_schema = {bid_fields, 3, 2, 1000, {0}, 0, 0};
static struct field auc_fields[] = {{"id", VT_BIGINT}, {"ts", VT_TIMESTAMP}};
static const struct schema auc_schema = {auc_fields, 2, 1, 1000, {0}, 0, 0};

static const struct schema *catalog(void *ctx, const char *name)
{
    (void)ctx;
    return strcasecmp(name, "bid") == 0 ? &bid_schema : strcasecmp(name, "auc") == 0 ? &auc_schema : NULL;
}

static int emitted;
static int count_emit(void *ctx, enum row_kind kind, const struct value *row)
{
    (void)ctx, (void)kind, (void)row;
    emitted++;
    return 0;
}

static int64_t now_ms;
static int64_t test_clock(void *ctx)
{
    (void)ctx;
    return now_ms;
}

static struct plan *compile(const char *sql, int64_t ttl)
{
    struct sql_error err;
    struct plan_options o = {.sink_accepts_updates = 1, .state_ttl_ms = ttl, .clock_ms = test_clock};
    struct plan *p = plan_compile_with(sql, catalog, NULL, &o, &err);
    ck_assert_msg(p != NULL, "%s", err.message);
    return p;
}

static int source_of(const struct plan *p, const char *name)
{
    for (int i = 0; i < plan_nsources(p); i++)
        if (strcasecmp(plan_source_at(p, i), name) == 0)
            return i;
    ck_abort_msg("no source %s", name);
    return -1;
}

static void bid(struct plan *p, struct arena *a, int64_t auction, int64_t ts)
{
    struct value row[3] = {
        {.type = VT_BIGINT, .u.i = auction}, {.type = VT_BIGINT, .u.i = 1}, {.type = VT_TIMESTAMP, .u.i = ts}};
    struct sql_error err;
    ck_assert_int_eq(plan_process_source(p, source_of(p, "bid"), row, a, count_emit, NULL, &err), 0);
}

static void auc(struct plan *p, struct arena *a, int64_t id, int64_t ts)
{
    struct value row[2] = {{.type = VT_BIGINT, .u.i = id}, {.type = VT_TIMESTAMP, .u.i = ts}};
    struct sql_error err;
    ck_assert_int_eq(plan_process_source(p, source_of(p, "auc"), row, a, count_emit, NULL, &err), 0);
}

START_TEST(test_two_streams_are_named)
{
    struct plan *p = compile("INSERT INTO out SELECT B.price FROM bid B JOIN auc A ON B.auction = A.id", 0);
    ck_assert_int_eq(plan_nsources(p), 2);
    ck_assert_str_eq(plan_source(p), "bid");
    ck_assert_str_eq(plan_source_at(p, 1), "auc");
    ck_assert_int_eq(plan_source_schema(p, 1)->nfields, 2);
    ck_assert_int_eq(plan_is_updating(p), 0);
    plan_free(p);
}
END_TEST

/* Auctions and bids of 1000 keys, one a second, each bid 500 ms after its auction. */
static size_t feed_state(struct plan *p, struct arena *a)
{
    emitted = 0;
    for (int k = 0; k < 1000; k++) {
        auc(p, a, k, 1000 * k);
        bid(p, a, k, 1000 * k + 500);
    }
    return plan_state_bytes(p);
}

/* The interval join (a bid within 10 s after its auction) keeps the last seconds' rows only; a
 * regular join of the same rows keeps them all. Both give every pair. */
START_TEST(test_interval_join_state_goes_with_the_watermark)
{
    struct arena *a = arena_new(4096);
    struct plan *interval = compile("INSERT INTO out SELECT B.price FROM bid B JOIN auc A ON B.auction = A.id AND "
                                    "B.dateTime BETWEEN A.ts AND A.ts + INTERVAL '10' SECOND",
                                    0);
    struct plan *regular = compile("INSERT INTO out SELECT B.price FROM bid B JOIN auc A ON B.auction = A.id", 0);
    size_t bounded = feed_state(interval, a);
    ck_assert_int_eq(emitted, 1000);
    size_t all = feed_state(regular, a);
    ck_assert_int_eq(emitted, 1000);
    ck_assert_uint_gt(bounded, 0);
    ck_assert_uint_lt(bounded * 20, all);
    plan_free(interval);
    plan_free(regular);
    arena_free(a);
}
END_TEST

/* A window join keeps a window's rows until the watermark passes its end. */
START_TEST(test_window_join_state_goes_with_the_watermark)
{
    struct arena *a = arena_new(4096);
    struct plan *p = compile("INSERT INTO out SELECT L.auction FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), "
                             "INTERVAL '10' SECOND)) L JOIN TABLE(TUMBLE(TABLE auc, DESCRIPTOR(ts), INTERVAL '10' "
                             "SECOND)) R ON L.auction = R.id AND L.window_start = R.window_start AND L.window_end = "
                             "R.window_end",
                             0);
    for (int k = 0; k < 100; k++) {
        auc(p, a, k, 50 * k);
        bid(p, a, k, 50 * k + 10);
    }
    size_t full = plan_state_bytes(p);
    ck_assert_uint_gt(full, 0);
    auc(p, a, 1000, 60000);
    bid(p, a, 1000, 60000);
    ck_assert_uint_lt(plan_state_bytes(p), full / 4);
    plan_free(p);
    arena_free(a);
}
END_TEST

/* The idle-state TTL drops a regular join's keys no row wrote for that long. */
START_TEST(test_join_state_ttl)
{
    struct arena *a = arena_new(4096);
    struct plan *p = compile("INSERT INTO out SELECT A.id FROM auc A LEFT JOIN bid B ON B.auction = A.id", 5000);
    now_ms = 0;
    for (int k = 0; k < 100; k++)
        auc(p, a, k, 1000 * k);
    size_t full = plan_state_bytes(p);
    ck_assert_uint_gt(full, 0);
    now_ms = 10000;
    auc(p, a, 1000, 0);
    ck_assert_uint_lt(plan_state_bytes(p), full / 4);
    plan_free(p);
    arena_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sql_join");
    TCase *tc = tcase_create("join");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_two_streams_are_named);
    tcase_add_test(tc, test_interval_join_state_goes_with_the_watermark);
    tcase_add_test(tc, test_window_join_state_goes_with_the_watermark);
    tcase_add_test(tc, test_join_state_ttl);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
