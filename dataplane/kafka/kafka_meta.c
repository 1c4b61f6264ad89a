/* kafka_meta.c — Kafka metadata columns (kafka_meta.h): read from a message into a row's JSON,
 * and taken out of a row's JSON into headers and a timestamp. */
#include "dataplane/kafka/kafka_meta.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/codec/timestamp.h"
#include "dataplane/schema_json.h"

const char *const kafka_meta_keys[] = {
#define KAFKA_META_KEY(suffix, key, type) [KAFKA_META_##suffix] = key " " type,
    KAFKA_META_LIST(KAFKA_META_KEY)
#undef KAFKA_META_KEY
        NULL,
};

const char *const kafka_meta_names[] = {
#define KAFKA_META_NAME(suffix, key, type) [KAFKA_META_##suffix] = key,
    KAFKA_META_LIST(KAFKA_META_NAME)
#undef KAFKA_META_NAME
        NULL,
};

const char kafka_meta_not_object[] = "a record must be a JSON object";

/* ---------------------------------------------------------------- the schema's columns */

/* The metadata key called name, or -1. */
static int kafka_meta_key_find(const char *name)
{
    for (int i = 0; kafka_meta_names[i]; i++)
        if (strcmp(kafka_meta_names[i], name) == 0)
            return i;
    return -1;
}

void kafka_meta_free(struct kafka_meta *m)
{
    for (int i = 0; i < m->n; i++)
        free(m->columns[i].name);
    free(m->columns);
    *m = (struct kafka_meta){0};
}

static bool kafka_meta_has(const struct kafka_meta *m, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->columns[i].name, name) == 0)
            return true;
    return false;
}

