/* rabbitmq.c — the RabbitMQ connector over librabbitmq (see rabbitmq.h): options and
 * connections, a consumer acknowledging after checkpoints, a publisher awaiting confirms. */
#include "dataplane/connectors/rabbitmq.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/clock.h"
#include "dataplane/connectors/amqp_frames.h"
#include "dataplane/connectors/broker_common.h"

#define RMQ_CHANNEL 1
#define RMQ_RETRY_MS 500     /* between two attempts to reconnect */
#define RMQ_GIVE_UP_MS 60000 /* a broker unreachable this long fails the task */
#define RMQ_WAIT_US 10000    /* a read waits this long for a first delivery */
#define RMQ_FRAME_MAX 131072
#define RMQ_UNCONFIRMED_MAX 10000 /* a sink's records before append waits for confirms */
#define RMQ_PUBLISH_BATCH 1024    /* records appended before they are published without a flush */

/* ---------------------------------------------------------------- options */

struct rmq_settings {
    char *host, *vhost, *username, *password, *queue, *exchange, *routing_key;
    int port, prefetch, heartbeat, timeout_ms;
};

#define QF(member) OPTION_FIELD(struct rmq_settings, member)
static const struct option_row rmq_options[] = {
    {.name = "connector", .type = OPTION_STRING, .flags = OPTION_HIDDEN},
    {.name = "host",
     .type = OPTION_STRING,
     .flags = OPTION_REQUIRED,
     .help = "the broker's host name or address",
     QF(host)},
    {.name = "port", .type = OPTION_INT, .def = "5672", .min = 1, .max = 65535, .help = "the broker's port", QF(port)},
    {.name = "vhost", .type = OPTION_STRING, .def = "/", .help = "the virtual host", QF(vhost)},
    {.name = "username", .type = OPTION_STRING, .def = "guest", .help = "the user", QF(username)},
    {.name = "password",
     .type = OPTION_STRING,
     .def = "guest",
     .help = "the password (normally a secret ref)",
     QF(password)},
    {.name = "queue",
     .type = OPTION_STRING,
     .flags = OPTION_REQUIRED,
     .help = "the queue consumed (source), or routed to by the default exchange (sink)",
     QF(queue)},
    {.name = "exchange",
     .type = OPTION_STRING,
     .def = "",
     .help = "sink: the exchange (\"\": the default one)",
     QF(exchange)},
    {.name = "routing.key",
     .type = OPTION_STRING,
     .def = "",
     .help = "sink: the routing key (default: the queue)",
     QF(routing_key)},
    {.name = "prefetch",
     .type = OPTION_INT,
     .def = "1000",
     .min = 1,
     .max = 65535,
     .help = "source: unacknowledged deliveries sent ahead",
     QF(prefetch)},
    {.name = "heartbeat.s",
     .type = OPTION_INT,
     .def = "30",
     .min = 0,
     .max = 3600,
     .help = "the AMQP heartbeat",
     QF(heartbeat)},
    BROKER_TIMEOUT_OPTION(struct rmq_settings, timeout_ms),
};
static const struct option_table rmq_option_table = OPTION_TABLE("rabbitmq", rmq_options);

static int rmq_settings_load(struct rmq_settings *s, const struct stream_property *props, int nprops, char *err,
                             size_t errlen)
{
    return stream_options_check(&rmq_option_table, props, nprops, err, errlen) != 0 ||
                   stream_options_apply(&rmq_option_table, props, nprops, s, err, errlen) != 0
               ? -1
               : 0;
}

/* ---------------------------------------------------------------- connections */

/* What a reply that is not normal says, into out. */
static const char *rmq_reply_text(amqp_rpc_reply_t r, char *out, size_t outlen)
{
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
        snprintf(out, outlen, "%s", amqp_error_string2(r.library_error));
    else if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const amqp_connection_close_t *m = r.reply.decoded;
        snprintf(out, outlen, "%u %.*s", m->reply_code, (int)m->reply_text.len, (const char *)m->reply_text.bytes);
    } else if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const amqp_channel_close_t *m = r.reply.decoded;
        snprintf(out, outlen, "%u %.*s", m->reply_code, (int)m->reply_text.len, (const char *)m->reply_text.bytes);
    } else
        snprintf(out, outlen, "no reply");
    return out;
}

