/* cp_supervisor_test — the supervisor and sandbox against a fake worker (tests/tools/
 * cp_fake_worker): start, heartbeats, metrics, graceful and forced stop, crash backoff ending
 * in failed, completion, heartbeat timeout, the memory limit, and the sandbox layers seen from
 * inside the worker. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controlplane/sandbox.h"
#include "controlplane/supervisor.h"
#include "tests/unit/check_main.h"

static char worker_path[PATH_MAX];
static char data_root[PATH_MAX];
static char events[256][600];
static int nevents;
static char logs[128][300];
static int nlogs;
static unsigned long long records_out;

static void on_state(void *ctx, const struct supervisor_status *st, const char *event, const char *message)
{
    if (nevents < 256)
        snprintf(events[nevents++], sizeof events[0], "%s:%s", event, message);
}

static void on_metrics(void *ctx, const char *task_id, const struct supervisor_metrics *d)
{
    records_out += d->records_out;
}

static void on_log(void *ctx, const char *task_id, const char *level, const char *message)
{
    if (nlogs < 128)
        snprintf(logs[nlogs++], sizeof logs[0], "%s", message);
}

static const struct supervisor_callbacks callbacks = {on_state, on_metrics, on_log};

static void setup(void)
{
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "%s/rel/tests/tools/cp_fake_worker", build);
    ck_assert_msg(realpath(rel, worker_path) != NULL, "fake worker not built at %s", rel);
    snprintf(data_root, sizeof data_root, "/tmp/cp_supervisor_test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(data_root));
    chmod(data_root, 0755);
    nevents = nlogs = 0;
    records_out = 0;
}

static void teardown(void)
{
    cgroup_parent_remove("sluice-unit");
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", data_root);
    ck_assert_int_eq(system(cmd), 0);
}

static struct supervisor *new_supervisor(int crash_limit)
{
    struct supervisor_options o = {.worker_path = worker_path,
                                   .worker_args = "",
                                   .stop_timeout_ms = 300,
                                   .heartbeat_timeout_ms = 600,
                                   .backoff_initial_ms = 20,
                                   .backoff_max_ms = 200,
                                   .crash_limit = crash_limit,
                                   .crash_window_ms = 60000,
                                   .cgroup_parent = "sluice-unit"};
    char err[256];
    struct supervisor *s = supervisor_new(&o, &callbacks, NULL, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    return s;
}

/* Starts task id in tenant with the given spec; uid per tenant. */
static void start_task(struct supervisor *s, const char *tenant, const char *id, uid_t uid, const char *spec,
                       uint64_t memory)
{
    struct supervisor_task t = {0};
    char workdir[512], err[256];
    ck_assert_msg(sandbox_prepare_dirs(data_root, tenant, id, uid, uid, workdir, sizeof workdir, err, sizeof err) == 0,
                  "%s", err);
    t.task_id = id;
    t.spec_json = spec;
    t.sandbox.uid = uid;
    t.sandbox.gid = uid;
    t.sandbox.workdir = workdir;
    t.sandbox.open_files = 256;
    t.sandbox.processes = 4096;
    t.sandbox.cpu_seconds = 60;
    t.limits.memory_bytes = memory;
    t.limits.cpu_millis = 1000;
    t.limits.pids = 64;
    ck_assert_msg(supervisor_start(s, &t, err, sizeof err) == 0, "%s", err);
}

static enum supervisor_state wait_state(struct supervisor *s, const char *id, enum supervisor_state want,
                                        int timeout_ms)
{
    struct supervisor_status st = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int waited = 0; waited < timeout_ms; clock_gettime(CLOCK_MONOTONIC, &t1),
             waited = (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000)) {
        supervisor_poll(s, 20);
        ck_assert_int_eq(supervisor_status(s, id, &st), 0);
        if (st.state == want)
            return st.state;
    }
    return st.state;
}

