/* cli_commands.c — what each `sluice` command does (see cli_commands.h): accounts, reading and
 * changing resources, apply, activation, logs, usage and preview, on top of libsluice. */
#include "sdk/cli_commands.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "sdk/cli_apply.h"
#include "sdk/cli_config.h"
#include "sdk/cli_output.h"
#include "sdk/cli_spec.h"

/* ==== helpers ============================================================================ */

/* KIND argument; prints the usage error when unknown. */
static int parse_kind(struct cli *cli, const char *word, enum sluice_kind *kind)
{
    if (sluice_kind_parse(word, kind) == 0)
        return 0;
    return cli_usage_error(cli,
                           "unknown kind \"%s\"; expected streams, connections, pipelines, "
                           "secrets, functions, api-keys or users",
                           word);
}

/* Finds argv[1] of kind argv[0]: *out a new reference. Returns 0 or an exit code. */
static int find_named(struct cli *cli, enum sluice_kind *kind, json_t **out)
{
    int code = parse_kind(cli, cli->argv[0], kind);
    if (code)
        return code;
    sluice_client *c = cli_client(cli, &code);
    if (!c)
        return code;
    struct sluice_error err;
    if (sluice_find(c, *kind, cli->argv[1], out, &err) < 0)
        return cli_report(&err);
    return 0;
}

static int need_runnable(struct cli *cli, const char *what);

/* What a command does to the resource named by its arguments (borrowed; id is its id). */
typedef int (*named_fn)(struct cli *cli, enum sluice_kind kind, json_t *one, const char *id);

/* Finds the resource named by KIND NAME and runs fn on it. Returns fn's exit code. */
static int with_named(struct cli *cli, named_fn fn)
{
    enum sluice_kind kind;
    json_t *one = NULL;
    int code = find_named(cli, &kind, &one);
    if (code)
        return code;
    code = fn(cli, kind, one, json_string_value(json_object_get(one, "id")));
    json_decref(one);
    return code;
}

/* The password from --password, $SLUICE_PASSWORD or (with --password-stdin, or when neither
 * is given) one line of stdin, prompted for without echo on a terminal. Returns a malloc'd
 * string or NULL. */
