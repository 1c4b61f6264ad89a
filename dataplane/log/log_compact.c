/* log_compact.c — compaction of an upsert stream's segments (see log_compact.h). */
#include "dataplane/log/log_compact.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataplane/log/log.h"
#include "dataplane/log/log_frame.h"

#define COMPACT_PATH_MAX 4096
#define COMPACT_DAY_MS (24 * 3600 * 1000LL)

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---------------------------------------------------------------- key → last offset */

struct key_entry {
    uint64_t hash, offset;
    size_t key_at; /* in the pool */
    uint32_t key_len;
    bool used;
};

struct key_map {
    struct key_entry *slots;
    size_t cap, count; /* cap: a power of two */
    char *pool;
    size_t pool_len, pool_cap;
    uint64_t *keyless; /* offsets of records without a key (kept) */
    size_t nkeyless, capkeyless;
};

static int key_map_keyless(struct key_map *m, uint64_t offset)
{
    if (m->nkeyless == m->capkeyless) {
        size_t cap = m->capkeyless ? m->capkeyless * 2 : 64;
        uint64_t *k = realloc(m->keyless, cap * sizeof *k);
        if (!k)
            return -1;
        m->keyless = k;
        m->capkeyless = cap;
    }
    m->keyless[m->nkeyless++] = offset;
    return 0;
}

static uint64_t key_hash(const char *k, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
    return h ? h : 1;
}

static struct key_entry *key_map_find(struct key_map *m, const char *k, size_t len, uint64_t h)
{
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct key_entry *e = &m->slots[i];
        if (!e->used || (e->hash == h && e->key_len == len && memcmp(m->pool + e->key_at, k, len) == 0))
            return e;
    }
}

static int key_map_grow(struct key_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    struct key_entry *old = m->slots;
    size_t old_cap = m->cap;
    if (!(m->slots = calloc(cap, sizeof *m->slots))) {
        m->slots = old;
        return -1;
    }
    m->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].used) {
            struct key_entry *e = &m->slots[old[i].hash & (cap - 1)];
            while (e->used)
                e = &m->slots[(size_t)(e - m->slots + 1) & (cap - 1)];
            *e = old[i];
        }
    free(old);
    return 0;
}

/* Sets the last offset of key k[0..len); *prev gets the one it replaces (UINT64_MAX: none). */
static int key_map_put(struct key_map *m, const char *k, size_t len, uint64_t offset, uint64_t *prev)
{
    *prev = UINT64_MAX;
    if ((m->count + 1) * 2 > m->cap && key_map_grow(m) != 0)
        return -1;
    uint64_t h = key_hash(k, len);
    struct key_entry *e = key_map_find(m, k, len, h);
    if (!e->used) {
        if (m->pool_len + len > m->pool_cap) {
            size_t cap = m->pool_cap ? m->pool_cap * 2 : 65536;
            while (cap < m->pool_len + len)
                cap *= 2;
            char *np = realloc(m->pool, cap);
            if (!np)
                return -1;
            m->pool = np;
            m->pool_cap = cap;
        }
        memcpy(m->pool + m->pool_len, k, len);
        *e = (struct key_entry){h, offset, m->pool_len, (uint32_t)len, true};
        m->pool_len += len;
        m->count++;
    } else
        *prev = e->offset;
    e->offset = offset;
    return 0;
}

static void key_map_free(struct key_map *m)
{
    free(m->keyless);
    free(m->slots);
    free(m->pool);
}

/* ---------------------------------------------------------------- segments */

struct segment {
    unsigned char *data;
    size_t len;
    struct stat st;
};

/* Maps the segment read-only (no copy of a 64 MiB segment into fresh memory; the page cache
 * serves it). Release with segment_unload(). */
static int segment_load(const char *path, struct segment *s, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &s->st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return fail(err, errlen, "cannot open segment %s: %s", path, strerror(e));
    }
    s->len = (size_t)s->st.st_size;
    s->data = NULL;
    if (s->len > 0) {
        void *m = mmap(NULL, s->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            s->data = m;
            madvise(m, s->len, MADV_SEQUENTIAL);
        }
    }
    int e = errno;
    close(fd);
    if (s->len > 0 && !s->data)
        return fail(err, errlen, "cannot read segment %s: %s", path, strerror(e));
    return 0;
}

