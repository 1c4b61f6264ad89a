/* cli_apply.c — declarative apply and prune (see cli_apply.h). */
#include "sdk/cli_apply.h"

#include <stdio.h>
#include <string.h>

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

static int apply_one(sluice_client *c, const struct cli_spec_doc *d, bool dry_run, struct sluice_error *err)
{
    json_t *current = NULL;
    if (sluice_find(c, d->kind, d->name, &current, err) < 0) {
        if (err->code != SLUICE_E_NOT_FOUND)
            return -1;
        if (!dry_run) {
            json_t *body = json_deep_copy(d->spec);
            json_object_set_new(body, "name", json_string(d->name));
            int rc = sluice_create(c, d->kind, body, NULL, err);
            json_decref(body);
            if (rc < 0)
                return -1;
        }
        say(d, "created", dry_run);
        return 0;
    }
    json_t *patch = changed_fields(d->kind, d->spec, current);
    int rc = 0;
    if (json_object_size(patch) == 0) {
        say(d, "unchanged", dry_run);
    } else {
        const char *id = json_string_value(json_object_get(current, "id"));
        json_t *version = json_object_get(current, "version");
        if (!dry_run)
            rc = sluice_update(c, d->kind, id, patch, json_is_integer(version) ? (long)json_integer_value(version) : -1,
                               NULL, err);
        if (rc == 0)
            say(d, "updated", dry_run);
    }
    json_decref(patch);
    json_decref(current);
    return rc;
}

static bool named_in(const struct cli_spec_set *set, enum sluice_kind kind, const char *name)
{
    for (size_t i = 0; i < set->count; i++)
        if (set->docs[i].kind == kind && strcmp(set->docs[i].name, name) == 0)
            return true;
    return false;
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
        if (name && !named_in(set, kind, name))
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

/* The kinds apply manages, in dependency order. */
static const enum sluice_kind apply_order[] = {SLUICE_KIND_SECRET, SLUICE_KIND_STREAM, SLUICE_KIND_CONNECTION,
                                               SLUICE_KIND_PIPELINE};
#define N_ORDER (sizeof apply_order / sizeof apply_order[0])

/* Puts "<kind>/<name>: " before the message of err. */
static int blame(const struct cli_spec_doc *d, struct sluice_error *err)
{
    char message[sizeof err->message + 300];
    int n = snprintf(message, sizeof message, "%s/%s: %s", sluice_kind_name(d->kind), d->name, err->message);
    if (n > 0)
        snprintf(err->message, sizeof err->message, "%.*s", (int)sizeof err->message - 1, message);
    return -1;
}

int cli_apply(sluice_client *c, const struct cli_spec_set *set, bool dry_run, bool prune, struct sluice_error *err)
{
    for (size_t k = 0; k < N_ORDER; k++)
        for (size_t i = 0; i < set->count; i++)
            if (set->docs[i].kind == apply_order[k] && apply_one(c, &set->docs[i], dry_run, err) < 0)
                return blame(&set->docs[i], err);
    if (prune)
        for (size_t k = N_ORDER; k-- > 0;)
            if (prune_kind(c, set, apply_order[k], dry_run, err) < 0)
                return -1;
    return 0;
}
