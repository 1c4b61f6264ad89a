/* postgres_sink.h — the PostgreSQL sink connector (libpq): a stream's records become rows of an
 * existing table, written in batches, one transaction per flush.
 *
 * Properties (a connection's "properties", secrets merged in):
 *   url          required: a libpq URI, postgresql://user@host:port/db?sslmode=...
 *   password     the password (normally a secret ref); overrides one in the url
 *   table        required: the table, optionally schema-qualified; it must exist
 *   mode         insert (default) | upsert: INSERT ... ON CONFLICT (primary_key) DO UPDATE
 *   primary_key  upsert only, required there: comma-separated key columns (a unique index)
 *   connector    accepted and ignored
 * The worker adds "__schema" (the stream's schema as JSON): each field maps to the column of
 * the same name (a field the table lacks is an error at start), typed as the schema says:
 * BIGINT → int8, DOUBLE → float8, BOOLEAN → bool, TIMESTAMP → timestamptz (UTC), STRING →
 * whatever the column is (text, varchar, jsonb, uuid ...); a missing or null field is NULL.
 * Columns that are not fields keep their defaults.
 *
 * Writes: append decodes the record and buffers its row; flush (and any checkpoint) writes the
 * buffered rows in one transaction of multi-row INSERTs with typed parameters. In upsert mode a
 * batch keeps only the last row of each key (the same result, and one statement may not touch
 * a row twice). A failed flush names the record (its position in this run's output and its
 * text) and the server's message. A connection the server closed is reopened once per flush.
 * Delivery is at-least-once: rows written after the last checkpoint are written again after a
 * crash (insert mode may then hold duplicates; upsert mode converges to each key once:
 * effectively exactly-once). There is no truncate.
 *
 * Writers are owned by the caller and released with close_writer. */
#ifndef SLUICE_DATAPLANE_CONNECTORS_POSTGRES_SINK_H
#define SLUICE_DATAPLANE_CONNECTORS_POSTGRES_SINK_H

#include "common/arena.h"
#include "dataplane/codec/json_encode.h"
#include "dataplane/stream.h"
#include "dataplane/value.h"

extern const struct stream_backend postgres_stream_backend;

/* The text PostgreSQL reads for v as a parameter, NUL-terminated, in arena a (or static):
 * NULL for a null value; BOOLEAN true/false; BIGINT decimal; DOUBLE the shortest round-trip
 * form or NaN / Infinity / -Infinity; TIMESTAMP "yyyy-MM-dd HH:mm:ss.SSS+00"; STRING its
 * bytes. *oom is set when the arena fails. */
const char *postgres_value_text(const struct value *v, struct arena *a, int *oom);

/* The parameter type OID a field of type t is sent as (0: let the column decide). */
unsigned int postgres_type_oid(enum value_type t);

/* Appends "name" as a quoted identifier ("" doubled). -1 on out of memory. */
int postgres_quote_ident(struct json_buf *out, const char *name);

/* Appends the INSERT of nrows rows of columns[ncolumns] into table (already a quoted or safe
 * name) with parameters $1.. row by row; with nkey > 0 (upsert) ON CONFLICT on the columns
 * key[nkey] (indexes into columns) DO UPDATE SET the others = EXCLUDED (DO NOTHING when all are
 * keys). -1 on out of memory. */
int postgres_insert_sql(struct json_buf *out, const char *table, char *const *columns, int ncolumns, const int *key,
                        int nkey, int nrows);

/* Upsert batches: of rows[0..nrows) (texts row-major, ncolumns each, NULL = null) keeps the
 * last row of each key (columns key[nkey]; a row with a null key column is kept as it is) and
 * writes the indexes of the kept rows, in order, to keep. Returns how many, or -1 on out of
 * memory (a is the scratch arena). */
int postgres_dedupe(const char *const *texts, int nrows, int ncolumns, const int *key, int nkey, int *keep,
                    struct arena *a);

#endif
