/* kafka_mock — a Kafka cluster for integration tests (librdkafka's mock cluster, the real
 * protocol), and a producer and a reader of JSON lines through the Kafka stream backend.
 *
 *   kafka_mock serve TOPIC[:PARTITIONS]...    creates the topics (1 partition by default),
 *                                             prints the bootstrap servers on stdout and runs
 *                                             until SIGTERM or SIGINT; SIGUSR1 makes the
 *                                             next EndTxn (a transaction's commit) fail
 *   kafka_mock produce SERVERS TOPIC [PART]   one record per stdin line (partition 0 by default),
 *                                             all delivered before it exits
 *   kafka_mock consume SERVERS TOPIC          prints every record up to the end offsets, one per
 *                                             line, partition after partition (read_committed)
 *   kafka_mock headers SERVERS TOPIC          raw librdkafka, apart from the backend: prints each
 *                                             record of partition 0 as "TIMESTAMP_MS<TAB>headers<TAB>
 *                                             value", headers as name=value;... (a null value as
 *                                             name, bytes outside printable ASCII as \xHH)
 *   kafka_mock records SERVERS TOPIC          as headers, with the key first: "KEY<TAB>TIMESTAMP_MS<TAB>
 *                                             headers<TAB>value" (no key: an empty KEY)
 *   kafka_mock produce-meta SERVERS TOPIC     raw librdkafka: one record per stdin line "KEY<TAB>
 *                                             TIMESTAMP_MS<TAB>name=value;...<TAB>value" to
 *                                             partition 0 (an empty KEY or headers: none)
 *   kafka_mock bench-produce SERVERS TOPIC P  raw librdkafka (make bench's baseline): produces
 *                                             stdin's lines round-robin to partitions 0..P-1 (an
 *                                             idempotent producer, as the sink's), all delivered
 *   kafka_mock bench-consume SERVERS TOPIC P N   raw librdkafka: consumes N records from
 *                                             partitions 0..P-1 through one queue (the mock
 *                                             keeps about 5 MB a partition: spread the records)
 *                            the bench commands print "RECORDS CPU_SECONDS WALL_SECONDS" of the
 *                            timed part (getrusage of the process, every librdkafka thread in)
 * Exit status 0, or 1 with a message on stderr. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/kafka/kafka.h"

#define KAFKA_API_END_TXN 26 /* the Kafka protocol's EndTxn request */

static volatile sig_atomic_t stop, fail_commit;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        fail_commit = 1;
    else
        stop = 1;
}

static int serve(int argc, char **argv)
{
    char e[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", e, sizeof e);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
    rd_kafka_mock_cluster_t *mock = rk ? rd_kafka_mock_cluster_new(rk, 1) : NULL;
    if (!mock) {
        fprintf(stderr, "kafka_mock: cannot start a mock cluster: %s\n", rk ? "rd_kafka_mock_cluster_new failed" : e);
        return 1;
    }
    for (int i = 0; i < argc; i++) {
        char topic[256];
        int partitions = 1;
        snprintf(topic, sizeof topic, "%s", argv[i]);
        char *colon = strchr(topic, ':');
        if (colon) {
            *colon = '\0';
            partitions = atoi(colon + 1);
        }
        rd_kafka_resp_err_t rc = rd_kafka_mock_topic_create(mock, topic, partitions, 1);
        if (partitions < 1 || rc) {
            fprintf(stderr, "kafka_mock: cannot create topic %s: %s\n", argv[i], rd_kafka_err2str(rc));
            return 1;
        }
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mock));
    fflush(stdout);
    while (!stop) {
        pause();
        if (fail_commit) { /* a coordinator that cannot complete the commit, as a broker crashing in it */
            fail_commit = 0;
            rd_kafka_mock_push_request_errors(mock, KAFKA_API_END_TXN, 1, RD_KAFKA_RESP_ERR_INVALID_TXN_STATE);
        }
    }
    rd_kafka_mock_cluster_destroy(mock);
    rd_kafka_destroy(rk);
    return 0;
}

static int produce(const char *servers, const char *topic, int partition)
{
    const struct stream_backend *kb = &kafka_stream_backend;
    struct stream_property props[] = {{"properties.bootstrap.servers", servers}};
    char err[512];
    void *w;
    if (kb->open_writer(topic, partition, props, 1, &w, err, sizeof err) != 0) {
        fprintf(stderr, "kafka_mock: %s\n", err);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, stdin)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            n--;
        rc = kb->append(w, line, (uint32_t)n, err, sizeof err);
    }
    free(line);
    if (rc == 0)
        rc = kb->flush(w, true, err, sizeof err);
    kb->close_writer(w);
    if (rc != 0)
        fprintf(stderr, "kafka_mock: %s\n", err);
    return rc != 0;
}

