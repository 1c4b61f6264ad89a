/* group_agg.h — the state of a GROUP BY without a window (and of SELECT DISTINCT): a hash
 * table of groups, each with owned copies of its keys, a row count and one retractable
 * accumulator per aggregate (COUNT, SUM, AVG; MIN, MAX and COUNT(DISTINCT) keep the multiset
 * of their values so that a retraction of the current best finds the next one); groups in
 * least-recently-used order for the idle-state TTL; and the byte form for checkpoints
 * (internal to sql/). */
#ifndef SLUICE_DATAPLANE_SQL_GROUP_AGG_H
#define SLUICE_DATAPLANE_SQL_GROUP_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/sql/window.h" /* struct agg_slot, the byte form */
#include "dataplane/value.h"

struct group_acc;

struct group_entry {
    struct group_entry *hnext;               /* hash chain */
    struct group_entry *lru_prev, *lru_next; /* by last access, oldest first */
    uint64_t hash;
    int64_t rows;        /* accumulated minus retracted rows */
    int64_t accessed_ms; /* processing time of the last access */
    struct value *keys;  /* nkeys, owned */
    struct group_acc *accs;
    /* Mini-batch: 1 + the group's index in its table's batch, 0 when not in it; and its result
     * row (keys, aggregates: an opstate_row_copy) before the batch, NULL when it had none. */
    size_t batched;
    struct value *before;
};

/* Zero-initialise, then set nkeys, key_types, naggs and aggs (borrowed; they must outlive the
 * table). */
struct group_table {
    int nkeys, naggs;
    const enum value_type *key_types;
    const struct agg_slot *aggs;
    struct group_entry **buckets;
    size_t nbuckets, ngroups;
    struct group_entry *oldest, *newest;
    size_t bytes; /* held by the groups (entries, owned strings, value lists); kept current */
    /* Its input is insert-only (no row is retracted): MIN and MAX keep only the extreme value,
     * not every value. Set before the first row. */
    int append_only;
    /* Mini-batch (Flink's table.exec.mini-batch): the groups changed since the last flush, in
     * the order of their first change; an entry is NULL when its group was removed since. */
    struct group_entry **batch;
    size_t nbatch, capbatch;
    size_t before_bytes; /* held by the groups' before rows (in bytes too) */
};

/* Which aggregates a non-windowed GROUP BY can retract: 1 when kind can be used. */
int group_agg_supported(enum agg_kind kind);

uint64_t group_keys_hash(const struct group_table *t, const struct value *keys);
/* The group of keys (hash h), or NULL; with create, a new empty group (NULL: no memory). An
 * access moves the group to the newest end with time now_ms. */
struct group_entry *group_table_find(struct group_table *t, const struct value *keys, uint64_t h, int create,
                                     int64_t now_ms);
/* Accumulates (sign 1) or retracts (sign -1) one row's aggregate arguments (one per slot;
 * VT_NULL when a FILTER rejected the row, ignored for COUNT(*)). A retraction of a value the
 * group never saw is ignored. Returns 0, -1 (no memory) or -2 (a Lua aggregate failed:
 * udf_take_error() of its slot says why). */
int group_entry_update(struct group_table *t, struct group_entry *g, const struct value *args, int sign);
/* Result of aggregate i; a string is borrowed from the group (valid until its next update). */
void group_entry_result(const struct group_table *t, const struct group_entry *g, int i, struct value *out);
/* Mini-batch: puts g in the batch unless it is in it, with its result row before the batch
 * (row: n values, copied; NULL when the group has no row yet). Returns 0 or -1 (no memory). */
int group_batch_add(struct group_table *t, struct group_entry *g, const struct value *row, int n);
/* Empties the batch (the groups stay). */
void group_batch_clear(struct group_table *t);
/* Mini-batch: a group whose last row went stays (in the batch) until the flush, emptied as a new
 * group is (rows 0, every accumulator as before its first row). */
void group_entry_reset(struct group_table *t, struct group_entry *g);
/* Removes and frees a group (and takes it out of the batch). */
void group_table_remove(struct group_table *t, struct group_entry *g);
/* Removes the groups last accessed at or before limit_ms; returns how many. */
size_t group_table_expire(struct group_table *t, int64_t limit_ms);
/* Frees every group (the table stays usable, empty). */
void group_table_clear(struct group_table *t);
/* Bytes of state held (an estimate: allocations without the allocator's overhead, for status
 * and the state limit); O(1). */
size_t group_table_bytes(const struct group_table *t);

void group_table_write(const struct group_table *t, struct window_writer *w);
/* Loads what group_table_write wrote into an empty table. Returns 0, or -1 (malformed or no
 * memory; the table is left empty). */
int group_table_read(struct group_table *t, struct window_reader *r);

#endif
