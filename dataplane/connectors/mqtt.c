/* mqtt.c — the MQTT connector over libmosquitto (see mqtt.h): options, a client with its
 * reconnects, a source spooling what it receives into an embedded log, a sink awaiting PUBACKs. */
#include "dataplane/connectors/mqtt.h"

#include <errno.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "dataplane/connectors/broker_common.h"
#include "dataplane/log/log_stream.h"

#define MQTT_RETRY_MS 500      /* between two attempts to reconnect */
#define MQTT_GIVE_UP_MS 60000  /* a broker unreachable this long fails the task */
#define MQTT_MAX_INFLIGHT 1000 /* QoS 1 messages sent and not yet acknowledged, per client */
#define MQTT_PUMP_ROUNDS 256   /* network rounds per read, while messages keep coming */
#define MQTT_UNACKED_MAX 20000 /* a sink's published and unacknowledged records before append waits */

/* ---------------------------------------------------------------- options */

struct mqtt_settings {
    char *host, *username, *password, *topic, *client_id, *spool_dir;
    int port, keepalive, timeout_ms;
    int64_t spool_bytes;
    bool retain;
};

#define MF(member) OPTION_FIELD(struct mqtt_settings, member)
static const struct option_row mqtt_options[] = {
    {.name = "connector", .type = OPTION_STRING, .flags = OPTION_HIDDEN},
    {.name = "host",
     .type = OPTION_STRING,
     .flags = OPTION_REQUIRED,
     .help = "the broker's host name or address",
     MF(host)},
    {.name = "port", .type = OPTION_INT, .def = "1883", .min = 1, .max = 65535, .help = "the broker's port", MF(port)},
    {.name = "username", .type = OPTION_STRING, .help = "the user", MF(username)},
    {.name = "password", .type = OPTION_STRING, .help = "the password (normally a secret ref)", MF(password)},
    {.name = "topic",
     .type = OPTION_STRING,
     .flags = OPTION_REQUIRED,
     .help = "the topic (sink) or topic filter (source)",
     MF(topic)},
    {.name = "client.id",
     .type = OPTION_STRING,
     .flags = OPTION_REQUIRED,
     .help = "the persistent session's client id, unique per connection",
     MF(client_id)},
    {.name = "keepalive.s",
     .type = OPTION_INT,
     .def = "30",
     .min = 5,
     .max = 65535,
     .help = "keepalive interval",
     MF(keepalive)},
    {.name = "retain", .type = OPTION_BOOL, .def = "false", .help = "sink: publish with the retain flag", MF(retain)},
    {.name = "spool.dir",
     .type = OPTION_STRING,
     .def = "mqtt-spool",
     .help = "source: where received messages are kept until processed",
     MF(spool_dir)},
    {.name = "spool.bytes",
     .type = OPTION_INT,
     .def = "1073741824",
     .min = 1048576,
     .max = INT64_MAX,
     .help = "source: the spool's size cap",
     MF(spool_bytes)},
    BROKER_TIMEOUT_OPTION(struct mqtt_settings, timeout_ms),
};
static const struct option_table mqtt_option_table = OPTION_TABLE("mqtt", mqtt_options);

/* ---------------------------------------------------------------- the client */

/* The first member of a reader and of a writer: libmosquitto's callbacks get it as obj. */
struct mqtt_client {
    struct mqtt_settings s;
    struct mosquitto *m;
    bool subscribe;                   /* a source: subscribe on every CONNACK */
    int connack;                      /* of the last CONNACK, -1 while waiting for one */
    bool connected;                   /* the last CONNACK accepted the session, and it was not lost since */
    bool reconnecting;                /* a reconnect's CONNECT is out, its CONNACK awaited */
    int64_t down_since, last_attempt; /* ms */
    char lost[200];                   /* why the connection went */
};

static pthread_once_t mqtt_once = PTHREAD_ONCE_INIT;
static void mqtt_lib_init(void) { mosquitto_lib_init(); }

static void mqtt_on_connect(struct mosquitto *m, void *obj, int rc)
{
    struct mqtt_client *cl = obj;
    cl->connack = rc;
    cl->connected = rc == 0;
    cl->reconnecting = false;
    if (rc != 0)
        snprintf(cl->lost, sizeof cl->lost, "%s", mosquitto_connack_string(rc));
    else if (cl->subscribe)
        mosquitto_subscribe(m, NULL, cl->s.topic, 1);
}

static int mqtt_settings_load(struct mqtt_settings *s, const struct stream_property *props, int nprops, char *err,
                              size_t errlen)
{
    return stream_options_check(&mqtt_option_table, props, nprops, err, errlen) != 0 ||
                   stream_options_apply(&mqtt_option_table, props, nprops, s, err, errlen) != 0
               ? -1
               : 0;
}

