#!/usr/bin/env bash
# The storage quota on the writing task (issue 8): a tenant on a plan with a 64 KiB
# max_storage_bytes runs a datagen connection (3000 bids) into a stream; the real worker gets
# the quota in its task spec and refuses to append past it. A restart cannot help until the
# tenant frees storage, so the task fails at once: the connection is failed with "storage quota
# exceeded" as its last_error, no restarts, and the stream keeps what was written before the
# refused record (a checkpoint there: nothing is rolled back, nothing written again). After a
# move to a larger plan, activating it again resumes at the refused record: the stream
# then holds the 3000 bids once each. A tenant whose plan's quota is 0 fails at once and writes nothing.
. "$(dirname "$0")/api_lib.sh"
live_start quota quota-corp
sql "INSERT INTO plans (name, max_streams, max_connections, max_pipelines, max_tasks, max_secrets, max_api_keys,
       rate_per_second, rate_burst, max_storage_bytes) VALUES ('tiny', 100, 100, 10, 10, 10, 10, 1000, 1000, 65536),
       ('zero', 100, 100, 10, 10, 10, 10, 1000, 1000, 0)" >/dev/null
T=$TENANT_ID
sql "UPDATE tenants SET plan = 'tiny' WHERE id = '$T'" >/dev/null

S=$(create_id /v1/streams "{\"name\":\"bids\",\"schema\":{\"fields\":$BID_FIELDS}}")
C=$(create_id /v1/connections '{"name":"gen","connector":"datagen","type":"source","stream":"bids","properties":{"kind":"bid","rate":"5000","events":"3000"}}')
call POST "/v1/connections/$C/activate"; expect 200

status_of() { call GET "/v1/connections/$1/status" >/dev/null; echo "$RESP"; }
is_failed() { [ "$(jq -r .actual_state <<<"$(status_of "$1")")" = failed ]; }
stream_bytes() { du -cb "$TEST_TMP/data/tenants/$1/streams"/*/*/*.log 2>/dev/null | tail -n 1 | cut -f1; }
records() { call GET "/v1/streams/$1/records?partition=0&limit=1" >/dev/null; jq -r .end_offset <<<"$RESP"; }
# no_loop ID: the connection is failed by the worker, not restarted: one attempt
no_loop() {
  call GET "/v1/connections/$1/status"; expect 200
  local st=$RESP
  assert_eq "$(jq -r .actual_state <<<"$st")" failed "the connection failed ($st)"
  assert_eq "$(jq -r '.tasks[0].state' <<<"$st")" failed "the task failed ($st)"
  assert_eq "$(jq -r '.tasks[0].restarts' <<<"$st")" 0 "no restarts ($st)"
  assert_contains "$(jq -r .last_error <<<"$st")" "storage quota exceeded" "last_error"
}
wait_for 30 is_failed "$C" || { tail -n 20 "$TEST_TMP/cp.log"; fail "the connection did not fail: $(status_of "$C")"; }
no_loop "$C"
assert_contains "$(jq -r .last_error <<<"$RESP")" "65536" "last_error names the quota"
echo "last_error: $(jq -r .last_error <<<"$RESP")"
used=$(stream_bytes "$T")
kept=$(records "$S")
echo "stream data: $used bytes, $kept records"
[ "$used" -le 65536 ] || fail "the task wrote past the quota: $used bytes"
[ "$used" -gt 30000 ] || fail "the task wrote too little before the quota: $used bytes"
[ "$kept" -gt 0 ] && [ "$kept" -lt 3000 ] || fail "records kept: $kept"
# Still failed a while later: no restart rolled the stream back or wrote it again.
sleep 2
no_loop "$C"
assert_eq "$(stream_bytes "$T")" "$used" "the stream's bytes after the failure"
assert_eq "$(records "$S")" "$kept" "the records the stream keeps"

# A larger plan, then activate again (a failed connection restarts): the task resumes at the
# refused record and completes.
sql "UPDATE plans SET max_storage_bytes = 104857600 WHERE name = 'tiny'" >/dev/null
gen=$(sql "SELECT generation FROM connections WHERE id = '$C'")
call POST "/v1/connections/$C/activate"; expect 200
assert_eq "$(sql "SELECT generation FROM connections WHERE id = '$C'")" "$((gen + 1))" "activate of a failed connection restarts it"
done_() { [ "$(jq -r .actual_state <<<"$(status_of "$C")")" = completed ]; }
wait_for 30 done_ || fail "the connection did not complete after the plan grew: $(status_of "$C")"
assert_eq "$(records "$S")" 3000 "each of the 3000 bids once after the resume"
call GET "/v1/connections/$C/logs?contains=storage%20quota's%20refusal"; expect 200
assert_contains "$RESP" "holds what was written before the storage quota's refusal" "the checkpoint at the refusal, logged"

# Hostile: a plan's quota of 0. The task fails at once and writes nothing.
FIRST_TOKEN=$TOKEN
signup zero-corp
TOKEN=$KEY
Z=$TENANT_ID
sql "UPDATE tenants SET plan = 'zero' WHERE id = '$Z'" >/dev/null
ZS=$(create_id /v1/streams "{\"name\":\"bids\",\"schema\":{\"fields\":$BID_FIELDS}}")
ZC=$(create_id /v1/connections '{"name":"gen","connector":"datagen","type":"source","stream":"bids","properties":{"kind":"bid","rate":"5000"}}')
call POST "/v1/connections/$ZC/activate"; expect 200
wait_for 30 is_failed "$ZC" || fail "the connection under a quota of 0 did not fail: $(status_of "$ZC")"
no_loop "$ZC"
assert_contains "$(jq -r .last_error <<<"$RESP")" "hold 0 bytes of the plan's 0 (max_storage_bytes)" "last_error names the quota of 0"
assert_eq "$(records "$ZS")" 0 "nothing written under a quota of 0"
# Hostile: another tenant cannot restart this failed connection by activating it.
zgen=$(sql "SELECT generation FROM connections WHERE id = '$ZC'")
TOKEN=$FIRST_TOKEN call POST "/v1/connections/$ZC/activate"; expect 404 not_found
assert_eq "$(sql "SELECT generation FROM connections WHERE id = '$ZC'")" "$zgen" "another tenant's activate changed nothing"
echo "ok"
