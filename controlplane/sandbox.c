/* sandbox.c — the worker sandbox: namespaces, cgroup, rlimits, uid drop, empty environment
 * and private working directory before exec. The seccomp allow-list, installed by the worker
 * after exec, is common/seccomp.c. */
#include "controlplane/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
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
    char buf[1024];
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

/* ------------------------------------------------------------------------------------------ */
/* Child side: the private root file system.                                                 */

/* What the worker may see of the host, read-only, when present: the system's programs and
 * libraries (on a merged-/usr system /bin, /lib... are symlinks into /usr and are recreated as
 * such), the dynamic loader's cache, and the few files of /etc that name resolution (DNS,
 * /etc/hosts) and TLS (CA certificates, OpenSSL's configuration) read in librdkafka, libpq and
 * libcurl. Nothing else of /etc (no passwd, no shadow, no ssl/private). */
static const char *const root_system_paths[] = {
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc/ld.so.cache",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/nsswitch.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/localtime",
    "/etc/ssl/certs",
    "/etc/ssl/openssl.cnf",
    "/etc/pki/tls/certs",
};

/* Device nodes bound from the host's /dev; the private /dev holds nothing else. */
static const char *const root_devices[] = {"null", "zero", "full", "random", "urandom"};

#define ROOT_MAX_ENTRIES 48
#define ROOT_PATH_MAX 1024

enum root_kind { ROOT_RO_DIR, ROOT_RO_FILE, ROOT_RW_DIR, ROOT_DEVICE, ROOT_SYMLINK };

struct root_entry {
    enum root_kind kind;
    char path[ROOT_PATH_MAX];   /* where, inside the private root */
    char source[ROOT_PATH_MAX]; /* canonical host path (binds), or the link's target */
};

struct root_plan {
    struct root_entry entries[ROOT_MAX_ENTRIES];
    int n;
    char binary[ROOT_PATH_MAX]; /* the executable's canonical path (bound, and exec'd) */
};

static struct root_entry *plan_add(struct root_plan *p, enum root_kind kind, const char *path, const char *source)
{
    if (p->n == ROOT_MAX_ENTRIES || strlen(path) >= ROOT_PATH_MAX || strlen(source) >= ROOT_PATH_MAX)
        return NULL;
    struct root_entry *e = &p->entries[p->n++];
    e->kind = kind;
    snprintf(e->path, sizeof e->path, "%s", path);
    snprintf(e->source, sizeof e->source, "%s", source);
    return e;
}

/* 1 when path is dir or below it. */
static int path_within(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == 0 || path[n] == '/' || (n == 1 && dir[0] == '/'));
}

/* Resolves everything against the host's tree, before anything is mounted. Returns 0, or -1
 * with why in err. */
