/* redis_stream.c — the Redis Streams connector over hiredis (see redis_stream.h): options and
 * connections, a consumer-group reader that acknowledges after checkpoints, a pipelining writer. */
#include "dataplane/connectors/redis_stream.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "dataplane/connectors/broker_common.h"
#include "dataplane/connectors/redis_reply.h"

#define REDIS_SEQ_BITS 20
#define REDIS_RETRY_MS 500          /* between two attempts to reconnect */
#define REDIS_GIVE_UP_MS 60000      /* a server unreachable this long fails the task */
#define REDIS_BLOCK_MS "10"         /* a read waits this long for new entries */
#define REDIS_ACK_CHUNK 1024        /* ids per XACK */
#define REDIS_ACK_PIPELINE 16       /* XACKs sent in one write */
#define REDIS_WRITE_BATCH 1000      /* records buffered before a writer sends them */
#define REDIS_ARENA_BLOCK (1 << 20) /* a connection's replies are built in blocks of this size */
#define REDIS_BATCH_MAX 1024        /* entries per read */

/* ---------------------------------------------------------------- ids and offsets */

/* The decimal number at *p (at least one digit) below limit, *p moved past it: 0, or -1. */
static int redis_id_part(const char **p, uint64_t limit, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (uint64_t)(*s - '0');
        if (v >= limit)
            return -1;
    }
    *p = s;
    *out = v;
    return 0;
}

int redis_id_offset(const char *id, uint64_t *offset)
{
    uint64_t ms, seq;
    if (!id || redis_id_part(&id, 1ULL << (64 - REDIS_SEQ_BITS - 1), &ms) != 0 || *id++ != '-' ||
        redis_id_part(&id, 1ULL << REDIS_SEQ_BITS, &seq) != 0 || *id)
        return -1;
    *offset = ms << REDIS_SEQ_BITS | seq;
    return 0;
}

void redis_offset_id(uint64_t offset, char *out, size_t outlen)
{
    snprintf(out, outlen, "%" PRIu64 "-%" PRIu64, offset >> REDIS_SEQ_BITS, offset & ((1u << REDIS_SEQ_BITS) - 1));
}

/* ---------------------------------------------------------------- options */

struct redis_settings {
    char *host, *username, *password, *stream, *field, *group, *consumer;
    int port, db, timeout_ms;
    int start; /* index in redis_starts */
    int64_t maxlen;
    bool maxlen_exact;
};

static const char *const redis_starts[] = {"earliest", "latest", NULL};

#define RF(member) OPTION_FIELD(struct redis_settings, member)
static const struct option_row redis_options[] = {
    {.name = "connector", .type = OPTION_STRING, .flags = OPTION_HIDDEN},
    {.name = "host",
     .type = OPTION_STRING,
     .flags = OPTION_REQUIRED,
     .help = "the server's host name or address",
     RF(host)},
    {.name = "port", .type = OPTION_INT, .def = "6379", .min = 1, .max = 65535, .help = "the server's port", RF(port)},
    {.name = "username", .type = OPTION_STRING, .help = "an ACL user (empty: the default user)", RF(username)},
    {.name = "password", .type = OPTION_STRING, .help = "the password (normally a secret ref)", RF(password)},
    {.name = "db", .type = OPTION_INT, .def = "0", .min = 0, .max = 65535, .help = "the database number", RF(db)},
    {.name = "stream", .type = OPTION_STRING, .flags = OPTION_REQUIRED, .help = "the stream's key", RF(stream)},
    {.name = "field",
     .type = OPTION_STRING,
     .def = "data",
     .help = "the entry field holding the record (JSON)",
     RF(field)},
    {.name = "group", .type = OPTION_STRING, .def = "sluice", .help = "source: the consumer group", RF(group)},
    {.name = "consumer",
     .type = OPTION_STRING,
     .def = "sluice",
     .help = "source: the consumer's name in the group",
     RF(consumer)},
    {.name = "start",
     .type = OPTION_ENUM,
     .def = "earliest",
     .values = redis_starts,
     .help = "source: where a group that sluice creates starts",
     RF(start)},
    {.name = "maxlen",
     .type = OPTION_INT,
     .def = "0",
     .min = 0,
     .max = INT64_MAX,
     .help = "sink: trim the stream to about this many entries (0: never)",
     RF(maxlen)},
    {.name = "maxlen.exact",
     .type = OPTION_BOOL,
     .def = "false",
     .help = "sink: trim exactly (MAXLEN without ~)",
     RF(maxlen_exact)},
    {.name = "timeout.ms",
     .type = OPTION_INT,
     .def = "5000",
     .min = 100,
     .max = 600000,
     .help = "connect and command timeout",
     RF(timeout_ms)},
};
static const struct option_table redis_option_table = OPTION_TABLE("redis", redis_options);

