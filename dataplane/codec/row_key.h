/* row_key.h — the primary key of a JSON row (an upsert stream's, struct schema's primary_key)
 * as bytes: equal keys give equal bytes, different keys different bytes. The embedded log
 * compacts by these bytes. */
#ifndef SLUICE_DATAPLANE_CODEC_ROW_KEY_H
#define SLUICE_DATAPLANE_CODEC_ROW_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/value.h"

struct row_key;

/* A key extractor for rows of schema s (copied), which must have a primary key. Returns NULL
 * on out of memory. Free with row_key_free() (NULL is a no-op). */
struct row_key *row_key_new(const struct schema *s);
void row_key_free(struct row_key *k);

/* The key of the JSON row[0..len) into out[0..cap), its length in *out_len. Returns 0, or -1
 * when the row is not a JSON object of the schema or the key does not fit. */
int row_key_of(struct row_key *k, const char *row, uint32_t len, char *out, size_t cap, size_t *out_len);

/* The key of a decoded row (fields laid out by the schema) the same way. */
int row_key_of_values(const struct schema *s, const struct value *row, char *out, size_t cap, size_t *out_len);

#endif