/* Column name of metadata key into m (room made by the caller). what names it in errors. */
static int kafka_meta_column_add(struct kafka_meta *m, const char *what, const char *name, const char *key,
                                 bool is_virtual, char *err, size_t errlen)
{
    int k = kafka_meta_key_find(key);
    if (k < 0) {
        snprintf(err, errlen, "%s: kafka has no metadata key '%s'", what, key);
        return -1;
    }
    struct kafka_meta_column *c = &m->columns[m->n++];
    *c = (struct kafka_meta_column){.name = strdup(name), .key = (enum kafka_meta_key)k, .is_virtual = is_virtual};
    if (!c->name) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

json_t *kafka_schema_field(const struct stream_property *props, int nprops, const char *name)
{
    const char *text = stream_property_get(props, nprops, "__schema");
    json_t *schema = text ? json_loads(text, 0, NULL) : NULL, *f, *found = NULL;
    size_t i;
    json_array_foreach(json_object_get(schema, "fields"), i, f)
    {
        const char *n = json_string_value(json_object_get(f, "name"));
        if (!found && n && strcmp(n, name) == 0)
            found = json_incref(f);
    }
    json_decref(schema);
    return found;
}

/* The columns the schema's fields mark ("metadata": key) into m. */
static int kafka_meta_parse_schema(json_t *fields, struct kafka_meta *m, char *err, size_t errlen)
{
    json_t *f;
    size_t i;
    json_array_foreach(fields, i, f)
    {
        const char *key = json_string_value(json_object_get(f, "metadata"));
        const char *name = json_string_value(json_object_get(f, "name"));
        char what[200];
        snprintf(what, sizeof what, "column \"%s\"", name ? name : "");
        if (key && name &&
            kafka_meta_column_add(m, what, name, key, json_is_true(json_object_get(f, "virtual")), err, errlen) != 0)
            return -1;
    }
    return 0;
}

int kafka_meta_parse(const struct stream_property *props, int nprops, struct kafka_meta *m, char *err, size_t errlen)
{
    *m = (struct kafka_meta){0};
    const char *text = stream_property_get(props, nprops, "__schema");
    json_t *schema = text ? json_loads(text, 0, NULL) : NULL;
    json_t *fields = json_object_get(schema, "fields");
    size_t room = json_array_size(fields) + (size_t)nprops;
    int rc = 0;
    if (room > 0 && !(m->columns = calloc(room, sizeof *m->columns)))
        rc = -1, snprintf(err, errlen, "out of memory");
    if (rc == 0)
        rc = kafka_meta_parse_schema(fields, m, err, errlen);
    size_t plen = strlen(KAFKA_META_OPTION);
    for (int i = 0; rc == 0 && i < nprops; i++) {
        const char *field = props[i].key + plen;
        if (strncmp(props[i].key, KAFKA_META_OPTION, plen) != 0 || !*field || kafka_meta_has(m, field))
            continue;
        char what[200];
        snprintf(what, sizeof what, "'%s'", props[i].key);
        rc = kafka_meta_column_add(m, what, field, props[i].value, false, err, errlen);
    }
    json_decref(schema);
    if (rc != 0)
        kafka_meta_free(m);
    return rc;
}

/* A sink writes these (the others are read-only). */
static bool kafka_meta_writable(enum kafka_meta_key k) { return k == KAFKA_META_HEADERS || k == KAFKA_META_TIMESTAMP; }

/* Option 'metadata.FIELD' = key against the stream's field: it exists, has the key's type, and a
 * sink writes the key. 0, or -1 with err. */
static int kafka_meta_check_one(const struct stream_property *props, int nprops, const struct stream_property *o,
                                bool sink, char *err, size_t errlen)
{
    const char *field = o->key + strlen(KAFKA_META_OPTION);
    int k = kafka_meta_key_find(o->value);
    if (k < 0) {
        char keys[200] = "";
        for (int i = 0; kafka_meta_names[i]; i++)
            snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s%s", i ? ", " : "", kafka_meta_names[i]);
        snprintf(err, errlen, "'%s': kafka has no metadata key '%s' (it has %s)", o->key, o->value, keys);
        return -1;
    }
    json_t *f = kafka_schema_field(props, nprops, field);
    const char *type = json_string_value(json_object_get(f, "type"));
    const char *want = strchr(kafka_meta_keys[k], ' ') + 1;
    enum value_type ft, wt;
    int rc = -1;
    if (!f)
        snprintf(err, errlen, "'%s': the stream has no field \"%s\"", o->key, field);
    else if (!type || schema_type_from_name(type, &ft) != 0 || schema_type_from_name(want, &wt) != 0 ||
             value_type_base(ft) != value_type_base(wt))
        snprintf(err, errlen, "'%s': metadata '%s' is %s, and field \"%s\" is %s", o->key, o->value, want, field,
                 type ? type : "of no type");
    else if (sink && !kafka_meta_writable((enum kafka_meta_key)k))
        snprintf(err, errlen, "'%s': metadata '%s' is read-only; a sink writes only 'headers' and 'timestamp'", o->key,
                 o->value);
    else
        rc = 0;
    json_decref(f);
    return rc;
}

int kafka_meta_check(const struct stream_property *props, int nprops, bool sink, char *option, size_t optlen, char *err,
                     size_t errlen)
{
    if (!stream_property_get(props, nprops, "__schema"))
        return 0;
    for (int i = 0; i < nprops; i++) {
        if (strncmp(props[i].key, KAFKA_META_OPTION, strlen(KAFKA_META_OPTION)) != 0)
            continue;
        if (kafka_meta_check_one(props, nprops, &props[i], sink, err, errlen) != 0) {
            snprintf(option, optlen, "%s", props[i].key);
            return -1;
        }
    }
    return 0;
}

bool kafka_meta_writes(const struct kafka_meta *m)
{
    for (int i = 0; i < m->n; i++)
        if (!m->columns[i].is_virtual &&
            (m->columns[i].key == KAFKA_META_HEADERS || m->columns[i].key == KAFKA_META_TIMESTAMP))
            return true;
    return false;
}

/* ---------------------------------------------------------------- source */

/* A header value as JSON: a string when it is UTF-8 text, else {"base64": "..."}; null. */
static json_t *kafka_meta_header_value(const void *value, size_t size)
{
    if (!value)
        return json_null();
    json_t *s = json_stringn(value, size); /* NULL: not UTF-8 */
    if (s)
        return s;
    char *b64 = malloc(4 * ((size + 2) / 3) + 1);
    if (!b64)
        return NULL;
    EVP_EncodeBlock((unsigned char *)b64, value, (int)size);
    json_t *o = json_pack("{s:s}", "base64", b64);
    free(b64);
    return o;
}

/* msg's headers as a JSON object's text, a JSON string, onto out. */
static int kafka_meta_put_headers(const rd_kafka_message_t *msg, struct json_buf *out)
{
    rd_kafka_headers_t *hdrs = NULL;
    json_t *o = json_object();
    const char *name;
    const void *value;
    size_t size;
    if (rd_kafka_message_headers(msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR)
        for (size_t i = 0; o && rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == 0; i++)
            json_object_set_new(o, name, kafka_meta_header_value(value, size));
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    int rc = text ? json_buf_put_string(out, text, strlen(text)) : -1;
    free(text);
    return rc;
}

/* text[len] onto out as it is. */
static int kafka_meta_put_raw(struct json_buf *out, const char *text, size_t len)
{
    if (json_buf_reserve(out, len) != 0)
        return -1;
    memcpy(out->data + out->len, text, len);
    out->len += len;
    return 0;
}

static int kafka_meta_put_text(struct json_buf *out, const char *text)
{
    return json_buf_put_string(out, text, strlen(text));
}

/* Column c's value for msg onto out. */
static int kafka_meta_put(const struct kafka_meta_column *c, const rd_kafka_message_t *msg, struct json_buf *out)
{
    rd_kafka_timestamp_type_t type;
    int64_t ts = rd_kafka_message_timestamp(msg, &type);
    char text[TIMESTAMP_TEXT_MAX];
    switch (c->key) {
    case KAFKA_META_HEADERS:
        return kafka_meta_put_headers(msg, out);
    case KAFKA_META_TIMESTAMP:
        if (ts < 0 || !timestamp_in_range(ts))
            return kafka_meta_put_raw(out, "null", 4);
        timestamp_format(ts, text);
        return kafka_meta_put_text(out, text);
    case KAFKA_META_TIMESTAMP_TYPE:
        return kafka_meta_put_text(out, type == RD_KAFKA_TIMESTAMP_CREATE_TIME       ? "CreateTime"
                                        : type == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ? "LogAppendTime"
                                                                                     : "NoTimestampType");
    case KAFKA_META_OFFSET:
        return json_buf_put_int(out, msg->offset);
    case KAFKA_META_PARTITION:
        return json_buf_put_int(out, msg->partition);
    case KAFKA_META_TOPIC:
        return kafka_meta_put_text(out, msg->rkt ? rd_kafka_topic_name(msg->rkt) : "");
    }
    return -1;
}

static const char *kafka_meta_skip_blank(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

int kafka_meta_add(const struct kafka_meta *m, const rd_kafka_message_t *msg, const char *row, size_t len,
                   struct json_buf *out, char *err, size_t errlen)
{
    out->len = 0;
    const char *start = kafka_meta_skip_blank(row, row + len), *close = row + len;
    while (close > start && (close[-1] == ' ' || close[-1] == '\t' || close[-1] == '\n' || close[-1] == '\r'))
        close--;
    if (close - start < 2 || *start != '{' || close[-1] != '}')
        return 1;
    close--; /* at the '}' */
    bool empty = kafka_meta_skip_blank(start + 1, close) == close;
    int rc = kafka_meta_put_raw(out, start, (size_t)(close - start));
    for (int i = 0; rc == 0 && i < m->n; i++) {
        rc = kafka_meta_put_raw(out, ",", empty && i == 0 ? 0 : 1);
        rc = rc ? rc : json_buf_put_string(out, m->columns[i].name, strlen(m->columns[i].name));
        rc = rc ? rc : kafka_meta_put_raw(out, ":", 1);
        rc = rc ? rc : kafka_meta_put(&m->columns[i], msg, out);
    }
    rc = rc ? rc : kafka_meta_put_raw(out, "}", 1);
    if (rc != 0)
        snprintf(err, errlen, "out of memory");
    return rc;
}

/* ---------------------------------------------------------------- sink */

/* The end of the JSON value at p (a member's name or value, before end), or NULL. */
static const char *kafka_meta_skip_value(const char *p, const char *end)
{
    int depth = 0;
    bool in_string = false;
    for (; p < end; p++) {
        char c = *p;
        if (in_string) {
            if (c == '\\')
                p++;
            else if (c == '"' && (in_string = false, depth == 0))
                return p + 1;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return p;
            if (--depth == 0)
                return p + 1;
        } else if (depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
            return p;
        }
    }
    return depth == 0 && !in_string ? p : NULL;
}

/* The metadata column of m named by the quoted name[len] (quotes included), or NULL. */
static const struct kafka_meta_column *kafka_meta_column_find(const struct kafka_meta *m, const char *name, size_t len)
{
    for (int i = 0; len >= 2 && i < m->n; i++)
        if (strlen(m->columns[i].name) == len - 2 && memcmp(m->columns[i].name, name + 1, len - 2) == 0)
            return &m->columns[i];
    return NULL;
}

/* A header from v, a JSON string, {"base64": "..."}, null, or another scalar as its text. */
static int kafka_meta_header_add(rd_kafka_headers_t *hdrs, const char *name, json_t *v)
{
    if (json_is_null(v))
        return rd_kafka_header_add(hdrs, name, -1, NULL, 0) ? -1 : 0;
    if (json_is_string(v))
        return rd_kafka_header_add(hdrs, name, -1, json_string_value(v), (ssize_t)json_string_length(v)) ? -1 : 0;
    const char *b64 = json_string_value(json_object_get(v, "base64"));
    if (b64 && json_object_size(v) == 1) {
        size_t n = strlen(b64);
        unsigned char *bytes = malloc(n / 4 * 3 + 3);
        int got = bytes && n % 4 == 0 ? EVP_DecodeBlock(bytes, (const unsigned char *)b64, (int)n) : -1;
        for (size_t i = n; got > 0 && i > 0 && b64[i - 1] == '='; i--)
            got--; /* EVP_DecodeBlock counts the padding */
        int rc = got >= 0 ? (rd_kafka_header_add(hdrs, name, -1, bytes, got) ? -1 : 0) : -1;
        free(bytes);
        return rc;
    }
    if (json_is_object(v) || json_is_array(v))
        return -1;
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    int rc = text ? (rd_kafka_header_add(hdrs, name, -1, text, -1) ? -1 : 0) : -1;
    free(text);
    return rc;
}

/* The headers column's value v[len] (a JSON string holding a JSON object, or null) into
 * *headers (NULL for null). 0, or -1 with err. */
static int kafka_meta_headers(const char *column, const char *v, size_t len, rd_kafka_headers_t **headers, char *err,
                              size_t errlen)
{
    json_t *s = json_loadb(v, len, JSON_DECODE_ANY, NULL);
    json_t *o = json_is_string(s) ? json_loadb(json_string_value(s), json_string_length(s), 0, NULL) : NULL;
    int rc = json_is_null(s) ? 0 : -1;
    if (json_is_object(o)) {
        const char *name;
        json_t *hv;
        *headers = rd_kafka_headers_new(json_object_size(o));
        rc = 0;
        json_object_foreach(o, name, hv) if (rc == 0 && kafka_meta_header_add(*headers, name, hv) != 0)
        {
            snprintf(err, errlen,
                     "column \"%s\": header \"%s\" must be a string, {\"base64\": \"...\"}, null, a number or a "
                     "boolean",
                     column, name);
            rc = -1;
        }
    } else if (rc != 0) {
        snprintf(err, errlen, "column \"%s\": the headers must be a JSON object {\"name\": \"value\", ...}, not %.60s",
                 column, json_is_string(s) ? json_string_value(s) : v);
    }
    json_decref(o);
    json_decref(s);
    return rc;
}

/* The timestamp column's value v[len] (a JSON string, or null) into *ms (0 for null). */
static int kafka_meta_timestamp(const char *column, const char *v, size_t len, int64_t *ms, char *err, size_t errlen)
{
    *ms = 0;
    if (len == 4 && memcmp(v, "null", 4) == 0)
        return 0;
    if (len >= 2 && v[0] == '"' && timestamp_parse(v + 1, len - 2, ms) == 0)
        return 0;
    snprintf(err, errlen, "column \"%s\": not a timestamp: %.*s", column, (int)(len < 60 ? len : 60), v);
    return -1;
}

/* Member name[nlen]: value[vlen] of a row: copied into value, or taken by its column. */
static int kafka_meta_member(const struct kafka_meta *m, const char *name, size_t nlen, const char *v, size_t vlen,
                             struct json_buf *value, rd_kafka_headers_t **headers, int64_t *timestamp, char *err,
                             size_t errlen)
{
    const struct kafka_meta_column *c = kafka_meta_column_find(m, name, nlen);
    if (!c) {
        int rc = kafka_meta_put_raw(value, ",", value->len > 1 ? 1 : 0);
        rc = rc ? rc : kafka_meta_put_raw(value, name, (size_t)(v - name));
        rc = rc ? rc : kafka_meta_put_raw(value, v, vlen);
        if (rc != 0)
            snprintf(err, errlen, "out of memory");
        return rc;
    }
    if (c->is_virtual)
        return 0;
    if (c->key == KAFKA_META_HEADERS && !*headers)
        return kafka_meta_headers(c->name, v, vlen, headers, err, errlen);
    if (c->key == KAFKA_META_TIMESTAMP)
        return kafka_meta_timestamp(c->name, v, vlen, timestamp, err, errlen);
    return 0; /* read-only: dropped */
}

int kafka_meta_split(const struct kafka_meta *m, const char *row, size_t len, struct json_buf *value,
                     rd_kafka_headers_t **headers, int64_t *timestamp, char *err, size_t errlen)
{
    const char *p = kafka_meta_skip_blank(row, row + len), *end = row + len;
    *headers = NULL;
    *timestamp = 0;
    value->len = 0;
    *err = '\0';
    int rc = p < end && *p == '{' ? kafka_meta_put_raw(value, "{", 1) : -1;
    p = kafka_meta_skip_blank(p + 1, end);
    while (rc == 0 && p < end && *p != '}') {
        const char *name = p, *name_end = *p == '"' ? kafka_meta_skip_value(p, end) : NULL;
        const char *colon = name_end ? kafka_meta_skip_blank(name_end, end) : NULL;
        const char *v = colon && colon < end && *colon == ':' ? kafka_meta_skip_blank(colon + 1, end) : NULL;
        const char *v_end = v ? kafka_meta_skip_value(v, end) : NULL;
        if (!v_end || v_end == v) {
            rc = -1;
            break;
        }
        rc = kafka_meta_member(m, name, (size_t)(name_end - name), v, (size_t)(v_end - v), value, headers, timestamp,
                               err, errlen);
        p = kafka_meta_skip_blank(v_end, end);
        if (p < end && *p == ',')
            p = kafka_meta_skip_blank(p + 1, end);
    }
    if (rc == 0 && (p >= end || *p != '}'))
        rc = -1;
    if (rc == 0)
        rc = kafka_meta_put_raw(value, "}", 1);
    else if (!*err)
        snprintf(err, errlen, "a row that is no JSON object: %.60s", row);
    if (rc != 0 && *headers) {
        rd_kafka_headers_destroy(*headers);
        *headers = NULL;
    }
    return rc;
}
