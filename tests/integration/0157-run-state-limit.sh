#!/usr/bin/env bash
# `sluiced run` with SET 'state.max-bytes': a GROUP BY whose state outgrows the limit stops with
# a clear error naming the operator, its size and the limit (exit status 1, nothing hangs); the
# same pipeline under a limit it fits completes, and a stateless one never hits a limit.
. "$(dirname "$0")/lib.sh"
cd "$TEST_TMP"
logtool="$TOOLS/logtool"
mkdir -p d/streams
# 5000 distinct 100-byte keys: several hundred KiB of group state
awk 'BEGIN { for (i = 0; i < 5000; i++) printf "{\"k\":\"%0100d\",\"v\":%d}\n", i, i }' | "$logtool" append d/streams/src
pipeline() { # LIMIT SELECT
  cat > p.sql <<SQL
CREATE TABLE src (k STRING, v BIGINT);
CREATE TABLE out (k STRING, n BIGINT, PRIMARY KEY (k) NOT ENFORCED);
SET 'state.max-bytes' = '$1';
INSERT INTO out $2;
SQL
  rm -rf d/streams/out d/checkpoints
}
pipeline '100 kb' 'SELECT k, COUNT(*) AS n FROM src GROUP BY k'
if timeout 60 "$SLUICED" run p.sql --data-dir d --bounded 2> err; then fail "a run over its state limit completed"; fi
[ $? -ne 124 ] || fail "the run over its state limit hung"
grep -Eq '^p.sql: INSERT at line 4: state of operator GroupAggregate is [0-9]+ bytes, over the limit of 102400 set by .state.max-bytes.$' err \
  || fail "no clear error: $(cat err)"
n=$(sed -nE 's/.* is ([0-9]+) bytes.*/\1/p' err)
[ "$n" -gt 102400 ] && [ "$n" -lt 400000 ] || fail "state named in the error: $n bytes"

pipeline '64 mb' 'SELECT k, COUNT(*) AS n FROM src GROUP BY k'
"$SLUICED" run p.sql --data-dir d --bounded 2> err || fail "under a limit it fits: $(cat err)"
assert_eq "$("$logtool" cat d/streams/out | wc -l)" 5000 "one row per key"

pipeline '1' 'SELECT k, v AS n FROM src WHERE v >= 0'
"$SLUICED" run p.sql --data-dir d --bounded 2> err || fail "a stateless pipeline hit the limit: $(cat err)"
assert_eq "$("$logtool" cat d/streams/out | wc -l)" 5000 "stateless rows"
echo ok