static int redis_settings_load(struct redis_settings *s, const struct stream_property *props, int nprops, char *err,
                               size_t errlen)
{
    if (stream_options_check(&redis_option_table, props, nprops, err, errlen) != 0 ||
        stream_options_apply(&redis_option_table, props, nprops, s, err, errlen) != 0) {
        option_table_free(&redis_option_table, s);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- connections */

/* A reply to argv on c, or NULL with err when the connection failed (c is then unusable). An
 * error reply is returned as such. */
static redisReply *redis_call(redisContext *c, int argc, const char **argv, const struct redis_settings *s, char *err,
                              size_t errlen)
{
    redisReply *reply = NULL;
    if (redisAppendCommandArgv(c, argc, argv, NULL) != REDIS_OK || redis_reply_get(c, &reply) != REDIS_OK)
        reply = NULL;
    if (!reply)
        snprintf(err, errlen, "redis at %s:%d: %s", s->host, s->port, c->err ? c->errstr : "no reply");
    return reply;
}

/* One command whose error reply is a failure: 0, or -1 with err ("what": the command's purpose). */
static int redis_simple(redisContext *c, int argc, const char **argv, const struct redis_settings *s, const char *what,
                        char *err, size_t errlen)
{
    redisReply *reply = redis_call(c, argc, argv, s, err, errlen);
    if (!reply)
        return -1;
    int rc = 0;
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "redis at %s:%d %s: %s", s->host, s->port, what, reply->str);
        rc = -1;
    }
    redis_reply_release(c, reply);
    return rc;
}

/* A connection to the server of s, authenticated and on its database, building its replies in
 * replies (borrowed) when not NULL; NULL with err. */
