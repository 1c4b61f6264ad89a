/* preview.c — POST /v1/preview (see preview.h): compile the query against the tenant's streams
 * here (bounded by the SQL length limit), then run it in a worker process of kind "preview"
 * (dataplane/preview.h) started in the workers' sandbox, and relay its output from the
 * response's reader (parked between polls, see api/park.h) until it ends or its wall-clock
 * limit, timeout_ms, when it is killed. No query is evaluated on an api thread. */
#include "api/preview.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/pipeline_sql.h"
#include "api/resources.h"
#include "api/worker_child.h"
#include "common/clock.h"
#include "common/fs.h"
#include "common/crypto.h"
#include "common/json_check.h"
#include "common/log.h"
#include "controlplane/sandbox.h"
#include "dataplane/codec/json_encode.h"
#include "dataplane/sql/sql.h"

#define PREVIEW_SINK "__preview"
#define PREVIEW_PREFIX "INSERT INTO " PREVIEW_SINK "\n" /* before a bare SELECT: shifts lines by one only */
#define PREVIEW_MAX_STREAMS (PLAN_MAX_SOURCES + 2)      /* the sources and the sink */

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
    json_t *schema;
    bool kafka; /* stored in Kafka: the preview (which reads embedded logs) cannot read it */
};

struct preview_catalog {
    struct api_request *req;
    struct api_response *resp;
    bool db_failed;
    struct preview_stream streams[PREVIEW_MAX_STREAMS];
    int n;
    char *text;        /* the SQL compiled (a SELECT wrapped in an INSERT), for the worker */
    bool wrapped;      /* text is PREVIEW_PREFIX and the caller's SELECT */
    json_t *functions; /* the spec's [{"name", "returns", "source"}]: the tenant's functions */
};

static void preview_catalog_free(struct preview_catalog *c)
{
    for (int i = 0; i < c->n; i++)
        json_decref(c->streams[i].schema);
    free(c->text);
    json_decref(c->functions);
}

