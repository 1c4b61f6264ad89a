/* worker.c — `sluiced worker` (one task from a JSON spec on stdin, reports as JSON lines on
 * stdout) and `sluiced run` (a pipeline file run locally on streams under a data directory),
 * both thin mains over engine.h. */
#include "dataplane/worker.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/seccomp.h"
#include "dataplane/engine.h"
#include "dataplane/log/log.h"
#include "dataplane/preview.h"
#include "dataplane/schema_json.h"
#include "dataplane/sql/sql.h"

static volatile sig_atomic_t worker_stop;

static void on_stop_signal(int sig) { worker_stop = 1; }

static void install_stop_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ================================================================ sluiced worker */

struct worker_stream {
    struct engine_stream es;
    struct schema schema;
    struct stream_property *props;
};

struct worker {
    const char *task_id;
    int reports;
};

static void emit_json_line(json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        free(s);
    }
    json_decref(obj);
}

static json_t *now_ts(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return json_integer((json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void emit_metrics(const struct engine_stats *s)
{
    emit_json_line(json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "type", "metrics", "records_in",
                             (json_int_t)s->records_in, "records_out", (json_int_t)s->records_out, "bytes_in",
                             (json_int_t)s->bytes_in, "bytes_out", (json_int_t)s->bytes_out, "errors",
                             (json_int_t)s->errors, "late", (json_int_t)s->late, "lag", (json_int_t)s->lag));
}

static void emit_state(const char *state, const char *error)
{
    json_t *o = json_pack("{s:s,s:s}", "type", "state", "state", state);
    if (error)
        json_object_set_new(o, "error", json_string(error));
    emit_json_line(o);
}

static const char *const level_names[] = {"debug", "info", "warn", "error"};

static void worker_log(void *ctx, enum log_level level, const char *msg)
{
    emit_json_line(json_pack("{s:s,s:s,s:s}", "type", "log", "level", level_names[level], "msg", msg));
}

/* Every second: a heartbeat; every second report also the metrics. */
static void worker_report(void *ctx, const struct engine_stats *s)
{
    struct worker *w = ctx;
    emit_json_line(json_pack("{s:s,s:o}", "type", "heartbeat", "ts", now_ts()));
    if (++w->reports % 2 == 0)
        emit_metrics(s);
}

static int parse_props(json_t *obj, struct worker_stream *ws, char *err, size_t errlen)
{
    if (!obj)
        return 0;
    if (!json_is_object(obj)) {
        snprintf(err, errlen, "\"properties\" must be an object of strings");
        return -1;
    }
    ws->props = calloc(json_object_size(obj) + 1, sizeof *ws->props);
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        /* numbers and booleans are taken as their JSON text ("events": 1000) */
        if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v)) {
            snprintf(err, errlen, "property \"%s\" must be a string, a number or a boolean", key);
            return -1;
        }
        if (!json_is_string(v)) {
            char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            json_object_set_new(obj, key, json_string(text ? text : ""));
            free(text);
            v = json_object_get(obj, key);
        }
        ws->props[ws->es.nprops].key = key;
        ws->props[ws->es.nprops].value = json_string_value(v);
        ws->es.nprops++;
    }
    ws->es.props = ws->props;
    return 0;
}

static void free_streams(struct worker_stream *ws, int n)
{
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < ws[i].schema.nfields; k++)
            free(ws[i].schema.fields[k].name);
        free(ws[i].schema.fields);
        free(ws[i].props);
    }
    free(ws);
}

static char *read_all(FILE *f)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                return NULL;
            }
            buf = b;
            cap *= 2;
        }
    }
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* Connectors a connection task can run, one row each: the stream backend that speaks to the
 * outside system, which directions it supports, and the property naming its location. */
static const struct {
    const char *name;
    const char *backend;
    bool source, sink;
    const char *location_key; /* NULL: no location */
    bool wants_schema;        /* gets the stream's schema as the property "__schema" */
} connector_table[] = {
    {"datagen", "datagen", true, false, NULL, false},
    {"kafka", "kafka", true, true, "topic", false},
    {"postgres", "postgres", false, true, "table", true},
    {"webhook", "webhook", false, true, "url", false},
};