static redisContext *redis_connect(const struct redis_settings *s, struct arena *replies, char *err, size_t errlen)
{
    struct timeval tv = {.tv_sec = s->timeout_ms / 1000, .tv_usec = (s->timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(s->host, s->port, tv);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (c->err) {
        snprintf(err, errlen, "cannot connect to redis at %s:%d: %s", s->host, s->port, c->errstr);
        goto fail;
    }
    redisSetTimeout(c, tv);
    if (replies)
        redis_reply_use_arena(c, replies);
    char db[16];
    snprintf(db, sizeof db, "%d", s->db);
    const char *auth[] = {"AUTH", s->username && *s->username ? s->username : "default", s->password};
    const char *select[] = {"SELECT", db};
    if (s->password && *s->password && redis_simple(c, 3, auth, s, "refused the credentials", err, errlen) != 0)
        goto fail;
    if (redis_simple(c, 2, select, s, "cannot select the database", err, errlen) != 0)
        goto fail;
    return c;
fail:
    redisFree(c);
    return NULL;
}

/* ---------------------------------------------------------------- readers */

struct redis_reader {
    struct redis_settings s;
    redisContext *c;       /* NULL while disconnected */
    uint64_t next;         /* the offset of the next record to hand out; entries below are skipped */
    bool pending_done;     /* the consumer's pending entries were read again since connecting */
    char last_id[48];      /* while reading pending entries: the last one read */
    redisReply *batch;     /* the last read's reply, in replies */
    struct arena *replies; /* the connection's replies: reset at each read */
    uint64_t *unacked;     /* offsets of entries delivered and not yet acknowledged */
    size_t nunacked, capunacked;
    char *ack; /* an XACK's protocol text */
    size_t ackcap;
    int64_t down_since, last_attempt; /* ms: disconnected since, last reconnect attempt */
};

static void redis_close_reader(void *reader)
{
    struct redis_reader *kr = reader;
    if (!kr)
        return;
    if (kr->c)
        redisFree(kr->c);
    arena_free(kr->replies);
    free(kr->unacked);
    free(kr->ack);
    option_table_free(&redis_option_table, &kr->s);
    free(kr);
}

/* The group exists (created at the stream's start or end, with the stream, when missing). */
static int redis_group_ensure(struct redis_reader *kr, char *err, size_t errlen)
{
    const char *argv[] = {"XGROUP", "CREATE", kr->s.stream, kr->s.group, kr->s.start == 0 ? "0" : "$", "MKSTREAM"};
    redisReply *reply = redis_call(kr->c, 6, argv, &kr->s, err, errlen);
    if (!reply)
        return -1;
    int rc = 0;
    if (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9) != 0) {
        snprintf(err, errlen, "redis stream \"%s\": cannot create the consumer group \"%s\": %s", kr->s.stream,
                 kr->s.group, reply->str);
        rc = -1;
    }
    redis_reply_release(kr->c, reply);
    return rc;
}

/* Connects and starts over with the consumer's pending entries. 0, or -1 with err. */
static int redis_reader_connect(struct redis_reader *kr, char *err, size_t errlen)
{
    kr->c = redis_connect(&kr->s, kr->replies, err, errlen);
    if (!kr->c || redis_group_ensure(kr, err, errlen) != 0) {
        if (kr->c)
            redisFree(kr->c);
        kr->c = NULL;
        return -1;
    }
    kr->pending_done = false;
    snprintf(kr->last_id, sizeof kr->last_id, "0");
    return 0;
}

static void redis_reader_drop(struct redis_reader *kr)
{
    if (kr->c)
        redisFree(kr->c);
    kr->c = NULL;
    kr->down_since = kr->last_attempt = clock_mono_ms();
}

static int redis_open_reader(const char *location, int partition, uint64_t offset, const struct stream_property *props,
                             int nprops, void **reader, char *err, size_t errlen)
{
    struct redis_reader *kr = calloc(1, sizeof *kr);
    if (!kr) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    kr->next = offset;
    if (!(kr->replies = arena_new(REDIS_ARENA_BLOCK))) {
        snprintf(err, errlen, "out of memory");
        free(kr);
        return -1;
    }
    if (redis_settings_load(&kr->s, props, nprops, err, errlen) != 0 || redis_reader_connect(kr, err, errlen) != 0) {
        redis_close_reader(kr);
        return -1;
    }
    *reader = kr;
    return 0;
}

static int redis_unacked_add(struct redis_reader *kr, uint64_t offset)
{
    if (kr->nunacked == kr->capunacked) {
        size_t cap = kr->capunacked ? kr->capunacked * 2 : 1024;
        uint64_t *u = realloc(kr->unacked, cap * sizeof *u);
        if (!u)
            return -1;
        kr->unacked = u;
        kr->capunacked = cap;
    }
    kr->unacked[kr->nunacked++] = offset;
    return 0;
}

/* The record of entry e ([id, [field, value, ...]] or [id, nil] when deleted) into rec: 1,
 * 0 when skipped (in the checkpoint already, or deleted), -1 with err. */
static int redis_entry(struct redis_reader *kr, const redisReply *e, struct stream_record *rec, char *err,
                       size_t errlen)
{
    uint64_t off;
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING ||
        redis_id_offset(e->element[0]->str, &off) != 0) {
        snprintf(err, errlen, "redis stream \"%s\": an entry id that sluice cannot use as an offset (%s)", kr->s.stream,
                 e->type == REDIS_REPLY_ARRAY && e->elements ? e->element[0]->str : "?");
        return -1;
    }
    if (!kr->pending_done)
        snprintf(kr->last_id, sizeof kr->last_id, "%s", e->element[0]->str);
    if (redis_unacked_add(kr, off) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const redisReply *f = e->element[1];
    if (off < kr->next || f->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i + 1 < f->elements; i += 2)
        if (f->element[i]->type == REDIS_REPLY_STRING && strcmp(f->element[i]->str, kr->s.field) == 0) {
            *rec = (struct stream_record){.offset = off,
                                          .data = f->element[i + 1]->str,
                                          .len = (uint32_t)f->element[i + 1]->len,
                                          .kind = ROW_INSERT};
            kr->next = off + 1;
            return 1;
        }
    snprintf(err, errlen, "redis stream \"%s\": entry %s has no field \"%s\"", kr->s.stream, e->element[0]->str,
             kr->s.field);
    return -1;
}

/* The entries of an XREADGROUP reply into recs: their count, or -1 with err. */
static int redis_entries(struct redis_reader *kr, const redisReply *reply, struct stream_record *recs, char *err,
                         size_t errlen)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0)
        return 0;
    const redisReply *s = reply->element[0];
    if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 || s->element[1]->type != REDIS_REPLY_ARRAY)
        return 0;
    const redisReply *entries = s->element[1];
    if (!kr->pending_done && entries->elements == 0)
        kr->pending_done = true; /* caught up with the pending entries: new ones from here */
    int n = 0;
    for (size_t i = 0; i < entries->elements; i++) {
        int got = redis_entry(kr, entries->element[i], recs + n, err, errlen);
        if (got < 0)
            return -1;
        n += got;
    }
    return n;
}

