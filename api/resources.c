/* resources.c — create, list, get, update, delete, activate and deactivate for every named
 * resource kind, driven by one descriptor per kind. */
#include "api/resources.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/pipeline_sql.h"
#include "api/stream_cache.h"
#include "api/tenant_storage.h"
#include "api/worker_child.h"
#include "common/arena.h"
#include "common/fs.h"
#include "common/json_text.h"
#include "common/json_check.h"
#include "common/log.h"
#include "dataplane/kafka/kafka_admin.h"
#include "dataplane/sql/sql.h"
#include "dataplane/stream.h"

#define RESOURCE_MAX_FIELDS 16

/* How a body field is stored when it is not a plain column of the same name. */
enum resource_storage {
    STORE_COLUMN,     /* column of the field's name; ints as int, objects as jsonb */
    STORE_STREAM_REF, /* a stream name, stored as that stream's id in column */
    STORE_SEALED,     /* a secret value, stored AES-256-GCM sealed in column (bytea) */
};

struct resource_storage_rule {
    const char *field;
    const char *column;
    enum resource_storage how;
};

/* How a column's text becomes JSON: quoted as a string, or as it is (numbers, jsonb). NULL is
 * null either way. */
/* How a column's text becomes JSON: a string, JSON as it is, or a timestamp selected as
 * extract(epoch FROM ...) (resource_ts_parse) and written as "2026-01-31T12:00:00.123456Z". */
enum resource_value { RESOURCE_STRING, RESOURCE_JSON, RESOURCE_TIMESTAMP };

struct resource_column {
    const char *key; /* NULL ends a table */
    const char *sql; /* over the row r */
    enum resource_value as;
};

struct resource_kind {
    const char *kind;  /* singular, for audit and NOTIFY: "pipeline" */
    const char *table; /* and path segment: "pipelines" */
    const struct json_check_field *fields;
    size_t nfields;
    const struct resource_storage_rule *storage; /* NULL-field terminated */
    const struct resource_column *columns;       /* row r as the API's JSON */
    const char *quota_column;                    /* plans column limiting the count */
    bool runnable;
    /* What still uses the row $1, as text such as 'connection "x"' (one row), or NULL. */
    const char *in_use_sql;
    /* Extra checks on a valid-looking body (create: full, update: partial). */
    int (*validate)(struct api_request *req, json_t *body, bool create, struct api_response *resp);
    /* After the row is inserted (doc: its JSON, borrowed), in the same transaction; or NULL. */
    int (*created)(struct api_request *req, const char *id, const json_t *doc, struct api_response *resp);
};

/* ---- descriptors ------------------------------------------------------------------------- */

/* The API's JSON of a row r: one column each, selected as plain values (PostgreSQL's text of
 * them) and written as JSON here (resource_row_json). Building the objects in SQL
 * (json_build_object) cost about 6 us a row in the database, most of a list's time.
 * Timestamps likewise: sluice_ts() (to_char) cost about 2 us a value in the database, its
 * epoch's text about 1 us, and the text sluice_ts() would give is written here. */
// clang-format off
#define COLUMN_STRING(key, sql) {key, sql, RESOURCE_STRING}
#define COLUMN_JSON(key, sql) {key, sql, RESOURCE_JSON}
#define COLUMN_TIMESTAMP(key, col) {key, "extract(epoch FROM " col ")", RESOURCE_TIMESTAMP}
#define COMMON_COLUMNS_HEAD                                                                        \
    COLUMN_STRING("id", "r.id"), COLUMN_STRING("name", "r.name"),                                  \
    COLUMN_STRING("description", "r.description")
#define COMMON_COLUMNS_TAIL                                                                        \
    COLUMN_TIMESTAMP("created_at", "r.created_at"),                                                \
    COLUMN_TIMESTAMP("updated_at", "r.updated_at"), COLUMN_JSON("version", "r.version"),           \
    {NULL, NULL, RESOURCE_STRING}
#define RUNNABLE_COLUMNS                                                                           \
    COLUMN_STRING("desired_state", "r.desired_state"),                                             \
    COLUMN_STRING("actual_state", "r.actual_state"), COLUMN_JSON("task_count", "r.task_count"),    \
    COLUMN_STRING("task_size", "r.task_size"), COLUMN_JSON("generation", "r.generation"),          \
    COLUMN_JSON("observed_generation", "r.observed_generation"),                                   \
    COLUMN_STRING("last_error", "r.last_error")
// clang-format on
/* The name of the stream a column refers to; no lookup when the column is NULL. */
#define STREAM_NAME_OF(col)                                                                                            \
    "CASE WHEN r." col " IS NOT NULL THEN (SELECT s.name FROM streams s WHERE s.id = r." col ") END"

static const char *const task_sizes[] = {"S", "M", "L", NULL};
static const char *const connection_types[] = {"source", "sink", NULL};
static const char *const error_policies[] = {"fail", "skip", "dead_letter", NULL};
static const char *const stream_storages[] = {"log", "kafka", NULL};

// clang-format off
#define NAME_FIELD {"name", JSON_CHECK_NAME, JSON_CHECK_REQUIRED, 0, 0, NULL}
// clang-format on
// clang-format off
#define DESCRIPTION_FIELD {"description", JSON_CHECK_STRING, JSON_CHECK_NULLABLE, 0, 4096, NULL}
// clang-format on
// clang-format off
#define RUNNABLE_FIELDS                                                                            \
    {"task_count", JSON_CHECK_INT, 0, 1, 64, NULL}, {"task_size", JSON_CHECK_ENUM, 0, 0, 0, task_sizes}
// clang-format on

static int stream_validate(struct api_request *req, json_t *body, bool create, struct api_response *resp);
static int stream_created(struct api_request *req, const char *id, const json_t *doc, struct api_response *resp);
static int connection_validate(struct api_request *req, json_t *body, bool create, struct api_response *resp);
static int pipeline_validate(struct api_request *req, json_t *body, bool create, struct api_response *resp);
static int function_validate(struct api_request *req, json_t *body, bool create, struct api_response *resp);

static const struct json_check_field stream_fields[] = {
    NAME_FIELD,
    DESCRIPTION_FIELD,
    {"partitions", JSON_CHECK_INT, 0, 1, 256, NULL},
    {"schema", JSON_CHECK_OBJECT, JSON_CHECK_REQUIRED, 0, 0, NULL},
    {"storage", JSON_CHECK_ENUM, 0, 0, 0, stream_storages},
};
static const struct resource_storage_rule no_rules[] = {{NULL, NULL, STORE_COLUMN}};
static const struct resource_column stream_columns[] = {
    COMMON_COLUMNS_HEAD,
    COLUMN_JSON("partitions", "r.partitions"),
    COLUMN_JSON("schema", "r.schema"),
    COLUMN_STRING("storage", "r.storage"),
    COMMON_COLUMNS_TAIL,
};

/* The pipelines (p.name) whose SQL reads stream s (by name, as a temporal join's versioned
 * table: "s FOR SYSTEM_TIME") while postgres connection c has the same name: without the stream
 * that name would be c, read as a lookup join's table (a stream's name is found first). Names
 * are letters, digits, '_' and '-', no pattern characters. */
#define STREAM_SHADOWS_LOOKUP                                                                                          \
    " FROM streams s JOIN connections c ON c.connector = 'postgres' AND lower(c.name) = lower(s.name)"                 \
    " JOIN pipelines p ON p.sql ~* ('(^|[^A-Za-z0-9_])[`\"]?' || s.name || '[`\"]?\\s+FOR\\s+SYSTEM_TIME')"

const struct resource_kind resource_streams = {
    "stream",
    "streams",
    stream_fields,
    sizeof stream_fields / sizeof stream_fields[0],
    no_rules,
    stream_columns,
    "max_streams",
    false,
    "SELECT 'connection \"' || name || '\"' FROM connections WHERE stream_id = $1 UNION ALL "
    "SELECT 'pipeline \"' || name || '\" (dead letters)' FROM pipelines WHERE dead_letter_stream_id = $1 UNION ALL "
    "SELECT 'pipeline \"' || p.name || '\" (its SQL would read postgres connection \"' || c.name || '\" "
    "instead)'" STREAM_SHADOWS_LOOKUP " WHERE s.id = $1 LIMIT 1",
    stream_validate,
    stream_created,
};

static const struct json_check_field connection_fields[] = {
    NAME_FIELD,
    DESCRIPTION_FIELD,
    {"connector", JSON_CHECK_NAME, JSON_CHECK_REQUIRED, 0, 0, NULL},
    {"type", JSON_CHECK_ENUM, JSON_CHECK_REQUIRED, 0, 0, connection_types},
    {"stream", JSON_CHECK_NAME, JSON_CHECK_REQUIRED, 0, 0, NULL},
    {"properties", JSON_CHECK_STRING_MAP, 0, 0, 200, NULL},
    {"secret_refs", JSON_CHECK_STRING_MAP, 0, 0, 50, NULL},
    RUNNABLE_FIELDS,
};
static const struct resource_storage_rule connection_rules[] = {
    {"stream", "stream_id", STORE_STREAM_REF},
    {NULL, NULL, STORE_COLUMN},
};
static const struct resource_column connection_columns[] = {
    COMMON_COLUMNS_HEAD,
    COLUMN_STRING("connector", "r.connector"),
    COLUMN_STRING("type", "r.type"),
    COLUMN_STRING("stream", STREAM_NAME_OF("stream_id")),
    COLUMN_STRING("stream_id", "r.stream_id"),
    COLUMN_JSON("properties", "r.properties"),
    COLUMN_JSON("secret_refs", "r.secret_refs"),
    RUNNABLE_COLUMNS,
    COMMON_COLUMNS_TAIL,
};

/* A connection is in use by a pipeline that reads its table in a lookup join. */
const struct resource_kind resource_connections = {
    "connection",
    "connections",
    connection_fields,
    sizeof connection_fields / sizeof connection_fields[0],
    connection_rules,
    connection_columns,
    "max_connections",
    true,
    "SELECT 'pipeline \"' || p.name || '\" (lookup join)' FROM pipeline_lookups l JOIN pipelines p ON p.id = "
    "l.pipeline_id WHERE l.connection_id = $1 ORDER BY p.name LIMIT 1",
    connection_validate,
    NULL,
};

static const struct json_check_field pipeline_fields[] = {
    NAME_FIELD,
    DESCRIPTION_FIELD,
    {"sql", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 0, 1 << 20, NULL},
    {"error_policy", JSON_CHECK_ENUM, 0, 0, 0, error_policies},
    {"dead_letter_stream", JSON_CHECK_NAME, JSON_CHECK_NULLABLE, 0, 0, NULL},
    RUNNABLE_FIELDS,
};
static const struct resource_storage_rule pipeline_rules[] = {
    {"dead_letter_stream", "dead_letter_stream_id", STORE_STREAM_REF},
    {NULL, NULL, STORE_COLUMN},
};
static const struct resource_column pipeline_columns[] = {
    COMMON_COLUMNS_HEAD,
    COLUMN_STRING("sql", "r.sql"),
    COLUMN_STRING("error_policy", "r.error_policy"),
    COLUMN_STRING("dead_letter_stream", STREAM_NAME_OF("dead_letter_stream_id")),
    COLUMN_STRING("dead_letter_stream_id", "r.dead_letter_stream_id"),
    RUNNABLE_COLUMNS,
    COMMON_COLUMNS_TAIL,
};

const struct resource_kind resource_pipelines = {
    "pipeline",
    "pipelines",
    pipeline_fields,
    sizeof pipeline_fields / sizeof pipeline_fields[0],
    pipeline_rules,
    pipeline_columns,
    "max_pipelines",
    true,
    NULL,
    pipeline_validate,
    NULL,
};

static const struct json_check_field secret_fields[] = {
    NAME_FIELD,
    DESCRIPTION_FIELD,
    {"value", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 0, 65536, NULL},
};
static const struct resource_storage_rule secret_rules[] = {
    {"value", "value", STORE_SEALED},
    {NULL, NULL, STORE_COLUMN},
};
static const struct resource_column secret_columns[] = {COMMON_COLUMNS_HEAD, COMMON_COLUMNS_TAIL};

const struct resource_kind resource_secrets = {
    "secret",
    "secrets",
    secret_fields,
    sizeof secret_fields / sizeof secret_fields[0],
    secret_rules,
    secret_columns,
    "max_secrets",
    false,
    "SELECT 'connection \"' || c.name || '\"' FROM connections c, secrets s, jsonb_each_text(c.secret_refs) e "
    "WHERE s.id = $1 AND e.value = s.name LIMIT 1",
    NULL,
    NULL,
};

