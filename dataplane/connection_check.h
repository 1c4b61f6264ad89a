/* connection_check.h — `sluiced worker` with a spec of kind "check": connects with one
 * connection's options as its task would, reads and writes nothing, and says what it found, for
 * the api's POST /v1/connections/{id}/check (api/connection_check.h), which starts it in the
 * workers' sandbox under the tenant's uid (so the egress rules of that uid apply).
 *
 * Spec (stdin, read by worker_main):
 *   {"kind":"check", "connector": "redis", "properties": {...}, "secrets": {...},
 *    "sandbox": {"seccomp": bool}, "sample"?: N}   secrets win over properties of the same name
 * Output (stdout), one line:
 *   {"type":"check","reachable":bool,"authenticated":bool,"target_present":bool,"error"?:"...",
 *    "sampled"?: n, "proposed_schema"?: {"fields":[...]}, "sample_error"?: "..."}
 * With "sample", a reachable source's first N records (at most 1000, partition 0, from where a
 * new task would start, waiting at most 5 s) are read and a schema proposed from them
 * (dataplane/schema_infer.h). Sources whose reader would take records from the connection's own
 * consumer (Redis, RabbitMQ: acknowledged reads; MQTT: a persistent session) are not sampled
 * ("sample_error" says so); datagen, the embedded log and Kafka (no consumer group) are. */
#ifndef SLUICE_DATAPLANE_CONNECTION_CHECK_H
#define SLUICE_DATAPLANE_CONNECTION_CHECK_H

#include <jansson.h>
#include <stddef.h>

#include "dataplane/stream.h"

/* Runs the backend's check (all true for a backend without one) on spec's options. 0 with out
 * filled, or -1 with err when the spec is unusable (no such connector in this binary). */
int connection_check_spec(json_t *spec, struct stream_check *out, char *err, size_t errlen);

/* The worker's side: connection_check_spec, its answer written as the line above. 0, or -1
 * with err. */
int connection_check_worker_run(json_t *spec, char *err, size_t errlen);

#endif
