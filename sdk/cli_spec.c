/* cli_spec.c — `sluice apply` files: libyaml events to jansson values, with the position of
 * every node kept so that each error names its line and column (see cli_spec.h). */
#include "sdk/cli_spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ==== YAML to JSON ======================================================================= */

struct node_mark {
    const json_t *node;
    int line, column; /* 1-based */
};

struct reader {
    yaml_parser_t parser;
    const char *label;
    char *errbuf;
    size_t errcap;
    struct node_mark *marks;
    size_t n_marks, cap_marks;
    int problems;  /* counted by fail_at; errbuf holds them, one a line */
    int resources; /* resources seen so far, the document index of messages */
};

/* Appends "label:LINE:COL: message" to errbuf (a new line when it holds problems already) and
 * counts the problem. Returns -1. */
static int fail_at(struct reader *r, int line, int column, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail_at(struct reader *r, int line, int column, const char *fmt, ...)
{
    size_t used = r->problems ? strlen(r->errbuf) : 0;
    r->problems++;
    if (used + 1 >= r->errcap)
        return -1;
    int n = snprintf(r->errbuf + used, r->errcap - used, "%s%s:%d:%d: ", used ? "\n" : "", r->label, line, column);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && used + (size_t)n < r->errcap)
        vsnprintf(r->errbuf + used + (size_t)n, r->errcap - used - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static void remember(struct reader *r, const json_t *node, yaml_mark_t mark)
{
    if (r->n_marks == r->cap_marks) {
        size_t cap = r->cap_marks ? r->cap_marks * 2 : 64;
        struct node_mark *m = realloc(r->marks, cap * sizeof *m);
        if (!m)
            return; /* positions are a courtesy: without memory, errors lose them */
        r->marks = m;
        r->cap_marks = cap;
    }
    r->marks[r->n_marks++] = (struct node_mark){node, (int)mark.line + 1, (int)mark.column + 1};
}

static void mark_of(const struct reader *r, const json_t *node, int *line, int *column)
{
    *line = *column = 1;
    for (size_t i = 0; i < r->n_marks; i++)
        if (r->marks[i].node == node) {
            *line = r->marks[i].line;
            *column = r->marks[i].column;
            return;
        }
}

static int next_event(struct reader *r, yaml_event_t *ev)
{
    if (yaml_parser_parse(&r->parser, ev))
        return 0;
    yaml_mark_t m = r->parser.problem_mark;
    if (r->parser.context)
        return fail_at(r, (int)m.line + 1, (int)m.column + 1, "%s %s", r->parser.problem, r->parser.context);
    return fail_at(r, (int)m.line + 1, (int)m.column + 1, "%s",
                   r->parser.problem ? r->parser.problem : "malformed YAML");
}

/* Plain scalars are typed as YAML's core schema says; quoted ones and !!str are strings. */
static json_t *scalar_value(const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    if ((tag && strcmp(tag, YAML_STR_TAG) == 0) || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_stringn(s, len);
    if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
        return json_null();
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
        return json_true();
    if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
        return json_false();
    char *end;
    errno = 0;
    long long i = strtoll(s, &end, 10);
    if (*end == '\0' && errno == 0 && end != s)
        return json_integer(i);
    double d = strtod(s, &end);
    if (*end == '\0' && end != s && strspn(s, "+-0123456789.eE") == len)
        return json_real(d);
    return json_stringn(s, len);
}

/* Builds the node that starts with ev (consumed). */
static json_t *read_node(struct reader *r, yaml_event_t *ev);

static json_t *read_sequence(struct reader *r)
{
    json_t *arr = json_array();
    for (;;) {
        yaml_event_t ev;
        if (next_event(r, &ev) < 0)
            goto err;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return arr;
        }
        json_t *item = read_node(r, &ev);
        if (!item)
            goto err;
        json_array_append_new(arr, item);
    }
err:
    json_decref(arr);
    return NULL;
}

static json_t *read_mapping(struct reader *r)
{
    json_t *obj = json_object();
    for (;;) {
        yaml_event_t ev;
        if (next_event(r, &ev) < 0)
            goto err;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return obj;
        }
        yaml_mark_t km = ev.start_mark;
        if (ev.type != YAML_SCALAR_EVENT) {
            yaml_event_delete(&ev);
            fail_at(r, (int)km.line + 1, (int)km.column + 1, "mapping keys must be plain strings");
            goto err;
        }
        char *key = strndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
        yaml_event_delete(&ev);
        if (!key)
            goto err;
        if (json_object_get(obj, key)) {
            fail_at(r, (int)km.line + 1, (int)km.column + 1, "duplicate key \"%s\"", key);
            free(key);
            goto err;
        }
        json_t *value = NULL;
        if (next_event(r, &ev) == 0)
            value = read_node(r, &ev);
        if (!value) {
            free(key);
            goto err;
        }
        json_object_set_new(obj, key, value);
        free(key);
    }
err:
    json_decref(obj);
    return NULL;
}

static json_t *read_node(struct reader *r, yaml_event_t *ev)
{
    yaml_mark_t m = ev->start_mark;
    json_t *node = NULL;
    if (ev->type == YAML_SCALAR_EVENT)
        node = scalar_value(ev);
    else if (ev->type == YAML_SEQUENCE_START_EVENT)
        node = read_sequence(r);
    else if (ev->type == YAML_MAPPING_START_EVENT)
        node = read_mapping(r);
    else if (ev->type == YAML_ALIAS_EVENT)
        fail_at(r, (int)m.line + 1, (int)m.column + 1, "aliases (*%s) are not supported",
                (const char *)ev->data.alias.anchor);
    else
        fail_at(r, (int)m.line + 1, (int)m.column + 1, "unexpected YAML event");
    yaml_event_delete(ev);
    if (node)
        remember(r, node, m);
    return node;
}

/* ==== resources ========================================================================== */

static const char *const top_level_keys[] = {"apiVersion", "kind", "metadata", "spec"};

/* The fields of a spec, per kind: what the API accepts on create (the name is metadata's), and
 * desired_state, which apply turns into activate or deactivate. Required fields are checked by
 * apply for the resources that do not exist yet (an update may leave fields out). */
enum spec_type { SPEC_STRING, SPEC_INT, SPEC_OBJECT, SPEC_STRING_MAP, SPEC_ENUM };

struct spec_field {
    const char *name;
    enum spec_type type;
    bool nullable;
    long long min, max;        /* SPEC_INT */
    const char *const *values; /* SPEC_ENUM, NULL-terminated */
};

static const char *const connection_types[] = {"source", "sink", NULL};
static const char *const task_sizes[] = {"S", "M", "L", NULL};
static const char *const error_policies[] = {"fail", "skip", "dead_letter", NULL};
static const char *const desired_states[] = {"running", "stopped", NULL};
static const char *const function_languages[] = {"lua", NULL};

#define SPEC_MAX_FIELDS 10
static const struct spec_field spec_fields[SLUICE_KIND_COUNT][SPEC_MAX_FIELDS] = {
    [SLUICE_KIND_SECRET] = {{"description", SPEC_STRING, true, 0, 0, NULL}, {"value", SPEC_STRING, false, 0, 0, NULL}},
    [SLUICE_KIND_STREAM] = {{"description", SPEC_STRING, true, 0, 0, NULL},
                            {"partitions", SPEC_INT, false, 1, 256, NULL},
                            {"schema", SPEC_OBJECT, false, 0, 0, NULL}},
    [SLUICE_KIND_CONNECTION] = {{"description", SPEC_STRING, true, 0, 0, NULL},
                                {"connector", SPEC_STRING, false, 0, 0, NULL},
                                {"type", SPEC_ENUM, false, 0, 0, connection_types},
                                {"stream", SPEC_STRING, false, 0, 0, NULL},
                                {"properties", SPEC_STRING_MAP, false, 0, 0, NULL},
                                {"secret_refs", SPEC_STRING_MAP, false, 0, 0, NULL},
                                {"task_count", SPEC_INT, false, 1, 64, NULL},
                                {"task_size", SPEC_ENUM, false, 0, 0, task_sizes},
                                {"desired_state", SPEC_ENUM, false, 0, 0, desired_states}},
    [SLUICE_KIND_PIPELINE] = {{"description", SPEC_STRING, true, 0, 0, NULL},
                              {"sql", SPEC_STRING, false, 0, 0, NULL},
                              {"error_policy", SPEC_ENUM, false, 0, 0, error_policies},
                              {"dead_letter_stream", SPEC_STRING, true, 0, 0, NULL},
                              {"task_count", SPEC_INT, false, 1, 64, NULL},
                              {"task_size", SPEC_ENUM, false, 0, 0, task_sizes},
                              {"desired_state", SPEC_ENUM, false, 0, 0, desired_states}},
    [SLUICE_KIND_FUNCTION] = {{"description", SPEC_STRING, true, 0, 0, NULL},
                              {"language", SPEC_ENUM, false, 0, 0, function_languages},
                              {"returns", SPEC_STRING, false, 0, 0, NULL},
                              {"source", SPEC_STRING, false, 0, 0, NULL}},
};

/* "a, b or c" (last " or ", or " and ") of n words into buf. */
static const char *word_list(const char *const *words, size_t n, const char *last, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", i == 0 ? "" : i + 1 == n ? last : ", ", words[i]);
    return buf;
}

static size_t count_words(const char *const *words)
{
    size_t n = 0;
    while (words[n])
        n++;
    return n;
}

/* One field of spec against its row; records a problem when it does not fit. */
static void check_field(struct reader *r, enum sluice_kind k, const char *key, json_t *v, const struct spec_field *f)
{
    int line, col;
    mark_of(r, v, &line, &col);
    const char *kind = sluice_kind_name(k);
    char words[256];
    if (json_is_null(v) && f->nullable)
        return;
    switch (f->type) {
    case SPEC_STRING:
        if (!json_is_string(v))
            fail_at(r, line, col, "%s field \"%s\" must be a string (document %d)", kind, key, r->resources);
        return;
    case SPEC_INT:
        if (!json_is_integer(v) || json_integer_value(v) < f->min || json_integer_value(v) > f->max)
            fail_at(r, line, col, "%s field \"%s\" must be a whole number from %lld to %lld (document %d)", kind, key,
                    f->min, f->max, r->resources);
        return;
    case SPEC_OBJECT:
        if (!json_is_object(v))
            fail_at(r, line, col, "%s field \"%s\" must be a mapping (document %d)", kind, key, r->resources);
        return;
    case SPEC_STRING_MAP: {
        if (!json_is_object(v)) {
            fail_at(r, line, col, "%s field \"%s\" must be a mapping of strings (document %d)", kind, key,
                    r->resources);
            return;
        }
        const char *name;
        json_t *item;
        json_object_foreach(v, name, item)
        {
            if (!json_is_string(item)) {
                mark_of(r, item, &line, &col);
                fail_at(r, line, col, "%s field \"%s.%s\" must be a string; quote it (document %d)", kind, key, name,
                        r->resources);
            }
        }
        return;
    }
    case SPEC_ENUM:
        for (const char *const *w = f->values; json_is_string(v) && *w; w++)
            if (strcmp(*w, json_string_value(v)) == 0)
                return;
        fail_at(r, line, col, "%s field \"%s\" must be %s (document %d)", kind, key,
                word_list(f->values, count_words(f->values), " or ", words, sizeof words), r->resources);
        return;
    }
}

/* Unknown fields and values of the wrong type in the spec of a resource of kind k. */
static void check_spec(struct reader *r, enum sluice_kind k, json_t *spec)
{
    const struct spec_field *fields = spec_fields[k];
    const char *key;
    json_t *v;
    json_object_foreach(spec, key, v)
    {
        const struct spec_field *f = NULL;
        for (size_t i = 0; i < SPEC_MAX_FIELDS && fields[i].name && !f; i++)
            if (strcmp(fields[i].name, key) == 0)
                f = &fields[i];
        if (f) {
            check_field(r, k, key, v, f);
            continue;
        }
        if (strcmp(key, "name") == 0)
            continue; /* compared with metadata.name by the caller */
        const char *names[SPEC_MAX_FIELDS];
        size_t n = 0;
        while (n < SPEC_MAX_FIELDS && fields[n].name) {
            names[n] = fields[n].name;
            n++;
        }
        char words[512];
        int line, col;
        mark_of(r, v, &line, &col);
        fail_at(r, line, col, "unknown field \"%s\" in the spec of a %s, whose fields are %s (document %d)", key,
                sluice_kind_name(k), word_list(names, n, " and ", words, sizeof words), r->resources);
    }
}

/* Adds one resource to set, or records its problems (the caller goes on with the next). */
static void add_resource(struct reader *r, json_t *res, struct cli_spec_set *set)
{
    int line, col;
    r->resources++;
    mark_of(r, res, &line, &col);
    if (!json_is_object(res)) {
        fail_at(r, line, col, "a resource must be a mapping with kind, metadata and spec (document %d)", r->resources);
        return;
    }
    int before = r->problems;
    const char *key;
    json_t *v;
    json_object_foreach(res, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof top_level_keys / sizeof top_level_keys[0]; i++)
            known = known || strcmp(key, top_level_keys[i]) == 0;
        if (!known) {
            int kl, kc;
            mark_of(r, v, &kl, &kc);
            fail_at(r, kl, kc, "unknown field \"%s\"; a resource has kind, metadata and spec (document %d)", key,
                    r->resources);
        }
    }
    json_t *kind = json_object_get(res, "kind");
    enum sluice_kind k;
    if (!json_is_string(kind)) {
        fail_at(r, line, col, "missing \"kind\" (stream, connection, pipeline, secret or function) (document %d)",
                r->resources);
        return;
    }
    mark_of(r, kind, &line, &col);
    if (sluice_kind_parse(json_string_value(kind), &k) < 0 || k == SLUICE_KIND_API_KEY || k == SLUICE_KIND_USER) {
        fail_at(r, line, col,
                "unknown kind \"%s\"; expected stream, connection, pipeline, secret or function (document %d)",
                json_string_value(kind), r->resources);
        return;
    }
    json_t *meta = json_object_get(res, "metadata");
    json_t *name = json_object_get(meta, "name");
    mark_of(r, meta ? meta : res, &line, &col);
    if (!json_is_string(name) || !*json_string_value(name)) {
        fail_at(r, line, col, "missing metadata.name (document %d)", r->resources);
        return;
    }
    json_t *spec = json_object_get(res, "spec");
    mark_of(r, spec ? spec : res, &line, &col);
    if (!json_is_object(spec)) {
        fail_at(r, line, col, "%s \"%s\": \"spec\" must be a mapping (document %d)", sluice_kind_name(k),
                json_string_value(name), r->resources);
        return;
    }
    json_t *inner = json_object_get(spec, "name");
    if (inner && !json_equal(inner, name))
        fail_at(r, line, col, "spec.name differs from metadata.name; leave it out of spec (document %d)", r->resources);
    check_spec(r, k, spec);
    for (size_t i = 0; i < set->count; i++)
        if (set->docs[i].kind == k && strcmp(set->docs[i].name, json_string_value(name)) == 0) {
            mark_of(r, res, &line, &col);
            fail_at(r, line, col, "%s \"%s\" is defined twice (first at line %d) (document %d)", sluice_kind_name(k),
                    json_string_value(name), set->docs[i].line, r->resources);
        }
    if (r->problems > before)
        return;
    struct cli_spec_doc *docs = realloc(set->docs, (set->count + 1) * sizeof *docs);
    if (!docs) {
        fail_at(r, line, col, "out of memory");
        return;
    }
    set->docs = docs;
    mark_of(r, res, &line, &col);
    struct cli_spec_doc *d = &docs[set->count++];
    memset(d, 0, sizeof *d);
    d->kind = k;
    d->name = strdup(json_string_value(name));
    d->spec = json_deep_copy(spec);
    json_object_del(d->spec, "name");
    const char *desired = json_string_value(json_object_get(d->spec, "desired_state"));
    d->desired_state = desired ? strdup(desired) : NULL;
    json_object_del(d->spec, "desired_state");
    d->line = line;
    d->index = r->resources;
}

