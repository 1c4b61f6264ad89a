#!/usr/bin/env bash
# Redis Streams connections through the api, the controlplane and the real worker, against a
# redis-server of the test's own (password, AOF): a redis source connection (XREADGROUP) fills a
# stream, a pipeline transforms it, and a redis sink connection (XADD MAXLEN ~) writes the
# result to another Redis stream, compared with jq. The source's worker is SIGKILLed mid-run and
# the server is restarted mid-run: the stream still holds every entry exactly once (offsets are
# entry ids, XACK only after the checkpoint), nothing stays pending, and the sink holds every
# result at least once. Options are checked at create (422s); a refused port and a wrong
# password end `failed` with a clear last_error; `sluiced run` reads and writes Redis too.
. "$(dirname "$0")/api_lib.sh"
. "$(dirname "$0")/broker_lib.sh"
BROKER=redis
logtool="$TOOLS/logtool"
N=4000
cd "$TEST_TMP"

# the server: its own directory and port, a password, every write in the AOF before the reply
RPORT=$(free_port)
RPW=r3dis-pw
mkdir -p redis
redis_up() {
  bg redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$TEST_TMP/redis" --requirepass "$RPW" \
    --appendonly yes --appendfsync always --save '' --logfile "$TEST_TMP/redis/server.log"
  REDIS_PID=$!
  wait_for 10 rcli PING || { cat redis/server.log; fail "redis-server did not start"; }
}
rcli() { redis-cli -p "$RPORT" -a "$RPW" --no-auth-warning "$@"; }
redis_up
# produce FROM TO: bids FROM..TO-1 (lines of all.jsonl) as entries of stream "bids", field data
produce() {
  sed -n "$(($1 + 1)),$2p" all.jsonl | sed "s/.*/XADD bids * data '&'/" | rcli >/dev/null || fail "produce $1..$2"
}
jq -nc --argjson n "$N" 'range(0; $n) | {auction: (1000 + .), price: ((. * 37) % 500)}' >all.jsonl
q1=$((N / 4)) q2=$((N / 2)) q3=$((3 * N / 4))
produce 0 "$q1"
assert_eq "$(rcli XLEN bids)" "$q1" "entries produced"

live_start redis redis-corp --sync-ms 200 --backoff-initial-ms 100
broker_streams "$RPW"

# 1. options checked at create, against the connector's table
rejected properties.stream 'a redis connection needs the property "stream"' '{"host":"127.0.0.1"}'
rejected properties.port 'redis option "port" must be a whole number from 1 to 65535, not "http"' \
  '{"host":"127.0.0.1","stream":"s","port":"http"}'
rejected properties.topic \
  'unknown redis option "topic" (options: host, port, username, password, db, stream, field, group, consumer, start, maxlen, maxlen.exact, timeout.ms)' \
  '{"host":"127.0.0.1","stream":"s","topic":"t"}'
rejected properties.start 'redis option "start" must be earliest | latest, not "now"' \
  '{"host":"127.0.0.1","stream":"s","start":"now"}'

# 2. a round trip: redis → bids → pipeline → pricey → redis
SRC=$(connection "{\"name\":\"bids-in\",\"connector\":\"redis\",\"type\":\"source\",\"stream\":\"bids\",
  \"properties\":{\"host\":\"127.0.0.1\",\"port\":\"$RPORT\",\"stream\":\"bids\"},\"secret_refs\":{\"password\":\"redis-pw\"}}")
pricey_pipeline
SINK=$(connection "{\"name\":\"pricey-out\",\"connector\":\"redis\",\"type\":\"sink\",\"stream\":\"pricey\",
  \"properties\":{\"host\":\"127.0.0.1\",\"port\":\"$RPORT\",\"stream\":\"pricey\",\"maxlen\":\"100000\"},
  \"secret_refs\":{\"password\":\"redis-pw\"}}")
wait_for 30 has "$q1" || fail "the source copied $(in_stream) of $q1: $(sql "SELECT state, last_error FROM tasks")"
wait_for 10 has_pid "$SRC" || fail "no running source task"
pid=$(task_pid "$SRC")
assert_eq "$(readlink "/proc/$pid/exe")" "$FULL_WORKER" "redis connections run on the full sluiced binary"
call GET "/v1/connections/$SRC/status"; expect 200
assert_contains "$(jq -r '.tasks[0].sandbox.namespaces' <<<"$RESP")" "network allowed" "redis tasks get the network"
no_secret_in_proc "$pid" "$RPW"

# 3. SIGKILL the source's worker; the second quarter arrives while it is down or restarting
kill -9 "$pid"
produce "$q1" "$q2"
wait_restarted 15 "$SRC"
wait_for 30 has "$q2" || fail "the source copied $(in_stream) of $q2 after the restart"

