/* reconcile.c — desired state in PostgreSQL → task rows → leased, supervised workers → observed
 * state back in PostgreSQL. */
#include "controlplane/reconcile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/crypto.h"
#include "common/log.h"
#include "common/clock.h"
#include "common/fs.h"
#include "common/task_spec.h"
#include "controlplane/idmap.h"
#include "controlplane/lease.h"
#include "controlplane/logs.h"
#include "controlplane/metering.h"
#include "controlplane/sandbox.h"
#include "dataplane/schema_json.h"
#include "dataplane/sql/sql.h"
#include "controlplane/checkpoint_store.h"
#include "dataplane/kafka/kafka_admin.h"
#include "dataplane/stream.h"

/* A task row this node holds. */
struct cp_task {
    char id[40], tenant_id[40], kind[16], resource_id[40];
    /* For /metrics labels: the resource's and the tenant's names as of the last start (read
     * with the resource row, so a rename shows after the next rollover); "" until then. */
    char name[256], tenant_name[256];
    int index;
    long long generation;      /* generation the worker was started with; 0: not started */
    long long want_generation; /* the row's generation */
    int want_stop;             /* the row says desired = stopped */
    int rolling;               /* stopping to restart at want_generation */
    int lost;                  /* the lease is gone: stop and forget without writing */
    int start_pending;         /* start (again) at the next chance */
    int retry;                 /* a failed start's backoff is over: start again now */
    int delete_row;            /* stopped on request: delete the row at the next sync */
    int dirty;                 /* status to write */
    int64_t metered_mono;      /* last time task-seconds were counted */
    /* The supervisor counts restarts since the task's last start and a start (rollover, a new
     * generation after failing) resets it; /metrics wants a counter that only grows. */
    int restarts_seen;       /* the supervisor's count at its last state report */
    uint64_t restarts_total; /* every increase of it while this node holds the task */
    /* Bounded pipelines (README "Control plane", bounded and unbounded): a pipeline task runs
     * unbounded until every producer of each of its input streams has completed, then rolls
     * over to a bounded run that drains the inputs, closes its windows and completes. */
    char sources[PLAN_MAX_SOURCES][256]; /* the pipeline's input streams as its SQL names them */
    int nsources;                        /* 0: unknown (the SQL does not compile) */
    int bounded;                         /* the running worker was started with "bounded": true */
    int64_t bounded_checked_mono;        /* last look at the input's producers */
    /* Cluster mode (README "Streams stored in Kafka"): every stream of the task is stored in
     * Kafka, so its checkpoint is kept in PostgreSQL too (controlplane/checkpoint_store.h). */
    int kafka_ckpt;
    char ckpt_dir[1024];                     /* the checkpoint directory of its last start */
    struct checkpoint_store_mark ckpt_saved; /* what was last copied from it */
};

struct reconciler {
    struct reconcile_options opt;
    struct supervisor *sup;
    PGconn *conn;
    struct cp_task **tasks;
    int ntasks, cap;
    struct logs *logs;
    struct metering *meter;
    uint64_t db_errors, starts;
    struct idmap *index;    /* task id → struct cp_task */
    int scan_needed;        /* some task may need reconcile_poll() to act */
    int claimed_full_batch; /* the last claim filled its batch: more rows may be waiting */
};

#define CLAIM_BATCH 32

/* Task sizes: memory from the options, CPU and process limits here. */
static const struct {
    const char *name;
    uint32_t cpu_millis, pids;
} task_sizes[] = {{"S", 500, 128}, {"M", 1000, 256}, {"L", 2000, 512}};

/* Index of task size name in task_sizes; M (1) for an unknown one. */
static int task_size_index(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, task_sizes[i].name) == 0)
            return i;
    return 1;
}

/* A pipeline task's operator state may hold half its size's memory: the rest is for batches,
 * buffers and the process itself. */
#define TASK_STATE_SHARE_DIVISOR 2

static struct cp_task *task_find(const struct reconciler *r, const char *id) { return idmap_get(r->index, id); }

static struct cp_task *task_add(struct reconciler *r, const char *id, const char *tenant, const char *kind,
                                const char *resource, int index)
{
    if (r->ntasks == r->cap) {
        int cap = r->cap ? r->cap * 2 : 32;
        struct cp_task **n = realloc(r->tasks, (size_t)cap * sizeof *n);
        if (!n)
            return NULL;
        r->tasks = n;
        r->cap = cap;
    }
    struct cp_task *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    snprintf(t->id, sizeof t->id, "%s", id);
    snprintf(t->tenant_id, sizeof t->tenant_id, "%s", tenant);
    snprintf(t->kind, sizeof t->kind, "%s", kind);
    snprintf(t->resource_id, sizeof t->resource_id, "%s", resource);
    t->index = index;
    if (idmap_put(r->index, t->id, t) != 0) {
        free(t);
        return NULL;
    }
    r->tasks[r->ntasks++] = t;
    return t;
}

static void task_remove(struct reconciler *r, struct cp_task *t)
{
    supervisor_forget(r->sup, t->id);
    idmap_remove(r->index, t->id);
    for (int i = 0; i < r->ntasks; i++)
        if (r->tasks[i] == t) {
            r->tasks[i] = r->tasks[--r->ntasks];
            break;
        }
    free(t);
}

static void note_event(struct reconciler *r, struct cp_task *t, const char *event, const char *message, int restarts)
{
    logs_add_event(r->logs, t->tenant_id, t->kind, t->resource_id, t->id, event, message, restarts, clock_wall_ms());
}

/* ------------------------------------------------------------------------------------------ */
/* Supervisor callbacks: record, set flags; act after supervisor_poll() returns.             */

static void on_state(void *ctx, const struct supervisor_status *st, const char *event, const char *message)
{
    struct reconciler *r = ctx;
    struct cp_task *t = task_find(r, st->task_id);
    if (!t)
        return;
    if (st->restarts > t->restarts_seen)
        t->restarts_total += (uint64_t)(st->restarts - t->restarts_seen);
    t->restarts_seen = st->restarts;
    t->dirty = 1;
    if (!t->lost) {
        note_event(r, t, event, message, st->restarts);
        /* The same change as a log line, so a log view tells the whole story. */
        char line[700];
        snprintf(line, sizeof line, "controlplane: task %s on node %s%s%.600s", event, r->opt.node_id,
                 message[0] ? ": " : "", message);
        int bad = strcmp(event, "crashed") == 0 || strcmp(event, "failed") == 0;
        logs_add_line(r->logs, t->tenant_id, t->kind, t->resource_id, t->id, bad ? "error" : "info", clock_wall_ms(),
                      line);
    }
    if (strcmp(event, "retry") == 0 && !t->lost && !t->want_stop) {
        t->start_pending = t->retry = 1;
        r->scan_needed = 1;
    }
    if (strcmp(event, "stopped") == 0) {
        r->scan_needed = 1;
        if (t->lost)
            return;
        if (t->want_stop)
            t->delete_row = 1;
        else if (t->rolling)
            t->start_pending = 1;
    }
}

static void on_metrics(void *ctx, const char *task_id, const struct supervisor_metrics *d)
{
    struct reconciler *r = ctx;
    struct cp_task *t = task_find(r, task_id);
    if (t)
        metering_add(r->meter, t->tenant_id, t->kind, t->resource_id, clock_wall_ms(), d, 0);
}

static void on_log(void *ctx, const char *task_id, const char *level, const char *message)
{
    struct reconciler *r = ctx;
    struct cp_task *t = task_find(r, task_id);
    if (t)
        logs_add_line(r->logs, t->tenant_id, t->kind, t->resource_id, t->id, level, clock_wall_ms(), message);
}

struct reconciler *reconcile_new(const struct reconcile_options *opts, char *err, size_t errsz)
{
    struct reconciler *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    r->opt = *opts;
    if (r->opt.lease_seconds <= 0)
        r->opt.lease_seconds = 10;
    if (r->opt.max_tasks <= 0)
        r->opt.max_tasks = 2000;
    const uint64_t default_mb[3] = {256, 1024, 4096};
    /* Zero means no CPU-seconds limit: the options' defaults are in controlplane.c. */
    for (int i = 0; i < 3; i++)
        if (!r->opt.task_memory_mb[i])
            r->opt.task_memory_mb[i] = default_mb[i];
    if (r->opt.log_retention_hours <= 0)
        r->opt.log_retention_hours = 72;
    if (r->opt.log_max_per_resource <= 0)
        r->opt.log_max_per_resource = 10000;
    const struct supervisor_callbacks cb = {on_state, on_metrics, on_log};
    r->sup = supervisor_new(&r->opt.supervisor, &cb, r, err, errsz);
    r->logs = logs_new(50000);
    r->meter = metering_new();
    r->index = idmap_new();
    if (!r->sup || !r->logs || !r->meter || !r->index) {
        reconcile_free(r);
        return NULL;
    }
    return r;
}

void reconcile_free(struct reconciler *r)
{
    if (!r)
        return;
    supervisor_free(r->sup);
    for (int i = 0; i < r->ntasks; i++)
        free(r->tasks[i]);
    free(r->tasks);
    logs_free(r->logs);
    metering_free(r->meter);
    idmap_free(r->index);
    free(r);
}

void reconcile_set_conn(struct reconciler *r, PGconn *conn) { r->conn = conn; }