static int has_event(const char *prefix)
{
    for (int i = 0; i < nevents; i++)
        if (strncmp(events[i], prefix, strlen(prefix)) == 0)
            return 1;
    return 0;
}

static const char *find_log(const char *prefix)
{
    for (int i = 0; i < nlogs; i++)
        if (strncmp(logs[i], prefix, strlen(prefix)) == 0)
            return logs[i];
    return NULL;
}

START_TEST(runs_reports_and_stops_gracefully)
{
    struct supervisor *s = new_supervisor(3);
    start_task(s, "tenant-a", "task-run", 61001, "{\"fake\":{\"mode\":\"run\"}}", 0);
    ck_assert_int_eq(wait_state(s, "task-run", SUPERVISOR_RUNNING, 5000), SUPERVISOR_RUNNING);
    struct supervisor_status st;
    for (int i = 0; i < 30 && records_out < 20; i++)
        supervisor_poll(s, 50);
    ck_assert_uint_ge(records_out, 20);
    supervisor_status(s, "task-run", &st);
    ck_assert_int_gt(st.pid, 0);
    ck_assert_int_gt(st.heartbeat_at_ms, 0);
    ck_assert_uint_eq(st.totals.records_out, records_out);
    ck_assert_ptr_nonnull(strstr(st.sandbox, "\"environment\":\"applied: empty\""));
    ck_assert_ptr_nonnull(find_log("fake worker mode run"));
    ck_assert_ptr_nonnull(find_log("fake worker starting")); /* stderr is collected */
    ck_assert_int_eq(supervisor_stop(s, "task-run"), 0);
    ck_assert_int_eq(wait_state(s, "task-run", SUPERVISOR_STOPPED, 3000), SUPERVISOR_STOPPED);
    ck_assert(!has_event("stopping:SIGKILL"));
    ck_assert_int_eq(supervisor_forget(s, "task-run"), 0);
    ck_assert_int_eq(supervisor_count(s), 0);
    supervisor_free(s);
}
END_TEST

START_TEST(crash_loop_backs_off_then_fails)
{
    struct supervisor *s = new_supervisor(3);
    start_task(s, "tenant-a", "task-crash", 61001, "{\"fake\":{\"mode\":\"crash\",\"after_ms\":0,\"code\":3}}", 0);
    ck_assert_int_eq(wait_state(s, "task-crash", SUPERVISOR_FAILED, 5000), SUPERVISOR_FAILED);
    struct supervisor_status st;
    supervisor_status(s, "task-crash", &st);
    ck_assert_int_eq(st.restarts, 3);
    ck_assert_ptr_nonnull(strstr(st.last_error, "crashed 3 times"));
    ck_assert_ptr_nonnull(strstr(st.last_error, "exited with status 3"));
    ck_assert_ptr_nonnull(strstr(st.last_error, "crashing on purpose"));
    /* backoff doubles: 20 ms, then 40 ms */
    ck_assert(has_event("backoff:restarting in 20 ms"));
    ck_assert(has_event("backoff:restarting in 40 ms"));
    ck_assert(has_event("failed:crashed 3 times"));
    supervisor_free(s);
}
END_TEST

/* A failure the worker says a restart cannot fix ("retry": false) fails the task at once; the
 * same failure without it is a crash, restarted with backoff. */
START_TEST(permanent_failure_is_not_restarted)
{
    struct supervisor *s = new_supervisor(3);
    start_task(s, "tenant-a", "task-final", 61001, "{\"fake\":{\"mode\":\"fail\",\"retry\":false}}", 0);
    ck_assert_int_eq(wait_state(s, "task-final", SUPERVISOR_FAILED, 5000), SUPERVISOR_FAILED);
    struct supervisor_status st;
    supervisor_status(s, "task-final", &st);
    ck_assert_int_eq(st.restarts, 0);
    ck_assert_str_eq(st.last_error, "fake failure");
    ck_assert(has_event("failed:fake failure"));
    start_task(s, "tenant-a", "task-again", 61001, "{\"fake\":{\"mode\":\"fail\"}}", 0);
    ck_assert_int_eq(wait_state(s, "task-again", SUPERVISOR_FAILED, 5000), SUPERVISOR_FAILED);
    supervisor_status(s, "task-again", &st);
    ck_assert_int_eq(st.restarts, 3);
    ck_assert_ptr_nonnull(strstr(st.last_error, "crashed 3 times"));
    ck_assert_ptr_nonnull(strstr(st.last_error, "fake failure"));
    supervisor_free(s);
}
END_TEST

