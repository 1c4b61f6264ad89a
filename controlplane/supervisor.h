/* supervisor.h — runs worker processes: spawn in a sandbox, feed the spec, read the protocol,
 * watch heartbeats, stop gracefully, reap, restart with backoff, give up after repeated crashes.
 *
 * One supervisor per process, single-threaded: the owner calls supervisor_poll() in its loop
 * and learns about everything through callbacks made from inside supervisor_poll(),
 * supervisor_start() and supervisor_stop(). A task is identified by its task id (a string).
 *
 * Worker protocol (dataplane/worker.c): the spec JSON is written to the worker's stdin, which
 * is then closed; the worker writes JSON lines on stdout — {"type":"heartbeat"},
 * {"type":"metrics",records_in,records_out,bytes_in,bytes_out,errors,late,lag,state_bytes}
 * (totals since the process started; lag and state_bytes as of now), {"type":"log",level,msg},
 * {"type":"state",state,error?,retry?} (retry false: the failure is permanent, no restart),
 * {"type":"sandbox",layer,status} — and free text on stderr (stored as log lines). */
#ifndef SLUICE_CONTROLPLANE_SUPERVISOR_H
#define SLUICE_CONTROLPLANE_SUPERVISOR_H

#include <stdint.h>
#include <sys/types.h>

#include "controlplane/cgroup.h"
#include "controlplane/sandbox.h"

enum supervisor_state {
    SUPERVISOR_STARTING,  /* spawned, no heartbeat yet */
    SUPERVISOR_RUNNING,   /* heart-beating */
    SUPERVISOR_BACKOFF,   /* crashed; restarts at next_start */
    SUPERVISOR_STOPPING,  /* SIGTERM sent; SIGKILL at the deadline */
    SUPERVISOR_STOPPED,   /* stopped on request */
    SUPERVISOR_COMPLETED, /* the worker reported completed and exited 0 */
    SUPERVISOR_FAILED,    /* too many crashes in the window; last_error says why */
};
const char *supervisor_state_name(enum supervisor_state s);

struct supervisor_options {
    const char *worker_path;   /* default: this executable (/proc/self/exe) */
    const char *worker_args;   /* space-separated argv after argv[0]; default "worker" */
    int stop_timeout_ms;       /* SIGTERM → SIGKILL; default 5000 */
    int heartbeat_timeout_ms;  /* no heartbeat this long (also after start) → killed; default 15000 */
    int backoff_initial_ms;    /* first restart delay, doubled per crash; default 250 */
    int backoff_max_ms;        /* default 30000 */
    int crash_limit;           /* crashes within crash_window_ms → failed; default 5 */
    int crash_window_ms;       /* default 120000 */
    const char *cgroup_parent; /* group under which each task gets its own; default "sluice" */
};

struct supervisor_metrics {
    uint64_t records_in, records_out, bytes_in, bytes_out, errors, late;
    int64_t lag;
    uint64_t state_bytes; /* the operator state the worker last reported (a gauge, like lag) */
};

/* A task's observable state; a copy, plain data. Times are wall-clock milliseconds. */
struct supervisor_status {
    char task_id[64];
    enum supervisor_state state;
    pid_t pid; /* 0 when no process */
    int restarts;
    int64_t started_at_ms, heartbeat_at_ms, next_start_ms;
    char last_error[512];
    char sandbox[2048];               /* JSON object: layer → "applied: ..." | "unavailable: ..." */
    struct supervisor_metrics totals; /* summed over all runs of the task */
};

/* Callbacks, all optional. Strings are borrowed for the duration of the call.
 * state: after each transition; event is one of started, running, crashed, backoff, failed,
 *        completed, stopping, stopped, retry (see supervisor_start_failed); message is a human sentence (may be "").
 * metrics: the increase since the previous report (restarts accounted for).
 * log: a protocol log line (level from the worker) or a stderr line (level "info"). */
struct supervisor_callbacks {
    void (*state)(void *ctx, const struct supervisor_status *st, const char *event, const char *message);
    void (*metrics)(void *ctx, const char *task_id, const struct supervisor_metrics *delta);
    void (*log)(void *ctx, const char *task_id, const char *level, const char *message);
};

/* What to run. Everything is copied by supervisor_start(). */
struct supervisor_task {
    const char *task_id;
    const char *spec_json;         /* written to the worker's stdin */
    struct sandbox_config sandbox; /* workdir etc.; its cgroup field is ignored */
    /* Run with this executable (`sluiced worker`) even where the lean sluiced-worker runs the
     * other tasks: it has backends the lean one leaves out (Kafka). An explicitly configured
     * worker_path is used for every task regardless. */
    int full_worker;
    struct cgroup_limits limits;
};

struct supervisor;

/* Creates the supervisor (installs a SIGCHLD handler; ignores SIGPIPE). opts and cb are
 * copied; NULL opts means defaults. Returns NULL on failure with err filled. Free with
 * supervisor_free(), which kills remaining workers with SIGKILL and reaps them. */
struct supervisor *supervisor_new(const struct supervisor_options *opts, const struct supervisor_callbacks *cb,
                                  void *ctx, char *err, size_t errsz);
void supervisor_free(struct supervisor *s);

/* Starts a task (spawns now). A task id already known is an error unless that task has no
 * process (stopped, completed, failed), in which case it starts afresh with restarts at 0.
 * Returns 0, or -1 with err filled (the state callback has reported a crash when the spawn
 * itself failed; the task then restarts with backoff). */
int supervisor_start(struct supervisor *s, const struct supervisor_task *t, char *err, size_t errsz);
/* Records that the caller could not even build the task's start (a secret that does not
 * decrypt, a directory it cannot create): counted as a crash, with reason as last_error. Under
 * the crash limit the task goes into backoff, and when that is over the state callback reports
 * event "retry" (state stopped): the caller calls supervisor_start() again, and the crash
 * history carries over. At the limit the task is failed; a report on a failed (or stopped, not
 * retrying) task is a new start and counts afresh. Returns -1 if the task has a process
 * or is in backoff already. */
int supervisor_start_failed(struct supervisor *s, const char *task_id, const char *reason);
/* Graceful stop: SIGTERM, then SIGKILL after stop_timeout_ms. A task in backoff stops at once.
 * Returns -1 if the task is unknown. */
int supervisor_stop(struct supervisor *s, const char *task_id);
/* Forgets a task that has no process; returns -1 if it is unknown or still has one. */
int supervisor_forget(struct supervisor *s, const char *task_id);
/* Waits up to timeout_ms for worker output, exits and timers, and handles them. Returns the
 * number of tasks that have a process or are in backoff. */
int supervisor_poll(struct supervisor *s, int timeout_ms);
/* Copies the status of a task; returns -1 if it is unknown. */
int supervisor_status(const struct supervisor *s, const char *task_id, struct supervisor_status *out);
/* Number of tasks known; supervisor_status_at() reads the i-th (0 ≤ i < count). */
int supervisor_count(const struct supervisor *s);
void supervisor_status_at(const struct supervisor *s, int i, struct supervisor_status *out);

#endif
