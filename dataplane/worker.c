/* worker.c — `sluiced worker` (one task from a JSON spec on stdin, reports as JSON lines on
 * stdout) and `sluiced run` (a pipeline file run locally on streams under a data directory),
 * both thin mains over engine.h. */
#include "dataplane/worker.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
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
#include "common/options.h"
#include "common/seccomp.h"
#include "common/task_spec.h"
#include "dataplane/engine.h"
#include "dataplane/log/log.h"
#include "dataplane/connection_check.h"
#include "dataplane/function_check.h"
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
    char *schema_text; /* the "__schema" property's value, for connectors that want it */
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
    emit_json_line(json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "type", "metrics", "records_in",
                             (json_int_t)s->records_in, "records_out", (json_int_t)s->records_out, "bytes_in",
                             (json_int_t)s->bytes_in, "bytes_out", (json_int_t)s->bytes_out, "errors",
                             (json_int_t)s->errors, "late", (json_int_t)s->late, "lag", (json_int_t)s->lag,
                             "state_bytes", (json_int_t)s->state_bytes));
}

/* The engine's failure is one a restart cannot fix (worker_execute sets it). */
static bool worker_failure_permanent;

static void emit_state(const char *state, const char *error)
{
    json_t *o = json_pack("{s:s,s:s}", "type", "state", "state", state);
    if (error)
        json_object_set_new(o, "error", json_string(error));
    if (error && worker_failure_permanent)
        json_object_set_new(o, "retry", json_false());
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

/* Sets property key of ws to value (borrowed), in place when ws has it already. */
static void set_prop(struct worker_stream *ws, const char *key, const char *value)
{
    for (int i = 0; i < ws->es.nprops; i++)
        if (strcmp(ws->props[i].key, key) == 0) {
            ws->props[i].value = value;
            return;
        }
    ws->props[ws->es.nprops++] = (struct stream_property){key, value};
}

/* The connection's properties as ext's: the connector's, then its secrets (a secret wins over
 * a property of its name), then "__schema" (own_schema's JSON) when the connector wants it.
 * Values are borrowed from spec. 0, or -1 with err. */
static int connection_props(const struct task_spec *spec, const json_t *own_schema, bool wants_schema,
                            struct worker_stream *ext, char *err, size_t errlen)
{
    ext->props = calloc(spec->connector.nproperties + spec->nsecrets + 2, sizeof *ext->props);
    if (!ext->props) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < spec->connector.nproperties; i++)
        set_prop(ext, spec->connector.properties[i].key, spec->connector.properties[i].value);
    for (size_t i = 0; i < spec->nsecrets; i++)
        set_prop(ext, spec->secrets[i].key, spec->secrets[i].value);
    if (wants_schema) {
        ext->schema_text = own_schema ? json_dumps(own_schema, JSON_COMPACT) : NULL;
        set_prop(ext, "__schema", ext->schema_text ? ext->schema_text : "{}");
    }
    ext->es.props = ext->props;
    return 0;
}

static void free_streams(struct worker_stream *ws, int n)
{
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < ws[i].schema.nfields; k++)
            free(ws[i].schema.fields[k].name);
        free(ws[i].schema.fields);
        free(ws[i].props);
        free(ws[i].schema_text);
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

/* The connectors a connection task can run (those the API does not run itself), as
 * "datagen, kafka, ..." into out. */
static void connector_task_names(char *out, size_t outlen)
{
    const struct stream_backend *b;
    out[0] = '\0';
    for (size_t i = 0; stream_connector_name(i); i++)
        if (stream_connector_find(stream_connector_name(i), &b) == 0 && !(b && b->taskless))
            snprintf(out + strlen(out), outlen - strlen(out), "%s%s", out[0] ? ", " : "", stream_connector_name(i));
}

/* The outside end of spec's connection as the stream ext (properties and secrets merged,
 * secrets winning), and source/sink in o: type "source" copies ext into own, "sink" own into
 * ext. own is the connection's stream, streams[0] of the spec. */
