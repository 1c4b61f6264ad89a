/* worker_child.h — what the api's sandboxed worker children (a preview, api/preview.h; a
 * connection check, api/connection_check.h; a function's load, dataplane/function_check.h)
 * share: the uid they run as, their random task id, the pipes to them, the spec written to
 * their stdin, the removal of their working directory, and (worker_child_run) the whole run of
 * one that answers in lines. */
#ifndef SLUICE_API_WORKER_CHILD_H
#define SLUICE_API_WORKER_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "api/http.h"

/* The uid the child runs as: the tenant's worker uid when the api is root (allocated by the
 * database like the controlplane's), else the api's own. Returns 0 or -1 with resp filled. */
int worker_child_uid(struct api_request *req, struct api_response *resp, uid_t *uid);

/* A task id: prefix and 16 random hex digits, into task. 0, or -1 when there is no randomness. */
int worker_child_task_id(const char *prefix, char *task, size_t tasksz);

/* Opens the child's stdin pipe (in), its stdout pipe (out) and /dev/null (for its stderr), all
 * close-on-exec, in's pipe grown to 1 MiB (a spec fits: writing it does not wait for the child).
 * 0, or -1 with err; what was opened is in the arguments either way (-1 where not). */
int worker_child_pipes(int in[2], int out[2], int *null_fd, char *err, size_t errsz);

/* Closes what of in, out and null_fd is open (not -1). */
void worker_child_close(int in[2], int out[2], int null_fd);

/* Writes text to fd whole, or until the child is gone (its end of output then says so). */
void worker_child_write(int fd, const char *text);

/* Removes the directory dir and everything in it (symbolic links not followed). */
void worker_child_rm_dir(const char *dir);

/* The sandbox of a child run by worker_child_run. */
struct worker_child_limits {
    bool network;                     /* the network the tenant's tasks get, or none */
    unsigned long long address_space; /* bytes */
    int timeout_ms;                   /* killed after this (and CPU-limited to it) */
};

/* Runs `sluiced worker` with spec_text on its stdin in the workers' sandbox as uid (a task id
 * with task_prefix, a working directory under data_root for tenant, removed after), its output
 * until its end or the timeout into out (NUL-terminated). The binary: SLUICE_WORKER_PATH when
 * set, else this executable. 0, or -1 with err when it cannot be started. */
int worker_child_run(const char *data_root, const char *tenant, uid_t uid, const char *task_prefix,
                     const struct worker_child_limits *lim, const char *spec_text, char *out, size_t outsz, char *err,
                     size_t errsz);

#endif
