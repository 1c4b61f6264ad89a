/* over.h — running OVER aggregates as a standalone state machine (internal to sql/):
 *   agg(x) OVER (PARTITION BY k ORDER BY rowtime
 *                ROWS BETWEEN n PRECEDING AND CURRENT ROW
 *              | ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
 *              | RANGE BETWEEN INTERVAL 'x' unit PRECEDING AND CURRENT ROW
 *              | RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
 * with COUNT(*), COUNT(x), SUM, AVG, MIN and MAX, all sharing one window.
 *
 * As Flink's RowTime*PrecedingFunction: an input row is held until the watermark reaches its
 * rowtime (over_watermark(), or over_finish() at the end of bounded input), then processed
 * in rowtime order and emitted once, append-only (+I): the input columns followed by one
 * value per aggregate. A row whose rowtime is at or below the watermark when it arrives is
 * late: counted and dropped (Flink's rule for the unbounded frames, used here for all).
 *
 * Order and frames: the rows released by one watermark are processed by rowtime; rows of
 * equal rowtime go partition by partition (partitions in the order their first such row
 * arrived), each partition's rows in arrival order. ROWS frames count rows in that order
 * (the current row and the n before it). RANGE frames hold every row of the partition with
 * rowtime in [rowtime - x, rowtime], so rows of equal rowtime (peers) all see each other and
 * get the same results. Rows leave a bounded frame (their values are retracted) when a later
 * row of the partition is processed; MIN and MAX over a sliding frame keep a monotonic queue,
 * so a retracted maximum gives way to the next one. NULL arguments are skipped: SUM, AVG,
 * MIN and MAX of no non-NULL value are NULL, COUNT(x) is 0.
 *
 * Errors: functions returning int give 0, or -1 with err filled (no memory, NULL rowtime, a
 * bad snapshot) — or -1 with err untouched when emit returned -1. */
#ifndef SLUICE_DATAPLANE_SQL_OVER_H
#define SLUICE_DATAPLANE_SQL_OVER_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/sql/functions.h" /* enum agg_kind */
#include "dataplane/sql/sql.h"       /* struct sql_error */
#include "dataplane/value.h"

enum over_frame { OVER_ROWS, OVER_RANGE };

/* One aggregate: kind AGG_COUNT, AGG_SUM, AGG_AVG, AGG_MIN or AGG_MAX; col is the argument
 * column (-1 for COUNT(*)); result is its type: BIGINT for COUNT; for SUM and AVG the
 * argument's numeric type (AVG of BIGINT divides as integers, as Flink's) or DOUBLE; for MIN
 * and MAX the argument's type. */
struct over_agg {
    enum agg_kind kind;
    int col;
    enum value_type result;
};

/* What over_new() copies (pointers are borrowed only during the call). */
struct over_config {
    int ncols;                        /* input row width */
    const enum value_type *col_types; /* ncols */
    const int *part_cols;             /* PARTITION BY columns (may be 0 of them) */
    int npart;
    int time_col; /* the ORDER BY rowtime column (TIMESTAMP) */
    enum over_frame frame;
    int unbounded;     /* UNBOUNDED PRECEDING */
    int64_t preceding; /* else ROWS: n rows (>= 0); RANGE: milliseconds (>= 0) */
    const struct over_agg *aggs;
    int naggs;
    /* The input is updating (-U, +U, -D rows): a ROWS frame only, run by over_updating.h's
     * operator, fed through over_push; its output is updating. */
    int input_updating;
};

struct over;

/* New operator (free with over_free), or NULL with err filled when the config is invalid. */
struct over *over_new(const struct over_config *cfg, struct sql_error *err);
void over_free(struct over *o); /* over_free(NULL) is a no-op */
/* Width of output rows: ncols + naggs. */
int over_output_width(const struct over *o);

/* Receives one output row (over_output_width values, valid only during the call; kind is
 * ROW_INSERT unless the input is updating). Return 0 to continue, -1 to stop. */
typedef int (*over_emit_fn)(void *ctx, enum row_kind kind, const struct value *row);

/* Feeds one input row (ROW_INSERT only: OVER needs an append-only input). It is held until
 * the watermark passes it; nothing is emitted here. */
int over_process(struct over *o, enum row_kind kind, const struct value *row, struct sql_error *err);
/* Feeds one input row of any kind: over_process for an append-only input; with
 * input_updating the change applies at once and its output rows go to emit (over_updating.h). */
int over_push(struct over *o, enum row_kind kind, const struct value *row, over_emit_fn emit, void *ctx,
              struct sql_error *err);
/* The watermark reached watermark: processes and emits every held row with rowtime <=
 * watermark. A watermark at or below the last one does nothing. */
int over_watermark(struct over *o, int64_t watermark, over_emit_fn emit, void *ctx, struct sql_error *err);
/* End of bounded input: processes every held row (a watermark of +infinity). */
int over_finish(struct over *o, over_emit_fn emit, void *ctx, struct sql_error *err);

struct over_stats {
    uint64_t rows_in, rows_out, late_dropped;
    uint64_t partitions, rows_held, rows_in_frames;
    size_t state_bytes; /* memory held by the state, approximately */
    int64_t watermark;  /* INT64_MIN before the first */
};
void over_stats(const struct over *o, struct over_stats *out);

/* State for checkpoints, as rank_snapshot/rank_restore: a malloc'd buffer; restore into a
 * new operator of the same config (another config's snapshot is rejected, state untouched; a
 * malformed one leaves the state empty). Returns 0, or -1 (snapshot: no memory; restore: err
 * filled). Bounded RANGE frames release a partition's old rows when its next row is
 * processed, so an idle partition keeps its last frame. */
int over_snapshot(const struct over *o, char **buf, size_t *len);
int over_restore(struct over *o, const char *buf, size_t len, struct sql_error *err);

#endif