static void rmq_close(amqp_connection_state_t c, bool polite)
{
    if (!c)
        return;
    if (polite) {
        amqp_channel_close(c, RMQ_CHANNEL, AMQP_REPLY_SUCCESS);
        amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(c);
}

/* Why a TCP connection to host:port fails (librabbitmq says only "a socket error occurred"):
 * the system's message for a plain connect's errno, or "unreachable". */
static const char *rmq_connect_reason(const struct rmq_settings *s)
{
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(s->host, port, &hints, &ai) != 0 || !ai)
        return "cannot resolve the host name";
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {.tv_sec = 2};
    int rc = -1;
    errno = EHOSTUNREACH;
    if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0)
        rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    int e = errno;
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return rc == 0 ? "the connection failed" : strerror(e);
}

/* A connection to the broker of s, logged in, with channel RMQ_CHANNEL open; NULL with err. */
static amqp_connection_state_t rmq_connect(const struct rmq_settings *s, char *err, size_t errlen)
{
    char e[300];
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *sock = c ? amqp_tcp_socket_new(c) : NULL;
    if (!sock) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    struct timeval tv = {.tv_sec = s->timeout_ms / 1000, .tv_usec = (s->timeout_ms % 1000) * 1000};
    int st = amqp_socket_open_noblock(sock, s->host, s->port, &tv);
    if (st != AMQP_STATUS_OK) {
        snprintf(err, errlen, "cannot connect to rabbitmq at %s:%d: %s", s->host, s->port,
                 st == AMQP_STATUS_SOCKET_ERROR ? rmq_connect_reason(s) : amqp_error_string2(st));
        goto fail;
    }
    amqp_rpc_reply_t r = amqp_login(c, s->vhost, 0, RMQ_FRAME_MAX, s->heartbeat, AMQP_SASL_METHOD_PLAIN, s->username,
                                    s->password ? s->password : "");
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        snprintf(err, errlen, "rabbitmq at %s:%d refused the login of \"%s\": %s", s->host, s->port, s->username,
                 rmq_reply_text(r, e, sizeof e));
        goto fail;
    }
    amqp_channel_open(c, RMQ_CHANNEL);
    if ((r = amqp_get_rpc_reply(c)).reply_type != AMQP_RESPONSE_NORMAL) {
        snprintf(err, errlen, "rabbitmq at %s:%d: cannot open a channel: %s", s->host, s->port,
                 rmq_reply_text(r, e, sizeof e));
        goto fail;
    }
    return c;
fail:
    rmq_close(c, false);
    return NULL;
}

/* Reconnect pacing shared by readers and writers. */
struct rmq_link {
    amqp_connection_state_t c; /* NULL while disconnected */
    int64_t down_since, last_attempt;
    char lost[300]; /* why it went, or why the last attempt failed */
};

static void rmq_link_drop(struct rmq_link *l, const char *why)
{
    rmq_close(l->c, false);
    l->c = NULL;
    if (!l->down_since)
        l->down_since = clock_mono_ms();
    snprintf(l->lost, sizeof l->lost, "%s", why);
}

/* Whether it is time for another attempt to connect. */
static bool rmq_link_due(struct rmq_link *l)
{
    int64_t now = clock_mono_ms();
    if (now - l->last_attempt < RMQ_RETRY_MS)
        return false;
    l->last_attempt = now;
    return true;
}

/* -1 with err when the link has been down past the time to give up, else 0. */
static int rmq_link_check(const struct rmq_link *l, const struct rmq_settings *s, char *err, size_t errlen)
{
    if (l->c || clock_mono_ms() - l->down_since < RMQ_GIVE_UP_MS)
        return 0;
    snprintf(err, errlen, "rabbitmq at %s:%d: connection lost and not regained in %d s: %s", s->host, s->port,
             RMQ_GIVE_UP_MS / 1000, l->lost);
    return -1;
}

/* ---------------------------------------------------------------- readers */

struct rmq_delivery {
    uint64_t offset, tag;
};

