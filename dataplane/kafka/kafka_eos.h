/* kafka_eos.h — the exactly-once side of a Kafka sink ('sink.delivery-guarantee' =
 * 'exactly-once'): records go to Kafka only once a checkpoint that names them is durable.
 *
 * Between checkpoints a writer's records (key and value, as they are to be produced) go to a
 * spool, an embedded log beside the run's checkpoint (<checkpoint>.kafka/<topic>-<partition>).
 * The engine's checkpoint names the spool's end offset; once it is durable the engine calls
 * kafka_eos_commit(), which publishes that end in the spool (its committed end) and produces
 * the spool's new records to the topic in one transaction of the transactional producer
 * (transactional.id = prefix-partition), each with the headers sluice.writer (the
 * transactional id) and sluice.seq (its spool offset), then commits the transaction.
 *
 * Recovery (kafka_eos_open, and kafka_eos_recover with the checkpoint's spool end): the
 * producer's init_transactions fences any zombie of the same transactional id and aborts its
 * open transaction; then the partition's newest record from this writer (read read_committed)
 * tells the last spool offset Kafka holds, and the spool's records after it, up to what a
 * checkpoint named, are produced again in a new transaction. A crash between a durable
 * checkpoint and its commit therefore loses nothing, and a crash before it writes nothing
 * (the run replays from the checkpoint into the spool, whose uncheckpointed tail is cut).
 *
 * A Kafka broker makes an aborted transaction's records invisible to read_committed readers;
 * records of this writer are only ever produced from the checkpointed spool, in order, each
 * once per recovery that finds it missing, so even a broker without transaction markers (the
 * librdkafka mock cluster) shows each record once. One writer per partition: the sink topic
 * needs at least as many partitions as the pipeline has tasks. */
#ifndef SLUICE_DATAPLANE_KAFKA_KAFKA_EOS_H
#define SLUICE_DATAPLANE_KAFKA_KAFKA_EOS_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kafka_eos;

/* The exactly-once state of the transactional producer rk writing partition of topic (rk and
 * rkt borrowed until kafka_eos_free), spooling under spool_dir. consumer (borrowed for the
 * call; a consumer of the same cluster) finds what Kafka already holds. Initialises the
 * transactions (fencing a zombie) and recovers to the spool's committed end. NULL with err. */
struct kafka_eos *kafka_eos_open(rd_kafka_t *rk, rd_kafka_topic_t *rkt, rd_kafka_t *consumer, const char *topic,
                                 int32_t partition, const char *txn_id, const char *spool_dir, char *err,
                                 size_t errlen);
/* Frees e (NULL: no-op); an open transaction is aborted. */
void kafka_eos_free(struct kafka_eos *e);
/* Spools one record (key may be NULL). */
int kafka_eos_append(struct kafka_eos *e, const void *key, size_t keylen, const void *value, size_t len, char *err,
                     size_t errlen);
/* Writes the spool's buffered records out, and fsyncs them when sync is true. */
int kafka_eos_flush(struct kafka_eos *e, bool sync, char *err, size_t errlen);
/* The spool's end offset: what the checkpoint names. */
uint64_t kafka_eos_end(const struct kafka_eos *e);
/* A checkpoint naming end is durable: publishes it and produces the spool up to end in one
 * committed transaction. */
int kafka_eos_commit(struct kafka_eos *e, uint64_t end, char *err, size_t errlen);
/* Restart from a checkpoint that named end: cuts the spool after end, then produces what Kafka
 * lacks up to end (consumer as for kafka_eos_open). */
int kafka_eos_recover(struct kafka_eos *e, rd_kafka_t *consumer, uint64_t end, char *err, size_t errlen);

#endif
