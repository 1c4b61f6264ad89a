/* log.c — the embedded log's partitions: segment files, framing, recovery, readers (see log.h).
 * Every file in a partition is opened with O_NOFOLLOW: the api runs as root in directories a
 * tenant's worker can write, and a symlink planted there must not lead it to another file. */
#include "dataplane/log/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "dataplane/log/crc32c.h"
#include "dataplane/log/log_compact.h"
#include "dataplane/log/log_frame.h"

#define LOG_DEFAULT_SEGMENT (64ull << 20)
#define LOG_WRITE_BUFFER (256u << 10)
#define LOG_READ_BUFFER (1u << 20)
/* scan_segment() reads through a buffer that stays in cache (grown for a larger frame) */
#define LOG_SCAN_BUFFER (64u << 10)
#define LOG_PATH_MAX 4096

/* ---------------------------------------------------------------- helpers */

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

#define get_u32 seglog_get_u32
#define put_u32 seglog_put_u32

static void segment_path(char *buf, size_t size, const char *dir, uint64_t base)
{
    snprintf(buf, size, "%s/%020" PRIu64 ".log", dir, base);
}

/* mkdir(path) that, when running as root, gives a directory it creates the owner of its parent,
 * so a tree the api (root) extends under a tenant's directory stays the tenant's. */
static int mkdir_one(char *path, bool inherit_owner)
{
    if (mkdir(path, 0755) != 0)
        return errno == EEXIST ? 0 : -1;
    if (!inherit_owner || geteuid() != 0)
        return 0;
    char *slash = strrchr(path, '/');
    struct stat parent;
    int rc;
    if (slash && slash != path) {
        *slash = '\0';
        rc = stat(path, &parent);
        *slash = '/';
    } else {
        rc = stat(slash ? "/" : ".", &parent);
    }
    if (rc == 0 && (parent.st_uid != 0 || parent.st_gid != 0) && chown(path, parent.st_uid, parent.st_gid) != 0)
        return -1;
    return 0;
}

static int mkdir_parents(const char *dir, bool inherit_owner)
{
    char tmp[LOG_PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, dir, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir_one(tmp, inherit_owner) != 0)
            return -1;
        *p = '/';
    }
    return mkdir_one(tmp, inherit_owner);
}

int seglog_mkdir_parents(const char *dir) { return mkdir_parents(dir, false); }

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Base offsets of the segment files in dir, sorted; *bases is malloc'ed (caller frees). */
static int list_segments(const char *dir, uint64_t **bases, int *n, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return fail(err, errlen, "cannot open log directory %s: %s", dir, strerror(errno));
    uint64_t *v = NULL;
    int count = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        size_t len = strlen(name);
        if (len != 24 || strcmp(name + 20, ".log") != 0 || strspn(name, "0123456789") != 20)
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) {
                free(v);
                closedir(d);
                return fail(err, errlen, "out of memory");
            }
            v = nv;
        }
        v[count++] = strtoull(name, NULL, 10);
    }
    closedir(d);
    if (count > 1)
        qsort(v, (size_t)count, sizeof *v, cmp_u64);
    *bases = v;
    *n = count;
    return 0;
}

/* Counting a segment's records (seglog_reader_end_offset, seglog_partition_end_offset) checks the
 * checksums of the frames that start in its last LOG_VERIFY_TAIL bytes only: a torn write
 * (SIGKILL, power loss) leaves a short last frame, which its length shows, or frames near the end
 * whose bytes did not all reach the file, which their checksums show. Earlier frames were whole
 * when written, and readers check every checksum as they read (a corrupt one is an error there).
 * Writer recovery checks them all. */
#define LOG_VERIFY_TAIL (1u << 20)

/* seglog_frame_check() for a frame at file position pos: before verify_from, by its length alone
 * (a gap frame, whose count is in its payload, is always checked). */
static enum seglog_frame_status frame_check_from(const unsigned char *p, size_t have, uint64_t pos,
                                                 uint64_t verify_from, size_t *size, uint64_t *spans)
{
    if (pos >= verify_from || have < LOG_FRAME_HEADER || get_u32(p) == LOG_GAP_MARK)
        return seglog_frame_check(p, have, size, spans);
    size_t n = seglog_frame_size(get_u32(p));
    if (n == 0)
        return LOG_FRAME_BAD;
    if (have < n)
        return LOG_FRAME_PARTIAL;
    *size = n;
    *spans = 1;
    return LOG_FRAME_RECORD;
}

/* Scans the frames of an open segment from byte start (a frame boundary): *records whole valid
 * records follow it, ending at byte *valid_end. Stops at the first torn or corrupt frame; the
 * checksums of frames starting before byte verify_from are not checked (0: check all). */
