/* task_spec.h — the task spec: what the controlplane tells a worker to run (a pipeline or a
 * connection), sent as one JSON object on the worker's stdin. The controlplane fills a
 * struct task_spec and writes it with task_spec_to_json(); `sluiced worker` reads it back with
 * task_spec_from_json(). The previews the api runs have their own spec (dataplane/preview.h).
 *
 * The JSON (optional fields may be left out):
 *   {"task_id", "tenant_id"?, "kind": "pipeline" | "connection", "task_index"?, "task_count"?,
 *    "generation"?, "bounded"?, "data_dir", "checkpoint_dir"?, "sandbox"?: {"seccomp"?},
 *    "sql"?, "error_policy"?, "dead_letter_stream"?,                          (pipeline)
 *    "connector"?: {"name", "type"?, "stream"?, "properties"?}, "secrets"?,    (connection)
 *    "streams": [{"id"?, "name", "dir", "schema", "partitions"?, "topic"?}],
 *    "kafka_bootstrap_servers"?,                      (with any stream that has a "topic")
 *    "functions"?: [{"name", "returns", "source"}],                          (pipeline)
 *    "lookups"?: [{"name", "connector", "schema", "properties"}],             (pipeline)
 *    "storage"?: {"quota_bytes", "dir"}, "limits"?: {"task_size", "state_max_bytes"}}
 * A pipeline needs "sql", a connection its "connector" and at least one stream (its own, first).
 * Unknown fields are refused: both ends are built from this one definition.
 *
 * Ownership: a struct task_spec owns every string, array and schema it points to;
 * task_spec_free() frees them all. */
#ifndef SLUICE_COMMON_TASK_SPEC_H
#define SLUICE_COMMON_TASK_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum task_spec_kind { TASK_SPEC_PIPELINE, TASK_SPEC_CONNECTION };

/* A connector property or a secret: name and value as text. */
struct task_spec_property {
    char *key, *value;
};

/* A stream the task may use: an embedded log in dir (relative to data_dir, or absolute), or,
 * when topic is set, a Kafka-stored stream: the topic of that name on the deployment's cluster
 * (task_spec.kafka_bootstrap_servers), dir then unused. */
struct task_spec_stream {
    char *id; /* the stream's id; NULL: not given (the worker does not need it) */
    char *name, *dir;
    json_t *schema; /* the stream's schema as the api stores it ({"fields": [...]}), owned */
    int partitions; /* 0: not given (one, or as many as the log has) */
    char *topic;    /* NULL: an embedded log */
};

/* A user-defined function the pipeline's SQL calls (CREATE FUNCTION name RETURNS returns AS
 * 'source' LANGUAGE LUA): as the api stores it, checked by the worker. */
struct task_spec_function {
    char *name, *returns, *source;
};

/* A lookup join's table outside (a pipeline's SQL names a postgres connection of the tenant as
 * the table of FOR SYSTEM_TIME AS OF a PROCTIME() column): the connection's name as the SQL
 * writes it, its connector, the schema of its stream (the table's columns), and its properties
 * with its secrets merged in (decrypted; a secret wins over a property of its name). */
struct task_spec_lookup {
    char *name, *connector;
    json_t *schema; /* owned */
    struct task_spec_property *properties;
    size_t nproperties;
};

/* The outside end of a connection. */
struct task_spec_connector {
    char *name;   /* the connector: datagen, kafka, ... */
    char *type;   /* "source" or "sink"; NULL: not given (a source) */
    char *stream; /* the connection's stream by name; NULL: not given (it is streams[0]) */
    struct task_spec_property *properties;
    size_t nproperties;
};

struct task_spec {
    char *task_id;
    char *tenant_id; /* NULL: not given */
    enum task_spec_kind kind;
    int task_index, task_count; /* task i of n of the resource; 0 and 1 when not given */
    long long generation;       /* the resource's generation the task runs; 0: not given */
    bool bounded;               /* read to the input's end as of the start, then complete */
    char *data_dir;             /* the task's working directory */
    char *checkpoint_dir;       /* shared by the resource's tasks; NULL: under data_dir */
    bool seccomp;               /* install the seccomp allow-list ({"sandbox": {"seccomp": true}}) */
    /* pipeline */
    char *sql;
    char *error_policy;       /* "fail", "skip" or "dead_letter" (checked by the worker); NULL: fail */
    char *dead_letter_stream; /* NULL: none */
    /* host:port,... of the deployment's Kafka cluster, where Kafka-stored streams (those with
     * a topic) live; NULL: none given */
    char *kafka_bootstrap_servers;
    struct task_spec_function *functions;
    size_t nfunctions;
    struct task_spec_lookup *lookups;
    size_t nlookups;
    /* connection */
    struct task_spec_connector connector; /* name NULL: none (a pipeline) */
    struct task_spec_property *secrets;   /* secret connector properties, decrypted */
    size_t nsecrets;
    struct task_spec_stream *streams;
    size_t nstreams;
    /* The tenant's storage quota over the streams under storage_dir; storage_dir NULL: none. */
    uint64_t storage_quota_bytes;
    char *storage_dir;
    /* The task size ("S", "M", "L") and the limit of a pipeline's operator state it gives;
     * task_size NULL: neither (no limit). */
    char *task_size;
    uint64_t state_max_bytes;
};

/* spec as JSON (a new reference), fields that are not given left out; NULL when out of
 * memory or when a required string (task_id, data_dir, a stream's name or dir, a property)
 * is NULL. */
json_t *task_spec_to_json(const struct task_spec *spec);

/* Fills *spec from js (borrowed). Returns 0, or -1 with a message naming the field in err
 * (a missing or ill-typed field, an unknown one) and *spec empty. Connector properties may be
 * strings, numbers or booleans; numbers and booleans become their JSON text ("events": 1000
 * is "1000"). */
int task_spec_from_json(const json_t *js, struct task_spec *spec, char *err, size_t errsz);

/* The members of the JSON object obj (none when obj is NULL) as *n properties in *out (new,
 * for task_spec_free to free with the spec it is put in); numbers and booleans become their
 * JSON text. path names obj in errors ("connector.properties"). Returns 0, or -1 with err
 * (a value of another type; out of memory) and what *out holds so far counted in *n. */
int task_spec_properties_from_json(const json_t *obj, const char *path, struct task_spec_property **out, size_t *n,
                                   char *err, size_t errsz);

/* Frees what spec points to and zeroes it; NULL is a no-op. The struct itself is the
 * caller's. */
void task_spec_free(struct task_spec *spec);

#endif