static const char *const function_languages[] = {"lua", NULL};
static const char *const function_kinds[] = {"scalar", "aggregate", NULL};
/* kind and merge are found by loading the source in a sandboxed child (function_validate sets
 * them in the body it stores); a client may send them only as they are found. */
static const struct json_check_field function_fields[] = {
    NAME_FIELD,
    DESCRIPTION_FIELD,
    {"language", JSON_CHECK_ENUM, 0, 0, 0, function_languages},
    {"returns", JSON_CHECK_STRING, 0, 1, 64, NULL},
    {"source", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, 256 << 10, NULL},
    {"kind", JSON_CHECK_ENUM, JSON_CHECK_NULLABLE, 0, 0, function_kinds},
    {"merge", JSON_CHECK_BOOL, JSON_CHECK_NULLABLE, 0, 0, NULL},
};
static const struct resource_column function_columns[] = {
    COMMON_COLUMNS_HEAD,
    COLUMN_STRING("language", "r.language"),
    COLUMN_STRING("returns", "r.returns"),
    COLUMN_STRING("source", "r.source"),
    COLUMN_STRING("kind", "r.kind"),
    COLUMN_JSON("merge", "to_json(r.merge)"),
    COMMON_COLUMNS_TAIL,
};

/* A function is in use by a pipeline whose SQL calls it (its name, then "("). */
const struct resource_kind resource_functions = {
    "function",
    "functions",
    function_fields,
    sizeof function_fields / sizeof function_fields[0],
    no_rules,
    function_columns,
    "max_functions",
    false,
    "SELECT 'pipeline \"' || p.name || '\"' FROM pipelines p, functions f "
    "WHERE f.id = $1 AND p.sql ~* ('(^|[^A-Za-z0-9_])' || f.name || '\\s*\\(') LIMIT 1",
    function_validate,
    NULL,
};

/* ---- kind-specific validation ------------------------------------------------------------ */

/* Column types a stream schema may use (the dataplane maps them onto its value types). */
static bool stream_type_valid(const char *type)
{
    static const char *const plain[] = {"STRING",   "VARCHAR",   "CHAR",          "BIGINT", "INT",     "INTEGER",
                                        "SMALLINT", "TINYINT",   "DOUBLE",        "FLOAT",  "REAL",    "DECIMAL",
                                        "BOOLEAN",  "TIMESTAMP", "TIMESTAMP_LTZ", "DATE",   "NUMERIC", NULL};
    char base[32];
    size_t n = strcspn(type, "(");
    if (n == 0 || n >= sizeof base)
        return false;
    for (size_t i = 0; i < n; i++)
        base[i] = (char)toupper((unsigned char)type[i]);
    base[n] = '\0';
    bool known = false;
    for (const char *const *p = plain; *p && !known; p++)
        known = strcmp(*p, base) == 0;
    if (!known)
        return false;
    if (type[n] == '\0')
        return true;
    /* One or two integer arguments: VARCHAR(n), TIMESTAMP(3), DECIMAL(p, s). */
    int a, b, used = 0;
    bool decimal = strcmp(base, "DECIMAL") == 0 || strcmp(base, "NUMERIC") == 0;
    if (sscanf(type + n, "(%d)%n", &a, &used) == 1 && type[n + used] == '\0')
        return decimal ? a >= 1 && a <= 38 : a >= 0;
    used = 0;
    /* DECIMAL(p, s): as Flink, 1 <= p <= 38 and 0 <= s <= p */
    if (sscanf(type + n, "(%d,%d)%n", &a, &b, &used) == 2 && type[n + used] == '\0')
        return decimal && a >= 1 && a <= 38 && b >= 0 && b <= a;
    used = 0;
    if (sscanf(type + n, "(%d, %d)%n", &a, &b, &used) == 2 && type[n + used] == '\0')
        return decimal && a >= 1 && a <= 38 && b >= 0 && b <= a;
    return false;
}

/* A Kafka-stored stream's topic is created with the stream (the transaction fails when it cannot
 * be: 503, the cluster unreachable). A topic left by a failed transaction is of an id no stream
 * has: harmless, and never reused. */
static int stream_created_kafka(struct api_request *req, const char *id, int partitions, struct api_response *resp)
{
    char topic[256], err[600];
    kafka_stream_topic(req->caller.tenant_id, id, topic, sizeof topic);
    if (kafka_topic_ensure(req->settings->kafka_bootstrap_servers, topic, partitions, NULL, err, sizeof err) != 0) {
        log_error("stream %s: %s", id, err);
        return api_fail(resp, API_UNAVAILABLE, NULL, "cannot create the stream's Kafka topic: %s", err);
    }
    return 0;
}

/* Every partition's directory exists from creation on (api/tenant_storage.h), so a pipeline
 * never meets a partition nothing has written yet. A transaction that fails after this leaves
 * empty directories of an id no stream has: harmless, and never reused. */
static int stream_created(struct api_request *req, const char *id, const json_t *doc, struct api_response *resp)
{
    char err[512];
    int partitions = (int)json_integer_value(json_object_get(doc, "partitions"));
    const char *storage = json_string_value(json_object_get(doc, "storage"));
    if (storage && strcmp(storage, "kafka") == 0)
        return stream_created_kafka(req, id, partitions, resp);
    if (tenant_storage_create_stream(req->settings->data_root ? req->settings->data_root : "var/data",
                                     req->caller.tenant_id, id, partitions, err, sizeof err) != 0) {
        log_error("stream %s: %s", id, err);
        return api_fail(resp, API_INTERNAL, NULL, "cannot create the stream's directories");
    }
    return 0;
}

/* schema.primary_key: names of distinct fields (an upsert stream's key), or null / absent. */
static int stream_validate_key(json_t *key, json_t *fields, struct api_response *resp)
{
    if (!key || json_is_null(key))
        return 0;
    if (json_array_size(key) == 0)
        return api_fail_field(resp, API_INVALID_REQUEST, "schema.primary_key",
                              "a primary key needs at least one field (or leave it out)");
    size_t i, j;
    json_t *name, *f;
    json_array_foreach(key, i, name)
    {
        char path[64];
        snprintf(path, sizeof path, "schema.primary_key[%zu]", i);
        if (!json_is_string(name))
            return api_fail_field(resp, API_INVALID_REQUEST, path, "must be a field name");
        bool found = false;
        json_array_foreach(fields, j, f) found |= json_equal(json_object_get(f, "name"), name);
        if (!found)
            return api_fail_field(resp, API_INVALID_REQUEST, path,
                                  "primary key field \"%s\" is not a field of the schema", json_string_value(name));
        for (j = 0; j < i; j++)
            if (json_equal(json_array_get(key, j), name))
                return api_fail_field(resp, API_INVALID_REQUEST, path, "primary key field \"%s\" appears twice",
                                      json_string_value(name));
    }
    return 0;
}

static int stream_validate_schema(json_t *body, struct api_response *resp)
{
    static const struct json_check_field schema_fields[] = {
        {"fields", JSON_CHECK_ARRAY, JSON_CHECK_REQUIRED, 0, 1000, NULL},
        {"watermark", JSON_CHECK_OBJECT, JSON_CHECK_NULLABLE, 0, 0, NULL},
        {"primary_key", JSON_CHECK_ARRAY, JSON_CHECK_NULLABLE, 0, SCHEMA_MAX_KEY, NULL},
    };
    static const struct json_check_field field_fields[] = {
        {"name", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, 128, NULL},
        {"type", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, 64, NULL},
    };
    static const struct json_check_field watermark_fields[] = {
        {"field", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, 128, NULL},
        {"delay_ms", JSON_CHECK_INT, JSON_CHECK_REQUIRED, 0, 86400000LL * 7, NULL},
    };
    json_t *schema = json_object_get(body, "schema");
    if (!schema)
        return 0;
    struct json_check_error err;
    if (json_check_object(schema, "schema", schema_fields, 3, false, &err) < 0)
        return api_fail_field(resp, API_INVALID_REQUEST, err.field, "%s", err.message);
    json_t *fields = json_object_get(schema, "fields"), *f;
    if (json_array_size(fields) == 0)
        return api_fail_field(resp, API_INVALID_REQUEST, "schema.fields", "a stream needs at least one field");
    size_t i;
    json_array_foreach(fields, i, f)
    {
        char path[64];
        snprintf(path, sizeof path, "schema.fields[%zu]", i);
        if (json_check_object(f, path, field_fields, 2, false, &err) < 0)
            return api_fail_field(resp, API_INVALID_REQUEST, err.field, "%s", err.message);
        const char *type = json_string_value(json_object_get(f, "type"));
        if (!stream_type_valid(type))
            return api_fail_field(resp, API_INVALID_REQUEST, path,
                                  "field type \"%s\" is not supported; use STRING, BIGINT, INT, "
                                  "DOUBLE, BOOLEAN, DECIMAL(p, s) (p up to 38), DATE or TIMESTAMP(3)",
                                  type);
        const char *name = json_string_value(json_object_get(f, "name"));
        for (size_t j = 0; j < i; j++)
            if (strcmp(name, json_string_value(json_object_get(json_array_get(fields, j), "name"))) == 0)
                return api_fail_field(resp, API_INVALID_REQUEST, path, "field \"%s\" appears twice", name);
    }
    if (stream_validate_key(json_object_get(schema, "primary_key"), fields, resp) != 0)
        return -1;
    json_t *wm = json_object_get(schema, "watermark");
    if (wm && !json_is_null(wm)) {
        if (json_check_object(wm, "schema.watermark", watermark_fields, 2, false, &err) < 0)
            return api_fail_field(resp, API_INVALID_REQUEST, err.field, "%s", err.message);
        const char *wf = json_string_value(json_object_get(wm, "field"));
        json_array_foreach(fields, i, f)
        {
            if (strcmp(wf, json_string_value(json_object_get(f, "name"))) == 0) {
                const char *type = json_string_value(json_object_get(f, "type"));
                if (strncasecmp(type, "TIMESTAMP", 9) != 0)
                    return api_fail_field(resp, API_INVALID_REQUEST, "schema.watermark.field",
                                          "watermark field \"%s\" must be a TIMESTAMP, not %s", wf, type);
                return 0;
            }
        }
        return api_fail_field(resp, API_INVALID_REQUEST, "schema.watermark.field",
                              "watermark field \"%s\" is not a field of the schema", wf);
    }
    return 0;
}

/* The pipeline SQL check's view of the tenant's streams (pipeline_schema_fn). */
struct pipeline_streams {
    struct api_request *req;
    struct api_response *resp;
    bool db_failed;       /* resp holds the database error */
    PGresult *candidates; /* name, schema of the streams the SQL text mentions, or NULL */
};

/* The schema lookup of a stream schema change's check (pipeline_schema_fn): the changed stream
 * with its new schema, every other stream as stored (pipeline_stream_schema). */
struct stream_change {
    struct pipeline_streams streams;
    const char *name; /* the changed stream */
    json_t *schema;   /* its schema: new, or NULL for the stored one (borrowed) */
};

static json_t *pipeline_stream_schema(void *vctx, const char *name);

static json_t *stream_change_schema(void *vctx, const char *name)
{
    struct stream_change *c = vctx;
    if (c->schema && strcasecmp(name, c->name) == 0)
        return json_incref(c->schema);
    return pipeline_stream_schema(&c->streams, name);
}

/* The field of old_schema that new_schema drops or gives another type, or NULL: the one the
 * hint (an error message) names in quotes, else the first whose name is in the hint, else the
 * first. */
static const char *stream_changed_field(json_t *old_schema, json_t *new_schema, const char *hint)
{
    const char *first = NULL, *named = NULL;
    json_t *f, *g;
    size_t i, j;
    json_array_foreach(json_object_get(old_schema, "fields"), i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *type = json_string_value(json_object_get(f, "type"));
        bool same = false;
        json_array_foreach(json_object_get(new_schema, "fields"), j, g)
        {
            if (name && strcmp(name, json_string_value(json_object_get(g, "name"))) == 0) {
                same = type && strcasecmp(type, json_string_value(json_object_get(g, "type"))) == 0;
                break;
            }
        }
        if (same || !name)
            continue;
        if (!first)
            first = name;
        char quoted[300];
        snprintf(quoted, sizeof quoted, "\"%s\"", name);
        if (hint && strstr(hint, quoted))
            return name; /* the one the error names */
        if (hint && !named && strstr(hint, name))
            named = name;
    }
    return named ? named : first;
}

/* The connector's own check (stream_backend.check_connection) of a connection's properties (a
 * JSON object) against a stream schema (JSON text) and a direction. 0: it passes; 1: refused,
 * with the option at fault in option and why in msg; -1: out of memory. */
