/* handlers_ingest.c — POST /v1/connections/{id}/events (see handlers_ingest.h): look the
 * connection and its stream up in the tenant's transaction, parse the batch (JSON or NDJSON),
 * decode every event against the stream's schema, count usage, then append to the stream's
 * partitions through the cached writers of api/ingest_writers.h and fsync before answering; a
 * stream stored in Kafka gets the events produced into its topic, all delivered before the
 * answer (which then has no offsets: Kafka's are not known to the producer). */
#include "api/handlers_ingest.h"
#include "api/ingest_writers.h"
#include "api/tenant_storage.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "common/arena.h"
#include "common/json_check.h"
#include "common/log.h"
#include "dataplane/codec/json_decode.h"
#include "dataplane/kafka/kafka_admin.h"
#include "dataplane/log/log.h"
#include "dataplane/schema_json.h"
#include "dataplane/sql/sql.h"

#define INGEST_LOCK_WAIT_MS 3000 /* how long a request waits for a partition's writer */
#define INGEST_MAX_PARTITIONS 4096
#define INGEST_FRAME_BYTES 8 /* the embedded log's framing of a record: length and CRC */

/* ---- the connection and its stream ------------------------------------------------------ */

struct ingest_target {
    char name[128], connector[128], type[16], desired[16];
    char stream_id[40], stream_name[128];
    int partitions;
    json_t *schema;              /* owned */
    char key_field[256];         /* the partition.key property, "" when absent */
    long long max_storage_bytes; /* the tenant's plan's storage quota; < 0: none */
    bool kafka;                  /* the stream is stored in Kafka (its topic) */
};

/* Fills t from the connection id (scoped to the tenant by row-level security). 0, or -1 with
 * resp filled (404, or a database error). */
static int ingest_lookup(struct api_request *req, struct api_response *resp, const char *id, struct ingest_target *t)
{
    if (!api_is_uuid(id))
        return api_fail(resp, API_NOT_FOUND, NULL, "connection %s not found", id);
    const char *p[] = {id};
    PGresult *res = api_db_query(req, resp,
                                 "SELECT c.name, c.connector, c.type, c.desired_state, s.id, s.name, s.partitions,"
                                 "       s.schema::text, coalesce(c.properties->>'partition.key', ''),"
                                 "       coalesce((SELECT p.max_storage_bytes FROM tenants tt"
                                 "                   JOIN plans p ON p.name = tt.plan), -1), s.storage"
                                 "  FROM connections c JOIN streams s ON s.id = c.stream_id WHERE c.id = $1",
                                 1, p);
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return api_fail(resp, API_NOT_FOUND, NULL, "connection %s not found", id);
    }
    snprintf(t->name, sizeof t->name, "%s", PQgetvalue(res, 0, 0));
    snprintf(t->connector, sizeof t->connector, "%s", PQgetvalue(res, 0, 1));
    snprintf(t->type, sizeof t->type, "%s", PQgetvalue(res, 0, 2));
    snprintf(t->desired, sizeof t->desired, "%s", PQgetvalue(res, 0, 3));
    snprintf(t->stream_id, sizeof t->stream_id, "%s", PQgetvalue(res, 0, 4));
    snprintf(t->stream_name, sizeof t->stream_name, "%s", PQgetvalue(res, 0, 5));
    t->partitions = atoi(PQgetvalue(res, 0, 6));
    if (t->partitions < 1)
        t->partitions = 1;
    if (t->partitions > INGEST_MAX_PARTITIONS)
        t->partitions = INGEST_MAX_PARTITIONS;
    t->schema = json_loads(PQgetvalue(res, 0, 7), 0, NULL);
    snprintf(t->key_field, sizeof t->key_field, "%s", PQgetvalue(res, 0, 8));
    t->max_storage_bytes = atoll(PQgetvalue(res, 0, 9));
    t->kafka = strcmp(PQgetvalue(res, 0, 10), "kafka") == 0;
    PQclear(res);
    if (!t->schema)
        return api_fail(resp, API_INTERNAL, NULL, "internal error");
    return 0;
}

/* 409 unless the connection takes events now. */
static int ingest_check_target(const struct ingest_target *t, const char *id, struct api_response *resp)
{
    if (strcmp(t->connector, "http") != 0 || strcmp(t->type, "source") != 0)
        return api_fail(resp, API_WRONG_CONNECTOR, json_pack("{s:s,s:s}", "connector", t->connector, "type", t->type),
                        "connection \"%s\" is a %s %s; only connections with connector \"http\" and type "
                        "\"source\" take events",
                        t->name, t->connector, t->type);
    if (strcmp(t->desired, "running") != 0)
        return api_fail(resp, API_NOT_ACTIVE, json_pack("{s:s}", "desired_state", t->desired),
                        "connection \"%s\" is not active; activate it with POST /v1/connections/%s/activate", t->name,
                        id);
    return 0;
}