static int add_document(struct reader *r, json_t *root, struct cli_spec_set *set)
{
    if (json_is_null(root))
        return 0; /* an empty document, such as a trailing "---" */
    if (!json_is_array(root)) {
        add_resource(r, root, set);
        return 0;
    }
    size_t i;
    json_t *item;
    json_array_foreach(root, i, item) { add_resource(r, item, set); }
    return 0;
}

/* Reads every document into set, or, when single is not NULL, exactly one value into it. */
static int read_stream(struct reader *r, struct cli_spec_set *set, json_t **single)
{
    yaml_event_t ev;
    if (next_event(r, &ev) < 0)
        return -1;
    yaml_event_delete(&ev); /* stream start */
    for (;;) {
        if (next_event(r, &ev) < 0)
            return -1;
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            return r->problems ? -1 : 0;
        }
        yaml_event_delete(&ev); /* document start */
        if (next_event(r, &ev) < 0)
            return -1;
        json_t *root = read_node(r, &ev);
        if (!root)
            return -1;
        int rc = 0;
        if (single) {
            if (*single) {
                int line, col;
                mark_of(r, root, &line, &col);
                rc = fail_at(r, line, col, "expected one document, found more");
            } else {
                *single = json_incref(root);
            }
        } else {
            rc = add_document(r, root, set);
        }
        json_decref(root);
        r->n_marks = 0; /* the nodes are gone: their addresses may be reused */
        if (rc < 0)
            return -1;
        if (next_event(r, &ev) < 0)
            return -1;
        yaml_event_delete(&ev); /* document end */
    }
}

