#!/usr/bin/env bash
# A task that cannot even be started (its secret does not decrypt under the master key) backs
# off like a crash, counts toward the crash limit, and ends failed with last_error set, instead
# of retrying every 100 ms forever in 'starting' with no error. A new generation (an update)
# starts it afresh.
. "$(dirname "$0")/cp_lib.sh"
cp_setup_db
sql "INSERT INTO secrets (tenant_id, name, value) VALUES ('$TENANT', 'hook-url', '\\x00112233445566778899')" >/dev/null
C=$(sql "INSERT INTO connections (tenant_id, name, connector, type, stream_id, secret_refs, desired_state)
       VALUES ('$TENANT', 'hook', 'webhook', 'sink', '$STREAM', '{\"url\":\"hook-url\"}', 'running') RETURNING id")
sql "NOTIFY sluice_desired, 'connection:$C'" >/dev/null
# crash limit 3, backoff 100 ms doubling (cp_lib's start_cp); a real master key, under which the
# stored value is not a valid ciphertext
start_cp n1 --master-key "$(printf '%064d' 7)"

conn_state() { sql "SELECT actual_state FROM connections WHERE id = '$C'"; }
wait_for 15 sql_is "SELECT actual_state FROM connections WHERE id = '$C'" failed ||
  fail "connection not failed after 15 s: $(sql "SELECT actual_state, last_error FROM connections WHERE id = '$C'")"
err=$(sql "SELECT last_error FROM connections WHERE id = '$C'")
assert_contains "$err" "crashed 3 times" "last_error names the crash limit"
assert_contains "$err" "secret" "last_error says what could not start"
starts() { sql "SELECT count(*) FROM task_events WHERE resource_id = '$C' AND event = 'start_failed'"; }
assert_eq "$(starts)" 3 "start attempts up to the crash limit"
# backoff between attempts: 100 ms, then 200 ms
span=$(sql "SELECT (extract(epoch FROM max(ts) - min(ts)) * 1000)::int FROM task_events
          WHERE resource_id = '$C' AND event = 'start_failed'")
[ "$span" -ge 250 ] || fail "three attempts within $span ms: no backoff"
assert_eq "$(sql "SELECT count(*) FROM task_events WHERE resource_id = '$C' AND event = 'backoff'")" 2 "two backoffs"
assert_eq "$(sql "SELECT state FROM tasks WHERE resource_id = '$C'")" failed "the task row"
sleep 2
assert_eq "$(starts)" 3 "no attempt after failing"
assert_eq "$(conn_state)" failed "still failed"

# An update (new generation) tries again from a clean count.
sql "UPDATE connections SET generation = generation + 1 WHERE id = '$C'" >/dev/null
sql "NOTIFY sluice_desired, 'connection:$C'" >/dev/null
wait_for 15 sql_is "SELECT count(*) FROM task_events WHERE resource_id = '$C' AND event = 'start_failed'" 6 ||
  fail "the new generation was not retried up to the limit: $(starts) attempts"
wait_state_conn() { sql_is "SELECT actual_state FROM connections WHERE id = '$C'" failed; }
wait_for 10 wait_state_conn || fail "not failed again"
echo "ok: start failures back off and fail"
