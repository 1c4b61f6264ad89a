/* park.c — one waker thread resuming suspended streamed responses (see park.h). */
#include "api/park.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/log.h"

struct parked {
    struct MHD_Connection *conn;
    struct timespec due;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool started, stopping;
    struct parked *items;
    unsigned n, cap;
} park = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int due_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Resumes every parked connection due at or before now (all of them when everything is true);
 * called with the lock held. */
static void resume_due(const struct timespec *now, bool everything)
{
    unsigned kept = 0;
    for (unsigned i = 0; i < park.n; i++) {
        if (everything || !due_before(now, &park.items[i].due))
            MHD_resume_connection(park.items[i].conn);
        else
            park.items[kept++] = park.items[i];
    }
    park.n = kept;
}

static void *park_waker(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&park.lock);
    while (!park.stopping) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        resume_due(&now, false);
        if (park.n == 0) {
            pthread_cond_wait(&park.wake, &park.lock);
            continue;
        }
        struct timespec next = park.items[0].due;
        for (unsigned i = 1; i < park.n; i++)
            if (due_before(&park.items[i].due, &next))
                next = park.items[i].due;
        pthread_cond_timedwait(&park.wake, &park.lock, &next);
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    resume_due(&now, true);
    pthread_mutex_unlock(&park.lock);
    return NULL;
}

int park_start(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&park.wake, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0 || pthread_create(&park.thread, NULL, park_waker, NULL) != 0) {
        log_error("cannot start the stream waker thread");
        return -1;
    }
    park.started = true;
    return 0;
}

void park_stop(void)
{
    if (!park.started)
        return;
    pthread_mutex_lock(&park.lock);
    park.stopping = true;
    pthread_cond_signal(&park.wake);
    pthread_mutex_unlock(&park.lock);
    pthread_join(park.thread, NULL);
    park.started = false;
    free(park.items);
    park.items = NULL;
    park.n = park.cap = 0;
}

int park_connection(struct MHD_Connection *conn, unsigned delay_ms)
{
    pthread_mutex_lock(&park.lock);
    if (park.stopping || !park.started) {
        pthread_mutex_unlock(&park.lock);
        return -1;
    }
    if (park.n == park.cap) {
        unsigned cap = park.cap ? park.cap * 2 : 64;
        struct parked *items = realloc(park.items, cap * sizeof *items);
        if (!items) {
            pthread_mutex_unlock(&park.lock);
            return -1;
        }
        park.items = items;
        park.cap = cap;
    }
    struct parked *p = &park.items[park.n++];
    p->conn = conn;
    clock_gettime(CLOCK_MONOTONIC, &p->due);
    p->due.tv_sec += delay_ms / 1000;
    p->due.tv_nsec += (long)(delay_ms % 1000) * 1000000L;
    if (p->due.tv_nsec >= 1000000000L) {
        p->due.tv_sec++;
        p->due.tv_nsec -= 1000000000L;
    }
    /* Suspended under the lock, so the waker cannot resume it before it is suspended. */
    MHD_suspend_connection(conn);
    pthread_cond_signal(&park.wake);
    pthread_mutex_unlock(&park.lock);
    return 0;
}

bool park_stopping(void)
{
    pthread_mutex_lock(&park.lock);
    bool s = park.stopping;
    pthread_mutex_unlock(&park.lock);
    return s;
}

unsigned park_count(void)
{
    pthread_mutex_lock(&park.lock);
    unsigned n = park.n;
    pthread_mutex_unlock(&park.lock);
    return n;
}
