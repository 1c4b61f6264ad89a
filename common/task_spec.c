/* task_spec.c — the worker's task spec to and from JSON (task_spec.h), its fields checked by
 * tables (common/json_check.h). */
#include "common/task_spec.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_check.h"

/* ------------------------------------------------------------------------------------------ */
/* The fields, one table per object                                                           */

#define TEXT_MAX (64ll << 20) /* strings are the controlplane's own: no real bound */

static const char *const kinds[] = {"pipeline", "connection", NULL};

static const struct json_check_field spec_fields[] = {
    {"task_id", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, TEXT_MAX, NULL},
    {"tenant_id", JSON_CHECK_STRING, 0, 0, TEXT_MAX, NULL},
    {"kind", JSON_CHECK_ENUM, JSON_CHECK_REQUIRED, 0, 0, kinds},
    {"task_index", JSON_CHECK_INT, 0, 0, INT_MAX - 1, NULL},
    {"task_count", JSON_CHECK_INT, 0, 1, INT_MAX, NULL},
    {"generation", JSON_CHECK_INT, 0, 0, LLONG_MAX, NULL},
    {"bounded", JSON_CHECK_BOOL, 0, 0, 0, NULL},
    {"data_dir", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, TEXT_MAX, NULL},
    {"checkpoint_dir", JSON_CHECK_STRING, 0, 1, TEXT_MAX, NULL},
    {"sandbox", JSON_CHECK_OBJECT, 0, 0, 0, NULL},
    {"sql", JSON_CHECK_STRING, 0, 0, TEXT_MAX, NULL},
    {"error_policy", JSON_CHECK_STRING, 0, 0, TEXT_MAX, NULL},
    {"dead_letter_stream", JSON_CHECK_STRING, 0, 0, TEXT_MAX, NULL},
    {"connector", JSON_CHECK_OBJECT, 0, 0, 0, NULL},
    {"secrets", JSON_CHECK_STRING_MAP, 0, 0, 100000, NULL},
    {"streams", JSON_CHECK_ARRAY, JSON_CHECK_REQUIRED, 0, 0, NULL},
    {"storage", JSON_CHECK_OBJECT, 0, 0, 0, NULL},
    {"functions", JSON_CHECK_ARRAY, 0, 0, 0, NULL},
    {"lookups", JSON_CHECK_ARRAY, 0, 0, 0, NULL},
    {"limits", JSON_CHECK_OBJECT, 0, 0, 0, NULL},
    {"kafka_bootstrap_servers", JSON_CHECK_STRING, 0, 1, TEXT_MAX, NULL},
};

static const struct json_check_field function_fields[] = {
    {"name", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, TEXT_MAX, NULL},
    {"returns", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, TEXT_MAX, NULL},
    {"source", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 0, TEXT_MAX, NULL},
};

static const struct json_check_field lookup_fields[] = {
    {"name", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, TEXT_MAX, NULL},
    {"connector", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, TEXT_MAX, NULL},
    {"schema", JSON_CHECK_OBJECT, JSON_CHECK_REQUIRED, 0, 0, NULL},
    {"properties", JSON_CHECK_OBJECT, JSON_CHECK_REQUIRED, 0, 0, NULL},
};

static const struct json_check_field sandbox_fields[] = {
    {"seccomp", JSON_CHECK_BOOL, 0, 0, 0, NULL},
};

static const struct json_check_field connector_fields[] = {
    {"name", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, TEXT_MAX, NULL},
    {"type", JSON_CHECK_STRING, 0, 0, TEXT_MAX, NULL},
    {"stream", JSON_CHECK_STRING, 0, 0, TEXT_MAX, NULL},
    {"properties", JSON_CHECK_OBJECT, 0, 0, 0, NULL},
};