/* Reconnects at most every REDIS_RETRY_MS: 0 (connected or not yet), -1 with err past the
 * time to give up. */
static int redis_reader_retry(struct redis_reader *kr, char *err, size_t errlen)
{
    int64_t now = clock_mono_ms();
    if (now - kr->last_attempt < REDIS_RETRY_MS)
        return 0;
    kr->last_attempt = now;
    if (redis_reader_connect(kr, err, errlen) == 0)
        return 0;
    if (now - kr->down_since < REDIS_GIVE_UP_MS)
        return 0;
    size_t len = strlen(err);
    snprintf(err + len, errlen - len, " (for %d s)", REDIS_GIVE_UP_MS / 1000);
    return -1;
}

static int redis_read(void *reader, struct stream_record *recs, int max, char *err, size_t errlen)
{
    struct redis_reader *kr = reader;
    kr->batch = NULL;
    arena_reset(kr->replies); /* the last batch's records, and every reply since */
    if (!kr->c && redis_reader_retry(kr, err, errlen) != 0)
        return -1;
    if (!kr->c)
        return 0;
    char count[16];
    snprintf(count, sizeof count, "%d", max < REDIS_BATCH_MAX ? max : REDIS_BATCH_MAX);
    const char *argv[11] = {"XREADGROUP", "GROUP", kr->s.group, kr->s.consumer, "COUNT", count};
    int argc = 6;
    if (kr->pending_done) { /* pending entries are there or not: no waiting for those */
        argv[argc++] = "BLOCK";
        argv[argc++] = REDIS_BLOCK_MS;
    }
    argv[argc++] = "STREAMS";
    argv[argc++] = kr->s.stream;
    argv[argc++] = kr->pending_done ? ">" : kr->last_id;
    char e[256];
    kr->batch = redis_call(kr->c, argc, argv, &kr->s, e, sizeof e);
    if (!kr->batch) {
        redis_reader_drop(kr); /* the server went away: reconnect and read the pending entries again */
        return 0;
    }
    if (kr->batch->type == REDIS_REPLY_ERROR) {
        if (strncmp(kr->batch->str, "NOGROUP", 7) == 0) { /* a server that lost its data: recreate */
            redis_reader_drop(kr);
            kr->last_attempt = 0;
            return 0;
        }
        snprintf(err, errlen, "redis stream \"%s\": %s", kr->s.stream, kr->batch->str);
        return -1;
    }
    return redis_entries(kr, kr->batch, recs, err, errlen);
}

/* Writes v in decimal at p: the end. */
static char *redis_put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

/* The text of an id's milliseconds, kept from one id to the next (ids in a row mostly share it). */
struct redis_ms_text {
    uint64_t ms;
    size_t len;
    char text[24];
};

/* Appends entry id "MS-SEQ" of offset as a RESP bulk string at p: the end. */
static char *redis_put_id(char *p, uint64_t offset, struct redis_ms_text *ms)
{
    if (ms->len == 0 || ms->ms != offset >> REDIS_SEQ_BITS) {
        ms->ms = offset >> REDIS_SEQ_BITS;
        ms->len = (size_t)(redis_put_u64(ms->text, ms->ms) - ms->text);
        ms->text[ms->len++] = '-';
    }
    char seq[24], *e = redis_put_u64(seq, offset & ((1u << REDIS_SEQ_BITS) - 1));
    size_t seqlen = (size_t)(e - seq);
    *p++ = '$';
    p = redis_put_u64(p, ms->len + seqlen);
    memcpy(p, "\r\n", 2);
    memcpy(p + 2, ms->text, ms->len);
    memcpy(p + 2 + ms->len, seq, seqlen);
    memcpy(p + 2 + ms->len + seqlen, "\r\n", 2);
    return p + 4 + ms->len + seqlen;
}

