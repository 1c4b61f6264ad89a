/* json_check.h — validating request JSON against a table of expected fields.
 *
 * A table row names a field, its kind, whether it is required or may be null, and bounds
 * (integer range, or string length). json_check_object() rejects what a strict API rejects:
 * a value that is not an object, an unknown field, a missing required field, a wrong type, an
 * out-of-range number, a string too long, a value not in an enum. The first problem found is
 * reported with the dotted path of the field (e.g. "schema.fields[2].type").
 *
 * Ownership: nothing here allocates; values are borrowed. */
#ifndef SLUICE_COMMON_JSON_CHECK_H
#define SLUICE_COMMON_JSON_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum json_check_kind {
    JSON_CHECK_STRING, /* string, length in [min, max] (max 0: 65536) */
    JSON_CHECK_NAME,   /* string that json_check_name() accepts */
    JSON_CHECK_INT,    /* integer in [min, max] */
    JSON_CHECK_BOOL,
    JSON_CHECK_ENUM,       /* string equal to one of values */
    JSON_CHECK_OBJECT,     /* any object (checked further by the caller) */
    JSON_CHECK_ARRAY,      /* array with at most max items (max 0: no limit) */
    JSON_CHECK_STRING_MAP, /* object of string values, at most max entries (max 0: 1000) */
};

#define JSON_CHECK_REQUIRED 1u
#define JSON_CHECK_NULLABLE 2u

struct json_check_field {
    const char *name;
    enum json_check_kind kind;
    unsigned flags;
    long long min, max;
    const char *const *values; /* JSON_CHECK_ENUM: NULL-terminated */
};

struct json_check_error {
    char field[160];   /* dotted path of the offending field; "" for the whole value */
    char message[320]; /* full sentence-less message, lower case */
};

/* Checks value against fields. path prefixes field names in errors ("" at the top). With
 * partial, no field is required (PATCH). Returns 0, or -1 with *err filled. */
int json_check_object(const json_t *value, const char *path, const struct json_check_field *fields, size_t count,
                      bool partial, struct json_check_error *err);

/* A resource name: 1 to 63 characters, a letter first, then letters, digits, '_' or '-'.
 * Returns true when s is one. */
bool json_check_name(const char *s);

#endif