static char *get_password(const struct cli *cli)
{
    if (cli->password)
        return strdup(cli->password);
    const char *env = getenv("SLUICE_PASSWORD");
    if (env && !cli->password_stdin)
        return strdup(env);
    char *line = NULL;
    size_t cap = 0;
    struct termios saved, quiet;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (tty) { /* prompt without echo */
        fprintf(stderr, "password: ");
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    ssize_t n = getline(&line, &cap, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fprintf(stderr, "\n");
    }
    if (n <= 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

/* Saves url and credentials in the profile; prints where. A relative --ca-file is saved as
 * its absolute path, so the profile works from any directory (`--ca-file var/tls/cert.pem`
 * given in the server's checkout, then `sluice get pipelines` anywhere else). */
static int save_profile(struct cli *cli, const char *key)
{
    char *ca_abs = cli->ca_file && cli->ca_file[0] != '/' ? realpath(cli->ca_file, NULL) : NULL;
    struct cli_profile p = {
        .api_url = (char *)cli->api_url,
        .api_key = (char *)key,
        .ca_file = ca_abs ? ca_abs : (char *)cli->ca_file,
        .insecure = cli->insecure,
    };
    char errbuf[512], path[4096];
    int saved = cli_profile_save(cli->profile, &p, errbuf, sizeof errbuf);
    free(ca_abs);
    if (saved < 0) {
        fprintf(stderr, "sluice: %s\n", errbuf);
        return CLI_USAGE;
    }
    if (cli->output == CLI_OUT_TABLE && cli_config_path(path, sizeof path) == 0)
        printf("credentials saved in profile \"%s\" (%s)\n", cli->profile, path);
    return CLI_OK;
}

/* ==== accounts =========================================================================== */

/* Signs up or logs in (anonymously), prints the outcome and saves the credential it returns
 * in the profile. */
static int account(struct cli *cli, bool signup)
{
    if (!cli->email || (signup && !cli->tenant))
        return cli_usage_error(cli, signup ? "signup needs --tenant and --email" : "login needs --email");
    char *password = get_password(cli);
    if (!password)
        return cli_usage_error(cli, "no password: pass --password, set SLUICE_PASSWORD or use "
                                    "--password-stdin");
    cli->anonymous = true; /* signing up or logging in needs no credentials: send none */
    int code;
    sluice_client *c = cli_client(cli, &code);
    json_t *out = NULL;
    struct sluice_error err;
    if (!c)
        goto done;
    int rc = signup ? sluice_signup(c, cli->tenant, cli->email, password, &out, &err)
                    : sluice_login(c, cli->email, password, &out, &err);
    if (rc < 0) {
        code = cli_report(&err);
        goto done;
    }
    /* signup answers the new API key, login a token */
    json_t *credential =
        signup ? json_object_get(json_object_get(out, "api_key"), "key") : json_object_get(out, "token");
    if (!json_is_string(credential)) {
        fprintf(stderr, "sluice: the server's answer has no %s\n", signup ? "api_key.key" : "token");
        code = CLI_SERVER_ERROR;
        goto done;
    }
    const char *expires = json_string_value(json_object_get(out, "expires_at"));
    if (cli->output != CLI_OUT_TABLE)
        cli_print_value(out, cli->output);
    else if (signup)
        printf("tenant \"%s\" created; signed in as %s\n", cli->tenant, cli->email);
    else
        printf("logged in as %s%s%s\n", cli->email, expires ? "; the token expires at " : "", expires ? expires : "");
    code = save_profile(cli, json_string_value(credential));
done:
    json_decref(out);
    free(password);
    return code;
}

int cli_cmd_signup(struct cli *cli) { return account(cli, true); }
int cli_cmd_login(struct cli *cli) { return account(cli, false); }

int cli_cmd_whoami(struct cli *cli)
{
    int code;
    sluice_client *c = cli_client(cli, &code);
    if (!c)
        return code;
    json_t *out;
    struct sluice_error err;
    if (sluice_me(c, &out, &err) < 0)
        return cli_report(&err);
    cli_print_value(out, cli->output == CLI_OUT_JSON ? CLI_OUT_JSON : CLI_OUT_YAML);
    json_decref(out);
    return CLI_OK;
}

/* ==== reading ============================================================================ */

int cli_cmd_get(struct cli *cli)
{
    enum sluice_kind kind;
    json_t *one = NULL;
    if (cli->argc == 2) {
        int code = find_named(cli, &kind, &one);
        if (code)
            return code;
        if (cli->output == CLI_OUT_JSON || cli->output == CLI_OUT_YAML) {
            cli_print_value(one, cli->output);
        } else {
            json_t *items = json_pack("[O]", one);
            cli_print_resources(kind, items, cli->output);
            json_decref(items);
        }
        json_decref(one);
        return CLI_OK;
    }
    int code = parse_kind(cli, cli->argv[0], &kind);
    if (code)
        return code;
    sluice_client *c = cli_client(cli, &code);
    if (!c)
        return code;
    json_t *items = json_array(), *item;
    struct sluice_error err;
    sluice_list *list = sluice_list_new(c, kind, NULL, 100);
    int r;
    while ((r = sluice_list_next(list, &item, &err)) == 1)
        json_array_append(items, item);
    sluice_list_free(list);
    if (r < 0) {
        json_decref(items);
        return cli_report(&err);
    }
    if (json_array_size(items) == 0 && cli->output == CLI_OUT_TABLE)
        fprintf(stderr, "no %s\n", sluice_kind_collection(kind));
    else
        cli_print_resources(kind, items, cli->output);
    json_decref(items);
    return CLI_OK;
}

/* ==== events, status and describe ======================================================== */

/* The newest n task events of a pipeline or connection, oldest first: pages through the
 * events (the API lists them from the oldest) keeping the last n. *out: a new array. */
static int last_events(sluice_client *c, enum sluice_kind kind, const char *id, size_t n, json_t **out,
                       struct sluice_error *err)
{
    enum { PAGE = 1000 };
    json_t *kept = json_array();
    long long since = 0;
    for (;;) {
        json_t *page = NULL;
        if (sluice_events(c, kind, id, since, PAGE, &page, err) < 0) {
            json_decref(kept);
            return -1;
        }
        json_t *items = json_object_get(page, "items"), *item;
        size_t i;
        json_array_foreach(items, i, item)
        {
            json_array_append(kept, item);
            since = json_integer_value(json_object_get(item, "id"));
        }
        while (json_array_size(kept) > n)
            json_array_remove(kept, 0);
        size_t got = json_array_size(items);
        json_decref(page);
        if (got < PAGE || since <= 0)
            break;
    }
    *out = kept;
    return 0;
}

/* The first 8 characters of an id (enough to tell a resource's tasks apart), into buf[16]. */
static const char *short_id(const char *id, char *buf)
{
    snprintf(buf, 16, "%.8s", id ? id : "-");
    return buf;
}

/* Events as table rows: TIME, EVENT, TASK, DETAIL (the message, and the restarts so far). */
static json_t *event_rows(json_t *events)
{
    json_t *rows = json_array(), *e;
    size_t i;
    json_array_foreach(events, i, e)
    {
        char task[16], *detail = NULL;
        const char *message = json_string_value(json_object_get(e, "message"));
        json_int_t restarts = json_integer_value(json_object_get(e, "restarts"));
        if (restarts > 0 && asprintf(&detail, "%s%s(restarts: %lld)", message ? message : "",
                                     message && *message ? " " : "", (long long)restarts) < 0)
            detail = NULL;
        json_array_append_new(rows,
                              json_pack("{s:O?, s:O?, s:s, s:s}", "time", json_object_get(e, "ts"), "event",
                                        json_object_get(e, "event"), "task",
                                        short_id(json_string_value(json_object_get(e, "task_id")), task), "detail",
                                        detail    ? detail
                                        : message ? message
                                                  : ""));
        free(detail);
    }
    return rows;
}

static int events_named(struct cli *cli, enum sluice_kind kind, json_t *one, const char *id)
{
    json_t *events = NULL;
    struct sluice_error err;
    if (last_events(cli->client, kind, id, cli->limit > 0 ? (size_t)cli->limit : 50, &events, &err) < 0)
        return cli_report(&err);
    if (cli->output == CLI_OUT_JSON || cli->output == CLI_OUT_YAML) {
        cli_print_value(events, cli->output);
    } else if (json_array_size(events) == 0) {
        fprintf(stderr, "no events for %s/%s\n", sluice_kind_name(kind), cli->argv[1]);
    } else {
        json_t *rows = event_rows(events);
        cli_print_rows(rows, CLI_OUT_TABLE);
        json_decref(rows);
    }
    json_decref(events);
    return CLI_OK;
}

int cli_cmd_events(struct cli *cli)
{
    int code = need_runnable(cli, "have events");
    return code ? code : with_named(cli, events_named);
}

/* "k=v, k=v" of an object's members (nested values as compact JSON); a string as it is. */
static char *inline_text(json_t *v)
{
    if (!v || json_is_null(v))
        return strdup("-");
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (!json_is_object(v))
        return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    const char *key;
    json_t *item;
    bool first = true;
    json_object_foreach(v, key, item)
    {
        char *value =
            json_is_string(item) ? strdup(json_string_value(item)) : json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);
        fprintf(f, "%s%s=%s", first ? "" : ", ", key, value ? value : "?");
        free(value);
        first = false;
    }
    fclose(f);
    return text;
}

/* What describe prints after the resource for a pipeline or connection: state, tasks (with
 * their metrics and sandbox reports) and the last events. */
static void print_status(json_t *status, json_t *events)
{
    const char *last_error = json_string_value(json_object_get(status, "last_error"));
    json_t *tp = json_object_get(status, "throughput");
    printf("\nStatus:\n");
    printf("  desired state:  %s\n", json_string_value(json_object_get(status, "desired_state")));
    printf("  actual state:   %s\n", json_string_value(json_object_get(status, "actual_state")));
    printf("  generation:     %lld (observed %lld)\n",
           (long long)json_integer_value(json_object_get(status, "generation")),
           (long long)json_integer_value(json_object_get(status, "observed_generation")));
    printf("  last error:     %s\n", last_error ? last_error : "-");
    printf("  throughput:     %.1f records/s in, %.1f records/s out\n",
           json_number_value(json_object_get(tp, "records_in_per_second")),
           json_number_value(json_object_get(tp, "records_out_per_second")));
    printf("  lag:            %lld\n  errors:         %lld\n",
           (long long)json_integer_value(json_object_get(status, "lag")),
           (long long)json_integer_value(json_object_get(status, "errors")));
    printf("  state:          %lld bytes\n", (long long)json_integer_value(json_object_get(status, "state_bytes")));
    json_t *tasks = json_object_get(status, "tasks"), *t;
    size_t i;
    printf("\nTasks:\n");
    if (json_array_size(tasks) == 0)
        printf("  none running\n");
    json_t *rows = json_array();
    json_array_foreach(tasks, i, t)
    {
        char id[16], *metrics = inline_text(json_object_get(t, "metrics"));
        json_array_append_new(rows, json_pack("{s:O?, s:s, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:s?}", "index",
                                              json_object_get(t, "index"), "task",
                                              short_id(json_string_value(json_object_get(t, "id")), id), "state",
                                              json_object_get(t, "state"), "pid", json_object_get(t, "pid"), "restarts",
                                              json_object_get(t, "restarts"), "node", json_object_get(t, "node"),
                                              "heartbeat", json_object_get(t, "heartbeat_at"), "state_bytes",
                                              json_object_get(t, "state_bytes"), "metrics", metrics));
        free(metrics);
    }
    if (json_array_size(rows) > 0)
        cli_print_rows(rows, CLI_OUT_TABLE);
    json_decref(rows);
    json_array_foreach(tasks, i, t)
    {
        char id[16], *sandbox = inline_text(json_object_get(t, "sandbox"));
        const char *task_error = json_string_value(json_object_get(t, "last_error"));
        printf("  task %s sandbox: %s\n", short_id(json_string_value(json_object_get(t, "id")), id),
               sandbox ? sandbox : "-");
        if (task_error)
            printf("  task %s last error: %s\n", id, task_error);
        free(sandbox);
    }
    if (json_array_size(events) == 0)
        printf("\nEvents:\n  none\n");
    else
        printf("\nEvents (the last %zu):\n", json_array_size(events));
    rows = event_rows(events);
    if (json_array_size(rows) > 0)
        cli_print_rows(rows, CLI_OUT_TABLE);
    json_decref(rows);
}

#define DESCRIBE_EVENTS 10

static int describe_named(struct cli *cli, enum sluice_kind kind, json_t *one, const char *id)
{
    json_t *status = NULL, *events = NULL;
    struct sluice_error err;
    if (sluice_kind_runnable(kind) && (sluice_status(cli->client, kind, id, &status, &err) < 0 ||
                                       last_events(cli->client, kind, id, DESCRIBE_EVENTS, &events, &err) < 0)) {
        json_decref(status);
        return cli_report(&err);
    }
    if (cli->output == CLI_OUT_JSON || cli->output == CLI_OUT_YAML) {
        json_t *all = json_deep_copy(one); /* the resource, then its status and events */
        if (status)
            json_object_set(all, "status", status);
        if (events)
            json_object_set(all, "events", events);
        cli_print_value(all, cli->output);
        json_decref(all);
    } else {
        cli_print_value(one, CLI_OUT_YAML);
        if (status) {
            fflush(stdout);
            print_status(status, events);
        }
    }
    json_decref(status);
    json_decref(events);
    return CLI_OK;
}

int cli_cmd_describe(struct cli *cli) { return with_named(cli, describe_named); }

/* ==== the audit trail ==================================================================== */

/* "kind/name" of an audit row's resource, looked up once per resource (cache: label by
 * "kind/id"); "kind/<id>" when it is gone or is not a kind the CLI knows. New string. */
static char *audit_resource(sluice_client *c, json_t *cache, const char *kind_name, const char *id)
{
    char *key = NULL;
    if (asprintf(&key, "%s/%s", kind_name ? kind_name : "?", id ? id : "-") < 0)
        return NULL;
    const char *cached = json_string_value(json_object_get(cache, key));
    if (cached) {
        free(key);
        return strdup(cached);
    }
    char word[64];
    snprintf(word, sizeof word, "%s", kind_name ? kind_name : "");
    for (char *p = word; *p; p++)
        *p = *p == '_' ? '-' : *p; /* the API's "api_key" is the CLI's "api-key" */
    enum sluice_kind kind;
    json_t *one = NULL;
    struct sluice_error err;
    const char *name = NULL;
    if (id && sluice_kind_parse(word, &kind) == 0 && kind != SLUICE_KIND_USER && kind != SLUICE_KIND_API_KEY &&
        sluice_get(c, kind, id, &one, &err) == 0) /* users and keys have no GET by id: audit_names has them */
        name = json_string_value(json_object_get(one, kind == SLUICE_KIND_USER ? "email" : "name"));
    char *label = NULL;
    if (name && asprintf(&label, "%s/%s", kind_name, name) < 0)
        label = NULL;
    json_object_set_new(cache, key, json_string(label ? label : key));
    json_decref(one);
    if (!label)
        return key;
    free(key);
    return label;
}

/* Fills the cache of audit_resource with what has no GET by id: the tenant, its users (by
 * email) and its API keys. Best effort: what cannot be listed stays an id. */
static void audit_names(sluice_client *c, json_t *cache)
{
    struct sluice_error err;
    json_t *me = NULL, *item;
    if (sluice_me(c, &me, &err) == 0) {
        json_t *tenant = json_object_get(me, "tenant");
        const char *id = json_string_value(json_object_get(tenant, "id"));
        const char *name = json_string_value(json_object_get(tenant, "name"));
        char *key = NULL, *label = NULL;
        if (id && name && asprintf(&key, "tenant/%s", id) >= 0 && asprintf(&label, "tenant/%s", name) >= 0)
            json_object_set_new(cache, key, json_string(label));
        free(key);
        free(label);
    }
    json_decref(me);
    static const struct {
        enum sluice_kind kind;
        const char *api_kind, *field;
    } lists[] = {{SLUICE_KIND_USER, "user", "email"}, {SLUICE_KIND_API_KEY, "api_key", "name"}};
    for (size_t k = 0; k < sizeof lists / sizeof lists[0]; k++) {
        sluice_list *list = sluice_list_new(c, lists[k].kind, NULL, 100);
        while (sluice_list_next(list, &item, &err) == 1) {
            const char *id = json_string_value(json_object_get(item, "id"));
            const char *name = json_string_value(json_object_get(item, lists[k].field));
            char *key = NULL, *label = NULL;
            if (id && name && asprintf(&key, "%s/%s", lists[k].api_kind, id) >= 0 &&
                asprintf(&label, "%s/%s", lists[k].api_kind, name) >= 0)
                json_object_set_new(cache, key, json_string(label));
            free(key);
            free(label);
        }
        sluice_list_free(list);
    }
}

int cli_cmd_audit(struct cli *cli)
{
    int code;
    sluice_client *c = cli_client(cli, &code);
    if (!c)
        return code;
    size_t want = cli->limit > 0 ? (size_t)cli->limit : 50;
    json_t *items = json_array();
    char *cursor = NULL;
    struct sluice_error err;
    code = CLI_OK;
    while (json_array_size(items) < want) {
        size_t left = want - json_array_size(items);
        json_t *page = NULL;
        if (sluice_audit_events(c, cursor, left > 200 ? 200 : (int)left, &page, &err) < 0) {
            code = cli_report(&err);
            break;
        }
        json_t *item;
        size_t i;
        json_array_foreach(json_object_get(page, "items"), i, item)
        {
            if (json_array_size(items) < want)
                json_array_append(items, item);
        }
        const char *next = json_string_value(json_object_get(page, "next_cursor"));
        free(cursor);
        cursor = next && *next ? strdup(next) : NULL;
        json_decref(page);
        if (!cursor)
            break;
    }
    free(cursor);
    if (code == CLI_OK) {
        /* each row gets "resource" (kind/name) and "by" (the user's email) */
        json_t *cache = json_object(), *item;
        size_t i;
        if (json_array_size(items) > 0)
            audit_names(c, cache);
        json_array_foreach(items, i, item)
        {
            char *resource = audit_resource(c, cache, json_string_value(json_object_get(item, "resource_kind")),
                                            json_string_value(json_object_get(item, "resource_id")));
            const char *user = json_string_value(json_object_get(item, "user_id"));
            const char *key = json_string_value(json_object_get(item, "api_key_id"));
            char *by = user ? audit_resource(c, cache, "user", user) : NULL;
            char *via = key ? audit_resource(c, cache, "api_key", key) : NULL;
            json_object_set_new(item, "resource", resource ? json_string(resource) : json_null());
            /* the user's email, the key's name: the part after "kind/" */
            json_object_set_new(item, "by", by ? json_string(strchr(by, '/') + 1) : json_null());
            json_object_set_new(item, "via", via ? json_string(strchr(via, '/') + 1) : json_null());
            free(resource);
            free(by);
            free(via);
        }
        json_decref(cache);
        if (cli->output == CLI_OUT_JSON || cli->output == CLI_OUT_YAML) {
            cli_print_value(items, cli->output);
        } else if (json_array_size(items) == 0) {
            fprintf(stderr, "no audit events\n");
        } else {
            json_t *rows = json_array();
            json_array_foreach(items, i, item)
            {
                json_array_append_new(
                    rows, json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?}", "time", json_object_get(item, "ts"),
                                    "action", json_object_get(item, "action"), "resource",
                                    json_object_get(item, "resource"), "by", json_object_get(item, "by"), "api_key",
                                    json_object_get(item, "via"), "request", json_object_get(item, "request_id")));
            }
            cli_print_rows(rows, CLI_OUT_TABLE);
            json_decref(rows);
        }
    }
    json_decref(items);
    return code;
}

