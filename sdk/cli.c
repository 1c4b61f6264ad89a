/* cli.c — the `sluice` command: the option and command tables, parsing, help, resolution of
 * the API URL and credentials (flags, then environment, then the profile), error reporting
 * and exit codes. The commands themselves are in cli_commands.c. */
#include "sdk/cli.h"

#include <getopt.h> /* its struct option: the flags of getopt_long, not common/options.h's rows */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/options.h"
#include "sdk/cli_commands.h"
#include "sdk/cli_config.h"
#include "sdk/cli_output.h"
#include "sdk/cli_send.h"

/* ==== options ============================================================================ */

/* The flags, rows of the shared option type (common/options.h): the field of struct cli each
 * goes to, OPTION_GLOBAL when every command takes it, the one-letter form and the value's name
 * in help. A STRING field borrows argv's text; INT and DURATION are positive. */
static const char *const output_names[] = {"table", "json", "yaml", "name", NULL};

#define F(field) OPTION_FIELD(struct cli, field)
static const struct option_row option_rows[] = {
    {.name = "profile",
     .type = OPTION_STRING,
     .flags = OPTION_GLOBAL,
     F(profile),
     .arg = "NAME",
     .help = "profile in the config file (default: default, or $SLUICE_PROFILE)"},
    {.name = "api-url",
     .type = OPTION_STRING,
     .flags = OPTION_GLOBAL,
     F(api_url),
     .arg = "URL",
     .help = "API base URL, e.g. https://127.0.0.1:8443 ($SLUICE_API_URL)"},
    {.name = "api-key",
     .type = OPTION_STRING,
     .flags = OPTION_GLOBAL,
     F(api_key),
     .arg = "KEY",
     .help = "API key or login token ($SLUICE_API_KEY)"},
    {.name = "ca-file",
     .type = OPTION_STRING,
     .flags = OPTION_GLOBAL,
     F(ca_file),
     .arg = "FILE",
     .help = "PEM file of the CA that signed the server's certificate ($SLUICE_CA_FILE)"},
    {.name = "insecure",
     .type = OPTION_BOOL,
     .flags = OPTION_GLOBAL,
     F(insecure),
     .help = "do not verify the server's TLS certificate"},
    {.name = "timeout",
     .type = OPTION_DURATION,
     .flags = OPTION_GLOBAL,
     .min = 1,
     .max = LONG_MAX,
     F(timeout_ms),
     .arg = "DURATION",
     .help = "give up after this long: 500ms, 10s, 2m (default 30s; 60s for --wait)"},
    {.name = "output",
     .type = OPTION_ENUM,
     .flags = OPTION_GLOBAL,
     .short_name = 'o',
     .values = output_names,
     F(output),
     .arg = "FORMAT",
     .help = "table, json, yaml or name"},
    {.name = "help",
     .type = OPTION_BOOL,
     .flags = OPTION_GLOBAL,
     .short_name = 'h',
     F(help),
     .help = "show help for the command"},
    {.name = "name", .type = OPTION_STRING, F(name), .arg = "NAME", .help = "name of the resource"},
    {.name = "file",
     .type = OPTION_STRING,
     .short_name = 'f',
     F(file),
     .arg = "FILE",
     .help = "YAML or JSON file (- for stdin)"},
    {.name = "sql", .type = OPTION_STRING, F(sql), .arg = "SQL", .help = "SQL text"},
    {.name = "sql-file", .type = OPTION_STRING, F(sql_file), .arg = "FILE", .help = "file with the SQL text"},
    {.name = "description", .type = OPTION_STRING, F(description), .arg = "TEXT", .help = "description"},
    {.name = "value", .type = OPTION_STRING, F(value), .arg = "VALUE", .help = "secret value"},
    {.name = "tenant", .type = OPTION_STRING, F(tenant), .arg = "NAME", .help = "tenant (account) name"},
    {.name = "email", .type = OPTION_STRING, F(email), .arg = "EMAIL", .help = "user email"},
    {.name = "role",
     .type = OPTION_STRING,
     F(role),
     .arg = "ROLE",
     .help = "a user's role: owner, admin or member (default member)"},
    {.name = "password", .type = OPTION_STRING, F(password), .arg = "PASSWORD", .help = "password ($SLUICE_PASSWORD)"},
    {.name = "password-stdin", .type = OPTION_BOOL, F(password_stdin), .help = "read the password from stdin"},
    {.name = "dry-run", .type = OPTION_BOOL, F(dry_run), .help = "print what would change, change nothing"},
    {.name = "prune",
     .type = OPTION_BOOL,
     F(prune),
     .help = "delete streams, connections, pipelines, secrets and functions the file does not name"},
    {.name = "wait", .type = OPTION_BOOL, F(wait), .help = "wait until the resource reaches the state (see --timeout)"},
    {.name = "follow",
     .type = OPTION_BOOL,
     .short_name = 'f',
     F(follow),
     .help = "keep streaming new lines (for --timeout, else until interrupted)"},
    {.name = "from", .type = OPTION_STRING, F(from), .arg = "TIME", .help = "start of the period (RFC 3339)"},
    {.name = "to", .type = OPTION_STRING, F(to), .arg = "TIME", .help = "end of the period (RFC 3339)"},
    {.name = "group-by",
     .type = OPTION_STRING,
     F(group_by),
     .arg = "FIELD",
     .help = "group usage by: resource, minute, hour, day, total"},
    {.name = "limit",
     .type = OPTION_INT,
     .min = 1,
     .max = LONG_MAX,
     F(limit),
     .arg = "N",
     .help = "at most N records (preview) or entries (events, audit)"},
    {.name = "sample",
     .type = OPTION_INT,
     .min = 1,
     .max = 1000,
     F(sample),
     .arg = "N",
     .help = "check connection: sample N records of the source and propose a schema"},
    {.name = "save",
     .type = OPTION_BOOL,
     F(save),
     .help = "check connection: save the proposed schema on the connection's stream (samples 100 unless --sample)"},
    {.name = "start",
     .type = OPTION_STRING,
     F(start),
     .arg = "WHERE",
     .help = "preview from the earliest records or only new ones (latest)"},
};
#undef F
#define N_OPTIONS (sizeof option_rows / sizeof option_rows[0])