# 4. the server restarts mid-run (stopped, its AOF kept): the third quarter while it is down is
# impossible, so it comes after; the tasks reconnect without crashing
kill "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true
sleep 1.5
redis_up
produce "$q2" "$q3"
wait_for 30 has "$q3" || fail "the source copied $(in_stream) of $q3 after the server restarted"
produce "$q3" "$N"
wait_for 30 has "$N" || fail "the source copied $(in_stream) of $N"
sleep 1
assert_eq "$(in_stream)" "$N" "records in the stream (no loss, no duplicates after a SIGKILL and a server restart)"
"$logtool" cat "$TEST_TMP/data/tenants/$TENANT_ID/streams/$BIDS" | sort >stream.jsonl
sort all.jsonl >all.sorted
cmp -s all.sorted stream.jsonl || fail "the stream is not the entries once each: $(diff all.sorted stream.jsonl | head -5)"
assert_eq "$(sql "SELECT state || ' ' || restarts FROM tasks WHERE resource_id = '$SRC'")" "running 1" \
  "the source survived the server's restart without a crash"
assert_eq "$(sql "SELECT state FROM tasks WHERE resource_id = '$SINK'")" "running" "the sink runs on"
# XACK after the checkpoints: nothing stays pending
no_pending() { [ "$(rcli XPENDING bids sluice | head -n 1)" = 0 ]; }
wait_for 10 no_pending || fail "entries still pending: $(rcli XPENDING bids sluice | tr '\n' ' ')"

# 5. the sink stream: the pipeline's output as jq computes it, each at least once (at-least-once)
want_pricey
out() { rcli --raw XRANGE pricey - + | grep '^{' | sort -u; }
enough() { [ "$(out | wc -l)" -ge "$(wc -l <want.jsonl)" ]; }
wait_for 30 enough || fail "the sink stream has $(out | wc -l) of $(wc -l <want.jsonl) distinct records"
out >got.jsonl
cmp -s want.jsonl got.jsonl || fail "sink stream differs from jq: $(diff want.jsonl got.jsonl | head -5)"
echo "source $N entries once each, sink $(wc -l <got.jsonl) records ($(rcli XLEN pricey) entries), as jq says"

# 6. clear failures within seconds: a refused port, a wrong password
NOPORT=$(free_port)
call POST /v1/streams '{"name":"spare","schema":{"fields":[{"name":"auction","type":"BIGINT"}]}}'; expect 201
REFUSED=$(connection "{\"name\":\"refused\",\"connector\":\"redis\",\"type\":\"source\",\"stream\":\"spare\",
  \"properties\":{\"host\":\"127.0.0.1\",\"port\":\"$NOPORT\",\"stream\":\"bids\"}}")
BADPW=$(connection "{\"name\":\"badpw\",\"connector\":\"redis\",\"type\":\"sink\",\"stream\":\"pricey\",
  \"properties\":{\"host\":\"127.0.0.1\",\"port\":\"$RPORT\",\"stream\":\"x\"},\"secret_refs\":{\"password\":\"redis-bad\"}}")
failed_with "$REFUSED" "cannot connect to redis at 127.0.0.1:$NOPORT: Connection refused"
failed_with "$BADPW" "redis at 127.0.0.1:$RPORT refused the credentials: WRONGPASS"
[[ "$(jq -r .last_error <<<"$RESP")" != *not-the-password* ]] || fail "last_error shows the password"

# 7. sluiced run: the same entries through another group into the embedded log, SIGKILLed and run
# again: each entry once
cat >run.sql <<EOF
CREATE TABLE bids (auction BIGINT, price BIGINT) WITH ('connector' = 'redis', 'host' = '127.0.0.1',
  'port' = '$RPORT', 'password' = '$RPW', 'stream' = 'bids', 'group' = 'runner');
CREATE TABLE cheap (auction BIGINT, price BIGINT);
INSERT INTO cheap SELECT auction, price FROM bids WHERE price < 100;
EOF
jq -c 'select(.price < 100)' all.jsonl | sort >cheap.want
cheap_count() { "$logtool" cat run/streams/cheap 2>/dev/null | wc -l; }
some() { [ "$(cheap_count)" -gt 0 ]; }
"$SLUICED" run run.sql --data-dir run --checkpoint-records 100 2>run1.err & RUN=$!
T_PIDS+=("$RUN")
wait_for 20 some || fail "sluiced run wrote nothing: $(cat run1.err)"
kill -9 "$RUN"; wait "$RUN" 2>/dev/null || true
"$SLUICED" run run.sql --data-dir run 2>run2.err & RUN=$!
T_PIDS+=("$RUN")
all_cheap() { [ "$(cheap_count)" -ge "$(wc -l <cheap.want)" ]; }
wait_for 30 all_cheap || fail "sluiced run wrote $(cheap_count) of $(wc -l <cheap.want): $(cat run2.err)"
sleep 0.5
kill "$RUN"; wait "$RUN" 2>/dev/null || true
"$logtool" cat run/streams/cheap | sort >cheap.got
cmp -s cheap.want cheap.got || fail "sluiced run: not each entry once: $(diff cheap.want cheap.got | head -5)"
echo ok
