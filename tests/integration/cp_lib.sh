# cp_lib.sh — sourced by the controlplane integration tests (0200-0299): a migrated database,
# a tenant with a stream, pipelines created straight in SQL, and a controlplane on the fake
# worker (tests/tools/cp_fake_worker) unless told otherwise.
. "$(dirname "$0")/lib.sh"
FAKE_WORKER="$TOOLS/cp_fake_worker"

cp_setup_db() {
  "$SLUICED" migrate --database-url "$DATABASE_URL" --migrations-dir "$SLUICE_ROOT/migrations" \
    >"$TEST_TMP/migrate.log" 2>&1 || { cat "$TEST_TMP/migrate.log"; fail "migrate"; }
  TENANT=$(sql "INSERT INTO tenants (name) VALUES ('acme-$RANDOM') RETURNING id")
  STREAM=$(sql "INSERT INTO streams (tenant_id, name, schema) VALUES ('$TENANT', 'bids',
              '{\"fields\":[{\"name\":\"price\",\"type\":\"BIGINT\"}]}') RETURNING id")
}

# new_pipeline NAME SQL [SIZE] → id, created running
new_pipeline() {
  local id
  id=$(sql "INSERT INTO pipelines (tenant_id, name, sql, desired_state, task_size)
          VALUES ('$TENANT', '$1', \$\$$2\$\$, 'running', '${3:-M}') RETURNING id")
  sql "NOTIFY sluice_desired, 'pipeline:$id'" >/dev/null
  echo "$id"
}

# start_cp NODE [extra flags...] → sets CP_PID (killed at the end of the test)
start_cp() {
  local node=$1; shift
  "$SLUICED" controlplane --database-url "$DATABASE_URL" --node-id "$node" \
    --data-root "$TEST_TMP/data" --worker-path "$FAKE_WORKER" --worker-args "" \
    --sync-ms 200 --resync-ms 500 --lease-seconds 3 --backoff-initial-ms 100 \
    --crash-limit 3 --stop-timeout-ms 2000 --heartbeat-timeout-ms 3000 \
    --cgroup-parent "sluice-test-$$" --master-key-file /nonexistent "$@" \
    >>"$TEST_TMP/cp-$node.log" 2>&1 &
  CP_PID=$!
  T_PIDS+=("$CP_PID")
}

state_is() { [ "$(sql "SELECT actual_state FROM pipelines WHERE id = '$1'")" = "$2" ]; }
# wait_state SECONDS ID STATE
wait_state() {
  wait_for "$1" state_is "$2" "$3" ||
    fail "pipeline $2 not $3 after $1 s: $(sql "SELECT actual_state, last_error FROM pipelines WHERE id = '$2'")"
}
