#!/usr/bin/env bash
# Exactly-once across SIGKILL: a stateless and a windowed pipeline over 200k bids in an embedded
# log, killed at random points and restarted each time (at least 20 kills that interrupt a run
# while it writes, several restarts resuming from a checkpoint), produce byte for byte the
# records (and dead letters) of an uninterrupted run (no loss, no duplicates).
. "$(dirname "$0")/lib.sh"
skip_under_san "its kills land 10-299 ms into a run, which the release build is past start-up by and the ASan build is not (no kill lands, and the uninterrupted runs outlast the test's time limit)"
cd "$TEST_TMP"
logtool="$TOOLS/logtool"
cat > pipe.sql <<'SQL'
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  dateTime TIMESTAMP(3), extra STRING, WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND);
CREATE TABLE conv (auction BIGINT, bidder BIGINT, price DOUBLE, dateTime TIMESTAMP(3))
  WITH ('segment.bytes' = '500000');
CREATE TABLE hops (auction BIGINT, num BIGINT, window_start TIMESTAMP(3), window_end TIMESTAMP(3))
  WITH ('segment.bytes' = '300000');
INSERT INTO conv SELECT auction, bidder, 0.908 * price AS price, dateTime FROM bid WHERE MOD(bidder, 3) <> 0;
INSERT INTO hops SELECT auction, COUNT(*) AS num, window_start, window_end FROM
  TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
  GROUP BY auction, window_start, window_end;
SQL
# 200k bids with 40 malformed records in the middle (dead-lettered: the dead-letter stream is
# compared too)
new_input() {
  rm -rf "$1"; mkdir -p "$1/streams"
  "$logtool" gen "$1/streams/bid" bid 100000 3
  for i in $(seq 1 20); do echo "{\"auction\": broken $i"; echo "{\"auction\":\"x$i\"}"; done | "$logtool" append "$1/streams/bid"
  "$logtool" gen "$1/streams/bid" bid 100000 3
}
# exec: SIGKILL must hit sluiced itself, not a subshell around it
run() { exec "$SLUICED" run pipe.sql --data-dir "$1" --bounded --checkpoint-records 5000 --checkpoint-ms 50 \
  --error-policy dead_letter --dead-letter dlq; }

new_input ref
(run ref) 2> ref.err || { cat ref.err; fail "uninterrupted run failed"; }
"$logtool" cat ref/streams/conv > ref.conv
"$logtool" cat ref/streams/hops > ref.hops
"$logtool" cat ref/streams/dlq > ref.dlq
assert_eq "$(wc -l < ref.dlq)" 80 "each insert dead-letters the 40 bad records"
[ "$(wc -l < ref.conv)" -gt 100000 ] || fail "reference stateless output too small"
[ "$(wc -l < ref.hops)" -gt 10000 ] || fail "reference windowed output too small"
[ "$(ls ref/streams/conv/0 | wc -l)" -gt 10 ] || fail "the sink should roll segments (rollback across them is tested)"

# A kill counts only when it interrupted real work: the run had not completed (its two INSERTs
# had not both finished, or found their work already done) and the sinks had grown past their
# size at the previous kill. A restart first rolls the sinks back to its checkpoints, which are
# at or before that size, so growth means the run got through start-up and wrote records.
sink_records() { echo $(( $("$logtool" end k/streams/conv 2>/dev/null || echo 0) + \
  $("$logtool" end k/streams/hops 2>/dev/null || echo 0) )); }
kills=0 attempts=0
while [ $kills -lt 20 ]; do
  attempts=$((attempts + 1)); [ $attempts -le 8 ] || fail "only $kills kills landed in $attempts attempts"
  new_input k
  kill_on_progress 20 # each run killed once its output has grown past the last kill's
  # finish whatever is left without interruption, then compare
  (run k) 2>> k.err || { tail k.err; fail "the final restart failed"; }
  "$logtool" cat k/streams/conv > k.conv
  "$logtool" cat k/streams/hops > k.hops
  cmp -s ref.conv k.conv || fail "stateless output differs after $kills kills ($(wc -l < k.conv) vs $(wc -l < ref.conv) records)"
  cmp -s ref.hops k.hops || fail "windowed output differs after $kills kills ($(wc -l < k.hops) vs $(wc -l < ref.hops) records)"
  "$logtool" cat k/streams/dlq > k.dlq
  cmp -s ref.dlq k.dlq || fail "dead letters differ after $kills kills ($(wc -l < k.dlq) vs 80)"
  echo "attempt $attempts: identical output, $kills kills so far"
done
# resumed past the start of the input (a completed INSERT's checkpoint resumes at offset 0)
resumes=$(grep -cE "resumed from checkpoint .* offset [1-9]" k.err || true)
[ "$resumes" -ge 10 ] || fail "only $resumes restarts resumed from a checkpoint"
echo "ok: $kills kills, $resumes resumes from a checkpoint"
