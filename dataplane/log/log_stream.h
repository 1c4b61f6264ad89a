/* log_stream.h — the embedded log as a stream backend: a stream is a directory, each partition
 * a numbered subdirectory (`0/`, `1/`, ...) holding segment files (see log.h).
 *
 * Properties (all optional): `segment.bytes`, `fsync.records`, `fsync.ms`, `retention.bytes`,
 * `retention.ms` — the fields of struct seglog_options. */
#ifndef SLUICE_DATAPLANE_LOG_LOG_STREAM_H
#define SLUICE_DATAPLANE_LOG_LOG_STREAM_H

#include "dataplane/log/log.h"
#include "dataplane/stream.h"

extern const struct stream_backend seglog_stream_backend;

/* Fills opt from props; a bad number is an error, keys that are no log option are left alone. */
int seglog_stream_options(const struct stream_property *props, int nprops, struct seglog_options *opt, char *err,
                          size_t errlen);

/* Bytes of stream data under root, a directory of streams (<root>/<stream>/<partition>/, as
 * <data-root>/tenants/<tenant>/streams): the sum of every partition's segment file sizes (see
 * seglog_partition_bytes()). A missing root holds 0 bytes. It lists every partition directory:
 * callers measure now and then, not per record. */
int seglog_streams_bytes(const char *root, uint64_t *bytes, char *err, size_t errlen);

#endif
