/* group_window.h — Flink's legacy group windows (internal to sql/): GROUP BY k, ...,
 * TUMBLE(ts, size) | HOP(ts, slide, size) | SESSION(ts, gap), with the auxiliary functions
 * TUMBLE_START/_END/_ROWTIME (and HOP_..., SESSION_...) in the SELECT list and HAVING.
 *
 * They are rewritten, before planning, into the window table function form the planner runs:
 *   FROM TABLE(SESSION(TABLE s PARTITION BY k, ..., DESCRIPTOR(ts), gap))
 *   GROUP BY k, ..., window_start, window_end
 * with X_START -> window_start, X_END -> window_end and X_ROWTIME -> window_end - 1 ms (Flink's
 * rowtime of a group window). A SESSION group window partitions by every other GROUP BY key,
 * so each of them must be a column. */
#ifndef SLUICE_DATAPLANE_SQL_GROUP_WINDOW_H
#define SLUICE_DATAPLANE_SQL_GROUP_WINDOW_H

#include "dataplane/sql/parser.h"

struct arena;

/* Rewrites every SELECT block of ins (named queries, subqueries and join sides included) that
 * has a group window. New nodes come from arena (the syntax tree's). Returns 0, or -1 with err
 * filled (line and column of the offending call). */
int group_window_rewrite(struct ast_insert *ins, struct arena *arena, struct sql_error *err);

#endif
