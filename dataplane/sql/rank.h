/* rank.h — Flink's Rank and Deduplicate operators as standalone state machines (internal to
 * sql/): Top-N per partition (`ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...) AS rn ...
 * WHERE rn <= N`), deduplication (`rn = 1` ordered by a time attribute, keeping the first or
 * the last row), and Window Top-N over a window TVF's rows (emitted when the window fires).
 *
 * Input rows carry a row kind and are laid out by the config's columns; output rows are the
 * input columns, plus the rank number (BIGINT) as a last column when output_rank is set. The
 * operator copies what it keeps (input strings may point into batch memory).
 *
 * Changelogs, as Flink's:
 *  - RANK_TOP_N, append-only input (AppendOnlyTopNFunction): a row that does not enter the top
 *    N is dropped silently; among rows with equal order keys the earlier one ranks first, and
 *    a row equal to the N-th when the top N is full does not enter. Without the rank column,
 *    a row that enters gives `-D pushed-out` (when the top N was full) then `+I row`. With the
 *    rank column every rank from the new row's down shifts: `-U old@r, +U new@r` per rank, and
 *    `+I last@r` when the top N grows. Only N rows per partition are kept. With a
 *    rank_start M > 1 (Flink's offset) the rank algorithm is used either way, and only changes
 *    at ranks M..N are emitted (the rank column still only with output_rank).
 *  - RANK_TOP_N with input_updating (RetractableTopNFunction): every row is kept, so that a
 *    retraction (-U or -D of a row equal in every column to one inserted before) lets the
 *    N+1-th row move in: `-D row, +I next` without the rank column, `-U/+U` per shifted rank
 *    and `-D` of the last rank when fewer than N remain with it. A retraction of a row never
 *    seen is counted (retract_missing) and ignored. +U is treated as +I and -U as -D.
 *  - RANK_DEDUP_FIRST / RANK_DEDUP_LAST (RowTimeDeduplicateFunction): the first row of a
 *    partition gives +I; a later row replaces it, as `-U old, +U new`, when its time is
 *    strictly earlier (FIRST) or not earlier (LAST). On time-ordered input FIRST is
 *    append-only. No rank column. Append-only input only.
 *  - RANK_WINDOW_TOP_N (WindowRankOperator): rows are kept as in append-only Top-N, with
 *    nothing emitted, until rank_watermark() passes window_end - 1 (or rank_finish()); then
 *    every fired partition's top N is emitted as +I in rank order (partitions by window end,
 *    then first seen) and dropped. A row whose window already fired is late: counted, dropped.
 *
 * Errors: functions returning int give 0, or -1 with err filled (no memory, a retraction fed
 * to an append-only operator, a bad snapshot) — or -1 with err untouched when emit returned -1. */
#ifndef SLUICE_DATAPLANE_SQL_RANK_H
#define SLUICE_DATAPLANE_SQL_RANK_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/sql/sql.h" /* struct sql_error */
#include "dataplane/value.h"

enum rank_mode { RANK_TOP_N, RANK_DEDUP_FIRST, RANK_DEDUP_LAST, RANK_WINDOW_TOP_N };

/* One ORDER BY key. Flink's default when NULLS FIRST/LAST is not written: NULL is the
 * smallest value, so nulls_first = !desc. */
struct rank_order {
    int col;
    int desc;
    int nulls_first;
};

/* What rank_new() copies (every pointer is borrowed only during the call). */
struct rank_config {
    enum rank_mode mode;
    int ncols;                        /* input row width */
    const enum value_type *col_types; /* ncols: what a snapshot's rows must hold */
    const int *part_cols;             /* PARTITION BY columns (may be 0 of them) */
    int npart;
    const struct rank_order *order; /* ORDER BY keys; DEDUP: exactly one, the time attribute */
    int norder;
    int64_t limit;      /* N >= 1 (rn <= N); DEDUP: 1 */
    int64_t rank_start; /* rn >= M (rn BETWEEN M AND N, rn = N): M in [1, N]; 0 means 1. Top-N only */
    int output_rank;    /* append rn (BIGINT) to output rows; not with DEDUP */
    int input_updating; /* TOP_N only: the input retracts (keeps every row) */
    int window_end_col; /* WINDOW_TOP_N: window_end column (TIMESTAMP), one of part_cols */
};

struct rank;

/* New operator (free with rank_free), or NULL with err filled when the config is invalid. */
struct rank *rank_new(const struct rank_config *cfg, struct sql_error *err);
void rank_free(struct rank *r); /* rank_free(NULL) is a no-op */
/* Width of output rows: ncols, + 1 with output_rank. */
int rank_output_width(const struct rank *r);

/* Receives one output row (rank_output_width values, valid only during the call). Return 0
 * to continue, -1 to stop. */
typedef int (*rank_emit_fn)(void *ctx, enum row_kind kind, const struct value *row);

/* Feeds one input row of kind kind (see the changelogs above). */
int rank_process(struct rank *r, enum row_kind kind, const struct value *row, rank_emit_fn emit, void *ctx,
                 struct sql_error *err);
/* WINDOW_TOP_N: the watermark reached watermark; fires each window with window_end - 1 <=
 * watermark. Other modes: nothing to do. */
int rank_watermark(struct rank *r, int64_t watermark, rank_emit_fn emit, void *ctx, struct sql_error *err);
/* End of bounded input: WINDOW_TOP_N fires every window still open. */
int rank_finish(struct rank *r, rank_emit_fn emit, void *ctx, struct sql_error *err);

struct rank_stats {
    uint64_t rows_in, rows_out, late_dropped, retract_missing;
    uint64_t partitions, rows_kept;
    size_t state_bytes; /* memory held by the state, approximately */
};
void rank_stats(const struct rank *r, struct rank_stats *out);

/* State for checkpoints: rank_snapshot gives a malloc'd buffer (caller frees); rank_restore
 * loads one into a new operator of the same config (another config's snapshot is rejected,
 * state untouched; a malformed one leaves the state empty). Returns 0, or -1 (snapshot: no
 * memory; restore: err filled). */
int rank_snapshot(const struct rank *r, char **buf, size_t *len);
int rank_restore(struct rank *r, const char *buf, size_t len, struct sql_error *err);

#endif
