/* migrate.h — `sluiced migrate`: applies migrations/NNNN_name.sql in order.
 *
 * Each file runs in its own transaction together with its row in schema_migrations (version,
 * name, applied_at); files already recorded are skipped, so running it again changes nothing.
 * A session advisory lock keeps two migrators from racing. */
#ifndef SLUICE_COMMON_MIGRATE_H
#define SLUICE_COMMON_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

/* Applies the pending migrations of dir over conn. Returns the number applied, or -1 with a
 * message in err. */
int migrate_apply(PGconn *conn, const char *dir, char *err, size_t errlen);

/* The migrations directory to use when none is configured: ./migrations when it exists, else
 * the one two levels above the running executable (build/rel/sluiced). Writes into out. */
void migrate_default_dir(char *out, size_t outlen);

/* Runs the migrate command with its own argv (argv[0] is "migrate"); returns the exit status. */
int migrate_main(int argc, char **argv);

#endif
