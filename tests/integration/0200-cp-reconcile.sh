#!/usr/bin/env bash
# The reconciler on the fake worker: activate → running within 2 s with a sandbox report,
# usage, logs, events and /metrics; SIGKILL → restarted keeping its position; a changed SQL
# rolls over keeping its position; deactivate → stopped and the task row gone; a crash loop
# ends failed with backoff in its events; the memory limit kills and says so; a bounded run
# completes.
. "$(dirname "$0")/cp_lib.sh"
cp_setup_db
# Log retention (run at start): lines older than the retention go, and each resource keeps only
# its newest --log-max-per-resource lines.
OLDRES=$(sql "SELECT gen_random_uuid()"); NEWRES=$(sql "SELECT gen_random_uuid()")
sql "INSERT INTO task_logs (tenant_id, resource_kind, resource_id, ts, message)
   SELECT '$TENANT', 'pipeline', '$OLDRES', now() - interval '5 hours', 'old ' || i FROM generate_series(1, 30) i"
sql "INSERT INTO task_logs (tenant_id, resource_kind, resource_id, message)
   SELECT '$TENANT', 'pipeline', '$NEWRES', 'new ' || i FROM generate_series(1, 30) i"
port=$(free_port)
start_cp n1 --metrics-port "$port" --task-memory-s-mb 32 --log-retention-hours 4 --log-max-per-resource 20
wait_sql 3 "SELECT count(*) FROM task_logs WHERE resource_id = '$OLDRES'" 0 "expired lines deleted"
wait_sql 3 "SELECT count(*) || ' ' || min(message) FROM task_logs WHERE resource_id = '$NEWRES'" "20 new 11" "newest lines kept"

# Activate: running within 2 s.
P=$(new_pipeline orders 'INSERT INTO out SELECT * FROM bids')
wait_state 2 "$P" running
assert_eq "$(sql "SELECT observed_generation = generation FROM pipelines WHERE id = '$P'")" t "observed generation"
row=$(sql "SELECT node, state, pid IS NOT NULL, restarts FROM tasks WHERE resource_id = '$P'")
assert_eq "$row" "n1|running|t|0" "task row"
sandbox=$(sql "SELECT sandbox FROM tasks WHERE resource_id = '$P'")
for layer in uid environment workdir no_new_privs rlimits cgroup namespaces pdeathsig seccomp; do
  [ "$(jq -r --arg l "$layer" 'has($l)' <<<"$sandbox")" = true ] || fail "sandbox report lacks $layer: $sandbox"
done
assert_contains "$(jq -r .seccomp <<<"$sandbox")" "applied" "seccomp applied by the worker"
assert_contains "$(jq -r .environment <<<"$sandbox")" "applied: empty" "environment"
uid=$(sql "SELECT uid FROM cp_tenant_uids WHERE tenant_id = '$TENANT'")
assert_contains "$(jq -r .uid <<<"$sandbox")" "applied: uid $uid" "tenant uid"
workdir="$TEST_TMP/data/tenants/$TENANT/tasks/$(sql "SELECT id FROM tasks WHERE resource_id = '$P'")"
assert_eq "$(stat -c '%a %u' "$workdir")" "700 $uid" "task directory mode and owner"
[ -d "$TEST_TMP/data/tenants/$TENANT/streams/$STREAM" ] || fail "stream directory not created"

# Usage rows and metrics grow; logs and events are written.
wait_sql 5 "SELECT coalesce(sum(records_out), 0) > 0 FROM usage WHERE resource_id = '$P'" t "no usage rows"
u1=$(sql "SELECT sum(records_out) FROM usage WHERE resource_id = '$P'")
wait_sql 5 "SELECT sum(records_out) > $u1 AND sum(task_seconds) > 0 FROM usage WHERE resource_id = '$P'" t "usage not growing"
wait_sql 3 "SELECT count(*) FROM task_logs WHERE resource_id = '$P' AND message = 'fake worker mode run'" 1 "worker log line not stored"
assert_eq "$(sql "SELECT count(*) > 0 FROM task_logs WHERE resource_id = '$P' AND message LIKE 'fake worker starting%'")" t "stderr stored"
assert_eq "$(sql "SELECT string_agg(event, ',' ORDER BY id) FROM task_events WHERE resource_id = '$P'")" "claimed,started,running" "events"
m=$(curl -fsS "http://127.0.0.1:$port/metrics")
assert_contains "$m" "sluice_task_records_out_total{tenant_id=\"$TENANT\",kind=\"pipeline\",resource_id=\"$P\"" "metrics"
assert_contains "$m" 'sluice_controlplane_tasks{state="running"} 1' "metrics task states"

