/* checkpoint_store.c — task checkpoint files copied to and from PostgreSQL (see
 * checkpoint_store.h). The bytes travel as hex text (encode/decode in SQL). */
#include "controlplane/checkpoint_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/db.h"
#include "common/fs.h"
#include "dataplane/checkpoint.h"

#define CHECKPOINT_STORE_MAX_BYTES (256u << 20) /* a larger file is not copied (and logged) */

/* The bytes of path (malloc'd, *len of them), or NULL when it cannot be read. A symlink is not
 * followed: the tenant's worker can write the checkpoint directory, and the controlplane reads
 * as root what it then stores and hands back to the tenant. */
static char *store_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size >= 0 && (size_t)size <= CHECKPOINT_STORE_MAX_BYTES && fseek(f, 0, SEEK_SET) == 0 &&
            (buf = malloc((size_t)size + 1)) != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)(size > 0 ? size : 0);
    }
    fclose(f);
    return buf;
}

/* The sequence number of the checkpoint file at path; 0 when it is missing or unreadable. */
static uint64_t store_file_seq(const char *path)
{
    struct checkpoint c;
    char e[256];
    uint64_t seq = checkpoint_load(path, &c, e, sizeof e) == 1 ? c.seq : 0;
    checkpoint_release(&c);
    return seq;
}

static char *store_hex(const char *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *hex = malloc(len * 2 + 1);
    for (size_t i = 0; hex && i < len; i++) {
        hex[2 * i] = digits[(unsigned char)data[i] >> 4];
        hex[2 * i + 1] = digits[(unsigned char)data[i] & 15];
    }
    if (hex)
        hex[len * 2] = '\0';
    return hex;
}

/* The task's checkpoint directory, <data root>/tenants/<tenant>/checkpoints/<resource>, opened
 * without following a symlink below the data root (the tenant's worker can write there, and a
 * directory it swapped for a symlink would lead the controlplane, root, to another tenant's
 * files); "/proc/self/fd/N" of it into path. The descriptor, or -1. */
static int store_open_dir(const char *dir, char *path, size_t pathsz)
{
    const char *tenants = NULL;
    for (const char *p = strstr(dir, "/tenants/"); p; p = strstr(p + 1, "/tenants/"))
        tenants = p;
    char root[1024], err[512];
    int fd = -1;
    if (tenants && (size_t)(tenants - dir) < sizeof root) {
        snprintf(root, sizeof root, "%.*s", (int)(tenants - dir), dir);
        fd = fs_open_dir_below(*root ? root : "/", tenants + 1, false, err, sizeof err);
    } else {
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd >= 0)
        fs_fd_path(fd, path, pathsz);
    return fd;
}

static int store_save_in(PGconn *conn, const char *tenant_id, const char *resource_id, int index, const char *dir,
                         struct checkpoint_store_mark *mark, char *err, size_t errsz);

int checkpoint_store_save(PGconn *conn, const char *tenant_id, const char *resource_id, int index, const char *dir,
                          struct checkpoint_store_mark *mark, char *err, size_t errsz)
{
    char pinned[64];
    int fd = store_open_dir(dir, pinned, sizeof pinned);
    if (fd < 0) /* missing (nothing to copy yet), or refused */
        return 0;
    int rc = store_save_in(conn, tenant_id, resource_id, index, pinned, mark, err, errsz);
    close(fd);
    return rc;
}

static int store_save_in(PGconn *conn, const char *tenant_id, const char *resource_id, int index, const char *dir,
                         struct checkpoint_store_mark *mark, char *err, size_t errsz)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/task-%d.ckpt", dir, index);
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    int64_t mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (st.st_ino == mark->inode && mtime_ns == mark->mtime_ns) /* read before, and nothing since */
        return 0;
    size_t len = 0, again_len = 0;
    char *data = store_read_file(path, &len);
    uint64_t seq = data ? store_file_seq(path) : 0;
    char *again = seq > mark->seq ? store_read_file(path, &again_len) : NULL;
    /* the same bytes before and after the check: not replaced by a newer file in between */
    int same = again && again_len == len && memcmp(data, again, len) == 0;
    free(again);
    char *hex = same ? store_hex(data, len) : NULL;
    free(data);
    if (!hex)
        return 0;
    char seqtext[24], indextext[16];
    snprintf(seqtext, sizeof seqtext, "%" PRIu64, seq);
    snprintf(indextext, sizeof indextext, "%d", index);
    const char *p[] = {resource_id, indextext, tenant_id, seqtext, hex};
    PGresult *res = db_query_or_err(conn,
                                    "INSERT INTO task_checkpoints (resource_id, task_index, tenant_id, seq, data)"
                                    " VALUES ($1, $2, $3, $4, decode($5, 'hex'))"
                                    " ON CONFLICT (resource_id, task_index) DO UPDATE SET seq = excluded.seq, data ="
                                    " excluded.data, updated_at = now() WHERE task_checkpoints.seq < excluded.seq",
                                    5, p, err, errsz);
    free(hex);
    if (!res)
        return -1;
    PQclear(res);
    *mark = (struct checkpoint_store_mark){.seq = seq, .inode = st.st_ino, .mtime_ns = mtime_ns};
    return 1;
}

static int store_unhex(int c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; }

/* hex (as PostgreSQL's encode(..., 'hex') writes it) to path atomically, owned by uid. */
static int store_write_file(const char *path, const char *hex, uid_t uid, char *err, size_t errsz)
{
    size_t len = strlen(hex) / 2;
    char *data = malloc(len + 1);
    for (size_t i = 0; data && i < len; i++)
        data[i] = (char)(store_unhex(hex[2 * i]) << 4 | store_unhex(hex[2 * i + 1]));
    char tmp[1300];
    snprintf(tmp, sizeof tmp, "%s.restore", path);
    /* a new file, never one a symlink the tenant planted at tmp leads to */
    unlink(tmp);
    int fd = data ? open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
    int ok = fd >= 0 && write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
    if (ok && geteuid() == 0 && fchown(fd, uid, uid) != 0)
        ok = 0;
    if (fd >= 0)
        close(fd);
    free(data);
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errsz, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int checkpoint_store_restore(PGconn *conn, const char *resource_id, const char *dir, uid_t uid, char *err, size_t errsz)
{
    char pinned[64];
    int fd = store_open_dir(dir, pinned, sizeof pinned);
    if (fd < 0 && errno == ENOENT)
        return 0; /* no directory: nothing to compare with, and nowhere to write */
    if (fd < 0) {
        snprintf(err, errsz, "checkpoint directory %s: %s (a symlink or not a directory: refused)", dir,
                 strerror(errno));
        return -1;
    }
    dir = pinned;
    const char *p[] = {resource_id};
    PGresult *res = db_query_or_err(conn,
                                    "SELECT task_index, seq, encode(data, 'hex') FROM task_checkpoints"
                                    " WHERE resource_id = $1",
                                    1, p, err, errsz);
    if (!res) {
        close(fd);
        return -1;
    }
    int written = 0;
    for (int i = 0; i < PQntuples(res) && written >= 0; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/task-%s.ckpt", dir, PQgetvalue(res, i, 0));
        if (store_file_seq(path) >= strtoull(PQgetvalue(res, i, 1), NULL, 10))
            continue;
        written = store_write_file(path, PQgetvalue(res, i, 2), uid, err, errsz) == 0 ? written + 1 : -1;
    }
    PQclear(res);
    close(fd);
    return written;
}
