/* cli_apply.c — declarative apply and prune (see cli_apply.h): the checks of the whole file
 * against the server, the streams a pipeline's SQL names, creating and updating with an undo
 * log, desired states, and pruning. */
#include "sdk/cli_apply.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Spec fields the server never returns (a secret's value), so never compared. */
static bool write_only(enum sluice_kind kind, const char *field)
{
    return kind == SLUICE_KIND_SECRET && strcmp(field, "value") == 0;
}

bool cli_apply_matches(json_t *want, json_t *have)
{
    if (json_is_number(want) && json_is_number(have))
        return json_number_value(want) == json_number_value(have);
    if (json_is_object(want)) {
        if (!json_is_object(have))
            return false;
        const char *key;
        json_t *v;
        json_object_foreach(want, key, v)
        {
            if (!cli_apply_matches(v, json_object_get(have, key)))
                return false;
        }
        return true;
    }
    if (json_is_array(want)) {
        if (!json_is_array(have) || json_array_size(want) != json_array_size(have))
            return false;
        for (size_t i = 0; i < json_array_size(want); i++)
            if (!cli_apply_matches(json_array_get(want, i), json_array_get(have, i)))
                return false;
        return true;
    }
    if (json_is_null(want))
        return !have || json_is_null(have);
    return have && json_equal(want, have);
}

/* The fields of spec that differ from the server's resource, as a new object (empty when
 * none). */
static json_t *changed_fields(enum sluice_kind kind, json_t *spec, json_t *current)
{
    json_t *patch = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(spec, key, v)
    {
        if (!write_only(kind, key) && !cli_apply_matches(v, json_object_get(current, key)))
            json_object_set(patch, key, v);
    }
    return patch;
}

static void say(const struct cli_spec_doc *d, const char *what, bool dry_run)
{
    printf("%s/%s %s%s\n", sluice_kind_name(d->kind), d->name, what, dry_run ? " (dry run)" : "");
    fflush(stdout);
}

/* The kinds apply manages, in dependency order. */
static const enum sluice_kind apply_order[] = {SLUICE_KIND_SECRET, SLUICE_KIND_STREAM, SLUICE_KIND_FUNCTION,
                                               SLUICE_KIND_CONNECTION, SLUICE_KIND_PIPELINE};
#define N_ORDER (sizeof apply_order / sizeof apply_order[0])

/* ==== the streams a pipeline's SQL names ================================================= */

struct sql_token {
    const char *text;
    size_t len;
    char type; /* 'i' identifier, 'q' quoted identifier (text without the quotes), else the character */
};

/* Splits sql into identifiers and punctuation, skipping comments, string literals and numbers.
 * Returns a malloc'd array (*n tokens), or NULL. */
static struct sql_token *sql_tokens(const char *sql, size_t *n)
{
    size_t cap = 64;
    struct sql_token *t = malloc(cap * sizeof *t);
    *n = 0;
    if (!t)
        return NULL;
    for (const char *p = sql; *p;) {
        struct sql_token tok = {p, 1, *p};
        if (p[0] == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
            continue;
        }
        if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            p = end ? end + 2 : p + strlen(p);
            continue;
        }
        if (isspace((unsigned char)*p)) {
            p++;
            continue;
        }
        if (*p == '\'') { /* a string: '' inside is a quote */
            for (p++; *p && !(p[0] == '\'' && p[1] != '\''); p += p[0] == '\'' ? 2 : 1)
                ;
            p += *p ? 1 : 0;
            continue;
        }
        if (*p == '"' || *p == '`') {
            const char *end = strchr(p + 1, *p);
            tok = (struct sql_token){p + 1, end ? (size_t)(end - p - 1) : strlen(p + 1), 'q'};
            p = end ? end + 1 : p + strlen(p);
        } else if (isalpha((unsigned char)*p) || *p == '_') {
            size_t len = 0;
            while (isalnum((unsigned char)p[len]) || p[len] == '_' || p[len] == '$')
                len++;
            tok = (struct sql_token){p, len, 'i'};
            p += len;
        } else if (isdigit((unsigned char)*p)) {
            while (isalnum((unsigned char)*p) || *p == '.')
                p++;
            continue;
        } else {
            p++;
        }
        if (*n == cap) {
            struct sql_token *more = realloc(t, (cap *= 2) * sizeof *t);
            if (!more) {
                free(t);
                return NULL;
            }
            t = more;
        }
        t[(*n)++] = tok;
    }
    return t;
}