static int connection_run_check(const struct stream_backend *b, json_t *props, const char *schema, bool sink,
                                char *option, size_t optlen, char *msg, size_t msglen)
{
    size_t n = json_object_size(props), i = 0;
    struct stream_property *sp = calloc(n + 1, sizeof *sp);
    if (!sp)
        return -1;
    const char *key;
    json_t *v;
    json_object_foreach(props, key, v)
    {
        if (json_is_string(v))
            sp[i++] = (struct stream_property){key, json_string_value(v)};
    }
    sp[i++] = (struct stream_property){"__schema", schema};
    option[0] = '\0';
    int rc = b->check_connection(sp, (int)i, sink, option, optlen, msg, msglen);
    free(sp);
    return rc == 0 ? 0 : 1;
}

/* The stream's connections whose connector checks its options against the stream's schema
 * (stream_backend.check_connection: a Kafka connection's 'metadata.FIELD', 'key.fields') are
 * checked against the new schema; one that would break is a 409 conflict naming it, the option
 * and the field. One that fails against the stored schema too is not this change's doing. */
static int stream_check_connections(struct api_request *req, const char *name, json_t *old_schema, json_t *schema,
                                    struct api_response *resp)
{
    const char *params[] = {req->params.values[0]};
    PGresult *conns = api_db_query(
        req, resp, "SELECT name, connector, type, properties::text FROM connections WHERE stream_id = $1 ORDER BY name",
        1, params);
    if (!conns)
        return -1;
    char *new_text = json_dumps(schema, JSON_COMPACT), *old_text = json_dumps(old_schema, JSON_COMPACT);
    int rc = new_text && old_text ? 0 : api_fail(resp, API_INTERNAL, NULL, "out of memory");
    for (int i = 0; i < PQntuples(conns) && rc == 0; i++) {
        const struct stream_backend *b = NULL;
        if (stream_connector_find(PQgetvalue(conns, i, 1), &b) != 0 || !b || !b->check_connection)
            continue;
        json_t *props = json_loads(PQgetvalue(conns, i, 3), 0, NULL);
        bool sink = strcmp(PQgetvalue(conns, i, 2), "sink") == 0;
        char option[300], msg[1000], before_option[300], before[1000];
        int now = connection_run_check(b, props, new_text, sink, option, sizeof option, msg, sizeof msg);
        int was = now == 1 ? connection_run_check(b, props, old_text, sink, before_option, sizeof before_option, before,
                                                  sizeof before)
                           : 0;
        json_decref(props);
        if (now < 0 || was < 0) {
            rc = api_fail(resp, API_INTERNAL, NULL, "out of memory");
        } else if (now == 1 && was == 0) {
            const char *field = stream_changed_field(old_schema, schema, msg);
            rc = api_fail(resp, API_CONFLICT,
                          json_pack("{s:s,s:s,s:s+,s:s?}", "field", "schema", "connection", PQgetvalue(conns, i, 0),
                                    "option", "properties.", option, "stream_field", field),
                          "connection \"%s\" uses field \"%s\" of stream \"%s\" in properties.%s and would break: "
                          "%s; change the connection first",
                          PQgetvalue(conns, i, 0), field ? field : "?", name, option, msg);
        }
    }
    free(new_text);
    free(old_text);
    PQclear(conns);
    return rc;
}

/* A schema change of stream id (the row being updated) must not break what uses the stream
 * until migrations exist: every pipeline of the tenant that reads or writes it still compiles
 * against the new schema (a pipeline that did not compile before is not this change's doing),
 * and an HTTP ingest connection's partition.key still names a field. Else 409 conflict naming
 * the user and the field. */
static int stream_check_users(struct api_request *req, json_t *schema, struct api_response *resp)
{
    const char *params[] = {req->params.values[0]};
    /* the row lock that resource_lock takes after validation, taken now: a connection's check of
     * the stream's schema (FOR SHARE, connection_stream_schema) waits for this change, and this
     * check for that connection's change, so each sees the other's committed result */
    PGresult *stream =
        api_db_query(req, resp, "SELECT name, schema::text FROM streams WHERE id = $1 FOR UPDATE", 1, params);
    if (!stream)
        return -1;
    if (PQntuples(stream) != 1) { /* the update answers 404 itself */
        PQclear(stream);
        return 0;
    }
    int rc = 0;
    char name[256];
    snprintf(name, sizeof name, "%s", PQgetvalue(stream, 0, 0));
    json_t *old_schema = json_loads(PQgetvalue(stream, 0, 1), 0, NULL);
    PQclear(stream);
    const char *key_params[] = {req->params.values[0], json_dumps(schema, JSON_COMPACT)};
    PGresult *conns = key_params[1] ? api_db_query(req, resp,
                                                   "SELECT name, properties->>'partition.key' FROM connections "
                                                   "WHERE stream_id = $1 AND properties ? 'partition.key' AND NOT "
                                                   "($2::jsonb)->'fields' @> jsonb_build_array(jsonb_build_object("
                                                   "'name', properties->>'partition.key')) LIMIT 1",
                                                   2, key_params)
                                    : NULL;
    free((char *)key_params[1]);
    if (!conns) {
        rc = -1;
        goto out;
    }
    if (PQntuples(conns) > 0) {
        rc = api_fail(resp, API_CONFLICT,
                      json_pack("{s:s,s:s,s:s}", "field", "schema", "connection", PQgetvalue(conns, 0, 0),
                                "stream_field", PQgetvalue(conns, 0, 1)),
                      "connection \"%s\" uses field \"%s\" of stream \"%s\" as its partition.key; change the "
                      "connection first",
                      PQgetvalue(conns, 0, 0), PQgetvalue(conns, 0, 1), name);
        PQclear(conns);
        goto out;
    }
    PQclear(conns);
    if (stream_check_connections(req, name, old_schema, schema, resp) != 0) {
        rc = -1;
        goto out;
    }
    /* the pipelines whose text names it, and those that read it as a lookup join's table
     * through a connection (whose name their text has instead) */
    const char *name_params[] = {name, req->params.values[0]};
    PGresult *pipes = api_db_query(req, resp,
                                   "SELECT name, sql, task_count FROM pipelines "
                                   "WHERE position(lower($1) in lower(sql)) > 0 OR id IN (SELECT l.pipeline_id FROM "
                                   "pipeline_lookups l JOIN connections c ON c.id = l.connection_id "
                                   "WHERE c.stream_id = $2) ORDER BY name",
                                   2, name_params);
    if (!pipes) {
        rc = -1;
        goto out;
    }
    for (int i = 0; i < PQntuples(pipes) && rc == 0; i++) {
        struct stream_change change = {.streams = {.req = req, .resp = resp}, .name = name, .schema = schema};
        struct resource_tables conns_of = {/* its lookup joins' tables */
                                           .req = req,
                                           .resp = resp,
                                           .changed_stream = req->params.values[0],
                                           .changed_schema = schema};
        struct pipeline_sql_tables tables = {resource_connection_table, &conns_of, NULL};
        struct pipeline_sql_error err;
        long task_count = atol(PQgetvalue(pipes, i, 2));
        const char *text = PQgetvalue(pipes, i, 1);
        if (pipeline_validate_sql_tables(text, task_count, stream_change_schema, &change, &tables, NULL, 0, &err) == 0)
            continue;
        struct pipeline_sql_error before;
        change.schema = conns_of.changed_schema = NULL; /* did it compile against the stored schema? */
        if (!change.streams.db_failed && !conns_of.db_failed &&
            pipeline_validate_sql_tables(text, task_count, stream_change_schema, &change, &tables, NULL, 0, &before) !=
                0)
            continue;
        if (change.streams.db_failed || conns_of.db_failed) {
            rc = -1;
            break;
        }
        const char *field = stream_changed_field(old_schema, schema, err.message);
        rc = api_fail(
            resp, API_CONFLICT,
            json_pack("{s:s,s:s,s:s?}", "field", "schema", "pipeline", PQgetvalue(pipes, i, 0), "stream_field", field),
            "pipeline \"%s\" uses field \"%s\" of stream \"%s\" and would break: %s (line %d, column "
            "%d); change or delete the pipeline first",
            PQgetvalue(pipes, i, 0), field ? field : "?", name, err.message, err.line, err.column);
    }
    PQclear(pipes);
out:
    json_decref(old_schema);
    return rc;
}

/* "storage": "kafka" needs the deployment's cluster; a stream's storage is fixed at creation. */
static int stream_validate_storage(struct api_request *req, json_t *body, bool create, struct api_response *resp)
{
    const char *storage = json_string_value(json_object_get(body, "storage"));
    if (!storage && create && req->settings->kafka_default) /* the deployment's default (--stream-storage) */
        return json_object_set_new(body, "storage", json_string("kafka")) == 0
                   ? 0
                   : api_fail(resp, API_INTERNAL, NULL, "out of memory");
    if (!storage)
        return 0;
    if (create && strcmp(storage, "kafka") == 0 && !req->settings->kafka_bootstrap_servers)
        return api_fail_field(resp, API_INVALID_STREAM, "storage",
                              "this deployment has no Kafka cluster for streams stored in Kafka (the operator sets "
                              "--kafka-bootstrap-servers); leave out \"storage\" for the embedded log");
    if (create)
        return 0;
    const char *params[] = {req->params.values[0]};
    PGresult *r = api_db_query(req, resp, "SELECT storage FROM streams WHERE id = $1", 1, params);
    if (!r)
        return -1;
    int changed = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), storage) != 0;
    PQclear(r);
    if (changed)
        return api_fail_field(resp, API_INVALID_STREAM, "storage",
                              "a stream's storage cannot change: create a new stream with \"storage\": \"%s\"",
                              storage);
    return 0;
}

/* A 409 conflict over a stream's name when sql (with its two params) finds a row (pipeline
 * name, connection name): details field "name", pipeline and connection, and the message fmt
 * (two %s: the pipeline, the connection). 0 when it finds none, -1 with resp filled. */
__attribute__((format(printf, 5, 0))) static int stream_name_conflict(struct api_request *req,
                                                                      struct api_response *resp, const char *sql,
                                                                      const char *params[2], const char *fmt)
{
    PGresult *res = api_db_query(req, resp, sql, 2, params);
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) > 0)
        rc = api_fail(resp, API_CONFLICT,
                      json_pack("{s:s,s:s,s:s}", "field", "name", "pipeline", PQgetvalue(res, 0, 0), "connection",
                                PQgetvalue(res, 0, 1)),
                      fmt, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
    PQclear(res);
    return rc;
}

/* A stream's name (at create or rename) must not be that of a connection a pipeline reads as a
 * lookup join's table (pipeline_lookups): a name finds a stream before a connection, so the
 * pipeline's SQL would read the stream instead and its recorded lookup would be stale. */
static int stream_check_lookup_name(struct api_request *req, json_t *body, bool create, struct api_response *resp)
{
    const char *params[] = {json_string_value(json_object_get(body, "name")), create ? NULL : req->params.values[0]};
    if (!params[0])
        return 0;
    return stream_name_conflict(req, resp, /* (an update keeping the name is no rename) */
                                "SELECT p.name, c.name FROM pipeline_lookups l JOIN pipelines p ON p.id = "
                                "l.pipeline_id JOIN connections c ON c.id = l.connection_id "
                                "WHERE lower(c.name) = lower($1) AND NOT EXISTS (SELECT 1 FROM streams "
                                "WHERE id = $2 AND lower(name) = lower($1)) ORDER BY p.name LIMIT 1",
                                params,
                                "pipeline \"%s\" reads connection \"%s\" as a lookup join's table, and a stream of "
                                "that name would take its place in the pipeline's SQL; choose another name");
}

/* A stream's rename must not leave a pipeline's SQL reading a postgres connection of its old
 * name (STREAM_SHADOWS_LOOKUP) instead. */
static int stream_check_rename(struct api_request *req, json_t *body, bool create, struct api_response *resp)
{
    const char *params[] = {req->params.values[0], json_string_value(json_object_get(body, "name"))};
    if (create || !params[1])
        return 0;
    return stream_name_conflict(req, resp,
                                "SELECT p.name, c.name" STREAM_SHADOWS_LOOKUP
                                " WHERE s.id = $1 AND lower(s.name) <> lower($2) ORDER BY p.name LIMIT 1",
                                params,
                                "pipeline \"%s\" reads this stream in a temporal join, and without it the name would "
                                "be postgres connection \"%s\", read as a lookup join's table; change the pipeline or "
                                "rename the connection first");
}