/* ---- the batch ---------------------------------------------------------------------------- */

struct ingest_event {
    const char *text; /* compact JSON, in the request's arena */
    size_t len;
    int partition;
};

struct ingest_batch {
    struct ingest_event *events; /* in the request's arena */
    int n, cap;
    bool ndjson; /* errors name lines (1-based) rather than indexes (0-based) */
    json_t *errors;
    long invalid;
};

/* Records one bad event: position (index or line), the field when the reason names one. */
static void ingest_bad(struct ingest_batch *b, long position, const char *reason)
{
    b->invalid++;
    if (json_array_size(b->errors) >= INGEST_MAX_ERROR_DETAILS)
        return;
    char field[160] = "";
    const char *why = reason;
    /* the decoder says `field "name": what` */
    if (strncmp(reason, "field \"", 7) == 0) {
        const char *end = strstr(reason + 7, "\": ");
        if (end && (size_t)(end - reason - 7) < sizeof field) {
            memcpy(field, reason + 7, (size_t)(end - reason - 7));
            field[end - reason - 7] = '\0';
            why = end + 3;
        }
    }
    json_t *e = json_pack("{s:I,s:s?,s:s}", b->ndjson ? "line" : "index", (json_int_t)position, "field",
                          field[0] ? field : NULL, "reason", why);
    if (e && !field[0])
        json_object_set_new(e, "field", json_null());
    json_array_append_new(b->errors, e);
}

/* 64-bit FNV-1a of s[0..n). */
static uint64_t ingest_fnv1a(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

/* Hash of the event's partition key: FNV-1a over the string, or over other values' JSON. */
static uint64_t ingest_key_hash(const json_t *ev, const char *key)
{
    const json_t *v = json_object_get(ev, key);
    if (json_is_string(v))
        return ingest_fnv1a(json_string_value(v), json_string_length(v));
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS) : NULL;
    uint64_t h = text ? ingest_fnv1a(text, strlen(text)) : ingest_fnv1a("null", 4);
    free(text);
    return h;
}

/* Adds one parsed value (or records why it is bad): it must be an object that decodes against
 * the schema. */
static int ingest_add(struct api_request *req, struct ingest_batch *b, const struct ingest_target *t,
                      const struct json_decoder *dec, struct value *row, struct arena *scratch, const json_t *ev,
                      long position)
{
    if (!json_is_object(ev)) {
        ingest_bad(b, position, "an event must be a JSON object");
        return 0;
    }
    size_t len = json_dumpb(ev, NULL, 0, JSON_COMPACT);
    char *text = len ? arena_alloc(req->arena, len) : NULL;
    if (!text || json_dumpb(ev, text, len, JSON_COMPACT) != len)
        return -1;
    char reason[256];
    arena_reset(scratch);
    if (json_decode_row(dec, text, len, row, scratch, reason, sizeof reason) != 0) {
        ingest_bad(b, position, reason);
        return 0;
    }
    if (b->invalid)
        return 0; /* nothing will be written: keep checking, store nothing */
    if (b->n == b->cap) {
        int cap = b->cap ? b->cap * 4 : 256;
        struct ingest_event *grown = arena_alloc(req->arena, (size_t)cap * sizeof *grown);
        if (!grown)
            return -1;
        if (b->n)
            memcpy(grown, b->events, (size_t)b->n * sizeof *grown);
        b->events = grown;
        b->cap = cap;
    }
    int partition = t->key_field[0] ? (int)(ingest_key_hash(ev, t->key_field) % (uint64_t)t->partitions) : 0;
    b->events[b->n++] = (struct ingest_event){.text = text, .len = len, .partition = partition};
    return 0;
}

static int ingest_too_many(struct api_response *resp, long count)
{
    return api_fail(
        resp, API_PAYLOAD_TOO_LARGE,
        json_pack("{s:s,s:i,s:I}", "field", "events", "limit", INGEST_MAX_EVENTS, "count", (json_int_t)count),
        "too many events in one request: %ld; send at most %d a request", count, INGEST_MAX_EVENTS);
}

