#!/usr/bin/env bash
# sluiced worker: a task spec on stdin, JSON lines on stdout (state, heartbeat, metrics, log):
# a bounded pipeline completes (with its metrics; malformed input under the skip policy counts
# one error per bad record), an idle unbounded one heartbeats and stops on SIGTERM, a datagen
# connection fills a stream, and bad specs fail with a reason and exit 1.
. "$(dirname "$0")/lib.sh"
cd "$TEST_TMP"
logtool="$TOOLS/logtool"
mkdir -p data/streams
"$logtool" gen data/streams/bid bid 5000 1
bid_schema='{"fields":[{"name":"auction","type":"BIGINT"},{"name":"bidder","type":"BIGINT"},
  {"name":"price","type":"BIGINT"},{"name":"channel","type":"STRING"},{"name":"url","type":"STRING"},
  {"name":"dateTime","type":"TIMESTAMP(3)"},{"name":"extra","type":"STRING"}],
  "watermark":{"field":"dateTime","delay_ms":4000}}'
out_schema='{"fields":[{"name":"maxprice","type":"BIGINT"},{"name":"window_start","type":"TIMESTAMP(3)"},
  {"name":"window_end","type":"TIMESTAMP(3)"}]}'
spec() { # spec TASK_ID BOUNDED SQL
  jq -n --arg id "$1" --argjson bounded "$2" --arg sql "$3" --arg dir "$TEST_TMP/data" \
    --argjson bs "$bid_schema" --argjson os "$out_schema" \
    '{task_id:$id, tenant_id:"t1", data_dir:$dir, kind:"pipeline", sql:$sql, bounded:$bounded,
      streams:[{name:"bid", dir:"streams/bid", schema:$bs}, {name:"out", dir:("streams/out-" + $id), schema:$os}]}'
}
q7="INSERT INTO out SELECT MAX(price) AS maxprice, window_start, window_end FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) GROUP BY window_start, window_end"

# a bounded pipeline runs to completed
spec bounded true "$q7" | "$SLUICED" worker > bounded.out 2> bounded.err || fail "bounded worker exited $?: $(cat bounded.err)"
assert_eq "$(jq -r 'select(.type=="state") | .state' bounded.out | tr '\n' ' ')" "running completed " "bounded states"
assert_eq "$(jq -s 'map(select(.type=="metrics")) | last | .records_in' bounded.out)" 5000 "records_in"
outs=$("$logtool" end data/streams/out-bounded)
[ "$outs" -ge 1 ] || fail "no windows written"
assert_eq "$(jq -s 'map(select(.type=="metrics")) | last | .records_out' bounded.out)" "$outs" "records_out"
grep '"type":"log"' bounded.out | grep completed >/dev/null || fail "no completion log line"
last_metric() { jq -s "map(select(.type==\"metrics\")) | last | .$2" "$1"; }
[ "$(last_metric bounded.out bytes_in)" -gt 0 ] || fail "bytes_in: $(last_metric bounded.out bytes_in)"
[ "$(last_metric bounded.out bytes_out)" -gt 0 ] || fail "bytes_out: $(last_metric bounded.out bytes_out)"
assert_eq "$(last_metric bounded.out errors)" 0 "no errors on clean input"
assert_eq "$(last_metric bounded.out lag)" 0 "no lag at the end of a bounded run"

# malformed input under the skip policy: each bad record is one error, the rest goes through
# (the wrongly typed field is one the query reads: price)
printf '%s\n' '{"auction":1,"price":5,"dateTime":"2024-01-01 00:00:10.000"}' 'not json' \
  '{"auction":1,"price":"x","dateTime":"2024-01-01 00:00:11.000"}' \
  '{"auction":1,"price":7,"dateTime":"2024-01-01 00:00:30.000"}' '{"auction":1,' | "$logtool" append data/streams/mixed
spec mixed true "$q7" | jq -c '.streams[0].dir = "streams/mixed" | .error_policy = "skip"' \
  | "$SLUICED" worker > mixed.out 2> mixed.err || fail "skip worker failed: $(cat mixed.err)"
