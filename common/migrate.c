/* migrate.c — `sluiced migrate` (not built yet). */
#include "common/migrate.h"

#include <stdio.h>

int migrate_main(int argc, char **argv)
{
    fprintf(stderr, "sluiced migrate: not implemented yet\n");
    return 2;
}