static int consume(const char *servers, const char *topic)
{
    const struct stream_backend *kb = &kafka_stream_backend;
    struct stream_property props[] = {{"properties.bootstrap.servers", servers},
                                      {"properties.isolation.level", "read_committed"}};
    char err[512];
    int parts;
    if (kb->partitions(topic, 0, props, 1, &parts, err, sizeof err) != 0)
        goto fail;
    for (int p = 0; p < parts; p++) {
        void *r;
        uint64_t at = 0, end;
        if (kb->open_reader(topic, p, 0, props, 2, &r, err, sizeof err) != 0)
            goto fail;
        if (kb->start_offset(r, &at, err, sizeof err) != 0 || kb->end_offset(r, &end, err, sizeof err) != 0) {
            kb->close_reader(r);
            goto fail;
        }
        struct stream_record recs[256];
        while (at < end) {
            int n = kb->read(r, recs, 256, err, sizeof err);
            if (n < 0) {
                kb->close_reader(r);
                goto fail;
            }
            for (int i = 0; i < n; i++) {
                fwrite(recs[i].data, 1, recs[i].len, stdout);
                fputc('\n', stdout);
                at = recs[i].offset + 1;
            }
        }
        kb->close_reader(r);
    }
    return fflush(stdout) != 0;
fail:
    fprintf(stderr, "kafka_mock: %s\n", err);
    return 1;
}

/* s[n] with bytes outside printable ASCII (and '\\', ';', '=') as \xHH. */
static void print_escaped(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '\\' || s[i] == ';' || s[i] == '=')
            printf("\\x%02x", s[i]);
        else
            putchar(s[i]);
}

static void print_headers(const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *hdrs;
    const char *name;
    const void *value;
    size_t size;
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == 0; i++) {
        printf("%s%s", i ? ";" : "", name);
        if (value) {
            putchar('=');
            print_escaped(value, size);
        }
    }
}

static int headers(const char *servers, const char *topic, int with_key)
{
    char e[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", servers, e, sizeof e) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", e, sizeof e) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kafka_mock: %s\n", e);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
    rd_kafka_topic_t *rkt = rk ? rd_kafka_topic_new(rk, topic, NULL) : NULL;
    if (!rkt || rd_kafka_consume_start(rkt, 0, RD_KAFKA_OFFSET_BEGINNING) != 0) {
        fprintf(stderr, "kafka_mock: cannot read %s: %s\n", topic, rk ? rd_kafka_err2str(rd_kafka_last_error()) : e);
        return 1;
    }
    int rc = 0;
    for (;;) {
        rd_kafka_message_t *m = rd_kafka_consume(rkt, 0, 10000);
        rd_kafka_resp_err_t err = m ? m->err : RD_KAFKA_RESP_ERR__TIMED_OUT;
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (with_key)
                printf("%.*s\t", (int)m->key_len, m->key ? (const char *)m->key : "");
            printf("%" PRId64 "\t", rd_kafka_message_timestamp(m, NULL));
            print_headers(m);
            printf("\t%.*s\n", (int)m->len, (const char *)m->payload);
        } else if (err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fprintf(stderr, "kafka_mock: %s\n", rd_kafka_err2str(err));
            rc = 1;
        }
        if (m)
            rd_kafka_message_destroy(m);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
    }
    rd_kafka_consume_stop(rkt, 0);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return rc;
}

/* "name=value;name2=value2" (a name alone: a null value) into new headers. */
static rd_kafka_headers_t *parse_headers(char *text)
{
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(4);
    for (char *save = NULL, *h = strtok_r(text, ";", &save); h; h = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(h, '=');
        if (eq)
            *eq = '\0';
        rd_kafka_header_add(hdrs, h, -1, eq ? eq + 1 : NULL, eq ? -1 : 0);
    }
    return hdrs;
}

/* One stdin line "KEY<TAB>TS<TAB>HEADERS<TAB>VALUE" produced with rk to topic's partition 0. */
static int produce_meta_line(rd_kafka_t *rk, const char *topic, char *line)
{
    char *f[4] = {line};
    for (int i = 1; i < 4; i++) {
        char *tab = f[i - 1] ? strchr(f[i - 1], '\t') : NULL;
        f[i] = tab ? (*tab = '\0', tab + 1) : NULL;
    }
    if (!f[3]) {
        fprintf(stderr, "kafka_mock: want KEY<TAB>TIMESTAMP_MS<TAB>HEADERS<TAB>VALUE, not %s\n", line);
        return 1;
    }
    rd_kafka_headers_t *hdrs = parse_headers(f[2]);
    rd_kafka_resp_err_t rc = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(*f[0] ? f[0] : NULL, strlen(f[0])), RD_KAFKA_V_VALUE(f[3], strlen(f[3])),
        RD_KAFKA_V_TIMESTAMP(strtoll(f[1], NULL, 10)), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(hdrs);
        fprintf(stderr, "kafka_mock: cannot produce: %s\n", rd_kafka_err2str(rc));
        return 1;
    }
    return 0;
}

static int produce_meta(const char *servers, const char *topic)
{
    char e[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", servers, e, sizeof e) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kafka_mock: %s\n", e);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
    if (!rk) {
        fprintf(stderr, "kafka_mock: %s\n", e);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, stdin)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            line[n - 1] = '\0';
        rc = produce_meta_line(rk, topic, line);
    }
    free(line);
    if (rd_kafka_flush(rk, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "kafka_mock: records not delivered\n");
        rc = 1;
    }
    rd_kafka_destroy(rk);
    return rc;
}

