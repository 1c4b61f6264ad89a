#!/usr/bin/env bash
# Bad controlplane options get a clear error and exit status 2; an unreachable database is not
# fatal: the node keeps retrying (and serves /metrics saying it has no database) until stopped.
. "$(dirname "$0")/lib.sh"
expect_refused() { # MESSAGE ARGS...
  local msg=$1; shift
  set +e; out=$(env -u SLUICE_DATABASE_URL "$SLUICED" controlplane "$@" 2>&1); rc=$?; set -e
  assert_eq "$rc" 2 "exit status for $*"
  assert_contains "$out" "$msg" "message for $*"
}
expect_refused "no database: pass --database-url" --data-root "$TEST_TMP/d"
expect_refused 'option "backoff-initial-ms" must be a whole number from 1 to 600000, not "0"' --database-url x --backoff-initial-ms 0
expect_refused 'unknown log level "loud"' --database-url x --log-level loud
expect_refused "backoff-max-ms must be at least backoff-initial-ms" --database-url x --backoff-initial-ms 500 --backoff-max-ms 100
expect_refused "unknown option" --database-url x --no-such-flag 1

port=$(free_port)
"$SLUICED" controlplane --database-url "postgresql://nobody@127.0.0.1:1/none" --node-id lonely \
  --data-root "$TEST_TMP/d" --metrics-port "$port" --master-key-file /nonexistent >"$TEST_TMP/cp.log" 2>&1 &
cp=$!; T_PIDS+=("$cp")
wait_for 5 curl -fsS "http://127.0.0.1:$port/metrics" || fail "no /metrics without a database"
sleep 1
kill -0 "$cp" || fail "controlplane gave up without a database"
assert_contains "$(curl -fsS "http://127.0.0.1:$port/metrics")" "sluice_controlplane_db_connected 0" "metrics say no database"
assert_contains "$(cat "$TEST_TMP/cp.log")" "database unavailable" "log says why"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")" 404 "unknown path"
kill -TERM "$cp"; wait "$cp"
echo ok
