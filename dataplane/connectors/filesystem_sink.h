/* filesystem_sink.h — the filesystem connector's sink (options: filesystem.h).
 *
 * Rows go to part files in the sink's directory, or under col=value/ directories of the
 * partition-by columns (values escaped as Flink's escapePathName does: %XX for '/', ':', '=',
 * '%' ...; null or empty: __DEFAULT_PARTITION__). A part file is written as a hidden
 * .part-<task>-<first>.inprogress, named by the sink offset of its first row (the rows the
 * writer took before it); it ends (rolls) when it reaches sink.rolling-policy.file-size, is
 * rollover-interval old or inactivity-interval idle, and at every checkpoint, becoming a hidden
 * .part-<task>-<first>-<end>.pending file, fsynced. The checkpoint that names a sink offset of
 * at least <end> commits it: it is renamed to part-<task>-<first>-<end>.csv (or .json), and with
 * the success-file policy an empty _SUCCESS is written in its directory. On a restart from a
 * checkpoint (truncate) pending files the checkpoint covers are committed, every other hidden
 * file of the task is removed: a job killed and restarted leaves neither duplicates nor partial
 * files where readers look (readers of the directory skip hidden files). Without checkpoints
 * files are committed as soon as they end.
 *
 * CSV rows hold the schema's columns in order (but the partition columns, which are in the
 * path); JSON rows are the records as they come (without the partition columns). Both need the
 * stream's schema ("__schema"), which sluiced run and the control plane's worker give. */
#ifndef SLUICE_DATAPLANE_CONNECTORS_FILESYSTEM_SINK_H
#define SLUICE_DATAPLANE_CONNECTORS_FILESYSTEM_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/stream.h"

/* The stream_backend writer functions of the filesystem connector. */
int fs_open_writer(const char *location, int partition, const struct stream_property *props, int nprops, void **writer,
                   char *err, size_t errlen);
int fs_append(void *writer, const void *data, uint32_t len, char *err, size_t errlen);
int fs_flush(void *writer, bool sync, char *err, size_t errlen);
uint64_t fs_writer_end_offset(void *writer);
int fs_truncate(void *writer, uint64_t offset, char *err, size_t errlen);
void fs_hold_commits(void *writer);
int fs_commit(void *writer, uint64_t offset, char *err, size_t errlen);
void fs_close_writer(void *writer);

#endif
