/* stream_cache.h — each tenant's streams (name and schema) as last read by this api process,
 * so that a new pipeline's SQL is checked without a round trip to the database first.
 *
 * A catalog is read whole with STREAM_CACHE_SQL (in the tenant's scope) and carries the
 * fingerprint of the rows it was read from. A create that relied on a cached catalog passes the
 * fingerprint to STREAM_CACHE_FRESH_SQL in its own statement and inserts nothing when the
 * streams changed since (another api process changed one); the caller then forgets the catalog
 * and checks again against the database. So a check never trusts stale streams.
 *
 * Catalogs are immutable and reference-counted: stream_cache_get() and stream_cache_put() return
 * a reference the caller gives back with stream_catalog_release(). Thread-safe. */
#ifndef SLUICE_API_STREAM_CACHE_H
#define SLUICE_API_STREAM_CACHE_H

#include <jansson.h>
#include <libpq-fe.h>

/* The tenant's streams (row level security scopes them): one row per stream, name and schema
 * text, each with the fingerprint of all of them; one row of NULL name and schema when there
 * are none. */
#define STREAM_CACHE_SQL                                                                                               \
    "WITH s AS (SELECT id, xmin, name, schema FROM streams), "                                                         \
    "f AS (SELECT md5(coalesce(string_agg(s.id::text || ':' || s.xmin::text, ',' ORDER BY s.id), '')) AS fp FROM s) "  \
    "SELECT f.fp, s.name, s.schema::text FROM f LEFT JOIN s ON true ORDER BY s.name"
/* An SQL expression true when the tenant's streams still have the fingerprint in parameter
 * $N (the caller formats N in). */
#define STREAM_CACHE_FRESH_SQL                                                                                         \
    "(SELECT md5(coalesce(string_agg(s.id::text || ':' || s.xmin::text, ',' ORDER BY s.id), '')) = $%d "               \
    "FROM streams s)"

struct stream_catalog;

/* The tenant's cached catalog (a reference), or NULL. */
struct stream_catalog *stream_cache_get(const char *tenant_id);
/* Makes a catalog from res (STREAM_CACHE_SQL's rows), caches it for the tenant in place of any
 * other, and returns a reference; NULL when out of memory or res is not such rows. */
struct stream_catalog *stream_cache_put(const char *tenant_id, const PGresult *res);
/* Drops the tenant's catalog (its streams changed). */
void stream_cache_forget(const char *tenant_id);
void stream_catalog_release(struct stream_catalog *c);

const char *stream_catalog_fingerprint(const struct stream_catalog *c);
/* A stream's schema (new reference) as the database would pick it by name: the exact name,
 * else the first equal ignoring case; NULL when there is none. A pipeline_schema_fn. */
json_t *stream_catalog_schema(void *catalog, const char *name);

#endif
