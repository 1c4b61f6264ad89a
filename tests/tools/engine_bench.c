/* engine_bench — the engine's throughput on Nexmark queries, for bench/engine.sh.
 *
 *   engine_bench gen DIR N        N datagen bids into the embedded log DIR/bid (seed 1)
 *   engine_bench raw DIR          read every record of DIR/bid (the I/O limit)
 *   engine_bench QUERY DIR        run QUERY (q0 q1 q2 q5 q7 q12e q15 q16 q17 q18 q19) from DIR/bid to
 *                                 DIR/out-QUERY, bounded, with checkpoints every second
 *
 * BENCH_SINK=print writes the output as JSON to /dev/null (the "print" sink) instead of the
 * embedded log: Flink's Nexmark figures are with a blackhole sink, and an upsert log compacts.
 * BENCH_CKPT_MS sets the checkpoint interval (default 1000). BENCH_MINIBATCH=0 turns the
 * aggregates' mini-batch off (default on: 2 s, 50000 rows, as Flink's Nexmark setup).
 *
 * Each prints one line: "name records wall_seconds cpu_seconds records_per_wall_second
 * records_per_cpu_second". Timing covers the run only, not the generation; CPU time (user +
 * system of this process) is what the run cost when other processes share the core. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataplane/connectors/datagen.h"
#include "dataplane/engine.h"
#include "dataplane/log/log.h"
#include "dataplane/sql/sql.h"

static struct field bid_fields[] = {
    {"auction", VT_BIGINT}, {"bidder", VT_BIGINT},      {"price", VT_BIGINT}, {"channel", VT_STRING},
    {"url", VT_STRING},     {"dateTime", VT_TIMESTAMP}, {"extra", VT_STRING},
};
static const struct schema bid_schema = {bid_fields, 7, 5, 4000, {0}, 0, 0};

/* The sinks of the updating queries: upsert streams with the PRIMARY KEY Flink's upsert sinks
 * need (as tests/integration/0170 declares them). */
#define Q15_COLUMNS                                                                                                    \
    "total_bids BIGINT, rank1_bids BIGINT, rank2_bids BIGINT, rank3_bids BIGINT, total_bidders BIGINT, "               \
    "rank1_bidders BIGINT, rank2_bidders BIGINT, rank3_bidders BIGINT, total_auctions BIGINT, rank1_auctions BIGINT, " \
    "rank2_auctions BIGINT, rank3_auctions BIGINT"
#define Q15_AGGREGATES                                                                                                 \
    "count(*) AS total_bids, count(*) filter (where price < 10000) AS rank1_bids, "                                    \
    "count(*) filter (where price >= 10000 and price < 1000000) AS rank2_bids, "                                       \
    "count(*) filter (where price >= 1000000) AS rank3_bids, count(distinct bidder) AS total_bidders, "                \
    "count(distinct bidder) filter (where price < 10000) AS rank1_bidders, "                                           \
    "count(distinct bidder) filter (where price >= 10000 and price < 1000000) AS rank2_bidders, "                      \
    "count(distinct bidder) filter (where price >= 1000000) AS rank3_bidders, "                                        \
    "count(distinct auction) AS total_auctions, count(distinct auction) filter (where price < 10000) AS "              \
    "rank1_auctions, "                                                                                                 \
    "count(distinct auction) filter (where price >= 10000 and price < 1000000) AS rank2_auctions, "                    \
    "count(distinct auction) filter (where price >= 1000000) AS rank3_auctions "
#define BID_COLUMNS                                                                                                    \
    "auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, `dateTime` TIMESTAMP(3), extra "       \
    "VARCHAR"

/* The queries, one row each, as in shared/NEXMARK.md; q12e is q12 over event time (TUMBLE on
 * dateTime), q15-q19 Flink's published texts. sink: DDL of out when it is an upsert stream. */