static const char *mqtt_error_text(int rc) { return rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc); }

/* Connects with the settings in cl->s and waits for the broker's CONNACK. 0, or -1 with err. */
static int mqtt_client_open(struct mqtt_client *cl, char *err, size_t errlen)
{
    pthread_once(&mqtt_once, mqtt_lib_init);
    cl->connack = -1;
    if (!(cl->m = mosquitto_new(cl->s.client_id, false, cl))) {
        snprintf(err, errlen, "mqtt: cannot make a client: %s", strerror(errno));
        return -1;
    }
    mosquitto_connect_callback_set(cl->m, mqtt_on_connect);
    mosquitto_max_inflight_messages_set(cl->m, MQTT_MAX_INFLIGHT);
    if (cl->s.username && *cl->s.username)
        mosquitto_username_pw_set(cl->m, cl->s.username, cl->s.password);
    int rc = mosquitto_connect(cl->m, cl->s.host, cl->s.port, cl->s.keepalive);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(err, errlen, "cannot connect to the mqtt broker at %s:%d: %s", cl->s.host, cl->s.port,
                 mqtt_error_text(rc));
        return -1;
    }
    int64_t until = clock_mono_ms() + cl->s.timeout_ms;
    while (cl->connack < 0 && clock_mono_ms() < until)
        if ((rc = mosquitto_loop(cl->m, 100, 1)) != MOSQ_ERR_SUCCESS)
            break;
    if (cl->connack == 0)
        return 0;
    if (cl->connack > 0)
        snprintf(err, errlen, "the mqtt broker at %s:%d refused the connection: %s", cl->s.host, cl->s.port,
                 mosquitto_connack_string(cl->connack));
    else
        snprintf(err, errlen, "the mqtt broker at %s:%d did not accept the connection within %d ms: %s", cl->s.host,
                 cl->s.port, cl->s.timeout_ms, rc ? mqtt_error_text(rc) : "no answer");
    return -1;
}

static void mqtt_client_close(struct mqtt_client *cl)
{
    if (cl->m) {
        if (cl->connected)
            mosquitto_disconnect(cl->m);
        mosquitto_destroy(cl->m);
    }
    option_table_free(&mqtt_option_table, &cl->s);
}

/* Reconnecting: reads a reconnect's CONNACK, or sends a new CONNECT at most every MQTT_RETRY_MS. */
static void mqtt_client_retry(struct mqtt_client *cl, int timeout_ms)
{
    int64_t now = clock_mono_ms();
    if (cl->reconnecting && mosquitto_loop(cl->m, timeout_ms, 1) != MOSQ_ERR_SUCCESS)
        cl->reconnecting = false;
    if (cl->reconnecting && now - cl->last_attempt > cl->s.timeout_ms)
        cl->reconnecting = false; /* no CONNACK in time: try again */
    if (cl->connected || cl->reconnecting || now - cl->last_attempt < MQTT_RETRY_MS)
        return;
    cl->last_attempt = now;
    cl->connack = -1;
    int rc = mosquitto_reconnect(cl->m);
    cl->reconnecting = rc == MOSQ_ERR_SUCCESS;
    if (rc != MOSQ_ERR_SUCCESS)
        snprintf(cl->lost, sizeof cl->lost, "%s", mqtt_error_text(rc));
}

/* One round of network work, waiting up to timeout_ms, and reconnects after a lost connection.
 * 0 (connected or still trying), -1 with err past the time to give up. */
static int mqtt_client_pump(struct mqtt_client *cl, int timeout_ms, char *err, size_t errlen)
{
    if (cl->connected) {
        int rc = mosquitto_loop(cl->m, timeout_ms, 1);
        if (rc == MOSQ_ERR_SUCCESS)
            return 0;
        snprintf(cl->lost, sizeof cl->lost, "%s", mqtt_error_text(rc));
        cl->connected = false;
        cl->down_since = clock_mono_ms();
        cl->last_attempt = 0;
    }
    mqtt_client_retry(cl, timeout_ms);
    if (cl->connected || clock_mono_ms() - cl->down_since < MQTT_GIVE_UP_MS)
        return 0;
    snprintf(err, errlen, "the mqtt broker at %s:%d: connection lost and not regained in %d s (%s)", cl->s.host,
             cl->s.port, MQTT_GIVE_UP_MS / 1000, cl->lost);
    return -1;
}

/* ---------------------------------------------------------------- readers */

struct mqtt_reader {
    struct mqtt_client cl; /* first: the callbacks' obj */
    void *spool_w, *spool_r;
    uint64_t received;
    char failed[300]; /* a spool write that failed in a callback: the next read's error */
};