static const struct json_check_field stream_fields[] = {
    {"id", JSON_CHECK_STRING, 0, 0, TEXT_MAX, NULL},
    {"name", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, TEXT_MAX, NULL},
    {"dir", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, TEXT_MAX, NULL},
    {"schema", JSON_CHECK_OBJECT, JSON_CHECK_REQUIRED, 0, 0, NULL},
    {"partitions", JSON_CHECK_INT, 0, 0, INT_MAX, NULL},
    {"topic", JSON_CHECK_STRING, 0, 1, TEXT_MAX, NULL},
};

static const struct json_check_field limits_fields[] = {
    {"task_size", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, 16, NULL},
    {"state_max_bytes", JSON_CHECK_INT, JSON_CHECK_REQUIRED, 1, LLONG_MAX, NULL},
};

static const struct json_check_field storage_fields[] = {
    {"quota_bytes", JSON_CHECK_INT, JSON_CHECK_REQUIRED, 0, LLONG_MAX, NULL},
    {"dir", JSON_CHECK_STRING, JSON_CHECK_REQUIRED, 1, TEXT_MAX, NULL},
};

#define COUNT(a) (sizeof(a) / sizeof(a)[0])

/* ------------------------------------------------------------------------------------------ */
/* To JSON                                                                                    */

/* Sets key to the string s when s is not NULL; 0, or -1 when out of memory. */
static int set_string(json_t *obj, const char *key, const char *s)
{
    return !s ? 0 : json_object_set_new(obj, key, json_string(s));
}

static json_t *properties_to_json(const struct task_spec_property *p, size_t n)
{
    json_t *obj = json_object();
    for (size_t i = 0; obj && i < n; i++) {
        if (!p[i].key || !p[i].value || json_object_set_new(obj, p[i].key, json_string(p[i].value)) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

static json_t *stream_to_json(const struct task_spec_stream *s)
{
    if (!s->name || !s->dir)
        return NULL;
    json_t *obj = json_pack("{s:s, s:s, s:o, s:i}", "name", s->name, "dir", s->dir, "schema",
                            s->schema ? json_incref(s->schema) : json_object(), "partitions", s->partitions);
    if (obj && (set_string(obj, "id", s->id) != 0 || set_string(obj, "topic", s->topic) != 0)) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* The connection's fields ("connector", and "secrets", empty when there are none) into obj;
 * 0 or -1. */
static int connection_to_json(const struct task_spec *spec, json_t *obj)
{
    const struct task_spec_connector *c = &spec->connector;
    if (c->name) {
        json_t *co =
            json_pack("{s:s, s:o*}", "name", c->name, "properties", properties_to_json(c->properties, c->nproperties));
        if (!co || !json_object_get(co, "properties") || set_string(co, "type", c->type) != 0 ||
            set_string(co, "stream", c->stream) != 0) {
            json_decref(co);
            return -1;
        }
        if (json_object_set_new(obj, "connector", co) != 0) /* steals co */
            return -1;
    }
    if (spec->kind != TASK_SPEC_CONNECTION && spec->nsecrets == 0)
        return 0;
    json_t *secrets = properties_to_json(spec->secrets, spec->nsecrets);
    return json_object_set_new(obj, "secrets", secrets) != 0 ? -1 : 0;
}

/* "functions", when there are any, into obj; 0 or -1. */
static int functions_to_json(const struct task_spec *spec, json_t *obj)
{
    if (spec->nfunctions == 0)
        return 0;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < spec->nfunctions; i++) {
        const struct task_spec_function *f = &spec->functions[i];
        if (!f->name || !f->returns || !f->source ||
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:s}", "name", f->name, "returns", f->returns, "source", f->source)) != 0) {
            json_decref(arr);
            return -1;
        }
    }
    return json_object_set_new(obj, "functions", arr) != 0 ? -1 : 0;
}

/* "lookups", when there are any, into obj; 0 or -1. */
static int lookups_to_json(const struct task_spec *spec, json_t *obj)
{
    if (spec->nlookups == 0)
        return 0;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < spec->nlookups; i++) {
        const struct task_spec_lookup *l = &spec->lookups[i];
        json_t *props = properties_to_json(l->properties, l->nproperties);
        if (!l->name || !l->connector || !props) {
            json_decref(props);
            json_decref(arr);
            return -1;
        }
        if (json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:o}", "name", l->name, "connector", l->connector,
                                                 "schema", l->schema ? json_incref(l->schema) : json_object(),
                                                 "properties", props)) != 0) {
            json_decref(arr);
            return -1;
        }
    }
    return json_object_set_new(obj, "lookups", arr) != 0 ? -1 : 0;
}