static bool sql_keyword(const struct sql_token *t, const char *word)
{
    return t->type == 'i' && strlen(word) == t->len && strncasecmp(t->text, word, t->len) == 0;
}

/* Whether t[i] names a stream: an identifier, not a word that opens something else, and not
 * followed by "(" (a function) or "." (a qualified name, left to the server). */
static bool sql_stream_name(const struct sql_token *t, size_t i, size_t n)
{
    static const char *const not_names[] = {"TABLE", "LATERAL", "UNNEST", "SELECT", "VALUES"};
    if (i >= n || (t[i].type != 'i' && t[i].type != 'q'))
        return false;
    for (size_t k = 0; k < sizeof not_names / sizeof not_names[0]; k++)
        if (sql_keyword(&t[i], not_names[k]))
            return false;
    return i + 1 >= n || (t[i + 1].type != '(' && t[i + 1].type != '.');
}

json_t *cli_apply_sql_streams(const char *sql)
{
    json_t *names = json_array(), *ctes = json_array();
    size_t n;
    struct sql_token *t = sql_tokens(sql ? sql : "", &n);
    int depth = 0;
    for (size_t i = 0; t && i < n; i++) {
        size_t name = n; /* the token that names a stream, if any */
        if (t[i].type == '(')
            depth++;
        else if (t[i].type == ')')
            depth--;
        else if (sql_keyword(&t[i], "INTO") && i > 0 && sql_keyword(&t[i - 1], "INSERT"))
            name = i + 1;
        else if (sql_keyword(&t[i], "JOIN") || sql_keyword(&t[i], "TABLE"))
            name = i + 1;
        else if (sql_keyword(&t[i], "FROM") && depth == 0) /* deeper, FROM may be EXTRACT(x FROM y)'s */
            name = i + 1;
        else if ((t[i].type == 'i' || t[i].type == 'q') && i + 2 < n && sql_keyword(&t[i + 1], "AS") &&
                 t[i + 2].type == '(')
            json_array_append_new(ctes, json_stringn(t[i].text, t[i].len)); /* WITH x AS (...) */
        if (name < n && sql_stream_name(t, name, n))
            json_array_append_new(names, json_stringn(t[name].text, t[name].len));
    }
    free(t);
    /* names of common table expressions are not streams; each stream once */
    json_t *out = json_array(), *v;
    size_t i;
    json_array_foreach(names, i, v)
    {
        bool skip = false;
        json_t *w;
        size_t j;
        json_array_foreach(ctes, j, w) { skip = skip || strcasecmp(json_string_value(v), json_string_value(w)) == 0; }
        json_array_foreach(out, j, w) { skip = skip || strcasecmp(json_string_value(v), json_string_value(w)) == 0; }
        if (!skip)
            json_array_append(out, v);
    }
    json_decref(names);
    json_decref(ctes);
    return out;
}

/* ==== checking the whole file first ====================================================== */

/* What the server has of each kind apply manages: arrays of resources, indexed by kind. */
struct server_view {
    json_t *have[SLUICE_KIND_COUNT];
};

static void view_free(struct server_view *v)
{
    for (size_t k = 0; k < SLUICE_KIND_COUNT; k++)
        json_decref(v->have[k]);
}

static int view_load(sluice_client *c, struct server_view *v, struct sluice_error *err)
{
    memset(v, 0, sizeof *v);
    for (size_t k = 0; k < N_ORDER; k++) {
        json_t *items = json_array(), *item;
        sluice_list *list = sluice_list_new(c, apply_order[k], NULL, 100);
        int r;
        while ((r = sluice_list_next(list, &item, err)) == 1)
            json_array_append(items, item);
        sluice_list_free(list);
        v->have[apply_order[k]] = items;
        if (r < 0)
            return -1;
    }
    return 0;
}

/* The server's resource of kind named name (borrowed), or NULL. */
static json_t *view_find(const struct server_view *v, enum sluice_kind kind, const char *name, bool any_case)
{
    size_t i;
    json_t *item;
    json_array_foreach(v->have[kind], i, item)
    {
        const char *n = json_string_value(json_object_get(item, "name"));
        if (n && (any_case ? strcasecmp(n, name) : strcmp(n, name)) == 0)
            return item;
    }
    return NULL;
}

