/* options.c — option tables: look-up, the one validator, defaults and storing (see options.h). */
#include "common/options.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- look-up */

const struct option_row *option_find(const struct option_table *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct option_row *o = &t->rows[i];
        size_t len = strlen(o->name);
        if (o->flags & OPTION_PREFIX ? strncmp(key, o->name, len) == 0 && key[len] : strcmp(key, o->name) == 0)
            return o;
    }
    return NULL;
}

void option_names(const struct option_table *t, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < t->n && used < outlen; i++) {
        const struct option_row *o = &t->rows[i];
        if (o->flags & OPTION_HIDDEN)
            continue;
        int k = snprintf(out + used, outlen - used, "%s%s%s", used ? ", " : "", o->name,
                         o->flags & OPTION_PREFIX ? "*" : "");
        used = k < 0 ? outlen : used + (size_t)k;
    }
}

/* ---------------------------------------------------------------- values */

/* 1, 0, or -1 when v is no boolean. */
static int option_parse_bool(const char *v)
{
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return 1;
        if (strcasecmp(v, no[i]) == 0)
            return 0;
    }
    return -1;
}

/* A value of row o, parsed. */
union option_value {
    long i;
    int b;
    double d;
    int index;
};

/* The unit at s (case-insensitive, whole): its factor in units[], or -1. */
static long option_unit(const char *s, const char *const *names, const long *factors, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(s, names[i]) == 0)
            return factors[i];
    return -1;
}

long option_duration_ms(const char *text)
{
    /* Flink's forms too: "1 min", "30 s", "2 hours" */
    static const char *const names[] = {"ms",      "milli", "millis", "s",    "sec",    "secs",    "second",
                                        "seconds", "m",     "min",    "mins", "minute", "minutes", "h",
                                        "hour",    "hours", "d",      "day",  "days",   ""};
    static const long ms[] = {1,     1,     1,     1000,    1000,    1000,    1000,     1000,     60000,    60000,
                              60000, 60000, 60000, 3600000, 3600000, 3600000, 86400000, 86400000, 86400000, 1000};
    char *end;
    double v = strtod(text, &end);
    if (end == text || v < 0 || !isfinite(v))
        return -1;
    while (*end == ' ')
        end++;
    long f = option_unit(end, names, ms, sizeof ms / sizeof ms[0]);
    return f < 0 || v * (double)f > (double)LONG_MAX ? -1 : (long)(v * (double)f);
}

long long option_size_bytes(const char *text)
{
    static const char *const names[] = {"", "b", "bytes", "k", "kb", "kib", "m", "mb", "mib", "g", "gb", "gib"};
    static const long f[] = {1,        1,        1,        1L << 10, 1L << 10, 1L << 10,
                             1L << 20, 1L << 20, 1L << 20, 1L << 30, 1L << 30, 1L << 30};
    char *end;
    double v = strtod(text, &end);
    if (end == text || v < 0 || !isfinite(v))
        return -1;
    while (*end == ' ')
        end++;
    long u = option_unit(end, names, f, sizeof f / sizeof f[0]);
    return u < 0 || v * (double)u > 9e18 ? -1 : (long long)(v * (double)u);
}

/* 0 with *out when value fits row o, else -1. */
static int option_parse(const struct option_row *o, const char *value, union option_value *out)
{
    char *end;
    switch (o->type) {
    case OPTION_STRING:
        return 0;
    case OPTION_INT:
        errno = 0;
        out->i = strtol(value, &end, 10);
        return errno || end == value || *end || out->i < o->min || out->i > o->max ? -1 : 0;
    case OPTION_BOOL:
        out->b = option_parse_bool(value);
        return out->b < 0 ? -1 : 0;
    case OPTION_DOUBLE:
        out->d = strtod(value, &end);
        return end == value || *end || !isfinite(out->d) || !(out->d >= (double)o->min) ? -1 : 0;
    case OPTION_ENUM:
        for (out->index = 0; o->values[out->index]; out->index++)
            if (strcmp(o->values[out->index], value) == 0)
                return 0;
        return -1;
    case OPTION_DURATION:
        out->i = option_duration_ms(value);
        return out->i < 0 || out->i < o->min || out->i > o->max ? -1 : 0;
    case OPTION_SIZE:
        out->i = (long)option_size_bytes(value);
        return out->i < 0 || out->i < o->min || out->i > o->max ? -1 : 0;
    }
    return -1;
}

/* "webhook option" or "option" into buf. */
static const char *option_noun(const struct option_table *t, char *buf, size_t buflen)
{
    snprintf(buf, buflen, "%s%soption", t->owner ? t->owner : "", t->owner ? " " : "");
    return buf;
}

