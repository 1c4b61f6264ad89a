/* kafka_mock — a Kafka cluster for integration tests (librdkafka's mock cluster, the real
 * protocol), and a producer and a reader of JSON lines through the Kafka stream backend.
 *
 *   kafka_mock serve TOPIC[:PARTITIONS]...    creates the topics (1 partition by default),
 *                                             prints the bootstrap servers on stdout and runs
 *                                             until SIGTERM or SIGINT
 *   kafka_mock produce SERVERS TOPIC [PART]   one record per stdin line (partition 0 by default),
 *                                             all delivered before it exits
 *   kafka_mock consume SERVERS TOPIC          prints every record up to the end offsets, one per
 *                                             line, partition after partition
 * Exit status 0, or 1 with a message on stderr. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/kafka/kafka.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig) { stop = 1; }

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
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mock));
    fflush(stdout);
    while (!stop)
        pause();
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
    struct stream_property props[] = {{"properties.bootstrap.servers", servers}};
    char err[512];
    int parts;
    if (kb->partitions(topic, 0, props, 1, &parts, err, sizeof err) != 0)
        goto fail;
    for (int p = 0; p < parts; p++) {
        void *r;
        uint64_t at = 0, end;
        if (kb->open_reader(topic, p, 0, props, 1, &r, err, sizeof err) != 0)
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

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return serve(argc - 2, argv + 2);
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "produce") == 0)
        return produce(argv[2], argv[3], argc == 5 ? atoi(argv[4]) : 0);
    if (argc == 4 && strcmp(argv[1], "consume") == 0)
        return consume(argv[2], argv[3]);
    fprintf(stderr, "usage: kafka_mock serve TOPIC[:PARTITIONS]...\n"
                    "       kafka_mock produce SERVERS TOPIC [PARTITION] < lines\n"
                    "       kafka_mock consume SERVERS TOPIC\n");
    return 2;
}
