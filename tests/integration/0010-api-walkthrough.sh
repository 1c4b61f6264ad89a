#!/usr/bin/env bash
# The API walkthrough over HTTPS: signup -> API key -> stream, connection, pipeline -> list ->
# get -> stale and fresh If-Match -> activate -> delete; login tokens, /me, secrets, API key
# revocation, request ids, audit log, openapi, and graceful shutdown on SIGTERM.
source "$(dirname "$0")/api_lib.sh"
api_start

call GET /healthz; expect 200
call GET /readyz; expect 200
assert_contains "$(header X-Request-Id)" "req_" "request id header"
call GET /openapi.json; expect 200
assert_eq "$(jq -r .openapi <<<"$RESP")" "3.0.3" "openapi version"
for p in /v1/signup /v1/login /v1/me /v1/api-keys /v1/secrets /v1/streams /v1/connections \
         /v1/pipelines /v1/audit-events '/v1/pipelines/{id}' '/v1/pipelines/{id}/activate' /healthz /readyz; do
  [ "$(jq --arg p "$p" '.paths | has($p)' <<<"$RESP")" = true ] || fail "openapi.json lacks $p"
done
call GET /v1/openapi.json; expect 200

# Signup: tenant, owner, first API key shown once.
call POST /v1/signup '{"tenant":"acme","email":"Ann@Acme.example","password":"correct horse"}'
expect 201
KEY=$(jq -r .api_key.key <<<"$RESP")
assert_eq "$(jq -r .tenant.name <<<"$RESP")" acme "tenant name"
assert_eq "$(jq -r .tenant.plan <<<"$RESP")" free "tenant plan"
assert_eq "$(jq -r .user.role <<<"$RESP")" owner "user role"
assert_eq "$(jq -r .user.email <<<"$RESP")" ann@acme.example "email lower-cased"
[[ "$KEY" =~ ^sk_[0-9a-f]{64}$ ]] || fail "api key format: $KEY"
assert_eq "$(sql "SELECT count(*) FROM api_keys WHERE key_hash = encode(sha256('$KEY'), 'hex')")" 1 "key stored as its SHA-256"
assert_eq "$(sql "SELECT count(*) FROM api_keys WHERE key_hash LIKE '%$KEY%' OR prefix = '$KEY'")" 0 "key not stored in clear"
assert_eq "$(sql "SELECT password_hash LIKE 'pbkdf2-sha256\$%' FROM users")" t "password hashed with PBKDF2"
call POST /v1/signup '{"tenant":"acme","email":"other@acme.example","password":"correct horse"}'
expect 409 conflict
assert_eq "$(jq -r .error.details.field <<<"$RESP")" tenant "duplicate tenant names the field"

call GET /v1/me; expect 401 unauthenticated
TOKEN=$KEY
call GET /v1/me; expect 200
assert_eq "$(jq -r .tenant.name <<<"$RESP")" acme "/me tenant"
assert_eq "$(jq -r .api_key.key <<<"$RESP")" null "/me never shows the key"
[ "$(sql "SELECT last_used_at IS NOT NULL FROM api_keys WHERE name = 'default'")" = t ] || fail "key use recorded"

# Login with the password gives a token that works too.
TOKEN= call POST /v1/login '{"email":"ann@acme.example","password":"correct horse"}'
expect 200
LOGIN_TOKEN=$(jq -r .token <<<"$RESP")
assert_eq "$(jq -r .tenant_id <<<"$RESP")" "$(sql "SELECT id FROM tenants WHERE name = 'acme'")" "login tenant id"
TOKEN= call POST /v1/login '{"email":"ann@acme.example","password":"wrong password"}'
expect 401 unauthenticated
TOKEN=$LOGIN_TOKEN call GET /v1/me
expect 200
assert_eq "$(jq -r .user.email <<<"$RESP")" ann@acme.example "/me by login token"
assert_eq "$(jq -r .api_key <<<"$RESP")" null "/me by token has no key"

# Secrets: stored sealed, never returned.
call POST /v1/secrets '{"name":"kafka-password","value":"hunter2-very-secret"}'
expect 201
SECRET_ID=$(jq -r .id <<<"$RESP")
assert_eq "$(jq -r 'has("value")' <<<"$RESP")" false "secret value not returned"
call GET "/v1/secrets/$SECRET_ID"; expect 200
assert_eq "$(jq -r 'has("value")' <<<"$RESP")" false "secret value not returned by get"
assert_eq "$(sql "SELECT position(convert_to('hunter2', 'UTF8') in value) FROM secrets")" 0 "secret encrypted at rest"
assert_eq "$(sql "SELECT length(value) FROM secrets")" $((19 + 28)) "nonce + ciphertext + tag"