static bool in_file(const struct cli_spec_set *set, enum sluice_kind kind, const char *name, bool any_case)
{
    for (size_t i = 0; i < set->count; i++)
        if (set->docs[i].kind == kind &&
            (any_case ? strcasecmp(set->docs[i].name, name) : strcmp(set->docs[i].name, name)) == 0)
            return true;
    return false;
}

static int problem(const struct cli_spec_set *set, const struct cli_spec_doc *d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int problem(const struct cli_spec_set *set, const struct cli_spec_doc *d, const char *fmt, ...)
{
    fprintf(stderr, "%s:%d: %s/%s: ", set->label ? set->label : "apply", d->line, sluice_kind_name(d->kind), d->name);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (document %d)\n", d->index);
    return 1;
}

/* A stream or secret the document names must be on the server or in the file. */
static int check_reference(const struct cli_spec_set *set, const struct server_view *v, const struct cli_spec_doc *d,
                           enum sluice_kind kind, const char *name, const char *where, bool any_case)
{
    if (!name || in_file(set, kind, name, any_case) || view_find(v, kind, name, any_case))
        return 0;
    return problem(set, d, "%s names %s \"%s\", which is neither on the server nor in the file", where,
                   sluice_kind_name(kind), name);
}

/* Fields a resource needs when it is created. */
static const char *const required_fields[SLUICE_KIND_COUNT][4] = {
    [SLUICE_KIND_SECRET] = {"value"},
    [SLUICE_KIND_STREAM] = {"schema"},
    [SLUICE_KIND_CONNECTION] = {"connector", "type", "stream"},
    [SLUICE_KIND_PIPELINE] = {"sql"},
    [SLUICE_KIND_FUNCTION] = {"source"},
};

/* Problems of one document that only the server's state reveals; returns how many. */
static int check_doc(const struct cli_spec_set *set, const struct server_view *v, const struct cli_spec_doc *d)
{
    int problems = 0;
    if (!view_find(v, d->kind, d->name, false))
        for (size_t i = 0; i < 4 && required_fields[d->kind][i]; i++)
            if (!json_object_get(d->spec, required_fields[d->kind][i]))
                problems += problem(set, d, "\"%s\" is required to create a %s", required_fields[d->kind][i],
                                    sluice_kind_name(d->kind));
    const char *stream = json_string_value(json_object_get(d->spec, "stream"));
    const char *dead_letter = json_string_value(json_object_get(d->spec, "dead_letter_stream"));
    if (d->kind == SLUICE_KIND_CONNECTION) {
        problems += check_reference(set, v, d, SLUICE_KIND_STREAM, stream, "\"stream\"", false);
        const char *key;
        json_t *secret;
        json_object_foreach(json_object_get(d->spec, "secret_refs"), key, secret)
        {
            problems +=
                check_reference(set, v, d, SLUICE_KIND_SECRET, json_string_value(secret), "\"secret_refs\"", false);
        }
    }
    if (d->kind == SLUICE_KIND_PIPELINE) {
        problems += check_reference(set, v, d, SLUICE_KIND_STREAM, dead_letter, "\"dead_letter_stream\"", false);
        json_t *names = cli_apply_sql_streams(json_string_value(json_object_get(d->spec, "sql")));
        size_t i;
        json_t *name;
        json_array_foreach(names, i, name)
        {
            problems += check_reference(set, v, d, SLUICE_KIND_STREAM, json_string_value(name), "the SQL", true);
        }
        json_decref(names);
    }
    return problems;
}

/* ==== changing, with an undo log ========================================================= */

/* The undo log: what to do, newest last, to put back what apply changed so far:
 * {"undo": "delete" | "patch" | "activate" | "deactivate", "kind", "id", "name", "patch"}. */
static void note_undo(json_t *log, const char *undo, enum sluice_kind kind, const char *id, const char *name,
                      json_t *patch)
{
    json_t *entry = json_pack("{s:s, s:i, s:s?, s:s?}", "undo", undo, "kind", (int)kind, "id", id, "name", name);
    if (patch)
        json_object_set(entry, "patch", patch);
    json_array_append_new(log, entry);
}

/* Undoes the log, newest first, best effort; says what it did. */
static void roll_back(sluice_client *c, json_t *log)
{
    for (size_t i = json_array_size(log); i-- > 0;) {
        json_t *e = json_array_get(log, i);
        const char *undo = json_string_value(json_object_get(e, "undo"));
        enum sluice_kind kind = (enum sluice_kind)json_integer_value(json_object_get(e, "kind"));
        const char *id = json_string_value(json_object_get(e, "id"));
        const char *name = json_string_value(json_object_get(e, "name"));
        struct sluice_error err;
        int rc;
        if (strcmp(undo, "delete") == 0)
            rc = sluice_delete(c, kind, id, &err);
        else if (strcmp(undo, "patch") == 0)
            rc = sluice_update(c, kind, id, json_object_get(e, "patch"), -1, NULL, &err);
        else
            rc = sluice_set_active(c, kind, id, strcmp(undo, "activate") == 0, NULL, &err);
        if (rc < 0)
            fprintf(stderr, "sluice: could not undo the change to %s/%s: %s\n", sluice_kind_name(kind), name,
                    err.message);
        else
            printf("%s/%s rolled back (%s)\n", sluice_kind_name(kind), name,
                   strcmp(undo, "delete") == 0     ? "deleted again"
                   : strcmp(undo, "patch") == 0    ? "old fields restored"
                   : strcmp(undo, "activate") == 0 ? "activated again"
                                                   : "deactivated again");
    }
    fflush(stdout);
}

/* Creates or updates d; *after (new reference, may be NULL in a dry run of a create) receives
 * the resource as it is now. */
static int apply_one(sluice_client *c, const struct server_view *v, const struct cli_spec_doc *d, bool dry_run,
                     json_t *log, json_t **after, struct sluice_error *err)
{
    *after = NULL;
    json_t *current = view_find(v, d->kind, d->name, false);
    if (!current) {
        if (!dry_run) {
            json_t *body = json_deep_copy(d->spec);
            json_object_set_new(body, "name", json_string(d->name));
            int rc = sluice_create(c, d->kind, body, after, err);
            json_decref(body);
            if (rc < 0)
                return -1;
            note_undo(log, "delete", d->kind, json_string_value(json_object_get(*after, "id")), d->name, NULL);
        }
        say(d, "created", dry_run);
        return 0;
    }
    json_t *patch = changed_fields(d->kind, d->spec, current);
    int rc = 0;
    if (json_object_size(patch) == 0) {
        say(d, "unchanged", dry_run);
        *after = json_incref(current);
    } else {
        const char *id = json_string_value(json_object_get(current, "id"));
        json_t *version = json_object_get(current, "version");
        if (!dry_run)
            rc = sluice_update(c, d->kind, id, patch, json_is_integer(version) ? (long)json_integer_value(version) : -1,
                               after, err);
        else
            *after = json_incref(current);
        if (rc == 0 && !dry_run) { /* the fields as they were, to put back */
            json_t *old = json_object();
            const char *key;
            json_t *value;
            json_object_foreach(patch, key, value)
            {
                json_t *was = json_object_get(current, key);
                json_object_set(old, key, was ? was : json_null());
            }
            note_undo(log, "patch", d->kind, id, d->name, old);
            json_decref(old);
        }
        if (rc == 0)
            say(d, "updated", dry_run);
    }
    json_decref(patch);
    return rc;
}

/* Activates or deactivates d to match its desired_state (after: the resource now, or NULL for a
 * dry-run create, which starts stopped). */
static int apply_desired_state(sluice_client *c, const struct cli_spec_doc *d, json_t *after, bool dry_run, json_t *log,
                               struct sluice_error *err)
{
    if (!d->desired_state)
        return 0;
    const char *now = after ? json_string_value(json_object_get(after, "desired_state")) : "stopped";
    if (now && strcmp(now, d->desired_state) == 0)
        return 0;
    bool on = strcmp(d->desired_state, "running") == 0;
    const char *id = json_string_value(json_object_get(after, "id"));
    if (!dry_run) {
        if (sluice_set_active(c, d->kind, id, on, NULL, err) < 0)
            return -1;
        note_undo(log, on ? "deactivate" : "activate", d->kind, id, d->name, NULL);
    }
    say(d, on ? "activated" : "deactivated", dry_run);
    return 0;
}

/* Deletes resources of kind not in set; a running one is deactivated first. */
static int prune_kind(sluice_client *c, const struct cli_spec_set *set, enum sluice_kind kind, bool dry_run,
                      struct sluice_error *err)
{
    json_t *doomed = json_array();
    sluice_list *list = sluice_list_new(c, kind, NULL, 100);
    json_t *item;
    int r;
    while ((r = sluice_list_next(list, &item, err)) == 1) {
        const char *name = json_string_value(json_object_get(item, "name"));
        if (name && !in_file(set, kind, name, false))
            json_array_append(doomed, item);
    }
    sluice_list_free(list);
    size_t i;
    json_array_foreach(doomed, i, item)
    {
        if (r < 0)
            break;
        const char *id = json_string_value(json_object_get(item, "id"));
        struct cli_spec_doc d = {.kind = kind, .name = (char *)json_string_value(json_object_get(item, "name"))};
        const char *desired = json_string_value(json_object_get(item, "desired_state"));
        if (!dry_run && desired && strcmp(desired, "running") == 0 &&
            sluice_set_active(c, kind, id, false, NULL, err) < 0)
            r = -1;
        else if (!dry_run && sluice_delete(c, kind, id, err) < 0)
            r = -1;
        else
            say(&d, "pruned", dry_run);
    }
    json_decref(doomed);
    return r < 0 ? -1 : 0;
}

/* Puts "<kind>/<name>: " before the message of err. */
static void blame(const struct cli_spec_doc *d, struct sluice_error *err)
{
    char message[sizeof err->message + 300];
    int n = snprintf(message, sizeof message, "%s/%s: %s", sluice_kind_name(d->kind), d->name, err->message);
    if (n > 0)
        snprintf(err->message, sizeof err->message, "%.*s", (int)sizeof err->message - 1, message);
}

enum cli_apply_result cli_apply(sluice_client *c, const struct cli_spec_set *set, bool dry_run, bool prune,
                                struct sluice_error *err)
{
    struct server_view v;
    if (view_load(c, &v, err) < 0) {
        view_free(&v);
        return CLI_APPLY_FAILED;
    }
    int problems = 0;
    for (size_t i = 0; i < set->count; i++)
        problems += check_doc(set, &v, &set->docs[i]);
    if (problems) {
        fprintf(stderr, "sluice: %s: %d problem%s; nothing was changed\n", set->label ? set->label : "apply", problems,
                problems == 1 ? "" : "s");
        view_free(&v);
        return CLI_APPLY_INVALID;
    }
    json_t *log = json_array();
    json_t **after = calloc(set->count ? set->count : 1, sizeof *after);
    enum cli_apply_result result = after ? CLI_APPLY_OK : CLI_APPLY_FAILED;
    if (!after) {
        memset(err, 0, sizeof *err);
        err->code = SLUICE_E_NO_MEMORY;
        snprintf(err->message, sizeof err->message, "out of memory");
    }
    /* create and update, in dependency order; then the desired states */
    for (size_t k = 0; k < N_ORDER && result == CLI_APPLY_OK; k++)
        for (size_t i = 0; i < set->count && result == CLI_APPLY_OK; i++)
            if (set->docs[i].kind == apply_order[k] &&
                apply_one(c, &v, &set->docs[i], dry_run, log, &after[i], err) < 0) {
                blame(&set->docs[i], err);
                result = CLI_APPLY_FAILED;
            }
    for (size_t k = 0; k < N_ORDER && result == CLI_APPLY_OK; k++)
        for (size_t i = 0; i < set->count && result == CLI_APPLY_OK; i++)
            if (set->docs[i].kind == apply_order[k] &&
                apply_desired_state(c, &set->docs[i], after[i], dry_run, log, err) < 0) {
                blame(&set->docs[i], err);
                result = CLI_APPLY_FAILED;
            }
    if (result != CLI_APPLY_OK)
        roll_back(c, log);
    for (size_t i = 0; after && i < set->count; i++)
        json_decref(after[i]);
    free(after);
    json_decref(log);
    view_free(&v);
    if (result == CLI_APPLY_OK && prune)
        for (size_t k = N_ORDER; k-- > 0;)
            if (prune_kind(c, set, apply_order[k], dry_run, err) < 0)
                return CLI_APPLY_FAILED;
    return result;
}
