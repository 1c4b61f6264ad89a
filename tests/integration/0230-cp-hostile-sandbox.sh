#!/usr/bin/env bash
# A hostile tenant's worker, as the controlplane starts it (root only): the fake worker in probe
# mode (tests/tools/cp_fake_worker), run through the controlplane's own reconciler, supervisor
# and sandbox for a webhook connection (so with the network, under the egress policy), tries
# what a tenant's code would. It must not list more of / than the system directories and the
# paths to its own data, nor read the controlplane's master key, var/log, the project's var/
# (the PostgreSQL socket directories), another tenant's directory, /etc/passwd or the
# controlplane's environment through /proc/1/environ; it must not connect to the platform
# database's port, the api port or the controlplane's metrics port on loopback, to
# 169.254.169.254, or to an operator-denied address, and must not listen; it still reaches an
# ordinary loopback service and its own directory. The sandbox report says "root" and
# "egress" applied, the nftables table exists while the controlplane runs and is gone after it
# stops.
. "$(dirname "$0")/cp_lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root (private root, uids, nftables)"; exit 77; }
command -v nft >/dev/null || { echo "skip: no nft"; exit 77; }
receiver="$TOOLS/http_sink"
cd "$TEST_TMP"
cp_setup_db
OTHER=$(sql "INSERT INTO tenants (name) VALUES ('other-$RANDOM') RETURNING id")
mkdir -p "data/tenants/$OTHER/streams/s1" var/log
echo "other tenant's records" >"data/tenants/$OTHER/streams/s1/00000.log"
echo "controlplane log line" >var/log/controlplane.log
openssl rand -hex 32 >var/master.key
chmod 0600 var/master.key

# an "api", an ordinary service and an operator-denied service on loopback
for r in api legit denied; do bg "$receiver" --out "$r.out" >"$r.log"; done
for r in api legit denied; do wait_for 5 test -s "$r.log" || fail "receiver $r did not start"; done
API_PORT=$(head -n 1 api.log)
LEGIT_PORT=$(head -n 1 legit.log)
DENIED_PORT=$(head -n 1 denied.log)
METRICS_PORT=$(free_port)
PG_PORT=$(sed -E 's|.*:([0-9]+)/.*|\1|' <<<"$DATABASE_URL")
TABLE="sluice_hostile_$$"

SLUICE_TEST_MARKER=host-env-marker "$SLUICED" controlplane --database-url "$DATABASE_URL" --node-id hostile \
  --data-root "$TEST_TMP/data" --worker-path "$FAKE_WORKER" --worker-args "" \
  --sync-ms 200 --resync-ms 500 --backoff-initial-ms 100 --cgroup-parent "sluice-test-$$" \
  --master-key-file "$TEST_TMP/var/master.key" --metrics-port "$METRICS_PORT" --api-ports "$API_PORT" \
  --egress-deny "127.0.0.1:$DENIED_PORT" --egress-table "$TABLE" >>"$TEST_TMP/cp.log" 2>&1 &
CP_PID=$!
T_PIDS+=("$CP_PID")
trap 'nft delete table inet '"$TABLE"' 2>/dev/null || true; t_cleanup' EXIT
wait_for 10 nft list table inet "$TABLE" || fail "no nftables table $TABLE: $(cat cp.log)"

