/* connection_check.c — the worker's connection check (see connection_check.h). */
#include "dataplane/connection_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_MAX_PROPS 256

/* Appends obj's string members to props (from *n on). */
static void check_props_add(json_t *obj, struct stream_property *props, int *n)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (*n < CHECK_MAX_PROPS && json_is_string(v))
            props[(*n)++] = (struct stream_property){key, json_string_value(v)};
    }
}

int connection_check_spec(json_t *spec, struct stream_check *out, char *err, size_t errlen)
{
    const char *name = json_string_value(json_object_get(spec, "connector"));
    const struct stream_backend *b = NULL;
    if (!name || stream_connector_find(name, &b) != 0 || !b) {
        snprintf(err, errlen, "connector \"%s\" is not known to this worker", name ? name : "");
        return -1;
    }
    memset(out, 0, sizeof *out);
    if (!b->check) { /* nothing to reach (datagen) */
        out->reachable = out->authenticated = out->target_present = true;
        return 0;
    }
    struct stream_property *props = calloc(CHECK_MAX_PROPS, sizeof *props);
    if (!props) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int n = 0;
    check_props_add(json_object_get(spec, "properties"), props, &n);
    check_props_add(json_object_get(spec, "secrets"), props, &n);
    b->check(props, n, out);
    free(props);
    return 0;
}

int connection_check_worker_run(json_t *spec, char *err, size_t errlen)
{
    struct stream_check c;
    if (connection_check_spec(spec, &c, err, errlen) != 0)
        return -1;
    json_t *o = json_pack("{s:s,s:b,s:b,s:b}", "type", "check", "reachable", c.reachable, "authenticated",
                          c.authenticated, "target_present", c.target_present);
    if (o && c.error[0])
        json_object_set_new(o, "error", json_string(c.error));
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    return 0;
}
