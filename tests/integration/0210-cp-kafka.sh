#!/usr/bin/env bash
# Kafka connections through the api, the controlplane and the real worker, on a mock cluster
# (tests/tools/kafka_mock): a kafka source connection fills a stream from a topic with exactly
# the N records even though its worker is SIGKILLed mid-run (exactly-once into the embedded log
# through the checkpoint), a pipeline transforms them, and a kafka sink connection writes the
# result to another topic, read back and compared with jq. The bootstrap servers of the source
# arrive as a secret (secret_refs), in neither the worker's command line nor its environment.
# Bad kafka properties end in a failed connection whose last_error says why. The connection
# check finds the topic, and reports a missing topic and a closed port. Key, headers and
# timestamp go through connections: a source reads them (and partition, offset) into fields of a
# stream ('key.fields' with 'key.format' raw, 'metadata.FIELD'), a sink writes them back, and
# options that cannot work (no such field, the wrong type, read-only metadata on a sink, an
# unknown key) are a 422 naming the option, at create and update. A change of the stream's
# schema that such a mapping would not survive is a 409 naming the connection, the option and
# the field, also when it races an update of the connection.
. "$(dirname "$0")/api_lib.sh"
kmock="$TOOLS/kafka_mock"
logtool="$TOOLS/logtool"
N=4000
cd "$TEST_TMP"

# one partition: a restarted source rewrites the records after its checkpoint in the same order,
# so the pipeline reading the stream meanwhile sees the same records (see README, Kafka)
bg "$kmock" serve bids pricey tagged tagged-out >servers.txt
wait_for 5 test -s servers.txt || fail "mock cluster did not start"
BS=$(cat servers.txt)
jq -nc --argjson n "$N" 'range(0; $n) | {auction: (1000 + .), price: ((. * 37) % 500)}' >all.jsonl
half=$((N / 2))
head -n "$half" all.jsonl | "$kmock" produce "$BS" bids || fail "produce"  # the first half now

live_start kafka kafka-corp --sync-ms 200 --backoff-initial-ms 100
BIDS=$(create_id /v1/streams '{"name":"bids","schema":{"fields":[{"name":"auction","type":"BIGINT"},{"name":"price","type":"BIGINT"}]}}')
call POST /v1/streams '{"name":"pricey","schema":{"fields":[{"name":"auction","type":"BIGINT"},{"name":"cents","type":"BIGINT"}]}}'
expect 201
call POST /v1/secrets "{\"name\":\"kafka-servers\",\"value\":\"$BS\"}"; expect 201
SRC=$(create_id /v1/connections '{"name":"bids-in","connector":"kafka","type":"source","stream":"bids",
  "properties":{"topic":"bids","scan.startup.mode":"earliest-offset"},
  "secret_refs":{"properties.bootstrap.servers":"kafka-servers"}}')
P=$(create_id /v1/pipelines '{"name":"pricey","sql":"INSERT INTO pricey SELECT auction, price * 100 AS cents FROM bids WHERE price > 250"}')
SINK=$(create_id /v1/connections "{\"name\":\"pricey-out\",\"connector\":\"kafka\",\"type\":\"sink\",\"stream\":\"pricey\",
  \"properties\":{\"topic\":\"pricey\",\"properties.bootstrap.servers\":\"$BS\"}}")
for r in "connections/$SRC" "pipelines/$P" "connections/$SINK"; do call POST "/v1/$r/activate"; expect 200; done


# the connection check: the source (its servers from a secret) finds its topic; a missing topic
# and a closed port are reported, and the check creates no topic
checked() { # ID REACHABLE AUTHENTICATED PRESENT TEXT
  call POST "/v1/connections/$1/check"; expect 200
  assert_eq "$(jq -c '[.reachable, .authenticated, .target_present]' <<<"$RESP")" "[$2,$3,$4]" "check of $1: $RESP"
  assert_contains "$(jq -r '.error // ""' <<<"$RESP")" "$5" "check error"
}
checked "$SRC" true true true ""
NOTOPIC=$(create_id /v1/connections "{\"name\":\"no-topic\",\"connector\":\"kafka\",\"type\":\"sink\",\"stream\":\"pricey\",
  \"properties\":{\"topic\":\"nosuch\",\"properties.bootstrap.servers\":\"$BS\"}}")
