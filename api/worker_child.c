/* worker_child.c — the pieces the api's sandboxed worker children share; see worker_child.h. */
#include "api/worker_child.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"

int worker_child_uid(struct api_request *req, struct api_response *resp, uid_t *uid)
{
    if (geteuid() != 0) {
        *uid = geteuid();
        return 0;
    }
    PGresult *res = api_db_query(req, resp, "SELECT sluice_preview_uid()", 0, NULL);
    if (!res)
        return -1;
    long v = PQntuples(res) == 1 ? atol(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    if (v <= 0)
        return api_fail(resp, API_INTERNAL, NULL, "internal error");
    *uid = (uid_t)v;
    return 0;
}

int worker_child_task_id(const char *prefix, char *task, size_t tasksz)
{
    unsigned char rnd[8];
    if (crypto_random(rnd, sizeof rnd) != 0)
        return -1;
    snprintf(task, tasksz, "%s-%02x%02x%02x%02x%02x%02x%02x%02x", prefix, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
             rnd[5], rnd[6], rnd[7]);
    return 0;
}

int worker_child_pipes(int in[2], int out[2], int *null_fd, char *err, size_t errsz)
{
    in[0] = in[1] = out[0] = out[1] = -1;
    *null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (*null_fd < 0 || pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
        snprintf(err, errsz, "pipe: %s", strerror(errno));
        return -1;
    }
    fcntl(in[1], F_SETPIPE_SZ, 1 << 20);
    return 0;
}

void worker_child_close(int in[2], int out[2], int null_fd)
{
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
    }
    if (null_fd >= 0)
        close(null_fd);
}

void worker_child_write(int fd, const char *text)
{
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void worker_child_rm_dir(const char *dir) { nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS); }