static int stream_validate(struct api_request *req, json_t *body, bool create, struct api_response *resp)
{
    if (stream_validate_schema(body, resp) != 0 || stream_validate_storage(req, body, create, resp) != 0 ||
        stream_check_lookup_name(req, body, create, resp) != 0 || stream_check_rename(req, body, create, resp) != 0)
        return -1;
    json_t *schema = json_object_get(body, "schema");
    return create || !schema ? 0 : stream_check_users(req, schema, resp);
}

/* A connection's partition.key property (HTTP ingest's) must name a field of its stream (checked
 * when the body names the stream and a connector that has the option). */
static int connection_check_partition_key(struct api_request *req, json_t *body, struct api_response *resp)
{
    const char *key = json_string_value(json_object_get(json_object_get(body, "properties"), "partition.key"));
    const char *connector = json_string_value(json_object_get(body, "connector"));
    const char *stream = json_string_value(json_object_get(body, "stream"));
    const struct stream_backend *b = NULL;
    if (!key || !stream || stream_connector_find(connector, &b) != 0 || !b || !b->options ||
        !option_find(b->options, "partition.key"))
        return 0;
    const char *params[] = {stream, key};
    PGresult *res = api_db_query(req, resp, /* locked as in connection_stream_schema */
                                 "SELECT NOT schema->'fields' @> jsonb_build_array(jsonb_build_object('name', "
                                 "$2::text)) FROM streams WHERE name = $1 FOR SHARE",
                                 2, params);
    if (!res)
        return -1;
    int missing = PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (missing)
        return api_fail_field(resp, API_INVALID_REQUEST, "properties.partition.key",
                              "stream \"%s\" has no field \"%s\"; partition.key names the field whose value picks "
                              "an event's partition",
                              stream, key);
    return 0;
}

/* ---- connectors and their options ------------------------------------------------------ */

/* The known connectors, in name order, as "datagen, http, ..." into out. */
static void connector_names(char *out, size_t outlen)
{
    out[0] = '\0';
    for (size_t i = 0; stream_connector_name(i); i++)
        snprintf(out + strlen(out), outlen - strlen(out), "%s%s", i ? ", " : "", stream_connector_name(i));
}

static int connection_fail_option(struct api_response *resp, const char *group, const char *key, const char *msg)
{
    char field[320]; /* "properties." and an option of up to 299 */
    snprintf(field, sizeof field, "%s.%s", group, key);
    return api_fail_field(resp, API_INVALID_CONNECTION, field, "%s", msg);
}

/* A required option is given as a property (not empty) or as a secret ref (its value unseen). */
struct connection_values {
    json_t *props, *refs;
};

static const char *connection_value(void *ctx, const char *name)
{
    const struct connection_values *c = ctx;
    const char *v = json_string_value(json_object_get(c->props, name));
    return v && *v ? v : json_object_get(c->refs, name) ? "(secret)" : NULL;
}

/* Checks properties and secret_refs (objects, or NULL) against the connector's option table,
 * with the validator the worker uses: every key must be an option, each value given in
 * properties must fit its row (secret values are not seen here), each required option present. */
static int connection_check_options(const struct option_table *t, json_t *props, json_t *refs,
                                    struct api_response *resp)
{
    char msg[1000];
    json_t *groups[] = {props, refs};
    const char *group_names[] = {"properties", "secret_refs"};
    for (size_t g = 0; g < 2; g++) {
        const char *key;
        json_t *v;
        json_object_foreach(groups[g], key, v)
        {
            if (option_check(t, key, g == 0 ? json_string_value(v) : NULL, msg, sizeof msg) != 0)
                return connection_fail_option(resp, option_find(t, key) ? "properties" : group_names[g], key, msg);
        }
    }
    struct connection_values values = {props, refs};
    const struct option_row *missing;
    if (option_check_required(t, connection_value, &values, &missing, msg, sizeof msg) != 0)
        return connection_fail_option(resp, "properties", missing->name, msg);
    return 0;
}

/* A connector whose location is a file path (filesystem): it must stay inside the tenant's files
 * directory, and lead nowhere else through a symlink there now (the worker opens every file
 * below that directory, so a symlink planted later is refused then). */
static int connection_check_path(struct api_request *req, const struct stream_backend *b, json_t *props,
                                 struct api_response *resp)
{
    const char *path = json_string_value(json_object_get(props, b->location_key));
    if (!path)
        return 0; /* a missing path is the option check's */
    char root[1024], rel[1024], msg[600];
    fs_tenant_files_dir(req->settings->data_root ? req->settings->data_root : "var/data", req->caller.tenant_id, root,
                        sizeof root);
    if (fs_path_inside(root, path, rel, sizeof rel, msg, sizeof msg) != 0 ||
        fs_path_check_beneath(root, rel, msg, sizeof msg) != 0)
        return connection_fail_option(resp, "properties", b->location_key, msg);
    return 0;
}

/* The schema of the connection's stream as JSON text (new; NULL: none found, or -1 on a
 * database failure): the body's stream by name, else (update) the stored one. The stream's row
 * stays share-locked to the end of the request's transaction, so a schema change of the stream
 * (stream_check_users locks its row) waits for this connection's change, or this check for it. */
static int connection_stream_schema(struct api_request *req, json_t *body, bool create, struct api_response *resp,
                                    char **schema)
{
    const char *stream = json_string_value(json_object_get(body, "stream"));
    *schema = NULL;
    if (!stream && create)
        return 0;
    const char *params[] = {stream ? stream : req->params.values[0]};
    PGresult *res = api_db_query(req, resp,
                                 stream ? "SELECT schema::text FROM streams WHERE name = $1 FOR SHARE"
                                        : "SELECT s.schema::text FROM connections c JOIN streams s ON s.id = "
                                          "c.stream_id WHERE c.id = $1 FOR SHARE OF s",
                                 1, params);
    if (!res)
        return -1;
    if (PQntuples(res) == 1 && !(*schema = strdup(PQgetvalue(res, 0, 0)))) {
        PQclear(res);
        return api_fail(resp, API_INTERNAL, NULL, "out of memory");
    }
    PQclear(res);
    return 0;
}

/* The connector's own check of the connection's properties against its stream's schema and its
 * direction (stream_backend.check_connection): a 422 naming the option. */
static int connection_check_schema(struct api_request *req, const struct stream_backend *b, json_t *body, bool create,
                                   const char *type, json_t *props, struct api_response *resp)
{
    char *schema;
    if (connection_stream_schema(req, body, create, resp, &schema) != 0)
        return -1;
    if (!schema) /* no such stream: the stream reference's own check answers */
        return 0;
    char option[300], msg[1000];
    int rc = connection_run_check(b, props, schema, strcmp(type, "sink") == 0, option, sizeof option, msg, sizeof msg);
    free(schema);
    if (rc < 0)
        return api_fail(resp, API_INTERNAL, NULL, "out of memory");
    return rc == 0 ? 0 : connection_fail_option(resp, "properties", option, msg);
}

/* The connection as it will be (body over the stored row on update) checked against its
 * connector: known, of a type it supports, with options its table allows. */
static int connection_validate_connector(struct api_request *req, json_t *body, bool create, struct api_response *resp)
{
    json_t *connector_json = json_object_get(body, "connector"), *type_json = json_object_get(body, "type");
    json_t *props = json_object_get(body, "properties"), *refs = json_object_get(body, "secret_refs");
    json_t *stored_props = NULL, *stored_refs = NULL;
    char connector[128] = "", type[16] = "";
    int rc = -1;
    snprintf(connector, sizeof connector, "%s",
             json_string_value(connector_json) ? json_string_value(connector_json) : "");
    snprintf(type, sizeof type, "%s", json_string_value(type_json) ? json_string_value(type_json) : "");
    if (!create && (!connector_json || !type_json || !props || !refs)) {
        const char *params[] = {req->params.values[0]};
        PGresult *res = api_db_query(req, resp,
                                     "SELECT connector, type, properties::text, secret_refs::text FROM connections "
                                     "WHERE id = $1",
                                     1, params);
        if (!res)
            return -1;
        if (PQntuples(res) != 1) { /* the update answers 404 itself */
            PQclear(res);
            return 0;
        }
        if (!connector_json)
            snprintf(connector, sizeof connector, "%s", PQgetvalue(res, 0, 0));
        if (!type_json)
            snprintf(type, sizeof type, "%s", PQgetvalue(res, 0, 1));
        if (!props && !PQgetisnull(res, 0, 2))
            props = stored_props = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
        if (!refs && !PQgetisnull(res, 0, 3))
            refs = stored_refs = json_loads(PQgetvalue(res, 0, 3), 0, NULL);
        PQclear(res);
    }
    const struct stream_backend *b = NULL;
    if (stream_connector_find(connector, &b) != 0 || !b) { /* !b: a connector left out of this binary */
        char names[200];
        connector_names(names, sizeof names);
        api_fail_field(resp, API_INVALID_CONNECTION, "connector", "unknown connector \"%s\"; known: %s", connector,
                       names);
        goto out;
    }
    bool source = b->source, sink = b->sink;
    const struct option_table *table = b->options; /* NULL: the backend takes any option (none today) */
    if ((strcmp(type, "sink") == 0 && !sink) || (strcmp(type, "source") == 0 && !source)) {
        api_fail_field(resp, API_INVALID_REQUEST, "type", "connector %s can only be a %s, not \"%s\"", connector,
                       sink ? "sink" : "source", type);
        goto out;
    }
    if (table && connection_check_options(table, json_is_object(props) ? props : NULL,
                                          json_is_object(refs) ? refs : NULL, resp) != 0)
        goto out;
    if (b->tenant_files && b->location_key && connection_check_path(req, b, props, resp) != 0)
        goto out;
    if (b->check_connection && connection_check_schema(req, b, body, create, type, props, resp) != 0)
        goto out;
    rc = 0;
out:
    json_decref(stored_props);
    json_decref(stored_refs);
    return rc;
}

/* A postgres connection that a pipeline reads as a lookup join's table (pipeline_lookups, kept
 * at the pipeline's create and update) keeps its name, connector, table and stream while it is
 * so read: changing one would break the pipeline, 409 conflict naming it and the field. 0, or -1
 * with resp filled. */
static int connection_check_lookup_use(struct api_request *req, json_t *body, bool create, struct api_response *resp)
{
    json_t *props = json_object_get(body, "properties");
    const char *params[] = {req->params.values[0],
                            json_string_value(json_object_get(body, "name")),
                            json_string_value(json_object_get(body, "connector")),
                            json_string_value(json_object_get(props, "table")),
                            props ? "t" : "f",
                            json_string_value(json_object_get(body, "stream"))};
    if (create || (!params[1] && !params[2] && !props && !params[5]))
        return 0;
    PGresult *res = api_db_query(
        req, resp,
        "SELECT * FROM (SELECT p.name, c.name, CASE WHEN c.name <> $2 THEN 'name' WHEN c.connector <> $3 THEN "
        "'connector' WHEN $5::boolean AND c.properties->>'table' IS DISTINCT FROM $4 THEN 'properties.table' "
        "WHEN lower(s.name) <> lower($6) THEN 'stream' END AS field FROM pipeline_lookups l "
        "JOIN pipelines p ON p.id = l.pipeline_id JOIN connections c ON c.id = l.connection_id "
        "JOIN streams s ON s.id = c.stream_id WHERE l.connection_id = $1) u WHERE field IS NOT NULL "
        "ORDER BY 1 LIMIT 1",
        6, params);
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) > 0)
        rc = api_fail(resp, API_CONFLICT,
                      json_pack("{s:s,s:s}", "field", PQgetvalue(res, 0, 2), "pipeline", PQgetvalue(res, 0, 0)),
                      "pipeline \"%s\" reads connection \"%s\" as a lookup join's table; change or delete the "
                      "pipeline before changing the connection's %s",
                      PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
    PQclear(res);
    return rc;
}

static int connection_validate(struct api_request *req, json_t *body, bool create, struct api_response *resp)
{
    if (connection_check_partition_key(req, body, resp) < 0 || connection_check_lookup_use(req, body, create, resp) < 0)
        return -1;
    json_t *refs = json_object_get(body, "secret_refs"), *v;
    const char *prop;
    json_object_foreach(refs, prop, v)
    {
        const char *name = json_string_value(v);
        const char *params[] = {name};
        PGresult *res = api_db_query(req, resp, "SELECT 1 FROM secrets WHERE name = $1", 1, params);
        if (!res)
            return -1;
        int found = PQntuples(res) > 0;
        PQclear(res);
        if (!found) {
            char field[160];
            snprintf(field, sizeof field, "secret_refs.%s", prop);
            return api_fail_field(resp, API_INVALID_REQUEST, field,
                                  "secret \"%s\" not found; create it with POST /v1/secrets first", name);
        }
    }
    /* after the secrets, so a missing secret is named before what the connector makes of it */
    return connection_validate_connector(req, body, create, resp);
}

