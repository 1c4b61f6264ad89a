#!/usr/bin/env bash
# test: alone (its kills or checks must land while its input is still being written: scripts/test.sh runs it with no other test beside it)
# PostgreSQL sink connections through the api, the controlplane and the real worker: a datagen
# source fills a stream, a postgres sink (insert mode) copies it into a table of a PostgreSQL
# cluster of the test's own (not the platform's: the egress policy refuses that), compared row by row with the stream's records; an upsert
# sink on a slower stream has its worker SIGKILLed mid-run and still ends with each key once,
# holding its last record, and reconnects without a crash when the server closes its
# connection; a missing table, a missing column, a row the table refuses and a wrong password
# (the target cluster checks passwords) end `failed` with last_error saying why, and the
# right password from a secret works, and that password is in neither the worker's command line
# nor its environment.
. "$(dirname "$0")/api_lib.sh"
logtool="$TOOLS/logtool"
N=3000
cd "$TEST_TMP"
export PGTZ=UTC

# The sinks' target is a cluster of its own, not the platform's: the egress policy refuses
# tenant workers the platform database's port (0231 tests that). It checks passwords (part 3).
pw_cluster_up
PWURL="postgresql://sinker@127.0.0.1:$port/postgres"
PGPASSWORD=s3cret-pw psql -X -q "$PWURL" -c "CREATE ROLE target LOGIN SUPERUSER PASSWORD 'target-pw'" \
  -c "CREATE DATABASE sink_target OWNER target" || fail "create target database"
TARGET="postgresql://target:target-pw@127.0.0.1:$port/sink_target"
tq() { sql_on "$TARGET" "$1"; }
tq 'CREATE TABLE bids (auction bigint, bidder bigint, price bigint, channel text, "dateTime" timestamptz,
                       extra varchar(100), loaded_at timestamptz DEFAULT now())'
tq 'CREATE TABLE latest_bid (auction bigint PRIMARY KEY, bidder bigint, price bigint, "dateTime" timestamptz)'

live_start pgsink pgsink-corp --sync-ms 200 --backoff-initial-ms 100
fields='[{"name":"auction","type":"BIGINT"},{"name":"bidder","type":"BIGINT"},{"name":"price","type":"BIGINT"},
         {"name":"channel","type":"STRING"},{"name":"dateTime","type":"TIMESTAMP(3)"},{"name":"extra","type":"STRING"}]'
BIDS=$(create_id /v1/streams "{\"name\":\"bids\",\"schema\":{\"fields\":$fields}}")
SLOW=$(create_id /v1/streams '{"name":"slow","schema":{"fields":[{"name":"auction","type":"BIGINT"},
  {"name":"bidder","type":"BIGINT"},{"name":"price","type":"BIGINT"},{"name":"dateTime","type":"TIMESTAMP"}]}}')

# connection NAME BODY → its id, activated
connection() {
  local id; id=$(create_id /v1/connections "$2")
  call POST "/v1/connections/$id/activate"; expect 200
  echo "$id"
}
state_of() { call GET "/v1/connections/$1"; jq -r .actual_state <<<"$RESP"; }
# the stream's records as lines "auction|bidder|price|channel|dateTime|extra" (timestamps to ms)
stream_lines() { # STREAM_ID FIELDS
  "$logtool" cat "$TEST_TMP/data/tenants/$TENANT_ID/streams/$1" | jq -r "[$2] | map(tostring) | join(\"|\")"
}
LINE="auction||'|'||bidder||'|'||price||'|'||channel||'|'||to_char(\"dateTime\", 'YYYY-MM-DD HH24:MI:SS.MS')"

# 1. insert mode: the whole stream, once each
GEN=$(connection gen "{\"name\":\"gen\",\"connector\":\"datagen\",\"type\":\"source\",\"stream\":\"bids\",
  \"properties\":{\"kind\":\"bid\",\"events\":\"$N\"}}")
SINK=$(connection pg "{\"name\":\"pg-bids\",\"connector\":\"postgres\",\"type\":\"sink\",\"stream\":\"bids\",
  \"properties\":{\"url\":\"$TARGET\",\"table\":\"bids\"}}")
