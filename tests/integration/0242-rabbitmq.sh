#!/usr/bin/env bash
# RabbitMQ connections through the api, the controlplane and the real worker, against a
# rabbitmq-server of the test's own (its node name, ports, epmd port, mnesia and log directories
# under the test's directory): a rabbitmq source connection (manual acks after the checkpoint)
# fills a stream, a pipeline transforms it, and a rabbitmq sink connection (publisher confirms)
# writes the result to another queue, read back and compared with jq. The source's worker is
# SIGKILLed mid-run and the broker is restarted mid-run: every message still reaches the stream
# (at-least-once; duplicates are counted), and the queue ends empty (everything acknowledged).
# Options are checked at create (422s); a refused port, a wrong password and a missing queue end
# `failed` with a clear last_error, and the connection check (POST /v1/connections/{id}/check)
# reports each; `sluiced run` reads RabbitMQ too.
. "$(dirname "$0")/api_lib.sh"
. "$(dirname "$0")/broker_lib.sh"
BROKER=rabbitmq
logtool="$TOOLS/logtool"
atool="$TOOLS/amqp_tool"
N=4000
cd "$TEST_TMP"

# the broker, all of it under rabbit/: slow to start (Erlang), so waited for at length
RPORT=$(free_port) DPORT=$(free_port) EPORT=$(free_port)
RDIR="$TEST_TMP/rabbit"
mkdir -p "$RDIR/mnesia" "$RDIR/log"
echo '[].' >"$RDIR/enabled_plugins"
rabbit_env() {
  env HOME="$RDIR" RABBITMQ_NODENAME="sluice$RPORT@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$RPORT" RABBITMQ_DIST_PORT="$DPORT" ERL_EPMD_PORT="$EPORT" \
    RABBITMQ_MNESIA_BASE="$RDIR/mnesia" RABBITMQ_LOG_BASE="$RDIR/log" RABBITMQ_PID_FILE="$RDIR/pid" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$RDIR/enabled_plugins" RABBITMQ_CONFIG_FILE="$RDIR/rabbitmq" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$RDIR/advanced.config" "$@"
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
rabbit_up() {
  rm -f "$RDIR/pid"
  rabbit_env /usr/lib/rabbitmq/bin/rabbitmq-server >>"$RDIR/server.out" 2>&1 &
  T_PIDS+=($!)
  wait_for 240 port_open "$RPORT" || { tail -20 "$RDIR/server.out"; fail "rabbitmq-server did not start"; }
  BEAM=$(cat "$RDIR/pid")
}
# stops the broker (SIGTERM: a clean shutdown) and waits for it
rabbit_down() {
  [ -n "${BEAM:-}" ] || return 0
  kill "$BEAM" 2>/dev/null || true
  gone() { ! kill -0 "$BEAM" 2>/dev/null; }
  wait_for 60 gone || kill -9 "$BEAM" 2>/dev/null || true
  BEAM=
}
# the epmd this broker started listens on our EPORT: stopped by its pid at the end
epmd_pid() { ss -Hltnp "sport = :$EPORT" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1; }
rabbit_cleanup() {
  rabbit_down
  local p; p=$(epmd_pid); [ -n "$p" ] && kill "$p" 2>/dev/null || true
  t_cleanup
}
trap rabbit_cleanup EXIT
rabbit_up
"$atool" declare "$RPORT" bids && "$atool" declare "$RPORT" pricey && "$atool" declare "$RPORT" runq ||
  fail "declare the queues"
publish() { sed -n "$(($1 + 1)),$2p" all.jsonl | "$atool" pub "$RPORT" "${3:-bids}" || fail "publish $1..$2"; }
jq -nc --argjson n "$N" 'range(0; $n) | {auction: (1000 + .), price: ((. * 37) % 500)}' >all.jsonl
q1=$((N / 4)) q2=$((N / 2))
publish 0 "$q1"

live_start rabbit rabbit-corp --sync-ms 200 --backoff-initial-ms 100
broker_streams "guest"
for s in spare1 spare2; do
  call POST /v1/streams "{\"name\":\"$s\",\"schema\":{\"fields\":[{\"name\":\"auction\",\"type\":\"BIGINT\"}]}}"; expect 201
done

# 1. options checked at create, against the connector's table
rejected properties.queue 'a rabbitmq connection needs the property "queue"' '{"host":"127.0.0.1"}'
rejected properties.prefetch 'rabbitmq option "prefetch" must be a whole number from 1 to 65535, not "0"' \
  '{"host":"127.0.0.1","queue":"q","prefetch":"0"}'
rejected properties.topic \
  'unknown rabbitmq option "topic" (options: host, port, vhost, username, password, queue, exchange, routing.key, prefetch, heartbeat.s, timeout.ms)' \
  '{"host":"127.0.0.1","queue":"q","topic":"t"}'

# 2. a round trip: rabbitmq → bids → pipeline → pricey → rabbitmq
SRC=$(connection "{\"name\":\"bids-in\",\"connector\":\"rabbitmq\",\"type\":\"source\",\"stream\":\"bids\",
  \"properties\":{\"host\":\"127.0.0.1\",\"port\":\"$RPORT\",\"queue\":\"bids\"},\"secret_refs\":{\"password\":\"rabbitmq-pw\"}}")
pricey_pipeline
SINK=$(connection "{\"name\":\"pricey-out\",\"connector\":\"rabbitmq\",\"type\":\"sink\",\"stream\":\"pricey\",
  \"properties\":{\"host\":\"127.0.0.1\",\"port\":\"$RPORT\",\"queue\":\"pricey\"}}")
wait_for 30 has "$q1" || fail "the source copied $(in_stream) of $q1: $(sql "SELECT state, last_error FROM tasks")"
wait_for 10 has_pid "$SRC" || fail "no running source task"
pid=$(task_pid "$SRC")
assert_eq "$(readlink "/proc/$pid/exe")" "$FULL_WORKER" "rabbitmq connections run on the full sluiced binary"

# 3. SIGKILL the source's worker; the second quarter arrives while it is down or restarting
kill -9 "$pid"
publish "$q1" "$q2"
wait_restarted 15 "$SRC"
wait_for 30 has "$q2" || fail "the source copied $(in_stream) of $q2 after the restart"

# 4. the broker restarts mid-run (durable queues, persistent messages); the rest after
sleep 1.5 # a checkpoint, and its acks
rabbit_down
rabbit_up
publish "$q2" "$N"
wait_for 60 has "$N" || fail "the source copied $(in_stream) of $N after the broker restarted"
sleep 1
stream_has_all
assert_eq "$(sql "SELECT state || ' ' || restarts FROM tasks WHERE resource_id = '$SRC'")" "running 1" \
  "the source survived the broker's restart without a crash"
# acknowledged after the checkpoints: the queue ends empty (the checker would take what is left)
assert_eq "$(sleep 2; "$atool" get "$RPORT" bids | wc -l)" 0 "messages left unacknowledged in the queue"

# 5. the sink's queue: the pipeline's output as jq computes it, each at least once
want_pricey
: >got.raw
enough() { "$atool" get "$RPORT" pricey >>got.raw; [ "$(sort -u got.raw | wc -l)" -ge "$(wc -l <want.jsonl)" ]; }
sink_has_all queue
assert_eq "$(sql "SELECT state FROM tasks WHERE resource_id = '$SINK'")" "running" "the sink runs on"

# 6. clear failures within seconds: a refused port, a wrong password, a missing queue
NOPORT=$(free_port)
REFUSED=$(connection "{\"name\":\"refused\",\"connector\":\"rabbitmq\",\"type\":\"source\",\"stream\":\"spare1\",
  \"properties\":{\"host\":\"127.0.0.1\",\"port\":\"$NOPORT\",\"queue\":\"bids\"}}")
BADPW=$(connection "{\"name\":\"badpw\",\"connector\":\"rabbitmq\",\"type\":\"sink\",\"stream\":\"pricey\",
  \"properties\":{\"host\":\"127.0.0.1\",\"port\":\"$RPORT\",\"queue\":\"pricey\"},\"secret_refs\":{\"password\":\"rabbitmq-bad\"}}")
NOQ=$(connection "{\"name\":\"noqueue\",\"connector\":\"rabbitmq\",\"type\":\"source\",\"stream\":\"spare2\",
  \"properties\":{\"host\":\"127.0.0.1\",\"port\":\"$RPORT\",\"queue\":\"nosuch\"}}")
failed_with "$REFUSED" "cannot connect to rabbitmq at 127.0.0.1:$NOPORT: Connection refused"
failed_with "$BADPW" "rabbitmq at 127.0.0.1:$RPORT refused the login of \"guest\": 403 ACCESS_REFUSED"
[[ "$(jq -r .last_error <<<"$RESP")" != *not-the-password* ]] || fail "last_error shows the password"
failed_with "$NOQ" "rabbitmq queue \"nosuch\": cannot consume: 404 NOT_FOUND - no queue 'nosuch'"

# the connection check (POST /v1/connections/{id}/check) says the same without running a task
checked() { # ID REACHABLE AUTHENTICATED PRESENT TEXT
  call POST "/v1/connections/$1/check"; expect 200
  assert_eq "$(jq -c '[.reachable, .authenticated, .target_present]' <<<"$RESP")" "[$2,$3,$4]" "check of $1: $RESP"
  assert_contains "$(jq -r '.error // ""' <<<"$RESP")" "$5" "check error"
}
checked "$SRC" true true true ""
checked "$REFUSED" false false false "cannot connect to rabbitmq at 127.0.0.1:$NOPORT: Connection refused"
checked "$BADPW" true false false "403 ACCESS_REFUSED"
checked "$NOQ" true true false "rabbitmq queue \"nosuch\": 404 NOT_FOUND - no queue 'nosuch'"

# 7. sluiced run: RabbitMQ into the embedded log, SIGKILLed and run again: every message
cat >run.sql <<EOF
CREATE TABLE bids (auction BIGINT, price BIGINT) WITH ('connector' = 'rabbitmq', 'host' = '127.0.0.1',
  'port' = '$RPORT', 'queue' = 'runq', 'prefetch' = '50');
CREATE TABLE copy (auction BIGINT, price BIGINT);
INSERT INTO copy SELECT auction, price FROM bids;
EOF
count() { "$logtool" cat run/streams/copy 2>/dev/null | sort -u | wc -l; }
at_least() { [ "$(count)" -ge "$1" ]; }
publish 0 500 runq
"$SLUICED" run run.sql --data-dir run 2>run1.err & RUN=$!
T_PIDS+=("$RUN")
wait_for 20 at_least 100 || fail "sluiced run copied $(count): $(cat run1.err)"
kill -9 "$RUN"; wait "$RUN" 2>/dev/null || true
publish 500 1000 runq
"$SLUICED" run run.sql --data-dir run 2>run2.err & RUN=$!
T_PIDS+=("$RUN")
wait_for 60 at_least 1000 || fail "sluiced run copied $(count) of 1000 after a SIGKILL: $(cat run2.err)"
kill "$RUN"; wait "$RUN" 2>/dev/null || true
"$logtool" cat run/streams/copy | sort -u | cmp -s <(head -n 1000 all.jsonl | sort) - || fail "sluiced run lost messages"
echo "sluiced run: 1000 messages, $(($("$logtool" cat run/streams/copy | wc -l) - 1000)) duplicates"
echo ok
