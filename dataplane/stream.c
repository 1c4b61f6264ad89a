/* stream.c — the table of stream backends (see stream.h).
 *
 * The Kafka backend and the PostgreSQL and webhook sinks are referenced weakly: they are in the
 * table of binaries that link their objects (sluiced, the tests), and absent from the lean
 * sluiced-worker, which therefore does not load librdkafka, libpq or libcurl (the Makefile
 * pulls them into sluiced with -u). */
#include "dataplane/stream.h"

#include <string.h>

#include "dataplane/connectors/datagen.h"
#include "dataplane/connectors/postgres_sink.h"
#include "dataplane/connectors/webhook_sink.h"
#include "dataplane/kafka/kafka.h"
#include "dataplane/log/log_stream.h"

#pragma weak kafka_stream_backend
#pragma weak postgres_stream_backend
#pragma weak webhook_stream_backend

static const struct stream_backend *const stream_backends[] = {
    &log_stream_backend,
    &datagen_stream_backend,
    /* weak: NULL when not linked */
    &kafka_stream_backend,
    &postgres_stream_backend,
    &webhook_stream_backend,
};

const struct stream_backend *stream_backend_find(const char *name)
{
    for (size_t i = 0; i < sizeof stream_backends / sizeof stream_backends[0]; i++)
        if (stream_backends[i] && strcmp(stream_backends[i]->name, name) == 0)
            return stream_backends[i];
    return NULL;
}

const char *stream_property_get(const struct stream_property *props, int nprops, const char *key)
{
    for (int i = nprops - 1; i >= 0; i--)
        if (strcmp(props[i].key, key) == 0)
            return props[i].value;
    return NULL;
}
