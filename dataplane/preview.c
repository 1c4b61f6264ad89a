/* preview.c — the preview worker (see preview.h): compiles the query against the schemas in
 * its spec, reads the partitions of every stream the query reads through the plan until
 * limit rows or the deadline, and reports rows and counters as JSON lines. It runs in the
 * workers' sandbox, so whatever the query costs is this process's, under its rlimits and the
 * api's wall-clock kill. */
#include "dataplane/preview.h"

#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/clock.h"
#include "dataplane/codec/json_decode.h"
#include "dataplane/codec/json_encode.h"
#include "dataplane/log/log.h"
#include "dataplane/schema_json.h"
#include "dataplane/sql/sql.h"

#define PREVIEW_MAX_STREAMS (PLAN_MAX_SOURCES + 2) /* the sources and the sink */
#define PREVIEW_MAX_PARTITIONS 256
#define PREVIEW_BATCH 256
#define PREVIEW_IDLE_MS 10     /* sleep between polls when nothing new came */
#define PREVIEW_PROGRESS_MS 20 /* at most this often a progress line */

/* ---- catalog: the schemas the api looked up ------------------------------------------------ */

struct preview_catalog {
    struct schema schemas[PREVIEW_MAX_STREAMS];
    const char *names[PREVIEW_MAX_STREAMS];
    int n;
};

static const struct schema *preview_lookup(void *ctx, const char *name)
{
    struct preview_catalog *c = ctx;
    for (int i = 0; i < c->n; i++)
        if (strcasecmp(c->names[i], name) == 0)
            return &c->schemas[i];
    return NULL;
}

static int preview_catalog_load(struct preview_catalog *c, json_t *streams, char *err, size_t errlen)
{
    size_t i;
    json_t *js;
    json_array_foreach(streams, i, js)
    {
        const char *name = json_string_value(json_object_get(js, "name"));
        if (c->n == PREVIEW_MAX_STREAMS || !name)
            break;
        if (schema_from_json(json_object_get(js, "schema"), &c->schemas[c->n], name, err, errlen) != 0)
            return -1;
        c->names[c->n++] = name;
    }
    return 0;
}

static void preview_catalog_free(struct preview_catalog *c)
{
    for (int i = 0; i < c->n; i++)
        schema_free_fields(&c->schemas[i]);
}

/* Cell col (0 name, 1 returns, 2 source) of function i of the spec's "functions". */
static const char *preview_function_cell(const void *rows, int i, int col)
{
    static const char *const keys[] = {"name", "returns", "source"};
    const char *v = json_string_value(json_object_get(json_array_get(rows, (size_t)i), keys[col]));
    return v ? v : "";
}

/* ---- output ----------------------------------------------------------------------------- */

/* Writes all of buf to stdout (a pipe to the api); returns 0 or -1. */
static int preview_write(const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDOUT_FILENO, buf, n);
        if (w <= 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

static void preview_line(json_t *obj)
{
    char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    if (s) {
        size_t n = strlen(s);
        s[n] = '\n'; /* replaces the NUL: written with its length */
        preview_write(s, n + 1);
        free(s);
    }
    json_decref(obj);
}

/* ---- reading the source through the plan --------------------------------------------------- */

struct preview_partition {
    char dir[2048];
    int source; /* the plan's input stream it belongs to */
    int index;  /* its partition number in that stream */
    uint64_t start;
    struct seglog_reader *reader;
};

struct preview_run {
    struct plan *plan;
    int nsources;
    struct json_decoder *decoders[PLAN_MAX_SOURCES]; /* one per input stream */
    struct value *inrows[PLAN_MAX_SOURCES];
    struct json_encoder *encoder;
    struct arena *arena;
    struct json_buf out;
    long limit, rows;
    bool full;             /* limit rows sent */
    bool write_fail;       /* the api went away */
    enum row_kind in_kind; /* of the record being processed: a stateless plan keeps it */
    long long records_read, skipped;
    char first_error[400];
};

/* First offset still kept in the partition at dir (its oldest segment's base), 0 when none. */
static uint64_t preview_first_offset(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    uint64_t first = UINT64_MAX;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        unsigned long long base = strtoull(e->d_name, &end, 10);
        if (end != e->d_name && isdigit((unsigned char)e->d_name[0]) && strcmp(end, ".log") == 0 && base < first)
            first = base;
    }
    closedir(d);
    return first == UINT64_MAX ? 0 : first;
}

