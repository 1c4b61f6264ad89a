/* kafka_eos.c — exactly-once Kafka sink: a checkpointed spool, produced in transactions after
 * each durable checkpoint, recovered against what the topic holds (see kafka_eos.h). */
#include "dataplane/kafka/kafka_eos.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/log/log.h"

#define EOS_TXN_TIMEOUT_MS 60000
#define EOS_SCAN_TIMEOUT_MS 30000
#define EOS_SCAN_WINDOW 1024 /* records read back from the end first; grows 8 times a round */
#define EOS_BATCH 512
#define EOS_NO_KEY UINT32_MAX
#define EOS_HEADER_WRITER "sluice.writer"
#define EOS_HEADER_SEQ "sluice.seq"

struct kafka_eos {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    char *topic, *txn_id;
    int32_t partition;
    struct seglog_writer *spool;
    char *spool_dir;
    uint64_t sent;      /* spool offsets before it are in Kafka */
    bool in_txn;        /* a transaction is open */
    uint64_t committed; /* the spool's committed end at open */
    bool cut_pending;   /* the spool's tail past it is still to be cut (eos_settle) */
    unsigned char *rec; /* the record being spooled */
    size_t rec_cap;
};

/* ---------------------------------------------------------------- transactions */

/* A failed transactional call's message in err; the error is destroyed. */
static int eos_error(struct kafka_eos *e, const char *what, rd_kafka_error_t *error, char *err, size_t errlen)
{
    snprintf(err, errlen, "kafka topic \"%s\" (transactional id \"%s\"): %s: %s", e->topic, e->txn_id, what,
             rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    return -1;
}

static void eos_abort(struct kafka_eos *e)
{
    if (!e->in_txn)
        return;
    rd_kafka_error_t *error = rd_kafka_abort_transaction(e->rk, EOS_TXN_TIMEOUT_MS);
    if (error)
        rd_kafka_error_destroy(error);
    e->in_txn = false;
}

/* Produces one spooled record (rec[len], at spool offset seq) in the open transaction. */
static int eos_produce(struct kafka_eos *e, const char *rec, uint32_t len, uint64_t seq, char *err, size_t errlen)
{
    uint32_t keylen;
    if (len < sizeof keylen) {
        snprintf(err, errlen, "kafka spool %s: record %" PRIu64 " is corrupt", e->spool_dir, seq);
        return -1;
    }
    memcpy(&keylen, rec, sizeof keylen);
    const char *key = keylen == EOS_NO_KEY ? NULL : rec + sizeof keylen;
    size_t klen = key ? keylen : 0, off = sizeof keylen + klen;
    if (off > len) {
        snprintf(err, errlen, "kafka spool %s: record %" PRIu64 " is corrupt", e->spool_dir, seq);
        return -1;
    }
    char seqs[24];
    snprintf(seqs, sizeof seqs, "%" PRIu64, seq);
    for (;;) {
        rd_kafka_resp_err_t rc = rd_kafka_producev(
            e->rk, RD_KAFKA_V_RKT(e->rkt), RD_KAFKA_V_PARTITION(e->partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_VALUE((void *)(rec + off), len - off), RD_KAFKA_V_KEY(key, klen),
            RD_KAFKA_V_HEADER(EOS_HEADER_WRITER, e->txn_id, (ssize_t)strlen(e->txn_id)),
            RD_KAFKA_V_HEADER(EOS_HEADER_SEQ, seqs, (ssize_t)strlen(seqs)), RD_KAFKA_V_END);
        if (rc == RD_KAFKA_RESP_ERR_NO_ERROR)
            return 0;
        if (rc != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            snprintf(err, errlen, "kafka topic \"%s\": cannot produce: %s", e->topic, rd_kafka_err2str(rc));
            return -1;
        }
        rd_kafka_poll(e->rk, 100); /* the local queue is full: let deliveries drain it */
    }
}

/* Produces the spool's records [sent, end) in one transaction and commits it. */
static int eos_send(struct kafka_eos *e, uint64_t end, char *err, size_t errlen)
{
    if (e->sent >= end)
        return 0;
    struct seglog_reader *r = NULL;
    char e2[300];
    if (seglog_reader_open(e->spool_dir, e->sent, &r, e2, sizeof e2) != 0) {
        snprintf(err, errlen, "kafka spool %s: %s", e->spool_dir, e2);
        return -1;
    }
    rd_kafka_error_t *error = rd_kafka_begin_transaction(e->rk);
    if (error) {
        seglog_reader_close(r);
        return eos_error(e, "cannot begin a transaction", error, err, errlen);
    }
    e->in_txn = true;
    struct stream_record recs[EOS_BATCH];
    for (uint64_t at = e->sent; at < end;) {
        int n = seglog_reader_read(r, recs, EOS_BATCH, e2, sizeof e2);
        if (n <= 0) {
            snprintf(err, errlen, "kafka spool %s: cannot read offset %" PRIu64 ": %s", e->spool_dir, at,
                     n < 0 ? e2 : "the record is missing");
            goto fail;
        }
        for (int i = 0; i < n && at < end; i++) {
            if (recs[i].offset >= end)
                at = end;
            else if (eos_produce(e, recs[i].data, recs[i].len, recs[i].offset, err, errlen) != 0)
                goto fail;
            else
                at = recs[i].offset + 1;
        }
    }
    seglog_reader_close(r);
    error = rd_kafka_commit_transaction(e->rk, EOS_TXN_TIMEOUT_MS);
    e->in_txn = false;
    if (error)
        return eos_error(e, "cannot commit the transaction", error, err, errlen);
    e->sent = end;
    return 0;
fail:
    seglog_reader_close(r);
    eos_abort(e);
    return -1;
}

/* ---------------------------------------------------------------- recovery */

/* The spool offset in m's sluice.seq header when m is this writer's; -1 otherwise. */
static int64_t eos_record_seq(const struct kafka_eos *e, rd_kafka_message_t *m)
{
    rd_kafka_headers_t *hdrs;
    const void *v;
    size_t size;
    char buf[24];
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(hdrs, EOS_HEADER_WRITER, &v, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        size != strlen(e->txn_id) || memcmp(v, e->txn_id, size) != 0 ||
        rd_kafka_header_get_last(hdrs, EOS_HEADER_SEQ, &v, &size) != RD_KAFKA_RESP_ERR_NO_ERROR || size >= sizeof buf)
        return -1;
    memcpy(buf, v, size);
    buf[size] = '\0';
    return strtoll(buf, NULL, 10);
}

/* The sluice.seq of this writer's newest record in [from, to) of the partition into *seq (left
 * alone when there is none). */
static int eos_scan(struct kafka_eos *e, rd_kafka_topic_t *rkt, int64_t from, int64_t to, int64_t *seq, char *err,
                    size_t errlen)
{
    if (rd_kafka_consume_start(rkt, e->partition, from) != 0) {
        snprintf(err, errlen, "kafka topic \"%s\": cannot read back partition %d: %s", e->topic, (int)e->partition,
                 rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    int rc = -1;
    rd_kafka_message_t *batch[EOS_BATCH];
    for (int waited = 0; waited < EOS_SCAN_TIMEOUT_MS;) {
        ssize_t n = rd_kafka_consume_batch(rkt, e->partition, 100, batch, EOS_BATCH);
        bool done = false;
        waited += n == 0 ? 100 : 0;
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *m = batch[i];
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF || (!m->err && m->offset >= to - 1))
                done = true;
            if (!m->err && m->offset < to) { /* in offset order: the newest of this writer's wins */
                int64_t s = eos_record_seq(e, m);
                *seq = s >= 0 ? s : *seq;
            } else if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && rc != -2) {
                snprintf(err, errlen, "kafka topic \"%s\": reading back partition %d: %s", e->topic, (int)e->partition,
                         rd_kafka_message_errstr(m));
                rc = -2;
            }
            rd_kafka_message_destroy(m);
        }
        if (rc == -2 || n < 0)
            break;
        if (done) {
            rc = 0;
            break;
        }
    }
    if (rc == -1)
        snprintf(err, errlen, "kafka topic \"%s\": reading back partition %d timed out", e->topic, (int)e->partition);
    rd_kafka_consume_stop(rkt, e->partition);
    return rc == 0 ? 0 : -1;
}

/* The newest record of this writer in the partition, read back from the end in growing
 * windows: *seq its spool offset, -1 when the partition holds none. */
static int eos_last_seq(struct kafka_eos *e, rd_kafka_t *consumer, int64_t *seq, char *err, size_t errlen)
{
    int64_t low, high;
    *seq = -1;
    rd_kafka_resp_err_t rc =
        rd_kafka_query_watermark_offsets(consumer, e->topic, e->partition, &low, &high, EOS_SCAN_TIMEOUT_MS);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "kafka topic \"%s\" partition %d: cannot read its offsets: %s", e->topic,
                 (int)e->partition, rd_kafka_err2str(rc));
        return -1;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(consumer, e->topic, NULL);
    if (!rkt) {
        snprintf(err, errlen, "kafka topic \"%s\": %s", e->topic, rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    int ret = 0;
    for (int64_t window = EOS_SCAN_WINDOW, to = high; ret == 0 && *seq < 0 && to > low; window *= 8) {
        int64_t from = to - window > low ? to - window : low;
        ret = eos_scan(e, rkt, from, to, seq, err, errlen);
        to = from;
    }
    rd_kafka_topic_destroy(rkt);
    return ret;
}

static int eos_send_missing(struct kafka_eos *e, rd_kafka_t *consumer, uint64_t end, char *err, size_t errlen);

int kafka_eos_recover(struct kafka_eos *e, rd_kafka_t *consumer, uint64_t end, char *err, size_t errlen)
{
    char e2[300];
    uint64_t spooled = seglog_writer_end_offset(e->spool);
    if (spooled < end) {
        snprintf(err, errlen,
                 "kafka spool %s ends at offset %" PRIu64 ", before the checkpoint's %" PRIu64
                 ": the records it held are lost; remove the checkpoint to start over",
                 e->spool_dir, spooled, end);
        return -1;
    }
    if ((spooled > end && seglog_writer_truncate(e->spool, end, e2, sizeof e2) != 0) ||
        seglog_writer_commit(e->spool, end, e2, sizeof e2) != 0) {
        snprintf(err, errlen, "kafka spool %s: %s", e->spool_dir, e2);
        return -1;
    }
    e->cut_pending = false;
    return eos_send_missing(e, consumer, end, err, errlen);
}

/* Produces the spool's records up to end that the topic does not hold. */
static int eos_send_missing(struct kafka_eos *e, rd_kafka_t *consumer, uint64_t end, char *err, size_t errlen)
{
    int64_t last;
    if (eos_last_seq(e, consumer, &last, err, errlen) != 0)
        return -1;
    uint64_t start = seglog_writer_start_offset(e->spool);
    e->sent = last >= 0 ? (uint64_t)last + 1 : start;
    if (e->sent < start) {
        snprintf(err, errlen,
                 "kafka spool %s starts at offset %" PRIu64
                 " but topic \"%s\" holds this writer's records only to %" PRId64 ": the records between are lost",
                 e->spool_dir, start, e->topic, last);
        return -1;
    }
    if (e->sent > end)
        e->sent = end; /* Kafka holds more than this checkpoint names: a newer run's, left alone */
    return eos_send(e, end, err, errlen);
}

/* ---------------------------------------------------------------- the writer's side */

/* The spool's committed end (its start when none was ever published). */
static int eos_committed_end(struct kafka_eos *e, uint64_t *end, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", e->spool_dir, LOG_COMMIT_FILE);
    *end = seglog_writer_start_offset(e->spool);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    unsigned long long v;
    int ok = fscanf(f, "%llu", &v) == 1;
    fclose(f);
    if (!ok) {
        snprintf(err, errlen, "kafka spool %s: %s is corrupt", e->spool_dir, path);
        return -1;
    }
    *end = v;
    return 0;
}

/* Before the first record after a start without recovery to a checkpoint (none, or one of a
 * completed run): the spool's tail past its committed end was never named by a checkpoint. */
static int eos_settle(struct kafka_eos *e, char *err, size_t errlen)
{
    char e2[300];
    if (!e->cut_pending)
        return 0;
    e->cut_pending = false;
    if (seglog_writer_end_offset(e->spool) > e->committed &&
        seglog_writer_truncate(e->spool, e->committed, e2, sizeof e2) != 0) {
        snprintf(err, errlen, "kafka spool %s: %s", e->spool_dir, e2);
        return -1;
    }
    return 0;
}

static int eos_spool_open(struct kafka_eos *e, char *err, size_t errlen)
{
    char e2[300];
    if (seglog_mkdir_parents(e->spool_dir) != 0) {
        snprintf(err, errlen, "kafka spool: cannot create %s: %s", e->spool_dir, strerror(errno));
        return -1;
    }
    /* what was sent is only needed until the next commit: keep a few segments */
    struct seglog_options opt = {.segment_bytes = 8u << 20, .retention_bytes = 256u << 20};
    if (seglog_writer_open(e->spool_dir, &opt, &e->spool, e2, sizeof e2) != 0) {
        snprintf(err, errlen, "kafka spool %s: %s", e->spool_dir, e2);
        return -1;
    }
    seglog_writer_hold_commits(e->spool);
    return 0;
}

struct kafka_eos *kafka_eos_open(rd_kafka_t *rk, rd_kafka_topic_t *rkt, rd_kafka_t *consumer, const char *topic,
                                 int32_t partition, const char *txn_id, const char *spool_dir, char *err, size_t errlen)
{
    struct kafka_eos *e = calloc(1, sizeof *e);
    if (!e || !(e->topic = strdup(topic)) || !(e->txn_id = strdup(txn_id)) || !(e->spool_dir = strdup(spool_dir))) {
        snprintf(err, errlen, "out of memory");
        kafka_eos_free(e);
        return NULL;
    }
    e->rk = rk;
    e->rkt = rkt;
    e->partition = partition;
    if (eos_spool_open(e, err, errlen) != 0 || eos_committed_end(e, &e->committed, err, errlen) != 0)
        goto fail;
    /* fences a zombie of this transactional id and aborts its open transaction */
    rd_kafka_error_t *error = rd_kafka_init_transactions(rk, EOS_TXN_TIMEOUT_MS);
    if (error) {
        eos_error(e, "cannot initialise transactions", error, err, errlen);
        goto fail;
    }
    if (eos_send_missing(e, consumer, e->committed, err, errlen) != 0)
        goto fail;
    e->cut_pending = true;
    return e;
fail:
    kafka_eos_free(e);
    return NULL;
}

void kafka_eos_free(struct kafka_eos *e)
{
    if (!e)
        return;
    eos_abort(e);
    seglog_writer_close(e->spool);
    free(e->topic);
    free(e->txn_id);
    free(e->spool_dir);
    free(e->rec);
    free(e);
}

int kafka_eos_append(struct kafka_eos *e, const void *key, size_t keylen, const void *value, size_t len, char *err,
                     size_t errlen)
{
    if (eos_settle(e, err, errlen) != 0)
        return -1;
    uint32_t k = key ? (uint32_t)keylen : EOS_NO_KEY;
    size_t need = sizeof k + (key ? keylen : 0) + len;
    if (need > UINT32_MAX) {
        snprintf(err, errlen, "kafka topic \"%s\": a record of %zu bytes is too large", e->topic, need);
        return -1;
    }
    if (need > e->rec_cap) {
        unsigned char *p = realloc(e->rec, need);
        if (!p) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        e->rec = p;
        e->rec_cap = need;
    }
    memcpy(e->rec, &k, sizeof k);
    if (key)
        memcpy(e->rec + sizeof k, key, keylen);
    memcpy(e->rec + sizeof k + (key ? keylen : 0), value, len);
    char e2[300];
    if (seglog_writer_append(e->spool, e->rec, (uint32_t)need, NULL, e2, sizeof e2) != 0) {
        snprintf(err, errlen, "kafka spool %s: %s", e->spool_dir, e2);
        return -1;
    }
    return 0;
}

int kafka_eos_flush(struct kafka_eos *e, bool sync, char *err, size_t errlen)
{
    char e2[300];
    if (eos_settle(e, err, errlen) != 0)
        return -1;
    if (seglog_writer_flush(e->spool, sync, e2, sizeof e2) != 0) {
        snprintf(err, errlen, "kafka spool %s: %s", e->spool_dir, e2);
        return -1;
    }
    rd_kafka_poll(e->rk, 0);
    return 0;
}

uint64_t kafka_eos_end(const struct kafka_eos *e) { return seglog_writer_end_offset(e->spool); }

int kafka_eos_commit(struct kafka_eos *e, uint64_t end, char *err, size_t errlen)
{
    char e2[300];
    if (seglog_writer_commit(e->spool, end, e2, sizeof e2) != 0) {
        snprintf(err, errlen, "kafka spool %s: %s", e->spool_dir, e2);
        return -1;
    }
    return eos_send(e, end, err, errlen);
}
