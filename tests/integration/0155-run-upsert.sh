#!/usr/bin/env bash
# Upsert streams through `sluiced run`: a sink declared with PRIMARY KEY (...) NOT ENFORCED is an
# upsert stream. The embedded log compacts it to the last record per key (offsets kept, deletes
# as tombstones), and what a reader gets still gives the final table of every row written. Row
# kinds show in --print ("+I {...}") and in logtool's changelog; a bad key is a SQL error with
# its line and column.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "jq not installed"; exit 77; }
cd "$TEST_TMP"
logtool="$SLUICE_ROOT/${BUILD:-build}/rel/tests/tools/logtool"
cat > up.sql <<'SQL'
CREATE TABLE src (id BIGINT, v BIGINT, name STRING);
CREATE TABLE latest (id BIGINT, v BIGINT, name STRING, PRIMARY KEY (id) NOT ENFORCED)
  WITH ('segment.bytes' = '400');
INSERT INTO latest SELECT id, v * 10 AS v, name FROM src;
SQL
# 600 updates of 13 keys, checkpointed every 50 records (each checkpoint commits, and the
# segments committed before it are compacted)
mkdir -p d/streams
gen() { seq "$1" "$2" | awk '{ printf "{\"id\":%d,\"v\":%d,\"name\":\"n%d\"}\n", ($1 * 7) % 13, $1, $1 }'; }
gen 1 600 > in
"$logtool" append d/streams/src < in
"$SLUICED" run up.sql --data-dir d --bounded --checkpoint-records 50 2> run.err || fail "run: $(cat run.err)"
# the final table, computed by awk over the input: the last row of each key
jq -r '"\(.id) \(.v * 10) \(.name)"' < in | awk '{ last[$1] = $0 } END { for (k in last) print last[k] }' \
  | sort -n > want.table
"$logtool" cat d/streams/latest | jq -r '"\(.id) \(.v) \(.name)"' | awk '{ last[$1] = $0 } END { for (k in last) print last[k] }' \
  | sort -n > got.table
cmp -s want.table got.table || { diff want.table got.table | head; fail "the compacted stream's table differs"; }
assert_eq "$(wc -l < got.table)" 13 "one row per key"
# compaction bounded the stream: far fewer records than the 600 written, offsets kept
kept=$("$logtool" cat d/streams/latest | wc -l)
[ "$kept" -lt 150 ] || fail "compaction kept $kept of 600 records"
assert_eq "$("$logtool" end d/streams/latest)" 600 "the end offset counts every record written"
"$logtool" changelog d/streams/latest > changelog
assert_eq "$(cut -c1-3 changelog | sort -u)" "+I " "the rows written are inserts (+I)"
# exactly-once across SIGKILL with compaction on: killed and restarted runs end with the same
# end offset (nothing written twice) and the same table as a clean run
# enough records that a run is still writing when its kill lands (a run of 20,000 could finish
# within the first sleep on an idle machine, and then no kill landed)
gen 1 200000 > big
mkdir -p k/streams
"$logtool" append k/streams/src < big
sed "s/'segment.bytes' = '400'/'segment.bytes' = '8000'/" up.sql > big.sql
# a kill counts when the run had written more than at the previous kill (it was working)
kills=0 before=0
for _ in $(seq 1 60); do
  [ $kills -lt 10 ] || break
  "$SLUICED" run big.sql --data-dir k --bounded --checkpoint-records 500 --checkpoint-ms 20 2>> k.err & pid=$!
  sleep "$(printf '0.%03d' $(( RANDOM % 290 + 10 )))"
  if kill -9 $pid 2>/dev/null; then
    wait $pid 2>/dev/null || true
    after=$("$logtool" end k/streams/latest 2>/dev/null || echo 0)
    [ "$after" -gt "$before" ] && kills=$((kills + 1))
    before=$after
  else wait $pid || { tail k.err; fail "a restarted run failed"; }; break; fi
done
"$SLUICED" run big.sql --data-dir k --bounded 2>> k.err || { tail k.err; fail "the final run failed"; }
[ $kills -ge 3 ] || fail "only $kills kills landed"
assert_eq "$("$logtool" end k/streams/latest)" 200000 "end offset after $kills kills"
jq -r '"\(.id) \(.v * 10) \(.name)"' < big | awk '{ last[$1] = $0 } END { for (k in last) print last[k] }' \
  | sort -n > want.big
"$logtool" cat k/streams/latest | jq -r '"\(.id) \(.v) \(.name)"' | awk '{ last[$1] = $0 } END { for (k in last) print last[k] }' \
  | sort -n > got.big
cmp -s want.big got.big || { diff want.big got.big | head; fail "the table differs after $kills kills"; }
[ "$("$logtool" cat k/streams/latest | wc -l)" -lt 5000 ] || fail "the killed runs' stream was not compacted"

# --print shows each row's kind as Flink's print connector does
mkdir -p p/streams
gen 1 5 | "$logtool" append p/streams/src
"$SLUICED" run up.sql --data-dir p --bounded --print > print.out 2> print.err || fail "print run: $(cat print.err)"
assert_eq "$(head -n 1 print.out)" '+I {"id":7,"v":10,"name":"n1"}' "a printed row with its kind"
# bad keys: SQL errors at their place
bad_key() { # SQL  EXPECTED-MESSAGE
  printf '%s\nINSERT INTO t SELECT * FROM t;\n' "$1" > bad.sql
  if "$SLUICED" run bad.sql --data-dir bad --bounded 2> bad.err; then fail "accepted: $1"; fi
  grep -qF "$2" bad.err || fail "for $1: expected [$2], got: $(cat bad.err)"
}
bad_key "CREATE TABLE t (a BIGINT, PRIMARY KEY (b) NOT ENFORCED);" \
  'bad.sql: line 1, column 40: PRIMARY KEY column "b" is not a column of stream "t"'
bad_key "CREATE TABLE t (a BIGINT, PRIMARY KEY (a));" \
  'bad.sql: line 1, column 42: PRIMARY KEY must be declared NOT ENFORCED (the key is not checked)'
echo ok
