#!/usr/bin/env bash
# `sluiced run` with Kafka streams on a mock cluster (tests/tools/kafka_mock, the real protocol):
# a bounded pipeline Kafka → SQL → Kafka and Kafka → SQL → embedded log, output compared record
# by record with jq's answer; malformed records in the topic skipped or dead-lettered (to a
# Kafka topic) with their partition and offset; startup mode latest-offset; clear errors for a
# missing topic, a missing bootstrap server and a bad option; the lean sluiced-worker without
# librdkafka, refusing a kafka connection with a clear error.
. "$(dirname "$0")/lib.sh"
cd "$TEST_TMP"
kmock="$TOOLS/kafka_mock"
logtool="$TOOLS/logtool"

bg "$kmock" serve bids:2 pricey dlq scratch >servers.txt
wait_for 5 test -s servers.txt || fail "mock cluster did not start"
BS=$(cat servers.txt)

# 300 bids over two partitions; partition 0 also holds two malformed records, at offsets 10 and 11
jq -nc 'range(0; 150) | {auction: (1000 + .), bidder: (. % 7), price: ((. * 37) % 500), channel: "web"}' >p0.jsonl
jq -nc 'range(150; 300) | {auction: (1000 + .), bidder: (. % 7), price: ((. * 37) % 500), channel: "app"}' >p1.jsonl
{ head -n 10 p0.jsonl; echo 'not json'; echo '{"auction":"x","bidder":1,"price":5}'; tail -n +11 p0.jsonl; } \
  | "$kmock" produce "$BS" bids 0 || fail "produce p0"
"$kmock" produce "$BS" bids 1 <p1.jsonl || fail "produce p1"

# examples/kafka.sql on this cluster, and a Kafka topic for dead letters
sed "s/localhost:9092/$BS/" "$SLUICE_ROOT/examples/kafka.sql" >p.sql
echo "CREATE TABLE dlq (partition INT) WITH ('connector' = 'kafka', 'topic' = 'dlq', 'properties.bootstrap.servers' = '$BS');" >>p.sql

# fail (the default): stops at the first malformed record, naming it (what it wrote before, to
# a scratch topic, stays: a Kafka sink is at-least-once)
sed "s/'topic' = 'pricey'/'topic' = 'scratch'/" p.sql >fail.sql
"$SLUICED" run fail.sql --data-dir fail --bounded 2>fail.err && fail "malformed records accepted"
assert_contains "$(cat fail.err)" "record at partition 0 offset 10: invalid JSON" "fail names partition and offset"

# skip: the good records, exactly jq's answer
"$SLUICED" run p.sql --data-dir skip --bounded --error-policy skip 2>skip.err || fail "skip run: $(cat skip.err)"
assert_contains "$(cat skip.err)" "skipped record at partition 0 offset 11: field \"auction\": expected an integer" "skip logs"
"$kmock" consume "$BS" pricey | sort >pricey.out
cat p0.jsonl p1.jsonl | jq -c 'select(.price > 250) | {auction, price, cents: (.price * 100)}' | sort >pricey.want
[ -s pricey.want ] || fail "no expected output"
diff pricey.want pricey.out >/dev/null || fail "Kafka → Kafka differs from jq: $(diff pricey.want pricey.out | head -5)"
"$logtool" cat skip/streams/by_bidder | sort >bidder.out
cat p0.jsonl p1.jsonl | jq -c 'select(.bidder == 3) | {bidder, channel: (.channel | ascii_upcase)}' | sort >bidder.want
diff bidder.want bidder.out >/dev/null || fail "Kafka → log differs from jq: $(diff bidder.want bidder.out | head -5)"
echo "Kafka → Kafka: $(wc -l <pricey.out) records, Kafka → log: $(wc -l <bidder.out) records, as jq says"