static json_t *pipeline_stream_schema(void *vctx, const char *name)
{
    struct pipeline_streams *c = vctx;
    if (c->db_failed)
        return NULL;
    /* From the candidates fetched at once (pipeline_validate), as the query below would pick:
     * the exact name first, else one equal ignoring case. */
    int pick = -1;
    for (int i = 0; c->candidates && i < PQntuples(c->candidates); i++) {
        const char *have = PQgetvalue(c->candidates, i, 0);
        if (strcmp(have, name) == 0) {
            pick = i;
            break;
        }
        if (pick < 0 && strcasecmp(have, name) == 0)
            pick = i;
    }
    if (pick >= 0)
        return json_loads(PQgetvalue(c->candidates, pick, 1), 0, NULL);
    const char *params[] = {name};
    PGresult *res = api_db_query(c->req, c->resp,
                                 "SELECT schema::text FROM streams WHERE lower(name) = lower($1) "
                                 "ORDER BY name = $1 DESC LIMIT 1",
                                 1, params);
    if (!res) {
        c->db_failed = true;
        return NULL;
    }
    json_t *js = PQntuples(res) > 0 ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : NULL;
    PQclear(res);
    return js;
}

json_t *resource_connection_table(void *vctx, const char *name, char *why, size_t whysz)
{
    struct resource_tables *c = vctx;
    if (c->db_failed)
        return NULL;
    const char *params[] = {name};
    PGresult *res = api_db_query(c->req, c->resp,
                                 "SELECT c.connector, s.schema::text, s.id FROM connections c"
                                 "  JOIN streams s ON s.id = c.stream_id WHERE c.name = $1",
                                 1, params);
    if (!res) {
        c->db_failed = true;
        return NULL;
    }
    json_t *js = NULL;
    bool changed = c->changed_schema && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 2), c->changed_stream) == 0;
    if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "postgres") == 0)
        js = changed ? json_incref(c->changed_schema) : json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    else if (PQntuples(res) == 1)
        snprintf(why, whysz,
                 "connection \"%s\" is a %s connection: a lookup join reads the table of a postgres connection "
                 "(and a pipeline reads streams)",
                 name, PQgetvalue(res, 0, 0));
    PQclear(res);
    return js;
}

void resource_connection_used(void *vctx, const char *name)
{
    struct resource_tables *c = vctx;
    if (c->used)
        json_array_append_new(c->used, json_string(name));
}

static int pipeline_fail_sql(struct api_response *resp, const json_t *sql, const struct pipeline_sql_error *err)
{
    return api_fail(
        resp, API_INVALID_SQL,
        json_pack("{s:s,s:i,s:i}", "field", sql ? "sql" : "task_count", "line", err->line, "column", err->column),
        "invalid SQL: %s (line %d, column %d)", err->message, err->line, err->column);
}

static struct stream_catalog *pipeline_catalog_read(struct api_request *req, struct api_response *resp);

struct stream_catalog *resource_stream_catalog(struct api_request *req, struct api_response *resp)
{
    struct stream_catalog *cat = stream_cache_get(req->caller.tenant_id);
    return cat ? cat : pipeline_catalog_read(req, resp);
}

/* The tenant's streams read now (and cached for the next create); NULL with resp filled. */
static struct stream_catalog *pipeline_catalog_read(struct api_request *req, struct api_response *resp)
{
    PGresult *res = api_db_query(req, resp, STREAM_CACHE_SQL, 0, NULL);
    if (!res)
        return NULL;
    struct stream_catalog *cat = stream_cache_put(req->caller.tenant_id, res);
    PQclear(res);
    if (!cat)
        api_fail(resp, API_INTERNAL, NULL, "internal error");
    return cat;
}

/* What the planner needs of a function, as its sandboxed check found it. */
struct function_facts {
    bool aggregate, merge;
};

/* The child's "function" line: 0 (it loads; *facts filled), else 1 with se->message its error
 * or why no answer came. */
static int function_answer(const char *text, struct function_facts *facts, struct sql_error *se)
{
    snprintf(se->message, sizeof se->message, "function \"?\": its check ended without an answer");
    for (const char *line = text; *line;) {
        size_t n = strcspn(line, "\n");
        json_t *o = json_loadb(line, n, 0, NULL);
        const char *type = json_string_value(json_object_get(o, "type"));
        if (type && strcmp(type, "function") == 0) {
            const char *error = json_string_value(json_object_get(o, "error"));
            if (error)
                snprintf(se->message, sizeof se->message, "%s", error);
            facts->aggregate = json_is_true(json_object_get(o, "aggregate"));
            facts->merge = facts->aggregate && json_is_true(json_object_get(o, "merge"));
            json_decref(o);
            return error ? 1 : 0;
        }
        json_decref(o);
        line += n + (line[n] == '\n');
    }
    return 1;
}

/* Defines a function as the worker will (sql_function_define), in a worker child in the
 * workers' sandbox as the tenant's worker uid: its Lua source's top-level code never runs in
 * the api. 0 when it loads (*facts: what it is), 1 when not (se->message says why), -1 with
 * resp filled. */
static int function_load(struct api_request *req, struct api_response *resp, const char *name, const char *returns,
                         const char *source, struct function_facts *facts, struct sql_error *se)
{
    memset(se, 0, sizeof *se);
    memset(facts, 0, sizeof *facts);
    uid_t uid = 0;
    if (worker_child_uid(req, resp, &uid) != 0)
        return -1;
    json_t *spec = json_pack("{s:s,s:s,s:s,s:s,s:{s:b}}", "kind", "function", "name", name, "returns", returns,
                             "source", source, "sandbox", "seccomp", 1);
    char *text = spec ? json_dumps(spec, JSON_COMPACT) : NULL;
    json_decref(spec);
    if (!text)
        return api_fail(resp, API_INTERNAL, NULL, "out of memory");
    char out[8192], err[512];
    struct worker_child_limits lim = {.network = false, .address_space = 1ull << 30, .timeout_ms = 10000};
    int rc = worker_child_run(req->settings->data_root ? req->settings->data_root : "var/data", req->caller.tenant_id,
                              uid, "function", &lim, text, out, sizeof out, err, sizeof err);
    free(text);
    if (rc != 0) {
        log_error("function check: cannot start its worker: %s", err);
        return api_fail(resp, API_INTERNAL, NULL, "the function could not be checked");
    }
    return function_answer(out, facts, se);
}

/* The body's kind and merge set to what the check found (they are stored with the row); one
 * the client sent that differs is a 400. 0, or -1 with resp filled. */
static int function_facts_set(json_t *body, const struct function_facts *facts, struct api_response *resp)
{
    const char *kind = facts->aggregate ? "aggregate" : "scalar";
    const char *sent = json_string_value(json_object_get(body, "kind"));
    json_t *merge = json_object_get(body, "merge");
    if (sent && strcmp(sent, kind) != 0)
        return api_fail_field(resp, API_INVALID_REQUEST, "kind",
                              "kind is found from the source, which returns %s %s function",
                              facts->aggregate ? "an" : "a", kind);
    if (json_is_boolean(merge) && (!facts->aggregate || json_is_true(merge) != facts->merge))
        return api_fail_field(resp, API_INVALID_REQUEST, "merge", "merge is found from the source: %s",
                              !facts->aggregate ? "null for a scalar function"
                              : facts->merge    ? "true"
                                                : "false");
    json_object_set_new(body, "kind", json_string(kind));
    json_object_set_new(body, "merge", facts->aggregate ? json_boolean(facts->merge) : json_null());
    return 0;
}

/* A function's body checked as the worker will define it: a SQL name, a RETURNS type Lua can
 * give, a source that loads in the sandbox and returns a function or an aggregate's table. An
 * update is checked with the fields it leaves as stored. What the check finds (kind, merge) is
 * set in the body, to be stored. */
static int function_validate(struct api_request *req, json_t *body, bool create, struct api_response *resp)
{
    const char *name = json_string_value(json_object_get(body, "name"));
    const char *returns = json_string_value(json_object_get(body, "returns"));
    const char *source = json_string_value(json_object_get(body, "source"));
    if (name && strchr(name, '-'))
        return api_fail_field(resp, API_INVALID_REQUEST, "name",
                              "a function name is a SQL name: letters, digits and '_', a letter first");
    PGresult *stored = NULL;
    if (!create && (!name || !returns || !source)) {
        const char *params[] = {req->params.values[0]};
        stored = api_db_query(req, resp, "SELECT name, returns, source FROM functions WHERE id = $1", 1, params);
        if (!stored)
            return -1;
        if (PQntuples(stored) != 1) { /* the update itself answers 404 */
            PQclear(stored);
            return 0;
        }
        name = name ? name : PQgetvalue(stored, 0, 0);
        returns = returns ? returns : PQgetvalue(stored, 0, 1);
        source = source ? source : PQgetvalue(stored, 0, 2);
    }
    if (!name || !source) { /* the schema check answers that they are missing */
        PQclear(stored);
        return 0;
    }
    struct sql_error se;
    struct function_facts facts;
    int rc = function_load(req, resp, name, returns ? returns : "STRING", source, &facts, &se);
    PQclear(stored);
    if (rc < 0)
        return -1;
    if (rc != 0) {
        /* a built-in's name; the Lua source's errors (they name the function); else the type */
        const char *field = strstr(se.message, "is a built-in function")  ? "name"
                            : strncmp(se.message, "function \"", 10) == 0 ? "source"
                                                                          : "returns";
        return api_fail_field(resp, API_INVALID_REQUEST, field, "invalid function: %s", se.message);
    }
    /* an empty update stays one that changes nothing (its version too) */
    return create || json_object_size(body) > 0 ? function_facts_set(body, &facts, resp) : 0;
}

/* A function stored before its facts were (kind NULL, migrations/0130): checked now in a
 * worker child as at create, and its facts stored (the row's version unchanged: nothing of the
 * client's changed). 0 with *facts, 1 when it does not load (left out), -1 with resp filled. */
static int function_recheck(struct api_request *req, struct api_response *resp, PGresult *rows, int i,
                            struct function_facts *facts)
{
    struct sql_error se;
    int rc =
        function_load(req, resp, PQgetvalue(rows, i, 1), PQgetvalue(rows, i, 2), PQgetvalue(rows, i, 5), facts, &se);
    if (rc != 0) {
        if (rc > 0)
            log_info("function %s no longer loads, left out: %s", PQgetvalue(rows, i, 1), se.message);
        return rc;
    }
    const char *params[] = {PQgetvalue(rows, i, 0), facts->aggregate ? "aggregate" : "scalar",
                            facts->aggregate ? (facts->merge ? "true" : "false") : NULL};
    PGresult *res = api_db_query(
        req, resp, "UPDATE functions SET kind = $2, merge = $3::boolean WHERE id = $1 AND kind IS NULL", 3, params);
    if (!res)
        return -1;
    PQclear(res);
    return 0;
}

/* The tenant's functions whose names occur in text (a superset of those it calls), declared
 * for the planner from their stored facts into *defs (*n of them; free with
 * sql_function_defs_free): no Lua is loaded in the api. One not checked yet is checked now in a
 * worker child; one that does not load is left out (a call then is an unknown function). With
 * sources, also the declared ones as a worker's spec gives them. 0, or -1 with resp filled. */
int resource_pipeline_functions(struct api_request *req, struct api_response *resp, const char *text,
                                struct sql_function_def **defs, int *n, json_t **sources)
{
    const char *params[] = {text};
    *n = 0;
    *defs = NULL;
    PGresult *res = api_db_query(req, resp,
                                 "SELECT id, name, returns, kind, merge, source "
                                 "FROM functions WHERE position(lower(name) in lower($1)) > 0 ORDER BY name",
                                 1, params);
    if (!res)
        return -1;
    json_t *spec = sources ? json_array() : NULL;
    if (!(*defs = calloc((size_t)PQntuples(res) + 1, sizeof **defs)) || (sources && !spec)) {
        free(*defs);
        *defs = NULL;
        json_decref(spec);
        PQclear(res);
        return api_fail(resp, API_INTERNAL, NULL, "out of memory");
    }
    for (int i = 0; i < PQntuples(res); i++) {
        struct function_facts facts = {strcmp(PQgetvalue(res, i, 3), "aggregate") == 0,
                                       strcmp(PQgetvalue(res, i, 4), "t") == 0};
        int rc = PQgetisnull(res, i, 3) ? function_recheck(req, resp, res, i, &facts) : 0;
        struct sql_error se;
        if (rc < 0) {
            sql_function_defs_free(*defs, (size_t)*n);
            *defs = NULL;
            *n = 0;
            json_decref(spec);
            PQclear(res);
            return -1;
        }
        if (rc == 0 && sql_function_declare(PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), facts.aggregate, facts.merge,
                                            &(*defs)[*n], &se) == 0) {
            (*n)++;
            if (spec)
                json_array_append_new(spec, json_pack("{s:s,s:s,s:s}", "name", PQgetvalue(res, i, 1), "returns",
                                                      PQgetvalue(res, i, 2), "source", PQgetvalue(res, i, 5)));
        }
    }
    PQclear(res);
    if (sources)
        *sources = spec;
    return 0;
}

