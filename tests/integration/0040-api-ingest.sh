#!/usr/bin/env bash
# HTTP ingest (POST /v1/connections/{id}/events) against the real api and PostgreSQL, no
# controlplane: a JSON batch and an NDJSON batch land in the stream in order (read back with GET
# /v1/streams/{id}/records); each bad input gets its error and leaves the stream as it was; four
# concurrent senders of 200 events give exactly 800 records, each once; many requests to two
# streams at once land once and in order; partition.key spreads
# events by key; usage counts records_in; the api lets go of an idle partition's writer lock
# within seconds; the writer lock turns a held partition into a 503.
. "$(dirname "$0")/api_lib.sh"
api_start --data-root "$TEST_TMP/data"
signup ingest-corp
TOKEN=$KEY
T1=$TENANT_ID

fields='[{"name":"id","type":"BIGINT"},{"name":"user","type":"STRING"},{"name":"amount","type":"DOUBLE"},{"name":"ts","type":"TIMESTAMP(3)"}]'
call GET /v1/openapi.json; expect 200
assert_eq "$(jq '.paths["/v1/connections/{id}/events"].post.responses | has("422")' <<<"$RESP")" true "documented"
S=$(create_id /v1/streams "{\"name\":\"clicks\",\"schema\":{\"fields\":$fields}}")
C=$(create_id /v1/connections '{"name":"web","connector":"http","type":"source","stream":"clicks"}')