/* ==== changing =========================================================================== */

/* A user's create body: --email, the password (--password, $SLUICE_PASSWORD or stdin) and
 * --role; NULL after printing why (code set). */
static json_t *user_body(struct cli *cli, int *code)
{
    *code = CLI_USAGE;
    if (!cli->email) {
        cli_usage_error(cli, "create user needs --email");
        return NULL;
    }
    char *password = get_password(cli);
    if (!password) {
        cli_usage_error(cli, "no password: pass --password, set SLUICE_PASSWORD or use --password-stdin");
        return NULL;
    }
    json_t *body = json_pack("{s:s, s:s}", "email", cli->email, "password", password);
    free(password);
    if (cli->role)
        json_object_set_new(body, "role", json_string(cli->role));
    *code = CLI_OK;
    return body;
}

/* The create body for cli's flags, or NULL after printing why (code set). */
static json_t *create_body(struct cli *cli, enum sluice_kind kind, int *code)
{
    if (kind == SLUICE_KIND_USER)
        return user_body(cli, code);
    char errbuf[1024];
    json_t *body;
    *code = CLI_USAGE;
    if (cli->file) {
        body = cli_spec_read_value(cli->file, errbuf, sizeof errbuf);
        if (!body) {
            fprintf(stderr, "sluice: %s\n", errbuf);
            return NULL;
        }
        if (!json_is_object(body)) {
            json_decref(body);
            cli_usage_error(cli, "%s: the spec must be a mapping (the API body)", cli->file);
            return NULL;
        }
    } else {
        body = json_object();
    }
    if (cli->name)
        json_object_set_new(body, "name", json_string(cli->name));
    if (!json_is_string(json_object_get(body, "name"))) {
        json_decref(body);
        cli_usage_error(cli, "create needs --name");
        return NULL;
    }
    if (cli->description)
        json_object_set_new(body, "description", json_string(cli->description));
    if (cli->sql)
        json_object_set_new(body, "sql", json_string(cli->sql));
    if (cli->sql_file) {
        char *sql = cli_read_file(cli->sql_file, NULL, errbuf, sizeof errbuf);
        if (!sql) {
            fprintf(stderr, "sluice: %s\n", errbuf);
            json_decref(body);
            return NULL;
        }
        json_object_set_new(body, "sql", json_string(sql));
        free(sql);
    }
    if (cli->value)
        json_object_set_new(body, "value", json_string(cli->value));
    if (kind == SLUICE_KIND_PIPELINE && !json_object_get(body, "sql")) {
        json_decref(body);
        cli_usage_error(cli, "a pipeline needs --sql-file, --sql or a spec with \"sql\"");
        return NULL;
    }
    if (kind == SLUICE_KIND_SECRET && !json_object_get(body, "value")) {
        json_decref(body);
        cli_usage_error(cli, "a secret needs --value or a spec with \"value\"");
        return NULL;
    }
    if ((kind == SLUICE_KIND_STREAM || kind == SLUICE_KIND_CONNECTION || kind == SLUICE_KIND_FUNCTION) && !cli->file) {
        json_decref(body);
        cli_usage_error(cli, "a %s is created from a spec: -f FILE (or use `sluice apply`)", sluice_kind_name(kind));
        return NULL;
    }
    *code = CLI_OK;
    return body;
}