/* The optional fields into obj; 0 or -1. */
static int options_to_json(const struct task_spec *spec, json_t *obj)
{
    if (functions_to_json(spec, obj) != 0 || lookups_to_json(spec, obj) != 0)
        return -1;
    if (set_string(obj, "tenant_id", spec->tenant_id) != 0 ||
        set_string(obj, "checkpoint_dir", spec->checkpoint_dir) != 0 || set_string(obj, "sql", spec->sql) != 0 ||
        set_string(obj, "error_policy", spec->error_policy) != 0 ||
        set_string(obj, "dead_letter_stream", spec->dead_letter_stream) != 0 ||
        set_string(obj, "kafka_bootstrap_servers", spec->kafka_bootstrap_servers) != 0)
        return -1;
    if (spec->bounded && json_object_set_new(obj, "bounded", json_true()) != 0)
        return -1;
    if (spec->seccomp && json_object_set_new(obj, "sandbox", json_pack("{s:b}", "seccomp", 1)) != 0)
        return -1;
    if (spec->storage_dir &&
        json_object_set_new(obj, "storage",
                            json_pack("{s:I, s:s}", "quota_bytes", (json_int_t)spec->storage_quota_bytes, "dir",
                                      spec->storage_dir)) != 0)
        return -1;
    if (spec->task_size && json_object_set_new(obj, "limits",
                                               json_pack("{s:s, s:I}", "task_size", spec->task_size, "state_max_bytes",
                                                         (json_int_t)spec->state_max_bytes)) != 0)
        return -1;
    return connection_to_json(spec, obj);
}

json_t *task_spec_to_json(const struct task_spec *spec)
{
    if (!spec->task_id || !spec->data_dir)
        return NULL;
    json_t *streams = json_array();
    for (size_t i = 0; streams && i < spec->nstreams; i++) {
        if (json_array_append_new(streams, stream_to_json(&spec->streams[i])) != 0) {
            json_decref(streams);
            streams = NULL;
        }
    }
    json_t *obj = json_pack("{s:s, s:s, s:i, s:i, s:I, s:s, s:o*}", "task_id", spec->task_id, "kind",
                            spec->kind == TASK_SPEC_PIPELINE ? "pipeline" : "connection", "task_index",
                            spec->task_index, "task_count", spec->task_count, "generation",
                            (json_int_t)spec->generation, "data_dir", spec->data_dir, "streams", streams);
    if (obj && (!json_object_get(obj, "streams") || options_to_json(spec, obj) != 0)) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* ------------------------------------------------------------------------------------------ */
/* From JSON                                                                                  */

/* Checks obj against a table; the message names the field's path. 0 or -1. */
static int check_fields(const json_t *obj, const char *path, const struct json_check_field *fields, size_t n, char *err,
                        size_t errsz)
{
    struct json_check_error ce;
    if (json_check_object(obj, path, fields, n, false, &ce) == 0)
        return 0;
    if (strchr(ce.field, '.') || strchr(ce.field, '['))
        snprintf(err, errsz, "the task spec: %s (at %s)", ce.message, ce.field);
    else
        snprintf(err, errsz, "the task spec: %s", ce.message);
    return -1;
}

/* Says "out of memory" in err; -1. */
static int oom_error(char *err, size_t errsz)
{
    snprintf(err, errsz, "out of memory");
    return -1;
}

/* check_fields on item i of the array named what ("what[i]" in messages). */
static int check_item(const json_t *js, const char *what, size_t i, const struct json_check_field *fields, size_t n,
                      char *err, size_t errsz)
{
    char path[40];
    snprintf(path, sizeof path, "%s[%zu]", what, i);
    return check_fields(js, path, fields, n, err, errsz);
}

/* A copy of js's string, or NULL when js is NULL; sets *oom when the copy fails. */
static char *dup_string(const json_t *js, bool *oom)
{
    if (!js)
        return NULL;
    char *s = strdup(json_string_value(js));
    *oom |= !s;
    return s;
}

int task_spec_properties_from_json(const json_t *obj, const char *path, struct task_spec_property **out, size_t *n,
                                   char *err, size_t errsz)
{
    *n = 0;
    if (!(*out = calloc(json_object_size(obj) + 1, sizeof **out))) {
        return oom_error(err, errsz);
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v)) {
            snprintf(err, errsz, "the task spec: property \"%s\" must be a string, a number or a boolean (at %s.%s)",
                     key, path, key);
            return -1;
        }
        char *text = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        struct task_spec_property *p = &(*out)[(*n)++];
        if (!(p->key = strdup(key)) || !(p->value = text)) {
            free(text);
            return oom_error(err, errsz);
        }
    }
    return 0;
}

