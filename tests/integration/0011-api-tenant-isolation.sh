#!/usr/bin/env bash
# Tenant isolation: a second tenant gets 404 for every one of the first tenant's resources by
# id and never sees them in lists; row-level security hides them even from a query that has no
# tenant filter at all.
source "$(dirname "$0")/api_lib.sh"
api_start

signup alpha; KEY_A=$KEY; TENANT_A=$TENANT_ID
signup beta; KEY_B=$KEY; TENANT_B=$TENANT_ID

TOKEN=$KEY_A
SECRET_A=$(create_id /v1/secrets '{"name":"pw","value":"s3cret"}')
STREAM_A=$(create_id /v1/streams '{"name":"events","schema":{"fields":[{"name":"v","type":"STRING"}]}}')
call POST /v1/streams '{"name":"archive","schema":{"fields":[{"name":"v","type":"STRING"}]}}'; expect 201
CONN_A=$(create_id /v1/connections '{"name":"gen","connector":"datagen","type":"source","stream":"events"}')
PIPE_A=$(create_id /v1/pipelines '{"name":"copy","sql":"INSERT INTO archive SELECT * FROM events"}')
APIKEY_A=$(create_id /v1/api-keys '{"name":"second"}')

TOKEN=$KEY_B
for r in "secrets/$SECRET_A" "streams/$STREAM_A" "connections/$CONN_A" "pipelines/$PIPE_A"; do
  call GET "/v1/$r"; expect 404 not_found
  call PATCH "/v1/$r" '{"description":"mine now"}'; expect 404 not_found
  call DELETE "/v1/$r"; expect 404 not_found
done
for r in "connections/$CONN_A" "pipelines/$PIPE_A"; do
  call POST "/v1/$r/activate"; expect 404 not_found
  call POST "/v1/$r/deactivate"; expect 404 not_found
done
call DELETE "/v1/api-keys/$APIKEY_A"; expect 404 not_found
for c in secrets streams connections pipelines api-keys; do
  call GET "/v1/$c"; expect 200
  assert_eq "$(jq -r '[.items[] | select(.name == "gen" or .name == "copy" or .name == "events" or .name == "pw" or .name == "second")] | length' <<<"$RESP")" 0 "beta's $c list shows none of alpha's"
done
call GET "/v1/streams?name=events"; expect 200
assert_eq "$(jq -r '.items | length' <<<"$RESP")" 0 "name filter does not reach other tenants"
# B may reuse A's names: names are unique per tenant only.
call POST /v1/streams '{"name":"events","schema":{"fields":[{"name":"v","type":"STRING"}]}}'; expect 201
# A stream reference resolves within the caller's tenant only.
call POST /v1/connections '{"name":"x","connector":"datagen","type":"source","stream":"nothere"}'
expect 400 invalid_request
call GET /v1/me; expect 200
assert_eq "$(jq -r .tenant.id <<<"$RESP")" "$TENANT_B" "beta's /me"

# Query parameters that take another tenant's id find nothing of it. Alpha's usage, a log line
# of one of alpha's tasks and alpha's audit trail are planted (as the migrator) and shown to
# alpha first, so that the empty answers to beta below are not empty for want of rows.
TASK_A=$(sql "SELECT gen_random_uuid()")
sql "INSERT INTO usage (tenant_id, resource_kind, resource_id, minute, records_in)
     VALUES ('$TENANT_A', 'pipeline', '$PIPE_A', date_trunc('minute', now()), 42),
            ('$TENANT_A', 'connection', '$CONN_A', date_trunc('minute', now()), 7)" >/dev/null
sql "INSERT INTO task_logs (tenant_id, resource_kind, resource_id, task_id, message)
     VALUES ('$TENANT_A', 'pipeline', '$PIPE_A', '$TASK_A', 'alpha secret line')" >/dev/null
AUDIT_A=$(sql "SELECT max(id) FROM audit_log WHERE tenant_id = '$TENANT_A'")
TOKEN=$KEY_A
call GET "/v1/usage?resource_id=$PIPE_A"; expect 200
assert_eq "$(jq -c '[.items[] | [.resource_id, .records_in]]' <<<"$RESP")" "[[\"$PIPE_A\",42]]" "alpha sees its pipeline's usage"
call GET "/v1/pipelines/$PIPE_A/logs?task_id=$TASK_A"; expect 200
assert_eq "$(jq -r '[.items[].message] | join(",")' <<<"$RESP")" "alpha secret line" "alpha sees its task's log line"
TOKEN=$KEY_B
for id in "$PIPE_A" "$CONN_A"; do
  for g in resource minute hour day total; do
    call GET "/v1/usage?resource_id=$id&group_by=$g"; expect 200
    assert_eq "$(jq -r '.items | length' <<<"$RESP")" 0 "beta's usage?resource_id=<alpha's $id>&group_by=$g is empty"
  done
