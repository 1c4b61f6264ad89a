/* filesystem_sink.c — rolling part files committed on checkpoints (see filesystem_sink.h). */
#include "dataplane/connectors/filesystem_sink.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "dataplane/codec/csv.h"
#include "dataplane/codec/json_encode.h"
#include "dataplane/connectors/filesystem.h"

#define FS_SINK_BUFFER (64 << 10) /* a part's rows are written out at this size */
#define FS_SINK_DEPTH 16          /* partition directories below the sink's */
#define FS_DEFAULT_PARTITION "__DEFAULT_PARTITION__"

/* An open part file (in progress). */
struct fs_part {
    char *dir; /* its partition directory below the sink's ("" for none) */
    int dirfd, fd;
    uint64_t first, bytes;
    int64_t opened_ms, last_ms;
    struct json_buf buf; /* rows not written yet */
};

/* A part file ended, hidden until a checkpoint commits it. */
struct fs_pending {
    char *dir;
    uint64_t first, end;
};

struct fs_writer {
    struct fs_settings s;
    int task;
    int sinkfd; /* the sink's directory */
    int *pcols; /* the partition columns, schema indexes */
    int npcols;
    bool *in_path; /* per schema column: a partition column */
    struct fs_part *parts;
    size_t nparts, capparts;
    struct fs_pending *pending;
    size_t npending, cappending;
    uint64_t end; /* rows taken: the sink offset */
    bool held;
    const char *ext;
};

/* ---------------------------------------------------------------- directories */

/* The directory rel below parent (each component made when missing; rooted, opened beneath
 * parent, so a symlink leading out is refused). A new descriptor, or -1 with err. */
static int fs_dir_make(const struct fs_settings *s, int parent, const char *rel, char *err, size_t errlen)
{
    char copy[2048];
    snprintf(copy, sizeof copy, "%s", rel);
    int fd;
    if (rel[0] == '/')
        fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    else if (parent == AT_FDCWD)
        fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    else
        fd = fcntl(parent, F_DUPFD_CLOEXEC, 0);
    char *save = NULL;
    for (char *c = strtok_r(copy, "/", &save); fd >= 0 && c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        int next = -1;
        if (mkdirat(fd, c, 0755) == 0 || errno == EEXIST)
            next = fs_rooted(s) ? fs_open_beneath(fd, c, O_RDONLY | O_DIRECTORY, 0)
                                : openat(fd, c, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int e = errno;
        close(fd);
        errno = e;
        fd = next;
    }
    if (fd < 0)
        snprintf(err, errlen, "cannot make the directory %s: %s%s", rel, strerror(errno),
                 errno == EXDEV || errno == ELOOP ? " (it leads outside the tenant's files directory: refused)" : "");
    return fd;
}

/* Calls fn for every file (not directory) below the directory fd, with its directory's fd and
 * path below the sink ("" at the top). */
typedef int (*fs_visit_fn)(struct fs_writer *w, int dfd, const char *dir, const char *name, char *err, size_t errlen);

static int fs_walk(struct fs_writer *w, int fd, const char *dir, int depth, fs_visit_fn fn, char *err, size_t errlen)
{
    int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        snprintf(err, errlen, "cannot list the sink's directory %s: %s", dir, strerror(errno));
        return -1;
    }
    rewinddir(d);
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth < FS_SINK_DEPTH) {
            char sub[2048];
            snprintf(sub, sizeof sub, "%s%s%s", dir, *dir ? "/" : "", de->d_name);
            int sfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sfd >= 0) {
                rc = fs_walk(w, sfd, sub, depth + 1, fn, err, errlen);
                close(sfd);
            }
        } else if (S_ISREG(st.st_mode)) {
            rc = fn(w, dirfd(d), dir, de->d_name, err, errlen);
        }
    }
    closedir(d);
    return rc;
}

/* ---------------------------------------------------------------- names */