# SIGKILL: restarted, position kept.
pid=$(task_pid "$P")
kill -9 "$pid"
wait_sql 5 "SELECT restarts FROM tasks WHERE resource_id = '$P' AND state = 'running'" 1 "not restarted after SIGKILL"
assert_contains "$(sql "SELECT last_error FROM tasks WHERE resource_id = '$P'")" "killed by SIGKILL" "crash reason"
wait_sql 3 "SELECT count(*) FROM task_logs WHERE resource_id = '$P' AND message ~ '^resumed at [1-9]'" 1 "restarted worker did not resume from its checkpoint"
wait_state 3 "$P" running

# Changed SQL: rolls over to the new generation, keeping the position.
sql "UPDATE pipelines SET sql = 'INSERT INTO out SELECT price FROM bids', generation = generation + 1 WHERE id = '$P'"
sql "NOTIFY sluice_desired, 'pipeline:$P'"
wait_sql 5 "SELECT count(*) FROM task_events WHERE resource_id = '$P' AND event = 'rollover'" 1 "no rollover"
wait_sql 5 "SELECT actual_state = 'running' AND observed_generation = generation FROM pipelines WHERE id = '$P'" t "rollover did not finish"
wait_sql 3 "SELECT count(*) FROM task_logs WHERE resource_id = '$P' AND message ~ '^resumed at [1-9]'" 2 "rolled-over worker did not resume"

# More tasks, then fewer: rows follow task_count.
sql "UPDATE pipelines SET task_count = 2, generation = generation + 1 WHERE id = '$P'"
sql "NOTIFY sluice_desired, 'pipeline:$P'"
wait_sql 5 "SELECT count(*) FROM tasks WHERE resource_id = '$P' AND state = 'running'" 2 "two tasks"
wait_state 3 "$P" running
assert_eq "$(sql "SELECT string_agg(task_index::text, ',' ORDER BY task_index) FROM tasks WHERE resource_id = '$P'")" "0,1" "task indexes"
sql "UPDATE pipelines SET task_count = 1, generation = generation + 1 WHERE id = '$P'"
sql "NOTIFY sluice_desired, 'pipeline:$P'"
wait_sql 5 "SELECT string_agg(task_index::text, ',') FROM tasks WHERE resource_id = '$P'" 0 "back to one task"
wait_sql 5 "SELECT actual_state = 'running' AND observed_generation = generation FROM pipelines WHERE id = '$P'" t "one task running"

# Deactivate: stopped, row gone, process gone.
pid=$(task_pid "$P")
sql "UPDATE pipelines SET desired_state = 'stopped', generation = generation + 1 WHERE id = '$P'"
sql "NOTIFY sluice_desired, 'pipeline:$P'"
wait_state 5 "$P" stopped
assert_eq "$(sql "SELECT count(*) FROM tasks WHERE resource_id = '$P'")" 0 "task rows after stop"
kill -0 "$pid" 2>/dev/null && fail "worker $pid still running after deactivate"
assert_eq "$(sql "SELECT count(*) FROM task_events WHERE resource_id = '$P' AND event = 'stopped'")" 5 "stopped events (rollovers, shrink, deactivate)"

# Crash loop: failed, with backoff in the events.
C=$(new_pipeline crashy '/* fake:crash */ INSERT INTO out SELECT * FROM bids')
wait_state 10 "$C" failed
assert_contains "$(sql "SELECT last_error FROM pipelines WHERE id = '$C'")" "crashed 3 times" "crash loop error"
assert_eq "$(sql "SELECT count(*) FROM task_events WHERE resource_id = '$C' AND event = 'backoff'")" 2 "backoff events"
assert_contains "$(sql "SELECT string_agg(detail->>'message', ';' ORDER BY id) FROM task_events WHERE resource_id = '$C' AND event = 'backoff'")" \
  "restarting in 200 ms" "backoff doubles"

# Memory limit: killed by the kernel and reported.
M=$(new_pipeline hungry '/* fake:alloc */ INSERT INTO out SELECT * FROM bids' S)
wait_state 15 "$M" failed
assert_contains "$(sql "SELECT last_error FROM pipelines WHERE id = '$M'")" "memory limit exceeded" "memory limit error"

# Bounded run: completed, not restarted.
B=$(new_pipeline bounded '/* fake:complete */ INSERT INTO out SELECT * FROM bids')
wait_state 5 "$B" completed
sleep 1
assert_eq "$(sql "SELECT state, restarts FROM tasks WHERE resource_id = '$B'")" "completed|0" "completed task"

# Graceful shutdown releases the leases.
kill -TERM "$CP_PID"; wait "$CP_PID"
assert_eq "$(sql "SELECT count(*) FROM tasks WHERE lease_owner IS NOT NULL")" 0 "leases released"
echo ok
