/* log.h — the embedded log: one partition of a stream as append-only segment files.
 *
 * A partition is a directory of segment files named by the offset of their first record
 * (`00000000000000000000.log`). A record is framed as [u32 length][u32 crc32c][payload], both
 * little-endian; an offset is a record's index in the partition. Appends are buffered and
 * written out by seglog_writer_flush() (or when the buffer fills), fsynced by the options' policy
 * and always by seglog_writer_flush(w, true). Opening a writer recovers the tail: a torn or
 * corrupt last record (a crash during a write) is cut off, and appends continue after the last
 * whole record. One writer per partition at a time, enforced: the writer holds an exclusive
 * flock() on the partition's LOG_LOCK_FILE from open to close (in any process, and between two
 * writers in one process); any number of readers, in any process, without a lock.
 *
 * Ownership on disk: when running as root, directories the writer creates get their parent's
 * owner and files it creates (segments, the lock file) the partition directory's owner, so a
 * partition the api (root) writes stays readable and writable by the tenant's workers.
 *
 * Row kinds: a record's payload is a row with its kind (enum row_kind). A +I row is stored as it
 * is (a JSON object, "{...}"), so every record written before row kinds existed, and every
 * record of an append-only stream, reads as +I. A row of another kind is stored with the
 * kind's two-byte name first: "-U{...}", "+U{...}", "-D{...}" (LOG_KIND_PREFIX bytes). A JSON
 * object never starts with '+' or '-', so the prefix is unambiguous. Readers split it off:
 * struct stream_record carries the kind and the row without it.
 *
 * Upsert streams: a writer given a struct seglog_compaction (seglog_writer_set_compaction(), see
 * log_compact.h) compacts its closed, committed segments as Kafka compacts a topic (once their
 * dirty part passes min.cleanable.dirty.ratio, keeping an offset map of the clean part): per key,
 * only the last record is kept, and runs of removed records become gap frames (log_frame.h) so
 * offsets stay stable. Compaction never touches what a truncate can still cut (the active
 * segment, and records past the committed end), so exactly-once recovery is unaffected.
 *
 * Errors: functions return 0 (or a count) on success and -1 with a message in err[errlen]. */
#ifndef SLUICE_DATAPLANE_LOG_LOG_H
#define SLUICE_DATAPLANE_LOG_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/stream.h"
#include "dataplane/value.h"

#define LOG_MAX_RECORD (16u << 20) /* largest payload accepted: 16 MiB */
#define LOG_KIND_PREFIX 2          /* bytes of a row kind's prefix ("-D") */

struct seglog_options {
    uint64_t segment_bytes;       /* roll to a new segment past this size; 0 = 64 MiB */
    uint32_t fsync_every_records; /* fsync after this many appends; 0 = not by count */
    uint32_t fsync_every_ms;      /* fsync when this long since the last one; 0 = not by time */
    uint64_t retention_bytes;     /* delete the oldest segments past this total; 0 = keep all */
    int64_t retention_ms;         /* delete segments last written longer ago; 0 = keep all */
};

struct seglog_writer;

#define LOG_LOCK_FILE "writer.lock"
/* Read-committed: a writer that checkpoints (the engine's sinks) holds its records back from
 * committed-only readers until its checkpoint names them, by publishing the committed end
 * offset in this file (decimal text, replaced atomically). A pipeline reading a stream thus
 * never sees records that a crash of the stream's writer rolls back and writes again,
 * possibly in another order. A partition without the file is read to its end. */
#define LOG_COMMIT_FILE "committed"
#define LOG_WRITER_BUSY (-2) /* seglog_writer_open(): another writer holds the partition */

/* Opens (creating the directory if needed), locks and recovers the partition at dir. Returns 0,
 * LOG_WRITER_BUSY (with a message) when another writer has it open now, or -1. opt may be NULL
 * for the defaults (64 MiB segments, fsync only on flush, keep everything). The writer is owned
 * by the caller: seglog_writer_close() it. */
int seglog_writer_open(const char *dir, const struct seglog_options *opt, struct seglog_writer **out, char *err,
                       size_t errlen);
/* Flushes buffered records (no fsync) and frees the writer. NULL is a no-op. */
void seglog_writer_close(struct seglog_writer *w);
/* Appends one record (copied into the write buffer) as it is. *offset (if not NULL) gets its
 * offset. */
int seglog_writer_append(struct seglog_writer *w, const void *data, uint32_t len, uint64_t *offset, char *err,
                         size_t errlen);
/* Appends the row data[0..len) with its kind (a prefix unless it is ROW_INSERT, see above; a
 * +I record that itself begins with a kind's name, which no JSON row does, is stored with "+I"
 * first so that it reads back as it was). */