rows() { tq "SELECT count(*) FROM $1"; }
# the pid of a connection's running task (the controlplane records it a moment after the start)
has_pid() { [ -n "$(task_pid "$1")" ]; }
full() { [ "$(rows bids)" -ge "$N" ]; }
wait_for 30 full || fail "the sink wrote $(rows bids) of $N rows: $(sql "SELECT state, last_error FROM tasks")"
sleep 0.5
assert_eq "$(rows bids)" "$N" "rows in the table (no duplicates without faults)"
wait_for 10 has_pid "$SINK" || fail "no running sink task"
pid=$(task_pid "$SINK")
assert_eq "$(readlink "/proc/$pid/exe")" "$FULL_WORKER" "postgres sinks run on the full sluiced binary"
call GET "/v1/connections/$SINK/status"; expect 200
assert_contains "$(jq -r '.tasks[0].sandbox.namespaces' <<<"$RESP")" "network allowed" "postgres sinks get the network"
stream_lines "$BIDS" '.auction, .bidder, .price, .channel, .dateTime, .extra' | LC_ALL=C sort >want.txt
tq "SELECT $LINE||'|'||extra FROM bids" | LC_ALL=C sort >got.txt
assert_eq "$(wc -l <want.txt)" "$N" "records in the stream"
cmp -s want.txt got.txt || fail "table differs from the stream: $(diff want.txt got.txt | head -5)"
assert_eq "$(md5sum <got.txt)" "$(md5sum <want.txt)" "checksum of the table's rows and the stream's records"
assert_eq "$(tq 'SELECT count(*) FROM bids WHERE loaded_at IS NULL')" 0 "columns that are not fields keep their default"
echo "insert: $N rows as in the stream"

# 2. upsert: SIGKILL the sink mid-run, each key once with its last record
SLOWGEN=$(connection slowgen '{"name":"slowgen","connector":"datagen","type":"source","stream":"slow",
  "properties":{"kind":"bid","events":"6000","rate":"1000","seed":"7"}}')
UP=$(connection pg-up "{\"name\":\"pg-latest\",\"connector\":\"postgres\",\"type\":\"sink\",\"stream\":\"slow\",
  \"properties\":{\"url\":\"$TARGET?application_name=upsert-sink\",\"table\":\"latest_bid\",\"mode\":\"upsert\",\"primary_key\":\"auction\"}}")
some() { [ "$(rows latest_bid)" -gt 0 ]; }
wait_for 20 some || fail "the upsert sink wrote nothing: $(sql "SELECT state, last_error FROM tasks")"
wait_for 10 has_pid "$UP" || fail "no running upsert task"
pid=$(task_pid "$UP")
[ "$(state_of "$SLOWGEN")" = running ] || fail "the source ended before the kill: the test proves nothing"
kill -9 "$pid"
wait_restarted 15 "$UP"
# the server closes the sink's connection mid-run: it reconnects, no crash
[ "$(state_of "$SLOWGEN")" = running ] || fail "the source ended before the disconnect: the test proves nothing"
assert_eq "$(tq "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'upsert-sink'")" \
  1 "the upsert sink's connection closed by the server"
done_gen() { [ "$(state_of "$SLOWGEN")" = completed ]; }
wait_for 30 done_gen || fail "the slow source did not complete: $RESP"
# the last record of each auction, in stream order
stream_lines "$SLOW" '.auction, .bidder, .price, .dateTime' | awk -F'|' '{last[$1] = $0} END {for (k in last) print last[k]}' |
  LC_ALL=C sort >want-up.txt
