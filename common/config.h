/* config.h — process configuration from one options table: defaults, then a config file, then
 * SLUICE_* environment variables, then command-line flags (each overriding the one before).
 *
 * Each option is one row: a name ("database-url"), its environment variable
 * ("SLUICE_DATABASE_URL"), a type, the offset of its field in the caller's struct, a default
 * and bounds. The flag is --name VALUE or --name=VALUE; in the file, `name = value` lines
 * (dashes or underscores, '#' comments). The file comes from --config FILE or SLUICE_CONFIG.
 *
 * Ownership: string fields are malloc'd copies owned by the target struct; config_free()
 * releases them. */
#ifndef SLUICE_COMMON_CONFIG_H
#define SLUICE_COMMON_CONFIG_H

#include <stddef.h>
#include <stdio.h>

enum config_type {
    CONFIG_STRING, /* char * */
    CONFIG_INT,    /* long, within [min, max] */
    CONFIG_BOOL,   /* int: true/false, yes/no, on/off, 1/0 */
};

struct config_option {
    const char *name; /* flag name without the dashes */
    const char *env;  /* environment variable, or NULL for none */
    enum config_type type;
    size_t offset;             /* offsetof(target struct, field) */
    const char *default_value; /* text, parsed like any other value; NULL: no default */
    long min, max;             /* CONFIG_INT bounds */
    const char *help;
};

/* Fills *target from the table. Returns 0, 1 when --help was given (nothing else is read),
 * or -1 with a message in err (unknown flag, missing value, bad number, unreadable file). */
int config_load(const struct config_option *options, size_t count, void *target, int argc, char **argv, char *err,
                size_t errlen);

/* Sets one option by name from text; -1 with err when unknown or invalid. */
int config_set(const struct config_option *options, size_t count, void *target, const char *name, const char *value,
               char *err, size_t errlen);

/* Frees the string fields of *target. */
void config_free(const struct config_option *options, size_t count, void *target);

/* Prints `usage: sluiced CMD [options]` and one line per option with env and default. */
void config_usage(FILE *out, const char *command, const struct config_option *options, size_t count);

/* The settings every server process shares: applies the log level and format, and checks that
 * a database URL is given. Returns 0, or -1 with a message in err. */
int config_apply_process(const char *log_level, const char *log_format, const char *database_url, char *err,
                         size_t errlen);

#endif
