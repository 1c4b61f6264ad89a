/* rownum_where.h — Top-N written in one SELECT (internal to sql/): Nexmark q6 filters on the
 * ROW_NUMBER() alias in the WHERE of the block that computes it,
 *   SELECT *, ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...) AS rn FROM (subquery) WHERE rn <= N
 * which standard SQL (and Flink) reject: WHERE runs before the SELECT list. Such a block is read
 * as Top-N over its input, i.e. rewritten before planning into the form the planner runs,
 *   SELECT * FROM (SELECT *, ROW_NUMBER() OVER (...) AS rn FROM (subquery) WHERE rest) WHERE rn...
 * where the conjuncts of the WHERE that read rn filter the ranked rows and the others (rest)
 * filter the input before ranking. Only when the FROM is a subquery whose columns are all
 * named (no "*") and none is called rn, so that rn can mean nothing but the alias; otherwise the
 * block is left as written (and rn in WHERE is an unknown column, as in Flink). */
#ifndef SLUICE_DATAPLANE_SQL_ROWNUM_WHERE_H
#define SLUICE_DATAPLANE_SQL_ROWNUM_WHERE_H

#include "dataplane/sql/parser.h"

struct arena;

/* Rewrites every such block of ins (named queries and subqueries included). New nodes come
 * from arena. Returns 0, or -1 with err filled (out of memory). */
int rownum_where_rewrite(struct ast_insert *ins, struct arena *arena, struct sql_error *err);

#endif
