/* migrate.h — entry point of `sluiced migrate`. */
#ifndef SLUICE_COMMON_MIGRATE_H
#define SLUICE_COMMON_MIGRATE_H

/* Runs the migrate command with its own argv (argv[0] is "migrate"); returns the exit status. */
int migrate_main(int argc, char **argv);

#endif
