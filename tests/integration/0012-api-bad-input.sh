#!/usr/bin/env bash
# Bad input: malformed JSON, wrong types, unknown and missing fields, a 2 MB body, an empty
# body, a wrong content type, SQL injection attempts, duplicate names and bad SQL each get the
# documented error, and none of them changes anything in the database.
source "$(dirname "$0")/api_lib.sh"
api_start
signup acme; TOKEN=$KEY
STREAM_ID=$(create_id /v1/streams '{"name":"bids","schema":{"fields":[{"name":"price","type":"BIGINT"}]}}')
call POST /v1/streams '{"name":"bids_out","schema":{"fields":[{"name":"price","type":"BIGINT"}]}}'; expect 201
PIPE_ID=$(create_id /v1/pipelines '{"name":"p","sql":"INSERT INTO bids_out SELECT * FROM bids"}')
call POST /v1/streams '{"name":"ticks","schema":{"fields":[{"name":"price","type":"BIGINT"},{"name":"ts","type":"TIMESTAMP(3)"}],"watermark":{"field":"ts","delay_ms":1000}}}'; expect 201
WINDOWED="INSERT INTO bids_out SELECT MAX(price) AS price FROM TABLE(TUMBLE(TABLE ticks, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end"
WIN_ID=$(create_id /v1/pipelines "$(jq -nc --arg sql "$WINDOWED" '{name:"w",sql:$sql}')")
# Exact DECIMAL(p, s) and DATE columns (the planner sees their types: see the invalid_sql cases)
call POST /v1/streams '{"name":"prices","schema":{"fields":[{"name":"p","type":"DECIMAL(10, 2)"},{"name":"d","type":"DATE"}]}}'; expect 201

state() {
  sql "SELECT concat_ws('/', (SELECT count(*) FROM tenants), (SELECT count(*) FROM users),
         (SELECT count(*) FROM api_keys), (SELECT count(*) FROM secrets), (SELECT count(*) FROM streams),
         (SELECT count(*) FROM connections), (SELECT count(*) FROM pipelines), (SELECT count(*) FROM audit_log),
         (SELECT count(*) FROM idempotency_keys), (SELECT sum(version) FROM streams),
         (SELECT sum(version) FROM pipelines), (SELECT string_agg(name, ',' ORDER BY name) FROM streams))"
}
BEFORE=$(state)
# bad STATUS CODE FIELD METHOD PATH BODY [CURL ARGS...]: the call fails as documented and the
# database is unchanged. FIELD "-" skips the details.field check.
bad() {
  local status=$1 code=$2 field=$3; shift 3
  call "$@"
  expect "$status" "$code"
  [ "$field" = - ] || assert_eq "$(jq -r .error.details.field <<<"$RESP")" "$field" "details.field for $*"
  [ -n "$(jq -r .error.message <<<"$RESP")" ] || fail "error without a message: $RESP"
  [ -n "$(header X-Request-Id)" ] || fail "error without X-Request-Id"
  assert_eq "$(state)" "$BEFORE" "database unchanged after $1 $2"
}

