#!/usr/bin/env bash
# The credential cache (api/auth_cache.c): each api process keeps credential lookups for a few
# seconds, and a revoke or delete made through ANOTHER api process must reach it within 1 s
# (sluice_auth NOTIFY from migrations/0104 → its listener evicts). Two api processes, A and B,
# on one database: a key warmed on A and revoked through B, and a login token of a user warmed
# on A and deleted through B, are refused by A within 1 s. A control shows the cache is really
# serving A, and that without the notification A would keep accepting a revoked key.
source "$(dirname "$0")/api_lib.sh"
api_start
A=$API
B_PORT=$(free_port)
bg "$SLUICED" api --database-url "$DATABASE_URL" --port "$B_PORT" --tls-dir "$TEST_TMP/tls" >"$TEST_TMP/api-b.log" 2>&1
B="https://127.0.0.1:$B_PORT"
wait_for 15 curl -sf --cacert "$CACERT" "$B/readyz" || { cat "$TEST_TMP/api-b.log"; fail "api B did not become ready"; }

signup acme; OWNER_KEY=$KEY
TOKEN=$OWNER_KEY
new_key() { call POST /v1/api-keys "{\"name\":\"$1\"}"; expect 201; jq -r '.id + " " + .key' <<<"$RESP"; }
# status ON CREDENTIAL: the status of GET /v1/pipelines on api ON (A or B) with CREDENTIAL.
status() { curl -sS --cacert "$CACERT" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $2" "$1/v1/pipelines"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# refused_within ON CREDENTIAL START_MS WHAT: ON answers 401 for CREDENTIAL within 1 s of START_MS.
refused_within() {
  local s tries=0
  while :; do
    s=$(status "$1" "$2"); tries=$((tries + 1))
    [ "$s" = 401 ] && break
    [ "$s" = 200 ] || fail "$4: unexpected status $s"
    [ $(( $(now_ms) - $3 )) -lt 3000 ] || fail "$4: still accepted after 3 s"
    sleep 0.02
  done
  local took=$(( $(now_ms) - $3 ))
  echo "$4: refused after ${took} ms (request $tries)"
  [ "$took" -lt 1000 ] || fail "$4: refused only after $took ms (limit 1000)"
}

# Control: with the notification trigger off, a key revoked behind the api's back stays
# accepted by A, which cached it, while B, which never saw it, refuses it: the cache serves A,
# and the notification is what evicts. (Restored right after.)
read -r _ CONTROL_KEY <<<"$(new_key control)"
assert_eq "$(status "$A" "$CONTROL_KEY")" 200 "control key on A"
sql "ALTER TABLE api_keys DISABLE TRIGGER sluice_auth_notify" >/dev/null
sql "UPDATE api_keys SET revoked_at = now() WHERE name = 'control'" >/dev/null
assert_eq "$(status "$B" "$CONTROL_KEY")" 401 "revoked control key on B (not cached there)"
assert_eq "$(status "$A" "$CONTROL_KEY")" 200 "revoked control key on A while cached without a notification"
sql "ALTER TABLE api_keys ENABLE TRIGGER sluice_auth_notify" >/dev/null

# A key warmed on A, revoked through B.
read -r KEY_ID CI_KEY <<<"$(new_key ci)"
for _ in 1 2 3; do assert_eq "$(status "$A" "$CI_KEY")" 200 "ci key on A (warming)"; done
s=$(curl -sS --cacert "$CACERT" -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $OWNER_KEY" \
  "$B/v1/api-keys/$KEY_ID")
start=$(now_ms) # B answered after its commit: the revoke is in force from here
assert_eq "$s" 204 "revoke through B"
refused_within "$A" "$CI_KEY" "$start" "key revoked through B, on A"
assert_eq "$(status "$B" "$CI_KEY")" 401 "revoked key on B"

# A user's login token warmed on A; the user is deleted through B.
MAX_ID=$(create_id /v1/users '{"email":"max@acme.example","password":"long enough"}')
TOKEN=
call POST /v1/login '{"email":"max@acme.example","password":"long enough"}'; expect 200
MAX_TOKEN=$(jq -r .token <<<"$RESP")
for _ in 1 2 3; do assert_eq "$(status "$A" "$MAX_TOKEN")" 200 "max's token on A (warming)"; done
s=$(curl -sS --cacert "$CACERT" -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $OWNER_KEY" \
  "$B/v1/users/$MAX_ID")
start=$(now_ms)
assert_eq "$s" 204 "delete the user through B"
refused_within "$A" "$MAX_TOKEN" "$start" "token of a user deleted through B, on A"

# A plan change reaches the cached callers' limits: a plan of 1 request a second, burst 2.
TOKEN=$OWNER_KEY
for _ in 1 2 3; do assert_eq "$(status "$A" "$OWNER_KEY")" 200 "owner key on A (warming)"; done
sql "INSERT INTO plans (name, max_streams, max_connections, max_pipelines, max_tasks, max_secrets, max_api_keys, rate_per_second, rate_burst) VALUES ('slow', 10, 10, 10, 10, 10, 10, 0.01, 2)" >/dev/null
sql "UPDATE tenants SET plan = 'slow' WHERE name = 'acme'" >/dev/null
sleep 0.2
codes=""
for _ in 1 2 3 4; do codes+="$(status "$A" "$OWNER_KEY") "; done
assert_contains "$codes" 429 "the new plan's rate limit applies on A at once (statuses: $codes)"
