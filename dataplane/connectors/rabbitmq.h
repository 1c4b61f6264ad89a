/* rabbitmq.h — the RabbitMQ connector (librabbitmq, AMQP 0-9-1): a source consuming a queue
 * with manual acknowledgements, and a sink publishing with publisher confirms.
 *
 * Properties (a connection's "properties", secrets merged in; `WITH (...)` in `sluiced run`):
 *   host, port, vhost  the broker (port 5672, vhost "/" by default)
 *   username           the user ("guest"); password: normally a secret ref
 *   queue              required: the queue a source consumes (it must exist), and where a sink
 *                      publishes when no exchange is given (the default exchange routes by
 *                      queue name)
 *   exchange           sink: the exchange to publish to ("": the default exchange)
 *   routing.key        sink: the routing key with an exchange (default: the queue's name)
 *   prefetch           source: unacknowledged deliveries the broker sends ahead (basic.qos)
 *   heartbeat.s        the AMQP heartbeat (30 s); timeout.ms: the connect timeout
 *
 * Source: deliveries are numbered from the offset the reader opens at, and acknowledged
 * (basic.ack, multiple) only once the checkpoint holding them is durable
 * (stream_backend.acknowledge). A SIGKILLed worker resumes from its checkpoint and the broker
 * redelivers everything not acknowledged, which the engine's sink rolls back to the checkpoint
 * and writes once; a delivery that a checkpoint holds but whose ack the crash cut off comes
 * again, and so do the deliveries of a connection that broke (they were handed on already):
 * at-least-once. A lost connection is reopened (every half second, for up to five minutes: the
 * broker restarts slowly) without failing the task.
 *
 * Sink: persistent messages (delivery mode 2, content type application/json) on a channel in
 * confirm mode; a synchronous flush (every checkpoint) waits for the broker's confirms, and a
 * nack fails the task. Messages not confirmed when the connection breaks are published again on
 * a new one: at-least-once.
 *
 * Readers and writers are owned by the caller and released with the close functions. */
#ifndef SLUICE_DATAPLANE_CONNECTORS_RABBITMQ_H
#define SLUICE_DATAPLANE_CONNECTORS_RABBITMQ_H

#include "dataplane/stream.h"

extern const struct stream_backend rabbitmq_stream_backend;

#endif
