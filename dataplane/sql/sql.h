/* sql.h — the dataplane's SQL front end and executor: pipeline scripts (CREATE TABLE/STREAM,
 * INSERT INTO ... SELECT), a compiler from one INSERT statement to a plan, and the plan's
 * row-at-a-time executor with event-time windows and aggregates.
 *
 * Ownership: everything a function returns through an out-parameter belongs to the caller and
 * is released with the matching *_free(); everything returned by a plan_*() accessor belongs to
 * the plan and lives until plan_free(). Errors: functions return 0 or -1 and fill *err (when
 * err is not NULL) with a 1-based line/column (0 when unknown) and a lower-case message. */
#ifndef SLUICE_DATAPLANE_SQL_SQL_H
#define SLUICE_DATAPLANE_SQL_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/value.h"

struct arena;

struct sql_error {
    int line, column; /* 1-based; 0 when unknown */
    char message[256];
};

/* Formats err as "line L, column C: message" (or just the message when line is 0) into buf. */
void sql_error_format(const struct sql_error *err, char *buf, size_t size);

/* ---- Scripts ---------------------------------------------------------------------------
 * What a pipeline file for `sluiced run` holds, Flink style:
 *   CREATE TABLE|STREAM name (col TYPE, ..., WATERMARK FOR ts AS ts - INTERVAL '4' SECOND)
 *     [PARTITIONED BY (col, ...)] [WITH ('connector' = 'datagen', 'key' = 'value', ...)];
 *   CREATE [TEMPORARY] VIEW name AS SELECT ...;
 *   SET 'table.exec.state.ttl' = '12 h';   SET 'table.exec.source.idle-timeout' = '5 s';
 *   SET 'state.max-bytes' = '64 mb';
 *   INSERT INTO name SELECT ...;
 *   EXPLAIN INSERT INTO name SELECT ...;   EXPLAIN SELECT ...;
 * (PARTITIONED BY becomes the option 'partition-by' = 'col,col', the filesystem sink's.)
 * sql_script_parse() fills stream definitions (name, schema, options) and the INSERT
 * statements' text, with their start line/column in the file (insert_line, insert_column), so
 * that errors from plan_compile() on that text can be shifted back into the file with
 * sql_error_shift(). A script may hold no INSERT (ninserts 0): the caller decides whether
 * that is an error. Views (CREATE [TEMPORARY] VIEW name AS SELECT ...;) go into the text of
 * every INSERT after them: that text then starts at the first view, with the views before the
 * INSERT and the INSERT where they are in the file and everything else blanked, which
 * plan_compile reads as views (insert_line/insert_column: of the first view). On error *out is
 * left empty (nothing to free). */
struct sql_option {
    char *key, *value; /* owned */
    int line, column;  /* of the key in the file */
};
/* A column `name TYPE METADATA [FROM 'key'] [VIRTUAL]` (Flink's): the connector fills it from
 * the record's metadata under key (the column's name without FROM), not from the value, and a
 * sink takes it out of the value (VIRTUAL: read-only, a sink ignores it). */
struct sql_metadata_column {
    int field;        /* index into the stream's schema */
    char *key;        /* owned */
    bool is_virtual;  /* VIRTUAL */
    int line, column; /* of the column's name in the file */
};
struct sql_stream_def {
    char *name;                 /* owned */
    struct schema schema;       /* owned: free with schema_free_fields() */
    struct sql_option *options; /* owned */
    int noptions;
    struct sql_metadata_column *metadata; /* owned */
    int nmetadata;
};
/* CREATE [TEMPORARY] VIEW name AS query: where its text is in the file (start, end: byte
 * offsets, end past its ';'; line, column of CREATE). */
struct sql_view {
    char *name; /* owned */
    size_t start, end;
    int line, column;
};
/* CREATE [TEMPORARY] FUNCTION [IF NOT EXISTS] name [RETURNS type] AS 'lua source' LANGUAGE LUA
 * (udf.h says what the Lua source returns; the result type is STRING when not declared). */
