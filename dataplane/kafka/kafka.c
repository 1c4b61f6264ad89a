/* kafka.c — the Kafka stream backend over librdkafka (see kafka.h): metadata, a reader per
 * partition on a legacy consumer shared per topic (kafka_pool.h), an idempotent producer per
 * writer. */
#include "dataplane/kafka/kafka.h"

#include <inttypes.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "dataplane/codec/debezium.h"
#include "dataplane/kafka/kafka_admin.h"
#include "dataplane/kafka/kafka_eos.h"
#include "dataplane/kafka/kafka_key.h"
#include "dataplane/kafka/kafka_meta.h"
#include "dataplane/kafka/kafka_pool.h"

#define KAFKA_PROPERTY_PREFIX "properties."
#define KAFKA_METADATA_TIMEOUT_MS 10000
#define KAFKA_WATERMARK_TIMEOUT_MS 10000
#define KAFKA_POLL_MS 10             /* a read waits this long for records */
#define KAFKA_FLUSH_TIMEOUT_MS 60000 /* a synchronous flush gives up after this */
#define KAFKA_BATCH_MAX 1024

/* ---------------------------------------------------------------- options */

static const char *const kafka_formats[] = {"json", "debezium-json", "raw", NULL};
static const char *const kafka_key_formats[] = {"json", "raw", NULL};
static const char *const kafka_value_includes[] = {"ALL", "EXCEPT_KEY", NULL};
enum kafka_startup { KAFKA_EARLIEST, KAFKA_LATEST, KAFKA_SPECIFIC, KAFKA_TIMESTAMP };
static const char *const kafka_startup_modes[] = {"earliest-offset", "latest-offset", "specific-offsets", "timestamp",
                                                  NULL};
static const char *const kafka_guarantees[] = {"at-least-once", "exactly-once", NULL};

/* The options of a Kafka stream, one row each. */
static const struct option_row kafka_options[] = {
    {.name = "connector", .type = OPTION_STRING, .flags = OPTION_HIDDEN},
    /* required of a connection: the worker's location property; `sluiced run` names the topic */
    {.name = "topic", .type = OPTION_STRING, .flags = OPTION_REQUIRED, .help = "the topic"},
    {.name = "format", .type = OPTION_ENUM, .def = "json", .values = kafka_formats},
    {.name = "key.fields", .type = OPTION_STRING, .help = "the fields that make a record's key, separated by ';'"},
    {.name = "key.format", .type = OPTION_ENUM, .values = kafka_key_formats, .help = "json (default) or raw"},
    {.name = "value.fields-include",
     .type = OPTION_ENUM,
     .def = "ALL",
     .values = kafka_value_includes,
     .help = "whether the value repeats the key fields"},
    {.name = "scan.startup.mode",
     .type = OPTION_ENUM,
     .def = "earliest-offset",
     .values = kafka_startup_modes,
     .help = "where a source starts without a checkpoint"},
    {.name = "scan.startup.specific-offsets",
     .type = OPTION_STRING,
     .help = "specific-offsets: partition:P,offset:O;... (other partitions start at the earliest offset)"},
    {.name = "scan.startup.timestamp-millis",
     .type = OPTION_INT,
     .min = 0,
     .max = INT64_MAX,
     .help = "timestamp: the first record at or after this epoch time in milliseconds"},
    {.name = "sink.delivery-guarantee",
     .type = OPTION_ENUM,
     .def = "at-least-once",
     .values = kafka_guarantees,
     .help = "a sink's guarantee: exactly-once produces in transactions after each checkpoint"},
    {.name = "sink.transactional-id-prefix",
     .type = OPTION_STRING,
     .help = "exactly-once: transactional ids are PREFIX-PARTITION (default: sluice-TOPIC)"},
    /* librdkafka settings; kafka_client_new passes them to librdkafka, which checks them */
    {.name = KAFKA_PROPERTY_PREFIX "bootstrap.servers",
     .type = OPTION_STRING,
     .flags = OPTION_REQUIRED,
     .help = "host:port of the brokers"},
    {.name = KAFKA_PROPERTY_PREFIX, .type = OPTION_STRING, .flags = OPTION_PREFIX, .help = "a librdkafka setting"},
    {.name = KAFKA_META_OPTION,
     .type = OPTION_ENUM,
     .flags = OPTION_PREFIX,
     .values = kafka_meta_names,
     .help = "'metadata.FIELD' = 'key': the stream's field FIELD is the record's metadata key (kafka_meta.h)"},
};
static const struct option_table kafka_option_table = OPTION_TABLE("kafka", kafka_options);

