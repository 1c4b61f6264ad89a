/* reconcile.h — the reconciler: converges the tasks of pipelines and connections in PostgreSQL
 * with the workers this node runs, and writes observed state back.
 *
 * Desired state lives in pipelines/connections (desired_state, generation, task_count,
 * task_size). reconcile_converge() turns it into task rows (one per task index; desired
 * running or stopped), claims free rows for this node with leases and starts their workers.
 * reconcile_sync() renews the leases, acts on rows whose desired state or generation changed
 * (stop; roll over to the new generation keeping the task's data directory and so its
 * position), writes task status, events, logs and usage in batches, and derives each
 * resource's actual_state, observed_generation and last_error from its task rows.
 *
 * The reconciler never blocks on the database for running workers: with no connection
 * (reconcile_set_conn(r, NULL)) the supervisor keeps running, restarting and metering, and
 * everything is written once a connection is back. */
#ifndef SLUICE_CONTROLPLANE_RECONCILE_H
#define SLUICE_CONTROLPLANE_RECONCILE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "common/db.h"
#include "controlplane/supervisor.h"

struct reconcile_options {
    const char *node_id;        /* borrowed; unique per controlplane process */
    const char *data_root;      /* borrowed; absolute */
    int lease_seconds;          /* lease length; renewed every sync */
    int max_tasks;              /* most tasks this node runs */
    uint64_t task_memory_mb[3]; /* memory limit of task sizes S, M, L */
    /* RLIMIT_CPU of a worker process by task size S, M, L (0: none). It counts CPU time over
     * the process's whole life, so it is a backstop against a runaway worker where the cgroup's
     * CPU quota is missing, not a rate: a limit hit kills the worker (SIGXCPU), which restarts
     * from its checkpoint with "cpu time limit exceeded" as its last error. */
    uint64_t task_cpu_seconds[3];
    /* The egress policy's report for tasks with the network ("applied: ..." or "unavailable:
     * ..."), borrowed, lives as long as the reconciler; NULL: none. */
    const char *egress_report;
    /* host:port,... of the deployment's Kafka cluster, where Kafka-stored streams live (their
     * tasks get it in their spec); NULL: none, and tasks over such streams fail to start. */
    const char *kafka_bootstrap_servers;
    const uint8_t *master_key; /* 32 bytes, or NULL: connections with secrets fail to start */
    int seccomp;               /* ask workers to install the seccomp allow-list */
    int log_retention_hours, log_max_per_resource;
    struct supervisor_options supervisor;
};

struct reconciler;

/* opts is copied (its strings stay borrowed). NULL with err on failure. */
struct reconciler *reconcile_new(const struct reconcile_options *opts, char *err, size_t errsz);
/* Kills remaining workers (use reconcile_shutdown() first for a graceful stop). */
void reconcile_free(struct reconciler *r);
/* The connection to use (borrowed), or NULL while there is none. */
void reconcile_set_conn(struct reconciler *r, PGconn *conn);
/* Creates/updates task rows from desired state, claims free rows and starts them. 0/-1. */
int reconcile_converge(struct reconciler *r, struct db_error *err);
/* 1 when the last reconcile_converge() claimed a full batch (more may be waiting). */
int reconcile_more_to_claim(const struct reconciler *r);
/* Renews leases, applies row changes, writes status, events, logs, usage and resource
 * states. 0/-1 (err.connection_lost says whether to reconnect). */
int reconcile_sync(struct reconciler *r, struct db_error *err);
/* Deletes expired log lines; returns rows deleted or -1. */
long reconcile_retain_logs(struct reconciler *r, struct db_error *err);
/* Runs the supervisor for up to timeout_ms and applies what happened. */
void reconcile_poll(struct reconciler *r, int timeout_ms);
/* Stops every worker gracefully (SIGTERM, SIGKILL after the stop timeout), writes the final
 * states and releases the leases when a connection is available. */
void reconcile_shutdown(struct reconciler *r);
/* Prometheus text exposition of the node's counters and of each task's series (labels: tenant_id,
 * kind, resource_id, task_id, tenant, name; README "Metrics") into buf, NUL-terminated and
 * truncated to bufsz. Returns the length the whole text needs, as snprintf does: a return
 * >= bufsz means it was cut short and a buffer of return + 1 bytes holds it. */
size_t reconcile_metrics_text(struct reconciler *r, char *buf, size_t bufsz);
/* 1 when some task changed state since the last reconcile_sync(). */
int reconcile_dirty(const struct reconciler *r);
/* Number of tasks this node holds. */
int reconcile_task_count(const struct reconciler *r);

#endif
