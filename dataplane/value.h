/* value.h — the dataplane's typed values, rows and stream schemas (shared by sql/ and the
 * runtime). A row is an array of struct value laid out by a schema; strings point into memory
 * owned by whoever produced the row (an input buffer or a per-batch arena) and live as long as
 * the batch. */
#ifndef SLUICE_DATAPLANE_VALUE_H
#define SLUICE_DATAPLANE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SQL types. TIMESTAMP is TIMESTAMP(3): milliseconds since the Unix epoch, UTC. */
enum value_type {
    VT_NULL = 0, /* only as the type of the NULL literal; a value of any type may be null */
    VT_BOOLEAN,
    VT_BIGINT, /* INT, INTEGER, BIGINT, SMALLINT, TINYINT all map here */
    VT_DOUBLE, /* DOUBLE, FLOAT, REAL, DECIMAL (approximate, documented limit) */
    VT_STRING, /* STRING, VARCHAR, CHAR */
    VT_TIMESTAMP,
};

struct value {
    enum value_type type; /* VT_NULL when the value is null */
    union {
        bool b;
        int64_t i; /* VT_BIGINT, and VT_TIMESTAMP (epoch milliseconds) */
        double d;
        struct {
            const char *ptr; /* not NUL-terminated */
            uint32_t len;
        } s;
    } u;
};

struct field {
    char *name; /* owned by the schema */
    enum value_type type;
};

/* A stream's schema: ordered fields, plus an optional event-time watermark
 * (`WATERMARK FOR ts AS ts - INTERVAL 'n' SECOND`): rowtime_field is the index of the
 * TIMESTAMP field or -1, and watermark_delay_ms the bounded out-of-orderness. */
struct schema {
    struct field *fields; /* owned */
    int nfields;
    int rowtime_field;
    int64_t watermark_delay_ms;
};

#endif