done
call GET /v1/usage; expect 200
assert_eq "$(jq -r '.items | length' <<<"$RESP")" 0 "beta's usage shows none of alpha's"
CONN_B=$(create_id /v1/connections '{"name":"gen","connector":"datagen","type":"source","stream":"events"}')
call GET "/v1/connections/$CONN_B/logs?task_id=$TASK_A"; expect 200
assert_eq "$(jq -r '.items | length' <<<"$RESP")" 0 "beta's logs?task_id=<alpha's task> is empty"
call GET "/v1/pipelines/$PIPE_A/logs?task_id=$TASK_A"; expect 404 not_found
call GET "/v1/audit-events?cursor=$((AUDIT_A + 1))&limit=200"; expect 200
assert_eq "$(jq -r --arg t "$TENANT_A" --arg p "$PIPE_A" --arg c "$CONN_A" \
  '[.items[] | select(.resource_id == $t or .resource_id == $p or .resource_id == $c)] | length' <<<"$RESP")" 0 \
  "beta's audit-events?cursor=<after alpha's last entry> shows none of alpha's"
assert_eq "$(jq -r '.items | length > 0' <<<"$RESP")" true "beta's audit-events lists beta's own entries"

# Nothing of A changed.
assert_eq "$(sql "SELECT version FROM pipelines WHERE id = '$PIPE_A'")" 1 "alpha's pipeline untouched"
assert_eq "$(sql "SELECT desired_state FROM pipelines WHERE id = '$PIPE_A'")" stopped "alpha's pipeline not activated"
assert_eq "$(sql "SELECT count(*) FROM api_keys WHERE tenant_id = '$TENANT_A' AND revoked_at IS NULL")" 2 "alpha's keys not revoked"

# Row-level security underneath: as the api's role with tenant B set, queries WITHOUT any
# tenant filter see none of A's rows, and cannot write rows for A.
rls() {
  psql -X -q -tA -v ON_ERROR_STOP=1 "$DATABASE_URL" <<SQL
BEGIN;
SET LOCAL ROLE sluice_app;
SELECT set_config('sluice.tenant_id', '$1', true) \\g /dev/null
$2
COMMIT;
SQL
}
for t in tenants users api_keys secrets streams connections pipelines audit_log; do
  assert_eq "$(sql "SELECT count(*) > 0 FROM $t WHERE $( [ $t = tenants ] && echo id || echo tenant_id) = '$TENANT_A'")" t "alpha has $t rows"
  col=$( [ $t = tenants ] && echo id || echo tenant_id)
  assert_eq "$(rls "$TENANT_B" "SELECT count(*) FROM $t WHERE $col = '$TENANT_A';")" 0 "RLS hides alpha's $t from beta"
  assert_eq "$(rls "$TENANT_B" "SELECT count(*) FROM $t WHERE $col <> '$TENANT_B';")" 0 "beta sees only its own $t"
  assert_eq "$(rls "" "SELECT count(*) FROM $t;")" 0 "no tenant set: no $t rows"
done
assert_eq "$(rls "$TENANT_B" "SELECT count(*) FROM pipelines;")" 0 "beta has no pipelines (unfiltered query)"
assert_eq "$(rls "$TENANT_A" "SELECT count(*) FROM pipelines;")" 1 "alpha sees its pipeline (unfiltered query)"
assert_eq "$(rls "$TENANT_B" "UPDATE pipelines SET name = 'stolen'; SELECT count(*) FROM pipelines WHERE name = 'stolen';")" 0 "beta cannot update alpha's rows"
assert_eq "$(sql "SELECT name FROM pipelines WHERE id = '$PIPE_A'")" copy "alpha's pipeline name kept"
if rls "$TENANT_B" "INSERT INTO streams (tenant_id, name, schema) VALUES ('$TENANT_A', 'planted', '{}');" 2>"$TEST_TMP/rls.err"; then
  fail "beta could insert a row for alpha"
fi
assert_contains "$(cat "$TEST_TMP/rls.err")" "row-level security" "insert refused by the policy"
assert_eq "$(sql "SELECT rolsuper::text || rolbypassrls::text || rolcanlogin::text FROM pg_roles WHERE rolname = 'sluice_app'")" falsefalsefalse "sluice_app: no superuser, no BYPASSRLS, NOLOGIN"
echo ok