static int scan_segment(int fd, uint64_t start, uint64_t verify_from, uint64_t *records, uint64_t *valid_end, char *err,
                        size_t errlen)
{
    size_t cap = LOG_SCAN_BUFFER, have = 0;
    unsigned char *buf = malloc(cap);
    if (!buf)
        return fail(err, errlen, "out of memory");
    uint64_t pos = start, count = 0; /* file position of buf[0], records so far */
    size_t at = 0;
    for (;;) {
        /* parse whole frames in buf[at..have) */
        for (;;) {
            size_t size;
            uint64_t spans;
            enum seglog_frame_status st = frame_check_from(buf + at, have - at, pos + at, verify_from, &size, &spans);
            if (st == LOG_FRAME_BAD)
                goto done;
            if (st == LOG_FRAME_PARTIAL)
                break;
            at += size;
            count += spans;
        }
        /* keep the partial frame, read more */
        memmove(buf, buf + at, have - at);
        pos += at;
        have -= at;
        at = 0;
        if (have >= LOG_FRAME_HEADER) {
            size_t need = seglog_frame_size(get_u32(buf));
            if (need > cap) {
                unsigned char *nb = realloc(buf, need);
                if (!nb) {
                    free(buf);
                    return fail(err, errlen, "out of memory");
                }
                buf = nb;
                cap = need;
            }
        }
        ssize_t r = pread(fd, buf + have, cap - have, (off_t)(pos + have));
        if (r < 0) {
            free(buf);
            return fail(err, errlen, "cannot read segment: %s", strerror(errno));
        }
        if (r == 0)
            break;
        have += (size_t)r;
    }
done:
    free(buf);
    *records = count;
    *valid_end = pos + at;
    return 0;
}

/* ---------------------------------------------------------------- writer */

struct seglog_writer {
    char *dir;
    struct seglog_options opt;
    uint64_t *bases; /* sorted base offsets of the segments; the last is active */
    uint64_t *sizes; /* their sizes in bytes (the active one: written, not buffered) */
    int nsegments, cap_segments;
    int fd;              /* active segment */
    uint64_t end_offset; /* offset of the next append */
    unsigned char *buf;  /* write buffer */
    size_t buf_len;
    uint32_t unsynced; /* records appended since the last fsync */
    int64_t last_sync_ms, last_retention_ms;
    uint64_t recovered_bytes;
    int lock_fd;      /* LOG_LOCK_FILE, flock()ed exclusively while the writer is open */
    bool chown_files; /* running as root: files created here get the directory's owner */
    uid_t dir_uid;
    gid_t dir_gid;
    bool hold_commits;                   /* publish only on seglog_writer_commit() */
    bool has_commit_file;                /* LOG_COMMIT_FILE exists: keep it current */
    uint64_t committed;                  /* what it says, when it exists */
    struct seglog_compaction compaction; /* an upsert stream's (key set), see log_compact.h */
    struct seglog_compactor *compactor;  /* offset map of the clean part; NULL until the first run */
    uint64_t compacted_to;               /* segments before this offset are clean (compacted) */
};

/* The committed end in dir's LOG_COMMIT_FILE into *offset; 0, or -1 when there is none. */
static int commit_file_read(const char *dir, uint64_t *offset)
{
    char path[LOG_PATH_MAX], text[32];
    snprintf(path, sizeof path, "%s/%s", dir, LOG_COMMIT_FILE);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    close(fd);
    if (n <= 0)
        return -1;
    text[n] = '\0';
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || (*end && *end != '\n'))
        return -1;
    *offset = v;
    return 0;
}

/* Replaces w's LOG_COMMIT_FILE with offset (write to a temporary file, rename over). No fsync:
 * after a crash an older, smaller value may come back, which only makes readers wait. */
static int commit_file_write(struct seglog_writer *w, uint64_t offset, char *err, size_t errlen)
{
    if (w->has_commit_file && w->committed == offset)
        return 0;
    char path[LOG_PATH_MAX], tmp[LOG_PATH_MAX + 8], text[32];
    snprintf(path, sizeof path, "%s/%s", w->dir, LOG_COMMIT_FILE);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int len = snprintf(text, sizeof text, "%" PRIu64 "\n", offset);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
    bool ok = write(fd, text, (size_t)len) == len && (!w->chown_files || fchown(fd, w->dir_uid, w->dir_gid) == 0);
    if (close(fd) != 0 || !ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return fail(err, errlen, "cannot write %s: %s", path, strerror(errno));
    }
    w->has_commit_file = true;
    w->committed = offset;
    return 0;
}

void seglog_writer_hold_commits(struct seglog_writer *w) { w->hold_commits = true; }

int seglog_writer_commit(struct seglog_writer *w, uint64_t offset, char *err, size_t errlen)
{
    if (offset > w->end_offset)
        return fail(err, errlen, "cannot commit offset %" PRIu64 " of log %s: it ends at %" PRIu64, offset, w->dir,
                    w->end_offset);
    if (commit_file_write(w, offset, err, errlen) != 0)
        return -1;
    if (!w->compaction.key)
        return 0;
    struct timespec ts; /* segments closed before this commit may be compactable now */
    clock_gettime(CLOCK_REALTIME, &ts);
    return seglog_writer_compact(w, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, err, errlen);
}

static int writer_add_segment(struct seglog_writer *w, uint64_t base, uint64_t size)
{
    if (w->nsegments == w->cap_segments) {
        int cap = w->cap_segments ? w->cap_segments * 2 : 16;
        uint64_t *nb = realloc(w->bases, (size_t)cap * sizeof *nb);
        if (!nb)
            return -1;
        w->bases = nb;
        uint64_t *ns = realloc(w->sizes, (size_t)cap * sizeof *ns);
        if (!ns)
            return -1;
        w->sizes = ns;
        w->cap_segments = cap;
    }
    w->bases[w->nsegments] = base;
    w->sizes[w->nsegments] = size;
    w->nsegments++;
    return 0;
}

static int writer_open_active(struct seglog_writer *w, bool create, char *err, size_t errlen)
{
    char path[LOG_PATH_MAX];
    segment_path(path, sizeof path, w->dir, w->bases[w->nsegments - 1]);
    if (w->fd >= 0)
        close(w->fd);
    w->fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (w->fd < 0)
        return fail(err, errlen, "cannot open segment %s: %s", path, strerror(errno));
    if (create && w->chown_files && fchown(w->fd, w->dir_uid, w->dir_gid) != 0)
        return fail(err, errlen, "cannot give segment %s its directory's owner: %s", path, strerror(errno));
    return 0;
}

