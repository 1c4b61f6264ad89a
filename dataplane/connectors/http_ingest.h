/* http_ingest.h — HTTP ingest as a connector: the facts and options of a connection with
 * connector "http", which the API runs itself (api/handlers_ingest.c: events POSTed to the
 * connection's stream) instead of a worker task. */
#ifndef SLUICE_DATAPLANE_CONNECTORS_HTTP_INGEST_H
#define SLUICE_DATAPLANE_CONNECTORS_HTTP_INGEST_H

#include "dataplane/stream.h"

/* Facts only: taskless, source only, with the option partition.key (the field whose value picks
 * an event's partition). No stream is opened through it, so stream_backend_find leaves it out. */
extern const struct stream_backend http_ingest_connector;

#endif