static const struct {
    const char *name;
    const char *sql;
    const char *sink;
} bench_queries[] = {
    {"q0", "INSERT INTO out SELECT auction, bidder, price, dateTime, extra FROM bid", NULL},
    {"q1", "INSERT INTO out SELECT auction, bidder, 0.908 * price AS price, dateTime, extra FROM bid", NULL},
    {"q2", "INSERT INTO out SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0", NULL},
    {"q5",
     "INSERT INTO out SELECT auction, COUNT(*) AS num, window_start, window_end FROM "
     "TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND)) "
     "GROUP BY auction, window_start, window_end",
     NULL},
    {"q7",
     "INSERT INTO out SELECT MAX(price) AS maxprice, window_start, window_end FROM "
     "TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) GROUP BY window_start, window_end",
     NULL},
    {"q12e",
     "INSERT INTO out SELECT bidder, count(*) as bid_count, window_start AS starttime, window_end AS endtime "
     "FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) "
     "GROUP BY bidder, window_start, window_end",
     NULL},
    {"q15",
     "INSERT INTO out SELECT DATE_FORMAT(`dateTime`, 'yyyy-MM-dd') as `day`, " Q15_AGGREGATES
     "FROM bid GROUP BY DATE_FORMAT(`dateTime`, 'yyyy-MM-dd')",
     "CREATE TABLE out (`day` VARCHAR, " Q15_COLUMNS ", PRIMARY KEY (`day`) NOT ENFORCED);"},
    {"q16",
     "INSERT INTO out SELECT channel, DATE_FORMAT(`dateTime`, 'yyyy-MM-dd') as `day`, "
     "max(DATE_FORMAT(`dateTime`, 'HH:mm')) as `minute`, " Q15_AGGREGATES
     "FROM bid GROUP BY channel, DATE_FORMAT(`dateTime`, 'yyyy-MM-dd')",
     "CREATE TABLE out (channel VARCHAR, `day` VARCHAR, `minute` VARCHAR, " Q15_COLUMNS
     ", PRIMARY KEY (channel, `day`) NOT ENFORCED);"},
    {"q17",
     "INSERT INTO out SELECT auction, DATE_FORMAT(`dateTime`, 'yyyy-MM-dd') as `day`, count(*) AS total_bids, "
     "count(*) filter (where price < 10000) AS rank1_bids, "
     "count(*) filter (where price >= 10000 and price < 1000000) AS rank2_bids, "
     "count(*) filter (where price >= 1000000) AS rank3_bids, min(price) AS min_price, max(price) AS max_price, "
     "avg(price) AS avg_price, sum(price) AS sum_price FROM bid GROUP BY auction, DATE_FORMAT(`dateTime`, "
     "'yyyy-MM-dd')",
     "CREATE TABLE out (auction BIGINT, `day` VARCHAR, total_bids BIGINT, rank1_bids BIGINT, rank2_bids BIGINT, "
     "rank3_bids BIGINT, min_price BIGINT, max_price BIGINT, avg_price BIGINT, sum_price BIGINT, "
     "PRIMARY KEY (auction, `day`) NOT ENFORCED);"},
    {"q18",
     "INSERT INTO out SELECT auction, bidder, price, channel, url, `dateTime`, extra FROM (SELECT *, ROW_NUMBER() "
     "OVER (PARTITION BY bidder, auction ORDER BY `dateTime` DESC) AS rank_number FROM bid) WHERE rank_number <= 1",
     "CREATE TABLE out (" BID_COLUMNS ", PRIMARY KEY (bidder, auction) NOT ENFORCED);"},
    {"q19",
     "INSERT INTO out SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS "
     "rank_number FROM bid) WHERE rank_number <= 10",
     "CREATE TABLE out (" BID_COLUMNS ", rank_number BIGINT, PRIMARY KEY (auction, rank_number) NOT ENFORCED);"},
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_start;

static void result(const char *name, uint64_t records, double secs)
{
    double cpu = cpu_s() - cpu_start;
    printf("%s %llu %.3f %.3f %.0f %.0f\n", name, (unsigned long long)records, secs, cpu,
           secs > 0 ? (double)records / secs : 0, cpu > 0 ? (double)records / cpu : 0);
}

static int gen(const char *dir, uint64_t n)
{
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/bid/0", dir);
    struct seglog_writer *w;
    if (seglog_writer_open(path, NULL, &w, err, sizeof err) != 0) {
        fprintf(stderr, "engine_bench: %s\n", err);
        return 1;
    }
    char buf[DATAGEN_RECORD_MAX];
    double t0 = now_s();
    cpu_start = cpu_s();
    for (uint64_t i = 0; i < n; i++) {
        size_t len = datagen_record(DATAGEN_BID, 1, i, buf);
        if (seglog_writer_append(w, buf, (uint32_t)len, NULL, err, sizeof err) != 0) {
            fprintf(stderr, "engine_bench: %s\n", err);
            return 1;
        }
    }
    if (seglog_writer_flush(w, true, err, sizeof err) != 0) {
        fprintf(stderr, "engine_bench: %s\n", err);
        return 1;
    }
    seglog_writer_close(w);
    result("gen", n, now_s() - t0);
    return 0;
}

static int raw(const char *dir)
{
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/bid/0", dir);
    double t0 = now_s();
    cpu_start = cpu_s();
    struct seglog_reader *r;
    if (seglog_reader_open(path, 0, &r, err, sizeof err) != 0) {
        fprintf(stderr, "engine_bench: %s\n", err);
        return 1;
    }
    struct stream_record recs[1024];
    uint64_t n = 0, bytes = 0;
    int got;
    while ((got = seglog_reader_read(r, recs, 1024, err, sizeof err)) > 0) {
        for (int i = 0; i < got; i++)
            bytes += recs[i].len;
        n += (uint64_t)got;
    }
    seglog_reader_close(r);
    if (got < 0) {
        fprintf(stderr, "engine_bench: %s\n", err);
        return 1;
    }
    result("raw", n, now_s() - t0);
    return bytes ? 0 : 1;
}

static int query(const char *name, const char *sql, const char *sink, const char *dir)
{
    char bid_dir[4096], out_dir[4096], err[1024];
    snprintf(bid_dir, sizeof bid_dir, "%s/bid", dir);
    snprintf(out_dir, sizeof out_dir, "%s/out-%s", dir, name);
    struct sql_script sink_script = {0};
    struct sql_error se;
    if (sink && sql_script_parse(sink, &sink_script, &se) != 0) {
        fprintf(stderr, "engine_bench %s: sink: %s\n", name, se.message);
        return 1;
    }
    const char *sink_backend = getenv("BENCH_SINK") ? getenv("BENCH_SINK") : "log";
    struct engine_stream streams[] = {
        {.name = "bid", .backend = "log", .location = bid_dir, .schema = &bid_schema},
        {.name = "out",
         .backend = sink_backend,
         .location = out_dir,
         .schema = sink ? &sink_script.streams[0].schema : NULL},
    };
    FILE *devnull = fopen("/dev/null", "w");
    char ckpt[4200];
    snprintf(ckpt, sizeof ckpt, "%s/%s.ckpt", dir, name);
    /* checkpoints on (every second, the default), as in the published Flink figures */
    struct engine_options o = {.sql = sql,
                               .streams = streams,
                               .nstreams = 2,
                               .bounded = true,
                               .checkpoint_path = ckpt,
                               .report_interval_ms = 60000,
                               .print = devnull,
                               .minibatch_disabled = getenv("BENCH_MINIBATCH") && !atoi(getenv("BENCH_MINIBATCH")),
                               .checkpoint_interval_ms =
                                   getenv("BENCH_CKPT_MS") ? (uint32_t)atoi(getenv("BENCH_CKPT_MS")) : 0};
    struct engine_stats stats;
    double t0 = now_s();
    cpu_start = cpu_s();
    int rc = engine_run(&o, &stats, err, sizeof err);
    sql_script_free(&sink_script);
    if (devnull)
        fclose(devnull);
    if (rc != ENGINE_COMPLETED) {
        fprintf(stderr, "engine_bench %s: %s\n", name, err);
        return 1;
    }
    result(name, stats.records_in, now_s() - t0);
    fprintf(stderr, "%s: %llu records out\n", name, (unsigned long long)stats.records_out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "gen") == 0)
        return gen(argv[2], strtoull(argv[3], NULL, 10));
    if (argc == 3 && strcmp(argv[1], "raw") == 0)
        return raw(argv[2]);
    for (size_t i = 0; argc == 3 && i < sizeof bench_queries / sizeof bench_queries[0]; i++)
        if (strcmp(argv[1], bench_queries[i].name) == 0)
            return query(bench_queries[i].name, bench_queries[i].sql, bench_queries[i].sink, argv[2]);
    fprintf(stderr, "usage: engine_bench gen DIR N | raw DIR | q0|q1|q2|q5|q7|q12e|q15|q16|q17|q18|q19 DIR\n");
    return 2;
}
