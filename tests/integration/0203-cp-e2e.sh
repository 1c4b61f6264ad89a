#!/usr/bin/env bash
# End to end through the api with the real worker: signup → streams → datagen connection →
# SQL pipeline → activate → running within 2 s → output records readable → usage rows and
# metrics growing → the pipeline's and the connection's logs readable and followable (SSE) →
# events and status (throughput, lag, errors) → deactivate → stopped; billing summary; bad input
# answered with clear errors.
. "$(dirname "$0")/api_lib.sh"
mport=$(free_port)
live_start e2e e2e-corp --metrics-port "$mport"

call POST /v1/streams "{\"name\":\"bids\",\"schema\":{\"fields\":$BID_FIELDS}}"; expect 201
OUT=$(create_id /v1/streams '{"name":"expensive","schema":{"fields":[{"name":"auction","type":"BIGINT"},{"name":"price","type":"BIGINT"}]}}')
C=$(create_id /v1/connections '{"name":"gen","connector":"datagen","type":"source","stream":"bids","properties":{"kind":"bid","rate":"2000"}}')
P=$(create_id /v1/pipelines '{"name":"pricey","sql":"INSERT INTO expensive SELECT auction, price FROM bids WHERE price > 100"}')

# Activate: running within 2 s of the call.
call POST "/v1/connections/$C/activate"; expect 200
start=$(date +%s%N)
call POST "/v1/pipelines/$P/activate"; expect 200
running() { call GET "/v1/pipelines/$P"; [ "$(jq -r .actual_state <<<"$RESP")" = running ]; }
# (wait_for counts whole seconds: wait longer, then assert the milliseconds measured)
wait_for 10 running || fail "pipeline not running 10 s after activate: $RESP"
took=$(( ($(date +%s%N) - start) / 1000000 ))
echo "running after $took ms"
if under_san; then
  echo "under make test-san: the 2000 ms bound is for the release build, not checked"
else
  [ "$took" -lt 2000 ] || fail "pipeline running $took ms after activate, not within 2000 ms"
fi
call GET "/v1/pipelines/$P"
assert_eq "$(jq '.observed_generation == .generation' <<<"$RESP")" true "observed generation"

# Output records readable.
has_records() { call GET "/v1/streams/$OUT/records?limit=5"; [ "$(jq '.items | length' <<<"$RESP")" = 5 ]; }
wait_for 5 has_records || fail "no output records: $RESP"
assert_eq "$(jq '[.items[].value.price > 100] | all' <<<"$RESP")" true "filtered output"
assert_eq "$(jq '.items[0].value | keys' -c <<<"$RESP")" '["auction","price"]' "projected output"

# Usage rows and metrics grow.
usage_out() { call GET "/v1/usage?group_by=resource"; jq -r --arg p "$P" '[.items[] | select(.resource_id == $p) | .records_out] | add // 0' <<<"$RESP"; }
u1=0; for _ in $(seq 1 50); do u1=$(usage_out); [ "$u1" -gt 0 ] && break; sleep 0.1; done
[ "$u1" -gt 0 ] || fail "no usage for the pipeline"
for _ in $(seq 1 50); do u2=$(usage_out); [ "$u2" -gt "$u1" ] && break; sleep 0.1; done
[ "$u2" -gt "$u1" ] || fail "usage not growing ($u1 → $u2)"
m_out() { curl -fsS "http://127.0.0.1:$mport/metrics" | awk -v p="$P" '$0 ~ "^sluice_task_records_out_total" && index($0, p) {print $2}'; }
m1=$(m_out)
for _ in $(seq 1 50); do m2=$(m_out); [ -n "$m1" ] && [ "$m2" -gt "$m1" ] && break; sleep 0.1; done
[ -n "$m1" ] && [ "$m2" -gt "$m1" ] || fail "controlplane metrics not growing ($m1 → $m2)"
api_metrics=$(curl -fsS --cacert "$CACERT" "$API/metrics")
assert_contains "$api_metrics" 'sluice_pipelines{state="running"} 1' "api metrics"
assert_contains "$api_metrics" 'sluice_api_requests_total{code="2xx"}' "api request counter"