int cli_cmd_create(struct cli *cli)
{
    enum sluice_kind kind;
    int code = parse_kind(cli, cli->argv[0], &kind);
    if (code)
        return code;
    json_t *body = create_body(cli, kind, &code);
    if (!body)
        return code;
    sluice_client *c = cli_client(cli, &code);
    json_t *out = NULL;
    struct sluice_error err;
    if (c && sluice_create(c, kind, body, &out, &err) < 0)
        code = cli_report(&err);
    if (c && code == CLI_OK) {
        if (cli->output == CLI_OUT_JSON || cli->output == CLI_OUT_YAML) {
            cli_print_value(out, cli->output);
        } else {
            printf("%s/%s created\n", sluice_kind_name(kind),
                   json_string_value(json_object_get(body, kind == SLUICE_KIND_USER ? "email" : "name")));
            const char *key = json_string_value(json_object_get(out, "key"));
            if (key)
                printf("key (shown once, keep it safe): %s\n", key);
        }
    }
    json_decref(out);
    json_decref(body);
    return code;
}

int cli_cmd_set_role(struct cli *cli)
{
    int code;
    sluice_client *c = cli_client(cli, &code);
    if (!c)
        return code;
    json_t *user = NULL, *out = NULL, *patch = json_pack("{s:s}", "role", cli->argv[1]);
    struct sluice_error err;
    code = CLI_OK;
    if (sluice_find(c, SLUICE_KIND_USER, cli->argv[0], &user, &err) < 0 ||
        sluice_update(c, SLUICE_KIND_USER, json_string_value(json_object_get(user, "id")), patch, -1, &out, &err) < 0)
        code = cli_report(&err);
    else if (cli->output == CLI_OUT_JSON || cli->output == CLI_OUT_YAML)
        cli_print_value(out, cli->output);
    else
        printf("user/%s is now %s\n", cli->argv[0], json_string_value(json_object_get(out, "role")));
    json_decref(patch);
    json_decref(user);
    json_decref(out);
    return code;
}

