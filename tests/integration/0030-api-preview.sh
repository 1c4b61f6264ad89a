#!/usr/bin/env bash
# POST /v1/preview against the real api: streams are created through the API, their embedded
# logs filled with logtool (what a datagen connection or pipeline would write), then previewed:
# projection, filter, a windowed aggregate from the earliest record, INSERT INTO, limit, new
# records with start=latest (no open transaction while waiting), an empty stream, a stream a
# datagen connection fills through the real controlplane, tenant isolation, and each error.
source "$(dirname "$0")/api_lib.sh"

logtool=$TOOLS/logtool
[ -x "$logtool" ] || fail "missing $logtool (make build)"
DATA=$TEST_TMP/data
api_start --threads 2 --data-root "$DATA"
signup acme
TOKEN=$KEY
ACME=$TENANT_ID

BIDS=$(create_id /v1/streams '{"name":"bids","schema":{"fields":[{"name":"auction","type":"BIGINT"},
  {"name":"price","type":"BIGINT"},{"name":"channel","type":"STRING"},
  {"name":"date_time","type":"TIMESTAMP(3)"}],"watermark":{"field":"date_time","delay_ms":0}}}')
call POST /v1/streams '{"name":"quiet","schema":{"fields":[{"name":"x","type":"BIGINT"}]},"partitions":2}'
expect 201

# Six bids two per 2-second window, and one record that is not JSON.
"$logtool" append "$DATA/tenants/$ACME/streams/$BIDS" <<'EOF'
{"auction":1,"price":10,"channel":"web","date_time":"2026-01-01 00:00:00"}
{"auction":2,"price":20,"channel":"app","date_time":"2026-01-01 00:00:01"}
{"auction":3,"price":30,"channel":"web","date_time":"2026-01-01 00:00:02"}
not json
{"auction":4,"price":5,"channel":"app","date_time":"2026-01-01 00:00:03"}
{"auction":5,"price":50,"channel":"web","date_time":"2026-01-01 00:00:04"}
{"auction":6,"price":60,"channel":"app","date_time":"2026-01-01 00:00:05"}
EOF

preview() { call POST /v1/preview "$1"; }

call GET /v1/openapi.json
expect 200
assert_eq "$(jq -r '.paths["/v1/preview"].post.requestBody.content["application/json"].schema.required[0]' <<<"$RESP")" \
  sql "openapi.json documents POST /v1/preview"

# ---- projection, limit --------------------------------------------------------------------------
preview '{"sql":"SELECT auction, price * 2 AS doubled, UPPER(channel) AS ch FROM bids","start":"earliest","limit":3}'
expect 200
assert_eq "$(jq -c .schema <<<"$RESP")" \
  '{"fields":[{"name":"auction","type":"BIGINT"},{"name":"doubled","type":"BIGINT"},{"name":"ch","type":"STRING"}]}' "schema"
assert_eq "$(jq -c .rows <<<"$RESP")" \
  '[{"auction":1,"doubled":20,"ch":"WEB"},{"auction":2,"doubled":40,"ch":"APP"},{"auction":3,"doubled":60,"ch":"WEB"}]' "projected rows"
assert_eq "$(jq .truncated <<<"$RESP")" true "the limit stopped it"

# ---- filter over everything, the bad record skipped ---------------------------------------------
preview '{"sql":"SELECT auction, channel FROM bids WHERE price >= 20 AND channel = '"'web'"'","start":"earliest","timeout_ms":300}'
expect 200
assert_eq "$(jq -c .rows <<<"$RESP")" '[{"auction":3,"channel":"web"},{"auction":5,"channel":"web"}]' "filtered rows"
assert_eq "$(jq -c '[.records_read, .skipped, .truncated]' <<<"$RESP")" '[7,1,false]' "counters"
assert_contains "$(jq -r .first_error <<<"$RESP")" "partition 0, offset 3:" "first_error names the record"

# A DOUBLE comes out as the worker wrote it, in its shortest exact form (9.08, 18.16), not in
# jansson's 17 digits (9.0800000000000001).
preview '{"sql":"SELECT CAST(price AS DOUBLE) * 0.908 AS usd FROM bids","start":"earliest","limit":2}'
expect 200
assert_contains "$RESP" '"rows":[{"usd":9.08},{"usd":18.16}]' "DOUBLEs in their shortest form"
# So do a stream's records, as they were written (a record that is not JSON as a string).
PRICES=$(create_id /v1/streams '{"name":"prices","schema":{"fields":[{"name":"usd","type":"DOUBLE"}]}}')
# Hostile: a record that would close the answer's JSON early if it were spliced in as it is
# (a source of raw text can write anything) is a string.
splice='{"usd":1}],"end_offset":99,"items2":[{"a":1}'
printf '{"usd":9.08,"n":[1,2.5]}\nnot json\n%s\n' "$splice" | "$logtool" append "$DATA/tenants/$ACME/streams/$PRICES"
call GET "/v1/streams/$PRICES/records"
expect 200
assert_eq "$(jq -c '[.start_offset, .end_offset, .next_offset]' <<<"$RESP")" '[0,3,3]' "the records' offsets"
assert_contains "$RESP" '"items":[{"partition":0,"offset":0,"op":"+I","value":{"usd":9.08,"n":[1,2.5]}},{"partition":0,"offset":1,"op":"+I","value":"not json"}' \
  "records as written"
