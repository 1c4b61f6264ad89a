/* filesystem.h — the filesystem connector, as Flink's: a source reading NDJSON or CSV files
 * under a path, and a sink writing rolling part files committed on checkpoints.
 *
 * Properties (`WITH (...)` in `sluiced run`, a connection's "properties"):
 *   path                   required: a file or a directory ("file://" in front is dropped)
 *   format                 required: json (one object per line) | csv
 *   csv.field-delimiter    one character, "," by default ("\t" for a tab)
 *   csv.quote-character    one character, '"' by default; csv.disable-quote-character = true: none
 *   csv.header             the first line of each file is a header: skipped when reading, written
 *                          (the column names) when writing; false by default
 *   source.monitor-interval  source: look for new files this often (a duration); not given, the
 *                          source is bounded: it reads the files there at its first start and
 *                          completes
 *   sink.rolling-policy.file-size, .rollover-interval, .inactivity-interval, .check-interval
 *                          sink: a part file ends when it is this big, this old, idle this long
 *                          (and at every checkpoint)
 *   partition-by           sink: "col, col": write rows under col=value/ directories (what
 *                          PARTITIONED BY (col, ...) of CREATE TABLE sets); those columns are
 *                          not in the files' rows, as in Flink
 *   sink.partition-commit.policy.kind  sink: "success-file" writes an empty _SUCCESS (or
 *                          sink.partition-commit.success-file.name) into a partition's
 *                          directory at every checkpoint that commits files to it
 *   sink.partition-commit.trigger, .delay, .watermark-time-zone,
 *   partition.time-extractor.timestamp-pattern  accepted (Nexmark q10 sets them); partitions
 *                          are committed with every checkpoint
 * The legacy names of Flink's old connector (Nexmark q13) are taken too: connector.type,
 * connector.path, format.type, format.field-delimiter, format.quote-character and
 * format.ignore-first-line.
 *
 * Source: the regular files under path (recursively; names starting with "." or "_" — in
 * progress, _SUCCESS — are left out), in order of modification time, then name. A record's
 * offset is its end's byte position counted over the files in that order, so a checkpoint names
 * a file and a byte in it: a SIGKILLed run resumes exactly there (exactly-once into a stream).
 * Files must not change once they are there, and a file that appears later must be newer than
 * those there before (write it elsewhere or under a hidden name, then rename it in): a newer
 * file found by the monitor that is older than the last one taken is not read. A malformed line
 * is a record with an error (stream_record.error) naming the file and line, which the engine
 * treats by the pipeline's error policy. Empty lines are skipped.
 *
 * Sink: see filesystem_sink.h. With the property "__root" (set by the control plane, see
 * stream_backend.tenant_files) path is relative to that directory and every file is opened
 * below it (fs_open_beneath): a symlink leading out of it is refused. */
#ifndef SLUICE_DATAPLANE_CONNECTORS_FILESYSTEM_H
#define SLUICE_DATAPLANE_CONNECTORS_FILESYSTEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/codec/csv.h"
#include "dataplane/stream.h"

extern const struct stream_backend filesystem_stream_backend;

enum fs_format { FS_JSON, FS_CSV };

/* A filesystem stream's options, loaded (fs_settings_load) and freed (fs_settings_free). */
struct fs_settings {
    char *path, *delimiter, *quote, *partition_by, *commit_policy, *success_name;
    int format; /* enum fs_format */
    bool header, no_quote;
    long monitor_ms; /* 0: bounded */
    int64_t roll_size;
    long roll_ms, inactivity_ms;
    struct csv_dialect dialect;
    struct schema schema; /* the stream's ("__schema"); nfields 0 when not given */
    int dirfd;            /* where path is: "__root" opened, or AT_FDCWD */
    char rel[1024];       /* path, relative to dirfd when rooted */
};

/* Loads props (legacy names taken) into s: 0, or -1 with err (s then freed). */
int fs_settings_load(struct fs_settings *s, const struct stream_property *props, int nprops, char *err, size_t errlen);
void fs_settings_free(struct fs_settings *s);

/* Opens path (a path as s->rel is: relative to s->dirfd when rooted, else as given) beneath
 * s->dirfd when rooted (fs_open_beneath), else plainly. flags as open(2); -1 with errno. */
int fs_open(const struct fs_settings *s, const char *path, int flags, int mode);

/* Whether s is rooted (a control-plane task: every path below "__root"). */
bool fs_rooted(const struct fs_settings *s);

#endif
