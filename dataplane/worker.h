/* worker.h — entry points of `sluiced worker` and `sluiced run`. */
#ifndef SLUICE_DATAPLANE_WORKER_H
#define SLUICE_DATAPLANE_WORKER_H

#include <stdbool.h>
#include <stddef.h>

/* The connector a connection task can run called name: the stream backend it uses
 * (stream_backend_find, which also holds its option table) and the directions it supports;
 * -1 when there is no such connector. */
int worker_connector_find(const char *name, const char **backend, bool *source, bool *sink);
/* The name of connector i of the table above (0, 1, ...), or NULL past the last. */
const char *worker_connector_name(size_t i);

/* `sluiced worker`: runs one task for the controlplane; returns the exit status. */
int worker_main(int argc, char **argv);
/* `sluiced run FILE.sql`: runs a pipeline locally; returns the exit status. */
int run_main(int argc, char **argv);

#endif
