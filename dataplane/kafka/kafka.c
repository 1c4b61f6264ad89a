/* kafka.c — the Kafka stream backend over librdkafka (see kafka.h): metadata, a legacy
 * per-partition consumer per reader, an idempotent producer per writer. */
#include "dataplane/kafka/kafka.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/codec/debezium.h"

#define KAFKA_PROPERTY_PREFIX "properties."
#define KAFKA_METADATA_TIMEOUT_MS 10000
#define KAFKA_WATERMARK_TIMEOUT_MS 10000
#define KAFKA_POLL_MS 10             /* a read waits this long for records */
#define KAFKA_FLUSH_TIMEOUT_MS 60000 /* a synchronous flush gives up after this */
#define KAFKA_BATCH_MAX 1024

/* ---------------------------------------------------------------- options */

static const char *const kafka_formats[] = {"json", "debezium-json", NULL};
static const char *const kafka_startup_modes[] = {"earliest-offset", "latest-offset", NULL};

/* The options of a Kafka stream, one row each. */
static const struct option_row kafka_options[] = {
    {.name = "connector", .type = OPTION_STRING, .flags = OPTION_HIDDEN},
    /* required of a connection: the worker's location property; `sluiced run` names the topic */
    {.name = "topic", .type = OPTION_STRING, .flags = OPTION_REQUIRED, .help = "the topic"},
    {.name = "format", .type = OPTION_ENUM, .def = "json", .values = kafka_formats},
    {.name = "scan.startup.mode",
     .type = OPTION_ENUM,
     .def = "earliest-offset",
     .values = kafka_startup_modes,
     .help = "where a source starts without a checkpoint"},
    /* librdkafka settings; kafka_client_new passes them to librdkafka, which checks them */
    {.name = KAFKA_PROPERTY_PREFIX "bootstrap.servers",
     .type = OPTION_STRING,
     .flags = OPTION_REQUIRED,
     .help = "host:port of the brokers"},
    {.name = KAFKA_PROPERTY_PREFIX, .type = OPTION_STRING, .flags = OPTION_PREFIX, .help = "a librdkafka setting"},
};
static const struct option_table kafka_option_table = OPTION_TABLE("kafka", kafka_options);

/* Every key and value against the table (required options are checked by the API, and by
 * kafka_client_new and the worker with messages of their own). */
static int kafka_check_options(const struct stream_property *props, int nprops, char *err, size_t errlen)
{
    for (int i = 0; i < nprops; i++)
        if (option_check(&kafka_option_table, props[i].key, props[i].value, err, errlen) != 0)
            return -1;
    return 0;
}

/* Settings a client gets before the user's properties.*, which win. */
struct kafka_default {
    const char *key, *value;
};

/* A client of the given type from the stream's properties on top of defaults[ndefaults]; opaque
 * and on_delivery (may be NULL) go to its configuration. NULL with err on bad options. */
