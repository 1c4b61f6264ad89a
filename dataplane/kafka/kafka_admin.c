/* kafka_admin.c — names and creates the topics of Kafka-stored streams (see kafka_admin.h). */
#include "dataplane/kafka/kafka_admin.h"

#include <ctype.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"

#define KAFKA_ADMIN_TIMEOUT_MS 10000
/* A cluster without a controller in its metadata (the mock cluster has none, and no CreateTopics)
 * keeps a CreateTopics waiting for one: after this, auto-creation is tried. */
#define KAFKA_ADMIN_CREATE_TIMEOUT_MS 3000

void kafka_stream_topic(const char *tenant_id, const char *stream_id, char *out, size_t outsz)
{
    snprintf(out, outsz, "sluice-%s-%s", tenant_id, stream_id);
}

/* Whether s starts with a UUID (8-4-4-4-12 hex digits). */
static bool kafka_is_uuid(const char *s)
{
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

bool kafka_is_stream_topic(const char *topic)
{
    return topic && strlen(topic) == 7 + 36 + 1 + 36 && strncasecmp(topic, "sluice-", 7) == 0 &&
           kafka_is_uuid(topic + 7) && topic[7 + 36] == '-' && kafka_is_uuid(topic + 7 + 36 + 1);
}

/* librdkafka's log lines (its own "%3|<time>|FAIL|..." on stderr by default) through this
 * process's logger, as "kafka FAIL: ..." at the matching level, like every other line. */
static void kafka_log_line(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    enum log_level l = level <= 3 ? LOG_ERROR : level == 4 ? LOG_WARN : level <= 6 ? LOG_INFO : LOG_DEBUG;
    log_at(l, "kafka %s: %s", fac, buf);
}

/* A producer (the admin API runs on any client) on servers; NULL with err. */
static rd_kafka_t *kafka_admin_client(const char *servers, char *err, size_t errlen)
{
    char e[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, kafka_log_line);
    if (rd_kafka_conf_set(conf, "bootstrap.servers", servers, e, sizeof e) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "allow.auto.create.topics", "true", e, sizeof e) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "log.connection.close", "false", e, sizeof e) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka cluster %s: %s", servers, e);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
    if (!rk) {
        snprintf(err, errlen, "kafka cluster %s: %s", servers, e);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

/* Partition count of topic (0: no such topic), asking for it alone when auto_create (which lets
 * a broker that auto-creates topics create it), else for all topics; -1 with err. */
static int kafka_admin_partitions(rd_kafka_t *rk, const char *servers, const char *topic, int auto_create, char *err,
                                  size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = auto_create ? rd_kafka_topic_new(rk, topic, NULL) : NULL;
    rd_kafka_resp_err_t rc = rd_kafka_metadata(rk, rkt ? 0 : 1, rkt, &md, KAFKA_ADMIN_TIMEOUT_MS);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "cannot read the metadata of Kafka at %s: %s", servers, rd_kafka_err2str(rc));
        return -1;
    }
    int n = 0;
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, topic) == 0 && md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
            n = md->topics[i].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return n;
}

/* CreateTopics for topic; the result's error code (NO_ERROR, TOPIC_ALREADY_EXISTS, ...), with
 * its message in err. */
static rd_kafka_resp_err_t kafka_admin_create(rd_kafka_t *rk, const char *topic, int partitions, char *err,
                                              size_t errlen)
{
    char e[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, -1, e, sizeof e);
    if (!nt) {
        snprintf(err, errlen, "%s", e);
        return RD_KAFKA_RESP_ERR__INVALID_ARG;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(opt, KAFKA_ADMIN_CREATE_TIMEOUT_MS, e, sizeof e);
    rd_kafka_CreateTopics(rk, &nt, 1, opt, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, KAFKA_ADMIN_CREATE_TIMEOUT_MS + 2000);
    rd_kafka_resp_err_t rc = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
    snprintf(err, errlen, "%s", ev && rc ? rd_kafka_event_error_string(ev) : rd_kafka_err2str(rc));
    const rd_kafka_CreateTopics_result_t *res = ev && !rc ? rd_kafka_event_CreateTopics_result(ev) : NULL;
    size_t n = 0;
    const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
    if (tr && n == 1 && (rc = rd_kafka_topic_result_error(tr[0])) != RD_KAFKA_RESP_ERR_NO_ERROR)
        snprintf(err, errlen, "%s",
                 rd_kafka_topic_result_error_string(tr[0]) ? rd_kafka_topic_result_error_string(tr[0])
                                                           : rd_kafka_err2str(rc));
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

int kafka_topic_ensure(const char *servers, const char *topic, int partitions, int *actual, char *err, size_t errlen)
{
    if (!servers || !*servers) {
        snprintf(err, errlen, "no Kafka cluster is configured (--kafka-bootstrap-servers)");
        return -1;
    }
    rd_kafka_t *rk = kafka_admin_client(servers, err, errlen);
    if (!rk)
        return -1;
    int n = kafka_admin_partitions(rk, servers, topic, 0, err, errlen);
    if (n == 0) {
        char e[512];
        rd_kafka_resp_err_t rc = kafka_admin_create(rk, topic, partitions > 0 ? partitions : 1, e, sizeof e);
        if (rc == RD_KAFKA_RESP_ERR_NO_ERROR || rc == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            n = kafka_admin_partitions(rk, servers, topic, 0, err, errlen);
        else /* no admin API (the mock cluster): auto-creation, if the cluster allows it */
            n = kafka_admin_partitions(rk, servers, topic, 1, err, errlen);
        if (n == 0)
            snprintf(err, errlen, "cannot create kafka topic \"%s\" at %s: %s", topic, servers, e);
    }
    rd_kafka_destroy(rk);
    if (n <= 0)
        return -1;
    if (actual)
        *actual = n;
    return 0;
}
