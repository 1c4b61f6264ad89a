/* json_decode.h — the fast path from a JSON record to a row: scans one JSON object once, fills
 * only the fields the plan needs, and builds nothing for the rest.
 *
 * The whole input is validated as strictly as jansson does by default (RFC 8259 grammar, UTF-8,
 * no "\u0000", depth ≤ 2048 containers, integers within int64, finite reals); the top level
 * must be an object. One difference: a NUL byte outside a string is always an error here, where
 * jansson's json_loadb() lets some through. Duplicate keys: the last one wins, as in jansson. Field names match
 * exactly (case-sensitive). Typing, per schema field:
 *   BIGINT    a JSON integer (a real like 1.5 or 1e3 is an error)
 *   DOUBLE    any JSON number
 *   BOOLEAN   true / false
 *   STRING    a string; any other value (number, true, object, array) gives its JSON text
 *   TIMESTAMP a string as in timestamp_parse(), or an integer of epoch milliseconds (years
 *             0000 to 9999)
 * null or an absent field gives a null value (type VT_NULL). */
#ifndef SLUICE_DATAPLANE_CODEC_JSON_DECODE_H
#define SLUICE_DATAPLANE_CODEC_JSON_DECODE_H

#include <stddef.h>

#include "common/arena.h"
#include "dataplane/value.h"

#define JSON_DECODE_MAX_DEPTH 2048

struct json_decoder;

/* A decoder for rows of schema s (borrowed: it must outlive the decoder) that fills the fields
 * with needed[i] != 0 (needed NULL: all fields). Returns NULL on out of memory. */
struct json_decoder *json_decoder_new(const struct schema *s, const unsigned char *needed);
void json_decoder_free(struct json_decoder *d);

/* Decodes the object in buf[0..len) into row[0..nfields). String values point into buf, or into
 * arena a when they contain escapes, so the row lives as long as both. Returns 0, or -1 with a
 * reason (and byte position) in err[errlen]. */
int json_decode_row(const struct json_decoder *d, const char *buf, size_t len, struct value *row, struct arena *a,
                    char *err, size_t errlen);

#endif
