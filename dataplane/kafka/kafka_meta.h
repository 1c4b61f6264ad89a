/* kafka_meta.h — Flink's Kafka metadata columns, `c TYPE METADATA [FROM 'key'] [VIRTUAL]`, as
 * far as our types go (there is no MAP type):
 *   headers         STRING        R/W  the record's headers as a JSON object text,
 *                                      {"name":"value",...}: a value that is UTF-8 text is a JSON
 *                                      string, any other bytes {"base64":"..."}, a null value
 *                                      null; of a name given twice, the last value. A sink
 *                                      writes such an object back (a string, or {"base64"}, or
 *                                      null; a number or boolean as its JSON text); SQL NULL or
 *                                      '{}': no headers.
 *   timestamp       TIMESTAMP(3)  R/W  the record's timestamp (NULL when it has none); a sink
 *                                      sets it (NULL: the producer's time)
 *   timestamp-type  STRING        R    NoTimestampType, CreateTime or LogAppendTime
 *   offset          BIGINT        R
 *   partition       BIGINT        R
 *   topic           STRING        R
 * The stream's schema ("__schema") names them: a field with "metadata": "key" (and "virtual":
 * true). A source fills each such column from the record (the value's own field of that name is
 * overridden); a sink takes every such column out of the value and writes the writable ones
 * (a read-only or VIRTUAL one is dropped).
 * A connection (through the API) maps them with options instead, since a stream's schema is
 * shared: 'metadata.FIELD' = 'key' makes the stream's field FIELD that metadata column
 * (kafka_meta_check: the field must exist with the key's type; a sink maps only the writable
 * headers and timestamp). */
#ifndef SLUICE_DATAPLANE_KAFKA_KAFKA_META_H
#define SLUICE_DATAPLANE_KAFKA_KAFKA_META_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/codec/json_encode.h"
#include "dataplane/stream.h"

/* "key TYPE" of each metadata key, NULL-terminated (stream_backend.metadata). */
extern const char *const kafka_meta_keys[];
/* The keys alone, NULL-terminated (the values of the option 'metadata.FIELD'). */
extern const char *const kafka_meta_names[];
#define KAFKA_META_OPTION "metadata." /* 'metadata.FIELD' = 'key' */

/* The metadata keys, each once: X(enum suffix, key, SQL type); both tables above and the enum
 * below are made from it. */
#define KAFKA_META_LIST(X)                                                                                             \
    X(HEADERS, "headers", "STRING")                                                                                    \
    X(TIMESTAMP, "timestamp", "TIMESTAMP(3)")                                                                          \
    X(TIMESTAMP_TYPE, "timestamp-type", "STRING")                                                                      \
    X(OFFSET, "offset", "BIGINT")                                                                                      \
    X(PARTITION, "partition", "BIGINT")                                                                                \
    X(TOPIC, "topic", "STRING")

enum kafka_meta_key {
#define KAFKA_META_ENUM(suffix, key, type) KAFKA_META_##suffix,
    KAFKA_META_LIST(KAFKA_META_ENUM)
#undef KAFKA_META_ENUM
};

struct kafka_meta_column {
    char *name; /* owned: the column */
    enum kafka_meta_key key;
    bool is_virtual;
};

/* A stream's metadata columns; n 0: none. */
struct kafka_meta {
    struct kafka_meta_column *columns; /* owned */
    int n;
};

/* The metadata columns of the "__schema" property (none without it) and of the options
 * 'metadata.FIELD' (a field the schema marks already is taken once). 0, or -1 with err naming
 * an unknown key. Release with kafka_meta_free. */
int kafka_meta_parse(const struct stream_property *props, int nprops, struct kafka_meta *m, char *err, size_t errlen);
void kafka_meta_free(struct kafka_meta *m);
/* Whether a sink with m writes anything besides the value and key (headers, a timestamp). */
bool kafka_meta_writes(const struct kafka_meta *m);
/* The options 'metadata.FIELD' against the "__schema" property (nothing to check without it):
 * a known key, a field the stream has, of the key's type, and on a sink (sink true) a writable
 * key. 0, or -1 with err and the option's key in option. */
int kafka_meta_check(const struct stream_property *props, int nprops, bool sink, char *option, size_t optlen, char *err,
                     size_t errlen);
/* The field of the "__schema" property (a JSON text) called name (a new reference), or NULL. */
json_t *kafka_schema_field(const struct stream_property *props, int nprops, const char *name);

/* Source: row[len] (a JSON object) with m's columns of message msg added at its end, into out
 * (emptied first). 0; 1 when row is no JSON object (a malformed record, for the engine's error
 * policy: kafka_meta_not_object says so); -1 with err when out of memory. */
extern const char kafka_meta_not_object[];
int kafka_meta_add(const struct kafka_meta *m, const rd_kafka_message_t *msg, const char *row, size_t len,
                   struct json_buf *out, char *err, size_t errlen);
/* Sink: row[len] (a JSON object, as the engine encodes rows) without m's columns into value
 * (emptied first); *headers the headers column's (new, owned by the caller; NULL: none) and
 * *timestamp the timestamp column's (0: none). 0, or -1 with err naming the column. */
int kafka_meta_split(const struct kafka_meta *m, const char *row, size_t len, struct json_buf *value,
                     rd_kafka_headers_t **headers, int64_t *timestamp, char *err, size_t errlen);

#endif