int reconcile_task_count(const struct reconciler *r) { return r->ntasks; }

int reconcile_dirty(const struct reconciler *r)
{
    for (int i = 0; i < r->ntasks; i++)
        if (r->tasks[i]->dirty || r->tasks[i]->delete_row || r->tasks[i]->start_pending)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Bounded pipelines: inputs whose producers have all completed                               */

#define CATALOG_STREAMS (2 * PLAN_MAX_SOURCES + 4) /* a compile asks for its sources and its sink */
/* How often a running unbounded pipeline task looks at its input's producers (a query): every
 * second, stretched by 5 ms per task the node holds, so a node with thousands of tasks sends
 * at most about 200 of these queries a second. */
#define BOUNDED_CHECK_MS 1000
#define BOUNDED_CHECK_MS_PER_TASK 5

/* The planner's catalog over one tenant's streams, loaded from the database as the planner
 * asks for them by name; the schemas live until stream_catalog_clear(). */
struct stream_catalog {
    PGconn *conn;       /* borrowed */
    const char *tenant; /* borrowed */
    struct schema schemas[CATALOG_STREAMS];
    char names[CATALOG_STREAMS][256];
    bool outside[CATALOG_STREAMS]; /* a postgres connection's table (a lookup join's), not a stream */
    int n;
    /* the tenant's functions, read once (at the first compile) for every pipeline compiled
     * against this catalog */
    struct sql_function_def *defs;
    int ndefs;
    bool defs_read;
};

static const struct schema *stream_catalog_lookup(void *ctx, const char *name)
{
    struct stream_catalog *c = ctx;
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->names[i], name) == 0)
            return &c->schemas[i];
    if (c->n == CATALOG_STREAMS || strlen(name) >= sizeof c->names[0])
        return NULL;
    const char *p[] = {c->tenant, name};
    struct db_error dberr;
    /* a stream, else a postgres connection: its stream's schema is the table's (a lookup join) */
    PGresult *res = db_query(c->conn,
                             "SELECT schema::text, false FROM streams WHERE tenant_id = $1 AND name = $2"
                             " UNION ALL SELECT s.schema::text, true FROM connections c"
                             "   JOIN streams s ON s.id = c.stream_id"
                             "  WHERE c.tenant_id = $1 AND c.name = $2 AND c.connector = 'postgres'"
                             " ORDER BY 2 LIMIT 1",
                             2, p, &dberr);
    json_t *js = res && PQntuples(res) == 1 ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : NULL;
    c->outside[c->n] = js && strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    PQclear(res);
    char err[256];
    int rc = js ? schema_from_json(js, &c->schemas[c->n], name, err, sizeof err) : -1;
    json_decref(js);
    if (rc != 0)
        return NULL;
    snprintf(c->names[c->n], sizeof c->names[c->n], "%s", name);
    return &c->schemas[c->n++];
}

/* Whether name is, in c, a postgres connection's table rather than a stream. */
static bool stream_catalog_outside(const struct stream_catalog *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->names[i], name) == 0)
            return c->outside[i];
    return false;
}

static void stream_catalog_clear(struct stream_catalog *c)
{
    for (int i = 0; i < c->n; i++)
        schema_free_fields(&c->schemas[i]);
    c->n = 0;
}

/* The end of a catalog: its schemas and its functions. */
static void stream_catalog_release(struct stream_catalog *c)
{
    stream_catalog_clear(c);
    sql_function_defs_free(c->defs, (size_t)c->ndefs);
    c->defs = NULL;
    c->ndefs = 0;
    c->defs_read = false;
}

/* The tenant's user-defined functions whose names occur in sql (a superset of those it calls;
 * sql NULL: all of them): name, returns, source, kind, merge. NULL with err on a database
 * error. */
static PGresult *tenant_functions(PGconn *conn, const char *tenant, const char *sql, struct db_error *err)
{
    const char *p[] = {tenant, sql};
    return db_query(conn,
                    "SELECT name, returns, source, kind, merge FROM functions WHERE tenant_id = $1"
                    "   AND ($2::text IS NULL OR strpos(lower($2), lower(name)) > 0) ORDER BY name",
                    2, p, err);
}

/* Cell col of row i of tenant_functions' rows as sql_functions_declare reads them (0 name,
 * 1 returns, 2 kind, 3 merge): the stored facts, never the source. */
static const char *declare_cell(const void *res, int i, int col)
{
    static const int column[] = {0, 1, 3, 4};
    return PQgetisnull(res, i, column[col]) ? NULL : PQgetvalue(res, i, column[col]);
}

/* The input streams (into sources, *nsources of them; sources may be NULL) and the output
 * stream of a pipeline's SQL as the worker's planner resolves them: it is compiled here with
 * the same front end, so comments, quoted names, views and joins are no guesswork. 0, or -1
 * when it does not compile. */
static int pipeline_streams(struct stream_catalog *cat, const char *sql, char (*sources)[256], int *nsources,
                            char *sink, size_t sinksz)
{
    struct sql_error se = {0};
    /* the schemas need to outlive one compile only: make room for this one's streams */
    if (cat->n > CATALOG_STREAMS / 2)
        stream_catalog_clear(cat);
    if (!cat->defs_read) { /* once per catalog, not per pipeline compiled against it */
        struct db_error dberr;
        PGresult *fres = tenant_functions(cat->conn, cat->tenant, NULL, &dberr);
        /* declared from the facts the api's sandboxed check stored: tenant Lua never runs here
         * (one not checked yet, kind NULL, is left out until the api has checked it) */
        int ndefs = fres ? sql_functions_declare(PQntuples(fres), declare_cell, fres, &cat->defs) : 0;
        PQclear(fres);
        cat->ndefs = ndefs < 0 ? 0 : ndefs;
        cat->defs_read = true;
    }
    struct plan_options po = {.functions = cat->defs, .nfunctions = cat->ndefs};
    struct plan *plan = plan_compile_with(sql, stream_catalog_lookup, cat, &po, &se);
    if (!plan)
        return -1;
    int n = 0; /* the streams: a lookup join's postgres table is no input to wait for */
    for (int i = 0; i < plan_nsources(plan) && n < PLAN_MAX_SOURCES; i++) {
        if (stream_catalog_outside(cat, plan_source_at(plan, i)))
            continue;
        if (sources)
            snprintf(sources[n], 256, "%s", plan_source_at(plan, i));
        n++;
    }
    if (nsources)
        *nsources = n;
    snprintf(sink, sinksz, "%s", plan_sink(plan));
    plan_free(plan);
    return 0;
}

/* Whether the tenant's stream is bounded and complete: it has at least one producer (a source
 * connection writing it, a pipeline inserting into it or dead-lettering into it) and every
 * producer has completed at its current generation. Returns 1 (why lists the producers), 0
 * (why says which producer keeps it open, or that it has none), or -1 with err. */
static int stream_complete(struct reconciler *r, struct stream_catalog *cat, const char *stream, char *why,
                           size_t whysz, struct db_error *err)
{
    const char *p[] = {cat->tenant, stream};
    /* connections first: the common open producer, found without compiling anything */
    PGresult *res = db_query(r->conn,
                             "SELECT 'connection' AS kind, c.name,"
                             "       c.actual_state = 'completed' AND c.observed_generation >= c.generation,"
                             "       NULL AS sql, false AS dead_letter"
                             "  FROM connections c JOIN streams s ON s.id = c.stream_id"
                             " WHERE s.tenant_id = $1 AND s.name = $2 AND c.type = 'source'"
                             " UNION ALL"
                             " SELECT 'pipeline', p.name,"
                             "       p.actual_state = 'completed' AND p.observed_generation >= p.generation,"
                             "       p.sql, p.error_policy = 'dead_letter' AND d.name IS NOT NULL"
                             "  FROM pipelines p LEFT JOIN streams d ON d.id = p.dead_letter_stream_id AND d.name = $2"
                             " WHERE p.tenant_id = $1 AND (strpos(lower(p.sql), lower($2)) > 0 OR d.name IS NOT NULL)"
                             " ORDER BY 1, 2",
                             2, p, err);
    if (!res)
        return -1;
    int producers = 0, rc = 1;
    char list[400] = "";
    for (int i = 0; i < PQntuples(res) && rc == 1; i++) {
        const char *kind = PQgetvalue(res, i, 0), *name = PQgetvalue(res, i, 1);
        if (strcmp(kind, "pipeline") == 0 && strcmp(PQgetvalue(res, i, 4), "t") != 0) {
            char sink[256];
            /* one that does not compile (any more) may write anything: it counts as a producer */
            if (pipeline_streams(cat, PQgetvalue(res, i, 3), NULL, NULL, sink, sizeof sink) == 0 &&
                strcmp(sink, stream) != 0)
                continue; /* a reader, or a pipeline that only names the stream */
        }
        producers++;
        if (strcmp(PQgetvalue(res, i, 2), "t") != 0) {
            snprintf(why, whysz, "%s \"%s\" writing stream \"%s\" has not completed", kind, name, stream);
            rc = 0;
        } else {
            size_t n = strlen(list);
            snprintf(list + n, sizeof list - n, "%s%s \"%s\"", n ? ", " : "", kind, name);
        }
    }
    PQclear(res);
    if (rc == 1 && producers == 0) {
        snprintf(why, whysz, "stream \"%s\" has no producer", stream);
        rc = 0;
    } else if (rc == 1) {
        snprintf(why, whysz, "every producer of stream \"%s\" completed (%s)", stream, list);
    }
    return rc;
}

