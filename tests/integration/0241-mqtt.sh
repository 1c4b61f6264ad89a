#!/usr/bin/env bash
# MQTT connections through the api, the controlplane and the real worker, against a mosquitto
# broker of the test's own (passwords, persistence): an mqtt source connection (QoS 1, a
# persistent session) fills a stream, a pipeline transforms it, and an mqtt sink connection
# publishes the result, read back by a persistent subscriber and compared with jq. The source's
# worker is SIGKILLed mid-run and the broker is restarted mid-run: every message still reaches
# the stream (at-least-once: the spool behind libmosquitto's automatic PUBACK; duplicates are
# counted, not forbidden). Options are checked at create (422s); a refused port and a wrong
# password end `failed` with a clear last_error; `sluiced run` reads MQTT too.
. "$(dirname "$0")/api_lib.sh"
. "$(dirname "$0")/broker_lib.sh"
BROKER=mqtt
logtool="$TOOLS/logtool"
mtool="$TOOLS/mqtt_tool"
N=4000
cd "$TEST_TMP"

# the broker: its own directory, persistence (sessions and queued messages survive a restart),
# and two listeners: the connections' with passwords, an anonymous one for the test's own client
MPORT=$(free_port)
TPORT=$(free_port)
MPW=mq77-pw
mkdir -p mqtt
mosquitto_passwd -c -b mqtt/passwd sluicer "$MPW" >/dev/null
cat >mqtt/mosquitto.conf <<EOF
per_listener_settings true
persistence true
persistence_location $TEST_TMP/mqtt/
max_queued_messages 0
log_dest file $TEST_TMP/mqtt/broker.log
listener $MPORT 127.0.0.1
allow_anonymous false
password_file $TEST_TMP/mqtt/passwd
listener $TPORT 127.0.0.1
allow_anonymous true
EOF
if [ "$(id -u)" -eq 0 ]; then chown -R mosquitto: mqtt; chmod 0700 mqtt/passwd; fi
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
broker_up() {
  bg mosquitto -c "$TEST_TMP/mqtt/mosquitto.conf"
  BROKER_PID=$!
  wait_for 10 port_open "$MPORT" && wait_for 10 port_open "$TPORT" || { cat mqtt/broker.log; fail "mosquitto did not start"; }
}
broker_up
publish() { sed -n "$(($1 + 1)),$2p" all.jsonl | "$mtool" pub "$TPORT" bids || fail "publish $1..$2"; }
jq -nc --argjson n "$N" 'range(0; $n) | {auction: (1000 + .), price: ((. * 37) % 500)}' >all.jsonl
q1=$((N / 4)) q2=$((N / 2)) q3=$((3 * N / 4))
# the checker's persistent session on the sink's topic, from now on
"$mtool" sub "$TPORT" pricey checker 1 >/dev/null || fail "subscribe the checker"

live_start mqtt mqtt-corp --sync-ms 200 --backoff-initial-ms 100
broker_streams "$MPW"
call POST /v1/streams '{"name":"spare","schema":{"fields":[{"name":"auction","type":"BIGINT"}]}}'; expect 201

# 1. options checked at create, against the connector's table
rejected properties.client.id 'a mqtt connection needs the property "client.id"' '{"host":"127.0.0.1","topic":"t"}'
rejected properties.keepalive.s 'mqtt option "keepalive.s" must be a whole number from 5 to 65535, not "1"' \
  '{"host":"127.0.0.1","topic":"t","client.id":"c","keepalive.s":"1"}'
rejected properties.qos \
  'unknown mqtt option "qos" (options: host, port, username, password, topic, client.id, keepalive.s, retain, spool.dir, spool.bytes, timeout.ms)' \
  '{"host":"127.0.0.1","topic":"t","client.id":"c","qos":"2"}'

# 2. a round trip: mqtt → bids → pipeline → pricey → mqtt
props() { echo "\"host\":\"127.0.0.1\",\"port\":\"$MPORT\",\"username\":\"sluicer\""; }
SRC=$(connection "{\"name\":\"bids-in\",\"connector\":\"mqtt\",\"type\":\"source\",\"stream\":\"bids\",
  \"properties\":{$(props),\"topic\":\"bids\",\"client.id\":\"sluice-bids-in\"},\"secret_refs\":{\"password\":\"mqtt-pw\"}}")
pricey_pipeline
SINK=$(connection "{\"name\":\"pricey-out\",\"connector\":\"mqtt\",\"type\":\"sink\",\"stream\":\"pricey\",
  \"properties\":{$(props),\"topic\":\"pricey\",\"client.id\":\"sluice-pricey-out\"},\"secret_refs\":{\"password\":\"mqtt-pw\"}}")
