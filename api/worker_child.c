/* worker_child.c — the pieces the api's sandboxed worker children share; see worker_child.h. */
#include "api/worker_child.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/fs.h"
#include "controlplane/sandbox.h"

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

/* Through descriptors (fs_remove_tree): the child, or another of the tenant's, could have swapped
 * a directory in it for a symlink, and the api removing it is root. */
void worker_child_rm_dir(const char *dir) { fs_remove_tree(dir); }

/* The binary: SLUICE_WORKER_PATH (the controlplane's worker, a full sluiced) when set, else this
 * executable (sluiced has every connector; the lean sluiced-worker has not). */
static int child_worker_path(char *out, size_t outlen)
{
    const char *env = getenv("SLUICE_WORKER_PATH");
    if (env && *env && access(env, X_OK) == 0)
        return snprintf(out, outlen, "%s", env) < (int)outlen ? 0 : -1;
    ssize_t n = readlink("/proc/self/exe", out, outlen - 1);
    if (n <= 0)
        return -1;
    out[n] = '\0';
    return 0;
}

/* Reads the child's output until its end or the deadline into buf; kills it then, reaps it. */
static void child_collect(pid_t pid, int fd, int timeout_ms, char *buf, size_t bufsz)
{
    size_t len = 0;
    int64_t deadline = clock_mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - clock_mono_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0 || (poll(&pfd, 1, (int)left) < 0 && errno != EINTR))
            break;
        ssize_t n = read(fd, buf + len, bufsz - 1 - len);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN) || (n > 0 && (len += (size_t)n) == bufsz - 1))
            break;
    }
    buf[len] = '\0';
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

int worker_child_run(const char *data_root, const char *tenant, uid_t uid, const char *task_prefix,
                     const struct worker_child_limits *lim, const char *spec_text, char *out, size_t outsz, char *err,
                     size_t errsz)
{
    char path[PATH_MAX], task[40], workdir[1024] = "";
    if (child_worker_path(path, sizeof path) != 0 || worker_child_task_id(task_prefix, task, sizeof task) != 0) {
        snprintf(err, errsz, "cannot find the worker binary");
        return -1;
    }
    if (sandbox_prepare_dirs(data_root, tenant, task, uid, uid, workdir, sizeof workdir, err, errsz) != 0)
        return -1;
    int in[2], pout[2], null_fd, rc = -1;
    pid_t pid = -1;
    if (worker_child_pipes(in, pout, &null_fd, err, errsz) != 0)
        goto out;
    struct sandbox_config cfg = {
        .uid = uid,
        .gid = uid,
        .workdir = workdir,
        .allow_network = lim->network,
        .address_space = lim->address_space,
        .cpu_seconds = lim->timeout_ms / 1000 + 1,
        .open_files = 256,
        .processes = geteuid() == 0 ? 65536 : 0,
    };
    char *const argv[] = {"sluiced", "worker", NULL};
    const int fds[3] = {in[0], pout[1], null_fd};
    char report[1024];
    if (sandbox_spawn(&cfg, path, argv, fds, &pid, report, sizeof report, err, errsz) != 0)
        goto out;
    close(in[0]);
    close(pout[1]);
    in[0] = pout[1] = -1;
    worker_child_write(in[1], spec_text);
    close(in[1]);
    in[1] = -1;
    child_collect(pid, pout[0], lim->timeout_ms, out, outsz);
    rc = 0;
out:
    worker_child_close(in, pout, null_fd);
    if (workdir[0])
        worker_child_rm_dir(workdir);
    return rc;
}
