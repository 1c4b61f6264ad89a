/* cluster_test.c — unit tests of cluster mode (README "Streams stored in Kafka") against
 * librdkafka's mock cluster: the topics of Kafka-stored streams (kafka_admin), the replay dedup
 * that keeps a restarted task from writing its sink's tail again (sink_replay), and the task
 * spec's fields for such streams. */
#include <check.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <string.h>

#include "common/task_spec.h"
#include "dataplane/kafka/kafka.h"
#include "dataplane/kafka/kafka_admin.h"
#include "dataplane/sink_replay.h"
#include "tests/unit/check_main.h"

static rd_kafka_t *mock_rk;
static rd_kafka_mock_cluster_t *mock;
static const char *servers;
static struct stream_property props[2];
static char err[600];
static const struct stream_backend *kb = &kafka_stream_backend;

/* Runs in each test's own process: a fresh cluster with topic "out" (2 partitions). */
static void setup(void)
{
    char e[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(conf, "log_level", "0", e, sizeof e), RD_KAFKA_CONF_OK);
    mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
    ck_assert_ptr_nonnull(mock_rk);
    mock = rd_kafka_mock_cluster_new(mock_rk, 1);
    ck_assert_ptr_nonnull(mock);
    ck_assert_int_eq(rd_kafka_mock_topic_create(mock, "out", 2, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    servers = rd_kafka_mock_cluster_bootstraps(mock);
    props[0] = (struct stream_property){"properties.bootstrap.servers", servers};
    props[1] = (struct stream_property){"format", "json"};
}

/* The cluster destroyed before the test's process exits: a process that ends while its client
 * threads are still starting leaves allocations LeakSanitizer reports. */
static void teardown(void)
{
    rd_kafka_mock_cluster_destroy(mock);
    rd_kafka_destroy(mock_rk);
}

/* {"id":i} for i in [from, to) appended to partition (task index) of "out". */
static void write_ids(int partition, int from, int to)
{
    void *w;
    ck_assert_msg(kb->open_writer("out", partition, props, 2, &w, err, sizeof err) == 0, "%s", err);
    for (int i = from; i < to; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "{\"id\":%d}", i);
        ck_assert_msg(kb->append(w, buf, (uint32_t)n, err, sizeof err) == 0, "%s", err);
    }
    ck_assert_msg(kb->flush(w, true, err, sizeof err) == 0, "%s", err);
    kb->close_writer(w);
}

/* What the replay does with the row {"id":id}: 1 skip, 0 write. */
static int replay_row(struct sink_replay *sr, int id)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "{\"id\":%d}", id);
    int rc = sink_replay_skip(sr, ROW_INSERT, buf, (size_t)n, err, sizeof err);
    ck_assert_msg(rc >= 0, "%s", err);
    return rc;
}

START_TEST(test_topic_name)
{
    char topic[256];
    kafka_stream_topic("0b6f2a4e-0000-4000-8000-000000000001", "5d1c7a3e-0000-4000-8000-000000000002", topic,
                       sizeof topic);
    ck_assert_str_eq(topic, "sluice-0b6f2a4e-0000-4000-8000-000000000001-5d1c7a3e-0000-4000-8000-000000000002");
}
END_TEST