wait_for 20 has_pid "$SRC" || fail "no running source task: $(sql "SELECT state, last_error FROM tasks")"
# its session connected (and subscribed right after): from here the broker keeps the topic for it
connected() { grep -q "as sluice-bids-in" mqtt/broker.log; }
wait_for 20 connected || fail "the source's session did not connect: $(tail -5 mqtt/broker.log)"
sleep 0.5
publish 0 "$q1"
wait_for 30 has "$q1" || fail "the source copied $(in_stream) of $q1: $(sql "SELECT state, last_error FROM tasks")"
pid=$(task_pid "$SRC")
assert_eq "$(readlink "/proc/$pid/exe")" "$FULL_WORKER" "mqtt connections run on the full sluiced binary"
no_secret_in_proc "$pid" "$MPW"

# 3. SIGKILL the source's worker; the second quarter arrives while it is down (the broker keeps it)
kill -9 "$pid"
publish "$q1" "$q2"
wait_restarted 15 "$SRC"
wait_for 30 has "$q2" || fail "the source copied $(in_stream) of $q2 after the restart"

# 4. the broker restarts mid-run (its sessions on disk); the rest after
kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true
sleep 1.5
broker_up
publish "$q2" "$N"
wait_for 40 has "$N" || fail "the source copied $(in_stream) of $N after the broker restarted"
sleep 1
stream_has_all
assert_eq "$(sql "SELECT state || ' ' || restarts FROM tasks WHERE resource_id = '$SRC'")" "running 1" \
  "the source survived the broker's restart without a crash"

# 5. the sink's topic, through the checker's session: the pipeline's output as jq computes it
want_pricey
"$mtool" sub "$TPORT" pricey checker 3 >>got.raw || fail "read the sink's topic"
enough() { "$mtool" sub "$TPORT" pricey checker 1 >>got.raw; [ "$(sort -u got.raw | wc -l)" -ge "$(wc -l <want.jsonl)" ]; }
sink_has_all topic

# 6. clear failures within seconds: a refused port, a wrong password
NOPORT=$(free_port)
REFUSED=$(connection "{\"name\":\"refused\",\"connector\":\"mqtt\",\"type\":\"source\",\"stream\":\"spare\",
  \"properties\":{\"host\":\"127.0.0.1\",\"port\":\"$NOPORT\",\"topic\":\"x\",\"client.id\":\"r\"}}")
BADPW=$(connection "{\"name\":\"badpw\",\"connector\":\"mqtt\",\"type\":\"sink\",\"stream\":\"pricey\",
  \"properties\":{$(props),\"topic\":\"x\",\"client.id\":\"b\"},\"secret_refs\":{\"password\":\"mqtt-bad\"}}")
failed_with "$REFUSED" "cannot connect to the mqtt broker at 127.0.0.1:$NOPORT: Connection refused"
failed_with "$BADPW" "the mqtt broker at 127.0.0.1:$MPORT refused the connection: Connection Refused: not authorised"

# 7. sluiced run: MQTT into the embedded log, SIGKILLed and run again: every message
cat >run.sql <<EOF
CREATE TABLE bids (auction BIGINT, price BIGINT) WITH ('connector' = 'mqtt', 'host' = '127.0.0.1',
  'port' = '$TPORT', 'topic' = 'runbids', 'client.id' = 'runner', 'spool.dir' = '$TEST_TMP/run-spool');
CREATE TABLE copy (auction BIGINT, price BIGINT);
INSERT INTO copy SELECT auction, price FROM bids;
EOF
count() { "$logtool" cat run/streams/copy 2>/dev/null | sort -u | wc -l; }
at_least() { [ "$(count)" -ge "$1" ]; }
"$SLUICED" run run.sql --data-dir run 2>run1.err & RUN=$!
T_PIDS+=("$RUN")
sleep 1
head -n 500 all.jsonl | "$mtool" pub "$TPORT" runbids || fail "publish runbids"
wait_for 20 at_least 500 || fail "sluiced run copied $(count) of 500: $(cat run1.err)"
kill -9 "$RUN"; wait "$RUN" 2>/dev/null || true
sed -n 501,1000p all.jsonl | "$mtool" pub "$TPORT" runbids || fail "publish runbids"
"$SLUICED" run run.sql --data-dir run 2>run2.err & RUN=$!
T_PIDS+=("$RUN")
wait_for 20 at_least 1000 || fail "sluiced run copied $(count) of 1000 after a SIGKILL: $(cat run2.err)"
kill "$RUN"; wait "$RUN" 2>/dev/null || true
"$logtool" cat run/streams/copy | sort -u | cmp -s <(head -n 1000 all.jsonl | sort) - || fail "sluiced run lost messages"
echo ok
