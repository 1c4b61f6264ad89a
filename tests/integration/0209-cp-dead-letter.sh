#!/usr/bin/env bash
# error_policy dead_letter through the api, the controlplane and the real worker: the
# dead-letter stream is named only in the pipeline's settings (not in its SQL), yet the worker
# gets it; a division by zero lands there with its error, partition and offset, while the good
# records reach the output. Bounded input (datagen with events), so every record is accounted.
. "$(dirname "$0")/api_lib.sh"
live_start dl dl-corp
N=400
call POST /v1/streams "{\"name\":\"bids\",\"schema\":{\"fields\":$BID_FIELDS}}"; expect 201
OUT=$(create_id /v1/streams '{"name":"ratio","schema":{"fields":[{"name":"bidder","type":"BIGINT"},{"name":"r","type":"BIGINT"}]}}')
DLQ=$(create_id /v1/streams '{"name":"rejects","schema":{"fields":[{"name":"partition","type":"BIGINT"},{"name":"offset","type":"BIGINT"},{"name":"record","type":"STRING"},{"name":"error","type":"STRING"}]}}')
C=$(create_id /v1/connections "{\"name\":\"gen\",\"connector\":\"datagen\",\"type\":\"source\",\"stream\":\"bids\",\"properties\":{\"kind\":\"bid\",\"rate\":\"4000\",\"events\":\"$N\"}}")
# bidder % 2 = 0 divides by zero: about half the records
P=$(create_id /v1/pipelines '{"name":"ratios","sql":"INSERT INTO ratio SELECT bidder, 100 / (bidder % 2) AS r FROM bids","error_policy":"dead_letter","dead_letter_stream":"rejects"}')
call POST "/v1/connections/$C/activate"; expect 200
call POST "/v1/pipelines/$P/activate"; expect 200

count() { call GET "/v1/streams/$1/records?limit=1000"; jq '.items | length' <<<"$RESP"; }
total() { [ $(( $(count "$OUT") + $(count "$DLQ") )) -eq $N ]; }
wait_for 30 total || {
  call GET "/v1/pipelines/$P"; fail "not all $N records accounted for: out $(count "$OUT"), dead letters $(count "$DLQ"); pipeline: $RESP"
}
call GET "/v1/pipelines/$P"
assert_eq "$(jq -r .last_error <<<"$RESP")" null "no error: dead letters are not failures"
dl=$(count "$DLQ")
[ "$dl" -gt 0 ] && [ "$(count "$OUT")" -gt 0 ] || fail "expected both outputs and dead letters (dead letters: $dl)"
call GET "/v1/streams/$DLQ/records?limit=1000"
assert_eq "$(jq -r '[.items[].value.error] | unique | join(",")' <<<"$RESP")" "division by zero" "dead letters carry the error"
assert_eq "$(jq '[.items[].value | (.offset | type) == "number" and (.record | test("bidder"))] | all' <<<"$RESP")" true \
  "dead letters carry offset and record"
assert_eq "$(jq '[.items[].value.record | fromjson | .bidder % 2 == 0] | all' <<<"$RESP")" true \
  "only even bidders are dead letters"
call GET "/v1/streams/$OUT/records?limit=1000"
assert_eq "$(jq '[.items[].value.r == 100] | all' <<<"$RESP")" true "good records evaluated"
echo "ok: $dl dead letters of $N"