/* Whether every input stream of pipeline task t is complete (stream_complete of each; a join
 * reads several). 1 (why lists the last input's producers), 0 (why names the first input that
 * is not) or -1 with err. */
static int pipeline_inputs_complete(struct reconciler *r, const struct cp_task *t, struct stream_catalog *cat,
                                    char *why, size_t whysz, struct db_error *err)
{
    if (t->nsources == 0) {
        snprintf(why, whysz, "the input streams are not known (the SQL does not compile)");
        return 0;
    }
    for (int i = 0; i < t->nsources; i++) {
        int rc = stream_complete(r, cat, t->sources[i], why, whysz, err);
        if (rc != 1)
            return rc;
    }
    return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Task specs                                                                                 */

/* Secret values for a connection's secret_refs ({"property":"secret name"}) → {"property":
 * "value"}. Returns 0, or -1 with err (missing secret, no master key, undecryptable). */
static int load_secrets(struct reconciler *r, const char *tenant, json_t *refs, json_t *out, char *err, size_t errsz)
{
    if (json_object_size(refs) == 0)
        return 0;
    if (!r->opt.master_key) {
        snprintf(err, errsz, "connection uses secrets but the controlplane has no master key");
        return -1;
    }
    for (void *it = json_object_iter(refs); it; it = json_object_iter_next(refs, it)) {
        const char *prop = json_object_iter_key(it);
        json_t *name = json_object_iter_value(it);
        const char *p[] = {tenant, json_string_value(name)};
        struct db_error dberr;
        PGresult *res = db_query(r->conn,
                                 "SELECT encode(value, 'hex') FROM secrets"
                                 " WHERE tenant_id = $1 AND name = $2",
                                 2, p, &dberr);
        if (!res) {
            snprintf(err, errsz, "reading secret: %.300s", dberr.message);
            return -1;
        }
        if (PQntuples(res) != 1) {
            snprintf(err, errsz, "secret \"%s\" (for property \"%s\") not found",
                     json_string_value(name) ? json_string_value(name) : "?", prop);
            PQclear(res);
            return -1;
        }
        const char *hex = PQgetvalue(res, 0, 0);
        size_t len = strlen(hex) / 2;
        uint8_t *sealed = malloc(len + 1), *plain = malloc(len + 1);
        int ok = sealed && plain && len > CRYPTO_SEAL_OVERHEAD && crypto_unhex(hex, sealed, len) == 0 &&
                 crypto_open(r->opt.master_key, tenant, strlen(tenant), sealed, len, plain) == 0;
        if (ok) {
            plain[len - CRYPTO_SEAL_OVERHEAD] = 0;
            json_object_set_new(out, prop, json_stringn((const char *)plain, len - CRYPTO_SEAL_OVERHEAD));
        } else {
            snprintf(err, errsz, "secret \"%s\" cannot be decrypted with this master key", json_string_value(name));
        }
        free(sealed);
        free(plain);
        PQclear(res);
        if (!ok)
            return -1;
    }
    return 0;
}

/* The tenant's worker uid (assigned on first use). */
static int tenant_uid(struct reconciler *r, const char *tenant, uid_t *uid, char *err, size_t errsz)
{
    const char *p[] = {tenant};
    struct db_error dberr;
    PGresult *res = db_query(r->conn,
                             "WITH ins AS (INSERT INTO cp_tenant_uids (tenant_id) VALUES ($1)"
                             "             ON CONFLICT DO NOTHING RETURNING uid)"
                             " SELECT uid FROM ins UNION ALL"
                             " SELECT uid FROM cp_tenant_uids WHERE tenant_id = $1",
                             1, p, &dberr);
    if (!res || PQntuples(res) < 1) {
        snprintf(err, errsz, "tenant uid: %.300s", res ? "none" : dberr.message);
        PQclear(res);
        return -1;
    }
    *uid = (uid_t)atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

/* Gives uid the root-owned entries the api made in dirfd (itself running as root: a stream's
 * partition directories from its creation, their lock, commit and segment files from HTTP
 * ingest), depth levels deep. Never follows a symbolic link and leaves files with more than
 * one link alone, so a tenant cannot make the controlplane hand it a file from elsewhere. */
static void give_api_entries(int dirfd, uid_t uid, int depth)
{
    DIR *d = fdopendir(dirfd);
    if (!d) {
        close(dirfd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (e->d_name[0] == '.' || fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_uid != 0)
            continue;
        if (S_ISREG(st.st_mode) && st.st_nlink == 1) {
            if (fchownat(dirfd, e->d_name, uid, uid, AT_SYMLINK_NOFOLLOW) != 0)
                log_warn("chown %s: %s", e->d_name, strerror(errno));
        } else if (S_ISDIR(st.st_mode) && depth > 0) {
            int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0)
                continue;
            if (fchown(sub, uid, uid) != 0)
                log_warn("chown %s: %s", e->d_name, strerror(errno));
            give_api_entries(sub, uid, depth - 1);
        }
    }
    closedir(d);
}

/* data_root/tenants/<tenant>/<kind>/<name> (and its kind directory) into path, owned by the
 * tenant's uid: also when the api made it first (a stream's partitions at its creation, HTTP
 * ingest; as root), with what the api made in it. */
static void make_tenant_dir(const char *data_root, const char *tenant, const char *kind, const char *name, uid_t uid,
                            char *path, size_t pathsz)
{
    char rel[300], err[512];
    snprintf(rel, sizeof rel, "tenants/%s/%s/%s", tenant, kind, name);
    snprintf(path, pathsz, "%s/%s", data_root, rel);
    /* the tenant's worker can write tenants/<tenant>/: a symlink it planted is refused */
    int fd = fs_mkdir_beneath(data_root, rel, 2, uid, err, sizeof err);
    if (fd < 0) {
        log_warn("tenant directory: %s", err);
        return;
    }
    if (geteuid() == 0 && uid != 0 && strcmp(kind, "streams") == 0)
        give_api_entries(fd, uid, 1); /* partitions, and their files */
    else
        close(fd);
}

/* A copy of s; sets *oom when there is no memory for it. */
static char *spec_strdup(const char *s, bool *oom)
{
    char *d = strdup(s);
    *oom |= !d;
    return d;
}

/* The tenant's storage quota from its plan into the spec (none when the plan has no quota):
 * the worker refuses appends to its streams past it. */
static int storage_quota(struct reconciler *r, const char *tenant, struct task_spec *spec, bool *oom, char *err,
                         size_t errsz)
{
    const char *p[] = {tenant};
    struct db_error dberr;
    PGresult *res = db_query(r->conn,
                             "SELECT p.max_storage_bytes FROM tenants t JOIN plans p ON p.name = t.plan"
                             " WHERE t.id = $1 AND p.max_storage_bytes IS NOT NULL",
                             1, p, &dberr);
    if (!res) {
        snprintf(err, errsz, "storage quota: %.300s", dberr.message);
        return -1;
    }
    if (PQntuples(res) == 1) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/tenants/%s/streams", r->opt.data_root, tenant);
        spec->storage_quota_bytes = (uint64_t)atoll(PQgetvalue(res, 0, 0));
        spec->storage_dir = spec_strdup(dir, oom);
    }
    PQclear(res);
    return 0;
}

/* src into dst; when it is cut short, without a partial UTF-8 character at the end (the api
 * allows 63 ASCII characters; longer names can only come from writing the tables directly). */
static void copy_name(char *dst, size_t dstsz, const char *src)
{
    snprintf(dst, dstsz, "%s", src);
    size_t n = strlen(dst);
    if (src[n] == 0)
        return;
    while (n > 0 && ((unsigned char)dst[n - 1] & 0xC0) == 0x80)
        n--;
    if (n > 0 && ((unsigned char)dst[n - 1] & 0xC0) == 0xC0)
        n--;
    dst[n] = 0;
}

/* What starting a task needs besides its spec: the facts of its sandbox. */
struct task_launch {
    uid_t uid;          /* the tenant's worker uid */
    char workdir[1024]; /* the task's directory */
    char size[4];       /* S, M or L */
    int allow_network;  /* the connector talks to the outside */
    int full_worker;    /* the connector's backend is in sluiced only */
    long long generation;
};

/* t's pipeline or connection row (the columns task_start's steps read); refreshes t's names
 * for /metrics. NULL with err when it is gone or unreadable. */
static PGresult *task_resource(struct reconciler *r, struct cp_task *t, char *err, size_t errsz)
{
    int pipeline = strcmp(t->kind, "pipeline") == 0;
    const char *p[] = {t->resource_id};
    PGresult *res =
        db_query_or_err(r->conn,
                        pipeline ? "SELECT p.sql, p.error_policy, d.name, p.generation, p.task_count, p.task_size,"
                                   "       p.name, tn.name"
                                   "  FROM pipelines p LEFT JOIN streams d ON d.id = p.dead_letter_stream_id"
                                   "  LEFT JOIN tenants tn ON tn.id = p.tenant_id"
                                   " WHERE p.id = $1"
                                 : "SELECT c.connector, c.type, c.properties::text, c.secret_refs::text, s.name,"
                                   "       c.generation, c.task_count, c.task_size, s.id, c.name, tn.name"
                                   "  FROM connections c JOIN streams s ON s.id = c.stream_id"
                                   "  LEFT JOIN tenants tn ON tn.id = c.tenant_id WHERE c.id = $1",
                        1, p, err, errsz);
    if (res && PQntuples(res) != 1) {
        snprintf(err, errsz, "resource not found");
        PQclear(res);
        return NULL;
    }
    if (!res)
        return NULL;
    int col_name = pipeline ? 6 : 9;
    /* refreshed at every start, rollovers included: a rename shows from then on */
    copy_name(t->name, sizeof t->name, PQgetvalue(res, 0, col_name));
    copy_name(t->tenant_name, sizeof t->tenant_name, PQgetvalue(res, 0, col_name + 1));
    return res;
}

/* The spec's fields every task has, from t and its resource row res. */
static void task_spec_common(const struct reconciler *r, const struct cp_task *t, PGresult *res, struct task_spec *spec,
                             struct task_launch *l, bool *oom)
{
    int pipeline = strcmp(t->kind, "pipeline") == 0;
    int col_gen = pipeline ? 3 : 5;
    l->generation = atoll(PQgetvalue(res, 0, col_gen));
    snprintf(l->size, sizeof l->size, "%s", PQgetvalue(res, 0, col_gen + 2));
    spec->task_id = spec_strdup(t->id, oom);
    spec->tenant_id = spec_strdup(t->tenant_id, oom);
    spec->kind = pipeline ? TASK_SPEC_PIPELINE : TASK_SPEC_CONNECTION;
    spec->task_index = t->index;
    spec->task_count = atoi(PQgetvalue(res, 0, col_gen + 1));
    spec->generation = l->generation;
    spec->seccomp = r->opt.seccomp;
    if (pipeline) { /* past its state limit the worker fails with a message naming the size */
        spec->task_size = spec_strdup(l->size, oom);
        spec->state_max_bytes = (r->opt.task_memory_mb[task_size_index(l->size)] << 20) / TASK_STATE_SHARE_DIVISOR;
    }
}

/* A pipeline's fields: its SQL and error policy, and whether it runs bounded: when every input
 * has completed, the worker reads to the end as of now (resuming a checkpoint of an unbounded
 * run with its window state), fires every window and completes. Otherwise unbounded, and
 * reconcile_sync() looks again. 0, or -1 with err. */
static int pipeline_spec(struct reconciler *r, struct cp_task *t, PGresult *res, struct task_spec *spec, bool *oom,
                         char *err, size_t errsz)
{
    spec->sql = spec_strdup(PQgetvalue(res, 0, 0), oom);
    spec->error_policy = spec_strdup(PQgetvalue(res, 0, 1), oom);
    if (!PQgetisnull(res, 0, 2))
        spec->dead_letter_stream = spec_strdup(PQgetvalue(res, 0, 2), oom);
    struct stream_catalog cat = {.conn = r->conn, .tenant = t->tenant_id};
    char sink[256], why[600];
    struct db_error dberr;
    if (pipeline_streams(&cat, PQgetvalue(res, 0, 0), t->sources, &t->nsources, sink, sizeof sink) != 0)
        t->nsources = 0;
    /* the postgres connections the SQL reads as lookup tables: task_lookups() fills them in */
    spec->lookups = calloc((size_t)cat.n + 1, sizeof *spec->lookups);
    *oom |= !spec->lookups;
    for (int i = 0; spec->lookups && i < cat.n; i++)
        if (cat.outside[i])
            spec->lookups[spec->nlookups++].name = spec_strdup(cat.names[i], oom);
    int complete = pipeline_inputs_complete(r, t, &cat, why, sizeof why, &dberr);
    stream_catalog_release(&cat);
    if (complete < 0) {
        snprintf(err, errsz, "reading the producers of the input: %.400s", dberr.message);
        return -1;
    }
    t->bounded = complete == 1;
    t->bounded_checked_mono = clock_mono_ms();
    spec->bounded = t->bounded;
    if (t->bounded) {
        char line[700];
        snprintf(line, sizeof line, "controlplane: bounded run: %.600s", why);
        logs_add_line(r->logs, t->tenant_id, t->kind, t->resource_id, t->id, "info", clock_wall_ms(), line);
    }
    return 0;
}

/* A connection's fields: its connector (with its properties) and its secrets, decrypted, and
 * what its sandbox allows. 0, or -1 with err. */
static int connection_spec(struct reconciler *r, struct cp_task *t, PGresult *res, struct task_spec *spec,
                           struct task_launch *l, bool *oom, char *err, size_t errsz)
{
    const char *connector = PQgetvalue(res, 0, 0);
    json_t *props = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
    const struct stream_backend *b = NULL;
    stream_connector_find(connector, &b);
    if (b && b->tenant_files && json_is_object(props)) { /* its files: below the tenant's directory only */
        char files[1024];
        fs_tenant_files_dir(r->opt.data_root, t->tenant_id, files, sizeof files);
        json_object_set_new(props, "__root", json_string(files));
    }
    spec->connector.name = spec_strdup(connector, oom);
    spec->connector.type = spec_strdup(PQgetvalue(res, 0, 1), oom);
    spec->connector.stream = spec_strdup(PQgetvalue(res, 0, 4), oom);
    int rc = task_spec_properties_from_json(props, "properties", &spec->connector.properties,
                                            &spec->connector.nproperties, err, errsz);
    /* what the connector declares (stream.h); one unknown here gets the network and fails
     * in the worker with the worker's message */
    l->allow_network = !b || b->network;
    l->full_worker = b && b->full_worker; /* its tasks run on sluiced, not the lean sluiced-worker */
    /* A source with a fixed number of events (datagen's events) is a bounded run: it completes. */
    const char *events = b && b->bounded_by ? json_string_value(json_object_get(props, b->bounded_by)) : NULL;
    t->bounded = b && b->source && events && atoll(events) > 0;
    /* So is one finite unless an option says otherwise (a filesystem source not monitoring). */
    if (b && b->source && b->unbounded_by && strcmp(PQgetvalue(res, 0, 1), "source") == 0 &&
        !json_object_get(props, b->unbounded_by))
        t->bounded = true;
    spec->bounded = t->bounded;
    json_decref(props);
    if (rc != 0)
        return -1;
    json_t *refs = json_loads(PQgetvalue(res, 0, 3), 0, NULL);
    json_t *secrets = json_object();
    rc = secrets ? load_secrets(r, t->tenant_id, refs, secrets, err, errsz) : -1;
    if (rc == 0)
        rc = task_spec_properties_from_json(secrets, "secrets", &spec->secrets, &spec->nsecrets, err, errsz);
    else if (!secrets)
        snprintf(err, errsz, "out of memory");
    json_decref(refs);
    json_decref(secrets);
    return rc;
}

/* The task's directories, owned by the tenant's uid: its working directory and the checkpoint
 * directory the resource's tasks share, whatever their count (a rollover keeps the positions).
 * 0, or -1 with err. */
static int task_dirs(struct reconciler *r, const struct cp_task *t, struct task_spec *spec, struct task_launch *l,
                     bool *oom, char *err, size_t errsz)
{
    if (tenant_uid(r, t->tenant_id, &l->uid, err, errsz) != 0 ||
        sandbox_prepare_dirs(r->opt.data_root, t->tenant_id, t->id, l->uid, l->uid, l->workdir, sizeof l->workdir, err,
                             errsz) != 0)
        return -1;
    spec->data_dir = spec_strdup(l->workdir, oom);
    const struct stream_backend *b = NULL;
    if (spec->connector.name && stream_connector_find(spec->connector.name, &b) == 0 && b && b->tenant_files) {
        char rel[300]; /* the tenant's files directory, made without following a planted symlink */
        snprintf(rel, sizeof rel, "tenants/%s/files", t->tenant_id);
        int fd = fs_mkdir_beneath(r->opt.data_root, rel, 1, l->uid, err, errsz);
        if (fd < 0)
            return -1;
        close(fd);
    }
    char ckpt_dir[1024];
    make_tenant_dir(r->opt.data_root, t->tenant_id, "checkpoints", t->resource_id, l->uid, ckpt_dir, sizeof ckpt_dir);
    spec->checkpoint_dir = spec_strdup(ckpt_dir, oom);
    return 0;
}

/* A Kafka-stored stream s of t: its topic, made sure of (created when missing: the stream predates
 * it, or it was deleted), and the cluster in the spec. 0, or -1 with err. */
static int task_stream_kafka(struct reconciler *r, const struct cp_task *t, struct task_spec_stream *s, bool *oom,
                             char *err, size_t errsz)
{
    const char *servers = r->opt.kafka_bootstrap_servers;
    if (!servers) {
        snprintf(err, errsz,
                 "stream \"%s\" is stored in Kafka, and controlplane node %s has no --kafka-bootstrap-servers", s->name,
                 r->opt.node_id);
        return -1;
    }
    char topic[256], e[600];
    kafka_stream_topic(t->tenant_id, s->id, topic, sizeof topic);
    if (kafka_topic_ensure(servers, topic, s->partitions, NULL, e, sizeof e) != 0) {
        snprintf(err, errsz, "stream \"%.100s\": %.380s", s->name, e);
        return -1;
    }
    s->topic = spec_strdup(topic, oom);
    return 0;
}

/* The streams the task uses, each with its directory: a connection's own (first: the worker
 * writes, or reads, the first stream); those a pipeline's SQL names (a superset: any stream
 * whose name occurs in the text), and those its settings name (the dead-letter stream).
 * own_stream: the connection's stream id, "" for a pipeline. 0, or -1 with err. */
static int task_streams(struct reconciler *r, const struct cp_task *t, const char *own_stream, uid_t uid,
                        struct task_spec *spec, bool *oom, char *err, size_t errsz)
{
    const char *tp[] = {t->tenant_id, own_stream, spec->sql ? spec->sql : "",
                        spec->dead_letter_stream ? spec->dead_letter_stream : ""};
    PGresult *res =
        db_query_or_err(r->conn,
                        "SELECT id, name, schema::text, partitions, storage FROM streams WHERE tenant_id = $1"
                        "   AND (id::text = $2 OR ($3 <> '' AND strpos(lower($3), lower(name)) > 0) OR name = $4)"
                        " ORDER BY id::text = $2 DESC, name",
                        4, tp, err, errsz);
    if (!res)
        return -1;
    spec->streams = calloc((size_t)PQntuples(res) + 1, sizeof *spec->streams);
    *oom |= !spec->streams;
    for (int i = 0; spec->streams && i < PQntuples(res); i++) {
        char dir[1024];
        make_tenant_dir(r->opt.data_root, t->tenant_id, "streams", PQgetvalue(res, i, 0), uid, dir, sizeof dir);
        struct task_spec_stream *s = &spec->streams[spec->nstreams++];
        s->id = spec_strdup(PQgetvalue(res, i, 0), oom);
        s->name = spec_strdup(PQgetvalue(res, i, 1), oom);
        s->dir = spec_strdup(dir, oom);
        s->schema = json_loads(PQgetvalue(res, i, 2), 0, NULL);
        if (!s->schema)
            s->schema = json_object();
        *oom |= !s->schema;
        s->partitions = atoi(PQgetvalue(res, i, 3));
        if (strcmp(PQgetvalue(res, i, 4), "kafka") == 0 && task_stream_kafka(r, t, s, oom, err, errsz) != 0) {
            PQclear(res);
            return -1;
        }
    }
    PQclear(res);
    return 0;
}

/* A pipeline's user-defined functions (those whose names occur in its SQL), as the api stores
 * them: the worker defines them. 0, or -1 with err. */
static int task_functions(struct reconciler *r, const struct cp_task *t, struct task_spec *spec, bool *oom, char *err,
                          size_t errsz)
{
    if (!spec->sql)
        return 0;
    struct db_error dberr;
    PGresult *res = tenant_functions(r->conn, t->tenant_id, spec->sql, &dberr);
    if (!res) {
        snprintf(err, errsz, "%s", dberr.message);
        return -1;
    }
    spec->functions = calloc((size_t)PQntuples(res) + 1, sizeof *spec->functions);
    *oom |= !spec->functions;
    for (int i = 0; spec->functions && i < PQntuples(res); i++) {
        struct task_spec_function *f = &spec->functions[spec->nfunctions++];
        f->name = spec_strdup(PQgetvalue(res, i, 0), oom);
        f->returns = spec_strdup(PQgetvalue(res, i, 1), oom);
        f->source = spec_strdup(PQgetvalue(res, i, 2), oom);
    }
    PQclear(res);
    return 0;
}

/* Lookup table lk (its name set by pipeline_spec: a postgres connection the SQL reads as a
 * lookup join's table): its connector, its stream's schema and its properties with its secrets
 * decrypted and merged in. 0, or -1 with err. */
static int task_lookup(struct reconciler *r, const struct cp_task *t, struct task_spec_lookup *lk, bool *oom, char *err,
                       size_t errsz)
{
    const char *p[] = {t->tenant_id, lk->name};
    PGresult *res = db_query_or_err(r->conn,
                                    "SELECT c.connector, c.properties::text, c.secret_refs::text, s.schema::text"
                                    "  FROM connections c JOIN streams s ON s.id = c.stream_id"
                                    " WHERE c.tenant_id = $1 AND c.name = $2 AND c.connector = 'postgres'",
                                    2, p, err, errsz);
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        snprintf(err, errsz, "postgres connection \"%.200s\" (a lookup join's table) not found", lk->name);
        PQclear(res);
        return -1;
    }
    lk->connector = spec_strdup(PQgetvalue(res, 0, 0), oom);
    lk->schema = json_loads(PQgetvalue(res, 0, 3), 0, NULL);
    json_t *props = json_loads(PQgetvalue(res, 0, 1), 0, NULL), *refs = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
    PQclear(res);
    *oom |= !lk->schema || !props;
    int rc = 0;
    char e[400];
    if (props && load_secrets(r, t->tenant_id, refs, props, e, sizeof e) != 0) {
        snprintf(err, errsz, "connection \"%.100s\": %.300s", lk->name, e);
        rc = -1;
    } else if (props) {
        rc = task_spec_properties_from_json(props, "properties", &lk->properties, &lk->nproperties, err, errsz);
    }
    json_decref(props);
    json_decref(refs);
    return rc;
}