checked "$NOTOPIC" true true false 'kafka topic "nosuch" does not exist'
KPORT=$(free_port)
CLOSED=$(create_id /v1/connections "{\"name\":\"closed\",\"connector\":\"kafka\",\"type\":\"sink\",\"stream\":\"pricey\",
  \"properties\":{\"topic\":\"pricey\",\"properties.bootstrap.servers\":\"127.0.0.1:$KPORT\"}}")
checked "$CLOSED" false false false "cannot read the metadata of Kafka at 127.0.0.1:$KPORT"
# librdkafka's own lines go through sluiced's logger (time, level, "kafka FAIL: ..."), not its
# raw "%3|<epoch>|FAIL|rdkafka#producer-1| ..." on stderr.
printf "CREATE TABLE k (a BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json',
  'properties.bootstrap.servers' = '127.0.0.1:%s');\nCREATE TABLE o (a BIGINT);\nINSERT INTO o SELECT a FROM k;\n" \
  "$KPORT" >"$TEST_TMP/closed.sql"
timeout 2 "$SLUICED" run "$TEST_TMP/closed.sql" --bounded --data-dir "$TEST_TMP/closed-data" 2>"$TEST_TMP/closed.err" || true
grep -Eq '^[0-9T:.-]+Z error kafka FAIL: .*127\.0\.0\.1:'"$KPORT"'.*Connection refused' "$TEST_TMP/closed.err" ||
  fail "librdkafka's connect failure through the logger: $(cat "$TEST_TMP/closed.err")"
grep -Eq '^%[0-9]\|' "$TEST_TMP/closed.err" && fail "librdkafka's raw log lines on stderr: $(cat "$TEST_TMP/closed.err")"

in_stream() { call GET "/v1/streams/$BIDS/records?limit=1"; jq -r .end_offset <<<"$RESP"; }
has() { [ "$(in_stream)" -ge "$1" ]; }
wait_for 20 has "$half" || fail "the source copied $(in_stream) of $half: $(sql "SELECT state, last_error FROM tasks")"
# the worker reports its seccomp layer after exec; the task row catches up with the next write
seccomp_applied() { call GET "/v1/connections/$SRC/status"; [[ "$(jq -r '.tasks[0].sandbox.seccomp' <<<"$RESP")" == *applied* ]]; }
wait_for 10 seccomp_applied || fail "seccomp not reported applied: $(jq -c '.tasks[0].sandbox' <<<"$RESP")"
assert_contains "$(jq -r '.tasks[0].sandbox.namespaces' <<<"$RESP")" "network allowed" "kafka tasks get the network"

# SIGKILL the source worker, produce the second half while it is down or restarting
pid=$(sql "SELECT pid FROM tasks WHERE resource_id = '$SRC' AND state = 'running'")
[ -n "$pid" ] || fail "no running source task"
assert_eq "$(readlink "/proc/$pid/exe")" "$FULL_WORKER" "kafka connections run on the full sluiced binary"
no_secret_in_proc "$pid" "$BS"
kill -9 "$pid"
tail -n +$((half + 1)) all.jsonl | "$kmock" produce "$BS" bids || fail "produce"
wait_restarted 10 "$SRC"
wait_for 20 has "$N" || fail "the source copied $(in_stream) of $N after the restart"
sleep 0.5
assert_eq "$(in_stream)" "$N" "records in the stream (no loss, no duplicates after SIGKILL)"
"$logtool" cat "$TEST_TMP/data/tenants/$TENANT_ID/streams/$BIDS" | sort >stream.jsonl
sort all.jsonl >all.sorted
cmp -s all.sorted stream.jsonl || fail "the stream is not the topic's records once each: $(diff all.sorted stream.jsonl | head -5)"

