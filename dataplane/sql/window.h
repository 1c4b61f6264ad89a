/* window.h — event-time window state of grouped aggregates: the open windows in end order,
 * each with a hash table of groups (owned copies of the keys, and one state per aggregate),
 * session windows (per partition key, merged when a row bridges them), and the byte form of
 * that state for checkpoints (internal to sql/). */
#ifndef SLUICE_DATAPLANE_SQL_WINDOW_H
#define SLUICE_DATAPLANE_SQL_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/sql/functions.h" /* enum agg_kind */
#include "dataplane/sql/opstate.h"   /* struct window_writer, window_reader */
#include "dataplane/value.h"

/* One aggregate of the query (owned by the plan). */
struct agg_slot {
    enum agg_kind kind;
    int distinct;
    struct expr *arg;    /* NULL for COUNT(*) */
    struct expr *filter; /* FILTER (WHERE ...): a row counts only when TRUE; NULL: every row */
    enum value_type result;
    struct udf *udf;  /* AGG_UDF: the function (owned by the plan) */
    int line, column; /* of the call, for AGG_UDF's errors */
};

struct agg_state;

struct window_group {
    struct window_group *hnext, *next; /* hash chain, first-seen order */
    uint64_t hash;
    struct value *keys; /* owned copies */
    struct agg_state *aggs;
};

struct window {
    int64_t start, end;
    struct window_group **buckets;
    size_t nbuckets, ngroups;
    struct window_group *first, *last;
};

struct session_partition;

/* Zero-initialise, then set nkeys, key_types, naggs and aggs (borrowed; they must outlive
 * the table); for SESSION windows also gap (> 0) and npart (the first npart keys are the
 * PARTITION BY columns). A session is the set of groups of one partition in one window; the
 * table indexes each partition's open sessions (rebuilt from the windows on restore). */
struct window_table {
    int nkeys, naggs;
    const enum value_type *key_types; /* what window_table_read accepts */
    const struct agg_slot *aggs;
    struct window *windows; /* sorted by (end, start) */
    int nwindows, capwindows;
    int64_t gap; /* SESSION: 0 for other windows */
    int npart;
    struct session_partition **parts; /* hash table of partitions with open sessions */
    size_t nparts, capparts;
};

/* Hash of a row's group keys (nkeys values). */
uint64_t window_keys_hash(const struct window_table *t, const struct value *keys);
/* Folds aggregate arguments args (one per slot; ignored for COUNT(*)) into the group of keys
 * (hash h) of window [start, end), creating both when missing. seq orders rows for
 * FIRST_VALUE/LAST_VALUE (increasing per input row). Returns 0, -1 (no memory) or -2 (a Lua
 * aggregate failed: udf_take_error() of its slot says why). */
int window_table_add(struct window_table *t, int64_t start, int64_t end, const struct value *keys, uint64_t h,
                     const struct value *args, int64_t seq);
/* SESSION: folds a row of event time ts into its partition's session: [ts, ts + gap) merged
 * with every open session of the partition it touches (bounds inclusive, as Flink's), their
 * groups' aggregate states merged. Returns 0, 1 when the merged session would end at or
 * before watermark (a late row: nothing changes), -1 (no memory) or -2 (a Lua aggregate
 * failed, as window_table_add). */
int window_session_add(struct window_table *t, int64_t ts, int64_t watermark, const struct value *keys, uint64_t h,
                       const struct value *args, int64_t seq);
/* Result of aggregate i of group g; a string is borrowed from the group. */
void window_group_result(const struct window_table *t, const struct window_group *g, int i, struct value *out);
/* Frees the first n windows and removes them from the table. */
void window_table_drop(struct window_table *t, int n);
/* Frees every window (the table stays usable, empty). */
void window_table_clear(struct window_table *t);

/* ---- Byte form (native byte order, same build; struct window_writer and window_reader, and
 * window_put/window_get, are in opstate.h) ---------------------------------------------------*/
/* One value (type byte, then its bytes). A string read points into the reader's buffer. */
void window_put_value(struct window_writer *w, const struct value *v);
void window_get_value(struct window_reader *r, struct value *v);
/* Appends every window, group and aggregate state. */
void window_table_write(const struct window_table *t, struct window_writer *w);
/* Loads what window_table_write wrote into an empty table. Returns 0, or -1 (malformed or
 * no memory; the table is left empty). */
int window_table_read(struct window_table *t, struct window_reader *r);

#endif