/* Every key and value against the table (required options are checked by the API, and by
 * kafka_client_new and the worker with messages of their own). */
static int kafka_check_options(const struct stream_property *props, int nprops, char *err, size_t errlen)
{
    for (int i = 0; i < nprops; i++) /* keys starting with "__" are the engine's */
        if (strncmp(props[i].key, "__", 2) != 0 &&
            option_check(&kafka_option_table, props[i].key, props[i].value, err, errlen) != 0)
            return -1;
    return 0;
}

/* stream_backend.check_connection: the key options and 'metadata.FIELD' against the stream's
 * schema; a field both in the key and a metadata column; metadata an exactly-once sink cannot
 * write; a topic named like a Kafka-stored stream's (kafka_is_stream_topic). */
static int kafka_check_connection(const struct stream_property *props, int nprops, bool sink, char *option,
                                  size_t optlen, char *err, size_t errlen)
{
    const char *topic = stream_property_get(props, nprops, "topic");
    if (kafka_is_stream_topic(topic)) {
        snprintf(option, optlen, "topic");
        snprintf(err, errlen,
                 "'topic': \"%s\" is named like a Sluice stream stored in Kafka (sluice-<tenant>-<stream>); a "
                 "connection may not read or write those topics: name your stream in the SQL instead",
                 topic);
        return -1;
    }
    if (kafka_key_check(props, nprops, sink, option, optlen, err, errlen) != 0 ||
        kafka_meta_check(props, nprops, sink, option, optlen, err, errlen) != 0)
        return -1;
    const char *guarantee = stream_property_get(props, nprops, "sink.delivery-guarantee");
    const char *keys = stream_property_get(props, nprops, "key.fields");
    const char *format = stream_property_get(props, nprops, "format");
    bool debezium = format && strcmp(format, "debezium-json") == 0, raw = format && strcmp(format, "raw") == 0;
    if (keys && *keys && (debezium || (raw && !sink))) {
        snprintf(option, optlen, "key.fields");
        snprintf(err, errlen, "'key.fields': a %s of format %s takes no key fields", sink ? "sink" : "source", format);
        return -1;
    }
    for (int i = 0; i < nprops; i++) {
        const char *field = props[i].key + strlen(KAFKA_META_OPTION);
        if (strncmp(props[i].key, KAFKA_META_OPTION, strlen(KAFKA_META_OPTION)) != 0)
            continue;
        if (debezium) {
            snprintf(option, optlen, "%s", props[i].key);
            snprintf(err, errlen, "'%s': metadata columns take format json or raw, not debezium-json", props[i].key);
            return -1;
        }
        size_t n = strlen(field);
        for (const char *k = keys; k; k = strchr(k, ';') ? strchr(k, ';') + 1 : NULL)
            if (strncmp(k, field, n) == 0 && (k[n] == ';' || k[n] == '\0')) {
                snprintf(option, optlen, "%s", props[i].key);
                snprintf(err, errlen, "'%s': field \"%s\" is in 'key.fields' already", props[i].key, field);
                return -1;
            }
        if (sink && guarantee && strcmp(guarantee, "exactly-once") == 0) {
            snprintf(option, optlen, "%s", props[i].key);
            snprintf(err, errlen,
                     "'%s': an exactly-once sink writes no headers or timestamps yet; leave it out or use "
                     "'sink.delivery-guarantee' = 'at-least-once'",
                     props[i].key);
            return -1;
        }
    }
    return 0;
}

/* kafka_check_connection as a reader or writer of topic opens, with the topic in err. */
static int kafka_check_at_open(const char *topic, const struct stream_property *props, int nprops, bool sink, char *err,
                               size_t errlen)
{
    char option[300], e[600];
    if (kafka_check_connection(props, nprops, sink, option, sizeof option, e, sizeof e) == 0)
        return 0;
    snprintf(err, errlen, "kafka topic \"%s\": %s", topic, e);
    return -1;
}

/* Settings a client gets before the user's properties.*, which win. */
struct kafka_default {
    const char *key, *value;
};

