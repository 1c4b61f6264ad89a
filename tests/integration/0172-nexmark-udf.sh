#!/usr/bin/env bash
# Lua user-defined functions under `sluiced run --bounded`:
# - Flink's published Nexmark q14, its INSERT unmodified, with count_char written in Lua (the
#   DDL adapted: CREATE FUNCTION ... LANGUAGE LUA instead of the Java class, the sink an
#   embedded log), over datagen bids; its output must equal what DuckDB (tests/oracle)
#   computes over the same bids, with count_char as length(extra) - length(replace(extra, 'c', '')).
# - functions that loop forever, allocate without bound or reach for os/io/require: each such
#   row follows the pipeline's error policy (skip counts and drops it, dead_letter writes it to
#   the dead-letter stream, fail stops), the other rows go through, and the run ends normally.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nexmark_lib.sh"
events=20000
bid_ddl=$(nexmark_bid_ddl 0 "$events")

# ---- q14 ----
nexmark_copy_bids "$events"

nexmark_count_char > q14.ddl
nexmark_tables 14 >> q14.ddl # the published sink, its WITH options dropped
# the published INSERT, as in /work/nexmark-queries/q14.sql
nexmark_query 14 > q14.insert
cat > q14.duckdb <<'SQL'
SELECT auction, bidder, CAST(CAST(0.908 * price AS DECIMAL(23, 3)) AS DOUBLE),
  CASE WHEN hour(dateTime) >= 8 AND hour(dateTime) <= 18 THEN 'dayTime'
       WHEN hour(dateTime) <= 6 OR hour(dateTime) >= 20 THEN 'nightTime'
       ELSE 'otherTime' END,
  strftime(dateTime, '%Y-%m-%d %H:%M:%S.%g'), extra, length(extra) - length(replace(extra, 'c', ''))
FROM bid WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000
SQL
{ echo "$bid_ddl"; cat q14.ddl q14.insert; } > q14.sql
"$SLUICED" run --bounded --data-dir d14 q14.sql 2> q14.err || fail "q14 run: $(cat q14.err)"
grep -q "completed: $events records in" q14.err || fail "q14 did not read every bid: $(cat q14.err)"
"$logtool" changelog d14/streams/nexmark_q14 > q14.changelog
node "$oracle/final_table.mjs" - < q14.changelog > q14.got || fail "q14: reading the output"
node "$oracle/duckdb_query.mjs" bid "$bid_columns" bids.ndjson q14.duckdb > q14.want || fail "q14: DuckDB failed"
[ -s q14.want ] || fail "q14: DuckDB gave no row"
cmp -s q14.want q14.got || { diff q14.want q14.got | head -5; fail "q14: the output differs from DuckDB's"; }
grep -q '"[1-9][0-9]*"\]$' q14.got || fail "q14: no extra field holds a 'c': count_char is not tested"
echo "q14: $(wc -l < q14.got) rows, equal to DuckDB's"

