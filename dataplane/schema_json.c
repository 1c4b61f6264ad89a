/* schema_json.c — stream schemas from JSON (see schema_json.h). */
#include "dataplane/schema_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataplane/sql/sql.h"

/* SQL type names, one row each (parameters like "(3)" are ignored). */
static const struct {
    const char *name;
    enum value_type type;
} schema_type_table[] = {
    {"BOOLEAN", VT_BOOLEAN},
    {"BIGINT", VT_BIGINT},
    {"INT", VT_BIGINT},
    {"INTEGER", VT_BIGINT},
    {"SMALLINT", VT_BIGINT},
    {"TINYINT", VT_BIGINT},
    {"DOUBLE", VT_DOUBLE},
    {"FLOAT", VT_DOUBLE},
    {"REAL", VT_DOUBLE},
    {"DECIMAL", VT_DECIMAL},
    {"STRING", VT_STRING},
    {"VARCHAR", VT_STRING},
    {"CHAR", VT_STRING},
    {"TIMESTAMP", VT_TIMESTAMP},
    {"DATE", VT_DATE},
    {"NUMERIC", VT_DECIMAL},
    {"TIMESTAMP_LTZ", VT_TIMESTAMP},
};

/* "(p, s)", "(p)" or nothing after DECIMAL: DECIMAL(p, s), default DECIMAL(10, 0) as Flink. */
static int schema_decimal_type(const char *args, enum value_type *out)
{
    int p = 10, s = 0, used = 0;
    while (*args == ' ')
        args++;
    if (*args && !(sscanf(args, "(%d , %d )%n", &p, &s, &used) == 2 && args[used] == '\0') &&
        !(used = 0, sscanf(args, "(%d )%n", &p, &used) == 1 && args[used] == '\0'))
        return -1;
    if (p < 1 || p > DECIMAL_MAX_PRECISION || s < 0 || s > p)
        return -1;
    *out = value_decimal_type(p, s);
    return 0;
}

int schema_type_from_name(const char *name, enum value_type *out)
{
    size_t n = strcspn(name, "( ");
    for (size_t i = 0; i < sizeof schema_type_table / sizeof schema_type_table[0]; i++)
        if (strlen(schema_type_table[i].name) == n && strncasecmp(schema_type_table[i].name, name, n) == 0) {
            if (schema_type_table[i].type == VT_DECIMAL)
                return schema_decimal_type(name + n, out);
            *out = schema_type_table[i].type;
            return 0;
        }
    return -1;
}

/* "primary_key": ["col", ...] (absent or null: none) into s->primary_key. */
static int schema_key_from_json(const json_t *key, struct schema *s, const char *stream, char *err, size_t errlen)
{
    if (!key || json_is_null(key))
        return 0;
    if (!json_is_array(key) || json_array_size(key) == 0 || json_array_size(key) > SCHEMA_MAX_KEY) {
        snprintf(err, errlen, "stream \"%s\": schema.primary_key must be an array of 1 to %d field names", stream,
                 SCHEMA_MAX_KEY);
        return -1;
    }
    size_t i;
    json_t *name;
    json_array_foreach(key, i, name)
    {
        int idx = -1;
        for (int f = 0; json_is_string(name) && f < s->nfields; f++)
            if (strcmp(s->fields[f].name, json_string_value(name)) == 0)
                idx = f;
        for (int k = 0; idx >= 0 && k < s->nprimary_key; k++)
            if (s->primary_key[k] == idx)
                idx = -2;
        if (idx < 0) {
            snprintf(err, errlen, "stream \"%s\": schema.primary_key[%zu] %s", stream, i,
                     idx == -2 ? "names a field twice" : "is not a field of the schema");
            return -1;
        }
        s->primary_key[s->nprimary_key++] = idx;
    }
    return 0;
}

int schema_from_json(const json_t *js, struct schema *s, const char *stream, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->rowtime_field = -1;
    json_t *fields = json_object_get(js, "fields");
    if (!json_is_array(fields) || json_array_size(fields) == 0) {
        snprintf(err, errlen, "stream \"%s\": schema.fields must be a non-empty array", stream);
        return -1;
    }
    if (!(s->fields = calloc(json_array_size(fields), sizeof *s->fields))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *type = json_string_value(json_object_get(f, "type"));
        if (!name || !type) {
            snprintf(err, errlen, "stream \"%s\": field %zu needs a name and a type", stream, i + 1);
            goto fail;
        }
        if (!(s->fields[i].name = strdup(name))) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        s->nfields++;
        if (schema_type_from_name(type, &s->fields[i].type) != 0) {
            snprintf(err, errlen, "stream \"%s\": field \"%s\" has an unknown type \"%s\"", stream, name, type);
            goto fail;
        }
    }
    json_t *wm = json_object_get(js, "watermark");
    if (wm && !json_is_null(wm)) {
        const char *field = json_string_value(json_object_get(wm, "field"));
        json_t *delay = json_object_get(wm, "delay_ms");
        for (int k = 0; field && k < s->nfields; k++)
            if (strcmp(s->fields[k].name, field) == 0 && s->fields[k].type == VT_TIMESTAMP)
                s->rowtime_field = k;
        if (s->rowtime_field < 0 || (delay && !json_is_integer(delay))) {
            snprintf(err, errlen, "stream \"%s\": watermark needs a TIMESTAMP field and an integer delay_ms", stream);
            goto fail;
        }
        s->watermark_delay_ms = delay ? json_integer_value(delay) : 0;
    }
    if (schema_key_from_json(json_object_get(js, "primary_key"), s, stream, err, errlen) != 0)
        goto fail;
    return 0;
fail:
    schema_free_fields(s);
    s->nprimary_key = 0;
    s->rowtime_field = -1;
    return -1;
}