static int connection_setup(const struct task_spec *spec, struct worker_stream *ext, const struct worker_stream *own,
                            struct engine_options *o, char *err, size_t errlen)
{
    const char *cname = spec->connector.name;
    const char *type = spec->connector.type;
    const struct stream_backend *b = NULL;
    if (stream_connector_find(cname, &b) != 0 || (b && b->taskless)) {
        char names[200];
        connector_task_names(names, sizeof names);
        snprintf(err, errlen, "connector must be one of %s, not \"%s\"", names, cname ? cname : "");
        return -1;
    }
    if (!b) {
        snprintf(err, errlen,
                 "this worker binary has no %s backend (the lean sluiced-worker leaves it out): run %s connections "
                 "with `sluiced worker`",
                 cname, cname);
        return -1;
    }
    bool sink = type && strcmp(type, "sink") == 0;
    if ((sink && !b->sink) || (!sink && !b->source) || (type && !sink && strcmp(type, "source") != 0)) {
        snprintf(err, errlen, "connector %s cannot be of type \"%s\" (it can be:%s%s)", cname, type ? type : "",
                 b->source ? " source" : "", b->sink ? " sink" : "");
        return -1;
    }
    ext->es.name = "__connector";
    ext->es.backend = b->name;
    ext->es.schema = own->es.schema;
    if (connection_props(spec, spec->streams[0].schema, b->wants_schema, ext, err, errlen) != 0)
        return -1;
    const char *key = b->location_key;
    ext->es.location = key ? stream_property_get(ext->es.props, ext->es.nprops, key) : "";
    if (!ext->es.location) {
        snprintf(err, errlen, "a %s connection needs the property \"%s\"", cname, key);
        return -1;
    }
    o->source = sink ? own->es.name : ext->es.name;
    o->sink = sink ? ext->es.name : own->es.name;
    return 0;
}

/* The engine options the spec sets besides the streams; 0, or -1 with err. */
static int worker_options(const struct task_spec *spec, struct engine_options *o, char *err, size_t errlen)
{
    int policy = spec->error_policy ? engine_error_policy_from_name(spec->error_policy) : ENGINE_POLICY_FAIL;
    if (policy < 0) {
        snprintf(err, errlen, "error_policy must be fail, skip or dead_letter, not \"%s\"", spec->error_policy);
        return -1;
    }
    o->error_policy = (enum engine_error_policy)policy;
    o->dead_letter_stream = spec->dead_letter_stream;
    o->bounded = spec->bounded;
    if (spec->storage_dir) { /* "<data-root>/tenants/<tenant>/streams" */
        o->storage_quota_bytes = spec->storage_quota_bytes;
        o->storage_dir = spec->storage_dir;
    }
    o->task_index = spec->task_index;
    o->task_count = spec->task_count;
    o->state_max_bytes = spec->state_max_bytes;
    o->task_size = spec->task_size;
    if (spec->kind == TASK_SPEC_PIPELINE)
        o->sql = spec->sql;
    return 0;
}

/* A Kafka-stored stream (s has a topic): w reads and writes the topic on the deployment's
 * cluster, as JSON rows, or as Debezium change events when it is an upsert stream (a primary
 * key), so that row kinds survive as they do in the embedded log. 0, or -1 with err. */