/* Body {"events":[...]}. */
static int ingest_parse_json(struct api_request *req, struct api_response *resp, struct ingest_batch *b,
                             const struct ingest_target *t, const struct json_decoder *dec, struct value *row,
                             struct arena *scratch)
{
    static const struct json_check_field fields[] = {{"events", JSON_CHECK_ARRAY, JSON_CHECK_REQUIRED, 0, 0, NULL}};
    json_error_t jerr;
    json_t *body = json_loadb(req->body, req->body_len, 0, &jerr);
    if (!body)
        return api_fail(resp, API_INVALID_JSON, json_pack("{s:i,s:i}", "line", jerr.line, "column", jerr.column),
                        "the body is not valid JSON: %s", jerr.text);
    struct json_check_error cerr;
    int rc = 0;
    if (json_check_object(body, "", fields, 1, false, &cerr) < 0) {
        rc = api_fail_field(resp, API_INVALID_REQUEST, cerr.field[0] ? cerr.field : "events", "%s", cerr.message);
    } else {
        json_t *events = json_object_get(body, "events");
        size_t n = json_array_size(events);
        if (n == 0)
            rc = api_fail_field(resp, API_INVALID_REQUEST, "events", "events is empty; send at least one event");
        else if (n > INGEST_MAX_EVENTS)
            rc = ingest_too_many(resp, (long)n);
        for (size_t i = 0; rc == 0 && i < n; i++)
            if (ingest_add(req, b, t, dec, row, scratch, json_array_get(events, i), (long)i) != 0)
                rc = api_fail(resp, API_INTERNAL, NULL, "out of memory");
    }
    json_decref(body);
    return rc;
}

/* Whether [p, stop) holds only blanks. */
static bool ingest_blank(const char *p, const char *stop)
{
    for (; p < stop; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r')
            return false;
    return true;
}

/* Body: one JSON object a line; blank lines are skipped. */
static int ingest_parse_ndjson(struct api_request *req, struct api_response *resp, struct ingest_batch *b,
                               const struct ingest_target *t, const struct json_decoder *dec, struct value *row,
                               struct arena *scratch)
{
    const char *p = req->body ? req->body : "", *end = p + req->body_len;
    long line = 0, count = 0;
    for (const char *next; p < end; p = next) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        next = nl ? nl + 1 : end;
        const char *stop = nl ? nl : end;
        line++;
        if (ingest_blank(p, stop))
            continue;
        if (++count > INGEST_MAX_EVENTS) {
            while (next < end) { /* the total, for the message */
                const char *more = memchr(next, '\n', (size_t)(end - next));
                const char *mstop = more ? more : end;
                if (!ingest_blank(next, mstop))
                    count++;
                next = more ? more + 1 : end;
            }
            return ingest_too_many(resp, count);
        }
        json_error_t jerr;
        json_t *ev = json_loadb(p, (size_t)(stop - p), 0, &jerr);
        int rc = 0;
        if (!ev) {
            char reason[256];
            snprintf(reason, sizeof reason, "invalid JSON at column %d: %s", jerr.column, jerr.text);
            ingest_bad(b, line, reason);
        } else {
            rc = ingest_add(req, b, t, dec, row, scratch, ev, line);
        }
        json_decref(ev);
        if (rc != 0)
            return api_fail(resp, API_INTERNAL, NULL, "out of memory");
    }
    if (count == 0 && b->invalid == 0)
        return api_fail_field(resp, API_INVALID_REQUEST, "events",
                              "the body has no events; send one JSON object a line");
    return 0;
}

