/* worker.h — entry points of `sluiced worker` and `sluiced run`. */
#ifndef SLUICE_DATAPLANE_WORKER_H
#define SLUICE_DATAPLANE_WORKER_H

/* `sluiced worker`: runs one task for the controlplane; returns the exit status. */
int worker_main(int argc, char **argv);
/* `sluiced run FILE.sql`: runs a pipeline locally; returns the exit status. */
int run_main(int argc, char **argv);

#endif
