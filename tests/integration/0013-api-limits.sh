#!/usr/bin/env bash
# Limits and protocol details: Idempotency-Key replay and mismatch, per-tenant rate limit (429
# with Retry-After), plan quotas (403 quota_exceeded), cursor pagination, body size setting.
source "$(dirname "$0")/api_lib.sh"
api_start --max-body-bytes 4096 --login-burst 6 --login-rate 1
signup acme; TOKEN=$KEY; ACME=$TENANT_ID

# Idempotency-Key: same key and body replays; a different body is refused.
S='{"name":"s1","schema":{"fields":[{"name":"a","type":"INT"}]}}'
call POST /v1/streams "$S" -H 'Idempotency-Key: k-1'; expect 201
FIRST=$RESP; FIRST_LOC=$(header Location)
call POST /v1/streams "$S" -H 'Idempotency-Key: k-1'; expect 201
assert_eq "$RESP" "$FIRST" "replayed body"
assert_eq "$(header Location)" "$FIRST_LOC" "replayed Location"
assert_eq "$(sql "SELECT count(*) FROM streams")" 1 "replay created nothing"
call POST /v1/streams '{"name":"s2","schema":{"fields":[{"name":"a","type":"INT"}]}}' -H 'Idempotency-Key: k-1'
expect 409 idempotency_mismatch
assert_eq "$(sql "SELECT count(*) FROM streams")" 1 "mismatch created nothing"
call POST /v1/streams "$S"; expect 409 conflict   # without the key it is a plain duplicate
call POST /v1/streams '{"name":"s2","schema":{"fields":[{"name":"a","type":"INT"}]}}' -H 'Idempotency-Key: k-2'; expect 201
# A failed request is not stored: after fixing the problem the same key works.
call POST /v1/pipelines '{"name":"p","sql":""}' -H 'Idempotency-Key: k-3'; expect 422 invalid_sql
call POST /v1/pipelines '{"name":"p","sql":"INSERT INTO s2 SELECT a FROM s1"}' -H 'Idempotency-Key: k-3'; expect 201

# Body size is configurable (4 KiB here).
call POST /v1/streams "{\"name\":\"big\",\"description\":\"$(head -c 5000 /dev/zero | tr '\0' x)\",\"schema\":{\"fields\":[{\"name\":\"a\",\"type\":\"INT\"}]}}"
expect 413 payload_too_large
assert_eq "$(jq -r .error.details.limit <<<"$RESP")" 4096 "limit in details"

# Pagination: 7 streams, pages of 3, every one exactly once, in creation order.
for i in 3 4 5 6 7; do
  call POST /v1/streams "{\"name\":\"s$i\",\"schema\":{\"fields\":[{\"name\":\"a\",\"type\":\"INT\"}]}}"; expect 201
done
names=() cursor="" pages=0
while :; do
  call GET "/v1/streams?limit=3${cursor:+&cursor=$cursor}"; expect 200
  pages=$((pages + 1))
  while read -r n; do names+=("$n"); done < <(jq -r '.items[].name' <<<"$RESP")
  cursor=$(jq -r '.next_cursor // empty' <<<"$RESP")
  [ -n "$cursor" ] || break
  [ $pages -lt 10 ] || fail "pagination does not end"
done
assert_eq "${names[*]}" "s1 s2 s3 s4 s5 s6 s7" "all streams once, in order"
assert_eq "$pages" 3 "pages of 3"
call GET "/v1/streams?limit=0"; expect 400 invalid_request
call GET "/v1/streams?limit=500"; expect 400 invalid_request

# Concurrency: 8 parallel creates of one name give one 201 and seven 409; 8 parallel updates
# with the same If-Match give one 200 and seven 412.
race() {  # race METHOD PATH BODY [CURL ARGS...]: prints the sorted status codes
  local i
  for i in 1 2 3 4 5 6 7 8; do
    curl -sS -o /dev/null -w '%{http_code}\n' --cacert "$CACERT" -X "$1" -H "Authorization: Bearer $TOKEN" \
      -H 'Content-Type: application/json' --data-binary "$3" "${@:4}" "$API$2" &
  done | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}'
  wait
}
assert_eq "$(race POST /v1/streams '{"name":"contended","schema":{"fields":[{"name":"a","type":"INT"}]}}')" "201:1 409:7 " "parallel creates"
CID=$(sql "SELECT id FROM streams WHERE name = 'contended'")
assert_eq "$(race PATCH "/v1/streams/$CID" '{"description":"mine"}' -H 'If-Match: "1"')" "200:1 412:7 " "parallel updates with one If-Match"
assert_eq "$(sql "SELECT version FROM streams WHERE id = '$CID'")" 2 "exactly one update applied"
call DELETE "/v1/streams/$CID"; expect 204

# Quotas: a plan with room for 2 pipelines and 3 tasks.
sql "INSERT INTO plans (name, max_streams, max_connections, max_pipelines, max_tasks, max_secrets, max_api_keys, rate_per_second, rate_burst) VALUES ('tiny', 100, 100, 2, 3, 10, 10, 1000, 1000)" >/dev/null
sql "UPDATE tenants SET plan = 'tiny' WHERE id = '$ACME'" >/dev/null
P2=$(create_id /v1/pipelines '{"name":"p2","sql":"INSERT INTO s2 SELECT a FROM s1","task_count":2}')
call POST /v1/pipelines '{"name":"p3","sql":"INSERT INTO s2 SELECT a FROM s1"}'; expect 403 quota_exceeded
assert_eq "$(jq -r .error.details.limit <<<"$RESP")" 2 "quota limit in details"
assert_eq "$(sql "SELECT count(*) FROM pipelines")" 2 "quota refusal created nothing"
P1=$(sql "SELECT id FROM pipelines WHERE name = 'p'")
call POST "/v1/pipelines/$P2/activate"; expect 200
C1=$(create_id /v1/connections '{"name":"c","connector":"datagen","type":"source","stream":"s1","task_count":2}')
call POST "/v1/connections/$C1/activate"; expect 403 quota_exceeded
assert_eq "$(sql "SELECT desired_state FROM connections WHERE id = '$C1'")" stopped "task quota refusal changed nothing"
call POST "/v1/pipelines/$P1/activate"; expect 200   # 2 + 1 = 3 tasks fit

# Rate limit: a plan of one request per 20 seconds with a burst of 3.
sql "UPDATE plans SET rate_per_second = 0.05, rate_burst = 3 WHERE name = 'tiny'" >/dev/null
codes=""
for _ in 1 2 3 4 5 6; do call GET /v1/me; codes+="$STATUS "; done
assert_contains "$codes" "429" "some requests limited ($codes)"
call GET /v1/me
expect 429 rate_limited
ra=$(header Retry-After)
[[ "$ra" =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ] || fail "Retry-After is a positive integer: [$ra]"
# Another tenant is not affected.
signup other; TOKEN=$KEY call GET /v1/me; expect 200

# Signup and login are limited per client address (burst 6 here; 2 signups so far).
codes=""
for _ in 1 2 3 4 5; do TOKEN= call POST /v1/login '{"email":"owner@acme.example","password":"wrong password"}'; codes+="$STATUS "; done
assert_eq "$codes" "401 401 401 401 429 " "login attempts limited per address"
assert_eq "$(jq -r .error.code <<<"$RESP")" rate_limited "login limit error code"
[ -n "$(header Retry-After)" ] || fail "login limit has Retry-After"
echo ok
