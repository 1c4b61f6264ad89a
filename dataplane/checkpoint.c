/* checkpoint.c — the engine's checkpoint file: encoding, atomic writes, reading back (see
 * checkpoint.h for the layout and how the tasks of one pipeline share their files). */
#include "dataplane/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/codec/json_encode.h"
#include "dataplane/log/crc32c.h"

#define CHECKPOINT_MAGIC 0x4b434c53u /* "SLCK" */
#define CHECKPOINT_VERSION 2
#define CHECKPOINT_MAX_PARTS 65536

uint64_t checkpoint_hash(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

const struct checkpoint_part *checkpoint_find_part(const struct checkpoint *c, int partition)
{
    for (int i = 0; i < c->nparts; i++)
        if (c->parts[i].partition == partition)
            return &c->parts[i];
    return NULL;
}

void checkpoint_release(struct checkpoint *c)
{
    free(c->parts);
    free(c->buf);
    memset(c, 0, sizeof *c);
}

/* ---------------------------------------------------------------- writing */

static int put(struct json_buf *w, const void *p, size_t n)
{
    if (json_buf_reserve(w, n) != 0)
        return -1;
    memcpy(w->data + w->len, p, n);
    w->len += n;
    return 0;
}

static int put_u64(struct json_buf *w, uint64_t v) { return put(w, &v, sizeof v); }

static int write_all(int fd, const char *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

/* Writes the parts[0..nparts) one after the other as the file at path, atomically (the
 * snapshot, the largest part, is written from where it is, not copied). */
struct file_part {
    const char *data;
    size_t len;
};
static int write_file_atomic(const char *path, const struct file_part *parts, int nparts, char *e, size_t elen)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(e, elen, "cannot write checkpoint %s: %s", tmp, strerror(errno));
        return -1;
    }
    for (int i = 0; i < nparts; i++)
        if (write_all(fd, parts[i].data, parts[i].len) != 0) {
            close(fd);
            snprintf(e, elen, "cannot write checkpoint %s: %s", tmp, strerror(errno));
            return -1;
        }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        snprintf(e, elen, "cannot commit checkpoint %s: %s", path, strerror(errno));
        return -1;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int checkpoint_save(const char *path, const struct checkpoint *c, char *err, size_t errlen)
{
    struct json_buf w = {0};
    uint32_t head[2] = {CHECKPOINT_MAGIC, CHECKPOINT_VERSION};
    int rc = put(&w, head, sizeof head) | put_u64(&w, c->query_hash) | put_u64(&w, c->source_hash) |
             put_u64(&w, c->sink_hash) | put_u64(&w, c->dlq_hash) | put_u64(&w, c->seq) | put_u64(&w, c->completed) |
             put_u64(&w, (uint64_t)c->nparts);
    for (int p = 0; p < c->nparts; p++)
        rc |= put_u64(&w, (uint64_t)c->parts[p].partition) | put_u64(&w, c->parts[p].offset) |
              put_u64(&w, c->parts[p].end) | put_u64(&w, c->parts[p].seq);
    const struct engine_stats *s = &c->stats;
    rc |= put_u64(&w, c->sink_end) | put_u64(&w, c->dlq_end) | put_u64(&w, s->records_in) |
          put_u64(&w, s->records_out) | put_u64(&w, s->bytes_in) | put_u64(&w, s->bytes_out) | put_u64(&w, s->errors) |
          put_u64(&w, s->late);
    rc |= put_u64(&w, c->snapshot_len);
    if (rc != 0) {
        json_buf_free(&w);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *snap = c->snapshot ? c->snapshot : "";
    uint32_t crc = crc32c(crc32c(0, w.data, w.len), snap, c->snapshot_len); /* of all before it */
    const struct file_part parts[] = {{w.data, w.len}, {snap, c->snapshot_len}, {(const char *)&crc, sizeof crc}};
    rc = write_file_atomic(path, parts, 3, err, errlen);
    json_buf_free(&w);
    return rc;
}

/* ---------------------------------------------------------------- reading */

struct reader {
    const char *p, *end;
};

static int get_u64(struct reader *c, uint64_t *v)
{
    if ((size_t)(c->end - c->p) < sizeof *v)
        return -1;
    memcpy(v, c->p, sizeof *v);
    c->p += sizeof *v;
    return 0;
}

static int read_file(const char *path, char **out, size_t *outlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return -1;
            }
            buf = b;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        errno = EIO;
        return -1;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

int checkpoint_load(const char *path, struct checkpoint *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    size_t len;
    if (read_file(path, &c->buf, &len) != 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "cannot read checkpoint %s: %s", path, strerror(errno));
        return -1;
    }
    uint32_t head[2], crc;
    if (len < sizeof head + sizeof crc ||
        (memcpy(&crc, c->buf + len - sizeof crc, sizeof crc), crc) != crc32c(0, c->buf, len - sizeof crc)) {
        snprintf(err, errlen, "checkpoint %s is corrupt (checksum mismatch)", path);
        return -1;
    }
    struct reader r = {c->buf + sizeof head, c->buf + len - sizeof crc};
    memcpy(head, c->buf, sizeof head);
    uint64_t completed, nparts, snap_len;
    if (head[0] != CHECKPOINT_MAGIC || head[1] != CHECKPOINT_VERSION) {
        snprintf(err, errlen, "checkpoint %s is not a checkpoint of this version; remove it to start over", path);
        return -1;
    }
    if (get_u64(&r, &c->query_hash) || get_u64(&r, &c->source_hash) || get_u64(&r, &c->sink_hash) ||
        get_u64(&r, &c->dlq_hash) || get_u64(&r, &c->seq) || get_u64(&r, &completed) || get_u64(&r, &nparts) ||
        nparts > CHECKPOINT_MAX_PARTS)
        goto short_file;
    c->completed = completed != 0;
    c->parts = calloc(nparts ? nparts : 1, sizeof *c->parts);
    if (!c->parts) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (uint64_t p = 0; p < nparts; p++) {
        uint64_t partition;
        struct checkpoint_part *e = &c->parts[p];
        if (get_u64(&r, &partition) || partition > INT32_MAX || get_u64(&r, &e->offset) || get_u64(&r, &e->end) ||
            get_u64(&r, &e->seq))
            goto short_file;
        e->partition = (int)partition;
    }
    c->nparts = (int)nparts;
    struct engine_stats *s = &c->stats;
    if (get_u64(&r, &c->sink_end) || get_u64(&r, &c->dlq_end) || get_u64(&r, &s->records_in) ||
        get_u64(&r, &s->records_out) || get_u64(&r, &s->bytes_in) || get_u64(&r, &s->bytes_out) ||
        get_u64(&r, &s->errors) || get_u64(&r, &s->late) || get_u64(&r, &snap_len) ||
        (uint64_t)(r.end - r.p) != snap_len)
        goto short_file;
    c->snapshot = r.p;
    c->snapshot_len = snap_len;
    return 1;
short_file:
    snprintf(err, errlen, "checkpoint %s is truncated", path);
    return -1;
}
