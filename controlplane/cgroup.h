/* cgroup.h — per-task resource limits through Linux control groups, v1 or v2 behind one
 * interface.
 *
 * cgroup_detect() looks at /sys/fs/cgroup once: a unified (v2) tree with memory, cpu and pids
 * controllers, or v1 hierarchies /sys/fs/cgroup/{memory,cpu,pids}. A task gets one group named
 * <parent>/<task-name> in each hierarchy (v1) or in the unified tree (v2). Nothing here is
 * fatal: a controller that cannot be written is reported as unavailable and the task runs
 * without that limit. */
#ifndef SLUICE_CONTROLPLANE_CGROUP_H
#define SLUICE_CONTROLPLANE_CGROUP_H

#include <stddef.h>
#include <stdint.h>

enum cgroup_version { CGROUP_NONE = 0, CGROUP_V1 = 1, CGROUP_V2 = 2 };

struct cgroup_limits {
    uint64_t memory_bytes; /* 0: no limit */
    uint32_t cpu_millis;   /* CPU time per second of wall time, 1000 = one core; 0: no limit */
    uint32_t pids;         /* 0: no limit */
};

/* One task's group. Plain data, caller-owned; paths are empty where unavailable. */
struct cgroup_task {
    enum cgroup_version version;
    char memory_dir[512]; /* v2: the single group directory */
    char cpu_dir[512];
    char pids_dir[512];
    char report[512]; /* what was applied, e.g. "v1 memory=268435456 cpu=500/1000 pids=64" */
};

/* Detects the cgroup layout under root (normally "/sys/fs/cgroup"; tests may pass another).
 * The result is remembered for cgroup_task_create(). Returns the version found. */
enum cgroup_version cgroup_detect(const char *root);
const char *cgroup_version_name(enum cgroup_version v);

/* Creates the group <parent>/<name> and writes the limits. Fills t, including t->report with
 * each controller's outcome. Returns 0 when at least one limit was applied, -1 when none was
 * (t->report says why). */
int cgroup_task_create(struct cgroup_task *t, const char *parent, const char *name, const struct cgroup_limits *limits);
/* Moves the calling process into the group (writes "0" to cgroup.procs); used in the child
 * between fork and exec. Async-signal-safe. Returns 0, or -1 if any write failed. */
int cgroup_task_join_self(const struct cgroup_task *t);
/* Number of OOM kills recorded in the group (v1 memory.oom_control, v2 memory.events); 0 when
 * unknown. */
long cgroup_task_oom_kills(const struct cgroup_task *t);
/* Removes the group directories (they must be empty of processes). */
void cgroup_task_destroy(struct cgroup_task *t);
/* Removes the parent group when no task group is left in it (best effort, at shutdown). */
void cgroup_parent_remove(const char *parent);

#endif
