/* engine_bench — the engine's throughput on Nexmark queries, for bench/engine.sh.
 *
 *   engine_bench gen DIR N        N datagen bids into the embedded log DIR/bid (seed 1)
 *   engine_bench raw DIR          read every record of DIR/bid (the I/O limit)
 *   engine_bench QUERY DIR        run QUERY (q0 q1 q2 q5 q7) from DIR/bid to DIR/out-QUERY, bounded,
 *                                 with checkpoints every second
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

static struct field bid_fields[] = {
    {"auction", VT_BIGINT}, {"bidder", VT_BIGINT},      {"price", VT_BIGINT}, {"channel", VT_STRING},
    {"url", VT_STRING},     {"dateTime", VT_TIMESTAMP}, {"extra", VT_STRING},
};
static const struct schema bid_schema = {bid_fields, 7, 5, 4000, {0}, 0};

/* The queries, one row each, as in shared/NEXMARK.md. */
static const struct {
    const char *name;
    const char *sql;
} bench_queries[] = {
    {"q0", "INSERT INTO out SELECT auction, bidder, price, dateTime, extra FROM bid"},
    {"q1", "INSERT INTO out SELECT auction, bidder, 0.908 * price AS price, dateTime, extra FROM bid"},
    {"q2", "INSERT INTO out SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0"},
    {"q5", "INSERT INTO out SELECT auction, COUNT(*) AS num, window_start, window_end FROM "
           "TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND)) "
           "GROUP BY auction, window_start, window_end"},
    {"q7", "INSERT INTO out SELECT MAX(price) AS maxprice, window_start, window_end FROM "
           "TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) GROUP BY window_start, window_end"},
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

static int query(const char *name, const char *sql, const char *dir)
{
    char bid_dir[4096], out_dir[4096], err[1024];
    snprintf(bid_dir, sizeof bid_dir, "%s/bid", dir);
    snprintf(out_dir, sizeof out_dir, "%s/out-%s", dir, name);
    struct engine_stream streams[] = {
        {.name = "bid", .backend = "log", .location = bid_dir, .schema = &bid_schema},
        {.name = "out", .backend = "log", .location = out_dir},
    };
    char ckpt[4200];
    snprintf(ckpt, sizeof ckpt, "%s/%s.ckpt", dir, name);
    /* checkpoints on (every second, the default), as in the published Flink figures */
    struct engine_options o = {.sql = sql,
                               .streams = streams,
                               .nstreams = 2,
                               .bounded = true,
                               .checkpoint_path = ckpt,
                               .report_interval_ms = 60000};
    struct engine_stats stats;
    double t0 = now_s();
    cpu_start = cpu_s();
    if (engine_run(&o, &stats, err, sizeof err) != ENGINE_COMPLETED) {
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
            return query(bench_queries[i].name, bench_queries[i].sql, argv[2]);
    fprintf(stderr, "usage: engine_bench gen DIR N | raw DIR | q0|q1|q2|q5|q7 DIR\n");
    return 2;
}
