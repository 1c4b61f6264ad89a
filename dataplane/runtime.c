/* runtime.c — the engine's execution loop: read a batch → decode → plan → encode → append,
 * with checkpoints (exactly-once embedded log → embedded log), bounded runs and the error
 * policy (see engine.h). */
#include "dataplane/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/arena.h"
#include "dataplane/codec/json_decode.h"
#include "dataplane/codec/json_encode.h"
#include "dataplane/log/crc32c.h"
#include "dataplane/sql/sql.h"

#define RUNTIME_BATCH 1024
#define RUNTIME_IDLE_MIN_US 1000     /* idle polls back off from 1 ms ... */
#define RUNTIME_IDLE_MAX_US 50000    /* ... to 50 ms while no input comes */
#define CHECKPOINT_MAGIC 0x4b434c53u /* "SLCK" */
#define CHECKPOINT_VERSION 1

/* ---------------------------------------------------------------- policies */

static const struct {
    const char *name;
    enum engine_error_policy policy;
} engine_policy_table[] = {
    {"fail", ENGINE_POLICY_FAIL},
    {"skip", ENGINE_POLICY_SKIP},
    {"dead_letter", ENGINE_POLICY_DEAD_LETTER},
};

int engine_error_policy_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof engine_policy_table / sizeof engine_policy_table[0]; i++)
        if (strcmp(engine_policy_table[i].name, name) == 0)
            return (int)engine_policy_table[i].policy;
    return -1;
}

/* ---------------------------------------------------------------- run state */

/* An output: a stream writer, or print lines. */
struct sink {
    const struct stream_backend *backend; /* NULL for print */
    void *writer;
    FILE *print;
};

struct run {
    const struct engine_options *o;
    char *err;
    size_t errlen;
    struct plan *plan;
    const struct engine_stream *source;
    const struct stream_backend *source_backend;
    int nparts;    /* source partitions this task reads */
    int *part_ids; /* their partition numbers */
    void **readers;
    uint64_t *offsets; /* next offset to read, per partition */
    uint64_t *ends;    /* bounded: stop here, per partition */
    struct sink sink, dlq;
    struct json_decoder *decoder;
    struct json_encoder *encoder;
    struct value *row;
    struct arena *arena;
    struct json_buf out; /* one encoded record */
    struct engine_stats stats;
    uint64_t sql_hash;
    bool completed;
    /* where the record being processed came from, for error messages */
    int cur_partition;
    uint64_t cur_offset;
    int64_t last_report_ms; /* of the last report, for reports from inside a sink's wait */
};

