/* sandbox.c — the worker sandbox: namespaces, cgroup, rlimits, uid drop, empty environment
 * and private working directory before exec; the seccomp allow-list after exec. */
#include "controlplane/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

/* ------------------------------------------------------------------------------------------ */
/* Child side: each layer writes "key\tvalue\n" to the report pipe.                          */

static void report_line(int fd, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report_line(int fd, const char *key, const char *fmt, ...)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "%s\t", key);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 2)
        n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    if (write(fd, buf, (size_t)n) < 0) {
        /* the parent reads the report; nothing else to do */
    }
}

struct rlimit_row {
    const char *name;
    int resource;
    size_t offset; /* of the value in struct sandbox_config; SIZE_MAX: always 0 */
};

static const struct rlimit_row rlimit_rows[] = {
    {"as", RLIMIT_AS, offsetof(struct sandbox_config, address_space)},
    {"cpu", RLIMIT_CPU, offsetof(struct sandbox_config, cpu_seconds)},
    {"nofile", RLIMIT_NOFILE, offsetof(struct sandbox_config, open_files)},
    {"nproc", RLIMIT_NPROC, offsetof(struct sandbox_config, processes)},
    {"core", RLIMIT_CORE, (size_t)-1},
};

static void child_rlimits(const struct sandbox_config *cfg, int rep)
{
    char applied[256] = "", failed[256] = "";
    for (size_t i = 0; i < sizeof rlimit_rows / sizeof rlimit_rows[0]; i++) {
        const struct rlimit_row *r = &rlimit_rows[i];
        uint64_t v = r->offset == (size_t)-1 ? 0 : *(const uint64_t *)((const char *)cfg + r->offset);
        if (v == 0 && r->offset != (size_t)-1)
            continue;
        struct rlimit rl = {v, v};
        if (r->resource == RLIMIT_CPU)
            rl.rlim_max = v + 5; /* SIGXCPU first, SIGKILL 5 s later */
        char *out = setrlimit(r->resource, &rl) == 0 ? applied : failed;
        size_t len = strlen(out);
        snprintf(out + len, 256 - len, "%s%s=%llu", len ? " " : "", r->name, (unsigned long long)v);
    }
    if (failed[0])
        report_line(rep, "rlimits", "partial: %s; failed: %s", applied, failed);
    else
        report_line(rep, "rlimits", "applied: %s", applied);
}

static void child_mount_proc(unsigned long clone_flags, int rep)
{
    if (!(clone_flags & CLONE_NEWNS) || !(clone_flags & CLONE_NEWPID)) {
        report_line(rep, "proc", "unavailable: no mount and pid namespaces");
        return;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL) != 0) {
        report_line(rep, "proc", "unavailable: %s", strerror(errno));
        return;
    }
    report_line(rep, "proc", "applied: private /proc (only the task's own processes)");
}

