/* sink_replay.h — exactly-once into a sink that cannot be rolled back but can be read back: a
 * stream stored in Kafka (README "Streams stored in Kafka"), whose partition one task alone
 * writes.
 *
 * The embedded log truncates a sink back to the checkpoint after a crash; a Kafka topic cannot
 * be truncated. Instead, each checkpoint names the sink partition's end offset, and a restart
 * reads the records the partition got after it (the tail, written by the run that crashed)
 * and compares what the replay emits with them, in order: a row equal to the tail's next record
 * (same kind, same bytes) is already there and is not written again; at the first row that
 * differs, or at the tail's end, replaying is over and everything from there on is written.
 *
 * A replay that emits the same rows in the same order (one source partition per task, an
 * event-time plan) is exactly-once. One that does not (several source partitions interleaved
 * differently, processing time) writes the rest of its rows again: at-least-once, never a loss,
 * since a row is skipped only when an equal record is in the sink in its place. This needs one
 * writer per sink partition, as the embedded log's rollback does.
 *
 * The writer's partition is the backend's for task index i: i % (the stream's partition count),
 * as the Kafka backend maps it. Ownership: sink_replay_new() returns an object the caller
 * releases with sink_replay_free() (NULL is a no-op); errors fill err. */
#ifndef SLUICE_DATAPLANE_SINK_REPLAY_H
#define SLUICE_DATAPLANE_SINK_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/stream.h"

struct sink_replay;

/* For the sink stream at location (backend b, which has readers) written by task index
 * writer_index. NULL with err when the stream cannot be read. */
struct sink_replay *sink_replay_new(const struct stream_backend *b, const char *location, int writer_index,
                                    const struct stream_property *props, int nprops, char *err, size_t errlen);
void sink_replay_free(struct sink_replay *sr);

/* The partition's end offset now (after the writer's synchronous flush: what the checkpoint
 * names). 0 or -1 with err. */
int sink_replay_end(struct sink_replay *sr, uint64_t *end, char *err, size_t errlen);

/* After a restart from a checkpoint that named checkpoint_end: the records from there to the
 * partition's end now are the tail the replay is compared with. *tail gets their count. 0 or
 * -1 with err. */
int sink_replay_start(struct sink_replay *sr, uint64_t checkpoint_end, uint64_t *tail, char *err, size_t errlen);

/* Whether the row the run is about to write is the tail's next record: 1 (skip it), 0 (write
 * it; replaying is over), -1 with err (the tail cannot be read). */
int sink_replay_skip(struct sink_replay *sr, enum row_kind kind, const char *data, size_t len, char *err,
                     size_t errlen);

/* Rows skipped so far, and whether the replay is still being compared. */
uint64_t sink_replay_skipped(const struct sink_replay *sr);
int sink_replay_active(const struct sink_replay *sr);

#endif