# Stream, connection, pipeline.
call POST /v1/streams '{"name":"bids","description":"auction bids","partitions":2,"schema":{"fields":[{"name":"auction","type":"BIGINT"},{"name":"price","type":"BIGINT"},{"name":"dateTime","type":"TIMESTAMP(3)"}],"watermark":{"field":"dateTime","delay_ms":2000}}}'
expect 201
STREAM_ID=$(jq -r .id <<<"$RESP")
assert_eq "$(header Location)" "/v1/streams/$STREAM_ID" "Location of a stream"
assert_eq "$(header ETag)" '"1"' "ETag of a new stream"
call POST /v1/streams '{"name":"out","schema":{"fields":[{"name":"price","type":"DOUBLE"}]}}'
expect 201

call POST /v1/connections '{"name":"bids-in","connector":"kafka","type":"source","stream":"bids","properties":{"topic":"bids","properties.bootstrap.servers":"localhost:9092"},"secret_refs":{"properties.sasl.password":"kafka-password"},"task_count":2,"task_size":"S"}'
expect 201
CONN_ID=$(jq -r .id <<<"$RESP")
assert_eq "$(jq -r .stream_id <<<"$RESP")" "$STREAM_ID" "connection resolves the stream"
assert_eq "$(jq -r .stream <<<"$RESP")" bids "connection names the stream"
assert_eq "$(jq -r '.desired_state + "/" + .actual_state' <<<"$RESP")" stopped/stopped "connection states"
call POST /v1/connections '{"name":"bad-ref","connector":"kafka","type":"source","stream":"bids","secret_refs":{"x":"nope"}}'
expect 400 invalid_request
assert_eq "$(jq -r .error.details.field <<<"$RESP")" secret_refs.x "missing secret named"

call POST /v1/pipelines '{"name":"expensive","sql":"INSERT INTO out SELECT price * 0.9 FROM bids WHERE price > 100","error_policy":"dead_letter","dead_letter_stream":"out"}'
expect 201
PIPE_ID=$(jq -r .id <<<"$RESP")
assert_eq "$(jq -r .generation <<<"$RESP")" 1 "pipeline generation"
assert_eq "$(jq -r .dead_letter_stream <<<"$RESP")" out "dead letter stream"
assert_eq "$(sql "SELECT sql FROM pipelines WHERE id = '$PIPE_ID'")" "INSERT INTO out SELECT price * 0.9 FROM bids WHERE price > 100" "SQL stored"

# List and get.
call GET /v1/pipelines; expect 200
assert_eq "$(jq -r '.items | length' <<<"$RESP")" 1 "pipelines listed"
assert_eq "$(jq -r .next_cursor <<<"$RESP")" null "single page"
call GET /v1/streams; expect 200
assert_eq "$(jq -r '[.items[].name] | join(",")' <<<"$RESP")" bids,out "streams listed in creation order"
call GET "/v1/streams?name=out"; expect 200
assert_eq "$(jq -r '[.items[].name] | join(",")' <<<"$RESP")" out "list filtered by name"
call GET "/v1/pipelines/$PIPE_ID"; expect 200
assert_eq "$(jq -r .name <<<"$RESP")" expensive "get pipeline"
for f in id name created_at updated_at version desired_state actual_state task_count task_size generation observed_generation last_error; do
  [ "$(jq --arg f $f 'has($f)' <<<"$RESP")" = true ] || fail "pipeline lacks $f"
done
[[ "$(jq -r .created_at <<<"$RESP")" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$ ]] || fail "created_at is RFC 3339 UTC"
# Timestamps as sluice_ts() writes them (UTC, six decimals), also for a whole second and a time
# before 1970 (the api formats them from the epoch the database returns).
assert_eq "$(jq -r '.created_at + " " + .updated_at' <<<"$RESP")" \
  "$(sql "SELECT sluice_ts(created_at) || ' ' || sluice_ts(updated_at) FROM pipelines WHERE id = '$PIPE_ID'")" \
  "created_at and updated_at as sluice_ts() writes them"