# Status, events, logs.
call GET "/v1/pipelines/$P/status"; expect 200
assert_eq "$(jq -r '.tasks[0].state' <<<"$RESP")" running "task state"
assert_contains "$(jq -r '.tasks[0].sandbox.seccomp' <<<"$RESP")" "applied" "seccomp in status"
assert_contains "$(jq -r '.tasks[0].sandbox.namespaces' <<<"$RESP")" "net" "namespaces in status"
call GET "/v1/pipelines/$P/events"; expect 200
assert_eq "$(jq -r '[.items[].event] | join(",")' <<<"$RESP")" "claimed,started,running" "events"
call GET "/v1/pipelines/$P/logs"; expect 200
assert_contains "$(jq -r '.items[].message' <<<"$RESP")" "controlplane: task running on node e2e" "log lines"
last=$(jq -r .next_since_id <<<"$RESP")
# the connection's logs too: listed, and followed (the backlog arrives before the timeout ends it)
call GET "/v1/connections/$C/logs"; expect 200
assert_contains "$(jq -r '.items[].message' <<<"$RESP")" "controlplane: task running on node e2e" "connection log lines"
curl -sSN --cacert "$CACERT" -H "Authorization: Bearer $TOKEN" --max-time 8 \
  "$API/v1/connections/$C/logs?follow=true&timeout=1" >"$TEST_TMP/follow-conn.txt" 2>&1 || true
[ "$(grep -c '^event: log' "$TEST_TMP/follow-conn.txt")" -ge 1 ] ||
  fail "following the connection's logs sent no line: $(head -c 500 "$TEST_TMP/follow-conn.txt")"
grep -q 'task running on node e2e' "$TEST_TMP/follow-conn.txt" || fail "connection follow missed the backlog"
grep -q '^event: end' "$TEST_TMP/follow-conn.txt" || fail "connection follow did not end at its timeout"

# Throughput, lag and errors in the status. The rates are over the last 60 s (the current
# minute's usage rows and the rest of the minute before's): positive as soon as usage is written.
call GET "/v1/pipelines/$P/status"; expect 200
assert_eq "$(jq '(.throughput.records_in_per_second | type) + "," + (.throughput.records_out_per_second | type)' -r <<<"$RESP")" \
  "number,number" "throughput fields: $RESP"
assert_eq "$(jq -r '(.lag | type) + "," + (.errors | type)' <<<"$RESP")" "number,number" "lag and errors: $RESP"
assert_eq "$(jq '.tasks[0].metrics | has("lag") and has("errors") and .records_out > 0' <<<"$RESP")" true \
  "the worker reports lag, errors and output: $(jq -c '.tasks[0].metrics' <<<"$RESP")"
assert_eq "$(jq .errors <<<"$RESP")" 0 "no errors in a plain filter"
[ "$(jq .lag <<<"$RESP")" -ge 0 ] || fail "negative lag: $RESP"
out_rate() { call GET "/v1/pipelines/$P/status"; jq -e '.actual_state == "running" and .throughput.records_out_per_second > 0' <<<"$RESP"; }
wait_for 15 out_rate || fail "no output throughput while running: $(jq -c '{actual_state, throughput}' <<<"$RESP")"
echo "throughput: $(jq -c .throughput <<<"$RESP")"

# Follow: the backlog, then lines that arrive while following (the deactivation's).
curl -sSN --cacert "$CACERT" -H "Authorization: Bearer $TOKEN" --max-time 8 \
  "$API/v1/pipelines/$P/logs?follow=true&timeout=5" >"$TEST_TMP/follow.txt" 2>&1 &
