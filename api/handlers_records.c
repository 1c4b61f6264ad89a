/* handlers_records.c — GET /v1/streams/{id}/records: a stream's records from its embedded log
 * under <data-root>/tenants/<tenant>/streams/<stream>/<partition>/, each with its row kind as
 * "op" ("+I", "-U", "+U", "-D"; an upsert stream's delete is a "-D" with the deleted row). */
#include "api/handlers_records.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/query_args.h"
#include "dataplane/log/log.h"

int records_list(struct api_request *req, struct api_response *resp)
{
    const char *id = req->params.values[0];
    if (!api_is_uuid(id))
        return api_fail(resp, API_NOT_FOUND, NULL, "stream %s not found", id);
    long limit, partition, offset;
    if (query_args_long(req, resp, "limit", 20, 1, 1000, &limit) != 0 ||
        query_args_long(req, resp, "partition", 0, 0, 4095, &partition) != 0 ||
        query_args_long(req, resp, "offset", -1, 0, 0x7fffffffffffffffL, &offset) != 0)
        return -1;
    const char *p[] = {id};
    struct db_error dberr;
    PGresult *r = db_query(req->db, "SELECT partitions FROM streams WHERE id = $1", 1, p, &dberr);
    if (!r)
        return api_fail_db(resp, &dberr);
    int found = PQntuples(r) == 1, partitions = found ? atoi(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    if (!found)
        return api_fail(resp, API_NOT_FOUND, NULL, "stream %s not found", id);
    if (partition >= partitions)
        return api_fail_field(resp, API_INVALID_REQUEST, "partition", "the stream has %d partition%s", partitions,
                              partitions == 1 ? "" : "s");
    char dir[2048], err[256];
    snprintf(dir, sizeof dir, "%s/tenants/%s/streams/%s/%ld",
             req->settings->data_root ? req->settings->data_root : "var/data", req->caller.tenant_id, id, partition);
    uint64_t end = 0;
    json_t *items = json_array();
    if (seglog_partition_end_offset(dir, &end, err, sizeof err) != 0) {
        /* Nothing written yet. */
        return api_reply(resp, 200,
                         json_pack("{s:o, s:I, s:I, s:I}", "items", items, "start_offset", (json_int_t)0, "end_offset",
                                   (json_int_t)0, "next_offset", (json_int_t)0));
    }
    uint64_t start = offset >= 0 ? (uint64_t)offset : (end > (uint64_t)limit ? end - (uint64_t)limit : 0);
    if (start > end)
        start = end;
    struct seglog_reader *reader = NULL;
    if (start < end && seglog_reader_open(dir, start, &reader, err, sizeof err) != 0) {
        json_decref(items);
        return api_fail_field(resp, API_INVALID_REQUEST, "offset", "cannot read from offset %llu: %s",
                              (unsigned long long)start, err);
    }
    uint64_t next = start;
    while (reader && (long)json_array_size(items) < limit) {
        struct stream_record recs[64];
        int want = (int)(limit - (long)json_array_size(items));
        int n = seglog_reader_read(reader, recs, want < 64 ? want : 64, err, sizeof err);
        if (n <= 0)
            break;
        for (int i = 0; i < n; i++) {
            json_t *v = json_loadb(recs[i].data, recs[i].len, JSON_DECODE_ANY, NULL);
            if (!v)
                v = json_stringn_nocheck(recs[i].data, recs[i].len);
            json_array_append_new(items, json_pack("{s:i, s:I, s:s, s:o}", "partition", (int)partition, "offset",
                                                   (json_int_t)recs[i].offset, "op", row_kind_name(recs[i].kind),
                                                   "value", v ? v : json_null()));
            next = recs[i].offset + 1;
        }
    }
    seglog_reader_close(reader);
    return api_reply(resp, 200,
                     json_pack("{s:o, s:I, s:I, s:I}", "items", items, "start_offset", (json_int_t)start, "end_offset",
                               (json_int_t)end, "next_offset", (json_int_t)next));
}
