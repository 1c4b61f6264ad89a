/* checkpoint_store.h — checkpoints of tasks over Kafka-stored streams kept in PostgreSQL
 * (table task_checkpoints, migrations/0120_kafka_storage.sql), so that a task resumes on any
 * controlplane node, whatever its data root (cluster mode).
 *
 * The worker cannot reach the platform database (DESIGN.md) and needs no change: it writes its
 * checkpoint file (dataplane/checkpoint.h) into its checkpoint directory as always. The
 * controlplane running the task copies that file into the table whenever its sequence number
 * has grown (checkpoint_store_save, every sync), and before it starts a task writes the copies
 * of the resource's task indexes into the directory where they are later than what the
 * directory holds (checkpoint_store_restore). A copy lags the file by at most a sync interval:
 * a task taken over resumes from a checkpoint at most that much older than its last one, and
 * reads again what came after it (at-least-once, README). */
#ifndef SLUICE_CONTROLPLANE_CHECKPOINT_STORE_H
#define SLUICE_CONTROLPLANE_CHECKPOINT_STORE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What checkpoint_store_save() last copied of a task's file (zeroed: nothing yet). */
struct checkpoint_store_mark {
    uint64_t seq;     /* its sequence number */
    ino_t inode;      /* the file it was read from: a checkpoint is a new file (renamed over) */
    int64_t mtime_ns; /* and its modification time */
};

/* Copies dir/task-<index>.ckpt into the table when it is another file than *mark says and its
 * sequence number is above mark->seq (then *mark is updated); a missing or half-written file
 * is no error (nothing to copy yet). Returns 1 when copied, 0 when there was nothing new, -1
 * with err (the database). */
int checkpoint_store_save(PGconn *conn, const char *tenant_id, const char *resource_id, int index, const char *dir,
                          struct checkpoint_store_mark *mark, char *err, size_t errsz);

/* Writes every stored checkpoint of resource_id into dir (task-<index>.ckpt, owned by uid when
 * running as root) where the file there is missing, unreadable or of a lower sequence number.
 * Returns the number of files written, or -1 with err. */
int checkpoint_store_restore(PGconn *conn, const char *resource_id, const char *dir, uid_t uid, char *err,
                             size_t errsz);

#endif
