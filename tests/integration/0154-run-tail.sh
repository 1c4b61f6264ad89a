#!/usr/bin/env bash
# An unbounded `sluiced run` tails its embedded-log source: records appended while it runs come
# out (here through a 'print' connector sink) and Ctrl-C stops it cleanly.
. "$(dirname "$0")/lib.sh"
cd "$TEST_TMP"
logtool="$TOOLS/logtool"
cat > t.sql <<'SQL'
CREATE TABLE src (n BIGINT, s STRING);
CREATE TABLE shout (n BIGINT, s STRING) WITH ('connector' = 'print');
INSERT INTO shout SELECT n * 10 AS n, UPPER(s) AS s FROM src WHERE n > 0;
SQL
mkdir -p d/streams
seq 0 99 | sed 's/.*/{"n":&,"s":"r&"}/' | "$logtool" append d/streams/src
"$SLUICED" run t.sql --data-dir d > out.jsonl 2> run.err & pid=$!; T_PIDS+=($pid)
lines() { [ "$(wc -l < out.jsonl)" -ge "$1" ]; }
wait_for 20 lines 99 || fail "first batch not printed: $(cat run.err)"
seq 100 149 | sed 's/.*/{"n":&,"s":"r&"}/' | "$logtool" append d/streams/src
wait_for 20 lines 149 || fail "appended records not picked up: $(wc -l < out.jsonl) lines"
kill -INT $pid
wait $pid || fail "run exited $? on Ctrl-C"
assert_eq "$(wc -l < out.jsonl)" 149 "each record printed once"
assert_eq "$(tail -n 1 out.jsonl)" '+I {"n":1490,"s":"R149"}' "last record"
assert_eq "$(head -n 1 out.jsonl)" '+I {"n":10,"s":"R1"}' "first record"
# two unbounded INSERTs run side by side, each line printed whole
cat > two.sql <<'SQL'
CREATE TABLE src (n BIGINT, s STRING);
CREATE TABLE a (n BIGINT) WITH ('connector' = 'print');
CREATE TABLE b (s STRING, n BIGINT) WITH ('connector' = 'print');
INSERT INTO a SELECT n FROM src;
INSERT INTO b SELECT s, n FROM src;
SQL
mkdir -p d2/streams
seq 1 250 | sed 's/.*/{"n":&,"s":"r&"}/' | "$logtool" append d2/streams/src
"$SLUICED" run two.sql --data-dir d2 > two.jsonl 2> two.err & pid=$!; T_PIDS+=($pid)
seq 251 500 | sed 's/.*/{"n":&,"s":"r&"}/' | "$logtool" append d2/streams/src
lines2() { [ "$(wc -l < two.jsonl)" -ge 1000 ]; }
wait_for 20 lines2 || fail "two inserts printed $(wc -l < two.jsonl) of 1000 lines: $(cat two.err)"
kill -INT $pid
wait $pid || fail "two-insert run exited $? on Ctrl-C"
sed -i 's/^+I //' two.jsonl
assert_eq "$(jq -c 'select(has("s") | not)' two.jsonl | wc -l)" 500 "first insert's lines"
assert_eq "$(jq -c 'select(has("s"))' two.jsonl | wc -l)" 500 "second insert's lines"
echo ok
