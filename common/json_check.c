/* json_check.c — table-driven validation of request JSON objects. */
#include "common/json_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const json_check_kind_names[] = {
    [JSON_CHECK_STRING] = "a string", [JSON_CHECK_NAME] = "a string",
    [JSON_CHECK_INT] = "an integer",  [JSON_CHECK_BOOL] = "a boolean",
    [JSON_CHECK_ENUM] = "a string",   [JSON_CHECK_OBJECT] = "an object",
    [JSON_CHECK_ARRAY] = "an array",  [JSON_CHECK_STRING_MAP] = "an object of strings",
};

__attribute__((format(printf, 4, 5))) static int json_check_fail(struct json_check_error *err, const char *path,
                                                                 const char *name, const char *fmt, ...)
{
    if (name)
        snprintf(err->field, sizeof err->field, "%s%s%s", path, *path ? "." : "", name);
    else
        snprintf(err->field, sizeof err->field, "%s", path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

bool json_check_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 63)
        return false;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int json_check_value(const json_t *v, const struct json_check_field *f, const char *path,
                            struct json_check_error *err)
{
    const char *expected = json_check_kind_names[f->kind];
    switch (f->kind) {
    case JSON_CHECK_STRING:
    case JSON_CHECK_NAME:
    case JSON_CHECK_ENUM: {
        if (!json_is_string(v))
            return json_check_fail(err, path, f->name, "field \"%s\" must be %s", f->name, expected);
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (strlen(s) != len)
            return json_check_fail(err, path, f->name, "field \"%s\" must not contain NUL characters", f->name);
        if (f->kind == JSON_CHECK_NAME && !json_check_name(s))
            return json_check_fail(err, path, f->name,
                                   "field \"%s\" must be a name: 1 to 63 letters, digits, '_' or "
                                   "'-', starting with a letter",
                                   f->name);
        if (f->kind == JSON_CHECK_ENUM) {
            for (const char *const *e = f->values; *e; e++)
                if (strcmp(*e, s) == 0)
                    return 0;
            char list[256] = "";
            for (const char *const *e = f->values; *e; e++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%s\"", e == f->values ? "" : ", ", *e);
            return json_check_fail(err, path, f->name, "field \"%s\" must be one of %s", f->name, list);
        }
        long long max = f->max ? f->max : 65536;
        if (f->kind == JSON_CHECK_STRING && ((long long)len < f->min || (long long)len > max))
            return json_check_fail(err, path, f->name, "field \"%s\" must be %lld to %lld characters long", f->name,
                                   f->min, max);
        return 0;
    }
    case JSON_CHECK_INT:
        if (!json_is_integer(v))
            return json_check_fail(err, path, f->name, "field \"%s\" must be %s", f->name, expected);
        if (json_integer_value(v) < f->min || json_integer_value(v) > f->max)
            return json_check_fail(err, path, f->name, "field \"%s\" must be between %lld and %lld", f->name, f->min,
                                   f->max);
        return 0;
    case JSON_CHECK_BOOL:
        return json_is_boolean(v) ? 0
                                  : json_check_fail(err, path, f->name, "field \"%s\" must be %s", f->name, expected);
    case JSON_CHECK_OBJECT:
        return json_is_object(v) ? 0
                                 : json_check_fail(err, path, f->name, "field \"%s\" must be %s", f->name, expected);
    case JSON_CHECK_ARRAY:
        if (!json_is_array(v))
            return json_check_fail(err, path, f->name, "field \"%s\" must be %s", f->name, expected);
        if (f->max && (long long)json_array_size(v) > f->max)
            return json_check_fail(err, path, f->name, "field \"%s\" has more than %lld items", f->name, f->max);
        return 0;
    case JSON_CHECK_STRING_MAP: {
        if (!json_is_object(v))
            return json_check_fail(err, path, f->name, "field \"%s\" must be %s", f->name, expected);
        long long max = f->max ? f->max : 1000;
        if ((long long)json_object_size(v) > max)
            return json_check_fail(err, path, f->name, "field \"%s\" has more than %lld entries", f->name, max);
        const char *key;
        json_t *item;
        json_object_foreach((json_t *)v, key, item)
        {
            if (!json_is_string(item) || json_string_length(item) > 65536) {
                char sub[160];
                snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", f->name);
                return json_check_fail(err, sub, key, "field \"%s.%s\" must be a string", f->name, key);
            }
        }
        return 0;
    }
    }
    return json_check_fail(err, path, f->name, "field \"%s\" has an unknown kind", f->name);
}

int json_check_object(const json_t *value, const char *path, const struct json_check_field *fields, size_t count,
                      bool partial, struct json_check_error *err)
{
    if (!json_is_object(value))
        return json_check_fail(err, path, NULL, "%s%s must be a JSON object", *path ? "field " : "the body", path);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)value, key, v)
    {
        const struct json_check_field *f = NULL;
        for (size_t i = 0; i < count && !f; i++)
            if (strcmp(fields[i].name, key) == 0)
                f = &fields[i];
        if (!f)
            return json_check_fail(err, path, key, "unknown field \"%s\"", key);
        if (json_is_null(v)) {
            if (f->flags & JSON_CHECK_NULLABLE)
                continue;
            return json_check_fail(err, path, key, "field \"%s\" must not be null", key);
        }
        if (json_check_value(v, f, path, err) < 0)
            return -1;
    }
    if (!partial)
        for (size_t i = 0; i < count; i++)
            if ((fields[i].flags & JSON_CHECK_REQUIRED) && !json_object_get(value, fields[i].name))
                return json_check_fail(err, path, fields[i].name, "missing field \"%s\"", fields[i].name);
    return 0;
}
