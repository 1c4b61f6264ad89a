/* handlers_logs.h — a pipeline's or connection's logs, events and run status (the route's data
 * is the resource kind, "pipeline" or "connection").
 *
 *   GET /v1/{pipelines|connections}/{id}/logs?level=&task_id=&contains=&since_id=&limit=
 *     {"items":[{"id","ts","level","task_id","message"}],"next_since_id"}: the newest `limit`
 *     lines (default 100, at most 1000) after since_id, oldest first; level is the minimum
 *     (debug < info < warn < error).
 *   ... &follow=true[&timeout=S]
 *     text/event-stream: those lines, then new ones as they are stored, each as
 *     `id: N` / `event: log` / `data: {json}`; a `: keepalive` comment after each half second
 *     without new lines; ends after timeout seconds (default 300, at most 3600) — reconnect with since_id (or
 * Last-Event-ID). GET /v1/{pipelines|connections}/{id}/events?since_id=&limit=
 *     {"items":[{"id","ts","task_id","event","message","restarts"}]} — state changes, oldest
 *     first: claimed, started, running, crashed, backoff, failed, completed, stopping, stopped,
 *     rollover, start_failed.
 *   GET /v1/{pipelines|connections}/{id}/status
 *     desired/actual state, generations, last_error, its tasks (node, pid, state, restarts,
 *     started_at, heartbeat_at, sandbox report, counters) and throughput over the last minute. */
#ifndef SLUICE_API_HANDLERS_LOGS_H
#define SLUICE_API_HANDLERS_LOGS_H

#include "api/http.h"

int logs_list(struct api_request *req, struct api_response *resp);
int logs_events(struct api_request *req, struct api_response *resp);
int logs_status(struct api_request *req, struct api_response *resp);

#endif
