/* json_text.h — JSON written as text into a growing buffer: raw pieces (numbers, keys, JSON
 * that is valid already) and strings, quoted and escaped.
 *
 * For bodies made of values that are text already (a database row's columns): appending them
 * costs a copy and a scan, where building jansson values first costs an allocation per value.
 *
 * A json_text starts zeroed ({0}). An append that cannot grow the buffer marks it failed and
 * later appends do nothing; json_text_take() then returns NULL. */
#ifndef SLUICE_COMMON_JSON_TEXT_H
#define SLUICE_COMMON_JSON_TEXT_H

#include <stdbool.h>
#include <stddef.h>

struct json_text {
    char *data; /* NUL-terminated after any append; owned */
    size_t len, cap;
    bool failed;
};

/* Appends s[0..len) unchanged. */
void json_text_raw(struct json_text *t, const char *s, size_t len);
/* Appends the NUL-terminated s unchanged. */
void json_text_cstr(struct json_text *t, const char *s);
/* Appends s[0..len) as a JSON string: quoted, with '"', '\\' and control bytes escaped (\n,
 * \t, ... or \u00XX). Other bytes are copied: s must be UTF-8. */
void json_text_string(struct json_text *t, const char *s, size_t len);
/* The text (malloc'd, NUL-terminated; the caller frees it), or NULL when an append failed or
 * nothing was appended. t is empty afterwards. */
char *json_text_take(struct json_text *t);
/* Releases the buffer; t is empty afterwards. */
void json_text_free(struct json_text *t);

#endif