/* ==== commands =========================================================================== */

struct command {
    const char *name;
    int (*run)(struct cli *cli);
    int min_args, max_args;
    const char *usage;
    const char *help;
    const char *options; /* command options beyond the global ones, space separated */
};

static int run_help(struct cli *cli);
static int run_version(struct cli *cli);

#define KINDS "KIND is streams, connections, pipelines, secrets, functions, api-keys or users (named by email)."
static const struct command commands[] = {
    {"signup", cli_cmd_signup, 0, 0, "signup --api-url URL --tenant NAME --email EMAIL [--password P]",
     "Create an account (a tenant and its owner) and save its API key in the profile.",
     "tenant email password password-stdin"},
    {"login", cli_cmd_login, 0, 0, "login [--api-url URL] --email EMAIL [--password P]",
     "Log in with a password and save the token in the profile.", "email password password-stdin"},
    {"whoami", cli_cmd_whoami, 0, 0, "whoami", "Show the user and tenant of the credentials.", ""},
    {"get", cli_cmd_get, 1, 2, "get KIND [NAME]", "List the resources of a kind, or show one. " KINDS, ""},
    {"describe", cli_cmd_describe, 2, 2, "describe KIND NAME",
     "Show every field of a resource (YAML unless -o json); for a pipeline or connection also its "
     "status (desired and actual state, generation, last error), its tasks (state, pid, restarts, "
     "metrics, sandbox) and its last 10 events. " KINDS,
     ""},
    {"create", cli_cmd_create, 1, 1,
     "create KIND --name NAME [--sql-file FILE | --sql SQL | --value VALUE | -f SPEC]\n"
     "       create user --email EMAIL [--role ROLE] [--password P | --password-stdin]",
     "Create a resource: a pipeline from SQL, a secret from a value, an api-key (its key is "
     "shown once), a user of the tenant (with a first password), or any kind from a spec file "
     "(the API body without the name; a function's is {returns, source}).",
     "name file sql sql-file description value email role password password-stdin"},
    {"set-role", cli_cmd_set_role, 2, 2, "set-role EMAIL ROLE",
     "Give a user of the tenant another role: owner, admin or member (owner or admin only; only "
     "an owner handles the owner role).",
     ""},
    {"apply", cli_cmd_apply, 0, 0, "apply -f FILE [--dry-run] [--prune]",
     "Make the server match a file of resources (multi-document YAML or JSON with kind, "
     "metadata.name and spec): create what is missing, update what differs, leave the rest, and "
     "activate or deactivate connections and pipelines whose spec says desired_state: running or "
     "stopped. The whole file is checked first (kinds, names, fields, the streams and secrets it "
     "names); when any document has a problem, every problem is printed and nothing is changed. "
     "When the server refuses a change, the changes already made are undone.",
     "file dry-run prune"},
    {"delete", cli_cmd_delete, 2, 2, "delete KIND NAME", "Delete a resource. " KINDS, ""},
    {"activate", cli_cmd_activate, 2, 2, "activate KIND NAME [--wait]",
     "Start a pipeline or connection; --wait waits until it runs (or completes).", "wait"},
    {"deactivate", cli_cmd_deactivate, 2, 2, "deactivate KIND NAME [--wait]",
     "Stop a pipeline or connection; --wait waits until it has stopped.", "wait"},
    {"check", cli_cmd_check, 2, 2, "check connection NAME [--sample N] [--save]",
     "Connect with a connection's options and secrets, in the sandbox its tasks run in, reading and "
     "writing nothing; print whether its server is reachable, took the credentials and has the "
     "topic, queue, stream or table. Exit status 1 unless all three hold. --sample N reads a "
     "source's first N records and proposes a schema from them; --save saves it on the "
     "connection's stream (keeping its watermark and primary key).",
     "sample save"},
    {"logs", cli_cmd_logs, 2, 2, "logs KIND NAME [-f]",
     "Print the logs of a pipeline or connection; -f follows new lines.", "follow"},
    {"events", cli_cmd_events, 2, 2, "events KIND NAME [--limit N]",
     "List the task events of a pipeline or connection (claimed, started, exited, restarted, "
     "failed, ...): the newest N (default 50), oldest first, as TIME, EVENT, TASK, DETAIL.",
     "limit"},
    {"audit", cli_cmd_audit, 0, 0, "audit [--limit N]",
     "List the tenant's audit trail, newest first (owners and admins only): who changed which "
     "resource, when, with which request. The newest N entries (default 50).",
     "limit"},
    {"usage", cli_cmd_usage, 0, 0, "usage [--from TIME] [--to TIME] [--group-by FIELD]",
     "Show metered usage (task-hours, records, bytes) for a period.", "from to group-by"},
    {"preview", cli_cmd_preview, 0, 0, "preview (--sql SQL | --sql-file FILE) [--limit N] [--start earliest|latest]",
     "Run a query on live data for a few seconds or records and print the results.", "sql sql-file limit start"},
    {"explain", cli_cmd_explain, 1, 1, "explain FILE|-",
     "Show the plan of a pipeline's SQL (INSERT INTO ... SELECT ..., or a SELECT) read from FILE (-: "
     "stdin), compiled against your streams and functions as a pipeline create compiles it: each "
     "operator with its changelog mode (append-only or updating), its state and its key. Nothing runs.",
     ""},
    {"send", cli_cmd_send, 1, 1, "send CONNECTION [-f FILE]",
     "Send events to an active HTTP ingest connection (connector http, type source): one JSON "
     "object a line from FILE (- or none: stdin), in batches of 1000 lines, each written all or "
     "nothing. Prints what each batch wrote.",
     "file"},
    {"version", run_version, 0, 0, "version", "Print the version of the CLI and library.", ""},
    {"help", run_help, 0, 1, "help [COMMAND]", "Describe the commands, or one command.", ""},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static bool command_allows(const struct command *cmd, const struct option_row *o)
{
    if (o->flags & OPTION_GLOBAL)
        return true;
    size_t n = strlen(o->name);
    for (const char *p = cmd->options; (p = strstr(p, o->name)) != NULL; p += n)
        if ((p == cmd->options || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

static void print_overview(FILE *out)
{
    fprintf(out, "usage: sluice <command> [options]\n\n"
                 "The command line of Sluice, a managed stream-processing service.\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].usage);
    fprintf(out, "\n`sluice <command> --help` describes a command and its options.\n"
                 "Exit codes: 0 success, 1 error from the server, 2 usage error, 3 not found.\n");
}

static void print_command_help(FILE *out, const struct command *cmd)
{
    fprintf(out, "usage: sluice %s\n\n%s\n", cmd->usage, cmd->help);
    for (int pass = 0; pass < 2; pass++) {
        bool header = false;
        for (size_t i = 0; i < N_OPTIONS; i++) {
            const struct option_row *o = &option_rows[i];
            if (((o->flags & OPTION_GLOBAL) != 0) != (pass == 1) || !command_allows(cmd, o))
                continue;
            if (!header)
                fprintf(out, "\n%s:\n", pass ? "global options" : "options");
            header = true;
            char left[64];
            snprintf(left, sizeof left, "%c%c%c --%s%s%s", o->short_name ? '-' : ' ',
                     o->short_name ? o->short_name : ' ', o->short_name ? ',' : ' ', o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
            fprintf(out, "  %-28s %s\n", left, o->help);
        }
    }
}

static int run_help(struct cli *cli)
{
    if (cli->argc == 0) {
        print_overview(stdout);
        return CLI_OK;
    }
    const struct command *cmd = find_command(cli->argv[0]);
    if (!cmd)
        return cli_usage_error(cli, "unknown command \"%s\"", cli->argv[0]);
    print_command_help(stdout, cmd);
    return CLI_OK;
}

static int run_version(struct cli *cli)
{
    printf("sluice %s (libsluice %s)\n", sluice_version(), sluice_version());
    return CLI_OK;
}

/* ==== shared helpers ===================================================================== */

int cli_usage_error(const struct cli *cli, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sluice: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cli && cli->command)
        fprintf(stderr, "\nsee `sluice %s --help`\n", cli->command);
    else
        fprintf(stderr, "\nsee `sluice --help`\n");
    return CLI_USAGE;
}

/* The hint for a plan quota: names the quota (error.details "resource" and "limit") and how to
 * make room. Writes into buf. */
static const char *quota_hint(const struct sluice_error *err, char *buf, size_t cap)
{
    json_t *d = json_loads(err->details, 0, NULL);
    const char *what = json_string_value(json_object_get(d, "resource"));
    json_t *limit = json_object_get(d, "limit");
    char resource[64];
    snprintf(resource, sizeof resource, "%s", what ? what : "resources");
    for (char *p = resource; *p; p++)
        *p = *p == '_' ? ' ' : *p; /* "api_keys" -> "api keys" */
    char quota[128];
    if (json_is_integer(limit))
        snprintf(quota, sizeof quota, "the plan's quota of %lld %s", (long long)json_integer_value(limit), resource);
    else
        snprintf(quota, sizeof quota, "the plan's quota of %s", resource);
    const char *room = strcmp(resource, "running tasks") == 0
                           ? "deactivate pipelines or connections you do not need, or lower their task_count,"
                           : "delete some you no longer need";
    snprintf(buf, cap, "%s is used up: %s or change to a plan with more (the tenant's owner or the operator can)",
             quota, room);
    json_decref(d);
    return buf;
}

/* A hint per error code that has one. */
struct hint_row {
    enum sluice_code code;
    const char *hint; /* NULL: made by fn */
    const char *(*fn)(const struct sluice_error *err, char *buf, size_t cap);
};
static const struct hint_row hint_rows[] = {
    {SLUICE_E_UNAUTHENTICATED, "check the credentials: `sluice login`, --api-key or SLUICE_API_KEY", NULL},
    {SLUICE_E_FORBIDDEN, "the credentials' role does not allow this", NULL},
    {SLUICE_E_QUOTA_EXCEEDED, NULL, quota_hint},
    {SLUICE_E_PRECONDITION_FAILED, "the resource changed meanwhile; run the command again", NULL},
    {SLUICE_E_RATE_LIMITED, "too many requests; wait a little and retry", NULL},
    {SLUICE_E_NOT_ACTIVE, "activate it first: `sluice activate connections NAME`", NULL},
    {SLUICE_E_WRONG_CONNECTOR, "send to a connection created with connector http and type source", NULL},
};

int cli_report(const struct sluice_error *err)
{
    fprintf(stderr, "sluice: %s", err->message);
    if (err->code == SLUICE_E_INVALID_SQL && err->details[0] && !strstr(err->message, "line ")) {
        json_t *d = json_loads(err->details, 0, NULL);
        json_t *line = json_object_get(d, "line"), *col = json_object_get(d, "column");
        if (json_is_integer(line))
            fprintf(stderr, " (line %lld, column %lld)", (long long)json_integer_value(line),
                    (long long)json_integer_value(col));
        json_decref(d);
    }
    if (err->http_status)
        fprintf(stderr, " [%s, HTTP %d%s%s]", sluice_code_name(err->code), err->http_status,
                err->request_id[0] ? ", request id " : "", err->request_id);
    fprintf(stderr, "\n");
    char buf[512];
    for (size_t i = 0; i < sizeof hint_rows / sizeof hint_rows[0]; i++)
        if (hint_rows[i].code == err->code)
            fprintf(stderr, "hint: %s\n", hint_rows[i].fn ? hint_rows[i].fn(err, buf, sizeof buf) : hint_rows[i].hint);
    if (err->code == SLUICE_E_NOT_FOUND)
        return CLI_NOT_FOUND;
    if (err->code == SLUICE_E_ARGUMENT)
        return CLI_USAGE;
    return CLI_SERVER_ERROR;
}

long cli_timeout_ms(const struct cli *cli, long fallback_ms)
{
    return cli->timeout_ms > 0 ? cli->timeout_ms : fallback_ms;
}

/* The first of flag, environment and profile values that is set. */
static const char *pick(const char *flag, const char *env_name, const char *from_profile)
{
    const char *env = getenv(env_name);
    if (flag && *flag)
        return flag;
    if (env && *env)
        return env;
    return from_profile;
}

sluice_client *cli_client(struct cli *cli, int *code)
{
    if (cli->client)
        return cli->client;
    struct cli_profile p;
    char errbuf[512];
    if (cli_profile_load(cli->profile, &p, errbuf, sizeof errbuf) < 0) {
        fprintf(stderr, "sluice: %s\n", errbuf);
        *code = CLI_USAGE;
        return NULL;
    }
    /* the profile's strings stay alive with the cli */
    cli->owned[0] = p.api_url;
    cli->owned[1] = p.api_key;
    cli->owned[2] = p.ca_file;
    cli->api_url = pick(cli->api_url, "SLUICE_API_URL", p.api_url);
    cli->api_key = pick(cli->api_key, "SLUICE_API_KEY", p.api_key);
    cli->ca_file = pick(cli->ca_file, "SLUICE_CA_FILE", p.ca_file);
    cli->insecure = cli->insecure || p.insecure;
    if (!cli->api_url) {
        *code = cli_usage_error(cli,
                                "no API URL%s%s%s: pass --api-url, set SLUICE_API_URL, or sign up or log in "
                                "first (`sluice signup --api-url URL ...`, `sluice login --api-url URL ...`), "
                                "which saves it",
                                cli->profile ? " in profile \"" : "", cli->profile ? cli->profile : "",
                                cli->profile ? "\"" : "");
        return NULL;
    }
    long timeout = cli_timeout_ms(cli, 30000);
    struct sluice_options o = {
        .base_url = cli->api_url,
        .api_key = cli->anonymous ? NULL : cli->api_key,
        .ca_file = cli->ca_file,
        .insecure = cli->insecure,
        .timeout_ms = timeout,
        .connect_timeout_ms = timeout < 5000 ? timeout : 5000,
        .user_agent = "sluice-cli/0.1.0",
    };
    struct sluice_error err;
    cli->client = sluice_client_new(&o, &err);
    if (!cli->client) {
        *code = err.code == SLUICE_E_ARGUMENT ? cli_usage_error(cli, "%s", err.message) : cli_report(&err);
        return NULL;
    }
    return cli->client;
}

/* ==== parsing ============================================================================ */

static int set_option(struct cli *cli, const struct option_row *o, const char *arg)
{
    void *field = (char *)cli + o->offset;
    char *end;
    switch (o->type) {
    case OPTION_STRING:
        *(const char **)field = arg;
        return 0;
    case OPTION_BOOL:
        *(bool *)field = true;
        return 0;
    case OPTION_INT:
        *(long *)field = strtol(arg, &end, 10);
        if (*arg && *end == '\0' && *(long *)field >= o->min)
            return 0;
        return cli_usage_error(cli, "--%s needs a positive number, not \"%s\"", o->name, arg);
    case OPTION_DURATION:
        *(long *)field = option_duration_ms(arg);
        if (*(long *)field >= o->min)
            return 0;
        return cli_usage_error(cli, "--%s needs a duration such as 10s or 500ms, not \"%s\"", o->name, arg);
    case OPTION_ENUM: /* --output */
        cli->output_name = arg;
        if (cli_output_parse(arg, (enum cli_output *)field) == 0)
            return 0;
        return cli_usage_error(cli, "unknown output format \"%s\"; use table, json, yaml or name", arg);
    case OPTION_DOUBLE:
    case OPTION_SIZE:
        break;
    }
    return CLI_USAGE;
}

/* Parses argv[2..] for cmd into cli. Returns 0 or an exit code. */
static int parse_options(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
    struct option longopts[N_OPTIONS + 1];
    memset(longopts, 0, sizeof longopts);
    char shortopts[16] = "+";
    bool follow_f = false;
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const struct option_row *o = &option_rows[i];
        longopts[i] =
            (struct option){o->name, o->type == OPTION_BOOL ? no_argument : required_argument, NULL, 1000 + (int)i};
        if (o->short_name == 'f' && strcmp(o->name, "follow") == 0 && command_allows(cmd, o))
            follow_f = true;
    }
    strcpy(shortopts, follow_f ? "ho:f" : "ho:f:");
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        const struct option_row *o = NULL;
        if (c >= 1000) {
            o = &option_rows[c - 1000];
        } else if (c == 'h' || c == 'o' || c == 'f') {
            for (size_t i = 0; i < N_OPTIONS && !o; i++)
                if (option_rows[i].short_name == c &&
                    (c != 'f' || (strcmp(option_rows[i].name, "follow") == 0) == follow_f))
                    o = &option_rows[i];
        } else {
            const char *bad = argv[optind - 1];
            if (c == '?' && optopt && strchr("o", optopt))
                return cli_usage_error(cli, "-%c needs a value", optopt);
            return cli_usage_error(cli, "unknown option \"%s\" for %s", bad, cmd->name);
        }
        if (!command_allows(cmd, o))
            return cli_usage_error(cli, "%s does not take --%s", cmd->name, o->name);
        int rc = set_option(cli, o, optarg);
        if (rc)
            return rc;
    }
    cli->argc = argc - optind;
    cli->argv = argv + optind;
    return 0;
}

int main(int argc, char **argv)
{
    struct cli cli;
    memset(&cli, 0, sizeof cli);
    if (argc < 2) {
        print_overview(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_overview(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0)
        return run_version(&cli);
    const struct command *cmd = find_command(argv[1]);
    if (!cmd) {
        fprintf(stderr, "sluice: unknown command \"%s\"\n\n", argv[1]);
        print_overview(stderr);
        return CLI_USAGE;
    }
    cli.command = cmd->name;
    cli.profile = getenv("SLUICE_PROFILE");
    int rc = parse_options(&cli, cmd, argc - 1, argv + 1);
    if (rc)
        return rc;
    if (!cli.profile || !*cli.profile)
        cli.profile = "default";
    if (cli.help) {
        print_command_help(stdout, cmd);
        return CLI_OK;
    }
    if (cli.argc < cmd->min_args)
        return cli_usage_error(&cli, "missing arguments: sluice %s", cmd->usage);
    if (cli.argc > cmd->max_args)
        return cli_usage_error(&cli, "unexpected argument \"%s\"", cli.argv[cmd->max_args]);
    rc = cmd->run(&cli);
    sluice_client_free(cli.client);
    for (size_t i = 0; i < sizeof cli.owned / sizeof cli.owned[0]; i++)
        free(cli.owned[i]);
    return rc;
}
