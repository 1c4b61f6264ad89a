/* kafka_key.c — key and value of a Kafka record from a row and back (see kafka_key.h). */
#include "dataplane/kafka/kafka_key.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/schema_json.h"

void kafka_key_spec_free(struct kafka_key_spec *spec)
{
    for (int i = 0; i < spec->nfields; i++)
        free(spec->fields[i]);
    free(spec->fields);
    memset(spec, 0, sizeof *spec);
}

bool kafka_key_spec_active(const struct kafka_key_spec *spec) { return spec->nfields > 0 || spec->raw_value; }

static bool prop_is(const struct stream_property *props, int nprops, const char *key, const char *value)
{
    const char *v = stream_property_get(props, nprops, key);
    return v && strcmp(v, value) == 0;
}

int kafka_key_spec_parse(const struct stream_property *props, int nprops, struct kafka_key_spec *spec, char *err,
                         size_t errlen)
{
    memset(spec, 0, sizeof *spec);
    spec->raw_key = prop_is(props, nprops, "key.format", "raw");
    spec->except_key = prop_is(props, nprops, "value.fields-include", "EXCEPT_KEY");
    spec->raw_value = prop_is(props, nprops, "format", "raw");
    const char *list = stream_property_get(props, nprops, "key.fields");
    if (!list || !*list) {
        if (spec->except_key || stream_property_get(props, nprops, "key.format")) {
            snprintf(err, errlen, "'%s' needs 'key.fields'", spec->except_key ? "value.fields-include" : "key.format");
            return -1;
        }
        return 0;
    }
    for (const char *p = list; p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL) {
        size_t n = strcspn(p, ";");
        char **f = realloc(spec->fields, (size_t)(spec->nfields + 1) * sizeof *f);
        if (!f || !(f[spec->nfields] = strndup(p, n))) {
            spec->fields = f ? f : spec->fields;
            kafka_key_spec_free(spec);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        spec->fields = f;
        if (n == 0) {
            kafka_key_spec_free(spec);
            snprintf(err, errlen, "'key.fields' must name fields separated by ';', not \"%s\"", list);
            return -1;
        }
        spec->nfields++;
    }
    if (spec->raw_key && spec->nfields != 1) {
        snprintf(err, errlen, "'key.format' = 'raw' takes one key field, not %d", spec->nfields);
        kafka_key_spec_free(spec);
        return -1;
    }
    return 0;
}

/* v's text into out: a string without quotes, anything else as JSON. */
static int raw_text(json_t *v, struct json_buf *out)
{
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        if (json_buf_reserve(out, n) != 0)
            return -1;
        memcpy(out->data + out->len, json_string_value(v), n);
        out->len += n;
        return 0;
    }
    size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    if (json_buf_reserve(out, n) != 0)
        return -1;
    out->len += json_dumpb(v, out->data + out->len, n, JSON_COMPACT | JSON_ENCODE_ANY);
    return 0;
}

static int dump(json_t *v, struct json_buf *out)
{
    size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (json_buf_reserve(out, n) != 0)
        return -1;
    out->len += json_dumpb(v, out->data + out->len, n, JSON_COMPACT | JSON_PRESERVE_ORDER);
    return 0;
}

/* The key of row into key (json: an object of the key fields; raw: the field's text). */
static int split_key(const struct kafka_key_spec *spec, json_t *row, struct json_buf *key, char *err, size_t errlen)
{
    json_t *obj = spec->raw_key ? NULL : json_object();
    int rc = 0;
    for (int i = 0; i < spec->nfields && rc == 0; i++) {
        json_t *v = json_object_get(row, spec->fields[i]);
        if (!v) {
            snprintf(err, errlen, "key field \"%s\" is not in the row", spec->fields[i]);
            rc = -1;
        } else if (spec->raw_key) {
            rc = raw_text(v, key);
        } else {
            json_object_set(obj, spec->fields[i], v);
        }
    }
    if (rc == 0 && obj)
        rc = dump(obj, key);
    json_decref(obj);
    return rc;
}

int kafka_key_split(const struct kafka_key_spec *spec, const char *data, size_t len, struct json_buf *key,
                    bool *has_key, struct json_buf *value, char *err, size_t errlen)
{
    key->len = value->len = 0;
    *has_key = spec->nfields > 0;
    *err = '\0';
    json_t *row = json_loadb(data, len, JSON_DECODE_ANY, NULL);
    if (!json_is_object(row)) {
        json_decref(row);
        snprintf(err, errlen, "a row that is no JSON object: %.60s", data);
        return -1;
    }
    int rc = *has_key ? split_key(spec, row, key, err, errlen) : 0;
    if (rc == 0 && spec->raw_key && json_is_null(json_object_get(row, spec->fields[0])))
        *has_key = false; /* a raw key of SQL NULL: no key */
    if (rc == 0 && spec->except_key)
        for (int i = 0; i < spec->nfields; i++)
            json_object_del(row, spec->fields[i]);
    if (rc == 0 && spec->raw_value) {
        if (json_object_size(row) != 1) {
            snprintf(err, errlen, "format raw writes rows of one field, not %zu", json_object_size(row));
            rc = -1;
        } else {
            rc = raw_text(json_object_iter_value(json_object_iter(row)), value);
        }
    } else if (rc == 0) {
        rc = dump(row, value);
    }
    json_decref(row);
    if (rc != 0 && !*err)
        snprintf(err, errlen, "out of memory");
    return rc;
}

