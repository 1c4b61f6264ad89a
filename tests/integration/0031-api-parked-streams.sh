#!/usr/bin/env bash
# Waiting streamed responses hold no server thread: with a one-thread api, 20 log followers and
# 2 previews (the per-tenant limit) all waiting on quiet sources, ordinary requests are still answered and the api
# has no more database connections than threads; a log line
# written meanwhile reaches every follower; preview answers arrive with their rows; and the
# api stops cleanly on SIGTERM with followers still parked (MHD must resume them first).
source "$(dirname "$0")/api_lib.sh"

logtool=$TOOLS/logtool
DATA=$TEST_TMP/data
api_start --threads 1 --data-root "$DATA"
signup acme
TOKEN=$KEY
QUIET=$(create_id /v1/streams '{"name":"quiet","schema":{"fields":[{"name":"x","type":"BIGINT"}]}}')
call POST /v1/streams '{"name":"out","schema":{"fields":[{"name":"x","type":"BIGINT"}]}}'; expect 201
P=$(create_id /v1/pipelines '{"name":"p","sql":"INSERT INTO out SELECT x FROM quiet"}')

followers=()
for i in $(seq 1 20); do
  curl -sN --cacert "$CACERT" -H "Authorization: Bearer $TOKEN" --max-time 40 \
    "$API/v1/pipelines/$P/logs?follow=true&timeout=30" >"$TEST_TMP/follow.$i" 2>&1 &
  followers+=($!)
done
previews=()
for i in $(seq 1 2); do
  curl -sS --cacert "$CACERT" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --max-time 40 \
    -d '{"sql":"SELECT x * 2 AS y FROM quiet","timeout_ms":6000,"limit":3}' "$API/v1/preview" \
    >"$TEST_TMP/preview.$i" 2>&1 &
  previews+=($!)
done
sleep 1

# With a blocking reader each of these would wait behind 24 others on the only thread; parked,
# they are answered at once (the limit is generous: it only catches a blocked thread).
for i in 1 2 3; do
  curl -sf --cacert "$CACERT" --max-time 5 "$API/healthz" >/dev/null || fail "healthz not answered with waiters parked"
  call GET /v1/pipelines '' --max-time 5; expect 200
done

# Nor does a follower hold a database connection: the api's stay at about one per thread.
conns=$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
[ "$conns" -le 4 ] || fail "$conns database connections for a one-thread api with 20 followers"
parked() { call GET /metrics; awk '/^sluice_api_parked_streams /{print $2}' <<<"$RESP"; }
wait_for 5 bash -c "[ \"\$(curl -s --cacert $CACERT -H 'Authorization: Bearer $TOKEN' $API/metrics | awk '/^sluice_api_parked_streams /{print \$2}')\" -gt 0 ]" \
  || fail "no parked streams in /metrics: $(parked)"

# A log line for the pipeline reaches every follower.
sql "INSERT INTO task_logs (tenant_id, resource_kind, resource_id, level, message)
     VALUES ('$TENANT_ID', 'pipeline', '$P', 'info', 'hello from the test')"
# Records for the previews (started at latest: these are new).
printf '{"x":1}\n{"x":2}\n{"x":3}\n' | "$logtool" append "$DATA/tenants/$TENANT_ID/streams/$QUIET"
for pid in "${previews[@]}"; do wait "$pid" || fail "a preview request failed"; done
for i in $(seq 1 2); do
  assert_eq "$(jq -c '[.rows[].y]' "$TEST_TMP/preview.$i")" '[2,4,6]' "preview $i rows"
done
for i in $(seq 1 20); do
  wait_for 10 grep -q 'hello from the test' "$TEST_TMP/follow.$i" || fail "follower $i missed the line: $(cat "$TEST_TMP/follow.$i")"
done

# SIGTERM with 20 followers parked: the api resumes them, ends their streams and exits.
kill -TERM "$API_PID"
wait_for 10 bash -c "! kill -0 $API_PID 2>/dev/null" || fail "the api did not stop with followers parked"
for pid in "${followers[@]}"; do wait "$pid" || true; done
echo ok
