/* opstate.h — what the stateful operators (rank.c, over.c, window.c, group_agg.c) share: owned
 * copies of values and rows (one allocation each, strings inside), a hash table of partitions
 * keyed by column values, and the byte form of values, rows and snapshot heads for checkpoints
 * (internal to sql/). */
#ifndef SLUICE_DATAPLANE_SQL_OPSTATE_H
#define SLUICE_DATAPLANE_SQL_OPSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/value.h"

/* Releases v's string (as owned by opstate_value_own) and makes v NULL. */
void opstate_value_release(struct value *v);
/* Copies v into *dst so that dst owns its string (malloc'd, NUL-terminated). Returns 0 or -1. */
int opstate_value_own(struct value *dst, const struct value *v);

/* A copy of row[0..n) in one malloc'd block whose strings point inside it (free() it). *size
 * gets the block's size when size is not NULL. NULL on out of memory. */
struct value *opstate_row_copy(const struct value *row, int n, size_t *size);
/* The bytes opstate_row_copy_into needs for row[0..n). */
size_t opstate_row_size(const struct value *row, int n);
/* Copies row[0..n) into dst (opstate_row_size bytes, aligned for struct value), its strings
 * inside that block; returns dst. */
struct value *opstate_row_copy_into(void *dst, const struct value *row, int n);
/* Hash of row[cols[0..ncols)]. */
uint64_t opstate_hash_cols(const struct value *row, const int *cols, int ncols);

/* A partition: embed as the first member of an operator's partition struct. keys is an owned
 * copy of the nkeys key values (opstate_row_copy, or inside the partition's own block). */
struct opstate_part {
    uint64_t hash;
    struct value *keys;
};
/* Open addressing (linear probing, at most half full): a slot holds a partition and its hash,
 * so that a probe reads the partition only when the hash matches. */
struct opstate_slot {
    uint64_t hash;
    struct opstate_part *part; /* NULL: empty */
};
struct opstate_table {
    struct opstate_slot *slots;
    size_t cap, n;
    int nkeys;
};
/* The partition whose keys equal row[cols[0..nkeys)] (hash h), or NULL. */
struct opstate_part *opstate_find(const struct opstate_table *t, const struct value *row, const int *cols, uint64_t h);
/* Links p (hash and keys set) into t. Returns 0 or -1 (no memory). */
int opstate_insert(struct opstate_table *t, struct opstate_part *p);
/* Unlinks p from t (p itself is not freed). Another partition may move into p's slot: a walk
 * over the slots (opstate_slot) that removes the partition of slot i looks at slot i again,
 * and may see a partition twice, never miss one. */
void opstate_remove(struct opstate_table *t, struct opstate_part *p);
/* The partition in slot i (i < t->cap), or NULL. */
static inline struct opstate_part *opstate_slot(const struct opstate_table *t, size_t i) { return t->slots[i].part; }
/* Frees the slots (the partitions belong to the caller; unlink or free them first). */
void opstate_table_free(struct opstate_table *t);

/* ---- Byte form (native byte order, same build) ------------------------------------------*/
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
/* Appends d[0..n) (sets w->oom on out of memory). */
void window_put(struct window_writer *w, const void *d, size_t n);
/* Reads n bytes into d (zeroes d and marks r bad when short). */
void window_get(struct window_reader *r, void *d, size_t n);
void opstate_put_i64(struct window_writer *w, int64_t v);
int64_t opstate_get_i64(struct window_reader *r);
/* One value: a type byte, then its bytes (DECIMAL: precision, scale and the unscaled value). */
void opstate_put_value(struct window_writer *w, const struct value *v);
/* A value whose string points into the reader's buffer; marks r bad on malformed input. */
void opstate_get_value(struct window_reader *r, struct value *v);
void opstate_put_row(struct window_writer *w, const struct value *row, int n);
/* Reads n values as an owned opstate_row_copy (NULL and r->bad set on error). A value must be
 * NULL or of types[i] when types is not NULL. */
struct value *opstate_get_row(struct window_reader *r, int n, const enum value_type *types, size_t *size);
/* A snapshot begins with an 8-byte magic and the operator's configuration fingerprint (the
 * bytes config holds). Reads that head; 1 when it is this one, 0 when not (or config is oom). */
int opstate_head_matches(struct window_reader *r, const char magic[8], const struct window_writer *config);

#endif