void cli_spec_free(struct cli_spec_set *set)
{
    for (size_t i = 0; i < set->count; i++) {
        free(set->docs[i].name);
        free(set->docs[i].desired_state);
        json_decref(set->docs[i].spec);
    }
    free(set->docs);
    free(set->label);
    set->docs = NULL;
    set->count = 0;
    set->label = NULL;
}

static int parse_text(const char *label, const char *text, size_t len, struct cli_spec_set *set, json_t **single,
                      char *errbuf, size_t errcap)
{
    struct reader r = {.label = label, .errbuf = errbuf, .errcap = errcap};
    if (!yaml_parser_initialize(&r.parser)) {
        snprintf(errbuf, errcap, "%s: cannot initialise the YAML parser", label);
        return -1;
    }
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
    if (set && !(set->label = strdup(label))) {
        yaml_parser_delete(&r.parser);
        snprintf(errbuf, errcap, "%s: out of memory", label);
        return -1;
    }
    int rc = read_stream(&r, set, single);
    yaml_parser_delete(&r.parser);
    free(r.marks);
    if (rc < 0) {
        if (set)
            cli_spec_free(set);
        if (single) {
            json_decref(*single);
            *single = NULL;
        }
    }
    return rc;
}

int cli_spec_parse(const char *label, const char *text, size_t len, struct cli_spec_set *set, char *errbuf,
                   size_t errcap)
{
    memset(set, 0, sizeof *set);
    return parse_text(label, text, len, set, NULL, errbuf, errcap);
}

