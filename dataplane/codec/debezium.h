/* debezium.h — the debezium-json format (Flink's 'format' = 'debezium-json'): a change event
 * {"before": row|null, "after": row|null, "op": "c"|"r"|"u"|"d", ...} to and from rows with
 * their kinds (value.h). Decoding, as Flink's DebeziumJsonDeserializationSchema: c (create) and
 * r (snapshot read) give +I of after; u gives -U of before (when the event has it) and +U of
 * after; d gives -D of before. An event wrapped as {"schema":..., "payload":{...}} (Kafka
 * Connect's schemas.enable) is unwrapped. A null or empty message (the tombstone Debezium
 * writes after a delete) gives no row. Encoding, as Flink's serializer: +I and +U become
 * {"before":null,"after":row,"op":"c"}, -U and -D {"before":row,"after":null,"op":"d"}. */
#ifndef SLUICE_DATAPLANE_CODEC_DEBEZIUM_H
#define SLUICE_DATAPLANE_CODEC_DEBEZIUM_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/codec/json_encode.h"
#include "dataplane/value.h"

/* One row of a decoded event: its kind and its JSON object text (malloc'ed, owned by the
 * caller: free(text)). */
struct debezium_row {
    enum row_kind kind;
    char *text;
    size_t len;
};

/* Decodes the event data[0..len) into rows[0..2); returns their count (0, 1 or 2), or -1 with
 * the reason in err (not JSON, no op, an unknown op, a missing before/after). */
int debezium_decode(const char *data, size_t len, struct debezium_row rows[2], char *err, size_t errlen);

/* Appends the event of row[0..len) (a JSON object) with its kind to out. -1 on out of memory. */
int debezium_encode(enum row_kind kind, const char *row, size_t len, struct json_buf *out);

#endif
