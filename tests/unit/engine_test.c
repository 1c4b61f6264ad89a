/* engine_test.c — unit tests for the engine (dataplane/engine.h, engine.c): multi-partition
 * sources, connections, stopping, restarts from a checkpoint, and configuration errors. */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataplane/engine.h"
#include "dataplane/log/log.h"
#include "tests/unit/check_main.h"

static char tmpdir[256], src_dir[300], dst_dir[300], ckpt[300];
static char err[1024];

static struct field src_fields[] = {{"k", VT_BIGINT}, {"v", VT_STRING}};
static struct schema src_schema = {src_fields, 2, -1, 0, {0}, 0, 0};

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sluice-runtime-test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(src_dir, sizeof src_dir, "%s/src", tmpdir);
    snprintf(dst_dir, sizeof dst_dir, "%s/dst", tmpdir);
    snprintf(ckpt, sizeof ckpt, "%s/run.ckpt", tmpdir);
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Appends records {"k":i,"v":"p<partition>"} for i in [from, to) to a partition. */
static void fill(int partition, int from, int to)
{
    char dir[400], rec[64];
    snprintf(dir, sizeof dir, "%s/%d", src_dir, partition);
    struct seglog_writer *w;
    ck_assert_msg(seglog_writer_open(dir, NULL, &w, err, sizeof err) == 0, "%s", err);
    for (int i = from; i < to; i++) {
        int n = snprintf(rec, sizeof rec, "{\"k\":%d,\"v\":\"p%d\"}", i, partition);
        ck_assert_int_eq(seglog_writer_append(w, rec, (uint32_t)n, NULL, err, sizeof err), 0);
    }
    seglog_writer_close(w);
}

static uint64_t output_count(void)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/0", dst_dir);
    uint64_t end;
    ck_assert_int_eq(seglog_partition_end_offset(dir, &end, err, sizeof err), 0);
    return end;
}

static struct engine_stream streams[3];

static struct engine_options pipeline(const char *sql)
{
    streams[0] = (struct engine_stream){.name = "src", .backend = "log", .location = src_dir, .schema = &src_schema};
    streams[1] = (struct engine_stream){.name = "dst", .backend = "log", .location = dst_dir};
    return (struct engine_options){.sql = sql, .streams = streams, .nstreams = 2, .bounded = true};
}

START_TEST(test_reads_every_partition)
{
    fill(0, 0, 1000);
    fill(1, 1000, 1500);
    fill(2, 1500, 4000);
    struct engine_options o = pipeline("INSERT INTO dst SELECT k, v FROM src WHERE MOD(k, 2) = 0");
    struct engine_stats st;
    ck_assert_msg(engine_run(&o, &st, err, sizeof err) == ENGINE_COMPLETED, "%s", err);
    ck_assert_uint_eq(st.records_in, 4000);
    ck_assert_uint_eq(st.records_out, 2000);
    ck_assert_uint_eq(output_count(), 2000);
    ck_assert_uint_gt(st.bytes_in, st.bytes_out);
}
END_TEST

/* Records in partition p of the output, each checked to come from a source partition of task i. */
static uint64_t task_output(int partition, int task, int ntasks)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/%d", dst_dir, partition);
    struct seglog_reader *r;
    ck_assert_msg(seglog_reader_open(dir, 0, &r, err, sizeof err) == 0, "%s", err);
    struct stream_record recs[256];
    uint64_t n = 0;
    int got;
    while ((got = seglog_reader_read(r, recs, 256, err, sizeof err)) > 0) {
        for (int i = 0; i < got; i++) {
            const char *v = memmem(recs[i].data, recs[i].len, "\"v\":\"p", 6);
            ck_assert_ptr_nonnull(v);
            ck_assert_int_eq((v[6] - '0') % ntasks, task);
        }
        n += (uint64_t)got;
    }
    seglog_reader_close(r);
    return n;
}

