/* value.h — the dataplane's typed values, rows and stream schemas (shared by sql/ and the
 * runtime), and what every user of a value needs: ordering, equality, hashing and the text
 * forms of CAST(v AS STRING). A row is an array of struct value laid out by a schema; strings
 * point into memory owned by whoever produced the row (an input buffer or a per-batch arena)
 * and live as long as the batch. */
#ifndef SLUICE_DATAPLANE_VALUE_H
#define SLUICE_DATAPLANE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

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

/* What a row of a changelog means, as Flink's RowKind: an append-only stream carries only
 * ROW_INSERT; an updating one also retracts (ROW_UPDATE_BEFORE, ROW_DELETE) and replaces
 * (ROW_UPDATE_AFTER) rows it emitted before. The values are stable: they are stored. */
enum row_kind {
    ROW_INSERT = 0,        /* +I */
    ROW_UPDATE_BEFORE = 1, /* -U */
    ROW_UPDATE_AFTER = 2,  /* +U */
    ROW_DELETE = 3,        /* -D */
};
/* "+I", "-U", "+U" or "-D" (static). */
const char *row_kind_name(enum row_kind k);
/* Parses "+I", "-U", "+U", "-D" (exactly two bytes, as row_kind_name writes them). Returns 0, or -1. */
int row_kind_parse(const char *s, size_t len, enum row_kind *out);
/* 1 for ROW_INSERT and ROW_UPDATE_AFTER (the row is in the result after it), else 0. */
int row_kind_is_accumulate(enum row_kind k);

struct field {
    char *name; /* owned by the schema */
    enum value_type type;
};

#define SCHEMA_MAX_KEY 16 /* columns of a primary key at most */

/* A stream's schema: ordered fields, plus an optional event-time watermark
 * (`WATERMARK FOR ts AS ts - INTERVAL 'n' SECOND`): rowtime_field is the index of the
 * TIMESTAMP field or -1, and watermark_delay_ms the bounded out-of-orderness. */
struct schema {
    struct field *fields; /* owned */
    int nfields;
    int rowtime_field;
    int64_t watermark_delay_ms;
    /* PRIMARY KEY (...) NOT ENFORCED: field indexes, in key order; nprimary_key 0 for none (an
     * append-only stream). A keyed stream is an upsert stream (see dataplane/log/log.h). */
    int primary_key[SCHEMA_MAX_KEY];
    int nprimary_key;
};

/* Total order used by comparisons, MIN/MAX and grouping (both non-null, comparable types:
 * BIGINT and DOUBLE compare as numbers). Returns <0, 0 or >0. */
int value_compare(const struct value *a, const struct value *b);
/* 1 when a and b are equal (two NULLs are equal here, as grouping wants), else 0. */
int value_equal(const struct value *a, const struct value *b);
/* Hash of v mixed with seed; values that compare equal hash equal (a whole DOUBLE as a BIGINT). */
uint64_t value_hash(const struct value *v, uint64_t seed);

/* Name of a type as SQL shows it ("BIGINT", "TIMESTAMP(3)", ...). Static string. */
const char *value_type_name(enum value_type t);
/* Formats a DOUBLE the way CAST(d AS STRING) does: shortest text that reads back the same,
 * with ".0" on whole numbers ("9.08", "10.0", "1e+20"); buf at least 32 bytes. Returns the
 * length. */
size_t value_format_double(double d, char *buf);
/* Sets *out to the VT_STRING text of a non-null value as CAST(v AS STRING) writes it. A string
 * is returned as is and TRUE/FALSE are static; other texts are allocated from scratch (they
 * live as long as it). Returns 0, or -1 when scratch is NULL or out of memory. */
int value_to_string(const struct value *v, struct arena *scratch, struct value *out);

#endif
