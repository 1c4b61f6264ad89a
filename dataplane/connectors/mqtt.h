/* mqtt.h — the MQTT connector (libmosquitto, MQTT 3.1.1): a source subscribing to a topic
 * filter and a sink publishing to a topic, both at QoS 1 in a persistent session
 * (clean_session false, the fixed client.id), so the broker keeps a source's messages while its
 * worker is down and hands them over when it is back.
 *
 * Properties (a connection's "properties", secrets merged in; `WITH (...)` in `sluiced run`):
 *   host, port       the broker (port 1883 by default)
 *   username         the user; password: normally a secret ref
 *   topic            required: the topic (a sink) or topic filter, wildcards allowed (a source)
 *   client.id        required: the session's client id, fixed and unique per connection (the
 *                    broker drops a client whose id another one takes)
 *   keepalive.s      keepalive interval in seconds (30)
 *   retain           sink: publish with the retain flag (false)
 *   spool.dir        source: where received messages are spooled ("mqtt-spool", relative to the
 *                    worker's directory); spool.bytes: the spool's size cap (1 GiB)
 *   timeout.ms       connect timeout
 *
 * Source: libmosquitto 2.0 acknowledges (PUBACK) a QoS 1 message as it reads it, before the
 * application sees it, and has no manual acknowledgement. So each message goes at once into a
 * spool, an embedded log of the source's own (under spool.dir/<client.id>), and the records
 * the engine reads, and its checkpoint's offsets, are the spool's. A SIGKILLed worker resumes
 * from the spool at its checkpoint, and the broker redelivers what it sent and never got a
 * PUBACK for: nothing is lost but a message caught between libmosquitto's PUBACK and the spool
 * write (two adjacent system calls), and a message whose PUBACK the crash cut off arrives twice
 * (at-least-once). The spool's oldest segments go past spool.bytes.
 *
 * Sink: each record is one QoS 1 PUBLISH; a flush (every checkpoint) waits for every PUBACK.
 * libmosquitto sends unacknowledged messages again after a reconnect: at-least-once.
 *
 * A lost connection is reopened (every half second, for up to a minute) without failing the
 * task. Readers and writers are owned by the caller and released with the close functions. */
#ifndef SLUICE_DATAPLANE_CONNECTORS_MQTT_H
#define SLUICE_DATAPLANE_CONNECTORS_MQTT_H

#include "dataplane/stream.h"

extern const struct stream_backend mqtt_stream_backend;

#endif
