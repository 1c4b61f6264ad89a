/* kafka_pool.c — consumer handles shared by the Kafka readers of a process (kafka_pool.h): a
 * list of clients, each with the key it was made for and the partitions its readers claim. */
#include "dataplane/kafka/kafka_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kafka_pool_entry {
    struct kafka_pool_client client; /* first: a client pointer is its entry's */
    char *key;
    bool *claimed; /* [client.partitions] */
    int readers;
    struct kafka_pool_entry *next;
};

static pthread_mutex_t kafka_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kafka_pool_entry *kafka_pool_entries;

static void kafka_pool_entry_free(struct kafka_pool_entry *e)
{
    if (e->client.rkt)
        rd_kafka_topic_destroy(e->client.rkt);
    if (e->client.rk)
        rd_kafka_destroy(e->client.rk);
    free(e->claimed);
    free(e->key);
    free(e);
}

/* A new entry for key from open(ctx), not yet in the list; NULL with err. */
static struct kafka_pool_entry *kafka_pool_entry_new(const char *key, kafka_pool_open_fn open, void *ctx, char *err,
                                                     size_t errlen)
{
    struct kafka_pool_entry *e = calloc(1, sizeof *e);
    if (!e || !(e->key = strdup(key))) {
        free(e);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (open(ctx, &e->client, err, errlen) != 0) {
        e->client = (struct kafka_pool_client){0}; /* open destroyed what it made */
        kafka_pool_entry_free(e);
        return NULL;
    }
    if (!(e->claimed = calloc((size_t)e->client.partitions + 1, sizeof *e->claimed))) {
        kafka_pool_entry_free(e);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return e;
}

const struct kafka_pool_client *kafka_pool_acquire(const char *key, const char *topic, int32_t partition,
                                                   kafka_pool_open_fn open, void *ctx, char *err, size_t errlen)
{
    pthread_mutex_lock(&kafka_pool_lock);
    struct kafka_pool_entry *e = kafka_pool_entries;
    while (e &&
           (strcmp(e->key, key) != 0 || partition < 0 || partition >= e->client.partitions || e->claimed[partition]))
        e = e->next;
    if (!e) { /* made under the lock: readers open one after another at a task's start */
        e = kafka_pool_entry_new(key, open, ctx, err, errlen);
        if (e && (partition < 0 || partition >= e->client.partitions)) {
            snprintf(err, errlen, "kafka topic \"%s\" has no partition %d (it has %d)", topic, (int)partition,
                     e->client.partitions);
            kafka_pool_entry_free(e);
            e = NULL;
        }
        if (e) {
            e->next = kafka_pool_entries;
            kafka_pool_entries = e;
        }
    }
    if (e) {
        e->claimed[partition] = true;
        e->readers++;
    }
    pthread_mutex_unlock(&kafka_pool_lock);
    return e ? &e->client : NULL;
}

void kafka_pool_release(const struct kafka_pool_client *client, int32_t partition)
{
    if (!client)
        return;
    pthread_mutex_lock(&kafka_pool_lock);
    struct kafka_pool_entry **at = &kafka_pool_entries;
    while (*at && &(*at)->client != client)
        at = &(*at)->next;
    struct kafka_pool_entry *e = *at;
    if (e) {
        e->claimed[partition] = false;
        if (--e->readers == 0)
            *at = e->next;
        else
            e = NULL; /* still read */
    }
    pthread_mutex_unlock(&kafka_pool_lock);
    if (e)
        kafka_pool_entry_free(e);
}
