/* sandbox.h — starts a worker process inside a sandbox, and locks a worker down after exec.
 *
 * sandbox_spawn() clones a child in new namespaces (pid, mount, ipc, uts, and net unless the
 * task needs the network; falling back to fewer where the kernel refuses), and in the child,
 * before exec: moves it into its cgroup, pivots into a private root file system (when root, in
 * a new mount namespace: a read-only tmpfs holding read-only binds of the system's /usr (and
 * the /bin, /lib... links or directories), of /etc's resolver and TLS files and of the worker
 * binary, read-write binds of the task's own directories at their host paths, a fresh /tmp,
 * a /dev with null, zero, full, random and urandom, and a private /proc; the host's root is
 * detached), changes to its own working
 * directory, sets rlimits (address space, CPU, open files, processes, core size 0), drops to an
 * unprivileged uid/gid when started as root, sets the parent-death signal and
 * PR_SET_NO_NEW_PRIVS, and execs with an empty environment. Each layer's outcome is reported
 * ("applied: ..." or "unavailable: why") in a JSON object the caller stores in the task status.
 *
 * The seccomp allow-list forbids execve, so it cannot be installed before exec: the worker
 * calls seccomp_lock_down() (common/seccomp.h) itself, first thing, when its spec says
 * "sandbox":{"seccomp":true}. */
#ifndef SLUICE_CONTROLPLANE_SANDBOX_H
#define SLUICE_CONTROLPLANE_SANDBOX_H

#include <stdint.h>
#include <sys/types.h>

#include "controlplane/cgroup.h"

#define SANDBOX_MAX_RW_PATHS 4
#define SANDBOX_PATH_MAX 1024

/* Zero-initialised fields mean the strictest choice (no extra paths, no network). */
struct sandbox_config {
    uid_t uid; /* used when the caller is root; must not be 0 */
    gid_t gid;
    const char *workdir; /* borrowed; must exist, owned by uid, mode 0700; read-write in the root */
    /* More directories the task may read and write (the tenant's directory under the data
     * root: its streams, checkpoints and tasks), bound at the same absolute paths in the
     * private root; the first empty string ends the list. Everything else of the host's file
     * system is invisible, but for the read-only system files. */
    char rw_paths[SANDBOX_MAX_RW_PATHS][SANDBOX_PATH_MAX];
    int allow_network; /* 0: own network namespace (no interfaces but loopback) */
    /* With allow_network: the controlplane's egress policy as a report line ("applied: ..."),
     * borrowed, must outlive the task; NULL: reported unavailable. */
    const char *egress;
    uint64_t address_space;           /* RLIMIT_AS bytes; 0: unchanged */
    uint64_t cpu_seconds;             /* RLIMIT_CPU; 0: unchanged */
    uint64_t open_files;              /* RLIMIT_NOFILE; 0: unchanged */
    uint64_t processes;               /* RLIMIT_NPROC (per uid); 0: unchanged */
    const struct cgroup_task *cgroup; /* borrowed, may be NULL */
};

/* Starts path with argv (argv[0] included, NULL-terminated) in a sandbox. fds[0] becomes the
 * child's stdin, fds[1] its stdout, fds[2] its stderr (the caller closes its copies after).
 * On success returns 0 with *pid set and report filled with a JSON object, one key per layer
 * (NUL-terminated, truncated to reportsz). Returns -1 when the child could not be started or a
 * required layer (uid drop, working directory, the private root when running as root in a new
 * mount namespace) failed; err then says why. path must be inside the private root: it is
 * bound there (at its canonical path) unless it lies under /usr. */
int sandbox_spawn(const struct sandbox_config *cfg, const char *path, char *const argv[], const int fds[3], pid_t *pid,
                  char *report, size_t reportsz, char *err, size_t errsz);

/* Creates a task's directories under data_root: tenants/ (0711, left as is if present),
 * tenants/<tenant>/ with streams/ and tasks/<task>/ inside (each 0700, owned by uid:gid when
 * the caller is root), and writes the task's directory into workdir. Returns 0, or -1 with err
 * filled. */
int sandbox_prepare_dirs(const char *data_root, const char *tenant_id, const char *task_id, uid_t uid, gid_t gid,
                         char *workdir, size_t workdirsz, char *err, size_t errsz);

#endif
