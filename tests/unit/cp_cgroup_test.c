/* cp_cgroup_test — cgroup limits: on the machine's real tree (v1 or v2, when writable) a group
 * gets the limits written, a process joins it, and it is removed; on a fake v2 tree whose files
 * cannot be written every limit is reported unavailable with the reason; no tree at all says so. */
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
    if (v == CGROUP_NONE || access("/sys/fs/cgroup", W_OK) != 0)
        return; /* nothing writable here */
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
    tcase_add_test(tc, no_tree_is_reported);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