/* A pipeline's lookup tables in PostgreSQL (spec->lookups, named by pipeline_spec), filled in:
 * the task then talks to the outside, so it gets the network (under the egress policy) and the
 * full worker, which has the postgres lookup. 0, or -1 with err. */
static int task_lookups(struct reconciler *r, const struct cp_task *t, struct task_spec *spec, struct task_launch *l,
                        bool *oom, char *err, size_t errsz)
{
    for (size_t i = 0; i < spec->nlookups; i++)
        if (task_lookup(r, t, &spec->lookups[i], oom, err, errsz) != 0)
            return -1;
    if (spec->nlookups > 0)
        l->allow_network = l->full_worker = 1;
    return 0;
}

/* The sandbox and the limits of t's worker process, sized by its task size. */
static void task_sandbox(const struct reconciler *r, const struct cp_task *t, const struct task_launch *l,
                         struct supervisor_task *st)
{
    int size_index = task_size_index(l->size);
    uint64_t memory = r->opt.task_memory_mb[size_index] << 20;
    st->sandbox.uid = l->uid;
    st->sandbox.gid = l->uid;
    st->sandbox.workdir = l->workdir;
    snprintf(st->sandbox.rw_paths[0], sizeof st->sandbox.rw_paths[0], "%s/tenants/%s", r->opt.data_root, t->tenant_id);
    st->sandbox.allow_network = l->allow_network;
    st->sandbox.egress = r->opt.egress_report;
    st->sandbox.cpu_seconds = r->opt.task_cpu_seconds[size_index];
    st->full_worker = l->full_worker;
    st->sandbox.address_space = memory * 4 > (2ull << 30) ? memory * 4 : 2ull << 30;
    st->sandbox.open_files = 1024;
    st->sandbox.processes = 65536; /* per uid, i.e. per tenant; the pids cgroup limits a task */
    st->limits.memory_bytes = memory;
    st->limits.cpu_millis = task_sizes[size_index].cpu_millis;
    st->limits.pids = task_sizes[size_index].pids;
}

