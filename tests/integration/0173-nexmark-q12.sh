#!/usr/bin/env bash
# Flink's published Nexmark q12 (processing-time windows: bids per bidder in 10-second windows
# of PROCTIME()), its view and INSERT unmodified, under `sluiced run`. Processing time makes the
# windows depend on when rows come, so the result is checked for its shape and counts: every
# window is 10 s wide and starts on a multiple of 10 s, no (bidder, window) twice, and the
# bid_count of each bidder summed over its windows equals DuckDB's count of that bidder's bids
# (tests/oracle) over the same records. Bounded, the open windows fire at the end of input;
# unbounded, the wall clock closes them while the run goes on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nexmark_lib.sh"
events=6000
{ cat <<'SQL'
CREATE TABLE nexmark_q12 (
  bidder BIGINT,
  bid_count BIGINT,
  starttime TIMESTAMP(3),
  endtime TIMESTAMP(3)
);

SQL
  nexmark_query 12; } > q12.query

# the input, copied into a stream and dumped; DuckDB counts the bids per bidder
nexmark_copy_bids "$events"
echo 'SELECT bidder, count(*) FROM bid GROUP BY bidder' > count.duckdb
node "$oracle/duckdb_query.mjs" bid 'auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, dateTime TIMESTAMP, extra VARCHAR' \
  bids.ndjson count.duckdb > want.counts || fail "DuckDB failed"
[ -s want.counts ] || fail "DuckDB gave no row"

# check_shape FILE: 10-second windows on 10-second boundaries, each (bidder, window) once
check_shape() {
  local bad
  bad=$(jq -r 'select(((.endtime | sub("\\.000$"; "Z") | sub(" "; "T") | fromdate)
                 - (.starttime | sub("\\.000$"; "Z") | sub(" "; "T") | fromdate)) != 10
                or (.starttime | test(":[0-5]0\\.000$") | not)) | tojson' "$1" | head -3)
  [ -z "$bad" ] || fail "$1: windows not 10 s wide on 10 s boundaries: $bad"
  local dups
  dups=$(jq -r '"\(.bidder) \(.starttime)"' "$1" | sort | uniq -d | head -3)
  [ -z "$dups" ] || fail "$1: a (bidder, window) emitted twice: $dups"
}
# per-bidder sums of bid_count, in duckdb_query.mjs's form (sorted JSON arrays of strings)
sums() { jq -s -c 'group_by(.bidder) | map([(.[0].bidder | tostring), (map(.bid_count) | add | tostring)]) | .[]' "$1" | sort; }

# ---- bounded, at a rate (about 3 s of input): windows close by the clock, the rest at the end ----
{ nexmark_bid_ddl 2000 "$events"; cat q12.query; } > q12.sql
"$SLUICED" run --bounded --data-dir d1 q12.sql 2> d1.err || fail "q12 run: $(cat d1.err)"
grep -q "completed: $events records in" d1.err || fail "q12 did not read every bid: $(cat d1.err)"
"$logtool" cat d1/streams/nexmark_q12 > bounded.ndjson
[ -s bounded.ndjson ] || fail "q12 wrote nothing"
check_shape bounded.ndjson
sums bounded.ndjson > bounded.sums
cmp -s want.counts bounded.sums || { diff want.counts bounded.sums | head -5; fail "q12: bids per bidder differ from DuckDB's"; }
echo "q12 bounded: $(wc -l < bounded.ndjson) windows over $(wc -l < want.counts) bidders, counts equal to DuckDB's"

# ---- unbounded input: the wall clock fires windows while the run goes on (no end of input) ----
{ nexmark_bid_ddl 500 0; cat q12.query; } > q12u.sql
bg "$SLUICED" run --data-dir d2 q12u.sql 2> d2.err
pid=${T_PIDS[-1]}
start=$(date +%s)
got=0
for _ in $(seq 1 60); do
  sleep 0.5
  got=$("$logtool" cat d2/streams/nexmark_q12 2>/dev/null | wc -l || true)
  [ "$got" -gt 0 ] && break
done
[ "$got" -gt 0 ] || fail "no processing-time window fired within 30 s of an unbounded run: $(cat d2.err)"
kill -TERM "$pid"; wait "$pid" || true
"$logtool" cat d2/streams/nexmark_q12 > unbounded.ndjson
check_shape unbounded.ndjson
last_end=$(jq -r '.endtime | sub("\\.000$"; "Z") | sub(" "; "T") | fromdate' unbounded.ndjson | sort -n | tail -1)
now=$(date +%s)
[ "$last_end" -le "$now" ] || fail "a window ending at $last_end fired before its end (now $now)"
[ "$last_end" -gt "$start" ] || fail "the windows that fired ended before the run started"
echo "q12 unbounded: $(wc -l < unbounded.ndjson) windows fired by the clock, each 10 s wide, none before its end"