static int run_fail(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run_fail(struct run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, r->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static void run_log(struct run *r, enum log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void run_log(struct run *r, enum log_level level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->o->log)
        r->o->log(r->o->ctx, level, msg);
    else
        log_at(level, "%s", msg);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct engine_stream *find_stream(const struct engine_options *o, const char *name)
{
    for (int i = 0; i < o->nstreams; i++)
        if (strcmp(o->streams[i].name, name) == 0)
            return &o->streams[i];
    return NULL;
}

static const struct schema *catalog(void *ctx, const char *name)
{
    const struct engine_stream *s = find_stream(ctx, name);
    return s ? s->schema : NULL;
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* ---------------------------------------------------------------- sinks */

/* Task i of n reads the source partitions p with p % n == i and writes sink partition i. */
static int task_index(const struct engine_options *o) { return o->task_count > 1 ? o->task_index : 0; }
static int task_count(const struct engine_options *o) { return o->task_count > 1 ? o->task_count : 1; }

static void run_progress(void *ctx);

static int sink_open(struct run *r, struct sink *k, const char *name)
{
    const struct engine_stream *s = find_stream(r->o, name);
    if (!s)
        return run_fail(r, "stream \"%s\" is not defined", name);
    if (strcmp(s->backend, "print") == 0) {
        k->print = r->o->print ? r->o->print : stdout;
        return 0;
    }
    k->backend = stream_backend_find(s->backend);
    if (!k->backend || !k->backend->open_writer)
        return run_fail(r, "stream \"%s\" (%s) cannot be written to", name, s->backend);
    int n;
    char e[512];
    if (k->backend->partitions(s->location, 1, s->props, s->nprops, &n, e, sizeof e) != 0 ||
        k->backend->open_writer(s->location, task_index(r->o), s->props, s->nprops, &k->writer, e, sizeof e) != 0)
        return run_fail(r, "stream \"%s\": %s", name, e);
    /* with checkpoints, readers of the sink see only what a checkpoint names */
    if (r->o->checkpoint_path && k->backend->hold_commits)
        k->backend->hold_commits(k->writer);
    /* a sink that waits (retries) keeps the reports, and so the worker's heartbeat, going */
    if (k->backend->set_progress)
        k->backend->set_progress(k->writer, run_progress, r);
    return 0;
}

static int sink_append(struct run *r, struct sink *k, const char *data, size_t len)
{
    if (k->print) { /* one line at a time, whole, when several runs print to one stream */
        flockfile(k->print);
        bool ok = fwrite_unlocked(data, 1, len, k->print) == len && fputc_unlocked('\n', k->print) != EOF;
        funlockfile(k->print);
        return ok ? 0 : run_fail(r, "cannot write output: %s", strerror(errno));
    }
    char e[512];
    if (k->backend->append(k->writer, data, (uint32_t)len, e, sizeof e) != 0)
        return run_fail(r, "%s", e);
    return 0;
}

static int sink_flush(struct run *r, struct sink *k, bool sync)
{
    char e[512];
    if (k->print)
        return fflush(k->print) == 0 ? 0 : run_fail(r, "cannot write output: %s", strerror(errno));
    if (k->writer && k->backend->flush(k->writer, sync, e, sizeof e) != 0)
        return run_fail(r, "%s", e);
    return 0;
}

/* 0 for a sink that cannot be rolled back (print, Kafka). */
static uint64_t sink_end(const struct sink *k)
{
    return k->writer && k->backend->writer_end_offset ? k->backend->writer_end_offset(k->writer) : 0;
}

/* Publishes the sink up to offset (named by the checkpoint just written) to its readers. */
static int sink_commit(struct run *r, struct sink *k, uint64_t offset)
{
    char e[512];
    if (k->writer && k->backend->commit && k->backend->commit(k->writer, offset, e, sizeof e) != 0)
        return run_fail(r, "%s", e);
    return 0;
}

/* Drops what a sink got after the checkpoint; a sink without truncate keeps it (at-least-once). */
static int sink_truncate(struct run *r, struct sink *k, uint64_t offset, const char *what)
{
    char e[512];
    if (!k->writer)
        return 0;
    if (!k->backend->truncate) {
        run_log(r, LOG_INFO,
                "%s (%s) cannot be rolled back to the checkpoint: records written since are written again"
                " (at-least-once)",
                what, k->backend->name);
        return 0;
    }
    if (k->backend->truncate(k->writer, offset, e, sizeof e) != 0)
        return run_fail(r, "cannot roll the %s back to the checkpoint: %s", what, e);
    return 0;
}

static void sink_close(struct sink *k)
{
    if (k->writer)
        k->backend->close_writer(k->writer);
    else if (k->print)
        fflush(k->print);
    k->writer = NULL;
}

/* ---------------------------------------------------------------- checkpoints
 * File: magic, version, sql hash, completed, nparts, (offset, end) per partition, sink end,
 * dead-letter end, the counters, snapshot length and bytes, then a CRC-32C of all before it.
 * Written to PATH.tmp, fsynced, renamed over PATH, and the directory fsynced. */

static int put(struct json_buf *w, const void *p, size_t n)
{
    if (json_buf_reserve(w, n) != 0)
        return -1;
    memcpy(w->data + w->len, p, n);
    w->len += n;
    return 0;
}

static int put_u64(struct json_buf *w, uint64_t v) { return put(w, &v, sizeof v); }

static int write_file_atomic(const char *path, const char *data, size_t len, char *e, size_t elen)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(e, elen, "cannot write checkpoint %s: %s", tmp, strerror(errno));
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(fd);
            snprintf(e, elen, "cannot write checkpoint %s: %s", tmp, strerror(errno));
            return -1;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        snprintf(e, elen, "cannot commit checkpoint %s: %s", path, strerror(errno));
        return -1;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

static int checkpoint_write(struct run *r)
{
    if (!r->o->checkpoint_path)
        return 0;
    /* the output up to here must be durable before the checkpoint names it */
    if (sink_flush(r, &r->sink, true) != 0 || sink_flush(r, &r->dlq, true) != 0)
        return -1;
    struct json_buf w = {0};
    char *snap = NULL;
    size_t snap_len = 0;
    if (r->plan && plan_snapshot(r->plan, &snap, &snap_len) != 0)
        return run_fail(r, "cannot snapshot the pipeline state");
    uint32_t head[2] = {CHECKPOINT_MAGIC, CHECKPOINT_VERSION};
    int rc = put(&w, head, sizeof head) | put_u64(&w, r->sql_hash) | put_u64(&w, r->completed) |
             put_u64(&w, (uint64_t)r->nparts);
    for (int p = 0; p < r->nparts; p++)
        rc |= put_u64(&w, r->offsets[p]) | put_u64(&w, r->ends[p]);
    uint64_t sink_at = sink_end(&r->sink), dlq_at = sink_end(&r->dlq);
    rc |= put_u64(&w, sink_at) | put_u64(&w, dlq_at);
    const struct engine_stats *s = &r->stats;
    rc |= put_u64(&w, s->records_in) | put_u64(&w, s->records_out) | put_u64(&w, s->bytes_in) |
          put_u64(&w, s->bytes_out) | put_u64(&w, s->errors) | put_u64(&w, s->late);
    rc |= put_u64(&w, snap_len) | put(&w, snap ? snap : "", snap_len);
    free(snap);
    uint32_t crc = crc32c(0, w.data, w.len);
    rc |= put(&w, &crc, sizeof crc);
    if (rc != 0) {
        json_buf_free(&w);
        return run_fail(r, "out of memory");
    }
    rc = write_file_atomic(r->o->checkpoint_path, w.data, w.len, r->err, r->errlen);
    json_buf_free(&w);
    if (rc != 0)
        return rc;
    /* only now: a crash before this keeps readers from what a restart rolls back */
    return sink_commit(r, &r->sink, sink_at) | sink_commit(r, &r->dlq, dlq_at);
}

struct ckpt_reader {
    const char *p, *end;
};

static int get_u64(struct ckpt_reader *c, uint64_t *v)
{
    if ((size_t)(c->end - c->p) < sizeof *v)
        return -1;
    memcpy(v, c->p, sizeof *v);
    c->p += sizeof *v;
    return 0;
}

/* Restores from the checkpoint file if there is one: *found says whether there was. */
static int checkpoint_restore(struct run *r, bool *found)
{
    *found = false;
    if (!r->o->checkpoint_path)
        return 0;
    FILE *f = fopen(r->o->checkpoint_path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        return run_fail(r, "cannot read checkpoint %s: %s", r->o->checkpoint_path, strerror(errno));
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                return run_fail(r, "out of memory");
            }
            buf = b;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    int rc = -1;
    uint32_t head[2], crc;
    struct ckpt_reader c = {buf, buf + len};
    uint64_t hash, completed, nparts, sink_end_off, dlq_end_off, snap_len;
    if (len < sizeof head + sizeof crc ||
        (memcpy(&crc, buf + len - sizeof crc, sizeof crc), crc) != crc32c(0, buf, len - sizeof crc)) {
        run_fail(r, "checkpoint %s is corrupt (checksum mismatch)", r->o->checkpoint_path);
        goto out;
    }
    c.end -= sizeof crc;
    memcpy(head, c.p, sizeof head);
    c.p += sizeof head;
    if (head[0] != CHECKPOINT_MAGIC || head[1] != CHECKPOINT_VERSION || get_u64(&c, &hash) || get_u64(&c, &completed) ||
        get_u64(&c, &nparts)) {
        run_fail(r, "checkpoint %s is not a checkpoint of this version", r->o->checkpoint_path);
        goto out;
    }
    if (hash != r->sql_hash) {
        run_fail(r, "checkpoint %s belongs to a different pipeline; remove it to start over", r->o->checkpoint_path);
        goto out;
    }
    if (nparts != (uint64_t)r->nparts) {
        run_fail(r, "checkpoint %s has %" PRIu64 " source partitions, the source has %d", r->o->checkpoint_path, nparts,
                 r->nparts);
        goto out;
    }
    for (int p = 0; p < r->nparts; p++)
        if (get_u64(&c, &r->offsets[p]) || get_u64(&c, &r->ends[p]))
            goto short_file;
    /* the counters at checkpoint time are kept for inspection, not restored: a process reports
     * its own counts (a supervisor sums them per run) */
    struct engine_stats at_checkpoint, *s = &at_checkpoint;
    if (get_u64(&c, &sink_end_off) || get_u64(&c, &dlq_end_off) || get_u64(&c, &s->records_in) ||
        get_u64(&c, &s->records_out) || get_u64(&c, &s->bytes_in) || get_u64(&c, &s->bytes_out) ||
        get_u64(&c, &s->errors) || get_u64(&c, &s->late) || get_u64(&c, &snap_len) ||
        (uint64_t)(c.end - c.p) != snap_len)
        goto short_file;
    if (completed) { /* nothing to resume, and the sinks may have moved on since (a later
                      * pipeline appending to the same dead-letter stream): leave them */
        r->completed = true;
        *found = true;
        rc = 0;
        goto out;
    }
    /* drop output written after the checkpoint */
    if (sink_truncate(r, &r->sink, sink_end_off, "sink") != 0 ||
        sink_truncate(r, &r->dlq, dlq_end_off, "dead-letter stream") != 0)
        goto out;
    struct sql_error se = {0};
    if (r->plan && plan_restore(r->plan, c.p, snap_len, &se) != 0) {
        run_fail(r, "cannot restore the pipeline state: %s", se.message);
        goto out;
    }
    r->completed = completed != 0;
    *found = true;
    rc = 0;
    goto out;
short_file:
    run_fail(r, "checkpoint %s is truncated", r->o->checkpoint_path);
out:
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------- records */

static int emit_row(void *ctx, const struct value *row)
{
    struct run *r = ctx;
    r->out.len = 0;
    if (json_encode_row(r->encoder, row, &r->out) != 0)
        return run_fail(r, "out of memory");
    if (sink_append(r, &r->sink, r->out.data, r->out.len) != 0)
        return -1;
    r->stats.records_out++;
    r->stats.bytes_out += r->out.len;
    return 0;
}

/* A record that cannot be decoded or evaluated: the error policy decides. */
static int bad_record(struct run *r, const struct stream_record *rec, const char *reason)
{
    r->stats.errors++;
    switch (r->o->error_policy) {
    case ENGINE_POLICY_FAIL:
        return run_fail(r, "record at partition %d offset %" PRIu64 ": %s", r->cur_partition, rec->offset, reason);
    case ENGINE_POLICY_SKIP:
        run_log(r, LOG_WARN, "skipped record at partition %d offset %" PRIu64 ": %s", r->cur_partition, rec->offset,
                reason);
        return 0;
    case ENGINE_POLICY_DEAD_LETTER:
        run_log(r, LOG_WARN, "dead-lettered record at partition %d offset %" PRIu64 ": %s", r->cur_partition,
                rec->offset, reason);
        struct json_buf b = {0};
        int rc = json_buf_reserve(&b, 64);
        if (rc == 0)
            b.len = (size_t)snprintf(
                b.data, 64, "{\"partition\":%d,\"offset\":%" PRIu64 ",\"error\":", r->cur_partition, rec->offset);
        rc = rc || json_buf_put_string_lossy(&b, reason, strlen(reason)) || json_buf_reserve(&b, 16);
        if (rc == 0) {
            memcpy(b.data + b.len, ",\"record\":", 10);
            b.len += 10;
            rc = json_buf_put_string_lossy(&b, rec->data, rec->len) || json_buf_reserve(&b, 1);
        }
        if (rc == 0) {
            b.data[b.len++] = '}';
            rc = sink_append(r, &r->dlq, b.data, b.len);
        } else {
            run_fail(r, "out of memory");
        }
        json_buf_free(&b);
        return rc;
    }
    return 0;
}

static int process_record(struct run *r, const struct stream_record *rec)
{
    r->stats.records_in++;
    r->stats.bytes_in += rec->len;
    if (!r->plan) { /* a connection: copy as is */
        if (sink_append(r, &r->sink, rec->data, rec->len) != 0)
            return -1;
        r->stats.records_out++;
        r->stats.bytes_out += rec->len;
        return 0;
    }
    char reason[300];
    if (json_decode_row(r->decoder, rec->data, rec->len, r->row, r->arena, reason, sizeof reason) != 0)
        return bad_record(r, rec, reason);
    struct sql_error se = {0};
    r->err[0] = '\0';
    if (plan_process(r->plan, r->row, r->arena, emit_row, r, &se) != 0) {
        if (r->err[0]) /* the sink failed: fatal whatever the policy */
            return -1;
        return bad_record(r, rec, se.message);
    }
    return 0;
}

/* ---------------------------------------------------------------- setup and loop */

static void run_report(struct run *r, bool with_lag)
{
    if (r->plan) {
        struct plan_stats ps;
        plan_stats(r->plan, &ps);
        r->stats.late = ps.late_dropped;
    }
    if (with_lag) {
        uint64_t lag = 0;
        for (int p = 0; p < r->nparts; p++) {
            uint64_t end;
            char e[256];
            if (r->source_backend->end_offset(r->readers[p], &end, e, sizeof e) == 0 && end != UINT64_MAX &&
                end > r->offsets[p])
                lag += end - r->offsets[p];
        }
        r->stats.lag = lag;
    }
    if (r->o->report)
        r->o->report(r->o->ctx, &r->stats);
    r->last_report_ms = now_ms();
}

/* A sink's writer waiting inside append or flush: reports (without the lag, which would read
 * the source) once per report interval. */
static void run_progress(void *ctx)
{
    struct run *r = ctx;
    uint32_t report_ms = r->o->report_interval_ms ? r->o->report_interval_ms : 1000;
    if (now_ms() - r->last_report_ms >= report_ms)
        run_report(r, false);
}

static int run_setup(struct run *r)
{
    const struct engine_options *o = r->o;
    const char *source_name = o->source, *sink_name = o->sink;
    r->sql_hash = fnv1a(0xcbf29ce484222325ull, o->sql ? o->sql : "");
    if (o->sql) {
        struct sql_error se = {0};
        r->plan = plan_compile(o->sql, catalog, (void *)o, &se);
        if (!r->plan) {
            char msg[400];
            sql_error_format(&se, msg, sizeof msg);
            return run_fail(r, "invalid pipeline SQL: %s", msg);
        }
        source_name = plan_source(r->plan);
        sink_name = plan_sink(r->plan);
    }
    r->sql_hash = fnv1a(fnv1a(r->sql_hash, source_name), sink_name);
    if (!source_name || !sink_name)
        return run_fail(r, "a connection needs a source and a sink stream");
    r->source = find_stream(o, source_name);
    if (!r->source)
        return run_fail(r, "stream \"%s\" is not defined", source_name);
    r->source_backend = stream_backend_find(r->source->backend);
    if (!r->source_backend || !r->source_backend->open_reader)
        return run_fail(r, "stream \"%s\" (%s) cannot be read", source_name, r->source->backend);
    char e[512];
    int total_parts;
    if (task_index(o) < 0 || task_index(o) >= task_count(o))
        return run_fail(r, "task index %d is outside 0..%d", o->task_index, task_count(o) - 1);
    if (r->source_backend->partitions(r->source->location, strcmp(r->source->backend, "log") == 0 ? 1 : 0,
                                      r->source->props, r->source->nprops, &total_parts, e, sizeof e) != 0)
        return run_fail(r, "stream \"%s\": %s", source_name, e);
    r->part_ids = calloc((size_t)total_parts + 1, sizeof *r->part_ids);
    r->readers = calloc((size_t)total_parts + 1, sizeof *r->readers);
    r->offsets = calloc((size_t)total_parts + 1, sizeof *r->offsets);
    r->ends = calloc((size_t)total_parts + 1, sizeof *r->ends);
    if (!r->part_ids || !r->readers || !r->offsets || !r->ends)
        return run_fail(r, "out of memory");
    for (int p = 0; p < total_parts; p++)
        if (p % task_count(o) == task_index(o))
            r->part_ids[r->nparts++] = p;
    if (sink_open(r, &r->sink, sink_name) != 0)
        return -1;
    if (o->error_policy == ENGINE_POLICY_DEAD_LETTER) {
        if (!o->dead_letter_stream)
            return run_fail(r, "the dead_letter error policy needs a dead-letter stream");
        if (sink_open(r, &r->dlq, o->dead_letter_stream) != 0)
            return -1;
    }
    if (r->plan) {
        const struct schema *in = plan_input_schema(r->plan), *out = plan_output_schema(r->plan);
        r->decoder = json_decoder_new(in, plan_needed_fields(r->plan));
        r->encoder = json_encoder_new(out);
        r->row = calloc((size_t)(in->nfields ? in->nfields : 1), sizeof *r->row);
        if (!r->decoder || !r->encoder || !r->row)
            return run_fail(r, "out of memory");
    }
    r->arena = arena_new(64 * 1024);
    if (!r->arena)
        return run_fail(r, "out of memory");
    bool found;
    if (checkpoint_restore(r, &found) != 0)
        return -1;
    if (found) {
        run_log(r, LOG_INFO, "resumed from checkpoint %s at %s partition %d offset %" PRIu64, o->checkpoint_path,
                source_name, r->nparts ? r->part_ids[0] : 0, r->nparts ? r->offsets[0] : 0);
    }
    for (int p = 0; p < r->nparts; p++) {
        if (r->source_backend->open_reader(r->source->location, r->part_ids[p], r->offsets[p], r->source->props,
                                           r->source->nprops, &r->readers[p], e, sizeof e) != 0)
            return run_fail(r, "stream \"%s\": %s", source_name, e);
        /* a fresh start begins where the backend's startup mode says (the checkpoint written
         * below keeps it for restarts) */
        if (!found && r->source_backend->start_offset &&
            r->source_backend->start_offset(r->readers[p], &r->offsets[p], e, sizeof e) != 0)
            return run_fail(r, "stream \"%s\": %s", source_name, e);
        /* a bounded run stops at the end as of its first start (kept in the checkpoint); a
         * bounded run resuming an unbounded one's checkpoint takes the end as of now */
        if (!found || (o->bounded && r->ends[p] == UINT64_MAX)) {
            uint64_t end = UINT64_MAX;
            if ((o->bounded || strcmp(r->source->backend, "datagen") == 0) &&
                r->source_backend->end_offset(r->readers[p], &end, e, sizeof e) != 0)
                return run_fail(r, "stream \"%s\": %s", source_name, e);
            r->ends[p] = end;
        }
    }
    if (!found)
        return checkpoint_write(r); /* names the sink's starting point */
    return 0;
}

static void run_cleanup(struct run *r)
{
    if (r->readers)
        for (int p = 0; p < r->nparts; p++)
            if (r->readers[p])
                r->source_backend->close_reader(r->readers[p]);
    free(r->readers);
    free(r->part_ids);
    free(r->offsets);
    free(r->ends);
    sink_close(&r->sink);
    sink_close(&r->dlq);
    json_decoder_free(r->decoder);
    json_encoder_free(r->encoder);
    free(r->row);
    arena_free(r->arena);
    json_buf_free(&r->out);
    plan_free(r->plan);
}

static bool all_done(const struct run *r)
{
    for (int p = 0; p < r->nparts; p++)
        if (r->offsets[p] < r->ends[p])
            return false;
    return true;
}

/* One pass over the partitions: returns records read, or -1. */
static long run_pass(struct run *r, struct stream_record *recs)
{
    long total = 0;
    char e[512];
    for (int p = 0; p < r->nparts; p++) {
        if (r->offsets[p] >= r->ends[p])
            continue;
        uint64_t room = r->ends[p] - r->offsets[p];
        int max = room < RUNTIME_BATCH ? (int)room : RUNTIME_BATCH;
        int n = r->source_backend->read(r->readers[p], recs, max, e, sizeof e);
        if (n < 0)
            return run_fail(r, "stream \"%s\" partition %d: %s", r->source->name, r->part_ids[p], e);
        r->cur_partition = r->part_ids[p];
        for (int i = 0; i < n; i++) {
            if (process_record(r, &recs[i]) != 0)
                return -1;
            r->offsets[p] = recs[i].offset + 1;
        }
        arena_reset(r->arena);
        total += n;
    }
    return total;
}

enum engine_result engine_run(const struct engine_options *o, struct engine_stats *final, char *err, size_t errlen)
{
    struct run r = {.o = o, .err = err, .errlen = errlen};
    err[0] = '\0';
    enum engine_result result = ENGINE_FAILED;
    struct stream_record *recs = malloc(RUNTIME_BATCH * sizeof *recs);
    if (!recs) {
        snprintf(err, errlen, "out of memory");
        return ENGINE_FAILED;
    }
    if (run_setup(&r) != 0)
        goto out;
    if (r.completed) {
        run_log(&r, LOG_INFO, "already completed (checkpoint %s); remove it to run again", o->checkpoint_path);
        result = ENGINE_COMPLETED;
        goto out;
    }
    uint32_t ckpt_ms = o->checkpoint_interval_ms ? o->checkpoint_interval_ms : 1000;
    uint32_t report_ms = o->report_interval_ms ? o->report_interval_ms : 1000;
    int64_t last_ckpt = now_ms();
    r.last_report_ms = last_ckpt;
    uint64_t records_at_ckpt = r.stats.records_in;
    useconds_t idle_us = RUNTIME_IDLE_MIN_US;
    for (;;) {
        if (o->stop && *o->stop) {
            if (checkpoint_write(&r) != 0)
                goto out;
            result = ENGINE_STOPPED;
            break;
        }
        if (all_done(&r)) {
            if (r.plan && plan_finish(r.plan, r.arena, emit_row, &r) != 0) {
                if (!err[0])
                    snprintf(err, errlen, "cannot finish the pipeline");
                goto out;
            }
            r.completed = true;
            if (sink_flush(&r, &r.sink, true) != 0 || sink_flush(&r, &r.dlq, true) != 0 || checkpoint_write(&r) != 0)
                goto out;
            run_log(&r, LOG_INFO, "completed: %" PRIu64 " records in, %" PRIu64 " out, %" PRIu64 " errors",
                    r.stats.records_in, r.stats.records_out, r.stats.errors);
            result = ENGINE_COMPLETED;
            break;
        }
        long n = run_pass(&r, recs);
        if (n < 0)
            goto out;
        /* make the output visible to readers once per pass */
        if (sink_flush(&r, &r.sink, false) != 0 || sink_flush(&r, &r.dlq, false) != 0)
            goto out;
        int64_t now = now_ms();
        /* no input since the last checkpoint: nothing in it would change */
        if (o->checkpoint_path && r.stats.records_in != records_at_ckpt &&
            (now - last_ckpt >= ckpt_ms || (o->checkpoint_interval_records &&
                                            r.stats.records_in - records_at_ckpt >= o->checkpoint_interval_records))) {
            if (checkpoint_write(&r) != 0)
                goto out;
            last_ckpt = now;
            records_at_ckpt = r.stats.records_in;
        }
        if (now - r.last_report_ms >= report_ms)
            run_report(&r, true);
        if (n == 0) {
            usleep(idle_us);
            idle_us = idle_us * 2 > RUNTIME_IDLE_MAX_US ? RUNTIME_IDLE_MAX_US : idle_us * 2;
        } else {
            idle_us = RUNTIME_IDLE_MIN_US;
        }
    }
out:
    if (r.source_backend && r.readers)
        run_report(&r, result != ENGINE_FAILED);
    if (final)
        *final = r.stats;
    run_cleanup(&r);
    free(recs);
    return result;
}
