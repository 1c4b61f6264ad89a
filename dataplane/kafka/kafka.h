/* kafka.h — the Kafka stream backend (librdkafka): a stream is a topic, a partition is a
 * Kafka partition and a record's offset is its Kafka offset.
 *
 * Location: the topic name. Properties, as Flink's Kafka connector takes them:
 *   properties.bootstrap.servers   required: host:port[,host:port...]
 *   properties.*                   any other librdkafka setting, the prefix dropped
 *                                  (properties.security.protocol, properties.sasl.password ...)
 *   scan.startup.mode              earliest-offset (default) | latest-offset | specific-offsets
 *                                  (scan.startup.specific-offsets = partition:P,offset:O;...;
 *                                  others at the earliest) | timestamp (the first record at or
 *                                  after scan.startup.timestamp-millis): where a reader starts
 *                                  when there is no checkpoint to resume from
 *   key.fields, key.format, value.fields-include, format raw
 *                                  a record's key and value from a row (kafka_key.h); a raw
 *                                  source names its column from "__schema" (wants_schema)
 *   format                         json (default): a message is a row, inserts only (a sink
 *                                  refuses other row kinds); debezium-json: a message is a
 *                                  Debezium change event, decoded to and encoded from rows with
 *                                  their kinds (dataplane/codec/debezium.h; a read then takes
 *                                  at least 2 records: an update event gives -U and +U, both
 *                                  with the message's offset)
 *   sink.delivery-guarantee        at-least-once (default) | exactly-once: a writer spools its
 *                                  records and produces them in a transaction once the checkpoint
 *                                  naming them is durable (kafka_eos.h; writer_end_offset,
 *                                  truncate and commit then work, and need the engine's
 *                                  "__checkpoint" property, the run's checkpoint path)
 *   sink.transactional-id-prefix   exactly-once: transactional.id = PREFIX-PARTITION (default
 *                                  sluice-TOPIC)
 *   topic, connector               accepted; any other key is an error (keys starting with "__"
 *                                  are the engine's)
 * METADATA columns (headers, timestamp, timestamp-type, offset, partition, topic) come as fields
 * of "__schema" with "metadata" (kafka_meta.h): a reader adds them to each row, a writer takes
 * them out and writes headers and the timestamp.
 *
 * partitions() reads the topic's metadata; topics are never created (a missing topic is an
 * error). A reader consumes one partition from its offset with no consumer group (offsets live
 * in the run's checkpoint), through a client it shares with the process's other readers of the
 * topic (kafka_pool.h; prefetching 256 KB a partition by default), and returns what arrived
 * within a short poll, 0 when nothing did; end_offset is the partition's high watermark. A
 * writer is an idempotent producer
 * (enable.idempotence=true) to partition (task index % partitions), Flink's "fixed"
 * partitioner; flush waits for every record's delivery and reports the first delivery error.
 * At-least-once, writer_end_offset is 0 and truncate and commit do nothing: records written
 * after the last checkpoint are written again after a crash. Exactly-once, see kafka_eos.h. A
 * Kafka source into an embedded log is exactly-once through the checkpoint.
 *
 * Readers and writers are owned by the caller and released with close_reader / close_writer.
 * Errors fill err with a sentence naming the topic and the cause. */
#ifndef SLUICE_DATAPLANE_KAFKA_KAFKA_H
#define SLUICE_DATAPLANE_KAFKA_KAFKA_H

#include "dataplane/stream.h"

extern const struct stream_backend kafka_stream_backend;

#endif