/* The message for key's value that does not fit row o. */
static int option_fail_value(const struct option_table *t, const struct option_row *o, const char *key,
                             const char *value, char *err, size_t errlen)
{
    char noun[80], what[300] = "";
    switch (o->type) {
    case OPTION_STRING:
        break;
    case OPTION_INT:
        snprintf(what, sizeof what, "a whole number from %ld to %ld", o->min, o->max);
        break;
    case OPTION_BOOL:
        snprintf(what, sizeof what, "true or false");
        break;
    case OPTION_DOUBLE:
        if (o->min == 0)
            snprintf(what, sizeof what, "a non-negative number");
        else
            snprintf(what, sizeof what, "a number of at least %ld", o->min);
        break;
    case OPTION_ENUM:
        for (const char *const *v = o->values; *v; v++)
            snprintf(what + strlen(what), sizeof what - strlen(what), "%s%s", v == o->values ? "" : " | ", *v);
        break;
    case OPTION_DURATION:
        snprintf(what, sizeof what, "a duration such as 10s or 500ms, from %ld to %ld ms", o->min, o->max);
        break;
    case OPTION_SIZE:
        snprintf(what, sizeof what, "a size such as 128MB or 64kb, from %ld to %ld bytes", o->min, o->max);
        break;
    }
    snprintf(err, errlen, "%s \"%s\" must be %s, not \"%s\"", option_noun(t, noun, sizeof noun), key, what, value);
    return -1;
}

/* The message for an unknown key: the options there are, and the key under a prefix row when
 * that is one (kafka's "bootstrap.servers": did you mean "properties.bootstrap.servers"?). */
static int option_fail_unknown(const struct option_table *t, const char *key, char *err, size_t errlen)
{
    if (!t->owner) {
        snprintf(err, errlen, "unknown option \"%s\"", key);
        return -1;
    }
    char names[600], guess[340] = "";
    option_names(t, names, sizeof names);
    for (size_t i = 0; i < t->n && !guess[0]; i++) {
        const struct option_row *o = &t->rows[i];
        char longer[300];
        if (!(o->flags & OPTION_PREFIX) || (o->flags & OPTION_HIDDEN) ||
            snprintf(longer, sizeof longer, "%s%s", o->name, key) >= (int)sizeof longer)
            continue;
        const struct option_row *hit = option_find(t, longer);
        if (hit && !(hit->flags & OPTION_PREFIX)) /* a row of its own, not any key under the prefix */
            snprintf(guess, sizeof guess, "; did you mean \"%s\"?", longer);
    }
    snprintf(err, errlen, "unknown %s option \"%s\" (options: %s)%s", t->owner, key, names, guess);
    return -1;
}

int option_check(const struct option_table *t, const char *key, const char *value, char *err, size_t errlen)
{
    const struct option_row *o = option_find(t, key);
    if (!o)
        return option_fail_unknown(t, key, err, errlen);
    union option_value v;
    if (value && option_parse(o, value, &v) != 0)
        return option_fail_value(t, o, key, value, err, errlen);
    return 0;
}

int option_check_required(const struct option_table *t, option_get_fn get, void *ctx, const struct option_row **missing,
                          char *err, size_t errlen)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct option_row *o = &t->rows[i];
        if (!(o->flags & OPTION_REQUIRED))
            continue;
        const char *v = get(ctx, o->name);
        if (!v || !*v) {
            if (missing)
                *missing = o;
            if (t->owner)
                snprintf(err, errlen, "a %s connection needs the property \"%s\"", t->owner, o->name);
            else
                snprintf(err, errlen, "option \"%s\" is required", o->name);
            return -1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- storing */

/* A whole number into a field of size bytes: 8 (int64), 4 (uint32 when the row allows no
 * negative value, else int32) or 1 (a bool or uint8). */
static void option_store_int(char *field, size_t size, long min, long v)
{
    if (size == 8) {
        int64_t x = v;
        memcpy(field, &x, 8);
    } else if (size == 1) {
        uint8_t x = (uint8_t)v;
        memcpy(field, &x, 1);
    } else if (min >= 0) {
        uint32_t x = (uint32_t)v;
        memcpy(field, &x, 4);
    } else {
        int32_t x = (int32_t)v;
        memcpy(field, &x, 4);
    }
}

int option_store(const struct option_table *t, const struct option_row *o, const char *value, void *target, char *err,
                 size_t errlen)
{
    union option_value v;
    if (option_parse(o, value, &v) != 0)
        return option_fail_value(t, o, o->name, value, err, errlen);
    char *field = (char *)target + o->offset;
    switch (o->type) {
    case OPTION_STRING: {
        char *copy = strdup(value);
        if (!copy) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        free(*(char **)field);
        *(char **)field = copy;
        break;
    }
    case OPTION_INT:
    case OPTION_DURATION:
    case OPTION_SIZE:
        option_store_int(field, o->size, o->min, v.i);
        break;
    case OPTION_BOOL:
        option_store_int(field, o->size, 0, v.b);
        break;
    case OPTION_DOUBLE:
        memcpy(field, &v.d, sizeof v.d);
        break;
    case OPTION_ENUM:
        option_store_int(field, o->size, 0, v.index);
        break;
    }
    return 0;
}

int option_table_apply(const struct option_table *t, option_get_fn get, void *ctx, void *target, char *err,
                       size_t errlen)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct option_row *o = &t->rows[i];
        if (o->flags & OPTION_PREFIX)
            continue;
        const char *v = get ? get(ctx, o->name) : NULL;
        if (!v)
            v = o->def;
        if (!v)
            continue;
        if (o->size ? option_store(t, o, v, target, err, errlen) : option_check(t, o->name, v, err, errlen))
            return -1;
    }
    return 0;
}

void option_table_free(const struct option_table *t, void *target)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct option_row *o = &t->rows[i];
        if (o->type == OPTION_STRING && o->size) {
            char **field = (char **)((char *)target + o->offset);
            free(*field);
            *field = NULL;
        }
    }
}
