#!/usr/bin/env bash
# Nexmark q13 exactly as Flink publishes it (/work/nexmark-queries/q13.sql, kept in
# bench/nexmark/q13.sql, the same file): its side input through Flink's legacy filesystem DDL
# ('connector.type' = 'filesystem', 'connector.path' = 'file://${FLINK_HOME}/data/side_input.txt',
# 'format.type' = 'csv'), only ${FLINK_HOME} substituted, side_input.txt a CSV file the test
# writes (keys 0..9999 but those = 3 mod 7, some values quoted with a comma or a quote in them).
# The bids come from datagen. Run unbounded, the side input (a bounded file) is read to its end
# before the first bid; the output is compared with DuckDB's join of the same bids and the same
# CSV file (DuckDB reads the file itself). Only the sink's DDL is adapted for the comparison
# (blackhole becomes an embedded log); the file as published, blackhole sink and all, also runs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nexmark_lib.sh" # (it changes to $TEST_TMP)
published="$SLUICE_ROOT/bench/nexmark/q13.sql"
[ -f "$published" ] || fail "missing $published"
bids=5520
nexmark_copy_bids $bids
flink_home="$PWD/flink"
mkdir -p "$flink_home/data"
awk 'BEGIN { for (k = 0; k < 10000; k++) if (k % 7 != 3) {
  v = "v" (k * 31 % 1000); if (k % 11 == 0) v = "\"" v ", eleven\""; else if (k % 13 == 0) v = "\"" v " \"\"q\"\"\""
  print k "," v } }' > "$flink_home/data/side_input.txt"
side_rows=$(wc -l < "$flink_home/data/side_input.txt")
sed "s|\${FLINK_HOME}|$flink_home|g" "$published" > q13_published.sql
grep -q "file://$flink_home/data/side_input.txt" q13_published.sql || fail "FLINK_HOME not substituted"
# the sink: an embedded log instead of blackhole (the only change but FLINK_HOME)
sed "/^CREATE TABLE nexmark_q13/,/;/{/'connector' = 'blackhole'/d; /^);\$/d; s/^) WITH (\$/);/}" q13_published.sql > q13_log.sql
assert_eq "$(diff q13_published.sql q13_log.sql | grep '^[<>]' | tr -d ' ')" "<)WITH(
<'connector'='blackhole'" "the change to the published file (the sink's WITH)"
run_q13() { # run_q13 NAME FILE
  { nexmark_bid_ddl 0 $bids; cat "$2"; } > "$1.sql"
  "$SLUICED" run "$1.sql" --data-dir "$1" 2> "$1.err" || fail "$1 run: $(cat "$1.err")"
  grep -q "completed: $((bids + side_rows)) records in" "$1.err" || fail "$1 did not read every record: $(cat "$1.err")"
}
run_q13 q13 q13_log.sql
"$logtool" changelog q13/streams/nexmark_q13 | node "$oracle/final_table.mjs" - > q13.got || fail "q13: reading its output"
cat > q13.duckdb <<SQL
SELECT B.auction, B.bidder, B.price, strftime(B.dateTime, '%Y-%m-%d %H:%M:%S.%g'), S.value
  FROM bid B JOIN read_csv('$flink_home/data/side_input.txt', header = false, quote = '"', escape = '"',
    columns = {'key': 'BIGINT', 'value': 'VARCHAR'}) S ON B.auction % 10000 = S.key
SQL
node "$oracle/duckdb_query.mjs" bid "$bid_columns" bids.ndjson q13.duckdb > q13.want || fail "q13: DuckDB failed"
[ "$(wc -l < q13.want)" -gt 4000 ] || fail "q13: too few rows in DuckDB's result"
grep -q 'eleven' q13.want || fail "q13: no quoted value with a comma joined"
cmp -s q13.want q13.got || { diff q13.want q13.got | head -5; fail "q13: the result differs from DuckDB's"; }
echo "q13 (filesystem side input): $(wc -l < q13.got) rows, equal to DuckDB's"
# the published file itself, its sink Flink's blackhole: every joined row taken, none kept
run_q13 q13_blackhole q13_published.sql
grep -q "completed: $((bids + side_rows)) records in, $(wc -l < q13.want) out, 0 errors" q13_blackhole.err ||
  fail "q13 as published did not write DuckDB's rows to its blackhole: $(cat q13_blackhole.err)"
[ ! -e q13_blackhole/streams/nexmark_q13 ] || fail "the blackhole sink kept its rows"
echo "q13 as published (blackhole sink): $(wc -l < q13.want) rows taken"
echo "ok"