assert_eq "$(jq -r '.items[2].value' <<<"$RESP")" "$splice" "a record that is not one JSON value stays a string"
assert_eq "$(jq -c 'keys' <<<"$RESP")" '["end_offset","items","next_offset","start_offset"]' "nothing spliced into the answer"

# A row error's position is in the caller's SQL: a bare SELECT's lines (it is compiled behind a
# line of its own), an INSERT's as they are.
preview '{"sql":"SELECT auction,\n  CAST(channel AS BIGINT) AS n FROM bids","start":"earliest","timeout_ms":300}'
expect 200
assert_contains "$(jq -r .first_error <<<"$RESP")" "partition 0, offset 0: line 2, column 3: cannot cast" "a SELECT's row error at its line"
preview '{"sql":"INSERT INTO casted\nSELECT auction,\n  CAST(channel AS BIGINT) AS n FROM bids","start":"earliest","timeout_ms":300}'
expect 200
assert_contains "$(jq -r .first_error <<<"$RESP")" "partition 0, offset 0: line 3, column 3: cannot cast" "an INSERT's row error at its line"

# ---- a windowed aggregate: closed windows, then the open one at the timeout ---------------------
preview '{"sql":"SELECT window_start, COUNT(*) AS bids, SUM(price) AS total\nFROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(date_time), INTERVAL '"'2'"' SECOND))\nGROUP BY window_start, window_end","start":"earliest","timeout_ms":300}'
expect 200
assert_eq "$(jq -c .rows <<<"$RESP")" \
  '[{"window_start":"2026-01-01 00:00:00.000","bids":2,"total":30},{"window_start":"2026-01-01 00:00:02.000","bids":2,"total":35},{"window_start":"2026-01-01 00:00:04.000","bids":2,"total":110}]' \
  "window rows"
assert_eq "$(jq -r '.schema.fields[0].type' <<<"$RESP")" "TIMESTAMP(3)" "window_start type"

assert_eq "$(jq -c .ops <<<"$RESP")" '["+I","+I","+I"]' "an append-only result's rows are inserts"

# ---- an updating result (GROUP BY without a window): each row with its kind --------------------
preview '{"sql":"SELECT channel, COUNT(*) AS n, MAX(price) AS top FROM bids GROUP BY channel","start":"earliest","timeout_ms":300}'
expect 200
assert_eq "$(jq -c '[.ops, .rows] | transpose | map("\(.[0]) \(.[1] | tojson)")' <<<"$RESP")" \
  '["+I {\"channel\":\"web\",\"n\":1,\"top\":10}","+I {\"channel\":\"app\",\"n\":1,\"top\":20}","-U {\"channel\":\"web\",\"n\":1,\"top\":10}","+U {\"channel\":\"web\",\"n\":2,\"top\":30}","-U {\"channel\":\"app\",\"n\":1,\"top\":20}","+U {\"channel\":\"app\",\"n\":2,\"top\":20}","-U {\"channel\":\"web\",\"n\":2,\"top\":30}","+U {\"channel\":\"web\",\"n\":3,\"top\":50}","-U {\"channel\":\"app\",\"n\":2,\"top\":20}","+U {\"channel\":\"app\",\"n\":3,\"top\":60}"]' \
  "the changelog of the aggregate, with row kinds"
# a group that leaves the result (HAVING) is a -D
preview '{"sql":"INSERT INTO nowhere SELECT channel, COUNT(*) AS n FROM bids GROUP BY channel HAVING COUNT(*) < 2","start":"earliest","timeout_ms":300}'
expect 200
assert_eq "$(jq -c '[.ops, (.rows | map(.channel))]' <<<"$RESP")" '[["+I","+I","-U","-U"],["web","app","web","app"]]' \
  "HAVING: the old row taken back when the new one fails it"

# ---- a SELECT after comments ---------------------------------------------------------------------
preview '{"sql":"-- the sixth bid\n/* one row */ SELECT auction FROM bids WHERE auction = 6","start":"earliest","timeout_ms":200}'
expect 200
assert_eq "$(jq -c .rows <<<"$RESP")" '[{"auction":6}]' "SELECT after comments"

# ---- a whole INSERT statement: the sink need not exist -----------------------------------------
preview '{"sql":"INSERT INTO nowhere SELECT auction FROM bids WHERE auction = 6","start":"earliest","timeout_ms":200}'
expect 200
assert_eq "$(jq -c .rows <<<"$RESP")" '[{"auction":6}]' "INSERT preview rows"