static int streams_from_json(const json_t *arr, struct task_spec *spec, char *err, size_t errsz)
{
    if (!(spec->streams = calloc(json_array_size(arr) + 1, sizeof *spec->streams))) {
        return oom_error(err, errsz);
    }
    size_t i;
    json_t *js;
    json_array_foreach(arr, i, js)
    {
        if (check_item(js, "streams", i, stream_fields, COUNT(stream_fields), err, errsz) != 0)
            return -1;
        struct task_spec_stream *s = &spec->streams[spec->nstreams++];
        bool oom = false;
        s->id = dup_string(json_object_get(js, "id"), &oom);
        s->name = dup_string(json_object_get(js, "name"), &oom);
        s->dir = dup_string(json_object_get(js, "dir"), &oom);
        s->topic = dup_string(json_object_get(js, "topic"), &oom);
        s->schema = json_deep_copy(json_object_get(js, "schema"));
        s->partitions = (int)json_integer_value(json_object_get(js, "partitions"));
        if (oom || !s->schema) {
            return oom_error(err, errsz);
        }
    }
    return 0;
}

static int functions_from_json(const json_t *arr, struct task_spec *spec, char *err, size_t errsz)
{
    if (!arr)
        return 0;
    if (!(spec->functions = calloc(json_array_size(arr) + 1, sizeof *spec->functions))) {
        return oom_error(err, errsz);
    }
    size_t i;
    json_t *js;
    json_array_foreach(arr, i, js)
    {
        if (check_item(js, "functions", i, function_fields, COUNT(function_fields), err, errsz) != 0)
            return -1;
        struct task_spec_function *f = &spec->functions[spec->nfunctions++];
        bool oom = false;
        f->name = dup_string(json_object_get(js, "name"), &oom);
        f->returns = dup_string(json_object_get(js, "returns"), &oom);
        f->source = dup_string(json_object_get(js, "source"), &oom);
        if (oom) {
            return oom_error(err, errsz);
        }
    }
    return 0;
}

static int lookups_from_json(const json_t *arr, struct task_spec *spec, char *err, size_t errsz)
{
    if (!arr)
        return 0;
    if (!(spec->lookups = calloc(json_array_size(arr) + 1, sizeof *spec->lookups)))
        return oom_error(err, errsz);
    size_t i;
    json_t *js;
    json_array_foreach(arr, i, js)
    {
        if (check_item(js, "lookups", i, lookup_fields, COUNT(lookup_fields), err, errsz) != 0)
            return -1;
        struct task_spec_lookup *l = &spec->lookups[spec->nlookups++];
        bool oom = false;
        l->name = dup_string(json_object_get(js, "name"), &oom);
        l->connector = dup_string(json_object_get(js, "connector"), &oom);
        l->schema = json_deep_copy(json_object_get(js, "schema"));
        if (oom || !l->schema)
            return oom_error(err, errsz);
        if (task_spec_properties_from_json(json_object_get(js, "properties"), "lookups.properties", &l->properties,
                                           &l->nproperties, err, errsz) != 0)
            return -1;
    }
    return 0;
}