int worker_connector_find(const char *name, const char **backend, bool *source, bool *sink)
{
    for (size_t k = 0; name && k < sizeof connector_table / sizeof connector_table[0]; k++) {
        if (strcmp(connector_table[k].name, name) != 0)
            continue;
        *backend = connector_table[k].backend;
        *source = connector_table[k].source;
        *sink = connector_table[k].sink;
        return 0;
    }
    return -1;
}

const char *worker_connector_name(size_t i)
{
    return i < sizeof connector_table / sizeof connector_table[0] ? connector_table[i].name : NULL;
}

/* The outside end of a connection as the stream ext (properties and secrets merged, secrets
 * winning), and source/sink in o: type "source" copies ext into own, "sink" own into ext.
 * own_schema is the JSON of own's schema, for connectors that want it. */
static int connection_setup(json_t *connector, json_t *secrets, json_t *own_schema, struct worker_stream *ext,
                            const struct worker_stream *own, struct engine_options *o, char *err, size_t errlen)
{
    const char *cname = json_string_value(json_object_get(connector, "name"));
    const char *type = json_string_value(json_object_get(connector, "type"));
    size_t k, n = sizeof connector_table / sizeof connector_table[0];
    for (k = 0; k < n && (!cname || strcmp(connector_table[k].name, cname) != 0); k++)
        ;
    if (k == n) {
        char names[200] = "";
        for (size_t i = 0; i < n; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                     connector_table[i].name);
        snprintf(err, errlen, "connector must be one of %s, not \"%s\"", names, cname ? cname : "");
        return -1;
    }
    bool sink = type && strcmp(type, "sink") == 0;
    if ((sink && !connector_table[k].sink) || (!sink && !connector_table[k].source) ||
        (type && !sink && strcmp(type, "source") != 0)) {
        snprintf(err, errlen, "connector %s cannot be of type \"%s\" (it can be:%s%s)", cname, type ? type : "",
                 connector_table[k].source ? " source" : "", connector_table[k].sink ? " sink" : "");
        return -1;
    }
    if (!stream_backend_find(connector_table[k].backend)) {
        snprintf(err, errlen,
                 "this worker binary has no %s backend (the lean sluiced-worker leaves it out): run %s connections "
                 "with `sluiced worker`",
                 connector_table[k].backend, cname);
        return -1;
    }
    json_t *props = json_object_get(connector, "properties");
    if (props && !json_is_object(props)) {
        snprintf(err, errlen, "\"properties\" must be an object of strings");
        return -1;
    }
    if (!props) {
        props = json_object();
        json_object_set_new(connector, "properties", props);
    }
    if (json_is_object(secrets) && json_object_update(props, secrets) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (connector_table[k].wants_schema) {
        char *text = own_schema ? json_dumps(own_schema, JSON_COMPACT) : NULL;
        json_object_set_new(props, "__schema", json_string(text ? text : "{}"));
        free(text);
    }
    ext->es.name = "__connector";
    ext->es.backend = connector_table[k].backend;
    ext->es.schema = own->es.schema;
    if (parse_props(props, ext, err, errlen) != 0)
        return -1;
    const char *key = connector_table[k].location_key;
    ext->es.location = key ? stream_property_get(ext->es.props, ext->es.nprops, key) : "";
    if (!ext->es.location) {
        snprintf(err, errlen, "a %s connection needs the property \"%s\"", cname, key);
        return -1;
    }
    o->source = sink ? own->es.name : ext->es.name;
    o->sink = sink ? ext->es.name : own->es.name;
    return 0;
}

/* Sets up streams and options from the spec and runs it; returns the exit status. */
static int worker_run_spec(json_t *spec, char *err, size_t errlen)
{
    const char *task_id = json_string_value(json_object_get(spec, "task_id"));
    const char *data_dir = json_string_value(json_object_get(spec, "data_dir"));
    const char *kind = json_string_value(json_object_get(spec, "kind"));
    const char *sql = json_string_value(json_object_get(spec, "sql"));
    const char *policy = json_string_value(json_object_get(spec, "error_policy"));
    json_t *streams = json_object_get(spec, "streams");
    json_t *connector = json_object_get(spec, "connector");
    if (!task_id || !data_dir || !kind || !json_is_array(streams)) {
        snprintf(err, errlen, "the task spec needs task_id, data_dir, kind and streams");
        return -1;
    }
    log_set_id(task_id);
    if (log_mkdir_parents(data_dir) != 0 || chdir(data_dir) != 0) {
        snprintf(err, errlen, "cannot use data_dir %s: %s", data_dir, strerror(errno));
        return -1;
    }
    struct engine_options o = {0};
    int policy_value = policy ? engine_error_policy_from_name(policy) : ENGINE_POLICY_FAIL;
    if (policy_value < 0) {
        snprintf(err, errlen, "error_policy must be fail, skip or dead_letter, not \"%s\"", policy);
        return -1;
    }
    o.error_policy = (enum engine_error_policy)policy_value;
    o.dead_letter_stream = json_string_value(json_object_get(spec, "dead_letter_stream"));
    o.bounded = json_is_true(json_object_get(spec, "bounded"));
    /* {"storage": {"quota_bytes": N, "dir": "<data-root>/tenants/<tenant>/streams"}} */
    json_t *storage = json_object_get(spec, "storage");
    if (json_is_integer(json_object_get(storage, "quota_bytes")) &&
        json_string_value(json_object_get(storage, "dir"))) {
        o.storage_quota_bytes = (uint64_t)json_integer_value(json_object_get(storage, "quota_bytes"));
        o.storage_dir = json_string_value(json_object_get(storage, "dir"));
    }
    json_t *ti = json_object_get(spec, "task_index"), *tc = json_object_get(spec, "task_count");
    if ((ti && !json_is_integer(ti)) || (tc && !json_is_integer(tc))) {
        snprintf(err, errlen, "task_index and task_count must be integers");
        return -1;
    }
    o.task_index = ti ? (int)json_integer_value(ti) : 0;
    o.task_count = tc ? (int)json_integer_value(tc) : 1;
    int n = (int)json_array_size(streams);
    struct worker_stream *ws = calloc((size_t)n + 1, sizeof *ws);
    struct engine_stream *es = calloc((size_t)n + 1, sizeof *es);
    int rc = -1, nstreams = 0;
    size_t i;
    json_t *js;
    json_array_foreach(streams, i, js)
    {
        struct worker_stream *w = &ws[nstreams++];
        w->es.name = json_string_value(json_object_get(js, "name"));
        w->es.location = json_string_value(json_object_get(js, "dir"));
        w->es.backend = "log";
        w->es.partitions = (int)json_integer_value(json_object_get(js, "partitions"));
        if (!w->es.name || !w->es.location) {
            snprintf(err, errlen, "stream %zu needs a name and a dir", i + 1);
            goto out;
        }
        if (schema_from_json(json_object_get(js, "schema"), &w->schema, w->es.name, err, errlen) != 0)
            goto out;
        w->es.schema = &w->schema;
    }
    if (strcmp(kind, "pipeline") == 0) {
        if (!sql) {
            snprintf(err, errlen, "a pipeline task needs sql");
            goto out;
        }
        o.sql = sql;
    } else if (strcmp(kind, "connection") == 0) {
        if (nstreams < 1) {
            snprintf(err, errlen, "a connection task needs its stream");
            goto out;
        }
        struct worker_stream *ext = &ws[nstreams++];
        json_t *own_schema = json_object_get(json_array_get(streams, 0), "schema");
        if (connection_setup(connector, json_object_get(spec, "secrets"), own_schema, ext, &ws[0], &o, err, errlen) !=
            0)
            goto out;
    } else {
        snprintf(err, errlen, "kind must be pipeline or connection, not \"%s\"", kind);
        goto out;
    }
    for (int k = 0; k < nstreams; k++)
        es[k] = ws[k].es;
    /* A supervisor names a directory the pipeline's tasks share (checkpoint.h); alone, the
     * worker keeps its checkpoint in its data directory. */
    char ckpt[4200];
    const char *ckpt_dir = json_string_value(json_object_get(spec, "checkpoint_dir"));
    if (ckpt_dir) {
        o.checkpoint_dir = ckpt_dir;
    } else {
        log_mkdir_parents("checkpoints");
        snprintf(ckpt, sizeof ckpt, "checkpoints/%s.ckpt", task_id);
        o.checkpoint_path = ckpt;
    }
    struct worker w = {.task_id = task_id};
    o.streams = es;
    o.nstreams = nstreams;
    o.stop = &worker_stop;
    o.report = worker_report;
    o.log = worker_log;
    o.ctx = &w;
    emit_state("running", NULL);
    struct engine_stats final;
    enum engine_result result = engine_run(&o, &final, err, errlen);
    emit_metrics(&final);
    if (result == ENGINE_COMPLETED) {
        emit_state("completed", NULL);
        rc = 0;
    } else if (result == ENGINE_STOPPED) {
        emit_state("stopped", NULL);
        rc = 0;
    }
out:
    free_streams(ws, nstreams);
    free(es);
    return rc;
}

int worker_main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: sluiced worker < task.json\n\nRuns one task from the JSON spec on stdin; reports heartbeats,"
               " metrics, logs and state as JSON lines on stdout. SIGTERM stops it after a checkpoint.\n");
        return 0;
    }
    install_stop_handlers();
    char err[1024] = "";
    char *text = read_all(stdin);
    json_error_t je;
    json_t *spec = text ? json_loads(text, 0, &je) : NULL;
    free(text);
    if (!json_is_object(spec)) {
        snprintf(err, sizeof err, "the task spec on stdin is not a JSON object%s%s", spec ? "" : ": ",
                 spec ? "" : je.text);
        json_decref(spec);
        emit_state("failed", err);
        return 1;
    }
    if (json_is_true(json_object_get(json_object_get(spec, "sandbox"), "seccomp"))) {
        char report[256]; /* the allow-list that forbids exec, so installed after exec */
        seccomp_lock_down(report, sizeof report);
        emit_json_line(json_pack("{s:s,s:s,s:s}", "type", "sandbox", "layer", "seccomp", "status", report));
    }
    const char *kind = json_string_value(json_object_get(spec, "kind"));
    int rc = kind && strcmp(kind, "preview") == 0 ? preview_worker_run(spec, err, sizeof err)
                                                  : worker_run_spec(spec, err, sizeof err);
    json_decref(spec);
    if (rc != 0) {
        log_error("%s", err);
        emit_state("failed", err);
        return 1;
    }
    return 0;
}