# the sink topic: the pipeline's output, as jq computes it
jq -c 'select(.price > 250) | {auction, cents: (.price * 100)}' all.jsonl | sort >want.jsonl
out_count() { "$kmock" consume "$BS" pricey | wc -l; }
enough() { [ "$(out_count)" -ge "$(wc -l <want.jsonl)" ]; }
wait_for 20 enough || fail "the sink topic has $(out_count) of $(wc -l <want.jsonl) records"
"$kmock" consume "$BS" pricey | sort >got.jsonl
diff want.jsonl got.jsonl >/dev/null || fail "sink topic differs from jq: $(diff want.jsonl got.jsonl | head -5)"
echo "source $N records, sink $(wc -l <got.jsonl) records, as jq says"

# key, headers and timestamp: topic -> source connection -> stream -> sink connection -> topic
printf 'key-1\t1767323045678\ttrace=abc;n\t{"id":1}\n\t1767323046000\t\t{"id":2}\n' |
  "$kmock" produce-meta "$BS" tagged || fail "produce-meta"
TAG_FIELDS='{"name":"id","type":"BIGINT"},{"name":"k","type":"STRING"},{"name":"h","type":"STRING"},'\
'{"name":"ts","type":"TIMESTAMP(3)"},{"name":"p","type":"BIGINT"},{"name":"o","type":"BIGINT"}'
TAGGED=$(create_id /v1/streams "{\"name\":\"tagged\",\"schema\":{\"fields\":[$TAG_FIELDS]}}")
KEYED="\"properties.bootstrap.servers\":\"$BS\",\"key.fields\":\"k\",\"key.format\":\"raw\",\"metadata.h\":\"headers\",\"metadata.ts\":\"timestamp\""
TIN=$(create_id /v1/connections "{\"name\":\"tagged-in\",\"connector\":\"kafka\",\"type\":\"source\",\"stream\":\"tagged\",
  \"properties\":{\"topic\":\"tagged\",$KEYED,\"metadata.p\":\"partition\",\"metadata.o\":\"offset\"}}")
TOUT=$(create_id /v1/connections "{\"name\":\"tagged-out\",\"connector\":\"kafka\",\"type\":\"sink\",\"stream\":\"tagged\",
  \"properties\":{\"topic\":\"tagged-out\",$KEYED,\"value.fields-include\":\"EXCEPT_KEY\"}}")
for r in "$TIN" "$TOUT"; do call POST "/v1/connections/$r/activate"; expect 200; done
two_out() { [ "$("$kmock" records "$BS" tagged-out | wc -l)" -ge 2 ]; }
wait_for 20 two_out || fail "tagged-out has $("$kmock" records "$BS" tagged-out | wc -l) of 2 records"
assert_eq "$("$kmock" records "$BS" tagged-out)" "$(printf 'key-1\t1767323045678\ttrace=abc;n\t{"id":1,"o":0,"p":0}\n\t1767323046000\t\t{"id":2,"o":1,"p":0}')" \
  "key, timestamp and headers through a source and a sink connection"
# bad mappings: 422 naming the option, at create and at update
meta_rejected() { # METHOD PATH FIELD MESSAGE BODY
  call "$1" "$2" "$5"; expect 422 invalid_connection
  assert_eq "$(jq -r .error.details.field <<<"$RESP")" "$3" "field of $5"
  assert_eq "$(jq -r .error.message <<<"$RESP")" "$4" "message of $5"
}
conn() { echo "{\"name\":\"m\",\"connector\":\"kafka\",\"type\":\"$1\",\"stream\":\"tagged\",\"properties\":{\"topic\":\"tagged\",\"properties.bootstrap.servers\":\"$BS\",$2}}"; }
meta_rejected POST /v1/connections properties.metadata.x "'metadata.x': the stream has no field \"x\"" "$(conn source '"metadata.x":"headers"')"
meta_rejected POST /v1/connections properties.metadata.o "'metadata.o': metadata 'headers' is STRING, and field \"o\" is BIGINT" \
  "$(conn source '"metadata.o":"headers"')"
meta_rejected POST /v1/connections properties.metadata.o \
  "'metadata.o': metadata 'offset' is read-only; a sink writes only 'headers' and 'timestamp'" "$(conn sink '"metadata.o":"offset"')"
