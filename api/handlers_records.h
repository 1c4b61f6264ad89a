/* handlers_records.h — reading a stream's records back from its embedded log.
 *
 *   GET /v1/streams/{id}/records?limit=N&partition=P&offset=O
 *     the last N records (default 20, at most 1000) of partition P (default 0), or N records
 *     from offset O; {"items":[{"partition","offset","value"}],"start_offset","end_offset",
 *     "next_offset"}. value is the record's JSON (or its text when it is not JSON). */
#ifndef SLUICE_API_HANDLERS_RECORDS_H
#define SLUICE_API_HANDLERS_RECORDS_H

#include "api/http.h"

int records_list(struct api_request *req, struct api_response *resp);

#endif
