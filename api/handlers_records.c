/* handlers_records.c — GET /v1/streams/{id}/records: a stream's records from its embedded log
 * under <data-root>/tenants/<tenant>/streams/<stream>/<partition>/, or from its topic when it is
 * stored in Kafka, each with its row kind as "op" ("+I", "-U", "+U", "-D"; an upsert stream's
 * delete is a "-D" with the deleted row). */
#include "api/handlers_records.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/query_args.h"
#include "common/clock.h"
#include "common/fs.h"
#include "common/json_text.h"
#include "common/log.h"
#include "dataplane/kafka/kafka_admin.h"
#include "dataplane/log/log.h"

#define RECORDS_HEAD "{\"items\":["
#define RECORDS_KAFKA_WAIT_MS 2000 /* a read of a topic gives up waiting for more after this */

/* One record as the list's item, appended to t: its value as the writer wrote it when it is
 * JSON (so a DOUBLE keeps its shortest exact form, 1985359.252, which jansson would print with
 * 17 digits, 1985359.2520000001), else as a string. */
static void records_item(struct json_text *t, long partition, const struct stream_record *rec)
{
    char head[160];
    snprintf(head, sizeof head, "%s{\"partition\":%ld,\"offset\":%llu,\"op\":\"%s\",\"value\":",
             t->len > sizeof RECORDS_HEAD - 1 ? "," : "", partition, (unsigned long long)rec->offset,
             row_kind_name(rec->kind));
    json_text_cstr(t, head);
    json_t *v = json_loadb(rec->data, rec->len, JSON_DECODE_ANY, NULL);
    if (v)
        json_text_raw(t, rec->data, rec->len);
    else
        json_text_string(t, rec->data, rec->len);
    json_decref(v);
    json_text_cstr(t, "}");
}

/* The answer: the items in t (begun with RECORDS_HEAD), then the offsets. */
static int records_reply(struct api_response *resp, struct json_text *t, uint64_t start, uint64_t end, uint64_t next)
{
    char tail[128];
    snprintf(tail, sizeof tail, "],\"start_offset\":%llu,\"end_offset\":%llu,\"next_offset\":%llu}",
             (unsigned long long)start, (unsigned long long)end, (unsigned long long)next);
    json_text_cstr(t, tail);
    char *body = json_text_take(t);
    if (!body)
        return api_fail(resp, API_INTERNAL, NULL, "out of memory");
    return api_reply_text(resp, 200, body);
}

/* The end offset of a topic's partition (its high watermark); 0 or -1 with err. */
static int records_kafka_end(const struct stream_backend *kb, const char *topic, long partition,
                             const struct stream_property *props, uint64_t *end, char *err, size_t errlen)
{
    void *reader;
    if (kb->open_reader(topic, (int)partition, 0, props, 2, &reader, err, errlen) != 0)
        return -1;
    int rc = kb->end_offset(reader, end, err, errlen);
    kb->close_reader(reader);
    return rc;
}

/* The records of a Kafka-stored stream: as records_list, from the topic on the cluster. */
static int records_kafka(struct api_request *req, struct api_response *resp, const char *id, long partition,
                         long offset, long limit, bool upsert)
{
    const struct stream_backend *kb = stream_backend_find("kafka");
    const char *servers = req->settings->kafka_bootstrap_servers;
    if (!kb || !servers)
        return api_fail(resp, API_UNAVAILABLE, NULL,
                        "stream %s is stored in Kafka, and this api has no Kafka cluster (--kafka-bootstrap-servers)",
                        id);
    char topic[256], err[600];
    kafka_stream_topic(req->caller.tenant_id, id, topic, sizeof topic);
    const struct stream_property props[] = {{"properties.bootstrap.servers", servers},
                                            {"format", upsert ? "debezium-json" : "json"}};
    uint64_t end = 0;
    if (records_kafka_end(kb, topic, partition, props, &end, err, sizeof err) != 0)
        return api_fail(resp, API_UNAVAILABLE, NULL, "cannot read the stream's Kafka topic: %s", err);
    uint64_t start = offset >= 0 ? (uint64_t)offset : (end > (uint64_t)limit ? end - (uint64_t)limit : 0);
    if (start > end)
        start = end;
    struct json_text items = {0};
    json_text_cstr(&items, RECORDS_HEAD);
    long nitems = 0;
    uint64_t next = start;
    void *reader = NULL;
    if (start < end && kb->open_reader(topic, (int)partition, start, props, 2, &reader, err, sizeof err) != 0) {
        json_text_free(&items);
        return api_fail(resp, API_UNAVAILABLE, NULL, "cannot read the stream's Kafka topic: %s", err);
    }
    int64_t deadline = clock_mono_ms() + RECORDS_KAFKA_WAIT_MS;
    while (reader && next < end && nitems < limit && clock_mono_ms() < deadline) {
        struct stream_record recs[64];
        int want = (int)(limit - nitems);
        int n = kb->read(reader, recs, want < 2 ? 2 : want < 64 ? want : 64, err, sizeof err);
        if (n < 0)
            break;
        for (int i = 0; i < n && nitems < limit; i++, nitems++) {
            records_item(&items, partition, &recs[i]);
            next = recs[i].offset + 1;
        }
    }
    if (reader)
        kb->close_reader(reader);
    return records_reply(resp, &items, start, end, next);
}