static rd_kafka_t *kafka_client_new(rd_kafka_type_t type, const struct stream_property *props, int nprops,
                                    const struct kafka_default *defaults, int ndefaults, void *opaque,
                                    void (*on_delivery)(rd_kafka_t *, const rd_kafka_message_t *, void *), char *err,
                                    size_t errlen)
{
    char e[512];
    if (kafka_check_options(props, nprops, err, errlen) != 0)
        return NULL;
    const char *servers = stream_property_get(props, nprops, KAFKA_PROPERTY_PREFIX "bootstrap.servers");
    if (!servers || !*servers) {
        snprintf(err, errlen, "a kafka stream needs 'properties.bootstrap.servers' (host:port of the brokers)");
        return NULL;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    for (int i = 0; i < ndefaults; i++)
        if (rd_kafka_conf_set(conf, defaults[i].key, defaults[i].value, e, sizeof e) != RD_KAFKA_CONF_OK)
            goto bad;
    for (int i = 0; i < nprops; i++) {
        if (strncmp(props[i].key, KAFKA_PROPERTY_PREFIX, strlen(KAFKA_PROPERTY_PREFIX)) != 0)
            continue;
        const char *key = props[i].key + strlen(KAFKA_PROPERTY_PREFIX);
        if (rd_kafka_conf_set(conf, key, props[i].value, e, sizeof e) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka property \"%s\": %s", props[i].key, e);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    if (on_delivery)
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, opaque);
    rd_kafka_t *rk = rd_kafka_new(type, conf, e, sizeof e);
    if (rk)
        return rk; /* rd_kafka_new took conf */
bad:
    snprintf(err, errlen, "kafka configuration: %s", e);
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* Partition count of topic through rk; -1 with err when it does not exist or cannot be read. */
static int kafka_topic_partitions(rd_kafka_t *rk, const char *topic, const char *servers, char *err, size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    /* all topics: asking for one could make the broker auto-create it */
    rd_kafka_resp_err_t rc = rd_kafka_metadata(rk, 1, NULL, &md, KAFKA_METADATA_TIMEOUT_MS);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "cannot read the metadata of Kafka at %s: %s", servers, rd_kafka_err2str(rc));
        return -1;
    }
    int n = -1;
    for (int i = 0; i < md->topic_cnt && n < 0; i++) {
        if (strcmp(md->topics[i].topic, topic) != 0)
            continue;
        if (md->topics[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, errlen, "kafka topic \"%s\": %s", topic, rd_kafka_err2str(md->topics[i].err));
            rd_kafka_metadata_destroy(md);
            return -1;
        }
        n = md->topics[i].partition_cnt;
    }
    rd_kafka_metadata_destroy(md);
    if (n <= 0)
        snprintf(err, errlen,
                 "kafka topic \"%s\" does not exist at %s (sluice does not create topics: create it in Kafka first)",
                 topic, servers);
    return n;
}

static const char *kafka_servers(const struct stream_property *props, int nprops)
{
    return stream_property_get(props, nprops, KAFKA_PROPERTY_PREFIX "bootstrap.servers");
}

static int kafka_partitions(const char *topic, int create, const struct stream_property *props, int nprops, int *count,
                            char *err, size_t errlen)
{
    if (!topic || !*topic) {
        snprintf(err, errlen, "a kafka stream needs a 'topic'");
        return -1;
    }
    rd_kafka_t *rk = kafka_client_new(RD_KAFKA_PRODUCER, props, nprops, NULL, 0, NULL, NULL, err, errlen);
    if (!rk)
        return -1;
    int n = kafka_topic_partitions(rk, topic, kafka_servers(props, nprops), err, errlen);
    rd_kafka_destroy(rk);
    if (n < 0)
        return -1;
    *count = n;
    return 0;
}

/* The client *rk (made as kafka_client_new does) and the handle *rkt of an existing topic with
 * its partition count. On failure returns -1 with err, and whatever was made in *rk. */
