/* cli.c — the `sluice` command (being built: see issue 5). */
#include <stdio.h>
#include <string.h>

#include "sdk/sluice.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("sluice %s\n", sluice_version());
        return 0;
    }
    fprintf(stderr, "sluice: no commands yet\n");
    return 2;
}
