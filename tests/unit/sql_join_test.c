/* sql_join_test.c — unit tests of the joins' state bounds through dataplane/sql's interface:
 * the state an interval join, a window join and the idle-state TTL keep (plan_state_bytes)
 * stays bounded as the watermark or processing time passes, and a two-stream plan names its streams. */
#include <check.h>
#include <stdio.h>
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

static struct field cust_fields[] = {{"id", VT_BIGINT}, {"name", VT_STRING}};
static const struct schema cust_schema = {cust_fields, 2, -1, 0, {0}, 0, 0};

static const struct schema *catalog(void *ctx, const char *name)
{
    (void)ctx;
    return strcasecmp(name, "bid") == 0    ? &bid_schema
           : strcasecmp(name, "auc") == 0  ? &auc_schema
           : strcasecmp(name, "cust") == 0 ? &cust_schema
                                           : NULL;
}

static int emitted;
static int sum_cols;     /* the columns out_sum adds up (0: none) */
static uint64_t out_sum; /* of each emitted row, its kind and its first sum_cols values, hashed */
static int count_emit(void *ctx, enum row_kind kind, const struct value *row)
{
    (void)ctx;
    emitted++;
    uint64_t h = (uint64_t)kind + 1;
    for (int i = 0; i < sum_cols; i++)
        h = h * 1000003u + value_hash(&row[i], 0);
    out_sum += h;
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

static void bid_priced(struct plan *p, struct arena *a, int64_t price, int64_t ts)
{
    struct value row[3] = {
        {.type = VT_BIGINT, .u.i = 7}, {.type = VT_BIGINT, .u.i = price}, {.type = VT_TIMESTAMP, .u.i = ts}};
    struct sql_error err;
    ck_assert_int_eq(plan_process_source(p, source_of(p, "bid"), row, a, count_emit, NULL, &err), 0);
}

/* Bid k of the end-bound tests: one each 50 ms, 200 s in all, prices spread over 0-100. */
enum { END_BIDS = 4000 };
static int64_t end_price(int k) { return (k * 7919) % 101; }

/* The pairs (bid, 10 s window) with the bid's price the window's highest and the bid's time in
 * [window_end - 10 s, window_end], counted by brute force. */
static int end_expected(void)
{
    int64_t max[END_BIDS * 50 / 10000 + 1];
    int nw = END_BIDS * 50 / 10000, pairs = 0;
    for (int w = 0; w < nw; w++)
        max[w] = -1;
    for (int k = 0; k < END_BIDS; k++)
        max[k * 50 / 10000] = end_price(k) > max[k * 50 / 10000] ? end_price(k) : max[k * 50 / 10000];
    for (int k = 0; k < END_BIDS; k++)
        for (int w = 0; w < nw; w++) {
            int64_t end = (int64_t)(w + 1) * 10000;
            pairs += end_price(k) == max[w] && k * 50 >= end - 10000 && k * 50 <= end;
        }
    return pairs;
}

static const char *const end_sql = "INSERT INTO out SELECT B.auction FROM bid B JOIN (SELECT MAX(price) AS maxprice, "
                                   "window_end AS wend FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL "
                                   "'10' SECOND)) GROUP BY window_start, window_end) W ON B.price = W.maxprice ";

/* Nexmark q7's shape: bids joined to their window's highest price, the bid's time bounded below
 * by the window's end (in the WHERE or the ON). The bids no later window can match go with the
 * watermark; the result is every pair. A bid that comes late still joins the windows held. */
START_TEST(test_window_end_bound_drops_bids)
{
    static const char *const bounds[] = {
        "WHERE B.dateTime BETWEEN W.wend - INTERVAL '10' SECOND AND W.wend",
        "AND B.dateTime >= W.wend - INTERVAL '10' SECOND AND W.wend >= B.dateTime",
        "WHERE B.dateTime <= W.wend", /* no lower bound: every bid stays */
    };
    struct arena *a = arena_new(4096);
    size_t peak[3] = {0};
    for (int i = 0; i < 3; i++) {
        char sql[1024];
        snprintf(sql, sizeof sql, "%s%s", end_sql, bounds[i]);
        struct plan *p = compile(sql, 0);
        emitted = 0;
        for (int k = 0; k < END_BIDS; k++) {
            bid_priced(p, a, end_price(k), 50 * k);
            size_t bytes = plan_state_bytes(p);
            peak[i] = bytes > peak[i] ? bytes : peak[i];
        }
        int64_t max0 = 0; /* the first window's highest price */
        for (int k = 0; k < 10000 / 50; k++)
            max0 = end_price(k) > max0 ? end_price(k) : max0;
        int late = i < 2; /* a bid of the first window, late for it: matches that window only */
        if (late)
            bid_priced(p, a, max0, 30);
        ck_assert_int_eq(plan_finish(p, a, count_emit, NULL), 0);
        if (i < 2)
            ck_assert_int_eq(emitted, end_expected() + late);
        plan_free(p);
    }
    ck_assert_uint_gt(peak[0], 0);
    ck_assert_uint_lt(peak[0] * 4, peak[2]);
    ck_assert_uint_lt(peak[1] * 4, peak[2]);
    arena_free(a);
}
END_TEST

/* Feeds a row of stream name to task `task` of `ntasks` split by join key (ntasks 1: the
 * whole plan): the task processes it when its split column hashes to it, else only passes it. */
static void feed(struct plan *p, struct arena *a, const char *name, const struct value *row, int task, int ntasks)
{
    int cols[PLAN_MAX_SOURCES] = {0}, s = source_of(p, name);
    char why[400];
    struct sql_error err;
    if (ntasks > 1)
        ck_assert_msg(plan_split_columns(p, cols, why, sizeof why) == 0, "%s", why);
    int mine = ntasks == 1 || value_hash(&row[cols[s]], 0) % (uint64_t)ntasks == (uint64_t)task;
    ck_assert_int_eq(mine ? plan_process_source(p, s, row, a, count_emit, NULL, &err)
                          : plan_pass_source(p, s, row, a, count_emit, NULL, &err),
                     0);
}

/* The rows a join emits over a fixed input, run as task `task` of `ntasks`. */
static int split_run(const char *sql, int task, int ntasks)
{
    struct arena *a = arena_new(4096);
    struct plan *p = compile(sql, 0);
    emitted = 0;
    for (int k = 0; k < 300; k++) {
        struct value arow[2] = {{.type = VT_BIGINT, .u.i = k % 40}, {.type = VT_TIMESTAMP, .u.i = 100 * k}};
        struct value brow[3] = {{.type = VT_BIGINT, .u.i = (k * 7) % 50},
                                {.type = VT_BIGINT, .u.i = k},
                                {.type = VT_TIMESTAMP, .u.i = 100 * k + 5}};
        feed(p, a, "auc", arow, task, ntasks);
        feed(p, a, "bid", brow, task, ntasks);
    }
    ck_assert_int_eq(plan_finish(p, a, count_emit, NULL), 0);
    plan_free(p);
    arena_free(a);
    return emitted;
}

/* Tasks split by join key: together they emit what one task emits (each row once), for a
 * regular join and for a window join keyed beyond its window. */
START_TEST(test_split_by_join_key_loses_nothing)
{
    static const char *const sqls[] = {
        "INSERT INTO out SELECT B.auction, B.price FROM bid B JOIN auc A ON B.auction = A.id",
        "INSERT INTO out SELECT B.auction, COUNT(*) AS n FROM bid B JOIN auc A ON B.auction = A.id GROUP BY "
        "B.auction",
        "INSERT INTO out SELECT L.auction FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '1' SECOND)) L "
        "JOIN TABLE(TUMBLE(TABLE auc, DESCRIPTOR(ts), INTERVAL '1' SECOND)) R ON L.auction = R.id AND "
        "L.window_start = R.window_start AND L.window_end = R.window_end",
    };
    for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
        int whole = split_run(sqls[i], 0, 1);
        ck_assert_int_gt(whole, 0);
        ck_assert_int_eq(split_run(sqls[i], 0, 2) + split_run(sqls[i], 1, 2), whole);
        ck_assert_int_eq(split_run(sqls[i], 0, 3) + split_run(sqls[i], 1, 3) + split_run(sqls[i], 2, 3), whole);
    }
}
END_TEST