# a completed bounded run does not run again (its checkpoint says so): no duplicates in Kafka
"$SLUICED" run p.sql --data-dir skip --bounded --error-policy skip 2>again.err || fail "rerun: $(cat again.err)"
assert_eq "$("$kmock" consume "$BS" pricey | wc -l)" "$(wc -l <pricey.want)" "rerun writes nothing"

# dead_letter into a Kafka topic: both malformed records, with partition, offset and reason
"$SLUICED" run p.sql --data-dir dl --bounded --error-policy dead_letter --dead-letter dlq 2>dl.err ||
  fail "dead_letter run: $(cat dl.err)"
"$kmock" consume "$BS" dlq >dlq.out
# two INSERTs read the topic: both reject offset 10; only the first needs offset 11's auction
assert_eq "$(jq -r '"\(.partition):\(.offset)"' dlq.out | sort | uniq -c | awk '{print $1 "x" $2}' | tr '\n' ' ')" \
  "2x0:10 1x0:11 " "dead letters carry partition and offset"
assert_eq "$(jq -r 'select(.offset == 10) | .record' dlq.out | head -1)" "not json" "dead letters carry the record"
assert_contains "$(jq -r 'select(.offset == 11) | .error' dlq.out | head -1)" "expected an integer" "and the reason"

# latest-offset: a bounded run from the end reads nothing
sed 's/earliest-offset/latest-offset/' p.sql >latest.sql
"$SLUICED" run latest.sql --data-dir latest --bounded 2>latest.err || fail "latest run: $(cat latest.err)"
assert_contains "$(cat latest.err)" "completed: 0 records in" "latest-offset starts at the end"

# clear errors
sed 's/topic. = .bids/topic'"'"' = '"'"'nope/' p.sql >nope.sql
"$SLUICED" run nope.sql --data-dir e1 --bounded 2>e1.err && fail "missing topic accepted"
assert_contains "$(cat e1.err)" "kafka topic \"nope\" does not exist at $BS (sluice does not create topics" "missing topic"
sed "0,/'properties.bootstrap.servers'/{/'properties.bootstrap.servers'/d}" p.sql >nobs.sql
"$SLUICED" run nobs.sql --data-dir e2 --bounded 2>e2.err && fail "no bootstrap servers accepted"
assert_contains "$(cat e2.err)" "stream \"bids\": a kafka stream needs 'properties.bootstrap.servers'" "missing servers"
sed "s/'scan.startup.mode' = 'earliest-offset'/'scan.startup.mode' = 'group-offsets'/" p.sql >mode.sql
"$SLUICED" run mode.sql --data-dir e3 --bounded 2>e3.err && fail "bad startup mode accepted"
assert_contains "$(cat e3.err)" "\"scan.startup.mode\" must be earliest-offset | latest-offset | specific-offsets | timestamp, not \"group-offsets\"" "bad mode"

# the lean worker leaves librdkafka out and says so when given a kafka connection
lean="$SLUICE_ROOT/${BUILD:-build}/rel/sluiced-worker"
grep -q rdkafka <<<"$(ldd "$lean")" && fail "sluiced-worker links librdkafka"
grep -q rdkafka <<<"$(ldd "$SLUICED")" || fail "sluiced does not link librdkafka"
spec='{"task_id":"t1","data_dir":"'"$TEST_TMP"'/lean","kind":"connection","streams":[{"name":"s","dir":"s","schema":{"fields":[{"name":"a","type":"BIGINT"}]}}],
  "connector":{"name":"kafka","type":"source","properties":{"topic":"bids","properties.bootstrap.servers":"'"$BS"'"}}}'
"$lean" <<<"$spec" >lean.out 2>&1 && fail "the lean worker ran a kafka connection"
assert_contains "$(cat lean.out)" "this worker binary has no kafka backend" "lean worker error"
"$SLUICED" worker <<<"${spec/\"type\":\"source\"/\"type\":\"both\"}" >both.out 2>&1 && fail "type both accepted"
assert_contains "$(cat both.out)" 'connector kafka cannot be of type \"both\" (it can be: source sink)' "bad type"
echo ok