static int root_plan_build(const struct sandbox_config *cfg, const char *binary, struct root_plan *p, char *err,
                           size_t errsz)
{
    char real[PATH_MAX];
    p->n = 0;
    for (size_t i = 0; i < sizeof root_system_paths / sizeof root_system_paths[0]; i++) {
        const char *sys = root_system_paths[i];
        struct stat st;
        if (lstat(sys, &st) != 0 || !realpath(sys, real))
            continue; /* absent here (or a dangling link) */
        if (S_ISLNK(st.st_mode) && path_within(real, "/usr")) {
            char target[ROOT_PATH_MAX];
            ssize_t len = readlink(sys, target, sizeof target - 1);
            if (len <= 0)
                continue;
            target[len] = 0;
            plan_add(p, ROOT_SYMLINK, sys, target); /* /bin -> usr/bin: /usr is bound */
        } else if (stat(real, &st) == 0 && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
            plan_add(p, S_ISDIR(st.st_mode) ? ROOT_RO_DIR : ROOT_RO_FILE, sys, real);
        }
    }
    if (!realpath(binary, p->binary)) {
        snprintf(err, errsz, "exec %.400s: %s", binary, strerror(errno));
        return -1;
    }
    if (!path_within(p->binary, "/usr") && !plan_add(p, ROOT_RO_FILE, p->binary, p->binary)) {
        snprintf(err, errsz, "path too long: %.400s", p->binary);
        return -1;
    }
    /* The task's own directories, read-write, at the same absolute paths. */
    const char *rw[SANDBOX_MAX_RW_PATHS + 1];
    int nrw = 0;
    for (int i = 0; i < SANDBOX_MAX_RW_PATHS && cfg->rw_paths[i][0]; i++)
        rw[nrw++] = cfg->rw_paths[i];
    if (cfg->workdir)
        rw[nrw++] = cfg->workdir;
    for (int i = 0; i < nrw; i++) {
        if (!realpath(rw[i], real)) {
            snprintf(err, errsz, "%.400s: %s", rw[i], strerror(errno));
            return -1;
        }
        int covered = 0;
        for (int j = 0; j < p->n; j++)
            covered |= p->entries[j].kind == ROOT_RW_DIR && path_within(real, p->entries[j].path);
        if (covered)
            continue;
        if (!plan_add(p, ROOT_RW_DIR, real, real)) {
            snprintf(err, errsz, "too many paths or path too long: %.400s", real);
            return -1;
        }
    }
    for (size_t i = 0; i < sizeof root_devices / sizeof root_devices[0]; i++) {
        char dev[64];
        snprintf(dev, sizeof dev, "/dev/%s", root_devices[i]);
        if (access(dev, F_OK) == 0)
            plan_add(p, ROOT_DEVICE, dev, dev);
    }
    static const char *const dev_links[][2] = {
        {"/dev/fd", "/proc/self/fd"},
        {"/dev/stdin", "/proc/self/fd/0"},
        {"/dev/stdout", "/proc/self/fd/1"},
        {"/dev/stderr", "/proc/self/fd/2"},
    };
    for (size_t i = 0; i < sizeof dev_links / sizeof dev_links[0]; i++)
        plan_add(p, ROOT_SYMLINK, dev_links[i][0], dev_links[i][1]);
    return 0;
}

