#!/usr/bin/env bash
# POST /v1/connections/{id}/check against servers of the test's own that check passwords: a
# redis-server, a PostgreSQL cluster and a mosquitto; and the platform's PostgreSQL, which the
# sandbox's egress policy keeps out of reach. The check runs in the sandboxed worker, connects with the connection's
# options and decrypted secrets, writes nothing, and says what it found: a refused port is not
# reachable, a wrong password is reachable but not authenticated, a missing stream or table is
# not present, and the right settings are all three. Another tenant's id is 404; the CLI's
# `sluice check connection NAME` prints the same answer.
. "$(dirname "$0")/api_lib.sh"
. "$(dirname "$0")/cli_lib.sh"
cd "$TEST_TMP"

RPORT=$(free_port)
RPW=r3dis-pw
mkdir -p redis
bg redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$TEST_TMP/redis" --requirepass "$RPW" --save '' \
  --logfile "$TEST_TMP/redis/server.log"
rcli() { redis-cli -p "$RPORT" -a "$RPW" --no-auth-warning "$@"; }
wait_for 10 rcli PING || { cat redis/server.log; fail "redis-server did not start"; }
rcli XADD present '*' data '{"a":1}' >/dev/null

live_start check check-corp
call POST /v1/streams '{"name":"s","schema":{"fields":[{"name":"a","type":"BIGINT"}]}}'; expect 201
call POST /v1/secrets "{\"name\":\"redis-pw\",\"value\":\"$RPW\"}"; expect 201
call POST /v1/secrets '{"name":"redis-bad","value":"not-the-password"}'; expect 201

redis_conn() { # NAME PORT STREAM SECRET
  create_id /v1/connections "{\"name\":\"$1\",\"connector\":\"redis\",\"type\":\"source\",\"stream\":\"s\",
    \"properties\":{\"host\":\"127.0.0.1\",\"port\":\"$2\",\"stream\":\"$3\"},\"secret_refs\":{\"password\":\"$4\"}}"
}
checked() { # ID REACHABLE AUTHENTICATED PRESENT [ERROR TEXT]
  call POST "/v1/connections/$1/check"; expect 200
  assert_eq "$(jq -c '[.reachable, .authenticated, .target_present]' <<<"$RESP")" "[$2,$3,$4]" "check of $1: $RESP"
  if [ -n "${5-}" ]; then assert_contains "$(jq -r .error <<<"$RESP")" "$5" "check error"; fi
  if [ "$4" = true ]; then assert_eq "$(jq -r '.error // "none"' <<<"$RESP")" none "no error when all is well"; fi
}

NOPORT=$(free_port)
OK=$(redis_conn good "$RPORT" present redis-pw)
REFUSED=$(redis_conn refused "$NOPORT" present redis-pw)
BADPW=$(redis_conn badpw "$RPORT" present redis-bad)
MISSING=$(redis_conn missing "$RPORT" absent redis-pw)
checked "$OK" true true true
checked "$REFUSED" false false false "cannot connect to redis at 127.0.0.1:$NOPORT: Connection refused"
checked "$BADPW" true false false "refused the credentials: WRONGPASS"
[[ "$RESP" != *not-the-password* ]] || fail "the check's answer shows the password"
checked "$MISSING" true true false 'redis stream "absent" does not exist'
# the check reads and writes nothing: no group made, the missing key still missing
assert_eq "$(rcli EXISTS absent)" 0 "the check created nothing"
assert_eq "$(rcli XINFO GROUPS present | grep -c sluice || true)" 0 "the check made no consumer group"

# PostgreSQL. The platform's own database is what the sandbox forbids (the egress policy refuses
# tenant workers its port): the check, run in that sandbox, cannot reach it either.
sql "CREATE TABLE IF NOT EXISTS check_target (a bigint)"
pg_conn() { # NAME URL TABLE [SECRET]
  local refs=""
  [ -z "${4-}" ] || refs=",\"secret_refs\":{\"password\":\"$4\"}"
  create_id /v1/connections "{\"name\":\"$1\",\"connector\":\"postgres\",\"type\":\"sink\",\"stream\":\"s\",
    \"properties\":{\"url\":\"$2\",\"table\":\"$3\"}$refs}"
}
PLATFORM=$(pg_conn platform "$DATABASE_URL" check_target)
call POST "/v1/connections/$PLATFORM/check"; expect 200
assert_eq "$(jq -c '[.authenticated, .target_present]' <<<"$RESP")" "[false,false]" \
  "the platform database is out of the check's reach: $RESP"
