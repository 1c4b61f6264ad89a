# lib.sh — sourced by integration tests: assertions and process helpers.
# Environment from scripts/test.sh: SLUICED, SLUICE_CLI, DATABASE_URL, PG_ADMIN_URL, TEST_TMP.
set -euo pipefail
# the test tools (tests/tools/*.c), always the release build: cp_fake_worker runs as a sandboxed
# worker, which an ASan build cannot (see `make test-san`)
TOOLS="$SLUICE_ROOT/${BUILD:-build}/rel/tests/tools"
# the full sluiced binary the controlplane's workers run for the tasks that need it (kafka,
# postgres and webhook connectors): $SLUICED itself, except under `make test-san`, which gives
# the controlplane the release build as its worker (SLUICE_WORKER_PATH)
FULL_WORKER=${SLUICE_WORKER_PATH:-$SLUICED}

T_PIDS=()
# The controlplane's egress tables (nftables, when root) whose controlplane is gone (one killed
# with SIGKILL cannot delete its own) are deleted at the end; each names its owner's pid in its
# comment, so the tables of controlplanes still running (other tests, other checkouts) stay.
t_cleanup() {
  local p t owner
  # (set -e holds in this trap too: a command failing here would turn a passed test into exit 1)
  for p in "${T_PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${T_PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  if [ "$(id -u)" -eq 0 ] && command -v nft >/dev/null; then
    for t in $(nft list tables 2>/dev/null | awk '$2 == "inet" && $3 ~ /^sluice_/ {print $3}'); do
      owner=$(nft list table inet "$t" 2>/dev/null | sed -n 's/.*comment "sluice controlplane pid \([0-9]*\)".*/\1/p') || continue # (gone meanwhile: another test's controlplane deleted it)
      [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null && continue
      nft delete table inet "$t" 2>/dev/null || true
    done
  fi
}
trap t_cleanup EXIT
# a command that fails under set -e outside fail() says where, so that no test ends with exit 1
# and no reason in its log
trap 't_rc=$?; echo "FAIL: line $LINENO of ${0##*/}: a command exited $t_rc" >&2' ERR

fail() { echo "FAIL: $*" >&2; exit 1; }
# under_san: true under `make test-san` (TEST_SAN=1), where the binaries under test are the
# sanitizer build: slower and larger, so time and memory bounds tuned to the release build do not
# hold there.
under_san() { [ "${TEST_SAN:-0}" = 1 ]; }
# skip_under_san REASON: under make test-san the test ends here as skipped (exit 77), saying why.
skip_under_san() { ! under_san || { echo "skip under make test-san: $1"; exit 77; }; }
# sql_on URL QUERY: psql on URL; unaligned tuples only, stops on error.
sql_on() { psql -X -q -tA -v ON_ERROR_STOP=1 "$1" -c "$2"; }
# sql QUERY: sql_on the test's database, as its owner (the migrating role).
sql() { sql_on "$DATABASE_URL" "$1"; }
# assert_eq ACTUAL EXPECTED MESSAGE
assert_eq() { [ "$1" = "$2" ] || fail "$3: expected [$2], got [$1]"; }
assert_contains() { [[ "$1" == *"$2"* ]] || fail "$3: [$1] does not contain [$2]"; }
# as_pg CMD...: CMD as the postgres user when root (PostgreSQL refuses to run as root).
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# bg CMD...: run in the background, killed when the test ends.
bg() { "$@" & T_PIDS+=($!); }
# free_port: an unused loopback TCP port, below the kernel's ephemeral range (32768 up): there
# a port taken by an outgoing connection refuses connects yet cannot be bound. Tests that run at
# the same time (scripts/test.sh, TEST_JOBS) each draw from their own lane's share of the range.
free_port() {
  local p span=$((12000 / ${TEST_LANES:-1}))
  for _ in $(seq 1 200); do
    p=$((20000 + ${TEST_LANE:-0} * span + RANDOM % span))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}
# kill_runs TARGET MIN_MS SPAN_MS: SIGKILLs the test's `run k` (its function; stderr to run.err,
# appended to k.err) after MIN_MS to MIN_MS+SPAN_MS-1 ms, up to 60 times, until $kills (the
# test's count, which this adds to) reaches TARGET or a run completes before its kill. A kill
# counts only when it interrupted real work: fewer than two INSERTs had completed (or found their
# work done) and the test's sink_records had grown past their size at the previous kill.
kill_runs() {
  local target=$1 lo=$2 span=$3 before=0 after done_inserts pid
  for _ in $(seq 1 60); do
    [ "$kills" -lt "$target" ] || break
    (run k) 2> run.err & pid=$!
    sleep "$(printf '0.%03d' $(( RANDOM % span + lo )))"
    if kill -9 $pid 2>/dev/null; then
      wait $pid 2>/dev/null || true
      cat run.err >> k.err
      after=$(sink_records)
      done_inserts=$(grep -cE 'already completed|completed:' run.err || true)
      if [ "$done_inserts" -lt 2 ] && [ "$after" -gt "$before" ]; then kills=$((kills + 1)); fi
      before=$after
    else
      wait $pid || { cat run.err >> k.err; tail k.err; fail "a restarted run failed"; }
      cat run.err >> k.err
      break
    fi
  done
}
# kill_on_progress TARGET: starts the test's `run k` (its function; stderr to run.err, appended to
# k.err) again and again, and SIGKILLs each run as soon as the test's sink_records has grown past
# its figure at the previous kill (polled every few ms, then 0 to 9 ms more), until $kills (the
# test's count, which this adds to) reaches TARGET or a run completes first (at most 60 runs). A
# kill counts only when the run died of it (exit status 137, not a run that had just ended) after
# its output had grown: so every counted kill landed mid-run, whatever the machine's load.
kill_on_progress() {
  local target=$1 before after pid rc
  before=$(sink_records)
  for _ in $(seq 1 60); do
    [ "$kills" -lt "$target" ] || break
    (run k) 2> run.err & pid=$!
    while kill -0 $pid 2>/dev/null && [ "$(sink_records)" -le "$before" ]; do sleep 0.003; done
    sleep "0.00$((RANDOM % 10))"
    kill -9 $pid 2>/dev/null || true
    rc=0; wait $pid || rc=$?
    cat run.err >> k.err
    if [ $rc -ne 137 ]; then
      [ $rc -eq 0 ] || { tail k.err; fail "a restarted run failed (exit $rc)"; }
      break
    fi
    after=$(sink_records)
    if [ "$after" -gt "$before" ]; then kills=$((kills + 1)); fi
    before=$after
  done
}
# pw_cluster_up: a PostgreSQL cluster of the test's own under $TEST_TMP/pgpw that checks
# passwords (scram; superuser sinker, password s3cret-pw), on 127.0.0.1:$port, stopped when the
# test ends; sets bindir, pw and port.
pw_cluster_up() {
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  pw="$TEST_TMP/pgpw"
  mkdir -p "$pw"
  echo 's3cret-pw' >"$TEST_TMP/pwfile"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$pw" "$TEST_TMP/pwfile"
    p=$pw; while [ "$p" != / ]; do p=$(dirname "$p"); chmod o+x "$p" 2>/dev/null || true; done
  fi
  as_pg "$bindir/initdb" -D "$pw/data" -U sinker --auth=scram-sha-256 --pwfile="$TEST_TMP/pwfile" -E UTF8 --no-locale \
    >"$TEST_TMP/initdb.log" 2>&1 || { cat "$TEST_TMP/initdb.log"; fail "initdb"; }
  port=$(free_port)
  as_pg "$bindir/pg_ctl" -D "$pw/data" -l "$pw/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$pw -c fsync=off" start >/dev/null ||
    { cat "$pw/server.log"; fail "pg_ctl start"; }
  trap 'as_pg "$bindir/pg_ctl" -D "$pw/data" -m immediate -w stop >/dev/null 2>&1; t_cleanup' EXIT
}
# wait_for SECONDS CMD...: retry CMD until it succeeds or time runs out.
wait_for() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}
# no_secret_in_proc PID SECRET: the worker's command line and environment do not hold SECRET
# (secrets reach the worker in its spec, on a pipe)
no_secret_in_proc() {
  local cmdline environ
  cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline") && [ -n "$cmdline" ] || fail "cannot read /proc/$1/cmdline"
  environ=$(tr '\0' '\n' <"/proc/$1/environ") || fail "cannot read /proc/$1/environ"
  [[ "$cmdline" != *"$2"* ]] || fail "the secret is in the worker's command line: $cmdline"
  [[ "$environ" != *"$2"* ]] || fail "the secret is in the worker's environment"
}

# ---- the tasks table, for tests with a controlplane ----------------------------------------
# task_pid ID: the pid of resource ID's running task (empty when none)
task_pid() { sql "SELECT pid FROM tasks WHERE resource_id = '$1' AND state = 'running' AND pid IS NOT NULL"; }
# sql_is SQL EXPECTED: the query's answer equals EXPECTED (re-run by wait_for).
sql_is() { [ "$(sql "$1")" = "$2" ]; }
# wait_sql SECONDS SQL EXPECTED MESSAGE
wait_sql() { wait_for "$1" sql_is "$2" "$3" || fail "$4: [$2] is [$(sql "$2")], expected [$3]"; }
# restarted ID: resource ID's task runs again after exactly one restart.
restarted() { sql_is "SELECT state || ' ' || restarts FROM tasks WHERE resource_id = '$1'" "running 1"; }
# wait_restarted SECONDS ID: restarted within SECONDS, else the test fails with the task's state
# and events.
wait_restarted() {
  wait_for "$1" restarted "$2" || fail "not restarted: $(sql "SELECT state, restarts, last_error FROM tasks
    WHERE resource_id = '$2'") $(sql "SELECT event, detail FROM task_events WHERE resource_id = '$2' ORDER BY id")"
}
