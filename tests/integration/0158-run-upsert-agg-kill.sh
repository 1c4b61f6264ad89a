#!/usr/bin/env bash
# Exactly-once across SIGKILL for non-windowed aggregates into upsert streams: GROUP BY bidder
# (COUNT, SUM, MAX) and a HAVING COUNT(*) < 5 (a group leaves the result when it reaches 5 bids:
# a tombstone, -D) over 600k bids (so that a run, faster with mini-batch aggregation, outlasts
# the kill window), killed at random points mid-run and restarted each time (at
# least 3 kills that interrupt a run while it writes, restarts resuming from a checkpoint).
# Afterwards each stream's final table (latest row per key, tombstones applied) equals a clean
# run's, and that equals the table computed here by awk over the input, key by key.
. "$(dirname "$0")/lib.sh"
skip_under_san "its kills land 30-599 ms into a run, which the release build is past start-up by and the ASan build is not"
command -v jq >/dev/null || { echo "jq not installed"; exit 77; }
cd "$TEST_TMP"
logtool="$TOOLS/logtool"
cat > agg.sql <<'SQL'
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  dateTime TIMESTAMP(3), extra STRING);
CREATE TABLE totals (bidder BIGINT, num BIGINT, total BIGINT, top BIGINT, PRIMARY KEY (bidder) NOT ENFORCED)
  WITH ('segment.bytes' = '200000');
CREATE TABLE few (bidder BIGINT, num BIGINT, low BIGINT, PRIMARY KEY (bidder) NOT ENFORCED)
  WITH ('segment.bytes' = '50000');
INSERT INTO totals SELECT bidder, COUNT(*) AS num, SUM(price) AS total, MAX(price) AS top FROM bid GROUP BY bidder;
INSERT INTO few SELECT bidder, COUNT(*) AS num, MIN(price) AS low FROM bid GROUP BY bidder HAVING COUNT(*) < 5;
SQL
new_input() { rm -rf "$1"; mkdir -p "$1/streams"; "$logtool" gen "$1/streams/bid" bid 600000 5; }
# exec: SIGKILL must hit sluiced itself, not a subshell around it
run() { exec "$SLUICED" run agg.sql --data-dir "$1" --bounded --checkpoint-records 3000 --checkpoint-ms 100; }
# the final table of an upsert stream: per key the last +I/+U row unless a -D came after it
# (-U rows do not change an upsert stream's table: a +U of the key follows), as "key json"
table() {
  "$logtool" changelog "$1" | awk -v k="\"$2\":" '{ kind = substr($0, 1, 2); row = substr($0, 4);
      match(row, k "-?[0-9]+"); key = substr(row, RSTART + length(k), RLENGTH - length(k));
      if (kind == "+I" || kind == "+U") state[key] = row; else if (kind == "-D") delete state[key] }
    END { for (key in state) print key, state[key] }' | sort -n
}

new_input ref
(run ref) 2> ref.err || { cat ref.err; fail "uninterrupted run failed"; }
table ref/streams/totals bidder > ref.totals
table ref/streams/few bidder > ref.few
# the clean run's tables against awk over the input
"$logtool" cat ref/streams/bid | jq -r '"\(.bidder) \(.price)"' > bids
awk '{ n[$1]++; s[$1] += $2; if (!($1 in hi) || $2 > hi[$1]) hi[$1] = $2; if (!($1 in lo) || $2 < lo[$1]) lo[$1] = $2 }
  END { for (k in n) printf "%d {\"bidder\":%d,\"num\":%d,\"total\":%.0f,\"top\":%d}\n", k, k, n[k], s[k], hi[k] }' bids \
  | sort -n > want.totals
awk '{ n[$1]++; if (!($1 in lo) || $2 < lo[$1]) lo[$1] = $2 }
  END { for (k in n) if (n[k] < 5) printf "%d {\"bidder\":%d,\"num\":%d,\"low\":%d}\n", k, k, n[k], lo[k] }' bids \
  | sort -n > want.few
cmp -s want.totals ref.totals || fail "clean run's totals differ from awk: $(diff want.totals ref.totals | head -5)"
cmp -s want.few ref.few || fail "clean run's HAVING table differs from awk: $(diff want.few ref.few | head -5)"
[ "$(wc -l < ref.totals)" -gt 1000 ] || fail "too few groups: $(wc -l < ref.totals)"
[ "$(wc -l < ref.few)" -gt 10 ] || fail "too few groups under 5 bids: $(wc -l < ref.few)"
deletes=$("$logtool" changelog ref/streams/few | grep -c '^-D' || true)
[ "$deletes" -gt 0 ] || fail "no tombstone in the HAVING stream (groups that reach 5 bids must leave it)"

# A kill counts when the run had not completed both INSERTs and the sinks had grown past their
# end at the previous kill (a restart first rolls them back to its checkpoint, so growth means
# it got through start-up and wrote records).
sink_records() { echo $(( $("$logtool" end k/streams/totals 2>/dev/null || echo 0) + \
  $("$logtool" end k/streams/few 2>/dev/null || echo 0) )); }
new_input k
kills=0
kill_on_progress 8 # each run killed once its output has grown past the last kill's
(run k) 2>> k.err || { tail k.err; fail "the final restart failed"; }
[ $kills -ge 3 ] || fail "only $kills kills landed"
resumes=$(grep -cE "resumed from checkpoint .* offset [1-9]" k.err || true)
[ "$resumes" -ge 2 ] || fail "only $resumes restarts resumed from a checkpoint ($kills kills): $(grep -c resumed k.err || true) resumed lines"
table k/streams/totals bidder > k.totals
table k/streams/few bidder > k.few
cmp -s ref.totals k.totals || fail "totals differ after $kills kills: $(diff ref.totals k.totals | head -5)"
cmp -s ref.few k.few || fail "HAVING table differs after $kills kills: $(diff ref.few k.few | head -5)"
# nothing written twice: the end offsets (every record ever written) are the clean run's
assert_eq "$("$logtool" end k/streams/totals)" "$("$logtool" end ref/streams/totals)" "totals end offset"
assert_eq "$("$logtool" end k/streams/few)" "$("$logtool" end ref/streams/few)" "HAVING stream end offset"
# compaction ran: the stream holds far fewer records than were written
[ "$("$logtool" cat k/streams/totals | wc -l)" -lt $(( $("$logtool" end k/streams/totals) / 2 )) ] \
  || fail "the killed runs' totals stream was not compacted"
echo "ok: $kills kills, $resumes resumes from a checkpoint"
