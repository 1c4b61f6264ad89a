#!/usr/bin/env bash
# sluiced run on the Nexmark examples (datagen input, --print): q0 passes every bid through,
# and q1, q2, q5, q7 and q11 agree with the same query computed by jq over q0's output.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "jq not installed"; exit 77; }
cd "$TEST_TMP"
ex="$SLUICE_ROOT/examples"
for q in q0 q1 q2 q5 q7 q11; do
  "$SLUICED" run "$ex/$q.sql" --data-dir "data-$q" --print > "$q.out" 2> "$q.err" || { cat "$q.err"; fail "$q failed"; }
  grep -q "completed: 100000 records in" "$q.err" || fail "$q did not complete: $(cat "$q.err")"
  # each line is an insert, "+I {...}" as Flink's print connector writes "+I[...]"
  assert_eq "$(grep -vc '^+I {' "$q.out")" 0 "$q prints insert rows"
  sed -i 's/^+I //' "$q.out"
done
assert_eq "$(wc -l < q0.out)" 100000 "q0 passes every bid"
assert_eq "$(jq -c 'keys_unsorted' q0.out | sort -u)" '["auction","bidder","price","dateTime","extra"]' "q0 columns"

# q1: price * 0.908, the rest unchanged
assert_eq "$(wc -l < q1.out)" 100000 "q1 rows"
bad=$(paste -d '\n' q0.out q1.out | jq -n '[inputs] | [range(0; length; 2) as $i | .[$i] as $a | .[$i+1] as $b
  | select(($b.price - 0.908 * $a.price | fabs) > 1e-6 or $a.auction != $b.auction or $a.dateTime != $b.dateTime)] | length')
assert_eq "$bad" 0 "q1 converts every price"

# q2: exactly the bids whose auction is a multiple of 123, in order
jq -c 'select(.auction % 123 == 0) | {auction, price}' q0.out > q2.expected
[ -s q2.expected ] || fail "q2 expected output is empty"
cmp -s q2.expected q2.out || fail "q2 differs from jq's selection"

# q7: the max price per 10-second tumbling window
jq -s -c 'group_by(.dateTime[0:18]) | map({maxprice: (map(.price) | max),
  window_start: (.[0].dateTime[0:18] + "0.000")}) | .[]' q0.out | sort > q7.expected
jq -c '{maxprice, window_start}' q7.out | sort > q7.actual
cmp -s q7.expected q7.actual || { diff q7.expected q7.actual | head; fail "q7 differs from jq"; }

# q5: every bid counts in 5 hopping windows; one window's per-auction counts match jq
assert_eq "$(jq -s 'map(.num) | add' q5.out)" 500000 "q5 counts each bid in 5 windows"
jq -c 'select(.dateTime >= "2023-11-14 22:13:20.000" and .dateTime < "2023-11-14 22:13:30.000") | .auction' q0.out \
  | sort -n | uniq -c | awk '{print $2, $1}' > q5.expected
jq -r 'select(.window_start == "2023-11-14 22:13:20.000") | "\(.auction) \(.num)"' q5.out | sort -n > q5.actual
[ -s q5.expected ] || fail "q5 expected output is empty"
cmp -s q5.expected q5.actual || { diff q5.expected q5.actual | head; fail "q5 window differs from jq"; }

# q11: per bidder, bids at most the gap apart form one session that ends a gap after its last
# bid. datagen's disorder (< 0.5 s) stays within the 4 s watermark delay, so no bid is late and
# jq over q0's output is a reference. 100000 bids span 10 s, so the example's 10 s gap gives
# one session per bidder; the same query with a 50 ms gap splits and merges sessions.
sed "s/INTERVAL '10' SECOND/INTERVAL '50' MILLISECOND/" "$ex/q11.sql" > q11s.sql
"$SLUICED" run q11s.sql --data-dir data-q11s --print > q11s.out 2> q11s.err || { cat q11s.err; fail "q11s failed"; }
sed -i 's/^+I //' q11s.out
ms='def ms: (.[0:19] + "Z" | strptime("%Y-%m-%d %H:%M:%SZ") | mktime) * 1000 + (.[20:23] | tonumber);'
jq -s -c "$ms"' group_by(.bidder) | map(.[0].bidder as $b | map(.dateTime | ms) | sort
  | reduce .[] as $t ([]; if length > 0 and $t - .[-1].last <= 50 then .[-1].last = $t | .[-1].n += 1
                          else . + [{first: $t, last: $t, n: 1}] end)
  | map({bidder: $b, bid_count: .n, start: .first, end: (.last + 50)})) | flatten | .[]' q0.out | sort > q11s.expected
jq -c "$ms"' {bidder, bid_count, start: (.window_start | ms), end: (.window_end | ms)}' q11s.out | sort > q11s.actual
nbidders=$(jq -r .bidder q11s.expected | sort -u | wc -l)
[ "$(wc -l < q11s.expected)" -gt $((nbidders * 2)) ] || fail "q11 with a 50 ms gap should give several sessions per bidder"
cmp -s q11s.expected q11s.actual || { diff q11s.expected q11s.actual | head; fail "q11 sessions differ from jq"; }
assert_eq "$(wc -l < q11.out)" "$nbidders" "q11: one session per bidder"
assert_eq "$(jq -s 'map(.bid_count) | add' q11.out)" 100000 "q11 counts every bid once"

# a second run of a completed bounded pipeline does nothing (its checkpoint says completed)
"$SLUICED" run "$ex/q0.sql" --data-dir data-q0b > /dev/null 2>&1
"$SLUICED" run "$ex/q0.sql" --data-dir data-q0b 2> again.err
assert_contains "$(cat again.err)" "already completed" "rerun of a completed pipeline"
assert_eq "$("$TOOLS/logtool" end data-q0b/streams/out)" 100000 "sink written once"

# bad input: a missing file, a bad option, bad SQL with its position in the file
"$SLUICED" run nope.sql 2> e1 && fail "missing file accepted"
assert_contains "$(cat e1)" "cannot open nope.sql" "missing file"
"$SLUICED" run "$ex/q0.sql" --frobnicate 2> e2 && fail "bad option accepted"
assert_contains "$(cat e2)" "unknown option" "bad option"
printf "CREATE TABLE a (x BIGINT);\nCREATE TABLE b (x BIGINT);\nINSERT INTO b SELECT y FROM a;\n" > bad.sql
"$SLUICED" run bad.sql --data-dir d 2> e3 && fail "bad SQL accepted"
assert_contains "$(cat e3)" "line 3" "error position in the file"
echo ok
