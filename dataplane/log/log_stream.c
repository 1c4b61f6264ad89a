/* log_stream.c — the embedded log behind the stream backend interface (see log_stream.h). */
#include "dataplane/log/log_stream.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dataplane/codec/row_key.h"
#include "dataplane/log/log_compact.h"

#define LOG_STREAM_MAX_PARTITIONS 1024

/* The options of an embedded log stream, one row each, stored into struct seglog_options. */
#define LOG_STREAM_NUMBER(key, hi, field, help_text)                                                                   \
    {                                                                                                                  \
        .name = key, .type = OPTION_INT, .min = 0, .max = hi, .help = help_text,                                       \
        OPTION_FIELD(struct seglog_options, field)                                                                     \
    }
static const struct option_row log_stream_option_rows[] = {
    LOG_STREAM_NUMBER("segment.bytes", INT64_MAX, segment_bytes, "roll to a new segment past this size (0: 64 MiB)"),
    LOG_STREAM_NUMBER("fsync.records", UINT32_MAX, fsync_every_records, "fsync after this many appends (0: never)"),
    LOG_STREAM_NUMBER("fsync.ms", UINT32_MAX, fsync_every_ms, "fsync this long after the last one (0: never)"),
    LOG_STREAM_NUMBER("retention.bytes", INT64_MAX, retention_bytes, "delete the oldest segments past this total"),
    LOG_STREAM_NUMBER("retention.ms", INT64_MAX, retention_ms, "delete segments last written longer ago"),
};
static const struct option_table log_stream_option_table = OPTION_TABLE("log", log_stream_option_rows);

int seglog_stream_options(const struct stream_property *props, int nprops, struct seglog_options *opt, char *err,
                          size_t errlen)
{
    memset(opt, 0, sizeof *opt);
    /* keys that are no log option (format, ...) are left alone */
    return stream_options_apply(&log_stream_option_table, props, nprops, opt, err, errlen);
}

static int partition_dir(char *buf, size_t size, const char *location, int partition)
{
    return snprintf(buf, size, "%s/%d", location, partition) >= (int)size ? -1 : 0;
}

/* Counts the partitions at location (the highest numbered directory + 1). With create > 0,
 * first makes every missing partition below max(create, that count), so a stream never has a
 * gap: a partition that a reader would fail to open because nothing was written to it yet. */
static int log_stream_partitions(const char *location, int create, const struct stream_property *props, int nprops,
                                 int *count, char *err, size_t errlen)
{
    bool present[LOG_STREAM_MAX_PARTITIONS] = {0};
    DIR *d = opendir(location);
    int n = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            const char *s = e->d_name;
            if (*s && strspn(s, "0123456789") == strlen(s) && atoi(s) < LOG_STREAM_MAX_PARTITIONS) {
                present[atoi(s)] = true;
                if (atoi(s) + 1 > n)
                    n = atoi(s) + 1;
            }
        }
        closedir(d);
    }
    if (create > LOG_STREAM_MAX_PARTITIONS)
        create = LOG_STREAM_MAX_PARTITIONS;
    int want = create > n ? create : n;
    for (int p = 0; create > 0 && p < want; p++) {
        if (present[p])
            continue;
        char dir[4096];
        struct seglog_writer *w;
        if (partition_dir(dir, sizeof dir, location, p) != 0) {
            snprintf(err, errlen, "stream path too long: %s", location);
            return -1;
        }
        int rc = seglog_writer_open(dir, NULL, &w, err, errlen);
        if (rc == LOG_WRITER_BUSY)
            continue; /* another process is creating (or writing) it right now: it exists */
        if (rc != 0)
            return -1;
        seglog_writer_close(w);
    }
    if (create > 0)
        n = want;
    if (n == 0) {
        snprintf(err, errlen, "stream %s does not exist", location);
        return -1;
    }
    *count = n;
    return 0;
}

static int log_stream_open_writer(const char *location, int partition, const struct stream_property *props, int nprops,
                                  void **writer, char *err, size_t errlen)
{
    char dir[4096];
    struct seglog_options opt;
    if (seglog_stream_options(props, nprops, &opt, err, errlen) != 0)
        return -1;
    if (partition_dir(dir, sizeof dir, location, partition) != 0) {
        snprintf(err, errlen, "stream path too long: %s", location);
        return -1;
    }
    /* A reader creating the stream it waits for holds the lock for a moment (see partitions
     * above): wait that out; a real second writer keeps it and fails after two seconds. */
    for (int tries = 0;; tries++) {
        int rc = seglog_writer_open(dir, &opt, (struct seglog_writer **)writer, err, errlen);
        if (rc != LOG_WRITER_BUSY || tries == 100)
            return rc == 0 ? 0 : -1;
        nanosleep(&(struct timespec){.tv_nsec = 20 * 1000000L}, NULL);
    }
}

static int log_stream_append(void *writer, const void *data, uint32_t len, char *err, size_t errlen)
{
    return seglog_writer_append_kind(writer, ROW_INSERT, data, len, NULL, err, errlen);
}