static json_t *preview_schema(void *vctx, const char *name)
{
    struct preview_catalog *c = vctx;
    if (c->db_failed || strcasecmp(name, PREVIEW_SINK) == 0 || c->n == PREVIEW_MAX_STREAMS)
        return NULL;
    const char *params[] = {name};
    PGresult *res = api_db_query(c->req, c->resp,
                                 "SELECT id, partitions, schema::text, storage = 'kafka' FROM streams"
                                 " WHERE lower(name) = lower($1) "
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
        s->schema = json_incref(js);
        s->kafka = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
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

/* A name that is no stream of the tenant but one of its connections (pipeline_table_fn): never a
 * table in a preview, which reads streams only (its child has no egress to a connection's
 * database); why says so for a postgres connection, as a pipeline's check does for another. */
static json_t *preview_table(void *ctx, const char *name, char *why, size_t whysz)
{
    if (strcasecmp(name, PREVIEW_SINK) == 0)
        return NULL;
    json_t *js = resource_connection_table(ctx, name, why, whysz);
    if (js)
        snprintf(why, whysz,
                 "\"%s\" is a postgres connection: a preview reads streams only, and does not run a lookup join "
                 "against its table; create the pipeline and read its output stream",
                 name);
    json_decref(js);
    return NULL;
}

/* Compiles text against the tenant's streams and functions (declared from their stored facts,
 * sql_function_declare: no Lua here; their sources, for the child, into cat->functions). A plan,
 * or NULL (resp filled after a database error). */
static struct plan *preview_compile_text(const char *text, struct preview_catalog *cat, struct api_response *resp,
                                         struct pipeline_sql_error *err)
{
    struct sql_function_def *defs = NULL;
    int ndefs = 0;
    if (resource_pipeline_functions(cat->req, resp, text, &defs, &ndefs, &cat->functions) < 0) {
        cat->db_failed = true;
        return NULL;
    }
    struct resource_tables conns = {.req = cat->req, .resp = resp};
    struct pipeline_sql_tables tables = {preview_table, &conns, NULL};
    struct plan *plan = pipeline_compile_preview_sql_with(text, preview_schema, cat, 1, &tables, defs, ndefs, err);
    cat->db_failed = cat->db_failed || conns.db_failed;
    sql_function_defs_free(defs, (size_t)ndefs);
    return plan;
}

/* Compiles the request's SQL: a plan, or NULL with resp filled (422, or a database error). */
static struct plan *preview_compile(const char *sql, struct preview_catalog *cat, struct api_response *resp)
{
    static const char prefix[] = PREVIEW_PREFIX;
    bool wrap = preview_is_select(sql);
    size_t n = strlen(sql);
    char *text = malloc(sizeof prefix + n);
    if (!text) {
        api_fail(resp, API_INTERNAL, NULL, "out of memory");
        return NULL;
    }
    if (wrap) {
        memcpy(text, prefix, sizeof prefix - 1);
        memcpy(text + sizeof prefix - 1, sql, n + 1);
    } else {
        memcpy(text, sql, n + 1);
    }
    cat->text = text;
    cat->wrapped = wrap;
    struct pipeline_sql_error err;
    struct plan *plan = preview_compile_text(text, cat, resp, &err);
    if (plan && plan_is_explain(plan)) { /* it names no sink to run into */
        plan_free(plan);
        api_fail(resp, API_INVALID_SQL, json_pack("{s:s,s:i,s:i}", "field", "sql", "line", 1, "column", 1),
                 "invalid SQL: EXPLAIN shows a plan and runs nothing; POST it to /v1/pipelines/explain (line 1, "
                 "column 1)");
        return NULL;
    }
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

/* ---- concurrency: previews running now, per api process and per tenant ------------------- */

#define PREVIEW_MAX_RUNNING 8    /* children of this api process at once */
#define PREVIEW_MAX_PER_TENANT 2 /* of one tenant */

static struct {
    pthread_mutex_t lock;
    int running;
    struct {
        char tenant[40];
        int n;
    } tenants[PREVIEW_MAX_RUNNING];
} preview_slots = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Takes a slot for tenant: 0, or -1 when this process or this tenant runs too many. */
static int preview_slot_take(const char *tenant)
{
    int rc = -1;
    pthread_mutex_lock(&preview_slots.lock);
    int free_row = -1, row = -1;
    for (int i = 0; i < PREVIEW_MAX_RUNNING; i++) {
        if (preview_slots.tenants[i].n == 0 && free_row < 0)
            free_row = i;
        if (preview_slots.tenants[i].n > 0 && strcmp(preview_slots.tenants[i].tenant, tenant) == 0)
            row = i;
    }
    if (preview_slots.running < PREVIEW_MAX_RUNNING && (row >= 0 || free_row >= 0) &&
        (row < 0 || preview_slots.tenants[row].n < PREVIEW_MAX_PER_TENANT)) {
        if (row < 0) {
            row = free_row;
            snprintf(preview_slots.tenants[row].tenant, sizeof preview_slots.tenants[row].tenant, "%s", tenant);
        }
        preview_slots.tenants[row].n++;
        preview_slots.running++;
        rc = 0;
    }
    pthread_mutex_unlock(&preview_slots.lock);
    return rc;
}

static void preview_slot_give(const char *tenant)
{
    pthread_mutex_lock(&preview_slots.lock);
    for (int i = 0; i < PREVIEW_MAX_RUNNING; i++)
        if (preview_slots.tenants[i].n > 0 && strcmp(preview_slots.tenants[i].tenant, tenant) == 0) {
            preview_slots.tenants[i].n--;
            preview_slots.running--;
            break;
        }
    pthread_mutex_unlock(&preview_slots.lock);
}

/* ---- the child: a worker of kind "preview" in the workers' sandbox ------------------------ */

#define PREVIEW_ADDRESS_SPACE (1ull << 30) /* RLIMIT_AS: the smallest task's, one thread */
#define PREVIEW_OPEN_FILES 256
#define PREVIEW_MAX_OUTPUT (4u << 20) /* rows relayed per preview; past it the child is stopped */
#define PREVIEW_POLL_MS 5             /* how often a waiting preview's connection is resumed */

/* The worker binary: the lean sluiced-worker beside this executable, else this one. */
static char preview_worker_path[PATH_MAX];
static pthread_once_t preview_worker_once = PTHREAD_ONCE_INIT;

static void preview_find_worker(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash &&
        snprintf(preview_worker_path, sizeof preview_worker_path, "%.*s/sluiced-worker", (int)(slash - self), self) <
            (int)sizeof preview_worker_path &&
        access(preview_worker_path, X_OK) == 0)
        return;
    snprintf(preview_worker_path, sizeof preview_worker_path, "%s", self);
}

/* A preview being relayed: the child's output read as it comes, the answer built at its end. */
struct preview_relay {
    pid_t pid;
    int out_fd;
    int64_t deadline; /* the hard wall-clock limit: SIGKILL then */
    char tenant[40];
    char workdir[1024];
    char *schema_text;    /* the output schema as JSON, from the api's compile */
    struct json_buf line; /* a partial line */
    struct json_buf rows; /* row objects, comma-separated */
    struct json_buf ops;  /* their row kinds ("+I", ...), quoted and comma-separated */
    long nrows;
    long long records_read, skipped;
    char first_error[400];
    char error[400]; /* the child failed (or was stopped for its output) */
    bool got_result, truncated, timed_out, too_much;
    bool updating; /* the result is a changelog (-U, +U, -D rows), not inserts only */
    bool wrapped;  /* a bare SELECT was compiled behind PREVIEW_PREFIX: positions are a line down */
    char *text;    /* the answer, once done */
    size_t text_len, text_off;
};

/* A row error's "line N, column M" in the text behind PREVIEW_PREFIX, as the line of the
 * caller's own SQL (N - 1), in place; other text is left as it is. */
static void preview_unshift_line(char *msg, size_t size)
{
    char *at = strstr(msg, "line ");
    char *end;
    long line = at ? strtol(at + 5, &end, 10) : 0;
    if (!at || line < 2 || strncmp(end, ", column ", 9) != 0)
        return;
    char tail[400];
    snprintf(tail, sizeof tail, "%s", end);
    snprintf(at + 5, size - (size_t)(at + 5 - msg), "%ld%s", line - 1, tail); /* no longer than before */
}

static int preview_buf_put(struct json_buf *b, const char *s, size_t n)
{
    if (n == 0)
        return 0; /* s may be NULL then (no rows yet), which memcpy must not be given */
    if (json_buf_reserve(b, n) != 0)
        return -1;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

static void preview_counters(struct preview_relay *pr, json_t *obj)
{
    json_t *v;
    if ((v = json_object_get(obj, "records_read")) && json_is_integer(v))
        pr->records_read = json_integer_value(v);
    if ((v = json_object_get(obj, "skipped")) && json_is_integer(v))
        pr->skipped = json_integer_value(v);
    if ((v = json_object_get(obj, "first_error")) && json_is_string(v)) {
        snprintf(pr->first_error, sizeof pr->first_error, "%s", json_string_value(v));
        if (pr->wrapped)
            preview_unshift_line(pr->first_error, sizeof pr->first_error);
    }
}

/* The row of a row line as the child wrote it, `{"type":"row","op":"+I","row":{...}}`, as text
 * (malloc'd), or NULL when the line is not exactly that. obj is the line parsed with duplicate
 * keys refused: when it has just those three keys and the text begins with them in that order and
 * ends with the object's '}', what lies between is the row's value and nothing beside it, so it
 * needs no second parse. Passing the worker's own text on keeps its numbers as written: a DOUBLE
 * in its shortest exact form (1985359.252), which jansson would print with 17 digits
 * (1985359.2520000001). */
static char *preview_row_text(const char *text, size_t len, json_t *obj, const char *op)
{
    char head[64];
    int n = snprintf(head, sizeof head, "{\"type\":\"row\",\"op\":\"%s\",\"row\":", op ? op : "");
    if (!op || json_object_size(obj) != 3 || n <= 0 || (size_t)n >= sizeof head || len < (size_t)n + 3 ||
        memcmp(text, head, (size_t)n) != 0 || text[len - 1] != '}')
        return NULL;
    return strndup(text + n, len - (size_t)n - 1);
}

/* One line from the child (its JSON is checked: the relay forwards nothing it did not parse). */
static void preview_child_line(struct preview_relay *pr, const char *text, size_t len)
{
    json_t *obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    const char *type = json_string_value(json_object_get(obj, "type"));
    if (!type) {
        json_decref(obj);
        return;
    }
    if (strcmp(type, "row") == 0 && json_is_object(json_object_get(obj, "row"))) {
        const char *op = json_string_value(json_object_get(obj, "op"));
        char *row = preview_row_text(text, len, obj, op);
        if (!row)
            row = json_dumps(json_object_get(obj, "row"), JSON_COMPACT | JSON_PRESERVE_ORDER);
        enum row_kind kind = ROW_INSERT;
        if (op && row_kind_parse(op, strlen(op), &kind) != 0)
            kind = ROW_INSERT; /* not one: the child's output is checked, never passed on as it is */
        const char *sep = pr->nrows == 0 ? "" : ",";
        char quoted[8];
        snprintf(quoted, sizeof quoted, "%s\"%s\"", sep, row_kind_name(kind));
        if (row && preview_buf_put(&pr->rows, sep, strlen(sep)) == 0 &&
            preview_buf_put(&pr->rows, row, strlen(row)) == 0 && preview_buf_put(&pr->ops, quoted, strlen(quoted)) == 0)
            pr->nrows++;
        free(row);
    } else if (strcmp(type, "progress") == 0) {
        preview_counters(pr, obj);
    } else if (strcmp(type, "result") == 0) {
        preview_counters(pr, obj);
        pr->truncated = json_is_true(json_object_get(obj, "truncated"));
        pr->got_result = true;
    } else if (strcmp(type, "state") == 0 && json_is_string(json_object_get(obj, "error"))) {
        snprintf(pr->error, sizeof pr->error, "%s", json_string_value(json_object_get(obj, "error")));
    }
    json_decref(obj);
}

/* Reads what the child wrote. Returns 1 at its end of output, 0 when more may come. */
static int preview_child_read(struct preview_relay *pr)
{
    char buf[65536];
    for (int rounds = 0; rounds < 16; rounds++) {
        ssize_t n = read(pr->out_fd, buf, sizeof buf);
        if (n == 0)
            return 1;
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : 1;
        size_t off = 0;
        while (off < (size_t)n) {
            char *nl = memchr(buf + off, '\n', (size_t)n - off);
            size_t take = nl ? (size_t)(nl - (buf + off)) : (size_t)n - off;
            if (preview_buf_put(&pr->line, buf + off, take) != 0)
                return 1;
            off += take;
            if (nl) {
                preview_child_line(pr, pr->line.data, pr->line.len);
                pr->line.len = 0;
                off++;
            }
        }
        if (pr->rows.len + pr->line.len > PREVIEW_MAX_OUTPUT) {
            pr->too_much = pr->truncated = true;
            return 1;
        }
    }
    return 0;
}

/* Stops the child (SIGKILL when it still runs), reaps it, removes its directory. */
static void preview_child_end(struct preview_relay *pr, bool kill_it)
{
    if (pr->pid > 0) {
        int status;
        if (kill_it)
            kill(pr->pid, SIGKILL);
        while (waitpid(pr->pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (!pr->got_result && !pr->error[0] && !kill_it) {
            if (WIFSIGNALED(status))
                snprintf(pr->error, sizeof pr->error, "the preview worker was killed by signal %d (%s)",
                         WTERMSIG(status), WTERMSIG(status) == SIGXCPU ? "CPU limit" : "a resource limit");
            else
                snprintf(pr->error, sizeof pr->error, "the preview worker ended without an answer (exit %d)",
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
        pr->pid = -1;
        preview_slot_give(pr->tenant);
    }
    if (pr->out_fd >= 0) {
        close(pr->out_fd);
        pr->out_fd = -1;
    }
    if (pr->workdir[0]) {
        worker_child_rm_dir(pr->workdir);
        pr->workdir[0] = '\0';
    }
}

static void preview_relay_free(void *cls)
{
    struct preview_relay *pr = cls;
    if (!pr)
        return;
    preview_child_end(pr, true);
    json_buf_free(&pr->line);
    json_buf_free(&pr->rows);
    json_buf_free(&pr->ops);
    free(pr->schema_text);
    free(pr->text);
    free(pr);
}

/* The answer: today's shape, plus timed_out and error. */
static char *preview_answer(struct preview_relay *pr)
{
    json_t *tail =
        json_pack("{s:b, s:I, s:b, s:I, s:b}", "updating", pr->updating, "records_read", (json_int_t)pr->records_read,
                  "truncated", pr->truncated, "skipped", (json_int_t)pr->skipped, "timed_out", pr->timed_out);
    if (tail && pr->first_error[0])
        json_object_set_new(tail, "first_error", json_string(pr->first_error));
    if (tail && pr->too_much)
        json_object_set_new(tail, "error", json_string("the preview's rows passed 4 MiB; the rest were left out"));
    else if (tail && pr->error[0])
        json_object_set_new(tail, "error", json_string(pr->error));
    char *tail_text = tail ? json_dumps(tail, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(tail);
    if (!tail_text)
        return NULL;
    struct json_buf b = {0};
    static const char a[] = "{\"schema\":", r[] = ",\"rows\":[", o[] = "],\"ops\":[", e[] = "],";
    bool ok = preview_buf_put(&b, a, sizeof a - 1) == 0 &&
              preview_buf_put(&b, pr->schema_text, strlen(pr->schema_text)) == 0 &&
              preview_buf_put(&b, r, sizeof r - 1) == 0 && preview_buf_put(&b, pr->rows.data, pr->rows.len) == 0 &&
              preview_buf_put(&b, o, sizeof o - 1) == 0 && preview_buf_put(&b, pr->ops.data, pr->ops.len) == 0 &&
              preview_buf_put(&b, e, sizeof e - 1) == 0 &&
              preview_buf_put(&b, tail_text + 1, strlen(tail_text)) == 0; /* tail_text's '{' dropped, NUL kept */
    free(tail_text);
    if (!ok) {
        json_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* The response body's reader (api/http.h): 0 while the child works (the connection is parked
 * for PREVIEW_POLL_MS meanwhile, holding no thread), then the answer, then the end. */
static long preview_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct preview_relay *pr = cls;
    if (!pr->text) {
        int done = preview_child_read(pr);
        bool late = !done && clock_mono_ms() >= pr->deadline;
        if (!done && !late)
            return 0;
        pr->timed_out = late && !pr->got_result;
        preview_child_end(pr, late || pr->too_much);
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

static json_t *preview_schema_json(const struct schema *s)
{
    json_t *fields = json_array();
    for (int i = 0; i < s->nfields; i++)
        json_array_append_new(
            fields, json_pack("{s:s,s:s}", "name", s->fields[i].name, "type", sql_type_name(s->fields[i].type)));
    return json_pack("{s:o}", "fields", fields);
}

/* The directory of stream src, made (owned by uid) when it is not there yet: in dir (absolute)
 * and json (for the spec). 0, or -1 with err. */
static int preview_source_dir(const char *root, const char *tenant, const struct preview_stream *src, uid_t uid,
                              char *dir, size_t dirsz, json_t *sources, char *err, size_t errsz)
{
    snprintf(dir, dirsz, "%s/tenants/%s/streams/%s", root, tenant, src->id);
    char rel[200];
    snprintf(rel, sizeof rel, "tenants/%s/streams/%s", tenant, src->id);
    int dirfd = fs_mkdir_beneath(root, rel, 1, uid, err, errsz); /* a planted symlink is refused */
    if (dirfd < 0)
        return -1;
    close(dirfd);
    json_array_append_new(sources, json_pack("{s:s,s:i}", "dir", dir, "partitions", src->partitions));
    return 0;
}

/* The spec's "sources" (each input stream's directory, in the plan's order) into *sources, and
 * what the child may see into rw (the one stream it reads; the tenant's streams when a join
 * reads several). 0, or -1 with err. */
static int preview_sources(const struct preview_relay *pr, const char *data_root, const struct preview_stream **src,
                           int nsrc, uid_t uid, json_t **sources, char *rw, size_t rwsz, char *err, size_t errsz)
{
    char root[PATH_MAX], dir[PATH_MAX + 200];
    if (!realpath(data_root, root)) {
        snprintf(err, errsz, "data root %s: %s", data_root, strerror(errno));
        return -1;
    }
    if (!(*sources = json_array())) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    for (int i = 0; i < nsrc; i++)
        if (preview_source_dir(root, pr->tenant, src[i], uid, dir, sizeof dir, *sources, err, errsz) != 0)
            return -1;
    if (nsrc > 1)
        snprintf(dir, sizeof dir, "%s/tenants/%s/streams", root, pr->tenant);
    if (snprintf(rw, rwsz, "%s", dir) >= (int)rwsz) {
        snprintf(err, errsz, "stream directory path too long");
        return -1;
    }
    return 0;
}

/* Starts the child for the compiled preview, which reads the nsrc streams src (the plan's
 * sources, in order), and fills pr (pid, out_fd, workdir). Returns 0, or -1 with err. */
static int preview_spawn(struct preview_relay *pr, const char *text_sql, const struct preview_catalog *cat,
                         const struct preview_stream **src, int nsrc, const char *data_root, uid_t uid, long limit,
                         bool earliest, long timeout_ms, char *err, size_t errsz)
{
    pthread_once(&preview_worker_once, preview_find_worker);
    pr->wrapped = cat->wrapped;
    if (!preview_worker_path[0]) {
        snprintf(err, errsz, "cannot find the worker binary");
        return -1;
    }
    char task[40];
    if (worker_child_task_id("preview", task, sizeof task) != 0) {
        snprintf(err, errsz, "no randomness");
        return -1;
    }
    if (sandbox_prepare_dirs(data_root, pr->tenant, task, uid, uid, pr->workdir, sizeof pr->workdir, err, errsz) != 0)
        return -1;
    json_t *sources = NULL;
    char rw[SANDBOX_PATH_MAX];
    if (preview_sources(pr, data_root, src, nsrc, uid, &sources, rw, sizeof rw, err, errsz) != 0) {
        json_decref(sources);
        return -1;
    }
    json_t *streams = json_array();
    for (int i = 0; i < cat->n; i++)
        json_array_append_new(streams,
                              json_pack("{s:s,s:O}", "name", cat->streams[i].name, "schema", cat->streams[i].schema));
    json_t *spec =
        json_pack("{s:s,s:s,s:s,s:o,s:o,s:i,s:b,s:I,s:{s:b}}", "kind", "preview", "task_id", task, "sql", text_sql,
                  "streams", streams, "sources", sources, "limit", (int)limit, "earliest", earliest, "deadline_mono_ms",
                  (json_int_t)(pr->deadline - (timeout_ms / 10 < 15    ? 15
                                               : timeout_ms / 10 > 200 ? 200
                                                                       : timeout_ms / 10)),
                  "sandbox", "seccomp", 1);
    if (spec && cat->functions && json_array_size(cat->functions) > 0)
        json_object_set(spec, "functions", cat->functions);
    char *spec_text = spec ? json_dumps(spec, JSON_COMPACT) : NULL;
    json_decref(spec);
    if (!spec_text) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    int in[2], out[2], null_fd;
    int rc = -1;
    if (worker_child_pipes(in, out, &null_fd, err, errsz) != 0)
        goto out;
    struct sandbox_config cfg = {
        .uid = uid,
        .gid = uid,
        .workdir = pr->workdir,
        .allow_network = 0,
        .address_space = PREVIEW_ADDRESS_SPACE,
        .cpu_seconds = (uint64_t)(timeout_ms / 1000 + 1),
        .open_files = PREVIEW_OPEN_FILES,
        .processes = geteuid() == 0 ? 65536 : 0,
    };
    /* Inside its private root the child sees its workdir and the streams it reads. */
    snprintf(cfg.rw_paths[0], sizeof cfg.rw_paths[0], "%s", rw);
    char *const argv[] = {"sluiced-worker", "worker", NULL};
    const int fds[3] = {in[0], out[1], null_fd};
    char report[1024];
    if (sandbox_spawn(&cfg, preview_worker_path, argv, fds, &pr->pid, report, sizeof report, err, errsz) != 0) {
        pr->pid = -1;
        goto out;
    }
    close(in[0]);
    close(out[1]);
    in[0] = out[1] = -1;
    worker_child_write(in[1], spec_text);
    fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
    pr->out_fd = out[0];
    out[0] = -1;
    rc = 0;
out:
    worker_child_close(in, out, null_fd);
    free(spec_text);
    return rc;
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
    if (!plan) {
        preview_catalog_free(&cat);
        return -1;
    }
    const struct preview_stream *src[PLAN_MAX_SOURCES];
    int nsrc = plan_nsources(plan), found = 0;
    for (int i = 0; i < nsrc; i++)
        found += (src[i] = preview_find(&cat, plan_source_at(plan, i))) != NULL;
    json_t *schema = preview_schema_json(plan_output_schema(plan));
    bool updating = plan_is_updating(plan);
    plan_free(plan);
    if (found != nsrc || !schema) { /* the planner found the sources, so the catalog did */
        json_decref(schema);
        preview_catalog_free(&cat);
        return api_fail(resp, API_INTERNAL, NULL, "internal error");
    }
    for (int i = 0; i < nsrc; i++) {
        if (!src[i]->kafka)
            continue;
        char name[128];
        snprintf(name, sizeof name, "%s", src[i]->name);
        json_decref(schema);
        preview_catalog_free(&cat);
        return api_fail_field(resp, API_INVALID_STREAM, "sql",
                              "stream \"%s\" is stored in Kafka, and previews read the embedded log only; read its "
                              "latest records with GET /v1/streams/{id}/records",
                              name);
    }
    /* The query runs in a child, in the workers' sandbox, under the wall-clock limit: this
     * thread only starts it; the response's reader relays its output. */
    if (preview_slot_take(req->caller.tenant_id) != 0) {
        json_decref(schema);
        preview_catalog_free(&cat);
        resp->retry_after = 1;
        return api_fail(resp, API_RATE_LIMITED, json_pack("{s:i}", "retry_after", 1),
                        "too many previews running; at most %d per tenant and %d in all at once, try again in a "
                        "moment",
                        PREVIEW_MAX_PER_TENANT, PREVIEW_MAX_RUNNING);
    }
    struct preview_relay *pr = calloc(1, sizeof *pr);
    if (pr) {
        pr->pid = -1;
        pr->out_fd = -1;
        snprintf(pr->tenant, sizeof pr->tenant, "%s", req->caller.tenant_id);
        pr->schema_text = json_dumps(schema, JSON_COMPACT | JSON_PRESERVE_ORDER);
        pr->updating = updating;
    }
    json_decref(schema);
    uid_t uid = 0;
    int rc = 0;
    char err[512];
    if (!pr || !pr->schema_text) {
        rc = api_fail(resp, API_INTERNAL, NULL, "out of memory");
    } else if (worker_child_uid(req, resp, &uid) != 0) {
        rc = -1;
    } else {
        pr->deadline = clock_mono_ms() + timeout_ms;
        if (preview_spawn(pr, cat.text, &cat, src, nsrc,
                          req->settings->data_root ? req->settings->data_root : "var/data", uid, limit, earliest,
                          timeout_ms, err, sizeof err) != 0) {
            log_error("preview: cannot start its worker: %s", err);
            rc = api_fail(resp, API_INTERNAL, NULL, "the preview could not be started");
        }
    }
    preview_catalog_free(&cat);
    if (rc != 0) {
        if (!pr || pr->pid < 0)
            preview_slot_give(req->caller.tenant_id); /* else preview_child_end gives it */
        preview_relay_free(pr);
        return -1;
    }
    resp->stream_poll_ms = PREVIEW_POLL_MS;
    return api_reply_stream(resp, "application/json", preview_stream_read, preview_relay_free, pr);
}
