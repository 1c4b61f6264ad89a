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
    VT_DOUBLE, /* DOUBLE, FLOAT, REAL */
    VT_STRING, /* STRING, VARCHAR, CHAR */
    VT_TIMESTAMP,
    /* DECIMAL(p, s), exact: an unscaled 128-bit integer in u.dec, value = u.dec / 10^s. A type
     * value of this kind carries p and s (value_decimal_type()), in a field's type, an
     * expression's type and a value's type alike: compare with value_type_base() == VT_DECIMAL,
     * and equal DECIMAL types are equal enum values. */
    VT_DECIMAL,
    VT_DATE, /* days since 1970-01-01 in u.i */
    /* not a type: the largest encoded DECIMAL type, so that every type value is in range */
    VT_TYPE_ENCODED_MAX_ = VT_DECIMAL | 38 << 8 | 38 << 16,
};

/* DECIMAL's limits, as Flink's DecimalType (BIGINT is DECIMAL(19, 0) in arithmetic with one). */
#define DECIMAL_MAX_PRECISION 38
#define DECIMAL_BIGINT_PRECISION 19

/* An unscaled DECIMAL: 128-bit, aligned to 8 so that struct value stays 24 bytes. */
__extension__ typedef __int128 value_int128 __attribute__((aligned(8)));

/* DECIMAL(precision, scale) as a type value; 1 <= precision <= 38, 0 <= scale <= precision. */
static inline enum value_type value_decimal_type(int precision, int scale)
{
    return (enum value_type)(VT_DECIMAL | precision << 8 | scale << 16);
}
/* The kind of a type value (VT_DECIMAL for every DECIMAL(p, s)). */
static inline enum value_type value_type_base(enum value_type t) { return (enum value_type)(t & 0xff); }
static inline int value_is_decimal(enum value_type t) { return value_type_base(t) == VT_DECIMAL; }
static inline int value_decimal_precision(enum value_type t) { return (t >> 8) & 0xff; }
static inline int value_decimal_scale(enum value_type t) { return (t >> 16) & 0xff; }

struct value {
    enum value_type type; /* VT_NULL when the value is null */
    union {
        bool b;
        int64_t i; /* VT_BIGINT, and VT_TIMESTAMP (epoch milliseconds) */
        double d;
        value_int128 dec; /* VT_DECIMAL: unscaled */
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
    /* 1 + index of the processing-time attribute (a TIMESTAMP(3) column `p AS PROCTIME()` of
     * CREATE TABLE, or a SELECT list's PROCTIME()), 0 for none: the SQL plan fills it with the
     * wall clock as rows come, and windows over it close by the wall clock. */
    int proctime_column;
};

/* Total order used by comparisons, MIN/MAX and grouping (both non-null, comparable types:
 * BIGINT and DOUBLE compare as numbers). Returns <0, 0 or >0. */
int value_compare(const struct value *a, const struct value *b);
/* A numeric value (BIGINT, DOUBLE, DECIMAL, or any integer-held type) as a double. */
double value_as_double(const struct value *v);
/* 1 when a and b are equal (two NULLs are equal here, as grouping wants), else 0. */
int value_equal(const struct value *a, const struct value *b);
/* Hash of v mixed with seed; values that compare equal hash equal (a whole DOUBLE as a BIGINT). */
uint64_t value_hash(const struct value *v, uint64_t seed);

/* Name of a type as SQL shows it ("BIGINT", "TIMESTAMP(3)", "DECIMAL(10, 2)", ...). A static
 * string, or for DECIMAL one of a few per-thread buffers (valid until the 8th next call). */
const char *value_type_name(enum value_type t);

/* ---- DECIMAL ------------------------------------------------------------------------------*/
/* 10^n for 0 <= n <= 38. */
value_int128 value_pow10(int n);
/* 1 when |v| < 10^precision (v fits DECIMAL(precision, s)), else 0. */
int value_decimal_fits(value_int128 v, int precision);
/* v at scale `from` brought to scale `to` (dividing rounds half away from zero, as Java's
 * HALF_UP). Returns 0, or -1 when the result does not fit DECIMAL(precision, to). */
int value_decimal_rescale(value_int128 v, int from, int to, int precision, value_int128 *out);
/* Parses decimal text ("-12.345", "1e3", ".5", blanks around allowed) as DECIMAL(precision,
 * scale), rounding extra fraction digits half up. Returns 0, -1 when s is no number, or -2
 * when it does not fit the precision. */
int value_decimal_parse(const char *s, size_t len, int precision, int scale, value_int128 *out);
/* Writes v / 10^scale with exactly `scale` fraction digits ("5527674.276", "-0.50", "12") and a
 * NUL into buf (at least 42 bytes); returns the length. */
size_t value_format_decimal(value_int128 v, int scale, char *buf);
/* The DOUBLE nearest to v / 10^scale. */
double value_decimal_to_double(value_int128 v, int scale);
/* Writes a DATE (days since 1970-01-01) as "yyyy-MM-dd" and a NUL into buf (at least 16
 * bytes); returns the length. */
size_t value_format_date(int64_t days, char *buf);
/* Formats a DOUBLE the way CAST(d AS STRING) does: shortest text that reads back the same,
 * with ".0" on whole numbers ("9.08", "10.0", "1e+20"); buf at least 32 bytes. Returns the
 * length. */
size_t value_format_double(double d, char *buf);
/* Sets *out to the VT_STRING text of a non-null value as CAST(v AS STRING) writes it (a DECIMAL
 * with exactly its scale's digits, a DATE as "yyyy-MM-dd"). A string
 * is returned as is and TRUE/FALSE are static; other texts are allocated from scratch (they
 * live as long as it). Returns 0, or -1 when scratch is NULL or out of memory. */
int value_to_string(const struct value *v, struct arena *scratch, struct value *out);

#endif
