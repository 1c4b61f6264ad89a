/* worker.c — `sluiced worker` and `sluiced run` (not built yet). */
#include "dataplane/worker.h"

#include <stdio.h>

int worker_main(int argc, char **argv)
{
    fprintf(stderr, "sluiced worker: not implemented yet\n");
    return 2;
}

int run_main(int argc, char **argv)
{
    fprintf(stderr, "sluiced run: not implemented yet\n");
    return 2;
}