struct rmq_reader {
    struct rmq_settings s;
    struct rmq_link l;
    uint64_t next;                /* the offset of the next delivery */
    struct rmq_delivery *pending; /* delivered on this connection, not yet acknowledged */
    size_t npending, cappending;
    char *buf; /* the last read's bodies */
    size_t len, cap;
};

static void rmq_close_reader(void *reader)
{
    struct rmq_reader *r = reader;
    if (!r)
        return;
    rmq_close(r->l.c, true);
    free(r->pending);
    free(r->buf);
    option_table_free(&rmq_option_table, &r->s);
    free(r);
}

/* Connects and starts consuming the queue: 0, or -1 with err. */
static int rmq_reader_connect(struct rmq_reader *r, char *err, size_t errlen)
{
    char e[300];
    if (!(r->l.c = rmq_connect(&r->s, err, errlen)))
        return -1;
    amqp_basic_qos(r->l.c, RMQ_CHANNEL, 0, (uint16_t)r->s.prefetch, 0);
    amqp_rpc_reply_t rep = amqp_get_rpc_reply(r->l.c);
    if (rep.reply_type == AMQP_RESPONSE_NORMAL) {
        amqp_basic_consume(r->l.c, RMQ_CHANNEL, amqp_cstring_bytes(r->s.queue), amqp_empty_bytes, 0, 0, 0,
                           amqp_empty_table);
        rep = amqp_get_rpc_reply(r->l.c);
    }
    if (rep.reply_type != AMQP_RESPONSE_NORMAL) {
        snprintf(err, errlen, "rabbitmq queue \"%s\": cannot consume: %s", r->s.queue,
                 rmq_reply_text(rep, e, sizeof e));
        rmq_close(r->l.c, false);
        r->l.c = NULL;
        return -1;
    }
    r->npending = 0; /* a new connection: whatever the old one delivered comes again */
    r->l.down_since = 0;
    return 0;
}

static int rmq_open_reader(const char *location, int partition, uint64_t offset, const struct stream_property *props,
                           int nprops, void **reader, char *err, size_t errlen)
{
    struct rmq_reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->next = offset;
    if (rmq_settings_load(&r->s, props, nprops, err, errlen) != 0 || rmq_reader_connect(r, err, errlen) != 0) {
        rmq_close_reader(r);
        return -1;
    }
    *reader = r;
    return 0;
}

/* Keeps the body and delivery tag of env as the record at offset r->next. 0, or -1 (memory). */
static int rmq_keep(struct rmq_reader *r, const amqp_envelope_t *env, uint32_t *len)
{
    size_t n = env->message.body.len;
    if (broker_buf_reserve(&r->buf, &r->cap, r->len + n) != 0)
        return -1;
    if (r->npending == r->cappending) {
        size_t cap = r->cappending ? r->cappending * 2 : 1024;
        struct rmq_delivery *p = realloc(r->pending, cap * sizeof *p);
        if (!p)
            return -1;
        r->pending = p;
        r->cappending = cap;
    }
    if (n)
        memcpy(r->buf + r->len, env->message.body.bytes, n);
    r->len += n;
    *len = (uint32_t)n;
    r->pending[r->npending++] = (struct rmq_delivery){r->next, env->delivery_tag};
    return 0;
}

