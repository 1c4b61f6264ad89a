/* json_encode.h — rows to compact JSON lines, and a growable output buffer.
 *
 * Output: {"name":value,...} in schema order; nulls as null; TIMESTAMP as
 * "yyyy-MM-dd HH:mm:ss.SSS"; DOUBLE in the shortest form that parses back to the same double
 * (NaN and infinities, which JSON cannot carry, as null); strings escaped per RFC 8259 (bytes
 * ≥ 0x80 copied as they are: rows hold UTF-8). */
#ifndef SLUICE_DATAPLANE_CODEC_JSON_ENCODE_H
#define SLUICE_DATAPLANE_CODEC_JSON_ENCODE_H

#include <stddef.h>

#include "dataplane/value.h"

/* A growable byte buffer; zero-initialise it, release data with json_buf_free(). */
struct json_buf {
    char *data;
    size_t len, cap;
};

/* Makes room for extra more bytes; -1 on out of memory. */
int json_buf_reserve(struct json_buf *b, size_t extra);
void json_buf_free(struct json_buf *b);
/* Appends s[0..len) as a quoted, escaped JSON string. */
int json_buf_put_string(struct json_buf *b, const char *s, size_t len);
/* The same for bytes that may not be UTF-8: invalid bytes become U+FFFD. */
int json_buf_put_string_lossy(struct json_buf *b, const char *s, size_t len);
/* Length of the valid UTF-8 sequence at p (p[0] ≥ 0x80) before end, or 0 if it is invalid
 * (overlong, surrogate, above U+10FFFF, truncated). */
size_t json_utf8_sequence_length(const unsigned char *p, const unsigned char *end);
/* Appends a double in its shortest round-trip form (null for NaN/inf). */
int json_buf_put_double(struct json_buf *b, double d);
int json_buf_put_int(struct json_buf *b, long long v);

struct json_encoder;

/* An encoder for rows of schema s (borrowed; must outlive it). NULL on out of memory. */
struct json_encoder *json_encoder_new(const struct schema *s);
void json_encoder_free(struct json_encoder *e);
/* Appends the row as one JSON object (no newline) to out; -1 on out of memory. */
int json_encode_row(const struct json_encoder *e, const struct value *row, struct json_buf *out);

#endif