/* librdkafka's log lines (its own "%3|<time>|FAIL|..." on stderr by default) through this
 * process's logger, as "kafka FAIL: ..." at the matching level, like every other line. */
static void kafka_log_line(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    enum log_level l = level <= 3 ? LOG_ERROR : level == 4 ? LOG_WARN : level <= 6 ? LOG_INFO : LOG_DEBUG;
    log_at(l, "kafka %s: %s", fac, buf);
}

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
    rd_kafka_conf_set_log_cb(conf, kafka_log_line);
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
    const struct kafka_pool_client *client; /* shared with the process's other readers of the topic */
    rd_kafka_t *rk;                         /* client's, borrowed */
    rd_kafka_topic_t *rkt;                  /* client's, borrowed */
    char *topic;
    int32_t partition;
    int64_t offset; /* where consumption starts */
    bool started;
    enum kafka_startup startup; /* scan.startup.mode */
    int64_t startup_at;         /* specific-offsets: this partition's (-1: not listed); timestamp: the time */
    rd_kafka_message_t *batch[KAFKA_BATCH_MAX]; /* the last read's messages, owned */
    ssize_t nbatch;
    bool debezium;                             /* format debezium-json: decode change events */
    struct debezium_row rows[KAFKA_BATCH_MAX]; /* the last read's decoded rows, owned */
    int nrows;
    char *failed;              /* an event that could not be decoded after good ones: the next read's error */
    struct kafka_key_spec key; /* key.fields: merged from the record's key into its row */
    struct json_buf merged;
    char *raw_field;        /* format raw: the one column a record's bytes become */
    struct kafka_meta meta; /* METADATA columns: added to each row */
    struct json_buf with_meta;
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
    kafka_key_spec_free(&kr->key);
    json_buf_free(&kr->merged);
    free(kr->raw_field);
    kafka_meta_free(&kr->meta);
    json_buf_free(&kr->with_meta);
    if (kr->started)
        rd_kafka_consume_stop(kr->rkt, kr->partition);
    kafka_pool_release(kr->client, kr->partition);
    free(kr->topic);
    free(kr);
}

/* The offset partition has in text, as 'scan.startup.specific-offsets' lists them
 * ("partition:0,offset:42;partition:1,offset:7"): 0 with *offset (-1 when not listed), or -1. */
static int kafka_specific_offset(const char *text, int partition, int64_t *offset, char *err, size_t errlen)
{
    *offset = -1;
    for (const char *p = text; *p;) {
        long long part, off;
        int used = 0;
        if (sscanf(p, " partition : %lld , offset : %lld %n", &part, &off, &used) != 2 || used == 0 || part < 0 ||
            off < 0 || (p[used] != ';' && p[used] != '\0')) {
            snprintf(err, errlen,
                     "'scan.startup.specific-offsets' must be partition:P,offset:O;... with whole numbers, not "
                     "\"%.60s\"",
                     p);
            return -1;
        }
        if (part == partition)
            *offset = off;
        p += used + (p[used] == ';');
    }
    return 0;
}

/* format raw: the stream's one column (from "__schema", which the worker gives a connector that
 * wants_schema) into kr->raw_field. */
static int kafka_raw_field(struct kafka_reader *kr, const struct stream_property *props, int nprops, char *err,
                           size_t errlen)
{
    const char *text = stream_property_get(props, nprops, "__schema");
    json_t *schema = text ? json_loads(text, 0, NULL) : NULL;
    json_t *fields = json_object_get(schema, "fields"), *f;
    const char *name = NULL;
    size_t i, columns = 0; /* but METADATA ones */
    json_array_foreach(fields, i, f)
    {
        const char *field = json_string_value(json_object_get(f, "name"));
        char option[300];
        snprintf(option, sizeof option, KAFKA_META_OPTION "%s", field ? field : "");
        if (!json_object_get(f, "metadata") && !stream_property_get(props, nprops, option) && columns++ == 0)
            name = field;
    }
    if (name && columns == 1)
        kr->raw_field = strdup(name);
    else
        snprintf(err, errlen, "kafka topic \"%s\": format raw reads into a stream of one column, not %zu", kr->topic,
                 columns);
    json_decref(schema);
    return kr->raw_field ? 0 : -1;
}