/* Checks a pipeline's text against the streams lookup finds (*lookup_failed: after a database
 * error there; may be NULL), the tenant's functions and its connections' tables, and keeps the
 * connections it reads as lookup joins' tables in req->pipeline_lookups. 0, or -1 with resp
 * filled (422 at the SQL's position, or the database error). */
static int pipeline_check_sql(struct api_request *req, struct api_response *resp, const json_t *sql, const char *text,
                              long task_count, pipeline_schema_fn lookup, void *ctx, const bool *lookup_failed)
{
    struct sql_function_def *defs = NULL;
    int ndefs = 0;
    if (resource_pipeline_functions(req, resp, text, &defs, &ndefs, NULL) < 0)
        return -1;
    struct resource_tables conns = {.req = req, .resp = resp, .used = json_array()};
    struct pipeline_sql_tables tables = {resource_connection_table, &conns, resource_connection_used};
    struct pipeline_sql_error err;
    int rc = conns.used ? pipeline_validate_sql_tables(text, task_count, lookup, ctx, &tables, defs, ndefs, &err) : 0;
    sql_function_defs_free(defs, (size_t)ndefs);
    char *names = conns.used && rc == 0 ? json_dumps(conns.used, JSON_COMPACT) : NULL;
    json_decref(conns.used);
    if ((lookup_failed && *lookup_failed) || conns.db_failed) {
        free(names);
        return -1;
    }
    if (rc < 0)
        return pipeline_fail_sql(resp, sql, &err);
    req->pipeline_lookups = names ? arena_strndup(req->arena, names, strlen(names)) : NULL;
    free(names);
    return req->pipeline_lookups ? 0 : api_fail(resp, API_INTERNAL, NULL, "out of memory");
}

static int pipeline_validate(struct api_request *req, json_t *body, bool create, struct api_response *resp)
{
    json_t *sql = json_object_get(body, "sql"), *tc = json_object_get(body, "task_count");
    const char *text = json_string_value(sql);
    long task_count = tc ? (long)json_integer_value(tc) : 1;
    PGresult *stored = NULL;
    /* An update changing one of SQL and task_count is checked with the other as stored. */
    if (!create && (sql || tc) && !(sql && tc)) {
        const char *params[] = {req->params.values[0]};
        stored = api_db_query(req, resp, "SELECT sql, task_count FROM pipelines WHERE id = $1", 1, params);
        if (!stored)
            return -1;
        if (PQntuples(stored) == 1 && !sql)
            text = PQgetvalue(stored, 0, 0);
        if (PQntuples(stored) == 1 && !tc)
            task_count = atol(PQgetvalue(stored, 0, 1));
    }
    req->streams_fingerprint = NULL;
    req->pipeline_lookups = NULL;
    if (text && create) {
        /* Against the tenant's streams as cached (no round trip); the insert checks they are
         * unchanged (resource_create). A refusal is only given from streams read now. */
        struct stream_catalog *cat = stream_cache_get(req->caller.tenant_id);
        struct pipeline_sql_error err;
        if (cat && pipeline_validate_sql(text, task_count, stream_catalog_schema, cat, &err) == 0)
            req->streams_fingerprint = arena_strndup(req->arena, stream_catalog_fingerprint(cat), 32);
        if (cat)
            stream_catalog_release(cat);
        if (!req->streams_fingerprint && !(cat = pipeline_catalog_read(req, resp)))
            return -1;
        if (!req->streams_fingerprint) { /* checked against the streams and functions read now */
            int rc = pipeline_check_sql(req, resp, sql, text, task_count, stream_catalog_schema, cat, NULL);
            stream_catalog_release(cat);
            if (rc < 0)
                return -1;
        }
        text = NULL;
    }
    if (text) {
        /* One round trip for the streams the text names (a stream's name appears in the text of
         * a query that reads or writes it); any other lookup asks the database itself. */
        const char *candidate_params[] = {text};
        struct pipeline_streams streams = {.req = req, .resp = resp};
        streams.candidates = api_db_query(req, resp,
                                          "SELECT name, schema::text FROM streams "
                                          "WHERE position(lower(name) in lower($1)) > 0 ORDER BY name",
                                          1, candidate_params);
        int rc = streams.candidates ? pipeline_check_sql(req, resp, sql, text, task_count, pipeline_stream_schema,
                                                         &streams, &streams.db_failed)
                                    : -1;
        PQclear(streams.candidates);
        PQclear(stored);
        stored = NULL;
        if (rc < 0)
            return -1;
    }
    PQclear(stored);
    const char *policy = json_string_value(json_object_get(body, "error_policy"));
    json_t *dls = json_object_get(body, "dead_letter_stream");
    if (create && policy && strcmp(policy, "dead_letter") == 0 && (!dls || json_is_null(dls)))
        return api_fail_field(resp, API_INVALID_REQUEST, "dead_letter_stream",
                              "error_policy \"dead_letter\" needs a dead_letter_stream");
    return 0;
}

/* ---- shared helpers ---------------------------------------------------------------------- */

static const struct resource_kind *resource_of(const struct api_request *req) { return req->route->data; }

static const struct resource_storage_rule *resource_rule(const struct resource_kind *k, const char *field)
{
    for (const struct resource_storage_rule *r = k->storage; r->field; r++)
        if (strcmp(r->field, field) == 0)
            return r;
    return NULL;
}

/* The select list of k's columns ("r.id, r.name, ...") into out. */
static void resource_select_list(const struct resource_kind *k, char *out, size_t outlen)
{
    size_t len = 0;
    out[0] = '\0';
    for (const struct resource_column *c = k->columns; c->key && len < outlen; c++)
        len += (size_t)snprintf(out + len, outlen - len, "%s%s", c == k->columns ? "" : ", ", c->sql);
}

/* The index of k's column key among its columns. */
static int resource_column_index(const struct resource_kind *k, const char *key)
{
    int i = 0;
    while (k->columns[i].key && strcmp(k->columns[i].key, key) != 0)
        i++;
    return i;
}

/* Microseconds since the epoch from the text of extract(epoch FROM a timestamptz), which
 * always has six decimals ("1767225600.500000", "-0.750000"); -1 when it is not that. */
static int resource_ts_parse(const char *epoch, long long *micros)
{
    const char *p = epoch + (*epoch == '-');
    size_t whole = strspn(p, "0123456789");
    if (whole == 0 || whole > 12 || p[whole] != '.' || strspn(p + whole + 1, "0123456789") != 6 || p[whole + 7])
        return -1;
    long long v = strtoll(p, NULL, 10) * 1000000 + strtoll(p + whole + 1, NULL, 10);
    *micros = *epoch == '-' ? -v : v;
    return 0;
}

/* The text sluice_ts() gives for the timestamp (UTC, "2026-01-31T12:00:00.123456Z") into
 * out[RESOURCE_TS_LEN]; -1 when epoch is not extract()'s text or the year is not within
 * 1..9999. */
#define RESOURCE_TS_LEN 64
static int resource_ts_text(const char *epoch, char *out)
{
    long long micros;
    if (resource_ts_parse(epoch, &micros) < 0)
        return -1;
    long long us = micros % 1000000, secs = micros / 1000000;
    if (us < 0) {
        us += 1000000;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
        return -1;
    snprintf(out, RESOURCE_TS_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)us);
    return 0;
}

/* Appends row's object to t: k's columns from column first of res on. A timestamp that is not
 * extract()'s text fails t (json_text_take() returns NULL). */
static void resource_row_json(struct json_text *t, const struct resource_kind *k, const PGresult *res, int row,
                              int first)
{
    for (const struct resource_column *c = k->columns; c->key; c++) {
        int col = first + (int)(c - k->columns);
        json_text_raw(t, c == k->columns ? "{\"" : ",\"", 2);
        json_text_cstr(t, c->key); /* a plain name: nothing to escape */
        json_text_raw(t, "\":", 2);
        const char *value = PQgetvalue(res, row, col);
        size_t len = (size_t)PQgetlength(res, row, col);
        char ts[RESOURCE_TS_LEN];
        if (PQgetisnull(res, row, col)) {
            json_text_raw(t, "null", 4);
        } else if (c->as == RESOURCE_TIMESTAMP) {
            if (resource_ts_text(value, ts) < 0)
                t->failed = true;
            else
                json_text_string(t, ts, strlen(ts));
        } else if (c->as == RESOURCE_STRING) {
            json_text_string(t, value, len);
        } else {
            json_text_raw(t, value, len);
        }
    }
    json_text_raw(t, "}", 1);
}

/* The row's resource as a jansson object (new reference), or NULL when out of memory. */
static json_t *resource_row_doc(const struct resource_kind *k, const PGresult *res, int row, int first)
{
    struct json_text t = {0};
    resource_row_json(&t, k, res, row, first);
    char *text = json_text_take(&t);
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return doc;
}

/* Replies status with the row's resource as its text (not parsed again) and its version as
 * the ETag. */
static int resource_reply_row(struct api_response *resp, int status, const struct resource_kind *k, const PGresult *res,
                              int row, int first)
{
    struct json_text t = {0};
    resource_row_json(&t, k, res, row, first);
    char *text = json_text_take(&t);
    if (!text)
        return api_fail(resp, API_INTERNAL, NULL, "out of memory");
    api_reply_text(resp, status, text);
    resp->etag_version = atoll(PQgetvalue(res, row, first + resource_column_index(k, "version")));
    return 0;
}

/* Replies 200 with the resource id, or 404 (or a database error). */
static int resource_reply_fetched(struct api_request *req, const struct resource_kind *k, const char *id,
                                  struct api_response *resp)
{
    if (!api_is_uuid(id))
        return api_fail(resp, API_NOT_FOUND, NULL, "%s \"%s\" not found", k->kind, id);
    char sql[2048], columns[1536];
    resource_select_list(k, columns, sizeof columns);
    snprintf(sql, sizeof sql, "SELECT %s FROM %s r WHERE r.id = $1", columns, k->table);
    const char *params[] = {id};
    PGresult *res = api_db_query(req, resp, sql, 1, params);
    if (!res)
        return -1;
    int rc = PQntuples(res) ? resource_reply_row(resp, 200, k, res, 0, 0)
                            : api_fail(resp, API_NOT_FOUND, NULL, "%s %s not found", k->kind, id);
    PQclear(res);
    return rc;
}

int resource_reply_created(struct api_request *req, const char *kind, const char *collection, const char *id,
                           json_t *doc, struct api_response *resp)
{
    if (resource_record_change(req, kind, id, "create", false, resp) < 0) {
        json_decref(doc);
        return -1;
    }
    snprintf(resp->location, sizeof resp->location, "%s/%s", collection, id);
    resp->etag_version = 1;
    return api_reply(resp, 201, doc);
}

int resource_record_change(struct api_request *req, const char *kind, const char *id, const char *action, bool notify,
                           struct api_response *resp)
{
    const struct api_caller *c = &req->caller;
    const char *params[] = {c->tenant_id,
                            *c->user_id ? c->user_id : NULL,
                            *c->api_key_id ? c->api_key_id : NULL,
                            action,
                            kind,
                            id,
                            req->request_id,
                            notify ? "t" : "f"};
    /* One round trip: the audit row, and the NOTIFY for the controlplane when asked. */
    PGresult *res = api_db_query(req, resp,
                                 "WITH audit AS (INSERT INTO audit_log (tenant_id, user_id, api_key_id, action, "
                                 "resource_kind, resource_id, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7)) "
                                 "SELECT pg_notify('sluice_desired', $5 || ':' || $6) WHERE $8::boolean",
                                 8, params);
    PQclear(res);
    return res ? 0 : -1;
}

int resource_parse_if_match(const char *header, long long *version)
{
    if (!header)
        return 0;
    const char *p = header;
    while (*p == ' ')
        p++;
    if (strncmp(p, "W/", 2) == 0)
        p += 2;
    bool quoted = *p == '"';
    if (quoted)
        p++;
    if (!isdigit((unsigned char)*p))
        return -1;
    char *end;
    long long v = strtoll(p, &end, 10);
    if (quoted && *end++ != '"')
        return -1;
    while (*end == ' ')
        end++;
    if (*end || v < 1)
        return -1;
    *version = v;
    return 1;
}

