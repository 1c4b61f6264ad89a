#!/usr/bin/env bash
# Cluster mode (README "Streams stored in Kafka"): two controlplane nodes with data roots of
# their own (no shared directory) run a chain of two pipelines over streams stored in Kafka (the
# mock cluster of tests/tools/kafka_mock, one process both nodes reach). The api creates each
# stream's topic; the test produces the input into the first topic itself. The node running the
# pipelines is SIGKILLed while input arrives; the other takes the tasks over when their leases
# expire, resumes from the checkpoints the first node copied into PostgreSQL, and the final
# topic holds every input record (nothing lost). Kafka sinks are at-least-once: records written
# after the last copied checkpoint are written again, so the test counts duplicates and checks
# that they are few (a restart from the beginning, without the stored checkpoints, would repeat
# the whole first half). A stream stored in Kafka is a 422 where the api has no cluster, and its
# records are read back through GET /v1/streams/{id}/records.
. "$(dirname "$0")/api_lib.sh"
kmock="$TOOLS/kafka_mock"
N=2000
HALF=$((N / 2))
LEASE=4
cd "$TEST_TMP"

bg "$kmock" serve >servers.txt
wait_for 5 test -s servers.txt || fail "mock cluster did not start"
BS=$(cat servers.txt)
SCHEMA_SRC='{"fields":[{"name":"id","type":"BIGINT"}]}'

# without a cluster, "storage": "kafka" is refused; the embedded log stays the default
api_start --data-root "$TEST_TMP/api-data"
signup corp
TOKEN=$KEY
call POST /v1/streams "{\"name\":\"src\",\"storage\":\"kafka\",\"schema\":$SCHEMA_SRC}"
expect 422 invalid_stream
assert_contains "$(jq -r .error.message <<<"$RESP")" "--kafka-bootstrap-servers" "422 names the setting"
call POST /v1/streams "{\"name\":\"src\",\"storage\":\"nfs\",\"schema\":$SCHEMA_SRC}"
expect 400 invalid_request
kill "$API_PID"; wait "$API_PID" 2>/dev/null || true

# --stream-storage kafka: streams created without "storage" are stored in Kafka
api_start --data-root "$TEST_TMP/api-data" --kafka-bootstrap-servers "$BS" --stream-storage kafka
SRC=$(create_id /v1/streams "{\"name\":\"src\",\"schema\":$SCHEMA_SRC}")
MID=$(create_id /v1/streams '{"name":"mid","storage":"kafka","schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"twice","type":"BIGINT"}]}}')
OUT=$(create_id /v1/streams '{"name":"out","storage":"kafka","schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"v","type":"BIGINT"}]}}')
call GET "/v1/streams/$OUT"; expect 200
assert_eq "$(jq -r .storage <<<"$RESP")" kafka "the stream's storage"
call PATCH "/v1/streams/$OUT" '{"storage":"log"}'
expect 422 invalid_stream
call POST /v1/preview '{"sql":"SELECT id FROM src"}'
expect 422 invalid_stream # previews read embedded logs only
topic() { echo "sluice-$TENANT_ID-$1"; }
"$kmock" consume "$BS" "$(topic "$SRC")" >/dev/null || fail "the api did not create the topic of src"

P1=$(create_id /v1/pipelines '{"name":"double","sql":"INSERT INTO mid SELECT id, id * 2 AS twice FROM src"}')
P2=$(create_id /v1/pipelines '{"name":"plus","sql":"INSERT INTO out SELECT id, twice + 1 AS v FROM mid"}')

# node NAME [FLAGS]: a controlplane on the real worker with a data root of its own
node() {
  local name=$1; shift
  bg "$SLUICED" controlplane --database-url "$DATABASE_URL" --node-id "$name" --data-root "$TEST_TMP/data-$name" \
    --kafka-bootstrap-servers "$BS" --sync-ms 250 --resync-ms 1000 --lease-seconds "$LEASE" \
    --backoff-initial-ms 100 --cgroup-parent "sluice-test-$$" "$@" >"$TEST_TMP/cp-$name.log" 2>&1
  NODE_PID=$!
}
# n1 copies checkpoints to the database every 1.5 s only (with its sync): when it dies, the
# sinks hold records written after the checkpoint the database has, which the takeover replays
node n1 --sync-ms 1500
N1=$NODE_PID
for p in "$P1" "$P2"; do call POST "/v1/pipelines/$p/activate"; expect 200; done
on_n1() { [ "$(sql "SELECT count(*) FROM tasks WHERE node = 'n1' AND state = 'running'")" = 2 ]; }
wait_for 20 on_n1 || fail "n1 does not run both pipelines: $(sql "SELECT state, last_error FROM tasks")"
node n2

