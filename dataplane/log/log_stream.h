/* log_stream.h — the embedded log as a stream backend: a stream is a directory, each partition
 * a numbered subdirectory (`0/`, `1/`, ...) holding segment files (see log.h).
 *
 * Properties (all optional): `segment.bytes`, `fsync.records`, `fsync.ms`, `retention.bytes`,
 * `retention.ms` — the fields of struct log_options. */
#ifndef SLUICE_DATAPLANE_LOG_LOG_STREAM_H
#define SLUICE_DATAPLANE_LOG_LOG_STREAM_H

#include "dataplane/log/log.h"
#include "dataplane/stream.h"

extern const struct stream_backend log_stream_backend;

/* Fills opt from props; an unknown key or a bad number is an error. */
int log_stream_options(const struct stream_property *props, int nprops, struct log_options *opt, char *err,
                       size_t errlen);

#endif
