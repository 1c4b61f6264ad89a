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
/* Hash of row[cols[0..ncols)]. */
uint64_t opstate_hash_cols(const struct value *row, const int *cols, int ncols);

/* A partition: embed as the first member of an operator's partition struct. keys is an owned
 * opstate_row_copy of the nkeys key values. */
struct opstate_part {
    struct opstate_part *hnext;
    uint64_t hash;
    struct value *keys;
};
struct opstate_table {
    struct opstate_part **buckets;
    size_t cap, n;
    int nkeys;
};
/* The partition whose keys equal row[cols[0..nkeys)] (hash h), or NULL. */
struct opstate_part *opstate_find(const struct opstate_table *t, const struct value *row, const int *cols, uint64_t h);
/* Links p (hash and keys set) into t. Returns 0 or -1 (no memory). */
int opstate_insert(struct opstate_table *t, struct opstate_part *p);
/* Unlinks p from t (p itself is not freed). */
void opstate_remove(struct opstate_table *t, struct opstate_part *p);
/* Frees the bucket array (the partitions belong to the caller; unlink or free them first). */
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