START_TEST(test_parallel_tasks_split_partitions)
{
    fill(0, 0, 100);
    fill(1, 100, 300);
    fill(2, 300, 600);
    fill(3, 600, 1000);
    uint64_t total = 0;
    for (int task = 0; task < 2; task++) {
        struct engine_options o = pipeline("INSERT INTO dst SELECT k, v FROM src");
        o.task_index = task;
        o.task_count = 2;
        struct engine_stats st;
        ck_assert_msg(engine_run(&o, &st, err, sizeof err) == ENGINE_COMPLETED, "%s", err);
        ck_assert_uint_eq(st.records_in, task == 0 ? 100 + 300 : 200 + 400);
        total += task_output(task, task, 2);
    }
    ck_assert_uint_eq(total, 1000);
    struct engine_options o = pipeline("INSERT INTO dst SELECT k, v FROM src");
    o.task_index = 2;
    o.task_count = 2;
    ck_assert_int_eq(engine_run(&o, NULL, err, sizeof err), ENGINE_FAILED);
    ck_assert_msg(strstr(err, "task index 2") != NULL, "%s", err);
}
END_TEST

START_TEST(test_connection_copies_records)
{
    streams[0] = (struct engine_stream){.name = "gen",
                                        .backend = "datagen",
                                        .location = "",
                                        .props = (struct stream_property[]){{"events", "777"}, {"kind", "person"}},
                                        .nprops = 2};
    streams[1] = (struct engine_stream){.name = "dst", .backend = "log", .location = dst_dir};
    struct engine_options o = {
        .source = "gen", .sink = "dst", .streams = streams, .nstreams = 2, .checkpoint_path = ckpt};
    struct engine_stats st;
    ck_assert_msg(engine_run(&o, &st, err, sizeof err) == ENGINE_COMPLETED, "%s", err);
    ck_assert_uint_eq(st.records_out, 777);
    ck_assert_uint_eq(output_count(), 777);
    /* completed: a second run adds nothing */
    ck_assert_int_eq(engine_run(&o, &st, err, sizeof err), ENGINE_COMPLETED);
    ck_assert_uint_eq(output_count(), 777);
}
END_TEST

struct stopper {
    volatile sig_atomic_t *flag;
    uint64_t target; /* records in the output's partitions 0..3 */
};

/* Stops the run once target records are out (it keeps tailing until then), or after 30 s. */
static void *stop_later(void *arg)
{
    struct stopper *s = arg;
    uint64_t total = 0;
    for (int i = 0; i < 3000 && total < s->target; i++) {
        usleep(10000);
        total = 0;
        for (int p = 0; p < 4; p++) {
            char dir[400], e[256];
            uint64_t end;
            snprintf(dir, sizeof dir, "%s/%d", dst_dir, p);
            if (access(dir, F_OK) == 0 && seglog_partition_end_offset(dir, &end, e, sizeof e) == 0)
                total += end;
        }
    }
    *s->flag = 1;
    return NULL;
}

/* Runs o unbounded until the output holds target records, then stops it. */
static void run_until(struct engine_options o, uint64_t target)
{
    volatile sig_atomic_t stop = 0;
    o.bounded = false;
    o.stop = &stop;
    pthread_t t;
    struct stopper s = {&stop, target};
    pthread_create(&t, NULL, stop_later, &s);
    ck_assert_msg(engine_run(&o, NULL, err, sizeof err) == ENGINE_STOPPED, "%s", err);
    pthread_join(t, NULL);
}

START_TEST(test_unbounded_stops_and_resumes_without_duplicates)
{
    fill(0, 0, 300);
    volatile sig_atomic_t stop = 0;
    struct engine_options o = pipeline("INSERT INTO dst SELECT k, v FROM src");
    o.bounded = false;
    o.stop = &stop;
    o.checkpoint_path = ckpt;
    pthread_t t;
    struct stopper s = {&stop, 300};
    pthread_create(&t, NULL, stop_later, &s);
    struct engine_stats st;
    ck_assert_msg(engine_run(&o, &st, err, sizeof err) == ENGINE_STOPPED, "%s", err);
    pthread_join(t, NULL);
    ck_assert_uint_eq(output_count(), 300);
    /* more input, then a bounded run from the checkpoint: only the new records are added */
    fill(0, 300, 500);
    stop = 0;
    o.bounded = true;
    ck_assert_msg(engine_run(&o, &st, err, sizeof err) == ENGINE_COMPLETED, "%s", err);
    ck_assert_uint_eq(output_count(), 500);
    ck_assert_uint_eq(st.records_in, 200); /* counters are this run's: the new records only */
}
END_TEST

