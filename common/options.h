/* options.h — one row type for every table of options, and the one validator they share.
 *
 * Like librdkafka's property table and Redis's config table, an option is one row: its name,
 * its type, a default, bounds, the values it may take, whether it is required, a help line,
 * and (for options read into a struct) the field it goes to. The connectors' options
 * (`WITH (...)` in SQL, a connection's properties), checked by the API when a connection is
 * created and by the worker that runs it, and the server processes' flags and config file
 * (common/config.h) are such tables. Adding an option is adding a row.
 *
 * Messages name the table's owner and the option, and say what it may be:
 *   unknown webhook option "colour" (options: url, method, ...)
 *   webhook option "batch.size" must be a whole number from 1 to 10000, not "lots"
 *   webhook option "method" must be POST | PUT, not "GET"
 *   a webhook connection needs the property "url"
 * (without an owner: option "port" must be ...).
 *
 * Ownership: tables and their texts are borrowed (static data); string fields filled by
 * option_table_apply are malloc'd copies owned by the target, freed by option_table_free. */
#ifndef SLUICE_COMMON_OPTIONS_H
#define SLUICE_COMMON_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

enum option_type {
    OPTION_STRING,   /* any text; stored as char * (a malloc'd copy) */
    OPTION_INT,      /* a whole number within [min, max]; stored as an 8-, 4- or 1-byte integer */
    OPTION_BOOL,     /* true/false, yes/no, on/off, 1/0; stored as int or bool (by the field's size) */
    OPTION_DOUBLE,   /* a finite decimal number, at least min; stored as double */
    OPTION_ENUM,     /* one of values; stored as int (or a 1-byte integer), its index in values */
    OPTION_DURATION, /* "500ms", "10s", "2m", "1h" or plain seconds; stored as milliseconds (long),
                        within [min, max] */
    OPTION_SIZE,     /* "128MB", "64 kb", "1gb" or plain bytes (powers of 1024); stored as bytes, within
                        [min, max] */
};

#define OPTION_REQUIRED 1u /* must be given, and not empty */
#define OPTION_PREFIX 2u   /* name is a prefix ("headers."): every longer key that starts so */
#define OPTION_HIDDEN 4u   /* accepted but not listed (the "connector" key of a WITH clause) */
#define OPTION_GLOBAL 8u   /* a command-line flag every command of a tool takes (the sluice CLI) */

struct option_row {
    const char *name;
    enum option_type type;
    unsigned flags;            /* OPTION_REQUIRED | OPTION_PREFIX | OPTION_HIDDEN | OPTION_GLOBAL */
    const char *def;           /* the default as text, parsed like any value; NULL: none */
    long min, max;             /* OPTION_INT bounds; OPTION_DOUBLE: min is the lower bound */
    const char *const *values; /* OPTION_ENUM: the allowed values, NULL-terminated */
    const char *help;
    const char *env;     /* process options: the environment variable that sets it, or NULL */
    int short_name;      /* command-line flags: the one-letter form (-o), or 0 */
    const char *arg;     /* command-line flags: the value's name in help ("FILE"); NULL: none */
    size_t offset, size; /* where option_table_apply stores it (OPTION_FIELD); size 0: nowhere */
};

/* The field of struct type that an option goes to: OPTION_FIELD(struct webhook_writer, retry_max). */
#define OPTION_FIELD(type, member) .offset = offsetof(type, member), .size = sizeof(((type *)0)->member)

struct option_table {
    const char *owner; /* named in messages ("webhook"); NULL: none */
    const struct option_row *rows;
    size_t n;
};

/* A table of the static array rows, owned by owner. */
#define OPTION_TABLE(owner_name, rows_array)                                                                           \
    {                                                                                                                  \
        .owner = owner_name, .rows = rows_array, .n = sizeof rows_array / sizeof rows_array[0]                         \
    }

/* Where option_table_apply and option_check_required read values: the value of name, or NULL
 * when not given. */
typedef const char *(*option_get_fn)(void *ctx, const char *name);

/* The row of key (an exact name, else a prefix row that key extends), or NULL. */
const struct option_row *option_find(const struct option_table *t, const char *key);

/* Checks one key and its value: -1 with a message in err when the key is unknown or the value
 * does not fit its row (ill-typed, out of bounds, not an allowed value); value NULL checks only
 * that the key is known (a secret's value, not seen). */
int option_check(const struct option_table *t, const char *key, const char *value, char *err, size_t errlen);

/* Checks that every required option has a non-empty value from get; -1 with a message naming
 * the first that does not, and its row in *missing (when missing is not NULL). */
int option_check_required(const struct option_table *t, option_get_fn get, void *ctx, const struct option_row **missing,
                          char *err, size_t errlen);

/* For every row with a value from get, or else a default: checks the value and, when the row has
 * a field, stores it into target. Keys not in the table are not looked at. -1 with err on the
 * first bad value. */
int option_table_apply(const struct option_table *t, option_get_fn get, void *ctx, void *target, char *err,
                       size_t errlen);

/* Stores value (checked against row o) into o's field of target; -1 with err when it does not fit. */
int option_store(const struct option_table *t, const struct option_row *o, const char *value, void *target, char *err,
                 size_t errlen);

/* Frees the string fields of target that the table stores, and sets them to NULL. */
void option_table_free(const struct option_table *t, void *target);

/* text as an OPTION_DURATION ("500ms", "10s", "2m", "1h" or plain seconds; Flink's "1 min",
 * "30 sec", "2 hours", "1 d" too) in milliseconds;
 * -1 when malformed or negative. */
long option_duration_ms(const char *text);

/* text as an OPTION_SIZE ("128MB", "64 kb", "1 GiB" or plain bytes; units of 1024) in bytes; -1
 * when malformed or negative. */
long long option_size_bytes(const char *text);

/* "a, b, c*" — the names of the rows not hidden (prefixes with a *) into out. */
void option_names(const struct option_table *t, char *out, size_t outlen);

#endif
