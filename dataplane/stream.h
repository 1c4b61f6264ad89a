/* stream.h — the stream backend interface: one struct of function pointers per backend (the
 * embedded log first, Kafka later; datagen is a read-only backend), found by name.
 *
 * A stream lives at a location (for the embedded log, a directory) and has partitions; readers
 * and writers work on one partition. Records are opaque bytes with an offset (their index in
 * the partition). Readers and writers are owned by the caller and released with the backend's
 * close function. Errors: 0 (or a count) on success, -1 with a message in err[errlen]. */
#ifndef SLUICE_DATAPLANE_STREAM_H
#define SLUICE_DATAPLANE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/options.h"
#include "dataplane/value.h"

/* A record handed out by a reader: data stays valid until the reader's next read or close.
 * kind is the row's kind (ROW_INSERT in an append-only stream); data is the row without any
 * encoding of the kind (the embedded log's prefix, a Debezium envelope). where (optional) says
 * where the record came from for error messages ("orders.csv line 12"; NULL: its partition and
 * offset); error (optional) is set when the source itself found the record malformed (a CSV
 * line with too few fields): the engine then treats it by the error policy, with data as the
 * bad record. Both stay valid as data does. */
struct stream_record {
    uint64_t offset;
    const char *data;
    uint32_t len;
    enum row_kind kind;
    const char *where, *error;
};

/* Backend options as key/value strings (`WITH (...)` in SQL, `properties` in a task spec);
 * borrowed for the duration of the call. */
struct stream_property {
    const char *key, *value;
};

/* Called by a writer while it waits long inside append or flush (a sink retrying an endpoint
 * that is down, reconnecting to a database), at least once a second of waiting, so whoever
 * runs it can keep reporting (the worker's heartbeat). */
typedef void (*stream_progress_fn)(void *ctx);

/* What a connection check found (stream_backend.check): the server answered, took the
 * credentials, holds the target (topic, queue, stream, table); error says what failed first. */
struct stream_check {
    bool reachable, authenticated, target_present;
    char error[512];
};

struct stream_backend {
    const char *name;
    /* Partition count of the stream at location; when it has fewer than create > 0, the
     * missing ones are created (a stream's declared count, before anything was written). */
    int (*partitions)(const char *location, int create, const struct stream_property *props, int nprops, int *count,
                      char *err, size_t errlen);
    /* Writers: NULL for read-only backends. The engine's writers also get the property
     * "__checkpoint", the run's checkpoint file, when it checkpoints (state kept beside it). */
    int (*open_writer)(const char *location, int partition, const struct stream_property *props, int nprops,
                       void **writer, char *err, size_t errlen);
    int (*append)(void *writer, const void *data, uint32_t len, char *err, size_t errlen);
    /* Optional: appends a row of any kind (append() is the same with ROW_INSERT). NULL: the
     * backend takes inserts only (an append-only sink). */
    int (*append_kind)(void *writer, enum row_kind kind, const void *data, uint32_t len, char *err, size_t errlen);
    /* Optional: the writer's stream is an upsert stream keyed by schema->primary_key (schema
     * borrowed until close_writer): the embedded log compacts by the key, the PostgreSQL sink
     * upserts and deletes by it. Called right after open_writer. */
    int (*set_key)(void *writer, const struct schema *schema, char *err, size_t errlen);
    /* Makes appended records visible to readers, and durable when sync is true. */
    int (*flush)(void *writer, bool sync, char *err, size_t errlen);
    uint64_t (*writer_end_offset)(void *writer);
    /* Drops records at or after offset (exactly-once recovery). writer_end_offset and truncate
     * may be NULL (Kafka): such a sink cannot be rolled back and is at-least-once. */
    int (*truncate)(void *writer, uint64_t offset, char *err, size_t errlen);
    /* Optional (NULL: true when truncate is set): whether this open writer rolls back to a
     * checkpoint by itself through truncate (Kafka: only in its exactly-once mode, its truncate
     * does nothing otherwise). A sink that does not is read back after a restart instead when
     * its stream asks for it (engine_stream.replay_dedup). */
    bool (*rolls_back)(void *writer);
    /* Optional (read-committed; the embedded log): hold_commits() right after opening makes the
     * writer's records invisible to the engine's readers until commit() publishes them, which
     * the engine does with the sink offset each checkpoint names, once it is written. */
    void (*hold_commits)(void *writer);
    int (*commit)(void *writer, uint64_t offset, char *err, size_t errlen);
    void (*close_writer)(void *writer);
    /* Optional: fn(ctx) is called during long waits of this writer (see stream_progress_fn);
     * set right after open_writer. ctx is borrowed until close_writer. */
    void (*set_progress)(void *writer, stream_progress_fn fn, void *ctx);
    /* Readers, positioned at offset. The embedded log's stop at its committed end. */
    int (*open_reader)(const char *location, int partition, uint64_t offset, const struct stream_property *props,
                       int nprops, void **reader, char *err, size_t errlen);
    /* Up to max records; 0 when none are available yet (tail: call again later). */
    int (*read)(void *reader, struct stream_record *recs, int max, char *err, size_t errlen);
    /* The partition's end offset now (UINT64_MAX for an endless generator). */
    int (*end_offset)(void *reader, uint64_t *end, char *err, size_t errlen);
    void (*close_reader)(void *reader);
    /* Optional (NULL: offset 0): where a reader just opened starts when there is no checkpoint
     * to resume from (Kafka's scan.startup.mode: the low or the high watermark). Moves the
     * reader there and returns the offset. */
    int (*start_offset)(void *reader, uint64_t *offset, char *err, size_t errlen);
    /* Optional (sources whose server keeps a record until it is acknowledged: redis, rabbitmq):
     * the checkpoint that names offset as this reader's next record is durable, so the records
     * before offset may be acknowledged to the server. Called after every checkpoint; a failure
     * (the server unreachable) is the backend's to retry at the next call. */
    void (*acknowledge)(void *reader, uint64_t offset);
    /* Optional (NULL: nothing to reach, all true): connects with the connection's options
     * (secrets included), reads and writes nothing, and fills out (zeroed by the caller). Runs
     * in a sandboxed worker of kind "check" (dataplane/check.h), never in the api. */
    void (*check)(const struct stream_property *props, int nprops, struct stream_check *out);

