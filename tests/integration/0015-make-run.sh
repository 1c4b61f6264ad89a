#!/usr/bin/env bash
# make run's script on a fresh var/: prints an https URL; signup with curl --cacert returns 201
# with an API key and GET /v1/pipelines works with it; a second run says it is already running;
# stop stops everything.
source "$(dirname "$0")/lib.sh"
export SLUICE_VAR_DIR="$TEST_TMP/var" SLUICE_API_PORT
SLUICE_API_PORT=$(free_port)
export SLUICE_METRICS_PORT
SLUICE_METRICS_PORT=$(free_port)
unset SLUICE_MASTER_KEY
stop() { "$SLUICE_ROOT/scripts/run.sh" stop >/dev/null 2>&1 || true; }
trap 'stop; t_cleanup' EXIT

out=$("$SLUICE_ROOT/scripts/run.sh" 2>&1) || { echo "$out"; fail "run.sh failed"; }
echo "$out"
url=$(grep -oE 'https://localhost:[0-9]+' <<<"$out" | head -n 1)
assert_eq "$url" "https://localhost:$SLUICE_API_PORT" "printed URL"
cert="$SLUICE_VAR_DIR/tls/cert.pem"
assert_contains "$out" "$cert" "certificate path printed"
assert_contains "$out" "/v1/signup" "signup line printed"
assert_contains "$out" "/rel/sluice signup --api-url $url --ca-file $cert" "the CLI's signup line printed"
[ "$(stat -c %a "$SLUICE_VAR_DIR/master.key")" = 600 ] || fail "master key mode 0600"

resp=$(curl -sS --cacert "$cert" -w '\n%{http_code}' -H 'Content-Type: application/json' \
  -d '{"tenant":"curl-corp","email":"curl@example.com","password":"change me please"}' "$url/v1/signup")
assert_eq "$(tail -n 1 <<<"$resp")" 201 "signup status"
key=$(head -n 1 <<<"$resp" | jq -r .api_key.key)
[[ "$key" == sk_* ]] || fail "no API key in $resp"
assert_eq "$(curl -sS --cacert "$cert" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" "$url/v1/pipelines")" 200 "pipelines with the key"

# The api logs in as sluice_api: no superuser, only a member of sluice_app.
pg_url=$(cat "$SLUICE_VAR_DIR/pg/url")
assert_eq "$(psql -X -tAq "$pg_url" -c "SELECT string_agg(DISTINCT usename, ',') FROM pg_stat_activity
  WHERE datname = 'sluice' AND usename = 'sluice_api'")" sluice_api "the api's database sessions"
assert_eq "$(psql -X -tAq "$pg_url" -c "SELECT rolsuper::text || rolbypassrls::text || pg_has_role('sluice_api', 'sluice_app', 'MEMBER')::text
  FROM pg_roles WHERE rolname = 'sluice_api'")" falsefalsetrue "sluice_api is not a superuser, does not bypass RLS"
assert_eq "$(stat -c %a "$SLUICE_VAR_DIR/pg/api.password")" 600 "api password file mode"

# The controlplane's /metrics is up.
mport=$(cat "$SLUICE_VAR_DIR/run/metrics.port")
assert_contains "$out" "http://127.0.0.1:$mport/metrics" "metrics URL printed"
assert_contains "$(curl -fsS "http://127.0.0.1:$mport/metrics")" "sluice_" "controlplane metrics served"
assert_contains "$out" "SLUICE_VAR_DIR=$SLUICE_VAR_DIR make stop" "the stop line names the var dir"

# The README's quickstart, as written (port, var dir and build dir adapted), yields output
# records within a minute: a connection with no network, a pipeline, preview.
sed -n '/<!-- quickstart/,/<!-- \/quickstart/p' "$SLUICE_ROOT/README.md" | sed '1,2d;$d' | sed '$d' \
  | sed -e "s#https://localhost:8443#$url#g" -e "s#var/tls/cert.pem#$cert#g" \
        -e "s#\$PWD/build/rel#$SLUICE_ROOT/${BUILD:-build}/rel#g" >"$TEST_TMP/quickstart.sh"
grep -q 'sluice preview' "$TEST_TMP/quickstart.sh" || { cat "$TEST_TMP/quickstart.sh"; fail "quickstart not found in README"; }
started=$(date +%s)
qs=$(cd "$SLUICE_ROOT" && HOME="$TEST_TMP/home" XDG_CONFIG_HOME="$TEST_TMP/home/.config" \
     timeout 120 bash -euo pipefail "$TEST_TMP/quickstart.sh" 2>&1) || { echo "$qs"; fail "the quickstart failed"; }