/* ================================================================ sluiced run */

struct run_args {
    const char *file, *data_dir, *error_policy, *dead_letter;
    int bounded, print;
    long checkpoint_ms, checkpoint_records;
};

/* Options of `sluiced run`, one row each: name, whether it takes a value, where it goes. */
enum run_opt_kind { RUN_FLAG, RUN_STRING, RUN_LONG };
static const struct {
    const char *name;
    enum run_opt_kind kind;
    size_t offset;
    const char *help;
} run_option_table[] = {
    {"--data-dir", RUN_STRING, offsetof(struct run_args, data_dir), "directory of the streams (default ./sluice-data)"},
    {"--bounded", RUN_FLAG, offsetof(struct run_args, bounded), "stop at the end of the input and complete"},
    {"--print", RUN_FLAG, offsetof(struct run_args, print), "write the output to stdout instead of the sink stream"},
    {"--error-policy", RUN_STRING, offsetof(struct run_args, error_policy), "fail | skip | dead_letter"},
    {"--dead-letter", RUN_STRING, offsetof(struct run_args, dead_letter), "stream for dead_letter"},
    {"--checkpoint-ms", RUN_LONG, offsetof(struct run_args, checkpoint_ms), "checkpoint interval (default 1000)"},
    {"--checkpoint-records", RUN_LONG, offsetof(struct run_args, checkpoint_records), "also every N records"},
};