int cli_cmd_apply(struct cli *cli)
{
    if (!cli->file)
        return cli_usage_error(cli, "apply needs -f FILE");
    struct cli_spec_set set;
    char errbuf[16384];
    if (cli_spec_read(cli->file, &set, errbuf, sizeof errbuf) < 0) {
        fprintf(stderr, "%s\nsluice: %s has problems; nothing was changed\n", errbuf,
                strcmp(cli->file, "-") == 0 ? "<stdin>" : cli->file);
        return CLI_USAGE;
    }
    int code;
    sluice_client *c = cli_client(cli, &code);
    if (c) {
        struct sluice_error err;
        switch (cli_apply(c, &set, cli->dry_run, cli->prune, &err)) {
        case CLI_APPLY_OK:
            code = CLI_OK;
            break;
        case CLI_APPLY_INVALID:
            code = CLI_USAGE;
            break;
        case CLI_APPLY_FAILED:
            code = cli_report(&err);
            break;
        }
    }
    cli_spec_free(&set);
    return code;
}

static int delete_named(struct cli *cli, enum sluice_kind kind, json_t *one, const char *id)
{
    struct sluice_error err;
    if (sluice_delete(cli->client, kind, id, &err) < 0)
        return cli_report(&err);
    printf("%s/%s deleted\n", sluice_kind_name(kind), cli->argv[1]);
    return CLI_OK;
}