/* Counts how often each k in [0, n) is in the output's partitions 0..3; fails on another k. */
static void output_keys(int *seen, int n)
{
    memset(seen, 0, (size_t)n * sizeof *seen);
    for (int p = 0; p < 4; p++) {
        char dir[400];
        snprintf(dir, sizeof dir, "%s/%d", dst_dir, p);
        struct seglog_reader *r;
        if (access(dir, F_OK) != 0)
            continue;
        ck_assert_msg(seglog_reader_open(dir, 0, &r, err, sizeof err) == 0, "%s", err);
        struct stream_record recs[256];
        int got;
        while ((got = seglog_reader_read(r, recs, 256, err, sizeof err)) > 0)
            for (int i = 0; i < got; i++) {
                const char *k = memmem(recs[i].data, recs[i].len, "\"k\":", 4);
                ck_assert_ptr_nonnull(k);
                long v = strtol(k + 4, NULL, 10);
                ck_assert_msg(v >= 0 && v < n, "unexpected k %ld", v);
                seen[v]++;
            }
        seglog_reader_close(r);
    }
}

/* A connection refused by the storage quota fails permanently and keeps what it wrote (a
 * checkpoint at the refused record); once the quota allows, a restart copies the rest, each
 * record once. */
START_TEST(test_storage_quota_fails_permanently_and_keeps_output)
{
    char store[280];
    snprintf(store, sizeof store, "%s/store", tmpdir);
    snprintf(dst_dir, sizeof dst_dir, "%s/dst", store);
    fill(0, 0, 2000); /* about 30 bytes a record, framed: ~74 KB */
    streams[0] = (struct engine_stream){.name = "src", .backend = "log", .location = src_dir, .schema = &src_schema};
    streams[1] = (struct engine_stream){.name = "dst", .backend = "log", .location = dst_dir};
    struct engine_options o = {.source = "src",
                               .sink = "dst",
                               .streams = streams,
                               .nstreams = 2,
                               .bounded = true,
                               .checkpoint_path = ckpt,
                               .storage_dir = store,
                               .storage_quota_bytes = 20000};
    struct engine_stats st;
    ck_assert_int_eq(engine_run(&o, &st, err, sizeof err), ENGINE_FAILED);
    ck_assert_msg(strstr(err, "storage quota exceeded") && strstr(err, "20000"), "%s", err);
    ck_assert(st.permanent);
    uint64_t kept = output_count();
    ck_assert_uint_gt(kept, 100);
    ck_assert_uint_lt(kept, 2000);
    /* still over: refused again at once, nothing rolled back */
    ck_assert_int_eq(engine_run(&o, &st, err, sizeof err), ENGINE_FAILED);
    ck_assert(st.permanent);
    ck_assert_uint_eq(st.records_out, 0);
    ck_assert_uint_eq(output_count(), kept);
    /* a larger quota: the restart resumes at the refused record */
    o.storage_quota_bytes = 1 << 20;
    ck_assert_msg(engine_run(&o, &st, err, sizeof err) == ENGINE_COMPLETED, "%s", err);
    ck_assert_uint_eq(st.records_out, 2000 - kept);
    static int seen[2000];
    output_keys(seen, 2000);
    for (int k = 0; k < 2000; k++)
        ck_assert_msg(seen[k] == 1, "k %d is in the output %d times", k, seen[k]);
}
END_TEST

/* A pipeline refused by the storage quota fails permanently too; it keeps its last checkpoint,
 * and once the quota allows a restart rolls the sink back to it: each row once. */