START_TEST(bounded_run_completes)
{
    struct supervisor *s = new_supervisor(3);
    start_task(s, "tenant-a", "task-done", 61001, "{\"fake\":{\"mode\":\"complete\",\"after_ms\":400}}", 0);
    ck_assert_int_eq(wait_state(s, "task-done", SUPERVISOR_COMPLETED, 5000), SUPERVISOR_COMPLETED);
    struct supervisor_status st;
    supervisor_status(s, "task-done", &st);
    ck_assert_int_eq(st.restarts, 0);
    ck_assert_int_eq(st.pid, 0);
    supervisor_free(s);
}
END_TEST

START_TEST(stop_escalates_to_sigkill)
{
    struct supervisor *s = new_supervisor(3);
    start_task(s, "tenant-a", "task-hang", 61001, "{\"fake\":{\"mode\":\"hang\"}}", 0);
    ck_assert_int_eq(wait_state(s, "task-hang", SUPERVISOR_RUNNING, 5000), SUPERVISOR_RUNNING);
    supervisor_stop(s, "task-hang");
    ck_assert_int_eq(wait_state(s, "task-hang", SUPERVISOR_STOPPED, 3000), SUPERVISOR_STOPPED);
    ck_assert(has_event("stopping:SIGKILL sent after the stop deadline"));
    supervisor_free(s);
}
END_TEST

START_TEST(missing_heartbeats_kill_and_restart)
{
    struct supervisor *s = new_supervisor(2);
    start_task(s, "tenant-a", "task-silent", 61001, "{\"fake\":{\"mode\":\"silent\"}}", 0);
    ck_assert_int_eq(wait_state(s, "task-silent", SUPERVISOR_FAILED, 5000), SUPERVISOR_FAILED);
    ck_assert(has_event("crashed:no heartbeat for 0.6 s; killed"));
    /* A worker that heart-beats too slowly is killed once it is running, too. */
    start_task(s, "tenant-a", "task-slow", 61001, "{\"fake\":{\"mode\":\"run\",\"heartbeat_ms\":2000}}", 0);
    ck_assert_int_eq(wait_state(s, "task-slow", SUPERVISOR_FAILED, 8000), SUPERVISOR_FAILED);
    struct supervisor_status st;
    supervisor_status(s, "task-slow", &st);
    ck_assert_ptr_nonnull(strstr(st.last_error, "no heartbeat for"));
    ck_assert(has_event("running:"));
    supervisor_free(s);
}
END_TEST

START_TEST(memory_limit_kills_and_says_so)
{
    /* The limit needs a writable memory controller: v1 /sys/fs/cgroup/memory, v2 the unified
     * tree. Without one the test cannot say anything; it says so rather than passing quietly. */
    enum cgroup_version v = cgroup_detect(NULL);
    const char *memory_tree = v == CGROUP_V1 ? "/sys/fs/cgroup/memory" : "/sys/fs/cgroup";
    if (v == CGROUP_NONE || access(memory_tree, W_OK) != 0) {
        printf("SKIP memory_limit_kills_and_says_so: no writable cgroup memory controller (%s %s)\n",
               cgroup_version_name(v), v == CGROUP_NONE ? "/sys/fs/cgroup" : memory_tree);
        fflush(stdout);
        return;
    }
    struct supervisor *s = new_supervisor(1);
    start_task(s, "tenant-a", "task-mem", 61001, "{\"fake\":{\"mode\":\"alloc\"}}", 32u << 20);
    ck_assert_int_eq(wait_state(s, "task-mem", SUPERVISOR_FAILED, 10000), SUPERVISOR_FAILED);
    struct supervisor_status st;
    supervisor_status(s, "task-mem", &st);
    ck_assert_msg(strstr(st.last_error, "memory limit exceeded") != NULL, "%s", st.last_error);
    ck_assert_ptr_nonnull(strstr(st.last_error, "32 MiB"));
    supervisor_free(s);
}
END_TEST