int cli_cmd_delete(struct cli *cli) { return with_named(cli, delete_named); }

/* ==== activation ========================================================================= */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Polls until actual_state is one of the wanted states ("a or b"); "failed" ends the wait
 * with an error. */
static int wait_for_state(struct cli *cli, enum sluice_kind kind, const char *id, const char *wanted)
{
    long deadline = now_ms() + cli_timeout_ms(cli, 60000);
    char last[64] = "unknown";
    for (;;) {
        json_t *r = NULL;
        struct sluice_error err;
        if (sluice_get(cli->client, kind, id, &r, &err) < 0)
            return cli_report(&err);
        const char *state = json_string_value(json_object_get(r, "actual_state"));
        snprintf(last, sizeof last, "%s", state ? state : "unknown");
        if (state && *state && strstr(wanted, state)) {
            printf("%s/%s %s\n", sluice_kind_name(kind), cli->argv[1], state);
            json_decref(r);
            return CLI_OK;
        }
        if (state && strcmp(state, "failed") == 0) {
            const char *why = json_string_value(json_object_get(r, "last_error"));
            fprintf(stderr, "sluice: %s/%s failed: %s\n", sluice_kind_name(kind), cli->argv[1],
                    why ? why : "no error recorded");
            json_decref(r);
            return CLI_SERVER_ERROR;
        }
        json_decref(r);
        if (now_ms() + 500 > deadline)
            break;
        sleep_ms(500);
    }
    fprintf(stderr, "sluice: gave up waiting for %s/%s to be %s; it is %s (raise --timeout)\n", sluice_kind_name(kind),
            cli->argv[1], wanted, last);
    return CLI_SERVER_ERROR;
}

static int set_active(struct cli *cli, enum sluice_kind kind, const char *id, bool on)
{
    json_t *out = NULL;
    struct sluice_error err;
    int code = CLI_OK;
    if (sluice_set_active(cli->client, kind, id, on, &out, &err) < 0) {
        code = cli_report(&err);
    } else if (cli->wait) {
        code = wait_for_state(cli, kind, id, on ? "running or completed" : "stopped");
    } else if (cli->output == CLI_OUT_JSON || cli->output == CLI_OUT_YAML) {
        cli_print_value(out, cli->output);
    } else {
        printf("%s/%s %s\n", sluice_kind_name(kind), cli->argv[1], on ? "activated" : "deactivated");
    }
    json_decref(out);
    return code;
}

static int activate_named(struct cli *cli, enum sluice_kind kind, json_t *one, const char *id)
{
    return set_active(cli, kind, id, true);
}

static int deactivate_named(struct cli *cli, enum sluice_kind kind, json_t *one, const char *id)
{
    return set_active(cli, kind, id, false);
}

/* Usage error unless KIND is a pipeline or connection: what = "can be activated", ... */
static int need_runnable(struct cli *cli, const char *what)
{
    enum sluice_kind kind;
    int code = parse_kind(cli, cli->argv[0], &kind);
    if (code == 0 && !sluice_kind_runnable(kind))
        code = cli_usage_error(cli, "only pipelines and connections %s", what);
    return code;
}

int cli_cmd_activate(struct cli *cli)
{
    int code = need_runnable(cli, "can be activated");
    return code ? code : with_named(cli, activate_named);
}

int cli_cmd_deactivate(struct cli *cli)
{
    int code = need_runnable(cli, "can be deactivated");
    return code ? code : with_named(cli, deactivate_named);
}

/* ==== control plane reads ================================================================ */

/* Prints a log line; user (may be NULL) counts them. */
static int print_line(const char *line, void *user)
{
    printf("%s\n", line);
    fflush(stdout);
    if (user)
        ++*(long *)user;
    return 0;
}

static int logs_named(struct cli *cli, enum sluice_kind kind, json_t *one, const char *id)
{
    struct sluice_error err;
    long lines = 0;
    int rc = cli->follow ? sluice_logs_follow(cli->client, kind, id, cli->timeout_ms, print_line, &lines, &err)
                         : sluice_logs(cli->client, kind, id, false, print_line, &lines, &err);
    if (rc == 0 && lines == 0 && !cli->follow) /* like events: say so, on stderr */
        fprintf(stderr, "no log lines for %s/%s\n", sluice_kind_name(kind), cli->argv[1]);
    return rc < 0 ? cli_report(&err) : CLI_OK;
}

int cli_cmd_logs(struct cli *cli)
{
    int code = need_runnable(cli, "have logs");
    return code ? code : with_named(cli, logs_named);
}