/* Hands t's spec to the supervisor, which starts the worker. Returns 0 (a failure to start
 * the process is the supervisor's to report and retry), or -1 with err. */
static int task_launch(struct reconciler *r, struct cp_task *t, const struct task_spec *spec,
                       const struct task_launch *l, char *err, size_t errsz)
{
    json_t *js = task_spec_to_json(spec);
    char *text = js ? json_dumps(js, JSON_COMPACT) : NULL;
    json_decref(js);
    if (!text) {
        snprintf(err, errsz, "out of memory writing the task spec");
        return -1;
    }
    struct supervisor_task st = {.task_id = t->id, .spec_json = text};
    task_sandbox(r, t, l, &st);
    t->generation = l->generation;
    t->rolling = t->start_pending = t->retry = 0;
    t->metered_mono = clock_mono_ms();
    t->dirty = 1;
    r->starts++;
    /* a failure here the supervisor reported as a crash: it retries with backoff */
    (void)supervisor_start(r->sup, &st, err, errsz);
    free(text);
    return 0;
}

/* A task over Kafka-stored streams gets the cluster in its spec, runs on the full sluiced (the
 * Kafka backend) with the network; when all its streams are, its checkpoint is kept in
 * PostgreSQL: the stored copies are written into its checkpoint directory before it starts
 * (another node may have run it last). 0, or -1 with err. */
static int task_cluster_mode(struct reconciler *r, struct cp_task *t, struct task_spec *spec, struct task_launch *l,
                             bool *oom, char *err, size_t errsz)
{
    size_t kafka = 0;
    for (size_t i = 0; i < spec->nstreams; i++)
        kafka += spec->streams[i].topic != NULL;
    t->kafka_ckpt = kafka > 0 && kafka == spec->nstreams;
    if (kafka == 0)
        return 0;
    spec->kafka_bootstrap_servers = spec_strdup(r->opt.kafka_bootstrap_servers, oom);
    l->full_worker = l->allow_network = 1;
    if (!t->kafka_ckpt)
        return 0;
    snprintf(t->ckpt_dir, sizeof t->ckpt_dir, "%s", spec->checkpoint_dir ? spec->checkpoint_dir : "");
    int n = checkpoint_store_restore(r->conn, t->resource_id, t->ckpt_dir, l->uid, err, errsz);
    if (n < 0)
        return -1;
    if (n > 0) {
        char line[200];
        snprintf(line, sizeof line, "controlplane: node %s resumes from %d checkpoint%s kept in the database",
                 r->opt.node_id, n, n == 1 ? "" : "s");
        logs_add_line(r->logs, t->tenant_id, t->kind, t->resource_id, t->id, "info", clock_wall_ms(), line);
    }
    return 0;
}

