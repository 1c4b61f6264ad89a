# broker_lib.sh — sourced after api_lib.sh by the broker connector tests (0240 redis, 0241 mqtt,
# 0242 rabbitmq), which set BROKER to the connector's name: the streams, the checks at create,
# the round trip's waits and the failure checks they share.

# broker_streams PASSWORD: the streams bids (its id in BIDS) and pricey, the secrets
# $BROKER-pw (PASSWORD) and $BROKER-bad (a wrong one)
broker_streams() {
  BIDS=$(create_id /v1/streams '{"name":"bids","schema":{"fields":[{"name":"auction","type":"BIGINT"},{"name":"price","type":"BIGINT"}]}}')
  call POST /v1/streams '{"name":"pricey","schema":{"fields":[{"name":"auction","type":"BIGINT"},{"name":"cents","type":"BIGINT"}]}}'
  expect 201
  call POST /v1/secrets "{\"name\":\"$BROKER-pw\",\"value\":\"$1\"}"; expect 201
  call POST /v1/secrets "{\"name\":\"$BROKER-bad\",\"value\":\"not-the-password\"}"; expect 201
}
# rejected FIELD MESSAGE PROPERTIES: a $BROKER source with PROPERTIES is refused at create (422)
# naming FIELD, with MESSAGE
rejected() {
  call POST /v1/connections "{\"name\":\"c\",\"connector\":\"$BROKER\",\"type\":\"source\",\"stream\":\"bids\",\"properties\":$3}"
  expect 422 invalid_connection
  assert_eq "$(jq -r .error.details.field <<<"$RESP")" "$1" "field"
  assert_eq "$(jq -r .error.message <<<"$RESP")" "$2" "message"
}
# connection JSON: creates and activates a connection, prints its id
connection() { local id; id=$(create_id /v1/connections "$1"); call POST "/v1/connections/$id/activate"; expect 200; echo "$id"; }
# the pipeline of the round trip: pricey, bids over 250 in cents; activated
pricey_pipeline() {
  P=$(create_id /v1/pipelines '{"name":"pricey","sql":"INSERT INTO pricey SELECT auction, price * 100 AS cents FROM bids WHERE price > 250"}')
  call POST "/v1/pipelines/$P/activate"; expect 200
}
has_pid() { [ -n "$(task_pid "$1")" ]; }
# in_stream: the end offset of bids; has N: bids holds at least N records
in_stream() { call GET "/v1/streams/$BIDS/records?limit=1"; jq -r .end_offset <<<"$RESP"; }
has() { [ "$(in_stream)" -ge "$1" ]; }
# stream_has_all: bids holds every line of all.jsonl, some perhaps twice (at-least-once)
stream_has_all() {
  "$logtool" cat "$TEST_TMP/data/tenants/$TENANT_ID/streams/$BIDS" | sort >stream.jsonl
  sort all.jsonl >all.sorted
  sort -u stream.jsonl | cmp -s all.sorted - || fail "the stream lost messages: $(sort -u stream.jsonl | diff all.sorted - | head -5)"
  echo "stream: $N messages, $(($(wc -l <stream.jsonl) - N)) duplicates (at-least-once)"
}
# want_pricey: the pipeline's output over all.jsonl as jq computes it, sorted, in want.jsonl
want_pricey() { jq -c 'select(.price > 250) | {auction, cents: (.price * 100)}' all.jsonl | sort >want.jsonl; }
# sink_has_all WHAT: waits until got.raw (which the test's `enough` adds to) holds every record of
# want.jsonl, then it must hold exactly those (each at least once)
sink_has_all() {
  wait_for 30 enough || fail "the sink's $1 had $(sort -u got.raw | wc -l) of $(wc -l <want.jsonl) records"
  sort -u got.raw >got.jsonl
  cmp -s want.jsonl got.jsonl || fail "sink $1 differs from jq: $(diff want.jsonl got.jsonl | head -5)"
  echo "sink: $(wc -l <got.jsonl) records as jq says ($(wc -l <got.raw) messages)"
}
# failed_with ID TEXT: the connection ends failed within 20 s, its last_error containing TEXT
failed_with() {
  isfailed() { call GET "/v1/connections/$1"; [ "$(jq -r .actual_state <<<"$RESP")" = failed ]; }
  wait_for 20 isfailed "$1" || fail "connection $1 not failed: $RESP"
  assert_contains "$(jq -r .last_error <<<"$RESP")" "$2" "last_error says why"
}