follower=$!
sleep 0.5
call POST "/v1/pipelines/$P/deactivate"; expect 200
stopped() { call GET "/v1/pipelines/$P"; [ "$(jq -r .actual_state <<<"$RESP")" = stopped ]; }
wait_for 10 stopped || fail "pipeline not stopped: $RESP"
wait "$follower" || true
grep -q '^event: log' "$TEST_TMP/follow.txt" || fail "follow sent no log events: $(head -c 500 "$TEST_TMP/follow.txt")"
grep -q 'task stopped on node e2e' "$TEST_TMP/follow.txt" || fail "follow missed the stop: $(cat "$TEST_TMP/follow.txt")"
grep -q '^event: end' "$TEST_TMP/follow.txt" || fail "follow did not end at its timeout"
assert_eq "$(grep -c '^id: ' "$TEST_TMP/follow.txt")" "$(grep -c '^event: log' "$TEST_TMP/follow.txt")" "one id per log event"
call GET "/v1/pipelines/$P/logs?since_id=$last&level=info"; expect 200
assert_contains "$(jq -r '.items[].message' <<<"$RESP")" "task stopping" "lines after since_id"
assert_eq "$(sql "SELECT count(*) FROM tasks WHERE resource_id = '$P'")" 0 "no task rows after deactivate"
call POST "/v1/connections/$C/deactivate"; expect 200

# Billing.
call GET "/v1/billing/summary"; expect 200
assert_eq "$(jq '.task_hours > 0 and .usage.records_out > 0' <<<"$RESP")" true "billing summary: $RESP"
assert_eq "$(jq -r .plan <<<"$RESP")" free "plan"

# One resource's usage per minute (the console's charts): only that pipeline's rows.
call GET "/v1/usage?group_by=minute&resource_id=$P"; expect 200
mine=$(jq '[.items[].records_out] | add // 0' <<<"$RESP")
[ "$mine" -gt 0 ] || fail "the pipeline's usage per minute is empty: $RESP"
call GET "/v1/usage?group_by=resource"; expect 200
[ "$(jq '.items | length' <<<"$RESP")" -gt 1 ] || fail "expected usage of the connection and the pipeline: $RESP"
call GET "/v1/usage?group_by=resource&resource_id=$P"; expect 200
assert_eq "$(jq -c '[.items[].resource_id]' <<<"$RESP")" "[\"$P\"]" "resource_id keeps only that resource's usage"

# Bad input and other tenants.
call GET "/v1/usage?resource_id=not-a-uuid"; expect 400 invalid_request
call GET "/v1/usage?group_by=week"; expect 400 invalid_request
call GET "/v1/usage?from=not-a-time"; expect 400 invalid_request
call GET "/v1/billing/summary?period=2026-13"; expect 400 invalid_request
call GET "/v1/streams/$OUT/records?limit=0"; expect 400 invalid_request
call GET "/v1/pipelines/$P/logs?level=loud"; expect 400 invalid_request
call GET "/v1/pipelines/00000000-0000-0000-0000-000000000000/logs"; expect 404 not_found
call GET "/v1/operator/usage"; expect 403 forbidden
sql "UPDATE users SET role = 'operator' WHERE email = 'owner@e2e-corp.example'" >/dev/null
TOKEN=
call POST /v1/login '{"email":"owner@e2e-corp.example","password":"correct horse"}'; expect 200
TOKEN=$(jq -r .token <<<"$RESP")
signup other-corp
call GET "/v1/operator/usage"; expect 200
assert_eq "$(jq -r '[.items[].tenant] | sort | join(",")' <<<"$RESP")" "e2e-corp,other-corp" "operator sees every tenant"
assert_eq "$(jq '.items[] | select(.tenant == "e2e-corp") | .records_out > 0' <<<"$RESP")" true "operator usage"
TOKEN=$KEY
call GET "/v1/pipelines/$P/logs"; expect 404 not_found
call GET "/v1/streams/$OUT/records"; expect 404 not_found
call GET "/v1/usage"; expect 200
assert_eq "$(jq '.items | length' <<<"$RESP")" 0 "other tenant sees no usage"
echo ok
