/* engine.h — the dataplane engine as a library: run one pipeline (an INSERT INTO ... SELECT over
 * streams) or one connection (copy a source into a stream), bounded or unbounded, with
 * checkpoints and an error policy. `sluiced worker` and `sluiced run` are thin mains on top; a C
 * program can embed it the same way.
 *
 * A run reads batches from every partition of its source streams (a pipeline may read
 * several: joins; its watermark is the least of theirs), decodes the JSON records (only the
 * fields the plan needs), feeds the plan, encodes what it emits and appends it to the sink.
 * With a checkpoint path, embedded log to embedded log is exactly-once: every interval the
 * sink is fsynced, then input offsets, sink end offsets and the plan's window state are
 * written atomically; a restart truncates the sink back to the checkpoint and resumes there.
 * That needs each sink (and dead-letter stream) to be written by one running pipeline at a time;
 * a completed pipeline leaves its sinks alone on a rerun.
 *
 * Everything in engine_options is borrowed for the duration of engine_run(). */
#ifndef SLUICE_DATAPLANE_ENGINE_H
#define SLUICE_DATAPLANE_ENGINE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/log.h"
#include "dataplane/stream.h"
#include "dataplane/value.h"

struct sql_function_def;

enum engine_error_policy {
    ENGINE_POLICY_FAIL = 0,    /* stop the run with the record's offset and reason */
    ENGINE_POLICY_SKIP,        /* count, log and drop the record */
    ENGINE_POLICY_DEAD_LETTER, /* count, log, append {"partition","offset","error","record"} to a stream */
};

/* 1 when a sink of this backend writes lines nowhere to be read back ("print", "blackhole"):
 * it takes an updating result as it is and keeps no checkpoint of its own. */
int engine_backend_prints(const char *backend);

/* Policy from its name ("fail" | "skip" | "dead_letter"); -1 for an unknown name. */
int engine_error_policy_from_name(const char *name);

/* A stream the run may use. backend: "log" (location is the stream directory), "datagen"
 * (props are its options; read-only), "print" (sink only: JSON lines to engine_options.print)
 * or "blackhole" (sink only, Flink's: takes every row, inserts and updates, and keeps none). */
#define ENGINE_CHECKPOINT_PAUSE_FACTOR 9
/* Mini-batch defaults (engine_options), as Flink's Nexmark flink-conf.yaml sets them. */
#define ENGINE_MINIBATCH_SIZE 50000
#define ENGINE_MINIBATCH_LATENCY_MS 2000

struct engine_stream {
    const char *name;
    const char *backend;
    const char *location;
    const struct schema *schema;
    const struct stream_property *props;
    int nprops;
    int partitions; /* embedded log: the declared count, created when missing (0: 1) */
    /* A sink that cannot be rolled back (Kafka) and that this task alone writes (per
     * partition): with checkpoints, a restart does not write again what the sink got after
     * the checkpoint and the replay emits anew (dataplane/sink_replay.h). */
    bool replay_dedup;
};

/* Counters of this engine_run() call (a restart from a checkpoint starts again from 0). */
struct engine_stats {
    uint64_t records_in, records_out, bytes_in, bytes_out;
    uint64_t errors;           /* undecodable or unevaluable records */
    uint64_t late;             /* rows dropped behind the watermark */
    uint64_t lag;              /* records in the source not read yet (at the last report) */
    uint64_t state_bytes;      /* held by the plan's operator state (plan_state_bytes) at the last report */
    uint64_t state_peak_bytes; /* the most plan_state_bytes seen after a batch of this process's run */
    bool permanent; /* ENGINE_FAILED: a restart would fail the same way (state over its limit, storage quota) */
};

typedef void (*engine_report_fn)(void *ctx, const struct engine_stats *stats);
typedef void (*engine_log_fn)(void *ctx, enum log_level level, const char *msg);

#define ENGINE_STORAGE_MEASURE_BYTES (8u << 20)
#define ENGINE_STORAGE_MEASURE_MS 5000