/* ---------------------------------------------------------------- bench */

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

static rd_kafka_t *bench_client(rd_kafka_type_t type, const char *servers)
{
    char e[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", servers, e, sizeof e) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, type == RD_KAFKA_PRODUCER ? "enable.idempotence" : "enable.partition.eof", "true", e,
                          sizeof e) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kafka_mock: %s\n", e);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, e, sizeof e);
    if (!rk)
        fprintf(stderr, "kafka_mock: %s\n", e);
    return rk;
}

/* stdin's lines in memory first, so that only producing is timed */
static int bench_produce(const char *servers, const char *topic, int partitions)
{
    size_t n = 0, cap = 0;
    char **lines = NULL, *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, stdin)) >= 0) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            char **more = realloc(lines, cap * sizeof *lines);
            if (!more) {
                fprintf(stderr, "kafka_mock: out of memory\n");
                return 1; /* exits: the lines go with the process */
            }
            lines = more;
        }
        if (len > 0 && line[len - 1] == '\n')
            line[len - 1] = '\0';
        lines[n++] = strdup(line);
    }
    free(line);
    rd_kafka_t *rk = bench_client(RD_KAFKA_PRODUCER, servers);
    if (!rk)
        return 1;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    struct bench_clock t0 = bench_now();
    for (size_t i = 0; i < n; i++) {
        while (rd_kafka_produce(rkt, (int32_t)(i % (size_t)partitions), RD_KAFKA_MSG_F_FREE, lines[i], strlen(lines[i]),
                                NULL, 0, NULL) != 0)
            rd_kafka_poll(rk, 10); /* the local queue is full */
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_resp_err_t rc = rd_kafka_flush(rk, 120000);
    bench_report((long)n, t0);
    free(lines);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    if (rc)
        fprintf(stderr, "kafka_mock: not all delivered: %s\n", rd_kafka_err2str(rc));
    return rc != 0;
}

static int bench_consume(const char *servers, const char *topic, int partitions, long want)
{
    rd_kafka_t *rk = bench_client(RD_KAFKA_CONSUMER, servers);
    if (!rk)
        return 1;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    struct bench_clock t0 = bench_now();
    long got = 0;
    int rc = 0, eofs = 0;
    for (int p = 0; p < partitions && rc == 0; p++)
        rc = rd_kafka_consume_start_queue(rkt, p, RD_KAFKA_OFFSET_BEGINNING, q);
    rd_kafka_message_t *batch[1024];
    while (rc == 0 && got < want && eofs < partitions) {
        ssize_t n = rd_kafka_consume_batch_queue(q, 1000, batch, 1024);
        for (ssize_t i = 0; i < n; i++) {
            got += batch[i]->err == RD_KAFKA_RESP_ERR_NO_ERROR;
            eofs += batch[i]->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
            rd_kafka_message_destroy(batch[i]);
        }
        rc = n < 0 ? -1 : rc;
    }
    bench_report(got, t0);
    for (int p = 0; p < partitions; p++)
        rd_kafka_consume_stop(rkt, p);
    rd_kafka_queue_destroy(q);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    if (got < want)
        fprintf(stderr, "kafka_mock: the topic ended after %ld of %ld records\n", got, want);
    return got < want;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return serve(argc - 2, argv + 2);
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "produce") == 0)
        return produce(argv[2], argv[3], argc == 5 ? atoi(argv[4]) : 0);
    if (argc == 4 && strcmp(argv[1], "consume") == 0)
        return consume(argv[2], argv[3]);
    if (argc == 4 && (strcmp(argv[1], "headers") == 0 || strcmp(argv[1], "records") == 0))
        return headers(argv[2], argv[3], strcmp(argv[1], "records") == 0);
    if (argc == 4 && strcmp(argv[1], "produce-meta") == 0)
        return produce_meta(argv[2], argv[3]);
    if (argc == 5 && strcmp(argv[1], "bench-produce") == 0 && atoi(argv[4]) > 0)
        return bench_produce(argv[2], argv[3], atoi(argv[4]));
    if (argc == 6 && strcmp(argv[1], "bench-consume") == 0 && atoi(argv[4]) > 0)
        return bench_consume(argv[2], argv[3], atoi(argv[4]), atol(argv[5]));
    fprintf(stderr, "usage: kafka_mock serve TOPIC[:PARTITIONS]...\n"
                    "       kafka_mock produce SERVERS TOPIC [PARTITION] < lines\n"
                    "       kafka_mock consume SERVERS TOPIC\n"
                    "       kafka_mock headers|records SERVERS TOPIC\n"
                    "       kafka_mock produce-meta SERVERS TOPIC < KEY<TAB>TS<TAB>HEADERS<TAB>VALUE lines\n"
                    "       kafka_mock bench-produce SERVERS TOPIC PARTITIONS < lines\n"
                    "       kafka_mock bench-consume SERVERS TOPIC PARTITIONS N\n");
    return 2;
}
