#!/usr/bin/env bash
# Exactly-once across SIGKILL for pipelines that read two streams: an inner join of bids with
# their auctions (append-only) and a GROUP BY over that join into an upsert stream, over ~69k
# bids and 4.5k auctions in embedded logs, killed at random points and restarted each time (at
# least 12 kills that interrupt a run while it writes, restarts resuming from checkpoints that
# hold both inputs' offsets and the join's state), produce the records of an uninterrupted run:
# the same joined rows (no loss, no duplicates; the order in which two inputs interleave is not
# part of the result) and the same final table.
. "$(dirname "$0")/lib.sh"
skip_under_san "its kills land 10-299 ms into a run, which the release build is past start-up by and the ASan build is not"
command -v node >/dev/null || { echo "node not installed"; exit 77; }
oracle="$SLUICE_ROOT/tests/oracle"
cd "$TEST_TMP"
logtool="$TOOLS/logtool"
people=1500
cat > pipe.sql <<'SQL'
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  dateTime TIMESTAMP(3), extra STRING, WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND);
CREATE TABLE auction (id BIGINT, itemName STRING, description STRING, initialBid BIGINT, reserve BIGINT,
  dateTime TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, category BIGINT, extra STRING,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND);
CREATE TABLE joined (auction BIGINT, bidder BIGINT, price BIGINT, seller BIGINT, category BIGINT)
  WITH ('segment.bytes' = '300000');
CREATE TABLE per_seller (seller BIGINT, n BIGINT, total BIGINT, PRIMARY KEY (seller) NOT ENFORCED);
INSERT INTO joined SELECT B.auction, B.bidder, B.price, A.seller, A.category
  FROM bid B JOIN auction A ON B.auction = A.id;
INSERT INTO per_seller SELECT A.seller, COUNT(*) AS n, SUM(B.price) AS total
  FROM bid B JOIN auction A ON B.auction = A.id GROUP BY A.seller;
SQL
new_input() {
  rm -rf "$1"; mkdir -p "$1/streams"
  "$logtool" gen "$1/streams/auction" auction $((people * 3)) 5
  "$logtool" gen "$1/streams/bid" bid $((people * 46)) 5
}
# exec: SIGKILL must hit sluiced itself, not a subshell around it
# (a checkpoint snapshots the join's state whole: every 200 ms, not 0151's 50)
run() { exec "$SLUICED" run pipe.sql --data-dir "$1" --bounded --checkpoint-records 5000 --checkpoint-ms 200; }
final_table() { "$logtool" changelog "$1/streams/per_seller" | node "$oracle/final_table.mjs" seller; }

new_input ref
"$SLUICED" run pipe.sql --data-dir ref --bounded 2> ref.err || { cat ref.err; fail "uninterrupted run failed"; }
"$logtool" cat ref/streams/joined | sort > ref.joined
final_table ref > ref.table
[ "$(wc -l < ref.joined)" -gt 30000 ] || fail "reference join output too small ($(wc -l < ref.joined))"
[ "$(wc -l < ref.table)" -gt 500 ] || fail "reference table too small"

sink_records() { echo $(( $("$logtool" end k/streams/joined 2>/dev/null || echo 0) + \
  $("$logtool" end k/streams/per_seller 2>/dev/null || echo 0) )); }
kills=0 attempts=0
while [ $kills -lt 12 ]; do
  attempts=$((attempts + 1)); [ $attempts -le 8 ] || fail "only $kills kills landed in $attempts attempts"
  new_input k
  kill_on_progress 12 # each run killed once its output has grown past the last kill's
  (run k) 2>> k.err || { tail k.err; fail "the final restart failed"; }
  "$logtool" cat k/streams/joined | sort > k.joined
  final_table k > k.table
  cmp -s ref.joined k.joined || fail "join output differs after $kills kills ($(wc -l < k.joined) vs $(wc -l < ref.joined) records)"
  cmp -s ref.table k.table || fail "the final table differs after $kills kills"
  echo "attempt $attempts: identical output, $kills kills so far"
done
resumes=$(grep -cE "resumed from checkpoint .* offset [1-9]" k.err || true)
[ "$resumes" -ge 6 ] || fail "only $resumes restarts resumed from a checkpoint"
echo "ok: $kills kills, $resumes resumes from a checkpoint"
