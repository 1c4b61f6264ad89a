#!/usr/bin/env bash
# Validation at create and update: an unknown connector is a 422 that lists the known ones;
# properties are checked against the connector's option table (the one its worker uses), so
# an unknown, missing or ill-typed option is a 422 naming it; a property given through
# secret_refs counts as present; nothing rejected is written.
source "$(dirname "$0")/api_lib.sh"
api_start
signup acme; TOKEN=$KEY
call POST /v1/streams '{"name":"bids","schema":{"fields":[{"name":"price","type":"BIGINT"}]}}'; expect 201
call POST /v1/secrets '{"name":"hook-url","value":"http://127.0.0.1:9/x"}'; expect 201

count() { sql "SELECT count(*) FROM connections"; }
# rejected STATUS CODE FIELD MESSAGE BODY: creating BODY fails with that error naming FIELD, and
# no connection is written.
rejected() {
  local status=$1 code=$2 field=$3 message=$4 body=$5 before
  before=$(count)
  call POST /v1/connections "$body"
  expect "$status" "$code"
  assert_eq "$(jq -r .error.details.field <<<"$RESP")" "$field" "field of $body"
  assert_eq "$(jq -r .error.message <<<"$RESP")" "$message" "message of $body"
  assert_eq "$(count)" "$before" "nothing written for $body"
}

# unknown connector: 422 listing every connector, in the one error shape
rejected 422 invalid_connection connector 'unknown connector "ftp"; known: datagen, filesystem, http, kafka, mqtt, postgres, postgres-cdc, rabbitmq, redis, webhook' \
  '{"name":"c","connector":"ftp","type":"source","stream":"bids"}'

# unknown option (checked against the webhook sink's own table)
rejected 422 invalid_connection properties.colour \
  'unknown webhook option "colour" (options: url, method, format, batch.size, headers.*, token, timeout_ms, retry.max, retry.backoff_ms, retry.max_backoff_ms, linger_ms)' \
  '{"name":"c","connector":"webhook","type":"sink","stream":"bids","properties":{"url":"http://h/","colour":"red"}}'
# an unknown key given as a secret is named under secret_refs
rejected 422 invalid_connection secret_refs.colour \
  'unknown webhook option "colour" (options: url, method, format, batch.size, headers.*, token, timeout_ms, retry.max, retry.backoff_ms, retry.max_backoff_ms, linger_ms)' \
  '{"name":"c","connector":"webhook","type":"sink","stream":"bids","properties":{"url":"http://h/"},"secret_refs":{"colour":"hook-url"}}'
# unknown datagen option (datagen got a table of its own)
rejected 422 invalid_connection properties.rows \
  'unknown datagen option "rows" (options: kind, events, seed, rate)' \
  '{"name":"c","connector":"datagen","type":"source","stream":"bids","properties":{"rows":"10"}}'

# missing required options
rejected 422 invalid_connection properties.url 'a webhook connection needs the property "url"' \
  '{"name":"c","connector":"webhook","type":"sink","stream":"bids","properties":{"method":"PUT"}}'
rejected 422 invalid_connection properties.topic 'a kafka connection needs the property "topic"' \
  '{"name":"c","connector":"kafka","type":"source","stream":"bids","properties":{"properties.bootstrap.servers":"h:9092"}}'
rejected 422 invalid_connection properties.properties.bootstrap.servers \
  'a kafka connection needs the property "properties.bootstrap.servers"' \
  '{"name":"c","connector":"kafka","type":"source","stream":"bids","properties":{"topic":"t"}}'

# ill-typed options: a non-integer, an integer out of bounds, a value outside an enum
rejected 422 invalid_connection properties.batch.size \
  'webhook option "batch.size" must be a whole number from 1 to 10000, not "lots"' \
  '{"name":"c","connector":"webhook","type":"sink","stream":"bids","properties":{"url":"http://h/","batch.size":"lots"}}'
rejected 422 invalid_connection properties.retry.max \
  'webhook option "retry.max" must be a whole number from 0 to 100, not "1000"' \
  '{"name":"c","connector":"webhook","type":"sink","stream":"bids","properties":{"url":"http://h/","retry.max":"1000"}}'
rejected 422 invalid_connection properties.method 'webhook option "method" must be POST | PUT, not "GET"' \
  '{"name":"c","connector":"webhook","type":"sink","stream":"bids","properties":{"url":"http://h/","method":"GET"}}'
rejected 422 invalid_connection properties.kind 'datagen option "kind" must be bid | auction | person, not "ask"' \
  '{"name":"c","connector":"datagen","type":"source","stream":"bids","properties":{"kind":"ask"}}'
rejected 422 invalid_connection properties.events \
  'datagen option "events" must be a whole number from 0 to 9223372036854775807, not "-5"' \
  '{"name":"c","connector":"datagen","type":"source","stream":"bids","properties":{"events":"-5"}}'
