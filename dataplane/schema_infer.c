/* schema_infer.c — a schema proposed from sampled JSON records (see schema_infer.h). */
#include "dataplane/schema_infer.h"

#include <stdlib.h>
#include <string.h>

#include "dataplane/codec/timestamp.h"

#define SCHEMA_INFER_MAX_FIELDS 1000

/* What a field's samples say, from the least to the most general of numbers; the others meet
 * only themselves (else STRING). */
enum infer_type { INFER_NULL, INFER_BIGINT, INFER_DOUBLE, INFER_BOOLEAN, INFER_TIMESTAMP, INFER_STRING };

static const char *const infer_names[] = {
    [INFER_NULL] = "STRING",     [INFER_BIGINT] = "BIGINT",          [INFER_DOUBLE] = "DOUBLE",
    [INFER_BOOLEAN] = "BOOLEAN", [INFER_TIMESTAMP] = "TIMESTAMP(3)", [INFER_STRING] = "STRING",
};

struct infer_field {
    char *name;
    enum infer_type type;
};

struct schema_infer {
    struct infer_field *fields;
    size_t n, cap;
    size_t records, skipped;
};

struct schema_infer *schema_infer_new(void) { return calloc(1, sizeof(struct schema_infer)); }

void schema_infer_free(struct schema_infer *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->fields[i].name);
    free(s->fields);
    free(s);
}

static enum infer_type infer_value(json_t *v)
{
    int64_t ms;
    switch (json_typeof(v)) {
    case JSON_NULL:
        return INFER_NULL;
    case JSON_INTEGER:
        return INFER_BIGINT;
    case JSON_REAL:
        return INFER_DOUBLE;
    case JSON_TRUE:
    case JSON_FALSE:
        return INFER_BOOLEAN;
    case JSON_STRING:
        return timestamp_parse_text(json_string_value(v), json_string_length(v), TIMESTAMP_TEXT_FULL, &ms) == 0
                   ? INFER_TIMESTAMP
                   : INFER_STRING;
    default:
        return INFER_STRING; /* an object or array: its JSON text */
    }
}

/* The type that holds both a and b. */
static enum infer_type infer_meet(enum infer_type a, enum infer_type b)
{
    if (a == INFER_NULL || a == b)
        return b;
    if (b == INFER_NULL)
        return a;
    if ((a == INFER_BIGINT && b == INFER_DOUBLE) || (a == INFER_DOUBLE && b == INFER_BIGINT))
        return INFER_DOUBLE;
    return INFER_STRING;
}

static int infer_field_add(struct schema_infer *s, const char *name, enum infer_type t)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->fields[i].name, name) == 0) {
            s->fields[i].type = infer_meet(s->fields[i].type, t);
            return 0;
        }
    if (s->n == SCHEMA_INFER_MAX_FIELDS)
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct infer_field *grown = realloc(s->fields, cap * sizeof *grown);
        if (!grown)
            return -1;
        s->fields = grown;
        s->cap = cap;
    }
    if (!(s->fields[s->n].name = strdup(name)))
        return -1;
    s->fields[s->n++].type = t;
    return 0;
}

int schema_infer_add(struct schema_infer *s, const char *data, size_t len)
{
    json_t *o = json_loadb(data, len, JSON_DECODE_ANY, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        s->skipped++;
        return -1;
    }
    s->records++;
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(o, key, v)
    {
        if (infer_field_add(s, key, infer_value(v)) != 0)
            rc = -1;
    }
    json_decref(o);
    return rc;
}

json_t *schema_infer_json(const struct schema_infer *s)
{
    if (s->n == 0)
        return NULL;
    json_t *fields = json_array();
    for (size_t i = 0; fields && i < s->n; i++)
        json_array_append_new(
            fields, json_pack("{s:s,s:s}", "name", s->fields[i].name, "type", infer_names[s->fields[i].type]));
    return fields ? json_pack("{s:o}", "fields", fields) : NULL;
}

size_t schema_infer_records(const struct schema_infer *s) { return s->records; }
size_t schema_infer_skipped(const struct schema_infer *s) { return s->skipped; }
