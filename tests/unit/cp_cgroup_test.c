/* cp_cgroup_test — cgroup limits: on the machine's real tree (v1 or v2, when writable) a group
 * gets the limits written, a process joins it, and it is removed; on a writable fake v2 tree
 * (files pre-created in a temporary directory) each limit is written as the kernel expects it,
 * joining writes cgroup.procs and OOM kills are read from memory.events (v1: memory.oom_control);
 * on a fake v2 tree whose files cannot be written every limit is reported unavailable with the
 * reason; no tree at all says so. */
#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "controlplane/cgroup.h"
#include "tests/unit/check_main.h"

static long read_long(const char *dir, const char *file)
{
    char p[1100];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    FILE *f = fopen(p, "r");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

START_TEST(real_tree_limits_join_and_remove)
{
    enum cgroup_version v = cgroup_detect(NULL);
    if (v == CGROUP_NONE || access("/sys/fs/cgroup", W_OK) != 0) {
        printf("SKIP real_tree_limits_join_and_remove: no writable cgroup tree at /sys/fs/cgroup (%s)\n",
               cgroup_version_name(v));
        fflush(stdout);
        return;
    }
    struct cgroup_task t;
    char name[64];
    snprintf(name, sizeof name, "unit-%d", (int)getpid());
    struct cgroup_limits l = {.memory_bytes = 64u << 20, .cpu_millis = 500, .pids = 32};
    ck_assert_msg(cgroup_task_create(&t, "sluice-unit", name, &l) == 0, "%s", t.report);
    if (v == CGROUP_V1) {
        ck_assert_int_eq(read_long(t.memory_dir, "memory.limit_in_bytes"), 64l << 20);
        ck_assert_int_eq(read_long(t.cpu_dir, "cpu.cfs_quota_us"), 50000);
        ck_assert_int_eq(read_long(t.pids_dir, "pids.max"), 32);
        ck_assert_ptr_nonnull(strstr(t.report, "v1 memory=67108864 cpu=50000 pids=32"));
    } else {
        ck_assert_int_eq(read_long(t.memory_dir, "memory.max"), 64l << 20);
    }
    pid_t pid = fork();
    if (pid == 0) {
        _exit(cgroup_task_join_self(&t) == 0 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(cgroup_task_oom_kills(&t), 0);
    char dir[sizeof t.memory_dir];
    snprintf(dir, sizeof dir, "%s", t.memory_dir);
    cgroup_task_destroy(&t);
    cgroup_parent_remove("sluice-unit");
    ck_assert_int_ne(access(dir, F_OK), 0);
    ck_assert_str_eq(t.memory_dir, "");
}
END_TEST

START_TEST(unwritable_v2_tree_reports_each_limit)
{
    char root[] = "/tmp/cp_cgroup_test.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(root));
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/cgroup.controllers", root);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs("cpu memory pids\n", f);
    fclose(f);
    ck_assert_int_eq(cgroup_detect(root), CGROUP_V2);
    struct cgroup_task t;
    struct cgroup_limits l = {.memory_bytes = 1u << 20, .cpu_millis = 1000, .pids = 8};
    ck_assert_int_eq(cgroup_task_create(&t, "sluice", "task", &l), -1);
    ck_assert_msg(strstr(t.report, "memory.max unavailable: No such file or directory") != NULL, "%s", t.report);
    ck_assert_ptr_nonnull(strstr(t.report, "cpu.max unavailable"));
    ck_assert_ptr_nonnull(strstr(t.report, "pids.max unavailable"));
    cgroup_task_destroy(&t);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Creates dir/file (and dir) holding text. */
static void put_file(const char *dir, const char *file, const char *text)
{
    char p[PATH_MAX];
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/%s", dir, file);
    FILE *f = fopen(p, "w");
    ck_assert_msg(f != NULL, "cannot create %s", p);
    fputs(text, f);
    fclose(f);
}

/* The whole text of dir/file, "" when missing. */
static const char *file_text(const char *dir, const char *file)
{
    static char text[256];
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    text[0] = 0;
    FILE *f = fopen(p, "r");
    if (f) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = 0;
        fclose(f);
    }
    return text;
}

static void remove_tree(const char *root)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}

/* A writable fake v2 tree: the files the kernel would provide exist (empty), so every write
 * lands and can be read back. */
START_TEST(writable_v2_tree_gets_each_limit)
{
    char root[] = "/tmp/cp_cgroup_test.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(root));
    char parent[64], group[128];
    snprintf(parent, sizeof parent, "%s/sluice", root);
    snprintf(group, sizeof group, "%s/task-1", parent);
    put_file(root, "cgroup.controllers", "cpuset cpu io memory pids\n");
    put_file(root, "cgroup.subtree_control", "");
    put_file(parent, "cgroup.subtree_control", "");
    static const char *const files[] = {"memory.max", "cpu.max", "pids.max", "cgroup.procs", "memory.events"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        put_file(group, files[i], "");
    ck_assert_int_eq(cgroup_detect(root), CGROUP_V2);

    struct cgroup_task t;
    struct cgroup_limits l = {.memory_bytes = 64u << 20, .cpu_millis = 500, .pids = 32};
    ck_assert_msg(cgroup_task_create(&t, "sluice", "task-1", &l) == 0, "%s", t.report);
    ck_assert_int_eq(t.version, CGROUP_V2);
    ck_assert_str_eq(t.memory_dir, group);
    ck_assert_str_eq(t.cpu_dir, group);
    ck_assert_str_eq(t.pids_dir, group);
    ck_assert_str_eq(t.report, "v2 memory.max=67108864 cpu.max=50000 100000 pids.max=32");
    ck_assert_str_eq(file_text(group, "memory.max"), "67108864");
    ck_assert_str_eq(file_text(group, "cpu.max"), "50000 100000");
    ck_assert_str_eq(file_text(group, "pids.max"), "32");
    /* the controllers are enabled for the children of the root and of the parent group */
    ck_assert_str_eq(file_text(root, "cgroup.subtree_control"), "+memory +cpu +pids");
    ck_assert_str_eq(file_text(parent, "cgroup.subtree_control"), "+memory +cpu +pids");

    /* joining writes "0" once to the one group */
    pid_t pid = fork();
    if (pid == 0)
        _exit(cgroup_task_join_self(&t) == 0 ? 0 : 1);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_str_eq(file_text(group, "cgroup.procs"), "0");

    /* OOM kills from memory.events: the oom_kill line, not oom or oom_group_kill */
    ck_assert_int_eq(cgroup_task_oom_kills(&t), 0);
    put_file(group, "memory.events", "low 0\nhigh 0\nmax 17\noom 4\noom_kill 3\noom_group_kill 0\n");
    ck_assert_int_eq(cgroup_task_oom_kills(&t), 3);
    put_file(group, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\n");
    ck_assert_int_eq(cgroup_task_oom_kills(&t), 0);

    /* a limit left at 0 is not written */
    struct cgroup_task t2;
    put_file(group, "pids.max", "max\n");
    struct cgroup_limits only_memory = {.memory_bytes = 1u << 20};
    ck_assert_msg(cgroup_task_create(&t2, "sluice", "task-1", &only_memory) == 0, "%s", t2.report);
    ck_assert_str_eq(t2.report, "v2 memory.max=1048576");
    ck_assert_str_eq(file_text(group, "pids.max"), "max\n");
    remove_tree(root);
}
END_TEST

/* v1: memory.oom_control has oom_kill_disable before oom_kill; only the latter counts. */
START_TEST(v1_oom_kills_from_oom_control)
{
    char root[] = "/tmp/cp_cgroup_test.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(root));
    char memory[64], group[128];
    snprintf(memory, sizeof memory, "%s/memory", root);
    snprintf(group, sizeof group, "%s/sluice/task-1", memory);
    put_file(memory, "memory.limit_in_bytes", "");
    char parent[128];
    snprintf(parent, sizeof parent, "%s/sluice", memory);
    mkdir(parent, 0755);
    put_file(group, "memory.limit_in_bytes", "");
    put_file(group, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 5\n");
    ck_assert_int_eq(cgroup_detect(root), CGROUP_V1);
    struct cgroup_task t;
    struct cgroup_limits l = {.memory_bytes = 1u << 20};
    ck_assert_msg(cgroup_task_create(&t, "sluice", "task-1", &l) == 0, "%s", t.report);
    ck_assert_str_eq(t.report, "v1 memory=1048576");
    ck_assert_str_eq(file_text(group, "memory.limit_in_bytes"), "1048576");
    ck_assert_int_eq(cgroup_task_oom_kills(&t), 5);
    put_file(group, "memory.oom_control", "oom_kill_disable 1\nunder_oom 0\n");
    ck_assert_int_eq(cgroup_task_oom_kills(&t), 0);
    remove_tree(root);
}
END_TEST

START_TEST(no_tree_is_reported)
{
    ck_assert_int_eq(cgroup_detect("/nonexistent-cgroup-root"), CGROUP_NONE);
    struct cgroup_task t;
    struct cgroup_limits l = {.memory_bytes = 1u << 20};
    ck_assert_int_eq(cgroup_task_create(&t, "sluice", "task", &l), -1);
    ck_assert_str_eq(t.report, "none cgroups unavailable: no writable cgroup tree found");
    ck_assert_int_eq(cgroup_task_oom_kills(&t), 0);
    ck_assert_str_eq(cgroup_version_name(CGROUP_V1), "v1");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cp_cgroup");
    TCase *tc = tcase_create("cgroup");
    tcase_add_test(tc, real_tree_limits_join_and_remove);
    tcase_add_test(tc, unwritable_v2_tree_reports_each_limit);
    tcase_add_test(tc, writable_v2_tree_gets_each_limit);
    tcase_add_test(tc, v1_oom_kills_from_oom_control);
    tcase_add_test(tc, no_tree_is_reported);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