echo "$qs"
took=$(( $(date +%s) - started ))
rows=$(grep -cE '^[0-9]+ +[0-9]+ ' <<<"$qs" || true)
[ "$rows" -ge 1 ] || fail "the quickstart's preview printed no records"
assert_contains "$qs" "USD" "preview table header"
[ "$took" -lt 60 ] || fail "quickstart took $took s, not under a minute"
echo "quickstart: $rows records in $took s"

# A connection that uses a secret starts under make run (the controlplane has the master key):
# a webhook sink with a token, delivering big_bids to a receiver on loopback.
receiver="$TOOLS/http_sink"
bg "$receiver" --out "$TEST_TMP/hook.out" >"$TEST_TMP/hook.log"
wait_for 5 test -s "$TEST_TMP/hook.log" || fail "receiver did not start"
cat >"$TEST_TMP/hook.yaml" <<YAML
kind: secret
metadata: {name: hook-token}
spec: {value: s3cret}
---
kind: connection
metadata: {name: hook}
spec:
  connector: webhook
  type: sink
  stream: big_bids
  properties: {url: "http://127.0.0.1:$(head -n 1 "$TEST_TMP/hook.log")/in"}
  secret_refs: {token: hook-token}
YAML
cli() { HOME="$TEST_TMP/home" XDG_CONFIG_HOME="$TEST_TMP/home/.config" "$SLUICE_ROOT/${BUILD:-build}/rel/sluice" "$@"; }
cli apply -f "$TEST_TMP/hook.yaml" || fail "apply the webhook connection"
cli activate connection hook --wait --timeout 30s || fail "the secret-using connection did not start"
wait_for 20 test -s "$TEST_TMP/hook.out" || fail "nothing delivered by the secret-using webhook"

cp_pid=$(cat "$SLUICE_VAR_DIR/run/controlplane.pid") || fail "no controlplane pid file"
kill -0 "$cp_pid" || fail "controlplane not running"
again=$("$SLUICE_ROOT/scripts/run.sh" 2>&1) || fail "second run.sh failed"
assert_contains "$again" "already running" "second run is idempotent"
assert_contains "$again" "$url" "second run prints the URL"

# A second instance on a port in use says which and starts nothing, PostgreSQL included.
busy=$(SLUICE_VAR_DIR="$TEST_TMP/var2" "$SLUICE_ROOT/scripts/run.sh" 2>&1) && fail "run.sh on a busy port succeeded: $busy"
assert_contains "$busy" "port $SLUICE_API_PORT is in use (another make run?); set SLUICE_API_PORT" "the busy port named"
[ -e "$TEST_TMP/var2/pg/data" ] && fail "run.sh on a busy port started PostgreSQL: $(ls "$TEST_TMP/var2/pg")"
busy=$(SLUICE_VAR_DIR="$TEST_TMP/var2" SLUICE_API_PORT=$(free_port) "$SLUICE_ROOT/scripts/run.sh" 2>&1) &&
  fail "run.sh on a busy metrics port succeeded: $busy"
assert_contains "$busy" "port $SLUICE_METRICS_PORT (the controlplane's metrics) is in use; set SLUICE_METRICS_PORT" "the busy metrics port named"
[ -e "$TEST_TMP/var2/pg/data" ] && fail "run.sh on a busy metrics port started PostgreSQL"

pid=$(cat "$SLUICE_VAR_DIR/run/api.pid")
stopped=$("$SLUICE_ROOT/scripts/run.sh" stop)
kill -0 "$pid" 2>/dev/null && fail "api still running after stop"
kill -0 "$cp_pid" 2>/dev/null && fail "controlplane still running after stop"
[ -f "$SLUICE_VAR_DIR/pg/data/postmaster.pid" ] && fail "PostgreSQL still running after stop"
assert_contains "$stopped" "stopped PostgreSQL" "stop says it stopped PostgreSQL"
assert_contains "$("$SLUICE_ROOT/scripts/run.sh" stop)" "PostgreSQL was not running" "a second stop says there was nothing to stop"

# make run again: the same account, resources and stream data, and the pipeline runs again.
"$SLUICE_ROOT/scripts/run.sh" >"$TEST_TMP/again.out" 2>&1 || { cat "$TEST_TMP/again.out"; fail "run.sh after stop failed"; }
running() { [ "$(cli get pipeline big-bids -o json | jq -r .actual_state)" = running ]; }
wait_for 30 running || fail "big-bids is not running again after a restart: $(cli get pipelines 2>&1)"
cli get connections -o name | grep -qx connection/nexmark || fail "the connection is gone after a restart"
again=$(cd "$SLUICE_ROOT" && cli preview --sql 'SELECT * FROM big_bids' --start earliest --limit 3 2>&1) ||
  fail "preview after a restart: $again"
[ "$(grep -cE '^[0-9]+ +[0-9]+ ' <<<"$again")" = 3 ] || fail "the stored records are back after a restart: $again"
echo ok # (the trap stops it)
