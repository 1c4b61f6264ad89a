/* broker_bench — the raw client rates that make bench (bench/brokers.sh) sets beside a
 * pipeline's, on a server the bench started:
 *
 *   broker_bench redis-produce PORT STREAM    XADDs each stdin line as field "data" of STREAM
 *                                             (hiredis, pipelined 1,000 at a time, formatted
 *                                             into one buffer as the sink does)
 *   broker_bench redis-consume PORT STREAM N  reads the first N entries of STREAM in consumer
 *                                             group "bench" (XREADGROUP, 1,000 a call) and
 *                                             XACKs each call's entries, as the source does
 *                                             (the XACK formatted straight into RESP)
 * Both build hiredis's replies in an arena reset per batch, read them 128 KiB a read() and send
 * their formatted commands straight from their buffer, as the connector does (redis_reply.h).
 *   broker_bench rabbit-consume PORT QUEUE N  consumes N messages of QUEUE (librabbitmq, as
 *                                             guest: basic.consume, prefetch 1,000, acked 500 at
 *                                             a time)
 *   broker_bench rabbit-count PORT QUEUE      prints the queue's message count (untimed)
 *
 * Each prints "RECORDS CPU_SECONDS WALL_SECONDS" of the timed part (getrusage of the process);
 * the lines are read into memory before the clock starts. Exit status 0, or 1 with a message. */
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "common/arena.h"
#include "dataplane/connectors/redis_reply.h"

#define BENCH_PIPELINE 1000
#define BENCH_ARENA_BLOCK (1 << 20)

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

/* A connection building its replies in replies (as the connector's do). */
static redisContext *redis_connect(const char *port, struct arena *replies)
{
    redisContext *c = redisConnect("127.0.0.1", atoi(port));
    if (!c || c->err) {
        fprintf(stderr, "broker_bench: cannot connect to redis on port %s: %s\n", port, c ? c->errstr : "no memory");
        redisFree(c);
        return NULL;
    }
    redis_reply_use_arena(c, replies);
    return c;
}

/* Reads the replies of n pipelined commands; -1 on an error reply. */
static int redis_replies(redisContext *c, int n)
{
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redis_reply_get(c, &r) != REDIS_OK || !r || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "broker_bench: redis: %s\n", r ? r->str : c->errstr);
            return -1;
        }
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
    struct arena *replies = arena_new(BENCH_ARENA_BLOCK / 8);
    redisContext *c = replies ? redis_connect(port, replies) : NULL;
    if (!c)
        return 1;
    size_t bcap = 1 << 20, blen = 0;
    char *buf = malloc(bcap);
    if (!buf)
        return 1;
    struct bench_clock t0 = bench_now();
    int rc = 0, pending = 0;
    for (size_t i = 0; i < n && rc == 0; i++) { /* the RESP text of XADD, as the sink formats it */
        size_t l = strlen(lines[i]), need = blen + l + strlen(stream) + 96;
        if (need > bcap) {
            char *more = realloc(buf, bcap = need * 2);
            if (!more)
                return 1; /* exits: the buffer goes with the process */
            buf = more;
        }
        blen += (size_t)sprintf(buf + blen, "*5\r\n$4\r\nXADD\r\n$%zu\r\n%s\r\n$1\r\n*\r\n$4\r\ndata\r\n$%zu\r\n",
                                strlen(stream), stream, l);
        memcpy(buf + blen, lines[i], l);
        memcpy(buf + blen + l, "\r\n", 2);
        blen += l + 2;
        if (++pending == BENCH_PIPELINE || i + 1 == n) {
            arena_reset(replies);
            rc = redis_reply_send(c, buf, blen) == REDIS_OK ? redis_replies(c, pending) : -1;
            pending = 0;
            blen = 0;
        }
    }
    bench_report((long)n, t0);
    free(buf);
    redisFree(c);
    arena_free(replies);
    return rc != 0;
}

/* Appends the RESP bulk string of s[0..len) at p: the end. */
static char *redis_put_bulk(char *p, const char *s, size_t len)
{
    p += sprintf(p, "$%zu\r\n", len);
    memcpy(p, s, len);
    memcpy(p + len, "\r\n", 2);
    return p + len + 2;
}

/* XACKs the entries of one XREADGROUP reply, as the source does after a checkpoint (its RESP
 * text formatted into buf, of at least 64 + 64 bytes an entry plus the stream's name); -1 on an
 * error. */
