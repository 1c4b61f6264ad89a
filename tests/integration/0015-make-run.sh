#!/usr/bin/env bash
# make run's script on a fresh var/: prints an https URL; signup with curl --cacert returns 201
# with an API key and GET /v1/pipelines works with it; a second run says it is already running;
# stop stops everything.
source "$(dirname "$0")/lib.sh"
export SLUICE_VAR_DIR="$TEST_TMP/var" SLUICE_API_PORT
SLUICE_API_PORT=$(free_port)
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
[ "$(stat -c %a "$SLUICE_VAR_DIR/master.key")" = 600 ] || fail "master key mode 0600"

resp=$(curl -sS --cacert "$cert" -w '\n%{http_code}' -H 'Content-Type: application/json' \
  -d '{"tenant":"acme","email":"you@example.com","password":"change me please"}' "$url/v1/signup")
assert_eq "$(tail -n 1 <<<"$resp")" 201 "signup status"
key=$(head -n 1 <<<"$resp" | jq -r .api_key.key)
[[ "$key" == sk_* ]] || fail "no API key in $resp"
assert_eq "$(curl -sS --cacert "$cert" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" "$url/v1/pipelines")" 200 "pipelines with the key"

cp_pid=$(cat "$SLUICE_VAR_DIR/run/controlplane.pid") || fail "no controlplane pid file"
kill -0 "$cp_pid" || fail "controlplane not running"
again=$("$SLUICE_ROOT/scripts/run.sh" 2>&1) || fail "second run.sh failed"
assert_contains "$again" "already running" "second run is idempotent"
assert_contains "$again" "$url" "second run prints the URL"

pid=$(cat "$SLUICE_VAR_DIR/run/api.pid")
"$SLUICE_ROOT/scripts/run.sh" stop
kill -0 "$pid" 2>/dev/null && fail "api still running after stop"
kill -0 "$cp_pid" 2>/dev/null && fail "controlplane still running after stop"
[ -f "$SLUICE_VAR_DIR/pg/data/postmaster.pid" ] && fail "PostgreSQL still running after stop"
echo ok
