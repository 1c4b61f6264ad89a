/* logs.h — worker log lines and task events, buffered in memory and written in batches to
 * task_logs and task_events; plus log retention.
 *
 * A buffer holds at most max_pending rows; beyond that the oldest are dropped and counted (the
 * database may be unreachable for a while). Strings passed in are copied. */
#ifndef SLUICE_CONTROLPLANE_LOGS_H
#define SLUICE_CONTROLPLANE_LOGS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "common/db.h"

struct logs;

struct logs *logs_new(size_t max_pending);
void logs_free(struct logs *l);
/* A log line of a task. level: debug | info | warn | error (anything else is stored as info). */
void logs_add_line(struct logs *l, const char *tenant_id, const char *kind, const char *resource_id,
                   const char *task_id, const char *level, int64_t wall_ms, const char *message);
/* A task event (started, running, crashed, backoff, failed, completed, stopping, stopped,
 * claimed, lease_lost, rollover...) with a message and the task's restart count. */
void logs_add_event(struct logs *l, const char *tenant_id, const char *kind, const char *resource_id,
                    const char *task_id, const char *event, const char *message, int restarts, int64_t wall_ms);
/* Writes pending lines and events; 0, or -1 with err (rows kept). */
int logs_flush(struct logs *l, PGconn *conn, struct db_error *err);
/* Deletes log lines older than retention_hours and, per resource, all but the newest
 * max_per_resource lines. Returns the number of rows deleted, or -1 with err. */
long logs_retain(PGconn *conn, int retention_hours, int max_per_resource, struct db_error *err);
size_t logs_pending(const struct logs *l);
size_t logs_dropped(const struct logs *l);

#endif