static int rmq_read(void *reader, struct stream_record *recs, int max, char *err, size_t errlen)
{
    struct rmq_reader *r = reader;
    char e[300];
    r->len = 0;
    if (!r->l.c && rmq_link_due(&r->l) && rmq_reader_connect(r, e, sizeof e) != 0)
        snprintf(r->l.lost, sizeof r->l.lost, "%s", e);
    if (!r->l.c)
        return rmq_link_check(&r->l, &r->s, err, errlen);
    /* prefetch deliveries unacknowledged: the broker sends no more until a checkpoint acks them,
     * so the engine's idle backoff waits instead of a poll of the socket (a wake-up a pass) */
    if (r->npending >= (size_t)r->s.prefetch)
        return 0;
    int n = 0;
    while (n < max) {
        struct timeval tv = {.tv_sec = 0, .tv_usec = n == 0 ? RMQ_WAIT_US : 0};
        amqp_envelope_t env;
        amqp_maybe_release_buffers(r->l.c);
        amqp_rpc_reply_t rep = amqp_consume_message(r->l.c, &env, &tv, 0);
        if (rep.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && rep.library_error == AMQP_STATUS_TIMEOUT)
            break;
        if (rep.reply_type != AMQP_RESPONSE_NORMAL) { /* the broker closing, a broken socket */
            rmq_link_drop(&r->l, rmq_reply_text(rep, e, sizeof e));
            break;
        }
        uint32_t len;
        int rc = rmq_keep(r, &env, &len);
        amqp_destroy_envelope(&env);
        if (rc != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        recs[n++] = (struct stream_record){.offset = r->next++, .len = len, .kind = ROW_INSERT};
    }
    size_t at = 0; /* the bodies are in place now */
    for (int i = 0; i < n; at += recs[i++].len)
        recs[i].data = r->buf + at;
    return n;
}

/* basic.ack (multiple) of the deliveries before offset; on a failure the connection is reopened
 * and the broker delivers them again. */
static void rmq_acknowledge(void *reader, uint64_t offset)
{
    struct rmq_reader *r = reader;
    size_t k = 0;
    while (k < r->npending && r->pending[k].offset < offset)
        k++;
    if (!r->l.c || k == 0)
        return;
    if (amqp_basic_ack(r->l.c, RMQ_CHANNEL, r->pending[k - 1].tag, 1) != AMQP_STATUS_OK) {
        rmq_link_drop(&r->l, "cannot acknowledge");
        return;
    }
    memmove(r->pending, r->pending + k, (r->npending - k) * sizeof *r->pending);
    r->npending -= k;
}

/* No lag is known: the end is the next offset. */
static int rmq_end_offset(void *reader, uint64_t *end, char *err, size_t errlen)
{
    *end = ((struct rmq_reader *)reader)->next;
    return 0;
}

/* ---------------------------------------------------------------- writers */

struct rmq_writer {
    struct rmq_settings s;
    struct rmq_link l;
    const char *routing_key;
    char *buf; /* the records since the last confirmed flush, back to back */
    size_t len, cap;
    uint32_t *lens;
    bool *confirmed;   /* per record */
    size_t nconfirmed; /* of them, true */
    uint64_t acked_to; /* records 1..acked_to confirmed by a multiple basic.ack: not looked at again */
    size_t n, capn;
    size_t published;       /* of the n, published on this connection (delivery tags tag_base + 1 ...) */
    size_t published_bytes; /* their bytes in buf */
    uint64_t tag_base;
    struct amqp_publish_frames frames; /* a publish's frames on this connection */
    char *out;                         /* the frames of the publishes being written */
    size_t outcap;
    stream_progress_fn progress;
    void *progress_ctx;
};

static void rmq_close_writer(void *writer)
{
    struct rmq_writer *w = writer;
    if (!w)
        return;
    rmq_close(w->l.c, true);
    free(w->buf);
    free(w->out);
    amqp_publish_frames_free(&w->frames);
    free(w->lens);
    free(w->confirmed);
    option_table_free(&rmq_option_table, &w->s);
    free(w);
}

/* Connects with the channel in confirm mode; the records kept are published again. */
static int rmq_writer_connect(struct rmq_writer *w, char *err, size_t errlen)
{
    char e[300];
    if (!(w->l.c = rmq_connect(&w->s, err, errlen)))
        return -1;
    amqp_confirm_select(w->l.c, RMQ_CHANNEL);
    amqp_rpc_reply_t rep = amqp_get_rpc_reply(w->l.c);
    if (rep.reply_type != AMQP_RESPONSE_NORMAL) {
        snprintf(err, errlen, "rabbitmq: cannot turn on publisher confirms: %s", rmq_reply_text(rep, e, sizeof e));
        rmq_close(w->l.c, false);
        w->l.c = NULL;
        return -1;
    }
    amqp_publish_frames_free(&w->frames);
    amqp_basic_properties_t props = {._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG,
                                     .content_type = amqp_cstring_bytes("application/json"),
                                     .delivery_mode = 2};
    if (amqp_publish_frames_init(&w->frames, w->l.c, RMQ_CHANNEL, amqp_cstring_bytes(w->s.exchange),
                                 amqp_cstring_bytes(w->routing_key), &props) != 0) {
        snprintf(err, errlen, "rabbitmq: cannot encode a publish to exchange \"%s\"", w->s.exchange);
        rmq_close(w->l.c, false);
        w->l.c = NULL;
        return -1;
    }
    w->l.down_since = 0;
    w->tag_base = 0;
    w->published = w->published_bytes = 0;
    if (w->n)
        memset(w->confirmed, 0, w->n * sizeof *w->confirmed);
    w->nconfirmed = 0;
    w->acked_to = 0;
    return 0;
}

static int rmq_open_writer(const char *location, int partition, const struct stream_property *props, int nprops,
                           void **writer, char *err, size_t errlen)
{
    struct rmq_writer *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (rmq_settings_load(&w->s, props, nprops, err, errlen) != 0) {
        rmq_close_writer(w);
        return -1;
    }
    w->routing_key = *w->s.exchange && *w->s.routing_key ? w->s.routing_key : w->s.queue;
    if (rmq_writer_connect(w, err, errlen) != 0) {
        rmq_close_writer(w);
        return -1;
    }
    *writer = w;
    return 0;
}

/* Publishes the kept records not yet published on this connection: their frames in one write
 * (amqp_frames.h), not three send() calls a record. */
static void rmq_publish_pending(struct rmq_writer *w)
{
    size_t used = 0, bytes = w->published_bytes;
    for (size_t i = w->published; w->l.c && i < w->n; bytes += w->lens[i++])
        if (amqp_publish_frames_put(&w->frames, &w->out, &used, &w->outcap, w->buf + bytes, w->lens[i]) != 0) {
            rmq_link_drop(&w->l, "out of memory");
            return;
        }
    if (!w->l.c || used == 0)
        return;
    if (amqp_publish_frames_send(w->l.c, w->out, used) != 0) {
        rmq_link_drop(&w->l, strerror(errno));
        return;
    }
    w->published = w->n;
    w->published_bytes = bytes;
}

static int rmq_flush(void *writer, bool sync, char *err, size_t errlen);

static int rmq_append(void *writer, const void *data, uint32_t len, char *err, size_t errlen)
{
    struct rmq_writer *w = writer;
    if (broker_buf_reserve(&w->buf, &w->cap, w->len + len) != 0)
        goto oom;
    if (w->n == w->capn) {
        size_t cap = w->capn ? w->capn * 2 : 1024;
        uint32_t *l = realloc(w->lens, cap * sizeof *l);
        if (l)
            w->lens = l;
        bool *c = l ? realloc(w->confirmed, cap * sizeof *c) : NULL;
        if (!c)
            goto oom;
        w->confirmed = c;
        w->capn = cap;
    }
    memcpy(w->buf + w->len, data, len);
    w->len += len;
    w->confirmed[w->n] = false;
    w->lens[w->n++] = len;
    if (w->n - w->published >= RMQ_PUBLISH_BATCH)
        rmq_publish_pending(w);
    return w->n >= RMQ_UNCONFIRMED_MAX ? rmq_flush(w, true, err, errlen) : 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* Reads one frame (up to 100 ms) and marks what a basic.ack confirms: 0, 1 on a timeout or a
 * lost connection, -1 with err on a nack. */
static int rmq_read_confirm(struct rmq_writer *w, char *err, size_t errlen)
{
    amqp_frame_t f;
    struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
    int st = amqp_simple_wait_frame_noblock(w->l.c, &f, &tv);
    if (st == AMQP_STATUS_TIMEOUT)
        return 1;
    if (st != AMQP_STATUS_OK || f.frame_type != AMQP_FRAME_METHOD ||
        (f.payload.method.id != AMQP_BASIC_ACK_METHOD && f.payload.method.id != AMQP_BASIC_NACK_METHOD)) {
        if (st != AMQP_STATUS_OK || f.frame_type == AMQP_FRAME_METHOD) /* the broker closing, a broken socket */
            rmq_link_drop(&w->l, st != AMQP_STATUS_OK ? amqp_error_string2(st) : "closed by the broker");
        return 1;
    }
    if (f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
        snprintf(err, errlen, "rabbitmq exchange \"%s\" refused a message (basic.nack)", w->s.exchange);
        return -1;
    }
    const amqp_basic_ack_t *ack = f.payload.method.decoded;
    uint64_t tag = ack->delivery_tag - w->tag_base; /* 1-based index in the kept records */
    for (uint64_t i = ack->multiple ? w->acked_to + 1 : tag; i <= tag && i <= w->n; i++)
        if (!w->confirmed[i - 1]) {
            w->confirmed[i - 1] = true;
            w->nconfirmed++;
        }
    if (ack->multiple && tag > w->acked_to) /* each multiple ack walks only the records it adds */
        w->acked_to = tag <= w->n ? tag : w->n;
    return 0;
}

static int rmq_flush(void *writer, bool sync, char *err, size_t errlen)
{
    struct rmq_writer *w = writer;
    char e[300];
    int64_t last_progress = clock_mono_ms();
    rmq_publish_pending(w); /* what was appended goes out now */
    while (sync && w->nconfirmed < w->n) {
        if (!w->l.c && rmq_link_due(&w->l) && rmq_writer_connect(w, e, sizeof e) != 0)
            snprintf(w->l.lost, sizeof w->l.lost, "%s", e);
        rmq_publish_pending(w); /* again on a new connection */
        if (rmq_link_check(&w->l, &w->s, err, errlen) != 0)
            return -1;
        if (!w->l.c)
            usleep(RMQ_RETRY_MS * 1000 / 5);
        else if (rmq_read_confirm(w, err, errlen) < 0)
            return -1;
        if (w->progress && clock_mono_ms() - last_progress >= 1000) {
            w->progress(w->progress_ctx);
            last_progress = clock_mono_ms();
        }
    }
    if (sync) {
        w->tag_base += w->published;
        w->n = w->len = w->published = w->published_bytes = w->nconfirmed = 0;
        w->acked_to = 0;
    }
    return 0;
}

static void rmq_set_progress(void *writer, stream_progress_fn fn, void *ctx)
{
    struct rmq_writer *w = writer;
    w->progress = fn;
    w->progress_ctx = ctx;
}

/* ---------------------------------------------------------------- check */

/* Logs in as a task would, then declares the queue passively (a missing one is a 404). */
static void rmq_check(const struct stream_property *props, int nprops, struct stream_check *out)
{
    struct rmq_settings s = {0};
    char e[300];
    if (rmq_settings_load(&s, props, nprops, out->error, sizeof out->error) != 0)
        goto done;
    amqp_connection_state_t c = rmq_connect(&s, out->error, sizeof out->error);
    /* rmq_connect's only message before the socket is open starts so */
    out->reachable = c || strncmp(out->error, "cannot connect", 14) != 0;
    if (!c)
        goto done;
    out->authenticated = true;
    amqp_queue_declare(c, RMQ_CHANNEL, amqp_cstring_bytes(s.queue), 1, 0, 0, 0, amqp_empty_table);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(c);
    out->target_present = r.reply_type == AMQP_RESPONSE_NORMAL;
    if (!out->target_present)
        snprintf(out->error, sizeof out->error, "rabbitmq queue \"%s\": %s", s.queue, rmq_reply_text(r, e, sizeof e));
    rmq_close(c, out->target_present);
done:
    option_table_free(&rmq_option_table, &s);
}

const struct stream_backend rabbitmq_stream_backend = {
    .name = "rabbitmq",
    .partitions = stream_one_partition,
    .open_writer = rmq_open_writer,
    .append = rmq_append,
    .flush = rmq_flush,
    .writer_end_offset = NULL, /* cannot be rolled back: at-least-once */
    .truncate = NULL,
    .close_writer = rmq_close_writer,
    .set_progress = rmq_set_progress,
    .open_reader = rmq_open_reader,
    .read = rmq_read,
    .end_offset = rmq_end_offset,
    .close_reader = rmq_close_reader,
    .acknowledge = rmq_acknowledge,
    .check = rmq_check,
    .options = &rmq_option_table,
    .source = true,
    .sink = true,
    .location_key = "queue",
    .full_worker = true, /* librabbitmq */
    .network = true,
};
