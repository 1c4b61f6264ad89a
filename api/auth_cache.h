/* auth_cache.h — a per-process cache of credential lookups (credential hash → caller), so that
 * an authenticated request does not ask PostgreSQL who is calling.
 *
 * An entry lives AUTH_CACHE_TTL_SECONDS at most. Revocations reach every api process through
 * PostgreSQL: triggers (migrations/0104_api_throughput.sql) NOTIFY the channel sluice_auth with a
 * tenant id (or '*') whenever a key, session, user, tenant or plan changes what the lookup
 * would answer, and one listener thread per process evicts that tenant's entries. While the
 * listener is not connected and listening, the cache answers nothing (every lookup goes to the
 * database), since notifications could be missed.
 *
 * A lookup that raced a notification is not stored: auth_cache_epoch() before the database
 * lookup, and auth_cache_put() drops the entry when an eviction happened since.
 * Thread-safe. */
#ifndef SLUICE_API_AUTH_CACHE_H
#define SLUICE_API_AUTH_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "api/http.h"

#define AUTH_CACHE_TTL_SECONDS 5.0

/* Starts the listener thread on database_url (copied). Returns 0 or -1. */
int auth_cache_start(const char *database_url);
/* Stops and joins the listener and empties the cache; no-op when not started. */
void auth_cache_stop(void);

/* The eviction counter, read before a database lookup and handed to auth_cache_put(). */
uint64_t auth_cache_epoch(void);
/* The cached caller of hash (hex SHA-256) into *out: true when found and fresh. */
bool auth_cache_get(const char *hash, struct api_caller *out);
/* Stores caller for hash for ttl seconds (at most AUTH_CACHE_TTL_SECONDS; a login token's time
 * left), unless an eviction happened since epoch or the listener is down. */
void auth_cache_put(const char *hash, const struct api_caller *caller, double ttl, uint64_t epoch);
/* Evicts every entry of tenant_id ("*": all). The listener calls it; so does a request that
 * revoked something, right after its commit, so its own process needs no notification. */
void auth_cache_evict(const char *tenant_id);

#endif