assert_eq "$(tail -n 1 mixed.out | jq -r .state)" completed "skip policy completes"
assert_eq "$(last_metric mixed.out records_in)" 5 "records_in counts the bad records"
assert_eq "$(last_metric mixed.out errors)" 3 "one error per bad record"
assert_eq "$(last_metric mixed.out lag)" 0 "no lag at the end"
assert_eq "$(grep -c 'skipped record at partition 0 offset' mixed.out)" 3 "each bad record is logged"
assert_eq "$("$logtool" cat data/streams/out-mixed | jq -r .maxprice | tr '\n' ' ')" "5 7 " "good records go through"

# a record behind the watermark is dropped and counted as late
printf '%s\n' '{"auction":1,"price":5,"dateTime":"2024-01-01 00:00:10.000"}' \
  '{"auction":1,"price":7,"dateTime":"2024-01-01 00:00:30.000"}' \
  '{"auction":1,"price":9,"dateTime":"2024-01-01 00:00:01.000"}' | "$logtool" append data/streams/late
spec late true "$q7" | jq -c '.streams[0].dir = "streams/late"' | "$SLUICED" worker > late.out 2> late.err \
  || fail "late worker failed: $(cat late.err)"
assert_eq "$(jq -s 'map(select(.type=="metrics")) | last | .late' late.out)" 1 "late records counted"
assert_eq "$("$logtool" cat data/streams/out-late | jq -r .maxprice | tr '\n' ' ')" "5 7 " "late record left out"

# an unbounded pipeline with no new input: heartbeats every second, metrics, SIGTERM stops it
spec idle false "$q7" > idle.json
"$SLUICED" worker < idle.json > idle.out 2> idle.err & pid=$!; T_PIDS+=($pid)
wait_for 10 bash -c '[ "$(grep -c heartbeat idle.out)" -ge 3 ]' || fail "no heartbeats: $(cat idle.out idle.err)"
grep -q '"type":"metrics"' idle.out || fail "no metrics"
kill -TERM $pid
wait $pid || fail "worker exited $? on SIGTERM"
assert_eq "$(tail -n 1 idle.out | jq -r .state)" stopped "SIGTERM ends in stopped"
[ -f data/checkpoints/idle.ckpt ] || fail "no checkpoint written"

# a datagen connection fills a stream
jq -n --arg dir "$TEST_TMP/data" --argjson bs "$bid_schema" '{task_id:"gen", tenant_id:"t1", data_dir:$dir,
  kind:"connection", connector:{name:"datagen", properties:{kind:"bid", events:1000, seed:"5"}},
  streams:[{name:"gen", dir:"streams/gen", schema:$bs}]}' | "$SLUICED" worker > gen.out 2> gen.err || fail "connection failed"
assert_eq "$(tail -n 1 gen.out | jq -r .state)" completed "connection completes"
assert_eq "$("$logtool" end data/streams/gen)" 1000 "connection wrote every record"

# bad specs (a missing, ill-typed or unknown field, common/task_spec.h): state failed with a
# reason, exit 1
check_bad() { # check_bad INPUT EXPECTED
  local rc=0; printf '%s' "$1" | "$SLUICED" worker > bad.out 2> bad.err || rc=$?
  assert_eq "$rc" 1 "exit status for [$1]"
  assert_eq "$(tail -n 1 bad.out | jq -r .state)" failed "state for [$1]"
  assert_contains "$(tail -n 1 bad.out | jq -r .error)" "$2" "reason for [$1]"
}
check_bad 'not json' "not a JSON object"
check_bad '{"task_id":"x"}' 'missing field "kind"'
check_bad '{"task_id":"x","kind":"pipeline"}' 'missing field "data_dir"'
check_bad "$(spec unknown true "$q7" | jq -c '.priority=1')" 'unknown field "priority"'
check_bad "$(spec typed true "$q7" | jq -c '.streams[1].partitions="2"')" 'field "partitions" must be an integer (at streams[1].partitions)'
check_bad "$(spec nosql true "$q7" | jq -c 'del(.sql)')" "a pipeline task needs sql"
check_bad "$(spec badsql true 'INSERT INTO out SELECT nope FROM bid' | jq -c .)" 'column "nope" not found'
check_bad "$(spec badkind true "$q7" | jq -c '.kind="batch"')" 'field "kind" must be one of "pipeline", "connection"'
check_bad "$(spec badtype true "$q7" | jq -c '.streams[0].schema.fields[0].type="MONEY"')" 'unknown type "MONEY"'
check_bad "$(spec badpolicy true "$q7" | jq -c '.error_policy="retry"')" "error_policy must be"
echo ok