START_TEST(test_topic_ensure)
{
    int n = 0;
    /* an existing topic: its partition count, nothing created */
    ck_assert_msg(kafka_topic_ensure(servers, "out", 1, &n, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(n, 2);
    /* a new one: the mock cluster has no CreateTopics, so it is auto-created */
    ck_assert_msg(kafka_topic_ensure(servers, "sluice-t-s", 1, &n, err, sizeof err) == 0, "%s", err);
    ck_assert_int_ge(n, 1);
    int again = 0;
    ck_assert_msg(kafka_topic_ensure(servers, "sluice-t-s", 1, &again, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(again, n);
    /* and the stream backend finds it */
    int count = 0;
    ck_assert_msg(kb->partitions("sluice-t-s", 0, props, 2, &count, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(count, n);
}
END_TEST

START_TEST(test_topic_ensure_errors)
{
    ck_assert_int_eq(kafka_topic_ensure(NULL, "x", 1, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "--kafka-bootstrap-servers") != NULL, "%s", err);
}
END_TEST

/* The tail written after the checkpoint, replayed in the same order: all of it skipped, and
 * what comes after the tail written. */
START_TEST(test_replay_same_order)
{
    write_ids(1, 0, 5); /* before the checkpoint */
    struct sink_replay *sr = sink_replay_new(kb, "out", 1, props, 2, err, sizeof err);
    ck_assert_msg(sr != NULL, "%s", err);
    uint64_t end, tail;
    ck_assert_msg(sink_replay_end(sr, &end, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(end, 5);
    write_ids(1, 5, 9); /* after it, then a crash */
    ck_assert_msg(sink_replay_start(sr, end, &tail, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(tail, 4);
    ck_assert(sink_replay_active(sr));
    for (int id = 5; id < 9; id++)
        ck_assert_int_eq(replay_row(sr, id), 1);
    ck_assert_int_eq(replay_row(sr, 9), 0); /* past the tail */
    ck_assert(!sink_replay_active(sr));
    ck_assert_int_eq(replay_row(sr, 10), 0);
    ck_assert_uint_eq(sink_replay_skipped(sr), 4);
    sink_replay_free(sr);
}
END_TEST

/* A replay that differs from the tail skips only the equal prefix and writes the rest. */
START_TEST(test_replay_differs)
{
    write_ids(0, 0, 3);
    write_ids(0, 3, 7);                                                                /* the tail: 3, 4, 5, 6 */
    struct sink_replay *sr = sink_replay_new(kb, "out", 2, props, 2, err, sizeof err); /* task 2: partition 0 */
    ck_assert_msg(sr != NULL, "%s", err);
    uint64_t tail;
    ck_assert_msg(sink_replay_start(sr, 3, &tail, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(tail, 4);
    ck_assert_int_eq(replay_row(sr, 3), 1);
    ck_assert_int_eq(replay_row(sr, 5), 0); /* 4 was next: replaying is over */
    ck_assert_int_eq(replay_row(sr, 4), 0); /* written, though the tail has it: at-least-once */
    ck_assert_uint_eq(sink_replay_skipped(sr), 1);
    /* another kind with the same bytes is not the same record */
    struct sink_replay *again = sink_replay_new(kb, "out", 0, props, 2, err, sizeof err);
    ck_assert_msg(again != NULL, "%s", err);
    ck_assert_msg(sink_replay_start(again, 3, &tail, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(sink_replay_skip(again, ROW_DELETE, "{\"id\":3}", 8, err, sizeof err), 0);
    sink_replay_free(again);
    sink_replay_free(sr);
}
END_TEST

/* A checkpoint at the partition's end: nothing to compare, everything written. */
START_TEST(test_replay_nothing_after)
{
    write_ids(1, 0, 3);
    struct sink_replay *sr = sink_replay_new(kb, "out", 1, props, 2, err, sizeof err);
    ck_assert_msg(sr != NULL, "%s", err);
    uint64_t tail = 99;
    ck_assert_msg(sink_replay_start(sr, 3, &tail, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(tail, 0);
    ck_assert(!sink_replay_active(sr));
    ck_assert_int_eq(replay_row(sr, 3), 0);
    sink_replay_free(sr);
    sink_replay_free(NULL);
    /* a topic that is not there */
    ck_assert_ptr_null(sink_replay_new(kb, "nosuch", 0, props, 2, err, sizeof err));
    ck_assert_msg(strstr(err, "nosuch") != NULL, "%s", err);
}
END_TEST

/* A stream's topic and the cluster travel in the task spec, and back. */
START_TEST(test_spec_fields)
{
    json_t *js = json_loads("{\"task_id\":\"t\",\"kind\":\"pipeline\",\"data_dir\":\"/d\",\"sql\":\"x\","
                            "\"kafka_bootstrap_servers\":\"k:9092\",\"streams\":[{\"name\":\"a\",\"dir\":\"s/a\","
                            "\"schema\":{},\"topic\":\"sluice-t-a\"},{\"name\":\"b\",\"dir\":\"s/b\",\"schema\":{}}]}",
                            0, NULL);
    ck_assert_ptr_nonnull(js);
    struct task_spec spec;
    ck_assert_msg(task_spec_from_json(js, &spec, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(spec.kafka_bootstrap_servers, "k:9092");
    ck_assert_str_eq(spec.streams[0].topic, "sluice-t-a");
    ck_assert_ptr_null(spec.streams[1].topic);
    json_t *back = task_spec_to_json(&spec);
    ck_assert_str_eq(json_string_value(json_object_get(back, "kafka_bootstrap_servers")), "k:9092");
    json_t *streams = json_object_get(back, "streams");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(streams, 0), "topic")), "sluice-t-a");
    ck_assert_ptr_null(json_object_get(json_array_get(streams, 1), "topic"));
    json_decref(back);
    task_spec_free(&spec);
    /* an empty topic is refused */
    json_object_set_new(json_array_get(json_object_get(js, "streams"), 1), "topic", json_string(""));
    ck_assert_int_eq(task_spec_from_json(js, &spec, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "topic") != NULL, "%s", err);
    json_decref(js);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cluster");
    TCase *plain = tcase_create("plain"); /* no cluster */
    tcase_add_test(plain, test_topic_name);
    tcase_add_test(plain, test_topic_ensure_errors);
    tcase_add_test(plain, test_spec_fields);
    suite_add_tcase(s, plain);
    TCase *tc = tcase_create("mock cluster");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_topic_ensure);
    tcase_add_test(tc, test_replay_same_order);
    tcase_add_test(tc, test_replay_differs);
    tcase_add_test(tc, test_replay_nothing_after);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