KEPT=$(sql "SELECT created_at || '|' || updated_at FROM pipelines WHERE id = '$PIPE_ID'")
sql "UPDATE pipelines SET created_at = '2026-01-31 12:00:00+00', updated_at = '1969-12-31 23:59:59.25+00' WHERE id = '$PIPE_ID'" >/dev/null
call GET "/v1/pipelines/$PIPE_ID"; expect 200
assert_eq "$(jq -r '.created_at + " " + .updated_at' <<<"$RESP")" "2026-01-31T12:00:00.000000Z 1969-12-31T23:59:59.250000Z" \
  "a whole second and a time before 1970"
sql "UPDATE pipelines SET created_at = '${KEPT%%|*}', updated_at = '${KEPT#*|}' WHERE id = '$PIPE_ID'" >/dev/null

# Update: a stale If-Match is refused and changes nothing; a fresh one applies.
call PATCH "/v1/pipelines/$PIPE_ID" '{"task_count":3}' -H 'If-Match: "7"'
expect 412 precondition_failed
assert_eq "$(sql "SELECT task_count || '/' || version FROM pipelines WHERE id = '$PIPE_ID'")" 1/1 "stale update changed nothing"
call PATCH "/v1/pipelines/$PIPE_ID" '{"task_count":3}' -H 'If-Match: tomorrow'
expect 400 invalid_request
call PATCH "/v1/pipelines/$PIPE_ID" '{"task_count":3,"description":"ten percent off"}' -H 'If-Match: "1"'
expect 200
assert_eq "$(jq -r '.task_count, .version, .description, .generation' <<<"$RESP" | paste -sd/)" "3/2/ten percent off/2" "fresh update"
assert_eq "$(header ETag)" '"2"' "ETag after update"
call PATCH "/v1/pipelines/$PIPE_ID" '{"name":"pricey"}' -H 'If-Match: 2'
expect 200
assert_eq "$(jq -r '.name, .version' <<<"$RESP" | paste -sd/)" "pricey/3" "rename with bare If-Match"
call PATCH "/v1/pipelines/$PIPE_ID" '{"sql":"INSERT INTO out SELECT price FROM bids"}'
expect 200
assert_eq "$(jq -r .version <<<"$RESP")" 4 "update without If-Match"

# Activate bumps generation once (and tells the controlplane); deactivate bumps it again.
psql -X "$DATABASE_URL" -c "LISTEN sluice_desired" -c "SELECT pg_sleep(3) /* listener */" >"$TEST_TMP/notify.out" 2>&1 &
LISTENER=$!
wait_for 10 bash -c "[ \"\$(psql -X -tA '$DATABASE_URL' -c \"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%/* listener */%' AND pid <> pg_backend_pid()\")\" = 1 ]" \
  || fail "the LISTEN session did not start"
call POST "/v1/pipelines/$PIPE_ID/activate"; expect 200
wait "$LISTENER"
assert_contains "$(cat "$TEST_TMP/notify.out")" "\"pipeline:$PIPE_ID\"" "NOTIFY sluice_desired on activate"
assert_eq "$(jq -r '.desired_state, .generation' <<<"$RESP" | paste -sd/)" "running/4" "activate"
call POST "/v1/pipelines/$PIPE_ID/activate"; expect 200
assert_eq "$(jq -r .generation <<<"$RESP")" 4 "activating a running pipeline changes nothing"
call POST "/v1/connections/$CONN_ID/activate"; expect 200
assert_eq "$(jq -r '.desired_state, .generation' <<<"$RESP" | paste -sd/)" "running/2" "activate connection"
call POST "/v1/connections/$CONN_ID/deactivate"; expect 200
assert_eq "$(jq -r '.desired_state, .generation' <<<"$RESP" | paste -sd/)" "stopped/3" "deactivate connection"

# A stream in use cannot be deleted; the others can, and are gone afterwards.
call DELETE "/v1/streams/$STREAM_ID"; expect 409 conflict
assert_eq "$(jq -r .error.details.used_by <<<"$RESP")" 'connection "bids-in"' "conflict names the user"
assert_eq "$(jq -r .error.message <<<"$RESP")" 'stream "bids" is used by connection "bids-in"; delete or change that first' \
  "the message names both by name"
