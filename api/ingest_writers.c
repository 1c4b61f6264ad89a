/* ingest_writers.c — cache of open log writers for HTTP ingest (see ingest_writers.h): a fixed
 * table of entries under one table mutex, a mutex per entry, and a sweeper thread that closes
 * entries idle for longer than INGEST_WRITERS_IDLE_MS. */
#include "api/ingest_writers.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "dataplane/log/log.h"

#define INGEST_WRITERS_POLL_MS 10

/* Writers open at once, cached and temporary: each holds three descriptors (its directory, lock
 * and segment), and one request to a stream of 256 partitions opens 256 of them, so without a
 * bound a few such requests at once ran the api out of descriptors for everyone. */
static atomic_int open_writers;

struct ingest_writer_ref {
    pthread_mutex_t mu;           /* held by the request using the entry */
    char dir[2048];               /* key; "" = free slot (table mutex) */
    int refs;                     /* requests holding or waiting for mu (table mutex) */
    bool temporary;               /* not in the table: freed on release */
    struct seglog_writer *writer; /* NULL until opened (mu) */
    int dirfd;                    /* the partition directory the writer works in, -1 with no writer */
    struct timespec last_used;    /* CLOCK_MONOTONIC of the last release (table mutex) */
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    struct ingest_writer_ref slots[INGEST_WRITERS_MAX];
    bool started, stopping;
    pthread_t sweeper;
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static long ms_since(const struct timespec *then, const struct timespec *now)
{
    return (now->tv_sec - then->tv_sec) * 1000L + (now->tv_nsec - then->tv_nsec) / 1000000L;
}

static bool past(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec > deadline->tv_sec || (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* Closes the writer of e, then the directory it works in. */
static void entry_close_writer(struct ingest_writer_ref *e)
{
    if (e->writer)
        atomic_fetch_sub(&open_writers, 1);
    seglog_writer_close(e->writer);
    e->writer = NULL;
    if (e->dirfd >= 0)
        close(e->dirfd);
    e->dirfd = -1;
}

/* Closes the writer of slot s and frees the slot. Table mutex held, s->refs == 0 (so nobody
 * holds or waits for s->mu). */
static void slot_close(struct ingest_writer_ref *s)
{
    entry_close_writer(s);
    s->dir[0] = '\0';
}

/* Every INGEST_WRITERS_SWEEP_MS: closes entries unused for INGEST_WRITERS_IDLE_MS. */
static void *sweeper_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&cache.mu);
    while (!cache.stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += INGEST_WRITERS_SWEEP_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&cache.wake, &cache.mu, &until);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        for (int i = 0; i < INGEST_WRITERS_MAX; i++) {
            struct ingest_writer_ref *s = &cache.slots[i];
            if (s->dir[0] && s->refs == 0 && ms_since(&s->last_used, &now) >= INGEST_WRITERS_IDLE_MS)
                slot_close(s);
        }
    }
    pthread_mutex_unlock(&cache.mu);
    return NULL;
}

static void cache_init(void)
{
    for (int i = 0; i < INGEST_WRITERS_MAX; i++) {
        pthread_mutex_init(&cache.slots[i].mu, NULL);
        cache.slots[i].dirfd = -1;
    }
    cache.started = pthread_create(&cache.sweeper, NULL, sweeper_main, NULL) == 0;
    if (!cache.started)
        log_error("ingest: cannot start the writer sweeper; writers are not cached");
}

/* The entry for dir with refs taken: the cached one, a free or least recently used idle slot,
 * or a temporary entry when every slot is in use. NULL when out of memory. */
static struct ingest_writer_ref *entry_take(const char *dir)
{
    pthread_mutex_lock(&cache.mu);
    struct ingest_writer_ref *hit = NULL, *spare = NULL;
    if (cache.started && !cache.stopping) {
        for (int i = 0; i < INGEST_WRITERS_MAX && !hit; i++) {
            struct ingest_writer_ref *s = &cache.slots[i];
            if (s->dir[0] && strcmp(s->dir, dir) == 0)
                hit = s;
            else if (!s->dir[0] && (!spare || spare->dir[0]))
                spare = s;
            else if (s->dir[0] && s->refs == 0 &&
                     (!spare || (spare->dir[0] && ms_since(&s->last_used, &spare->last_used) > 0)))
                spare = s;
        }
        if (!hit && spare) {
            if (spare->dir[0])
                slot_close(spare);
            snprintf(spare->dir, sizeof spare->dir, "%s", dir);
            hit = spare;
        }
    }
    if (hit) {
        hit->refs++;
        pthread_mutex_unlock(&cache.mu);
        return hit;
    }
    pthread_mutex_unlock(&cache.mu);
    struct ingest_writer_ref *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_init(&t->mu, NULL);
    snprintf(t->dir, sizeof t->dir, "%s", dir);
    t->dirfd = -1;
    t->temporary = true;
    t->refs = 1;
    return t;
}