struct engine_options {
    const char *sql;           /* pipeline; NULL for a connection: copy source to sink as they are */
    const char *source, *sink; /* connection only: stream names */
    const struct engine_stream *streams;
    int nstreams;
    enum engine_error_policy error_policy;
    const char *dead_letter_stream; /* a stream name, for ENGINE_POLICY_DEAD_LETTER */
    /* Stop at the source's end offsets as of the first start (a datagen source with a count
     * always ends), run plan_finish and end `completed`. */
    bool bounded;
    /* Parallel tasks of one pipeline: task i of n reads the source partitions p with
     * p % n == i and writes sink partition i (0 and 0 mean one task). Stateless pipelines
     * split cleanly; windowed ones aggregate per task. */
    int task_index, task_count;
    /* Idle-state TTL of non-windowed aggregates (table.exec.state.ttl); 0: kept forever. */
    int64_t state_ttl_ms;
    /* Mini-batch of non-windowed aggregates (Flink's table.exec.mini-batch.*; plan_options):
     * on unless minibatch_disabled, flushed after minibatch_size rows (0: 50000), when its first
     * row is minibatch_latency_ms old (0: 2000), before every checkpoint and at the end: the
     * settings of Flink's Nexmark configuration. */
    bool minibatch_disabled;
    int64_t minibatch_size;
    int64_t minibatch_latency_ms;
    /* A pipeline reading several streams: a stream quiet this long (processing time) no longer
     * holds back the watermark (table.exec.source.idle-timeout); 0: it always does. */
    int64_t source_idle_timeout_ms;
    /* Limit of the plan's operator state (plan_state_bytes), checked after every batch: past
     * it the run fails with "state of operator X is N bytes, over the limit of M for task
     * size S" (task_size "S"), or "... set by 'state.max-bytes'" (task_size NULL). 0: none. */
    uint64_t state_max_bytes;
    const char *task_size;
    const char *checkpoint_path; /* NULL: no checkpoints (and no exactly-once) */
    /* Instead of checkpoint_path: a directory the tasks of one pipeline share. Task i writes
     * task-<i>.ckpt there and locks its source partitions; after a change of the task count a
     * task takes over its partitions' offsets from the tasks that read them before. */
    const char *checkpoint_dir;
    /* 0 = 1000. A checkpoint writes the whole state, so the time between two (by the clock) is
     * also at least ENGINE_CHECKPOINT_PAUSE_FACTOR times what the last one took, as Flink's
     * min-pause between checkpoints: a large state costs at most about a tenth of the time. */
    uint32_t checkpoint_interval_ms;
    uint64_t checkpoint_interval_records; /* 0 = not by count */
    FILE *print;                          /* where "print" sinks write; NULL = stdout */
    volatile sig_atomic_t *stop;          /* set it (from a signal handler) to stop cleanly */
    engine_report_fn report;              /* called every report_interval_ms and at the end */
    uint32_t report_interval_ms;          /* 0 = 1000 */
    /* The tenant's storage quota (plans.max_storage_bytes): an append to an embedded-log sink
     * that would take the log streams under storage_dir past storage_quota_bytes fails the
     * run with "storage quota exceeded ..." (engine_stats.permanent: no restart helps until
     * storage is freed; a connection first checkpoints what it wrote). Measured (segment file sizes) at
     * the first append, then again after ENGINE_STORAGE_MEASURE_BYTES appended or
     * ENGINE_STORAGE_MEASURE_MS, counting this run's appends in between. storage_dir NULL:
     * no quota. */
    uint64_t storage_quota_bytes;
    const char *storage_dir;
    engine_log_fn log; /* notable events; NULL = common/log */
    /* CREATE FUNCTION definitions the SQL may call (borrowed; checked with
     * sql_function_check). */
    const struct sql_function_def *functions;
    int nfunctions;
    void *ctx; /* for report and log */
};

enum engine_result { ENGINE_FAILED = -1, ENGINE_COMPLETED = 0, ENGINE_STOPPED = 1 };

/* Runs until the bounded input is done (ENGINE_COMPLETED), *stop is set (ENGINE_STOPPED, after
 * a final checkpoint) or a fatal error (ENGINE_FAILED with the reason in err[errlen]). final
 * (may be NULL) gets the counters. */
enum engine_result engine_run(const struct engine_options *o, struct engine_stats *final, char *err, size_t errlen);

#endif