call DELETE "/v1/secrets/$SECRET_ID"; expect 409 conflict
assert_eq "$(jq -r .error.details.used_by <<<"$RESP")" 'connection "bids-in"' "secret in use"
assert_contains "$(jq -r .error.message <<<"$RESP")" 'secret "kafka-password" is used by' "the secret by its name"
call DELETE "/v1/pipelines/$PIPE_ID"; expect 204
call GET "/v1/pipelines/$PIPE_ID"; expect 404 not_found
call DELETE "/v1/pipelines/$PIPE_ID"; expect 404 not_found
call DELETE "/v1/connections/$CONN_ID"; expect 204
call DELETE "/v1/streams/$STREAM_ID"; expect 204
call DELETE "/v1/secrets/$SECRET_ID"; expect 204
assert_eq "$(sql "SELECT count(*) FROM pipelines") $(sql "SELECT count(*) FROM streams")" "0 1" "rows deleted"

# Audit log records every change with its request id.
assert_eq "$(sql "SELECT string_agg(DISTINCT action, ',' ORDER BY action) FROM audit_log WHERE resource_kind = 'pipeline'")" \
  "activate,create,delete,update" "pipeline audit actions"
assert_eq "$(sql "SELECT count(*) FROM audit_log WHERE request_id IS NULL OR request_id NOT LIKE 'req_%'")" 0 "audit rows carry request ids"

# API keys: create (shown once), list (never shown), revoke -> 401.
call POST /v1/api-keys '{"name":"ci"}'; expect 201
CI_KEY=$(jq -r .key <<<"$RESP"); CI_ID=$(jq -r .id <<<"$RESP")
TOKEN=$CI_KEY call GET /v1/me; expect 200
call GET /v1/api-keys; expect 200
assert_eq "$(jq -r '[.items[].name] | join(",")' <<<"$RESP")" default,ci "keys listed"
assert_eq "$(jq -r '[.items[] | has("key")] | any' <<<"$RESP")" false "list never shows keys"
call DELETE "/v1/api-keys/$CI_ID"; expect 204
TOKEN=$CI_KEY call GET /v1/pipelines; expect 401 unauthenticated
TOKEN=$CI_KEY call GET /v1/me; expect 401 unauthenticated
call GET /v1/me; expect 200
TOKEN=sk_0000000000000000000000000000000000000000000000000000000000000000 call GET /v1/pipelines
expect 401 unauthenticated

# Audit events, newest first, paginated.
call GET "/v1/audit-events?limit=2"; expect 200
assert_eq "$(jq -r '.items | length' <<<"$RESP")" 2 "audit page size"
assert_eq "$(jq -r '.items[0].action, .items[0].resource_kind' <<<"$RESP" | paste -sd/)" "revoke/api_key" "newest audit event first"
CURSOR=$(jq -r .next_cursor <<<"$RESP")
call GET "/v1/audit-events?limit=200&cursor=$CURSOR"; expect 200
assert_eq "$(jq -r '.items | length' <<<"$RESP")" "$(( $(sql "SELECT count(*) FROM audit_log") - 2 ))" "second audit page holds the rest"
assert_eq "$(jq -r .next_cursor <<<"$RESP")" null "last audit page"
call GET "/v1/audit-events?cursor=abc"; expect 400 invalid_request

# Roles: a member may use resources but not manage API keys or read the audit log.
sql "UPDATE users SET role = 'member' WHERE email = 'ann@acme.example'" >/dev/null
call GET /v1/pipelines; expect 200
call POST /v1/api-keys '{"name":"sneaky"}'; expect 403 forbidden
call GET /v1/audit-events; expect 403 forbidden
assert_eq "$(sql "SELECT count(*) FROM api_keys WHERE name = 'sneaky'")" 0 "forbidden request created nothing"
sql "UPDATE users SET role = 'owner' WHERE email = 'ann@acme.example'" >/dev/null
call POST /v1/api-keys '{"name":"allowed"}'; expect 201

# A client's request id is echoed.
call GET /healthz '' -H 'X-Request-Id: trace-42'
assert_eq "$(header X-Request-Id)" trace-42 "request id echoed"
grep -q 'trace-42.*GET /healthz 200' "$TEST_TMP/api.log" || fail "access log line carries the request id"

# Graceful shutdown.
kill -TERM "$API_PID"
wait "$API_PID"; rc=$?
assert_eq "$rc" 0 "api exit status after SIGTERM"
grep -q "shutting down" "$TEST_TMP/api.log" || fail "no shutdown line in the log"
echo "ok"