static int connector_from_json(const json_t *js, struct task_spec *spec, char *err, size_t errsz)
{
    if (check_fields(js, "connector", connector_fields, COUNT(connector_fields), err, errsz) != 0)
        return -1;
    struct task_spec_connector *c = &spec->connector;
    bool oom = false;
    c->name = dup_string(json_object_get(js, "name"), &oom);
    c->type = dup_string(json_object_get(js, "type"), &oom);
    c->stream = dup_string(json_object_get(js, "stream"), &oom);
    if (oom) {
        return oom_error(err, errsz);
    }
    return task_spec_properties_from_json(json_object_get(js, "properties"), "connector.properties", &c->properties,
                                          &c->nproperties, err, errsz);
}

/* The fields of the nested object limits; 0 or -1. */
static int limits_from_json(const json_t *limits, struct task_spec *spec, char *err, size_t errsz)
{
    if (!limits)
        return 0;
    if (check_fields(limits, "limits", limits_fields, COUNT(limits_fields), err, errsz) != 0)
        return -1;
    bool oom = false;
    spec->state_max_bytes = (uint64_t)json_integer_value(json_object_get(limits, "state_max_bytes"));
    if (!(spec->task_size = dup_string(json_object_get(limits, "task_size"), &oom))) {
        return oom_error(err, errsz);
    }
    return 0;
}

/* The fields of the nested objects sandbox, storage and limits; 0 or -1. */
static int settings_from_json(const json_t *js, struct task_spec *spec, char *err, size_t errsz)
{
    json_t *sandbox = json_object_get(js, "sandbox"), *storage = json_object_get(js, "storage");
    if (limits_from_json(json_object_get(js, "limits"), spec, err, errsz) != 0)
        return -1;
    if (sandbox) {
        if (check_fields(sandbox, "sandbox", sandbox_fields, COUNT(sandbox_fields), err, errsz) != 0)
            return -1;
        spec->seccomp = json_is_true(json_object_get(sandbox, "seccomp"));
    }
    if (storage) {
        if (check_fields(storage, "storage", storage_fields, COUNT(storage_fields), err, errsz) != 0)
            return -1;
        bool oom = false;
        spec->storage_quota_bytes = (uint64_t)json_integer_value(json_object_get(storage, "quota_bytes"));
        if (!(spec->storage_dir = dup_string(json_object_get(storage, "dir"), &oom))) {
            return oom_error(err, errsz);
        }
    }
    return 0;
}

/* The top-level scalar fields; 0 or -1. */
static int scalars_from_json(const json_t *js, struct task_spec *spec, char *err, size_t errsz)
{
    bool oom = false;
    spec->task_id = dup_string(json_object_get(js, "task_id"), &oom);
    spec->tenant_id = dup_string(json_object_get(js, "tenant_id"), &oom);
    spec->kind = strcmp(json_string_value(json_object_get(js, "kind")), "pipeline") == 0 ? TASK_SPEC_PIPELINE
                                                                                         : TASK_SPEC_CONNECTION;
    json_t *count = json_object_get(js, "task_count");
    spec->task_index = (int)json_integer_value(json_object_get(js, "task_index"));
    spec->task_count = count ? (int)json_integer_value(count) : 1;
    spec->generation = (long long)json_integer_value(json_object_get(js, "generation"));
    spec->bounded = json_is_true(json_object_get(js, "bounded"));
    spec->data_dir = dup_string(json_object_get(js, "data_dir"), &oom);
    spec->checkpoint_dir = dup_string(json_object_get(js, "checkpoint_dir"), &oom);
    spec->sql = dup_string(json_object_get(js, "sql"), &oom);
    spec->error_policy = dup_string(json_object_get(js, "error_policy"), &oom);
    spec->dead_letter_stream = dup_string(json_object_get(js, "dead_letter_stream"), &oom);
    spec->kafka_bootstrap_servers = dup_string(json_object_get(js, "kafka_bootstrap_servers"), &oom);
    if (oom) {
        return oom_error(err, errsz);
    }
    return 0;
}

