#!/usr/bin/env bash
# The Kafka connector's options of this session through the API: an exactly-once sink and the
# start positions are checked against the connector's option table at create, so a bad
# guarantee, a bad start mode or a start time that is no whole number is a 422 naming the
# property; good ones are created.
source "$(dirname "$0")/api_lib.sh"
api_start
signup acme; TOKEN=$KEY
call POST /v1/streams '{"name":"bids","schema":{"fields":[{"name":"price","type":"BIGINT"}]}}'; expect 201

# kafka TYPE EXTRA: a kafka connection's body with the extra properties (a JSON object's members)
kafka() {
  echo "{\"name\":\"k$RANDOM\",\"connector\":\"kafka\",\"type\":\"$1\",\"stream\":\"bids\",
    \"properties\":{\"topic\":\"t\",\"properties.bootstrap.servers\":\"h:9092\",$2}}"
}
rejected() { # FIELD MESSAGE BODY
  call POST /v1/connections "$3"
  expect 422 invalid_connection
  assert_eq "$(jq -r .error.details.field <<<"$RESP")" "$1" "field of $3"
  assert_eq "$(jq -r .error.message <<<"$RESP")" "$2" "message of $3"
}

rejected properties.sink.delivery-guarantee \
  'kafka option "sink.delivery-guarantee" must be at-least-once | exactly-once, not "twice"' \
  "$(kafka sink '"sink.delivery-guarantee":"twice"')"
rejected properties.scan.startup.mode \
  'kafka option "scan.startup.mode" must be earliest-offset | latest-offset | specific-offsets | timestamp, not "group-offsets"' \
  "$(kafka source '"scan.startup.mode":"group-offsets"')"
rejected properties.scan.startup.timestamp-millis \
  'kafka option "scan.startup.timestamp-millis" must be a whole number from 0 to 9223372036854775807, not "yesterday"' \
  "$(kafka source '"scan.startup.mode":"timestamp","scan.startup.timestamp-millis":"yesterday"')"
rejected properties.sink.transactional-id \
  'unknown kafka option "sink.transactional-id" (options: topic, format, key.fields, key.format, value.fields-include, scan.startup.mode, scan.startup.specific-offsets, scan.startup.timestamp-millis, sink.delivery-guarantee, sink.transactional-id-prefix, properties.bootstrap.servers, properties.*, metadata.*)' \
  "$(kafka sink '"sink.transactional-id":"x"')"

call POST /v1/connections "$(kafka sink '"sink.delivery-guarantee":"exactly-once","sink.transactional-id-prefix":"orders"')"
expect 201
call POST /v1/connections "$(kafka source '"scan.startup.mode":"specific-offsets","scan.startup.specific-offsets":"partition:0,offset:42"')"
expect 201
call POST /v1/connections "$(kafka source '"scan.startup.mode":"timestamp","scan.startup.timestamp-millis":"1764892800000"')"
expect 201
echo ok