static void segment_unload(struct segment *s)
{
    if (s->data)
        munmap(s->data, s->len);
    s->data = NULL;
}

/* One frame of a loaded segment: what it is, and for a record its kind and key. */
struct frame {
    enum seglog_frame_status status;
    size_t size;
    uint64_t spans;
    enum row_kind kind;
    bool has_key;
    char key[LOG_COMPACT_MAX_KEY];
    size_t key_len;
};

/* The frame at p[0..have) by its length alone: for a segment whose checksums were verified in
 * this run already. */
static enum seglog_frame_status frame_parse(const unsigned char *p, size_t have, size_t *size, uint64_t *count)
{
    if (have < LOG_FRAME_HEADER)
        return LOG_FRAME_PARTIAL;
    uint32_t len = seglog_get_u32(p);
    size_t n = seglog_frame_size(len);
    if (n == 0 || have < n)
        return LOG_FRAME_BAD;
    *size = n;
    *count = len == LOG_GAP_MARK ? seglog_get_u64(p + LOG_FRAME_HEADER) : 1;
    if (*count == 0)
        return LOG_FRAME_BAD;
    return len == LOG_GAP_MARK ? LOG_FRAME_GAP : LOG_FRAME_RECORD;
}

/* Reads the frame at at; verify: check its checksum; c: extract its key (else no key). */
static int frame_at(const struct segment *s, size_t at, const struct seglog_compaction *c, bool verify, struct frame *f)
{
    f->has_key = false;
    f->status = verify ? seglog_frame_check(s->data + at, s->len - at, &f->size, &f->spans)
                       : frame_parse(s->data + at, s->len - at, &f->size, &f->spans);
    if (f->status != LOG_FRAME_RECORD)
        return f->status == LOG_FRAME_GAP ? 0 : -1;
    const char *row;
    uint32_t row_len;
    seglog_record_split((const char *)s->data + at + LOG_FRAME_HEADER, (uint32_t)(f->size - LOG_FRAME_HEADER), &f->kind,
                        &row, &row_len);
    /* a -U record always goes: its key is never looked at */
    f->has_key = c && f->kind != ROW_UPDATE_BEFORE && c->key(c->ctx, row, row_len, f->key, &f->key_len) == 0;
    return 0;
}

static void segment_file(char *buf, size_t size, const char *dir, uint64_t base)
{
    snprintf(buf, size, "%s/%020" PRIu64 ".log", dir, base);
}

/* ---------------------------------------------------------------- the compactor */

struct seglog_compactor {
    struct key_map map; /* key → last offset, over every segment compacted so far */
    uint64_t *tombs;    /* bases of compacted segments that kept a tombstone */
    int ntombs, captombs;
};

struct seglog_compactor *seglog_compactor_new(void) { return calloc(1, sizeof(struct seglog_compactor)); }

void seglog_compactor_free(struct seglog_compactor *k)
{
    if (!k)
        return;
    key_map_free(&k->map);
    free(k->tombs);
    free(k);
}

static bool tomb_has(const struct seglog_compactor *k, uint64_t base)
{
    for (int i = 0; i < k->ntombs; i++)
        if (k->tombs[i] == base)
            return true;
    return false;
}

static int tomb_set(struct seglog_compactor *k, uint64_t base, bool has)
{
    for (int i = 0; i < k->ntombs; i++)
        if (k->tombs[i] == base) {
            if (!has)
                k->tombs[i] = k->tombs[--k->ntombs];
            return 0;
        }
    if (!has)
        return 0;
    if (k->ntombs == k->captombs) {
        int cap = k->captombs ? k->captombs * 2 : 16;
        uint64_t *t = realloc(k->tombs, (size_t)cap * sizeof *t);
        if (!t)
            return -1;
        k->tombs = t;
        k->captombs = cap;
    }
    k->tombs[k->ntombs++] = base;
    return 0;
}

/* One run of seglog_compact_segments(). */
struct run {
    struct seglog_compactor *k;
    const char *dir;
    const uint64_t *bases;
    int n, clean;
    const struct seglog_compaction *c;
    int64_t now_ms;
    bool *rewrite; /* per segment: rewrite it in pass 2 */
    struct frame *f;
    char *err;
    size_t errlen;
};

