#!/usr/bin/env bash
# Exactly-once across SIGKILL for temporal joins: an event-time join of 60k orders with a
# versioned table (6k versions with deletes) and a processing-time lookup of 69k bids into a
# 10k-row table (q13's form), over embedded logs, killed at random points and restarted each time
# (at least 8 kills that interrupt a run while it writes; restarts resume from checkpoints that
# hold the waiting orders, the versions and the loaded table), produce the records of an
# uninterrupted run: the same rows, nothing lost, nothing duplicated.
. "$(dirname "$0")/lib.sh"
skip_under_san "its kills land 10-299 ms into a run, which the release build is past start-up by and the ASan build is not"
cd "$TEST_TMP"
logtool="$TOOLS/logtool"
ts='function ts(ms) { return sprintf("2024-01-01 %02d:%02d:%02d.%03d", int(ms / 3600000), int(ms / 60000) % 60, int(ms / 1000) % 60, ms % 1000) }'
awk "$ts"' BEGIN { for (i = 0; i < 6000; i++)
  printf "%s{\"currency\":\"C%d\",\"rate\":%d,\"rt\":\"%s\"}\n", i % 13 == 12 ? "-D" : "", i * 7 % 23, i, ts(i * 200) }' > rates.log
awk "$ts"' BEGIN { for (j = 0; j < 60000; j++)
  printf "{\"id\":%d,\"currency\":\"C%d\",\"amount\":%d,\"ot\":\"%s\"}\n", j, j * 5 % 25, j % 7, ts(j * 20 + 7) }' > orders.log
awk 'BEGIN { for (k = 0; k < 10000; k++) if (k % 7 != 3) printf "{\"key\":%d,\"value\":\"v%d\"}\n", k, k * 31 % 1000 }' > side.log
cat > pipe.sql <<'SQL'
CREATE TABLE orders (id BIGINT, currency STRING, amount BIGINT, ot TIMESTAMP(3),
  WATERMARK FOR ot AS ot - INTERVAL '1' SECOND);
CREATE TABLE rates (currency STRING, rate BIGINT, rt TIMESTAMP(3), PRIMARY KEY (currency) NOT ENFORCED,
  WATERMARK FOR rt AS rt - INTERVAL '1' SECOND);
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  dateTime TIMESTAMP(3), extra STRING, WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND);
CREATE TABLE side_input (key BIGINT, `value` STRING);
CREATE TABLE enriched (id BIGINT, currency STRING, rate BIGINT, amount BIGINT) WITH ('segment.bytes' = '300000');
CREATE TABLE bid_side (auction BIGINT, bidder BIGINT, price BIGINT, `value` STRING) WITH ('segment.bytes' = '300000');
INSERT INTO enriched SELECT o.id, o.currency, r.rate, o.amount
  FROM orders AS o LEFT JOIN rates FOR SYSTEM_TIME AS OF o.ot AS r ON o.currency = r.currency;
INSERT INTO bid_side SELECT B.auction, B.bidder, B.price, S.`value`
  FROM (SELECT *, PROCTIME() AS p_time FROM bid) B JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S
  ON MOD(B.auction, 10000) = S.key;
SQL
new_input() {
  rm -rf "$1"; mkdir -p "$1/streams"
  "$logtool" append "$1/streams/rates" < rates.log
  "$logtool" append "$1/streams/orders" < orders.log
  "$logtool" append "$1/streams/side_input" < side.log
  "$logtool" gen "$1/streams/bid" bid 69000 5
}
# exec: SIGKILL must hit sluiced itself, not a subshell around it
run() { exec "$SLUICED" run pipe.sql --data-dir "$1" --bounded --checkpoint-records 5000 --checkpoint-ms 200; }

new_input ref
"$SLUICED" run pipe.sql --data-dir ref --bounded 2> ref.err || { cat ref.err; fail "uninterrupted run failed"; }
for s in enriched bid_side; do "$logtool" cat "ref/streams/$s" | sort > "ref.$s"; done
assert_eq "$(wc -l < ref.enriched)" 60000 "orders of the reference run (a LEFT JOIN keeps each)"
[ "$(wc -l < ref.bid_side)" -gt 50000 ] || fail "reference lookup output too small ($(wc -l < ref.bid_side))"
grep -q '"rate":null' ref.enriched || fail "no order of the reference run went without a version"

sink_records() { echo $(( $("$logtool" end k/streams/enriched 2>/dev/null || echo 0) + \
  $("$logtool" end k/streams/bid_side 2>/dev/null || echo 0) )); }
kills=0 attempts=0
# (at least 8 kills mid-run over at most 12 attempts: 12 in 8 missed by one on a clean clone)
while [ $kills -lt 8 ]; do
  attempts=$((attempts + 1)); [ $attempts -le 12 ] || fail "only $kills kills landed in $attempts attempts"
  new_input k
  kill_on_progress 12 # each run killed once its output has grown past the last kill's
  (run k) 2>> k.err || { tail k.err; fail "the final restart failed"; }
  for s in enriched bid_side; do
    "$logtool" cat "k/streams/$s" | sort > "k.$s"
    cmp -s "ref.$s" "k.$s" || fail "$s differs after $kills kills ($(wc -l < "k.$s") vs $(wc -l < "ref.$s") records)"
  done
  echo "attempt $attempts: identical output, $kills kills so far"
done
resumes=$(grep -cE "resumed from checkpoint .* offset [1-9]" k.err || true)
[ "$resumes" -ge 6 ] || fail "only $resumes restarts resumed from a checkpoint"
echo "ok: $kills kills, $resumes resumes from a checkpoint"
