#!/usr/bin/env bash
# A hostile tenant aims real connectors (the real sluiced worker, through the api and the
# controlplane, as root under the egress policy) at the platform: a postgres sink (and a postgres-cdc source, and a
# pipeline's lookup join through a postgres connection), a webhook
# sink and a kafka sink each at the platform database's address and port (the postgres sink as
# an upsert of its own tenant row to plan "enterprise", issue 8's attack), at the api's loopback
# port (given to the controlplane with --api-ports), at the controlplane's metrics port and at
# 169.254.169.254. Each connection must end `failed` with a last_error naming the address it
# could not reach, refused at connect (EHOSTUNREACH, "No route to host": every loopback target
# has a listener, so without the policy the errors would differ), and the tenants table must be
# unchanged (the postgres sink would otherwise set the tenant's plan to enterprise).
. "$(dirname "$0")/api_lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root (tenant uids, nftables)"; exit 77; }
command -v nft >/dev/null || { echo "skip: no nft"; exit 77; }
cd "$TEST_TMP"

api_start --data-root "$TEST_TMP/data"
METRICS_PORT=$(free_port)
PG_PORT=$(sed -E 's|.*:([0-9]+)/.*|\1|' <<<"$DATABASE_URL")
DB_NAME=${DATABASE_URL##*/}
TABLE="sluice_hostile_conn_$$"
controlplane_start hostile --sync-ms 200 --backoff-initial-ms 100 --crash-limit 2 \
  --api-ports "$API_PORT" --metrics-port "$METRICS_PORT" --egress-table "$TABLE"
trap 'nft delete table inet '"$TABLE"' 2>/dev/null || true; t_cleanup' EXIT
wait_for 10 nft list table inet "$TABLE" || fail "no nftables table $TABLE: $(cat cp.log)"
signup evil-corp
TOKEN=$KEY
sql "UPDATE tenants SET plan = 'team' WHERE id = '$TENANT_ID'" >/dev/null # room for 24 tasks; not enterprise
plans_before=$(sql "SELECT string_agg(id || ' ' || plan, ',' ORDER BY id) FROM tenants")

call POST /v1/streams '{"name":"feed","schema":{"fields":[{"name":"id","type":"STRING"},{"name":"plan","type":"STRING"}]}}'
expect 201
IN=$(create_id /v1/connections '{"name":"in","connector":"http","type":"source","stream":"feed"}')
call POST "/v1/connections/$IN/activate"; expect 200
call POST "/v1/connections/$IN/events" "{\"events\":[{\"id\":\"$TENANT_ID\",\"plan\":\"enterprise\"}]}"; expect 200

connection() { # NAME CONNECTOR PROPERTIES → id, activated
  local id; id=$(create_id /v1/connections "{\"name\":\"$1\",\"connector\":\"$2\",\"type\":\"sink\",\"stream\":\"feed\",\"properties\":$3}")
  call POST "/v1/connections/$id/activate"; expect 200
  echo "$id"
}
declare -A WANT
targets=("db 127.0.0.1 $PG_PORT" "api 127.0.0.1 $API_PORT" "metrics 127.0.0.1 $METRICS_PORT" "meta 169.254.169.254 80")
for t in "${targets[@]}"; do
  read -r name host port <<<"$t"
  id=$(connection "pg-$name" postgres "{\"url\":\"postgresql://postgres@$host:$port/$DB_NAME?connect_timeout=5\",
    \"table\":\"tenants\",\"mode\":\"upsert\",\"primary_key\":\"id\"}")
  WANT[$id]="$host $port"
  id=$(connection "hook-$name" webhook "{\"url\":\"http://$host:$port/v1/me\",\"retry.max\":\"1\",\"retry.backoff_ms\":\"10\"}")
  WANT[$id]="$host $port"
  id=$(connection "kafka-$name" kafka "{\"topic\":\"t\",\"properties.bootstrap.servers\":\"$host:$port\"}")
  WANT[$id]="$host $port"
  # the broker connectors: each speaks its own protocol, so only a refused connect says
  # "cannot connect" (a reached PostgreSQL or api port would fail later, at the handshake)
  id=$(connection "redis-$name" redis "{\"host\":\"$host\",\"port\":\"$port\",\"stream\":\"s\"}")
  WANT[$id]="$host $port"
  id=$(connection "mqtt-$name" mqtt "{\"host\":\"$host\",\"port\":\"$port\",\"topic\":\"t\",\"client.id\":\"c-$name\"}")
  WANT[$id]="$host $port"
  id=$(connection "rmq-$name" rabbitmq "{\"host\":\"$host\",\"port\":\"$port\",\"queue\":\"q\"}")
  WANT[$id]="$host $port"
done
# a postgres-cdc source (logical replication: it would read every table it names) at the
# platform database itself
id=$(create_id /v1/connections "{\"name\":\"cdc-db\",\"connector\":\"postgres-cdc\",\"type\":\"source\",\"stream\":\"feed\",
  \"properties\":{\"url\":\"postgresql://postgres@127.0.0.1:$PG_PORT/$DB_NAME?connect_timeout=5\",\"table\":\"tenants\"}}")
call POST "/v1/connections/$id/activate"; expect 200
WANT[$id]="127.0.0.1 $PG_PORT"
# a lookup join whose table is a postgres connection (never activated) at the platform database:
# the pipeline's worker connects to it when it starts
create_id /v1/connections "{\"name\":\"lookup-db\",\"connector\":\"postgres\",\"type\":\"sink\",\"stream\":\"feed\",
  \"properties\":{\"url\":\"postgresql://postgres@127.0.0.1:$PG_PORT/$DB_NAME?connect_timeout=5\",\"table\":\"tenants\"}}" >/dev/null
call POST /v1/streams '{"name":"looked_up","schema":{"fields":[{"name":"id","type":"STRING"},{"name":"plan","type":"STRING"}]}}'
expect 201
LOOKUP=$(create_id /v1/pipelines "$(jq -cn '{name: "lookup-db", sql: "INSERT INTO looked_up SELECT f.id, t.plan
  FROM (SELECT *, PROCTIME() AS p FROM feed) AS f JOIN `lookup-db` FOR SYSTEM_TIME AS OF f.p AS t ON f.id = t.id"}')")
call POST "/v1/pipelines/$LOOKUP/activate"; expect 200

for id in "${!WANT[@]}"; do
  read -r host port <<<"${WANT[$id]}"
  isfailed() { call GET "/v1/connections/$id"; [ "$(jq -r .actual_state <<<"$RESP")" = failed ]; }
  wait_for 90 isfailed || fail "connection $(jq -r .name <<<"$RESP") to $host:$port is not failed: $RESP"
  err=$(jq -r .last_error <<<"$RESP")
  echo "$(jq -r .name <<<"$RESP"): $err"
  assert_contains "$err" "$host" "last_error names the address"
  assert_contains "$err" "$port" "last_error names the port"
  # refused by the policy, not by the service (every port here has a listener)
  case $(jq -r .name <<<"$RESP") in
    pg-* | cdc-*) assert_contains "$err" "No route to host" "postgres refused at connect" ;;
    hook-*) assert_contains "$err" "Couldn't connect to server" "webhook refused at connect" ;;
    redis-* | mqtt-* | rmq-*) assert_contains "$err" "cannot connect" "refused at connect"
      assert_contains "$err" "No route to host" "refused by the egress policy" ;;
    kafka-*) assert_contains "$(sql "SELECT string_agg(message, ' ') FROM task_logs WHERE resource_id = '$id'")" \
      "failed: No route to host" "kafka refused at connect (librdkafka's log)" ;;
  esac
done
lookup_failed() { call GET "/v1/pipelines/$LOOKUP"; [ "$(jq -r .actual_state <<<"$RESP")" = failed ]; }
wait_for 90 lookup_failed || fail "the lookup join at the database is not failed: $RESP"
err=$(jq -r .last_error <<<"$RESP")
echo "lookup-db (pipeline): $err"
assert_contains "$err" "127.0.0.1" "last_error names the address"
assert_contains "$err" "$PG_PORT" "last_error names the port"
assert_contains "$err" "No route to host" "the lookup refused at connect"
assert_eq "$(sql "SELECT string_agg(id || ' ' || plan, ',' ORDER BY id) FROM tenants")" "$plans_before" \
  "the tenants table"
echo ok