/* Appends to kr->ack at *len the RESP text of "XACK stream group" with the n ids of kr->unacked
 * below offset from index *from on (formatted here: no per-id printf); *from moves past them.
 * 0, or -1 when out of memory. */
static int redis_xack_put(struct redis_reader *kr, size_t *len, size_t *from, size_t n, uint64_t offset)
{
    size_t slen = strlen(kr->s.stream), glen = strlen(kr->s.group);
    if (broker_buf_reserve(&kr->ack, &kr->ackcap, *len + 96 + slen + glen + n * 52) != 0)
        return -1;
    char *p = kr->ack + *len;
    p += sprintf(p, "*%zu\r\n$4\r\nXACK\r\n$%zu\r\n", n + 3, slen);
    memcpy(p, kr->s.stream, slen);
    p += slen;
    p += sprintf(p, "\r\n$%zu\r\n", glen);
    memcpy(p, kr->s.group, glen);
    memcpy(p + glen, "\r\n", 2);
    p += glen + 2;
    size_t i = *from;
    struct redis_ms_text ms = {.len = 0};
    for (size_t k = 0; k < n; i++)
        if (kr->unacked[i] < offset) {
            p = redis_put_id(p, kr->unacked[i], &ms);
            k++;
        }
    *from = i;
    *len = (size_t)(p - kr->ack);
    return 0;
}

/* Sends the XACKs of the unacknowledged entries below offset, REDIS_ACK_CHUNK ids an XACK and
 * REDIS_ACK_PIPELINE XACKs a write, and reads their replies: 0, or -1 when the connection failed
 * or memory ran out. An error reply is ignored (the entries stay pending and are read again). */
static int redis_xack_send(struct redis_reader *kr, uint64_t offset)
{
    size_t below = 0, from = 0;
    for (size_t i = 0; i < kr->nunacked; i++)
        below += kr->unacked[i] < offset;
    while (below > 0) {
        size_t len = 0, ncmd = 0;
        for (; below > 0 && ncmd < REDIS_ACK_PIPELINE; ncmd++) {
            size_t n = below < REDIS_ACK_CHUNK ? below : REDIS_ACK_CHUNK;
            if (redis_xack_put(kr, &len, &from, n, offset) != 0)
                return -1;
            below -= n;
        }
        if (redis_reply_send(kr->c, kr->ack, len) != REDIS_OK)
            return -1;
        for (size_t k = 0; k < ncmd; k++) {
            redisReply *reply = NULL;
            if (redis_reply_get(kr->c, &reply) != REDIS_OK || !reply)
                return -1;
            redis_reply_release(kr->c, reply);
        }
    }
    return 0;
}

/* XACK of the unacknowledged entries below offset; on a failure they stay for the next call
 * (and the server delivers them again on the new connection). */
static void redis_acknowledge(void *reader, uint64_t offset)
{
    struct redis_reader *kr = reader;
    if (!kr->c)
        return;
    if (redis_xack_send(kr, offset) != 0) {
        redis_reader_drop(kr);
        return;
    }
    size_t keep = 0;
    for (size_t k = 0; k < kr->nunacked; k++)
        if (kr->unacked[k] >= offset)
            kr->unacked[keep++] = kr->unacked[k];
    kr->nunacked = keep;
}

/* The next offset plus the group's lag (entries not yet delivered to it; Redis 7). */
static int redis_end_offset(void *reader, uint64_t *end, char *err, size_t errlen)
{
    struct redis_reader *kr = reader;
    *end = kr->next;
    if (!kr->c)
        return 0;
    const char *argv[] = {"XINFO", "GROUPS", kr->s.stream};
    char e[256];
    redisReply *reply = redis_call(kr->c, 3, argv, &kr->s, e, sizeof e);
    if (!reply) {
        redis_reader_drop(kr);
        return 0;
    }
    for (size_t g = 0; reply->type == REDIS_REPLY_ARRAY && g < reply->elements; g++) {
        const redisReply *m = reply->element[g];
        bool ours = false;
        for (size_t i = 0; m->type == REDIS_REPLY_ARRAY && i + 1 < m->elements; i += 2) {
            const redisReply *k = m->element[i], *v = m->element[i + 1];
            if (k->type != REDIS_REPLY_STRING)
                continue;
            if (strcmp(k->str, "name") == 0 && v->type == REDIS_REPLY_STRING)
                ours = strcmp(v->str, kr->s.group) == 0;
            else if (ours && strcmp(k->str, "lag") == 0 && v->type == REDIS_REPLY_INTEGER && v->integer > 0)
                *end = kr->next + (uint64_t)v->integer;
        }
    }
    redis_reply_release(kr->c, reply);
    return 0;
}

