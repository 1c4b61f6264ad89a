/* preview.c — POST /v1/preview (see preview.h): compile the query against the tenant's streams,
 * then read the source stream's embedded log through the plan until the limit or the timeout,
 * in the response's reader (parked between polls, see api/park.h). */
#include "api/preview.h"

#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/pipeline_sql.h"
#include "common/arena.h"
#include "common/json_check.h"
#include "dataplane/codec/json_decode.h"
#include "dataplane/codec/json_encode.h"
#include "dataplane/log/log.h"
#include "dataplane/sql/sql.h"

#define PREVIEW_SINK "__preview"
#define PREVIEW_MAX_STREAMS 8
#define PREVIEW_MAX_PARTITIONS 256
#define PREVIEW_BATCH 256
#define PREVIEW_SLICE_MS 50 /* longest a read holds a server thread before it yields */

static const char *const preview_starts[] = {"earliest", "latest", NULL};

static const struct json_check_field preview_fields[] = {
    {"sql", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, PIPELINE_SQL_MAX, NULL},
    {"limit", JSON_CHECK_INT, 0, 1, 1000, NULL},
    {"timeout_ms", JSON_CHECK_INT, 0, 100, 30000, NULL},
    {"start", JSON_CHECK_ENUM, 0, 0, 0, preview_starts},
};

/* ---- catalog: the tenant's streams, looked up in its transaction ------------------------- */

struct preview_stream {
    char name[128];
    char id[40];
    int partitions;
};

struct preview_catalog {
    struct api_request *req;
    struct api_response *resp;
    bool db_failed;
    struct preview_stream streams[PREVIEW_MAX_STREAMS];
    int n;
};

