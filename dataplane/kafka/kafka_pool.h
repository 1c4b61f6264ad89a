/* kafka_pool.h — librdkafka consumer handles shared by the Kafka readers of one process.
 *
 * A reader reads one partition; a task reading a topic of 16 partitions opens 16 readers. Each
 * with a client of its own meant 16 connections, 16 broker threads and 16 fetch loops; through
 * the pool, the readers of one topic with the same properties share one client, which fetches
 * all their partitions in one request, and each reader consumes its partition's own queue
 * (rd_kafka_consume_batch on the partition). A partition is claimed by one reader at a time:
 * a second reader of a claimed partition (sink replay beside the engine's reader) gets a client
 * of its own.
 *
 * Thread-safe (one mutex over the pool). Handles are made by the caller's open function, the
 * pool owns them from then on and destroys a handle when its last reader releases it. */
#ifndef SLUICE_DATAPLANE_KAFKA_KAFKA_POOL_H
#define SLUICE_DATAPLANE_KAFKA_KAFKA_POOL_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

struct kafka_pool_client {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    int partitions; /* the topic's partition count when the client was made */
};

/* Makes a client for the pool: fills out (rk, rkt, partitions) and returns 0, or -1 with err,
 * having destroyed whatever it made. */
typedef int (*kafka_pool_open_fn)(void *ctx, struct kafka_pool_client *out, char *err, size_t errlen);

/* A client for key (the topic and every property: readers with the same key may share) with
 * partition claimed for the caller: an existing one where partition is free, or one made by
 * open(ctx). NULL with err when open fails, when the topic has no such partition (err names
 * topic) or when out of memory. Borrowed until kafka_pool_release. */
const struct kafka_pool_client *kafka_pool_acquire(const char *key, const char *topic, int32_t partition,
                                                   kafka_pool_open_fn open, void *ctx, char *err, size_t errlen);
/* Gives partition of client back (the caller has stopped consuming it); the last release
 * destroys the client. NULL: nothing. */
void kafka_pool_release(const struct kafka_pool_client *client, int32_t partition);

#endif