struct sql_function_def {
    char *name;   /* owned */
    char *source; /* owned: the Lua text */
    enum value_type returns;
    int aggregate;    /* the source returns an aggregate's table (set by sql_function_check) */
    int merge;        /* an aggregate whose table has merge (session windows need it) */
    int declared;     /* 1: its facts (aggregate, merge, returns) as stored after a check done
                       * elsewhere (sql_function_declare); source is NULL, and a plan compiled with
                       * it loads no Lua and can be explained or checked but not run */
    int line, column; /* of CREATE */
};
/* Loads d->source in a sandbox as a plan would: fills d->aggregate, or returns -1 with err
 * (no position) saying what is wrong with the Lua source. sql_script_parse checks each
 * CREATE FUNCTION so; definitions built otherwise (the worker's, from the API) must be
 * checked before plan_compile sees them. */
int sql_function_check(struct sql_function_def *d, struct sql_error *err);
/* A definition from its parts as the API keeps them: name, the RETURNS type as SQL text
 * ("BIGINT"), the Lua source; checked as CREATE FUNCTION in a file is. Returns 0 with *out
 * filled (free with sql_function_def_free), or -1 with err (its position 0). */
int sql_function_define(const char *name, const char *returns, const char *source, struct sql_function_def *out,
                        struct sql_error *err);
/* A definition from the facts a sandboxed check found and stored (name, RETURNS type as SQL
 * text, aggregate and merge): no Lua is loaded or run, so the api and the controlplane plan
 * with it without running tenant code (d->declared). Returns 0 with *out filled (free with
 * sql_function_def_free), or -1 with err (its position 0): a bad name or type. */
int sql_function_declare(const char *name, const char *returns, int aggregate, int merge, struct sql_function_def *out,
                         struct sql_error *err);
/* Cell col (0 name, 1 returns, 2 source) of row i of rows, as the API keeps functions. */
typedef const char *(*sql_function_cell)(const void *rows, int i, int col);
/* The n rows of rows defined with sql_function_define into *defs (free with
 * sql_function_defs_free), as many as load: one that does not is left out (a call to it is
 * then an unknown function). Returns how many, or -1 when out of memory (*defs NULL). */
int sql_functions_define(int n, sql_function_cell cell, const void *rows, struct sql_function_def **defs);
/* The n rows of rows declared with sql_function_declare into *defs (free with
 * sql_function_defs_free): cell col 0 name, 1 returns, 2 kind ("scalar" or "aggregate"), 3
 * merge ("t" or "f"). A row of another kind (not checked yet: NULL or "") or that does not
 * declare is left out. Returns how many, or -1 when out of memory (*defs NULL). */
int sql_functions_declare(int n, sql_function_cell cell, const void *rows, struct sql_function_def **defs);
/* Frees d's strings; d itself is not freed. NULL is a no-op. */
void sql_function_def_free(struct sql_function_def *d);
/* Frees the n definitions of defs (their strings) and the array. NULL is a no-op. */
void sql_function_defs_free(struct sql_function_def *defs, size_t n);
struct sql_script {
    struct sql_stream_def *streams;
    int nstreams;
    struct sql_function_def *functions; /* for plan_options.functions */
    int nfunctions;
    struct sql_view *views;
    int nviews;
    int64_t state_ttl_ms;           /* SET 'table.exec.state.ttl' = '12 h'; 0 when not set */
    int64_t source_idle_timeout_ms; /* SET 'table.exec.source.idle-timeout' = '5 s'; 0 when not set */
    int64_t state_max_bytes;        /* SET 'state.max-bytes' = '64 mb'; 0 when not set */
    /* SET 'table.exec.mini-batch.enabled' = 'true' (1) or 'false' (-1); 0 when not set */
    int minibatch_enabled;
    int64_t minibatch_latency_ms; /* SET 'table.exec.mini-batch.allow-latency' = '2 s'; 0 when not set */
    int64_t minibatch_size;       /* SET 'table.exec.mini-batch.size' = '50000'; 0 when not set */
    char **inserts;               /* owned; each NUL-terminated, without the trailing ';' */
    int *insert_line;
    int *insert_column;
    int *insert_explain; /* 1: that statement is EXPLAIN INSERT ... or EXPLAIN SELECT ... */
    int ninserts;
};
int sql_script_parse(const char *text, struct sql_script *out, struct sql_error *err);
/* Frees what sql_script_parse() filled; s itself is not freed. NULL is a no-op. */
void sql_script_free(struct sql_script *s);
/* Parses a duration as Flink's options take it ("1000", "30 s", "12h", "1 day") into
 * milliseconds. Returns 0, or -1 when s is not one. */
