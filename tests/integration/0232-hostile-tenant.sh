#!/usr/bin/env bash
# A hostile tenant (beta) against another tenant (alpha) and the platform, through the real api:
# the holes this test found, each refused now (0233 keeps the attacks that held).
# - a kafka connection naming a Kafka-stored stream's topic (sluice-<tenant>-<stream>): the
#   deployment's cluster is in every worker's egress allow list, so that read or wrote another
#   tenant's stream; now a 422 naming properties.topic (also at open, in the worker);
# - a symlink planted in the tenant's own stream directory (which its worker's uid can write: a
#   worker taken over by a hostile tenant could plant one) led the api, root, elsewhere: ingest
#   created and appended files in any directory, GET .../records read another tenant's
#   partition. Now every directory below the data root is opened without following symlinks
#   and every log file with O_NOFOLLOW: the request fails and nothing outside is touched;
# - a thousand idle connections from one client address held every connection the api had, so
#   nobody else got an answer; now one address holds at most --max-connections-per-ip.
. "$(dirname "$0")/api_lib.sh"
api_start --data-root "$TEST_TMP/data"
DATA="$TEST_TMP/data"
fields='[{"name":"a","type":"BIGINT"},{"name":"s","type":"STRING"}]'

# ---- tenant alpha: a stream with records, fed over HTTP ---------------------------------------
signup alpha; TOKEN=$KEY; A_KEY=$KEY; A_TENANT=$TENANT_ID
A_STREAM=$(create_id /v1/streams "{\"name\":\"orders\",\"schema\":{\"fields\":$fields}}")
A_CONN=$(create_id /v1/connections '{"name":"web","connector":"http","type":"source","stream":"orders"}')
call POST "/v1/connections/$A_CONN/activate"; expect 200
call POST "/v1/connections/$A_CONN/events" '{"events":[{"a":1,"s":"alpha-secret"},{"a":2,"s":"alpha-secret"}]}'
expect 200
A_DIR="$DATA/tenants/$A_TENANT/streams/$A_STREAM/0"
a_records() { TOKEN=$A_KEY call GET "/v1/streams/$A_STREAM/records"; jq -c '[.items[].value]' <<<"$RESP"; }
A_BEFORE=$(a_records)
assert_eq "$(jq length <<<"$A_BEFORE")" 2 "alpha's records"

# ---- tenant beta ------------------------------------------------------------------------------
signup beta; TOKEN=$KEY; B_TENANT=$TENANT_ID
B_STREAM=$(create_id /v1/streams "{\"name\":\"x\",\"schema\":{\"fields\":$fields}}")
B_CONN=$(create_id /v1/connections '{"name":"bw","connector":"http","type":"source","stream":"x"}')
call POST "/v1/connections/$B_CONN/activate"; expect 200
B_STREAMS="$DATA/tenants/$B_TENANT/streams"
B_DIR="$B_STREAMS/$B_STREAM/0"
ingest_b() { call POST "/v1/connections/$B_CONN/events" "{\"events\":[{\"a\":9,\"s\":\"$1\"}]}"; }

# ---- hole: a kafka connection naming a Kafka-stored stream's topic ----------------------------
kafka_conn() {
  call POST /v1/connections "{\"name\":\"k$RANDOM\",\"connector\":\"kafka\",\"type\":\"$1\",\"stream\":\"x\",
    \"properties\":{\"topic\":\"$2\",\"properties.bootstrap.servers\":\"127.0.0.1:9092\"}}"
}
for try in "source sluice-$A_TENANT-$A_STREAM" "sink SLUICE-${A_TENANT^^}-$A_STREAM" "sink sluice-$B_TENANT-$B_STREAM"; do
  kafka_conn ${try% *} "${try#* }"; expect 422 invalid_connection
  assert_eq "$(jq -r .error.details.field <<<"$RESP")" properties.topic "field for $try"
  assert_contains "$(jq -r .error.message <<<"$RESP")" "named like a Sluice stream stored in Kafka" "message"
done
kafka_conn source sluice-events; expect 201 # an ordinary topic of the tenant's own cluster
K_CONN=$(jq -r .id <<<"$RESP")
call PATCH "/v1/connections/$K_CONN" "{\"properties\":{\"topic\":\"sluice-$A_TENANT-$A_STREAM\",
  \"properties.bootstrap.servers\":\"127.0.0.1:9092\"}}"
expect 422 invalid_connection

# ---- hole: symlinks planted in beta's own stream directory -----------------------------------
# (what beta's worker, running as beta's uid, could do to the directories it owns)
OUTSIDE="$TEST_TMP/outside"
mkdir -p "$OUTSIDE"; echo keep >"$OUTSIDE/keep"; chmod 700 "$OUTSIDE"
outside_unchanged() { assert_eq "$(ls -A "$OUTSIDE" | tr '\n' ' ')" "keep " "files outside after $1"
                      assert_eq "$(cat "$OUTSIDE/keep")" keep "the file outside after $1"; }
planted() { # the partition directory (or the stream's) is a symlink: ingest and records refuse
  ingest_b planted; expect 500 internal
  call GET "/v1/streams/$B_STREAM/records"; expect 500 internal
  [[ "$RESP" != *alpha-secret* ]] || fail "beta read alpha's records through a symlink: $RESP"
  outside_unchanged "$1"
  assert_eq "$(a_records)" "$A_BEFORE" "alpha's records after $1"
}
mv "$B_DIR" "$B_DIR.real"
ln -s "$OUTSIDE" "$B_DIR"; planted "a partition symlinked outside"
rm "$B_DIR"; ln -s "$A_DIR" "$B_DIR"; planted "a partition symlinked to alpha's"
rm "$B_DIR"; mv "$B_DIR.real" "$B_DIR"
mv "$B_STREAMS/$B_STREAM" "$B_STREAMS/real"; ln -s "$OUTSIDE" "$B_STREAMS/$B_STREAM"
planted "the stream directory symlinked outside"
rm "$B_STREAMS/$B_STREAM"; mv "$B_STREAMS/real" "$B_STREAMS/$B_STREAM"
# a segment file (the last path component) symlinked to a file outside
seg=$(cd "$B_DIR" && ls ./*.log | head -n 1)
mv "$B_DIR/$seg" "$TEST_TMP/seg"; ln -s "$OUTSIDE/keep" "$B_DIR/$seg"
ingest_b planted; expect 500 internal
outside_unchanged "a segment symlinked outside"
rm "$B_DIR/$seg"; mv "$TEST_TMP/seg" "$B_DIR/$seg"
# everything back where it was: beta's stream works again, and holds only its own records
ingest_b again; expect 200
call GET "/v1/streams/$B_STREAM/records"; expect 200
assert_eq "$(jq -c '[.items[].value.s]' <<<"$RESP")" '["again"]' "beta's records"

# ---- hole: idle connections from one address held every connection of the api ----------------
python3 - "$API_PORT" "$CACERT" <<'EOF' || fail "another client got no answer while one address held 1100 connections"
import resource, socket, subprocess, sys
port, cacert = int(sys.argv[1]), sys.argv[2]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(1100)]
# another client (another loopback address) still gets its answer
r = subprocess.run(["curl", "-sS", "--max-time", "5", "--cacert", cacert, "--interface", "127.0.0.2",
                    "-o", "/dev/null", "-w", "%{http_code}", "https://127.0.0.1:%d/healthz" % port],
                   capture_output=True, text=True)
print("healthz from another address while 1100 connections are held:", r.stdout, r.stderr.strip())
sys.exit(0 if r.stdout == "200" else 1)
EOF
echo "ok"