/* mkdir -p of path's parents (or of path itself when self), mode 0755. */
static int mkdir_parents(const char *path, int self)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    return self && mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Mounts one entry below /newroot; the host's tree is at /oldroot. */
static int root_mount_entry(const struct root_entry *e, char *err, size_t errsz)
{
    char dest[PATH_MAX], src[PATH_MAX];
    snprintf(dest, sizeof dest, "/newroot%s", e->path);
    snprintf(src, sizeof src, "/oldroot%s", e->source);
    if (e->kind == ROOT_SYMLINK) {
        if (mkdir_parents(dest, 0) != 0 || symlink(e->source, dest) != 0)
            goto fail;
        return 0;
    }
    int dir = e->kind == ROOT_RO_DIR || e->kind == ROOT_RW_DIR;
    if (mkdir_parents(dest, dir) != 0)
        goto fail;
    if (!dir) {
        int fd = open(dest, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            goto fail;
        close(fd);
    }
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_NOSUID;
    if (e->kind == ROOT_RW_DIR)
        flags |= MS_NODEV | MS_NOEXEC;
    else if (e->kind == ROOT_DEVICE)
        flags |= MS_NOEXEC; /* writable, and device nodes work here */
    else
        flags |= MS_NODEV | MS_RDONLY;
    if (mount(src, dest, NULL, MS_BIND, NULL) != 0 || mount(NULL, dest, NULL, flags, NULL) != 0)
        goto fail;
    return 0;
fail:
    snprintf(err, errsz, "%.400s: %s", e->path, strerror(errno));
    return -1;
}

/* Replaces the child's view of the file system with a tmpfs holding only the plan's entries,
 * a fresh /tmp and /proc. The host's root is reached through /oldroot while the tree is built
 * (so that sources below /tmp stay reachable), then detached. Returns 0, or -1 with err. */
static int child_private_root(const struct root_plan *p, char *err, size_t errsz)
{
    const char *step = "making / private";
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        goto fail;
    step = "staging tmpfs";
    if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k") != 0)
        goto fail;
    if (mkdir("/tmp/oldroot", 0700) != 0 || mkdir("/tmp/newroot", 0755) != 0)
        goto fail;
    step = "pivot_root to the staging tmpfs";
    if (syscall(SYS_pivot_root, "/tmp", "/tmp/oldroot") != 0 || chdir("/") != 0)
        goto fail;
    step = "root tmpfs";
    if (mount("tmpfs", "/newroot", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") != 0)
        goto fail;
    /* /tmp first: a task directory below the host's /tmp is bound on top of it */
    step = "/tmp";
    if (mkdir("/newroot/tmp", 01777) != 0 ||
        mount("tmpfs", "/newroot/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=256m") != 0)
        goto fail;
    for (int i = 0; i < p->n; i++)
        if (root_mount_entry(&p->entries[i], err, errsz) != 0)
            return -1;
    step = "/proc";
    if (mkdir("/newroot/proc", 0555) != 0 ||
        mount("proc", "/newroot/proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL) != 0)
        goto fail;
    step = "pivot_root";
    if (chdir("/newroot") != 0 || syscall(SYS_pivot_root, ".", ".") != 0)
        goto fail;
    step = "detaching the host's root";
    if (umount2(".", MNT_DETACH) != 0 || chdir("/") != 0)
        goto fail;
    step = "read-only root";
    if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0)
        goto fail;
    return 0;
fail:
    snprintf(err, errsz, "%s: %s", step, strerror(errno));
    return -1;
}

/* The mount layers: a private root with its own /proc when running as root in a new mount and
 * pid namespace (required then: on failure the task does not start), else what is possible.
 * Returns 0, or -1 after reporting an "error" line. */
static int child_file_system(const struct sandbox_config *cfg, unsigned long clone_flags, const char *binary,
                             char *exec_path, size_t exec_pathsz, int rep)
{
    snprintf(exec_path, exec_pathsz, "%s", binary);
    if (!(clone_flags & CLONE_NEWNS) || !(clone_flags & CLONE_NEWPID)) {
        report_line(rep, "proc", "unavailable: no mount and pid namespaces");
        report_line(rep, "root", "unavailable: %s",
                    geteuid() == 0 ? "no mount namespace" : "controlplane not running as root");
        return 0;
    }
    static struct root_plan plan; /* the child's own copy of the parent's memory */
    char err[512];
    if (root_plan_build(cfg, binary, &plan, err, sizeof err) != 0 || child_private_root(&plan, err, sizeof err) != 0) {
        report_line(rep, "error", "private root: %s", err);
        return -1;
    }
    snprintf(exec_path, exec_pathsz, "%s", plan.binary);
    char rw[700] = "";
    for (int i = 0; i < plan.n; i++)
        if (plan.entries[i].kind == ROOT_RW_DIR) {
            size_t len = strlen(rw);
            snprintf(rw + len, sizeof rw - len, "%s%s", len ? ", " : "", plan.entries[i].path);
        }
    report_line(rep, "root",
                "applied: private root (pivot_root onto a read-only tmpfs): system directories, /etc's resolver and "
                "TLS files and the binary read-only; read-write only %s; fresh /tmp; /dev with null, zero, full, "
                "random, urandom",
                rw);
    report_line(rep, "proc", "applied: private /proc (only the task's own processes)");
    return 0;
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
    char exec_path[PATH_MAX];
    if (child_file_system(cfg, clone_flags, path, exec_path, sizeof exec_path, rep) != 0)
        return;

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
    execve(exec_path, argv, empty_env);
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
    if (!cfg->allow_network && (used->flags & CLONE_NEWNET))
        json_object_set_new(obj, "egress", json_string("applied: own network namespace (loopback only)"));
    else if (!cfg->allow_network)
        json_object_set_new(obj, "egress", json_string("unavailable: no network namespace"));
    else if (cfg->egress)
        json_object_set_new(obj, "egress", json_string(cfg->egress));
    else
        json_object_set_new(obj, "egress", json_string("unavailable: no egress policy installed"));
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