/* Copies the checkpoints of this node's cluster-mode tasks into the database (see
 * checkpoint_store.h). 0, or -1 with err. */
static int save_checkpoints(struct reconciler *r, struct db_error *err)
{
    for (int i = 0; i < r->ntasks; i++) {
        struct cp_task *t = r->tasks[i];
        if (!t->kafka_ckpt || t->lost || !t->ckpt_dir[0])
            continue;
        if (checkpoint_store_save(r->conn, t->tenant_id, t->resource_id, t->index, t->ckpt_dir, &t->ckpt_saved,
                                  err->message, sizeof err->message) < 0) {
            err->sqlstate[0] = err->constraint[0] = '\0';
            err->connection_lost = PQstatus(r->conn) != CONNECTION_OK;
            return -1;
        }
    }
    return 0;
}

/* Builds the spec and the sandbox for t and starts it. Returns 0 or -1 with err. */
static int task_start(struct reconciler *r, struct cp_task *t, char *err, size_t errsz)
{
    if (!r->conn) {
        snprintf(err, errsz, "no database connection");
        return -1;
    }
    PGresult *res = task_resource(r, t, err, errsz);
    if (!res)
        return -1;
    int pipeline = strcmp(t->kind, "pipeline") == 0, rc = -1;
    struct task_spec spec = {0};
    struct task_launch l = {0};
    bool oom = false;
    task_spec_common(r, t, res, &spec, &l, &oom);
    if ((pipeline ? pipeline_spec(r, t, res, &spec, &oom, err, errsz)
                  : connection_spec(r, t, res, &spec, &l, &oom, err, errsz)) == 0 &&
        task_dirs(r, t, &spec, &l, &oom, err, errsz) == 0 &&
        task_streams(r, t, pipeline ? "" : PQgetvalue(res, 0, 8), l.uid, &spec, &oom, err, errsz) == 0 &&
        task_cluster_mode(r, t, &spec, &l, &oom, err, errsz) == 0 &&
        task_functions(r, t, &spec, &oom, err, errsz) == 0 && task_lookups(r, t, &spec, &l, &oom, err, errsz) == 0 &&
        storage_quota(r, t->tenant_id, &spec, &oom, err, errsz) == 0) {
        if (oom)
            snprintf(err, errsz, "out of memory building the task spec");
        else
            rc = task_launch(r, t, &spec, &l, err, errsz);
    }
    task_spec_free(&spec);
    PQclear(res);
    return rc;
}