int sql_parse_duration(const char *s, int64_t *ms);
/* Parses a memory size as Flink's MemorySize takes it ("1048576", "64 mb", "1g", "512 kb";
 * units are powers of 1024) into bytes. Returns 0, or -1 when s is not one. */
int sql_parse_bytes(const char *s, int64_t *bytes);
/* Value of option key (case-insensitive) of a stream, or NULL. Borrowed. */
const char *sql_stream_option(const struct sql_stream_def *d, const char *key);
/* Frees s->fields and their names and sets s->fields NULL, nfields 0; s itself is not freed. */
void schema_free_fields(struct schema *s);
/* Deep copy of src into *dst (free with schema_free_fields()). Returns 0 or -1 (no memory). */
int schema_copy(struct schema *dst, const struct schema *src);
/* Turns an error on text that starts at (line, column) of a file into one on the file. */
void sql_error_shift(struct sql_error *err, int line, int column);

/* ---- Plans -----------------------------------------------------------------------------*/

/* Catalog: the planner asks for a stream's schema by name (NULL = unknown stream). The
 * schema is borrowed and must stay valid during plan_compile() only (the plan copies it). */
typedef const struct schema *(*sql_catalog_fn)(void *ctx, const char *stream_name);

struct plan; /* compiled INSERT INTO ... SELECT ...: a tree of operators with their state */

/* How a plan is compiled. Zero-initialised: an append-only sink, state kept forever. */
struct plan_options {
    /* The sink takes updating results (-U, +U, -D rows) even without a PRIMARY KEY in the
     * catalog (a sink the catalog declares with one always does: an upsert stream). When 0
     * and the sink has no key, a query whose result is updating (a GROUP BY without a window, SELECT
     * DISTINCT, ...) is a compile error naming the operator that makes it updating, as
     * Flink's "doesn't support consuming update changes produced by node X". */
    int sink_accepts_updates;
    /* Idle-state TTL (Flink's table.exec.state.ttl): a group of a GROUP BY without a window
     * that no row touched for this long (processing time) is dropped; a later row starts it
     * anew (+I). 0: kept forever. */
    int64_t state_ttl_ms;
    /* A plan reading several streams leaves out of its watermark a stream that gave no row for
     * this long (processing time; Flink's table.exec.source.idle-timeout), so that a quiet
     * stream does not hold back the others. 0: a stream counts however long it is quiet. */
    int64_t source_idle_timeout_ms;
    /* Mini-batch (Flink's table.exec.mini-batch.*): with minibatch_size > 0 a non-windowed
     * GROUP BY folds its rows into their groups as they come but emits one change per changed
     * group (-U/+U, +I or -D) per batch; the batch goes out after minibatch_size rows, when its
     * first row is minibatch_latency_ms old (processing time, at plan_tick), before the
     * idle-state TTL drops one of its groups, at plan_finish and at
     * plan_flush (call it before plan_snapshot: a snapshot holds no batch). The final result
     * is the same as without. A row that fails HAVING or the SELECT list at a flush is dropped and
     * counted (eval_errors), as at a window's firing. 0: off, one change per row. */
    int64_t minibatch_size;
    int64_t minibatch_latency_ms;
    /* Processing time in milliseconds for the TTL and the idle timeout; NULL: the wall clock. */
    int64_t (*clock_ms)(void *ctx);
    void *clock_ctx;
    /* User-defined functions the query may call (borrowed during plan_compile only; the plan
     * keeps its own copies of what it uses). */
    const struct sql_function_def *functions;
    int nfunctions;
};

/* Compiles one INSERT INTO ... SELECT ... statement (a trailing ';' is allowed), after any
 * number of CREATE [TEMPORARY] VIEW name AS query; statements (a pipeline file's views, see
 * sql_script). The query may hold subqueries in FROM, WITH queries (INSERT INTO s WITH a AS
 * (...) SELECT ...) and UNION ALL; FROMs may read several streams (plan_nsources), directly
 * or through them. opts NULL: the defaults. Returns a new plan (free with plan_free) or NULL
 * with *err filled. */
struct plan *plan_compile_with(const char *sql, sql_catalog_fn catalog, void *ctx, const struct plan_options *opts,
                               struct sql_error *err);