static int log_stream_append_kind(void *writer, enum row_kind kind, const void *data, uint32_t len, char *err,
                                  size_t errlen)
{
    return seglog_writer_append_kind(writer, kind, data, len, NULL, err, errlen);
}

static int upsert_key(void *ctx, const char *row, uint32_t len, char *key, size_t *key_len)
{
    return row_key_of(ctx, row, len, key, LOG_COMPACT_MAX_KEY, key_len);
}

static void upsert_key_release(void *ctx) { row_key_free(ctx); }

/* An upsert stream: compact by the schema's primary key. */
static int log_stream_set_key(void *writer, const struct schema *schema, char *err, size_t errlen)
{
    if (schema->nprimary_key == 0)
        return 0;
    struct row_key *k = row_key_new(schema);
    if (!k) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    seglog_writer_set_compaction(
        writer, &(struct seglog_compaction){.key = upsert_key, .ctx = k, .release = upsert_key_release});
    return 0;
}

static int log_stream_flush(void *writer, bool sync, char *err, size_t errlen)
{
    return seglog_writer_flush(writer, sync, err, errlen);
}

static uint64_t log_stream_writer_end(void *writer) { return seglog_writer_end_offset(writer); }

static int log_stream_truncate(void *writer, uint64_t offset, char *err, size_t errlen)
{
    return seglog_writer_truncate(writer, offset, err, errlen);
}

static void log_stream_hold_commits(void *writer) { seglog_writer_hold_commits(writer); }

static int log_stream_commit(void *writer, uint64_t offset, char *err, size_t errlen)
{
    return seglog_writer_commit(writer, offset, err, errlen);
}

static void log_stream_close_writer(void *writer) { seglog_writer_close(writer); }

/* A reader remembers its partition directory for end_offset(). */
struct log_stream_reader {
    struct seglog_reader *reader;
    char dir[4096];
};

static int log_stream_open_reader(const char *location, int partition, uint64_t offset,
                                  const struct stream_property *props, int nprops, void **reader, char *err,
                                  size_t errlen)
{
    struct log_stream_reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (partition_dir(r->dir, sizeof r->dir, location, partition) != 0 ||
        seglog_reader_open(r->dir, offset, &r->reader, err, errlen) != 0) {
        free(r);
        return -1;
    }
    seglog_reader_committed_only(r->reader); /* never what a crash of the writer rolls back */
    *reader = r;
    return 0;
}

static int log_stream_read(void *reader, struct stream_record *recs, int max, char *err, size_t errlen)
{
    struct log_stream_reader *r = reader;
    return seglog_reader_read(r->reader, recs, max, err, errlen);
}

static int log_stream_end_offset(void *reader, uint64_t *end, char *err, size_t errlen)
{
    struct log_stream_reader *r = reader;
    return seglog_reader_end_offset(r->reader, end, err, errlen);
}

static void log_stream_close_reader(void *reader)
{
    struct log_stream_reader *r = reader;
    if (!r)
        return;
    seglog_reader_close(r->reader);
    free(r);
}

int seglog_streams_bytes(const char *root, uint64_t *bytes, char *err, size_t errlen)
{
    *bytes = 0;
    DIR *streams = opendir(root);
    if (!streams) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "cannot read %s: %s", root, strerror(errno));
        return -1;
    }
    struct dirent *s;
    while ((s = readdir(streams)) != NULL) {
        if (s->d_name[0] == '.')
            continue;
        char location[4096];
        if (snprintf(location, sizeof location, "%s/%s", root, s->d_name) >= (int)sizeof location)
            continue;
        DIR *parts = opendir(location);
        if (!parts)
            continue; /* not a directory, or deleted meanwhile */
        struct dirent *p;
        while ((p = readdir(parts)) != NULL) {
            const char *name = p->d_name;
            char dir[4096];
            uint64_t n;
            if (!*name || strspn(name, "0123456789") != strlen(name) ||
                snprintf(dir, sizeof dir, "%s/%s", location, name) >= (int)sizeof dir)
                continue;
            if (seglog_partition_bytes(dir, &n, err, errlen) == 0)
                *bytes += n;
            /* else: deleted meanwhile; an unreadable partition counts as empty */
        }
        closedir(parts);
    }
    closedir(streams);
    return 0;
}

const struct stream_backend seglog_stream_backend = {
    .options = &log_stream_option_table,
    .name = "log",
    .partitions = log_stream_partitions,
    .open_writer = log_stream_open_writer,
    .append = log_stream_append,
    .append_kind = log_stream_append_kind,
    .set_key = log_stream_set_key,
    .flush = log_stream_flush,
    .writer_end_offset = log_stream_writer_end,
    .truncate = log_stream_truncate,
    .hold_commits = log_stream_hold_commits,
    .commit = log_stream_commit,
    .close_writer = log_stream_close_writer,
    .open_reader = log_stream_open_reader,
    .read = log_stream_read,
    .end_offset = log_stream_end_offset,
    .close_reader = log_stream_close_reader,
    .reader_creates_partitions = true,
};