/* Recovery: drop empty trailing segments, cut a torn tail off the last one. */
static int writer_recover(struct seglog_writer *w, char *err, size_t errlen)
{
    char path[LOG_PATH_MAX];
    for (;;) {
        uint64_t base = w->bases[w->nsegments - 1];
        segment_path(path, sizeof path, w->dir, base);
        int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return fail(err, errlen, "cannot open segment %s: %s", path, strerror(errno));
        struct stat st;
        uint64_t records, valid_end;
        if (fstat(fd, &st) != 0 || scan_segment(fd, 0, 0, &records, &valid_end, err, errlen) != 0) {
            close(fd);
            return err && *err ? -1 : fail(err, errlen, "cannot stat %s", path);
        }
        if (valid_end < (uint64_t)st.st_size) {
            w->recovered_bytes += (uint64_t)st.st_size - valid_end;
            log_warn("log %s: cut a torn or corrupt tail of %" PRIu64 " bytes at offset %" PRIu64, path,
                     (uint64_t)st.st_size - valid_end, base + records);
            if (ftruncate(fd, (off_t)valid_end) != 0 || fsync(fd) != 0) {
                close(fd);
                return fail(err, errlen, "cannot truncate %s: %s", path, strerror(errno));
            }
        }
        close(fd);
        if (records == 0 && w->nsegments > 1) {
            /* an empty last segment (crash right after a roll): recheck the previous one */
            if (unlink(path) != 0)
                return fail(err, errlen, "cannot remove %s: %s", path, strerror(errno));
            w->nsegments--;
            continue;
        }
        w->sizes[w->nsegments - 1] = valid_end;
        w->end_offset = base + records;
        return 0;
    }
}

/* Takes the partition's writer lock (w->dir/LOG_LOCK_FILE, flock, not waiting). 0, -1 on an
 * error, LOG_WRITER_BUSY when another writer holds it. */
static int writer_lock(struct seglog_writer *w, char *err, size_t errlen)
{
    char path[LOG_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", w->dir, LOG_LOCK_FILE);
    w->lock_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (w->lock_fd < 0)
        return fail(err, errlen, "cannot open lock file %s: %s", path, strerror(errno));
    struct stat st;
    if (w->chown_files && fstat(w->lock_fd, &st) == 0 && (st.st_uid != w->dir_uid || st.st_gid != w->dir_gid) &&
        fchown(w->lock_fd, w->dir_uid, w->dir_gid) != 0)
        return fail(err, errlen, "cannot give lock file %s its directory's owner: %s", path, strerror(errno));
    while (flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK) {
            fail(err, errlen, "log %s is being written by another writer (it holds %s); one writer per partition",
                 w->dir, LOG_LOCK_FILE);
            return LOG_WRITER_BUSY;
        }
        return fail(err, errlen, "cannot lock %s: %s", path, strerror(errno));
    }
    return 0;
}

int seglog_writer_open(const char *dir, const struct seglog_options *opt, struct seglog_writer **out, char *err,
                       size_t errlen)
{
    *out = NULL;
    if (mkdir_parents(dir, true) != 0)
        return fail(err, errlen, "cannot create log directory %s: %s", dir, strerror(errno));
    struct seglog_writer *w = calloc(1, sizeof *w);
    if (!w)
        return fail(err, errlen, "out of memory");
    w->fd = -1;
    w->lock_fd = -1;
    int rc = -1;
    if (opt)
        w->opt = *opt;
    if (w->opt.segment_bytes == 0)
        w->opt.segment_bytes = LOG_DEFAULT_SEGMENT;
    w->dir = strdup(dir);
    w->buf = malloc(LOG_WRITE_BUFFER);
    w->last_sync_ms = clock_mono_ms();
    uint64_t *bases = NULL;
    int n = 0;
    if (!w->dir || !w->buf) {
        fail(err, errlen, "out of memory");
        goto err;
    }
    struct stat dst;
    if (stat(dir, &dst) != 0) {
        fail(err, errlen, "cannot stat log directory %s: %s", dir, strerror(errno));
        goto err;
    }
    w->chown_files = geteuid() == 0 && (dst.st_uid != 0 || dst.st_gid != 0);
    w->dir_uid = dst.st_uid;
    w->dir_gid = dst.st_gid;
    if ((rc = writer_lock(w, err, errlen)) != 0)
        goto err;
    rc = -1;
    if (list_segments(dir, &bases, &n, err, errlen) != 0)
        goto err;
    for (int i = 0; i < n; i++) {
        char path[LOG_PATH_MAX];
        struct stat st;
        segment_path(path, sizeof path, dir, bases[i]);
        if (stat(path, &st) != 0 || writer_add_segment(w, bases[i], (uint64_t)st.st_size) != 0) {
            fail(err, errlen, "cannot stat %s: %s", path, strerror(errno));
            goto err;
        }
    }
    free(bases);
    bases = NULL;
    w->has_commit_file = commit_file_read(dir, &w->committed) == 0;
    if (w->nsegments == 0) {
        if (writer_add_segment(w, 0, 0) != 0) {
            fail(err, errlen, "out of memory");
            goto err;
        }
        if (writer_open_active(w, true, err, errlen) != 0 || fsync_dir(dir) != 0)
            goto err;
    } else {
        if (writer_recover(w, err, errlen) != 0 || writer_open_active(w, false, err, errlen) != 0)
            goto err;
    }
    *out = w;
    return 0;
err:
    free(bases);
    seglog_writer_close(w);
    return rc;
}

