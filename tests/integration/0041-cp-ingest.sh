#!/usr/bin/env bash
# HTTP ingest with the controlplane and the real worker: an http source connection runs without
# a task (actual_state running, no task rows; stopped again after deactivate); events POSTed to
# it flow through a SQL pipeline, run as the tenant's uid, into its output stream; what the api
# (root) created in the stream directory is owned by the directory's owner.
. "$(dirname "$0")/api_lib.sh"
live_start ingest ingest-cp --sync-ms 200 --resync-ms 500

IN=$(create_id /v1/streams '{"name":"orders","schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"amount","type":"DOUBLE"},{"name":"ts","type":"TIMESTAMP(3)"}]}}')
OUT=$(create_id /v1/streams '{"name":"big_orders","schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"amount","type":"DOUBLE"}]}}')
C=$(create_id /v1/connections '{"name":"shop","connector":"http","type":"source","stream":"orders"}')
P=$(create_id /v1/pipelines '{"name":"big","sql":"INSERT INTO big_orders SELECT id, amount FROM orders WHERE amount >= 100"}')

# The connection: running, without a task.
call POST "/v1/connections/$C/activate"; expect 200
conn_state() { call GET "/v1/connections/$C"; [ "$(jq -r .actual_state <<<"$RESP")" = "$1" ]; }
wait_for 5 conn_state running || fail "http connection not running: $RESP"
assert_eq "$(jq '.observed_generation == .generation' <<<"$RESP")" true "observed generation"
assert_eq "$(sql "SELECT count(*) FROM tasks WHERE resource_id = '$C'")" 0 "no task for an http connection"

# The pipeline first (its worker creates the tenant's stream directories, owned by the tenant's
# uid), then events in two batches.
call POST "/v1/pipelines/$P/activate"; expect 200
pipe_running() { call GET "/v1/pipelines/$P"; [ "$(jq -r .actual_state <<<"$RESP")" = running ]; }
wait_for 10 pipe_running || fail "pipeline not running: $RESP"
call POST "/v1/connections/$C/events" '{"events":[{"id":1,"amount":50},{"id":2,"amount":150,"ts":"2026-03-01 10:00:00"}]}'
expect 200
call POST "/v1/connections/$C/events" $'{"id":3,"amount":99.5}\n{"id":4,"amount":1000}\n' -H "Content-Type: application/x-ndjson"
expect 200
out_ids() { call GET "/v1/streams/$OUT/records?offset=0&limit=100"; jq -c '[.items[].value.id]' <<<"$RESP"; }
has_output() { [ "$(out_ids)" = "[2,4]" ]; }
wait_for 10 has_output || fail "pipeline output: $(out_ids); $(tail -5 "$TEST_TMP/cp.log")"
call GET "/v1/streams/$OUT/records?offset=0&limit=100"; expect 200
assert_eq "$(jq -c '.items[1].value' <<<"$RESP")" '{"id":4,"amount":1000}' "output record"

# Ownership: the partition the api wrote belongs to the stream directory's owner.
sdir="$TEST_TMP/data/tenants/$TENANT_ID/streams/$IN"
owner=$(stat -c %u:%g "$sdir")
if [ "$(id -u)" = 0 ]; then [ "$owner" != 0:0 ] || fail "the stream directory should be the tenant's, not root's"; fi
for f in "$sdir/0" "$sdir/0/writer.lock" "$sdir/0/00000000000000000000.log"; do
  assert_eq "$(stat -c %u:%g "$f")" "$owner" "owner of $f"
done

# Deactivated: stopped, and events are refused.
call POST "/v1/connections/$C/deactivate"; expect 200
wait_for 5 conn_state stopped || fail "http connection not stopped: $RESP"
call POST "/v1/connections/$C/events" '{"events":[{"id":5,"amount":500}]}'; expect 409 not_active
call POST "/v1/pipelines/$P/deactivate"; expect 200
echo ok