latest() { tq "SELECT auction||'|'||bidder||'|'||price||'|'||to_char(\"dateTime\", 'YYYY-MM-DD HH24:MI:SS.MS')
               FROM latest_bid" | LC_ALL=C sort >got-up.txt; cmp -s want-up.txt got-up.txt; }
wait_for 20 latest || fail "upsert table differs from the last record per key: $(diff want-up.txt got-up.txt | head -5)"
assert_eq "$(tq 'SELECT count(*) - count(DISTINCT auction) FROM latest_bid')" 0 "each key once"
assert_eq "$(sql "SELECT state || ' ' || restarts FROM tasks WHERE resource_id = '$UP'")" "running 1" \
  "a connection closed by the server is reopened without a crash"
assert_eq "$(tq "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'upsert-sink'")" 1 "reconnected"
echo "upsert: $(wc -l <want-up.txt) keys, each once with its last record, after a SIGKILL"

# 3. clear failures (all at once: each ends after the supervisor's retries), and the right
# password from a secret; passwords on the target cluster, which checks them
PGPASSWORD=s3cret-pw psql -X -q "$PWURL" -c 'CREATE TABLE bids (auction bigint, bidder bigint, price bigint,
  channel text, "dateTime" timestamptz, extra text)' || fail "create table on the password cluster"
call POST /v1/secrets '{"name":"pg-good","value":"s3cret-pw"}'; expect 201
call POST /v1/secrets '{"name":"pg-bad","value":"not-the-password"}'; expect 201
tq 'CREATE TABLE narrow (auction bigint, price bigint)'
tq 'CREATE TABLE cheap (auction bigint, bidder bigint, price bigint CHECK (price < 1000000), channel text,
                        "dateTime" timestamptz, extra text)'
pg_sink() { # NAME TABLE [URL [SECRET]] → id, activated
  local refs=""
  [ -n "${4-}" ] && refs=",\"secret_refs\":{\"password\":\"$4\"}"
  connection "$1" "{\"name\":\"$1\",\"connector\":\"postgres\",\"type\":\"sink\",\"stream\":\"bids\",
    \"properties\":{\"url\":\"${3:-$TARGET}\",\"table\":\"$2\"}$refs}"
}
NOPE=$(pg_sink pg-nope nope)
NARROW=$(pg_sink pg-narrow narrow)
CHEAP=$(pg_sink pg-cheap cheap)
BADPW=$(pg_sink pg-badpw bids "$PWURL" pg-bad)
GOOD=$(pg_sink pg-goodpw bids "$PWURL" pg-good)
failed_with() { # ID TEXT...
  local id=$1 text; shift
  isfailed() { [ "$(state_of "$id")" = failed ]; }
  wait_for 30 isfailed || fail "connection $id not failed: $RESP"
  call GET "/v1/connections/$id"
  for text in "$@"; do assert_contains "$(jq -r .last_error <<<"$RESP")" "$text" "last_error says why"; done
}
failed_with "$NOPE" 'postgres table "nope" does not exist'
failed_with "$NARROW" 'postgres table "narrow" has no column "bidder"'
# the first record the table refuses, by its number in the output and its text, and why
first=$(stream_lines "$BIDS" '.price' | awk '$1 >= 1000000 && !seen {print NR - 1; seen = 1}')
failed_with "$CHEAP" "postgres table \"cheap\": cannot write output record $first ({\"auction\":" \
  'violates check constraint "cheap_price_check"'
assert_eq "$(tq 'SELECT count(*) FROM cheap')" 0 "a refused batch leaves nothing behind"
failed_with "$BADPW" 'password authentication failed for user "sinker"'
[[ "$(jq -r .last_error <<<"$RESP")" != *not-the-password* ]] || fail "last_error shows the password"
pwrows() { PGPASSWORD=s3cret-pw psql -X -q -tA "$PWURL" -c 'SELECT count(*) FROM bids'; }
pwfull() { [ "$(pwrows)" -ge "$N" ]; }
wait_for 30 pwfull || fail "the sink with the secret password wrote $(pwrows) of $N rows: $(state_of "$GOOD") $RESP"
wait_for 10 has_pid "$GOOD" || fail "no running task for the sink with the secret password"
pid=$(task_pid "$GOOD")
assert_eq "$(readlink "/proc/$pid/exe")" "$FULL_WORKER" "the worker with the secret has exec'd"
no_secret_in_proc "$pid" s3cret-pw
echo ok