# a cluster of the test's own, which checks passwords
pw_cluster_up
PGPASSWORD=s3cret-pw psql -X -q "postgresql://sinker@127.0.0.1:$port/postgres" -c "CREATE TABLE check_target (a bigint)" \
  || fail "create the target table"
call POST /v1/secrets '{"name":"pg-pw","value":"s3cret-pw"}'; expect 201
URL="postgresql://sinker@127.0.0.1:$port/postgres"
PG=$(pg_conn pg-good "$URL" check_target pg-pw)
PGNO=$(pg_conn pg-missing "$URL" no_such_table pg-pw)
PGBAD=$(pg_conn pg-badpw "$URL" check_target redis-bad)
PGDOWN=$(pg_conn pg-down "postgresql://sinker@127.0.0.1:$NOPORT/postgres" check_target pg-pw)
checked "$PG" true true true
checked "$PGNO" true true false 'postgres table "no_such_table" does not exist'
checked "$PGBAD" true false false 'password authentication failed for user "sinker"'
checked "$PGDOWN" false false false "Connection refused"

# MQTT: a mosquitto that checks passwords; the check logs in with a clean session of its own
MPORT=$(free_port)
mkdir -p mqtt
mosquitto_passwd -c -b mqtt/passwd sluicer mq77-pw >/dev/null
cat >mqtt/mosquitto.conf <<EOF
log_dest file $TEST_TMP/mqtt/broker.log
listener $MPORT 127.0.0.1
allow_anonymous false
password_file $TEST_TMP/mqtt/passwd
EOF
if [ "$(id -u)" -eq 0 ]; then chown -R mosquitto: mqtt; chmod 0700 mqtt/passwd; fi
bg mosquitto -c "$TEST_TMP/mqtt/mosquitto.conf"
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for 10 port_open "$MPORT" || { cat mqtt/broker.log; fail "mosquitto did not start"; }
call POST /v1/secrets '{"name":"mq-pw","value":"mq77-pw"}'; expect 201
mqtt_conn() { # NAME PORT SECRET
  create_id /v1/connections "{\"name\":\"$1\",\"connector\":\"mqtt\",\"type\":\"source\",\"stream\":\"s\",
    \"properties\":{\"host\":\"127.0.0.1\",\"port\":\"$2\",\"username\":\"sluicer\",\"topic\":\"t/#\",
    \"client.id\":\"$1\"},\"secret_refs\":{\"password\":\"$3\"}}"
}
checked "$(mqtt_conn mq-good "$MPORT" mq-pw)" true true true
checked "$(mqtt_conn mq-badpw "$MPORT" redis-bad)" true false false "refused the connection: Connection Refused: not authorised"
checked "$(mqtt_conn mq-refused "$NOPORT" mq-pw)" false false false "cannot connect to the mqtt broker at 127.0.0.1:$NOPORT"

# datagen has nothing to reach
DG=$(create_id /v1/connections '{"name":"dg","connector":"datagen","type":"source","stream":"s"}')
checked "$DG" true true true

# the CLI: the same answer by name; exit 1 unless all three hold, 2 for another kind
cli_env
export SLUICE_API_URL=$API SLUICE_API_KEY=$TOKEN SLUICE_CA_FILE=$CACERT
run "$S" check connection good
expect_exit 0 "check connection good"
assert_eq "$out" "$(printf '%-15s yes\n%-15s yes\n%-15s yes' reachable authenticated target_present)" "check output"
run "$S" check connection badpw
expect_exit 1 "check connection badpw"
assert_contains "$out" "authenticated   no" "check output"
assert_contains "$out" "WRONGPASS" "check output names the error"
run "$S" check connection missing -o json
expect_exit 1 "check -o json"
assert_eq "$(jq -c '[.reachable, .authenticated, .target_present]' <<<"$out")" "[true,true,false]" "check -o json"
run "$S" check streams s
expect_exit 2 "check of a stream"
run "$S" check connection nosuch
expect_exit 3 "check of a missing connection"

# another tenant's connection is not found; nor is a made-up id
signup other-corp
OTHER=$KEY
saved=$TOKEN; TOKEN=$OTHER
call POST "/v1/connections/$OK/check"; expect 404 not_found
TOKEN=$saved
call POST "/v1/connections/00000000-0000-0000-0000-000000000000/check"; expect 404 not_found
call POST "/v1/connections/not-an-id/check"; expect 404 not_found
echo ok