# ---- start=latest: only records appended while it waits, no transaction held meanwhile ----------
(call POST /v1/preview '{"sql":"SELECT auction FROM bids","limit":2,"timeout_ms":20000}'
 echo "$STATUS $RESP" >"$TEST_TMP/latest.out") &
LATEST=$!
DBNAME=$(sql 'SELECT current_database()')
n=100
while kill -0 "$LATEST" 2>/dev/null; do
  in_tx=$(psql -X -tA "$PG_ADMIN_URL" -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DBNAME'
    AND state LIKE 'idle in transaction%'")
  [ "$in_tx" = 0 ] || fail "a connection sat in a transaction during the preview ($in_tx)"
  n=$((n + 1))
  echo "{\"auction\":$n,\"price\":1,\"channel\":\"web\",\"date_time\":\"2026-01-01 00:01:00\"}" \
    | "$logtool" append "$DATA/tenants/$ACME/streams/$BIDS"
  sleep 0.1
done
wait "$LATEST"
read -r st body <"$TEST_TMP/latest.out"
assert_eq "$st" 200 "latest preview status ($body)"
assert_eq "$(jq -c '[(.rows | length), .truncated]' <<<"$body")" '[2,true]' "latest preview stops at the limit"
[ "$(jq '.rows[0].auction' <<<"$body")" -gt 100 ] || fail "latest preview returned an old record: $body"

# ---- an empty stream: nothing after the timeout ---------------------------------------------------
preview '{"sql":"SELECT x FROM quiet","timeout_ms":200}'
expect 200
assert_eq "$(jq -c '[.rows, .records_read, .truncated]' <<<"$RESP")" '[[],0,false]' "empty stream preview"

# ---- errors ---------------------------------------------------------------------------------------
preview '{"sql":"SELECT auction,\n  prise FROM bids"}'
expect 422 invalid_sql
assert_eq "$(jq -c '[.error.details.line, .error.details.column]' <<<"$RESP")" '[2,3]' "error position in the caller's text"
assert_contains "$(jq -r .error.message <<<"$RESP")" 'did you mean "price"' "invalid SQL message"
preview '{"sql":"SELECT * FROM nosuch"}'
expect 422 invalid_sql
assert_contains "$(jq -r .error.message <<<"$RESP")" 'nosuch' "unknown stream message"
preview '{"sql":"DELETE FROM bids"}'
expect 422 invalid_sql
for bad in '{"sql":"SELECT x FROM quiet","limit":0}:limit' '{"sql":"SELECT x FROM quiet","limit":1001}:limit' \
           '{"sql":"SELECT x FROM quiet","limit":"5"}:limit' '{"sql":"SELECT x FROM quiet","timeout_ms":99}:timeout_ms' \
           '{"sql":"SELECT x FROM quiet","timeout_ms":30001}:timeout_ms' '{"sql":"SELECT x FROM quiet","start":"middle"}:start' \
           '{"limit":5}:sql' '{"sql":""}:sql' '{"sql":"SELECT x FROM quiet","follow":true}:follow'; do
  preview "${bad%:*}"
  expect 400 invalid_request
  assert_eq "$(jq -r .error.details.field <<<"$RESP")" "${bad##*:}" "details.field for ${bad%:*}"
done
TOKEN="" preview '{"sql":"SELECT x FROM quiet"}'
expect 401

# ---- a stream a datagen connection fills through the controlplane --------------------------------
controlplane_start preview --metrics-port "$(free_port)" # over $DATA
call POST /v1/streams '{"name":"nexbids","schema":{"fields":[{"name":"auction","type":"BIGINT"},
  {"name":"bidder","type":"BIGINT"},{"name":"price","type":"BIGINT"},{"name":"channel","type":"STRING"},
  {"name":"url","type":"STRING"},{"name":"date_time","type":"TIMESTAMP(3)"},{"name":"extra","type":"STRING"}]}}'
expect 201
GEN=$(create_id /v1/connections '{"name":"gen","connector":"datagen","type":"source","stream":"nexbids","properties":{"kind":"bid","rate":"1000"}}')
call POST "/v1/connections/$GEN/activate"
expect 200
preview '{"sql":"SELECT auction, price FROM nexbids WHERE price > 100","limit":5,"timeout_ms":10000}'
expect 200
assert_eq "$(jq -c '[(.rows | length), .truncated, ([.rows[].price > 100] | all)]' <<<"$RESP")" '[5,true,true]' \
  "latest preview of datagen bids (cp log: $(tail -n 5 "$TEST_TMP/cp.log"))"
preview '{"sql":"SELECT auction FROM nexbids","start":"earliest","limit":1000,"timeout_ms":1500}'
expect 200
[ "$(jq .records_read <<<"$RESP")" -ge 5 ] || fail "earliest preview read too little: $RESP"
call POST "/v1/connections/$GEN/deactivate"
expect 200

# ---- another tenant cannot preview acme's streams ------------------------------------------------
signup globex
TOKEN=$KEY preview '{"sql":"SELECT auction FROM bids","start":"earliest","timeout_ms":100}'
expect 422 invalid_sql
echo ok
