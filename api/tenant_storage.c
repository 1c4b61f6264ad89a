/* tenant_storage.c — a tenant's stream directories and their size (see tenant_storage.h). */
#include "api/tenant_storage.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "dataplane/log/log.h"
#include "dataplane/log/log_stream.h"

int tenant_storage_dirs(const char *root, const char *tenant, char *err, size_t errlen)
{
    static const struct {
        const char *format;
        mode_t mode;
    } dirs[] = {{"%s/tenants", 0711}, {"%s/tenants/%s", 0700}, {"%s/tenants/%s/streams", 0700}};
    if (seglog_mkdir_parents(root) != 0) {
        snprintf(err, errlen, "cannot create the data root %s: %s", root, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char path[2048];
        snprintf(path, sizeof path, dirs[i].format, root, tenant);
        if (mkdir(path, dirs[i].mode) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

int tenant_storage_create_stream(const char *root, const char *tenant, const char *stream_id, int partitions, char *err,
                                 size_t errlen)
{
    if (tenant_storage_dirs(root, tenant, err, errlen) != 0)
        return -1;
    /* each partition through a descriptor opened without following symlinks: the tenant's worker
     * can write its streams directory, and this runs as root (common/fs.h) */
    for (int p = 0; p < (partitions > 0 ? partitions : 1); p++) {
        char rel[256], dir[64];
        snprintf(rel, sizeof rel, "tenants/%s/streams/%s/%d", tenant, stream_id, p);
        int fd = fs_open_dir_below(root, rel, true, err, errlen);
        if (fd < 0)
            return -1;
        fs_fd_path(fd, dir, sizeof dir);
        struct seglog_writer *w;
        int rc = seglog_writer_open(dir, NULL, &w, err, errlen);
        if (rc == 0)
            seglog_writer_close(w);
        close(fd);
        if (rc != 0 && rc != LOG_WRITER_BUSY) /* busy: another process is writing it, so it exists */
            return -1;
    }
    return 0;
}

/* ---- the measurement cache ---------------------------------------------------------------- */

static struct {
    pthread_mutex_t mu;
    struct {
        char tenant[40]; /* "" = free */
        uint64_t bytes;
        long long measured_ms; /* CLOCK_MONOTONIC */
    } slots[TENANT_STORAGE_CACHE_SLOTS];
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The slot of tenant, or -1 (cache mutex held). */
static int slot_of(const char *tenant)
{
    for (int i = 0; i < TENANT_STORAGE_CACHE_SLOTS; i++)
        if (strcmp(cache.slots[i].tenant, tenant) == 0)
            return i;
    return -1;
}

int tenant_storage_used(const char *root, const char *tenant, uint64_t *bytes, char *err, size_t errlen)
{
    long long now = clock_mono_ms();
    pthread_mutex_lock(&cache.mu);
    int i = slot_of(tenant);
    if (i >= 0 && now - cache.slots[i].measured_ms < TENANT_STORAGE_CACHE_MS) {
        *bytes = cache.slots[i].bytes;
        pthread_mutex_unlock(&cache.mu);
        return 0;
    }
    pthread_mutex_unlock(&cache.mu);
    /* Measured outside the lock: two threads may both measure; both answers are right. */
    char streams[2048];
    snprintf(streams, sizeof streams, "%s/tenants/%s/streams", root, tenant);
    if (seglog_streams_bytes(streams, bytes, err, errlen) != 0)
        return -1;
    pthread_mutex_lock(&cache.mu);
    i = slot_of(tenant);
    if (i < 0) { /* a free slot, or the oldest measurement */
        i = 0;
        for (int j = 0; j < TENANT_STORAGE_CACHE_SLOTS; j++) {
            if (!cache.slots[j].tenant[0]) {
                i = j;
                break;
            }
            if (cache.slots[j].measured_ms < cache.slots[i].measured_ms)
                i = j;
        }
        snprintf(cache.slots[i].tenant, sizeof cache.slots[i].tenant, "%s", tenant);
    }
    cache.slots[i].bytes = *bytes;
    cache.slots[i].measured_ms = now;
    pthread_mutex_unlock(&cache.mu);
    return 0;
}

void tenant_storage_wrote(const char *tenant, uint64_t bytes)
{
    pthread_mutex_lock(&cache.mu);
    int i = slot_of(tenant);
    if (i >= 0)
        cache.slots[i].bytes += bytes;
    pthread_mutex_unlock(&cache.mu);
}
