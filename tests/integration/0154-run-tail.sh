#!/usr/bin/env bash
# An unbounded `sluiced run` tails its embedded-log source: records appended while it runs come
# out (here through a 'print' connector sink) and Ctrl-C stops it cleanly.
. "$(dirname "$0")/lib.sh"
cd "$TEST_TMP"
logtool="$SLUICE_ROOT/${BUILD:-build}/rel/tests/tools/logtool"
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
assert_eq "$(tail -n 1 out.jsonl)" '{"n":1490,"s":"R149"}' "last record"
assert_eq "$(head -n 1 out.jsonl)" '{"n":10,"s":"R1"}' "first record"
echo ok