/* A clean segment holding offset (one a newer record replaced) must be rewritten. */
static void mark_superseded(struct run *r, uint64_t offset)
{
    if (offset == UINT64_MAX || r->clean == 0 || offset < r->bases[0] || offset >= r->bases[r->clean])
        return;
    int lo = 0, hi = r->clean - 1; /* the last segment whose base ≤ offset */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (r->bases[mid] <= offset)
            lo = mid;
        else
            hi = mid - 1;
    }
    r->rewrite[lo] = true;
}

/* Pass 1 over dirty segment i: the last offset of every key, the records without a key. */
static int collect_keys(struct run *r, int i)
{
    char path[COMPACT_PATH_MAX];
    segment_file(path, sizeof path, r->dir, r->bases[i]);
    struct segment s;
    if (segment_load(path, &s, r->err, r->errlen) != 0)
        return -1;
    struct frame *f = r->f;
    struct key_map *m = &r->k->map;
    uint64_t offset = r->bases[i], prev = UINT64_MAX;
    int rc = 0;
    for (size_t at = 0; at < s.len && rc == 0; at += f->size, offset += f->spans) {
        if (frame_at(&s, at, r->c, true, f) != 0)
            rc = fail(r->err, r->errlen, "segment %s: corrupt record at offset %" PRIu64, path, offset);
        else if (f->status != LOG_FRAME_RECORD || f->kind == ROW_UPDATE_BEFORE)
            continue;
        else if (!f->has_key ? key_map_keyless(m, offset) != 0 : key_map_put(m, f->key, f->key_len, offset, &prev) != 0)
            rc = fail(r->err, r->errlen, "out of memory");
        else if (f->has_key)
            mark_superseded(r, prev);
    }
    if (rc == 0 && offset != r->bases[i + 1])
        rc = fail(r->err, r->errlen, "segment %s ends at offset %" PRIu64 ", the next one starts at %" PRIu64, path,
                  offset, r->bases[i + 1]);
    segment_unload(&s);
    return rc;
}

static int put_gap(unsigned char *out, size_t *len, uint64_t *pending)
{
    if (*pending == 0)
        return 0;
    unsigned char *p = out + *len;
    seglog_put_u32(p, LOG_GAP_MARK);
    seglog_put_u64(p + LOG_FRAME_HEADER, *pending);
    seglog_put_u32(p + 4, crc32c(0, p + LOG_FRAME_HEADER, 8));
    *len += LOG_GAP_FRAME;
    *pending = 0;
    return 0;
}