/* Looks up a stream id by name into out[40]; -1 with resp filled when missing. */
static int resource_stream_id(struct api_request *req, const char *field, const char *name, char *out,
                              struct api_response *resp)
{
    const char *params[] = {name};
    PGresult *res = api_db_query(req, resp, "SELECT id FROM streams WHERE name = $1", 1, params);
    if (!res)
        return -1;
    int found = PQntuples(res) > 0;
    if (found)
        snprintf(out, 40, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!found)
        return api_fail_field(resp, API_INVALID_REQUEST, field, "stream \"%s\" not found", name);
    return 0;
}

/* The column assignments of a body: columns[i] = expr with $n, params[] text values. */
struct resource_values {
    int count;
    const char *columns[RESOURCE_MAX_FIELDS];
    char exprs[RESOURCE_MAX_FIELDS][48];
    const char *params[RESOURCE_MAX_FIELDS]; /* in the request's arena */
    bool spec_change;                        /* a field other than name/description changed (bumps generation) */
};

/* Text of a JSON value as a statement parameter, in the request's arena; *cast is its SQL cast. */
static const char *resource_param_text(struct api_request *req, json_t *v, const char **cast)
{
    char buf[32];
    *cast = "";
    if (json_is_integer(v)) {
        *cast = "::int";
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        return arena_strndup(req->arena, buf, strlen(buf));
    }
    if (json_is_string(v))
        return arena_strndup(req->arena, json_string_value(v), json_string_length(v));
    if (json_is_boolean(v)) {
        *cast = "::boolean";
        return json_is_true(v) ? "true" : "false";
    }
    *cast = "::jsonb";
    char *dumped = json_dumps(v, JSON_COMPACT);
    const char *text = dumped ? arena_strndup(req->arena, dumped, strlen(dumped)) : NULL;
    free(dumped);
    return text;
}

/* A secret value sealed under the master key (AAD: the tenant id), as hex in the arena. */
static const char *resource_sealed_hex(struct api_request *req, json_t *v)
{
    size_t len = json_string_length(v), sealed_len = len + CRYPTO_SEAL_OVERHEAD;
    uint8_t *sealed = arena_alloc(req->arena, sealed_len);
    char *hex = arena_alloc(req->arena, 2 * sealed_len + 1);
    if (!sealed || !hex ||
        crypto_seal(req->settings->master_key, req->caller.tenant_id, strlen(req->caller.tenant_id),
                    json_string_value(v), len, sealed) < 0)
        return NULL;
    crypto_hex(sealed, sealed_len, hex);
    return hex;
}

/* Turns the body's fields into columns and parameters numbered from first_param. */
static int resource_values_build(struct api_request *req, const struct resource_kind *k, json_t *body, int first_param,
                                 struct resource_values *out, struct api_response *resp)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < k->nfields; i++) {
        const struct json_check_field *f = &k->fields[i];
        json_t *v = json_object_get(body, f->name);
        if (!v)
            continue;
        const struct resource_storage_rule *rule = resource_rule(k, f->name);
        int n = out->count, param = first_param + n;
        const char *cast = "", *text = NULL;
        out->columns[n] = rule ? rule->column : f->name;
        if (strcmp(f->name, "name") != 0 && strcmp(f->name, "description") != 0)
            out->spec_change = true;
        if (json_is_null(v)) {
            text = NULL;
        } else if (rule && rule->how == STORE_STREAM_REF) {
            char id[40];
            if (resource_stream_id(req, f->name, json_string_value(v), id, resp) < 0)
                return -1;
            text = arena_strndup(req->arena, id, strlen(id));
            cast = "::uuid";
        } else if (rule && rule->how == STORE_SEALED) {
            if (!(text = resource_sealed_hex(req, v)))
                return api_fail(resp, API_INTERNAL, NULL, "internal error");
        } else if (!(text = resource_param_text(req, v, &cast))) {
            return api_fail(resp, API_INTERNAL, NULL, "internal error");
        }
        if (rule && rule->how == STORE_SEALED)
            snprintf(out->exprs[n], sizeof out->exprs[n], "decode($%d, 'hex')", param);
        else
            snprintf(out->exprs[n], sizeof out->exprs[n], "$%d%s", param, cast);
        out->params[n] = text;
        out->count++;
    }
    return 0;
}

static int resource_check_body(struct api_request *req, const struct resource_kind *k, bool create,
                               struct api_response *resp)
{
    struct json_check_error err;
    if (json_check_object(req->json, "", k->fields, k->nfields, !create, &err) < 0)
        return api_fail_field(resp, API_INVALID_REQUEST, err.field, "%s", err.message);
    if (k->validate && k->validate(req, req->json, create, resp) < 0)
        return -1;
    return 0;
}

/* 403 quota_exceeded: the plan allows limit of what, and the request would make want. */
static int resource_fail_quota(struct api_response *resp, const char *what, long limit, long want)
{
    return api_fail(
        resp, API_QUOTA_EXCEEDED,
        json_pack("{s:s,s:I,s:I}", "resource", what, "limit", (json_int_t)limit, "requested", (json_int_t)want),
        "your plan allows %ld %s and this would make %ld; remove some or upgrade the plan", limit, what, want);
}

/* Plan limits. sql yields one row: what the tenant would use after this request, and the
 * plan's limit; $1 is id when id is non-NULL. 403 quota_exceeded when over. */
static int resource_check_limit(struct api_request *req, struct api_response *resp, const char *sql, const char *id,
                                const char *what)
{
    const char *params[] = {id};
    PGresult *res = api_db_query(req, resp, sql, id ? 1 : 0, params);
    if (!res)
        return -1;
    long want = PQntuples(res) ? atol(PQgetvalue(res, 0, 0)) : 0;
    long limit = PQntuples(res) ? atol(PQgetvalue(res, 0, 1)) : 0;
    PQclear(res);
    return want > limit ? resource_fail_quota(resp, what, limit, want) : 0;
}

static int resource_fail_duplicate(struct api_response *resp, const struct resource_kind *k,
                                   const struct db_error *dberr, json_t *body)
{
    if (strcmp(dberr->sqlstate, "23505") == 0)
        return api_fail_field(resp, API_CONFLICT, "name", "%s \"%s\" already exists", k->kind,
                              json_string_value(json_object_get(body, "name")));
    return api_fail_db(resp, dberr);
}

/* ---- handlers ---------------------------------------------------------------------------- */

/* Inserts the body's row with its audit entry: 0 with *res (q.want, q.quota, r.id, then k's
 * columns), 1 when nothing was inserted because the tenant's streams changed since the cached
 * catalog the checks relied on (req->streams_fingerprint), -1 with resp filled. */
static int resource_insert(struct api_request *req, const struct resource_kind *k, PGresult **res,
                           struct api_response *resp)
{
    struct resource_values v;
    if (resource_values_build(req, k, req->json, 2, &v, resp) < 0)
        return -1;
    char sql[4096], cols[512] = "tenant_id", vals[512] = "$1::uuid";
    const char *params[RESOURCE_MAX_FIELDS + 5] = {req->caller.tenant_id};
    for (int i = 0; i < v.count; i++) {
        snprintf(cols + strlen(cols), sizeof cols - strlen(cols), ", %s", v.columns[i]);
        snprintf(vals + strlen(vals), sizeof vals - strlen(vals), ", %s", v.exprs[i]);
        params[i + 1] = v.params[i];
    }
    /* One round trip: the plan's quota (the count kept by triggers, migrations/0104), the row
     * when the quota allows it (and the streams are as the checks saw them), and its audit
     * entry (as resource_record_change() writes it).
     * No NOTIFY for the controlplane: a resource is created stopped (desired_state is not a
     * field of the body), so there is no task for it to start; activate notifies. A NOTIFY
     * took a database-wide lock until commit (serialising every create) and woke each
     * listening backend, about a fifth of the database's work per create. */
    const struct api_caller *c = &req->caller;
    int n = v.count + 1, nparams = n + 3;
    params[n] = *c->user_id ? c->user_id : NULL;
    params[n + 1] = *c->api_key_id ? c->api_key_id : NULL;
    params[n + 2] = req->request_id;
    char columns[1536], fresh[256] = "true", lookups[256] = "";
    resource_select_list(k, columns, sizeof columns);
    if (req->streams_fingerprint) {
        params[nparams++] = req->streams_fingerprint;
        snprintf(fresh, sizeof fresh, STREAM_CACHE_FRESH_SQL, nparams);
    }
    if (k == &resource_pipelines && req->pipeline_lookups) { /* the connections its lookup joins read */
        params[nparams++] = req->pipeline_lookups;
        snprintf(lookups, sizeof lookups,
                 "lk AS (INSERT INTO pipeline_lookups (tenant_id, pipeline_id, connection_id) SELECT r.tenant_id, "
                 "r.id, c.id FROM r, connections c WHERE c.name IN (SELECT json_array_elements_text($%d::json))), ",
                 nparams);
    }
    snprintf(sql, sizeof sql,
             "WITH q AS (SELECT coalesce((SELECT n FROM tenant_resource_counts WHERE kind = '%s'), 0) + 1 AS want, "
             "p.%s AS quota, %s AS fresh FROM tenants t JOIN plans p ON p.name = t.plan), "
             "r AS (INSERT INTO %s AS r (%s) SELECT %s FROM q WHERE q.want <= q.quota AND q.fresh RETURNING r.*), %s"
             "audit AS (INSERT INTO audit_log (tenant_id, user_id, api_key_id, action, resource_kind, resource_id, "
             "request_id) SELECT r.tenant_id, $%d::uuid, $%d::uuid, 'create', '%s', r.id, $%d FROM r) "
             "SELECT q.want, q.quota, r.id, %s, q.fresh FROM q LEFT JOIN r ON true",
             k->table, k->quota_column, fresh, k->table, cols, vals, lookups, n + 1, n + 2, k->kind, n + 3, columns);
    /* The last statement unless a created hook follows: it commits at once, so that the count's
     * row (locked by its trigger until the end of the transaction) is not held for another round
     * trip while concurrent creates of the tenant wait for it. */
    if (req->may_commit_with_last && !k->created)
        db_scope_commit_next(req->db);
    struct db_error dberr;
    *res = db_query(req->db, sql, nparams, params, &dberr);
    if (!*res)
        return resource_fail_duplicate(resp, k, &dberr, req->json);
    int last = PQnfields(*res) - 1;
    if (PQntuples(*res) == 1 && strcmp(PQgetvalue(*res, 0, last), "f") == 0) {
        PQclear(*res);
        *res = NULL;
        return 1;
    }
    return 0;
}

/* A stream of the tenant changes: the cached catalog is dropped now rather than found stale by
 * the next create (which would be correct too, with a round trip more). */
static void resource_streams_changed(const struct api_request *req, const struct resource_kind *k)
{
    if (k == &resource_streams)
        stream_cache_forget(req->caller.tenant_id);
}

int resource_create(struct api_request *req, struct api_response *resp)
{
    const struct resource_kind *k = resource_of(req);
    PGresult *res = NULL;
    /* A stale cached catalog is forgotten and the checks run again on streams read now (in a
     * new transaction when the stale attempt committed its empty one). */
    for (int attempt = 0; !res; attempt++) {
        if (attempt == 3)
            return api_fail(resp, API_UNAVAILABLE, NULL, "the streams kept changing; retry shortly");
        if (resource_check_body(req, k, true, resp) < 0)
            return -1;
        int rc = resource_insert(req, k, &res, resp);
        if (rc < 0)
            return -1;
        if (rc == 1)
            stream_cache_forget(req->caller.tenant_id);
    }
    resource_streams_changed(req, k);
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 2)) { /* over the quota: nothing inserted */
        long want = PQntuples(res) ? atol(PQgetvalue(res, 0, 0)) : 0;
        long limit = PQntuples(res) ? atol(PQgetvalue(res, 0, 1)) : 0;
        PQclear(res);
        return resource_fail_quota(resp, k->table, limit, want);
    }
    char id[40];
    snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 2));
    if (k->created) {
        json_t *doc = resource_row_doc(k, res, 0, 3);
        int rc = doc ? k->created(req, id, doc, resp) : api_fail(resp, API_INTERNAL, NULL, "internal error");
        json_decref(doc);
        if (rc < 0) {
            PQclear(res);
            return -1;
        }
    }
    int rc = resource_reply_row(resp, 201, k, res, 0, 3);
    PQclear(res);
    if (rc == 0)
        snprintf(resp->location, sizeof resp->location, "/v1/%s/%s", k->table, id);
    return rc;
}

