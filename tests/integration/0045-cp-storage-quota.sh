#!/usr/bin/env bash
# The storage quota on the writing task (issue 8): a tenant on a plan with a 64 KiB
# max_storage_bytes runs a datagen connection into a stream; the real worker gets the quota in
# its task spec, refuses to append past it, and the connection shows "storage quota exceeded"
# as its last_error (the task does not write on); the stream's segment files stay within the
# quota.
. "$(dirname "$0")/api_lib.sh"
live_start quota quota-corp
sql "INSERT INTO plans (name, max_streams, max_connections, max_pipelines, max_tasks, max_secrets, max_api_keys,
       rate_per_second, rate_burst, max_storage_bytes) VALUES ('tiny', 100, 100, 10, 10, 10, 10, 1000, 1000, 65536)" \
  >/dev/null
T=$TENANT_ID
sql "UPDATE tenants SET plan = 'tiny' WHERE id = '$T'" >/dev/null

S=$(create_id /v1/streams "{\"name\":\"bids\",\"schema\":{\"fields\":$BID_FIELDS}}")
C=$(create_id /v1/connections '{"name":"gen","connector":"datagen","type":"source","stream":"bids","properties":{"kind":"bid","rate":"5000"}}')
call POST "/v1/connections/$C/activate"; expect 200

refused() { call GET "/v1/connections/$C"; [[ "$(jq -r '.last_error // ""' <<<"$RESP")" == *"storage quota exceeded"* ]]; }
wait_for 30 refused || { tail -n 20 "$TEST_TMP/cp.log"; fail "no storage quota error on the connection: $RESP"; }
assert_contains "$(jq -r .last_error <<<"$RESP")" "65536" "last_error names the quota"
echo "last_error: $(jq -r .last_error <<<"$RESP")"
# A refused task rolls its stream back to its last checkpoint when it restarts, and writes again
# up to the quota: under load, one look can fall just after a rollback, so it looks for up to 10 s.
stream_bytes() { du -cb "$TEST_TMP/data/tenants/$T/streams"/*/*/*.log | tail -n 1 | cut -f1; }
most=0
for _ in $(seq 1 100); do
  used=$(stream_bytes)
  [ "$used" -le 65536 ] || fail "the task wrote past the quota: $used bytes"
  [ "$used" -gt "$most" ] && most=$used
  [ "$most" -gt 30000 ] && break
  sleep 0.1
done
echo "stream data: $most bytes"
[ "$most" -gt 30000 ] || fail "the task wrote too little before the quota: $most bytes"
# It writes no more (it fails, or retries and is refused again).
sleep 2
again=$(stream_bytes)
[ "$again" -le 65536 ] || fail "written on past the quota: $again bytes"
call POST "/v1/connections/$C/deactivate"; expect 200
echo "ok"