START_TEST(test_storage_quota_fails_a_pipeline_permanently)
{
    char store[280];
    snprintf(store, sizeof store, "%s/store", tmpdir);
    snprintf(dst_dir, sizeof dst_dir, "%s/dst", store);
    fill(0, 0, 2000);
    struct engine_options o = pipeline("INSERT INTO dst SELECT k, v FROM src WHERE k >= 0");
    streams[1].location = dst_dir;
    o.checkpoint_path = ckpt;
    o.storage_dir = store;
    o.storage_quota_bytes = 0; /* a plan's quota of 0: nothing may be written */
    struct engine_stats st;
    ck_assert_int_eq(engine_run(&o, &st, err, sizeof err), ENGINE_FAILED);
    ck_assert_msg(strstr(err, "storage quota exceeded") && strstr(err, "plan's 0"), "%s", err);
    ck_assert(st.permanent);
    ck_assert_uint_eq(st.records_out, 0);
    o.storage_quota_bytes = 20000;
    ck_assert_int_eq(engine_run(&o, &st, err, sizeof err), ENGINE_FAILED);
    ck_assert(st.permanent);
    ck_assert_uint_gt(st.records_out, 100);
    o.storage_quota_bytes = 1 << 20;
    ck_assert_msg(engine_run(&o, &st, err, sizeof err) == ENGINE_COMPLETED, "%s", err);
    static int seen[2000];
    output_keys(seen, 2000);
    for (int k = 0; k < 2000; k++)
        ck_assert_msg(seen[k] == 1, "k %d is in the output %d times", k, seen[k]);
}
END_TEST

/* 100 more records in each of the 4 source partitions: k in [base, base + 400). */
static void fill_round(int base)
{
    for (int p = 0; p < 4; p++)
        fill(p, base + p * 100, base + (p + 1) * 100);
}

/* A changed query and changes of the task count keep the position: each record once. */
START_TEST(test_rollovers_keep_the_position)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/ck", tmpdir);
    struct engine_options o = pipeline("INSERT INTO dst SELECT k, v FROM src");
    o.checkpoint_dir = dir;
    fill_round(0);
    run_until(o, 400);
    /* the query changes: the new one resumes at the old one's offsets */
    fill_round(400);
    o.sql = "INSERT INTO dst SELECT k, UPPER(v) AS v FROM src";
    run_until(o, 800);
    /* 1 → 2 tasks: task 0 keeps p0 and p2, task 1 takes p1 and p3 over from task 0's file */
    fill_round(800);
    o.task_count = 2;
    run_until(o, 1000);
    o.task_index = 1;
    run_until(o, 1200);
    /* 2 → 1: task 0 takes p1 and p3 back, at task 1's newer offsets */
    fill_round(1200);
    o.task_count = 1;
    o.task_index = 0;
    run_until(o, 1600);
    /* 1 → 2 again: task 1's own file is stale, task 0's entries are newer */
    fill_round(1600);
    o.task_count = 2;
    run_until(o, 1800);
    o.task_index = 1;
    run_until(o, 2000);
    static int seen[2000];
    output_keys(seen, 2000);
    for (int k = 0; k < 2000; k++)
        ck_assert_msg(seen[k] == 1, "k %d is in the output %d times", k, seen[k]);
}
END_TEST

struct background_run {
    struct engine_options o;
    enum engine_result result;
};

static void *run_in_background(void *arg)
{
    struct background_run *b = arg;
    static char e[512];
    b->result = engine_run(&b->o, NULL, e, sizeof e);
    return NULL;
}