static int redis_ack(redisContext *c, const char *stream, const redisReply *entries, char *buf)
{
    char *p = buf + sprintf(buf, "*%zu\r\n$4\r\nXACK\r\n", entries->elements + 3);
    p = redis_put_bulk(p, stream, strlen(stream));
    p = redis_put_bulk(p, "bench", 5);
    for (size_t i = 0; i < entries->elements; i++)
        p = redis_put_bulk(p, entries->element[i]->element[0]->str, entries->element[i]->element[0]->len);
    redisReply *r = NULL;
    return redis_reply_send(c, buf, (size_t)(p - buf)) == REDIS_OK && redis_reply_get(c, &r) == REDIS_OK && r &&
                   r->type == REDIS_REPLY_INTEGER
               ? 0
               : -1;
}

static int redis_consume(const char *port, const char *stream, long want)
{
    struct arena *replies = arena_new(BENCH_ARENA_BLOCK);
    redisContext *c = replies ? redis_connect(port, replies) : NULL;
    char *buf = malloc(BENCH_PIPELINE * 128 + strlen(stream));
    if (!c || !buf)
        return 1;
    redisCommand(c, "XGROUP CREATE %s bench 0", stream);
    struct bench_clock t0 = bench_now();
    long got = 0;
    while (got < want) {
        arena_reset(replies);
        redisReply *r = NULL;
        redisAppendCommand(c, "XREADGROUP GROUP bench bench COUNT %d STREAMS %s >", BENCH_PIPELINE, stream);
        redis_reply_get(c, &r);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->element[0]->elements < 2)
            break; /* nil: nothing more */
        redisReply *entries = r->element[0]->element[1];
        got += (long)entries->elements;
        if (entries->elements && redis_ack(c, stream, entries, buf) != 0)
            break;
    }
    bench_report(got, t0);
    redisFree(c);
    arena_free(replies);
    free(buf);
    if (got < want)
        fprintf(stderr, "broker_bench: stream %s ended after %ld of %ld entries\n", stream, got, want);
    return got < want;
}

static amqp_connection_state_t rabbit_connect(const char *port)
{
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);
    if (!s || amqp_socket_open(s, "127.0.0.1", atoi(port)) != AMQP_STATUS_OK ||
        amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest").reply_type != AMQP_RESPONSE_NORMAL ||
        !amqp_channel_open(c, 1) || amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr, "broker_bench: cannot connect to rabbitmq on port %s\n", port);
        amqp_destroy_connection(c);
        return NULL;
    }
    return c;
}

static int rabbit_count(const char *port, const char *queue)
{
    amqp_connection_state_t c = rabbit_connect(port);
    if (!c)
        return 1;
    amqp_queue_declare_ok_t *ok = amqp_queue_declare(c, 1, amqp_cstring_bytes(queue), 1, 0, 0, 0, amqp_empty_table);
    if (ok)
        printf("%u\n", ok->message_count);
    amqp_destroy_connection(c);
    return ok == NULL;
}

static int rabbit_consume(const char *port, const char *queue, long want)
{
    amqp_connection_state_t c = rabbit_connect(port);
    if (!c)
        return 1;
    struct bench_clock t0 = bench_now();
    amqp_basic_qos(c, 1, 0, 1000, 0);
    amqp_basic_consume(c, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    long got = 0;
    struct timeval tv = {.tv_sec = 5};
    while (got < want && amqp_get_rpc_reply(c).reply_type == AMQP_RESPONSE_NORMAL) {
        amqp_envelope_t env;
        amqp_maybe_release_buffers(c);
        if (amqp_consume_message(c, &env, &tv, 0).reply_type != AMQP_RESPONSE_NORMAL)
            break;
        got++;
        if (got % 500 == 0 || got == want)
            amqp_basic_ack(c, 1, env.delivery_tag, 1);
        amqp_destroy_envelope(&env);
    }
    bench_report(got, t0);
    amqp_destroy_connection(c);
    if (got < want)
        fprintf(stderr, "broker_bench: queue %s gave %ld of %ld messages\n", queue, got, want);
    return got < want;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "redis-produce") == 0)
        return redis_produce(argv[2], argv[3]);
    if (argc == 5 && strcmp(argv[1], "redis-consume") == 0)
        return redis_consume(argv[2], argv[3], atol(argv[4]));
    if (argc == 5 && strcmp(argv[1], "rabbit-consume") == 0)
        return rabbit_consume(argv[2], argv[3], atol(argv[4]));
    if (argc == 4 && strcmp(argv[1], "rabbit-count") == 0)
        return rabbit_count(argv[2], argv[3]);
    fprintf(stderr, "usage: broker_bench redis-produce PORT STREAM < lines\n"
                    "       broker_bench redis-consume PORT STREAM N\n"
                    "       broker_bench rabbit-consume PORT QUEUE N\n"
                    "       broker_bench rabbit-count PORT QUEUE\n");
    return 2;
}
