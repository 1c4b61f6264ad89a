/* postgres_lookup.h — a PostgreSQL table as the table of a processing-time lookup join (Flink's
 * JDBC lookup source): FROM s JOIN t FOR SYSTEM_TIME AS OF s.proctime ON s.k = t.col, t declared
 * with 'connector' = 'postgres'. Each left row's key is looked up with one query
 * (SELECT row_to_json(...) FROM table WHERE col = $1 AND ...), its rows decoded by the table's
 * schema (columns by name: those the table lacks are NULL), and kept in a bounded LRU cache.
 *
 * Properties (the stream's): url, table, password (as the postgres sink's), and
 *   lookup.cache.max-rows   keys kept in the cache (0 or absent: no cache), least recently used
 *                           out first; a key without rows is cached too
 *   lookup.cache.ttl        how long a cached key stays (a duration, "10 s"; absent: until pushed
 *                           out)
 *   lookup.max-retries      reconnects after a failed query (default 3)
 * A lookup that still fails is an error of the row (the pipeline's error policy applies). */
#ifndef SLUICE_DATAPLANE_CONNECTORS_POSTGRES_LOOKUP_H
#define SLUICE_DATAPLANE_CONNECTORS_POSTGRES_LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "dataplane/stream.h"
#include "dataplane/value.h"

struct pg_lookup;

/* Connects to the table of stream props (url, table, ...) whose rows have schema s (borrowed:
 * it must outlive the lookup); the lookups query by the columns key_cols[nkeys] of s. NULL
 * with err filled (never the password). */
struct pg_lookup *pg_lookup_open(const struct stream_property *props, int nprops, const struct schema *s,
                                 const int *key_cols, int nkeys, char *err, size_t errlen);
void pg_lookup_close(struct pg_lookup *l); /* NULL is a no-op */
/* The rows whose key columns equal keys[nkeys], at processing time now_ms: *rows (nrows rows of
 * s->nfields values each) in arena a. Returns 0, or -1 with err filled. */
int pg_lookup_get(struct pg_lookup *l, const struct value *keys, int64_t now_ms, struct arena *a, struct value **rows,
                  int *nrows, char *err, size_t errlen);

/* For the engine: when stream `source` of plan p, of backend `backend`, is the table of a lookup
 * join in PostgreSQL, opens its lookup (*out: close it with pg_lookup_close after the plan's last
 * row) and makes the plan ask it (plan_set_lookup). Returns 1 when it did, 0 when the stream is
 * no such table (it is read as a stream), -1 with err filled. */
struct plan;
int pg_lookup_attach(struct plan *p, int source, const char *backend, const struct stream_property *props, int nprops,
                     struct pg_lookup **out, char *err, size_t errlen);

struct pg_lookup_stats {
    uint64_t queries, hits;
};
void pg_lookup_stats(const struct pg_lookup *l, struct pg_lookup_stats *out);

#endif