/* plan_compile_with(sql, catalog, ctx, NULL, err): for an append-only sink. */
struct plan *plan_compile(const char *sql, sql_catalog_fn catalog, void *ctx, struct sql_error *err);
void plan_free(struct plan *p); /* plan_free(NULL) is a no-op */
/* The streams a plan reads (FROM, directly or through views, subqueries and joins), in the
 * order the query names them first; at most PLAN_MAX_SOURCES. Source 0 is plan_source(). */
#define PLAN_MAX_SOURCES 16
int plan_nsources(const struct plan *p);
const char *plan_source_at(const struct plan *p, int i);
const struct schema *plan_source_schema(const struct plan *p, int i); /* copy of stream i's schema */
const unsigned char *plan_source_needed(const struct plan *p, int i); /* as plan_needed_fields */
const char *plan_source(const struct plan *p);                        /* first input stream, as the catalog knows it */
const char *plan_sink(const struct plan *p);                          /* output stream name */
const struct schema *plan_input_schema(const struct plan *p);         /* copy of the first source's schema */
/* Derived from the SELECT (names from aliases or columns, EXPR$n otherwise). When the sink is
 * in the catalog, its column count and types must match and its names are used. */
const struct schema *plan_output_schema(const struct plan *p);
/* Which input fields the plan reads: flags[i] != 0 for source field i (array of nfields,
 * owned by the plan). The decoder may leave the others VT_NULL. */
const unsigned char *plan_needed_fields(const struct plan *p);
/* 1 when the plan keeps state keyed by what rows hold (a window table function, a windowed or
 * non-windowed aggregate), so that it runs as one task. */
int plan_is_windowed(const struct plan *p);
/* 1 when the result is updating (it holds -U, +U or -D rows), 0 when append-only. */
int plan_is_updating(const struct plan *p);

/* ---- EXPLAIN ---------------------------------------------------------------------------
 * A statement may start with EXPLAIN: EXPLAIN INSERT INTO s SELECT ..., or EXPLAIN SELECT ...
 * (no sink: its result may be updating). plan_compile accepts both; plan_is_explain says so,
 * and the caller shows the plan (plan_explain) instead of running it. An EXPLAIN SELECT plan's
 * plan_sink() is "". */
int plan_is_explain(const struct plan *p);
/* One operator of the tree, from the sink (when there is one) down to the streams read
 * ("TableSourceScan(table=[bid])"); each after its parent, its inputs in the query's order. */
struct plan_operator {
    char *name;   /* owned: as changelog errors name it, "GroupAggregate(groupBy=[category])" */
    char *key;    /* owned: what its state is keyed by ("category", "a.id = b.id"), NULL: none */
    int parent;   /* index of the operator it feeds; -1: the top one */
    int depth;    /* 0: the top one */
    int updating; /* its output holds -U, +U, -D rows; 0: append-only (+I only) */
    int stateful; /* it keeps state (checkpointed; bounded by the idle-state TTL or watermark) */
};
struct plan_explain {
    struct plan_operator *ops; /* owned */
    int n;
    char *text; /* owned: the tree as lines "+- name, changelog=[...], state=[...]" */
};
/* Fills *out with p's tree (free with plan_explain_free). Returns 0, or -1 (out of memory; *out
 * left empty). Works on any compiled plan, EXPLAIN or not. */
int plan_explain(const struct plan *p, struct plan_explain *out);
/* The text of e's tree, malloc'd (plan_explain fills e->text with it); NULL: out of memory. */
char *plan_explain_format(const struct plan_explain *e);
/* Frees what plan_explain filled; e itself is not freed. NULL is a no-op. */
void plan_explain_free(struct plan_explain *e);

/* Emit callback: one output row laid out per plan_output_schema(), with its row kind (always
 * ROW_INSERT from an append-only plan); values valid only during the call. A -U or -D row
 * repeats the row emitted before that it takes back. Return 0 to continue, -1 to stop (the
 * error goes up as -1). */
typedef int (*plan_emit_fn)(void *ctx, enum row_kind kind, const struct value *row);