/* ---------------------------------------------------------------- writers */

struct redis_writer {
    struct redis_settings s;
    redisContext *c; /* NULL while disconnected */
    char *prefix;    /* each XADD's protocol text up to the record's bulk string (RESP) */
    size_t prefix_len;
    char *buf; /* the XADDs of the records appended since the last flush, in RESP, back to back: sent
                * again after a reconnect */
    size_t len, cap, n;
    struct arena *replies; /* the connection's replies: reset at each send */
    stream_progress_fn progress;
    void *progress_ctx;
};

static void redis_close_writer(void *writer)
{
    struct redis_writer *w = writer;
    if (!w)
        return;
    if (w->c)
        redisFree(w->c);
    arena_free(w->replies);
    free(w->buf);
    free(w->prefix);
    option_table_free(&redis_option_table, &w->s);
    free(w);
}

/* The RESP text of "XADD stream [MAXLEN [~] n] * field" without the record's bulk string, the
 * array header counting it: formatted once, so that an append only copies the record. */
static int redis_writer_prefix(struct redis_writer *w)
{
    char maxlen[24];
    snprintf(maxlen, sizeof maxlen, "%" PRId64, w->s.maxlen);
    const char *argv[8] = {"XADD", w->s.stream};
    int argc = 2;
    if (w->s.maxlen > 0) {
        argv[argc++] = "MAXLEN";
        if (!w->s.maxlen_exact)
            argv[argc++] = "~";
        argv[argc++] = maxlen;
    }
    argv[argc++] = "*";
    argv[argc++] = w->s.field;
    size_t cap = 16;
    for (int i = 0; i < argc; i++)
        cap += strlen(argv[i]) + 24;
    if (!(w->prefix = malloc(cap)))
        return -1;
    size_t at = (size_t)snprintf(w->prefix, cap, "*%d\r\n", argc + 1);
    for (int i = 0; i < argc; i++)
        at += (size_t)snprintf(w->prefix + at, cap - at, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    w->prefix_len = at;
    return 0;
}

static int redis_open_writer(const char *location, int partition, const struct stream_property *props, int nprops,
                             void **writer, char *err, size_t errlen)
{
    struct redis_writer *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!(w->replies = arena_new(REDIS_ARENA_BLOCK / 8))) {
        snprintf(err, errlen, "out of memory");
        free(w);
        return -1;
    }
    if (redis_settings_load(&w->s, props, nprops, err, errlen) != 0 ||
        !(w->c = redis_connect(&w->s, w->replies, err, errlen))) {
        redis_close_writer(w);
        return -1;
    }
    if (redis_writer_prefix(w) != 0) {
        snprintf(err, errlen, "out of memory");
        redis_close_writer(w);
        return -1;
    }
    *writer = w;
    return 0;
}

static int redis_flush(void *writer, bool sync, char *err, size_t errlen);

