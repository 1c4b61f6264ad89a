/* engine.c — the engine's execution loop: read a batch → decode → plan → encode → append,
 * with checkpoints (exactly-once embedded log → embedded log), bounded runs and the error
 * policy (see engine.h). */
#include "dataplane/engine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/arena.h"
#include "dataplane/checkpoint.h"
#include "dataplane/codec/json_decode.h"
#include "dataplane/codec/json_encode.h"
#include "dataplane/codec/row_key.h"
#include "dataplane/connectors/postgres_lookup.h"
#include "dataplane/log/log_stream.h"
#include "dataplane/sink_replay.h"
#include "dataplane/sql/sql.h"

/* The PostgreSQL lookup is linked where the postgres connector is (Makefile: WITH_KAFKA); the lean
 * sluiced-worker goes without: a postgres table there cannot be read. */
#pragma weak pg_lookup_attach
#pragma weak pg_lookup_close

#define RUNTIME_BATCH 1024
#define RUNTIME_HELD_KEY_MAX 4096  /* a held -U's key (LOG_COMPACT_MAX_KEY); a longer one is not held */
#define RUNTIME_IDLE_MIN_US 1000   /* idle polls back off from 1 ms ... */
#define RUNTIME_IDLE_MAX_US 100000 /* ... to 100 ms while no input comes (Flink's buffer timeout) */
/* Idle RUNTIME_IDLE_LONG_MS, a run polls every RUNTIME_IDLE_LONG_US (Kafka's fetch.max.wait.ms):
 * in a VM a wake-up costs more than its syscalls, and a thousand idle pipelines share a machine. */
#define RUNTIME_IDLE_LONG_MS 10000
#define RUNTIME_IDLE_LONG_US 500000

/* ---------------------------------------------------------------- policies */

static const struct {
    const char *name;
    enum engine_error_policy policy;
} engine_policy_table[] = {
    {"fail", ENGINE_POLICY_FAIL},
    {"skip", ENGINE_POLICY_SKIP},
    {"dead_letter", ENGINE_POLICY_DEAD_LETTER},
};

int engine_error_policy_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof engine_policy_table / sizeof engine_policy_table[0]; i++)
        if (strcmp(engine_policy_table[i].name, name) == 0)
            return (int)engine_policy_table[i].policy;
    return -1;
}

/* ---------------------------------------------------------------- run state */

/* An output: a stream writer, or print lines. */
struct sink {
    const struct stream_backend *backend; /* NULL for print */
    void *writer;
    FILE *print;
    struct sink_replay *replay; /* a sink read back after a restart (engine_stream.replay_dedup) */
};

/* A stream the run reads (a pipeline may read several: plan_nsources). */
struct input {
    const struct engine_stream *stream;
    const struct stream_backend *backend;
    struct json_decoder *decoder;
    struct value *row;
    bool ended;               /* told the plan (plan_source_ended) */
    struct pg_lookup *lookup; /* a lookup join's table queried per key: no partitions are read */
    int split_col;            /* tasks split by key: the column whose hash picks the task; else -1 */
};

/* A checkpoint names partition p of input i as i * ENGINE_INPUT_STRIDE + p (input 0: as a
 * pipeline over one stream always has). */
#define ENGINE_INPUT_STRIDE (1 << 20)

struct run {
    const struct engine_options *o;
    char *err;
    size_t errlen;
    struct plan *plan;
    const struct engine_stream *source; /* the first input's stream */
    struct input *inputs;
    int ninputs;
    int nparts;      /* source partitions this task reads, of every input */
    int *part_ids;   /* their partition numbers in their stream */
    int *part_input; /* their input */
    void **readers;
    uint64_t *offsets; /* next offset to read, per partition */
    uint64_t *ends;    /* bounded: stop here, per partition */
    struct sink sink, dlq;
    struct json_decoder *decoder;
    struct json_encoder *encoder;
    struct value *row;
    struct arena *arena;
    struct json_buf out;   /* one encoded record */
    enum row_kind in_kind; /* of the record being processed (the plan does not take it yet) */
    struct engine_stats stats;
    const char *ckpt; /* this task's checkpoint file, or NULL */
    char ckpt_buf[4200];
    uint64_t query_hash, source_hash, sink_hash, dlq_hash; /* what a checkpoint is of */
    uint64_t seq;                                          /* of the last checkpoint written */
    struct checkpoint_part *carried; /* entries of partitions read before the task count changed */
    int ncarried;
    int *lock_fds; /* per source partition, with a checkpoint directory */
    bool completed;
    /* where the record being processed came from, for error messages */
    int cur_input, cur_partition;
    bool split; /* tasks split by key: every task reads every partition (plan_split_columns) */
    uint64_t cur_offset;
    int64_t last_report_ms; /* of the last report, for reports from inside a sink's wait */
    /* the storage quota (engine_options.storage_quota_bytes) */
    uint64_t storage_used;     /* at the last measurement, plus appends since */
    uint64_t storage_appended; /* bytes appended since the last measurement */
    int64_t storage_measured_ms;
    bool storage_measured;
    bool storage_refused; /* the run failed on the quota (quota_checkpoint) */
    /* a stateful plan into a keyed sink: its last -U, until the +U of the same key (emit_row) */
    const struct schema *upsert_schema; /* the sink's; NULL: -U rows are written as they come */
    struct json_buf held;
    char held_key[RUNTIME_HELD_KEY_MAX];
    size_t held_key_len;
    bool holding;
};