/* Cursor text: "<created_at epoch microseconds>.<id>". */
static int resource_parse_cursor(const char *cursor, char *micros, size_t micros_len, char *id)
{
    const char *dot = strchr(cursor, '.');
    size_t n = dot ? (size_t)(dot - cursor) : 0;
    if (!dot || n == 0 || n >= micros_len || strspn(cursor, "0123456789") != n || !api_is_uuid(dot + 1))
        return -1;
    memcpy(micros, cursor, n);
    micros[n] = '\0';
    snprintf(id, 40, "%s", dot + 1);
    return 0;
}

/* The cursor after a row (resource_parse_cursor's form) from its created_at as selected
 * (extract(epoch FROM ...)) and its id, into out; -1 when created_at is not in that form. */
static int resource_cursor_of(const char *created_at, const char *id, char *out, size_t outlen)
{
    long long micros;
    if (resource_ts_parse(created_at, &micros) < 0 || micros < 0)
        return -1;
    snprintf(out, outlen, "%lld.%s", micros, id);
    return 0;
}

/* 200 {"items":[...],"next_cursor":...} from res (cleared here), rows of k's columns; res has
 * one row more than limit when there is a next page, whose cursor is the limit-th row's. */
static int resource_reply_list(struct api_response *resp, const struct resource_kind *k, PGresult *res, long limit)
{
    int rows = PQntuples(res), shown = rows > limit ? (int)limit : rows;
    char cursor[96] = "";
    if (shown < rows &&
        resource_cursor_of(PQgetvalue(res, shown - 1, resource_column_index(k, "created_at")),
                           PQgetvalue(res, shown - 1, resource_column_index(k, "id")), cursor, sizeof cursor) < 0) {
        PQclear(res);
        return api_fail(resp, API_INTERNAL, NULL, "internal error");
    }
    struct json_text t = {0};
    json_text_raw(&t, "{\"items\":[", 10);
    for (int i = 0; i < shown; i++) {
        if (i)
            json_text_raw(&t, ",", 1);
        resource_row_json(&t, k, res, i, 0);
    }
    PQclear(res);
    json_text_raw(&t, "],\"next_cursor\":", 16);
    if (*cursor)
        json_text_string(&t, cursor, strlen(cursor));
    else
        json_text_raw(&t, "null", 4);
    json_text_raw(&t, "}", 1);
    char *body = json_text_take(&t);
    if (!body)
        return api_fail(resp, API_INTERNAL, NULL, "out of memory");
    return api_reply_text(resp, 200, body);
}

int resource_list(struct api_request *req, struct api_response *resp)
{
    const struct resource_kind *k = resource_of(req);
    const char *cursor = api_query(req, "cursor"), *name = api_query(req, "name");
    long limit;
    if (api_query_limit(req, &limit, resp) < 0)
        return -1;
    char micros[24] = "", cursor_id[40] = "", limit_param[24];
    if (cursor && *cursor && resource_parse_cursor(cursor, micros, sizeof micros, cursor_id) < 0)
        return api_fail_cursor(resp);
    snprintf(limit_param, sizeof limit_param, "%ld", limit + 1);
    /* Only the filters given, so that each of the four statements has one plan that suits it
     * (a prepared statement's generic plan cannot drop "$1 IS NULL OR ..." branches). */
    const char *params[4] = {limit_param};
    int n = 1;
    char where[512] = "";
    if (name && *name) {
        params[n++] = name;
        snprintf(where, sizeof where, " AND r.name = $%d", n);
    }
    if (*micros) {
        params[n++] = micros;
        params[n++] = cursor_id;
        snprintf(where + strlen(where), sizeof where - strlen(where),
                 " AND (r.created_at, r.id) > (timestamptz 'epoch' + $%d::bigint * interval '1 microsecond', "
                 "$%d::uuid)",
                 n - 1, n);
    }
    char sql[3072], columns[1536];
    resource_select_list(k, columns, sizeof columns);
    snprintf(sql, sizeof sql, "SELECT %s FROM %s r WHERE true%s ORDER BY r.created_at, r.id LIMIT $1::int", columns,
             k->table, where);
    PGresult *res = api_db_query(req, resp, sql, n, params);
    if (!res)
        return -1;
    return resource_reply_list(resp, k, res, limit);
}

int resource_get(struct api_request *req, struct api_response *resp)
{
    return resource_reply_fetched(req, resource_of(req), req->params.values[0], resp);
}

/* Locks the row and checks If-Match. Returns 0, or -1 with 404/412 in resp. */
static int resource_lock(struct api_request *req, const struct resource_kind *k, const char *id,
                         struct api_response *resp)
{
    long long want = 0;
    int has = resource_parse_if_match(api_header(req, "If-Match"), &want);
    if (has < 0)
        return api_fail_field(resp, API_INVALID_REQUEST, "If-Match",
                              "If-Match must be a version such as \"3\" (the ETag of the resource)");
    if (!api_is_uuid(id))
        return api_fail(resp, API_NOT_FOUND, NULL, "%s \"%s\" not found", k->kind, id);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT version FROM %s WHERE id = $1 FOR UPDATE", k->table);
    const char *params[] = {id};
    PGresult *res = api_db_query(req, resp, sql, 1, params);
    if (!res)
        return -1;
    int found = PQntuples(res) > 0;
    long long have = found ? atoll(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    if (!found)
        return api_fail(resp, API_NOT_FOUND, NULL, "%s %s not found", k->kind, id);
    if (has && want != have)
        return api_fail(resp, API_PRECONDITION_FAILED, json_pack("{s:I,s:I}", "expected", want, "current", have),
                        "%s %s is at version %lld, not %lld; fetch it again and retry", k->kind, id, have, want);
    return 0;
}

/* After an update of pipeline id whose SQL was checked (req->pipeline_lookups): its lookup
 * joins' connections as the check found them, in one round trip. 0, or -1 with resp filled. */
static int pipeline_lookups_write(struct api_request *req, const char *id, struct api_response *resp)
{
    if (!req->pipeline_lookups)
        return 0;
    const char *params[] = {id, req->pipeline_lookups};
    PGresult *res =
        api_db_query(req, resp,
                     "WITH keep AS (SELECT c.tenant_id, c.id FROM connections c WHERE c.name IN "
                     "(SELECT json_array_elements_text($2::json))), "
                     "gone AS (DELETE FROM pipeline_lookups WHERE pipeline_id = $1 AND connection_id NOT IN "
                     "(SELECT id FROM keep)) INSERT INTO pipeline_lookups (tenant_id, pipeline_id, "
                     "connection_id) SELECT tenant_id, $1::uuid, id FROM keep ON CONFLICT DO NOTHING",
                     2, params);
    if (!res)
        return -1;
    PQclear(res);
    return 0;
}

int resource_update(struct api_request *req, struct api_response *resp)
{
    const struct resource_kind *k = resource_of(req);
    const char *id = req->params.values[0];
    if (resource_check_body(req, k, false, resp) < 0 || resource_lock(req, k, id, resp) < 0)
        return -1;
    struct resource_values v;
    if (resource_values_build(req, k, req->json, 2, &v, resp) < 0)
        return -1;
    if (v.count > 0) {
        char sets[1024] = "";
        const char *params[RESOURCE_MAX_FIELDS + 1] = {id};
        for (int i = 0; i < v.count; i++) {
            snprintf(sets + strlen(sets), sizeof sets - strlen(sets), "%s = %s, ", v.columns[i], v.exprs[i]);
            params[i + 1] = v.params[i];
        }
        char sql[2048];
        snprintf(sql, sizeof sql, "UPDATE %s SET %s%sversion = version + 1, updated_at = now() WHERE id = $1", k->table,
                 sets, k->runnable && v.spec_change ? "generation = generation + 1, " : "");
        struct db_error dberr;
        int rc = db_exec(req->db, sql, v.count + 1, params, &dberr);
        if (rc < 0)
            return resource_fail_duplicate(resp, k, &dberr, req->json);
        if (resource_record_change(req, k->kind, id, "update", k->runnable, resp) < 0 ||
            (k == &resource_pipelines && pipeline_lookups_write(req, id, resp) < 0))
            return -1;
        resource_streams_changed(req, k);
    }
    return resource_reply_fetched(req, k, id, resp);
}

/* The name of resource id of kind k into out, quoted ("\"clicks\""), or its id when it has none
 * to read: what a message names it by, as the user named it. */
static void resource_quoted_name(struct api_request *req, const struct resource_kind *k, const char *id, char *out,
                                 size_t outsz)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT name FROM %s WHERE id = $1", k->table);
    const char *params[] = {id};
    struct db_error dberr;
    PGresult *res = db_query(req->db, sql, 1, params, &dberr);
    if (res && PQntuples(res) == 1)
        snprintf(out, outsz, "\"%s\"", PQgetvalue(res, 0, 0));
    else
        snprintf(out, outsz, "%s", id);
    PQclear(res);
}

int resource_delete(struct api_request *req, struct api_response *resp)
{
    const struct resource_kind *k = resource_of(req);
    const char *id = req->params.values[0];
    if (resource_lock(req, k, id, resp) < 0)
        return -1;
    const char *params[] = {id};
    if (k->in_use_sql) {
        PGresult *res = api_db_query(req, resp, k->in_use_sql, 1, params);
        if (!res)
            return -1;
        if (PQntuples(res) > 0) {
            char name[300];
            resource_quoted_name(req, k, id, name, sizeof name);
            api_fail(resp, API_CONFLICT, json_pack("{s:s}", "used_by", PQgetvalue(res, 0, 0)),
                     "%s %s is used by %s; delete or change that first", k->kind, name, PQgetvalue(res, 0, 0));
            PQclear(res);
            return -1;
        }
        PQclear(res);
    }
    char sql[256];
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = $1", k->table);
    struct db_error dberr;
    if (db_exec(req->db, sql, 1, params, &dberr) < 0) {
        if (strcmp(dberr.sqlstate, "23503") == 0) {
            char name[300];
            resource_quoted_name(req, k, id, name, sizeof name);
            return api_fail(resp, API_CONFLICT, NULL,
                            "%s %s is used by a connection or pipeline; delete or change that first", k->kind, name);
        }
        return api_fail_db(resp, &dberr);
    }
    if (resource_record_change(req, k->kind, id, "delete", k->runnable, resp) < 0)
        return -1;
    resource_streams_changed(req, k);
    return api_reply(resp, 204, NULL);
}

/* Sum of task_count over running resources other than id, and the plan's max_tasks. */
static int resource_check_task_quota(struct api_request *req, const char *table, const char *id,
                                     struct api_response *resp)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT (SELECT task_count FROM %s WHERE id = $1) + coalesce((SELECT sum(task_count) FROM "
             "pipelines WHERE desired_state = 'running' AND id <> $1), 0) + coalesce((SELECT "
             "sum(task_count) FROM connections WHERE desired_state = 'running' AND id <> $1), 0), "
             "p.max_tasks FROM tenants t JOIN plans p ON p.name = t.plan",
             table);
    return resource_check_limit(req, resp, sql, id, "running tasks");
}

static int resource_set_desired(struct api_request *req, struct api_response *resp, const char *state)
{
    const struct resource_kind *k = resource_of(req);
    const char *id = req->params.values[0];
    if (resource_lock(req, k, id, resp) < 0)
        return -1;
    if (strcmp(state, "running") == 0 && resource_check_task_quota(req, k->table, id, resp) < 0)
        return -1;
    /* activating a failed resource restarts it (a new generation restarts its failed tasks);
     * anything else already in the wanted state is left as it is */
    char sql[512];
    snprintf(sql, sizeof sql,
             "UPDATE %s SET desired_state = $2, generation = generation + 1, version = version + 1, "
             "updated_at = now() WHERE id = $1 AND (desired_state <> $2 OR ($2 = 'running' AND "
             "actual_state = 'failed')) RETURNING id",
             k->table);
    const char *params[] = {id, state};
    PGresult *res = api_db_query(req, resp, sql, 2, params);
    if (!res)
        return -1;
    int changed = PQntuples(res) > 0;
    PQclear(res);
    if (changed && resource_record_change(req, k->kind, id, strcmp(state, "running") == 0 ? "activate" : "deactivate",
                                          true, resp) < 0)
        return -1;
    return resource_reply_fetched(req, k, id, resp);
}

int resource_activate(struct api_request *req, struct api_response *resp)
{
    return resource_set_desired(req, resp, "running");
}

int resource_deactivate(struct api_request *req, struct api_response *resp)
{
    return resource_set_desired(req, resp, "stopped");
}
