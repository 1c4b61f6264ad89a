/* broker_bench — the raw client rates that make bench (bench/brokers.sh) sets beside a
 * pipeline's, on a server the bench started:
 *
 *   broker_bench redis-produce PORT STREAM    XADDs each stdin line as field "data" of STREAM
 *                                             (hiredis, pipelined 1,000 at a time)
 *   broker_bench redis-consume PORT STREAM N  XREADs the first N entries of STREAM, 1,000 a call
 *
 * Each prints "RECORDS CPU_SECONDS WALL_SECONDS" of the timed part (getrusage of the process);
 * the lines are read into memory before the clock starts. Exit status 0, or 1 with a message. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define BENCH_PIPELINE 1000

struct bench_clock {
    double cpu, wall;
};

static struct bench_clock bench_now(void)
{
    struct rusage ru;
    struct timespec ts;
    getrusage(RUSAGE_SELF, &ru);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (struct bench_clock){.cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                                       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
                                .wall = (double)ts.tv_sec + ts.tv_nsec / 1e9};
}

static void bench_report(long n, struct bench_clock t0)
{
    struct bench_clock t1 = bench_now();
    printf("%ld %.3f %.3f\n", n, t1.cpu - t0.cpu, t1.wall - t0.wall);
}

static redisContext *redis_connect(const char *port)
{
    redisContext *c = redisConnect("127.0.0.1", atoi(port));
    if (!c || c->err) {
        fprintf(stderr, "broker_bench: cannot connect to redis on port %s: %s\n", port, c ? c->errstr : "no memory");
        redisFree(c);
        return NULL;
    }
    return c;
}

/* Reads the replies of n pipelined commands; -1 on an error reply. */
static int redis_replies(redisContext *c, int n)
{
    for (int i = 0; i < n; i++) {
        redisReply *r;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "broker_bench: redis: %s\n", r ? r->str : c->errstr);
            freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
    }
    return 0;
}

static int redis_produce(const char *port, const char *stream)
{
    size_t n = 0, cap = 0, lcap = 0;
    char **lines = NULL, *line = NULL;
    ssize_t len;
    while ((len = getline(&line, &lcap, stdin)) >= 0) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            char **more = realloc(lines, cap * sizeof *lines);
            if (!more)
                return 1; /* exits: the lines go with the process */
            lines = more;
        }
        if (len > 0 && line[len - 1] == '\n')
            line[len - 1] = '\0';
        lines[n++] = strdup(line);
    }
    free(line);
    redisContext *c = redis_connect(port);
    if (!c)
        return 1;
    struct bench_clock t0 = bench_now();
    int rc = 0, pending = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        redisAppendCommand(c, "XADD %s * data %s", stream, lines[i]);
        if (++pending == BENCH_PIPELINE || i + 1 == n) {
            rc = redis_replies(c, pending);
            pending = 0;
        }
    }
    bench_report((long)n, t0);
    redisFree(c);
    return rc != 0;
}

static int redis_consume(const char *port, const char *stream, long want)
{
    redisContext *c = redis_connect(port);
    if (!c)
        return 1;
    struct bench_clock t0 = bench_now();
    char last[64] = "0";
    long got = 0;
    while (got < want) {
        redisReply *r = redisCommand(c, "XREAD COUNT %d STREAMS %s %s", BENCH_PIPELINE, stream, last);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->element[0]->elements < 2) {
            freeReplyObject(r);
            break; /* nil: nothing more */
        }
        redisReply *entries = r->element[0]->element[1];
        for (size_t i = 0; i < entries->elements; i++, got++)
            snprintf(last, sizeof last, "%s", entries->element[i]->element[0]->str);
        freeReplyObject(r);
    }
    bench_report(got, t0);
    redisFree(c);
    if (got < want)
        fprintf(stderr, "broker_bench: stream %s ended after %ld of %ld entries\n", stream, got, want);
    return got < want;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "redis-produce") == 0)
        return redis_produce(argv[2], argv[3]);
    if (argc == 5 && strcmp(argv[1], "redis-consume") == 0)
        return redis_consume(argv[2], argv[3], atol(argv[4]));
    fprintf(stderr, "usage: broker_bench redis-produce PORT STREAM < lines\n"
                    "       broker_bench redis-consume PORT STREAM N\n");
    return 2;
}