/* kr's scan.startup.mode and what it needs: the partition's specific offset or the timestamp. */
static int kafka_startup_parse(struct kafka_reader *kr, const struct stream_property *props, int nprops, char *err,
                               size_t errlen)
{
    const char *mode = stream_property_get(props, nprops, "scan.startup.mode");
    kr->startup = KAFKA_EARLIEST;
    for (int i = 0; mode && kafka_startup_modes[i]; i++)
        if (strcmp(mode, kafka_startup_modes[i]) == 0)
            kr->startup = (enum kafka_startup)i;
    const char *key = kr->startup == KAFKA_SPECIFIC    ? "scan.startup.specific-offsets"
                      : kr->startup == KAFKA_TIMESTAMP ? "scan.startup.timestamp-millis"
                                                       : NULL;
    const char *value = key ? stream_property_get(props, nprops, key) : NULL;
    if (key && !value) {
        snprintf(err, errlen, "'scan.startup.mode' = '%s' needs '%s'", mode, key);
        return -1;
    }
    if (kr->startup == KAFKA_SPECIFIC)
        return kafka_specific_offset(value, kr->partition, &kr->startup_at, err, errlen);
    if (kr->startup == KAFKA_TIMESTAMP)
        kr->startup_at = strtoll(value, NULL, 10); /* the option table checked it */
    return 0;
}

/* What kafka_reader_client makes a reader's client of. */
struct kafka_reader_open {
    const char *topic;
    const struct stream_property *props;
    int nprops;
};

/* kafka_pool_open_fn: a consumer of the topic for the pool. */
static int kafka_reader_client(void *ctx, struct kafka_pool_client *out, char *err, size_t errlen)
{
    const struct kafka_reader_open *o = ctx;
    /* a resumed offset that retention has deleted is an error, not a silent jump (a property
     * may still say otherwise) */
    static const struct kafka_default defaults[] = {
        {"auto.offset.reset", "error"},
        {"enable.partition.eof", "false"},
        {"log.connection.close", "false"},
        /* prefetch per partition (the legacy consumer's queues are per partition): librdkafka's
         * 64 MB each would hold a whole backlog in memory, past a small task's limit, and cost
         * a page fault per fresh 4 KB; a fetch of 256 KB a partition keeps a record batch's
         * worth ahead (a larger record still gets through: librdkafka grows the size) */
        {"queued.max.messages.kbytes", "256"},
        {"fetch.message.max.bytes", "262144"},
    };
    *out = (struct kafka_pool_client){0};
    if (kafka_topic_open(RD_KAFKA_CONSUMER, o->topic, o->props, o->nprops, defaults,
                         (int)(sizeof defaults / sizeof defaults[0]), NULL, NULL, &out->rk, &out->rkt, &out->partitions,
                         err, errlen) == 0)
        return 0;
    if (out->rkt)
        rd_kafka_topic_destroy(out->rkt);
    if (out->rk)
        rd_kafka_destroy(out->rk);
    return -1;
}

/* The pool's key of a reader: the topic and every property (readers that could differ in any
 * client setting never share). Owned by the caller; NULL when out of memory. */