static int writer_write_out(struct seglog_writer *w, char *err, size_t errlen)
{
    size_t off = 0;
    while (off < w->buf_len) {
        ssize_t n = write(w->fd, w->buf + off, w->buf_len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail(err, errlen, "cannot write log %s: %s", w->dir, strerror(errno));
        }
        off += (size_t)n;
    }
    w->sizes[w->nsegments - 1] += w->buf_len;
    w->buf_len = 0;
    return 0;
}

int seglog_writer_flush(struct seglog_writer *w, bool sync, char *err, size_t errlen)
{
    if (writer_write_out(w, err, errlen) != 0)
        return -1;
    if (w->has_commit_file && !w->hold_commits && commit_file_write(w, w->end_offset, err, errlen) != 0)
        return -1;
    int64_t now = clock_mono_ms();
    if (w->opt.retention_ms && now - w->last_retention_ms >= 1000) {
        /* age-based retention also on a partition that no longer rolls */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        w->last_retention_ms = now;
        if (seglog_writer_enforce_retention(w, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, err, errlen) != 0)
            return -1;
    }
    if (!sync && !(w->opt.fsync_every_ms && w->unsynced && now - w->last_sync_ms >= w->opt.fsync_every_ms))
        return 0;
    if (fsync(w->fd) != 0)
        return fail(err, errlen, "cannot fsync log %s: %s", w->dir, strerror(errno));
    w->unsynced = 0;
    w->last_sync_ms = now;
    return 0;
}

void seglog_writer_close(struct seglog_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0) {
        char err[256];
        if (w->buf_len && writer_write_out(w, err, sizeof err) != 0)
            log_error("%s", err);
        close(w->fd);
    }
    if (w->lock_fd >= 0)
        close(w->lock_fd); /* releases the flock */
    if (w->compaction.release)
        w->compaction.release(w->compaction.ctx);
    seglog_compactor_free(w->compactor);
    free(w->dir);
    free(w->bases);
    free(w->sizes);
    free(w->buf);
    free(w);
}

static int writer_roll(struct seglog_writer *w, char *err, size_t errlen)
{
    bool sync = w->opt.fsync_every_records || w->opt.fsync_every_ms;
    if (seglog_writer_flush(w, sync, err, errlen) != 0)
        return -1;
    if (writer_add_segment(w, w->end_offset, 0) != 0)
        return fail(err, errlen, "out of memory");
    if (writer_open_active(w, true, err, errlen) != 0)
        return -1;
    if (sync)
        fsync_dir(w->dir);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (seglog_writer_enforce_retention(w, now_ms, err, errlen) != 0)
        return -1;
    return seglog_writer_compact(w, now_ms, err, errlen);
}

void seglog_writer_set_compaction(struct seglog_writer *w, const struct seglog_compaction *c) { w->compaction = *c; }

/* Whether the dirty part of the closed segments bases[0..n) is a large enough fraction of them
 * (the first clean are clean). */
static bool dirty_enough(const struct seglog_writer *w, int n, int clean)
{
    uint64_t clean_bytes = 0, dirty_bytes = 0;
    for (int i = 0; i < n; i++)
        *(i < clean ? &clean_bytes : &dirty_bytes) += w->sizes[i];
    double ratio = w->compaction.min_dirty_ratio > 0 ? w->compaction.min_dirty_ratio : 0.5;
    return clean == 0 || (double)dirty_bytes >= ratio * (double)(clean_bytes + dirty_bytes);
}

static void writer_forget_compaction(struct seglog_writer *w)
{
    seglog_compactor_free(w->compactor);
    w->compactor = NULL;
    w->compacted_to = 0;
}

int seglog_writer_compact(struct seglog_writer *w, int64_t now_ms, char *err, size_t errlen)
{
    if (!w->compaction.key)
        return 0;
    /* only what no truncate can cut: closed segments wholly before the committed end */
    uint64_t limit = w->hold_commits || w->has_commit_file ? w->committed : w->end_offset;
    int n = 0, clean = 0;
    while (n < w->nsegments - 1 && w->bases[n + 1] <= limit)
        n++;
    if (!w->compactor)
        w->compacted_to = 0;
    while (clean < n && w->bases[clean + 1] <= w->compacted_to)
        clean++;
    if (clean == n || !dirty_enough(w, n, clean))
        return 0; /* nothing newly closed and committed, or too little of it */
    if (!w->compactor && !(w->compactor = seglog_compactor_new()))
        return fail(err, errlen, "out of memory");
    if (seglog_compact_segments(w->compactor, w->dir, w->bases, n, clean, &w->compaction, now_ms, w->sizes, err,
                                errlen) != 0) {
        writer_forget_compaction(w); /* the next run reads everything again */
        return -1;
    }
    w->compacted_to = w->bases[n];
    return 0;
}