meta_rejected POST /v1/connections properties.metadata.h \
  'kafka option "metadata.h" must be headers | timestamp | timestamp-type | offset | partition | topic, not "leader-epoch"' \
  "$(conn source '"metadata.h":"leader-epoch"')"
meta_rejected POST /v1/connections properties.key.fields "'key.fields': a source reads a raw key into a STRING field, and \"id\" is BIGINT" \
  "$(conn source '"key.fields":"id","key.format":"raw"')"
meta_rejected PATCH "/v1/connections/$TOUT" properties.metadata.p \
  "'metadata.p': metadata 'partition' is read-only; a sink writes only 'headers' and 'timestamp'" \
  "{\"properties\":{\"topic\":\"tagged-out\",$KEYED,\"metadata.p\":\"partition\"}}"
meta_rejected PATCH "/v1/connections/$TIN" properties.metadata.x "'metadata.x': the stream has no field \"x\"" \
  "{\"properties\":{\"topic\":\"tagged\",$KEYED,\"metadata.x\":\"offset\"}}"
# hostile: a forged "__schema" (the schema the platform passes the check) cannot make a mapping to
# a field the stream lacks pass, and a metadata option must name a field
call POST /v1/connections "$(conn source '"metadata.x":"headers","__schema":"{\"fields\":[{\"name\":\"x\",\"type\":\"STRING\"}]}"')"
expect 422 invalid_connection
assert_eq "$(jq -r .error.details.field <<<"$RESP")" properties.__schema "a forged __schema is refused by name"
assert_contains "$(jq -r .error.message <<<"$RESP")" 'unknown kafka option "__schema"' "message of a forged __schema"
call POST /v1/connections "$(conn source '"metadata.":"headers"')"; expect 422 invalid_connection
assert_eq "$(jq -r .error.details.field <<<"$RESP")" properties.metadata. "a metadata option with no field name"
echo "key, headers, timestamp through connections; bad mappings refused"

# a schema change of the stream that a connection's mapping would not survive is a 409 naming
# the connection, the option and the field (as a pipeline's is); one they survive passes
schema_refused() { # FIELDS CONNECTION OPTION FIELD MESSAGE
  call PATCH "/v1/streams/$TAGGED" "{\"schema\":{\"fields\":[$1]}}"; expect 409 conflict
  assert_eq "$(jq -c '.error.details | [.field, .connection, .option, .stream_field]' <<<"$RESP")" \
    "[\"schema\",\"$2\",\"$3\",\"$4\"]" "details of the change of $4"
  assert_contains "$(jq -r .error.message <<<"$RESP")" \
    "connection \"$2\" uses field \"$4\" of stream \"tagged\" in $3 and would break: $5" "message of the change of $4"
  [[ "$(jq -r .error.message <<<"$RESP")" == *"; change the connection first" ]] || fail "the fix in: $RESP"
}
no_h=${TAG_FIELDS/\{\"name\":\"h\",\"type\":\"STRING\"\},/}
schema_refused "$no_h" tagged-in properties.metadata.h h "'metadata.h': the stream has no field \"h\""
schema_refused "${TAG_FIELDS/\"ts\",\"type\":\"TIMESTAMP(3)\"/\"ts\",\"type\":\"STRING\"}" tagged-in \
  properties.metadata.ts ts "'metadata.ts': metadata 'timestamp' is"
schema_refused "${TAG_FIELDS/\"k\",\"type\":\"STRING\"/\"k\",\"type\":\"BIGINT\"}" tagged-in properties.key.fields k \
  "'key.fields': a source reads a raw key into a STRING field, and \"k\" is BIGINT"
WITH_EXTRA="$TAG_FIELDS,{\"name\":\"extra\",\"type\":\"STRING\"}"
call PATCH "/v1/streams/$TAGGED" "{\"schema\":{\"fields\":[$WITH_EXTRA]}}"; expect 200
# a connection that is broken against the stored schema already does not block another change
BROKEN=$(create_id /v1/connections "$(conn source '"metadata.h":"headers"' | sed 's/"name":"m"/"name":"tagged-broken"/')")
sql "UPDATE connections SET properties = properties || '{\"metadata.gone\":\"headers\"}' WHERE id = '$BROKEN'" >/dev/null
call PATCH "/v1/streams/$TAGGED" "{\"schema\":{\"fields\":[$WITH_EXTRA,{\"name\":\"more\",\"type\":\"STRING\"}]}}"
expect 200
call DELETE "/v1/connections/$BROKEN"; expect 204
call PATCH "/v1/streams/$TAGGED" "{\"schema\":{\"fields\":[$WITH_EXTRA]}}"; expect 200
# hostile: another tenant's stream of the same name and schema is not held by this tenant's
# connections (nor does their name reach it)
saved_token=$TOKEN; signup kafka-other; TOKEN=$KEY
OTHER_TAGGED=$(create_id /v1/streams "{\"name\":\"tagged\",\"schema\":{\"fields\":[$TAG_FIELDS]}}")
call PATCH "/v1/streams/$OTHER_TAGGED" "{\"schema\":{\"fields\":[$no_h]}}"; expect 200
TOKEN=$saved_token
# hostile: a schema change racing a connection update. Each waits for the other's transaction
# (the stream's row lock) and then checks against its result: a change that drops "extra" while
# a connection maps it is refused, whichever commits first.
SPARE=$(create_id /v1/connections "$(conn source '"metadata.h":"headers"' | sed 's/"name":"m"/"name":"tagged-spare"/')")
held() { # SQL...: runs the statements in a transaction held open 2 s after them (in the background)
  rm -f "$TEST_TMP/held"
  printf 'BEGIN;\n%s\n\\! touch %s/held\nSELECT pg_sleep(2);\nCOMMIT;\n' "$1" "$TEST_TMP" |
    psql -X -q -tA -v ON_ERROR_STOP=1 "$DATABASE_URL" >/dev/null &
  HELD=$!
  wait_for 10 test -f "$TEST_TMP/held" || fail "the held transaction did not start"
}
# a stream change (as its PATCH would write it) commits while a connection update checks
held "UPDATE streams SET schema = '{\"fields\":[$TAG_FIELDS]}' WHERE id = '$TAGGED';"
call PATCH "/v1/connections/$SPARE" "{\"properties\":{\"topic\":\"tagged\",\"properties.bootstrap.servers\":\"$BS\",\"metadata.extra\":\"headers\"}}"
wait "$HELD"
expect 422 invalid_connection
assert_eq "$(jq -r .error.message <<<"$RESP")" "'metadata.extra': the stream has no field \"extra\"" \
  "a connection update checked against the schema committed meanwhile"
call PATCH "/v1/streams/$TAGGED" "{\"schema\":{\"fields\":[$WITH_EXTRA]}}"; expect 200
# a connection update (as its PATCH would hold and write it) commits while a schema change checks
held "SELECT 1 FROM streams WHERE id = '$TAGGED' FOR SHARE;
UPDATE connections SET properties = properties || '{\"metadata.extra\":\"headers\"}' WHERE id = '$SPARE';"
call PATCH "/v1/streams/$TAGGED" "{\"schema\":{\"fields\":[$TAG_FIELDS]}}"
wait "$HELD"
expect 409 conflict
assert_eq "$(jq -r .error.details.connection <<<"$RESP")" tagged-spare \
  "a schema change checked against the connection committed meanwhile"
echo "schema changes that would break a connection's mapping refused"

# a missing topic: the connection fails with the worker's reason
BAD=$(create_id /v1/connections "{\"name\":\"nope-in\",\"connector\":\"kafka\",\"type\":\"source\",\"stream\":\"bids\",
  \"properties\":{\"topic\":\"nope\",\"properties.bootstrap.servers\":\"$BS\"}}")
call POST "/v1/connections/$BAD/activate"; expect 200
failed() { call GET "/v1/connections/$BAD"; [ "$(jq -r .actual_state <<<"$RESP")" = failed ]; }
wait_for 30 failed || fail "bad connection not failed: $RESP"
assert_contains "$(jq -r .last_error <<<"$RESP")" "kafka topic \"nope\" does not exist" "last_error names the cause"
echo ok
