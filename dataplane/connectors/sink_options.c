/* sink_options.c — a sink's properties checked against its option table (see sink_options.h). */
#include "dataplane/connectors/sink_options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sink_option *sink_option_find(const struct sink_option *table, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (table[i].prefix ? strncmp(key, table[i].key, strlen(table[i].key)) == 0 && key[strlen(table[i].key)]
                            : strcmp(key, table[i].key) == 0)
            return &table[i];
    }
    return NULL;
}

static void sink_option_names(const struct sink_option *table, size_t n, char *out, size_t outlen)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), outlen - strlen(out), "%s%s%s", i ? ", " : "", table[i].key,
                 table[i].prefix ? "*" : "");
}

int sink_options_check(const char *connector, const struct sink_option *table, size_t n,
                       const struct stream_property *props, int nprops, char *err, size_t errlen)
{
    char names[400];
    for (int i = 0; i < nprops; i++) {
        if (strncmp(props[i].key, "__", 2) == 0)
            continue;
        const struct sink_option *o = sink_option_find(table, n, props[i].key);
        if (!o) {
            sink_option_names(table, n, names, sizeof names);
            snprintf(err, errlen, "unknown %s option \"%s\" (options: %s)", connector, props[i].key, names);
            return -1;
        }
        if (!o->values)
            continue;
        bool ok = false;
        for (const char *const *v = o->values; *v && !ok; v++)
            ok = strcmp(*v, props[i].value) == 0;
        if (!ok) {
            char allowed[200] = "";
            for (const char *const *v = o->values; *v; v++)
                snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed), "%s%s",
                         v == o->values ? "" : " | ", *v);
            snprintf(err, errlen, "%s option \"%s\" must be %s, not \"%s\"", connector, props[i].key, allowed,
                     props[i].value);
            return -1;
        }
    }
    for (size_t k = 0; k < n; k++) {
        if (!table[k].required)
            continue;
        const char *v = stream_property_get(props, nprops, table[k].key);
        if (!v || !*v) {
            snprintf(err, errlen, "a %s connection needs the property \"%s\"", connector, table[k].key);
            return -1;
        }
    }
    return 0;
}

int sink_option_long(const char *connector, const struct stream_property *props, int nprops, const char *key, long def,
                     long min, long max, long *out, char *err, size_t errlen)
{
    const char *v = stream_property_get(props, nprops, key);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < min || x > max) {
        snprintf(err, errlen, "%s option \"%s\" must be a whole number from %ld to %ld, not \"%s\"", connector, key,
                 min, max, v);
        return -1;
    }
    *out = x;
    return 0;
}

int sink_one_partition(const char *location, int create, const struct stream_property *props, int nprops, int *count,
                       char *err, size_t errlen)
{
    *count = 1;
    return 0;
}