/* --save: the proposed schema on the connection's stream, with the stream's watermark and
 * primary key as they are. Returns the exit code. */
static int check_save(struct cli *cli, json_t *connection, json_t *answer)
{
    json_t *proposed = json_object_get(answer, "proposed_schema"), *stream = NULL, *out = NULL;
    struct sluice_error err;
    if (!proposed) {
        const char *why = json_string_value(json_object_get(answer, "sample_error"));
        fprintf(stderr, "sluice: no schema to save: %s\n", why ? why : "no sampled record was a JSON object");
        return CLI_SERVER_ERROR;
    }
    const char *name = json_string_value(json_object_get(connection, "stream"));
    if (sluice_find(cli->client, SLUICE_KIND_STREAM, name ? name : "", &stream, &err) < 0)
        return cli_report(&err);
    json_t *schema = json_deep_copy(proposed), *old = json_object_get(stream, "schema");
    static const char *const kept[] = {"watermark", "primary_key"};
    for (size_t i = 0; schema && i < sizeof kept / sizeof kept[0]; i++)
        if (json_object_get(old, kept[i]) && !json_is_null(json_object_get(old, kept[i])))
            json_object_set(schema, kept[i], json_object_get(old, kept[i]));
    json_t *patch = json_pack("{s:o}", "schema", schema);
    int rc = patch ? sluice_update(cli->client, SLUICE_KIND_STREAM, json_string_value(json_object_get(stream, "id")),
                                   patch, -1, &out, &err)
                   : -1;
    json_decref(patch);
    json_decref(stream);
    json_decref(out);
    if (rc < 0)
        return patch ? cli_report(&err) : CLI_SERVER_ERROR;
    printf("saved the proposed schema on stream \"%s\"\n", name);
    return CLI_OK;
}

/* The proposal of a sampled check, as lines "  name TYPE". */
static void check_print_sample(json_t *out)
{
    json_t *fields = json_object_get(json_object_get(out, "proposed_schema"), "fields"), *f;
    size_t i;
    if (json_object_get(out, "sampled"))
        printf("%-15s %lld\n", "sampled", (long long)json_integer_value(json_object_get(out, "sampled")));
    const char *why = json_string_value(json_object_get(out, "sample_error"));
    if (why)
        printf("%-15s %s\n", "sample_error", why);
    if (fields)
        printf("proposed schema\n");
    json_array_foreach(fields, i, f)
    {
        printf("  %-13s %s\n", json_string_value(json_object_get(f, "name")),
               json_string_value(json_object_get(f, "type")));
    }
}

/* POST /v1/connections/{id}/check[?sample=N]: prints what was found; exit 1 unless all of it is
 * there; with --save, saves the proposed schema on the connection's stream. */
static int check_named(struct cli *cli, enum sluice_kind kind, json_t *one, const char *id)
{
    char path[200];
    long sample = cli->sample ? cli->sample : cli->save ? 100 : 0;
    if (sample)
        snprintf(path, sizeof path, "/v1/connections/%s/check?sample=%ld", id, sample);
    else
        snprintf(path, sizeof path, "/v1/connections/%s/check", id);
    json_t *out = NULL;
    struct sluice_error err;
    if (sluice_call(cli->client, "POST", path, NULL, -1, &out, &err) < 0)
        return cli_report(&err);
    static const char *const keys[] = {"reachable", "authenticated", "target_present"};
    bool all = true;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        all &= json_is_true(json_object_get(out, keys[i]));
    if (cli->output == CLI_OUT_JSON || cli->output == CLI_OUT_YAML) {
        cli_print_value(out, cli->output);
    } else {
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            printf("%-15s %s\n", keys[i], json_is_true(json_object_get(out, keys[i])) ? "yes" : "no");
        const char *why = json_string_value(json_object_get(out, "error"));
        if (why)
            printf("%-15s %s\n", "error", why);
        if (sample)
            check_print_sample(out);
    }
    int code = !all ? CLI_SERVER_ERROR : cli->save ? check_save(cli, one, out) : CLI_OK;
    json_decref(out);
    return code;
}

int cli_cmd_check(struct cli *cli)
{
    enum sluice_kind kind;
    int code = parse_kind(cli, cli->argv[0], &kind);
    if (code == 0 && kind != SLUICE_KIND_CONNECTION)
        code = cli_usage_error(cli, "only connections can be checked");
    return code ? code : with_named(cli, check_named);
}

/* The rows of an answer: itself when an array, else its first array member among names. */
static json_t *rows_of(json_t *answer)
{
    static const char *const names[] = {"items", "rows", "records", "results"};
    if (json_is_array(answer))
        return answer;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (json_is_array(json_object_get(answer, names[i])))
            return json_object_get(answer, names[i]);
    return NULL;
}

/* A preview of an updating query as a table: each row with its kind first ("op": "+I", ...),
 * taken from the answer's "ops" (its rows, index by index). */
static void preview_rows_with_ops(json_t *answer)
{
    json_t *rows = json_object_get(answer, "rows"), *ops = json_object_get(answer, "ops"), *row;
    size_t i;
    if (!json_is_true(json_object_get(answer, "updating")) || !json_is_array(ops))
        return;
    json_array_foreach(rows, i, row)
    {
        json_t *with = json_pack("{s:O}", "op", json_array_get(ops, i) ? json_array_get(ops, i) : json_null());
        if (!with)
            continue;
        json_object_update(with, row);
        json_array_set_new(rows, i, with);
    }
}