/* key.format raw: the key's text as {field: "text"} (null: no key), or NULL when it is no
 * UTF-8 text. */
static json_t *raw_key_object(const char *field, const char *key, size_t keylen)
{
    json_t *text = key ? json_stringn(key, keylen) : json_null();
    return text ? json_pack("{s:o}", field, text) : NULL;
}

int kafka_key_merge(const struct kafka_key_spec *spec, const char *key, size_t keylen, const char *value, size_t len,
                    struct json_buf *out, char *err, size_t errlen)
{
    out->len = 0;
    json_t *k = spec->raw_key ? raw_key_object(spec->fields[0], key, keylen)
                : key         ? json_loadb(key, keylen, 0, NULL)
                              : NULL;
    json_t *v = json_loadb(value, len, 0, NULL);
    int rc = -1;
    if (!json_is_object(v))
        snprintf(err, errlen, "a value that is no JSON object");
    else if (!json_is_object(k) && spec->raw_key)
        snprintf(err, errlen, "a key that is no UTF-8 text (key.format raw)");
    else if (!json_is_object(k))
        snprintf(err, errlen, "a key that is no JSON object (key.fields with key.format json)");
    else {
        for (int i = 0; i < spec->nfields; i++) {
            json_t *f = json_object_get(k, spec->fields[i]);
            if (f && !json_object_get(v, spec->fields[i]))
                json_object_set(v, spec->fields[i], f);
        }
        rc = dump(v, out);
        if (rc != 0)
            snprintf(err, errlen, "out of memory");
    }
    json_decref(k);
    json_decref(v);
    return rc;
}

int kafka_raw_row(const char *field, const char *data, size_t len, struct json_buf *out, char *err, size_t errlen)
{
    out->len = 0;
    json_t *row = json_object();
    json_t *v = json_stringn(data, len);
    int rc = -1;
    if (!v)
        snprintf(err, errlen, "format raw reads text: the record is no UTF-8 text");
    else if (json_object_set_new(row, field, v) != 0 || dump(row, out) != 0)
        snprintf(err, errlen, "out of memory");
    else
        rc = 0;
    json_decref(row);
    return rc;
}

/* The quoted option at the start of msg ("'key.format' needs ...") into option, else fallback. */
static void option_of_message(const char *msg, const char *fallback, char *option, size_t optlen)
{
    const char *end = msg[0] == '\'' ? strchr(msg + 1, '\'') : NULL;
    if (end)
        snprintf(option, optlen, "%.*s", (int)(end - msg - 1), msg + 1);
    else
        snprintf(option, optlen, "%s", fallback);
}

int kafka_key_check(const struct stream_property *props, int nprops, bool sink, char *option, size_t optlen, char *err,
                    size_t errlen)
{
    struct kafka_key_spec spec;
    if (kafka_key_spec_parse(props, nprops, &spec, err, errlen) != 0) {
        option_of_message(err, "key.fields", option, optlen);
        return -1;
    }
    const char *text = stream_property_get(props, nprops, "__schema");
    json_t *schema = text ? json_loads(text, 0, NULL) : NULL, *f;
    int rc = 0;
    for (int i = 0; schema && rc == 0 && i < spec.nfields; i++) {
        const char *type = NULL;
        size_t k;
        bool found = false;
        json_array_foreach(json_object_get(schema, "fields"), k, f)
        {
            const char *name = json_string_value(json_object_get(f, "name"));
            if (!found && name && strcmp(name, spec.fields[i]) == 0)
                found = true, type = json_string_value(json_object_get(f, "type"));
        }
        enum value_type vt;
        if (!found)
            rc = -1, snprintf(err, errlen, "'key.fields': the stream has no field \"%s\"", spec.fields[i]);
        else if (!sink && spec.raw_key &&
                 (!type || schema_type_from_name(type, &vt) != 0 || value_type_base(vt) != VT_STRING))
            rc = -1,
            snprintf(err, errlen, "'key.fields': a source reads a raw key into a STRING field, and \"%s\" is %s",
                     spec.fields[i], type ? type : "of no type");
    }
    if (rc != 0)
        snprintf(option, optlen, "key.fields");
    json_decref(schema);
    kafka_key_spec_free(&spec);
    return rc;
}