static int preview_put(struct json_buf *b, const char *s, size_t n)
{
    if (json_buf_reserve(b, n) != 0)
        return -1;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

/* Sends one output row as {"type":"row","op":"+I","row":...}: with its kind, as a stateful plan
 * makes it, or as the input record had it (a filter or projection keeps it, as the engine). */
static int preview_emit(void *ctx, enum row_kind kind, const struct value *row)
{
    struct preview_run *r = ctx;
    if (kind == ROW_INSERT && !plan_is_windowed(r->plan))
        kind = r->in_kind;
    if (r->rows >= r->limit) {
        r->full = true;
        return -1;
    }
    char head[48];
    int n = snprintf(head, sizeof head, "{\"type\":\"row\",\"op\":\"%s\",\"row\":", row_kind_name(kind));
    r->out.len = 0;
    if (preview_put(&r->out, head, (size_t)n) != 0 || json_encode_row(r->encoder, row, &r->out) != 0 ||
        preview_put(&r->out, "}\n", 2) != 0)
        return -1;
    if (preview_write(r->out.data, r->out.len) != 0) {
        r->write_fail = true;
        return -1;
    }
    if (++r->rows >= r->limit)
        r->full = true;
    return 0;
}

static void preview_skip(struct preview_run *r, uint64_t offset, int partition, const char *why)
{
    if (r->skipped++ == 0)
        snprintf(r->first_error, sizeof r->first_error, "partition %d, offset %llu: %s", partition,
                 (unsigned long long)offset, why);
}

/* Feeds one record of the plan's input stream `source` through the plan. */
static void preview_record(struct preview_run *r, const struct stream_record *rec, int source, int partition)
{
    char reason[256];
    r->records_read++;
    r->in_kind = rec->kind;
    if (json_decode_row(r->decoders[source], rec->data, rec->len, r->inrows[source], r->arena, reason, sizeof reason) !=
        0) {
        preview_skip(r, rec->offset, partition, reason);
        return;
    }
    struct sql_error se = {0};
    if (plan_process_source(r->plan, source, r->inrows[source], r->arena, preview_emit, r, &se) != 0 && !r->full &&
        !r->write_fail) {
        char msg[300];
        sql_error_format(&se, msg, sizeof msg);
        preview_skip(r, rec->offset, partition, msg);
    }
}

/* Reads every partition once (opening readers whose partition exists now), stopping at the
 * deadline. Returns the number of records read. */
static long preview_poll(struct preview_run *r, struct preview_partition *parts, int nparts, int64_t deadline)
{
    long got = 0;
    char err[256];
    for (int p = 0; p < nparts && !r->full && !r->write_fail; p++) {
        if (!parts[p].reader &&
            seglog_reader_open(parts[p].dir, parts[p].start, &parts[p].reader, err, sizeof err) != 0)
            continue; /* nothing written yet */
        struct stream_record recs[PREVIEW_BATCH];
        int n = seglog_reader_read(parts[p].reader, recs, PREVIEW_BATCH, err, sizeof err);
        if (n < 0) {
            preview_skip(r, seglog_reader_position(parts[p].reader), parts[p].index, err);
            continue;
        }
        for (int i = 0; i < n && !r->full && !r->write_fail && clock_mono_ms() < deadline; i++)
            preview_record(r, &recs[i], parts[p].source, parts[p].index);
        arena_reset(r->arena);
        got += n;
    }
    return got;
}

static json_t *preview_counters(const struct preview_run *r, const char *type)
{
    json_t *o = json_pack("{s:s,s:I,s:I}", "type", type, "records_read", (json_int_t)r->records_read, "skipped",
                          (json_int_t)r->skipped);
    if (o && r->skipped)
        json_object_set_new(o, "first_error", json_string(r->first_error));
    return o;
}

/* The partitions of the spec's sources (each {"dir", "partitions"}, in the plan's order; an
 * older spec's one "source"), each starting at its end (or its first record when earliest).
 * Returns a new array of *nparts, or NULL with err. */
static struct preview_partition *preview_partitions(json_t *spec, int nsources, bool earliest, int *nparts, char *err,
                                                    size_t errlen)
{
    json_t *sources = json_object_get(spec, "sources"), *one = json_object_get(spec, "source");
    if (!json_is_array(sources) && one && (sources = json_array()))
        json_array_append(sources, one);
    else
        json_incref(sources);
    struct preview_partition *parts = NULL;
    *nparts = 0;
    if (json_array_size(sources) != (size_t)nsources) {
        snprintf(err, errlen, "the query reads %d streams; the spec gives %zu sources", nsources,
                 json_array_size(sources));
    } else if (!(parts = calloc(PREVIEW_MAX_PARTITIONS, sizeof *parts))) {
        snprintf(err, errlen, "out of memory");
    }
    for (int s = 0; parts && s < nsources; s++) {
        json_t *src = json_array_get(sources, (size_t)s);
        const char *dir = json_string_value(json_object_get(src, "dir"));
        int n = (int)json_integer_value(json_object_get(src, "partitions"));
        for (int p = 0; dir && p < (n < 1 ? 1 : n) && *nparts < PREVIEW_MAX_PARTITIONS; p++) {
            struct preview_partition *pp = &parts[(*nparts)++];
            char perr[256];
            snprintf(pp->dir, sizeof pp->dir, "%s/%d", dir, p);
            pp->source = s;
            pp->index = p;
            if (earliest)
                pp->start = preview_first_offset(pp->dir);
            else if (seglog_partition_end_offset(pp->dir, &pp->start, perr, sizeof perr) != 0)
                pp->start = 0; /* not created yet: everything that comes is new */
        }
    }
    json_decref(sources);
    return parts;
}

/* The plan's decoders and row buffers, one per input stream. 0, or -1 when out of memory. */
static int preview_inputs(struct preview_run *r)
{
    r->nsources = plan_nsources(r->plan);
    for (int s = 0; s < r->nsources; s++) {
        const struct schema *in = plan_source_schema(r->plan, s);
        r->decoders[s] = json_decoder_new(in, plan_source_needed(r->plan, s));
        r->inrows[s] = calloc((size_t)(in->nfields > 0 ? in->nfields : 1), sizeof *r->inrows[s]);
        if (!r->decoders[s] || !r->inrows[s])
            return -1;
    }
    return 0;
}

int preview_worker_run(json_t *spec, char *err, size_t errlen)
{
    const char *sql = json_string_value(json_object_get(spec, "sql"));
    json_t *dl = json_object_get(spec, "deadline_mono_ms");
    if (!sql || !json_is_integer(dl) || !json_is_array(json_object_get(spec, "streams"))) {
        snprintf(err, errlen, "a preview spec needs sql, streams, sources and deadline_mono_ms");
        return -1;
    }
    int64_t deadline = (int64_t)json_integer_value(dl);
    long limit = (long)json_integer_value(json_object_get(spec, "limit"));
    bool earliest = json_is_true(json_object_get(spec, "earliest"));

    struct preview_catalog cat = {0};
    json_t *fns = json_object_get(spec, "functions");
    struct sql_function_def *defs = NULL; /* loaded here, in the sandbox: one that does not load is left out */
    int ndefs = sql_functions_define((int)json_array_size(fns), preview_function_cell, fns, &defs);
    struct preview_partition *parts = NULL;
    int nparts = 0;
    struct preview_run r = {.limit = limit > 0 ? limit : 10};
    int rc = -1;
    if (preview_catalog_load(&cat, json_object_get(spec, "streams"), err, errlen) != 0)
        goto out;
    struct sql_error se = {0};
    struct plan_options po = {.sink_accepts_updates = 1, /* a preview shows the changelog */
                              .functions = defs,
                              .nfunctions = ndefs > 0 ? ndefs : 0};
    if (!(r.plan = plan_compile_with(sql, preview_lookup, &cat, &po, &se))) {
        sql_error_format(&se, err, errlen);
        goto out;
    }
    if (!(parts = preview_partitions(spec, plan_nsources(r.plan), earliest, &nparts, err, errlen)))
        goto out;
    r.encoder = json_encoder_new(plan_output_schema(r.plan));
    r.arena = arena_new(64 * 1024);
    if (preview_inputs(&r) != 0 || !r.encoder || !r.arena) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    long long reported_read = 0, reported_skipped = 0;
    int64_t last_progress = 0;
    for (;;) {
        long got = preview_poll(&r, parts, nparts, deadline);
        int64_t now = clock_mono_ms();
        if (r.full || r.write_fail || now >= deadline)
            break;
        if ((r.records_read != reported_read || r.skipped != reported_skipped) &&
            now - last_progress >= PREVIEW_PROGRESS_MS) {
            preview_line(preview_counters(&r, "progress"));
            reported_read = r.records_read;
            reported_skipped = r.skipped;
            last_progress = now;
        }
        if (got == 0) {
            int64_t left = deadline - now;
            usleep((useconds_t)(left < PREVIEW_IDLE_MS ? left : PREVIEW_IDLE_MS) * 1000);
        }
    }
    if (!r.full && !r.write_fail)
        plan_finish(r.plan, r.arena, preview_emit, &r);
    json_t *res = preview_counters(&r, "result");
    json_object_set_new(res, "truncated", json_boolean(r.full));
    preview_line(res);
    rc = 0;
out:
    for (int p = 0; parts && p < nparts; p++)
        seglog_reader_close(parts[p].reader);
    free(parts);
    for (int k = 0; k < r.nsources; k++) {
        json_decoder_free(r.decoders[k]);
        free(r.inrows[k]);
    }
    json_encoder_free(r.encoder);
    json_buf_free(&r.out);
    arena_free(r.arena);
    plan_free(r.plan);
    preview_catalog_free(&cat);
    sql_function_defs_free(defs, (size_t)(ndefs > 0 ? ndefs : 0));
    return rc;
}