/* Appends the record prefix[0..plen) data[0..dlen) (plen ≤ LOG_KIND_PREFIX). */
static int writer_append(struct seglog_writer *w, const char *prefix, uint32_t plen, const void *data, uint32_t dlen,
                         uint64_t *offset, char *err, size_t errlen)
{
    if (dlen > LOG_MAX_RECORD - plen)
        return fail(err, errlen, "record of %u bytes is larger than the limit of %u", dlen + plen, LOG_MAX_RECORD);
    uint32_t len = plen + dlen;
    size_t frame = LOG_FRAME_HEADER + (size_t)len;
    uint64_t active = w->sizes[w->nsegments - 1] + w->buf_len;
    if (active > 0 && active + frame > w->opt.segment_bytes && writer_roll(w, err, errlen) != 0)
        return -1;
    if (w->buf_len + frame > LOG_WRITE_BUFFER && writer_write_out(w, err, errlen) != 0)
        return -1;
    unsigned char hdr[LOG_FRAME_HEADER + LOG_KIND_PREFIX];
    put_u32(hdr, len);
    put_u32(hdr + 4, crc32c(crc32c(0, prefix, plen), data, dlen));
    memcpy(hdr + LOG_FRAME_HEADER, prefix, plen);
    if (frame > LOG_WRITE_BUFFER) { /* a huge record: write it directly */
        memcpy(w->buf, hdr, LOG_FRAME_HEADER + plen);
        w->buf_len = LOG_FRAME_HEADER + plen;
        if (writer_write_out(w, err, errlen) != 0)
            return -1;
        ssize_t n = write(w->fd, data, dlen);
        if (n != (ssize_t)dlen)
            return fail(err, errlen, "cannot write log %s: %s", w->dir, strerror(errno));
        w->sizes[w->nsegments - 1] += dlen;
    } else {
        memcpy(w->buf + w->buf_len, hdr, LOG_FRAME_HEADER + plen);
        memcpy(w->buf + w->buf_len + LOG_FRAME_HEADER + plen, data, dlen);
        w->buf_len += frame;
    }
    if (offset)
        *offset = w->end_offset;
    w->end_offset++;
    w->unsynced++;
    if (w->opt.fsync_every_records && w->unsynced >= w->opt.fsync_every_records)
        return seglog_writer_flush(w, true, err, errlen);
    if (w->opt.fsync_every_ms && clock_mono_ms() - w->last_sync_ms >= w->opt.fsync_every_ms)
        return seglog_writer_flush(w, true, err, errlen);
    return 0;
}

int seglog_writer_append(struct seglog_writer *w, const void *data, uint32_t len, uint64_t *offset, char *err,
                         size_t errlen)
{
    return writer_append(w, "", 0, data, len, offset, err, errlen);
}

int seglog_writer_append_kind(struct seglog_writer *w, enum row_kind kind, const void *data, uint32_t len,
                              uint64_t *offset, char *err, size_t errlen)
{
    enum row_kind looks;
    /* a +I row is stored as it is, unless it would read as having a prefix (a record that is
     * not JSON, copied from elsewhere): then it gets "+I" */
    if (kind == ROW_INSERT &&
        (len < LOG_KIND_PREFIX || (data && ((const char *)data)[0] != '+' && ((const char *)data)[0] != '-') ||
         row_kind_parse(data, LOG_KIND_PREFIX, &looks) != 0))
        return writer_append(w, "", 0, data, len, offset, err, errlen);
    return writer_append(w, row_kind_name(kind), LOG_KIND_PREFIX, data, len, offset, err, errlen);
}

void seglog_record_split(const char *data, uint32_t len, enum row_kind *kind, const char **row, uint32_t *row_len)
{
    *kind = ROW_INSERT;
    *row = data;
    *row_len = len;
    if (len >= LOG_KIND_PREFIX && (data[0] == '+' || data[0] == '-') &&
        row_kind_parse(data, LOG_KIND_PREFIX, kind) == 0) {
        *row = data + LOG_KIND_PREFIX;
        *row_len = len - LOG_KIND_PREFIX;
    }
}

uint64_t seglog_writer_end_offset(const struct seglog_writer *w) { return w->end_offset; }
uint64_t seglog_writer_start_offset(const struct seglog_writer *w) { return w->bases[0]; }
uint64_t seglog_writer_recovered_bytes(const struct seglog_writer *w) { return w->recovered_bytes; }

/* Byte position of record `offset` in the segment with base `base` (offset ≥ base). */
static int segment_find(const char *dir, uint64_t base, uint64_t offset, uint64_t *pos, char *err, size_t errlen)
{
    char path[LOG_PATH_MAX];
    segment_path(path, sizeof path, dir, base);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, "cannot open segment %s: %s", path, strerror(errno));
    uint64_t p = 0;
    unsigned char hdr[LOG_GAP_FRAME];
    for (uint64_t o = base; o < offset;) {
        if (pread(fd, hdr, LOG_FRAME_HEADER, (off_t)p) != LOG_FRAME_HEADER) {
            close(fd);
            return fail(err, errlen, "segment %s ends before offset %" PRIu64, path, offset);
        }
        uint64_t spans = 1;
        if (get_u32(hdr) == LOG_GAP_MARK && (pread(fd, hdr, LOG_GAP_FRAME, (off_t)p) != LOG_GAP_FRAME ||
                                             (spans = seglog_get_u64(hdr + LOG_FRAME_HEADER)) > offset - o)) {
            close(fd);
            return fail(err, errlen, "offset %" PRIu64 " of segment %s was compacted", offset, path);
        }
        p += seglog_frame_size(get_u32(hdr));
        o += spans;
    }
    close(fd);
    *pos = p;
    return 0;
}