/* Writes out[0..len) over the segment at path, atomically, with the old file's owner and mtime. */
static int segment_replace(const char *path, const struct segment *s, const unsigned char *out, size_t len, char *err,
                           size_t errlen)
{
    char tmp[COMPACT_PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.compacting", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, s->st.st_mode & 0777);
    if (fd < 0)
        return fail(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, out + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    struct timespec times[2] = {s->st.st_atim, s->st.st_mtim};
    bool ok = done == len && fsync(fd) == 0 && futimens(fd, times) == 0 &&
              (geteuid() != 0 || fchown(fd, s->st.st_uid, s->st.st_gid) == 0);
    int e = errno;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        e = ok ? errno : e;
        unlink(tmp);
        return fail(err, errlen, "cannot rewrite segment %s: %s", path, strerror(e));
    }
    return 0;
}

static bool tombstones_expired(const struct seglog_compaction *c, const struct stat *st, int64_t now_ms)
{
    int64_t mtime = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
    int64_t keep_ms = c->delete_retention_ms ? c->delete_retention_ms : COMPACT_DAY_MS;
    return keep_ms > 0 && now_ms - mtime > keep_ms;
}

/* Pass 2: rewrites segment i with only the records whose bit is set in keep (bit j: offset
 * first + j): the last of each key and those without a key. Verifies checksums only in a clean
 * segment (pass 1 verified the dirty ones). */
static int rewrite_segment(struct run *r, int i, const unsigned char *keep_bits, uint64_t first, uint64_t *size)
{
    char path[COMPACT_PATH_MAX];
    segment_file(path, sizeof path, r->dir, r->bases[i]);
    struct segment s;
    if (segment_load(path, &s, r->err, r->errlen) != 0)
        return -1;
    bool expired = tombstones_expired(r->c, &s.st, r->now_ms), tombs = false;
    unsigned char *out = malloc(s.len + LOG_GAP_FRAME);
    size_t len = 0;
    uint64_t offset = r->bases[i], pending = 0;
    struct frame *f = r->f;
    int rc = out ? 0 : fail(r->err, r->errlen, "out of memory");
    for (size_t at = 0; at < s.len && rc == 0; at += f->size, offset += f->spans) {
        if (frame_at(&s, at, NULL, i < r->clean, f) != 0) {
            rc = fail(r->err, r->errlen, "segment %s: corrupt record at offset %" PRIu64, path, offset);
            break;
        }
        uint64_t bit = offset - first;
        bool keep = f->status == LOG_FRAME_RECORD && f->kind != ROW_UPDATE_BEFORE &&
                    (keep_bits[bit >> 3] >> (bit & 7) & 1) && !(f->kind == ROW_DELETE && expired);
        if (!keep) {
            pending += f->spans;
            continue;
        }
        tombs |= f->kind == ROW_DELETE;
        put_gap(out, &len, &pending);
        memcpy(out + len, s.data + at, f->size);
        len += f->size;
    }
    put_gap(out, &len, &pending);
    if (rc == 0 && (len != s.len || memcmp(out, s.data, len) != 0))
        rc = segment_replace(path, &s, out, len, r->err, r->errlen);
    if (rc == 0 && tomb_set(r->k, r->bases[i], tombs) != 0)
        rc = fail(r->err, r->errlen, "out of memory");
    *size = rc == 0 ? len : s.len;
    free(out);
    segment_unload(&s);
    return rc;
}

/* Clean segments untouched by the dirty ones whose tombstones expired are rewritten too. */
static void plan_expired(struct run *r)
{
    char path[COMPACT_PATH_MAX];
    struct stat st;
    for (int i = 0; i < r->clean; i++)
        if (!r->rewrite[i] && tomb_has(r->k, r->bases[i])) {
            segment_file(path, sizeof path, r->dir, r->bases[i]);
            r->rewrite[i] = stat(path, &st) == 0 && tombstones_expired(r->c, &st, r->now_ms);
        }
}

static void set_bit(unsigned char *bits, uint64_t first, uint64_t end, uint64_t offset)
{
    if (offset >= first && offset < end)
        bits[(offset - first) >> 3] |= (unsigned char)(1u << ((offset - first) & 7));
}

/* What stays of [first, end), as one bit per offset: pass 2 reads no key. */
static unsigned char *keep_bits(const struct key_map *m, uint64_t first, uint64_t end)
{
    unsigned char *bits = calloc((size_t)((end - first) / 8 + 1), 1);
    for (size_t i = 0; bits && i < m->cap; i++)
        if (m->slots[i].used)
            set_bit(bits, first, end, m->slots[i].offset);
    for (size_t i = 0; bits && i < m->nkeyless; i++)
        set_bit(bits, first, end, m->keyless[i]);
    return bits;
}

static int run_passes(struct run *r, uint64_t *sizes)
{
    for (int i = r->clean; i < r->n; i++) {
        r->rewrite[i] = true;
        if (collect_keys(r, i) != 0)
            return -1;
    }
    plan_expired(r);
    int first = 0;
    while (first < r->n && !r->rewrite[first])
        first++;
    if (first == r->n)
        return 0;
    unsigned char *keep = keep_bits(&r->k->map, r->bases[first], r->bases[r->n]);
    if (!keep)
        return fail(r->err, r->errlen, "out of memory");
    int rc = 0;
    for (int i = first; i < r->n && rc == 0; i++)
        if (r->rewrite[i])
            rc = rewrite_segment(r, i, keep, r->bases[first], &sizes[i]);
    free(keep);
    return rc;
}

int seglog_compact_segments(struct seglog_compactor *k, const char *dir, const uint64_t *bases, int n, int clean,
                            const struct seglog_compaction *c, int64_t now_ms, uint64_t *sizes, char *err,
                            size_t errlen)
{
    if (n <= 0)
        return 0;
    struct run r = {
        k, dir, bases, n, clean, c, now_ms, calloc((size_t)n, sizeof(bool)), malloc(sizeof(struct frame)), err, errlen};
    int rc = r.rewrite && r.f ? run_passes(&r, sizes) : fail(err, errlen, "out of memory");
    free(r.rewrite);
    free(r.f);
    if (rc == 0) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return rc;
}
