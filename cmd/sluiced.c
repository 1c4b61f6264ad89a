/* sluiced — the server binary: one executable, a subcommand per process role. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "common/migrate.h"
#include "controlplane/controlplane.h"
#include "dataplane/worker.h"

struct subcommand {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *help;
};

static const struct subcommand subcommands[] = {
    {"api", api_main, "HTTPS REST API server"},
    {"controlplane", controlplane_main, "reconciler: runs pipelines and connections as workers"},
    {"worker", worker_main, "dataplane worker (started by the controlplane)"},
    {"run", run_main, "run a pipeline file locally, no database needed"},
    {"migrate", migrate_main, "apply database migrations"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: sluiced <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(out, "  %-14s %s\n", subcommands[i].name, subcommands[i].help);
    fprintf(out, "\n`sluiced <command> --help` describes a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "sluiced: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return 2;
}