# Malformed JSON, empty body, non-object bodies.
bad 400 invalid_json - POST /v1/streams '{"name": "x", "schema": '
assert_eq "$(jq -r .error.details.line <<<"$RESP")" 1 "invalid_json line"
bad 400 invalid_json - POST /v1/streams '{"name":"x","name":"y","schema":{"fields":[]}}'
bad 400 invalid_json - POST /v1/streams '' -H 'Content-Type: application/json'
bad 400 invalid_json - POST /v1/streams '[1,2,3]'
bad 400 invalid_json - PATCH "/v1/pipelines/$PIPE_ID" 'null'
# Wrong content type.
bad 415 unsupported_media_type - POST /v1/streams '{"name":"x"}' -H 'Content-Type: text/plain'
bad 415 unsupported_media_type - POST /v1/pipelines 'name=x&sql=y' -H 'Content-Type: application/x-www-form-urlencoded'
# Wrong types.
bad 400 invalid_request name POST /v1/streams '{"name":42,"schema":{"fields":[{"name":"a","type":"INT"}]}}'
bad 400 invalid_request partitions POST /v1/streams '{"name":"x","partitions":"two","schema":{"fields":[{"name":"a","type":"INT"}]}}'
bad 400 invalid_request partitions POST /v1/streams '{"name":"x","partitions":0,"schema":{"fields":[{"name":"a","type":"INT"}]}}'
bad 400 invalid_request schema POST /v1/streams '{"name":"x","schema":[]}'
bad 400 invalid_request 'schema.fields[0].type' POST /v1/streams '{"name":"x","schema":{"fields":[{"name":"a","type":7}]}}'
bad 400 invalid_request 'schema.fields[0]' POST /v1/streams '{"name":"x","schema":{"fields":[{"name":"a","type":"BLOB"}]}}'
bad 400 invalid_request 'schema.fields[0]' POST /v1/streams '{"name":"x","schema":{"fields":[{"name":"a","type":"DECIMAL(39, 2)"}]}}'
bad 400 invalid_request 'schema.fields[0]' POST /v1/streams '{"name":"x","schema":{"fields":[{"name":"a","type":"DECIMAL(5,6)"}]}}'
bad 400 invalid_request 'schema.watermark.field' POST /v1/streams '{"name":"x","schema":{"fields":[{"name":"a","type":"INT"}],"watermark":{"field":"a","delay_ms":5}}}'
# an upsert stream's primary key names distinct fields of the schema
bad 400 invalid_request 'schema.primary_key[0]' POST /v1/streams '{"name":"x","schema":{"fields":[{"name":"a","type":"INT"}],"primary_key":["b"]}}'
bad 400 invalid_request 'schema.primary_key[1]' POST /v1/streams '{"name":"x","schema":{"fields":[{"name":"a","type":"INT"}],"primary_key":["a","a"]}}'
bad 400 invalid_request 'schema.primary_key[0]' POST /v1/streams '{"name":"x","schema":{"fields":[{"name":"a","type":"INT"}],"primary_key":[1]}}'
bad 400 invalid_request 'schema.primary_key' POST /v1/streams '{"name":"x","schema":{"fields":[{"name":"a","type":"INT"}],"primary_key":[]}}'
bad 400 invalid_request 'schema.primary_key' POST /v1/streams '{"name":"x","schema":{"fields":[{"name":"a","type":"INT"}],"primary_key":"a"}}'
bad 400 invalid_request task_count POST /v1/pipelines '{"name":"q","sql":"INSERT INTO bids_out SELECT * FROM bids","task_count":"3"}'
bad 400 invalid_request task_size PATCH "/v1/pipelines/$PIPE_ID" '{"task_size":"XXL"}'
bad 400 invalid_request properties.rate POST /v1/connections '{"name":"c","connector":"datagen","type":"source","stream":"bids","properties":{"rate":10}}'
bad 400 invalid_request type POST /v1/connections '{"name":"c","connector":"datagen","type":"both","stream":"bids"}'
bad 400 invalid_request email POST /v1/signup '{"tenant":"t2","email":"not-an-email","password":"long enough"}'
bad 400 invalid_request password POST /v1/signup '{"tenant":"t2","email":"a@b.c","password":"short"}'
# Unknown fields, at the top and nested; missing fields.
bad 400 invalid_request colour POST /v1/streams '{"name":"x","colour":"red","schema":{"fields":[{"name":"a","type":"INT"}]}}'
bad 400 invalid_request 'schema.fields[0].nullable' POST /v1/streams '{"name":"x","schema":{"fields":[{"name":"a","type":"INT","nullable":true}]}}'
bad 400 invalid_request id PATCH "/v1/pipelines/$PIPE_ID" '{"id":"00000000-0000-0000-0000-000000000000"}'
bad 400 invalid_request sql POST /v1/pipelines '{"name":"q"}'
bad 400 invalid_request stream POST /v1/connections '{"name":"c","connector":"datagen","type":"source"}'
bad 400 invalid_request stream POST /v1/connections '{"name":"c","connector":"datagen","type":"source","stream":"missing"}'
bad 400 invalid_request dead_letter_stream POST /v1/pipelines '{"name":"q","sql":"INSERT INTO bids_out SELECT * FROM bids","error_policy":"dead_letter"}'
# A 2 MB body (over the 1 MiB limit), announced and chunked.
head -c 2000000 /dev/zero | tr '\0' ' ' > "$TEST_TMP/big.json"
bad 413 payload_too_large - POST /v1/streams '' -H 'Content-Type: application/json' --data-binary "@$TEST_TMP/big.json"
bad 413 payload_too_large - POST /v1/streams '' -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary "@$TEST_TMP/big.json"
# SQL injection attempts: in names, in query parameters, in path ids.
bad 400 invalid_request name POST /v1/streams "{\"name\":\"x'); DROP TABLE streams; --\",\"schema\":{\"fields\":[{\"name\":\"a\",\"type\":\"INT\"}]}}"
bad 400 invalid_request name POST /v1/pipelines "{\"name\":\"p' OR '1'='1\",\"sql\":\"INSERT INTO bids_out SELECT * FROM bids\"}"
bad 400 invalid_request tenant POST /v1/signup "{\"tenant\":\"a'; DELETE FROM tenants; --\",\"email\":\"x@y.z\",\"password\":\"long enough\"}"
bad 400 invalid_request stream POST /v1/connections "{\"name\":\"c\",\"connector\":\"datagen\",\"type\":\"source\",\"stream\":\"bids' OR 'a'='a\"}"
call GET "/v1/streams?name=bids%27%20OR%20%271%27%3D%271"; expect 200
assert_eq "$(jq -r '.items | length' <<<"$RESP")" 0 "injection in ?name= matches nothing"
bad 404 not_found - GET "/v1/streams/1%27%20OR%20%271%27%3D%271"
bad 404 not_found - DELETE "/v1/streams/$STREAM_ID%27%20OR%20%271%27%3D%271"
bad 400 invalid_request limit GET "/v1/streams?limit=1;DROP%20TABLE%20streams"
bad 400 invalid_request cursor GET "/v1/streams?cursor=1.x%27%3B"
# Duplicate names.
bad 409 conflict name POST /v1/streams '{"name":"bids","schema":{"fields":[{"name":"a","type":"INT"}]}}'
bad 409 conflict name POST /v1/pipelines '{"name":"p","sql":"INSERT INTO bids_out SELECT * FROM bids"}'
OTHER_ID=$(create_id /v1/streams '{"name":"other","schema":{"fields":[{"name":"a","type":"INT"}]}}')
call DELETE "/v1/streams/$OTHER_ID"; expect 204
BEFORE=$(state)
bad 409 conflict email POST /v1/signup '{"tenant":"fresh","email":"owner@acme.example","password":"long enough"}'
# Bad SQL: 422 with line and column.
bad 422 invalid_sql sql POST /v1/pipelines '{"name":"q","sql":"   \n  "}'
assert_eq "$(jq -r '.error.details.line, .error.details.column' <<<"$RESP" | paste -sd:)" 1:1 "invalid_sql position"
bad 422 invalid_sql sql PATCH "/v1/pipelines/$PIPE_ID" '{"sql":""}'
# The dataplane's planner checks the SQL against the tenant's streams.
bad 422 invalid_sql sql POST /v1/pipelines '{"name":"q","sql":"INSERT INTO bids_out\nSELECT prise FROM bids"}'
assert_eq "$(jq -r '.error.details.line, .error.details.column' <<<"$RESP" | paste -sd:)" 2:8 "misspelt column position"
assert_contains "$(jq -r .error.message <<<"$RESP")" 'did you mean "price"' "suggestion"
bad 422 invalid_sql sql POST /v1/pipelines '{"name":"q","sql":"INSERT INTO bids_out SELECT p + 0.005 FROM prices"}'
assert_contains "$(jq -r .error.message <<<"$RESP")" 'is BIGINT but the query gives DECIMAL(12, 3)' "DECIMAL result type"
bad 422 invalid_sql sql POST /v1/pipelines '{"name":"q","sql":"INSERT INTO bids_out SELECT d FROM prices"}'
assert_contains "$(jq -r .error.message <<<"$RESP")" 'is BIGINT but the query gives DATE' "DATE column type"
bad 422 invalid_sql sql POST /v1/pipelines '{"name":"q","sql":"INSERT INTO bids_out SELECT price FROM nowhere"}'
assert_contains "$(jq -r .error.message <<<"$RESP")" '"nowhere" not found' "unknown input stream"
bad 422 invalid_sql sql POST /v1/pipelines '{"name":"q","sql":"INSERT INTO elsewhere SELECT price FROM bids"}'
assert_contains "$(jq -r .error.message <<<"$RESP")" 'output stream "elsewhere" not found' "unknown output stream"
bad 422 invalid_sql sql POST /v1/pipelines '{"name":"q","sql":"INSERT INTO bids_out SELECT UPPPER(price) FROM bids"}'
bad 422 invalid_sql sql PATCH "/v1/pipelines/$PIPE_ID" '{"sql":"INSERT INTO bids_out SELECT price FROM bids WHERE"}'
# A window aggregate keyed by its window only (no column of the stream) runs as one task: more is
# refused at create and at update.
bad 422 invalid_sql sql POST /v1/pipelines "$(jq -nc --arg sql "$WINDOWED" '{name:"w2",sql:$sql,task_count:4}')"
assert_contains "$(jq -r .error.message <<<"$RESP")" 'set task_count to 1' "windowed task_count"
bad 422 invalid_sql task_count PATCH "/v1/pipelines/$WIN_ID" '{"task_count":2}'
# Unknown endpoints and methods.
bad 404 not_found - GET /v1/widgets
bad 405 method_not_allowed - PUT "/v1/pipelines/$PIPE_ID" '{"name":"p"}'
# Missing or malformed credentials.
TOKEN= bad 401 unauthenticated - POST /v1/streams '{"name":"x","schema":{"fields":[{"name":"a","type":"INT"}]}}'
TOKEN=garbage bad 401 unauthenticated - GET /v1/streams
# a valid primary key is kept (last: the checks above compare the database with its first state)
call POST /v1/streams '{"name":"keyed","schema":{"fields":[{"name":"a","type":"INT"},{"name":"b","type":"STRING"}],"primary_key":["b","a"]}}'
expect 201
assert_eq "$(jq -c .schema.primary_key <<<"$RESP")" '["b","a"]' "a stream's primary key is kept"
echo ok