rejected 422 invalid_connection properties.mode 'postgres option "mode" must be insert | upsert, not "merge"' \
  '{"name":"c","connector":"postgres","type":"sink","stream":"bids","properties":{"url":"postgresql://h/db","table":"t","mode":"merge"}}'
rejected 422 invalid_connection properties.rate 'datagen option "rate" must be a non-negative number, not "fast"' \
  '{"name":"c","connector":"datagen","type":"source","stream":"bids","properties":{"rate":"fast"}}'
# a librdkafka setting without its prefix: the option it would be is named
rejected 422 invalid_connection properties.bootstrap.servers \
  'unknown kafka option "bootstrap.servers" (options: topic, format, key.fields, key.format, value.fields-include, scan.startup.mode, scan.startup.specific-offsets, scan.startup.timestamp-millis, sink.delivery-guarantee, sink.transactional-id-prefix, properties.bootstrap.servers, properties.*, metadata.*); did you mean "properties.bootstrap.servers"?' \
  '{"name":"c","connector":"kafka","type":"source","stream":"bids","properties":{"topic":"t","bootstrap.servers":"h:9092"}}'

# valid connections are still created, a required option may come from a secret (its value is
# not checked), and librdkafka settings pass under properties.
HOOK_ID=$(create_id /v1/connections '{"name":"ok-hook","connector":"webhook","type":"sink","stream":"bids","properties":{"url":"http://h/","method":"PUT","batch.size":"50","headers.X-Team":"a"}}')
call POST /v1/connections '{"name":"ok-secret","connector":"webhook","type":"sink","stream":"bids","secret_refs":{"url":"hook-url"}}'
expect 201
call POST /v1/connections '{"name":"ok-gen","connector":"datagen","type":"source","stream":"bids","properties":{"kind":"bid","events":"10","rate":"100"}}'
expect 201
call POST /v1/connections '{"name":"ok-kafka","connector":"kafka","type":"source","stream":"bids","properties":{"topic":"t","properties.bootstrap.servers":"h:9092","properties.client.id":"x"}}'
expect 201
call POST /v1/connections '{"name":"ok-http","connector":"http","type":"source","stream":"bids","properties":{"partition.key":"price"}}'
expect 201
assert_eq "$(count)" 5 "the valid connections were written"

# update: the body over the stored connection is checked the same way
call PATCH "/v1/connections/$HOOK_ID" '{"properties":{"url":"http://h/","method":"GET"}}'
expect 422 invalid_connection
assert_eq "$(jq -r .error.details.field <<<"$RESP")" properties.method "update names the option"
call PATCH "/v1/connections/$HOOK_ID" '{"connector":"ftp"}'
expect 422 invalid_connection
assert_eq "$(jq -r .error.details.field <<<"$RESP")" connector "update names the connector"
call PATCH "/v1/connections/$HOOK_ID" '{"properties":{"method":"PUT"}}'
expect 422 invalid_connection
assert_eq "$(jq -r .error.details.field <<<"$RESP")" properties.url "update drops a required option"
call GET "/v1/connections/$HOOK_ID"
assert_eq "$(jq -c .properties <<<"$RESP")" '{"url":"http://h/","method":"PUT","batch.size":"50","headers.X-Team":"a"}' \
  "a rejected update changes nothing"
call PATCH "/v1/connections/$HOOK_ID" '{"properties":{"url":"http://h2/","retry.max":"3"}}'
expect 200