/* A plan over one stream, run as task `task` of `ntasks` split by key over fixed bids. */
static void split_run_one(const char *sql, int task, int ntasks)
{
    struct arena *a = arena_new(4096);
    struct plan *p = compile(sql, 0);
    for (int k = 0; k < 600; k++) {
        struct value row[3] = {{.type = VT_BIGINT, .u.i = (k * 7) % 50},
                               {.type = VT_BIGINT, .u.i = k % 13},
                               {.type = VT_TIMESTAMP, .u.i = 100 * k}};
        feed(p, a, "bid", row, task, ntasks);
    }
    ck_assert_int_eq(plan_finish(p, a, count_emit, NULL), 0);
    plan_free(p);
    arena_free(a);
}

/* Tasks split by a key column of a one-stream plan's aggregates, Top-N or OVER: together they
 * emit the rows one task emits, each once (the same kinds and values, in any order). */
START_TEST(test_split_one_stream_by_key_loses_nothing)
{
    static const char *const sqls[] = {
        "INSERT INTO out SELECT auction, COUNT(*) AS n FROM bid GROUP BY auction",
        "INSERT INTO out SELECT auction, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '1' "
        "SECOND)) GROUP BY auction, window_start, window_end",
        "INSERT INTO out SELECT auction, price FROM (SELECT auction, price, ROW_NUMBER() OVER (PARTITION BY auction "
        "ORDER BY price DESC) AS rn FROM bid) WHERE rn <= 2",
        "INSERT INTO out SELECT price, COUNT(*) AS n FROM (SELECT auction, price, COUNT(*) AS c FROM bid GROUP BY "
        "auction, price) GROUP BY price",
    };
    sum_cols = 2;
    for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
        emitted = 0, out_sum = 0;
        split_run_one(sqls[i], 0, 1);
        int whole = emitted;
        uint64_t whole_sum = out_sum;
        ck_assert_int_gt(whole, 0);
        for (int ntasks = 2; ntasks <= 3; ntasks++) {
            emitted = 0, out_sum = 0;
            for (int task = 0; task < ntasks; task++)
                split_run_one(sqls[i], task, ntasks);
            ck_assert_msg(emitted == whole && out_sum == whole_sum, "%s over %d tasks: %d rows, %d from one task",
                          sqls[i], ntasks, emitted, whole);
        }
    }
    sum_cols = 0;
}
END_TEST