static void mqtt_close_reader(void *reader)
{
    struct mqtt_reader *r = reader;
    if (!r)
        return;
    mqtt_client_close(&r->cl);
    if (r->spool_r)
        seglog_stream_backend.close_reader(r->spool_r);
    if (r->spool_w)
        seglog_stream_backend.close_writer(r->spool_w);
    free(r);
}

/* Called from mosquitto_loop once the message is read (and, QoS 1, already acknowledged). */
static void mqtt_on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    struct mqtt_reader *r = obj;
    char e[256];
    if (r->failed[0])
        return;
    if (seglog_stream_backend.append(r->spool_w, msg->payload ? msg->payload : "", (uint32_t)msg->payloadlen, e,
                                     sizeof e) != 0 ||
        seglog_stream_backend.flush(r->spool_w, false, e, sizeof e) != 0)
        snprintf(r->failed, sizeof r->failed, "mqtt spool: %s", e);
    r->received++;
}

/* The spool (spool.dir/client.id, partition 0): its writer and a reader at offset. */
static int mqtt_spool_open(struct mqtt_reader *r, uint64_t offset, char *err, size_t errlen)
{
    char dir[1024], bytes[32];
    snprintf(dir, sizeof dir, "%s/%s", r->cl.s.spool_dir, r->cl.s.client_id);
    snprintf(bytes, sizeof bytes, "%lld", (long long)r->cl.s.spool_bytes);
    const struct stream_property props[] = {{"retention.bytes", bytes}};
    const struct stream_backend *log = &seglog_stream_backend;
    int n;
    if (seglog_mkdir_parents(dir) != 0) {
        snprintf(err, errlen, "mqtt spool: cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    if (log->partitions(dir, 1, props, 1, &n, err, errlen) != 0 ||
        log->open_writer(dir, 0, props, 1, &r->spool_w, err, errlen) != 0)
        return -1;
    uint64_t end = log->writer_end_offset(r->spool_w);
    if (end < offset) { /* not a silent jump over whatever came between */
        snprintf(
            err, errlen,
            "mqtt spool %s ends at offset %llu, before the checkpoint's %llu: the spool was lost with the messages "
            "in it; remove the checkpoint to start over",
            dir, (unsigned long long)end, (unsigned long long)offset);
        return -1;
    }
    return log->open_reader(dir, 0, offset, props, 1, &r->spool_r, err, errlen);
}

static int mqtt_open_reader(const char *location, int partition, uint64_t offset, const struct stream_property *props,
                            int nprops, void **reader, char *err, size_t errlen)
{
    struct mqtt_reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->cl.subscribe = true;
    /* the spool first: messages come as soon as the session resumes */
    if (mqtt_settings_load(&r->cl.s, props, nprops, err, errlen) != 0 || mqtt_spool_open(r, offset, err, errlen) != 0 ||
        mqtt_client_open(&r->cl, err, errlen) != 0) {
        mqtt_close_reader(r);
        return -1;
    }
    mosquitto_message_callback_set(r->cl.m, mqtt_on_message);
    *reader = r;
    return 0;
}

static int mqtt_read(void *reader, struct stream_record *recs, int max, char *err, size_t errlen)
{
    struct mqtt_reader *r = reader;
    for (int i = 0; i < MQTT_PUMP_ROUNDS; i++) {
        uint64_t before = r->received;
        if (mqtt_client_pump(&r->cl, 0, err, errlen) != 0)
            return -1;
        if (r->received == before)
            break;
    }
    if (r->failed[0]) {
        snprintf(err, errlen, "%s", r->failed);
        return -1;
    }
    return seglog_stream_backend.read(r->spool_r, recs, max, err, errlen);
}

static int mqtt_end_offset(void *reader, uint64_t *end, char *err, size_t errlen)
{
    struct mqtt_reader *r = reader;
    return seglog_stream_backend.end_offset(r->spool_r, end, err, errlen);
}

/* ---------------------------------------------------------------- writers */

struct mqtt_writer {
    struct mqtt_client cl; /* first: the callbacks' obj */
    uint64_t sent, acked;  /* QoS 1 messages published, and acknowledged */
    stream_progress_fn progress;
    void *progress_ctx;
};

static void mqtt_on_publish(struct mosquitto *m, void *obj, int mid)
{
    struct mqtt_writer *w = obj;
    w->acked++;
}

static void mqtt_close_writer(void *writer)
{
    struct mqtt_writer *w = writer;
    if (!w)
        return;
    mqtt_client_close(&w->cl);
    free(w);
}

static int mqtt_open_writer(const char *location, int partition, const struct stream_property *props, int nprops,
                            void **writer, char *err, size_t errlen)
{
    struct mqtt_writer *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (mqtt_settings_load(&w->cl.s, props, nprops, err, errlen) != 0 || mqtt_client_open(&w->cl, err, errlen) != 0) {
        mqtt_close_writer(w);
        return -1;
    }
    mosquitto_publish_callback_set(w->cl.m, mqtt_on_publish);
    *writer = w;
    return 0;
}

/* Network rounds until at most max messages await their PUBACK: 0, or -1 with err. */
static int mqtt_wait_acks(struct mqtt_writer *w, uint64_t max, char *err, size_t errlen)
{
    int64_t last_progress = clock_mono_ms();
    while (w->sent - w->acked > max) {
        if (mqtt_client_pump(&w->cl, 100, err, errlen) != 0)
            return -1;
        if (w->progress && clock_mono_ms() - last_progress >= 1000) {
            w->progress(w->progress_ctx);
            last_progress = clock_mono_ms();
        }
    }
    return 0;
}

static int mqtt_append(void *writer, const void *data, uint32_t len, char *err, size_t errlen)
{
    struct mqtt_writer *w = writer;
    if (w->sent - w->acked >= MQTT_UNACKED_MAX && mqtt_wait_acks(w, MQTT_UNACKED_MAX / 2, err, errlen) != 0)
        return -1;
    /* while disconnected, libmosquitto queues a QoS 1 message and sends it after the reconnect */
    int rc = mosquitto_publish(w->cl.m, NULL, w->cl.s.topic, (int)len, data, 1, w->cl.s.retain);
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) {
        snprintf(err, errlen, "mqtt topic \"%s\": cannot publish: %s", w->cl.s.topic, mqtt_error_text(rc));
        return -1;
    }
    w->sent++;
    return 0;
}