static void try_start(struct reconciler *r, struct cp_task *t)
{
    char err[512];
    if (task_start(r, t, err, sizeof err) != 0) {
        log_warn("task %s: cannot start: %s", t->id, err);
        note_event(r, t, "start_failed", err, 0);
        /* A failure before any process (a secret that does not decrypt, say) is a crash: it
         * backs off and counts toward the crash limit like one, then fails with last_error. */
        t->dirty = 1;
        t->retry = 0;
        t->generation = t->want_generation; /* tried; a new generation starts it afresh */
        t->start_pending = supervisor_start_failed(r->sup, t->id, err) != 0;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Converge: desired state → task rows → claims                                               */

/* Resources that run as tasks. An HTTP ingest connection (connector http, type source) has
 * none: the api appends what clients POST (api/handlers_ingest.h). */
#define TASKLESS_CONNECTION "(r.connector = 'http' AND r.type = 'source')"
#define RUNNABLE_RESOURCES                                                                                             \
    "(SELECT 'pipeline' AS kind, id, tenant_id, generation, task_count, desired_state"                                 \
    "   FROM pipelines"                                                                                                \
    " UNION ALL SELECT 'connection', id, tenant_id, generation, task_count, desired_state"                             \
    "   FROM connections r WHERE NOT " TASKLESS_CONNECTION ")"

int reconcile_converge(struct reconciler *r, struct db_error *err)
{
    if (!r->conn)
        return -1;
    /* Rows for every task index of every resource that should run. A changed generation
     * restarts a failed or completed task and clears its error. */
    if (db_exec(r->conn,
                "INSERT INTO tasks (tenant_id, resource_kind, resource_id, task_index,"
                "                   generation, desired, state)"
                " SELECT r.tenant_id, r.kind, r.id, i, r.generation, 'running', 'pending'"
                "   FROM " RUNNABLE_RESOURCES " r, generate_series(0, r.task_count - 1) i"
                "  WHERE r.desired_state = 'running'"
                " ON CONFLICT (resource_kind, resource_id, task_index) DO UPDATE"
                "   SET generation = EXCLUDED.generation, desired = 'running',"
                "       state = CASE WHEN tasks.state IN ('failed', 'completed')"
                "                    THEN 'pending' ELSE tasks.state END,"
                "       last_error = CASE WHEN tasks.state IN ('failed', 'completed')"
                "                    THEN NULL ELSE tasks.last_error END,"
                "       restarts = CASE WHEN tasks.state IN ('failed', 'completed')"
                "                    THEN 0 ELSE tasks.restarts END, updated_at = now()"
                "  WHERE tasks.generation < EXCLUDED.generation OR tasks.desired <> 'running'",
                0, NULL, err) != 0)
        return -1;
    /* Rows that should not run: the resource is stopped, gone, or has fewer tasks now. */
    if (db_exec(r->conn,
                "UPDATE tasks t SET desired = 'stopped', updated_at = now()"
                " WHERE desired = 'running' AND NOT EXISTS (SELECT 1 FROM " RUNNABLE_RESOURCES
                " r WHERE r.kind = t.resource_kind AND r.id = t.resource_id"
                "   AND r.desired_state = 'running' AND t.task_index < r.task_count)",
                0, NULL, err) != 0)
        return -1;
    /* Stopped rows nobody holds are simply removed. */
    if (db_exec(r->conn,
                "DELETE FROM tasks WHERE desired = 'stopped'"
                "   AND (lease_owner IS NULL OR lease_expires_at < now()"
                "        OR state IN ('failed', 'completed'))"
                "   AND (pid IS NULL OR lease_owner IS NULL OR lease_expires_at < now())",
                0, NULL, err) != 0)
        return -1;
    /* Starting is synchronous (queries, spawn): at most a batch per pass, so the loop keeps
     * serving running workers; *more says another pass should follow at once. */
    int room = r->opt.max_tasks - r->ntasks;
    if (room > CLAIM_BATCH)
        room = CLAIM_BATCH;
    if (room <= 0)
        return 0;
    PGresult *res = lease_claim(r->conn, r->opt.node_id, r->opt.lease_seconds, room, err);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *id = PQgetvalue(res, i, 0);
        struct cp_task *t = task_find(r, id);
        if (t)
            continue; /* ours already (the lease had lapsed while the database was away) */
        t = task_add(r, id, PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
                     atoi(PQgetvalue(res, i, 4)));
        if (!t)
            break;
        t->want_generation = atoll(PQgetvalue(res, i, 5));
        char msg[128];
        snprintf(msg, sizeof msg, "claimed by node %s", r->opt.node_id);
        note_event(r, t, "claimed", msg, 0);
        try_start(r, t);
    }
    r->claimed_full_batch = PQntuples(res) == room;
    PQclear(res);
    return 0;
}

int reconcile_more_to_claim(const struct reconciler *r) { return r->claimed_full_batch; }

/* ------------------------------------------------------------------------------------------ */
/* Sync: leases, row changes, status, batches, resource state                                 */

static int apply_renewal(struct reconciler *r, PGresult *res)
{
    int n = PQntuples(res);
    for (int i = 0; i < r->ntasks; i++) {
        struct cp_task *t = r->tasks[i];
        int found = 0;
        for (int j = 0; j < n && !found; j++)
            found = strcmp(PQgetvalue(res, j, 0), t->id) == 0;
        if (!found && !t->lost) {
            /* Deleted, or taken over by another node after our lease expired. */
            t->lost = 1;
            log_warn("task %s: lease lost; stopping the local worker", t->id);
            supervisor_stop(r->sup, t->id);
        }
    }
    for (int j = 0; j < n; j++) {
        const char *id = PQgetvalue(res, j, 0);
        int want_stop = strcmp(PQgetvalue(res, j, 1), "stopped") == 0;
        long long gen = atoll(PQgetvalue(res, j, 2));
        const char *state = PQgetvalue(res, j, 3);
        struct cp_task *t = task_find(r, id);
        if (!t) { /* ours in the database but unknown here (adopted after a restart) */
            t = task_add(r, id, PQgetvalue(res, j, 4), PQgetvalue(res, j, 5), PQgetvalue(res, j, 6),
                         atoi(PQgetvalue(res, j, 7)));
            if (!t)
                return -1;
            t->want_generation = gen;
            if (!want_stop && strcmp(state, "failed") != 0 && strcmp(state, "completed") != 0)
                t->start_pending = 1;
            else
                t->delete_row = want_stop;
            continue;
        }
        t->want_generation = gen;
        struct supervisor_status st;
        int known = supervisor_status(r->sup, id, &st) == 0;
        int active = known && (st.pid > 0 || st.state == SUPERVISOR_BACKOFF);
        if (want_stop && !t->want_stop) {
            t->want_stop = 1;
            if (active)
                supervisor_stop(r->sup, id);
            else
                t->delete_row = 1;
        } else if (!want_stop && gen > t->generation && !t->rolling && !t->start_pending) {
            char msg[96];
            snprintf(msg, sizeof msg, "generation %lld → %lld", t->generation, gen);
            note_event(r, t, "rollover", msg, known ? st.restarts : 0);
            if (active) {
                t->rolling = 1;
                supervisor_stop(r->sup, id);
            } else {
                t->start_pending = 1;
            }
        }
    }
    return 0;
}

static json_t *status_row(const struct cp_task *t, const struct supervisor_status *st)
{
    const char *state = supervisor_state_name(st->state);
    if (st->state == SUPERVISOR_STOPPED && !t->want_stop)
        state = "pending";
    json_t *sandbox = json_loads(st->sandbox, 0, NULL);
    json_t *row = json_pack(
        "{s:s, s:s, s:i, s:i, s:o, s:s?, s:f, s:f, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}", "id", t->id, "state",
        state, "pid", (int)st->pid, "restarts", st->restarts, "sandbox", sandbox ? sandbox : json_null(), "last_error",
        st->last_error[0] ? st->last_error : NULL, "started_at", st->started_at_ms / 1000.0, "heartbeat_at",
        st->heartbeat_at_ms / 1000.0, "metrics", "records_in", (json_int_t)st->totals.records_in, "records_out",
        (json_int_t)st->totals.records_out, "bytes_in", (json_int_t)st->totals.bytes_in, "bytes_out",
        (json_int_t)st->totals.bytes_out, "errors", (json_int_t)st->totals.errors, "late", (json_int_t)st->totals.late,
        "lag", (json_int_t)st->totals.lag, "state_bytes", (json_int_t)st->totals.state_bytes);
    return row;
}

static int write_status(struct reconciler *r, struct db_error *err)
{
    json_t *rows = json_array();
    int64_t now = clock_mono_ms();
    for (int i = 0; i < r->ntasks; i++) {
        struct cp_task *t = r->tasks[i];
        struct supervisor_status st;
        if (t->lost || supervisor_status(r->sup, t->id, &st) != 0)
            continue;
        if (st.pid > 0) { /* task-seconds for usage */
            metering_add(r->meter, t->tenant_id, t->kind, t->resource_id, clock_wall_ms(), NULL,
                         (double)(now - t->metered_mono) / 1000.0);
        }
        t->metered_mono = now;
        if (t->dirty || st.pid > 0)
            json_array_append_new(rows, status_row(t, &st));
    }
    int rc = 0;
    if (json_array_size(rows) > 0) {
        char *text = json_dumps(rows, JSON_COMPACT);
        const char *p[] = {text, r->opt.node_id};
        rc = db_exec(r->conn,
                     "UPDATE tasks t SET state = j.state, pid = nullif(j.pid, 0),"
                     "       restarts = j.restarts, sandbox = j.sandbox,"
                     "       last_error = coalesce(j.last_error, t.last_error),"
                     "       started_at = CASE WHEN j.started_at > 0"
                     "                    THEN to_timestamp(j.started_at) END,"
                     "       heartbeat_at = CASE WHEN j.heartbeat_at > 0"
                     "                      THEN to_timestamp(j.heartbeat_at) END,"
                     "       metrics = j.metrics, updated_at = now()"
                     "  FROM json_to_recordset($1::json) AS j(id uuid, state text, pid int,"
                     "       restarts int, sandbox jsonb, last_error text,"
                     "       started_at double precision, heartbeat_at double precision,"
                     "       metrics jsonb)"
                     " WHERE t.id = j.id AND t.lease_owner = $2",
                     2, p, err);
        free(text);
        if (rc == 0)
            for (int i = 0; i < r->ntasks; i++)
                r->tasks[i]->dirty = 0;
    }
    json_decref(rows);
    return rc;
}

static int delete_stopped_rows(struct reconciler *r, struct db_error *err)
{
    for (int i = 0; i < r->ntasks;) {
        struct cp_task *t = r->tasks[i];
        struct supervisor_status st;
        int has_process = supervisor_status(r->sup, t->id, &st) == 0 && (st.pid > 0 || st.state == SUPERVISOR_BACKOFF);
        if (t->delete_row && !has_process) {
            const char *p[] = {t->id, r->opt.node_id};
            if (db_exec(r->conn, "DELETE FROM tasks WHERE id = $1 AND lease_owner = $2", 2, p, err) != 0)
                return -1;
            task_remove(r, t);
            continue;
        }
        i++;
    }
    return 0;
}

/* actual_state, observed_generation and last_error of each resource from its task rows. */
static int update_resources(struct reconciler *r, struct db_error *err)
{
    static const char *const tables[] = {"pipelines", "connections"};
    static const char *const kinds[] = {"pipeline", "connection"};
    static const char *const taskless[] = {"false", TASKLESS_CONNECTION}; /* running without tasks */
    for (int i = 0; i < 2; i++) {
        char sql[3000];
        snprintf(sql, sizeof sql,
                 "WITH agg AS (SELECT resource_id, count(*) AS n,"
                 "   count(*) FILTER (WHERE state = 'running') AS running,"
                 "   count(*) FILTER (WHERE state = 'failed') AS failed,"
                 "   count(*) FILTER (WHERE state = 'completed') AS completed,"
                 "   min(generation) AS min_gen,"
                 "   (array_agg(last_error ORDER BY updated_at DESC)"
                 "      FILTER (WHERE last_error IS NOT NULL))[1] AS err"
                 "  FROM tasks WHERE resource_kind = '%s' GROUP BY resource_id),"
                 " next AS (SELECT r.id,"
                 "   CASE WHEN r.desired_state = 'stopped'"
                 "          THEN CASE WHEN a.n IS NULL THEN 'stopped' ELSE 'stopping' END"
                 "        WHEN %s THEN 'running'"
                 "        WHEN a.n IS NULL THEN 'starting'"
                 "        WHEN a.failed > 0 THEN 'failed'"
                 "        WHEN a.completed = a.n AND a.n >= r.task_count THEN 'completed'"
                 "        WHEN a.running + a.completed = a.n AND a.n >= r.task_count"
                 "             AND a.min_gen >= r.generation THEN 'running'"
                 "        ELSE 'starting' END AS state,"
                 "   a.err"
                 "  FROM %s r LEFT JOIN agg a ON a.resource_id = r.id)"
                 " UPDATE %s r SET actual_state = next.state,"
                 "   observed_generation = CASE WHEN next.state IN ('running', 'failed', 'completed',"
                 "                                 'stopped') THEN r.generation"
                 "                         ELSE r.observed_generation END,"
                 "   last_error = coalesce(next.err, CASE WHEN next.state = 'running'"
                 "                         THEN NULL ELSE r.last_error END)"
                 "  FROM next WHERE next.id = r.id AND (r.actual_state IS DISTINCT FROM next.state"
                 "   OR r.last_error IS DISTINCT FROM coalesce(next.err, CASE WHEN next.state ="
                 "      'running' THEN NULL ELSE r.last_error END)"
                 "   OR (next.state IN ('running', 'failed', 'completed', 'stopped')"
                 "       AND r.observed_generation <> r.generation))",
                 kinds[i], taskless[i], tables[i], tables[i]);
        if (db_exec(r->conn, sql, 0, NULL, err) != 0)
            return -1;
    }
    return 0;
}

/* Pipeline tasks running unbounded whose inputs have all completed since they started roll
 * over to a bounded run: a stop (the worker checkpoints its offsets and window state), then a
 * start that task_start() makes bounded, which resumes there, reads to the end, fires every
 * window and completes. Each task looks once per check interval (above). 0, or -1 with err. */
static int roll_over_bounded(struct reconciler *r, struct db_error *err)
{
    int64_t now = clock_mono_ms(), every = BOUNDED_CHECK_MS + (int64_t)r->ntasks * BOUNDED_CHECK_MS_PER_TASK;
    for (int i = 0; i < r->ntasks; i++) {
        struct cp_task *t = r->tasks[i];
        struct supervisor_status st;
        if (strcmp(t->kind, "pipeline") != 0 || t->bounded || t->nsources == 0 || t->lost || t->want_stop ||
            t->rolling || t->start_pending || t->generation != t->want_generation ||
            now - t->bounded_checked_mono < every || supervisor_status(r->sup, t->id, &st) != 0 ||
            st.state != SUPERVISOR_RUNNING)
            continue;
        t->bounded_checked_mono = now;
        struct stream_catalog cat = {.conn = r->conn, .tenant = t->tenant_id};
        char why[600];
        int complete = pipeline_inputs_complete(r, t, &cat, why, sizeof why, err);
        stream_catalog_release(&cat);
        if (complete < 0)
            return -1;
        if (!complete)
            continue;
        char msg[800];
        snprintf(msg, sizeof msg, "%.600s: restarting bounded to read the input to its end and complete", why);
        note_event(r, t, "rollover", msg, st.restarts);
        char line[900];
        snprintf(line, sizeof line, "controlplane: task rollover on node %s: %s", r->opt.node_id, msg);
        logs_add_line(r->logs, t->tenant_id, t->kind, t->resource_id, t->id, "info", clock_wall_ms(), line);
        t->rolling = 1;
        supervisor_stop(r->sup, t->id);
    }
    return 0;
}

int reconcile_sync(struct reconciler *r, struct db_error *err)
{
    if (!r->conn)
        return -1;
    PGresult *res = lease_renew(r->conn, r->opt.node_id, r->opt.lease_seconds, err);
    if (!res)
        return -1;
    int rc = apply_renewal(r, res);
    PQclear(res);
    if (rc != 0)
        return -1;
    for (int i = 0; i < r->ntasks; i++)
        if (r->tasks[i]->start_pending && !r->tasks[i]->lost)
            try_start(r, r->tasks[i]);
    if (write_status(r, err) != 0 || delete_stopped_rows(r, err) != 0 || logs_flush(r->logs, r->conn, err) != 0 ||
        metering_flush(r->meter, r->conn, err) != 0 || update_resources(r, err) != 0 ||
        roll_over_bounded(r, err) != 0 || save_checkpoints(r, err) != 0 ||
        lease_node_heartbeat(r->conn, r->opt.node_id, r->ntasks, err) != 0) {
        r->db_errors++;
        return -1;
    }
    return 0;
}

long reconcile_retain_logs(struct reconciler *r, struct db_error *err)
{
    if (!r->conn)
        return -1;
    return logs_retain(r->conn, r->opt.log_retention_hours, r->opt.log_max_per_resource, err);
}

void reconcile_poll(struct reconciler *r, int timeout_ms)
{
    supervisor_poll(r->sup, timeout_ms);
    if (!r->scan_needed)
        return;
    r->scan_needed = 0;
    for (int i = 0; i < r->ntasks;) {
        struct cp_task *t = r->tasks[i];
        struct supervisor_status st;
        int known = supervisor_status(r->sup, t->id, &st) == 0;
        int active = known && (st.pid > 0 || st.state == SUPERVISOR_BACKOFF);
        if (t->lost && !active) {
            task_remove(r, t);
            continue;
        }
        if (t->start_pending && (t->rolling || t->retry) && !active && r->conn)
            try_start(r, t);
        i++;
    }
}

void reconcile_shutdown(struct reconciler *r)
{
    for (int i = 0; i < r->ntasks; i++)
        supervisor_stop(r->sup, r->tasks[i]->id);
    int64_t deadline = clock_mono_ms() + r->opt.supervisor.stop_timeout_ms + 2000;
    while (supervisor_poll(r->sup, 100) > 0 && clock_mono_ms() < deadline)
        ;
    if (r->conn) {
        struct db_error err;
        for (int i = 0; i < r->ntasks; i++)
            r->tasks[i]->dirty = 1;
        write_status(r, &err);
        logs_flush(r->logs, r->conn, &err);
        metering_flush(r->meter, r->conn, &err);
        save_checkpoints(r, &err); /* the final checkpoints of the stopped workers */
        lease_release_all(r->conn, r->opt.node_id, &err);
        update_resources(r, &err);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Prometheus metrics                                                                         */

/* value with backslash, double quote and newline escaped as the text format asks, into out
 * (truncated to outsz; never splits an escape). */
static void label_escape(const char *value, char *out, size_t outsz)
{
    size_t n = 0;
    for (const char *c = value; *c && n + 3 <= outsz; c++) {
        if (*c == '\\' || *c == '"' || *c == '\n') {
            out[n++] = '\\';
            out[n++] = *c == '\n' ? 'n' : *c;
        } else {
            out[n++] = *c;
        }
    }
    if (outsz > 0)
        out[n < outsz ? n : outsz - 1] = 0;
}

/* The labels every per-task series carries, without the braces. The first four keep the order
 * they have always had, so selectors written against them still match. */
static void task_labels(const struct cp_task *t, char *out, size_t outsz)
{
    char tenant[2 * sizeof t->tenant_name], name[2 * sizeof t->name];
    label_escape(t->tenant_name[0] ? t->tenant_name : t->tenant_id, tenant, sizeof tenant);
    label_escape(t->name, name, sizeof name);
    snprintf(out, outsz, "tenant_id=\"%s\",kind=\"%s\",resource_id=\"%s\",task_id=\"%s\",tenant=\"%s\",name=\"%s\"",
             t->tenant_id, t->kind, t->resource_id, t->id, tenant, name);
}

/* Per-task series: a row per metric family, in the order they are written. */
enum task_series { SERIES_COUNTER, SERIES_GAUGE, SERIES_STATE };
static const struct {
    const char *name, *help;
    enum task_series type;
} task_series[] = {
    {"sluice_task_records_in_total", "Records the task read, over all its runs.", SERIES_COUNTER},
    {"sluice_task_records_out_total", "Records the task wrote, over all its runs.", SERIES_COUNTER},
    {"sluice_task_bytes_in_total", "Bytes the task read, over all its runs.", SERIES_COUNTER},
    {"sluice_task_bytes_out_total", "Bytes the task wrote, over all its runs.", SERIES_COUNTER},
    {"sluice_task_errors_total", "Records the task failed on, over all its runs.", SERIES_COUNTER},
    {"sluice_task_late_records_total", "Records dropped for arriving after their window closed.", SERIES_COUNTER},
    {"sluice_task_restarts_total", "Crashes of the task's worker (each restarted unless it failed).", SERIES_COUNTER},
    {"sluice_task_lag", "Records behind the head of the task's input, as the worker last reported.", SERIES_GAUGE},
    {"sluice_task_state_bytes",
     "Bytes held by the task's operator state (aggregates, Top-N, OVER), as the worker "
     "last reported.",
     SERIES_GAUGE},
    {"sluice_task_state", "1 for the task's current supervisor state, 0 for the others.", SERIES_STATE},
};
#define N_TASK_SERIES (sizeof task_series / sizeof task_series[0])
#define N_SUPERVISOR_STATES 7

size_t reconcile_metrics_text(struct reconciler *r, char *buf, size_t bufsz)
{
    size_t len = 0;
    int by_state[N_SUPERVISOR_STATES] = {0};
    /* Past the end, snprintf(NULL, 0) only counts: len ends as the length the whole text needs. */
#define OUT(...) len += (size_t)snprintf(len < bufsz ? buf + len : NULL, len < bufsz ? bufsz - len : 0, __VA_ARGS__)
    OUT("# HELP sluice_controlplane_db_connected 1 when the node has a database connection.\n"
        "# TYPE sluice_controlplane_db_connected gauge\nsluice_controlplane_db_connected %d\n",
        r->conn != NULL);
    OUT("# TYPE sluice_controlplane_task_starts_total counter\n"
        "sluice_controlplane_task_starts_total %llu\n",
        (unsigned long long)r->starts);
    OUT("# TYPE sluice_controlplane_db_errors_total counter\n"
        "sluice_controlplane_db_errors_total %llu\n",
        (unsigned long long)r->db_errors);
    OUT("# TYPE sluice_controlplane_pending_rows gauge\n"
        "sluice_controlplane_pending_rows{kind=\"logs\"} %zu\n"
        "sluice_controlplane_pending_rows{kind=\"usage\"} %zu\n",
        logs_pending(r->logs), metering_pending(r->meter));
    for (size_t c = 0; c < N_TASK_SERIES; c++) {
        OUT("# HELP %s %s\n# TYPE %s %s\n", task_series[c].name, task_series[c].help, task_series[c].name,
            task_series[c].type == SERIES_COUNTER ? "counter" : "gauge");
        for (int i = 0; i < r->ntasks; i++) {
            struct supervisor_status st;
            const struct cp_task *t = r->tasks[i];
            if (supervisor_status(r->sup, t->id, &st) != 0)
                continue;
            char labels[1600];
            task_labels(t, labels, sizeof labels);
            const uint64_t v[] = {st.totals.records_in, st.totals.records_out,   st.totals.bytes_in,
                                  st.totals.bytes_out,  st.totals.errors,        st.totals.late,
                                  t->restarts_total,    (uint64_t)st.totals.lag, st.totals.state_bytes};
            if (task_series[c].type == SERIES_COUNTER)
                OUT("%s{%s} %llu\n", task_series[c].name, labels, (unsigned long long)v[c]);
            else if (task_series[c].type == SERIES_GAUGE)
                OUT("%s{%s} %lld\n", task_series[c].name, labels, (long long)v[c]);
            else
                for (int s = 0; s < N_SUPERVISOR_STATES; s++)
                    OUT("%s{%s,state=\"%s\"} %d\n", task_series[c].name, labels, supervisor_state_name(s),
                        (int)st.state == s);
            if (c == 0 && (int)st.state >= 0 && (int)st.state < N_SUPERVISOR_STATES)
                by_state[st.state]++;
        }
    }
    OUT("# HELP sluice_controlplane_tasks Tasks held by this node, by state.\n"
        "# TYPE sluice_controlplane_tasks gauge\n");
    for (int s = 0; s < N_SUPERVISOR_STATES; s++)
        OUT("sluice_controlplane_tasks{state=\"%s\"} %d\n", supervisor_state_name(s), by_state[s]);
#undef OUT
    return len;
}