seq 0 $((HALF - 1)) | jq -c '{id: .}' | "$kmock" produce "$BS" "$(topic "$SRC")" || fail "produce"
out_ids() { "$kmock" consume "$BS" "$(topic "$OUT")" | jq -r .id; }
distinct() { out_ids | sort -u | wc -l; }
has() { [ "$(distinct)" -ge "$1" ]; }
wait_for 30 has "$HALF" || fail "out has $(distinct) of $HALF ids: $(sql "SELECT state, last_error FROM tasks")"
# both tasks' checkpoints past the first half are in the database
stored() { [ "$(sql "SELECT count(*) FROM task_checkpoints WHERE resource_id IN ('$P1', '$P2')")" = 2 ]; }
wait_for 10 stored || fail "no checkpoints in the database: $(sql "SELECT resource_id, seq FROM task_checkpoints")"
sleep 1.5 # a few more checkpoints, copied

# the second half arrives in bursts; n1 is SIGKILLed in the middle of it
(for k in $(seq 0 9); do
   seq $((HALF + k * 100)) $((HALF + k * 100 + 99)) | jq -c '{id: .}' | "$kmock" produce "$BS" "$(topic "$SRC")"
   sleep 0.3
 done) & producer=$!
wait_for 10 has $((HALF + 100)) || fail "the second half does not arrive in out"
n1_pids=$(sql "SELECT pid FROM tasks WHERE node = 'n1'")
kill -9 "$N1"
wait "$producer" || fail "produce"
for pid in $n1_pids; do
  wait_for 3 bash -c "! kill -0 $pid 2>/dev/null" || fail "worker $pid of the killed node still runs"
done
on_n2() { [ "$(sql "SELECT count(*) FROM tasks WHERE node = 'n2' AND state = 'running'")" = 2 ]; }
wait_for $((LEASE + 15)) on_n2 || fail "n2 did not take over: $(sql "SELECT node, state, last_error FROM tasks")"
resumed=$(sql "SELECT count(*) FROM task_logs WHERE resource_id IN ('$P1', '$P2')
                 AND message LIKE '%node n2 resumes from % kept in the database'")
[ "$resumed" -ge 2 ] || fail "n2 did not resume both tasks from stored checkpoints ($resumed)"
[ ! -e "$TEST_TMP/data-n2/tenants/$TENANT_ID/checkpoints/$P1/task-0.ckpt.restore" ] || fail "a restore left its temporary file"

wait_for 40 has "$N" || fail "out has $(distinct) of $N ids after the takeover: $(sql "SELECT node, state, last_error FROM tasks")"
out_ids | sort -n | uniq >got.txt
seq 0 $((N - 1)) >want.txt
cmp -s want.txt got.txt || fail "out is not ids 0..$((N - 1)): $(diff want.txt got.txt | head -5)"
total=$(out_ids | wc -l)
dups=$((total - N))
echo "out: $N ids, none lost; $dups duplicates after n1 was SIGKILLed"
assert_eq "$dups" 0 "duplicates in out (the replay's output already in mid and out is not written again)"
skipped=$(sql "SELECT count(*) FROM task_logs WHERE resource_id IN ('$P1', '$P2')
                 AND message LIKE '%records after the checkpoint: what the replay emits of them is not written again'")
echo "tasks that found records after their checkpoint: $skipped"
[ "$skipped" -ge 1 ] || fail "no task found records after its checkpoint: the replay dedup was not exercised"
# every record's value as the chain computes it
bad=$("$kmock" consume "$BS" "$(topic "$OUT")" | jq -c "select(.v != .id * 2 + 1)" | head -3)
[ -z "$bad" ] || fail "wrong values in out: $bad"

# the records API reads the topic (the mock cluster auto-creates topics with 4 partitions; the
# single-task pipeline writes partition 0)
call GET "/v1/streams/$OUT/records?partition=0&offset=0&limit=5"; expect 200
assert_eq "$(jq -r '.items | length' <<<"$RESP")" 5 "records read from the topic: $RESP"
assert_eq "$(jq -r '.end_offset' <<<"$RESP")" "$total" "the topic's end offset"
assert_eq "$(jq -c '[.items[] | .op] | unique' <<<"$RESP")" '["+I"]' "row kinds"

# HTTP ingest into a stream stored in Kafka produces into its topic, which the chain reads
HTTP=$(create_id /v1/connections '{"name":"in","connector":"http","type":"source","stream":"src"}')
call POST "/v1/connections/$HTTP/activate"; expect 200
call POST "/v1/connections/$HTTP/events" "$(seq $N $((N + 9)) | jq -sc '{events: map({id: .})}')"
expect 200
assert_eq "$(jq -r .accepted <<<"$RESP")" 10 "events accepted: $RESP"
wait_for 20 has $((N + 10)) || fail "out has $(distinct) of $((N + 10)) ids after HTTP ingest"

# neither node's data root holds the streams: nothing of them is on local disk
[ -z "$(find "$TEST_TMP/data-n1" "$TEST_TMP/data-n2" "$TEST_TMP/api-data" -path '*/streams/*' -type f)" ] ||
  fail "stream segments on a node's disk"
echo ok