/* Whether content type ct is media (parameters after ';' ignored). */
static bool ingest_media_is(const char *ct, const char *media)
{
    size_t n = strlen(media);
    return ct && strncasecmp(ct, media, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Parses and checks the whole body into b. 0, or -1 with resp filled. */
static int ingest_parse(struct api_request *req, struct api_response *resp, struct ingest_batch *b,
                        const struct ingest_target *t)
{
    const char *ct = api_header(req, "Content-Type");
    bool json = ingest_media_is(ct, "application/json");
    b->ndjson = ingest_media_is(ct, "application/x-ndjson");
    if (!json && !b->ndjson)
        return api_fail(resp, API_UNSUPPORTED_MEDIA_TYPE, json_pack("{s:s}", "content_type", ct ? ct : ""),
                        "send events as Content-Type: application/json ({\"events\":[...]}) or "
                        "application/x-ndjson (one JSON object a line)");
    if (req->body_len == 0)
        return api_fail(resp, API_INVALID_REQUEST, json_pack("{s:s}", "field", "events"),
                        "the request body is empty; send at least one event");
    struct schema schema = {0};
    char err[512];
    if (schema_from_json(t->schema, &schema, t->stream_name, err, sizeof err) != 0) {
        /* the api validated it when the stream was created */
        return api_fail(resp, API_INTERNAL, NULL, "internal error");
    }
    struct json_decoder *dec = json_decoder_new(&schema, NULL);
    struct value *row = calloc((size_t)(schema.nfields > 0 ? schema.nfields : 1), sizeof *row);
    struct arena *scratch = arena_new(16384);
    int rc;
    if (!dec || !row || !scratch)
        rc = api_fail(resp, API_INTERNAL, NULL, "out of memory");
    else if (json)
        rc = ingest_parse_json(req, resp, b, t, dec, row, scratch);
    else
        rc = ingest_parse_ndjson(req, resp, b, t, dec, row, scratch);
    arena_free(scratch);
    free(row);
    json_decoder_free(dec);
    schema_free_fields(&schema);
    if (rc == 0 && b->invalid)
        rc = api_fail(resp, API_INVALID_EVENTS,
                      json_pack("{s:O,s:I}", "errors", b->errors, "invalid_count", (json_int_t)b->invalid),
                      "%ld of the events %s invalid; nothing was written", b->invalid, b->invalid == 1 ? "is" : "are");
    return rc;
}

/* ---- writing ------------------------------------------------------------------------------ */

static atomic_uint ingest_round_robin;

static void ingest_deadline(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static int ingest_busy(struct api_response *resp, const char *why)
{
    api_fail(resp, API_UNAVAILABLE, json_pack("{s:i}", "retry_after", 1), "the stream is busy (%s); retry in 1 s", why);
    resp->retry_after = 1;
    return -1;
}

struct ingest_partition {
    struct ingest_writer_ref *ref; /* the cached writer's entry, while this request holds it */
    struct seglog_writer *writer;
    uint64_t start, first, last;
    long accepted;
};

/* The batch's payload bytes; with framing, as they take on disk (LOG_FRAME_BYTES a record). */
static uint64_t ingest_batch_bytes(const struct ingest_batch *b, bool framing)
{
    uint64_t bytes = 0;
    for (int i = 0; i < b->n; i++)
        bytes += b->events[i].len + (framing ? INGEST_FRAME_BYTES : 0);
    return bytes;
}

/* 507 storage_quota_exceeded when the tenant's stream data and this batch would pass the
 * plan's max_storage_bytes. The measurement is cached (api/tenant_storage.h). */
static int ingest_check_quota(struct api_request *req, struct api_response *resp, const struct ingest_target *t,
                              const struct ingest_batch *b)
{
    if (t->max_storage_bytes < 0 || t->kafka) /* a topic's retention is the cluster's */
        return 0;
    const char *root = req->settings->data_root ? req->settings->data_root : "var/data";
    uint64_t used, batch = ingest_batch_bytes(b, true);
    char err[512];
    if (tenant_storage_used(root, req->caller.tenant_id, &used, err, sizeof err) != 0) {
        log_error("ingest: storage of tenant %s: %s", req->caller.tenant_id, err);
        return api_fail(resp, API_INTERNAL, NULL, "cannot measure the tenant's storage");
    }
    uint64_t quota = (uint64_t)t->max_storage_bytes;
    if (used + batch <= quota)
        return 0;
    return api_fail(resp, API_STORAGE_QUOTA_EXCEEDED,
                    json_pack("{s:I,s:I,s:I}", "quota_bytes", (json_int_t)quota, "used_bytes", (json_int_t)used,
                              "request_bytes", (json_int_t)batch),
                    "storage quota exceeded: the tenant's streams hold %llu bytes of the plan's %llu "
                    "(max_storage_bytes), and these events need %llu more; nothing was written. Delete "
                    "streams, lower their retention, or move to a larger plan",
                    (unsigned long long)used, (unsigned long long)quota, (unsigned long long)batch);
}

/* Appends the batch and fsyncs; on a failure truncates what it appended. parts has one entry
 * per partition of the stream. */
static int ingest_write(struct api_request *req, struct api_response *resp, const struct ingest_target *t,
                        const struct ingest_batch *b, struct ingest_partition *parts)
{
    const char *root = req->settings->data_root ? req->settings->data_root : "var/data";
    char dir[2048], err[512];
    struct timespec deadline;
    ingest_deadline(&deadline, INGEST_LOCK_WAIT_MS);
    /* every partition, not only those written now: a pipeline reading the stream finds them */
    if (tenant_storage_create_stream(root, req->caller.tenant_id, t->stream_id, t->partitions, err, sizeof err) != 0) {
        log_error("ingest: stream %s: %s", t->stream_id, err);
        return api_fail(resp, API_INTERNAL, NULL, "cannot create the stream's directory");
    }
    for (int i = 0; i < b->n; i++)
        parts[b->events[i].partition].accepted++;
    /* Writers in ascending partition order, so two requests never wait on each other in a cycle. */
    for (int p = 0; p < t->partitions; p++) {
        if (!parts[p].accepted)
            continue;
        snprintf(dir, sizeof dir, "%s/tenants/%s/streams/%s/%d", root, req->caller.tenant_id, t->stream_id, p);
        int orc = ingest_writers_acquire(root, dir, &deadline, &parts[p].ref, &parts[p].writer, err, sizeof err);
        if (orc == INGEST_WRITERS_BUSY)
            return ingest_busy(resp, err);
        if (orc != 0) {
            log_error("ingest: %s", err);
            return api_fail(resp, API_INTERNAL, NULL, "cannot open the stream for writing");
        }
        parts[p].start = seglog_writer_end_offset(parts[p].writer);
    }
    int rc = 0;
    for (int i = 0; i < b->n && rc == 0; i++) {
        struct ingest_partition *ip = &parts[b->events[i].partition];
        uint64_t off;
        rc = seglog_writer_append(ip->writer, b->events[i].text, (uint32_t)b->events[i].len, &off, err, sizeof err);
        ip->last = off;
    }
    for (int p = 0; p < t->partitions && rc == 0; p++)
        if (parts[p].writer)
            rc = seglog_writer_flush(parts[p].writer, true, err, sizeof err);
    if (rc != 0) {
        log_error("ingest: stream %s: %s", t->stream_id, err);
        for (int p = 0; p < t->partitions; p++)
            if (parts[p].writer && seglog_writer_truncate(parts[p].writer, parts[p].start, err, sizeof err) != 0)
                log_error("ingest: cannot take back a partial batch: %s", err);
        return api_fail(resp, API_INTERNAL, NULL, "cannot write to stream \"%s\"", t->stream_name);
    }
    for (int p = 0; p < t->partitions; p++)
        parts[p].first = parts[p].start;
    tenant_storage_wrote(req->caller.tenant_id, ingest_batch_bytes(b, true));
    return 0;
}

/* The batch produced into the topic of a stream stored in Kafka, a producer per partition
 * written (Kafka assigns the offsets), every record delivered before it returns. A failure
 * after some deliveries leaves them in the topic: the client's retry is at-least-once. */
static int ingest_write_kafka(struct api_request *req, struct api_response *resp, const struct ingest_target *t,
                              const struct ingest_batch *b, struct ingest_partition *parts)
{
    const struct stream_backend *kb = stream_backend_find("kafka");
    const char *servers = req->settings->kafka_bootstrap_servers;
    if (!kb || !servers)
        return api_fail(
            resp, API_UNAVAILABLE, NULL,
            "stream \"%s\" is stored in Kafka, and this api has no Kafka cluster (--kafka-bootstrap-servers)",
            t->stream_name);
    json_t *key = json_object_get(t->schema, "primary_key");
    char topic[256], err[512];
    kafka_stream_topic(req->caller.tenant_id, t->stream_id, topic, sizeof topic);
    const struct stream_property props[] = {{"properties.bootstrap.servers", servers},
                                            {"format", json_array_size(key) > 0 ? "debezium-json" : "json"}};
    for (int i = 0; i < b->n; i++)
        parts[b->events[i].partition].accepted++;
    int rc = 0;
    for (int p = 0; p < t->partitions && rc == 0; p++) {
        void *w = NULL;
        if (!parts[p].accepted)
            continue;
        rc = kb->open_writer(topic, p, props, 2, &w, err, sizeof err);
        for (int i = 0; i < b->n && rc == 0; i++)
            if (b->events[i].partition == p)
                rc = kb->append(w, b->events[i].text, (uint32_t)b->events[i].len, err, sizeof err);
        if (rc == 0)
            rc = kb->flush(w, true, err, sizeof err);
        if (w)
            kb->close_writer(w);
    }
    if (rc != 0) {
        log_error("ingest: stream %s: %s", t->stream_id, err);
        return api_fail(resp, API_UNAVAILABLE, NULL, "cannot write to stream \"%s\": %s", t->stream_name, err);
    }
    return 0;
}

/* Writes, then gives the partitions' cached writers back (closing them after a failure, so
 * the next request recovers the partition afresh). */
static int ingest_write_locked(struct api_request *req, struct api_response *resp, const struct ingest_target *t,
                               const struct ingest_batch *b, struct ingest_partition *parts)
{
    if (t->kafka)
        return ingest_write_kafka(req, resp, t, b, parts);
    int rc = ingest_write(req, resp, t, b, parts);
    for (int p = 0; p < t->partitions; p++)
        ingest_writers_release(parts[p].ref, rc != 0);
    return rc;
}

/* Adds the batch to the connection's usage for this minute (rolled back with the request). */
static int ingest_count_usage(struct api_request *req, struct api_response *resp, const char *id,
                              const struct ingest_batch *b)
{
    long long bytes = 0;
    for (int i = 0; i < b->n; i++)
        bytes += (long long)b->events[i].len;
    char records[24], nbytes[24];
    snprintf(records, sizeof records, "%d", b->n);
    snprintf(nbytes, sizeof nbytes, "%lld", bytes);
    const char *p[] = {req->caller.tenant_id, id, records, nbytes};
    PGresult *res =
        api_db_query(req, resp,
                     "INSERT INTO usage (tenant_id, resource_kind, resource_id, minute, records_in, bytes_in)"
                     " VALUES ($1, 'connection', $2, date_trunc('minute', now()), $3::bigint, $4::bigint)"
                     " ON CONFLICT (tenant_id, resource_kind, resource_id, minute) DO UPDATE"
                     " SET records_in = usage.records_in + EXCLUDED.records_in,"
                     "     bytes_in = usage.bytes_in + EXCLUDED.bytes_in",
                     4, p);
    PQclear(res);
    return res ? 0 : -1;
}

static json_t *ingest_answer(const struct ingest_target *t, const struct ingest_batch *b,
                             const struct ingest_partition *parts)
{
    json_t *list = json_array();
    int used = 0, only = 0;
    for (int p = 0; p < t->partitions; p++) {
        if (!parts[p].accepted)
            continue;
        used++;
        only = p;
        json_t *item = json_pack("{s:i,s:I}", "partition", p, "accepted", (json_int_t)parts[p].accepted);
        if (item && !t->kafka) /* Kafka's offsets are the broker's: not known here */
            json_object_set_new(
                item, "offsets",
                json_pack("{s:I,s:I}", "first", (json_int_t)parts[p].first, "last", (json_int_t)parts[p].last));
        json_array_append_new(list, item);
    }
    json_t *out = json_pack("{s:i,s:o}", "accepted", b->n, "partitions", list);
    if (out && used == 1 && !t->kafka) {
        json_object_set_new(out, "partition", json_integer(only));
        json_object_set_new(
            out, "offsets",
            json_pack("{s:I,s:I}", "first", (json_int_t)parts[only].first, "last", (json_int_t)parts[only].last));
    }
    return out;
}

int ingest_events(struct api_request *req, struct api_response *resp)
{
    const char *id = req->params.values[0];
    struct ingest_target t = {0};
    struct ingest_batch b = {.errors = json_array()};
    struct ingest_partition *parts = NULL;
    int rc = -1;
    if (ingest_lookup(req, resp, id, &t) != 0 || ingest_check_target(&t, id, resp) != 0 ||
        ingest_parse(req, resp, &b, &t) != 0)
        goto out;
    if (!t.key_field[0]) { /* the whole request to the next partition */
        int p = (int)(atomic_fetch_add(&ingest_round_robin, 1u) % (unsigned)t.partitions);
        for (int i = 0; i < b.n; i++)
            b.events[i].partition = p;
    }
    parts = calloc((size_t)t.partitions, sizeof *parts);
    if (!parts) {
        api_fail(resp, API_INTERNAL, NULL, "out of memory");
        goto out;
    }
    if (ingest_check_quota(req, resp, &t, &b) != 0 || ingest_count_usage(req, resp, id, &b) != 0 ||
        ingest_write_locked(req, resp, &t, &b, parts) != 0)
        goto out;
    json_t *answer = ingest_answer(&t, &b, parts);
    rc = answer ? api_reply(resp, 200, answer) : api_fail(resp, API_INTERNAL, NULL, "out of memory");
out:
    free(parts);
    json_decref(b.errors);
    json_decref(t.schema);
    return rc;
}
