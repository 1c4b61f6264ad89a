/* sluiced-worker — the dataplane worker alone, for the controlplane to exec: the same code as
 * `sluiced worker`, linked only against what the dataplane needs (jansson, libseccomp), so an
 * idle worker maps a fraction of the shared libraries the whole server needs. */
#include "dataplane/worker.h"

int main(int argc, char **argv) { return worker_main(argc, argv); }