static int worker_kafka_stream(const struct task_spec *spec, const struct task_spec_stream *s, struct worker_stream *w,
                               char *err, size_t errlen)
{
    if (!spec->kafka_bootstrap_servers) {
        snprintf(err, errlen, "stream \"%s\" is stored in Kafka, but the task spec names no kafka_bootstrap_servers",
                 s->name);
        return -1;
    }
    if (!(w->props = calloc(2, sizeof *w->props))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    w->props[0] = (struct stream_property){"properties.bootstrap.servers", spec->kafka_bootstrap_servers};
    w->props[1] = (struct stream_property){"format", w->schema.nprimary_key > 0 ? "debezium-json" : "json"};
    w->es.props = w->props;
    w->es.nprops = 2;
    w->es.backend = "kafka";
    w->es.location = s->topic;
    w->es.replay_dedup = true; /* a task alone writes its partition of a stream (README) */
    return 0;
}

/* The spec's streams (embedded logs, or Kafka topics) into ws, *n of them; 0, or -1 with err. */
static int worker_streams(const struct task_spec *spec, struct worker_stream *ws, int *n, char *err, size_t errlen)
{
    for (size_t i = 0; i < spec->nstreams; i++) {
        const struct task_spec_stream *s = &spec->streams[i];
        struct worker_stream *w = &ws[(*n)++];
        w->es.name = s->name;
        w->es.location = s->dir;
        w->es.backend = "log";
        w->es.partitions = s->partitions;
        if (schema_from_json(s->schema, &w->schema, w->es.name, err, errlen) != 0)
            return -1;
        w->es.schema = &w->schema;
        if (s->topic && worker_kafka_stream(spec, s, w, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* The spec's lookup tables (a pipeline's postgres connections named in its SQL) into ws after
 * the *n streams: streams of their connector, queried per key by the lookup join
 * (pg_lookup_attach), never read as logs. The streams come first, so a stream of the same name
 * is the one the SQL reads. 0, or -1 with err. */
static int worker_lookups(const struct task_spec *spec, struct worker_stream *ws, int *n, char *err, size_t errlen)
{
    for (size_t i = 0; i < spec->nlookups; i++) {
        const struct task_spec_lookup *l = &spec->lookups[i];
        struct worker_stream *w = &ws[(*n)++];
        w->es.name = l->name;
        w->es.backend = l->connector;
        if (schema_from_json(l->schema, &w->schema, l->name, err, errlen) != 0)
            return -1;
        w->es.schema = &w->schema;
        if (!(w->props = calloc(l->nproperties + 1, sizeof *w->props))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (size_t k = 0; k < l->nproperties; k++)
            set_prop(w, l->properties[k].key, l->properties[k].value);
        w->es.props = w->props;
        const char *table = stream_property_get(w->es.props, w->es.nprops, "table");
        w->es.location = table ? table : "";
    }
    return 0;
}

/* Runs the engine with task's options, reporting on stdout; returns 0 when it completed or stopped. */
static int worker_execute(const struct engine_options *task, const char *task_id, char *err, size_t errlen)
{
    struct engine_options o = *task;
    /* A supervisor names a directory the pipeline's tasks share (checkpoint.h); alone, the
     * worker keeps its checkpoint in its data directory. */
    char ckpt[4200];
    if (!o.checkpoint_dir) {
        seglog_mkdir_parents("checkpoints");
        snprintf(ckpt, sizeof ckpt, "checkpoints/%s.ckpt", task_id);
        o.checkpoint_path = ckpt;
    }
    struct worker w = {.task_id = task_id};
    o.stop = &worker_stop;
    o.report = worker_report;
    o.log = worker_log;
    o.ctx = &w;
    emit_state("running", NULL);
    struct engine_stats final;
    enum engine_result result = engine_run(&o, &final, err, errlen);
    worker_failure_permanent = result == ENGINE_FAILED && final.permanent;
    emit_metrics(&final);
    if (result == ENGINE_COMPLETED)
        emit_state("completed", NULL);
    else if (result == ENGINE_STOPPED)
        emit_state("stopped", NULL);
    return result == ENGINE_FAILED ? -1 : 0;
}

/* The spec's user-defined functions as the engine's definitions (into o; free them with
 * sql_function_defs_free(o->functions, o->nfunctions)); 0, or -1 with err. */
static int worker_functions(const struct task_spec *spec, struct engine_options *o, char *err, size_t errlen)
{
    struct sql_function_def *defs = calloc(spec->nfunctions + 1, sizeof *defs);
    if (!defs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < spec->nfunctions; i++) {
        const struct task_spec_function *f = &spec->functions[i];
        struct sql_error se;
        if (sql_function_define(f->name, f->returns, f->source, &defs[i], &se) != 0) {
            snprintf(err, errlen, "function \"%s\": %s", f->name, se.message);
            sql_function_defs_free(defs, i);
            return -1;
        }
    }
    o->functions = defs;
    o->nfunctions = (int)spec->nfunctions;
    return 0;
}

/* Sets up streams and options from the spec and runs it; returns 0, or -1 with err. */
static int worker_run_spec(const struct task_spec *spec, char *err, size_t errlen)
{
    log_set_id(spec->task_id);
    if (seglog_mkdir_parents(spec->data_dir) != 0 || chdir(spec->data_dir) != 0) {
        snprintf(err, errlen, "cannot use data_dir %s: %s", spec->data_dir, strerror(errno));
        return -1;
    }
    struct engine_options o = {.checkpoint_dir = spec->checkpoint_dir};
    if (worker_options(spec, &o, err, errlen) != 0 || worker_functions(spec, &o, err, errlen) != 0)
        return -1;
    /* the spec's streams, and a connection's outside end */
    struct worker_stream *ws = calloc(spec->nstreams + spec->nlookups + 1, sizeof *ws);
    struct engine_stream *es = calloc(spec->nstreams + spec->nlookups + 1, sizeof *es);
    int rc = -1, nstreams = 0;
    if (!ws || !es)
        snprintf(err, errlen, "out of memory");
    else if (worker_streams(spec, ws, &nstreams, err, errlen) == 0 &&
             worker_lookups(spec, ws, &nstreams, err, errlen) == 0 &&
             (spec->kind == TASK_SPEC_PIPELINE ||
              connection_setup(spec, &ws[nstreams++], &ws[0], &o, err, errlen) == 0)) {
        for (int k = 0; k < nstreams; k++)
            es[k] = ws[k].es;
        o.streams = es;
        o.nstreams = nstreams;
        rc = worker_execute(&o, spec->task_id, err, errlen);
    }
    if (ws)
        free_streams(ws, nstreams);
    free(es);
    sql_function_defs_free((struct sql_function_def *)o.functions, (size_t)o.nfunctions);
    return rc;
}

/* Installs the seccomp allow-list when asked to (it forbids exec, so after exec) and says so. */
static void worker_lock_down(bool seccomp)
{
    if (!seccomp)
        return;
    char report[256];
    seccomp_lock_down(report, sizeof report);
    emit_json_line(json_pack("{s:s,s:s,s:s}", "type", "sandbox", "layer", "seccomp", "status", report));
}

/* Runs the spec js (a task's, or a preview's); returns 0, or -1 with err. */
static int worker_run_json(json_t *js, char *err, size_t errlen)
{
    const char *kind = json_string_value(json_object_get(js, "kind"));
    if (kind && strcmp(kind, "preview") == 0) {
        worker_lock_down(json_is_true(json_object_get(json_object_get(js, "sandbox"), "seccomp")));
        return preview_worker_run(js, err, errlen);
    }
    if (kind && strcmp(kind, "check") == 0) {
        worker_lock_down(json_is_true(json_object_get(json_object_get(js, "sandbox"), "seccomp")));
        return connection_check_worker_run(js, err, errlen);
    }
    if (kind && strcmp(kind, "function") == 0) {
        worker_lock_down(json_is_true(json_object_get(json_object_get(js, "sandbox"), "seccomp")));
        return function_check_worker_run(js, err, errlen);
    }
    struct task_spec spec;
    if (task_spec_from_json(js, &spec, err, errlen) != 0)
        return -1;
    worker_lock_down(spec.seccomp);
    int rc = worker_run_spec(&spec, err, errlen);
    task_spec_free(&spec);
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
    int rc = worker_run_json(spec, err, sizeof err);
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
    const char *file;
    char *data_dir, *error_policy, *dead_letter; /* malloc'd by the option table */
    int bounded, print;
    long checkpoint_ms, checkpoint_records;
};

/* Options of `sluiced run` (--NAME), rows of the shared option type; a BOOL one is a flag
 * that takes no value. */
#define RUN_FIELD(member) OPTION_FIELD(struct run_args, member)
static const struct option_row run_option_rows[] = {
    {.name = "data-dir",
     .type = OPTION_STRING,
     .def = "sluice-data",
     RUN_FIELD(data_dir),
     .help = "directory of the streams (default ./sluice-data)"},
    {.name = "bounded", .type = OPTION_BOOL, RUN_FIELD(bounded), .help = "stop at the end of the input and complete"},
    {.name = "print",
     .type = OPTION_BOOL,
     RUN_FIELD(print),
     .help = "write the output to stdout instead of the sink stream"},
    {.name = "error-policy", .type = OPTION_STRING, RUN_FIELD(error_policy), .help = "fail | skip | dead_letter"},
    {.name = "dead-letter", .type = OPTION_STRING, RUN_FIELD(dead_letter), .help = "stream for dead_letter"},
    {.name = "checkpoint-ms",
     .type = OPTION_INT,
     .max = LONG_MAX,
     RUN_FIELD(checkpoint_ms),
     .help = "checkpoint interval (default 1000)"},
    {.name = "checkpoint-records",
     .type = OPTION_INT,
     .max = LONG_MAX,
     RUN_FIELD(checkpoint_records),
     .help = "also every N records"},
};
#undef RUN_FIELD
static const struct option_table run_options = OPTION_TABLE(NULL, run_option_rows);

static void run_usage(FILE *out)
{
    fprintf(out, "usage: sluiced run FILE.sql [options]\n\nRuns the INSERT statements of a pipeline file locally:"
                 " streams WITH ('connector'='datagen', ...) are generated,\n('connector'='kafka', 'topic'=..., "
                 "'properties.bootstrap.servers'=...) are Kafka topics,\n('connector'='postgres', 'url'=..., "
                 "'table'=...) and ('connector'='webhook', 'url'=...) are sinks,\n('connector'='filesystem', "
                 "'path'=..., 'format'='csv'|'json') are files,\nothers are embedded logs under "
                 "the data directory.\n\noptions:\n");
    for (size_t i = 0; i < run_options.n; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s", run_options.rows[i].name);
        fprintf(out, "  %-22s %s\n", flag, run_options.rows[i].help);
    }
}

static const char *run_no_value(void *ctx, const char *name) { return NULL; }

/* The option row of argv[i] ("--NAME"), or NULL with a message. */
static const struct option_row *run_option_of(const char *arg)
{
    const struct option_row *o = strncmp(arg, "--", 2) == 0 ? option_find(&run_options, arg + 2) : NULL;
    if (!o)
        fprintf(stderr, "sluiced run: unknown option \"%s\"\n", arg);
    return o;
}

/* Fills *a (defaults first) from argv; free it with option_table_free(&run_options, a). */
static int run_parse_args(int argc, char **argv, struct run_args *a)
{
    char err[256];
    if (option_table_apply(&run_options, run_no_value, NULL, a, err, sizeof err) != 0) {
        fprintf(stderr, "sluiced run: %s\n", err);
        return -1;
    }
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-') {
            if (a->file) {
                fprintf(stderr, "sluiced run: one pipeline file only (got \"%s\" too)\n", argv[i]);
                return -1;
            }
            a->file = argv[i];
            continue;
        }
        const struct option_row *o = run_option_of(argv[i]);
        if (!o)
            return -1;
        if (o->type != OPTION_BOOL && i + 1 >= argc) {
            fprintf(stderr, "sluiced run: %s needs a value\n", argv[i]);
            return -1;
        }
        if (option_store(&run_options, o, o->type == OPTION_BOOL ? "true" : argv[++i], a, err, sizeof err) != 0) {
            fprintf(stderr, "sluiced run: %s\n", err);
            return -1;
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

/* d's METADATA columns into fields (the schema's JSON fields, in order): "metadata": key, and
 * "virtual": true when VIRTUAL. */
static void run_schema_metadata(const struct sql_stream_def *d, json_t *fields)
{
    for (int i = 0; i < d->nmetadata; i++) {
        json_t *f = json_array_get(fields, (size_t)d->metadata[i].field);
        json_object_set_new(f, "metadata", json_string(d->metadata[i].key));
        if (d->metadata[i].is_virtual)
            json_object_set_new(f, "virtual", json_true());
    }
}

/* d's schema as the JSON the api stores ({"fields":[{"name","type"}]}, METADATA columns with
 * "metadata"), compact, malloc'ed; NULL when out of memory or a field has no SQL type. */
static char *run_schema_json(const struct sql_stream_def *d)
{
    const struct schema *s = &d->schema;
    json_t *fields = json_array();
    for (int i = 0; fields && i < s->nfields; i++) {
        const char *type = NULL;
        for (size_t t = 0; t < sizeof run_type_names / sizeof run_type_names[0]; t++)
            if (run_type_names[t].type == s->fields[i].type)
                type = run_type_names[t].name;
        if (value_is_decimal(s->fields[i].type) || s->fields[i].type == VT_DATE)
            type = value_type_name(s->fields[i].type); /* "DECIMAL(10, 2)", "DATE" */
        if (!type ||
            json_array_append_new(fields, json_pack("{s:s,s:s}", "name", s->fields[i].name, "type", type)) != 0) {
            json_decref(fields);
            return NULL;
        }
    }
    if (fields)
        run_schema_metadata(d, fields);
    json_t *js = fields ? json_pack("{s:o}", "fields", fields) : NULL;
    json_t *key = s->nprimary_key > 0 && js ? json_array() : NULL; /* an upsert stream's */
    for (int k = 0; key && k < s->nprimary_key; k++)
        json_array_append_new(key, json_string(s->fields[s->primary_key[k]].name));
    if (key)
        json_object_set_new(js, "primary_key", key);
    char *text = js ? json_dumps(js, JSON_COMPACT) : NULL;
    json_decref(js);
    return text;
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

/* The pipeline file a.file parsed into script; 0, or the exit status with the error printed. */
static int run_load_script(const struct run_args *a, struct sql_script *script)
{
    FILE *f = fopen(a->file, "r");
    if (!f) {
        fprintf(stderr, "sluiced run: cannot open %s: %s\n", a->file, strerror(errno));
        return 1;
    }
    char *text = read_all(f);
    fclose(f);
    struct sql_error se = {0};
    if (!text) {
        fprintf(stderr, "%s: cannot read: out of memory\n", a->file);
        return 1;
    }
    if (sql_script_parse(text, script, &se) != 0) {
        char msg[400];
        sql_error_format(&se, msg, sizeof msg);
        fprintf(stderr, "%s: %s\n", a->file, msg);
        free(text);
        return 1;
    }
    free(text);
    if (script->ninserts == 0) {
        fprintf(stderr, "%s: no INSERT statement to run\n", a->file);
        sql_script_free(script);
        return 1;
    }
    return 0;
}

/* Every stream of a run as the engine sees it, with the memory its fields point to. */
struct run_streams {
    struct engine_stream *base;
    int n;                          /* streams in base */
    int cap;                        /* entries of the arrays: the file's streams and a dead-letter one */
    struct stream_property **props; /* each stream's properties */
    char **locations;               /* embedded logs' directories */
    char **schemas;                 /* "__schema" values */
};

/* "<data_dir>/streams/<name>", malloc'ed; NULL when out of memory. */
static char *run_log_location(const char *data_dir, const char *name)
{
    size_t size = strlen(data_dir) + strlen(name) + 16;
    char *path = malloc(size);
    if (path)
        snprintf(path, size, "%s/streams/%s", data_dir, name);
    return path;
}

/* Stream i of rs from its declaration d; 0, or -1 when out of memory. */
static int run_stream_define(struct run_streams *rs, int i, const struct sql_stream_def *d, const char *data_dir)
{
    const char *connector = sql_stream_option(d, "connector");
    if (!connector) /* Flink's legacy form (Nexmark q13): 'connector.type' = 'filesystem' */
        connector = sql_stream_option(d, "connector.type");
    const struct stream_backend *cb = NULL;
    stream_connector_find(connector, &cb); /* NULL: a log, or no connector: the engine says which */
    struct stream_property *props = rs->props[i] = calloc((size_t)d->noptions + 1, sizeof *props);
    if (!props || !(rs->locations[i] = run_log_location(data_dir, d->name)))
        return -1;
    int nprops = d->noptions;
    for (int k = 0; k < d->noptions; k++)
        props[k] = (struct stream_property){d->options[k].key, d->options[k].value};
    /* a sink that maps fields to columns (postgres) gets the table's schema, as a
     * connection task does */
    if (cb && cb->wants_schema && (rs->schemas[i] = run_schema_json(d)))
        props[nprops++] = (struct stream_property){"__schema", rs->schemas[i]};
    /* a connector's stream lives where its location property says (a Kafka topic, a
     * postgres table, a webhook url), an embedded log under the data directory */
    const char *key = cb ? cb->location_key : NULL;
    const char *where = key ? sql_stream_option(d, key) : NULL;
    rs->base[i] = (struct engine_stream){.name = d->name,
                                         .backend = connector ? connector : "log",
                                         .location = key ? (where ? where : "") : rs->locations[i],
                                         .schema = &d->schema,
                                         .props = props,
                                         .nprops = nprops};
    return 0;
}

static void run_streams_free(struct run_streams *rs)
{
    for (int i = 0; i < rs->cap; i++) {
        free(rs->props ? rs->props[i] : NULL);
        free(rs->locations ? rs->locations[i] : NULL);
        free(rs->schemas ? rs->schemas[i] : NULL);
    }
    free(rs->schemas);
    free(rs->props);
    free(rs->locations);
    free(rs->base);
    memset(rs, 0, sizeof *rs);
}

/* d's METADATA columns against what its connector cb (NULL: none, an embedded log) reads: the
 * first bad one printed with its place in the file. 0, or 1. */
static int run_metadata_check(const struct sql_stream_def *d, const struct stream_backend *cb, const char *file)
{
    for (int i = 0; i < d->nmetadata; i++) {
        const struct sql_metadata_column *m = &d->metadata[i];
        const struct field *f = &d->schema.fields[m->field];
        const char *const *k = cb ? cb->metadata : NULL;
        size_t klen = strlen(m->key);
        while (k && *k && !(strncmp(*k, m->key, klen) == 0 && (*k)[klen] == ' '))
            k++;
        char e[400];
        if (!k || !*k) {
            char keys[200] = "";
            for (const char *const *a = cb ? cb->metadata : NULL; a && *a; a++)
                snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s'%.*s'", keys[0] ? ", " : "",
                         (int)strcspn(*a, " "), *a);
            snprintf(e, sizeof e, "connector %s has no metadata key '%s'%s%s", cb ? cb->name : "of an embedded log",
                     m->key, keys[0] ? "; it has " : "", keys);
        } else if (strcasecmp(*k + klen + 1, value_type_name(f->type)) != 0) {
            snprintf(e, sizeof e, "metadata column \"%s\" ('%s') must be %s, not %s", f->name, m->key, *k + klen + 1,
                     value_type_name(f->type));
        } else {
            continue;
        }
        fprintf(stderr, "%s: line %d, column %d: stream \"%s\": %s\n", file, m->line, m->column, d->name, e);
        return 1;
    }
    return 0;
}

/* Each connector stream's options against its connector's table, before anything runs: the
 * first bad one printed with its place in the file. 0, or 1 (the exit status). */
static int run_options_check(const struct sql_script *script, const char *file)
{
    for (int i = 0; i < script->nstreams; i++) {
        const struct sql_stream_def *d = &script->streams[i];
        const struct stream_backend *cb = NULL;
        int found = stream_connector_find(sql_stream_option(d, "connector"), &cb);
        if (run_metadata_check(d, found == 0 ? cb : NULL, file) != 0)
            return 1;
        if (found != 0 || !cb || !cb->options)
            continue;
        for (int k = 0; k < d->noptions; k++) {
            char e[400];
            if (option_check(cb->options, d->options[k].key, d->options[k].value, e, sizeof e) == 0)
                continue;
            fprintf(stderr, "%s: line %d, column %d: stream \"%s\": %s\n", file, d->options[k].line,
                    d->options[k].column, d->name, e);
            return 1;
        }
    }
    return 0;
}

/* The script's streams, and a dead-letter stream not declared in the file as an embedded log
 * of that name. 0, or 1 (the exit status) with the error printed. */
static int run_streams_new(struct run_streams *rs, const struct sql_script *script, const struct run_args *a)
{
    int n = script->nstreams;
    rs->cap = n + 1;
    rs->base = calloc((size_t)n + 1, sizeof *rs->base);
    rs->props = calloc((size_t)n + 1, sizeof *rs->props);
    rs->locations = calloc((size_t)n + 1, sizeof *rs->locations);
    rs->schemas = calloc((size_t)n + 1, sizeof *rs->schemas);
    bool ok = rs->base && rs->props && rs->locations && rs->schemas;
    for (int i = 0; ok && i < n; i++)
        ok = run_stream_define(rs, i, &script->streams[i], a->data_dir) == 0;
    rs->n = n;
    bool dlq_declared = !a->dead_letter;
    for (int i = 0; ok && i < n && !dlq_declared; i++)
        dlq_declared = strcmp(rs->base[i].name, a->dead_letter) == 0;
    if (ok && !dlq_declared) {
        ok = (rs->locations[n] = run_log_location(a->data_dir, a->dead_letter)) != NULL;
        rs->base[n] = (struct engine_stream){.name = a->dead_letter, .backend = "log", .location = rs->locations[n]};
        rs->n = ok ? n + 1 : n;
    }
    if (!ok) {
        fprintf(stderr, "sluiced run: out of memory\n");
        run_streams_free(rs);
        return 1;
    }
    return 0;
}

/* 1 when the stream called name among streams[0..n) is a print sink. */
static int run_sink_prints(const struct engine_stream *streams, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(streams[i].name, name) == 0)
            return engine_backend_prints(streams[i].backend);
    return 0;
}

/* Job q of a run: the options of its INSERT, compiled once here to report errors against the
 * file and to learn its sink (which takes the checkpoint's name). 0, or 1 with the error
 * printed. */
static int run_job_prepare(struct run_job *j, int q, const struct sql_script *script, const struct run_streams *rs,
                           const struct run_args *a, int policy, const char *ckdir)
{
    int n = rs->n;
    if (!(j->streams = calloc((size_t)n + 1, sizeof *j->streams))) {
        fprintf(stderr, "sluiced run: out of memory\n");
        return 1;
    }
    memcpy(j->streams, rs->base, (size_t)n * sizeof *rs->base);
    j->sql = script->inserts[q];
    j->o = (struct engine_options){.sql = j->sql,
                                   .streams = j->streams,
                                   .nstreams = n,
                                   .error_policy = (enum engine_error_policy)policy,
                                   .dead_letter_stream = a->dead_letter,
                                   .bounded = a->bounded,
                                   .state_ttl_ms = script->state_ttl_ms,
                                   .source_idle_timeout_ms = script->source_idle_timeout_ms,
                                   .minibatch_disabled = script->minibatch_enabled < 0,
                                   .minibatch_size = script->minibatch_size,
                                   .minibatch_latency_ms = script->minibatch_latency_ms,
                                   .state_max_bytes = (uint64_t)script->state_max_bytes,
                                   .checkpoint_interval_ms = (uint32_t)a->checkpoint_ms,
                                   .checkpoint_interval_records = (uint64_t)a->checkpoint_records,
                                   .stop = &worker_stop,
                                   .functions = script->functions,
                                   .nfunctions = script->nfunctions};
    struct run_catalog cat = {rs->base, n};
    struct sql_error se = {0};
    /* a print sink takes an updating result as it is; any other needs a PRIMARY KEY (engine.c) */
    struct plan_options po = {
        .sink_accepts_updates = 1, .functions = script->functions, .nfunctions = script->nfunctions};
    struct plan *probe = plan_compile_with(j->sql, run_catalog_lookup, &cat, &po, &se);
    if (probe && plan_is_updating(probe) && !a->print && !run_sink_prints(rs->base, n, plan_sink(probe))) {
        plan_free(probe);
        po.sink_accepts_updates = 0;
        probe = plan_compile_with(j->sql, run_catalog_lookup, &cat, &po, &se);
    }
    if (!probe) {
        char msg[400];
        sql_error_shift(&se, script->insert_line[q], script->insert_column[q]);
        sql_error_format(&se, msg, sizeof msg);
        fprintf(stderr, "%s: %s\n", a->file, msg);
        return 1;
    }
    for (int k = 0; k < n; k++) {
        if (strcmp(j->streams[k].name, plan_sink(probe)) != 0)
            continue;
        if (a->print)
            j->streams[k].backend = "print";
        if (!engine_backend_prints(j->streams[k].backend)) {
            snprintf(j->checkpoint, sizeof j->checkpoint, "%s/%s-%d.ckpt", ckdir, j->streams[k].name, q);
            j->o.checkpoint_path = j->checkpoint;
        }
    }
    plan_free(probe);
    return 0;
}

/* 0 when job q did not fail, else 1 with its error printed. */
static int run_job_status(const struct run_job *j, int q, const struct sql_script *script, const struct run_args *a)
{
    if (j->result != ENGINE_FAILED)
        return 0;
    fprintf(stderr, "%s: INSERT at line %d: %s\n", a->file, script->insert_line[q], j->err);
    return 1;
}

/* Runs the jobs: bounded, one after another (a later INSERT may read what an earlier one
 * wrote); otherwise all at once, until Ctrl-C. Returns the exit status. */
static int run_jobs_execute(struct run_job *jobs, int ninserts, const struct sql_script *script,
                            const struct run_args *a)
{
    int status = 0;
    if (a->bounded || ninserts == 1) {
        for (int q = 0; q < ninserts && status == 0; q++) {
            run_job_thread(&jobs[q]);
            status = run_job_status(&jobs[q], q, script, a);
        }
        return status;
    }
    pthread_t *threads = calloc((size_t)ninserts, sizeof *threads);
    bool *started = calloc((size_t)ninserts, sizeof *started);
    if (!threads || !started) {
        fprintf(stderr, "sluiced run: out of memory\n");
        status = 1;
    }
    for (int q = 0; q < ninserts && status == 0; q++) {
        started[q] = pthread_create(&threads[q], NULL, run_job_thread, &jobs[q]) == 0;
        if (!started[q]) {
            fprintf(stderr, "sluiced run: cannot start a thread\n");
            status = 1;
        }
    }
    for (int q = 0; threads && started && q < ninserts; q++) {
        if (!started[q])
            continue;
        pthread_join(threads[q], NULL);
        status |= run_job_status(&jobs[q], q, script, a);
    }
    free(started);
    free(threads);
    return status;
}

/* Prepares a job per INSERT of the script over the streams rs and runs them; returns the exit
 * status. */
static int run_jobs(const struct sql_script *script, const struct run_streams *rs, const struct run_args *a, int policy)
{
    int ninserts = script->ninserts, status = 0;
    struct run_job *jobs = calloc((size_t)ninserts, sizeof *jobs);
    if (!jobs) {
        fprintf(stderr, "sluiced run: out of memory\n");
        return 1;
    }
    char ckdir[4200];
    snprintf(ckdir, sizeof ckdir, "%s/checkpoints", a->data_dir);
    seglog_mkdir_parents(ckdir);
    for (int q = 0; q < ninserts && status == 0; q++)
        status = run_job_prepare(&jobs[q], q, script, rs, a, policy, ckdir);
    if (status == 0)
        status = run_jobs_execute(jobs, ninserts, script, a);
    for (int q = 0; q < ninserts; q++)
        free(jobs[q].streams);
    free(jobs);
    return status;
}

/* A file with EXPLAIN statements: each one's plan printed to stdout, nothing run (the other
 * statements are compiled, so that their errors show too). Returns the exit status. */
static int run_explain(const struct sql_script *script, const struct run_args *a)
{
    struct engine_stream *streams = calloc((size_t)script->nstreams + 1, sizeof *streams);
    if (!streams) {
        fprintf(stderr, "sluiced run: out of memory\n");
        return 1;
    }
    for (int i = 0; i < script->nstreams; i++)
        streams[i] = (struct engine_stream){.name = script->streams[i].name, .schema = &script->streams[i].schema};
    struct run_catalog cat = {streams, script->nstreams};
    struct plan_options po = {.functions = script->functions, .nfunctions = script->nfunctions};
    int status = 0;
    for (int q = 0; q < script->ninserts && status == 0; q++) {
        struct sql_error se = {0};
        struct plan_explain e;
        struct plan *p = plan_compile_with(script->inserts[q], run_catalog_lookup, &cat, &po, &se);
        if (!p) {
            char msg[400];
            sql_error_shift(&se, script->insert_line[q], script->insert_column[q]);
            sql_error_format(&se, msg, sizeof msg);
            fprintf(stderr, "%s: %s\n", a->file, msg);
            status = 1;
        } else if (script->insert_explain[q] && plan_explain(p, &e) == 0) {
            printf("%s== Plan of the statement at line %d ==\n%s", q ? "\n" : "", script->insert_line[q], e.text);
            plan_explain_free(&e);
        } else if (script->insert_explain[q]) {
            fprintf(stderr, "sluiced run: out of memory\n");
            status = 1;
        }
        plan_free(p);
    }
    free(streams);
    return status;
}

/* run_main after its arguments are read. */
static int run_with(const struct run_args *a)
{
    int policy = a->error_policy ? engine_error_policy_from_name(a->error_policy) : ENGINE_POLICY_FAIL;
    if (policy < 0) {
        fprintf(stderr, "sluiced run: --error-policy must be fail, skip or dead_letter\n");
        return 2;
    }
    struct sql_script script;
    int status = run_load_script(a, &script);
    if (status != 0)
        return status;
    for (int q = 0; q < script.ninserts; q++)
        if (script.insert_explain[q]) {
            status = run_explain(&script, a);
            sql_script_free(&script);
            return status;
        }
    install_stop_handlers();
    seglog_mkdir_parents(a->data_dir);
    struct run_streams rs = {0};
    status = run_options_check(&script, a->file);
    if (status == 0)
        status = run_streams_new(&rs, &script, a);
    if (status == 0)
        status = run_jobs(&script, &rs, a, policy);
    run_streams_free(&rs);
    sql_script_free(&script);
    return status;
}

int run_main(int argc, char **argv)
{
    struct run_args a = {0};
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        run_usage(stdout);
        return 0;
    }
    int status = run_parse_args(argc, argv, &a) != 0 ? 2 : run_with(&a);
    option_table_free(&run_options, &a);
    return status;
}
