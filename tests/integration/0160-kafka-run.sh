#!/usr/bin/env bash
# `sluiced run` with Kafka streams on a mock cluster (tests/tools/kafka_mock, the real protocol):
# a bounded pipeline Kafka → SQL → Kafka and Kafka → SQL → embedded log, output compared record
# by record with jq's answer; malformed records in the topic skipped or dead-lettered (to a
# Kafka topic) with their partition and offset; startup mode latest-offset; clear errors for a
# missing topic, a missing bootstrap server and a bad option; METADATA columns (headers as a
# JSON object, timestamp, offset, partition, topic) written and read back, checked against the
# raw records, and their errors at their place in the file; the lean sluiced-worker without
# librdkafka, refusing a kafka connection with a clear error.
. "$(dirname "$0")/lib.sh"
cd "$TEST_TMP"
kmock="$TOOLS/kafka_mock"
logtool="$TOOLS/logtool"

bg "$kmock" serve bids:2 pricey dlq scratch hsrc hdr >servers.txt
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

# METADATA columns: a sink writes headers (a JSON object: text, base64 bytes, null) and the
# timestamp, and leaves them and a VIRTUAL column out of the value; the raw records say so
printf '%s\n' '{"id":1,"h":"{\"trace\":\"abc\",\"bin\":{\"base64\":\"/wA=\"},\"n\":null}","ts":"2026-01-02 03:04:05.678"}' \
  '{"id":2,"h":null,"ts":null}' '{"id":3,"h":"{\"trace\":\"d;e\"}","ts":"2026-01-02 03:04:06.000"}' |
  "$kmock" produce "$BS" hsrc || fail "produce hsrc"
cat >mw.sql <<SQL
CREATE TABLE hsrc (id BIGINT, h STRING, ts TIMESTAMP(3)) WITH ('connector' = 'kafka', 'topic' = 'hsrc',
  'properties.bootstrap.servers' = '$BS');
CREATE TABLE hdr (id BIGINT, headers STRING METADATA, t TIMESTAMP(3) METADATA FROM 'timestamp',
  p BIGINT METADATA FROM 'partition' VIRTUAL) WITH ('connector' = 'kafka', 'topic' = 'hdr', 'properties.bootstrap.servers' = '$BS');
INSERT INTO hdr SELECT id, h, ts, 7 FROM hsrc;
SQL
"$SLUICED" run mw.sql --data-dir mw --bounded 2>mw.err || fail "metadata sink: $(cat mw.err)"
"$kmock" headers "$BS" hdr >hdr.raw
assert_eq "$(sed -n 1p hdr.raw)" "$(printf '1767323045678\ttrace=abc;bin=\\xff\\x00;n\t{"id":1}')" "headers and time written"
assert_eq "$(sed -n 2p hdr.raw | cut -f2-)" "$(printf '\t{"id":2}')" "no headers, the producer's time"
assert_eq "$(sed -n 3p hdr.raw)" "$(printf '1767323046000\ttrace=d\\x3be\t{"id":3}')" "one header"
# a source reads them back with offset, partition, topic and the timestamp's type
cat >mr.sql <<SQL
CREATE TABLE hdr (id BIGINT, headers STRING METADATA, t TIMESTAMP(3) METADATA FROM 'timestamp',
  o BIGINT METADATA FROM 'offset', p BIGINT METADATA FROM 'partition' VIRTUAL, tt STRING METADATA FROM 'timestamp-type',
  tp STRING METADATA FROM 'topic') WITH ('connector' = 'kafka', 'topic' = 'hdr', 'properties.bootstrap.servers' = '$BS');
CREATE TABLE mout (id BIGINT, trace STRING, bin STRING, t TIMESTAMP(3), o BIGINT, p BIGINT, tt STRING, tp STRING);
INSERT INTO mout SELECT id, JSON_VALUE(headers, '\$.trace'), JSON_VALUE(headers, '\$.bin.base64'), t, o, p, tt, tp FROM hdr;
SQL
"$SLUICED" run mr.sql --data-dir mr --bounded 2>mr.err || fail "metadata source: $(cat mr.err)"
"$logtool" cat mr/streams/mout | jq -c 'del(.t)' >mout.out
jq -nc '{id: 1, trace: "abc", bin: "/wA=", o: 0}, {id: 2, trace: null, bin: null, o: 1}, {id: 3, trace: "d;e", bin: null, o: 2}
  | . + {p: 0, tt: "CreateTime", tp: "hdr"}' >mout.want
diff mout.want mout.out >/dev/null || fail "metadata read back: $(diff mout.want mout.out | head -5)"
assert_eq "$("$logtool" cat mr/streams/mout | jq -r .t | sed -n 1p)" "2026-01-02 03:04:05.678" "timestamp read back"
echo "METADATA columns: headers, timestamp written; read back with offset, partition, topic"
# their errors, each at its place in the file
metadata_error() { # WHAT COLUMN_DECLARATION CONNECTOR_OPTIONS EXPECTED
  printf 'CREATE TABLE m (id BIGINT,\n  %s) WITH (%s);\nINSERT INTO m SELECT * FROM m;\n' "$2" "$3" >me.sql
  "$SLUICED" run me.sql --data-dir me --bounded 2>me.err && fail "$1 accepted"
  assert_contains "$(cat me.err)" "$4" "$1"
}
kopts="'connector' = 'kafka', 'topic' = 'hdr', 'properties.bootstrap.servers' = '$BS'"
metadata_error "unknown key" "e STRING METADATA FROM 'leader-epoch'" "$kopts" \
  "me.sql: line 2, column 3: stream \"m\": connector kafka has no metadata key 'leader-epoch'; it has 'headers', 'timestamp', 'timestamp-type', 'offset', 'partition', 'topic'"
metadata_error "wrong type" "o STRING METADATA FROM 'offset'" "$kopts" \
  "me.sql: line 2, column 3: stream \"m\": metadata column \"o\" ('offset') must be BIGINT, not STRING"
metadata_error "a log's metadata" "headers STRING METADATA" "'partitions' = '1'" \
  "me.sql: line 2, column 3: stream \"m\": connector of an embedded log has no metadata key 'headers'"
metadata_error "a MAP" "headers MAP<STRING, STRING> METADATA" "$kopts" \
  "me.sql: line 2, column 11: type MAP is not supported: declare the column STRING"

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
