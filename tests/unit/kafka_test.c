/* kafka_test.c — unit tests for the Kafka stream backend (dataplane/kafka) against librdkafka's
 * mock cluster: partitions, write → read round trip, end offsets, resuming at an offset, the
 * startup modes, the fixed sink partitioner, the errors of a missing topic and bad options, readers
 * sharing a client, and METADATA columns. */
#include <check.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/kafka/kafka.h"
#include "dataplane/stream.h"
#include "tests/unit/check_main.h"

static rd_kafka_t *mock_rk;
static rd_kafka_mock_cluster_t *mock;
static struct stream_property props[4];
static int nprops;
static char err[512];
static const struct stream_backend *kb = &kafka_stream_backend;

/* Runs in each test's own process (checked fixture): a fresh cluster with topic "bids" (2
 * partitions). */
static void setup(void)
{
    char e[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(conf, "log_level", "0", e, sizeof e), RD_KAFKA_CONF_OK);
    mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
    ck_assert_ptr_nonnull(mock_rk);
    mock = rd_kafka_mock_cluster_new(mock_rk, 1);
    ck_assert_ptr_nonnull(mock);
    ck_assert_int_eq(rd_kafka_mock_topic_create(mock, "bids", 2, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    props[0] = (struct stream_property){"properties.bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mock)};
    props[1] = (struct stream_property){"format", "json"};
    nprops = 2;
}

static void write_records(int partition, int from, int to)
{
    void *w;
    ck_assert_msg(kb->open_writer("bids", partition, props, nprops, &w, err, sizeof err) == 0, "%s", err);
    for (int i = from; i < to; i++) {
        char buf[64];
        int n = snprintf(buf, sizeof buf, "{\"price\":%d}", i);
        ck_assert_msg(kb->append(w, buf, (uint32_t)n, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(kb->flush(w, false, err, sizeof err) == 0, "%s", err);
    }
    ck_assert_msg(kb->flush(w, true, err, sizeof err) == 0, "%s", err);
    kb->close_writer(w);
}

/* Reads partition from offset until `want` records came (or many empty polls), checking each. */
static void expect_records(void *r, int from, int want)
{
    struct stream_record recs[16];
    int got = 0;
    for (int polls = 0; got < want && polls < 1000;) {
        int n = kb->read(r, recs, 16, err, sizeof err);
        ck_assert_msg(n >= 0, "%s", err);
        polls += n == 0;
        for (int i = 0; i < n; i++, got++) {
            char buf[64];
            int len = snprintf(buf, sizeof buf, "{\"price\":%d}", from + got);
            ck_assert_uint_eq(recs[i].offset, (uint64_t)(from + got));
            ck_assert_uint_eq(recs[i].len, (uint32_t)len);
            ck_assert(memcmp(recs[i].data, buf, (size_t)len) == 0);
        }
    }
    ck_assert_int_eq(got, want);
}

START_TEST(test_backend_registered)
{
    ck_assert_ptr_eq(stream_backend_find("kafka"), &kafka_stream_backend);
    ck_assert_ptr_nonnull(kb->truncate); /* exactly-once recovery; a no-op at-least-once */
}
END_TEST

START_TEST(test_round_trip)
{
    int n = 0;
    ck_assert_msg(kb->partitions("bids", 0, props, nprops, &n, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(n, 2);
    write_records(1, 0, 10);
    void *r;
    ck_assert_msg(kb->open_reader("bids", 1, 0, props, nprops, &r, err, sizeof err) == 0, "%s", err);
    uint64_t end = 0;
    ck_assert_msg(kb->end_offset(r, &end, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(end, 10);
    expect_records(r, 0, 10);
    /* nothing more: a short poll returns 0 */
    struct stream_record rec;
    ck_assert_int_eq(kb->read(r, &rec, 1, err, sizeof err), 0);
    kb->close_reader(r);
    /* partition 0 got nothing */
    ck_assert_msg(kb->open_reader("bids", 0, 0, props, nprops, &r, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(kb->end_offset(r, &end, err, sizeof err), 0);
    ck_assert_uint_eq(end, 0);
    kb->close_reader(r);
}
END_TEST

START_TEST(test_resume_at_offset)
{
    write_records(0, 0, 10);
    void *r;
    ck_assert_msg(kb->open_reader("bids", 0, 4, props, nprops, &r, err, sizeof err) == 0, "%s", err);
    expect_records(r, 4, 6);
    kb->close_reader(r);
    /* a tailing reader sees records appended later */
    ck_assert_msg(kb->open_reader("bids", 0, 10, props, nprops, &r, err, sizeof err) == 0, "%s", err);
    struct stream_record rec;
    ck_assert_int_eq(kb->read(r, &rec, 1, err, sizeof err), 0);
    write_records(0, 10, 13);
    expect_records(r, 10, 3);
    kb->close_reader(r);
}
END_TEST

START_TEST(test_startup_modes)
{
    write_records(0, 0, 5);
    void *r;
    uint64_t at = 99;
    ck_assert_msg(kb->open_reader("bids", 0, 0, props, nprops, &r, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(kb->start_offset(r, &at, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(at, 0); /* earliest-offset is the default */
    kb->close_reader(r);
    props[nprops++] = (struct stream_property){"scan.startup.mode", "latest-offset"};
    ck_assert_msg(kb->open_reader("bids", 0, 0, props, nprops, &r, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(kb->start_offset(r, &at, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(at, 5);
    write_records(0, 5, 7);
    expect_records(r, 5, 2); /* only what came after the start */
    kb->close_reader(r);
}
END_TEST

/* specific-offsets: the listed partition's offset, the earliest for one not listed; bad lists
 * and offsets outside the partition are errors naming them. */
START_TEST(test_startup_specific_offsets)
{
    write_records(0, 0, 5);
    void *r;
    uint64_t at = 99;
    props[nprops++] = (struct stream_property){"scan.startup.mode", "specific-offsets"};
    ck_assert_int_eq(kb->open_reader("bids", 0, 0, props, nprops, &r, err, sizeof err), -1);
    ck_assert_str_eq(err, "'scan.startup.mode' = 'specific-offsets' needs 'scan.startup.specific-offsets'");
    props[nprops++] =
        (struct stream_property){"scan.startup.specific-offsets", "partition:1,offset:0;partition:0,offset:3"};
    ck_assert_msg(kb->open_reader("bids", 0, 0, props, nprops, &r, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(kb->start_offset(r, &at, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(at, 3);
    expect_records(r, 3, 2);
    kb->close_reader(r);
    props[nprops - 1].value = "partition:1,offset:0";
    ck_assert_msg(kb->open_reader("bids", 0, 0, props, nprops, &r, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(kb->start_offset(r, &at, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(at, 0); /* not listed: the earliest */
    kb->close_reader(r);
    props[nprops - 1].value = "partition:0,offset:9";
    ck_assert_msg(kb->open_reader("bids", 0, 0, props, nprops, &r, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(kb->start_offset(r, &at, err, sizeof err), -1);
    ck_assert_str_eq(err, "kafka topic \"bids\" partition 0: 'scan.startup.specific-offsets' names offset 9, outside "
                          "its offsets 0 to 5");
    kb->close_reader(r);
    props[nprops - 1].value = "partition:0;offset:1";
    ck_assert_int_eq(kb->open_reader("bids", 0, 0, props, nprops, &r, err, sizeof err), -1);
    ck_assert_str_eq(err, "'scan.startup.specific-offsets' must be partition:P,offset:O;... with whole numbers, not "
                          "\"partition:0;offset:1\"");
}
END_TEST

/* timestamp: the first record at or after the time (offsets_for_times); none that late: the end. */
START_TEST(test_startup_timestamp)
{
    write_records(0, 0, 5);
    void *r;
    uint64_t at = 99;
    props[nprops++] = (struct stream_property){"scan.startup.mode", "timestamp"};
    ck_assert_int_eq(kb->open_reader("bids", 0, 0, props, nprops, &r, err, sizeof err), -1);
    ck_assert_str_eq(err, "'scan.startup.mode' = 'timestamp' needs 'scan.startup.timestamp-millis'");
    /* the mock cluster answers every time lookup with the end offset (it keeps no time index), so
     * only a time past every record can be checked here: none is that late, the start is the end */
    props[nprops++] = (struct stream_property){"scan.startup.timestamp-millis", "4102444800000"}; /* 2100 */
    ck_assert_msg(kb->open_reader("bids", 0, 0, props, nprops, &r, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(kb->start_offset(r, &at, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(at, 5);
    kb->close_reader(r);
    props[nprops - 1].value = "yesterday";
    ck_assert_int_eq(kb->open_reader("bids", 0, 0, props, nprops, &r, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "scan.startup.timestamp-millis"), "%s", err);
}
END_TEST

/* One record read back from partition 0 at offset with the given extra properties. */
static void read_one(const struct stream_property *extra, int nextra, uint64_t offset, char *out, size_t outlen)
{
    struct stream_property p[12];
    ck_assert_int_le(nprops + nextra, 12);
    memcpy(p, props, (size_t)nprops * sizeof *p);
    if (nextra > 0)
        memcpy(p + nprops, extra, (size_t)nextra * sizeof *p);
    void *r;
    struct stream_record rec;
    ck_assert_msg(kb->open_reader("bids", 0, offset, p, nprops + nextra, &r, err, sizeof err) == 0, "%s", err);
    int n = 0;
    for (int polls = 0; n == 0 && polls < 1000; polls++)
        n = kb->read(r, &rec, 1, err, sizeof err);
    ck_assert_msg(n == 1, "%s", err);
    snprintf(out, outlen, "%.*s", (int)rec.len, rec.data);
    kb->close_reader(r);
}

/* key.fields: the sink writes the key (json or raw) and, with EXCEPT_KEY, a value without the
 * key fields; a source with key.fields merges them back; format raw writes the one field's text;
 * bad combinations and rows are errors naming them. */
START_TEST(test_key_fields_and_raw)
{
    void *w;
    struct stream_property p[8];
    memcpy(p, props, (size_t)nprops * sizeof *p);
    p[1] = (struct stream_property){"format", "json"};
    p[nprops] = (struct stream_property){"key.fields", "auction;bidder"};
    p[nprops + 1] = (struct stream_property){"value.fields-include", "EXCEPT_KEY"};
    ck_assert_msg(kb->open_writer("bids", 0, p, nprops + 2, &w, err, sizeof err) == 0, "%s", err);
    const char *row = "{\"auction\":7,\"bidder\":\"b1\",\"price\":30}";
    ck_assert_msg(kb->append(w, row, (uint32_t)strlen(row), err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(kb->append(w, "{\"price\":1}", 11, err, sizeof err), -1);
    ck_assert_str_eq(err, "kafka topic \"bids\": key field \"auction\" is not in the row");
    ck_assert_msg(kb->flush(w, true, err, sizeof err) == 0, "%s", err);
    kb->close_writer(w);
    char got[256];
    read_one(NULL, 0, 0, got, sizeof got);
    ck_assert_str_eq(got, "{\"price\":30}"); /* the value alone */
    read_one(p + nprops, 1, 0, got, sizeof got);
    ck_assert_str_eq(got, "{\"price\":30,\"auction\":7,\"bidder\":\"b1\"}"); /* the key merged back */

    p[1] = (struct stream_property){"format", "raw"};
    ck_assert_msg(kb->open_writer("bids", 0, p, nprops, &w, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(kb->append(w, "{\"line\":\"hello world\"}", 22, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(kb->append(w, "{\"a\":1,\"b\":2}", 13, err, sizeof err), -1);
    ck_assert_str_eq(err, "kafka topic \"bids\": format raw writes rows of one field, not 2");
    ck_assert_msg(kb->flush(w, true, err, sizeof err) == 0, "%s", err);
    kb->close_writer(w);
    read_one(NULL, 0, 1, got, sizeof got);
    ck_assert_str_eq(got, "hello world");

    p[1] = (struct stream_property){"format", "json"};
    p[nprops] = (struct stream_property){"key.format", "raw"};
    ck_assert_int_eq(kb->open_writer("bids", 0, p, nprops + 1, &w, err, sizeof err), -1);
    ck_assert_str_eq(err, "'key.format' needs 'key.fields'");
    p[nprops + 1] = (struct stream_property){"key.fields", "a;b"};
    ck_assert_int_eq(kb->open_writer("bids", 0, p, nprops + 2, &w, err, sizeof err), -1);
    ck_assert_str_eq(err, "'key.format' = 'raw' takes one key field, not 2");
    /* a raw source makes each record the stream's one column (the schema comes as "__schema") */
    struct stream_property raw[] = {{"format", "raw"},
                                    {"__schema", "{\"fields\":[{\"name\":\"line\",\"type\":\"STRING\"}]}"}};
    read_one(raw, 2, 1, got, sizeof got);
    ck_assert_str_eq(got, "{\"line\":\"hello world\"}");
    read_one(raw, 2, 0, got, sizeof got); /* a JSON record is text too */
    ck_assert_str_eq(got, "{\"line\":\"{\\\"price\\\":30}\"}");
    p[1] = (struct stream_property){"format", "raw"};
    ck_assert_int_eq(kb->open_reader("bids", 0, 0, p, 2, &w, err, sizeof err), -1);
    ck_assert_str_eq(err, "kafka topic \"bids\": format raw reads into a stream of one column, not 0");
}
END_TEST

START_TEST(test_fixed_partitioner)
{
    write_records(3, 0, 4); /* task 3 of a 2-partition topic writes partition 1 */
    void *r;
    uint64_t end = 0;
    ck_assert_msg(kb->open_reader("bids", 1, 0, props, nprops, &r, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(kb->end_offset(r, &end, err, sizeof err), 0);
    ck_assert_uint_eq(end, 4);
    kb->close_reader(r);
}
END_TEST

START_TEST(test_missing_topic)
{
    int n = 0;
    void *h = NULL;
    ck_assert_int_eq(kb->partitions("nope", 1, props, nprops, &n, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "kafka topic \"nope\" does not exist") && strstr(err, "create it in Kafka first"), "%s",
                  err);
    ck_assert_int_eq(kb->open_writer("nope", 0, props, nprops, &h, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "\"nope\" does not exist"), "%s", err);
    ck_assert_int_eq(kb->open_reader("nope", 0, 0, props, nprops, &h, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "\"nope\" does not exist"), "%s", err);
    ck_assert_int_eq(kb->open_reader("bids", 2, 0, props, nprops, &h, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "has no partition 2 (it has 2)"), "%s", err);
    ck_assert_ptr_null(h);
}
END_TEST

START_TEST(test_bad_config)
{
    int n;
    struct stream_property none[] = {{"topic", "bids"}};
    ck_assert_int_eq(kb->partitions("bids", 0, none, 1, &n, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "needs 'properties.bootstrap.servers'"), "%s", err);
    struct stream_property empty[] = {{"properties.bootstrap.servers", ""}};
    ck_assert_int_eq(kb->partitions("bids", 0, empty, 1, &n, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "needs 'properties.bootstrap.servers'"), "%s", err);
    props[nprops++] = (struct stream_property){"properties.no.such.setting", "1"};
    ck_assert_int_eq(kb->partitions("bids", 0, props, nprops, &n, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "kafka property \"properties.no.such.setting\"") &&
                      strstr(err, "No such configuration property"),
                  "%s", err);
    props[nprops - 1] = (struct stream_property){"properties.acks", "several"};
    ck_assert_int_eq(kb->partitions("bids", 0, props, nprops, &n, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "kafka property \"properties.acks\""), "%s", err);
    props[nprops - 1] = (struct stream_property){"scan.startup.mode", "group-offsets"};
    ck_assert_int_eq(kb->partitions("bids", 0, props, nprops, &n, err, sizeof err), -1);
    ck_assert_str_eq(err, "kafka option \"scan.startup.mode\" must be earliest-offset | latest-offset | "
                          "specific-offsets | timestamp, not \"group-offsets\"");
    props[nprops - 1] = (struct stream_property){"format", "avro"};
    ck_assert_int_eq(kb->partitions("bids", 0, props, nprops, &n, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "\"format\" must be json"), "%s", err);
    props[nprops - 1] = (struct stream_property){"bootstrap.servers", "x:1"};
    ck_assert_int_eq(kb->partitions("bids", 0, props, nprops, &n, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "unknown kafka option \"bootstrap.servers\"") &&
                      strstr(err, "did you mean \"properties.bootstrap.servers\"?"),
                  "%s", err);
    ck_assert_int_eq(kb->partitions("", 0, props, 1, &n, err, sizeof err), -1);
    ck_assert_str_eq(err, "a kafka stream needs a 'topic'");
}
END_TEST

/* Reads into recs[16] until want records came (or a read fails); returns how many. A record's
 * data is valid until the next read: they are copied to a pool. */
static int read_all(void *r, struct stream_record *recs, int want)
{
    static char pool[8192];
    size_t used = 0;
    int got = 0;
    for (int polls = 0; got < want && polls < 1000;) {
        int n = kb->read(r, recs + got, 16 - got, err, sizeof err);
        if (n < 0)
            break;
        polls += n == 0;
        for (int i = got; i < got + n; i++) {
            ck_assert(used + recs[i].len <= sizeof pool);
            memcpy(pool + used, recs[i].data, recs[i].len);
            recs[i].data = pool + used;
            used += recs[i].len;
        }
        got += n;
    }
    return got;
}

/* format debezium-json: rows of every kind are written as Flink's serializer writes them
 * (+I/+U as op c with after, -U/-D as op d with before) and read back with their kinds. */
START_TEST(test_debezium_sink)
{
    struct stream_property dbz[] = {props[0], {"format", "debezium-json"}};
    void *w;
    ck_assert_msg(kb->open_writer("bids", 0, dbz, 2, &w, err, sizeof err) == 0, "%s", err);
    const char *rows[] = {"{\"id\":1,\"v\":\"a\"}", "{\"id\":1,\"v\":\"a\"}", "{\"id\":1,\"v\":\"b\"}",
                          "{\"id\":1,\"v\":\"b\"}"};
    enum row_kind kinds[] = {ROW_INSERT, ROW_UPDATE_BEFORE, ROW_UPDATE_AFTER, ROW_DELETE};
    ck_assert_msg(kb->append(w, rows[0], (uint32_t)strlen(rows[0]), err, sizeof err) == 0, "%s", err);
    for (int i = 1; i < 4; i++)
        ck_assert_msg(kb->append_kind(w, kinds[i], rows[i], (uint32_t)strlen(rows[i]), err, sizeof err) == 0, "%s",
                      err);
    ck_assert_msg(kb->flush(w, true, err, sizeof err) == 0, "%s", err);
    kb->close_writer(w);
    const char *want[] = {
        "{\"before\":null,\"after\":{\"id\":1,\"v\":\"a\"},\"op\":\"c\"}",
        "{\"before\":{\"id\":1,\"v\":\"a\"},\"after\":null,\"op\":\"d\"}",
        "{\"before\":null,\"after\":{\"id\":1,\"v\":\"b\"},\"op\":\"c\"}",
        "{\"before\":{\"id\":1,\"v\":\"b\"},\"after\":null,\"op\":\"d\"}",
    };
    void *r;
    struct stream_record recs[16];
    ck_assert_msg(kb->open_reader("bids", 0, 0, props, nprops, &r, err, sizeof err) == 0, "%s", err); /* as json */
    ck_assert_int_eq(read_all(r, recs, 4), 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(recs[i].kind, ROW_INSERT);
        ck_assert_uint_eq(recs[i].len, strlen(want[i]));
        ck_assert(memcmp(recs[i].data, want[i], recs[i].len) == 0);
    }
    kb->close_reader(r);
    ck_assert_msg(kb->open_reader("bids", 0, 0, dbz, 2, &r, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(read_all(r, recs, 4), 4);
    enum row_kind back[] = {ROW_INSERT, ROW_DELETE, ROW_INSERT, ROW_DELETE}; /* Flink's encoding */
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(recs[i].kind, back[i]);
        ck_assert_uint_eq(recs[i].offset, (uint64_t)i);
        ck_assert(recs[i].len == strlen(rows[i]) && memcmp(recs[i].data, rows[i], recs[i].len) == 0);
    }
    kb->close_reader(r);
    /* format json is append-only */
    ck_assert_msg(kb->open_writer("bids", 0, props, nprops, &w, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(kb->append_kind(w, ROW_DELETE, rows[0], (uint32_t)strlen(rows[0]), err, sizeof err), -1);
    ck_assert_str_eq(err, "kafka topic \"bids\": format json takes inserts only, not a -D row; use 'format' = "
                          "'debezium-json' for a changelog");
    ck_assert_int_eq(kb->append_kind(w, ROW_INSERT, rows[0], (uint32_t)strlen(rows[0]), err, sizeof err), 0);
    kb->close_writer(w);
}
END_TEST

/* Debezium's own events: c, r, u with and without before, d, its tombstone, the Kafka Connect
 * envelope; and an event that is not one fails the read with the offset. */
START_TEST(test_debezium_source)
{
    const char *events[] = {
        "{\"before\":null,\"after\":{\"id\":1,\"v\":\"a\"},\"op\":\"c\",\"ts_ms\":1}",
        "{\"after\":{\"id\":2,\"v\":\"x\"},\"op\":\"r\"}",
        "{\"before\":{\"id\":1,\"v\":\"a\"},\"after\":{\"id\":1,\"v\":\"b\"},\"op\":\"u\"}",
        "{\"before\":null,\"after\":{\"id\":2,\"v\":\"y\"},\"op\":\"u\"}",
        "{\"before\":{\"id\":1,\"v\":\"b\"},\"after\":null,\"op\":\"d\"}",
        "",
        "{\"schema\":{},\"payload\":{\"before\":null,\"after\":{\"id\":3,\"v\":\"z\"},\"op\":\"c\"}}",
        "{\"before\":null,\"after\":null,\"op\":\"x\"}",
    };
    void *w;
    ck_assert_msg(kb->open_writer("bids", 0, props, nprops, &w, err, sizeof err) == 0, "%s", err);
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
        ck_assert_msg(kb->append(w, events[i], (uint32_t)strlen(events[i]), err, sizeof err) == 0, "%s", err);
    ck_assert_msg(kb->flush(w, true, err, sizeof err) == 0, "%s", err);
    kb->close_writer(w);
    struct {
        uint64_t offset;
        enum row_kind kind;
        const char *row;
    } want[] = {
        {0, ROW_INSERT, "{\"id\":1,\"v\":\"a\"}"},        {1, ROW_INSERT, "{\"id\":2,\"v\":\"x\"}"},
        {2, ROW_UPDATE_BEFORE, "{\"id\":1,\"v\":\"a\"}"}, {2, ROW_UPDATE_AFTER, "{\"id\":1,\"v\":\"b\"}"},
        {3, ROW_UPDATE_AFTER, "{\"id\":2,\"v\":\"y\"}"},  {4, ROW_DELETE, "{\"id\":1,\"v\":\"b\"}"},
        {6, ROW_INSERT, "{\"id\":3,\"v\":\"z\"}"},
    };
    struct stream_property dbz[] = {props[0], {"format", "debezium-json"}};
    void *r;
    struct stream_record recs[16];
    ck_assert_msg(kb->open_reader("bids", 0, 0, dbz, 2, &r, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(read_all(r, recs, 7), 7);
    for (int i = 0; i < 7; i++) {
        ck_assert_uint_eq(recs[i].offset, want[i].offset);
        ck_assert_int_eq(recs[i].kind, want[i].kind);
        ck_assert(recs[i].len == strlen(want[i].row) && memcmp(recs[i].data, want[i].row, recs[i].len) == 0);
    }
    int n = 0;
    for (int polls = 0; n >= 0 && polls < 1000; polls++)
        n = kb->read(r, recs, 16, err, sizeof err);
    ck_assert_int_eq(n, -1);
    ck_assert_str_eq(err, "kafka topic \"bids\" partition 0 at offset 7: debezium-json event has an unknown op \"x\""
                          " (c, r, u or d)");
    kb->close_reader(r);
}
END_TEST

/* Readers of one topic share a client (kafka_pool.h), each partition its own queue; a second
 * reader of a partition already read gets a client of its own, and both see every record. */
START_TEST(test_shared_readers)
{
    write_records(0, 0, 5);
    write_records(1, 0, 3);
    void *r0, *r1, *again;
    ck_assert_msg(kb->open_reader("bids", 0, 0, props, nprops, &r0, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(kb->open_reader("bids", 1, 0, props, nprops, &r1, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(kb->open_reader("bids", 0, 2, props, nprops, &again, err, sizeof err) == 0, "%s", err);
    expect_records(r1, 0, 3);
    expect_records(r0, 0, 5);
    expect_records(again, 2, 3);
    kb->close_reader(r0);
    expect_records(again, 2, 0); /* closing one reader leaves the other's client alone */
    write_records(0, 5, 7);
    expect_records(again, 5, 2);
    kb->close_reader(again);
    write_records(1, 3, 4);
    expect_records(r1, 3, 1);
    kb->close_reader(r1);
}
END_TEST

#define META_SCHEMA(cols) "{\"fields\":[{\"name\":\"id\",\"type\":\"BIGINT\"}" cols "]}"

/* METADATA columns (kafka_meta.h): a sink writes the headers and timestamp columns and leaves
 * them and the read-only ones out of the value; a source fills each from the record. */
START_TEST(test_metadata_columns)
{
    struct stream_property p[4] = {props[0], props[1]};
    p[2] = (struct stream_property){
        "__schema", META_SCHEMA(",{\"name\":\"h\",\"type\":\"STRING\",\"metadata\":\"headers\"},"
                                "{\"name\":\"t\",\"type\":\"TIMESTAMP(3)\",\"metadata\":\"timestamp\"},"
                                "{\"name\":\"o\",\"type\":\"BIGINT\",\"metadata\":\"offset\"},"
                                "{\"name\":\"v\",\"type\":\"STRING\",\"metadata\":\"topic\",\"virtual\":true}")};
    void *w;
    ck_assert_msg(kb->open_writer("bids", 0, p, 3, &w, err, sizeof err) == 0, "%s", err);
    const char *row = "{\"id\":1,\"h\":\"{\\\"a\\\":\\\"x\\\",\\\"b\\\":{\\\"base64\\\":\\\"/wA=\\\"},\\\"c\\\":null,"
                      "\\\"d\\\":5}\",\"t\":\"2026-01-02 03:04:05.678\",\"o\":9,\"v\":\"w\"}";
    ck_assert_msg(kb->append(w, row, (uint32_t)strlen(row), err, sizeof err) == 0, "%s", err);
    const char *plain = "{\"id\":2,\"h\":null,\"t\":null,\"o\":null,\"v\":null}";
    ck_assert_msg(kb->append(w, plain, (uint32_t)strlen(plain), err, sizeof err) == 0, "%s", err);
    const char *bad = "{\"id\":3,\"h\":\"[1]\"}";
    ck_assert_int_eq(kb->append(w, bad, (uint32_t)strlen(bad), err, sizeof err), -1);
    ck_assert_str_eq(err, "kafka topic \"bids\": column \"h\": the headers must be a JSON object {\"name\": \"value\", "
                          "...}, not [1]");
    bad = "{\"id\":3,\"t\":\"soon\"}";
    ck_assert_int_eq(kb->append(w, bad, (uint32_t)strlen(bad), err, sizeof err), -1);
    ck_assert_str_eq(err, "kafka topic \"bids\": column \"t\": not a timestamp: \"soon\"");
    ck_assert_msg(kb->flush(w, true, err, sizeof err) == 0, "%s", err);
    kb->close_writer(w);

    char got[512];
    read_one(NULL, 0, 0, got, sizeof got); /* the value alone */
    ck_assert_str_eq(got, "{\"id\":1}");
    struct stream_property meta[] = {
        {"__schema", META_SCHEMA(",{\"name\":\"headers\",\"type\":\"STRING\",\"metadata\":\"headers\"},"
                                 "{\"name\":\"ts\",\"type\":\"TIMESTAMP(3)\",\"metadata\":\"timestamp\"},"
                                 "{\"name\":\"tt\",\"type\":\"STRING\",\"metadata\":\"timestamp-type\"},"
                                 "{\"name\":\"p\",\"type\":\"BIGINT\",\"metadata\":\"partition\"},"
                                 "{\"name\":\"id\",\"type\":\"BIGINT\",\"metadata\":\"offset\"},"
                                 "{\"name\":\"topic\",\"type\":\"STRING\",\"metadata\":\"topic\"}")}};
    read_one(meta, 1, 0, got, sizeof got);
    ck_assert_str_eq(got, "{\"id\":1,\"headers\":\"{\\\"a\\\":\\\"x\\\",\\\"b\\\":{\\\"base64\\\":\\\"/wA=\\\"},"
                          "\\\"c\\\":null,\\\"d\\\":\\\"5\\\"}\",\"ts\":\"2026-01-02 03:04:05.678\",\"tt\":"
                          "\"CreateTime\",\"p\":0,\"id\":0,\"topic\":\"bids\"}");
    read_one(meta, 1, 1, got, sizeof got);                         /* no headers: {}; the producer's time */
    const char *want = "{\"id\":2,\"headers\":\"{}\",\"ts\":\"20"; /* the offset as "id" wins: the value's is first */
    ck_assert_msg(strncmp(got, want, strlen(want)) == 0 && strstr(got, ",\"id\":1,"), "%s", got);

    /* a record that is no JSON object goes to the engine's error policy; format raw reads it */
    ck_assert_msg(kb->open_writer("bids", 0, props, nprops, &w, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(kb->append(w, "not json", 8, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(kb->flush(w, true, err, sizeof err) == 0, "%s", err);
    kb->close_writer(w);
    memcpy(p + 1, meta, sizeof meta);
    ck_assert_msg(kb->open_reader("bids", 0, 2, p, 2, &w, err, sizeof err) == 0, "%s", err);
    struct stream_record rec;
    int n = 0;
    for (int polls = 0; n == 0 && polls < 1000; polls++)
        n = kb->read(w, &rec, 1, err, sizeof err);
    ck_assert_msg(n == 1, "%s", err);
    ck_assert_str_eq(rec.error, "a record must be a JSON object");
    ck_assert_int_eq(rec.len, 8);
    ck_assert(memcmp(rec.data, "not json", 8) == 0);
    kb->close_reader(w);
    struct stream_property raw[] = {
        {"format", "raw"},
        {"__schema", "{\"fields\":[{\"name\":\"line\",\"type\":\"STRING\"},{\"name\":\"o\",\"type\":\"BIGINT\","
                     "\"metadata\":\"offset\"}]}"}};
    read_one(raw, 2, 2, got, sizeof got);
    ck_assert_str_eq(got, "{\"line\":\"not json\",\"o\":2}");

    struct stream_property unknown[] = {{"__schema", META_SCHEMA(",{\"name\":\"k\",\"type\":\"STRING\",\"metadata\":"
                                                                 "\"leader-epoch\"}")}};
    memcpy(p + 2, unknown, sizeof unknown);
    ck_assert_int_eq(kb->open_reader("bids", 0, 0, p, 3, &w, err, sizeof err), -1);
    ck_assert_str_eq(err, "column \"k\": kafka has no metadata key 'leader-epoch'");
    p[1] = (struct stream_property){"format", "debezium-json"};
    memcpy(p + 2, meta, sizeof meta);
    ck_assert_int_eq(kb->open_writer("bids", 0, p, 3, &w, err, sizeof err), -1);
    ck_assert_str_eq(err, "kafka topic \"bids\": METADATA columns take format json or raw, not debezium-json");
}
END_TEST

#define CONN_SCHEMA                                                                                                    \
    "{\"fields\":[{\"name\":\"id\",\"type\":\"BIGINT\"},{\"name\":\"k\",\"type\":\"STRING\"},{\"name\":\"h\","         \
    "\"type\":"                                                                                                        \
    "\"string\"},{\"name\":\"t\",\"type\":\"TIMESTAMP(3)\"},{\"name\":\"o\",\"type\":\"INT\"}]}"

/* A connection's options (the API's way, the stream's schema shared): 'metadata.FIELD' maps a
 * field to metadata and key.fields with key.format raw makes a STRING field the record's key,
 * both ways; check_connection refuses what cannot work, naming the option. */
START_TEST(test_connection_options)
{
    struct stream_property p[10] = {props[0],
                                    {"__schema", CONN_SCHEMA},
                                    {"key.fields", "k"},
                                    {"key.format", "raw"},
                                    {"value.fields-include", "EXCEPT_KEY"},
                                    {"metadata.h", "headers"},
                                    {"metadata.t", "timestamp"}};
    void *w;
    ck_assert_msg(kb->open_writer("bids", 0, p, 7, &w, err, sizeof err) == 0, "%s", err);
    const char *row =
        "{\"id\":1,\"k\":\"key-1\",\"h\":\"{\\\"a\\\":\\\"x\\\"}\",\"t\":\"2026-01-02 03:04:05.678\",\"o\":7}";
    ck_assert_msg(kb->append(w, row, (uint32_t)strlen(row), err, sizeof err) == 0, "%s", err);
    const char *nokey = "{\"id\":2,\"k\":null,\"h\":null,\"t\":null,\"o\":null}";
    ck_assert_msg(kb->append(w, nokey, (uint32_t)strlen(nokey), err, sizeof err) == 0, "%s", err);
    ck_assert_msg(kb->flush(w, true, err, sizeof err) == 0, "%s", err);
    kb->close_writer(w);
    char got[512];
    read_one(NULL, 0, 0, got, sizeof got);
    ck_assert_str_eq(got, "{\"id\":1,\"o\":7}"); /* no key, headers or timestamp in the value */
    p[7] = (struct stream_property){"metadata.o", "offset"};
    read_one(p + 1, 7, 0, got, sizeof got);
    ck_assert_str_eq(got, "{\"id\":1,\"o\":7,\"k\":\"key-1\",\"h\":\"{\\\"a\\\":\\\"x\\\"}\",\"t\":\"2026-01-02 "
                          "03:04:05.678\",\"o\":0}");
    read_one(p + 1, 7, 1, got, sizeof got);                                       /* no key: null */
    const char *want = "{\"id\":2,\"o\":null,\"k\":null,\"h\":\"{}\",\"t\":\"20"; /* the producer's time */
    ck_assert_msg(strncmp(got, want, strlen(want)) == 0, "%s", got);

    char option[100];
    struct {
        bool sink;
        struct stream_property extra[3];
        const char *option, *err;
    } bad[] = {
        {false, {{"metadata.x", "headers"}}, "metadata.x", "'metadata.x': the stream has no field \"x\""},
        {false,
         {{"metadata.id", "headers"}},
         "metadata.id",
         "'metadata.id': metadata 'headers' is STRING, and field \"id\" is BIGINT"},
        {false,
         {{"metadata.h", "leader-epoch"}},
         "metadata.h",
         "'metadata.h': kafka has no metadata key 'leader-epoch' (it has headers, timestamp, timestamp-type, offset, "
         "partition, topic)"},
        {true,
         {{"metadata.o", "offset"}},
         "metadata.o",
         "'metadata.o': metadata 'offset' is read-only; a sink writes only 'headers' and 'timestamp'"},
        {false, {{"key.fields", "k;zz"}}, "key.fields", "'key.fields': the stream has no field \"zz\""},
        {false,
         {{"key.fields", "id"}, {"key.format", "raw"}},
         "key.fields",
         "'key.fields': a source reads a raw key into a STRING field, and \"id\" is BIGINT"},
        {false, {{"key.format", "raw"}}, "key.format", "'key.format' needs 'key.fields'"},
        {true,
         {{"key.fields", "k"}, {"metadata.k", "headers"}},
         "metadata.k",
         "'metadata.k': field \"k\" is in 'key.fields' already"},
        {true,
         {{"sink.delivery-guarantee", "exactly-once"}, {"metadata.t", "timestamp"}},
         "metadata.t",
         "'metadata.t': an exactly-once sink writes no headers or timestamps yet; leave it out or use "
         "'sink.delivery-guarantee' = 'at-least-once'"},
        {false,
         {{"format", "debezium-json"}, {"metadata.h", "headers"}},
         "metadata.h",
         "'metadata.h': metadata columns take format json or raw, not debezium-json"},
        {true,
         {{"format", "debezium-json"}, {"key.fields", "k"}},
         "key.fields",
         "'key.fields': a sink of format debezium-json takes no key fields"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct stream_property q[4] = {{"__schema", CONN_SCHEMA}};
        int n = 1;
        for (int k = 0; k < 3 && bad[i].extra[k].key; k++)
            q[n++] = bad[i].extra[k];
        ck_assert_int_eq(kb->check_connection(q, n, bad[i].sink, option, sizeof option, err, sizeof err), -1);
        ck_assert_str_eq(option, bad[i].option);
        ck_assert_str_eq(err, bad[i].err);
    }
    struct stream_property ok[] = {{"__schema", CONN_SCHEMA}, {"key.fields", "id"}, {"metadata.o", "partition"}};
    ck_assert_msg(kb->check_connection(ok, 3, false, option, sizeof option, err, sizeof err) == 0, "%s", err);
    /* the backend checks as it opens, too (a stream changed since) */
    p[7] = (struct stream_property){"metadata.o", "offset"};
    ck_assert_int_eq(kb->open_writer("bids", 0, p, 8, &w, err, sizeof err), -1);
    ck_assert_str_eq(err, "kafka topic \"bids\": 'metadata.o': metadata 'offset' is read-only; a sink writes only "
                          "'headers' and 'timestamp'");
}
END_TEST

static Suite *kafka_suite(void)
{
    Suite *s = suite_create("kafka");
    TCase *tc = tcase_create("backend");
    tcase_set_timeout(tc, 60);
    /* no teardown: the cluster goes with each test's process (CK_FORK, the default), as
     * destroying a mock cluster takes a second (its thread's poll interval) */
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_backend_registered);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_resume_at_offset);
    tcase_add_test(tc, test_startup_modes);
    tcase_add_test(tc, test_startup_specific_offsets);
    tcase_add_test(tc, test_startup_timestamp);
    tcase_add_test(tc, test_key_fields_and_raw);
    tcase_add_test(tc, test_fixed_partitioner);
    tcase_add_test(tc, test_missing_topic);
    tcase_add_test(tc, test_bad_config);
    tcase_add_test(tc, test_debezium_sink);
    tcase_add_test(tc, test_debezium_source);
    tcase_add_test(tc, test_shared_readers);
    tcase_add_test(tc, test_metadata_columns);
    tcase_add_test(tc, test_connection_options);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return check_run_suite(kafka_suite()); }
