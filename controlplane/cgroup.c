/* cgroup.c — per-task cgroup limits, v1 (memory, cpu, pids hierarchies) or v2 (unified). */
#include "controlplane/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static enum cgroup_version detected = CGROUP_NONE;
static char cgroup_root[200] = "/sys/fs/cgroup";

const char *cgroup_version_name(enum cgroup_version v)
{
    static const char *const names[] = {"none", "v1", "v2"};
    return names[v];
}

static int path_exists(const char *dir, const char *file)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    return access(p, F_OK) == 0;
}

enum cgroup_version cgroup_detect(const char *root)
{
    snprintf(cgroup_root, sizeof cgroup_root, "%s", root ? root : "/sys/fs/cgroup");
    char dir[300];
    snprintf(dir, sizeof dir, "%s/memory", cgroup_root);
    if (path_exists(dir, "memory.limit_in_bytes"))
        detected = CGROUP_V1;
    else if (path_exists(cgroup_root, "cgroup.controllers"))
        detected = CGROUP_V2;
    else
        detected = CGROUP_NONE;
    return detected;
}

/* Writes text to dir/file; async-signal-safe. Returns 0 or -1 with errno. */
static int write_file(const char *dir, const char *file, const char *text)
{
    char p[512];
    size_t dl = strlen(dir), fl = strlen(file), tl = strlen(text);
    if (dl + fl + 2 > sizeof p)
        return -1;
    memcpy(p, dir, dl);
    p[dl] = '/';
    memcpy(p + dl + 1, file, fl + 1);
    int fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, tl);
    int saved = errno;
    close(fd);
    errno = saved;
    return n == (ssize_t)tl ? 0 : -1;
}

static int make_dir(char *out, size_t outsz, const char *base, const char *parent, const char *name)
{
    char p[400];
    snprintf(p, sizeof p, "%s/%s", base, parent);
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return -1;
    snprintf(out, outsz, "%s/%s", p, name);
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        out[0] = 0;
        return -1;
    }
    return 0;
}

/* Appends "what=value" or "what: error" to the report. */
static void report_add(struct cgroup_task *t, const char *what, int ok, const char *value)
{
    size_t len = strlen(t->report);
    snprintf(t->report + len, sizeof t->report - len, "%s%s%s%s", len ? " " : "", what,
             ok ? "=" : " unavailable: ", value);
}

static int limit_v1(struct cgroup_task *t, char *dir, size_t dirsz, const char *controller, const char *parent,
                    const char *name, const char *file, const char *value)
{
    char base[300];
    snprintf(base, sizeof base, "%.200s/%s", cgroup_root, controller);
    if (make_dir(dir, dirsz, base, parent, name) != 0 || write_file(dir, file, value) != 0) {
        report_add(t, controller, 0, strerror(errno));
        return -1;
    }
    report_add(t, controller, 1, value);
    return 0;
}

static int create_v1(struct cgroup_task *t, const char *parent, const char *name, const struct cgroup_limits *l)
{
    char v[64];
    int applied = 0;
    if (l->memory_bytes) {
        snprintf(v, sizeof v, "%llu", (unsigned long long)l->memory_bytes);
        applied +=
            limit_v1(t, t->memory_dir, sizeof t->memory_dir, "memory", parent, name, "memory.limit_in_bytes", v) == 0;
    }
    if (l->cpu_millis) {
        snprintf(v, sizeof v, "%u", l->cpu_millis * 100); /* period 100000 us */
        if (limit_v1(t, t->cpu_dir, sizeof t->cpu_dir, "cpu", parent, name, "cpu.cfs_quota_us", v) == 0) {
            write_file(t->cpu_dir, "cpu.cfs_period_us", "100000");
            applied++;
        }
    }
    if (l->pids) {
        snprintf(v, sizeof v, "%u", l->pids);
        applied += limit_v1(t, t->pids_dir, sizeof t->pids_dir, "pids", parent, name, "pids.max", v) == 0;
    }
    return applied ? 0 : -1;
}

