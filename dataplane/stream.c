/* stream.c — the table of stream backends and connectors (see stream.h), and the checking of a
 * stream's properties against a backend's option table.
 *
 * The Kafka backend and the MQTT, PostgreSQL (sink and CDC source), RabbitMQ, Redis and webhook connectors are
 * referenced weakly: they are in the table of binaries that link their objects (sluiced, the
 * tests), and absent from the lean sluiced-worker, which therefore does not load librdkafka,
 * libpq, libcurl, libmosquitto, librabbitmq or hiredis (the Makefile pulls them into sluiced
 * with -u). Their rows keep their names, so a binary without them can still tell "not here"
 * from "no such connector". */
#include "dataplane/stream.h"

#include <string.h>

#include "dataplane/connectors/datagen.h"
#include "dataplane/connectors/filesystem.h"
#include "dataplane/connectors/http_ingest.h"
#include "dataplane/connectors/mqtt.h"
#include "dataplane/connectors/postgres_cdc.h"
#include "dataplane/connectors/postgres_sink.h"
#include "dataplane/connectors/rabbitmq.h"
#include "dataplane/connectors/redis_stream.h"
#include "dataplane/connectors/webhook_sink.h"
#include "dataplane/kafka/kafka.h"
#include "dataplane/log/log_stream.h"

#pragma weak kafka_stream_backend
#pragma weak mqtt_stream_backend
#pragma weak postgres_stream_backend
#pragma weak postgres_cdc_stream_backend
#pragma weak rabbitmq_stream_backend
#pragma weak redis_stream_backend
#pragma weak webhook_stream_backend

/* One row per backend, in name order; backend NULL when not linked. */
static const struct {
    const char *name;
    const struct stream_backend *backend;
} stream_backends[] = {
    {"datagen", &datagen_stream_backend},
    {"filesystem", &filesystem_stream_backend},
    {"http", &http_ingest_connector},
    {"kafka", &kafka_stream_backend}, /* weak */
    {"log", &seglog_stream_backend},
    {"mqtt", &mqtt_stream_backend},                 /* weak */
    {"postgres", &postgres_stream_backend},         /* weak */
    {"postgres-cdc", &postgres_cdc_stream_backend}, /* weak */
    {"rabbitmq", &rabbitmq_stream_backend},         /* weak */
    {"redis", &redis_stream_backend},               /* weak */
    {"webhook", &webhook_stream_backend},           /* weak */
};
#define STREAM_NBACKENDS (sizeof stream_backends / sizeof stream_backends[0])

const struct stream_backend *stream_backend_find(const char *name)
{
    for (size_t i = 0; name && i < STREAM_NBACKENDS; i++) {
        const struct stream_backend *b = stream_backends[i].backend;
        if (b && !b->taskless && strcmp(stream_backends[i].name, name) == 0)
            return b;
    }
    return NULL;
}

/* Whether row i is a connector of connections; a weak row not linked counts as one (kafka,
 * mqtt, postgres, rabbitmq, redis and webhook all are). */
static bool stream_is_connector(size_t i)
{
    const struct stream_backend *b = stream_backends[i].backend;
    return !b || b->source || b->sink;
}

int stream_connector_find(const char *name, const struct stream_backend **backend)
{
    for (size_t i = 0; name && i < STREAM_NBACKENDS; i++) {
        if (stream_is_connector(i) && strcmp(stream_backends[i].name, name) == 0) {
            *backend = stream_backends[i].backend;
            return 0;
        }
    }
    return -1;
}

const char *stream_connector_name(size_t i)
{
    for (size_t k = 0; k < STREAM_NBACKENDS; k++)
        if (stream_is_connector(k) && i-- == 0)
            return stream_backends[k].name;
    return NULL;
}

const char *stream_property_get(const struct stream_property *props, int nprops, const char *key)
{
    for (int i = nprops - 1; i >= 0; i--)
        if (strcmp(props[i].key, key) == 0)
            return props[i].value;
    return NULL;
}

/* ---------------------------------------------------------------- options */

struct stream_props {
    const struct stream_property *props;
    int nprops;
};

static const char *stream_props_get(void *ctx, const char *name)
{
    const struct stream_props *p = ctx;
    return stream_property_get(p->props, p->nprops, name);
}

int stream_options_check(const struct option_table *t, const struct stream_property *props, int nprops, char *err,
                         size_t errlen)
{
    for (int i = 0; i < nprops; i++)
        if (strncmp(props[i].key, "__", 2) != 0 && option_check(t, props[i].key, props[i].value, err, errlen) != 0)
            return -1;
    struct stream_props p = {props, nprops};
    return option_check_required(t, stream_props_get, &p, NULL, err, errlen);
}

int stream_options_apply(const struct option_table *t, const struct stream_property *props, int nprops, void *target,
                         char *err, size_t errlen)
{
    struct stream_props p = {props, nprops};
    return option_table_apply(t, stream_props_get, &p, target, err, errlen);
}

int stream_one_partition(const char *location, int create, const struct stream_property *props, int nprops, int *count,
                         char *err, size_t errlen)
{
    *count = 1;
    return 0;
}