/* The connection's fields (wherever they are given), and what the kind needs: a pipeline its
 * SQL, a connection its connector and its stream. 0 or -1. */
static int kind_from_json(const json_t *js, struct task_spec *spec, char *err, size_t errsz)
{
    json_t *connector = json_object_get(js, "connector");
    if (connector && connector_from_json(connector, spec, err, errsz) != 0)
        return -1;
    if (task_spec_properties_from_json(json_object_get(js, "secrets"), "secrets", &spec->secrets, &spec->nsecrets, err,
                                       errsz) != 0)
        return -1;
    if (spec->kind == TASK_SPEC_PIPELINE && !spec->sql) {
        snprintf(err, errsz, "the task spec: a pipeline task needs sql");
        return -1;
    }
    if (spec->kind == TASK_SPEC_CONNECTION && (!connector || spec->nstreams < 1)) {
        snprintf(err, errsz, "the task spec: a connection task needs %s",
                 !connector ? "a connector" : "its stream (the first of streams)");
        return -1;
    }
    return 0;
}

int task_spec_from_json(const json_t *js, struct task_spec *spec, char *err, size_t errsz)
{
    memset(spec, 0, sizeof *spec);
    if (!json_is_object(js)) {
        snprintf(err, errsz, "the task spec is not a JSON object");
        return -1;
    }
    if (check_fields(js, "", spec_fields, COUNT(spec_fields), err, errsz) != 0 ||
        scalars_from_json(js, spec, err, errsz) != 0 || settings_from_json(js, spec, err, errsz) != 0 ||
        streams_from_json(json_object_get(js, "streams"), spec, err, errsz) != 0 ||
        functions_from_json(json_object_get(js, "functions"), spec, err, errsz) != 0 ||
        lookups_from_json(json_object_get(js, "lookups"), spec, err, errsz) != 0 ||
        kind_from_json(js, spec, err, errsz) != 0) {
        task_spec_free(spec);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Free                                                                                       */

static void properties_free(struct task_spec_property *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++) {
        free(p[i].key);
        free(p[i].value);
    }
    free(p);
}

void task_spec_free(struct task_spec *spec)
{
    if (!spec)
        return;
    free(spec->task_id);
    free(spec->tenant_id);
    free(spec->data_dir);
    free(spec->checkpoint_dir);
    free(spec->sql);
    free(spec->error_policy);
    free(spec->dead_letter_stream);
    free(spec->kafka_bootstrap_servers);
    free(spec->connector.name);
    free(spec->connector.type);
    free(spec->connector.stream);
    properties_free(spec->connector.properties, spec->connector.nproperties);
    properties_free(spec->secrets, spec->nsecrets);
    for (size_t i = 0; spec->streams && i < spec->nstreams; i++) {
        free(spec->streams[i].id);
        free(spec->streams[i].name);
        free(spec->streams[i].dir);
        free(spec->streams[i].topic);
        json_decref(spec->streams[i].schema);
    }
    free(spec->streams);
    for (size_t i = 0; spec->functions && i < spec->nfunctions; i++) {
        free(spec->functions[i].name);
        free(spec->functions[i].returns);
        free(spec->functions[i].source);
    }
    free(spec->functions);
    for (size_t i = 0; spec->lookups && i < spec->nlookups; i++) {
        free(spec->lookups[i].name);
        free(spec->lookups[i].connector);
        json_decref(spec->lookups[i].schema);
        properties_free(spec->lookups[i].properties, spec->lookups[i].nproperties);
    }
    free(spec->lookups);
    free(spec->storage_dir);
    free(spec->task_size);
    memset(spec, 0, sizeof *spec);
}
