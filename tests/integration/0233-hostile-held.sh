#!/usr/bin/env bash
# A hostile tenant (beta) against another tenant (alpha) and the platform, through the real api:
# the attacks that held (0232 has the holes this session found and closed). Alpha's ids in
# beta's routes are 404s and change nothing; alpha's secret cannot be named in secret_refs (by
# name or id); alpha's Idempotency-Key replays nothing of alpha's to beta; SQL that would be
# costly to compile (zero, huge and many-sliced windows, deep nesting, long operator chains) is a
# 422 with its reason; a NUL byte in a name, JSON nested 5000 deep and a chunked body past the
# limit are refused. (One small fix: a usage range of "infinity" is a 400, it was a 500.)
. "$(dirname "$0")/api_lib.sh"
api_start --data-root "$TEST_TMP/data"
fields='[{"name":"a","type":"BIGINT"},{"name":"s","type":"STRING"}]'

signup alpha; TOKEN=$KEY; A_KEY=$KEY
A_STREAM=$(create_id /v1/streams "{\"name\":\"orders\",\"schema\":{\"fields\":$fields}}")
call POST /v1/streams "{\"name\":\"out\",\"schema\":{\"fields\":$fields}}"; expect 201
A_SECRET=$(create_id /v1/secrets '{"name":"pw","value":"hunter2"}')
A_CONN=$(create_id /v1/connections '{"name":"web","connector":"http","type":"source","stream":"orders"}')
A_PIPE=$(create_id /v1/pipelines '{"name":"p","sql":"INSERT INTO out SELECT * FROM orders"}')
call POST "/v1/connections/$A_CONN/activate"; expect 200
call POST "/v1/connections/$A_CONN/events" '{"events":[{"a":1,"s":"alpha-secret"},{"a":2,"s":"alpha-secret"}]}' \
  -H 'Idempotency-Key: shared-key'
expect 200
a_state() { TOKEN=$A_KEY call GET "/v1/streams/$A_STREAM/records"; echo "$RESP"
            TOKEN=$A_KEY call GET "/v1/pipelines/$A_PIPE"; jq -c '[.version, .desired_state]' <<<"$RESP"; }
A_BEFORE=$(a_state)

signup beta; TOKEN=$KEY
call POST /v1/streams "{\"name\":\"x\",\"schema\":{\"fields\":$fields}}"; expect 201
B_CONN=$(create_id /v1/connections '{"name":"bw","connector":"http","type":"source","stream":"x"}')
call POST "/v1/connections/$B_CONN/activate"; expect 200

# Held: alpha's ids in beta's routes are 404s, and its secret cannot be named.
for route in "GET /v1/streams/$A_STREAM/records" "GET /v1/secrets/$A_SECRET" "GET /v1/pipelines/$A_PIPE/logs" \
  "POST /v1/connections/$A_CONN/check" "DELETE /v1/streams/$A_STREAM" "POST /v1/pipelines/$A_PIPE/activate"; do
  # shellcheck disable=SC2086
  call $route; expect 404 not_found
done
call POST "/v1/connections/$A_CONN/events" '{"events":[{"a":3,"s":"forged"}]}'; expect 404 not_found
for ref in pw "$A_SECRET"; do
  call POST /v1/connections "{\"name\":\"w\",\"connector\":\"webhook\",\"type\":\"sink\",\"stream\":\"x\",
    \"properties\":{\"url\":\"https://example.com\"},\"secret_refs\":{\"auth_header\":\"$ref\"}}"
  expect 400 invalid_request
done
# Held: alpha's Idempotency-Key is not beta's: beta's request runs and answers its own offsets.
call POST "/v1/connections/$B_CONN/events" '{"events":[{"a":1,"s":"alpha-secret"},{"a":2,"s":"alpha-secret"}]}' \
  -H 'Idempotency-Key: shared-key'
expect 200
assert_eq "$(jq -c .offsets <<<"$RESP")" '{"first":0,"last":1}' "beta's own write under alpha's key"

assert_eq "$(a_state)" "$A_BEFORE" "alpha's records and pipeline after beta's attempts"

# ---- held: SQL that is costly to compile, bodies that are hostile -----------------------------
call POST /v1/streams '{"name":"t","schema":{"fields":[{"name":"a","type":"BIGINT"},{"name":"ts","type":"TIMESTAMP(3)"}],"watermark":{"field":"ts","delay_ms":1000}}}'
expect 201
explain() { call POST /v1/pipelines/explain "$(jq -nc --arg sql "$1" '{sql:$sql}')"; expect 422 invalid_sql
            assert_contains "$(jq -r .error.message <<<"$RESP")" "$2" "explain of ${1:0:60}"; }
W="SELECT window_start, COUNT(*) AS n FROM TABLE"
G="GROUP BY window_start, window_end"
explain "$W(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '0' SECOND)) $G" "expected a positive whole number"
explain "$W(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '99999999' SECOND)) $G" "too many slices"
explain "SELECT $(printf '(%.0s' $(seq 1 300))a$(printf ')%.0s' $(seq 1 300)) FROM t" "nested too deeply"
explain "SELECT a$(printf ' + a%.0s' $(seq 1 2000)) FROM t" "nested too deeply"
call POST /v1/streams '{"name":"a\u0000b","schema":{"fields":[{"name":"a","type":"BIGINT"}]}}'; expect 400 invalid_json
call POST /v1/streams "{\"name\":\"d\",\"schema\":$(printf '[%.0s' $(seq 1 5000))$(printf ']%.0s' $(seq 1 5000))}"
expect 400 invalid_json
head -c 1200000 /dev/zero | tr '\0' a >"$TEST_TMP/big"
call POST /v1/streams "@$TEST_TMP/big" -H 'Transfer-Encoding: chunked'; expect 413 payload_too_large

# Fixed here: a usage range of "infinity" was a 500 (it has no RFC 3339 text); now a 400.
call GET '/v1/usage?from=-infinity&to=infinity&group_by=minute'; expect 400 invalid_request
call GET '/v1/usage?from=2026-01-01T00:00:00Z&to=infinity'; expect 400 invalid_request
echo "ok"