reads="/etc/passwd,/etc/shadow,$TEST_TMP/var/master.key,$TEST_TMP/var/log,$TEST_TMP/var,$SLUICE_ROOT/var"
reads+=",$TEST_TMP/data/tenants/$OTHER,$TEST_TMP/data/tenants/$OTHER/streams/s1/00000.log,$TEST_TMP/data/tenants"
reads+=",/proc/1/environ,/proc/$CP_PID/environ,$TEST_TMP/data/tenants/$TENANT"
connects="127.0.0.1:$PG_PORT,127.0.0.1:$API_PORT,127.0.0.1:$METRICS_PORT,169.254.169.254:80"
connects+=",127.0.0.1:$DENIED_PORT,127.0.0.1:$LEGIT_PORT"
CONN=$(sql "INSERT INTO connections (tenant_id, name, connector, type, stream_id, properties, desired_state)
          VALUES ('$TENANT', 'probe', 'webhook', 'sink', '$STREAM',
                  jsonb_build_object('fake_mode', 'probe', 'url', 'http://127.0.0.1:$LEGIT_PORT/',
                                     'probe_read', '$reads', 'probe_connect', '$connects'),
                  'running') RETURNING id")
sql "NOTIFY sluice_desired, 'connection:$CONN'" >/dev/null
probed() { [ "$(sql "SELECT count(*) FROM task_logs WHERE resource_id = '$CONN' AND message LIKE 'probe listen=%'")" = 1 ]; }
wait_for 20 probed || fail "the probe did not finish: $(sql "SELECT state, last_error FROM tasks") $(sql "SELECT message FROM task_logs WHERE resource_id = '$CONN'")"
sql "SELECT message FROM task_logs WHERE resource_id = '$CONN' AND message LIKE 'probe %' ORDER BY id"
line() { sql "SELECT message FROM task_logs WHERE resource_id = '$CONN' AND message LIKE 'probe $1=%'" | head -n 1; }
outcome() { local l; l=$(line "$1"); echo "${l#probe $1=}"; }

# the file system: only the system directories and the paths to its own data and binary
root=$(outcome "read /")
[[ "$root" == listed* ]] || fail "cannot list /: $root"
allowed=" bin sbin lib lib32 lib64 libx32 usr etc dev proc tmp $(cut -d/ -f2 <<<"$TEST_TMP") $(cut -d/ -f2 <<<"$FAKE_WORKER") "
for e in $(sed -E 's/^listed\((.*)\)$/\1/' <<<"$root"); do
  [[ "$allowed" == *" $e "* ]] || fail "the worker sees /$e: $root"
done
for p in /etc/passwd /etc/shadow "$TEST_TMP/var/master.key" "$TEST_TMP/var/log" "$TEST_TMP/var" "$SLUICE_ROOT/var" \
  "$TEST_TMP/data/tenants/$OTHER" "$TEST_TMP/data/tenants/$OTHER/streams/s1/00000.log" "/proc/$CP_PID/environ"; do
  assert_contains "$(outcome "read $p")" "denied(No such file or directory)" "the worker reads $p"
done
assert_eq "$(outcome "read $TEST_TMP/data/tenants")" "listed($TENANT )" "the data root's tenants show only its own"
assert_contains "$(outcome "read $TEST_TMP/data/tenants/$TENANT")" "tasks" "its own tenant directory"
env1=$(outcome "read /proc/1/environ")
[[ "$env1" != *host-env-marker* && "$env1" != *SLUICE* ]] || fail "/proc/1/environ shows the host's environment: $env1"

# the network: the platform's ports, metadata and the deny list refused at once; others open
for a in "127.0.0.1:$PG_PORT" "127.0.0.1:$API_PORT" "127.0.0.1:$METRICS_PORT" 169.254.169.254:80 "127.0.0.1:$DENIED_PORT"; do
  assert_eq "$(outcome "connect $a")" "refused(No route to host)" "connecting to $a"
done
assert_eq "$(outcome "connect 127.0.0.1:$LEGIT_PORT")" "connected()" "an ordinary loopback service"
assert_eq "$(outcome listen)" "denied(Operation not permitted)" "listening (seccomp)"
# the controlplane itself (root) still reaches its own metrics: the policy is for tenant uids
curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" >/dev/null || fail "metrics unreachable for root"

sandbox=$(sql "SELECT sandbox::text FROM tasks WHERE resource_id = '$CONN'")
assert_contains "$(jq -r .root <<<"$sandbox")" "applied: private root (pivot_root" "root layer"
assert_contains "$(jq -r .root <<<"$sandbox")" "read-write only $TEST_TMP/data/tenants/$TENANT" "read-write paths"
assert_contains "$(jq -r .egress <<<"$sandbox")" "applied: nftables table inet $TABLE" "egress layer"
assert_contains "$(jq -r .egress <<<"$sandbox")" "$PG_PORT, $API_PORT, $METRICS_PORT" "egress ports"

kill -TERM "$CP_PID"
wait "$CP_PID" || true
! nft list table inet "$TABLE" >/dev/null 2>&1 || fail "the nftables table outlived the controlplane"
echo ok
