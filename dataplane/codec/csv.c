/* csv.c — CSV records to JSON and values to CSV fields (see csv.h). */
#include "dataplane/codec/csv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- splitting */

struct csv_scan {
    const struct csv_dialect *d;
    const char *buf;
    size_t len, i;
    int lines;
};

/* The end of the line from sc->i (past its '\n', or len), counting it. */
static size_t csv_skip_line(struct csv_scan *sc)
{
    const char *nl = memchr(sc->buf + sc->i, '\n', sc->len - sc->i);
    if (nl)
        sc->lines++;
    return nl ? (size_t)(nl - sc->buf) + 1 : sc->len;
}

/* A quoted field from sc->i (at its opening quote) into f: 1 at its closing quote (sc->i past
 * it), 0 when buf ends inside it. */
static int csv_quoted(struct csv_scan *sc, struct csv_field *f)
{
    size_t start = ++sc->i;
    f->quoted = true;
    f->doubled = false;
    while (sc->i < sc->len) {
        char c = sc->buf[sc->i];
        if (c == sc->d->quote) {
            if (sc->i + 1 < sc->len && sc->buf[sc->i + 1] == sc->d->quote) {
                f->doubled = true;
                sc->i += 2;
                continue;
            }
            if (sc->i + 1 == sc->len)
                return 0; /* a doubled quote may follow */
            f->s = sc->buf + start;
            f->len = sc->i - start;
            sc->i++;
            return 1;
        }
        if (c == '\n')
            sc->lines++;
        sc->i++;
    }
    return 0;
}

int csv_split(const struct csv_dialect *d, const char *buf, size_t len, bool at_eof, struct csv_field *fields, int max,
              int *nfields, size_t *consumed, int *lines, char *err, size_t errlen)
{
    struct csv_scan sc = {d, buf, len, 0, 0};
    int n = 0;
    for (;;) {
        if (n == max) {
            snprintf(err, errlen, "more than %d fields", max);
            goto bad;
        }
        struct csv_field *f = &fields[n++];
        if (d->quote && sc.i < len && buf[sc.i] == d->quote) {
            int lines_before = sc.lines;
            if (csv_quoted(&sc, f) == 0) {
                if (!at_eof)
                    return 0;
                sc.lines = lines_before;
                snprintf(err, errlen, "a quoted field is not closed");
                sc.i = 0;
                goto bad;
            }
            if (sc.i < len && buf[sc.i] == '\r' && sc.i + 1 < len && buf[sc.i + 1] == '\n')
                sc.i++;
            if (sc.i < len && buf[sc.i] != d->delimiter && buf[sc.i] != '\n') {
                snprintf(err, errlen, "text after the closing quote of field %d", n);
                goto bad;
            }
        } else {
            size_t start = sc.i;
            while (sc.i < len && buf[sc.i] != d->delimiter && buf[sc.i] != '\n')
                sc.i++;
            *f = (struct csv_field){.s = buf + start, .len = sc.i - start};
            if (sc.i < len && buf[sc.i] == '\n' && f->len && f->s[f->len - 1] == '\r')
                f->len--;
        }
        if (sc.i == len && !at_eof)
            return 0;
        if (sc.i == len || buf[sc.i] == '\n') {
            *consumed = sc.i < len ? sc.i + 1 : len;
            *lines = sc.lines + (sc.i < len);
            *nfields = n;
            return 1;
        }
        sc.i++; /* the delimiter */
    }
bad:
    if (!at_eof && !memchr(buf + sc.i, '\n', len - sc.i))
        return 0; /* judge the line once it is whole */
    *consumed = csv_skip_line(&sc);
    *lines = sc.lines;
    return -1;
}

bool csv_blank(const struct csv_field *fields, int n)
{
    if (n != 1 || fields[0].quoted)
        return false;
    for (size_t i = 0; i < fields[0].len; i++)
        if (fields[0].s[i] != ' ' && fields[0].s[i] != '\t' && fields[0].s[i] != '\r')
            return false;
    return true;
}

/* ---------------------------------------------------------------- to JSON */

/* f's text (its doubled quotes halved) as a JSON string. */
static int csv_put_text(const struct csv_dialect *d, const struct csv_field *f, struct json_buf *out)
{
    if (!f->doubled)
        return json_buf_put_string_lossy(out, f->s, f->len);
    char *t = malloc(f->len + 1);
    if (!t)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < f->len; i++) {
        t[n++] = f->s[i];
        if (f->s[i] == d->quote && i + 1 < f->len && f->s[i + 1] == d->quote)
            i++;
    }
    int rc = json_buf_put_string_lossy(out, t, n);
    free(t);
    return rc;
}

static int csv_put_raw(struct json_buf *out, const char *s, size_t len)
{
    if (json_buf_reserve(out, len) != 0)
        return -1;
    memcpy(out->data + out->len, s, len);
    out->len += len;
    return 0;
}

