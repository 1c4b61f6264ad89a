/* schema_infer.h — proposes a stream schema from sampled records (JSON objects), for a source
 * connection checked with a sample (dataplane/connection_check.h):
 *
 *   JSON integer -> BIGINT, number with a fraction or exponent -> DOUBLE (an integer field that
 *   also holds such numbers too), true/false -> BOOLEAN, a string that parses as a timestamp
 *   ("2026-01-01 00:00:00", ISO 8601 with 'T' and a zone) -> TIMESTAMP(3), any other string,
 *   an object or an array -> STRING (nested values are kept as their JSON text), a field whose
 *   samples disagree otherwise -> STRING; a field only ever null -> STRING.
 *
 * Fields come in the order they first appear. A record that is not a JSON object is counted and
 * skipped. */
#ifndef SLUICE_DATAPLANE_SCHEMA_INFER_H
#define SLUICE_DATAPLANE_SCHEMA_INFER_H

#include <jansson.h>
#include <stddef.h>

struct schema_infer; /* what the samples so far say */

struct schema_infer *schema_infer_new(void);    /* NULL: out of memory */
void schema_infer_free(struct schema_infer *s); /* NULL is a no-op */
/* Adds one record (its bytes). Returns 0, or -1 when it is not a JSON object (skipped). */
int schema_infer_add(struct schema_infer *s, const char *data, size_t len);
/* The proposal as a stream's schema: {"fields":[{"name","type"},...]} (a new reference), or
 * NULL when no record was an object with a field. */
json_t *schema_infer_json(const struct schema_infer *s);
/* Records added that were objects, and that were not. */
size_t schema_infer_records(const struct schema_infer *s);
size_t schema_infer_skipped(const struct schema_infer *s);

#endif
