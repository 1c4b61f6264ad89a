/* stream_cache.c — each tenant's streams kept by the api process (see stream_cache.h). */
#include "api/stream_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STREAM_CACHE_TENANTS 256           /* more: the cache starts over */
#define STREAM_CACHE_MAX_BYTES (256 << 10) /* a bigger catalog is not kept */

struct stream_catalog {
    int refs; /* under stream_cache.lock */
    char fingerprint[40];
    int n;
    char **names; /* sorted as the database sorted them */
    char **schemas;
};

static struct {
    pthread_mutex_t lock;
    int n;
    char tenants[STREAM_CACHE_TENANTS][40];
    struct stream_catalog *catalogs[STREAM_CACHE_TENANTS];
} stream_cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void catalog_free(struct stream_catalog *c)
{
    for (int i = 0; i < c->n; i++) {
        free(c->names[i]);
        free(c->schemas[i]);
    }
    free(c->names);
    free(c->schemas);
    free(c);
}

/* Drops one reference; the caller holds the lock. */
static void catalog_unref_locked(struct stream_catalog *c)
{
    if (c && --c->refs == 0)
        catalog_free(c);
}

void stream_catalog_release(struct stream_catalog *c)
{
    pthread_mutex_lock(&stream_cache.lock);
    catalog_unref_locked(c);
    pthread_mutex_unlock(&stream_cache.lock);
}

static int cache_find_locked(const char *tenant_id)
{
    for (int i = 0; i < stream_cache.n; i++)
        if (strcmp(stream_cache.tenants[i], tenant_id) == 0)
            return i;
    return -1;
}

struct stream_catalog *stream_cache_get(const char *tenant_id)
{
    pthread_mutex_lock(&stream_cache.lock);
    int i = cache_find_locked(tenant_id);
    struct stream_catalog *c = i >= 0 ? stream_cache.catalogs[i] : NULL;
    if (c)
        c->refs++;
    pthread_mutex_unlock(&stream_cache.lock);
    return c;
}

void stream_cache_forget(const char *tenant_id)
{
    pthread_mutex_lock(&stream_cache.lock);
    int i = cache_find_locked(tenant_id);
    if (i >= 0) {
        catalog_unref_locked(stream_cache.catalogs[i]);
        stream_cache.n--;
        memcpy(stream_cache.tenants[i], stream_cache.tenants[stream_cache.n], sizeof stream_cache.tenants[i]);
        stream_cache.catalogs[i] = stream_cache.catalogs[stream_cache.n];
    }
    pthread_mutex_unlock(&stream_cache.lock);
}

/* A catalog of res's rows (one reference), or NULL. */
static struct stream_catalog *catalog_of(const PGresult *res, size_t *bytes)
{
    int rows = PQntuples(res);
    if (rows < 1 || PQnfields(res) != 3 || PQgetlength(res, 0, 0) >= 40)
        return NULL;
    struct stream_catalog *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->refs = 1;
    memcpy(c->fingerprint, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0) + 1);
    c->names = calloc((size_t)rows, sizeof *c->names);
    c->schemas = calloc((size_t)rows, sizeof *c->schemas);
    bool ok = c->names && c->schemas;
    *bytes = 0;
    for (int i = 0; ok && i < rows; i++) {
        if (PQgetisnull(res, i, 1)) /* no streams at all */
            continue;
        c->names[c->n] = strdup(PQgetvalue(res, i, 1));
        c->schemas[c->n] = strdup(PQgetvalue(res, i, 2));
        ok = c->names[c->n] && c->schemas[c->n];
        c->n++;
        *bytes += (size_t)PQgetlength(res, i, 1) + (size_t)PQgetlength(res, i, 2);
    }
    if (!ok) {
        catalog_free(c);
        return NULL;
    }
    return c;
}

struct stream_catalog *stream_cache_put(const char *tenant_id, const PGresult *res)
{
    size_t bytes;
    struct stream_catalog *c = catalog_of(res, &bytes);
    if (!c || strlen(tenant_id) >= sizeof stream_cache.tenants[0])
        return c;
    pthread_mutex_lock(&stream_cache.lock);
    int i = cache_find_locked(tenant_id);
    if (i >= 0) {
        catalog_unref_locked(stream_cache.catalogs[i]);
    } else if (bytes <= STREAM_CACHE_MAX_BYTES) {
        if (stream_cache.n == STREAM_CACHE_TENANTS) { /* start over */
            for (int j = 0; j < stream_cache.n; j++)
                catalog_unref_locked(stream_cache.catalogs[j]);
            stream_cache.n = 0;
        }
        i = stream_cache.n++;
        memcpy(stream_cache.tenants[i], tenant_id, strlen(tenant_id) + 1);
    }
    if (i >= 0 && bytes <= STREAM_CACHE_MAX_BYTES) {
        stream_cache.catalogs[i] = c;
        c->refs++;
    } else if (i >= 0) { /* too big to keep: no entry for the tenant */
        stream_cache.n--;
        memcpy(stream_cache.tenants[i], stream_cache.tenants[stream_cache.n], sizeof stream_cache.tenants[i]);
        stream_cache.catalogs[i] = stream_cache.catalogs[stream_cache.n];
    }
    pthread_mutex_unlock(&stream_cache.lock);
    return c;
}

const char *stream_catalog_fingerprint(const struct stream_catalog *c) { return c->fingerprint; }

json_t *stream_catalog_schema(void *catalog, const char *name)
{
    const struct stream_catalog *c = catalog;
    int pick = -1;
    for (int i = 0; i < c->n; i++) {
        if (strcmp(c->names[i], name) == 0) {
            pick = i;
            break;
        }
        if (pick < 0 && strcasecmp(c->names[i], name) == 0)
            pick = i;
    }
    return pick >= 0 ? json_loads(c->schemas[pick], 0, NULL) : NULL;
}
