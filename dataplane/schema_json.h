/* schema_json.h — a stream schema from its JSON form, as the API stores it and task specs carry
 * it: {"fields":[{"name","type"}],"watermark"?:{"field","delay_ms"},"primary_key"?:["name",...]}.
 * A primary key makes the stream an upsert stream (see dataplane/log/log.h). */
#ifndef SLUICE_DATAPLANE_SCHEMA_JSON_H
#define SLUICE_DATAPLANE_SCHEMA_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "dataplane/value.h"

/* SQL type name ("BIGINT", "TIMESTAMP(3)", "varchar", ...; a parameter list is ignored) to its
 * value type. Returns 0, or -1 for an unknown name. */
int schema_type_from_name(const char *name, enum value_type *out);

/* Fills *s from js (borrowed). On success s owns its fields (free with schema_free_fields() of
 * dataplane/sql/sql.h). Returns 0, or -1 with a message naming the stream in err and *s
 * emptied. */
int schema_from_json(const json_t *js, struct schema *s, const char *stream, char *err, size_t errlen);

#endif