int seglog_writer_truncate(struct seglog_writer *w, uint64_t offset, char *err, size_t errlen)
{
    if (seglog_writer_flush(w, false, err, errlen) != 0)
        return -1;
    if (offset > w->end_offset)
        return fail(err, errlen, "cannot truncate log %s to offset %" PRIu64 ": it ends at %" PRIu64, w->dir, offset,
                    w->end_offset);
    if (offset < w->bases[0])
        return fail(err, errlen, "cannot truncate log %s to offset %" PRIu64 ": retention removed it", w->dir, offset);
    if (offset == w->end_offset)
        return 0;
    char path[LOG_PATH_MAX];
    while (w->nsegments > 1 && w->bases[w->nsegments - 1] > offset) {
        segment_path(path, sizeof path, w->dir, w->bases[w->nsegments - 1]);
        if (unlink(path) != 0)
            return fail(err, errlen, "cannot remove %s: %s", path, strerror(errno));
        w->nsegments--;
    }
    uint64_t base = w->bases[w->nsegments - 1], pos = 0;
    if (segment_find(w->dir, base, offset, &pos, err, errlen) != 0)
        return -1;
    if (writer_open_active(w, false, err, errlen) != 0)
        return -1;
    if (ftruncate(w->fd, (off_t)pos) != 0 || fsync(w->fd) != 0 || fsync_dir(w->dir) != 0)
        return fail(err, errlen, "cannot truncate log %s: %s", w->dir, strerror(errno));
    w->sizes[w->nsegments - 1] = pos;
    w->end_offset = offset;
    if (offset < w->compacted_to)
        writer_forget_compaction(w); /* the offset map names records cut off */
    if (w->has_commit_file && w->committed > offset)
        return commit_file_write(w, offset, err, errlen);
    return 0;
}

int seglog_writer_enforce_retention(struct seglog_writer *w, int64_t now_ms, char *err, size_t errlen)
{
    uint64_t total = w->buf_len;
    for (int i = 0; i < w->nsegments; i++)
        total += w->sizes[i];
    int drop = 0;
    char path[LOG_PATH_MAX];
    while (drop < w->nsegments - 1) {
        bool too_big = w->opt.retention_bytes && total > w->opt.retention_bytes;
        bool too_old = false;
        if (!too_big && w->opt.retention_ms) {
            struct stat st;
            segment_path(path, sizeof path, w->dir, w->bases[drop]);
            if (stat(path, &st) == 0) {
                int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
                too_old = now_ms - mtime > w->opt.retention_ms;
            }
        }
        if (!too_big && !too_old)
            break;
        segment_path(path, sizeof path, w->dir, w->bases[drop]);
        if (unlink(path) != 0 && errno != ENOENT)
            return fail(err, errlen, "cannot remove %s: %s", path, strerror(errno));
        total -= w->sizes[drop];
        drop++;
    }
    if (drop) {
        memmove(w->bases, w->bases + drop, (size_t)(w->nsegments - drop) * sizeof *w->bases);
        memmove(w->sizes, w->sizes + drop, (size_t)(w->nsegments - drop) * sizeof *w->sizes);
        w->nsegments -= drop;
    }
    return 0;
}

/* ---------------------------------------------------------------- reader */

struct seglog_reader {
    char *dir;
    uint64_t base;     /* base offset of the open segment */
    int fd;            /* open segment */
    uint64_t file_pos; /* file position just after buf[have] */
    uint64_t next;     /* offset of the next record to return */
    uint64_t stop;     /* reads return no record at or past this offset */
    unsigned char *buf;
    size_t cap, at, have; /* unread bytes are buf[at..have) */
    /* seglog_reader_end_offset(): how far the last segment has been counted, so each call only
     * scans what was appended since */
    uint64_t end_base, end_pos, end_count;
    bool end_valid;
    bool committed_only; /* stop at the partition's committed end (seglog_reader_committed_only) */
    uint64_t limit;      /* that end as last read; UINT64_MAX when there is no commit file */
    /* A tailing reader polls: it looks at the commit file and the directory again only when a
     * stat says they changed, or after LOG_RECHECK_MS (timestamps are coarse, inodes reused). */
    struct stat commit_st;  /* of the commit file as last read */
    int64_t commit_read_ms; /* when; 0: read it next time */
    struct timespec dir_mtime;
    int64_t dir_listed_ms; /* when the directory was listed and had no later segment; 0: list */
};

#define LOG_RECHECK_MS 1000

static bool same_time(struct timespec a, struct timespec b) { return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec; }

