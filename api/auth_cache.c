/* auth_cache.c — the credential cache and its sluice_auth listener (see auth_cache.h). */
#include "api/auth_cache.h"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

/* Direct-mapped on the hash's first hex digits (a SHA-256: already uniform); a collision
 * replaces the older entry, which only costs a database lookup. */
#define AUTH_CACHE_SLOTS 4096
#define AUTH_LISTEN_POLL_MS 200
#define AUTH_LISTEN_RETRY_MS 1000

struct auth_cache_entry {
    bool used;
    char hash[CRYPTO_SHA256_HEX];
    struct api_caller caller;
    double expires; /* monotonic seconds */
};

static struct {
    pthread_mutex_t lock;
    struct auth_cache_entry slots[AUTH_CACHE_SLOTS];
    uint64_t epoch; /* evictions so far */
    bool listening; /* the listener is connected and LISTENing: entries may be served */
    bool started, stopping;
    pthread_t thread;
    char *database_url;
} auth_cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static double auth_cache_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t auth_cache_slot(const char *hash)
{
    char head[9];
    memcpy(head, hash, 8);
    head[8] = '\0';
    return (size_t)strtoul(head, NULL, 16) % AUTH_CACHE_SLOTS;
}

uint64_t auth_cache_epoch(void)
{
    pthread_mutex_lock(&auth_cache.lock);
    uint64_t e = auth_cache.epoch;
    pthread_mutex_unlock(&auth_cache.lock);
    return e;
}

bool auth_cache_get(const char *hash, struct api_caller *out)
{
    if (strlen(hash) != CRYPTO_SHA256_HEX - 1)
        return false;
    struct auth_cache_entry *e = &auth_cache.slots[auth_cache_slot(hash)];
    bool found = false;
    pthread_mutex_lock(&auth_cache.lock);
    if (auth_cache.listening && e->used && strcmp(e->hash, hash) == 0 && e->expires > auth_cache_now()) {
        *out = e->caller;
        found = true;
    }
    pthread_mutex_unlock(&auth_cache.lock);
    return found;
}

void auth_cache_put(const char *hash, const struct api_caller *caller, double ttl, uint64_t epoch)
{
    if (strlen(hash) != CRYPTO_SHA256_HEX - 1 || !(ttl > 0))
        return;
    if (ttl > AUTH_CACHE_TTL_SECONDS)
        ttl = AUTH_CACHE_TTL_SECONDS;
    struct auth_cache_entry *e = &auth_cache.slots[auth_cache_slot(hash)];
    pthread_mutex_lock(&auth_cache.lock);
    if (auth_cache.listening && auth_cache.epoch == epoch) {
        e->used = true;
        memcpy(e->hash, hash, sizeof e->hash);
        e->caller = *caller;
        e->expires = auth_cache_now() + ttl;
    }
    pthread_mutex_unlock(&auth_cache.lock);
}

/* Under the lock. */
static void auth_cache_evict_locked(const char *tenant_id)
{
    bool all = strcmp(tenant_id, "*") == 0;
    for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++) {
        struct auth_cache_entry *e = &auth_cache.slots[i];
        if (e->used && (all || strcmp(e->caller.tenant_id, tenant_id) == 0))
            e->used = false;
    }
    auth_cache.epoch++;
}

void auth_cache_evict(const char *tenant_id)
{
    pthread_mutex_lock(&auth_cache.lock);
    auth_cache_evict_locked(tenant_id);
    pthread_mutex_unlock(&auth_cache.lock);
}

static void auth_cache_set_listening(bool on)
{
    pthread_mutex_lock(&auth_cache.lock);
    auth_cache.listening = on;
    auth_cache_evict_locked("*"); /* what was cached before may have missed a notification */
    pthread_mutex_unlock(&auth_cache.lock);
}

static bool auth_cache_stopping(void)
{
    pthread_mutex_lock(&auth_cache.lock);
    bool s = auth_cache.stopping;
    pthread_mutex_unlock(&auth_cache.lock);
    return s;
}

/* ---- the listener ------------------------------------------------------------------------ */

/* Waits up to ms for input on conn; false when the connection broke. */
static bool auth_listen_wait(PGconn *conn, int ms)
{
    struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN};
    if (p.fd < 0)
        return false;
    if (poll(&p, 1, ms) < 0)
        return true; /* EINTR: look again */
    if (p.revents && !PQconsumeInput(conn))
        return false;
    return PQstatus(conn) == CONNECTION_OK;
}

static void *auth_listen_main(void *arg)
{
    bool warned = false;
    while (!auth_cache_stopping()) {
        PGconn *conn = PQconnectdb(auth_cache.database_url);
        PGresult *res = PQstatus(conn) == CONNECTION_OK ? PQexec(conn, "LISTEN sluice_auth") : NULL;
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!ok) {
            if (!warned)
                log_warn("credential cache off: cannot LISTEN sluice_auth: %s", PQerrorMessage(conn));
            warned = true;
            PQfinish(conn);
            for (int i = 0; i < AUTH_LISTEN_RETRY_MS / AUTH_LISTEN_POLL_MS && !auth_cache_stopping(); i++)
                usleep(AUTH_LISTEN_POLL_MS * 1000);
            continue;
        }
        if (warned)
            log_info("credential cache on: listening on sluice_auth again");
        warned = false;
        auth_cache_set_listening(true);
        while (!auth_cache_stopping()) {
            bool alive = auth_listen_wait(conn, AUTH_LISTEN_POLL_MS);
            PGnotify *n;
            while ((n = PQnotifies(conn)) != NULL) {
                auth_cache_evict(n->extra);
                PQfreemem(n);
            }
            if (!alive)
                break;
        }
        auth_cache_set_listening(false);
        PQfinish(conn);
    }
    return NULL;
}

int auth_cache_start(const char *database_url)
{
    auth_cache.database_url = strdup(database_url);
    if (!auth_cache.database_url)
        return -1;
    if (pthread_create(&auth_cache.thread, NULL, auth_listen_main, NULL) != 0) {
        free(auth_cache.database_url);
        auth_cache.database_url = NULL;
        return -1;
    }
    auth_cache.started = true;
    return 0;
}

void auth_cache_stop(void)
{
    if (!auth_cache.started)
        return;
    pthread_mutex_lock(&auth_cache.lock);
    auth_cache.stopping = true;
    pthread_mutex_unlock(&auth_cache.lock);
    pthread_join(auth_cache.thread, NULL);
    auth_cache.started = false;
    auth_cache_set_listening(false);
    free(auth_cache.database_url);
    auth_cache.database_url = NULL;
}
