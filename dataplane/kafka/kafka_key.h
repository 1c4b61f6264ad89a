/* kafka_key.h — a Kafka record's key and value from a row and back, as Flink's Kafka connector
 * lays them out:
 *   key.fields            the row's fields that make the key, separated by ';' (none: no key)
 *   key.format            json (default): the key is a JSON object of those fields; raw: the
 *                         key is the one key field's value as text (a string without quotes)
 *   value.fields-include  ALL (default): the value holds every field; EXCEPT_KEY: all but the
 *                         key fields
 *   format = raw          the value is the row's one field as text (a sink); a source makes
 *                         each record's bytes (UTF-8 text) the stream's one column
 * A sink splits each row (a JSON object) into key and value; a source with key.fields merges
 * the key's fields into the value's object (key.format json), or the key's text into the one
 * key field (key.format raw: a STRING field; null when a record has no key); the value's own
 * fields win. */
#ifndef SLUICE_DATAPLANE_KAFKA_KAFKA_KEY_H
#define SLUICE_DATAPLANE_KAFKA_KAFKA_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include "dataplane/codec/json_encode.h"
#include "dataplane/stream.h"

struct kafka_key_spec {
    char **fields; /* owned */
    int nfields;
    bool raw_key, except_key, raw_value;
};

/* The spec from props (zeroed when there is nothing to do: no key fields, value json). 0, or
 * -1 with err naming the option. Release with kafka_key_spec_free. */
int kafka_key_spec_parse(const struct stream_property *props, int nprops, struct kafka_key_spec *spec, char *err,
                         size_t errlen);
void kafka_key_spec_free(struct kafka_key_spec *spec);
/* Whether spec changes anything (a key, a trimmed or raw value). */
bool kafka_key_spec_active(const struct kafka_key_spec *spec);
/* Row data[len] (a JSON object) into key (len 0 with *has_key false when no key.fields, or when
 * the raw key's field is null) and value. 0, or -1 with err naming the field that is missing or the row that is no
 * object. */
int kafka_key_split(const struct kafka_key_spec *spec, const char *data, size_t len, struct json_buf *key,
                    bool *has_key, struct json_buf *value, char *err, size_t errlen);
/* Source side: value (a JSON object) with the key's fields (a JSON object) added into out. */
int kafka_key_merge(const struct kafka_key_spec *spec, const char *key, size_t keylen, const char *value, size_t len,
                    struct json_buf *out, char *err, size_t errlen);

/* The key options against the stream's schema (the property "__schema"; nothing to check
 * without it): well formed, every key field in the stream, a source's raw key field a STRING
 * (sink false). 0, or -1 with err and the option at fault in option. */
int kafka_key_check(const struct stream_property *props, int nprops, bool sink, char *option, size_t optlen, char *err,
                    size_t errlen);

/* Source, format raw: the row {field: data[len] as a string} into out; -1 when data is no
 * UTF-8 text. */
int kafka_raw_row(const char *field, const char *data, size_t len, struct json_buf *out, char *err, size_t errlen);

#endif