static char *kafka_reader_key(const char *topic, const struct stream_property *props, int nprops)
{
    size_t len = strlen(topic) + 1;
    for (int i = 0; i < nprops; i++)
        len += strlen(props[i].key) + strlen(props[i].value) + 2;
    char *key = malloc(len), *at = key;
    if (!key)
        return NULL;
    at += sprintf(at, "%s", topic);
    for (int i = 0; i < nprops; i++)
        at += sprintf(at, "\x1f%s=%s", props[i].key, props[i].value);
    return key;
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
    if (kafka_startup_parse(kr, props, nprops, err, errlen) != 0)
        goto fail;
    kr->debezium = kafka_debezium(props, nprops);
    if (kafka_key_spec_parse(props, nprops, &kr->key, err, errlen) != 0)
        goto fail;
    if (kr->key.nfields > 0 && (kr->debezium || kr->key.raw_value)) {
        snprintf(err, errlen, "kafka topic \"%s\": a source takes key.fields with format json only", kr->topic);
        goto fail;
    }
    if (kafka_check_at_open(kr->topic, props, nprops, false, err, errlen) != 0)
        goto fail;
    if (kr->key.raw_value && kafka_raw_field(kr, props, nprops, err, errlen) != 0)
        goto fail;
    if (kafka_meta_parse(props, nprops, &kr->meta, err, errlen) != 0)
        goto fail;
    if (kr->meta.n > 0 && kr->debezium) {
        snprintf(err, errlen, "kafka topic \"%s\": METADATA columns take format json or raw, not debezium-json",
                 kr->topic);
        goto fail;
    }
    struct kafka_reader_open open = {.topic = topic, .props = props, .nprops = nprops};
    char *key = kafka_reader_key(topic, props, nprops);
    kr->client = key ? kafka_pool_acquire(key, topic, partition, kafka_reader_client, &open, err, errlen) : NULL;
    if (!key)
        snprintf(err, errlen, "out of memory");
    free(key);
    if (!kr->client)
        goto fail;
    kr->rk = kr->client->rk;
    kr->rkt = kr->client->rkt;
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

/* kr->offset: the first record at or after kr->startup_at (epoch ms), or high when none is. */
static int kafka_offset_for_time(struct kafka_reader *kr, int64_t high, char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, kr->topic, kr->partition)->offset = kr->startup_at;
    rd_kafka_resp_err_t rc = rd_kafka_offsets_for_times(kr->rk, list, KAFKA_WATERMARK_TIMEOUT_MS);
    if (rc == RD_KAFKA_RESP_ERR_NO_ERROR)
        rc = list->elems[0].err;
    int64_t at = list->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(list);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "kafka topic \"%s\" partition %d: cannot find the offset of time %" PRId64 ": %s",
                 kr->topic, (int)kr->partition, kr->startup_at, rd_kafka_err2str(rc));
        return -1;
    }
    kr->offset = at < 0 ? high : at; /* -1: no record that late */
    return 0;
}

