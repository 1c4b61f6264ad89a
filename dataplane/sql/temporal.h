/* temporal.h — temporal joins, as Flink runs them (internal to sql/; join.c runs one for a
 * join_config whose temporal is set): FROM l JOIN r FOR SYSTEM_TIME AS OF l.t ON l.k = r.k
 * [AND residual], INNER or LEFT. Output rows are l's columns then r's; append-only.
 *
 * Event time (JOIN_TEMPORAL_EVENT): r is a versioned table, an upsert stream with a PRIMARY KEY
 * and a watermark. Each of its rows is a version of its key from its event time on (+I, +U), or
 * ends the key's versions there (-U, -D). A left row waits until the watermark passes its time
 * l.t, then joins the version of its key valid at l.t (the latest at or before it) when that
 * passes the residual; INNER drops a row without one, LEFT pads it with NULLs. Waiting rows go
 * out in time order (arrival order among equal times). A left row at or behind the watermark
 * when it comes (late) joins at once with the versions still kept. Once the watermark passes,
 * the versions of a key older than its latest one at or before the watermark are dropped.
 *
 * Processing time (JOIN_TEMPORAL_PROC): a lookup join. A left row joins, when it comes, every
 * row of its key that r holds then and that passes the residual (LEFT: NULLs when none). A right
 * +I/+U row is added (replacing the row of the same PRIMARY KEY when r has one), a -U/-D row
 * removed. For a bounded r the engine reads r to its end before the left side (sql.h:
 * plan_source_preload), so every left row sees the whole table, as Flink's lookup source. */
#ifndef SLUICE_DATAPLANE_SQL_TEMPORAL_H
#define SLUICE_DATAPLANE_SQL_TEMPORAL_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/sql/join.h"

/* Checks the temporal join aj (FROM l JOIN r FOR SYSTEM_TIME AS OF aj->as_of), whose ON
 * join_compile_on has put into c, and sets c->temporal, right_time and right_pk. as_of_col: the
 * column of l the AS OF names (-1: it names none); left: l's schema; table: r's stream schema
 * when r is a stream read directly (NULL: a subquery, view or window). Event time needs r a
 * versioned table (PRIMARY KEY, WATERMARK) whose key ON equates in full. Returns 0, or -1 with
 * err filled (line and column of the construct at fault). */
int temporal_configure(const struct ast_join *aj, int as_of_col, const struct schema *left, const struct schema *table,
                       struct join_config *c, struct sql_error *err);

struct temporal;

/* A new temporal join of c (copied; its expressions stay the plan's). NULL with err filled. */
struct temporal *temporal_new(const struct join_config *c, struct sql_error *err);
void temporal_free(struct temporal *t); /* NULL is a no-op */
/* A row of side 0 (left) or 1 (the table) of kind `kind`; joined rows to emit. Returns 0, or -1
 * with err filled (an evaluation error, out of memory, emit failed). */
int temporal_process(struct temporal *t, int side, enum row_kind kind, const struct value *row, struct arena *scratch,
                     join_emit_fn emit, void *ctx, struct sql_error *err);
/* The watermark moved to wm: the left rows whose time it passed go out, old versions go.
 * Returns 0, or -1 with err filled. */
int temporal_watermark(struct temporal *t, int64_t wm, struct arena *scratch, join_emit_fn emit, void *ctx,
                       struct sql_error *err);
void temporal_stats(const struct temporal *t, struct join_stats *out);
/* A lookup join: the table's columns its keys are (join.h: join_lookup_keys); the function
 * that gives the table's rows of a key from now on instead of the right side's rows. */
int temporal_lookup_keys(const struct temporal *t, int *cols, int max);
void temporal_set_lookup(struct temporal *t, plan_lookup_fn fn, void *ctx);
/* State for checkpoints (join.h: join_snapshot, join_restore). */
int temporal_snapshot(const struct temporal *t, char **buf, size_t *len);
int temporal_restore(struct temporal *t, const char *buf, size_t len, struct sql_error *err);

#endif