static int run_fail(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run_fail(struct run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, r->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static void run_log(struct run *r, enum log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void run_log(struct run *r, enum log_level level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->o->log)
        r->o->log(r->o->ctx, level, msg);
    else
        log_at(level, "%s", msg);
}

static const struct engine_stream *find_stream(const struct engine_options *o, const char *name)
{
    for (int i = 0; i < o->nstreams; i++)
        if (strcmp(o->streams[i].name, name) == 0)
            return &o->streams[i];
    return NULL;
}

static const struct schema *catalog(void *ctx, const char *name)
{
    const struct engine_stream *s = find_stream(ctx, name);
    return s ? s->schema : NULL;
}

/* ---------------------------------------------------------------- sinks */

/* Task i of n reads the source partitions p with p % n == i and writes sink partition i. */
static int task_index(const struct engine_options *o) { return o->task_count > 1 ? o->task_index : 0; }
static int task_count(const struct engine_options *o) { return o->task_count > 1 ? o->task_count : 1; }

static void run_progress(void *ctx);

/* The backend that reads part p, and the partition's name in checkpoints and locks. */
static const struct stream_backend *part_backend(const struct run *r, int p)
{
    return r->inputs[r->part_input[p]].backend;
}
static int part_key(const struct run *r, int p) { return r->part_input[p] * ENGINE_INPUT_STRIDE + r->part_ids[p]; }

/* Where blackhole sinks write: /dev/null, opened once for the process (as stdout is). */
static FILE *blackhole_file;
static pthread_once_t blackhole_once = PTHREAD_ONCE_INIT;
static void blackhole_open(void) { blackhole_file = fopen("/dev/null", "we"); }

int engine_backend_prints(const char *backend)
{
    return strcmp(backend, "print") == 0 || strcmp(backend, "blackhole") == 0;
}

/* Whether the sink rolls back to a checkpoint by itself (stream_backend.rolls_back); the
 * others are read back after a restart instead when the stream asks for it (replay_dedup). */
static bool sink_rolls_back(const struct sink *k)
{
    if (!k->backend->truncate)
        return false;
    return !k->backend->rolls_back || k->backend->rolls_back(k->writer);
}

static int sink_open(struct run *r, struct sink *k, const char *name)
{
    const struct engine_stream *s = find_stream(r->o, name);
    if (!s)
        return run_fail(r, "stream \"%s\" is not defined", name);
    if (strcmp(s->backend, "blackhole") == 0) { /* Flink's: every row taken, none kept */
        pthread_once(&blackhole_once, blackhole_open);
        if (!(k->print = blackhole_file))
            return run_fail(r, "stream \"%s\" (blackhole): cannot open /dev/null: %s", name, strerror(errno));
        return 0;
    }
    if (strcmp(s->backend, "print") == 0) {
        k->print = r->o->print ? r->o->print : stdout;
        return 0;
    }
    k->backend = stream_backend_find(s->backend);
    if (!k->backend || !k->backend->open_writer)
        return run_fail(r, "stream \"%s\" (%s) cannot be written to", name, s->backend);
    int n;
    char e[512];
    /* the writer also gets "__checkpoint", the run's checkpoint file, to keep its state beside */
    struct stream_property *props = calloc((size_t)s->nprops + 1, sizeof *props);
    if (!props)
        return run_fail(r, "out of memory");
    if (s->nprops > 0)
        memcpy(props, s->props, (size_t)s->nprops * sizeof *props);
    int nprops = s->nprops;
    if (r->ckpt)
        props[nprops++] = (struct stream_property){"__checkpoint", r->ckpt};
    int rc = k->backend->partitions(s->location, s->partitions > 1 ? s->partitions : 1, props, nprops, &n, e,
                                    sizeof e) != 0 ||
             k->backend->open_writer(s->location, task_index(r->o), props, nprops, &k->writer, e, sizeof e) != 0;
    free(props);
    if (rc)
        return run_fail(r, "stream \"%s\": %s", name, e);
    /* with checkpoints, readers of the sink see only what a checkpoint names */
    if (r->ckpt && k->backend->hold_commits)
        k->backend->hold_commits(k->writer);
    /* an upsert stream: the backend keys its records (the log compacts, PostgreSQL upserts) */
    if (s->schema && s->schema->nprimary_key > 0 && k->backend->set_key &&
        k->backend->set_key(k->writer, s->schema, e, sizeof e) != 0)
        return run_fail(r, "stream \"%s\": %s", name, e);
    /* a sink that waits (retries) keeps the reports, and so the worker's heartbeat, going */
    if (k->backend->set_progress)
        k->backend->set_progress(k->writer, run_progress, r);
    /* one writer per partition: more tasks than partitions share some (at-least-once then) */
    if (r->ckpt && s->replay_dedup && !sink_rolls_back(k) && task_count(r->o) <= n &&
        !(k->replay = sink_replay_new(k->backend, s->location, task_index(r->o), s->props, s->nprops, e, sizeof e)))
        return run_fail(r, "stream \"%s\": %s", name, e);
    return 0;
}

static int sink_flush(struct run *r, struct sink *k, bool sync);

/* Fails the run when appending len bytes to an embedded-log sink would pass the tenant's
 * storage quota. Re-measures the streams now and then (see engine_options). */
static int storage_check(struct run *r, size_t len)
{
    const struct engine_options *o = r->o;
    uint64_t need = len + 8; /* the log's frame: length and CRC */
    if (!o->storage_dir)
        return 0;
    if (!r->storage_measured || r->storage_appended >= ENGINE_STORAGE_MEASURE_BYTES ||
        clock_mono_ms() - r->storage_measured_ms >= ENGINE_STORAGE_MEASURE_MS ||
        r->storage_used + need > o->storage_quota_bytes) {
        char e[512];
        uint64_t used;
        /* what the sinks buffer goes to their files first, so the measurement counts it */
        if (sink_flush(r, &r->sink, false) != 0 || sink_flush(r, &r->dlq, false) != 0)
            return -1;
        if (seglog_streams_bytes(o->storage_dir, &used, e, sizeof e) != 0)
            return run_fail(r, "cannot measure the tenant's storage: %s", e);
        r->storage_used = used;
        r->storage_appended = 0;
        r->storage_measured_ms = clock_mono_ms();
        r->storage_measured = true;
    }
    if (r->storage_used + need > o->storage_quota_bytes) {
        /* a restart cannot help until the tenant frees storage: fail at once, no restarts */
        r->stats.permanent = r->storage_refused = true;
        return run_fail(r,
                        "storage quota exceeded: the tenant's streams hold %" PRIu64 " bytes of the plan's %" PRIu64
                        " (max_storage_bytes); delete streams, lower their retention or move to a larger plan",
                        r->storage_used, o->storage_quota_bytes);
    }
    r->storage_used += need;
    r->storage_appended += need;
    return 0;
}

/* Writes one row of the given kind: a print line is "+I {...}" (as Flink's print connector
 * writes "+I[...]"); a stream stores the kind as its backend does (see stream.h). */
static int sink_append(struct run *r, struct sink *k, enum row_kind kind, const char *data, size_t len)
{
    if (k->print) { /* one line at a time, whole, when several runs print to one stream */
        flockfile(k->print);
        bool ok = fwrite_unlocked(row_kind_name(kind), 1, 2, k->print) == 2 && fputc_unlocked(' ', k->print) != EOF &&
                  fwrite_unlocked(data, 1, len, k->print) == len && fputc_unlocked('\n', k->print) != EOF;
        funlockfile(k->print);
        return ok ? 0 : run_fail(r, "cannot write output: %s", strerror(errno));
    }
    char e[512];
    if (k->backend == &seglog_stream_backend && storage_check(r, len + (kind != ROW_INSERT ? LOG_KIND_PREFIX : 0)) != 0)
        return -1;
    int rc = sink_replay_active(k->replay) ? sink_replay_skip(k->replay, kind, data, len, e, sizeof e) : 0;
    if (rc != 0) /* in the sink already (1), or its tail unreadable */
        return rc > 0 ? 0 : run_fail(r, "%s", e);
    if (kind == ROW_INSERT)
        rc = k->backend->append(k->writer, data, (uint32_t)len, e, sizeof e);
    else if (k->backend->append_kind)
        rc = k->backend->append_kind(k->writer, kind, data, (uint32_t)len, e, sizeof e);
    else
        return run_fail(r, "the sink (%s) is append-only and cannot take a %s row", k->backend->name,
                        row_kind_name(kind));
    return rc == 0 ? 0 : run_fail(r, "%s", e);
}

static int sink_flush(struct run *r, struct sink *k, bool sync)
{
    char e[512];
    if (k->print)
        return fflush(k->print) == 0 ? 0 : run_fail(r, "cannot write output: %s", strerror(errno));
    if (k->writer && k->backend->flush(k->writer, sync, e, sizeof e) != 0)
        return run_fail(r, "%s", e);
    return 0;
}

/* The sink's end offset into *end: 0 for a sink that cannot be rolled back nor read back
 * (print, a Kafka connection). 0 or -1 with the run's error. */
static int sink_end(struct run *r, const struct sink *k, uint64_t *end)
{
    char e[512];
    *end = k->writer && k->backend->writer_end_offset ? k->backend->writer_end_offset(k->writer) : 0;
    if (k->replay && sink_replay_end(k->replay, end, e, sizeof e) != 0)
        return run_fail(r, "cannot read the sink's end offset for the checkpoint: %s", e);
    return 0;
}

/* Publishes the sink up to offset (named by the checkpoint just written) to its readers. */
static int sink_commit(struct run *r, struct sink *k, uint64_t offset)
{
    char e[512];
    if (k->writer && k->backend->commit && k->backend->commit(k->writer, offset, e, sizeof e) != 0)
        return run_fail(r, "%s", e);
    return 0;
}

/* Drops what a sink got after the checkpoint; a sink without truncate keeps it (at-least-once). */
static int sink_truncate(struct run *r, struct sink *k, uint64_t offset, const char *what)
{
    char e[512];
    if (!k->writer)
        return 0;
    if (k->replay) { /* (only a sink that does not roll back by itself has one: sink_rolls_back) */
        uint64_t tail;
        if (sink_replay_start(k->replay, offset, &tail, e, sizeof e) != 0)
            return run_fail(r, "cannot read the %s after the checkpoint: %s", what, e);
        if (tail > 0)
            run_log(r, LOG_INFO,
                    "%s (%s) got %" PRIu64 " records after the checkpoint: what the replay emits of them is not"
                    " written again",
                    what, k->backend->name, tail);
        return 0;
    }
    if (!k->backend->truncate) {
        run_log(r, LOG_INFO,
                "%s (%s) cannot be rolled back to the checkpoint: records written since are written again"
                " (at-least-once)",
                what, k->backend->name);
        return 0;
    }
    if (k->backend->truncate(k->writer, offset, e, sizeof e) != 0)
        return run_fail(r, "cannot roll the %s back to the checkpoint: %s", what, e);
    return 0;
}

static void sink_close(struct sink *k)
{
    sink_replay_free(k->replay);
    k->replay = NULL;
    if (k->writer)
        k->backend->close_writer(k->writer);
    else if (k->print)
        fflush(k->print);
    k->writer = NULL;
}

/* ---------------------------------------------------------------- checkpoints
 * The file is checkpoint.c's. A task writes its own partitions' entries and carries those of
 * partitions it read before a change of the task count; with a checkpoint directory it also
 * takes over the newest entries of its partitions from the other tasks' files (checkpoint.h). */

static int emit_row(void *ctx, enum row_kind kind, const struct value *row);
static int held_release(struct run *r, bool followed);

/* The plan's mini-batches go out (before a checkpoint: its snapshot holds none). 0 or -1. */
static int run_flush(struct run *r)
{
    struct sql_error se = {0};
    r->err[0] = '\0';
    if (r->plan && plan_flush(r->plan, r->arena, emit_row, r, &se) != 0)
        return r->err[0] ? -1 : run_fail(r, "%s", se.message);
    return held_release(r, false);
}

static int checkpoint_write(struct run *r)
{
    if (run_flush(r) != 0)
        return -1;
    if (!r->ckpt)
        return 0;
    /* the output up to here must be durable before the checkpoint names it */
    if (sink_flush(r, &r->sink, true) != 0 || sink_flush(r, &r->dlq, true) != 0)
        return -1;
    char *snap = NULL;
    size_t snap_len = 0;
    /* a completed run's checkpoint is never resumed (checkpoint_restore): it needs no state */
    if (r->plan && !r->completed && plan_snapshot(r->plan, &snap, &snap_len) != 0)
        return run_fail(r, "cannot snapshot the pipeline state");
    struct checkpoint_part *parts = malloc((size_t)(r->nparts + r->ncarried + 1) * sizeof *parts);
    if (!parts) {
        free(snap);
        return run_fail(r, "out of memory");
    }
    r->seq++;
    for (int p = 0; p < r->nparts; p++)
        parts[p] = (struct checkpoint_part){part_key(r, p), r->offsets[p], r->ends[p], r->seq};
    if (r->ncarried)
        memcpy(parts + r->nparts, r->carried, (size_t)r->ncarried * sizeof *parts);
    uint64_t sink_at, dlq_at;
    if (sink_end(r, &r->sink, &sink_at) != 0 || sink_end(r, &r->dlq, &dlq_at) != 0) {
        free(parts);
        free(snap);
        return -1;
    }
    struct checkpoint c = {.query_hash = r->query_hash,
                           .source_hash = r->source_hash,
                           .sink_hash = r->sink_hash,
                           .dlq_hash = r->dlq_hash,
                           .seq = r->seq,
                           .completed = r->completed,
                           .nparts = r->nparts + r->ncarried,
                           .parts = parts,
                           .sink_end = sink_at,
                           .dlq_end = dlq_at,
                           .stats = r->stats,
                           .snapshot = snap,
                           .snapshot_len = snap_len};
    int rc = checkpoint_save(r->ckpt, &c, r->err, r->errlen);
    free(parts);
    free(snap);
    if (rc != 0)
        return -1;
    /* only now may a source's server forget what the checkpoint holds */
    for (int p = 0; r->readers && p < r->nparts; p++)
        if (r->readers[p] && part_backend(r, p)->acknowledge)
            part_backend(r, p)->acknowledge(r->readers[p], r->offsets[p]);
    /* only now: a crash before this keeps readers from what a restart rolls back */
    return sink_commit(r, &r->sink, sink_at) | sink_commit(r, &r->dlq, dlq_at);
}

/* After the storage quota refused an append, a connection keeps what it wrote: it copies record
 * by record, and a record's offset passes only once it is in the sink, so the offsets name
 * exactly what the sink holds (the refused record is not in it) and a checkpoint now is one a
 * restart may resume from. A pipeline is not checkpointed here: its state has taken in the
 * record whose output was refused, part of which may be in the sink, so a restart rolls the
 * sink back to the last checkpoint. Keeps the run's error. */
static void quota_checkpoint(struct run *r)
{
    if (!r->storage_refused || r->plan || !r->ckpt)
        return;
    char *why = strdup(r->err);
    if (!why)
        return;
    if (checkpoint_write(r) != 0)
        run_log(r, LOG_WARN, "no checkpoint after the storage quota's refusal: %s", r->err);
    else
        run_log(r, LOG_INFO, "checkpoint %" PRIu64 " holds what was written before the storage quota's refusal",
                r->seq);
    snprintf(r->err, r->errlen, "%s", why);
    free(why);
}

/* With a checkpoint directory a task holds a lock per source partition it reads, so a task
 * taking partitions over after the task count changed waits until their previous task has
 * exited and written its last checkpoint. Returns 0, 1 when stopped while waiting, or -1. */
static int lock_partitions(struct run *r)
{
    const char *dir = r->o->checkpoint_dir;
    if (!dir)
        return 0;
    r->lock_fds = malloc((size_t)(r->nparts + 1) * sizeof *r->lock_fds);
    if (!r->lock_fds)
        return run_fail(r, "out of memory");
    for (int p = 0; p < r->nparts; p++)
        r->lock_fds[p] = -1;
    for (int p = 0; p < r->nparts; p++) { /* in partition order: waiting tasks never cross */
        char path[4200];
        if (r->split) /* every task reads every partition: a lock per task and partition */
            snprintf(path, sizeof path, "%s/task-%d-partition-%d.lock", dir, task_index(r->o), part_key(r, p));
        else
            snprintf(path, sizeof path, "%s/partition-%d.lock", dir, part_key(r, p));
        r->lock_fds[p] = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (r->lock_fds[p] < 0)
            return run_fail(r, "cannot open %s: %s", path, strerror(errno));
        bool said = false;
        while (flock(r->lock_fds[p], LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK && errno != EINTR)
                return run_fail(r, "cannot lock %s: %s", path, strerror(errno));
            if (r->o->stop && *r->o->stop)
                return 1;
            if (!said)
                run_log(r, LOG_INFO, "waiting for source partition %d: a previous task of this pipeline still reads it",
                        r->part_ids[p]);
            said = true;
            usleep(20000);
            run_progress(r);
        }
    }
    return 0;
}

static int my_partition(const struct run *r, int partition)
{
    for (int p = 0; p < r->nparts; p++)
        if (part_key(r, p) == partition)
            return p;
    return -1;
}

/* Takes from the other tasks' checkpoints in the directory the entries of this task's
 * partitions that are newer than what it has (seq[p]); raises r->seq past every file's. */
static int restore_from_other_tasks(struct run *r, bool *restored, uint64_t *seq)
{
    const char *dir = r->o->checkpoint_dir;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : run_fail(r, "cannot read %s: %s", dir, strerror(errno));
    const char *own = strrchr(r->ckpt, '/') ? strrchr(r->ckpt, '/') + 1 : r->ckpt;
    int rc = 0;
    for (struct dirent *de; rc == 0 && (de = readdir(d));) {
        size_t n = strlen(de->d_name);
        if (strncmp(de->d_name, "task-", 5) != 0 || n < 10 || strcmp(de->d_name + n - 5, ".ckpt") != 0 ||
            strcmp(de->d_name, own) == 0)
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct checkpoint c;
        if (checkpoint_load(path, &c, r->err, r->errlen) < 0)
            rc = -1;
        else if (c.source_hash == r->source_hash)
            for (int i = 0; i < c.nparts; i++) {
                int p = my_partition(r, c.parts[i].partition);
                if (p >= 0 && (!restored[p] || c.parts[i].seq > seq[p])) {
                    r->offsets[p] = c.parts[i].offset;
                    r->ends[p] = c.parts[i].end;
                    seq[p] = c.parts[i].seq;
                    restored[p] = true;
                }
            }
        if (c.seq > r->seq)
            r->seq = c.seq;
        checkpoint_release(&c);
    }
    closedir(d);
    return rc;
}

/* Restores what still applies of the checkpoint(s): restored[p] says which partitions resume
 * at a checkpointed offset; *resumed whether anything was restored. A changed query keeps the
 * source offsets and drops the old query's state (as Flink's allowNonRestoredState); another
 * source stream starts over; output after the checkpoint is rolled back in the streams it
 * names. */
static int checkpoint_restore(struct run *r, bool *restored, bool *resumed)
{
    *resumed = false;
    if (!r->ckpt)
        return 0;
    struct checkpoint own = {0};
    uint64_t *seq = calloc((size_t)r->nparts + 1, sizeof *seq);
    int rc = seq ? checkpoint_load(r->ckpt, &own, r->err, r->errlen) : run_fail(r, "out of memory");
    bool have = rc == 1, same_source = have && own.source_hash == r->source_hash;
    bool same_query = same_source && own.query_hash == r->query_hash && own.sink_hash == r->sink_hash;
    if (rc < 0)
        goto out;
    rc = -1;
    r->seq = own.seq;
    if (have && own.completed) {
        if (same_query) { /* nothing to resume, and the sinks may have moved on since (a later
                           * pipeline appending to the same dead-letter stream): leave them */
            r->completed = *resumed = true;
            rc = 0;
            goto out;
        }
        run_log(r, LOG_INFO, "checkpoint %s is of a completed run of another query: this one starts over", r->ckpt);
        have = same_source = false;
    }
    /* drop output written after the checkpoint */
    if (have && own.sink_hash == r->sink_hash && sink_truncate(r, &r->sink, own.sink_end, "sink") != 0)
        goto out;
    if (have && own.dlq_hash == r->dlq_hash && sink_truncate(r, &r->dlq, own.dlq_end, "dead-letter stream") != 0)
        goto out;
    int from_own = 0;
    if (same_source) {
        r->carried = malloc((size_t)(own.nparts + 1) * sizeof *r->carried);
        if (!r->carried) {
            run_fail(r, "out of memory");
            goto out;
        }
        for (int i = 0; i < own.nparts; i++) {
            int p = my_partition(r, own.parts[i].partition);
            if (p < 0) { /* read before the task count changed: kept for the task that reads it now */
                r->carried[r->ncarried++] = own.parts[i];
                continue;
            }
            r->offsets[p] = own.parts[i].offset;
            r->ends[p] = own.parts[i].end;
            seq[p] = own.parts[i].seq;
            restored[p] = true;
        }
    } else if (have && !same_query) {
        run_log(r, LOG_INFO, "checkpoint %s is of a pipeline over another source stream: \"%s\" is read from its start",
                r->ckpt, r->source->name);
    }
    for (int p = 0; p < r->nparts; p++)
        from_own += restored[p];
    /* split by key, a task reads every partition for itself: only a new task (after the task
     * count grew) starts where the others are */
    if (r->o->checkpoint_dir && !(r->split && same_source) && restore_from_other_tasks(r, restored, seq) != 0)
        goto out;
    for (int p = 0; p < r->nparts; p++) {
        *resumed |= restored[p];
        if (same_source && restored[p] && seq[p] > own.seq)
            from_own = -1; /* taken over from another task: the state is not of these partitions */
    }
    struct sql_error se = {0};
    if (same_query && r->ncarried == 0 && from_own == r->nparts && own.nparts == r->nparts) {
        if (r->plan && plan_restore(r->plan, own.snapshot, own.snapshot_len, &se) != 0) {
            run_fail(r, "cannot restore the pipeline state: %s", se.message);
            goto out;
        }
    } else if (have && !same_query) {
        run_log(r, LOG_INFO,
                "the pipeline changed since checkpoint %s: it resumes at the checkpointed source offsets; the"
                " window state of its previous query, if any, is not restored",
                r->ckpt);
    }
    rc = 0;
out:
    free(seq);
    checkpoint_release(&own);
    return rc;
}

/* ---------------------------------------------------------------- records */

/* One output row of the plan, of the given kind, to the sink (how a stream stores the kind:
 * dataplane/log/log.h; an append-only sink refuses other kinds in sink_append). A plan without
 * state maps each input row to its outputs (filter, projection), which keep the input's kind,
 * as Flink's Calc does on a changelog. */
static int emit_encoded(struct run *r, enum row_kind kind, const struct json_buf *b)
{
    if (sink_append(r, &r->sink, kind, b->data, b->len) != 0)
        return -1;
    r->stats.records_out++;
    r->stats.bytes_out += b->len;
    return 0;
}

/* The held -U goes out: as -U when the +U of its key follows (the sink replaces the row by
 * key), as -D when nothing does (the row left the result). 0 or -1. */
static int held_release(struct run *r, bool followed)
{
    if (!r->holding)
        return 0;
    r->holding = false;
    return emit_encoded(r, followed ? ROW_UPDATE_BEFORE : ROW_DELETE, &r->held);
}

/* A keyed (upsert) sink drops -U rows: the +U after one replaces the row by key (the log's
 * compaction, the postgres sink). A stateful plan's -U with no +U after it (HAVING, or a WHERE
 * over the aggregate, passed the old row but not the new) takes the row away, and must reach
 * such a sink as -D, as Flink's upsert sinks turn an update-before into a delete. So a -U is
 * held until the next row: the +U of the same key lets it out as it is, anything else (or the
 * end of the input row's processing: held_release) as -D. 0 or -1. */
static int emit_upsert(struct run *r, enum row_kind kind, const struct value *row)
{
    char key[RUNTIME_HELD_KEY_MAX];
    size_t key_len = 0;
    bool keyed = row_key_of_values(r->upsert_schema, row, key, sizeof key, &key_len) == 0;
    bool followed = r->holding && kind == ROW_UPDATE_AFTER && keyed && key_len == r->held_key_len &&
                    memcmp(key, r->held_key, key_len) == 0;
    if (held_release(r, followed) != 0)
        return -1;
    if (kind != ROW_UPDATE_BEFORE || !keyed)
        return emit_encoded(r, kind, &r->out);
    json_buf_free(&r->held);
    r->held = r->out; /* swap the buffers: out is reused for the next row */
    r->out = (struct json_buf){0};
    memcpy(r->held_key, key, key_len);
    r->held_key_len = key_len;
    r->holding = true;
    return 0;
}

static int emit_row(void *ctx, enum row_kind kind, const struct value *row)
{
    struct run *r = ctx;
    if (kind == ROW_INSERT && !plan_is_windowed(r->plan))
        kind = r->in_kind;
    r->out.len = 0;
    if (json_encode_row(r->encoder, row, &r->out) != 0)
        return run_fail(r, "out of memory");
    if (r->upsert_schema)
        return emit_upsert(r, kind, row);
    return emit_encoded(r, kind, &r->out);
}

/* A record that cannot be decoded or evaluated: the error policy decides. */
/* Appends {"partition","offset","error","record"} for rec to the dead-letter stream; the error
 * starts with where the source says the record was (a file and line), when it says. */
static int dead_letter(struct run *r, const struct stream_record *rec, const char *reason)
{
    struct json_buf b = {0};
    char why[800];
    if (rec->where)
        snprintf(why, sizeof why, "%s: %s", rec->where, reason);
    else
        snprintf(why, sizeof why, "%s", reason);
    int rc = json_buf_reserve(&b, 64);
    if (rc == 0)
        b.len = (size_t)snprintf(b.data, 64, "{\"partition\":%d,\"offset\":%" PRIu64 ",\"error\":", r->cur_partition,
                                 rec->offset);
    rc = rc || json_buf_put_string_lossy(&b, why, strlen(why)) || json_buf_reserve(&b, 16);
    if (rc == 0) {
        memcpy(b.data + b.len, ",\"record\":", 10);
        b.len += 10;
        rc = json_buf_put_string_lossy(&b, rec->data, rec->len) || json_buf_reserve(&b, 1);
    }
    if (rc == 0) {
        b.data[b.len++] = '}';
        rc = sink_append(r, &r->dlq, ROW_INSERT, b.data, b.len);
    } else {
        run_fail(r, "out of memory");
    }
    json_buf_free(&b);
    return rc;
}

static int bad_record(struct run *r, const struct stream_record *rec, const char *reason)
{
    r->stats.errors++;
    char at[400]; /* where the record is: the source's own words (a file and line), else the offset */
    if (rec->where)
        snprintf(at, sizeof at, "%s (partition %d offset %" PRIu64 ")", rec->where, r->cur_partition, rec->offset);
    else
        snprintf(at, sizeof at, "partition %d offset %" PRIu64, r->cur_partition, rec->offset);
    switch (r->o->error_policy) {
    case ENGINE_POLICY_FAIL:
        return run_fail(r, "record at %s: %s", at, reason);
    case ENGINE_POLICY_SKIP:
        run_log(r, LOG_WARN, "skipped record at %s: %s", at, reason);
        return 0;
    case ENGINE_POLICY_DEAD_LETTER:
        run_log(r, LOG_WARN, "dead-lettered record at %s: %s", at, reason);
        return dead_letter(r, rec, reason);
    }
    return 0;
}

static int process_record(struct run *r, const struct stream_record *rec)
{
    r->stats.records_in++;
    r->stats.bytes_in += rec->len;
    if (rec->error) /* the source found it malformed */
        return bad_record(r, rec, rec->error);
    if (!r->plan) { /* a connection: copy as is */
        if (sink_append(r, &r->sink, rec->kind, rec->data, rec->len) != 0)
            return -1;
        r->stats.records_out++;
        r->stats.bytes_out += rec->len;
        return 0;
    }
    char reason[300];
    r->in_kind = rec->kind;
    struct input *in = &r->inputs[r->cur_input];
    if (json_decode_row(in->decoder, rec->data, rec->len, in->row, r->arena, reason, sizeof reason) != 0)
        return bad_record(r, rec, reason);
    struct sql_error se = {0};
    r->err[0] = '\0';
    int rc = in->split_col >= 0 &&
                     value_hash(&in->row[in->split_col], 0) % (uint64_t)task_count(r->o) != (uint64_t)task_index(r->o)
                 ? plan_pass_source(r->plan, r->cur_input, in->row, r->arena, emit_row, r, &se)
                 : plan_process_source_kind(r->plan, r->cur_input, rec->kind, in->row, r->arena, emit_row, r, &se);
    if (held_release(r, false) != 0 || (rc != 0 && r->err[0])) /* the sink failed: fatal whatever the policy */
        return -1;
    return rc == 0 ? 0 : bad_record(r, rec, se.message);
}

/* Processing time passes: the plan fires the processing-time windows that closed. */
static int run_tick(struct run *r)
{
    struct sql_error se = {0};
    r->err[0] = '\0';
    if (r->plan && plan_tick(r->plan, r->arena, emit_row, r, &se) != 0)
        return r->err[0] ? -1 : run_fail(r, "%s", se.message);
    if (held_release(r, false) != 0)
        return -1;
    arena_reset(r->arena);
    return 0;
}

/* ---------------------------------------------------------------- setup and loop */

static void run_report(struct run *r, bool with_lag)
{
    if (r->plan) {
        struct plan_stats ps;
        plan_stats(r->plan, &ps);
        r->stats.late = ps.late_dropped;
        r->stats.state_bytes = plan_state_bytes(r->plan);
    }
    if (with_lag) {
        uint64_t lag = 0;
        for (int p = 0; p < r->nparts; p++) {
            uint64_t end;
            char e[256];
            if (r->readers[p] && part_backend(r, p)->end_offset(r->readers[p], &end, e, sizeof e) == 0 &&
                end != UINT64_MAX && end > r->offsets[p])
                lag += end - r->offsets[p];
        }
        r->stats.lag = lag;
    }
    if (r->o->report)
        r->o->report(r->o->ctx, &r->stats);
    r->last_report_ms = clock_mono_ms();
}

/* A sink's writer waiting inside append or flush: reports (without the lag, which would read
 * the source) once per report interval. */
static void run_progress(void *ctx)
{
    struct run *r = ctx;
    uint32_t report_ms = r->o->report_interval_ms ? r->o->report_interval_ms : 1000;
    if (clock_mono_ms() - r->last_report_ms >= report_ms)
        run_report(r, false);
}

/* Tasks of a pipeline that keeps state by key (joins, aggregates, Top-N, OVER) split its rows
 * by key: each task reads every partition of every stream and processes the rows whose key
 * hashes to it. A stateless pipeline over one read stream splits by partition instead; a lookup
 * join's table queried per key (attached first) is no stream read and keeps no state. 0, or -1
 * when the plan cannot be split by key (the API refuses such a task_count first). */
static int split_inputs(struct run *r)
{
    int cols[PLAN_MAX_SOURCES];
    char why[400];
    for (int i = 0; i < r->ninputs; i++)
        r->inputs[i].split_col = -1;
    int nread = r->plan ? plan_read_sources(r->plan) : 1;
    if (!r->plan || task_count(r->o) < 2 || (nread < 2 && !plan_is_stateful(r->plan)))
        return 0;
    if (plan_split_columns(r->plan, cols, why, sizeof why) != 0)
        return run_fail(r, "a pipeline that keeps state by key runs as %d tasks only split by key, but %s",
                        task_count(r->o), why);
    for (int i = 0; i < r->ninputs; i++)
        r->inputs[i].split_col = cols[i];
    r->split = true;
    return 0;
}

/* The streams the run reads (a connection: its source; a pipeline: every stream its plan
 * reads) and, of each, the partitions of this task. */
static int setup_inputs(struct run *r, const char *connection_source)
{
    const struct engine_options *o = r->o;
    int n = r->plan ? plan_nsources(r->plan) : 1, total = 0, counts[PLAN_MAX_SOURCES];
    if (task_index(o) < 0 || task_index(o) >= task_count(o))
        return run_fail(r, "task index %d is outside 0..%d", o->task_index, task_count(o) - 1);
    if (!(r->inputs = calloc((size_t)n, sizeof *r->inputs)))
        return run_fail(r, "out of memory");
    r->ninputs = n;
    for (int i = 0; i < n; i++) {
        struct input *in = &r->inputs[i];
        const char *name = r->plan ? plan_source_at(r->plan, i) : connection_source;
        char e[512];
        if (!(in->stream = find_stream(o, name)))
            return run_fail(r, "stream \"%s\" is not defined", name);
        int lk = r->plan && pg_lookup_attach ? pg_lookup_attach(r->plan, i, in->stream->backend, in->stream->props,
                                                                in->stream->nprops, &in->lookup, e, sizeof e)
                                             : 0;
        if (lk != 0) {
            counts[i] = 0;
            if (lk < 0)
                return run_fail(r, "%s", e);
            continue;
        }
        in->backend = stream_backend_find(in->stream->backend);
        if (!in->backend || !in->backend->open_reader)
            return run_fail(r, "stream \"%s\" (%s) cannot be read", name, in->stream->backend);
        const struct engine_stream *st = in->stream;
        int declared = st->partitions > 1 ? st->partitions : 1;
        if (in->backend->partitions(st->location, in->backend->reader_creates_partitions ? declared : 0, st->props,
                                    st->nprops, &counts[i], e, sizeof e) != 0)
            return run_fail(r, "stream \"%s\": %s", name, e);
        if (counts[i] >= ENGINE_INPUT_STRIDE)
            return run_fail(r, "stream \"%s\" has too many partitions (%d)", name, counts[i]);
        total += counts[i];
    }
    if (split_inputs(r) != 0) /* after the lookups attached: their tables are not split */
        return -1;
    r->source = r->inputs[0].stream;
    r->part_ids = calloc((size_t)total + 1, sizeof *r->part_ids);
    r->part_input = calloc((size_t)total + 1, sizeof *r->part_input);
    r->readers = calloc((size_t)total + 1, sizeof *r->readers);
    r->offsets = calloc((size_t)total + 1, sizeof *r->offsets);
    r->ends = calloc((size_t)total + 1, sizeof *r->ends);
    if (!r->part_ids || !r->part_input || !r->readers || !r->offsets || !r->ends)
        return run_fail(r, "out of memory");
    for (int i = 0; i < n; i++)
        for (int p = 0; p < counts[i]; p++)
            if (r->split || p % task_count(o) == task_index(o)) {
                r->part_input[r->nparts] = i;
                r->part_ids[r->nparts++] = p;
            }
    return 0;
}

/* A decoder and a row per input of a pipeline, and the encoder of its output. */
static int setup_codecs(struct run *r)
{
    if (!r->plan)
        return 0;
    for (int i = 0; i < r->ninputs; i++) {
        const struct schema *in = plan_source_schema(r->plan, i);
        r->inputs[i].decoder = json_decoder_new(in, plan_source_needed(r->plan, i));
        r->inputs[i].row = calloc((size_t)(in->nfields ? in->nfields : 1), sizeof *r->inputs[i].row);
        if (!r->inputs[i].decoder || !r->inputs[i].row)
            return run_fail(r, "out of memory");
    }
    if (!(r->encoder = json_encoder_new(plan_output_schema(r->plan))))
        return run_fail(r, "out of memory");
    return 0;
}

/* A source that may end by its options, bounded run or not: one finite without an option (the
 * filesystem's without "source.monitor-interval"), or one that an option makes finite (the
 * datagen's "events", whose reader's end is UINT64_MAX without it). It stops at its end as of
 * the first start and completes. */
static bool source_may_end(const struct stream_backend *be, const struct engine_stream *st)
{
    return be->bounded_by || (be->unbounded_by && !stream_property_get(st->props, st->nprops, be->unbounded_by));
}

/* Opens a reader per partition at its offset (restored[p]: from the checkpoint), and sets
 * where a bounded run stops. Returns 0 or -1. */
static int open_readers(struct run *r, const bool *restored)
{
    const struct engine_options *o = r->o;
    char e[512];
    for (int p = 0; p < r->nparts; p++) {
        const struct engine_stream *st = r->inputs[r->part_input[p]].stream;
        const struct stream_backend *be = part_backend(r, p);
        e[0] = '\0';
        if (be->open_reader(st->location, r->part_ids[p], r->offsets[p], st->props, st->nprops, &r->readers[p], e,
                            sizeof e) != 0)
            return run_fail(r, "stream \"%s\": %s", st->name, e);
        /* a fresh start begins where the backend's startup mode says (the checkpoint written
         * below keeps it for restarts) */
        if (!restored[p] && be->start_offset && be->start_offset(r->readers[p], &r->offsets[p], e, sizeof e) != 0)
            return run_fail(r, "stream \"%s\": %s", st->name, e);
        /* a bounded run stops at the end as of its first start (kept in the checkpoint); a
         * bounded run resuming an unbounded one's checkpoint takes the end as of now */
        if (!restored[p] || (o->bounded && r->ends[p] == UINT64_MAX)) {
            uint64_t end = UINT64_MAX;
            if ((o->bounded || source_may_end(be, st) || (r->plan && plan_source_preload(r->plan, r->part_input[p]))) &&
                be->end_offset(r->readers[p], &end, e, sizeof e) != 0)
                return run_fail(r, "stream \"%s\": %s", st->name, e);
            r->ends[p] = end;
        }
    }
    return 0;
}

/* The hash of the streams read ("a,b,c"; one stream: its name, as always). */
static uint64_t sources_hash(const struct run *r, const char *connection_source)
{
    if (!r->plan)
        return checkpoint_hash(CHECKPOINT_HASH_SEED, connection_source);
    uint64_t h = checkpoint_hash(CHECKPOINT_HASH_SEED, plan_source_at(r->plan, 0));
    for (int i = 1; i < plan_nsources(r->plan); i++)
        h = checkpoint_hash(checkpoint_hash(h, ","), plan_source_at(r->plan, i));
    return h;
}

/* 1 when the stream called name is a print sink. */
static int sink_prints(const struct engine_options *o, const char *name)
{
    const struct engine_stream *s = find_stream(o, name);
    return s && engine_backend_prints(s->backend);
}

static int run_setup(struct run *r)
{
    const struct engine_options *o = r->o;
    const char *source_name = o->source, *sink_name = o->sink;
    if (o->sql) {
        struct sql_error se = {0};
        /* an updating result needs a sink with a PRIMARY KEY (an upsert stream; plan.c), or a
         * print sink, which shows the changelog as it is (as Flink's print connector) */
        struct plan_options po = {.sink_accepts_updates = 1,
                                  .state_ttl_ms = o->state_ttl_ms,
                                  .source_idle_timeout_ms = o->source_idle_timeout_ms,
                                  .minibatch_size = o->minibatch_disabled ? 0
                                                    : o->minibatch_size   ? o->minibatch_size
                                                                          : ENGINE_MINIBATCH_SIZE,
                                  .minibatch_latency_ms =
                                      o->minibatch_latency_ms ? o->minibatch_latency_ms : ENGINE_MINIBATCH_LATENCY_MS,
                                  .functions = o->functions,
                                  .nfunctions = o->nfunctions};
        r->plan = plan_compile_with(o->sql, catalog, (void *)o, &po, &se);
        if (r->plan && plan_is_updating(r->plan) && !sink_prints(o, plan_sink(r->plan))) {
            plan_free(r->plan); /* again for this sink: the error names what makes it updating */
            po.sink_accepts_updates = 0;
            r->plan = plan_compile_with(o->sql, catalog, (void *)o, &po, &se);
        }
        if (!r->plan) {
            char msg[400];
            sql_error_format(&se, msg, sizeof msg);
            return run_fail(r, "invalid pipeline SQL: %s", msg);
        }
        source_name = plan_source(r->plan);
        sink_name = plan_sink(r->plan);
    }
    if (!source_name || !sink_name)
        return run_fail(r, "a connection needs a source and a sink stream");
    r->query_hash = checkpoint_hash(CHECKPOINT_HASH_SEED, o->sql ? o->sql : "");
    r->source_hash = sources_hash(r, source_name);
    r->sink_hash = checkpoint_hash(CHECKPOINT_HASH_SEED, sink_name);
    r->dlq_hash = checkpoint_hash(CHECKPOINT_HASH_SEED, o->dead_letter_stream);
    if (o->checkpoint_dir) {
        if (mkdir(o->checkpoint_dir, 0700) != 0 && errno != EEXIST)
            return run_fail(r, "cannot create %s: %s", o->checkpoint_dir, strerror(errno));
        snprintf(r->ckpt_buf, sizeof r->ckpt_buf, "%s/task-%d.ckpt", o->checkpoint_dir, task_index(o));
        r->ckpt = r->ckpt_buf;
    } else {
        r->ckpt = o->checkpoint_path;
    }
    if (setup_inputs(r, source_name) != 0 || sink_open(r, &r->sink, sink_name) != 0)
        return -1;
    if (r->split) { /* another task count assigns the keys otherwise: its state does not apply */
        char split[64];
        snprintf(split, sizeof split, "split by key over %d tasks", task_count(o));
        r->query_hash = checkpoint_hash(r->query_hash, split);
    }
    const struct engine_stream *sink_stream = find_stream(o, sink_name);
    if (r->plan && plan_is_windowed(r->plan) && r->sink.backend && sink_stream->schema &&
        sink_stream->schema->nprimary_key > 0) /* print shows the changelog as it is */
        r->upsert_schema = sink_stream->schema;
    if (o->error_policy == ENGINE_POLICY_DEAD_LETTER) {
        if (!o->dead_letter_stream)
            return run_fail(r, "the dead_letter error policy needs a dead-letter stream");
        if (sink_open(r, &r->dlq, o->dead_letter_stream) != 0)
            return -1;
    }
    if (setup_codecs(r) != 0)
        return -1;
    r->arena = arena_new(64 * 1024);
    if (!r->arena)
        return run_fail(r, "out of memory");
    int locked = lock_partitions(r);
    if (locked != 0)
        return locked;
    bool found, *restored = calloc((size_t)r->nparts + 1, sizeof *restored);
    if (!restored)
        return run_fail(r, "out of memory");
    if (checkpoint_restore(r, restored, &found) != 0) {
        free(restored);
        return -1;
    }
    if (found && !r->completed)
        run_log(r, LOG_INFO, "resumed from checkpoint %s at %s partition %d offset %" PRIu64, r->ckpt, source_name,
                r->nparts ? r->part_ids[0] : 0, r->nparts ? r->offsets[0] : 0);
    int rc = open_readers(r, restored);
    free(restored);
    if (rc != 0)
        return -1;
    /* names the sink's starting point, and the partitions taken over from other tasks */
    return r->completed ? 0 : checkpoint_write(r);
}

static void run_cleanup(struct run *r)
{
    if (r->readers)
        for (int p = 0; p < r->nparts; p++)
            if (r->readers[p])
                part_backend(r, p)->close_reader(r->readers[p]);
    free(r->readers);
    free(r->part_ids);
    free(r->part_input);
    free(r->offsets);
    free(r->ends);
    free(r->carried);
    if (r->lock_fds)
        for (int p = 0; p < r->nparts; p++)
            if (r->lock_fds[p] >= 0)
                close(r->lock_fds[p]); /* after the final checkpoint: the next reader of p waits for it */
    free(r->lock_fds);
    sink_close(&r->sink);
    sink_close(&r->dlq);
    for (int i = 0; r->inputs && i < r->ninputs; i++) {
        json_decoder_free(r->inputs[i].decoder);
        free(r->inputs[i].row);
        if (r->inputs[i].lookup)
            pg_lookup_close(r->inputs[i].lookup);
    }
    free(r->inputs);
    json_encoder_free(r->encoder);
    arena_free(r->arena);
    json_buf_free(&r->out);
    json_buf_free(&r->held);
    plan_free(r->plan);
}

static bool all_done(const struct run *r)
{
    for (int p = 0; p < r->nparts; p++)
        if (r->offsets[p] < r->ends[p])
            return false;
    return true;
}

/* An input whose partitions are all read to their ends (a bounded input) no longer holds
 * the plan's watermark back. */
static void mark_ended_inputs(struct run *r)
{
    if (!r->plan || r->ninputs < 2)
        return;
    for (int i = 0; i < r->ninputs; i++) {
        bool done = !r->inputs[i].ended;
        for (int p = 0; done && p < r->nparts; p++)
            done = r->part_input[p] != i || r->offsets[p] >= r->ends[p];
        if (done) {
            r->inputs[i].ended = true;
            plan_source_ended(r->plan, i);
        }
    }
}

/* Notes the state's peak; fails the run when the plan's state is over the limit; 0 or -1. */
static int state_check(struct run *r)
{
    if (!r->plan)
        return 0;
    size_t bytes = plan_state_bytes(r->plan);
    if (bytes > r->stats.state_peak_bytes)
        r->stats.state_peak_bytes = bytes;
    if (!r->o->state_max_bytes)
        return 0;
    if (bytes <= r->o->state_max_bytes)
        return 0;
    char names[128];
    int n = plan_state_operators(r->plan, names, sizeof names);
    r->stats.state_bytes = bytes;
    r->stats.permanent = true; /* the same input grows the same state: a restart cannot help */
    char why[64];
    if (r->o->task_size)
        snprintf(why, sizeof why, "for task size %s", r->o->task_size);
    else
        snprintf(why, sizeof why, "set by 'state.max-bytes'");
    return run_fail(r, "state of operator%s %s is %zu bytes, over the limit of %" PRIu64 " %s", n > 1 ? "s" : "", names,
                    bytes, r->o->state_max_bytes, why);
}

/* One pass over the partitions: returns records read, or -1. */
static long run_pass(struct run *r, struct stream_record *recs)
{
    long total = 0;
    char e[512];
    mark_ended_inputs(r);
    bool loading = false; /* a lookup join's table is still being read: the other streams wait */
    for (int i = 0; r->plan && i < r->ninputs; i++)
        loading |= plan_source_preload(r->plan, i) && !r->inputs[i].ended;
    for (int p = 0; p < r->nparts; p++) {
        if (r->offsets[p] >= r->ends[p] || (loading && !plan_source_preload(r->plan, r->part_input[p])))
            continue;
        uint64_t room = r->ends[p] - r->offsets[p];
        int max = room < RUNTIME_BATCH ? (int)room : RUNTIME_BATCH;
        memset(recs, 0, (size_t)max * sizeof *recs); /* where and error: set only by the sources that know */
        int n = part_backend(r, p)->read(r->readers[p], recs, max, e, sizeof e);
        if (n < 0)
            return run_fail(r, "stream \"%s\" partition %d: %s", r->inputs[r->part_input[p]].stream->name,
                            r->part_ids[p], e);
        r->cur_input = r->part_input[p];
        r->cur_partition = r->part_ids[p];
        for (int i = 0; i < n; i++) {
            if (process_record(r, &recs[i]) != 0)
                return -1;
            r->offsets[p] = recs[i].offset + 1;
        }
        arena_reset(r->arena);
        if (state_check(r) != 0)
            return -1;
        total += n;
    }
    return total;
}

/* The process's malloc keeps what a pipeline frees for its next batches: by default glibc
 * returns a freed chunk of a few hundred KB to the kernel (an mmap of its own, or a trimmed heap
 * top) and the next batch faults every 4 KB page in again, which made page faults a fifth of a
 * Kafka pipeline's CPU (a fetch response, a record batch). Up to 16 MB stay per arena. */
static void engine_tune_malloc(void)
{
    mallopt(M_MMAP_THRESHOLD, 8 << 20);
    mallopt(M_TRIM_THRESHOLD, 16 << 20);
    mallopt(M_TOP_PAD, 4 << 20);
}

enum engine_result engine_run(const struct engine_options *o, struct engine_stats *final, char *err, size_t errlen)
{
    static pthread_once_t tuned = PTHREAD_ONCE_INIT;
    pthread_once(&tuned, engine_tune_malloc);
    struct run r = {.o = o, .err = err, .errlen = errlen};
    err[0] = '\0';
    enum engine_result result = ENGINE_FAILED;
    struct stream_record *recs = malloc(RUNTIME_BATCH * sizeof *recs);
    if (!recs) {
        snprintf(err, errlen, "out of memory");
        return ENGINE_FAILED;
    }
    int setup = run_setup(&r);
    if (setup != 0) {
        if (setup > 0) /* stopped while waiting for a partition */
            result = ENGINE_STOPPED;
        goto out;
    }
    if (r.completed) {
        run_log(&r, LOG_INFO, "already completed (checkpoint %s); remove it to run again", r.ckpt);
        result = ENGINE_COMPLETED;
        goto out;
    }
    uint32_t ckpt_ms = o->checkpoint_interval_ms ? o->checkpoint_interval_ms : 1000;
    uint32_t report_ms = o->report_interval_ms ? o->report_interval_ms : 1000;
    int64_t last_ckpt = clock_mono_ms(), pause_ms = 0; /* when the last checkpoint ended; the min pause */
    r.last_report_ms = last_ckpt;
    uint64_t records_at_ckpt = r.stats.records_in;
    useconds_t idle_us = RUNTIME_IDLE_MIN_US;
    int64_t idle_since = 0; /* of the current idle stretch; 0 while records come */
    for (;;) {
        if (o->stop && *o->stop) {
            if (checkpoint_write(&r) != 0)
                goto out;
            result = ENGINE_STOPPED;
            break;
        }
        if (all_done(&r)) {
            if (r.plan && (plan_finish(r.plan, r.arena, emit_row, &r) != 0 || held_release(&r, false) != 0)) {
                if (!err[0])
                    snprintf(err, errlen, "cannot finish the pipeline");
                goto out;
            }
            r.completed = true;
            if (sink_flush(&r, &r.sink, true) != 0 || sink_flush(&r, &r.dlq, true) != 0 || checkpoint_write(&r) != 0)
                goto out;
            run_log(&r, LOG_INFO,
                    "completed: %" PRIu64 " records in, %" PRIu64 " out, %" PRIu64 " errors, peak state %" PRIu64
                    " bytes",
                    r.stats.records_in, r.stats.records_out, r.stats.errors, r.stats.state_peak_bytes);
            result = ENGINE_COMPLETED;
            break;
        }
        long n = run_pass(&r, recs);
        if (n < 0 || run_tick(&r) != 0)
            goto out;
        /* make the output visible to readers once per pass */
        if (sink_flush(&r, &r.sink, false) != 0 || sink_flush(&r, &r.dlq, false) != 0)
            goto out;
        int64_t now = clock_mono_ms();
        /* no input since the last checkpoint: nothing in it would change */
        if (r.ckpt && r.stats.records_in != records_at_ckpt &&
            (now - last_ckpt >= ckpt_ms + pause_ms ||
             (o->checkpoint_interval_records &&
              r.stats.records_in - records_at_ckpt >= o->checkpoint_interval_records))) {
            if (checkpoint_write(&r) != 0)
                goto out;
            last_ckpt = clock_mono_ms();
            pause_ms = (last_ckpt - now) * ENGINE_CHECKPOINT_PAUSE_FACTOR; /* beyond ckpt_ms */
            pause_ms = pause_ms > ckpt_ms ? pause_ms - ckpt_ms : 0;
            records_at_ckpt = r.stats.records_in;
        }
        if (now - r.last_report_ms >= report_ms)
            run_report(&r, true);
        if (n == 0) {
            usleep(idle_us);
            if (!idle_since)
                idle_since = now;
            useconds_t max = now - idle_since >= RUNTIME_IDLE_LONG_MS ? RUNTIME_IDLE_LONG_US : RUNTIME_IDLE_MAX_US;
            idle_us = idle_us * 2 > max ? max : idle_us * 2;
        } else {
            idle_us = RUNTIME_IDLE_MIN_US;
            idle_since = 0;
        }
    }
out:
    if (result == ENGINE_FAILED)
        quota_checkpoint(&r);
    if (r.inputs && r.readers)
        run_report(&r, result != ENGINE_FAILED);
    if (final)
        *final = r.stats;
    run_cleanup(&r);
    free(recs);
    return result;
}