static int kafka_start_offset(void *reader, uint64_t *offset, char *err, size_t errlen)
{
    struct kafka_reader *kr = reader;
    int64_t low, high;
    if (kafka_watermarks(kr, &low, &high, err, errlen) != 0)
        return -1;
    kr->offset = kr->startup == KAFKA_LATEST ? high : low;
    if (kr->startup == KAFKA_SPECIFIC && kr->startup_at >= 0) {
        if (kr->startup_at < low || kr->startup_at > high) {
            snprintf(err, errlen,
                     "kafka topic \"%s\" partition %d: 'scan.startup.specific-offsets' names offset %" PRId64
                     ", outside its offsets %" PRId64 " to %" PRId64,
                     kr->topic, (int)kr->partition, kr->startup_at, low, high);
            return -1;
        }
        kr->offset = kr->startup_at;
    }
    if (kr->startup == KAFKA_TIMESTAMP && kafka_offset_for_time(kr, high, err, errlen) != 0)
        return -1;
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

/* key.fields: m's row with its key's fields merged in; format raw: its bytes as the one column;
 * METADATA columns: m's metadata added; kept in kr->rows until the next read. */
static int kafka_read_keyed(struct kafka_reader *kr, const rd_kafka_message_t *m, struct stream_record *rec, char *err,
                            size_t errlen)
{
    char e[200];
    const char *payload = m->payload ? m->payload : "";
    const struct json_buf *row = &kr->merged;
    int rc = kr->raw_field ? kafka_raw_row(kr->raw_field, payload, m->len, &kr->merged, e, sizeof e)
             : kr->key.nfields > 0
                 ? kafka_key_merge(&kr->key, m->key, m->key_len, payload, m->len, &kr->merged, e, sizeof e)
                 : 0;
    if (rc == 0 && kr->meta.n > 0) {
        const char *text = kr->raw_field || kr->key.nfields > 0 ? kr->merged.data : payload;
        size_t len = kr->raw_field || kr->key.nfields > 0 ? kr->merged.len : m->len;
        rc = kafka_meta_add(&kr->meta, m, text, len, &kr->with_meta, e, sizeof e);
        row = &kr->with_meta;
    }
    if (rc > 0) { /* a malformed record: the engine's error policy decides */
        *rec = (struct stream_record){
            .offset = (uint64_t)m->offset, .data = payload, .len = (uint32_t)m->len, .error = kafka_meta_not_object};
        return 0;
    }
    if (rc != 0) {
        snprintf(err, errlen, "kafka topic \"%s\" partition %d at offset %" PRId64 ": %s", kr->topic,
                 (int)kr->partition, m->offset, e);
        return -1;
    }
    struct debezium_row *kept = &kr->rows[kr->nrows];
    if (!(kept->text = strndup(row->data, row->len))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    kept->len = row->len;
    kr->nrows++;
    *rec = (struct stream_record){.offset = (uint64_t)m->offset, .data = kept->text, .len = (uint32_t)kept->len};
    return 0;
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
        if (kr->key.nfields > 0 || kr->raw_field || kr->meta.n > 0) {
            if (kafka_read_keyed(kr, m, recs + n, err, errlen) != 0)
                return -1;
            n++;
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

/* A consumer that reads what a sink's earlier runs committed, to the partition's end. */
static rd_kafka_t *kafka_recovery_consumer(const struct stream_property *props, int nprops, char *err, size_t errlen)
{
    static const struct kafka_default defaults[] = {
        {"enable.partition.eof", "true"},
        {"log.connection.close", "false"},
        {"isolation.level", "read_committed"},
    };
    return kafka_client_new(RD_KAFKA_CONSUMER, props, nprops, defaults, (int)(sizeof defaults / sizeof defaults[0]),
                            NULL, NULL, err, errlen);
}

struct kafka_writer {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    char *topic;
    int32_t partition;
    rd_kafka_resp_err_t delivery_err; /* the first failed delivery, from the callback */
    int64_t failed_records;
    bool debezium;               /* format debezium-json: rows become change events */
    struct json_buf event;       /* the event being produced */
    struct kafka_eos *eos;       /* exactly-once: records go through its spool (kafka_eos.h) */
    rd_kafka_t *recovery;        /* exactly-once: the consumer that reads back what the topic holds */
    struct kafka_key_spec key;   /* key.fields, value.fields-include, format raw */
    struct json_buf kbuf, vbuf;  /* the record being produced, split */
    struct kafka_meta meta;      /* METADATA columns: taken out of each row */
    struct json_buf mbuf;        /* the row without them */
    rd_kafka_headers_t *headers; /* the record being produced: its headers column's, owned */
    int64_t timestamp;           /* and its timestamp column's (0: none) */
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
    kafka_eos_free(kw->eos);
    if (kw->recovery)
        rd_kafka_destroy(kw->recovery);
    if (kw->rk)
        rd_kafka_flush(kw->rk, KAFKA_FLUSH_TIMEOUT_MS); /* close after a failed flush: best effort */
    if (kw->rkt)
        rd_kafka_topic_destroy(kw->rkt);
    if (kw->rk)
        rd_kafka_destroy(kw->rk);
    free(kw->topic);
    json_buf_free(&kw->event);
    kafka_key_spec_free(&kw->key);
    json_buf_free(&kw->kbuf);
    json_buf_free(&kw->vbuf);
    kafka_meta_free(&kw->meta);
    json_buf_free(&kw->mbuf);
    if (kw->headers)
        rd_kafka_headers_destroy(kw->headers);
    free(kw);
}

/* The exactly-once state of kw (kafka_eos.h): its spool beside the run's checkpoint, recovered
 * against the topic with a consumer of the same settings. */
static int kafka_writer_eos_open(struct kafka_writer *kw, int partition, int partitions, const char *txn_id,
                                 const struct stream_property *props, int nprops, char *err, size_t errlen)
{
    const char *ckpt = stream_property_get(props, nprops, "__checkpoint");
    if (!ckpt) {
        snprintf(err, errlen,
                 "kafka topic \"%s\": 'sink.delivery-guarantee' = 'exactly-once' needs checkpoints (a run with a data "
                 "directory)",
                 kw->topic);
        return -1;
    }
    if (partition >= partitions) {
        snprintf(err, errlen,
                 "kafka topic \"%s\" has %d partitions: an exactly-once sink needs one per task of the pipeline (task "
                 "%d has none of its own)",
                 kw->topic, partitions, partition);
        return -1;
    }
    char dir[4400];
    snprintf(dir, sizeof dir, "%s.kafka/%s-%d", ckpt, kw->topic, (int)kw->partition);
    kw->recovery = kafka_recovery_consumer(props, nprops, err, errlen);
    if (!kw->recovery)
        return -1;
    kw->eos = kafka_eos_open(kw->rk, kw->rkt, kw->recovery, kw->topic, kw->partition, txn_id, dir, err, errlen);
    return kw->eos ? 0 : -1;
}

/* kw's METADATA columns ("__schema"): a debezium-json sink takes none, an exactly-once one
 * writes no headers or timestamps (its spool keeps key and value only). */
static int kafka_writer_meta(struct kafka_writer *kw, bool exactly_once, const struct stream_property *props,
                             int nprops, char *err, size_t errlen)
{
    if (kafka_meta_parse(props, nprops, &kw->meta, err, errlen) != 0)
        return -1;
    if (kw->meta.n > 0 && kw->debezium) {
        snprintf(err, errlen, "kafka topic \"%s\": METADATA columns take format json or raw, not debezium-json",
                 kw->topic);
        return -1;
    }
    if (exactly_once && kafka_meta_writes(&kw->meta)) {
        snprintf(err, errlen,
                 "kafka topic \"%s\": an exactly-once sink writes no headers or timestamps yet; declare those METADATA "
                 "columns VIRTUAL or use 'sink.delivery-guarantee' = 'at-least-once'",
                 kw->topic);
        return -1;
    }
    return 0;
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
    const char *guarantee = stream_property_get(props, nprops, "sink.delivery-guarantee");
    bool exactly_once = guarantee && strcmp(guarantee, "exactly-once") == 0;
    char txn_id[512];
    const char *prefix = stream_property_get(props, nprops, "sink.transactional-id-prefix");
    snprintf(txn_id, sizeof txn_id, "%s%s-%d", prefix ? "" : "sluice-", prefix ? prefix : kw->topic,
             partition < 0 ? 0 : partition);
    const struct kafka_default defaults[] = {
        {"enable.idempotence", "true"},
        {"log.connection.close", "false"},
        {"transactional.id", txn_id}, /* the last: only for exactly-once */
    };
    int n, ndefaults = (int)(sizeof defaults / sizeof defaults[0]) - (exactly_once ? 0 : 1);
    if (kafka_topic_open(RD_KAFKA_PRODUCER, topic, props, nprops, defaults, ndefaults, kw, kafka_on_delivery, &kw->rk,
                         &kw->rkt, &n, err, errlen) != 0)
        goto fail;
    kw->partition = partition < 0 ? 0 : partition % n;
    kw->debezium = kafka_debezium(props, nprops);
    if (kafka_key_spec_parse(props, nprops, &kw->key, err, errlen) != 0)
        goto fail;
    if (kw->debezium && kafka_key_spec_active(&kw->key)) {
        snprintf(err, errlen, "kafka topic \"%s\": format debezium-json takes no key.fields", kw->topic);
        goto fail;
    }
    if (kafka_writer_meta(kw, exactly_once, props, nprops, err, errlen) != 0 ||
        kafka_check_at_open(kw->topic, props, nprops, true, err, errlen) != 0)
        goto fail;
    if (exactly_once && kafka_writer_eos_open(kw, partition, n, txn_id, props, nprops, err, errlen) != 0)
        goto fail;
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

static int kafka_produce(struct kafka_writer *kw, const void *key, size_t keylen, const void *data, size_t len,
                         char *err, size_t errlen);
static int kafka_produce_row(struct kafka_writer *kw, const char *data, size_t len, char *err, size_t errlen);
static int kafka_append_kind(void *writer, enum row_kind kind, const void *data, uint32_t len, char *err,
                             size_t errlen);

static int kafka_append(void *writer, const void *data, uint32_t len, char *err, size_t errlen)
{
    struct kafka_writer *kw = writer;
    if (kw->debezium)
        return kafka_append_kind(writer, ROW_INSERT, data, len, err, errlen);
    return kafka_produce_row(kw, data, len, err, errlen);
}

/* format json takes inserts only (an append-only stream); debezium-json encodes every kind. */
static int kafka_append_kind(void *writer, enum row_kind kind, const void *data, uint32_t len, char *err, size_t errlen)
{
    struct kafka_writer *kw = writer;
    if (!kw->debezium) {
        if (kind == ROW_INSERT)
            return kafka_produce_row(kw, data, len, err, errlen);
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
    return kafka_produce(kw, NULL, 0, kw->event.data, kw->event.len, err, errlen);
}

/* A row as its key and value (kafka_key.h), or as it is; METADATA columns taken out first. */
static int kafka_produce_row(struct kafka_writer *kw, const char *data, size_t len, char *err, size_t errlen)
{
    if (kw->meta.n > 0) {
        char e[300];
        if (kw->headers) /* of a record that failed */
            rd_kafka_headers_destroy(kw->headers);
        if (kafka_meta_split(&kw->meta, data, len, &kw->mbuf, &kw->headers, &kw->timestamp, e, sizeof e) != 0) {
            snprintf(err, errlen, "kafka topic \"%s\": %s", kw->topic, e);
            return -1;
        }
        data = kw->mbuf.data;
        len = kw->mbuf.len;
    }
    if (!kafka_key_spec_active(&kw->key))
        return kafka_produce(kw, NULL, 0, data, len, err, errlen);
    char e[200];
    bool has_key;
    if (kafka_key_split(&kw->key, data, len, &kw->kbuf, &has_key, &kw->vbuf, e, sizeof e) != 0) {
        snprintf(err, errlen, "kafka topic \"%s\": %s", kw->topic, e);
        return -1;
    }
    return kafka_produce(kw, has_key ? kw->kbuf.data : NULL, has_key ? kw->kbuf.len : 0, kw->vbuf.data, kw->vbuf.len,
                         err, errlen);
}

/* One record with kw's headers and timestamp (librdkafka takes the headers when it succeeds). */
static rd_kafka_resp_err_t kafka_produce_with_meta(struct kafka_writer *kw, const void *key, size_t keylen,
                                                   const void *data, size_t len)
{
    rd_kafka_resp_err_t rc = rd_kafka_producev(
        kw->rk, RD_KAFKA_V_RKT(kw->rkt), RD_KAFKA_V_PARTITION(kw->partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE((void *)data, len), RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_TIMESTAMP(kw->timestamp),
        RD_KAFKA_V_HEADERS(kw->headers), RD_KAFKA_V_END);
    if (rc == RD_KAFKA_RESP_ERR_NO_ERROR)
        kw->headers = NULL;
    return rc;
}

static int kafka_produce(struct kafka_writer *kw, const void *key, size_t keylen, const void *data, size_t len,
                         char *err, size_t errlen)
{
    if (kw->eos)
        return kafka_eos_append(kw->eos, key, keylen, data, len, err, errlen);
    for (;;) {
        rd_kafka_resp_err_t rc = RD_KAFKA_RESP_ERR_NO_ERROR;
        if (kw->headers || kw->timestamp)
            rc = kafka_produce_with_meta(kw, key, keylen, data, len);
        else if (rd_kafka_produce(kw->rkt, kw->partition, RD_KAFKA_MSG_F_COPY, (void *)data, len, key, keylen, NULL) !=
                 0)
            rc = rd_kafka_last_error();
        if (rc == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
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
    if (kw->eos)
        return kafka_eos_flush(kw->eos, sync, err, errlen);
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

/* Exactly-once: the spool's end, which the checkpoint names; 0 otherwise (at-least-once). */
static uint64_t kafka_writer_end_offset(void *writer)
{
    struct kafka_writer *kw = writer;
    return kw->eos ? kafka_eos_end(kw->eos) : 0;
}

/* Exactly-once: a restart from a checkpoint naming offset recovers the spool and the topic to
 * it (kafka_eos_recover); at-least-once: nothing can be rolled back. */
static int kafka_truncate(void *writer, uint64_t offset, char *err, size_t errlen)
{
    struct kafka_writer *kw = writer;
    if (!kw->eos)
        return 0;
    return kafka_eos_recover(kw->eos, kw->recovery, offset, err, errlen);
}

/* Only an exactly-once writer rolls back to a checkpoint (kafka_truncate). */
static bool kafka_rolls_back(void *writer)
{
    const struct kafka_writer *kw = writer;
    return kw->eos != NULL;
}

/* Exactly-once: the checkpoint naming offset is durable; produce up to it in a transaction. */
static int kafka_commit(void *writer, uint64_t offset, char *err, size_t errlen)
{
    struct kafka_writer *kw = writer;
    return kw->eos ? kafka_eos_commit(kw->eos, offset, err, errlen) : 0;
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
    .writer_end_offset = kafka_writer_end_offset, /* 0 and no-ops but for exactly-once */
    .truncate = kafka_truncate,
    .rolls_back = kafka_rolls_back,
    .commit = kafka_commit,
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
    .full_worker = true,  /* librdkafka */
    .wants_schema = true, /* format raw: the one column's name; METADATA columns */
    .metadata = kafka_meta_keys,
    .check_connection = kafka_check_connection,
    .network = true,
};