/* r->limit from the commit file, re-read only when it changed (or was last read a while ago). */
static void reader_check_commit(struct seglog_reader *r)
{
    char path[LOG_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", r->dir, LOG_COMMIT_FILE);
    struct stat st;
    int64_t now = clock_mono_ms();
    if (stat(path, &st) != 0) {
        r->limit = UINT64_MAX;
        r->commit_read_ms = 0;
        return;
    }
    if (r->commit_read_ms && now - r->commit_read_ms < LOG_RECHECK_MS && st.st_ino == r->commit_st.st_ino &&
        st.st_size == r->commit_st.st_size && same_time(st.st_mtim, r->commit_st.st_mtim))
        return;
    r->commit_st = st; /* before reading: a replacement in between shows as a change next time */
    r->commit_read_ms = now;
    if (commit_file_read(r->dir, &r->limit) != 0) {
        r->limit = UINT64_MAX;
        r->commit_read_ms = 0;
    }
}

void seglog_reader_committed_only(struct seglog_reader *r)
{
    r->committed_only = true;
    r->commit_read_ms = 0;
    reader_check_commit(r);
}

/* The smallest segment base greater than r->base, if any (0 if none). The directory is listed
 * again only when its mtime moved (a segment was added) or after LOG_RECHECK_MS. */
static int reader_next_segment(struct seglog_reader *r, uint64_t *next_base, char *err, size_t errlen)
{
    *next_base = 0;
    struct stat st;
    int64_t now = clock_mono_ms();
    bool have_st = stat(r->dir, &st) == 0;
    if (have_st && r->dir_listed_ms && now - r->dir_listed_ms < LOG_RECHECK_MS && same_time(st.st_mtim, r->dir_mtime))
        return 0;
    uint64_t *bases;
    int n;
    if (list_segments(r->dir, &bases, &n, err, errlen) != 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (bases[i] > r->base) {
            *next_base = bases[i];
            break;
        }
    free(bases);
    /* stat before listing: a segment added during the listing moves the mtime past this one */
    r->dir_listed_ms = have_st && *next_base == 0 ? now : 0;
    if (have_st)
        r->dir_mtime = st.st_mtim;
    return 0;
}

static int reader_open_segment(struct seglog_reader *r, uint64_t base, char *err, size_t errlen)
{
    char path[LOG_PATH_MAX];
    segment_path(path, sizeof path, r->dir, base);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, "cannot open segment %s: %s", path, strerror(errno));
    if (r->fd >= 0)
        close(r->fd);
    r->fd = fd;
    r->base = base;
    r->file_pos = 0;
    r->at = r->have = 0;
    return 0;
}

/* Reads more bytes of the current segment into the buffer; returns the count read (0 at EOF). */
static ssize_t reader_fill(struct seglog_reader *r, char *err, size_t errlen)
{
    if (r->at > 0) {
        memmove(r->buf, r->buf + r->at, r->have - r->at);
        r->have -= r->at;
        r->at = 0;
    }
    if (r->have >= LOG_FRAME_HEADER) {
        size_t need = seglog_frame_size(get_u32(r->buf));
        if (need > r->cap) {
            unsigned char *nb = realloc(r->buf, need);
            if (!nb)
                return fail(err, errlen, "out of memory");
            r->buf = nb;
            r->cap = need;
        }
    }
    for (;;) {
        ssize_t n = pread(r->fd, r->buf + r->have, r->cap - r->have, (off_t)r->file_pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail(err, errlen, "cannot read log %s: %s", r->dir, strerror(errno));
        r->have += (size_t)n;
        r->file_pos += (uint64_t)n;
        return n;
    }
}

/* Parses whole frames from the buffer into recs (skipping records before `skip_to`). */
static int reader_parse(struct seglog_reader *r, struct stream_record *recs, int max, int *got, char *err,
                        size_t errlen)
{
    while (*got < max && r->next < r->stop) {
        const unsigned char *p = r->buf + r->at;
        size_t size;
        uint64_t spans;
        enum seglog_frame_status st = seglog_frame_check(p, r->have - r->at, &size, &spans);
        if (st == LOG_FRAME_PARTIAL)
            break;
        if (st == LOG_FRAME_BAD) {
            if (*got > 0)
                break; /* return the good records first; the error comes on the next read */
            return fail(err, errlen, "corrupt record at offset %" PRIu64 " in log %s (length %u or checksum)", r->next,
                        r->dir, get_u32(p));
        }
        r->at += size;
        if (st == LOG_FRAME_GAP) { /* records compaction removed */
            r->next += spans;
            continue;
        }
        struct stream_record *rec = &recs[(*got)++];
        rec->offset = r->next++;
        seglog_record_split((const char *)p + LOG_FRAME_HEADER, (uint32_t)(size - LOG_FRAME_HEADER), &rec->kind,
                            &rec->data, &rec->len);
    }
    return 0;
}

/* Reads up to max records with no regard to commits. */
static int reader_read(struct seglog_reader *r, struct stream_record *recs, int max, char *err, size_t errlen);

int seglog_reader_read(struct seglog_reader *r, struct stream_record *recs, int max, char *err, size_t errlen)
{
    r->stop = UINT64_MAX;
    if (!r->committed_only)
        return reader_read(r, recs, max, err, errlen);
    /* at the committed end, or with no commit file yet (a checkpointing writer may start at
     * any time): look again */
    if (r->next >= r->limit || r->limit == UINT64_MAX)
        reader_check_commit(r);
    if (r->next >= r->limit)
        return 0;
    if (r->limit - r->next < (uint64_t)max)
        max = (int)(r->limit - r->next);
    r->stop = r->limit; /* a gap can make offsets run ahead of the record count */
    return reader_read(r, recs, max, err, errlen);
}

static int reader_read(struct seglog_reader *r, struct stream_record *recs, int max, char *err, size_t errlen)
{
    int got = 0;
    if (reader_parse(r, recs, max, &got, err, errlen) != 0)
        return -1;
    if (got > 0)
        return got;
    for (;;) {
        if (r->next >= r->stop)
            return 0;
        ssize_t n = reader_fill(r, err, errlen);
        if (n < 0)
            return -1;
        if (reader_parse(r, recs, max, &got, err, errlen) != 0)
            return -1;
        if (got > 0)
            return got;
        if (n > 0)
            continue; /* a partial frame: read more */
        /* end of this segment: move on if a later one exists and nothing is left here */
        uint64_t next_base;
        if (reader_next_segment(r, &next_base, err, errlen) != 0)
            return -1;
        if (next_base == 0)
            return 0; /* at the end of the log: tail */
        /* the writer rolled; re-read once to catch bytes written just before the roll */
        n = reader_fill(r, err, errlen);
        if (n < 0)
            return -1;
        if (n > 0)
            continue;
        if (r->have != r->at)
            return fail(err, errlen, "log %s: segment %" PRIu64 " ends with a partial record", r->dir, r->base);
        if (next_base != r->next)
            return fail(err, errlen, "log %s: segment %" PRIu64 " follows offset %" PRIu64 " (a gap)", r->dir,
                        next_base, r->next);
        if (reader_open_segment(r, next_base, err, errlen) != 0)
            return -1;
    }
}

int seglog_reader_open(const char *dir, uint64_t offset, struct seglog_reader **out, char *err, size_t errlen)
{
    *out = NULL;
    uint64_t *bases;
    int n;
    if (list_segments(dir, &bases, &n, err, errlen) != 0)
        return -1;
    if (n == 0) {
        free(bases);
        return fail(err, errlen, "log %s has no segments", dir);
    }
    if (offset < bases[0]) {
        uint64_t first = bases[0];
        free(bases);
        return fail(err, errlen, "offset %" PRIu64 " of log %s was removed by retention (it starts at %" PRIu64 ")",
                    offset, dir, first);
    }
    uint64_t base = bases[0];
    for (int i = 0; i < n && bases[i] <= offset; i++)
        base = bases[i];
    free(bases);
    struct seglog_reader *r = calloc(1, sizeof *r);
    if (!r)
        return fail(err, errlen, "out of memory");
    r->fd = -1;
    r->dir = strdup(dir);
    r->cap = LOG_READ_BUFFER;
    r->buf = malloc(r->cap);
    if (!r->dir || !r->buf || reader_open_segment(r, base, err, errlen) != 0) {
        seglog_reader_close(r);
        return -1;
    }
    r->next = base;
    /* skip to offset (or past it, when compaction removed it: to the next record kept) */
    struct stream_record skip[256];
    while (r->next < offset) {
        r->stop = offset;
        int got = reader_read(r, skip, 256, err, errlen);
        if (got < 0 || (got == 0 && r->next < offset)) {
            if (got == 0)
                fail(err, errlen, "offset %" PRIu64 " is past the end of log %s (%" PRIu64 ")", offset, dir, r->next);
            seglog_reader_close(r);
            return -1;
        }
    }
    r->stop = UINT64_MAX;
    *out = r;
    return 0;
}

void seglog_reader_close(struct seglog_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r->dir);
    free(r->buf);
    free(r);
}

uint64_t seglog_reader_position(const struct seglog_reader *r) { return r->next; }

/* Where the checked tail of a segment of size bytes starts (see LOG_VERIFY_TAIL). */
static uint64_t tail_start(uint64_t size) { return size > LOG_VERIFY_TAIL ? size - LOG_VERIFY_TAIL : 0; }

int seglog_reader_end_offset(struct seglog_reader *r, uint64_t *end, char *err, size_t errlen)
{
    uint64_t *bases;
    int n;
    if (list_segments(r->dir, &bases, &n, err, errlen) != 0)
        return -1;
    uint64_t last = n ? bases[n - 1] : 0;
    free(bases);
    if (n == 0) {
        *end = 0;
        return 0;
    }
    if (!r->end_valid || r->end_base != last) {
        r->end_valid = true;
        r->end_base = last;
        r->end_pos = r->end_count = 0;
        if (last == r->base) { /* start from what this reader has already read */
            r->end_pos = r->file_pos - (r->have - r->at);
            r->end_count = r->next - r->base;
        }
    }
    char path[LOG_PATH_MAX];
    segment_path(path, sizeof path, r->dir, last);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, "cannot open segment %s: %s", path, strerror(errno));
    struct stat st;
    uint64_t size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    if (size < r->end_pos) /* truncated since: count again */
        r->end_pos = r->end_count = 0;
    uint64_t records, valid_end;
    int rc = scan_segment(fd, r->end_pos, tail_start(size), &records, &valid_end, err, errlen);
    close(fd);
    if (rc != 0)
        return -1;
    r->end_pos = valid_end;
    r->end_count += records;
    *end = last + r->end_count;
    uint64_t committed;
    if (r->committed_only && commit_file_read(r->dir, &committed) == 0 && committed < *end)
        *end = committed;
    return 0;
}