    /* ---- what the API, the control plane and the worker ask of a connector ---------------- */
    /* The options a stream or connection of this backend takes (NULL: any), the very table the
     * backend checks them with, so the API checks a connection before a worker runs it. */
    const struct option_table *options;
    /* The directions a connection of this connector may take; neither: not a connector of
     * connections (the embedded log, which is how a tenant's streams are kept). */
    bool source, sink;
    const char *location_key; /* the property that names where its stream is (topic, table, url); NULL: none */
    bool wants_schema;        /* gets the stream's schema as the property "__schema" */
    bool full_worker;         /* in sluiced only: the lean sluiced-worker leaves out its library */
    bool network;             /* its tasks reach the network: their sandbox allows it */
    bool taskless;            /* run by the API itself (HTTP ingest): a connection of it has no task */
    const char *bounded_by;   /* a whole-number option that, above 0, makes a source finite; NULL: none */
    /* An option that, when given, makes a source endless; without it the source is finite (the
     * filesystem's "source.monitor-interval"). NULL: none. */
    const char *unbounded_by;
    /* Its location_key option is a file path: through the control plane it must stay inside the
     * tenant's files directory (<data root>/tenants/<tenant>/files), checked by the API at
     * create, and the worker gets that directory as the property "__root", below which the
     * backend opens every file (symlinks leading out are refused). */
    bool tenant_files;
    /* The keys of the record metadata it reads into a column declared `c TYPE METADATA [FROM
     * 'key']` (Flink's; NULL-terminated; NULL: none), each with the type it fills: "headers
     * STRING". Such a field comes in "__schema" with "metadata": "key" (and "virtual": true),
     * so it wants_schema. */
    const char *const *metadata;
    /* Optional: checks a connection's options against its stream's schema (the property
     * "__schema", {"fields": [...]}) and its direction (sink: true), beyond what the option
     * table can (an option naming a field the stream lacks, or of the wrong type; read-only
     * metadata on a sink). 0, or -1 with err and the option at fault in option (its key, for
     * the API's 422). The API calls it at create and update; the backend itself when it opens. */
    int (*check_connection)(const struct stream_property *props, int nprops, bool sink, char *option, size_t optlen,
                            char *err, size_t errlen);
    /* A reader's partitions() call also creates the partitions of the stream's declared count
     * that do not exist yet (the embedded log: a stream read before anything was written to
     * it); otherwise a reader only counts them. */
    bool reader_creates_partitions;
};

/* The backend called name ("log", "datagen", "kafka" in binaries linked with
 * dataplane/kafka/), or NULL. Streams of it can be opened (taskless connectors are not). */
const struct stream_backend *stream_backend_find(const char *name);

/* The connectors of connections (backends with source or sink set, and the API's http): 0 when
 * name is one, with *backend its backend, NULL in a binary that leaves it out (kafka in the lean
 * sluiced-worker; the control plane and the API run in sluiced, which has them all); -1 when
 * name is no connector. */
int stream_connector_find(const char *name, const struct stream_backend **backend);
/* The name of connector i (0, 1, ... in name order), or NULL past the last. */
const char *stream_connector_name(size_t i);

/* Checks props[nprops] against table t: every key known (keys starting with "__", set by the
 * worker, are not checked), each value fitting its row, each required option given. 0, or -1
 * with a message naming the option (options.h). */
int stream_options_check(const struct option_table *t, const struct stream_property *props, int nprops, char *err,
                         size_t errlen);
/* Stores the options of t given in props, or their defaults, into target (option_table_apply);
 * keys outside t are left alone. */
int stream_options_apply(const struct option_table *t, const struct stream_property *props, int nprops, void *target,
                         char *err, size_t errlen);

/* stream_backend.partitions for sinks without partitions (a table, an url): always 1. */
int stream_one_partition(const char *location, int create, const struct stream_property *props, int nprops, int *count,
                         char *err, size_t errlen);
/* Value of key in props, or NULL. */
const char *stream_property_get(const struct stream_property *props, int nprops, const char *key);

#endif