static int mqtt_flush(void *writer, bool sync, char *err, size_t errlen)
{
    struct mqtt_writer *w = writer;
    if (!sync)
        return mqtt_client_pump(&w->cl, 0, err, errlen);
    return mqtt_wait_acks(w, 0, err, errlen);
}

static void mqtt_set_progress(void *writer, stream_progress_fn fn, void *ctx)
{
    struct mqtt_writer *w = writer;
    w->progress = fn;
    w->progress_ctx = ctx;
}

/* ---------------------------------------------------------------- check */

/* Connects with a clean session under a client id of its own (the connection's persistent
 * session is left alone) and waits for the CONNACK. MQTT topics exist once used: a broker that
 * accepts the login has the target. */
static void mqtt_check(const struct stream_property *props, int nprops, struct stream_check *out)
{
    struct mqtt_client cl = {.connack = -1};
    if (mqtt_settings_load(&cl.s, props, nprops, out->error, sizeof out->error) != 0)
        goto done;
    pthread_once(&mqtt_once, mqtt_lib_init);
    if (!(cl.m = mosquitto_new(NULL, true, &cl))) {
        snprintf(out->error, sizeof out->error, "mqtt: cannot make a client: %s", strerror(errno));
        goto done;
    }
    mosquitto_connect_callback_set(cl.m, mqtt_on_connect);
    if (cl.s.username && *cl.s.username)
        mosquitto_username_pw_set(cl.m, cl.s.username, cl.s.password);
    int rc = mosquitto_connect(cl.m, cl.s.host, cl.s.port, cl.s.keepalive);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(out->error, sizeof out->error, "cannot connect to the mqtt broker at %s:%d: %s", cl.s.host, cl.s.port,
                 mqtt_error_text(rc));
        goto done;
    }
    out->reachable = true;
    int64_t until = clock_mono_ms() + cl.s.timeout_ms;
    while (cl.connack < 0 && clock_mono_ms() < until && mosquitto_loop(cl.m, 100, 1) == MOSQ_ERR_SUCCESS)
        ;
    out->authenticated = out->target_present = cl.connack == 0;
    if (cl.connack != 0)
        snprintf(out->error, sizeof out->error, "the mqtt broker at %s:%d refused the connection: %s", cl.s.host,
                 cl.s.port, cl.connack > 0 ? mosquitto_connack_string(cl.connack) : "no answer");
done:
    mqtt_client_close(&cl);
}

const struct stream_backend mqtt_stream_backend = {
    .name = "mqtt",
    .partitions = stream_one_partition,
    .open_writer = mqtt_open_writer,
    .append = mqtt_append,
    .flush = mqtt_flush,
    .writer_end_offset = NULL, /* cannot be rolled back: at-least-once */
    .truncate = NULL,
    .close_writer = mqtt_close_writer,
    .set_progress = mqtt_set_progress,
    .open_reader = mqtt_open_reader,
    .read = mqtt_read,
    .end_offset = mqtt_end_offset,
    .close_reader = mqtt_close_reader,
    .check = mqtt_check,
    .options = &mqtt_option_table,
    .source = true,
    .sink = true,
    .location_key = "topic",
    .full_worker = true, /* libmosquitto */
    .network = true,
};