static int redis_append(void *writer, const void *data, uint32_t len, char *err, size_t errlen)
{
    struct redis_writer *w = writer;
    if (broker_buf_reserve(&w->buf, &w->cap, w->len + w->prefix_len + len + 16) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char *p = w->buf + w->len;
    memcpy(p, w->prefix, w->prefix_len);
    p += w->prefix_len;
    *p++ = '$';
    p = redis_put_u64(p, len);
    memcpy(p, "\r\n", 2);
    p += 2;
    memcpy(p, data, len);
    memcpy(p + len, "\r\n", 2);
    w->len = (size_t)(p + len + 2 - w->buf);
    w->n++;
    return w->n >= REDIS_WRITE_BATCH ? redis_flush(w, false, err, errlen) : 0;
}

/* Sends the buffered XADDs in one write and reads every reply: 0, 1 when the connection failed
 * (send them again), -1 with err on an error reply. */
static int redis_send(struct redis_writer *w, char *err, size_t errlen)
{
    arena_reset(w->replies); /* the last send's replies */
    if (redis_reply_send(w->c, w->buf, w->len) != REDIS_OK)
        return 1;
    int rc = 0;
    for (size_t i = 0; i < w->n; i++) {
        redisReply *reply = NULL;
        if (redis_reply_get(w->c, &reply) != REDIS_OK || !reply)
            return 1;
        if (reply->type == REDIS_REPLY_ERROR && rc == 0) {
            snprintf(err, errlen, "redis stream \"%s\": cannot add an entry: %s", w->s.stream, reply->str);
            rc = -1;
        }
        redis_reply_release(w->c, reply);
    }
    return rc;
}

static int redis_flush(void *writer, bool sync, char *err, size_t errlen)
{
    struct redis_writer *w = writer;
    int64_t since = clock_mono_ms();
    char e[256] = "";
    while (w->n > 0) {
        int rc = w->c ? redis_send(w, err, errlen) : 1;
        if (rc <= 0) {
            w->n = w->len = 0;
            return rc;
        }
        if (w->c) /* lost mid-batch: all of it again on a new connection (at-least-once) */
            snprintf(e, sizeof e, "redis at %s:%d: %s", w->s.host, w->s.port, w->c->errstr);
        if (w->c)
            redisFree(w->c);
        w->c = NULL;
        if (clock_mono_ms() - since >= REDIS_GIVE_UP_MS) {
            snprintf(err, errlen, "%s (not regained in %d s)", e, REDIS_GIVE_UP_MS / 1000);
            return -1;
        }
        if (w->progress)
            w->progress(w->progress_ctx);
        usleep(REDIS_RETRY_MS * 1000);
        w->c = redis_connect(&w->s, w->replies, e, sizeof e);
    }
    return 0;
}

static void redis_set_progress(void *writer, stream_progress_fn fn, void *ctx)
{
    struct redis_writer *w = writer;
    w->progress = fn;
    w->progress_ctx = ctx;
}

/* ---------------------------------------------------------------- check */

/* Connects (AUTH and SELECT as a task would), then asks whether the stream's key exists. */
static void redis_check(const struct stream_property *props, int nprops, struct stream_check *out)
{
    struct redis_settings s = {0};
    if (redis_settings_load(&s, props, nprops, out->error, sizeof out->error) != 0)
        return;
    struct timeval tv = {.tv_sec = s.timeout_ms / 1000, .tv_usec = (s.timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(s.host, s.port, tv);
    if (!c || c->err) {
        snprintf(out->error, sizeof out->error, "cannot connect to redis at %s:%d: %s", s.host, s.port,
                 c ? c->errstr : "out of memory");
        goto done;
    }
    redisSetTimeout(c, tv);
    out->reachable = true;
    redisFree(c);
    if (!(c = redis_connect(&s, NULL, out->error, sizeof out->error)))
        goto done;
    out->authenticated = true;
    const char *exists[] = {"EXISTS", s.stream};
    redisReply *r = redis_call(c, 2, exists, &s, out->error, sizeof out->error);
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer > 0)
        out->target_present = true;
    else if (r && r->type == REDIS_REPLY_ERROR)
        snprintf(out->error, sizeof out->error, "redis EXISTS %s: %s", s.stream, r->str);
    else if (r)
        snprintf(out->error, sizeof out->error,
                 "redis stream \"%s\" does not exist (a sink or a source's group "
                 "creates it)",
                 s.stream);
    if (r)
        freeReplyObject(r);
done:
    if (c)
        redisFree(c);
    option_table_free(&redis_option_table, &s);
}

const struct stream_backend redis_stream_backend = {
    .name = "redis",
    .partitions = stream_one_partition,
    .open_writer = redis_open_writer,
    .append = redis_append,
    .flush = redis_flush,
    .writer_end_offset = NULL, /* cannot be rolled back: at-least-once */
    .truncate = NULL,
    .close_writer = redis_close_writer,
    .set_progress = redis_set_progress,
    .open_reader = redis_open_reader,
    .read = redis_read,
    .end_offset = redis_end_offset,
    .close_reader = redis_close_reader,
    .acknowledge = redis_acknowledge,
    .check = redis_check,
    .options = &redis_option_table,
    .source = true,
    .sink = true,
    .location_key = "stream",
    .full_worker = true, /* hiredis */
    .network = true,
};
