/* api.c — `sluiced api` (not built yet). */
#include "api/api.h"

#include <stdio.h>

int api_main(int argc, char **argv)
{
    fprintf(stderr, "sluiced api: not implemented yet\n");
    return 2;
}