int seglog_writer_append_kind(struct seglog_writer *w, enum row_kind kind, const void *data, uint32_t len,
                              uint64_t *offset, char *err, size_t errlen);
/* Splits a stored payload into its kind and row (*row points into data). */
void seglog_record_split(const char *data, uint32_t len, enum row_kind *kind, const char **row, uint32_t *row_len);
struct seglog_compaction;
/* Makes the partition an upsert stream's: from now on closed segments wholly before the
 * committed end (the end offset for a writer that does not hold commits) are compacted by
 * c's key, checked at every segment roll and commit, once their dirty (not yet compacted) part
 * is at least c->min_dirty_ratio of them (c is copied; its ctx is borrowed until close). */
void seglog_writer_set_compaction(struct seglog_writer *w, const struct seglog_compaction *c);
/* Compacts now if the dirty ratio is reached (see seglog_writer_set_compaction()); 0 without a
 * compaction set. now_ms is the wall clock in epoch milliseconds (the age of tombstones). */
int seglog_writer_compact(struct seglog_writer *w, int64_t now_ms, char *err, size_t errlen);
/* Writes buffered records to the segment file, and fsyncs it when sync is true (or when the
 * fsync_every_ms policy is due). Also applies age retention, at most once a second. */
int seglog_writer_flush(struct seglog_writer *w, bool sync, char *err, size_t errlen);
/* Offset the next append gets, and the first offset still kept. */
uint64_t seglog_writer_end_offset(const struct seglog_writer *w);
uint64_t seglog_writer_start_offset(const struct seglog_writer *w);
/* From now on readers that read committed records see only what seglog_writer_commit() publishes
 * (the engine calls it after each checkpoint). Without it, every flush publishes what it wrote
 * whenever the partition has a commit file (a writer that does not checkpoint, e.g. HTTP
 * ingest, writing after one that did). */
void seglog_writer_hold_commits(struct seglog_writer *w);
/* Publishes offset (<= the end offset) as the committed end. */
int seglog_writer_commit(struct seglog_writer *w, uint64_t offset, char *err, size_t errlen);
/* Bytes cut off the tail by recovery when the writer was opened (0 when the tail was whole). */
uint64_t seglog_writer_recovered_bytes(const struct seglog_writer *w);
/* Drops every record at or after offset (offset ≤ end offset), durably. */
int seglog_writer_truncate(struct seglog_writer *w, uint64_t offset, char *err, size_t errlen);
/* Deletes whole old segments past the size or age limits (never the active one). now_ms is the
 * wall clock in epoch milliseconds. Also done on every segment roll. */
int seglog_writer_enforce_retention(struct seglog_writer *w, int64_t now_ms, char *err, size_t errlen);

struct seglog_reader;

/* A reader of the partition at dir, positioned at offset (which must still be kept). Owned by
 * the caller: seglog_reader_close() it. */
int seglog_reader_open(const char *dir, uint64_t offset, struct seglog_reader **out, char *err, size_t errlen);
void seglog_reader_close(struct seglog_reader *r);
/* Reads up to max whole records into recs with few read() calls, each with its kind and its
 * row (the payload without the kind's prefix); their data points into the reader's buffer and
 * stays valid until the next read or close. Offsets removed by compaction are skipped (a reader
 * opened at one starts at the next record kept). Returns the count; 0 when no
 * more records are there yet (poll again later to tail), -1 on an error (a corrupt record, an
 * I/O error). */
int seglog_reader_read(struct seglog_reader *r, struct stream_record *recs, int max, char *err, size_t errlen);
/* Makes r stop at the partition's committed end (LOG_COMMIT_FILE) from now on: reads return 0
 * there until more is committed, and seglog_reader_end_offset() answers at most that. */
void seglog_reader_committed_only(struct seglog_reader *r);
/* Offset of the next record this reader returns. */
uint64_t seglog_reader_position(const struct seglog_reader *r);
/* The partition's end offset now (whole, valid records only), as seglog_partition_end_offset(),
 * but scanning only what was appended since the reader's last call (or its position). */
int seglog_reader_end_offset(struct seglog_reader *r, uint64_t *end, char *err, size_t errlen);

/* Creates directory dir and its missing parents (mode 0755); 0, or -1 with errno set. */
int seglog_mkdir_parents(const char *dir);

/* Bytes of the partition at dir on disk now: the sum of its segment files' sizes. */
int seglog_partition_bytes(const char *dir, uint64_t *bytes, char *err, size_t errlen);

/* End offset of the partition at dir as it is now (the offset the next append would get),
 * counting only whole records. */
int seglog_partition_end_offset(const char *dir, uint64_t *end, char *err, size_t errlen);

#endif