static void fs_name_progress(const struct fs_writer *w, uint64_t first, char *out, size_t outlen)
{
    snprintf(out, outlen, ".part-%d-%" PRIu64 ".inprogress", w->task, first);
}

static void fs_name_pending(const struct fs_writer *w, uint64_t first, uint64_t end, char *out, size_t outlen)
{
    snprintf(out, outlen, ".part-%d-%" PRIu64 "-%" PRIu64 ".pending", w->task, first, end);
}

static void fs_name_final(const struct fs_writer *w, uint64_t first, uint64_t end, char *out, size_t outlen)
{
    snprintf(out, outlen, "part-%d-%" PRIu64 "-%" PRIu64 "%s", w->task, first, end, w->ext);
}

/* Which of the task's files name is: 'i' in progress, 'p' pending, 'f' final, 0 none; with its
 * offsets. */
static int fs_name_parse(const struct fs_writer *w, const char *name, uint64_t *first, uint64_t *end)
{
    int task, used = 0;
    unsigned long long a, b;
    if (sscanf(name, ".part-%d-%llu.inprogress%n", &task, &a, &used) == 2 && used && !name[used] && task == w->task) {
        *first = a;
        return 'i';
    }
    used = 0;
    if (sscanf(name, ".part-%d-%llu-%llu.pending%n", &task, &a, &b, &used) == 3 && used && !name[used] &&
        task == w->task) {
        *first = a;
        *end = b;
        return 'p';
    }
    used = 0;
    if (sscanf(name, "part-%d-%llu-%llu%n", &task, &a, &b, &used) == 3 && task == w->task &&
        strcmp(name + used, w->ext) == 0) {
        *first = a;
        *end = b;
        return 'f';
    }
    return 0;
}

/* ---------------------------------------------------------------- partitions */

/* v as a partition directory's value, escaped as Flink's escapePathName, appended to out. */
static int fs_put_partition_value(const json_t *v, struct json_buf *out)
{
    char tmp[64];
    const char *s = tmp;
    if (json_is_string(v))
        s = json_string_value(v);
    else if (json_is_integer(v))
        snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(tmp, sizeof tmp, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        s = json_is_true(v) ? "true" : "false";
    else
        s = "";
    if (!*s)
        s = FS_DEFAULT_PARTITION;
    size_t len = strlen(s);
    if (json_buf_reserve(out, 3 * len + 1) != 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || strchr("\"#%'*/:=?\\{[]^", c))
            out->len += (size_t)sprintf(out->data + out->len, "%%%02X", c);
        else
            out->data[out->len++] = (char)c;
    }
    return 0;
}

/* The partition directory of row js ("col=value/col=value") into dir: 0, or -1 out of memory. */
static int fs_partition_dir(const struct fs_writer *w, const json_t *js, struct json_buf *dir)
{
    dir->len = 0;
    for (int k = 0; k < w->npcols; k++) {
        const char *name = w->s.schema.fields[w->pcols[k]].name;
        size_t n = strlen(name);
        if (json_buf_reserve(dir, n + 2) != 0)
            return -1;
        if (k)
            dir->data[dir->len++] = '/';
        memcpy(dir->data + dir->len, name, n);
        dir->len += n;
        dir->data[dir->len++] = '=';
        if (fs_put_partition_value(json_object_get(js, name), dir) != 0)
            return -1;
    }
    if (json_buf_reserve(dir, 1) != 0)
        return -1;
    dir->data[dir->len] = '\0';
    return 0;
}

/* The partition columns of "partition-by" ("dt, hm"): 0, or -1 with err naming one that is not
 * a column. */
