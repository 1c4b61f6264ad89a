/* debezium.c — the debezium-json change event format (see debezium.h). */
#include "dataplane/codec/debezium.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The row object js as compact JSON text into *row. 0, or -1 when js is not an object. */
static int row_text(json_t *js, enum row_kind kind, struct debezium_row *row, const char *which, char *err,
                    size_t errlen)
{
    if (!json_is_object(js)) {
        snprintf(err, errlen, "debezium-json event has no \"%s\" row for its op", which);
        return -1;
    }
    row->kind = kind;
    row->text = json_dumps(js, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!row->text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    row->len = strlen(row->text);
    return 0;
}

int debezium_decode(const char *data, size_t len, struct debezium_row rows[2], char *err, size_t errlen)
{
    if (len == 0)
        return 0; /* a tombstone */
    json_error_t je;
    json_t *js = json_loadb(data, len, 0, &je);
    if (!js) {
        snprintf(err, errlen, "debezium-json event is not JSON: %s", je.text);
        return -1;
    }
    json_t *ev = js, *payload = json_object_get(js, "payload");
    if (!json_object_get(js, "op") && json_is_object(payload))
        ev = payload;
    const char *op = json_string_value(json_object_get(ev, "op"));
    json_t *before = json_object_get(ev, "before"), *after = json_object_get(ev, "after");
    int n = -1;
    if (!op)
        snprintf(err, errlen, "debezium-json event has no \"op\"");
    else if (strcmp(op, "c") == 0 || strcmp(op, "r") == 0)
        n = row_text(after, ROW_INSERT, &rows[0], "after", err, errlen) == 0 ? 1 : -1;
    else if (strcmp(op, "d") == 0)
        n = row_text(before, ROW_DELETE, &rows[0], "before", err, errlen) == 0 ? 1 : -1;
    else if (strcmp(op, "u") == 0) {
        n = 0;
        if (json_is_object(before)) /* absent without REPLICA IDENTITY FULL: then +U alone */
            n = row_text(before, ROW_UPDATE_BEFORE, &rows[n], "before", err, errlen) == 0 ? 1 : -1;
        if (n >= 0 && row_text(after, ROW_UPDATE_AFTER, &rows[n], "after", err, errlen) == 0)
            n++;
        else if (n == 1) {
            free(rows[0].text);
            n = -1;
        } else
            n = -1;
    } else
        snprintf(err, errlen, "debezium-json event has an unknown op \"%.16s\" (c, r, u or d)", op);
    json_decref(js);
    return n;
}

static int put(struct json_buf *out, const char *s, size_t n)
{
    if (json_buf_reserve(out, n) != 0)
        return -1;
    memcpy(out->data + out->len, s, n);
    out->len += n;
    return 0;
}

int debezium_encode(enum row_kind kind, const char *row, size_t len, struct json_buf *out)
{
    if (row_kind_is_accumulate(kind))
        return put(out, "{\"before\":null,\"after\":", 23) || put(out, row, len) || put(out, ",\"op\":\"c\"}", 10);
    return put(out, "{\"before\":", 10) || put(out, row, len) || put(out, ",\"after\":null,\"op\":\"d\"}", 23);
}