/* Feeds one input row (laid out per the source schema). Stateless plans emit 0 or 1 rows
 * (a window table function without GROUP BY: one per window of the row; UNION ALL: one per
 * branch); a GROUP BY without a window emits the change of the row's group (+I for a new
 * group, -U and +U when its result changed, -D when its last row was retracted); windowed aggregates
 * update state, advance the watermark from the stream's rowtime field (max event time seen -
 * delay) and emit every window whose end <= watermark. A row whose windows all fired already
 * (window_end <= watermark) is late: counted and dropped. A row whose event time is NULL or
 * beyond year 9999 is an evaluation error. Output rows of a fired window that cannot be
 * evaluated are dropped and counted in eval_errors (they belong to no single input). Returns 0,
 * or -1 with err filled when the row cannot be evaluated (division by zero, bad cast, ...) or
 * emit returned -1: the caller applies the pipeline's error policy. scratch is a per-batch
 * arena for temporary strings (reset by the caller between batches, never during a call). */
int plan_process(struct plan *p, const struct value *row, struct arena *scratch, plan_emit_fn emit, void *ctx,
                 struct sql_error *err);
/* plan_process for a row of stream `source` (0 .. plan_nsources() - 1). The plan's watermark
 * is the least of its streams' watermarks (see plan_options.source_idle_timeout_ms). */
int plan_process_source(struct plan *p, int source, const struct value *row, struct arena *scratch, plan_emit_fn emit,
                        void *ctx, struct sql_error *err);
/* Several tasks of a plan that keeps state by key split the work by key: each task reads every
 * record of every stream and processes those whose split column's value hashes to it
 * (value_hash(v, 0) % tasks == task), so rows that join, and every group or partition of a
 * stateful operator, meet in one task. A plan that joins streams splits by its join keys; a plan
 * over one stream by a key column of its aggregates, Top-N or OVER that keys all of them (GROUP BY
 * auction, window_start, window_end splits by auction). Fills cols[i] (plan_nsources entries)
 * with stream i's split column and returns 0; or -1 with why (a clause) when it cannot be split
 * so: it keeps no state by key, a join has no equality key on columns of its streams (a cross
 * join, a window join on the window only), or an aggregate, Top-N or OVER is not keyed by the
 * split column (a global aggregate, a key computed from columns, GROUP BY a above GROUP BY b). A
 * queried table (plan_set_queried) is not split: its cols[i] is -1, its lookup join needs no key,
 * and it does not count as a stream. */
int plan_split_columns(const struct plan *p, int *cols, char *why, size_t size);
/* A row of stream `source` that another task processes: only its event time counts (the
 * watermark, which may fire windows, and the idle timeout). Returns as plan_process_source. */
int plan_pass_source(struct plan *p, int source, const struct value *row, struct arena *scratch, plan_emit_fn emit,
                     void *ctx, struct sql_error *err);
/* plan_process_source for a row of kind `kind` (the record's, from a changelog or upsert
 * stream). Only a temporal join's table takes it (its -U, -D end a version or remove a row);
 * everything else takes every row as +I, as plan_process_source does. */
int plan_process_source_kind(struct plan *p, int source, enum row_kind kind, const struct value *row,
                             struct arena *scratch, plan_emit_fn emit, void *ctx, struct sql_error *err);
/* 1 when stream `source` is the table of a processing-time lookup join (FOR SYSTEM_TIME AS OF
 * a PROCTIME() column): the caller reads it to its end (as of the start) before giving the
 * plan any row of the other streams, so that the lookups see the whole table. */
int plan_source_preload(const struct plan *p, int source);
/* A lookup join's table that the caller queries per key instead of reading it (a postgres
 * table): fn gives the rows of the table (laid out per its schema) whose key columns
 * (plan_lookup_keys, in that order) equal keys, in arena a (valid while a is); 0, or -1 with
 * err filled. */
typedef int (*plan_lookup_fn)(void *ctx, const struct value *keys, struct arena *a, struct value **rows, int *nrows,
                              struct sql_error *err);
/* The columns of stream `source` (a lookup join's table) that the ON condition equates with the
 * left side, in key order, into cols[max]: how many, or -1 when one is not a plain column of it
 * (or the stream is no lookup join's table). */
int plan_lookup_keys(const struct plan *p, int source, int *cols, int max);
/* From now on the lookup join whose table is stream `source` asks fn instead of the stream's
 * rows (and the table is queried: plan_set_queried). */
void plan_set_lookup(struct plan *p, int source, plan_lookup_fn fn, void *ctx);
/* Stream `source`, a lookup join's table, is queried per key rather than read (a postgres
 * table; the API marks it so before it runs, the engine through plan_set_lookup): it has no
 * partitions to split, and its lookup join keeps no state, so such a join does not bind a
 * pipeline to one task. Each task of it looks up the rows of its own partitions, as Flink's
 * lookup join at any parallelism. Nothing when `source` is no lookup join's table. */