START_TEST(sandbox_confines_the_worker)
{
    struct supervisor *s = new_supervisor(1);
    char other[PATH_MAX + 64], spec[PATH_MAX + 300], workdir[512], err[256];
    /* Tenant B's task directory exists and is B's. */
    ck_assert_int_eq(
        sandbox_prepare_dirs(data_root, "tenant-b", "task-b", 61002, 61002, workdir, sizeof workdir, err, sizeof err),
        0);
    snprintf(other, sizeof other, "%s/tenants/tenant-b/tasks/task-b", data_root);
    snprintf(spec, sizeof spec,
             "{\"sandbox\":{\"seccomp\":true},\"fake\":{\"mode\":\"probe\",\"dir\":\"%s\","
             "\"pid\":%d}}",
             other, (int)getpid());
    setenv("SLUICE_TEST_SECRET", "parent-only", 1);
    start_task(s, "tenant-a", "task-probe", 61001, spec, 0);
    ck_assert_int_eq(wait_state(s, "task-probe", SUPERVISOR_RUNNING, 5000), SUPERVISOR_RUNNING);
    for (int i = 0; i < 20 && !find_log("probe cwd="); i++)
        supervisor_poll(s, 50);
    const char *l = find_log("probe exec=");
    ck_assert_msg(l && strstr(l, "denied(Operation not permitted)"), "exec: %s", l ? l : "none");
    l = find_log("probe own_env=");
    ck_assert_str_eq(l, "probe own_env=0");
    l = find_log("probe other_tenant=");
    ck_assert_msg(l && strstr(l, "denied"), "other tenant: %s", l ? l : "none");
    l = find_log("probe parent_env=");
    ck_assert_msg(l && strstr(l, "denied"), "parent env: %s", l ? l : "none");
    l = find_log("probe cwd=");
    ck_assert_ptr_nonnull(l);
    ck_assert_ptr_nonnull(strstr(l, "tenants/tenant-a/tasks/task-probe"));
    struct supervisor_status st;
    supervisor_status(s, "task-probe", &st);
    ck_assert_msg(strstr(st.sandbox, "\"seccomp\":\"applied") != NULL, "%s", st.sandbox);
    ck_assert_ptr_nonnull(strstr(st.sandbox, "\"no_new_privs\":\"applied"));
    ck_assert_ptr_nonnull(strstr(st.sandbox, "\"rlimits\":\"applied"));
    ck_assert_ptr_nonnull(strstr(st.sandbox, "\"pdeathsig\":\"applied"));
    if (geteuid() == 0) {
        ck_assert_str_eq(strstr(l, "uid="), "uid=61001");
        ck_assert_ptr_nonnull(strstr(st.sandbox, "\"uid\":\"applied: uid 61001"));
        ck_assert_msg(strstr(st.sandbox, "\"namespaces\":\"applied: pid,mount,ipc,uts,net\""), "%s", st.sandbox);
    }
    supervisor_free(s);
}
END_TEST