/* Drops the reference taken by entry_take() (mu not held). */
static void entry_drop(struct ingest_writer_ref *e)
{
    if (e->temporary) {
        entry_close_writer(e);
        pthread_mutex_destroy(&e->mu);
        free(e);
        return;
    }
    pthread_mutex_lock(&cache.mu);
    clock_gettime(CLOCK_MONOTONIC, &e->last_used);
    e->refs--;
    if (e->refs == 0 && !e->writer)
        e->dir[0] = '\0';
    pthread_mutex_unlock(&cache.mu);
}

/* Opens the writer of e on its partition, root/rel, through a descriptor of the directory opened
 * without following symlinks (common/fs.h): the tenant's worker can write there, the api is
 * root. 0, LOG_WRITER_BUSY or -1 with err. */
static int entry_open_writer(struct ingest_writer_ref *e, const char *root, const char *rel, char *err, size_t errlen)
{
    if (atomic_fetch_add(&open_writers, 1) >= INGEST_WRITERS_OPEN_MAX) {
        atomic_fetch_sub(&open_writers, 1);
        snprintf(err, errlen, "the api has %d ingest writers open", INGEST_WRITERS_OPEN_MAX);
        return LOG_WRITER_BUSY; /* retried until the deadline, as another process's lock is */
    }
    if (e->dirfd < 0 && (e->dirfd = fs_open_dir_below(root, rel, true, err, errlen)) < 0) {
        atomic_fetch_sub(&open_writers, 1);
        return -1;
    }
    char path[64];
    fs_fd_path(e->dirfd, path, sizeof path);
    int rc = seglog_writer_open(path, NULL, &e->writer, err, errlen);
    if (rc == LOG_WRITER_BUSY)
        snprintf(err, errlen, "another writer holds its partition");
    if (rc != 0) {
        atomic_fetch_sub(&open_writers, 1);
        e->writer = NULL;
        entry_close_writer(e);
    }
    return rc;
}

int ingest_writers_acquire(const char *root, const char *dir, const struct timespec *deadline,
                           struct ingest_writer_ref **ref, struct seglog_writer **w, char *err, size_t errlen)
{
    pthread_once(&cache_once, cache_init);
    size_t rl = strlen(root);
    if (strncmp(dir, root, rl) != 0 || dir[rl] != '/') {
        snprintf(err, errlen, "partition %s is not below the data root %s", dir, root);
        return -1;
    }
    if (strlen(dir) >= sizeof cache.slots[0].dir) {
        snprintf(err, errlen, "partition path too long: %s", dir);
        return -1;
    }
    struct ingest_writer_ref *e = entry_take(dir);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int lrc = pthread_mutex_timedlock(&e->mu, deadline);
    if (lrc != 0) {
        snprintf(err, errlen, "%s", lrc == ETIMEDOUT ? "other requests are writing it" : strerror(lrc));
        entry_drop(e);
        return lrc == ETIMEDOUT ? INGEST_WRITERS_BUSY : -1;
    }
    while (!e->writer) {
        int rc = entry_open_writer(e, root, dir + rl + 1, err, errlen);
        if (rc == 0)
            break;
        if (rc != LOG_WRITER_BUSY || past(deadline)) {
            pthread_mutex_unlock(&e->mu);
            entry_drop(e);
            return rc == LOG_WRITER_BUSY ? INGEST_WRITERS_BUSY : -1;
        }
        nanosleep(&(struct timespec){.tv_nsec = INGEST_WRITERS_POLL_MS * 1000000L}, NULL);
    }
    *ref = e;
    *w = e->writer;
    return 0;
}

void ingest_writers_release(struct ingest_writer_ref *ref, bool failed)
{
    if (!ref)
        return;
    if (failed)
        entry_close_writer(ref);
    pthread_mutex_unlock(&ref->mu);
    entry_drop(ref);
}

int ingest_writers_open_count(void)
{
    int n = 0;
    pthread_mutex_lock(&cache.mu);
    for (int i = 0; i < INGEST_WRITERS_MAX; i++)
        if (cache.slots[i].dir[0])
            n++;
    pthread_mutex_unlock(&cache.mu);
    return n;
}

void ingest_writers_shutdown(void)
{
    pthread_mutex_lock(&cache.mu);
    bool started = cache.started;
    cache.stopping = true;
    pthread_cond_broadcast(&cache.wake);
    pthread_mutex_unlock(&cache.mu);
    if (started)
        pthread_join(cache.sweeper, NULL);
    pthread_mutex_lock(&cache.mu);
    for (int i = 0; i < INGEST_WRITERS_MAX; i++)
        if (cache.slots[i].dir[0] && cache.slots[i].refs == 0)
            slot_close(&cache.slots[i]);
    cache.started = false;
    pthread_mutex_unlock(&cache.mu);
}