static int create_v2(struct cgroup_task *t, const char *parent, const char *name, const struct cgroup_limits *l)
{
    char pdir[400];
    /* Controllers must be enabled for the children of the root and of the parent group. */
    write_file(cgroup_root, "cgroup.subtree_control", "+memory +cpu +pids");
    snprintf(pdir, sizeof pdir, "%s/%s", cgroup_root, parent);
    if (make_dir(t->memory_dir, sizeof t->memory_dir, cgroup_root, parent, name) != 0) {
        report_add(t, "group", 0, strerror(errno));
        return -1;
    }
    write_file(pdir, "cgroup.subtree_control", "+memory +cpu +pids");
    snprintf(t->cpu_dir, sizeof t->cpu_dir, "%s", t->memory_dir);
    snprintf(t->pids_dir, sizeof t->pids_dir, "%s", t->memory_dir);
    int applied = 0;
    struct {
        const char *file;
        int wanted;
        char value[64];
    } rows[3] = {
        {"memory.max", l->memory_bytes != 0, ""}, {"cpu.max", l->cpu_millis != 0, ""}, {"pids.max", l->pids != 0, ""}};
    snprintf(rows[0].value, sizeof rows[0].value, "%llu", (unsigned long long)l->memory_bytes);
    snprintf(rows[1].value, sizeof rows[1].value, "%u 100000", l->cpu_millis * 100);
    snprintf(rows[2].value, sizeof rows[2].value, "%u", l->pids);
    for (int i = 0; i < 3; i++) {
        if (!rows[i].wanted)
            continue;
        int ok = write_file(t->memory_dir, rows[i].file, rows[i].value) == 0;
        report_add(t, rows[i].file, ok, ok ? rows[i].value : strerror(errno));
        applied += ok;
    }
    return applied ? 0 : -1;
}

int cgroup_task_create(struct cgroup_task *t, const char *parent, const char *name, const struct cgroup_limits *limits)
{
    memset(t, 0, sizeof *t);
    t->version = detected;
    snprintf(t->report, sizeof t->report, "%s", cgroup_version_name(detected));
    if (detected == CGROUP_V1)
        return create_v1(t, parent, name, limits);
    if (detected == CGROUP_V2)
        return create_v2(t, parent, name, limits);
    report_add(t, "cgroups", 0, "no writable cgroup tree found");
    return -1;
}

int cgroup_task_join_self(const struct cgroup_task *t)
{
    const char *dirs[3] = {t->memory_dir, t->cpu_dir, t->pids_dir};
    int rc = 0;
    for (int i = 0; i < 3; i++) {
        if (!dirs[i][0])
            continue;
        if (i > 0 && strcmp(dirs[i], dirs[0]) == 0)
            continue; /* v2: one group */
        if (write_file(dirs[i], "cgroup.procs", "0") != 0)
            rc = -1;
    }
    return rc;
}

long cgroup_task_oom_kills(const struct cgroup_task *t)
{
    if (!t->memory_dir[0])
        return 0;
    char p[600];
    snprintf(p, sizeof p, "%s/%s", t->memory_dir, t->version == CGROUP_V2 ? "memory.events" : "memory.oom_control");
    FILE *f = fopen(p, "re");
    if (!f)
        return 0;
    char line[128];
    long n = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "oom_kill %ld", &n) == 1)
            break;
    fclose(f);
    return n;
}

void cgroup_task_destroy(struct cgroup_task *t)
{
    const char *dirs[3] = {t->memory_dir, t->cpu_dir, t->pids_dir};
    for (int i = 0; i < 3; i++)
        if (dirs[i][0])
            rmdir(dirs[i]); /* v2: the 2nd and 3rd fail with ENOENT, harmlessly */
    t->memory_dir[0] = t->cpu_dir[0] = t->pids_dir[0] = 0;
}

void cgroup_parent_remove(const char *parent)
{
    static const char *const hierarchies[] = {"memory", "cpu", "pids"};
    char p[600];
    if (detected == CGROUP_V2) {
        snprintf(p, sizeof p, "%s/%s", cgroup_root, parent);
        rmdir(p);
    } else if (detected == CGROUP_V1) {
        for (size_t i = 0; i < sizeof hierarchies / sizeof hierarchies[0]; i++) {
            snprintf(p, sizeof p, "%s/%s/%s", cgroup_root, hierarchies[i], parent);
            rmdir(p); /* fails harmlessly while another node's tasks are in it */
        }
    }
}