/* A task waits for a source partition another task still holds, and stops while it waits. */
START_TEST(test_task_waits_for_its_partitions)
{
    char dir[400], lock[500];
    snprintf(dir, sizeof dir, "%s/ck", tmpdir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    snprintf(lock, sizeof lock, "%s/partition-0.lock", dir);
    int fd = open(lock, O_RDWR | O_CREAT, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(flock(fd, LOCK_EX), 0);
    fill(0, 0, 10);
    volatile sig_atomic_t stop = 0;
    struct background_run b = {pipeline("INSERT INTO dst SELECT k, v FROM src"), ENGINE_FAILED};
    b.o.checkpoint_dir = dir;
    b.o.bounded = false;
    b.o.stop = &stop;
    pthread_t t;
    pthread_create(&t, NULL, run_in_background, &b);
    usleep(300000);
    ck_assert_uint_eq(output_count(), 0); /* waiting, not reading */
    stop = 1;
    pthread_join(t, NULL);
    ck_assert_int_eq(b.result, ENGINE_STOPPED);
    close(fd); /* released: the same pipeline now goes through */
    struct engine_options o = pipeline("INSERT INTO dst SELECT k, v FROM src");
    o.checkpoint_dir = dir;
    ck_assert_msg(engine_run(&o, NULL, err, sizeof err) == ENGINE_COMPLETED, "%s", err);
    ck_assert_uint_eq(output_count(), 10);
}
END_TEST

START_TEST(test_configuration_errors)
{
    fill(0, 0, 1);
    struct engine_options o = pipeline("INSERT INTO dst SELECT nope FROM src");
    ck_assert_int_eq(engine_run(&o, NULL, err, sizeof err), ENGINE_FAILED);
    ck_assert_msg(strstr(err, "invalid pipeline SQL") && strstr(err, "nope"), "%s", err);
    o = pipeline("INSERT INTO dst SELECT k FROM src");
    o.error_policy = ENGINE_POLICY_DEAD_LETTER;
    ck_assert_int_eq(engine_run(&o, NULL, err, sizeof err), ENGINE_FAILED);
    ck_assert_msg(strstr(err, "needs a dead-letter stream") != NULL, "%s", err);
    o.dead_letter_stream = "missing";
    ck_assert_int_eq(engine_run(&o, NULL, err, sizeof err), ENGINE_FAILED);
    ck_assert_msg(strstr(err, "stream \"missing\" is not defined") != NULL, "%s", err);
    /* a completed run's checkpoint: the same query has nothing left, another starts over */
    o = pipeline("INSERT INTO dst SELECT k FROM src");
    o.checkpoint_path = ckpt;
    ck_assert_int_eq(engine_run(&o, NULL, err, sizeof err), ENGINE_COMPLETED);
    ck_assert_int_eq(engine_run(&o, NULL, err, sizeof err), ENGINE_COMPLETED);
    ck_assert_uint_eq(output_count(), 1);
    o.sql = "INSERT INTO dst SELECT v FROM src";
    ck_assert_int_eq(engine_run(&o, NULL, err, sizeof err), ENGINE_COMPLETED);
    ck_assert_uint_eq(output_count(), 2);
    /* a corrupt checkpoint is refused */
    FILE *f = fopen(ckpt, "r+");
    fseek(f, 20, SEEK_SET);
    fputc('X', f);
    fclose(f);
    o.sql = "INSERT INTO dst SELECT k FROM src";
    ck_assert_int_eq(engine_run(&o, NULL, err, sizeof err), ENGINE_FAILED);
    ck_assert_msg(strstr(err, "corrupt") != NULL, "%s", err);
    /* datagen cannot be a sink */
    streams[1].backend = "datagen";
    o.checkpoint_path = NULL;
    ck_assert_int_eq(engine_run(&o, NULL, err, sizeof err), ENGINE_FAILED);
    ck_assert_msg(strstr(err, "cannot be written") != NULL, "%s", err);
    ck_assert_int_eq(engine_error_policy_from_name("dead_letter"), ENGINE_POLICY_DEAD_LETTER);
    ck_assert_int_eq(engine_error_policy_from_name("maybe"), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("runtime");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_reads_every_partition);
    tcase_add_test(tc, test_parallel_tasks_split_partitions);
    tcase_add_test(tc, test_connection_copies_records);
    tcase_add_test(tc, test_storage_quota_fails_permanently_and_keeps_output);
    tcase_add_test(tc, test_storage_quota_fails_a_pipeline_permanently);
    tcase_add_test(tc, test_unbounded_stops_and_resumes_without_duplicates);
    tcase_add_test(tc, test_rollovers_keep_the_position);
    tcase_add_test(tc, test_task_waits_for_its_partitions);
    tcase_add_test(tc, test_configuration_errors);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
