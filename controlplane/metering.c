/* metering.c — per-minute usage rows, aggregated in memory and upserted in batches. */
#include "controlplane/metering.h"

#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

struct metering {
    json_t *rows; /* "tenant|kind|resource|minute" → row object */
};

struct metering *metering_new(void)
{
    struct metering *m = calloc(1, sizeof *m);
    if (m)
        m->rows = json_object();
    return m;
}

void metering_free(struct metering *m)
{
    if (!m)
        return;
    json_decref(m->rows);
    free(m);
}

static void add_int(json_t *row, const char *key, uint64_t v)
{
    json_t *cur = json_object_get(row, key);
    json_object_set_new(row, key, json_integer(json_integer_value(cur) + (json_int_t)v));
}

void metering_add(struct metering *m, const char *tenant_id, const char *kind, const char *resource_id, int64_t wall_ms,
                  const struct supervisor_metrics *delta, double task_seconds)
{
    long long minute = (long long)(wall_ms / 60000) * 60;
    char key[256];
    snprintf(key, sizeof key, "%s|%s|%s|%lld", tenant_id, kind, resource_id, minute);
    json_t *row = json_object_get(m->rows, key);
    if (!row) {
        row = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "tenant_id", tenant_id, "resource_kind",
                        kind, "resource_id", resource_id, "minute", (json_int_t)minute, "records_in", (json_int_t)0,
                        "records_out", (json_int_t)0, "bytes_in", (json_int_t)0, "bytes_out", (json_int_t)0, "errors",
                        (json_int_t)0, "task_seconds", 0.0);
        if (!row)
            return;
        json_object_set_new(m->rows, key, row);
    }
    if (delta) {
        add_int(row, "records_in", delta->records_in);
        add_int(row, "records_out", delta->records_out);
        add_int(row, "bytes_in", delta->bytes_in);
        add_int(row, "bytes_out", delta->bytes_out);
        add_int(row, "errors", delta->errors);
    }
    if (task_seconds > 0)
        json_object_set_new(row, "task_seconds",
                            json_real(json_real_value(json_object_get(row, "task_seconds")) + task_seconds));
}

int metering_flush(struct metering *m, PGconn *conn, struct db_error *err)
{
    if (json_object_size(m->rows) == 0)
        return 0;
    json_t *arr = json_array();
    for (void *it = json_object_iter(m->rows); it; it = json_object_iter_next(m->rows, it))
        json_array_append(arr, json_object_iter_value(it));
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (!text)
        return -1;
    const char *p[] = {text};
    int rc = db_exec(conn,
                     "INSERT INTO usage (tenant_id, resource_kind, resource_id, minute, records_in,"
                     "                   records_out, bytes_in, bytes_out, errors, task_seconds)"
                     " SELECT tenant_id, resource_kind, resource_id, to_timestamp(minute),"
                     "        records_in, records_out, bytes_in, bytes_out, errors, task_seconds"
                     "   FROM json_to_recordset($1::json) AS j(tenant_id uuid, resource_kind text,"
                     "        resource_id uuid, minute bigint, records_in bigint,"
                     "        records_out bigint, bytes_in bigint, bytes_out bigint, errors bigint,"
                     "        task_seconds double precision)"
                     " ON CONFLICT (tenant_id, resource_kind, resource_id, minute) DO UPDATE SET"
                     "   records_in = usage.records_in + EXCLUDED.records_in,"
                     "   records_out = usage.records_out + EXCLUDED.records_out,"
                     "   bytes_in = usage.bytes_in + EXCLUDED.bytes_in,"
                     "   bytes_out = usage.bytes_out + EXCLUDED.bytes_out,"
                     "   errors = usage.errors + EXCLUDED.errors,"
                     "   task_seconds = usage.task_seconds + EXCLUDED.task_seconds",
                     1, p, err);
    free(text);
    if (rc == 0)
        json_object_clear(m->rows);
    return rc;
}

size_t metering_pending(const struct metering *m) { return json_object_size(m->rows); }
