/* ratelimit.c — token buckets keyed by tenant id. */
#include "api/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RATELIMIT_SLOTS 4096
#define RATELIMIT_PROBE 8
#define RATELIMIT_KEY 64

struct ratelimit_bucket {
    char key[RATELIMIT_KEY];
    double tokens;
    double updated;
};

struct ratelimit {
    pthread_mutex_t lock;
    struct ratelimit_bucket slots[RATELIMIT_SLOTS];
};

struct ratelimit *ratelimit_new(void)
{
    struct ratelimit *rl = calloc(1, sizeof *rl);
    if (rl)
        pthread_mutex_init(&rl->lock, NULL);
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

static unsigned ratelimit_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

bool ratelimit_take(struct ratelimit *rl, const char *key, double rate, double burst, double now, int *retry_after)
{
    unsigned start = ratelimit_hash(key) % RATELIMIT_SLOTS;
    pthread_mutex_lock(&rl->lock);
    struct ratelimit_bucket *b = NULL, *oldest = NULL;
    for (unsigned i = 0; i < RATELIMIT_PROBE && !b; i++) {
        struct ratelimit_bucket *s = &rl->slots[(start + i) % RATELIMIT_SLOTS];
        if (strncmp(s->key, key, RATELIMIT_KEY - 1) == 0 && s->key[0])
            b = s;
        else if (!oldest || s->updated < oldest->updated)
            oldest = s;
    }
    if (!b) {
        b = oldest;
        strncpy(b->key, key, RATELIMIT_KEY - 1);
        b->key[RATELIMIT_KEY - 1] = '\0';
        b->tokens = burst;
        b->updated = now;
    }
    double elapsed = now - b->updated;
    if (elapsed > 0)
        b->tokens = fmin(burst, b->tokens + elapsed * rate);
    b->updated = now;
    bool allowed = b->tokens >= 1.0;
    if (allowed) {
        b->tokens -= 1.0;
    } else if (retry_after) {
        double wait = rate > 0 ? (1.0 - b->tokens) / rate : 60;
        *retry_after = (int)ceil(wait) < 1 ? 1 : (int)ceil(wait);
    }
    pthread_mutex_unlock(&rl->lock);
    return allowed;
}
