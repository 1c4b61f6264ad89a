/* metering.h — usage metering: worker counters aggregated into per-minute rows per tenant and
 * resource (records and bytes in/out, errors, task-seconds), written to the usage table in one
 * batched upsert per flush. Rows stay pending in memory while the database is unreachable. */
#ifndef SLUICE_CONTROLPLANE_METERING_H
#define SLUICE_CONTROLPLANE_METERING_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "common/db.h"
#include "controlplane/supervisor.h"

struct metering;

struct metering *metering_new(void);
void metering_free(struct metering *m);
/* Adds delta (may be NULL) and task_seconds to the minute containing wall_ms. Strings are
 * copied. */
void metering_add(struct metering *m, const char *tenant_id, const char *kind, const char *resource_id, int64_t wall_ms,
                  const struct supervisor_metrics *delta, double task_seconds);
/* Writes pending rows (adding to existing ones); 0, or -1 with err (rows kept for next time). */
int metering_flush(struct metering *m, PGconn *conn, struct db_error *err);
/* Number of pending (tenant, resource, minute) rows. */
size_t metering_pending(const struct metering *m);

#endif
