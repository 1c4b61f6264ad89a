#!/usr/bin/env bash
# Webhook sink connections through the api, the controlplane and the real worker, delivering to
# a local receiver (tests/tools/http_sink): every record of the stream arrives, none twice, in
# JSON-array batches with the Authorization header from a secret, although the first requests
# are answered 503 (retried); an ndjson sink with PUT delivers the same records as lines; an
# endpoint answering 400 fails the connection with the status and the body in last_error, one
# answering 502 after its retries; the api refuses a webhook source and a missing property. An
# endpoint down (503) for 6.5 s, longer than the heartbeat timeout (3 s here), with retry
# settings that span it: the worker keeps heart-beating while the sink retries, so the task is
# not restarted and every record arrives. The connection check reaches a receiver without
# sending it a request, and reports a closed port.
. "$(dirname "$0")/api_lib.sh"
logtool="$TOOLS/logtool"
receiver="$TOOLS/http_sink"
N=2000
cd "$TEST_TMP"

bg "$receiver" --out hook.out --fail-first 3 --retry-after 0 --reject-path /bad >hook.log
bg "$receiver" --out nd.out >nd.log
bg "$receiver" --out down.out --fail-first 1000000 --fail-status 502 >down.log
bg "$receiver" --out slow.out --fail-for-ms 6500 >slow.log
for r in hook nd down slow; do wait_for 5 test -s $r.log || fail "receiver $r did not start"; done
HOOK="http://127.0.0.1:$(head -n 1 hook.log)"
ND="http://127.0.0.1:$(head -n 1 nd.log)"
DOWN="http://127.0.0.1:$(head -n 1 down.log)"
SLOW="http://127.0.0.1:$(head -n 1 slow.log)"

live_start hook hook-corp --sync-ms 200 --backoff-initial-ms 100 --heartbeat-timeout-ms 3000
BIDS=$(create_id /v1/streams '{"name":"bids","schema":{"fields":[{"name":"auction","type":"BIGINT"},{"name":"price","type":"BIGINT"}]}}')
call POST /v1/secrets '{"name":"hook-token","value":"Bearer t0k3n"}'; expect 201
call POST /v1/secrets '{"name":"nd-token","value":"abc123"}'; expect 201

# what the api checks at create time: sink-only connectors, their required properties
call POST /v1/connections '{"name":"x","connector":"webhook","type":"source","stream":"bids","properties":{"url":"http://h/"}}'
expect 400 invalid_request
assert_eq "$(jq -r .error.message <<<"$RESP")" 'connector webhook can only be a sink, not "source"' "sink only"
call POST /v1/connections '{"name":"x","connector":"postgres","type":"sink","stream":"bids","properties":{"url":"postgresql://h/db"}}'
expect 422 invalid_connection
assert_eq "$(jq -r .error.message <<<"$RESP")" 'a postgres connection needs the property "table"' "required property"
# the url may come from a secret
X=$(create_id /v1/connections '{"name":"x","connector":"webhook","type":"sink","stream":"bids","secret_refs":{"url":"hook-token"}}')
call DELETE "/v1/connections/$X"

# the connection check opens a connection to the endpoint and sends no request
checked() { # ID REACHABLE AUTHENTICATED PRESENT TEXT
  call POST "/v1/connections/$1/check"; expect 200
  assert_eq "$(jq -c '[.reachable, .authenticated, .target_present]' <<<"$RESP")" "[$2,$3,$4]" "check of $1: $RESP"
  assert_contains "$(jq -r '.error // ""' <<<"$RESP")" "$5" "check error"
}
PROBE=$(create_id /v1/connections "{\"name\":\"probe\",\"connector\":\"webhook\",\"type\":\"sink\",\"stream\":\"bids\",
  \"properties\":{\"url\":\"$ND/nd\"}}")