static void run_usage(FILE *out)
{
    fprintf(out, "usage: sluiced run FILE.sql [options]\n\nRuns the INSERT statements of a pipeline file locally:"
                 " streams WITH ('connector'='datagen', ...) are generated,\n('connector'='kafka', 'topic'=..., "
                 "'properties.bootstrap.servers'=...) are Kafka topics,\n('connector'='postgres', 'url'=..., "
                 "'table'=...) and ('connector'='webhook', 'url'=...) are sinks,\nothers are embedded logs under "
                 "the data directory.\n\noptions:\n");
    for (size_t i = 0; i < sizeof run_option_table / sizeof run_option_table[0]; i++)
        fprintf(out, "  %-22s %s\n", run_option_table[i].name, run_option_table[i].help);
}

static int run_parse_args(int argc, char **argv, struct run_args *a)
{
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-') {
            if (a->file) {
                fprintf(stderr, "sluiced run: one pipeline file only (got \"%s\" too)\n", argv[i]);
                return -1;
            }
            a->file = argv[i];
            continue;
        }
        size_t k, n = sizeof run_option_table / sizeof run_option_table[0];
        for (k = 0; k < n && strcmp(run_option_table[k].name, argv[i]) != 0; k++)
            ;
        if (k == n) {
            fprintf(stderr, "sluiced run: unknown option \"%s\"\n", argv[i]);
            return -1;
        }
        char *dst = (char *)a + run_option_table[k].offset;
        if (run_option_table[k].kind == RUN_FLAG) {
            *(int *)dst = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "sluiced run: %s needs a value\n", argv[i]);
            return -1;
        }
        const char *v = argv[++i];
        if (run_option_table[k].kind == RUN_STRING) {
            *(const char **)dst = v;
        } else {
            char *end;
            long x = strtol(v, &end, 10);
            if (*end || end == v || x < 0) {
                fprintf(stderr, "sluiced run: %s needs a non-negative number, not \"%s\"\n", argv[i - 1], v);
                return -1;
            }
            *(long *)dst = x;
        }
    }
    if (!a->file) {
        run_usage(stderr);
        return -1;
    }
    return 0;
}