int seglog_partition_end_offset(const char *dir, uint64_t *end, char *err, size_t errlen)
{
    uint64_t *bases;
    int n;
    if (list_segments(dir, &bases, &n, err, errlen) != 0)
        return -1;
    for (int i = n - 1; i >= 0; i--) { /* no segment: the loop is skipped, the end is 0 */
        char path[LOG_PATH_MAX];
        segment_path(path, sizeof path, dir, bases[i]);
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            free(bases);
            return fail(err, errlen, "cannot open segment %s: %s", path, strerror(errno));
        }
        struct stat st;
        uint64_t records, valid_end;
        int rc = scan_segment(fd, 0, fstat(fd, &st) == 0 ? tail_start((uint64_t)st.st_size) : 0, &records, &valid_end,
                              err, errlen);
        close(fd);
        if (rc != 0) {
            free(bases);
            return -1;
        }
        if (records > 0 || i == 0) {
            *end = bases[i] + records;
            free(bases);
            return 0;
        }
    }
    free(bases);
    *end = 0;
    return 0;
}

int seglog_partition_bytes(const char *dir, uint64_t *bytes, char *err, size_t errlen)
{
    uint64_t *bases;
    int n;
    *bytes = 0;
    if (list_segments(dir, &bases, &n, err, errlen) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        segment_path(path, sizeof path, dir, bases[i]);
        if (stat(path, &st) == 0)
            *bytes += (uint64_t)st.st_size;
        /* else: deleted by retention since the listing */
    }
    free(bases);
    return 0;
}
