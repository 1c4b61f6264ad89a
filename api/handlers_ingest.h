/* handlers_ingest.h — HTTP ingest: clients POST events to an active connection of connector
 * "http", type "source", and they are appended to its stream's embedded log.
 *
 *   POST /v1/connections/{id}/events
 *     body {"events":[{...},...]} (Content-Type: application/json) or one JSON object a line
 *     (Content-Type: application/x-ndjson; blank lines are skipped). 1 to INGEST_MAX_EVENTS
 *     events, within the api's body limit. Every event is decoded against the stream's schema
 *     as a pipeline would (dataplane/codec/json_decode.h); all or nothing: one bad event and
 *     nothing is written, 422 invalid_events with details.errors (at most
 *     INGEST_MAX_ERROR_DETAILS of {"index" | "line", "field", "reason"}) and
 *     details.invalid_count. Otherwise every event is appended (its compact JSON text), the
 *     partitions fsynced, and the answer is 200
 *     {"accepted":N,"partitions":[{"partition","accepted","offsets":{"first","last"}}]}, plus
 *     "partition" and "offsets" at the top when one partition took them all.
 *   Partitioning: with the connection property "partition.key" naming a field, an event goes
 *     to partition hash(that field's value) mod the stream's partitions (FNV-1a of the string,
 *     or of the JSON text of any other value; absent = null); without it, a whole request
 *     goes to one partition, round robin over requests.
 *   Errors: 404 not_found (no such connection for this tenant), 409 wrong_connector, 409
 *     not_active (desired_state is not running), 415 unsupported_media_type, 400 invalid_json
 *     (application/json body that does not parse), 400 invalid_request (no "events" array,
 *     empty), 413 payload_too_large (over INGEST_MAX_EVENTS events), 503 unavailable with
 *     Retry-After when the partition's writer lock stays taken (a worker writing it), 507
 *     storage_quota_exceeded when the tenant's stream data and the batch would pass its
 *     plan's max_storage_bytes (api/tenant_storage.h; nothing is written).
 *   Usage: accepted records and bytes count as records_in / bytes_in of the connection. */
#ifndef SLUICE_API_HANDLERS_INGEST_H
#define SLUICE_API_HANDLERS_INGEST_H

#include "api/http.h"

#define INGEST_MAX_EVENTS 10000
#define INGEST_MAX_ERROR_DETAILS 20

int ingest_events(struct api_request *req, struct api_response *resp);

#endif
