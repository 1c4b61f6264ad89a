/* preview.h — `sluiced worker` with a spec of kind "preview": runs a query over the embedded
 * logs of the streams it reads (one, or each input of a join) for a moment and writes what it
 * finds as JSON lines, for the api's POST /v1/preview (api/preview.h), which starts it in the workers' sandbox and
 * relays.
 *
 * Spec (stdin, read by worker_main):
 *   {"kind":"preview", "task_id", "sql": "INSERT INTO <sink> SELECT ...",
 *    "streams": [{"name", "schema"}],            every stream the api's compile looked up
 *    "sources": [{"dir": ".../streams/<id>", "partitions": N}],  each stream the query reads,
 *                                               in the plan's order (plan_source_at); an older
 *                                               spec's one "source": {...} is read as [it]
 *    "limit": N, "earliest": bool, "deadline_mono_ms": CLOCK_MONOTONIC ms to stop reading at,
 *    "functions"?: [{"name", "returns", "source"}]}  the tenant's functions the query may call,
 *                                               loaded (Lua) here in the sandbox, never in the api
 * Output (stdout), each line flushed as it is made:
 *   {"type":"row","op":"+I","row":{...}}            one per output row with its kind, at most limit
 *   {"type":"progress","records_read":N,"skipped":N,"first_error"?:"..."}   as they change
 *   {"type":"result","records_read":N,"skipped":N,"truncated":bool,"first_error"?:"..."}
 * Records that cannot be decoded or evaluated are skipped and counted; first_error names the
 * first. At the deadline open windows are closed (plan_finish), so that windowed queries show
 * partial results. */
#ifndef SLUICE_DATAPLANE_PREVIEW_H
#define SLUICE_DATAPLANE_PREVIEW_H

#include <jansson.h>
#include <stddef.h>

/* Runs the preview spec (borrowed). Returns 0, or -1 with err filled (the spec is unusable or
 * the query does not compile here). */
int preview_worker_run(json_t *spec, char *err, size_t errlen);

#endif