char *cli_read_file(const char *path, size_t *len, char *errbuf, size_t errcap)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(errbuf, errcap, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t n = 0;
    FILE *mem = open_memstream(&text, &n);
    char buf[8192];
    size_t got;
    while (mem && (got = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, got, mem);
    bool bad = ferror(f) || !mem;
    if (f != stdin)
        fclose(f);
    if (mem && fclose(mem) != 0)
        bad = true;
    if (bad) {
        free(text);
        snprintf(errbuf, errcap, "cannot read %s", path);
        return NULL;
    }
    if (len)
        *len = n;
    return text;
}

static const char *label_of(const char *path)
{
    if (strcmp(path, "-") == 0)
        return "<stdin>";
    return path;
}

int cli_spec_read(const char *path, struct cli_spec_set *set, char *errbuf, size_t errcap)
{
    memset(set, 0, sizeof *set);
    size_t len;
    char *text = cli_read_file(path, &len, errbuf, errcap);
    if (!text)
        return -1;
    int rc = parse_text(label_of(path), text, len, set, NULL, errbuf, errcap);
    free(text);
    return rc;
}

json_t *cli_spec_read_value(const char *path, char *errbuf, size_t errcap)
{
    size_t len;
    char *text = cli_read_file(path, &len, errbuf, errcap);
    if (!text)
        return NULL;
    json_t *value = NULL;
    if (parse_text(label_of(path), text, len, NULL, &value, errbuf, errcap) == 0 && !value)
        snprintf(errbuf, errcap, "%s: empty file", label_of(path));
    free(text);
    return value;
}