/* What cannot be split by join key is refused with the reason. */
START_TEST(test_split_refusals)
{
    static const struct {
        const char *sql, *why;
    } cases[] = {
        {"INSERT INTO out SELECT auction FROM bid", "it keeps no state by key"},
        {"INSERT INTO out SELECT COUNT(*) AS n FROM bid", "has no key column of the stream that keys every aggregate"},
        {"INSERT INTO out SELECT price + 1 AS p, COUNT(*) AS n FROM bid GROUP BY price + 1",
         "has no key column of the stream"},
        {"INSERT INTO out SELECT c, COUNT(*) AS n FROM (SELECT auction, COUNT(*) AS c FROM bid GROUP BY auction) "
         "GROUP BY c",
         "has no key column of the stream"},
        {"INSERT INTO out SELECT B.auction FROM bid B JOIN auc A ON B.auction + 1 = A.id",
         "Join(joinType=[InnerJoin], where=[<expression> = A.id]) has no equality key on columns of its streams"},
        {"INSERT INTO out SELECT L.auction FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '1' SECOND)) L "
         "JOIN TABLE(TUMBLE(TABLE auc, DESCRIPTOR(ts), INTERVAL '1' SECOND)) R ON L.window_start = R.window_start "
         "AND L.window_end = R.window_end",
         "has no equality key on columns of its streams"},
        {"INSERT INTO out SELECT B.price, COUNT(*) AS n FROM bid B JOIN auc A ON B.auction = A.id GROUP BY B.price",
         "GroupAggregate(groupBy=[price]) is not keyed by the join key (its groups would be split)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct plan *p = compile(cases[i].sql, 0);
        int cols[PLAN_MAX_SOURCES];
        char why[400];
        ck_assert_int_eq(plan_split_columns(p, cols, why, sizeof why), -1);
        ck_assert_msg(strstr(why, cases[i].why) != NULL, "%s", why);
        plan_free(p);
    }
}
END_TEST

/* The rows of table cust a lookup asks for: one, named "c<id>", for an even id; none for an odd. */
static int cust_lookup(void *ctx, const struct value *keys, struct arena *a, struct value **rows, int *nrows,
                       struct sql_error *err)
{
    (void)ctx, (void)err;
    *nrows = keys[0].u.i % 2 == 0;
    struct value *r = arena_alloc(a, 2 * sizeof *r);
    char *name = arena_alloc(a, 32);
    ck_assert(r && name);
    snprintf(name, 32, "c%lld", (long long)keys[0].u.i);
    r[0] = keys[0];
    r[1] = (struct value){.type = VT_STRING, .u.s = {name, (uint32_t)strlen(name)}};
    *rows = r;
    return 0;
}

/* The rows a lookup join of bids in cust emits when it is task `task` of `ntasks` that split
 * the bids by partition (bid k in partition k % 4, partition p read by task p % ntasks). */
static int lookup_run(const char *sql, int task, int ntasks)
{
    struct arena *a = arena_new(4096);
    struct plan *p = compile(sql, 0);
    plan_set_lookup(p, source_of(p, "cust"), cust_lookup, NULL);
    emitted = 0;
    for (int k = 0; k < 200; k++) {
        struct value row[3] = {{.type = VT_BIGINT, .u.i = k * 7 % 30},
                               {.type = VT_BIGINT, .u.i = k},
                               {.type = VT_TIMESTAMP, .u.i = 100 * k}};
        struct sql_error err;
        if (k % 4 % ntasks == task)
            ck_assert_int_eq(plan_process_source(p, source_of(p, "bid"), row, a, count_emit, NULL, &err), 0);
    }
    ck_assert_int_eq(plan_finish(p, a, count_emit, NULL), 0);
    plan_free(p);
    arena_free(a);
    return emitted;
}

/* A lookup join's table queried per key (plan_set_queried) is no stream read: a plan over one
 * stream with it splits by partition (no state binds it to one task, and tasks together emit
 * what one emits), one over two streams splits by their join key, the table unsplit; an
 * aggregate above it splits by its key when that is the stream's column, else runs as one
 * task. Unmarked, the table counts as a stream. */
START_TEST(test_queried_lookup_table)
{
    const char *lookup = "INSERT INTO out SELECT B.auction, C.name FROM (SELECT *, PROCTIME() AS p FROM bid) AS B "
                         "LEFT JOIN cust FOR SYSTEM_TIME AS OF B.p AS C ON B.auction = C.id";
    struct plan *p = compile(lookup, 0);
    int cust = source_of(p, "cust"), cols[PLAN_MAX_SOURCES];
    char why[400];
    ck_assert_int_eq(plan_read_sources(p), 2);
    ck_assert_int_eq(plan_is_stateful(p), 1);
    plan_set_queried(p, source_of(p, "bid")); /* no lookup join's table: nothing */
    ck_assert_int_eq(plan_source_queried(p, source_of(p, "bid")), 0);
    plan_set_queried(p, cust);
    ck_assert_int_eq(plan_source_queried(p, cust), 1);
    ck_assert_int_eq(plan_read_sources(p), 1);
    ck_assert_int_eq(plan_is_stateful(p), 0);
    ck_assert_int_eq(plan_split_columns(p, cols, why, sizeof why), -1); /* split by partition */
    ck_assert_str_eq(why, "it keeps no state by key (it joins nothing and aggregates nothing)");
    plan_free(p);
    int whole = lookup_run(lookup, 0, 1);
    ck_assert_int_eq(whole, 200); /* LEFT: every bid, with its customer or NULLs */
    ck_assert_int_eq(lookup_run(lookup, 0, 2) + lookup_run(lookup, 1, 2), whole);
    const char *inner = "INSERT INTO out SELECT B.auction, C.name FROM (SELECT *, PROCTIME() AS p FROM bid) AS B "
                        "JOIN cust FOR SYSTEM_TIME AS OF B.p AS C ON B.auction = C.id";
    int matched = lookup_run(inner, 0, 1);
    ck_assert_int_gt(matched, 0);
    ck_assert_int_lt(matched, 200);
    ck_assert_int_eq(lookup_run(inner, 0, 3) + lookup_run(inner, 1, 3) + lookup_run(inner, 2, 3), matched);

    p = compile("INSERT INTO out SELECT C.name, COUNT(*) AS n FROM (SELECT *, PROCTIME() AS p FROM bid) AS B "
                "JOIN cust FOR SYSTEM_TIME AS OF B.p AS C ON B.auction = C.id GROUP BY C.name",
                0);
    plan_set_queried(p, source_of(p, "cust"));
    ck_assert_int_eq(plan_is_stateful(p), 1);
    ck_assert_int_eq(plan_split_columns(p, cols, why, sizeof why), -1); /* keyed by the table's column */
    ck_assert_msg(strstr(why, "has no key column of the stream") != NULL, "%s", why);
    plan_free(p);
    p = compile("INSERT INTO out SELECT B.auction, COUNT(*) AS n FROM (SELECT *, PROCTIME() AS p FROM bid) AS B "
                "JOIN cust FOR SYSTEM_TIME AS OF B.p AS C ON B.auction = C.id GROUP BY B.auction",
                0);
    plan_set_queried(p, source_of(p, "cust"));
    ck_assert_msg(plan_split_columns(p, cols, why, sizeof why) == 0, "%s", why); /* keyed by the stream's */
    ck_assert_int_eq(cols[source_of(p, "bid")], 0);
    ck_assert_int_eq(cols[source_of(p, "cust")], -1);
    plan_free(p);

    p = compile("INSERT INTO out SELECT X.price, C.name FROM (SELECT B.price, A.id, PROCTIME() AS p FROM bid B "
                "JOIN auc A ON B.auction = A.id) AS X JOIN cust FOR SYSTEM_TIME AS OF X.p AS C ON X.price = C.id",
                0);
    cust = source_of(p, "cust");
    ck_assert_int_eq(plan_split_columns(p, cols, why, sizeof why), -1); /* price is not the split key */
    plan_set_queried(p, cust);
    ck_assert_msg(plan_split_columns(p, cols, why, sizeof why) == 0, "%s", why);
    ck_assert_int_eq(cols[cust], -1);
    ck_assert_int_eq(cols[source_of(p, "bid")], 0);
    ck_assert_int_eq(cols[source_of(p, "auc")], 0);
    plan_free(p);
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
    tcase_add_test(tc, test_window_end_bound_drops_bids);
    tcase_add_test(tc, test_split_by_join_key_loses_nothing);
    tcase_add_test(tc, test_split_one_stream_by_key_loses_nothing);
    tcase_add_test(tc, test_split_refusals);
    tcase_add_test(tc, test_queried_lookup_table);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
