/* ratelimit.h — per-tenant request rate limits: one token bucket per key, in this process.
 *
 * A bucket holds up to burst tokens and refills at rate tokens per second; each request takes
 * one. The table has a fixed number of slots; when it is full the least recently used bucket
 * of a key's neighbourhood is reused. Thread-safe. */
#ifndef SLUICE_API_RATELIMIT_H
#define SLUICE_API_RATELIMIT_H

#include <stdbool.h>

struct ratelimit;

/* New table, or NULL on out of memory; ratelimit_free(NULL) is a no-op. */
struct ratelimit *ratelimit_new(void);
void ratelimit_free(struct ratelimit *rl);

/* Takes a token for key at time now (seconds, monotonic). Returns true when allowed; when
 * not, *retry_after is the whole seconds (at least 1) until a token is available. */
bool ratelimit_take(struct ratelimit *rl, const char *key, double rate, double burst, double now, int *retry_after);

#endif
