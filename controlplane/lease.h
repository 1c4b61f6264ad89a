/* lease.h — task leases in PostgreSQL: which node runs which task row.
 *
 * A node claims task rows that want to run and have no live owner (lease_owner NULL or
 * lease_expires_at in the past) with SELECT ... FOR UPDATE SKIP LOCKED, so concurrent nodes
 * never claim the same row; it renews all its leases together; a node that stops renewing loses
 * its rows to the others once lease_expires_at passes. */
#ifndef SLUICE_CONTROLPLANE_LEASE_H
#define SLUICE_CONTROLPLANE_LEASE_H

#include <libpq-fe.h>

#include "common/db.h"

/* Claims up to max rows for node for lease_seconds. Returns a result with columns id,
 * tenant_id, resource_kind, resource_id, task_index, generation, desired (caller PQclear()s),
 * skipping failed and completed rows,
 * or NULL with err. */
PGresult *lease_claim(PGconn *conn, const char *node, int lease_seconds, int max, struct db_error *err);
/* Extends every lease node holds and returns its rows with columns id, desired, generation,
 * state, tenant_id, resource_kind, resource_id, task_index (caller PQclear()s), or NULL with err. Rows missing from the
 * answer are no longer the node's. */
PGresult *lease_renew(PGconn *conn, const char *node, int lease_seconds, struct db_error *err);
/* Gives up all of node's leases (on shutdown) so other nodes take over at once; returns 0/-1. */
int lease_release_all(PGconn *conn, const char *node, struct db_error *err);
/* Records the node in cp_nodes (insert or refresh); returns 0/-1. */
int lease_node_heartbeat(PGconn *conn, const char *node, int tasks, struct db_error *err);

#endif
