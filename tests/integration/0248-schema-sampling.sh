#!/usr/bin/env bash
# Schema sampling: POST /v1/connections/{id}/check?sample=N reads a source's first N records in
# the sandboxed check worker and proposes a schema (JSON types as SQL types), and
# `sluice check connection NAME --save` saves it on the connection's stream, keeping its
# watermark. Over a datagen source of Nexmark bids; a sink is not sampled; bad sample sizes are
# 400; another tenant cannot check the connection.
source "$(dirname "$0")/api_lib.sh" # api_start, create_id, signup
source "$(dirname "$0")/cli_lib.sh" # cli_env, run, expect_exit

cli_env
api_start --threads 2 --data-root "$TEST_TMP/data"
signup acme
TOKEN=$KEY
ACME_KEY=$KEY
# the stream starts with a placeholder schema: the proposal replaces it
S1=$(create_id /v1/streams '{"name":"bids","schema":{"fields":[{"name":"dateTime","type":"TIMESTAMP(3)"}],"watermark":{"field":"dateTime","delay_ms":2000}}}')
C=$(create_id /v1/connections '{"name":"gen","connector":"datagen","type":"source","stream":"bids","properties":{"kind":"bid","events":"1000","rate":"1000"}}')
create_id /v1/streams '{"name":"out","schema":{"fields":[{"name":"x","type":"BIGINT"}]}}' >/dev/null
create_id /v1/connections '{"name":"hook","connector":"webhook","type":"sink","stream":"out","properties":{"url":"http://127.0.0.1:9/"}}' >/dev/null
want='{"fields":[{"name":"auction","type":"BIGINT"},{"name":"bidder","type":"BIGINT"},{"name":"price","type":"BIGINT"},{"name":"channel","type":"STRING"},{"name":"url","type":"STRING"},{"name":"dateTime","type":"TIMESTAMP(3)"},{"name":"extra","type":"STRING"}]}'

# ---- the API -----------------------------------------------------------------------------------
call POST "/v1/connections/$C/check?sample=20"
expect 200
assert_eq "$(jq -c '[.reachable, .sampled]' <<<"$RESP")" '[true,20]' "20 records sampled"
assert_eq "$(jq -c .proposed_schema <<<"$RESP")" "$want" "the schema proposed from Nexmark bids"
call POST "/v1/connections/$C/check"
expect 200
assert_eq "$(jq -c '[has("sampled"), has("proposed_schema")]' <<<"$RESP")" '[false,false]' "no sample unless asked"
call POST "/v1/connections/$C/check?sample=0"
expect 400
call POST "/v1/connections/$C/check?sample=5000"
expect 400
call POST "/v1/connections/$C/check?sample=abc"
expect 400
call GET /v1/openapi.json
assert_eq "$(jq -r '[.paths["/v1/connections/{id}/check"].post.parameters[]?.name] | index("sample") != null' <<<"$RESP")" true \
  "openapi.json documents ?sample"

signup globex
TOKEN=$KEY
call POST "/v1/connections/$C/check?sample=5"
expect 404
TOKEN=$ACME_KEY

# ---- the CLI: print the proposal, then save it --------------------------------------------------
export SLUICE_API_URL=$API SLUICE_API_KEY=$ACME_KEY SLUICE_CA_FILE=$CACERT
run "$S" check connection gen --sample 5
expect_exit 0 "check --sample"
assert_contains "$out" "sampled         5" "the CLI shows the sample size"
grep -Eq '^  dateTime +TIMESTAMP\(3\)$' <<<"$out" || fail "the CLI shows the proposed fields: [$out]"
run "$S" check connection hook --sample 5
assert_contains "$out" "the connector is not a source" "a sink is not sampled"
run "$S" check connection gen --save
expect_exit 0 "check --save"
assert_contains "$out" 'saved the proposed schema on stream "bids"' "the CLI says it saved"
call GET "/v1/streams/$S1"
expect 200
assert_eq "$(jq -c '.schema | {fields}' <<<"$RESP")" "$want" "the stream's schema is the proposal"
assert_eq "$(jq -c .schema.watermark <<<"$RESP")" '{"field":"dateTime","delay_ms":2000}' "its watermark is kept"
echo "ok 0248-schema-sampling"
