/* sink_options.h — what the sink connectors share: checking a sink's properties against its
 * table of options (one row per option: name or prefix, whether it is required, the values it
 * may take), so every sink rejects unknown or misspelt properties with the same kind of
 * message; and the partition count of a sink without partitions. */
#ifndef SLUICE_DATAPLANE_CONNECTORS_SINK_OPTIONS_H
#define SLUICE_DATAPLANE_CONNECTORS_SINK_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "dataplane/stream.h"

struct sink_option {
    const char *key; /* the property, or a prefix when prefix is true ("headers.") */
    bool prefix;
    bool required;             /* must be present and not empty */
    const char *const *values; /* NULL-terminated allowed values; NULL: any */
};

/* A whole-number option (also a row of the sink_option table): default, bounds, and where the
 * connector keeps it (offset into its own state; 0 when unused). */
struct sink_option_number {
    const char *key;
    long def, min, max;
    size_t offset;
};

/* A connector's option table as stream_backend.options hands it out: every option it takes,
 * and which of them are whole numbers (checked with sink_option_long). */
struct stream_option_table {
    const struct sink_option *options;
    size_t noptions;
    const struct sink_option_number *numbers;
    size_t nnumbers;
};

/* 0 when every property in props[nprops] matches a row of table[n], each required option is
 * set and each value is allowed; otherwise -1 with a message naming the connector, the
 * property and what it may be in err[errlen]. Keys starting with "__" (set by the worker, not
 * the user) are not checked. */
int sink_options_check(const char *connector, const struct sink_option *table, size_t n,
                       const struct stream_property *props, int nprops, char *err, size_t errlen);

/* The property key as a non-negative integer within [min, max], or def when absent; -1 with err
 * when it is not such a number. */
int sink_option_long(const char *connector, const struct stream_property *props, int nprops, const char *key, long def,
                     long min, long max, long *out, char *err, size_t errlen);

/* stream_backend.partitions for sinks without partitions (a table, an url): always 1. */
int sink_one_partition(const char *location, int create, const struct stream_property *props, int nprops, int *count,
                       char *err, size_t errlen);

#endif