# post_events BODY [CONTENT TYPE [CURL ARGS...]]
post_events() {
  local body=$1 ct=${2:-application/json}
  shift $(($# < 2 ? $# : 2))
  call POST "/v1/connections/$C/events" "$body" -H "Content-Type: $ct" "$@"
}
end_offset() { call GET "/v1/streams/$S/records?limit=1"; jq -r .end_offset <<<"$RESP"; }

# Not active yet: 409 not_active, nothing written.
post_events '{"events":[{"id":1}]}'; expect 409 not_active
assert_contains "$(jq -r .error.message <<<"$RESP")" "activate" "not_active says how to fix it"
call POST "/v1/connections/$C/activate"; expect 200

# A JSON batch.
post_events '{"events":[{"id":1,"user":"ann","amount":1.5,"ts":"2026-01-02 03:04:05.678"},{"id":2,"user":"bob","amount":2,"ts":1767323045678},{"id":3,"user":null}]}'
expect 200
assert_eq "$(jq -c '{accepted,partition,offsets}' <<<"$RESP")" '{"accepted":3,"partition":0,"offsets":{"first":0,"last":2}}' "JSON batch answer"

# An NDJSON batch (blank lines skipped, CRLF accepted).
post_events $'{"id":4,"user":"cy"}\n\n{"id":5,"user":"di"}\r\n{"id":6}\n' application/x-ndjson
expect 200
assert_eq "$(jq -c '{accepted,offsets}' <<<"$RESP")" '{"accepted":3,"offsets":{"first":3,"last":5}}' "NDJSON batch answer"

call GET "/v1/streams/$S/records?offset=0&limit=100"; expect 200
assert_eq "$(jq -c '[.items[].value.id]' <<<"$RESP")" '[1,2,3,4,5,6]' "records in order"
assert_eq "$(jq -c '[.items[].op] | unique' <<<"$RESP")" '["+I"]' "each record's row kind (ingested rows are inserts)"
# The tenant's directories the api made first are closed to other tenants' workers.
assert_eq "$(stat -c %a "$TEST_TMP/data/tenants/$T1") $(stat -c %a "$TEST_TMP/data/tenants/$T1/streams")" "700 700" \
  "tenant directory modes"
assert_eq "$(jq -c '[.items[].offset]' <<<"$RESP")" '[0,1,2,3,4,5]' "offsets"
assert_eq "$(jq -r '.items[0].value.ts' <<<"$RESP")" "2026-01-02 03:04:05.678" "event stored as sent"

# Bad input: its error, and the stream unchanged.
before=$(end_offset)
bad() { # bad STATUS CODE BODY [CONTENT TYPE]
  post_events "$3" "${4:-application/json}"; expect "$1" "$2"
  assert_eq "$(end_offset)" "$before" "stream unchanged after a bad request ($3)"
}
bad 400 invalid_json '{"events":[{"id":1},'
bad 400 invalid_request '{"events":[]}'
bad 400 invalid_request '{"records":[{"id":1}]}'
bad 400 invalid_request '{"events":{"id":1}}'
bad 415 unsupported_media_type '{"id":1}' text/plain
bad 400 invalid_request $'\n\n' application/x-ndjson
bad 422 invalid_events '{"events":[{"id":7},{"id":"eight"},{"id":9}]}'
assert_eq "$(jq -c '.error.details.errors' <<<"$RESP")" '[{"index":1,"field":"id","reason":"expected an integer"}]' "wrong field type detail"
assert_contains "$(jq -r .error.message <<<"$RESP")" "nothing was written" "all or nothing"
bad 422 invalid_events '{"events":[{"id":7,"ts":"yesterday"},{"id":8,"ts":true}]}'
assert_eq "$(jq -c '[.error.details.errors[] | [.index, .field]]' <<<"$RESP")" '[[0,"ts"],[1,"ts"]]' "timestamp details"
assert_contains "$(jq -r '.error.details.errors[0].reason' <<<"$RESP")" "timestamp" "timestamp reason"
bad 422 invalid_events '{"events":[{"id":7},[1,2],"x"]}'
assert_eq "$(jq -c '[.error.details.errors[].index]' <<<"$RESP")" '[1,2]' "not an object"
assert_eq "$(jq -r '.error.details.errors[0].reason' <<<"$RESP")" "an event must be a JSON object" "not an object reason"
bad 422 invalid_events $'{"id":7}\n{"id":8,\n{"id":"nine"}\n' application/x-ndjson
assert_eq "$(jq -c '[.error.details.errors[] | [.line, .field]]' <<<"$RESP")" '[[2,null],[3,"id"]]' "NDJSON lines"
assert_contains "$(jq -r '.error.details.errors[0].reason' <<<"$RESP")" "invalid JSON" "malformed line"
# 30 bad events: 20 details, the count of all.
many_bad=$(jq -cn '{events: [range(30) | {id: "x"}]}')
bad 422 invalid_events "$many_bad"
assert_eq "$(jq -c '[(.error.details.errors | length), .error.details.invalid_count]' <<<"$RESP")" '[20,30]' "details capped at 20"
# Over 10,000 events (within the body limit).
too_many=$(jq -cn '{events: [range(10001) | {}]}')
bad 413 payload_too_large "$too_many"
assert_contains "$(jq -r .error.message <<<"$RESP")" "at most 10000" "too many events message"
seq 1 10001 | sed 's/.*/{}/' >"$TEST_TMP/many.ndjson"
call POST "/v1/connections/$C/events" @"$TEST_TMP/many.ndjson" -H "Content-Type: application/x-ndjson"
expect 413 payload_too_large
# Exactly 10,000 is fine (and counted).
exactly=$(jq -cn '{events: [range(10000) | {id: .}]}')
post_events "$exactly"; expect 200
assert_eq "$(jq -c '[.accepted, .offsets.first, .offsets.last]' <<<"$RESP")" "[10000,$before,$((before + 9999))]" "10,000 events"
before=$(end_offset)

# Wrong connector, other tenant's connection, unknown id.
G=$(create_id /v1/connections '{"name":"gen","connector":"datagen","type":"source","stream":"clicks","properties":{"kind":"bid"}}')
call POST "/v1/connections/$G/events" '{"events":[{"id":1}]}'; expect 409 wrong_connector
call POST /v1/connections '{"name":"out","connector":"http","type":"sink","stream":"clicks"}'; expect 400 invalid_request
assert_contains "$RESP" 'connector http can only be a source' "http ingest is a source only, refused at create"
OUT_C=$(create_id /v1/connections '{"name":"out","connector":"webhook","type":"sink","stream":"clicks","properties":{"url":"https://hook.example/"}}')
call POST "/v1/connections/$OUT_C/events" '{"events":[{"id":1}]}'; expect 409 wrong_connector
call POST "/v1/connections/00000000-0000-0000-0000-000000000000/events" '{"events":[{"id":1}]}'; expect 404 not_found
call POST "/v1/connections/not-a-uuid/events" '{"events":[{"id":1}]}'; expect 404 not_found
K1=$TOKEN
signup other-corp
TOKEN=$KEY
call POST "/v1/connections/$C/events" '{"events":[{"id":1}]}'; expect 404 not_found
TOKEN=
call POST "/v1/connections/$C/events" '{"events":[{"id":1}]}'; expect 401 unauthenticated
TOKEN=$K1
assert_eq "$(end_offset)" "$before" "stream unchanged after refused requests"

# Idempotency-Key: a replay answers the same and writes nothing more.
post_events '{"events":[{"id":42}]}' application/json -H "Idempotency-Key: ingest-once"; expect 200
first=$RESP
post_events '{"events":[{"id":42}]}' application/json -H "Idempotency-Key: ingest-once"; expect 200
assert_eq "$RESP" "$first" "replayed answer"
assert_eq "$(end_offset)" "$((before + 1))" "one write for two requests with one key"
before=$((before + 1))

# Four concurrent senders of 200 events each: exactly 800 new records, each once.
for s in 1 2 3 4; do
  jq -cn --argjson s "$s" '{events: [range(200) | {id: ($s * 1000 + .), user: "sender\($s)"}]}' >"$TEST_TMP/batch$s.json"
done
pids=()
for s in 1 2 3 4; do
  curl -sS --cacert "$CACERT" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
    --data-binary @"$TEST_TMP/batch$s.json" -o "$TEST_TMP/answer$s.json" -w '%{http_code}' \
    "$API/v1/connections/$C/events" >"$TEST_TMP/status$s" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for s in 1 2 3 4; do
  assert_eq "$(cat "$TEST_TMP/status$s")" 200 "concurrent sender $s: $(cat "$TEST_TMP/answer$s.json")"
  assert_eq "$(jq '.offsets.last - .offsets.first' "$TEST_TMP/answer$s.json")" 199 "sender $s contiguous"
done
assert_eq "$(end_offset)" "$((before + 800))" "800 records from 4 senders"
call GET "/v1/streams/$S/records?offset=$before&limit=1000"; expect 200
assert_eq "$(jq '[.items[].value.id] | length' <<<"$RESP")" 800 "800 read back"
assert_eq "$(jq '[.items[].value.id] | unique | length' <<<"$RESP")" 800 "each once"
for s in 1 2 3 4; do # each sender's events together, in order
  first=$(jq .offsets.first "$TEST_TMP/answer$s.json")
  assert_eq "$(jq --argjson f "$first" --argjson s "$s" \
    '[.items[] | select(.offset >= $f and .offset < $f + 200) | .value.id] == [range(200) | $s * 1000 + .]' <<<"$RESP")" \
    true "sender $s's batch in order"
done
before=$((before + 800))

# Usage: records_in of the connection.
usage=$(sql "SELECT sum(records_in) || ' ' || (sum(bytes_in) > 0) FROM usage WHERE resource_id = '$C'")
assert_eq "$usage" "$((before)) true" "usage records_in"

# Many requests to two streams at once (the api keeps their writers open between requests):
# 3 senders to each stream, 15 NDJSON requests of 4 events each; every record once, each
# sender's records in the order sent.
V=$(create_id /v1/streams "{\"name\":\"views\",\"schema\":{\"fields\":$fields}}")
VC=$(create_id /v1/connections '{"name":"views-in","connector":"http","type":"source","stream":"views"}')
call POST "/v1/connections/$VC/activate"; expect 200
send_many() { # send_many CONNECTION SENDER: 15 requests, ids SENDER*100 + 0..59
  for r in $(seq 0 14); do
    for e in 0 1 2 3; do echo "{\"id\":$(($2 * 100 + r * 4 + e)),\"user\":\"s$2\"}"; done >"$TEST_TMP/many-$2.ndjson"
    code=$(curl -sS --cacert "$CACERT" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/x-ndjson" \
      --data-binary @"$TEST_TMP/many-$2.ndjson" -o /dev/null -w '%{http_code}' "$API/v1/connections/$1/events")
    [ "$code" = 200 ] || echo "sender $2 request $r: $code" >>"$TEST_TMP/many-errors"
  done
}
pids=()
for s in 1 2 3; do send_many "$C" "$s" & pids+=($!); done
for s in 4 5 6; do send_many "$VC" "$s" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
[ ! -s "$TEST_TMP/many-errors" ] || fail "refused requests: $(cat "$TEST_TMP/many-errors")"
check_senders() { # check_senders STREAM OFFSET NAME SENDER...: 60 records of each, once, in order
  local stream=$1 from=$2 name=$3 s
  shift 3
  call GET "/v1/streams/$stream/records?offset=$from&limit=1000"; expect 200
  assert_eq "$(jq '.items | length' <<<"$RESP")" 180 "$name: 180 records from 45 requests"
  for s in "$@"; do
    assert_eq "$(jq --argjson s "$s" '[.items[].value | select(.user == "s\($s)") | .id] == [range(60) | $s * 100 + .]' <<<"$RESP")" \
      true "$name: sender $s's records once, in order"
  done
}
check_senders "$S" "$before" clicks 1 2 3
check_senders "$V" 0 views 4 5 6
before=$((before + 180))

# A partition held by another writer (a worker, say): 503 with Retry-After, nothing written.
# The api's cached writer lets go of the partition about a second after its last request.
pdir="$TEST_TMP/data/tenants/$T1/streams/$S/0"
[ -f "$pdir/writer.lock" ] || fail "no writer.lock in $pdir"
held=no # right after a request the writer is still open (cached), so the lock is taken
for _ in 1 2 3; do
  post_events '{"events":[{"id":77}]}'; expect 200
  before=$((before + 1))
  if ! flock -x -n "$pdir/writer.lock" true; then held=yes; break; fi
done
assert_eq "$held" yes "the writer stays open between requests"
flock -x -w 5 "$pdir/writer.lock" true || fail "the api still holds $pdir/writer.lock 5 s after its last request"
flock -x "$pdir/writer.lock" sleep 6 &
holder=$!
sleep 0.3
post_events '{"events":[{"id":99}]}'; expect 503 unavailable
assert_eq "$(header Retry-After)" 1 "Retry-After"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null || true
assert_eq "$(end_offset)" "$before" "nothing written while the partition was held"

# Deactivated: not_active again.
call POST "/v1/connections/$C/deactivate"; expect 200
post_events '{"events":[{"id":1}]}'; expect 409 not_active

# partition.key over a 4-partition stream: each key always in the same partition, all there.
K=$(create_id /v1/streams "{\"name\":\"keyed\",\"partitions\":4,\"schema\":{\"fields\":$fields}}")
KC=$(create_id /v1/connections '{"name":"keyed-in","connector":"http","type":"source","stream":"keyed","properties":{"partition.key":"user"}}')
call POST /v1/connections '{"name":"typo","connector":"http","type":"source","stream":"keyed","properties":{"partition.key":"usr"}}'
expect 400 invalid_request
assert_eq "$(jq -r .error.details.field <<<"$RESP")" "properties.partition.key" "partition.key naming no field"
call POST "/v1/connections/$KC/activate"; expect 200
jq -cn '{events: [range(40) | {id: ., user: "u\(. % 8)"}]}' >"$TEST_TMP/keyed.json"
call POST "/v1/connections/$KC/events" @"$TEST_TMP/keyed.json"; expect 200
assert_eq "$(jq '[.partitions[].accepted] | add' <<<"$RESP")" 40 "keyed: all accepted"
[ "$(jq '.partitions | length' <<<"$RESP")" -gt 1 ] || fail "8 keys all went to one partition: $RESP"
total=0
for p in 0 1 2 3; do
  call GET "/v1/streams/$K/records?partition=$p&offset=0&limit=100"; expect 200
  total=$((total + $(jq '.items | length' <<<"$RESP")))
  assert_eq "$(jq '[.items[].value.user] | unique | length <= 8' <<<"$RESP")" true "partition $p"
  echo "$RESP" | jq -r --arg p "$p" '.items[] | "\(.value.user) \($p)"' >>"$TEST_TMP/keyed.txt"
done
assert_eq "$total" 40 "keyed: 40 records over the partitions"
assert_eq "$(sort -u "$TEST_TMP/keyed.txt" | awk '{print $1}' | uniq -d | wc -l)" 0 "each key in one partition"
# A number as the key: the same value, the same partition, request after request.
IC=$(create_id /v1/connections '{"name":"by-id","connector":"http","type":"source","stream":"keyed","properties":{"partition.key":"id"}}')
call POST "/v1/connections/$IC/activate"; expect 200
parts=""
for _ in 1 2 3; do
  call POST "/v1/connections/$IC/events" '{"events":[{"id":123456789},{"id":123456789,"user":"x"}]}'; expect 200
  parts="$parts$(jq .partition <<<"$RESP")"
done
assert_eq "$(grep -o . <<<"$parts" | sort -u | wc -l)" 1 "one partition for one numeric key ($parts)"
# Without a key, requests go round robin.
RC=$(create_id /v1/connections '{"name":"rr-in","connector":"http","type":"source","stream":"keyed"}')
call POST "/v1/connections/$RC/activate"; expect 200
seen=""
for _ in 1 2 3 4; do
  call POST "/v1/connections/$RC/events" '{"events":[{"id":1},{"id":2}]}'; expect 200
  seen="$seen$(jq .partition <<<"$RESP")"
done
assert_eq "$(grep -o . <<<"$seen" | sort -u | wc -l)" 4 "round robin over 4 partitions ($seen)"
echo ok
