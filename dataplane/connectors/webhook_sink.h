/* webhook_sink.h — the webhook sink connector (libcurl): a stream's records sent to an HTTP(S)
 * endpoint in batches.
 *
 * Properties (a connection's "properties", secrets merged in):
 *   url              required: http:// or https://
 *   method           POST (default) | PUT
 *   format           json (default: a JSON array of the records per request) | ndjson (one
 *                    record per line)
 *   batch.size       records per request, 1-10000 (default 100)
 *   headers.NAME     an extra request header NAME: value (headers.Authorization from a secret)
 *   token            a bearer token (from a secret): Authorization: Bearer TOKEN, unless
 *                    headers.Authorization is set
 *   timeout_ms       per request, 100-600000 (default 10000)
 *   linger_ms        how long a partial batch waits for more records, 0-60000 (default 200)
 *   retry.max        attempts after the first for a retriable failure, 0-100 (default 5)
 *   retry.backoff_ms the first wait, doubled each attempt up to retry.max_backoff_ms (defaults
 *                    500 and 5000: the waits of one batch, 12.5 s, stay within the
 *                    controlplane's default heartbeat timeout of 15 s, since a worker sends no
 *                    heartbeat while its sink retries)
 *   connector        accepted and ignored
 *
 * append buffers records and sends a request when batch.size are buffered; a flush sends a
 * partial batch once it is linger_ms old, a synchronous flush (every checkpoint) at once. A 2xx
 * answer delivers the batch. 408, 429, 5xx and failures to connect or time-outs are retried
 * with exponential backoff (a Retry-After, in seconds or as an HTTP date, replaces the computed
 * wait, capped at retry.max_backoff_ms); when the retries run out the task fails with the last
 * status and the start of the body. Any other status (4xx, 3xx) fails at once. Delivery is
 * at-least-once: a batch sent after the last checkpoint is sent again after a crash, and a
 * retried request may have been received before. Each request carries the header
 * X-Sluice-Batch: START-TASK-SEQUENCE (the writer's start in epoch ms, the task index, the
 * request's number), the same on its retries, so a receiver may spot repeats within a run.
 *
 * Writers are owned by the caller and released with close_writer. Error messages show the url
 * without its user:password and query string. */
#ifndef SLUICE_DATAPLANE_CONNECTORS_WEBHOOK_SINK_H
#define SLUICE_DATAPLANE_CONNECTORS_WEBHOOK_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dataplane/codec/json_encode.h"
#include "dataplane/stream.h"

extern const struct stream_backend webhook_stream_backend;

enum webhook_format { WEBHOOK_JSON, WEBHOOK_NDJSON };

/* Adds one record (a JSON text) to the request body being built in b, which holds count
 * records so far; webhook_body_finish closes it. -1 on out of memory. */
int webhook_body_add(struct json_buf *b, enum webhook_format f, size_t count, const char *data, size_t len);
int webhook_body_finish(struct json_buf *b, enum webhook_format f, size_t count);

/* What to do with an answer: deliver (2xx), retry (408, 429, 5xx; status 0 = no answer) or fail. */
enum webhook_verdict { WEBHOOK_DELIVERED, WEBHOOK_RETRY, WEBHOOK_FAIL };
enum webhook_verdict webhook_verdict_of(long status);

/* The wait before retry attempt (1 = the first retry): initial_ms * 2^(attempt-1) capped at
 * max_ms; a Retry-After of retry_after_ms ≥ 0 replaces it (capped too). */
long webhook_backoff_ms(int attempt, long initial_ms, long max_ms, long retry_after_ms);

/* A Retry-After value (delay-seconds or an IMF-fixdate) in milliseconds from now, or -1 when it
 * is neither. */
long webhook_retry_after_ms(const char *value, time_t now);

/* url without user:password@ and without ?query / #fragment, into out[outlen]. */
void webhook_url_redact(const char *url, char *out, size_t outlen);

#endif
