/* checkpoint.h — the engine's checkpoint file: what a restart resumes from.
 *
 * A checkpoint names, atomically, where a task is: per source partition the next offset to
 * read (and the end of a bounded run), the end of its sink and dead-letter stream, the counters
 * and the plan's state snapshot. Hashes of the query text and of the source, sink and
 * dead-letter stream names tell a restart what still applies after the pipeline changed.
 *
 * Every partition entry carries the sequence number of the checkpoint that last advanced it.
 * The tasks of one pipeline share a directory (task-<index>.ckpt each, plus a lock file per
 * source partition): a task that takes a partition over after the task count changed picks the
 * entry with the highest sequence among all the files, which is its last owner's. A file keeps
 * the entries of partitions its task no longer reads, so nothing a later owner needs is lost.
 *
 * Layout: magic, version, four hashes, seq, completed, nparts, (partition, offset, end, seq)
 * per partition, sink end, dead-letter end, six counters, snapshot length and bytes, then a
 * CRC-32C of all before it. Written to PATH.tmp, fsynced, renamed over PATH, directory fsynced.
 */
#ifndef SLUICE_DATAPLANE_CHECKPOINT_H
#define SLUICE_DATAPLANE_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/engine.h"

struct checkpoint_part {
    int partition;
    uint64_t offset; /* next to read */
    uint64_t end;    /* bounded: stop here; UINT64_MAX: unbounded */
    uint64_t seq;    /* of the checkpoint that last advanced this partition */
};

struct checkpoint {
    uint64_t query_hash, source_hash, sink_hash, dlq_hash;
    uint64_t seq; /* of this checkpoint; greater than every seq its task saw at start */
    bool completed;
    int nparts;
    struct checkpoint_part *parts; /* owned */
    uint64_t sink_end, dlq_end;
    struct engine_stats stats; /* at checkpoint time, for inspection */
    const char *snapshot;      /* the plan's state: points into buf */
    size_t snapshot_len;
    char *buf; /* owned: the file's bytes */
};

/* Reads PATH into c. Returns 1 when loaded, 0 when there is no such file (c zeroed), -1 with
 * a message in err when it cannot be read, is corrupt or of another version. Release c with
 * checkpoint_release() in every case. */
int checkpoint_load(const char *path, struct checkpoint *c, char *err, size_t errlen);

/* Writes c (snapshot and snapshot_len as given; buf unused) to PATH atomically. 0 or -1 with
 * err. */
int checkpoint_save(const char *path, const struct checkpoint *c, char *err, size_t errlen);

/* Frees what c owns and zeroes it; a zeroed c is fine. */
void checkpoint_release(struct checkpoint *c);

/* The entry of partition in c, or NULL. */
const struct checkpoint_part *checkpoint_find_part(const struct checkpoint *c, int partition);

/* The 64-bit FNV-1a hash of s continued from h (start with CHECKPOINT_HASH_SEED). */
#define CHECKPOINT_HASH_SEED 0xcbf29ce484222325ull
uint64_t checkpoint_hash(uint64_t h, const char *s);

#endif
