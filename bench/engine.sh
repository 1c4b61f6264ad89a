#!/usr/bin/env bash
# Engine throughput on Nexmark (shared/NEXMARK.md), pinned to one core: q0, q1, q2, q5-style HOP
# and q7-style TUMBLE from an embedded log of datagen bids to an output log (checkpoints every
# second),
# each beside jq -c doing the same work over the same records as NDJSON (on a sample, scaled
# per record) and a raw read of the log. BASELINE=DIR (a build directory of another checkout,
# e.g. main's build/rel) runs its engine_bench on q0-q7 over the same log, beside ours.
# Then q12e (q12 over event time; BENCH_UPDATING="q12e q15 q16 q17 q18 q19" adds the updating
# queries, which bench/nexmark.sh measures with the whole suite) into an upsert log and into the
# print sink on /dev/null (Flink's figures are with a blackhole sink), beside DuckDB (one thread,
# tests/oracle's @duckdb/node-api) computing the same final results over the same records, and
# the published per-core figures of Flink 1.13 and Feldera.
# Then the RSS of an idle running worker.
# BENCH_BIDS sets the number of bids (default 2,000,000), BENCH_JQ_SAMPLE the jq sample,
# BENCH_UPDATING_BIDS the bids of the updating queries (default 1,000,000).
set -euo pipefail
root=${SLUICE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
build="$root/${BUILD:-build}/rel"
eb="$build/tests/tools/engine_bench"; logtool="$build/tests/tools/logtool"; sluiced="$build/sluiced"
n=${BENCH_BIDS:-2000000}; sample=${BENCH_JQ_SAMPLE:-200000}
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
pin=(); command -v taskset >/dev/null && pin=(taskset -c 0)

"$eb" gen "$work" "$n" > /dev/null
("$logtool" cat "$work/bid" || true) | head -n "$sample" > "$work/sample.ndjson"
head -n $((sample / 10)) "$work/sample.ndjson" > "$work/sample-small.ndjson"
# fields of an engine_bench line: name records wall cpu rate_wall rate_cpu
raw=$("${pin[@]}" "$eb" raw "$work")

declare -A jqprog=(
  [q0]='{auction, bidder, price, dateTime, extra}'
  [q1]='{auction, bidder, price: (0.908 * .price), dateTime, extra}'
  [q2]='select(.auction % 123 == 0) | {auction, price}'
  [q5]='reduce inputs as $b ({}; .["\($b.auction) \($b.dateTime[0:18])"] += 1)'
  [q7]='reduce inputs as $b ({}; .[$b.dateTime[0:18]] = ([.[$b.dateTime[0:18]], $b.price] | max))'
)
declare -A target=([q0]=1500000 [q1]=1500000 [q2]=1500000 [q5]=200000 [q7]=200000)
# jq_rate PROGRAM FLAG FILE RECORDS: records per CPU-second of jq
jq_rate() {
  /usr/bin/time -f "%U %S" -o "$work/jq.time" "${pin[@]}" jq "$2" "$1" "$3" > /dev/null
  awk -v n="$4" '{ printf "%.0f", n / ($1 + $2 + 0.0001) }' "$work/jq.time"
}
fmt() { printf "%.0f" "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
echo "Nexmark, $n bids ($(du -sh "$work/bid" | cut -f1) of embedded log), ${pin[*]:-not pinned (no taskset)}"
echo "raw log read: $(fmt "$(echo "$raw" | awk '{print $6}')") records/CPU-s ($(fmt "$(echo "$raw" | awk '{print $5}')") records/s wall)"
echo "rates are records per CPU-second of the process (user + system); wall-clock rates beside them"
echo "depend on what else shares the core. Targets: 1,500,000/s stateless, 200,000/s windowed."
printf "%-4s %12s %12s %12s %8s %9s %12s  %s\n" query "rec/CPU-s" "rec/s wall" "jq rec/CPU-s" "x jq" "% of raw" target verdict
for q in q0 q1 q2 q5 q7; do
  line=$("${pin[@]}" "$eb" "$q" "$work" 2> /dev/null)
  rate=$(echo "$line" | awk '{print $6}'); wall=$(echo "$line" | awk '{print $5}')
  if [ "$q" = q5 ] || [ "$q" = q7 ]; then jr=$(jq_rate "${jqprog[$q]}" -n "$work/sample-small.ndjson" $((sample / 10)))
  else jr=$(jq_rate "${jqprog[$q]}" -c "$work/sample.ndjson" "$sample"); fi
  verdict=met; [ "$rate" -ge "${target[$q]}" ] || verdict="short: $((100 * rate / target[$q]))% of target"
  printf "%-4s %12s %12s %12s %7.1fx %8.1f%% %12s  %s\n" "$q" "$(fmt "$rate")" "$(fmt "$wall")" "$(fmt "$jr")" \
    "$(echo "$rate / $jr" | bc -l)" "$(echo "100 * $rate / $(echo "$raw" | awk '{print $6}')" | bc -l)" \
    "$(fmt "${target[$q]}")" "$verdict"
done
echo "(jq -c over the first $sample records as NDJSON, q5/q7 over $((sample / 10)) with reduce; q5's jq counts"
echo " per auction in tumbling windows, the nearest plain jq gets to a hop)"
if [ -n "${BASELINE:-}" ] && [ -x "$BASELINE/tests/tools/engine_bench" ]; then
  echo "baseline $BASELINE: q0-q7 over the same log, runs alternated, best of 2 each (rec/CPU-s)"
  printf "%-4s %12s %12s %8s\n" query ours baseline change
  for q in q0 q1 q2 q5 q7; do
    ours=0; base=0
    for _ in 1 2; do
      rm -rf "$work/out-$q" "$work/$q.ckpt"
      r=$("${pin[@]}" "$eb" "$q" "$work" 2> /dev/null | awk '{print $6}'); [ "$r" -gt "$ours" ] && ours=$r
      rm -rf "$work/out-$q" "$work/$q.ckpt"
      r=$("${pin[@]}" "$BASELINE/tests/tools/engine_bench" "$q" "$work" 2> /dev/null | awk '{print $6}'); [ "$r" -gt "$base" ] && base=$r
    done
    printf "%-4s %12s %12s %+7.1f%%\n" "$q" "$(fmt "$ours")" "$(fmt "$base")" "$(echo "100 * ($ours - $base) / $base" | bc -l)"
  done
fi

# ---- updating queries and q12's event-time twin, beside DuckDB and the published figures ----
nu=${BENCH_UPDATING_BIDS:-1000000}
oracle="$root/tests/oracle"
mkdir -p "$work/u"
"$eb" gen "$work/u" "$nu" > /dev/null
have_duckdb=0
if command -v node > /dev/null && [ -d "$oracle/node_modules/@duckdb/node-api" ]; then
  have_duckdb=1
  "$logtool" cat "$work/u/bid" > "$work/u/bids.ndjson"
fi
q15_aggs="count(*), count(*) FILTER (WHERE price < 10000), count(*) FILTER (WHERE price >= 10000 AND price < 1000000),
  count(*) FILTER (WHERE price >= 1000000), count(DISTINCT bidder), count(DISTINCT bidder) FILTER (WHERE price < 10000),
  count(DISTINCT bidder) FILTER (WHERE price >= 10000 AND price < 1000000), count(DISTINCT bidder) FILTER (WHERE price >= 1000000),
  count(DISTINCT auction), count(DISTINCT auction) FILTER (WHERE price < 10000),
  count(DISTINCT auction) FILTER (WHERE price >= 10000 AND price < 1000000), count(DISTINCT auction) FILTER (WHERE price >= 1000000)"
declare -A duck=(
  [q12e]="SELECT bidder, count(*), time_bucket(INTERVAL '10 seconds', dateTime) AS ws FROM bid GROUP BY bidder, ws"
  [q15]="SELECT strftime(dateTime, '%Y-%m-%d') AS day, $q15_aggs FROM bid GROUP BY day"
  [q16]="SELECT channel, strftime(dateTime, '%Y-%m-%d') AS day, max(strftime(dateTime, '%H:%M')), $q15_aggs FROM bid GROUP BY channel, day"
  [q17]="SELECT auction, strftime(dateTime, '%Y-%m-%d') AS day, count(*), count(*) FILTER (WHERE price < 10000),
    count(*) FILTER (WHERE price >= 10000 AND price < 1000000), count(*) FILTER (WHERE price >= 1000000),
    min(price), max(price), sum(price) // count(price), sum(price) FROM bid GROUP BY auction, day"
  [q18]="SELECT * FROM bid QUALIFY ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY dateTime DESC) = 1"
  [q19]="SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rank_number FROM bid QUALIFY rank_number <= 10"
)
declare -A flink=([q15]=72000 [q16]=19000 [q17]=117000 [q18]=54000 [q19]=44000)
declare -A feldera=([q15]=221000 [q16]=51000 [q17]=242000 [q18]=85000 [q19]=75000)
echo
echo "q12e (q12 over event time) and the queries of BENCH_UPDATING, $nu bids, records per CPU-second."
echo "\"upsert log\": into an embedded-log upsert stream (keyed, compacted); \"print\": the print sink on /dev/null,"
echo "as Flink's blackhole. DuckDB: one thread, the final result over the same records (loading not counted)."
echo "Flink 1.13 and Feldera: their published per-core figures. Goal: twice Feldera's."
printf "%-5s %12s %12s %12s %10s %10s %10s  %s\n" query "upsert log" print DuckDB "Flink" Feldera goal verdict
for q in ${BENCH_UPDATING:-q12e}; do
  r=()
  for sink in log print; do
    rm -rf "$work/u/out-$q" "$work/u/$q.ckpt"
    r+=("$(BENCH_SINK=$sink "${pin[@]}" "$eb" "$q" "$work/u" 2> /dev/null | awk '{print $6}')")
  done
  dr=-
  if [ "$have_duckdb" = 1 ]; then
    echo "${duck[$q]}" > "$work/u/$q.duckdb"
    dr=$("${pin[@]}" node "$root/bench/duckdb_rate.mjs" "$work/u/bids.ndjson" "$work/u/$q.duckdb" | awk '{print $1}')
    dr=$(fmt "$dr")
  fi
  if [ -n "${feldera[$q]:-}" ]; then
    goal=$((2 * feldera[$q])); best=${r[1]}; [ "${r[0]}" -gt "$best" ] && best=${r[0]}
    verdict="log $((100 * r[0] / goal))%, print $((100 * r[1] / goal))% of goal"
    printf "%-5s %12s %12s %12s %10s %10s %10s  %s\n" "$q" "$(fmt "${r[0]}")" "$(fmt "${r[1]}")" "$dr" \
      "$(fmt "${flink[$q]}")" "$(fmt "${feldera[$q]}")" "$(fmt "$goal")" "$verdict"
  else
    printf "%-5s %12s %12s %12s %10s %10s %10s\n" "$q" "$(fmt "${r[0]}")" "$(fmt "${r[1]}")" "$dr" - - -
  fi
done

# RSS of an idle worker: an unbounded pipeline over an empty stream, after it settles
mkdir -p "$work/idle/streams"
jq -n --arg dir "$work/idle" '{task_id:"idle", tenant_id:"bench", data_dir:$dir, kind:"pipeline",
  sql:"INSERT INTO out SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0",
  streams:[{name:"bid", dir:"streams/bid", schema:{fields:[{name:"auction",type:"BIGINT"},{name:"price",type:"BIGINT"}]}},
           {name:"out", dir:"streams/out", schema:{fields:[{name:"auction",type:"BIGINT"},{name:"price",type:"BIGINT"}]}}]}' \
  > "$work/idle.json"
# the binary the controlplane runs: sluiced-worker (the worker alone) when built
worker=("$sluiced" worker); [ -x "$(dirname "$sluiced")/sluiced-worker" ] && worker=("$(dirname "$sluiced")/sluiced-worker")
"${worker[@]}" < "$work/idle.json" > "$work/idle.out" 2>&1 & pid=$!
sleep 3
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
kill -TERM $pid; wait $pid || true
verdict=met; [ "$rss" -lt 8192 ] || verdict=missed
echo "idle worker RSS: $rss KiB (target < 8192 KiB: $verdict; $(basename "${worker[0]}"))"
