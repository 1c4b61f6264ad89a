/* log_compact.h — compaction of an upsert stream's partition (Kafka's cleanup.policy=compact):
 * in the segments compacted, only the last record of each key is kept (an upsert stream needs
 * no -U record: they are all removed); a run of removed records
 * becomes one gap frame (log_frame.h), so every kept record keeps its offset. A tombstone (a -D
 * record) is kept as the last record of its key until its segment is delete_retention_ms old,
 * so a reader that was behind still sees the delete; after that the key disappears.
 *
 * Used by log.c's writer (seglog_writer_set_compaction()); works on closed segments only, which
 * readers may be reading: a segment is rewritten to a temporary file and renamed over the old
 * one, whose readers keep their open file. */
#ifndef SLUICE_DATAPLANE_LOG_LOG_COMPACT_H
#define SLUICE_DATAPLANE_LOG_LOG_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#define LOG_COMPACT_MAX_KEY 4096 /* bytes of a key at most; a longer one keeps its records */

struct seglog_compaction {
    /* The key of row[0..len) (a record's payload without its kind) into key[0..LOG_COMPACT_MAX_KEY),
     * its length in *key_len. Returns 0, or -1 when the row has no key (it is kept). */
    int (*key)(void *ctx, const char *row, uint32_t len, char *key, size_t *key_len);
    void *ctx;
    void (*release)(void *ctx);  /* optional: frees ctx when the writer closes */
    int64_t delete_retention_ms; /* keep tombstones this long; 0 = 24 hours; < 0 = forever */
    /* Kafka's min.cleanable.dirty.ratio: compact once the dirty (not yet compacted) bytes are at
     * least this fraction of the closed, committed segments' bytes; 0 = 0.5. The partition then
     * stays below about live set / (1 - ratio), plus a segment and the active one. */
    double min_dirty_ratio;
};

/* Kafka's log cleaner: the offset map of the segments compacted so far (their "clean" part),
 * kept between runs so that a run reads only the segments written since (the "dirty" part). */
struct seglog_compactor;
struct seglog_compactor *seglog_compactor_new(void);    /* NULL when out of memory */
void seglog_compactor_free(struct seglog_compactor *k); /* NULL is a no-op */

/* Compacts the closed segments bases[0..n) of the partition at dir, as one: per key only the
 * last record of them all stays. bases[n] is where the last one ends (the next segment's base).
 * bases[0..clean) are clean: compacted by earlier runs of k (and not changed since); they are
 * not read for keys, and each is rewritten only when a record of the dirty segments
 * bases[clean..n) supersedes one of its records, or its tombstones expired. Checksums are
 * verified once per run and segment read. now_ms: the wall clock, epoch ms. sizes[0..n) hold the
 * segments' sizes and get their sizes afterwards. Returns 0, or -1 with a message; after an
 * error k no longer matches the segments: free it and start over with clean = 0. */
int seglog_compact_segments(struct seglog_compactor *k, const char *dir, const uint64_t *bases, int n, int clean,
                            const struct seglog_compaction *c, int64_t now_ms, uint64_t *sizes, char *err,
                            size_t errlen);

#endif