START_TEST(cpu_seconds_limit_kills_and_says_so)
{
    struct supervisor *s = new_supervisor(1);
    struct supervisor_task t = {0};
    char workdir[512], err[256];
    ck_assert_int_eq(
        sandbox_prepare_dirs(data_root, "tenant-a", "task-cpu", 61001, 61001, workdir, sizeof workdir, err, sizeof err),
        0);
    t.task_id = "task-cpu";
    t.spec_json = "{\"fake\":{\"mode\":\"spin\"}}";
    t.sandbox.uid = t.sandbox.gid = 61001;
    t.sandbox.workdir = workdir;
    t.sandbox.cpu_seconds = 1;
    ck_assert_msg(supervisor_start(s, &t, err, sizeof err) == 0, "%s", err);
    /* the spinning task must get a whole CPU-second first: at a load of 10 on 2 cores that takes
     * far longer than 15 s of wall time (a clean clone failed so); wait_state returns at once */
    ck_assert_int_eq(wait_state(s, "task-cpu", SUPERVISOR_FAILED, 60000), SUPERVISOR_FAILED);
    struct supervisor_status st;
    supervisor_status(s, "task-cpu", &st);
    ck_assert_msg(strstr(st.last_error, "cpu time limit exceeded (1 s)") != NULL, "%s", st.last_error);
    ck_assert_msg(strstr(st.sandbox, "cpu=1") != NULL, "%s", st.sandbox);
    supervisor_free(s);
}
END_TEST