void plan_set_queried(struct plan *p, int source);
/* 1 when stream `source` is marked queried (plan_set_queried). */
int plan_source_queried(const struct plan *p, int source);
/* The streams the plan reads: plan_nsources() less the queried tables. */
int plan_read_sources(const struct plan *p);
/* 1 when the plan keeps state across rows (a window, an aggregate, Top-N, OVER, a join): then
 * its tasks must split its rows by key (plan_split_columns), not by partition. plan_is_windowed,
 * except that the lookup join of a queried table does not count (it keeps no state). */
int plan_is_stateful(const struct plan *p);
/* Stream `source` has no more rows (a bounded input read to its end): it no longer holds the
 * watermark back (Flink: a finished source's watermark is +infinity). */
void plan_source_ended(struct plan *p, int source);
/* Processing time passes: fires every processing-time window (a window table function over
 * a PROCTIME() column) that ended before the wall clock's current millisecond, as Flink's
 * processing-time timers do; the caller calls it while no row comes. A plan without such
 * windows does nothing. Returns 0, or -1 when emit returned -1 (err filled). */
int plan_tick(struct plan *p, struct arena *scratch, plan_emit_fn emit, void *ctx, struct sql_error *err);
/* Emits what the mini-batches of the plan hold (plan_options.minibatch_size); before a
 * checkpoint's plan_snapshot. Returns 0, or -1 when emit returned -1 (err filled). */
int plan_flush(struct plan *p, struct arena *scratch, plan_emit_fn emit, void *ctx, struct sql_error *err);
/* End of bounded input: fires every open window (in window-end order). Returns 0, or -1 when
 * emit returned -1. */
int plan_finish(struct plan *p, struct arena *scratch, plan_emit_fn emit, void *ctx);

struct plan_stats {
    uint64_t rows_in, rows_out, late_dropped, eval_errors;
    int64_t watermark_ms; /* INT64_MIN before the first row */
};
void plan_stats(const struct plan *p, struct plan_stats *out);
/* Bytes held by the state of non-windowed aggregates, Top-N and OVER operators (an estimate:
 * what they allocated, without the allocator's overhead); cheap enough to call per batch. */
size_t plan_state_bytes(const struct plan *p);
/* The kinds of the operators that hold state now, as Flink names them ("GroupAggregate",
 * "Rank", "OverAggregate"), comma-separated into buf (of size, at least 1); returns how many
 * operators hold state. */
int plan_state_operators(const struct plan *p, char *buf, size_t size);

/* Window/aggregate state, watermark and counters, for checkpoints: plan_snapshot returns a
 * malloc'd byte buffer (caller frees); plan_restore loads one into a freshly compiled plan of
 * the same SQL and schema (a snapshot from another plan is rejected with an error). */
int plan_snapshot(const struct plan *p, char **buf, size_t *len);
int plan_restore(struct plan *p, const char *buf, size_t len, struct sql_error *err);

/* Validation only (for the API): compile against a catalog and free; 0 if valid. */
int sql_validate(const char *sql, sql_catalog_fn catalog, void *ctx, struct sql_error *err);

/* Parses SQL timestamp text as CAST does (the codec's TIMESTAMP_TEXT_SQL form:
 * 'yyyy-MM-dd[ HH:mm[:ss[.fff]]]', also with 'T', and a 'Z' or '±hh:mm' offset) as UTC epoch
 * milliseconds. Returns 0 or -1 when s is not such a timestamp. */
int sql_parse_timestamp(const char *s, size_t len, int64_t *ms);
/* Formats epoch milliseconds as 'yyyy-MM-dd HH:mm:ss.SSS' (UTC) into buf (at least 32
 * bytes); returns the length. */
size_t sql_format_timestamp(int64_t ms, char *buf);
/* Formats a DOUBLE the way CAST(d AS STRING) does: shortest text that reads back the same,
 * with ".0" on whole numbers ("9.08", "10.0", "1e+20"); buf at least 32 bytes. Returns the
 * length. */
size_t sql_format_double(double d, char *buf);

/* Name of a type as SQL shows it ("BIGINT", "TIMESTAMP(3)", ...). Static string. */
const char *sql_type_name(enum value_type t);

#endif
