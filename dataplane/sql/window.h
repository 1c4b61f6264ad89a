/* window.h — event-time window state of grouped aggregates: the open windows in end order,
 * each with a hash table of groups (owned copies of the keys, and one state per aggregate),
 * and the byte form of that state for checkpoints (internal to sql/). */
#ifndef SLUICE_DATAPLANE_SQL_WINDOW_H
#define SLUICE_DATAPLANE_SQL_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/sql/eval.h"
#include "dataplane/sql/functions.h"

/* One aggregate of the query (owned by the plan). */
struct agg_slot {
    enum agg_kind kind;
    int distinct;
    struct expr *arg; /* NULL for COUNT(*) */
    enum value_type result;
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

/* Zero-initialise, then set nkeys, key_types, naggs and aggs (borrowed; they must outlive
 * the table). */
struct window_table {
    int nkeys, naggs;
    const enum value_type *key_types; /* what window_table_read accepts */
    const struct agg_slot *aggs;
    struct window *windows; /* sorted by (end, start) */
    int nwindows, capwindows;
};

/* Hash of a row's group keys (nkeys values). */
uint64_t window_keys_hash(const struct window_table *t, const struct value *keys);
/* Folds aggregate arguments args (one per slot; ignored for COUNT(*)) into the group of keys
 * (hash h) of window [start, end), creating both when missing. Returns 0 or -1 (no memory). */
int window_table_add(struct window_table *t, int64_t start, int64_t end, const struct value *keys, uint64_t h,
                     const struct value *args);
/* Result of aggregate i of group g; a string is borrowed from the group. */
void window_group_result(const struct window_table *t, const struct window_group *g, int i, struct value *out);
/* Frees the first n windows and removes them from the table. */
void window_table_drop(struct window_table *t, int n);
/* Frees every window (the table stays usable, empty). */
void window_table_clear(struct window_table *t);

/* ---- Byte form (native byte order, same build) ----------------------------------------*/
struct window_writer {
    char *p; /* malloc'd */
    size_t len, cap;
    int oom;
};
struct window_reader {
    const char *p;
    size_t len, pos;
    int bad; /* set on any short or malformed read */
};
void window_put(struct window_writer *w, const void *d, size_t n);
void window_get(struct window_reader *r, void *d, size_t n);
/* Appends every window, group and aggregate state. */
void window_table_write(const struct window_table *t, struct window_writer *w);
/* Loads what window_table_write wrote into an empty table. Returns 0, or -1 (malformed or
 * no memory; the table is left empty). */
int window_table_read(struct window_table *t, struct window_reader *r);

#endif
