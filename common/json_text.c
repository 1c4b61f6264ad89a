/* json_text.c — JSON written as text (see json_text.h). */
#include "common/json_text.h"

#include <stdlib.h>
#include <string.h>

/* Room for n more bytes and the NUL; false (and failed) when it cannot grow. */
static bool json_text_reserve(struct json_text *t, size_t n)
{
    if (t->failed)
        return false;
    if (t->len + n + 1 <= t->cap)
        return true;
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->len + n + 1) {
        if (cap > ((size_t)-1) / 2) {
            t->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *grown = realloc(t->data, cap);
    if (!grown) {
        t->failed = true;
        return false;
    }
    t->data = grown;
    t->cap = cap;
    return true;
}

void json_text_raw(struct json_text *t, const char *s, size_t len)
{
    if (!json_text_reserve(t, len))
        return;
    memcpy(t->data + t->len, s, len);
    t->len += len;
    t->data[t->len] = '\0';
}

void json_text_cstr(struct json_text *t, const char *s) { json_text_raw(t, s, strlen(s)); }

/* The escape of byte c: 0 when it is copied as is, 'u' for \u00XX, else the letter after '\'. */
static char json_text_escape_of(unsigned char c)
{
    static const char named[32] = {['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
    if (c == '"' || c == '\\')
        return (char)c;
    if (c < 0x20)
        return named[c] ? named[c] : 'u';
    return 0;
}

void json_text_string(struct json_text *t, const char *s, size_t len)
{
    /* At most 6 bytes per input byte (\u00XX) and the quotes. */
    if (len > ((size_t)-1 - 2) / 6 || !json_text_reserve(t, 6 * len + 2)) {
        t->failed = true;
        return;
    }
    static const char hex[] = "0123456789abcdef";
    char *out = t->data + t->len;
    *out++ = '"';
    size_t run = 0; /* bytes before i copied as they are */
    for (size_t i = 0; i < len; i++) {
        char e = json_text_escape_of((unsigned char)s[i]);
        if (!e)
            continue;
        memcpy(out, s + run, i - run);
        out += i - run;
        run = i + 1;
        *out++ = '\\';
        *out++ = e;
        if (e == 'u') {
            unsigned char c = (unsigned char)s[i];
            memcpy(out, "00", 2);
            out[2] = hex[c >> 4];
            out[3] = hex[c & 15];
            out += 4;
        }
    }
    memcpy(out, s + run, len - run);
    out += len - run;
    *out++ = '"';
    *out = '\0';
    t->len = (size_t)(out - t->data);
}

char *json_text_take(struct json_text *t)
{
    char *text = t->failed ? NULL : t->data;
    if (t->failed)
        free(t->data);
    memset(t, 0, sizeof *t);
    return text;
}

void json_text_free(struct json_text *t)
{
    free(t->data);
    memset(t, 0, sizeof *t);
}
