/* controlplane.c — `sluiced controlplane` (not built yet). */
#include "controlplane/controlplane.h"

#include <stdio.h>

int controlplane_main(int argc, char **argv)
{
    fprintf(stderr, "sluiced controlplane: not implemented yet\n");
    return 2;
}