/* SQL type names for a schema's JSON, one row per value type. */
static const struct {
    enum value_type type;
    const char *name;
} run_type_names[] = {
    {VT_BOOLEAN, "BOOLEAN"}, {VT_BIGINT, "BIGINT"},          {VT_DOUBLE, "DOUBLE"},
    {VT_STRING, "STRING"},   {VT_TIMESTAMP, "TIMESTAMP(3)"},
};

/* s as the JSON the api stores ({"fields":[{"name","type"}]}), compact, malloc'ed; NULL when
 * out of memory or a field has no SQL type. */
static char *run_schema_json(const struct schema *s)
{
    json_t *fields = json_array();
    for (int i = 0; fields && i < s->nfields; i++) {
        const char *type = NULL;
        for (size_t t = 0; t < sizeof run_type_names / sizeof run_type_names[0]; t++)
            if (run_type_names[t].type == s->fields[i].type)
                type = run_type_names[t].name;
        if (!type ||
            json_array_append_new(fields, json_pack("{s:s,s:s}", "name", s->fields[i].name, "type", type)) != 0) {
            json_decref(fields);
            return NULL;
        }
    }
    json_t *js = fields ? json_pack("{s:o}", "fields", fields) : NULL;
    char *text = js ? json_dumps(js, JSON_COMPACT) : NULL;
    json_decref(js);
    return text;
}

/* The connector_table row of name, or -1. */
static int run_connector_row(const char *name)
{
    for (size_t k = 0; name && k < sizeof connector_table / sizeof connector_table[0]; k++)
        if (strcmp(connector_table[k].name, name) == 0)
            return (int)k;
    return -1;
}

struct run_catalog {
    const struct engine_stream *streams;
    int n;
};