static int fs_partition_columns(struct fs_writer *w, char *err, size_t errlen)
{
    const struct schema *sc = &w->s.schema;
    w->in_path = calloc((size_t)sc->nfields + 1, sizeof *w->in_path);
    w->pcols = calloc((size_t)sc->nfields + 1, sizeof *w->pcols);
    if (!w->in_path || !w->pcols) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", w->s.partition_by ? w->s.partition_by : "");
    char *save = NULL;
    for (char *c = strtok_r(copy, ", ", &save); c; c = strtok_r(NULL, ", ", &save)) {
        int f = -1;
        for (int i = 0; i < sc->nfields && f < 0; i++)
            if (strcmp(sc->fields[i].name, c) == 0)
                f = i;
        if (f < 0 || w->in_path[f] || w->npcols == sc->nfields) {
            snprintf(err, errlen, "filesystem option \"partition-by\": \"%s\" is %s", c,
                     f < 0 ? "not a column of the stream" : "named twice");
            return -1;
        }
        w->in_path[f] = true;
        w->pcols[w->npcols++] = f;
    }
    return 0;
}

/* ---------------------------------------------------------------- part files */

static int fs_part_write_out(struct fs_part *p, char *err, size_t errlen)
{
    for (size_t at = 0; at < p->buf.len;) {
        ssize_t n = write(p->fd, p->buf.data + at, p->buf.len - at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "writing a part file in %s: %s", *p->dir ? p->dir : ".", strerror(errno));
            return -1;
        }
        at += (size_t)n;
    }
    p->buf.len = 0;
    return 0;
}

static int fs_pending_add(struct fs_writer *w, char *dir, uint64_t first, uint64_t end)
{
    if (w->npending == w->cappending) {
        size_t cap = w->cappending ? w->cappending * 2 : 16;
        struct fs_pending *v = realloc(w->pending, cap * sizeof *v);
        if (!v)
            return -1;
        w->pending = v;
        w->cappending = cap;
    }
    w->pending[w->npending++] = (struct fs_pending){dir, first, end};
    return 0;
}

