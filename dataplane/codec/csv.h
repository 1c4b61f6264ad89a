/* csv.h — CSV records (RFC 4180 with a chosen delimiter and quote character) to JSON objects of
 * a schema and back, for the filesystem connector.
 *
 * Reading: a record ends at a line end outside quotes ("\n", "\r\n"); a quoted field may hold
 * the delimiter, line ends and the quote doubled. Its fields go to the schema's columns in
 * order: an empty unquoted field is null (an empty string for a STRING column), BIGINT, DOUBLE
 * and DECIMAL columns take a number, BOOLEAN true or false (any case), STRING, TIMESTAMP and
 * DATE columns any text (the JSON decoder parses timestamps and dates from it).
 *
 * Writing: a JSON object's members in the schema's order; null as an empty field, strings
 * quoted when they hold the delimiter, the quote, a line end or begin or end with a space. */
#ifndef SLUICE_DATAPLANE_CODEC_CSV_H
#define SLUICE_DATAPLANE_CODEC_CSV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "dataplane/codec/json_encode.h"
#include "dataplane/value.h"

#define CSV_MAX_FIELDS 1024

struct csv_dialect {
    char delimiter; /* ',' */
    char quote;     /* '"'; '\0': no quoting */
};

/* A field of a record: s[0..len) as it is in the input (a quoted field without its quotes, with
 * its quotes still doubled when doubled is set). */
struct csv_field {
    const char *s;
    size_t len;
    bool quoted, doubled;
};

/* Splits the record at the start of buf[0..len) into fields[0..*nfields). at_eof: the input
 * ends at len (a last record without a line end is complete). Returns 1 with *consumed (the
 * record and its line end), 0 when the record is not complete in buf yet, or -1 with err and
 * *consumed (the rest of the line, so the caller can go on after it) when it is malformed: more
 * than max fields, text after a closing quote, or a quote still open at the end. *lines: the
 * line ends it consumed. */
int csv_split(const struct csv_dialect *d, const char *buf, size_t len, bool at_eof, struct csv_field *fields, int max,
              int *nfields, size_t *consumed, int *lines, char *err, size_t errlen);

/* Whether the record holds nothing but blanks (a single empty unquoted field of spaces). */
bool csv_blank(const struct csv_field *fields, int n);

/* The fields as a JSON object of schema s (one field per column, in order) appended to out:
 * 0, or -1 with err saying which column is wrong (or that the count is). */
int csv_to_json(const struct csv_dialect *d, const struct schema *s, const struct csv_field *fields, int n,
                struct json_buf *out, char *err, size_t errlen);

/* One value as a CSV field appended to out (no delimiter): null empty, strings quoted when
 * needed, numbers and booleans as JSON writes them. -1 on out of memory. */
int csv_put_value(const struct csv_dialect *d, const json_t *v, struct json_buf *out);

#endif
