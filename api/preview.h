/* preview.h — POST /v1/preview: runs a SQL query over a stream's records for a few seconds and
 * returns its first output rows, without creating a pipeline.
 *
 *   POST /v1/preview {"sql", "limit"?: 1..1000 (10), "timeout_ms"?: 100..30000 (5000),
 *                     "start"?: "earliest" | "latest" ("latest")}
 *   200 {"schema":{"fields":[{"name","type"}]}, "rows":[{...}], "records_read": N,
 *        "truncated": bool, "skipped": N, "timed_out": bool, "first_error"?: "...",
 *        "error"?: "..."}
 *
 * sql is `SELECT ... FROM <stream> ...` or a whole `INSERT INTO <sink> SELECT ...` (the sink
 * need not exist; nothing is written to it). The plan is compiled against the caller's stream
 * schemas inside the tenant's transaction, which then ends: the database connection is idle
 * while the stream's partitions are read (from their first kept record with "earliest", from
 * their current end with "latest", then waiting for new records) until `limit` rows came out or
 * timeout_ms passed; then open windows are closed (plan_finish) so that windowed queries show
 * partial results. truncated is true when the limit stopped the preview. Records that cannot
 * be decoded or evaluated are skipped and counted (first_error says why the first one was).
 * The query runs in a worker child (dataplane/preview.h) started with sandbox_spawn as the
 * tenant's worker uid (when the api is root), with the smallest task's rlimits; the api only
 * relays its JSON lines, and kills it at timeout_ms (then timed_out is true and the answer holds
 * what it sent). error says the child failed or its rows passed 4 MiB. At most
 * PREVIEW_MAX_PER_TENANT previews per tenant and PREVIEW_MAX_RUNNING per process run at once:
 * more get 429 rate_limited.
 * Errors: 400 invalid_request (details.field) for a bad field, 422 invalid_sql (details.line,
 * details.column) for SQL that does not compile, an unknown stream included. */
#ifndef SLUICE_API_PREVIEW_H
#define SLUICE_API_PREVIEW_H

#include "api/http.h"

int preview_run(struct api_request *req, struct api_response *resp);

#endif