/* Runs in the child; returns only on a failure of a required layer (after reporting it). */
static void child_main(const struct sandbox_config *cfg, unsigned long clone_flags, const char *path,
                       char *const argv[], const int fds[3], int rep)
{
    setsid();
    for (int i = 0; i < 3; i++)
        if (dup2(fds[i], i) < 0) {
            report_line(rep, "error", "dup2: %s", strerror(errno));
            return;
        }
    /* Everything else the parent had open is closed at exec (the report pipe too). */
    for (int fd = 3; fd < 1024; fd++)
        if (fd != rep)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    for (int s = 1; s < NSIG; s++)
        signal(s, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (cfg->cgroup && cfg->cgroup->version != CGROUP_NONE) {
        if (cgroup_task_join_self(cfg->cgroup) == 0)
            report_line(rep, "cgroup", "applied: %s", cfg->cgroup->report);
        else
            report_line(rep, "cgroup", "unavailable: joining failed (%s); %s", strerror(errno), cfg->cgroup->report);
    } else {
        report_line(rep, "cgroup", "unavailable: %s", cfg->cgroup ? cfg->cgroup->report : "no cgroup tree");
    }
    child_mount_proc(clone_flags, rep);

    if (!cfg->workdir || chdir(cfg->workdir) != 0) {
        report_line(rep, "error", "working directory %s: %s", cfg->workdir ? cfg->workdir : "(none)", strerror(errno));
        return;
    }
    report_line(rep, "workdir", "applied: %s (mode 0700, owned by the task uid)", cfg->workdir);
    child_rlimits(cfg, rep);

    if (geteuid() == 0) {
        if (cfg->uid == 0 || setgroups(0, NULL) != 0 || setgid(cfg->gid) != 0 || setuid(cfg->uid) != 0) {
            report_line(rep, "error", "dropping to uid %u: %s", (unsigned)cfg->uid,
                        cfg->uid == 0 ? "uid 0 refused" : strerror(errno));
            return;
        }
        report_line(rep, "uid", "applied: uid %u gid %u, no supplementary groups", (unsigned)cfg->uid,
                    (unsigned)cfg->gid);
    } else {
        report_line(rep, "uid", "unavailable: controlplane not root, runs as uid %u", (unsigned)geteuid());
    }
    /* After the uid change: changing credentials clears the parent-death signal. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == 0)
        report_line(rep, "pdeathsig", "applied: SIGKILL");
    else
        report_line(rep, "pdeathsig", "unavailable: %s", strerror(errno));
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
        report_line(rep, "no_new_privs", "applied");
    else
        report_line(rep, "no_new_privs", "unavailable: %s", strerror(errno));
    report_line(rep, "environment", "applied: empty");
    report_line(rep, "seccomp", "requested: installed by the worker after exec");

    char *const empty_env[] = {NULL};
    execve(path, argv, empty_env);
    report_line(rep, "error", "exec %s: %s", path, strerror(errno));
}

/* ------------------------------------------------------------------------------------------ */
/* Parent side.                                                                               */

struct ns_attempt {
    unsigned long flags;
    const char *names;
};

static pid_t clone_child(unsigned long flags)
{
    return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

/* Reads "key\tvalue" lines until EOF into a JSON object; "error" lines go to err. */
static int collect_report(int rd, json_t *obj, char *err, size_t errsz)
{
    char buf[8192];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(rd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == sizeof buf - 1)
            break;
    }
    buf[len] = 0;
    int failed = 0;
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = 0;
        if (strcmp(line, "error") == 0) {
            snprintf(err, errsz, "sandbox: %s", tab + 1);
            failed = 1;
        } else {
            json_object_set_new(obj, line, json_string(tab + 1));
        }
    }
    return failed ? -1 : 0;
}

int sandbox_spawn(const struct sandbox_config *cfg, const char *path, char *const argv[], const int fds[3], pid_t *pid,
                  char *report, size_t reportsz, char *err, size_t errsz)
{
    unsigned long base = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
    unsigned long net = cfg->allow_network ? 0 : CLONE_NEWNET;
    const char *all = cfg->allow_network ? "pid,mount,ipc,uts (network allowed)" : "pid,mount,ipc,uts,net";
    struct ns_attempt attempts[] = {
        {base | net, all},
        {net, net ? "net" : ""},
        {0, ""},
    };
    int root = geteuid() == 0;
    int rp[2];
    if (pipe2(rp, O_CLOEXEC) != 0) {
        snprintf(err, errsz, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t child = -1;
    int first_errno = 0;
    const struct ns_attempt *used = NULL;
    for (size_t i = root ? 0 : 2; i < sizeof attempts / sizeof attempts[0]; i++) {
        child = clone_child(attempts[i].flags);
        if (child >= 0) {
            used = &attempts[i];
            break;
        }
        if (!first_errno)
            first_errno = errno;
    }
    if (child < 0) {
        snprintf(err, errsz, "clone: %s", strerror(errno));
        close(rp[0]);
        close(rp[1]);
        return -1;
    }
    if (child == 0) {
        close(rp[0]);
        child_main(cfg, used->flags, path, argv, fds, rp[1]);
        _exit(127);
    }
    close(rp[1]);
    json_t *obj = json_object();
    if (!root)
        json_object_set_new(obj, "namespaces", json_string("unavailable: controlplane not running as root"));
    else if (used == &attempts[0])
        json_object_set_new(obj, "namespaces", json_sprintf("applied: %s", used->names));
    else
        json_object_set_new(obj, "namespaces",
                            json_sprintf("partial: %s; full set refused: %s", used->names[0] ? used->names : "none",
                                         strerror(first_errno)));
    int rc = collect_report(rp[0], obj, err, errsz);
    close(rp[0]);
    if (rc != 0) {
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR)
            ;
    } else {
        *pid = child;
        char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(report, reportsz, "%s", text ? text : "{}");
        free(text);
    }
    json_decref(obj);
    return rc;
}

static int make_owned_dir(const char *path, mode_t mode, int own, uid_t uid, gid_t gid, char *err, size_t errsz)
{
    if (mkdir(path, mode) != 0 && errno != EEXIST) {
        snprintf(err, errsz, "creating %s: %s", path, strerror(errno));
        return -1;
    }
    if (own && geteuid() == 0 && (chown(path, uid, gid) != 0 || chmod(path, mode) != 0)) {
        snprintf(err, errsz, "setting owner of %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int sandbox_prepare_dirs(const char *data_root, const char *tenant_id, const char *task_id, uid_t uid, gid_t gid,
                         char *workdir, size_t workdirsz, char *err, size_t errsz)
{
    if (strchr(tenant_id, '/') || strchr(task_id, '/') || tenant_id[0] == '.' || task_id[0] == '.') {
        snprintf(err, errsz, "invalid tenant or task id");
        return -1;
    }
    char path[4][512];
    snprintf(path[0], sizeof path[0], "%s/tenants", data_root);
    snprintf(path[1], sizeof path[1], "%.300s/%.100s", path[0], tenant_id);
    snprintf(path[2], sizeof path[2], "%.400s/streams", path[1]);
    snprintf(path[3], sizeof path[3], "%.400s/tasks", path[1]);
    if (mkdir(data_root, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errsz, "creating %s: %s", data_root, strerror(errno));
        return -1;
    }
    if (make_owned_dir(path[0], 0711, 0, 0, 0, err, errsz) != 0)
        return -1;
    for (int i = 1; i < 4; i++)
        if (make_owned_dir(path[i], 0700, 1, uid, gid, err, errsz) != 0)
            return -1;
    snprintf(workdir, workdirsz, "%.400s/%.100s", path[3], task_id);
    return make_owned_dir(workdir, 0700, 1, uid, gid, err, errsz);
}

/* ------------------------------------------------------------------------------------------ */
/* Worker side: the seccomp allow-list.                                                       */

static const char *const allowed_syscalls[] = {
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "open",
    "openat",
    "close",
    "close_range",
    "stat",
    "fstat",
    "lstat",
    "newfstatat",
    "statx",
    "lseek",
    "mmap",
    "munmap",
    "mprotect",
    "mremap",
    "madvise",
    "brk",
    "msync",
    "mincore",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigtimedwait",
    "rt_sigpending",
    "rt_sigsuspend",
    "sigaltstack",
    "ioctl",
    "access",
    "faccessat",
    "faccessat2",
    "pipe",
    "pipe2",
    "select",
    "pselect6",
    "poll",
    "ppoll",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "eventfd",
    "eventfd2",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    "signalfd",
    "signalfd4",
    "sched_yield",
    "sched_getaffinity",
    "sched_setaffinity",
    "sched_getparam",
    "sched_getscheduler",
    "dup",
    "dup2",
    "dup3",
    "nanosleep",
    "clock_nanosleep",
    "clock_gettime",
    "clock_getres",
    "gettimeofday",
    "time",
    "getitimer",
    "setitimer",
    "alarm",
    "getpid",
    "gettid",
    "getppid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getgroups",
    "getresuid",
    "getresgid",
    "getpgrp",
    "getpgid",
    "getsid",
    "getrlimit",
    "prlimit64",
    "getrusage",
    "sysinfo",
    "times",
    "uname",
    "fcntl",
    "flock",
    "fsync",
    "fdatasync",
    "sync_file_range",
    "truncate",
    "ftruncate",
    "fallocate",
    "getdents",
    "getdents64",
    "getcwd",
    "chdir",
    "fchdir",
    "rename",
    "renameat",
    "renameat2",
    "mkdir",
    "mkdirat",
    "rmdir",
    "link",
    "linkat",
    "unlink",
    "unlinkat",
    "symlink",
    "symlinkat",
    "readlink",
    "readlinkat",
    "chmod",
    "fchmod",
    "fchmodat",
    "umask",
    "utimensat",
    "futimesat",
    "fadvise64",
    "readahead",
    "socket",
    "socketpair",
    "connect",
    "accept",
    "accept4",
    "bind",
    "listen",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    "shutdown",
    "getsockname",
    "getpeername",
    "setsockopt",
    "getsockopt",
    "futex",
    "futex_waitv",
    "set_robust_list",
    "get_robust_list",
    "set_tid_address",
    "rseq",
    "arch_prctl",
    "prctl",
    "exit",
    "exit_group",
    "wait4",
    "waitid",
    "kill",
    "tgkill",
    "tkill",
    "getrandom",
    "memfd_create",
    "inotify_init1",
    "inotify_add_watch",
    "inotify_rm_watch",
    "membarrier",
    "restart_syscall",
    "sendfile",
    "copy_file_range",
    "splice",
    "tee",
    "statfs",
    "fstatfs",
    "mlock",
    "munlock",
    "capget",
    "getcpu",
    "sched_get_priority_max",
    "sched_get_priority_min",
};

/* Calls refused explicitly (they would be refused by the default action too; listing them
 * documents the intent and keeps them refused if the default changes). */
static const char *const denied_syscalls[] = {
    "execve",    "execveat",    "ptrace",      "mount",           "umount2",          "pivot_root",        "chroot",
    "unshare",   "setns",       "init_module", "finit_module",    "delete_module",    "kexec_load",        "reboot",
    "swapon",    "swapoff",     "bpf",         "perf_event_open", "process_vm_readv", "process_vm_writev", "keyctl",
    "add_key",   "request_key", "setuid",      "setgid",          "setreuid",         "setregid",          "setresuid",
    "setresgid", "setgroups",
};

int sandbox_lock_down(char *report, size_t reportsz)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(report, reportsz, "unavailable: no_new_privs: %s", strerror(errno));
        return -1;
    }
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    if (!ctx) {
        snprintf(report, reportsz, "unavailable: seccomp_init failed");
        return -1;
    }
    int allowed = 0, rc = 0;
    for (size_t i = 0; i < sizeof allowed_syscalls / sizeof allowed_syscalls[0]; i++) {
        int nr = seccomp_syscall_resolve_name(allowed_syscalls[i]);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not on this architecture */
        if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) == 0)
            allowed++;
    }
    for (size_t i = 0; i < sizeof denied_syscalls / sizeof denied_syscalls[0]; i++) {
        int nr = seccomp_syscall_resolve_name(denied_syscalls[i]);
        if (nr != __NR_SCMP_ERROR)
            seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
    }
    /* Threads yes, new namespaces no; clone3 reports ENOSYS so libc falls back to clone. */
    const uint64_t ns_flags =
        CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags, 0));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc != 0) {
        snprintf(report, reportsz, "unavailable: seccomp: %s", strerror(-rc));
        return -1;
    }
    snprintf(report, reportsz, "applied: allow-list of %d system calls (no exec, ptrace, mount)", allowed + 1);
    return 0;
}