/* Ends part i: written out, fsynced, renamed pending (and removed from the open ones). */
static int fs_part_end(struct fs_writer *w, size_t i, char *err, size_t errlen)
{
    struct fs_part *p = &w->parts[i];
    char from[128], to[128];
    fs_name_progress(w, p->first, from, sizeof from);
    fs_name_pending(w, p->first, w->end, to, sizeof to);
    if (fs_part_write_out(p, err, errlen) != 0)
        return -1;
    if (fsync(p->fd) != 0 || renameat(p->dirfd, from, p->dirfd, to) != 0 || fsync(p->dirfd) != 0) {
        snprintf(err, errlen, "ending part file %s/%s: %s", *p->dir ? p->dir : ".", from, strerror(errno));
        return -1;
    }
    if (fs_pending_add(w, p->dir, p->first, w->end) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    close(p->fd);
    close(p->dirfd);
    json_buf_free(&p->buf);
    w->parts[i] = w->parts[--w->nparts];
    return 0;
}

/* The header line (the columns in the files) into b. */
static int fs_header(const struct fs_writer *w, struct json_buf *b)
{
    for (int c = 0, k = 0; c < w->s.schema.nfields; c++) {
        if (w->in_path[c])
            continue;
        json_t *name = json_string(w->s.schema.fields[c].name);
        int rc = !name || json_buf_reserve(b, 1) != 0;
        if (!rc && k++)
            b->data[b->len++] = w->s.dialect.delimiter;
        rc = rc || csv_put_value(&w->s.dialect, name, b) != 0 || json_buf_reserve(b, 1) != 0;
        json_decref(name);
        if (rc)
            return -1;
    }
    b->data[b->len++] = '\n';
    return 0;
}

/* Opens a part for dir (taking dir): its index, or -1 with err. */
static long fs_part_open(struct fs_writer *w, char *dir, char *err, size_t errlen)
{
    if (w->nparts == w->capparts) {
        size_t cap = w->capparts ? w->capparts * 2 : 8;
        struct fs_part *v = realloc(w->parts, cap * sizeof *v);
        if (!v) {
            free(dir);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        w->parts = v;
        w->capparts = cap;
    }
    struct fs_part p = {.dir = dir, .fd = -1, .first = w->end, .opened_ms = clock_mono_ms()};
    p.last_ms = p.opened_ms;
    char name[128];
    fs_name_progress(w, p.first, name, sizeof name);
    p.dirfd = *dir ? fs_dir_make(&w->s, w->sinkfd, dir, err, errlen) : fcntl(w->sinkfd, F_DUPFD_CLOEXEC, 0);
    if (p.dirfd >= 0)
        p.fd = openat(p.dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (p.fd < 0 || (w->s.header && w->s.format == FS_CSV && fs_header(w, &p.buf) != 0)) {
        if (!err[0])
            snprintf(err, errlen, "cannot create a part file in %s: %s", *dir ? dir : w->s.path, strerror(errno));
        if (p.dirfd >= 0)
            close(p.dirfd);
        if (p.fd >= 0)
            close(p.fd);
        free(dir);
        json_buf_free(&p.buf);
        return -1;
    }
    w->parts[w->nparts++] = p;
    return (long)(w->nparts - 1);
}

/* The open part of dir, ended first when its rolling policy says so; opened when there is none. */
static long fs_part_for(struct fs_writer *w, const char *dir, char *err, size_t errlen)
{
    int64_t now = clock_mono_ms();
    for (size_t i = 0; i < w->nparts; i++) {
        struct fs_part *p = &w->parts[i];
        if (strcmp(p->dir, dir) != 0)
            continue;
        if (p->bytes < (uint64_t)w->s.roll_size && now - p->opened_ms < w->s.roll_ms)
            return (long)i;
        if (fs_part_end(w, i, err, errlen) != 0)
            return -1;
        break;
    }
    char *copy = strdup(dir);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return fs_part_open(w, copy, err, errlen);
}

/* The row js as a line of the part's format appended to b. */
static int fs_encode(struct fs_writer *w, json_t *js, const void *data, uint32_t len, struct json_buf *b)
{
    if (w->s.format == FS_JSON && w->npcols == 0) {
        if (json_buf_reserve(b, (size_t)len + 1) != 0)
            return -1;
        memcpy(b->data + b->len, data, len);
        b->len += len;
    } else if (w->s.format == FS_JSON) {
        for (int k = 0; k < w->npcols; k++)
            json_object_del(js, w->s.schema.fields[w->pcols[k]].name);
        char *text = json_dumps(js, JSON_COMPACT | JSON_PRESERVE_ORDER);
        size_t n = text ? strlen(text) : 0;
        if (!text || json_buf_reserve(b, n + 1) != 0) {
            free(text);
            return -1;
        }
        memcpy(b->data + b->len, text, n);
        b->len += n;
        free(text);
    } else {
        for (int c = 0, k = 0; c < w->s.schema.nfields; c++) {
            if (w->in_path[c])
                continue;
            if (k++ && json_buf_reserve(b, 1) == 0)
                b->data[b->len++] = w->s.dialect.delimiter;
            json_t *v = json_object_get(js, w->s.schema.fields[c].name);
            if (v && csv_put_value(&w->s.dialect, v, b) != 0)
                return -1;
        }
    }
    if (json_buf_reserve(b, 1) != 0)
        return -1;
    b->data[b->len++] = '\n';
    return 0;
}

/* ---------------------------------------------------------------- commits */

/* An empty success file in the directory fd (the success-file policy). */
static int fs_success_file(struct fs_writer *w, int fd, char *err, size_t errlen)
{
    if (!w->s.commit_policy || !strstr(w->s.commit_policy, "success-file"))
        return 0;
    int f = openat(fd, w->s.success_name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (f < 0) {
        snprintf(err, errlen, "writing %s: %s", w->s.success_name, strerror(errno));
        return -1;
    }
    close(f);
    return 0;
}

/* Renames the pending file (first, end) in dir to its final name. */
static int fs_publish(struct fs_writer *w, const char *dir, uint64_t first, uint64_t end, char *err, size_t errlen)
{
    char from[128], to[128];
    fs_name_pending(w, first, end, from, sizeof from);
    fs_name_final(w, first, end, to, sizeof to);
    int fd = *dir ? fs_dir_make(&w->s, w->sinkfd, dir, err, errlen) : fcntl(w->sinkfd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rc = 0;
    if (renameat(fd, from, fd, to) != 0 || fsync(fd) != 0) {
        snprintf(err, errlen, "committing %s/%s: %s", *dir ? dir : ".", from, strerror(errno));
        rc = -1;
    }
    if (rc == 0)
        rc = fs_success_file(w, fd, err, errlen);
    close(fd);
    return rc;
}

int fs_commit(void *writer, uint64_t offset, char *err, size_t errlen)
{
    struct fs_writer *w = writer;
    size_t keep = 0;
    int rc = 0;
    for (size_t i = 0; i < w->npending; i++) {
        struct fs_pending *p = &w->pending[i];
        if (rc == 0 && p->end <= offset) {
            rc = fs_publish(w, p->dir, p->first, p->end, err, errlen);
            free(p->dir);
        } else {
            w->pending[keep++] = *p;
        }
    }
    w->npending = keep;
    return rc;
}

void fs_hold_commits(void *writer)
{
    struct fs_writer *w = writer;
    w->held = true;
}

/* ---------------------------------------------------------------- the writer */

int fs_append(void *writer, const void *data, uint32_t len, char *err, size_t errlen)
{
    struct fs_writer *w = writer;
    json_error_t je;
    json_t *js = w->s.format == FS_CSV || w->npcols ? json_loadb(data, len, 0, &je) : NULL;
    struct json_buf dir = {0};
    err[0] = '\0';
    int rc = -1;
    if ((w->s.format == FS_CSV || w->npcols) && !json_is_object(js)) {
        snprintf(err, errlen, "filesystem sink: a record that is not a JSON object");
        goto out;
    }
    if (fs_partition_dir(w, js, &dir) != 0)
        goto oom;
    long i = fs_part_for(w, dir.data ? dir.data : "", err, errlen);
    if (i < 0)
        goto out;
    struct fs_part *p = &w->parts[i];
    size_t before = p->buf.len;
    if (fs_encode(w, js, data, len, &p->buf) != 0)
        goto oom;
    p->bytes += p->buf.len - before;
    p->last_ms = clock_mono_ms();
    w->end++;
    rc = p->buf.len >= FS_SINK_BUFFER ? fs_part_write_out(p, err, errlen) : 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    json_decref(js);
    json_buf_free(&dir);
    return rc;
}

/* Writes every part out; with end, ends every part (a checkpoint), else those the rolling
 * policy ends by time. */
static int fs_parts_out(struct fs_writer *w, bool end, char *err, size_t errlen)
{
    int64_t now = clock_mono_ms();
    for (size_t i = w->nparts; i-- > 0;) {
        struct fs_part *p = &w->parts[i];
        bool roll = end || now - p->opened_ms >= w->s.roll_ms || now - p->last_ms >= w->s.inactivity_ms;
        if (roll ? fs_part_end(w, i, err, errlen) != 0 : fs_part_write_out(p, err, errlen) != 0)
            return -1;
    }
    return 0;
}

int fs_flush(void *writer, bool sync, char *err, size_t errlen)
{
    struct fs_writer *w = writer;
    if (fs_parts_out(w, sync, err, errlen) != 0)
        return -1;
    /* without checkpoints nothing is rolled back: a file is committed once it ends */
    return w->held ? 0 : fs_commit(w, w->end, err, errlen);
}

uint64_t fs_writer_end_offset(void *writer)
{
    const struct fs_writer *w = writer;
    return w->end;
}

/* At open: the end is past the task's last committed file. */
static int fs_visit_end(struct fs_writer *w, int dfd, const char *dir, const char *name, char *err, size_t errlen)
{
    uint64_t first = 0, end = 0;
    if (fs_name_parse(w, name, &first, &end) == 'f' && end > w->end)
        w->end = end;
    return 0;
}

/* Restart at offset: pending files it covers are committed, the task's other hidden files go. */
static int fs_visit_truncate(struct fs_writer *w, int dfd, const char *dir, const char *name, char *err, size_t errlen)
{
    uint64_t first = 0, end = 0;
    int kind = fs_name_parse(w, name, &first, &end);
    if (kind == 'p' && end <= w->end) {
        char *copy = strdup(dir);
        if (!copy || fs_pending_add(w, copy, first, end) != 0) {
            free(copy);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        return 0;
    }
    if ((kind == 'p' || kind == 'i') && unlinkat(dfd, name, 0) != 0) {
        snprintf(err, errlen, "removing %s/%s: %s", *dir ? dir : ".", name, strerror(errno));
        return -1;
    }
    return 0;
}

int fs_truncate(void *writer, uint64_t offset, char *err, size_t errlen)
{
    struct fs_writer *w = writer;
    for (size_t i = w->nparts; i-- > 0;) { /* nothing open is in the checkpoint */
        close(w->parts[i].fd);
        close(w->parts[i].dirfd);
        free(w->parts[i].dir);
        json_buf_free(&w->parts[i].buf);
    }
    w->nparts = 0;
    for (size_t i = 0; i < w->npending; i++)
        free(w->pending[i].dir);
    w->npending = 0;
    w->end = offset;
    if (fs_walk(w, w->sinkfd, "", 0, fs_visit_truncate, err, errlen) != 0)
        return -1;
    return fs_commit(w, offset, err, errlen);
}

void fs_close_writer(void *writer)
{
    struct fs_writer *w = writer;
    if (!w)
        return;
    char e[256];
    if (!w->held) /* nothing will roll it back: commit what there is */
        fs_flush(w, true, e, sizeof e);
    for (size_t i = 0; i < w->nparts; i++) { /* in progress: a restart removes them */
        fs_part_write_out(&w->parts[i], e, sizeof e);
        close(w->parts[i].fd);
        close(w->parts[i].dirfd);
        free(w->parts[i].dir);
        json_buf_free(&w->parts[i].buf);
    }
    for (size_t i = 0; i < w->npending; i++)
        free(w->pending[i].dir);
    free(w->parts);
    free(w->pending);
    free(w->pcols);
    free(w->in_path);
    if (w->sinkfd >= 0)
        close(w->sinkfd);
    fs_settings_free(&w->s);
    free(w);
}

int fs_open_writer(const char *location, int partition, const struct stream_property *props, int nprops, void **writer,
                   char *err, size_t errlen)
{
    struct fs_writer *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    w->sinkfd = -1;
    w->task = partition;
    err[0] = '\0';
    if (fs_settings_load(&w->s, props, nprops, err, errlen) != 0) {
        free(w);
        return -1;
    }
    w->ext = w->s.format == FS_CSV ? ".csv" : ".json";
    if (w->s.schema.nfields == 0 && (w->s.format == FS_CSV || w->s.partition_by))
        snprintf(err, errlen, "a filesystem sink in CSV or with partitions needs the stream's columns");
    else if (fs_partition_columns(w, err, errlen) == 0 &&
             (w->sinkfd = fs_dir_make(&w->s, w->s.dirfd, w->s.rel, err, errlen)) >= 0)
        fs_walk(w, w->sinkfd, "", 0, fs_visit_end, err, errlen);
    if (w->sinkfd < 0) {
        if (!err[0])
            snprintf(err, errlen, "the sink's directory %s: %s", w->s.path, strerror(errno));
        fs_close_writer(w);
        return -1;
    }
    *writer = w;
    return 0;
}