static json_t *preview_schema(void *vctx, const char *name)
{
    struct preview_catalog *c = vctx;
    if (c->db_failed || strcasecmp(name, PREVIEW_SINK) == 0 || c->n == PREVIEW_MAX_STREAMS)
        return NULL;
    const char *params[] = {name};
    PGresult *res = api_db_query(c->req, c->resp,
                                 "SELECT id, partitions, schema::text FROM streams WHERE lower(name) = lower($1) "
                                 "ORDER BY name = $1 DESC LIMIT 1",
                                 1, params);
    if (!res) {
        c->db_failed = true;
        return NULL;
    }
    json_t *js = NULL;
    if (PQntuples(res) > 0 && (js = json_loads(PQgetvalue(res, 0, 2), 0, NULL))) {
        struct preview_stream *s = &c->streams[c->n++];
        snprintf(s->name, sizeof s->name, "%s", name);
        snprintf(s->id, sizeof s->id, "%s", PQgetvalue(res, 0, 0));
        s->partitions = atoi(PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return js;
}

static const struct preview_stream *preview_find(const struct preview_catalog *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (strcasecmp(c->streams[i].name, name) == 0)
            return &c->streams[i];
    return NULL;
}

/* Whether sql's first word, after blanks and comments, is SELECT (then it is wrapped in an
 * INSERT). */
static bool preview_is_select(const char *sql)
{
    for (;;) {
        while (isspace((unsigned char)*sql))
            sql++;
        if (sql[0] == '-' && sql[1] == '-')
            sql += strcspn(sql, "\n");
        else if (sql[0] == '/' && sql[1] == '*' && strstr(sql + 2, "*/"))
            sql = strstr(sql + 2, "*/") + 2;
        else
            break;
    }
    return strncasecmp(sql, "SELECT", 6) == 0 && !isalnum((unsigned char)sql[6]) && sql[6] != '_';
}

/* Compiles the request's SQL: a plan, or NULL with resp filled (422, or a database error). */
static struct plan *preview_compile(const char *sql, struct preview_catalog *cat, struct api_response *resp)
{
    static const char prefix[] = "INSERT INTO " PREVIEW_SINK "\n"; /* shifts lines by one only */
    bool wrap = preview_is_select(sql);
    char *text = NULL;
    if (wrap) {
        size_t n = strlen(sql);
        text = malloc(sizeof prefix + n);
        if (!text) {
            api_fail(resp, API_INTERNAL, NULL, "out of memory");
            return NULL;
        }
        memcpy(text, prefix, sizeof prefix - 1);
        memcpy(text + sizeof prefix - 1, sql, n + 1);
    }
    struct pipeline_sql_error err;
    struct plan *plan = pipeline_compile_sql(wrap ? text : sql, preview_schema, cat, &err);
    free(text);
    if (plan || cat->db_failed)
        return plan; /* NULL after a database error: resp holds it */
    if (wrap && err.line > 1)
        err.line--;
    else if (wrap)
        err.line = err.column = 1;
    api_fail(resp, API_INVALID_SQL, json_pack("{s:s,s:i,s:i}", "field", "sql", "line", err.line, "column", err.column),
             "invalid SQL: %s (line %d, column %d)", err.message, err.line, err.column);
    return NULL;
}

/* Ends the tenant transaction (the read needs no database), or starts it again for the
 * request's epilogue (idempotency, COMMIT). Returns 0, or -1 with resp filled. */
/* ---- reading the source through the plan ------------------------------------------------- */

struct preview_partition {
    char dir[2048];
    uint64_t start;
    struct log_reader *reader;
};

struct preview_run {
    struct plan *plan;
    struct json_decoder *decoder;
    struct json_encoder *encoder;
    struct value *row;
    struct arena *arena;
    struct json_buf out;
    json_t *rows;
    long limit;
    bool full; /* limit rows collected */
    long long records_read, skipped;
    char first_error[400];
};

static int64_t preview_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

static int preview_emit(void *ctx, const struct value *row)
{
    struct preview_run *r = ctx;
    if ((long)json_array_size(r->rows) >= r->limit) {
        r->full = true;
        return -1;
    }
    r->out.len = 0;
    if (json_encode_row(r->encoder, row, &r->out) != 0)
        return -1;
    json_t *obj = json_loadb(r->out.data, r->out.len, 0, NULL);
    if (!obj)
        return -1;
    json_array_append_new(r->rows, obj);
    if ((long)json_array_size(r->rows) >= r->limit)
        r->full = true;
    return 0;
}

static void preview_skip(struct preview_run *r, uint64_t offset, int partition, const char *why)
{
    if (r->skipped++ == 0)
        snprintf(r->first_error, sizeof r->first_error, "partition %d, offset %llu: %s", partition,
                 (unsigned long long)offset, why);
}

/* Feeds one record through the plan. */
static void preview_record(struct preview_run *r, const struct stream_record *rec, int partition)
{
    char reason[256];
    r->records_read++;
    if (json_decode_row(r->decoder, rec->data, rec->len, r->row, r->arena, reason, sizeof reason) != 0) {
        preview_skip(r, rec->offset, partition, reason);
        return;
    }
    struct sql_error se = {0};
    if (plan_process(r->plan, r->row, r->arena, preview_emit, r, &se) != 0 && !r->full) {
        char msg[300];
        sql_error_format(&se, msg, sizeof msg);
        preview_skip(r, rec->offset, partition, msg);
    }
}

/* Reads every partition once (opening readers whose partition exists now). Returns the number
 * of records read. */
static long preview_poll(struct preview_run *r, struct preview_partition *parts, int nparts)
{
    long got = 0;
    char err[256];
    for (int p = 0; p < nparts && !r->full; p++) {
        if (!parts[p].reader && log_reader_open(parts[p].dir, parts[p].start, &parts[p].reader, err, sizeof err) != 0)
            continue; /* nothing written yet */
        struct stream_record recs[PREVIEW_BATCH];
        int n = log_reader_read(parts[p].reader, recs, PREVIEW_BATCH, err, sizeof err);
        if (n < 0) {
            preview_skip(r, log_reader_position(parts[p].reader), p, err);
            continue;
        }
        for (int i = 0; i < n && !r->full; i++)
            preview_record(r, &recs[i], p);
        arena_reset(r->arena);
        got += n;
    }
    return got;
}

static json_t *preview_schema_json(const struct schema *s)
{
    json_t *fields = json_array();
    for (int i = 0; i < s->nfields; i++)
        json_array_append_new(
            fields, json_pack("{s:s,s:s}", "name", s->fields[i].name, "type", sql_type_name(s->fields[i].type)));
    return json_pack("{s:o}", "fields", fields);
}

/* A preview being read: the plan over the stream's partitions until limit rows or the
 * deadline, then the answer as JSON text, handed out by preview_stream_read(). */
struct preview_reading {
    struct preview_run r;
    struct preview_partition *parts;
    int nparts;
    int64_t deadline;
    char *text; /* the answer, once done */
    size_t text_len, text_off;
};

static void preview_reading_free(void *cls)
{
    struct preview_reading *pr = cls;
    if (!pr)
        return;
    for (int p = 0; pr->parts && p < pr->nparts; p++)
        log_reader_close(pr->parts[p].reader);
    free(pr->parts);
    json_decref(pr->r.rows);
    json_decoder_free(pr->r.decoder);
    json_encoder_free(pr->r.encoder);
    json_buf_free(&pr->r.out);
    free(pr->r.row);
    arena_free(pr->r.arena);
    plan_free(pr->r.plan);
    free(pr->text);
    free(pr);
}

/* Takes plan; NULL when out of memory (plan freed). Readers start at each partition's first
 * kept offset (earliest) or its end now. */
static struct preview_reading *preview_open(struct plan *plan, const struct preview_stream *src, const char *root,
                                            const char *tenant, bool earliest, long limit, long timeout_ms)
{
    struct preview_reading *pr = calloc(1, sizeof *pr);
    if (!pr) {
        plan_free(plan);
        return NULL;
    }
    pr->nparts = src->partitions < 1                        ? 1
                 : src->partitions > PREVIEW_MAX_PARTITIONS ? PREVIEW_MAX_PARTITIONS
                                                            : src->partitions;
    pr->parts = calloc((size_t)pr->nparts, sizeof *pr->parts);
    const struct schema *in = plan_input_schema(plan);
    struct preview_run *r = &pr->r;
    *r = (struct preview_run){.plan = plan, .rows = json_array(), .limit = limit};
    r->decoder = json_decoder_new(in, plan_needed_fields(plan));
    r->encoder = json_encoder_new(plan_output_schema(plan));
    r->row = calloc((size_t)(in->nfields > 0 ? in->nfields : 1), sizeof *r->row);
    r->arena = arena_new(64 * 1024);
    if (!pr->parts || !r->decoder || !r->encoder || !r->row || !r->arena || !r->rows) {
        preview_reading_free(pr);
        return NULL;
    }
    for (int p = 0; p < pr->nparts; p++) {
        struct preview_partition *part = &pr->parts[p];
        snprintf(part->dir, sizeof part->dir, "%s/tenants/%s/streams/%s/%d", root, tenant, src->id, p);
        char err[256];
        if (earliest)
            part->start = preview_first_offset(part->dir);
        else if (log_partition_end_offset(part->dir, &part->start, err, sizeof err) != 0)
            part->start = 0; /* not created yet: everything that comes is new */
    }
    pr->deadline = preview_now_ms() + timeout_ms;
    return pr;
}

/* Reads what is there now (for at most PREVIEW_SLICE_MS). Returns 1 when the preview is done
 * (limit rows or the deadline), 0 when it should be asked again later. */
static int preview_step(struct preview_reading *pr)
{
    int64_t slice_end = preview_now_ms() + PREVIEW_SLICE_MS;
    for (;;) {
        long got = preview_poll(&pr->r, pr->parts, pr->nparts);
        int64_t now = preview_now_ms();
        if (pr->r.full || now >= pr->deadline)
            return 1;
        if (got == 0 || now >= slice_end)
            return 0;
    }
}

/* The answer as JSON text: rows (the plan finished unless the limit was reached) and counts. */
static char *preview_answer(struct preview_reading *pr)
{
    struct preview_run *r = &pr->r;
    if (!r->full)
        plan_finish(r->plan, r->arena, preview_emit, r);
    json_t *out = json_pack("{s:o, s:O, s:I, s:b, s:I}", "schema", preview_schema_json(plan_output_schema(r->plan)),
                            "rows", r->rows, "records_read", (json_int_t)r->records_read, "truncated", r->full,
                            "skipped", (json_int_t)r->skipped);
    if (out && r->skipped)
        json_object_set_new(out, "first_error", json_string(r->first_error));
    char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(out);
    return text;
}

/* The response body's reader (api/http.h): 0 while the preview waits for records (the
 * connection is parked meanwhile), then the answer, then the end. */
static long preview_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct preview_reading *pr = cls;
    if (!pr->text) {
        if (!preview_step(pr))
            return 0;
        if (!(pr->text = preview_answer(pr)))
            return -2; /* MHD_CONTENT_READER_END_WITH_ERROR: out of memory */
        pr->text_len = strlen(pr->text);
    }
    if (pr->text_off == pr->text_len)
        return -1; /* MHD_CONTENT_READER_END_OF_STREAM */
    size_t n = pr->text_len - pr->text_off < max ? pr->text_len - pr->text_off : max;
    memcpy(buf, pr->text + pr->text_off, n);
    pr->text_off += n;
    return (long)n;
}

int preview_run(struct api_request *req, struct api_response *resp)
{
    struct json_check_error cerr;
    if (json_check_object(req->json, "", preview_fields, sizeof preview_fields / sizeof preview_fields[0], false,
                          &cerr) < 0)
        return api_fail_field(resp, API_INVALID_REQUEST, cerr.field, "%s", cerr.message);
    const char *sql = json_string_value(json_object_get(req->json, "sql"));
    json_t *jl = json_object_get(req->json, "limit"), *jt = json_object_get(req->json, "timeout_ms");
    long limit = jl ? (long)json_integer_value(jl) : 10;
    long timeout_ms = jt ? (long)json_integer_value(jt) : 5000;
    const char *start = json_string_value(json_object_get(req->json, "start"));
    bool earliest = start && strcmp(start, "earliest") == 0;

    struct preview_catalog cat = {.req = req, .resp = resp};
    struct plan *plan = preview_compile(sql, &cat, resp);
    if (!plan)
        return -1;
    const struct preview_stream *src = preview_find(&cat, plan_source(plan));
    if (!src) { /* the planner found it, so the catalog did */
        plan_free(plan);
        return api_fail(resp, API_INTERNAL, NULL, "internal error");
    }
    struct preview_stream source = *src;
    /* The reading happens after this returns, in the response's reader, holding no server
     * thread while it waits (api/park.h) and no database transaction. */
    struct preview_reading *pr =
        preview_open(plan, &source, req->settings->data_root ? req->settings->data_root : "var/data",
                     req->caller.tenant_id, earliest, limit, timeout_ms);
    if (!pr)
        return api_fail(resp, API_INTERNAL, NULL, "out of memory");
    return api_reply_stream(resp, "application/json", preview_stream_read, preview_reading_free, pr);
}
