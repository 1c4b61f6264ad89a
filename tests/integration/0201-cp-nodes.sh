#!/usr/bin/env bash
# Two controlplane nodes share tasks through leases; when one is killed (SIGKILL, so it
# releases nothing) its workers die with it and the other node takes its tasks over within the
# lease time (plus a margin for the claim, the fake worker's start and this test's polling).
. "$(dirname "$0")/cp_lib.sh"
LEASE=2         # seconds, both nodes
MARGIN_MS=2000  # lease expiry → claim at the next resync → worker running → seen here
cp_setup_db
P1=$(new_pipeline p1 'INSERT INTO o SELECT * FROM bids')
P2=$(new_pipeline p2 'INSERT INTO o SELECT * FROM bids')
P3=$(new_pipeline p3 'INSERT INTO o SELECT * FROM bids')

start_cp n1 --max-tasks 2 --lease-seconds "$LEASE"
N1=$CP_PID
wait_sql 3 "SELECT count(*) FROM tasks WHERE node = 'n1' AND state = 'running'" 2 "n1 runs two tasks"
start_cp n2 --lease-seconds "$LEASE"
wait_sql 3 "SELECT count(*) FROM tasks WHERE node = 'n2' AND state = 'running'" 1 "n2 runs the third"
for p in "$P1" "$P2" "$P3"; do wait_state 3 "$p" running; done
assert_eq "$(sql "SELECT count(*) FROM cp_nodes WHERE id IN ('n1', 'n2')")" 2 "both nodes registered"

n1_pids=$(sql "SELECT pid FROM tasks WHERE node = 'n1'")
kill -9 "$N1"
start=$(date +%s%N)
wait_sql 8 "SELECT count(*) FROM tasks WHERE node = 'n2' AND state = 'running'" 3 "n2 took over"
took=$(( ($(date +%s%N) - start) / 1000000 ))
echo "takeover after ${took} ms (lease $LEASE s)"
[ "$took" -le $((LEASE * 1000 + MARGIN_MS)) ] ||
  fail "takeover took $took ms, more than the lease ($LEASE s) plus $MARGIN_MS ms"
for pid in $n1_pids; do
  wait_for 2 bash -c "! kill -0 $pid 2>/dev/null" || fail "worker $pid of the killed node still runs"
done
for p in "$P1" "$P2" "$P3"; do wait_state 3 "$p" running; done
assert_eq "$(sql "SELECT count(*) FROM task_events WHERE event = 'claimed' AND detail->>'message' = 'claimed by node n2'")" 3 "claims by n2"
echo ok
