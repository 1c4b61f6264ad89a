#!/usr/bin/env bash
# PostgreSQL restarted mid-run (on its own cluster, so no other test is disturbed): the
# controlplane reconnects, the worker keeps running (same pid), a crash during the outage is
# still restarted by the supervisor, and status, usage and logs catch up afterwards.
. "$(dirname "$0")/cp_lib.sh"
pg="$TEST_TMP/pg"
base=$("$SLUICE_ROOT/scripts/pg.sh" start "$pg")
trap 't_cleanup; "$SLUICE_ROOT/scripts/pg.sh" destroy "$pg" >/dev/null 2>&1' EXIT
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_start() {
  as_pg "$bindir/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w -o \
    "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$pg -c fsync=off" start >/dev/null
}
# Move it below the ephemeral port range, so no client socket can take its port while it is down.
as_pg "$bindir/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null
port=$(free_port)
pg_start
DATABASE_URL="${base%:*}:$port/sluice"

cp_setup_db
start_cp n1
P=$(new_pipeline steady 'INSERT INTO o SELECT * FROM bids')
wait_state 3 "$P" running
pid=$(task_pid "$P")
before=$(sql "SELECT coalesce(sum(records_out), 0) FROM usage WHERE resource_id = '$P'")

as_pg "$bindir/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null
sleep 1
kill -0 "$pid" || fail "worker died with the database"
kill -0 "$CP_PID" || fail "controlplane died with the database"
# A crash while the database is away is still handled.
kill -9 "$pid"
sleep 1.5
pg_start

wait_sql 8 "SELECT state || ' ' || restarts FROM tasks WHERE resource_id = '$P'" "running 1" "status caught up"
newpid=$(task_pid "$P")
[ "$newpid" != "$pid" ] && kill -0 "$newpid" || fail "restarted worker $newpid not running"
wait_state 3 "$P" running
wait_sql 5 "SELECT sum(records_out) > $before FROM usage WHERE resource_id = '$P'" t "usage caught up"
assert_eq "$(sql "SELECT count(*) FROM task_events WHERE resource_id = '$P' AND event = 'crashed'")" 1 "crash recorded after the outage"
grep -q "database connection lost" "$TEST_TMP/cp-n1.log" || fail "controlplane did not notice the outage"
echo ok
