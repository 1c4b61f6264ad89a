#!/usr/bin/env bash
# Idempotent ingest under concurrency (issue 8): six concurrent POSTs of 2000 events with one
# Idempotency-Key write the events exactly once; every request either answers the stored 200
# (the same offsets) or a 409 that wrote nothing. A refused request (one bad event) writes
# nothing and leaves the key free, so a retry with the key writes. A stream created with N
# partitions has all N partition directories at once, so a pipeline reading partition 3 before
# anything was written there finds it (empty).
. "$(dirname "$0")/api_lib.sh"
api_start --data-root "$TEST_TMP/data" --threads 8
signup idem-corp
TOKEN=$KEY
T=$TENANT_ID

fields='[{"name":"id","type":"BIGINT"},{"name":"user","type":"STRING"}]'
S=$(create_id /v1/streams "{\"name\":\"clicks\",\"schema\":{\"fields\":$fields}}")
C=$(create_id /v1/connections '{"name":"web","connector":"http","type":"source","stream":"clicks"}')
call POST "/v1/connections/$C/activate"; expect 200
end_offset() { call GET "/v1/streams/$S/records?limit=1"; jq -r .end_offset <<<"$RESP"; }
assert_eq "$(end_offset)" 0 "empty stream"

# Six concurrent requests, one key, 2000 events each.
# no newline at the end: the replay below sends the same bytes as a string
jq -jcn '{events: [range(2000) | {id: ., user: "u\(. % 7)"}]}' >"$TEST_TMP/batch.json"
send() { # send N KEY: background request N with Idempotency-Key KEY
  curl -sS --cacert "$CACERT" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
    -H "Idempotency-Key: $2" --data-binary @"$TEST_TMP/batch.json" -o "$TEST_TMP/answer$1.json" \
    -w '%{http_code}' "$API/v1/connections/$C/events" >"$TEST_TMP/status$1" &
  pids+=($!)
}
pids=()
for n in 1 2 3 4 5 6; do send "$n" six-at-once; done
for p in "${pids[@]}"; do wait "$p"; done
statuses=""
ok=0
for n in 1 2 3 4 5 6; do
  st=$(cat "$TEST_TMP/status$n")
  statuses="$statuses $st"
  case $st in
    200) ok=$((ok + 1))
         assert_eq "$(jq -c '{accepted,offsets}' "$TEST_TMP/answer$n.json")" \
           '{"accepted":2000,"offsets":{"first":0,"last":1999}}' "request $n answers the one write" ;;
    409) assert_eq "$(jq -r .error.code "$TEST_TMP/answer$n.json")" conflict "request $n's 409" ;;
    *) fail "request $n answered $st: $(cat "$TEST_TMP/answer$n.json")" ;;
  esac
done
echo "statuses:$statuses"
[ "$ok" -ge 1 ] || fail "no request succeeded:$statuses"
assert_eq "$(end_offset)" 2000 "six requests with one key wrote the 2000 events once"
call GET "/v1/streams/$S/records?offset=0&limit=1000"; expect 200
assert_eq "$(jq '[.items[].value.id] == [range(1000)]' <<<"$RESP")" true "the batch in order"
# A later retry with the key: the stored answer, nothing more written.
call POST "/v1/connections/$C/events" "$(cat "$TEST_TMP/batch.json")" -H "Idempotency-Key: six-at-once"
expect 200
assert_eq "$(jq -c .offsets <<<"$RESP")" '{"first":0,"last":1999}' "replayed answer"
assert_eq "$(end_offset)" 2000 "a replay writes nothing"
assert_eq "$(sql "SELECT count(*) || ' ' || min(status) FROM idempotency_keys WHERE key = 'six-at-once'")" "1 200" \
  "one stored answer"

# A refused request (one bad event: all or nothing) writes nothing and frees its key.
call POST "/v1/connections/$C/events" '{"events":[{"id":1},{"id":"two"}]}' -H "Idempotency-Key: retry-me"
expect 422 invalid_events
assert_eq "$(end_offset)" 2000 "a refused batch writes nothing"
assert_eq "$(sql "SELECT count(*) FROM idempotency_keys WHERE key = 'retry-me'")" 0 "a refused request keeps no key"
# Same key, other body (the fixed batch): it runs and writes, once.
call POST "/v1/connections/$C/events" '{"events":[{"id":1},{"id":2}]}' -H "Idempotency-Key: retry-me"
expect 200
assert_eq "$(end_offset)" 2002 "the retry wrote"
call POST "/v1/connections/$C/events" '{"events":[{"id":1},{"id":2}]}' -H "Idempotency-Key: retry-me"
expect 200
assert_eq "$(end_offset)" 2002 "the retry's replay did not"
# The key used for another body: 409 idempotency_mismatch, nothing written.
call POST "/v1/connections/$C/events" '{"events":[{"id":3}]}' -H "Idempotency-Key: retry-me"
expect 409 idempotency_mismatch
assert_eq "$(end_offset)" 2002 "a mismatch writes nothing"

# Concurrent creates with one key make one stream (the same mechanism for every POST).
pids=()
for n in 1 2 3 4; do
  curl -sS --cacert "$CACERT" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
    -H "Idempotency-Key: one-stream" --data-binary "{\"name\":\"once\",\"schema\":{\"fields\":$fields}}" \
    -o "$TEST_TMP/create$n.json" -w '%{http_code}' "$API/v1/streams" >"$TEST_TMP/cstatus$n" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
ids=""
for n in 1 2 3 4; do
  st=$(cat "$TEST_TMP/cstatus$n")
  # the others wait for the first one's answer: a 409 "already exists" would mean a second run
  [ "$st" = 201 ] || fail "create $n answered $st: $(cat "$TEST_TMP/create$n.json")"
  ids="$ids $(jq -r .id "$TEST_TMP/create$n.json")"
done
assert_eq "$(tr ' ' '\n' <<<"$ids" | sed '/^$/d' | sort -u | wc -l)" 1 "every 201 is the one stream:$ids"
assert_eq "$(sql "SELECT count(*) FROM streams WHERE name = 'once'")" 1 "one stream made"

# All partitions exist from creation.
W=$(create_id /v1/streams "{\"name\":\"wide\",\"partitions\":4,\"schema\":{\"fields\":$fields}}")
for p in 0 1 2 3; do
  [ -d "$TEST_TMP/data/tenants/$T/streams/$W/$p" ] || fail "partition $p of a new 4-partition stream is missing"
done
[ ! -e "$TEST_TMP/data/tenants/$T/streams/$W/4" ] || fail "a fifth partition"
# Reading partition 3 before any write finds an empty partition, not an error.
call GET "/v1/streams/$W/records?partition=3&limit=1"; expect 200
assert_eq "$(jq -r .end_offset <<<"$RESP")" 0 "partition 3 is there and empty"
# The api's ingest writes one partition: the others stay there.
WC=$(create_id /v1/connections '{"name":"wide-in","connector":"http","type":"source","stream":"wide"}')
call POST "/v1/connections/$WC/activate"; expect 200
rm -rf "${TEST_TMP:?}/data/tenants/$T/streams/$W/1" # as a stream made before this version
call POST "/v1/connections/$WC/events" '{"events":[{"id":1}]}'; expect 200
for p in 0 1 2 3; do
  [ -d "$TEST_TMP/data/tenants/$T/streams/$W/$p" ] || fail "partition $p missing after ingest"
done
echo "ok"