static int kafka_topic_open(rd_kafka_type_t type, const char *topic, const struct stream_property *props, int nprops,
                            const struct kafka_default *defaults, int ndefaults, void *opaque,
                            void (*on_delivery)(rd_kafka_t *, const rd_kafka_message_t *, void *), rd_kafka_t **rk,
                            rd_kafka_topic_t **rkt, int *partitions, char *err, size_t errlen)
{
    *rk = kafka_client_new(type, props, nprops, defaults, ndefaults, opaque, on_delivery, err, errlen);
    if (!*rk)
        return -1;
    *partitions = kafka_topic_partitions(*rk, topic, kafka_servers(props, nprops), err, errlen);
    if (*partitions < 0)
        return -1;
    *rkt = rd_kafka_topic_new(*rk, topic, NULL);
    if (!*rkt) {
        snprintf(err, errlen, "kafka topic \"%s\": %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- readers */

struct kafka_reader {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    char *topic;
    int32_t partition;
    int64_t offset; /* where consumption starts */
    bool started, latest;
    rd_kafka_message_t *batch[KAFKA_BATCH_MAX]; /* the last read's messages, owned */
    ssize_t nbatch;
    bool debezium;                             /* format debezium-json: decode change events */
    struct debezium_row rows[KAFKA_BATCH_MAX]; /* the last read's decoded rows, owned */
    int nrows;
    char *failed; /* an event that could not be decoded after good ones: the next read's error */
};

/* format = 'debezium-json' in props. */
static bool kafka_debezium(const struct stream_property *props, int nprops)
{
    const char *format = stream_property_get(props, nprops, "format");
    return format && strcmp(format, "debezium-json") == 0;
}

static void kafka_reader_release_batch(struct kafka_reader *kr)
{
    for (ssize_t i = 0; i < kr->nbatch; i++)
        rd_kafka_message_destroy(kr->batch[i]);
    kr->nbatch = 0;
    for (int i = 0; i < kr->nrows; i++)
        free(kr->rows[i].text);
    kr->nrows = 0;
}

static void kafka_close_reader(void *reader)
{
    struct kafka_reader *kr = reader;
    if (!kr)
        return;
    kafka_reader_release_batch(kr);
    free(kr->failed);
    if (kr->started)
        rd_kafka_consume_stop(kr->rkt, kr->partition);
    if (kr->rkt)
        rd_kafka_topic_destroy(kr->rkt);
    if (kr->rk)
        rd_kafka_destroy(kr->rk);
    free(kr->topic);
    free(kr);
}

static int kafka_open_reader(const char *topic, int partition, uint64_t offset, const struct stream_property *props,
                             int nprops, void **reader, char *err, size_t errlen)
{
    struct kafka_reader *kr = calloc(1, sizeof *kr);
    if (!kr || !(kr->topic = strdup(topic ? topic : ""))) {
        free(kr);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    kr->partition = partition;
    kr->offset = (int64_t)offset;
    const char *mode = stream_property_get(props, nprops, "scan.startup.mode");
    kr->latest = mode && strcmp(mode, "latest-offset") == 0;
    kr->debezium = kafka_debezium(props, nprops);
    /* a resumed offset that retention has deleted is an error, not a silent jump (a property
     * may still say otherwise) */
    static const struct kafka_default defaults[] = {
        {"auto.offset.reset", "error"},
        {"enable.partition.eof", "false"},
        {"log.connection.close", "false"},
    };
    int n;
    if (kafka_topic_open(RD_KAFKA_CONSUMER, topic, props, nprops, defaults, (int)(sizeof defaults / sizeof defaults[0]),
                         NULL, NULL, &kr->rk, &kr->rkt, &n, err, errlen) != 0)
        goto fail;
    if (partition < 0 || partition >= n) {
        snprintf(err, errlen, "kafka topic \"%s\" has no partition %d (it has %d)", topic, partition, n);
        goto fail;
    }
    *reader = kr;
    return 0;
fail:
    kafka_close_reader(kr);
    return -1;
}

static int kafka_watermarks(struct kafka_reader *kr, int64_t *low, int64_t *high, char *err, size_t errlen)
{
    rd_kafka_resp_err_t rc =
        rd_kafka_query_watermark_offsets(kr->rk, kr->topic, kr->partition, low, high, KAFKA_WATERMARK_TIMEOUT_MS);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "kafka topic \"%s\" partition %d: cannot read its offsets: %s", kr->topic,
                 (int)kr->partition, rd_kafka_err2str(rc));
        return -1;
    }
    return 0;
}

static int kafka_start_offset(void *reader, uint64_t *offset, char *err, size_t errlen)
{
    struct kafka_reader *kr = reader;
    int64_t low, high;
    if (kafka_watermarks(kr, &low, &high, err, errlen) != 0)
        return -1;
    kr->offset = kr->latest ? high : low;
    *offset = (uint64_t)kr->offset;
    return 0;
}

/* A debezium-json event's rows (0 to 2, with the message's offset) into recs. */
static int kafka_read_event(struct kafka_reader *kr, const rd_kafka_message_t *m, struct stream_record *recs, char *err,
                            size_t errlen)
{
    char e[300];
    int got = debezium_decode(m->payload ? m->payload : "", m->payload ? m->len : 0, kr->rows + kr->nrows, e, sizeof e);
    if (got < 0) {
        snprintf(err, errlen, "kafka topic \"%s\" partition %d at offset %" PRId64 ": %s", kr->topic,
                 (int)kr->partition, m->offset, e);
        return -1;
    }
    for (int i = 0; i < got; i++) {
        const struct debezium_row *row = &kr->rows[kr->nrows++];
        recs[i] = (struct stream_record){
            .offset = (uint64_t)m->offset, .data = row->text, .len = (uint32_t)row->len, .kind = row->kind};
    }
    return got;
}

static int kafka_read(void *reader, struct stream_record *recs, int max, char *err, size_t errlen)
{
    struct kafka_reader *kr = reader;
    kafka_reader_release_batch(kr);
    if (kr->failed) {
        snprintf(err, errlen, "%s", kr->failed);
        return -1;
    }
    if (!kr->started) {
        if (rd_kafka_consume_start(kr->rkt, kr->partition, kr->offset) != 0) {
            snprintf(err, errlen, "kafka topic \"%s\" partition %d: cannot start reading at offset %" PRId64 ": %s",
                     kr->topic, (int)kr->partition, kr->offset, rd_kafka_err2str(rd_kafka_last_error()));
            return -1;
        }
        kr->started = true;
    }
    if (max > KAFKA_BATCH_MAX)
        max = KAFKA_BATCH_MAX;
    if (kr->debezium && max < 2) {
        snprintf(err, errlen, "kafka topic \"%s\": a read of debezium-json events takes at least 2 records", kr->topic);
        return -1;
    }
    if (kr->debezium) /* an update event gives two rows, which stay in one batch */
        max /= 2;
    kr->nbatch = rd_kafka_consume_batch(kr->rkt, kr->partition, KAFKA_POLL_MS, kr->batch, (size_t)max);
    if (kr->nbatch < 0) {
        kr->nbatch = 0;
        snprintf(err, errlen, "kafka topic \"%s\" partition %d: %s", kr->topic, (int)kr->partition,
                 rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    int n = 0;
    for (ssize_t i = 0; i < kr->nbatch; i++) {
        const rd_kafka_message_t *m = kr->batch[i];
        if (m->err) {
            snprintf(err, errlen, "kafka topic \"%s\" partition %d at offset %" PRId64 ": %s", kr->topic,
                     (int)kr->partition, m->offset, rd_kafka_message_errstr(m));
            return -1;
        }
        if (kr->debezium) {
            int got = kafka_read_event(kr, m, recs + n, err, errlen);
            if (got < 0 && n > 0) /* the good rows first */
                kr->failed = strdup(err);
            if (got < 0)
                return n > 0 ? n : -1;
            n += got;
            continue;
        }
        recs[n++] = (struct stream_record){
            .offset = (uint64_t)m->offset, .data = m->payload ? m->payload : "", .len = (uint32_t)m->len};
    }
    return n;
}

static int kafka_end_offset(void *reader, uint64_t *end, char *err, size_t errlen)
{
    struct kafka_reader *kr = reader;
    int64_t low, high;
    /* once reading, the high watermark of the last fetch: asking the broker would queue behind
     * the reader's long-polling fetch (up to fetch.wait.max.ms) */
    if (kr->started && rd_kafka_get_watermark_offsets(kr->rk, kr->topic, kr->partition, &low, &high) == 0 &&
        high >= 0) {
        *end = (uint64_t)high;
        return 0;
    }
    if (kafka_watermarks(kr, &low, &high, err, errlen) != 0)
        return -1;
    *end = (uint64_t)high;
    return 0;
}

/* ---------------------------------------------------------------- writers */

struct kafka_writer {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    char *topic;
    int32_t partition;
    rd_kafka_resp_err_t delivery_err; /* the first failed delivery, from the callback */
    int64_t failed_records;
    bool debezium;         /* format debezium-json: rows become change events */
    struct json_buf event; /* the event being produced */
};

/* Called from rd_kafka_poll/flush in the writer's thread. */
static void kafka_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct kafka_writer *kw = opaque;
    if (m->err) {
        if (!kw->delivery_err)
            kw->delivery_err = m->err;
        kw->failed_records++;
    }
}

static void kafka_close_writer(void *writer)
{
    struct kafka_writer *kw = writer;
    if (!kw)
        return;
    if (kw->rk)
        rd_kafka_flush(kw->rk, KAFKA_FLUSH_TIMEOUT_MS); /* close after a failed flush: best effort */
    if (kw->rkt)
        rd_kafka_topic_destroy(kw->rkt);
    if (kw->rk)
        rd_kafka_destroy(kw->rk);
    free(kw->topic);
    json_buf_free(&kw->event);
    free(kw);
}

static int kafka_open_writer(const char *topic, int partition, const struct stream_property *props, int nprops,
                             void **writer, char *err, size_t errlen)
{
    struct kafka_writer *kw = calloc(1, sizeof *kw);
    if (!kw || !(kw->topic = strdup(topic ? topic : ""))) {
        free(kw);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    static const struct kafka_default defaults[] = {
        {"enable.idempotence", "true"},
        {"log.connection.close", "false"},
    };
    int n;
    if (kafka_topic_open(RD_KAFKA_PRODUCER, topic, props, nprops, defaults, (int)(sizeof defaults / sizeof defaults[0]),
                         kw, kafka_on_delivery, &kw->rk, &kw->rkt, &n, err, errlen) != 0)
        goto fail;
    kw->partition = partition < 0 ? 0 : partition % n;
    kw->debezium = kafka_debezium(props, nprops);
    *writer = kw;
    return 0;
fail:
    kafka_close_writer(kw);
    return -1;
}

static int kafka_writer_check(struct kafka_writer *kw, char *err, size_t errlen)
{
    char e[256];
    rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(kw->rk, e, sizeof e);
    if (fatal) {
        snprintf(err, errlen, "kafka topic \"%s\": fatal producer error: %s", kw->topic, e);
        return -1;
    }
    if (kw->delivery_err) {
        snprintf(err, errlen, "kafka topic \"%s\": %" PRId64 " records not delivered: %s", kw->topic,
                 kw->failed_records, rd_kafka_err2str(kw->delivery_err));
        return -1;
    }
    return 0;
}

static int kafka_produce(struct kafka_writer *kw, const void *data, size_t len, char *err, size_t errlen);
static int kafka_append_kind(void *writer, enum row_kind kind, const void *data, uint32_t len, char *err,
                             size_t errlen);

static int kafka_append(void *writer, const void *data, uint32_t len, char *err, size_t errlen)
{
    struct kafka_writer *kw = writer;
    if (kw->debezium)
        return kafka_append_kind(writer, ROW_INSERT, data, len, err, errlen);
    return kafka_produce(kw, data, len, err, errlen);
}

/* format json takes inserts only (an append-only stream); debezium-json encodes every kind. */
static int kafka_append_kind(void *writer, enum row_kind kind, const void *data, uint32_t len, char *err, size_t errlen)
{
    struct kafka_writer *kw = writer;
    if (!kw->debezium) {
        if (kind == ROW_INSERT)
            return kafka_produce(kw, data, len, err, errlen);
        snprintf(err, errlen,
                 "kafka topic \"%s\": format json takes inserts only, not a %s row; use 'format' = 'debezium-json'"
                 " for a changelog",
                 kw->topic, row_kind_name(kind));
        return -1;
    }
    kw->event.len = 0;
    if (debezium_encode(kind, data, len, &kw->event) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return kafka_produce(kw, kw->event.data, kw->event.len, err, errlen);
}

static int kafka_produce(struct kafka_writer *kw, const void *data, size_t len, char *err, size_t errlen)
{
    for (;;) {
        if (rd_kafka_produce(kw->rkt, kw->partition, RD_KAFKA_MSG_F_COPY, (void *)data, len, NULL, 0, NULL) == 0)
            break;
        rd_kafka_resp_err_t rc = rd_kafka_last_error();
        if (rc != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            snprintf(err, errlen, "kafka topic \"%s\": cannot produce: %s", kw->topic, rd_kafka_err2str(rc));
            return -1;
        }
        rd_kafka_poll(kw->rk, 100); /* the local queue is full: let deliveries drain it */
        if (kafka_writer_check(kw, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int kafka_flush(void *writer, bool sync, char *err, size_t errlen)
{
    struct kafka_writer *kw = writer;
    if (!sync) {
        rd_kafka_poll(kw->rk, 0); /* records go out in the background; collect delivery reports */
        return kafka_writer_check(kw, err, errlen);
    }
    rd_kafka_resp_err_t rc = rd_kafka_flush(kw->rk, KAFKA_FLUSH_TIMEOUT_MS);
    if (kafka_writer_check(kw, err, errlen) != 0)
        return -1;
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "kafka topic \"%s\": %d records not delivered within %d s: %s", kw->topic,
                 rd_kafka_outq_len(kw->rk), KAFKA_FLUSH_TIMEOUT_MS / 1000, rd_kafka_err2str(rc));
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- check */

/* Reads the cluster's metadata (which needs the credentials), then looks the topic up in it. */
static void kafka_check(const struct stream_property *props, int nprops, struct stream_check *out)
{
    rd_kafka_t *rk =
        kafka_client_new(RD_KAFKA_PRODUCER, props, nprops, NULL, 0, NULL, NULL, out->error, sizeof out->error);
    if (!rk)
        return;
    const char *servers = kafka_servers(props, nprops);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t rc = rd_kafka_metadata(rk, 1, NULL, &md, KAFKA_METADATA_TIMEOUT_MS);
    if (rc == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_metadata_destroy(md);
        out->reachable = out->authenticated = true;
        const char *topic = stream_property_get(props, nprops, "topic");
        out->target_present = topic && kafka_topic_partitions(rk, topic, servers, out->error, sizeof out->error) > 0;
    } else {
        out->reachable = rc == RD_KAFKA_RESP_ERR__AUTHENTICATION || rc == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED;
        snprintf(out->error, sizeof out->error, "cannot read the metadata of Kafka at %s: %s", servers,
                 rd_kafka_err2str(rc));
    }
    rd_kafka_destroy(rk);
}

const struct stream_backend kafka_stream_backend = {
    .name = "kafka",
    .partitions = kafka_partitions,
    .open_writer = kafka_open_writer,
    .append = kafka_append,
    .append_kind = kafka_append_kind,
    .flush = kafka_flush,
    .writer_end_offset = NULL, /* cannot be truncated: at-least-once */
    .truncate = NULL,
    .close_writer = kafka_close_writer,
    .open_reader = kafka_open_reader,
    .read = kafka_read,
    .end_offset = kafka_end_offset,
    .close_reader = kafka_close_reader,
    .start_offset = kafka_start_offset,
    .check = kafka_check,
    .options = &kafka_option_table,
    .source = true,
    .sink = true,
    .location_key = "topic",
    .full_worker = true, /* librdkafka */
    .network = true,
};