/* Whether s[0..len) is a JSON number (after trimming spaces, in *s, *len). */
static bool csv_number(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
    char tmp[64];
    if (*len == 0 || *len >= sizeof tmp)
        return false;
    memcpy(tmp, *s, *len);
    tmp[*len] = '\0';
    size_t i = tmp[0] == '-';
    if (tmp[i] < '0' || tmp[i] > '9' || (tmp[i] == '0' && tmp[i + 1] >= '0' && tmp[i + 1] <= '9'))
        return false;
    char *end;
    errno = 0;
    strtod(tmp, &end);
    return *end == '\0' && errno != ERANGE;
}

/* One field as the JSON value of a column of type t: 0, or -1 with err. */
static int csv_put_field(const struct csv_dialect *d, const struct field *col, const struct csv_field *f,
                         struct json_buf *out, char *err, size_t errlen)
{
    enum value_type t = value_type_base(col->type);
    if (f->len == 0 && !f->quoted && t != VT_STRING)
        return csv_put_raw(out, "null", 4);
    const char *s = f->s;
    size_t len = f->len;
    switch (t) {
    case VT_BIGINT:
    case VT_DOUBLE:
    case VT_DECIMAL:
        if (f->doubled || !csv_number(&s, &len)) {
            snprintf(err, errlen, "column \"%s\": \"%.*s\" is not a number", col->name,
                     (int)(f->len > 60 ? 60 : f->len), f->s);
            return -1;
        }
        return csv_put_raw(out, s, len);
    case VT_BOOLEAN:
        if (len == 4 && strncasecmp(s, "true", 4) == 0)
            return csv_put_raw(out, "true", 4);
        if (len == 5 && strncasecmp(s, "false", 5) == 0)
            return csv_put_raw(out, "false", 5);
        snprintf(err, errlen, "column \"%s\": \"%.*s\" is not true or false", col->name,
                 (int)(f->len > 60 ? 60 : f->len), f->s);
        return -1;
    default:
        return csv_put_text(d, f, out);
    }
}

int csv_to_json(const struct csv_dialect *d, const struct schema *s, const struct csv_field *fields, int n,
                struct json_buf *out, char *err, size_t errlen)
{
    int ncols = s->nfields - (s->proctime_column > 0); /* a PROCTIME() column is not in the file */
    if (n != ncols) {
        snprintf(err, errlen, "the line has %d field%s, the table %d column%s", n, n == 1 ? "" : "s", ncols,
                 ncols == 1 ? "" : "s");
        return -1;
    }
    if (csv_put_raw(out, "{", 1) != 0)
        goto oom;
    for (int c = 0, k = 0; c < s->nfields; c++) {
        if (c + 1 == s->proctime_column)
            continue;
        if ((k > 0 && csv_put_raw(out, ",", 1) != 0) ||
            json_buf_put_string(out, s->fields[c].name, strlen(s->fields[c].name)) != 0 || csv_put_raw(out, ":", 1))
            goto oom;
        err[0] = '\0';
        if (csv_put_field(d, &s->fields[c], &fields[k++], out, err, errlen) != 0)
            return err[0] ? -1 : (snprintf(err, errlen, "out of memory"), -1);
    }
    if (csv_put_raw(out, "}", 1) == 0)
        return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* ---------------------------------------------------------------- from JSON */

static bool csv_needs_quotes(const struct csv_dialect *d, const char *s, size_t len)
{
    if (len && (s[0] == ' ' || s[len - 1] == ' '))
        return true;
    for (size_t i = 0; i < len; i++)
        if (s[i] == d->delimiter || (d->quote && s[i] == d->quote) || s[i] == '\n' || s[i] == '\r')
            return true;
    return false;
}

int csv_put_value(const struct csv_dialect *d, const json_t *v, struct json_buf *out)
{
    char num[64];
    switch (json_typeof(v)) {
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (!d->quote || !csv_needs_quotes(d, s, len))
            return csv_put_raw(out, s, len);
        if (json_buf_reserve(out, 2 * len + 2) != 0)
            return -1;
        out->data[out->len++] = d->quote;
        for (size_t i = 0; i < len; i++) {
            if (s[i] == d->quote)
                out->data[out->len++] = d->quote;
            out->data[out->len++] = s[i];
        }
        out->data[out->len++] = d->quote;
        return 0;
    }
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return csv_put_raw(out, num, strlen(num));
    case JSON_REAL:
        return json_buf_put_double(out, json_real_value(v));
    case JSON_TRUE:
        return csv_put_raw(out, "true", 4);
    case JSON_FALSE:
        return csv_put_raw(out, "false", 5);
    case JSON_NULL:
        return 0;
    default: {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        json_t *s = text ? json_string(text) : NULL;
        int rc = s ? csv_put_value(d, s, out) : -1;
        json_decref(s);
        free(text);
        return rc;
    }
    }
}
