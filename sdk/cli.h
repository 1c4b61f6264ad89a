/* cli.h — what the modules of the `sluice` command share: the parsed command line, the exit
 * codes, error reporting and the lazily created client. Implemented in cli.c (with main). */
#ifndef SLUICE_SDK_CLI_H
#define SLUICE_SDK_CLI_H

#include <stdbool.h>

#include "sdk/sluice.h"

/* Exit codes of every command. */
enum cli_exit {
    CLI_OK = 0,
    CLI_SERVER_ERROR = 1, /* the server said no, or could not be reached */
    CLI_USAGE = 2,        /* bad command line or input file */
    CLI_NOT_FOUND = 3,    /* the named resource does not exist */
};

enum cli_output { CLI_OUT_TABLE = 0, CLI_OUT_JSON, CLI_OUT_YAML, CLI_OUT_NAME };

/* The command line, parsed. Strings are borrowed from argv or the environment, except those
 * filled from the profile, which live as long as the struct (freed by main). */
struct cli {
    const char *command;
    /* connection: flags, then environment, then the profile */
    const char *profile, *api_url, *api_key, *ca_file;
    bool insecure;
    bool anonymous;  /* send no credentials (signup, login) */
    long timeout_ms; /* 0: the default (30 s per call, 60 s for --wait) */
    enum cli_output output;
    const char *output_name;
    /* command options */
    const char *name, *file, *sql, *sql_file, *description, *tenant, *email, *password, *value;
    const char *from, *to, *group_by;
    const char *role;  /* create user, set-role */
    const char *start; /* preview: earliest | latest (NULL: the server's default, latest) */
    bool follow, wait, dry_run, prune, help, password_stdin;
    bool save;   /* check connection: save the proposed schema on the connection's stream */
    long sample; /* check connection: records to sample for a proposed schema (0: none) */
    long limit;
    /* positional arguments after the command */
    int argc;
    char **argv;
    /* state */
    sluice_client *client;
    char *owned[8]; /* strings read from the profile */
};

/* The client for the resolved URL and credentials, created on first use (NULL with a message
 * printed when no URL is known or the options are bad; *code then holds the exit code). */
sluice_client *cli_client(struct cli *cli, int *code);

/* Prints err as "sluice: message (code, HTTP n, request id r)" with hints, and returns the exit
 * code for it: 3 for not found, 2 for local argument errors, 1 otherwise. */
int cli_report(const struct sluice_error *err);

/* Prints "sluice: <message>" and a pointer to --help for the command; returns CLI_USAGE. */
int cli_usage_error(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Timeout for one call or wait, in milliseconds: --timeout when given, else fallback_ms. */
long cli_timeout_ms(const struct cli *cli, long fallback_ms);

#endif