static const struct schema *run_catalog_lookup(void *ctx, const char *name)
{
    const struct run_catalog *c = ctx;
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->streams[i].name, name) == 0)
            return c->streams[i].schema;
    return NULL;
}

struct run_job {
    struct engine_options o;
    struct engine_stream *streams;
    char checkpoint[8600];
    enum engine_result result;
    char err[1024];
    const char *sql;
};

static void *run_job_thread(void *arg)
{
    struct run_job *j = arg;
    j->result = engine_run(&j->o, NULL, j->err, sizeof j->err);
    return NULL;
}

int run_main(int argc, char **argv)
{
    struct run_args a = {.data_dir = "sluice-data"};
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        run_usage(stdout);
        return 0;
    }
    if (run_parse_args(argc, argv, &a) != 0)
        return 2;
    int policy = a.error_policy ? engine_error_policy_from_name(a.error_policy) : ENGINE_POLICY_FAIL;
    if (policy < 0) {
        fprintf(stderr, "sluiced run: --error-policy must be fail, skip or dead_letter\n");
        return 2;
    }
    FILE *f = fopen(a.file, "r");
    if (!f) {
        fprintf(stderr, "sluiced run: cannot open %s: %s\n", a.file, strerror(errno));
        return 1;
    }
    char *text = read_all(f);
    fclose(f);
    struct sql_script script;
    struct sql_error se = {0};
    if (!text || sql_script_parse(text, &script, &se) != 0) {
        char msg[400];
        sql_error_format(&se, msg, sizeof msg);
        fprintf(stderr, "%s: %s\n", a.file, msg);
        free(text);
        return 1;
    }
    free(text);
    if (script.ninserts == 0) {
        fprintf(stderr, "%s: no INSERT statement to run\n", a.file);
        sql_script_free(&script);
        return 1;
    }
    install_stop_handlers();
    log_mkdir_parents(a.data_dir);
    /* every stream as the engine sees it */
    int n = script.nstreams;
    struct engine_stream *base = calloc((size_t)n + 1, sizeof *base);
    struct stream_property **props = calloc((size_t)n + 1, sizeof *props);
    char **locations = calloc((size_t)n + 1, sizeof *locations);
    char **schemas = calloc((size_t)n + 1, sizeof *schemas); /* "__schema" values */
    for (int i = 0; i < n; i++) {
        struct sql_stream_def *d = &script.streams[i];
        const char *connector = sql_stream_option(d, "connector");
        int row = run_connector_row(connector);
        props[i] = calloc((size_t)d->noptions + 1, sizeof **props);
        int nprops = d->noptions;
        for (int k = 0; k < d->noptions; k++)
            props[i][k] = (struct stream_property){d->options[k].key, d->options[k].value};
        /* a sink that maps fields to columns (postgres) gets the table's schema, as a
         * connection task does */
        if (row >= 0 && connector_table[row].wants_schema && (schemas[i] = run_schema_json(&d->schema)))
            props[i][nprops++] = (struct stream_property){"__schema", schemas[i]};
        locations[i] = malloc(strlen(a.data_dir) + strlen(d->name) + 16);
        sprintf(locations[i], "%s/streams/%s", a.data_dir, d->name);
        /* a connector's stream lives where its location property says (a Kafka topic, a
         * postgres table, a webhook url), an embedded log under the data directory */
        const char *key = row >= 0 ? connector_table[row].location_key : NULL;
        const char *where = key ? sql_stream_option(d, key) : NULL;
        base[i] = (struct engine_stream){.name = d->name,
                                         .backend = connector ? connector : "log",
                                         .location = key ? (where ? where : "") : locations[i],
                                         .schema = &d->schema,
                                         .props = props[i],
                                         .nprops = nprops};
    }
    /* a dead-letter stream not declared in the file is an embedded log of that name */
    bool dlq_declared = !a.dead_letter;
    for (int i = 0; i < n && !dlq_declared; i++)
        dlq_declared = strcmp(base[i].name, a.dead_letter) == 0;
    if (!dlq_declared) {
        locations[n] = malloc(strlen(a.data_dir) + strlen(a.dead_letter) + 16);
        sprintf(locations[n], "%s/streams/%s", a.data_dir, a.dead_letter);
        base[n] = (struct engine_stream){.name = a.dead_letter, .backend = "log", .location = locations[n]};
        n++;
    }
    int ninserts = script.ninserts, status = 0;
    struct run_job *jobs = calloc((size_t)ninserts, sizeof *jobs);
    pthread_t *threads = calloc((size_t)ninserts, sizeof *threads);
    char ckdir[4200];
    snprintf(ckdir, sizeof ckdir, "%s/checkpoints", a.data_dir);
    log_mkdir_parents(ckdir);
    struct run_catalog cat = {base, n};
    for (int q = 0; q < ninserts; q++) {
        struct run_job *j = &jobs[q];
        j->streams = calloc((size_t)n + 1, sizeof *j->streams);
        memcpy(j->streams, base, (size_t)n * sizeof *base);
        j->sql = script.inserts[q];
        j->o = (struct engine_options){.sql = j->sql,
                                       .streams = j->streams,
                                       .nstreams = n,
                                       .error_policy = (enum engine_error_policy)policy,
                                       .dead_letter_stream = a.dead_letter,
                                       .bounded = a.bounded,
                                       .state_ttl_ms = script.state_ttl_ms,
                                       .checkpoint_interval_ms = (uint32_t)a.checkpoint_ms,
                                       .checkpoint_interval_records = (uint64_t)a.checkpoint_records,
                                       .stop = &worker_stop};
        /* compile once here to report errors against the file and learn the sink */
        struct plan *probe = plan_compile(j->sql, run_catalog_lookup, &cat, &se);
        if (!probe) {
            char msg[400];
            sql_error_shift(&se, script.insert_line[q], script.insert_column[q]);
            sql_error_format(&se, msg, sizeof msg);
            fprintf(stderr, "%s: %s\n", a.file, msg);
            status = 1;
            break;
        }
        for (int k = 0; k < n; k++) {
            if (strcmp(j->streams[k].name, plan_sink(probe)) != 0)
                continue;
            if (a.print)
                j->streams[k].backend = "print";
            if (strcmp(j->streams[k].backend, "print") != 0) {
                snprintf(j->checkpoint, sizeof j->checkpoint, "%s/%s-%d.ckpt", ckdir, j->streams[k].name, q);
                j->o.checkpoint_path = j->checkpoint;
            }
        }
        plan_free(probe);
    }
    /* bounded: one after another (a later INSERT may read what an earlier one wrote);
     * otherwise all at once, until Ctrl-C */
    for (int q = 0; q < ninserts && status == 0; q++) {
        if (a.bounded || ninserts == 1) {
            run_job_thread(&jobs[q]);
            if (jobs[q].result == ENGINE_FAILED) {
                fprintf(stderr, "%s: INSERT at line %d: %s\n", a.file, script.insert_line[q], jobs[q].err);
                status = 1;
            }
        } else if (pthread_create(&threads[q], NULL, run_job_thread, &jobs[q]) != 0) {
            fprintf(stderr, "sluiced run: cannot start a thread\n");
            status = 1;
        }
    }
    if (!a.bounded && ninserts > 1) {
        for (int q = 0; q < ninserts; q++) {
            if (!threads[q])
                continue;
            pthread_join(threads[q], NULL);
            if (jobs[q].result == ENGINE_FAILED) {
                fprintf(stderr, "%s: INSERT at line %d: %s\n", a.file, script.insert_line[q], jobs[q].err);
                status = 1;
            }
        }
    }
    for (int q = 0; q < ninserts; q++)
        free(jobs[q].streams);
    free(jobs);
    free(threads);
    for (int i = 0; i < n; i++) {
        free(props[i]);
        free(locations[i]);
        free(schemas[i]);
    }
    free(schemas);
    free(props);
    free(locations);
    free(base);
    sql_script_free(&script);
    return status;
}