static void print_answer(struct cli *cli, json_t *answer)
{
    json_t *rows = rows_of(answer);
    if (cli->output == CLI_OUT_TABLE && rows && json_array_size(rows) == 0)
        fprintf(stderr, "no rows\n");
    else if (cli->output == CLI_OUT_TABLE && rows)
        cli_print_rows(rows, CLI_OUT_TABLE);
    else
        cli_print_value(answer, cli->output == CLI_OUT_JSON ? CLI_OUT_JSON : CLI_OUT_YAML);
}

/* Gives each usage row keyed by resource_kind and resource_id a first member "resource",
 * "kind/name" ("kind/<id>" when the resource is gone); tables drop the two ids. */
static void name_usage_rows(sluice_client *c, json_t *answer, bool table)
{
    json_t *rows = json_object_get(answer, "items"), *row;
    size_t i;
    json_array_foreach(rows, i, row)
    {
        const char *kname = json_string_value(json_object_get(row, "resource_kind"));
        const char *id = json_string_value(json_object_get(row, "resource_id"));
        enum sluice_kind kind;
        if (!kname || !id || sluice_kind_parse(kname, &kind) != 0)
            continue;
        json_t *one = NULL;
        struct sluice_error err;
        const char *name =
            sluice_get(c, kind, id, &one, &err) == 0 ? json_string_value(json_object_get(one, "name")) : NULL;
        char *label = NULL;
        if (asprintf(&label, "%s/%s", kname, name ? name : id) >= 0) {
            json_t *named = json_pack("{s:s}", "resource", label);
            json_object_update(named, row); /* "resource" first, then the counters */
            if (table) {
                json_object_del(named, "resource_kind");
                json_object_del(named, "resource_id");
            }
            json_array_set_new(rows, i, named);
        }
        free(label);
        json_decref(one);
    }
}

int cli_cmd_usage(struct cli *cli)
{
    int code;
    sluice_client *c = cli_client(cli, &code);
    if (!c)
        return code;
    json_t *out = NULL;
    struct sluice_error err;
    if (sluice_usage(c, cli->from, cli->to, cli->group_by, &out, &err) < 0)
        return cli_report(&err);
    name_usage_rows(c, out, cli->output == CLI_OUT_TABLE);
    print_answer(cli, out);
    json_decref(out);
    return CLI_OK;
}

/* What a table of preview rows does not show, on stderr: why there are none, records that
 * could not be read or evaluated (the first error), and the preview's own error. */
static void preview_notes(struct cli *cli, json_t *out)
{
    if (cli->output != CLI_OUT_TABLE)
        return;
    json_int_t read = json_integer_value(json_object_get(out, "records_read"));
    json_int_t skipped = json_integer_value(json_object_get(out, "skipped"));
    const char *first = json_string_value(json_object_get(out, "first_error"));
    const char *error = json_string_value(json_object_get(out, "error"));
    bool latest = !cli->start || strcmp(cli->start, "earliest") != 0;
    if (json_array_size(json_object_get(out, "rows")) == 0 && read == 0 && latest)
        fprintf(stderr, "(no new records arrived while it waited; --start earliest reads the stored ones)\n");
    else if (json_array_size(json_object_get(out, "rows")) == 0)
        fprintf(stderr, "(%lld records read, none came out)\n", (long long)read);
    if (skipped > 0)
        fprintf(stderr, "%lld records skipped; the first: %s\n", (long long)skipped, first ? first : "-");
    if (error)
        fprintf(stderr, "error: %s\n", error);
}

int cli_cmd_preview(struct cli *cli)
{
    char errbuf[512];
    char *sql = NULL;
    if (cli->sql_file && !(sql = cli_read_file(cli->sql_file, NULL, errbuf, sizeof errbuf))) {
        fprintf(stderr, "sluice: %s\n", errbuf);
        return CLI_USAGE;
    }
    if (!sql && cli->sql)
        sql = strdup(cli->sql);
    if (!sql)
        return cli_usage_error(cli, "preview needs --sql or --sql-file");
    int code;
    sluice_client *c = cli_client(cli, &code);
    json_t *out = NULL;
    struct sluice_error err;
    if (c) {
        /* within the call's own timeout, and within what the api accepts (100 ms to 30 s) */
        long wait = cli->timeout_ms > 0 ? cli->timeout_ms * 3 / 4 : 10000;
        wait = wait > 30000 ? 30000 : wait < 100 ? 100 : wait;
        if (sluice_preview(c, sql, (int)(cli->limit ? cli->limit : 20), wait, cli->start, &out, &err) < 0) {
            code = cli_report(&err);
        } else {
            if (cli->output == CLI_OUT_TABLE)
                preview_rows_with_ops(out);
            print_answer(cli, out);
            preview_notes(cli, out);
            code = CLI_OK;
        }
    }
    json_decref(out);
    free(sql);
    return code;
}

int cli_cmd_explain(struct cli *cli)
{
    char errbuf[512];
    char *sql = cli_read_file(cli->argv[0], NULL, errbuf, sizeof errbuf);
    if (!sql) {
        fprintf(stderr, "sluice: %s\n", errbuf);
        return CLI_USAGE;
    }
    int code;
    sluice_client *c = cli_client(cli, &code);
    json_t *out = NULL;
    struct sluice_error err;
    if (c && sluice_explain(c, sql, &out, &err) < 0) {
        code = cli_report(&err);
    } else if (c) {
        const char *plan = json_string_value(json_object_get(out, "plan"));
        if (cli->output == CLI_OUT_TABLE && plan)
            fputs(plan, stdout);
        else
            print_answer(cli, out);
        code = CLI_OK;
    }
    json_decref(out);
    free(sql);
    return code;
}