checked "$PROBE" true true true ""
[ ! -s nd.out ] || fail "the check sent a request: $(head -c 200 nd.out)"
WPORT=$(free_port)
SHUT=$(create_id /v1/connections "{\"name\":\"shut\",\"connector\":\"webhook\",\"type\":\"sink\",\"stream\":\"bids\",
  \"properties\":{\"url\":\"http://127.0.0.1:$WPORT/x\"}}")
checked "$SHUT" false false false "webhook http://127.0.0.1:$WPORT/x:"
call DELETE "/v1/connections/$PROBE"
call DELETE "/v1/connections/$SHUT"

connection() { # BODY → id, activated
  local id; id=$(create_id /v1/connections "$1")
  call POST "/v1/connections/$id/activate"; expect 200
  echo "$id"
}
connection "{\"name\":\"gen\",\"connector\":\"datagen\",\"type\":\"source\",\"stream\":\"bids\",
  \"properties\":{\"kind\":\"bid\",\"events\":\"$N\"}}" >/dev/null
HOOKC=$(connection "{\"name\":\"hook\",\"connector\":\"webhook\",\"type\":\"sink\",\"stream\":\"bids\",
  \"properties\":{\"url\":\"$HOOK/hook?sig=abc\",\"batch.size\":\"150\",\"retry.backoff_ms\":\"50\"},
  \"secret_refs\":{\"headers.Authorization\":\"hook-token\"}}")
NDC=$(connection "{\"name\":\"nd\",\"connector\":\"webhook\",\"type\":\"sink\",\"stream\":\"bids\",
  \"properties\":{\"url\":\"$ND/nd\",\"format\":\"ndjson\",\"method\":\"PUT\",\"batch.size\":\"500\"},
  \"secret_refs\":{\"token\":\"nd-token\"}}")
SLOWC=$(connection "{\"name\":\"slow\",\"connector\":\"webhook\",\"type\":\"sink\",\"stream\":\"bids\",
  \"properties\":{\"url\":\"$SLOW/slow\",\"batch.size\":\"500\",\"retry.max\":\"60\",\"retry.backoff_ms\":\"200\",
  \"retry.max_backoff_ms\":\"500\"}}")

received() { jq -c '.[]' hook.out 2>/dev/null | wc -l; }
all_in() { [ "$(received)" -ge "$N" ]; }
wait_for 30 all_in || fail "received $(received) of $N records: $(sql "SELECT state, last_error FROM tasks")"
nd_in() { [ "$(wc -l <nd.out)" -ge "$N" ]; }
wait_for 30 nd_in || fail "ndjson receiver got $(wc -l <nd.out 2>/dev/null) of $N records"
sleep 0.5
"$logtool" cat "$TEST_TMP/data/tenants/$TENANT_ID/streams/$BIDS" | jq -c . | sort >want.jsonl
assert_eq "$(wc -l <want.jsonl)" "$N" "records in the stream"
jq -c '.[]' hook.out | sort >got.jsonl
assert_eq "$(uniq -d got.jsonl | wc -l)" 0 "records delivered twice (none without crashes)"
cmp -s want.jsonl got.jsonl || fail "delivered records differ from the stream: $(diff want.jsonl got.jsonl | head -5)"
jq -c . nd.out | sort >got-nd.jsonl
cmp -s want.jsonl got-nd.jsonl || fail "ndjson records differ from the stream: $(diff want.jsonl got-nd.jsonl | head -5)"
assert_eq "$(awk '$1 == 503' hook.log | wc -l)" 3 "requests answered 503"
assert_eq "$(sed -n 2,4p hook.log | cut -d' ' -f1 | tr '\n' ' ')" "503 503 503 " "the first requests got 503"
assert_eq "$(awk 'NR > 1 && $1 == 200 {print $4}' hook.log | sort | uniq -d | wc -l)" 0 "each batch delivered once"
assert_eq "$(jq length hook.out | sort -n | tail -n 1)" 150 "batches of at most batch.size records"
assert_eq "$(sed -n 2p hook.log | cut -d' ' -f2,3)" "POST /hook" "method and path"
assert_eq "$(sed -n 2p hook.log | cut -d' ' -f5-)" "application/json Bearer t0k3n" "content type and the secret header"
assert_eq "$(sed -n 2p nd.log | cut -d' ' -f2,3,5-)" "PUT /nd application/x-ndjson Bearer abc123" "ndjson: method, path, type, token"
assert_eq "$(sed -n 2,3p hook.log | cut -d' ' -f4 | uniq | wc -l)" 1 "a retried request keeps its batch id"
call GET "/v1/connections/$HOOKC"
assert_eq "$(jq -r .actual_state <<<"$RESP")" running "the sink keeps running"

