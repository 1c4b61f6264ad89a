/* connection_check.h — POST /v1/connections/{id}/check: connects with the connection's options
 * and secrets as its task would, reads and writes nothing, and says what it found:
 *
 *   200 {"reachable": bool, "authenticated": bool, "target_present": bool, "error"?: "..."}
 *
 * With ?sample=N (1-1000), a reachable source's first N records are read in the same child and
 * a schema proposed from them: "sampled": n, "proposed_schema": {"fields": [...]} (JSON types as
 * SQL types, see dataplane/schema_infer.h), or "sample_error" (a connector that cannot be
 * sampled without taking records from its task, a read that failed).
 *
 * target_present: the topic, queue, stream or table exists (an MQTT topic and a webhook's
 * endpoint exist once reachable). The check runs in a worker child of kind "check"
 * (dataplane/connection_check.h) started with sandbox_spawn as the tenant's worker uid (when the
 * api is root), with the network its tasks get, so the egress rules of that uid apply to it; the
 * api never connects itself. The child is killed after CHECK_TIMEOUT_MS (error then says so).
 * Errors: 404 not_found for an id that is not one of the caller's connections, 422 for a
 * connection whose secrets cannot be read (missing, or not decryptable), 429 rate_limited when
 * this api process already runs CHECK_MAX_RUNNING checks (each holds an api thread while its
 * child runs, at most CHECK_TIMEOUT_MS). */
#ifndef SLUICE_API_CONNECTION_CHECK_H
#define SLUICE_API_CONNECTION_CHECK_H

#include "api/http.h"

int connection_check(struct api_request *req, struct api_response *resp);

#endif
