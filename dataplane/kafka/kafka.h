/* kafka.h — the Kafka stream backend (librdkafka): a stream is a topic, a partition is a
 * Kafka partition and a record's offset is its Kafka offset.
 *
 * Location: the topic name. Properties, as Flink's Kafka connector takes them:
 *   properties.bootstrap.servers   required: host:port[,host:port...]
 *   properties.*                   any other librdkafka setting, the prefix dropped
 *                                  (properties.security.protocol, properties.sasl.password ...)
 *   scan.startup.mode              earliest-offset (default) | latest-offset: where a reader
 *                                  starts when there is no checkpoint to resume from
 *   format                         json (default): a message is a row, inserts only (a sink
 *                                  refuses other row kinds); debezium-json: a message is a
 *                                  Debezium change event, decoded to and encoded from rows with
 *                                  their kinds (dataplane/codec/debezium.h; a read then takes
 *                                  at least 2 records: an update event gives -U and +U, both
 *                                  with the message's offset)
 *   topic, connector               accepted; any other key is an error
 *
 * partitions() reads the topic's metadata; topics are never created (a missing topic is an
 * error). A reader consumes one partition from its offset with no consumer group (offsets live
 * in the run's checkpoint) and returns what arrived within a short poll, 0 when nothing did;
 * end_offset is the partition's high watermark. A writer is an idempotent producer
 * (enable.idempotence=true) to partition (task index % partitions), Flink's "fixed"
 * partitioner; flush waits for every record's delivery and reports the first delivery error.
 * A Kafka sink cannot be truncated, so writer_end_offset and truncate are NULL: a run into
 * Kafka is at-least-once (records written after the last checkpoint are written again after a
 * crash); a Kafka source into an embedded log is exactly-once through the checkpoint.
 *
 * Readers and writers are owned by the caller and released with close_reader / close_writer.
 * Errors fill err with a sentence naming the topic and the cause. */
#ifndef SLUICE_DATAPLANE_KAFKA_KAFKA_H
#define SLUICE_DATAPLANE_KAFKA_KAFKA_H

#include "dataplane/stream.h"

extern const struct stream_backend kafka_stream_backend;

#endif
