/* kafka_admin.h — the topics of Kafka-stored streams (cluster mode, README "Streams stored in
 * Kafka"): their names, and their creation on the deployment's cluster through the admin API.
 *
 * Used by the api (a stream created with "storage": "kafka") and the controlplane (before it
 * starts a task over such a stream, in case the topic was deleted or the stream is older than
 * the cluster setting). The worker never creates topics. */
#ifndef SLUICE_DATAPLANE_KAFKA_KAFKA_ADMIN_H
#define SLUICE_DATAPLANE_KAFKA_KAFKA_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

/* The topic of a tenant's stream: "sluice-<tenant id>-<stream id>" into out (Kafka allows
 * [a-zA-Z0-9._-], up to 249 characters; both ids are UUIDs). */
void kafka_stream_topic(const char *tenant_id, const char *stream_id, char *out, size_t outsz);

/* Whether topic has the shape of a Kafka-stored stream's topic, "sluice-<uuid>-<uuid>" (hex digits
 * in either case). A tenant's kafka connection may not name one: the deployment's cluster is in
 * every worker's egress allow list, so such a topic would be another tenant's stream. */
bool kafka_is_stream_topic(const char *topic);

/* Makes sure topic exists on the cluster at servers (host:port,...), created with partitions
 * partitions (replication factor: the broker's default) when it does not. A cluster that does
 * not take CreateTopics (librdkafka's mock cluster) gets the topic by auto-creation, with its
 * default partition count. Returns 0 when the topic exists afterwards, with its partition count
 * in *actual (may be NULL); -1 with err naming the cluster and the cause. */
int kafka_topic_ensure(const char *servers, const char *topic, int partitions, int *actual, char *err, size_t errlen);

#endif