# ---- hostile functions under each error policy ----
cat > hostile.sql <<'SQL'
CREATE TABLE src (a BIGINT);
CREATE TABLE dst (a BIGINT, r STRING);
CREATE FUNCTION hostile RETURNS STRING AS 'return function(x)
  if x == 1 then while true do end end
  if x == 2 then local t = {} while true do t[#t + 1] = string.rep("y", 4096) .. #t end end
  if x == 3 then return os.execute("touch escaped-os") end
  if x == 4 then return io.open("escaped-io", "w") end
  if x == 5 then return require("os").execute("touch escaped-require") end
  return "fine " .. x
end' LANGUAGE LUA;
INSERT INTO dst SELECT a, hostile(a) AS r FROM src;
SQL
input() {
  rm -rf h; mkdir -p h/streams
  printf '%s\n' '{"a":10}' '{"a":1}' '{"a":11}' '{"a":2}' '{"a":12}' '{"a":3}' '{"a":4}' '{"a":5}' '{"a":13}' \
    | "$logtool" append h/streams/src
}
no_escape() {
  for f in escaped-os escaped-io escaped-require; do [ ! -e "$f" ] || fail "the function reached the host: $f exists"; done
}

input
"$SLUICED" run hostile.sql --data-dir h --bounded --error-policy skip 2> skip.err || fail "skip failed: $(cat skip.err)"
assert_eq "$("$logtool" cat h/streams/dst | tr '\n' ' ')" \
  '{"a":10,"r":"fine 10"} {"a":11,"r":"fine 11"} {"a":12,"r":"fine 12"} {"a":13,"r":"fine 13"} ' "skip keeps the good rows"
assert_contains "$(cat skip.err)" "5 errors" "skip counts the five hostile rows"
assert_contains "$(cat skip.err)" "instruction budget exceeded" "the loop is stopped by its budget"
assert_contains "$(cat skip.err)" "memory budget exceeded" "the allocation is stopped by its budget"
grep -q "completed: 9 records in" skip.err || fail "skip run did not complete: $(cat skip.err)"
no_escape

input
"$SLUICED" run hostile.sql --data-dir h --bounded --error-policy dead_letter --dead-letter dlq 2> dl.err \
  || fail "dead_letter failed: $(cat dl.err)"
assert_eq "$("$logtool" end h/streams/dst)" 4 "dead_letter keeps the good rows"
"$logtool" cat h/streams/dlq > dlq.out
assert_eq "$(jq -r '.offset' dlq.out | tr '\n' ' ')" "1 3 5 6 7 " "the hostile rows are dead letters"
assert_contains "$(jq -r 'select(.offset == 1) | .error' dlq.out)" "instruction budget exceeded" "loop"
assert_contains "$(jq -r 'select(.offset == 3) | .error' dlq.out)" "memory budget exceeded (32 MiB per function)" "allocation"
assert_contains "$(jq -r 'select(.offset == 5) | .error' dlq.out)" "attempt to index a nil value (global 'os')" "os.execute"
assert_contains "$(jq -r 'select(.offset == 6) | .error' dlq.out)" "attempt to index a nil value (global 'io')" "io.open"
assert_contains "$(jq -r 'select(.offset == 7) | .error' dlq.out)" "attempt to call a nil value (global 'require')" "require"
assert_eq "$(jq -r 'select(.offset == 1) | .record' dlq.out)" '{"a":1}' "dead letters carry the record"
no_escape

input
"$SLUICED" run hostile.sql --data-dir h --bounded --error-policy fail 2> fail.err && fail "fail policy completed"
assert_contains "$(cat fail.err)" "record at partition 0 offset 1: " "fail names the record"
assert_contains "$(cat fail.err)" "instruction budget exceeded" "fail says why"
assert_eq "$("$logtool" cat h/streams/dst | tr '\n' ' ')" '{"a":10,"r":"fine 10"} ' "only the row before the failure"
no_escape

# an aggregate that fails under skip: the row is dropped, the window's other rows count
cat > agg.sql <<'SQL'
CREATE TABLE src (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts);
CREATE TABLE dst (k STRING, total BIGINT);
CREATE FUNCTION picky_sum RETURNS BIGINT AS 'return {
  init = function() return 0 end,
  accumulate = function(acc, v) if v == 13 then while true do end end return acc + v end,
  result = function(acc) return acc end,
}' LANGUAGE LUA;
INSERT INTO dst SELECT k, picky_sum(v) FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '10' SECOND))
  GROUP BY k, window_start, window_end;
SQL
rm -rf g; mkdir -p g/streams
printf '%s\n' '{"k":"a","v":1,"ts":"2024-01-01 00:00:01.000"}' '{"k":"a","v":13,"ts":"2024-01-01 00:00:02.000"}' \
  '{"k":"a","v":5,"ts":"2024-01-01 00:00:03.000"}' '{"k":"b","v":2,"ts":"2024-01-01 00:00:04.000"}' \
  | "$logtool" append g/streams/src
"$SLUICED" run agg.sql --data-dir g --bounded --error-policy skip 2> agg.err || fail "aggregate run: $(cat agg.err)"
assert_eq "$("$logtool" cat g/streams/dst | tr '\n' ' ')" '{"k":"a","total":6} {"k":"b","total":2} ' \
  "the failing row is skipped, the others aggregate"
assert_contains "$(cat agg.err)" "1 errors" "the aggregate's error is counted"
echo ok