# the endpoint down for 6.5 s: retried through it, no restart, every record once
slow_in() { [ "$(jq -c '.[]' slow.out 2>/dev/null | wc -l)" -ge "$N" ]; }
wait_for 40 slow_in || fail "slow receiver got $(jq -c '.[]' slow.out 2>/dev/null | wc -l) of $N records: $(sql "SELECT state, restarts, last_error FROM tasks WHERE resource_id = '$SLOWC'")"
[ "$(awk '$1 == 503' slow.log | wc -l)" -ge 5 ] || fail "the slow endpoint was not down for long: $(cat slow.log)"
jq -c '.[]' slow.out | sort >got-slow.jsonl
cmp -s want.jsonl got-slow.jsonl || fail "records through the outage differ: $(diff want.jsonl got-slow.jsonl | head -5)"
assert_eq "$(sql "SELECT state || ' ' || restarts FROM tasks WHERE resource_id = '$SLOWC'")" "running 0" \
  "retries through an outage longer than the heartbeat timeout, no restart"

# an endpoint that answers 400 fails at once (no retries), one that keeps answering 502 after
# its retries: each with the reason in last_error; a bad option is refused by the api at create
# with the message the worker would give (the same option table)
BAD=$(connection "{\"name\":\"bad\",\"connector\":\"webhook\",\"type\":\"sink\",\"stream\":\"bids\",
  \"properties\":{\"url\":\"$HOOK/bad\"}}")
DOWNC=$(connection "{\"name\":\"down\",\"connector\":\"webhook\",\"type\":\"sink\",\"stream\":\"bids\",
  \"properties\":{\"url\":\"$DOWN/x\",\"retry.max\":\"2\",\"retry.backoff_ms\":\"10\"}}")
call POST /v1/connections '{"name":"bad2","connector":"webhook","type":"sink","stream":"bids","properties":{"url":"http://x/","method":"GET"}}'
expect 422 invalid_connection
assert_eq "$(jq -r .error.message <<<"$RESP")" 'webhook option "method" must be POST | PUT, not "GET"' "bad option at create"
failed_with() { # ID TEXT...
  local id=$1 text; shift
  isfailed() { call GET "/v1/connections/$id"; [ "$(jq -r .actual_state <<<"$RESP")" = failed ]; }
  wait_for 30 isfailed || fail "connection $id not failed: $RESP"
  call GET "/v1/connections/$id"
  for text in "$@"; do assert_contains "$(jq -r .last_error <<<"$RESP")" "$text" "last_error says why"; done
}
failed_with "$BAD" "webhook $HOOK/bad refused" "HTTP 400" "rejects every request" "not retried"
failed_with "$DOWNC" "webhook $DOWN/x:" "not delivered after 3 attempts: HTTP 502" "try again later"
assert_eq "$(awk '$3 == "/bad" {print $4}' hook.log | sort | uniq -d | wc -l)" 0 "a request answered 400 is not retried"
assert_eq "$(awk 'NR > 1 {print $4}' down.log | sort | uniq -c | awk '{print $1}' | sort -u)" 3 \
  "a request answered 502 is sent 1 + retry.max times"
echo ok