int records_list(struct api_request *req, struct api_response *resp)
{
    const char *id = req->params.values[0];
    if (!api_is_uuid(id))
        return api_fail(resp, API_NOT_FOUND, NULL, "stream %s not found", id);
    long limit, partition, offset;
    if (query_args_long(req, resp, "limit", 20, 1, 1000, &limit) != 0 ||
        query_args_long(req, resp, "partition", 0, 0, 4095, &partition) != 0 ||
        query_args_long(req, resp, "offset", -1, 0, 0x7fffffffffffffffL, &offset) != 0)
        return -1;
    const char *p[] = {id};
    struct db_error dberr;
    PGresult *r = db_query(req->db,
                           "SELECT partitions, storage, CASE WHEN jsonb_typeof(schema->'primary_key') = 'array'"
                           "   THEN jsonb_array_length(schema->'primary_key') > 0 ELSE false END"
                           "  FROM streams WHERE id = $1",
                           1, p, &dberr);
    if (!r)
        return api_fail_db(resp, &dberr);
    int found = PQntuples(r) == 1, partitions = found ? atoi(PQgetvalue(r, 0, 0)) : 0;
    bool kafka = found && strcmp(PQgetvalue(r, 0, 1), "kafka") == 0;
    bool upsert = found && strcmp(PQgetvalue(r, 0, 2), "t") == 0;
    PQclear(r);
    if (!found)
        return api_fail(resp, API_NOT_FOUND, NULL, "stream %s not found", id);
    if (partition >= partitions)
        return api_fail_field(resp, API_INVALID_REQUEST, "partition", "the stream has %d partition%s", partitions,
                              partitions == 1 ? "" : "s");
    if (kafka)
        return records_kafka(req, resp, id, partition, offset, limit, upsert);
    char rel[256], dir[64], err[512];
    snprintf(rel, sizeof rel, "tenants/%s/streams/%s/%ld", req->caller.tenant_id, id, partition);
    /* the partition through a descriptor opened without following symlinks: the tenant's worker
     * can write its streams directory, and the api reads as root (common/fs.h) */
    int dirfd = fs_open_dir_below(req->settings->data_root ? req->settings->data_root : "var/data", rel, false, err,
                                  sizeof err);
    if (dirfd < 0 && errno != ENOENT) {
        log_error("records: %s", err);
        return api_fail(resp, API_INTERNAL, NULL, "cannot read stream %s", id);
    }
    fs_fd_path(dirfd, dir, sizeof dir);
    uint64_t end = 0;
    struct json_text items = {0};
    json_text_cstr(&items, RECORDS_HEAD);
    if (dirfd < 0 || seglog_partition_end_offset(dir, &end, err, sizeof err) != 0) {
        if (dirfd >= 0)
            close(dirfd);
        return records_reply(resp, &items, 0, 0, 0); /* nothing written yet */
    }
    uint64_t start = offset >= 0 ? (uint64_t)offset : (end > (uint64_t)limit ? end - (uint64_t)limit : 0);
    if (start > end)
        start = end;
    struct seglog_reader *reader = NULL;
    if (start < end && seglog_reader_open(dir, start, &reader, err, sizeof err) != 0) {
        close(dirfd);
        json_text_free(&items);
        return api_fail_field(resp, API_INVALID_REQUEST, "offset", "cannot read from offset %llu: %s",
                              (unsigned long long)start, err);
    }
    uint64_t next = start;
    long nitems = 0;
    while (reader && nitems < limit) {
        struct stream_record recs[64];
        int want = (int)(limit - nitems);
        int n = seglog_reader_read(reader, recs, want < 64 ? want : 64, err, sizeof err);
        if (n <= 0)
            break;
        for (int i = 0; i < n; i++, nitems++) {
            records_item(&items, partition, &recs[i]);
            next = recs[i].offset + 1;
        }
    }
    seglog_reader_close(reader);
    close(dirfd);
    return records_reply(resp, &items, start, end, next);
}
