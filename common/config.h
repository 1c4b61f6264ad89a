/* config.h — process configuration from one options table: defaults, then a config file, then
 * SLUICE_* environment variables, then command-line flags (each overriding the one before).
 *
 * Each option is one row of the shared option type (common/options.h): a name ("database-url"),
 * its environment variable ("SLUICE_DATABASE_URL"), a type, its field in the caller's struct,
 * a default and bounds. The flag is --name VALUE or --name=VALUE; in the file, `name = value` lines
 * (dashes or underscores, '#' comments). The file comes from --config FILE or SLUICE_CONFIG.
 *
 * Ownership: string fields are malloc'd copies owned by the target struct; config_free()
 * releases them. */
#ifndef SLUICE_COMMON_CONFIG_H
#define SLUICE_COMMON_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "common/options.h"

/* The options are rows of common/options.h: OPTION_STRING (char *), OPTION_INT (long, within
 * [min, max]) and OPTION_BOOL (int: true/false, yes/no, on/off, 1/0), each with its env, its
 * field (OPTION_FIELD), its default and help. Bad values get the validator's messages
 * (option "port" must be a whole number from 1 to 65535, not "x"). */

/* Fills *target from the table. Returns 0, 1 when --help was given (nothing else is read),
 * or -1 with a message in err (unknown flag, missing value, bad number, unreadable file). */
int config_load(const struct option_row *options, size_t count, void *target, int argc, char **argv, char *err,
                size_t errlen);

/* Sets one option by name from text; -1 with err when unknown or invalid. */
int config_set(const struct option_row *options, size_t count, void *target, const char *name, const char *value,
               char *err, size_t errlen);

/* Frees the string fields of *target. */
void config_free(const struct option_row *options, size_t count, void *target);

/* Prints `usage: sluiced CMD [options]` and one line per option with env and default. */
void config_usage(FILE *out, const char *command, const struct option_row *options, size_t count);

/* The settings every server process shares: applies the log level and format, and checks that
 * a database URL is given. Returns 0, or -1 with a message in err. */
int config_apply_process(const char *log_level, const char *log_format, const char *database_url, char *err,
                         size_t errlen);

#endif
