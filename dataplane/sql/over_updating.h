/* over_updating.h — ROWS OVER aggregates over an updating input (internal to sql/; over.c
 * delegates to it when over_config.input_updating is set):
 *   agg(x) OVER (PARTITION BY k ORDER BY rowtime ROWS BETWEEN n PRECEDING AND CURRENT ROW)
 * (or UNBOUNDED PRECEDING) over a changelog with retractions, e.g. the Top-1 rows of Nexmark
 * q6. Flink's OVER rejects such an input; this operator gives the result a table of the input
 * rows would have if the aggregate were computed over the input's current contents.
 *
 * Each partition keeps its current rows sorted by (rowtime, then the row's values in column
 * order: a deterministic order for rows of equal rowtime). Changes apply at once (no waiting
 * for the watermark; late rows are not dropped, as the result is updating anyway):
 *  - +I or +U inserts the row after its equals and emits `+I row+aggs`; each of the n rows
 *    after it whose frame it entered emits `-U old`, `+U new` when its aggregates changed;
 *  - -U or -D removes one row equal in every column (a retraction of a row not held is
 *    counted in retract_missing and ignored) and emits `-D row+old aggs`; the n rows after it
 *    update as above.
 * Aggregates (COUNT, SUM, AVG, MIN, MAX) are recomputed over the frame (n + 1 rows) of each
 * affected row, so a change costs O(n^2) for ROWS n PRECEDING and O(partition^2) for UNBOUNDED
 * PRECEDING. Errors: 0, or -1 with err filled (no memory, NULL rowtime, a bad snapshot) — or -1
 * with err untouched when emit returned -1. */
#ifndef SLUICE_DATAPLANE_SQL_OVER_UPDATING_H
#define SLUICE_DATAPLANE_SQL_OVER_UPDATING_H

#include "dataplane/sql/over.h"

struct over_upd;

/* cfg is checked by over_new; it must be a ROWS frame. NULL on no memory (err filled). */
struct over_upd *over_upd_new(const struct over_config *cfg, struct sql_error *err);
void over_upd_free(struct over_upd *u);
int over_upd_push(struct over_upd *u, enum row_kind kind, const struct value *row, over_emit_fn emit, void *ctx,
                  struct sql_error *err);
void over_upd_stats(const struct over_upd *u, struct over_stats *out);
/* Rows a retraction named that the operator did not hold. */
uint64_t over_upd_retract_missing(const struct over_upd *u);
int over_upd_snapshot(const struct over_upd *u, char **buf, size_t *len);
int over_upd_restore(struct over_upd *u, const char *buf, size_t len, struct sql_error *err);

#endif