# A stream schema change that breaks a user is a 409 naming it and the field; the schema stays.
SRC_ID=$(create_id /v1/streams '{"name":"src","schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"price","type":"BIGINT"},{"name":"note","type":"STRING"}]}}')
DST_ID=$(create_id /v1/streams '{"name":"dst","schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"price","type":"BIGINT"}]}}')
call POST /v1/pipelines '{"name":"copy","sql":"INSERT INTO dst SELECT id, price * 2 AS price FROM src WHERE price > 10"}'
expect 201
SRC_SCHEMA=$(sql "SELECT schema::text FROM streams WHERE name = 'src'")
# conflict STREAM_ID SCHEMA USER_KIND USER FIELD: the schema change is a 409 naming USER and FIELD
conflict() {
  call PATCH "/v1/streams/$1" "{\"schema\":$2}"
  expect 409 conflict
  assert_eq "$(jq -r ".error.details.$3" <<<"$RESP")" "$4" "the $3 the change breaks"
  assert_eq "$(jq -r .error.details.stream_field <<<"$RESP")" "$5" "the field the change breaks"
  assert_contains "$(jq -r .error.message <<<"$RESP")" "$3 \"$4\" uses field \"$5\"" "the message names both"
}
# dropping a field the pipeline reads
conflict "$SRC_ID" '{"fields":[{"name":"id","type":"BIGINT"},{"name":"note","type":"STRING"}]}' pipeline copy price
# retyping it
conflict "$SRC_ID" '{"fields":[{"name":"id","type":"BIGINT"},{"name":"price","type":"BOOLEAN"},{"name":"note","type":"STRING"}]}' pipeline copy price
# dropping a field the pipeline writes (its output no longer fits)
conflict "$DST_ID" '{"fields":[{"name":"id","type":"BIGINT"}]}' pipeline copy price
assert_eq "$(sql "SELECT schema::text FROM streams WHERE name = 'src'")" "$SRC_SCHEMA" "a refused change leaves the schema"
# an HTTP ingest connection's partition.key is a use too
KEYED_ID=$(create_id /v1/connections '{"name":"keyed-in","connector":"http","type":"source","stream":"src","properties":{"partition.key":"note"}}')
conflict "$SRC_ID" '{"fields":[{"name":"id","type":"BIGINT"},{"name":"price","type":"BIGINT"}]}' connection keyed-in note
# a change no user minds is fine: a new field, and dropping one nothing uses
call DELETE "/v1/connections/$KEYED_ID"; expect 204
call PATCH "/v1/streams/$SRC_ID" '{"schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"price","type":"BIGINT"},{"name":"extra","type":"DOUBLE"}]}}'
expect 200
assert_eq "$(sql "SELECT schema->'fields'->2->>'name' FROM streams WHERE name = 'src'")" extra "the harmless change was made"

# A new pipeline's SQL is checked against the streams as they are, also when they changed behind
# this api process's back (another api process; here SQL) while it keeps a copy of them: the
# create that relied on the stale copy inserts nothing and the check runs again on them as they
# are, in both directions.
call POST /v1/pipelines '{"name":"warm","sql":"INSERT INTO dst SELECT id, price FROM src"}'; expect 201
sql "UPDATE streams SET schema = '{\"fields\":[{\"name\":\"id\",\"type\":\"BIGINT\"},{\"name\":\"cost\",\"type\":\"BIGINT\"}]}' WHERE name = 'src'" >/dev/null
BEFORE=$(sql "SELECT count(*) FROM pipelines")
call POST /v1/pipelines '{"name":"stale","sql":"INSERT INTO dst SELECT id, price FROM src"}'
expect 422 invalid_sql
assert_contains "$(jq -r .error.message <<<"$RESP")" 'column "price" not found in stream "src"' "checked against the changed stream"
assert_eq "$(sql "SELECT count(*) FROM pipelines")" "$BEFORE" "the refused pipeline is not written"
call POST /v1/pipelines '{"name":"renamed","sql":"INSERT INTO dst SELECT id, cost AS price FROM src"}'; expect 201
sql "UPDATE streams SET schema = '{\"fields\":[{\"name\":\"id\",\"type\":\"BIGINT\"},{\"name\":\"fresh\",\"type\":\"BIGINT\"}]}' WHERE name = 'src'" >/dev/null
call POST /v1/pipelines '{"name":"fresh","sql":"INSERT INTO dst SELECT id, fresh AS price FROM src"}'; expect 201
assert_eq "$(sql "SELECT string_agg(name, ',' ORDER BY name) FROM pipelines WHERE name IN ('warm', 'stale', 'renamed', 'fresh')")" \
  fresh,renamed,warm "the pipelines written"

# The option tables themselves, as forms and tools see them: the very rows checked above.
call GET /v1/connectors; expect 200
assert_eq "$(jq -c '[.items[].name] | sort' <<<"$RESP")" '["datagen","filesystem","http","kafka","mqtt","postgres","postgres-cdc","rabbitmq","redis","webhook"]' "connectors"
assert_eq "$(jq -c '.items[] | select(.name == "datagen") | [.types, (.options[] | select(.name == "kind") | .values)]' <<<"$RESP")" \
  '[["source"],["bid","auction","person"]]' "datagen is a source whose kind is an enum"
assert_eq "$(jq -c '.items[] | select(.name == "webhook") | .options[] | select(.name == "batch.size") | [.type, .minimum, .maximum, .default]' <<<"$RESP")" \
  '["integer",1,10000,"100"]' "webhook batch.size with its bounds and default"
assert_eq "$(jq -c '.items[] | select(.name == "kafka") | [.types, ([.options[] | select(.required) | .name] | sort)]' <<<"$RESP")" \
  '[["source","sink"],["properties.bootstrap.servers","topic"]]' "kafka's required options"
assert_eq "$(jq '[.items[].options[] | select(.name == "connector")] | length' <<<"$RESP")" 0 "hidden rows are not listed"
echo ok