START_TEST(missing_worker_binary_is_a_crash_with_reason)
{
    struct supervisor_options o = {
        .worker_path = "/nonexistent/sluiced", .worker_args = "worker", .backoff_initial_ms = 10, .crash_limit = 2};
    char err[256], workdir[512];
    struct supervisor *s = supervisor_new(&o, &callbacks, NULL, err, sizeof err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(
        sandbox_prepare_dirs(data_root, "tenant-a", "task-x", 61001, 61001, workdir, sizeof workdir, err, sizeof err),
        0);
    struct supervisor_task t = {.task_id = "task-x", .spec_json = "{}"};
    t.sandbox.uid = t.sandbox.gid = 61001;
    t.sandbox.workdir = workdir;
    ck_assert_int_eq(supervisor_start(s, &t, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "exec /nonexistent/sluiced: No such file") != NULL, "%s", err);
    ck_assert_int_eq(wait_state(s, "task-x", SUPERVISOR_FAILED, 3000), SUPERVISOR_FAILED);
    supervisor_free(s);
}
END_TEST

START_TEST(bad_ids_are_refused)
{
    char err[256], workdir[512];
    ck_assert_int_eq(
        sandbox_prepare_dirs(data_root, "../x", "t", 61001, 61001, workdir, sizeof workdir, err, sizeof err), -1);
    ck_assert_str_eq(err, "invalid tenant or task id");
    struct supervisor *s = new_supervisor(3);
    ck_assert_int_eq(supervisor_stop(s, "unknown"), -1);
    ck_assert_int_eq(supervisor_forget(s, "unknown"), -1);
    supervisor_free(s);
}
END_TEST

START_TEST(failed_starts_back_off_then_fail)
{
    /* The caller could not build the start (no process): a crash all the same. */
    struct supervisor *s = new_supervisor(3);
    struct supervisor_status st;
    ck_assert_int_eq(supervisor_start_failed(s, "task-nostart", "secret \"db\" cannot be decrypted"), 0);
    supervisor_status(s, "task-nostart", &st);
    ck_assert_int_eq(st.state, SUPERVISOR_BACKOFF);
    ck_assert_int_eq(st.pid, 0);
    ck_assert_str_eq(st.last_error, "secret \"db\" cannot be decrypted");
    ck_assert(has_event("backoff:restarting in 20 ms (crash 1 of 2"));
    /* In backoff it is not retried early, and a second report is refused. */
    ck_assert_int_eq(supervisor_start_failed(s, "task-nostart", "again"), -1);
    ck_assert_int_eq(wait_state(s, "task-nostart", SUPERVISOR_STOPPED, 2000), SUPERVISOR_STOPPED);
    ck_assert(has_event("retry:"));
    ck_assert_int_eq(supervisor_start_failed(s, "task-nostart", "still broken"), 0);
    ck_assert(has_event("backoff:restarting in 40 ms (crash 2 of 2"));
    ck_assert_int_eq(wait_state(s, "task-nostart", SUPERVISOR_STOPPED, 2000), SUPERVISOR_STOPPED);
    ck_assert_int_eq(supervisor_start_failed(s, "task-nostart", "still broken"), 0);
    supervisor_status(s, "task-nostart", &st);
    ck_assert_int_eq(st.state, SUPERVISOR_FAILED);
    ck_assert_ptr_nonnull(strstr(st.last_error, "crashed 3 times"));
    ck_assert_ptr_nonnull(strstr(st.last_error, "still broken"));
    /* Failed stays failed: no more retries come. */
    nevents = 0;
    for (int i = 0; i < 10; i++)
        supervisor_poll(s, 20);
    ck_assert(!has_event("retry:"));
    /* A failed start after that (a new generation) counts afresh: backoff, not failed. */
    ck_assert_int_eq(supervisor_start_failed(s, "task-nostart", "broken anew"), 0);
    supervisor_status(s, "task-nostart", &st);
    ck_assert_int_eq(st.state, SUPERVISOR_BACKOFF);
    ck_assert_int_eq(wait_state(s, "task-nostart", SUPERVISOR_STOPPED, 2000), SUPERVISOR_STOPPED);
    /* A start that works begins afresh and runs. */
    start_task(s, "tenant-a", "task-nostart", 61001, "{\"fake\":{\"mode\":\"run\"}}", 0);
    ck_assert_int_eq(wait_state(s, "task-nostart", SUPERVISOR_RUNNING, 5000), SUPERVISOR_RUNNING);
    supervisor_status(s, "task-nostart", &st);
    ck_assert_str_eq(st.last_error, "");
    supervisor_free(s);
}
END_TEST

START_TEST(a_retry_keeps_the_crash_count)
{
    /* Two failed starts, then a start whose worker crashes: the third crash fails the task. */
    struct supervisor *s = new_supervisor(3);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(supervisor_start_failed(s, "task-mixed", "no secret"), 0);
        ck_assert_int_eq(wait_state(s, "task-mixed", SUPERVISOR_STOPPED, 2000), SUPERVISOR_STOPPED);
    }
    start_task(s, "tenant-a", "task-mixed", 61001, "{\"fake\":{\"mode\":\"crash\",\"after_ms\":0,\"code\":3}}", 0);
    ck_assert_int_eq(wait_state(s, "task-mixed", SUPERVISOR_FAILED, 5000), SUPERVISOR_FAILED);
    struct supervisor_status st;
    supervisor_status(s, "task-mixed", &st);
    ck_assert_ptr_nonnull(strstr(st.last_error, "crashed 3 times"));
    supervisor_free(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("cp_supervisor");
    TCase *tc = tcase_create("supervisor");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 90); /* cpu_seconds_limit_kills_and_says_so waits up to 60 s */
    tcase_add_test(tc, runs_reports_and_stops_gracefully);
    tcase_add_test(tc, crash_loop_backs_off_then_fails);
    tcase_add_test(tc, permanent_failure_is_not_restarted);
    tcase_add_test(tc, cpu_seconds_limit_kills_and_says_so);
    tcase_add_test(tc, bounded_run_completes);
    tcase_add_test(tc, stop_escalates_to_sigkill);
    tcase_add_test(tc, missing_heartbeats_kill_and_restart);
    tcase_add_test(tc, memory_limit_kills_and_says_so);
    tcase_add_test(tc, sandbox_confines_the_worker);
    tcase_add_test(tc, missing_worker_binary_is_a_crash_with_reason);
    tcase_add_test(tc, bad_ids_are_refused);
    tcase_add_test(tc, failed_starts_back_off_then_fail);
    tcase_add_test(tc, a_retry_keeps_the_crash_count);
    suite_add_tcase(su, tc);
    return check_run_suite(su);
}
