#!/usr/bin/env bash
# test: alone (timing-sensitive kill rounds: scripts/test.sh runs it with no other test beside it)
# Multi-input pipelines through the api and the controlplane with the real worker, SIGKILLed
# while they run: three streams (person, auction, bid) fed by bounded datagen connections;
# pipelines running Nexmark q3, q8 and q20 as Flink publishes them and a LEFT JOIN into an
# upsert stream (PRIMARY KEY). Their workers are killed with SIGKILL several times while the
# inputs are written; each pipeline rolls over to a bounded run once all of its inputs have
# completed (not only its first) and completes. Then the final table of each output equals what
# DuckDB (tests/oracle, an independent engine) computes over the records the three streams hold:
# nothing lost, nothing duplicated. Also: the api's create check names an unknown input stream
# of a join (422 with line and column), refuses task_count > 1 on a join that has no key to split it by, and a preview over a
# join reads both inputs.
. "$(dirname "$0")/api_lib.sh"
. "$(dirname "$0")/nexmark_queries.sh"
oracle="$SLUICE_ROOT/tests/oracle"
[ -d "$oracle/node_modules/@duckdb/node-api" ] || { echo "tests/oracle/node_modules missing: run make deps"; exit 77; }
command -v node >/dev/null || { echo "node not installed"; exit 77; }
logtool="$TOOLS/logtool"
live_start joins joins-corp --sync-ms 200 --backoff-initial-ms 100
people=120 # the generator's blocks: one person, three auctions and 46 bids each
secs=16    # how long the connections write (long enough for 2 rounds of kills even at load 14)

wm='"watermark":{"field":"dateTime","delay_ms":4000}'
person_fields='[{"name":"id","type":"BIGINT"},{"name":"name","type":"STRING"},{"name":"emailAddress","type":"STRING"},{"name":"creditCard","type":"STRING"},{"name":"city","type":"STRING"},{"name":"state","type":"STRING"},{"name":"dateTime","type":"TIMESTAMP(3)"},{"name":"extra","type":"STRING"}]'
auction_fields='[{"name":"id","type":"BIGINT"},{"name":"itemName","type":"STRING"},{"name":"description","type":"STRING"},{"name":"initialBid","type":"BIGINT"},{"name":"reserve","type":"BIGINT"},{"name":"dateTime","type":"TIMESTAMP(3)"},{"name":"expires","type":"TIMESTAMP(3)"},{"name":"seller","type":"BIGINT"},{"name":"category","type":"BIGINT"},{"name":"extra","type":"STRING"}]'
bid_fields='[{"name":"auction","type":"BIGINT"},{"name":"bidder","type":"BIGINT"},{"name":"price","type":"BIGINT"},{"name":"channel","type":"STRING"},{"name":"url","type":"STRING"},{"name":"dateTime","type":"TIMESTAMP(3)"},{"name":"extra","type":"STRING"}]'
person_columns='id BIGINT, name VARCHAR, emailAddress VARCHAR, creditCard VARCHAR, city VARCHAR, state VARCHAR, dateTime TIMESTAMP, extra VARCHAR'
auction_columns='id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT, reserve BIGINT, dateTime TIMESTAMP, expires TIMESTAMP, seller BIGINT, category BIGINT, extra VARCHAR'
bid_columns='auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, dateTime TIMESTAMP, extra VARCHAR'

# stream/pipeline/connection create one and set ID (not in a subshell: a failed create ends the test)
stream() { ID=$(create_id /v1/streams "{\"name\":\"$1\",\"schema\":$2}"); }
pipeline() { ID=$(create_id /v1/pipelines "$(jq -cn --arg n "$1" --arg s "$2" '{name: $n, sql: $s}')"); }
connection() { # connection NAME KIND EVENTS
  ID=$(create_id /v1/connections "{\"name\":\"$1\",\"connector\":\"datagen\",\"type\":\"source\",\"stream\":\"$2\",\"properties\":{\"kind\":\"$2\",\"events\":\"$3\",\"rate\":\"$(($3 / secs))\"}}")
}
declare -A SID
for t in person auction bid; do
  v="${t}_fields"
  stream "$t" "{\"fields\":${!v},$wm}"; SID[$t]=$ID
done
stream nexmark_q3 '{"fields":[{"name":"name","type":"STRING"},{"name":"city","type":"STRING"},{"name":"state","type":"STRING"},{"name":"id","type":"BIGINT"}]}'; SID[q3]=$ID
stream nexmark_q8 '{"fields":[{"name":"id","type":"BIGINT"},{"name":"name","type":"STRING"},{"name":"stime","type":"TIMESTAMP(3)"}]}'; SID[q8]=$ID
stream nexmark_q20 '{"fields":[{"name":"auction","type":"BIGINT"},{"name":"bidder","type":"BIGINT"},{"name":"price","type":"BIGINT"},{"name":"channel","type":"STRING"},{"name":"url","type":"STRING"},{"name":"bid_dateTime","type":"TIMESTAMP(3)"},{"name":"bid_extra","type":"STRING"},{"name":"itemName","type":"STRING"},{"name":"description","type":"STRING"},{"name":"initialBid","type":"BIGINT"},{"name":"reserve","type":"BIGINT"},{"name":"auction_dateTime","type":"TIMESTAMP(3)"},{"name":"expires","type":"TIMESTAMP(3)"},{"name":"seller","type":"BIGINT"},{"name":"category","type":"BIGINT"},{"name":"auction_extra","type":"STRING"}]}'; SID[q20]=$ID
stream auction_bids '{"fields":[{"name":"auction_id","type":"BIGINT"},{"name":"category","type":"BIGINT"},{"name":"bidder","type":"BIGINT"},{"name":"price","type":"BIGINT"},{"name":"bid_time","type":"TIMESTAMP(3)"}],"primary_key":["auction_id","bidder","price","bid_time"]}'; SID[left]=$ID

# ---- the queries (Flink's Nexmark text) and DuckDB's over the same records ----------------------
q3_sql=$(nexmark_query 3)
q3_duckdb="SELECT P.name, P.city, P.state, A.id FROM auction A JOIN person P ON A.seller = P.id
WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA')"
q8_sql=$(nexmark_query 8)
q8_duckdb=$(nexmark_q8_duckdb)
q20_sql=$(nexmark_query 20)
q20_duckdb="SELECT auction, bidder, price, channel, url, strftime(B.dateTime, '%Y-%m-%d %H:%M:%S.%g'), B.extra,
  itemName, description, initialBid, reserve, strftime(A.dateTime, '%Y-%m-%d %H:%M:%S.%g'),
  strftime(expires, '%Y-%m-%d %H:%M:%S.%g'), seller, category, A.extra
FROM bid B JOIN auction A ON B.auction = A.id WHERE A.category = 10"
# every auction of category 10 with its bids over 10,000,000, or NULLs until one comes (the
# padded row retracted then)
left_sql="INSERT INTO auction_bids
SELECT A.id, A.category, B.bidder, B.price, B.\`dateTime\`
FROM auction A LEFT JOIN bid B ON A.id = B.auction AND B.price > 10000000
WHERE A.category = 10;"
left_duckdb="SELECT A.id, A.category, B.bidder, B.price, strftime(B.dateTime, '%Y-%m-%d %H:%M:%S.%g')
FROM auction A LEFT JOIN bid B ON A.id = B.auction AND B.price > 10000000 WHERE A.category = 10"

# ---- the api's checks of a multi-input pipeline -------------------------------------------------
call POST /v1/pipelines "$(jq -cn --arg s "INSERT INTO nexmark_q3
SELECT P.name, P.city, P.state, A.id
FROM auction AS A INNER JOIN persons AS P on A.seller = P.id" '{name: "typo", sql: $s}')"
expect 422 invalid_sql
assert_contains "$(jq -r .error.message <<<"$RESP")" 'persons' "the unknown second input is named"
assert_eq "$(jq -c '[.error.details.line, .error.details.column]' <<<"$RESP")" '[3,30]' "its line and column"
call POST /v1/pipelines "$(jq -cn --arg s "${q20_sql/B.auction = A.id/B.auction + 0 = A.id}" '{name: "split", sql: $s, task_count: 2}')"
expect 422 invalid_sql
assert_contains "$(jq -r .error.message <<<"$RESP")" 'has no equality key on columns of its streams' "task_count 2 on a join without a key on columns"

pipeline q3 "$q3_sql"; P3=$ID
pipeline q8 "$q8_sql"; P8=$ID
pipeline q20 "$q20_sql"; P20=$ID
pipeline left "$left_sql"; PL=$ID
call PATCH "/v1/pipelines/$P20" "$(jq -cn --arg s "${q20_sql/B.auction = A.id/B.auction + 0 = A.id}" '{sql: $s, task_count: 3}')"
expect 422 invalid_sql
assert_contains "$(jq -r .error.message <<<"$RESP")" 'set task_count to 1' "task_count 3 on a join without a key on columns, at update"
PIPES=("$P3" "$P8" "$P20" "$PL")

connection gen_person person "$people"; CP=$ID
connection gen_auction auction "$((people * 3))"; CA=$ID
connection gen_bid bid "$((people * 46))"; CB=$ID
is_state() { call GET "/v1/$1/$2"; [ "$(jq -r .actual_state <<<"$RESP")" = "$3" ]; }
for p in "${PIPES[@]}"; do call POST "/v1/pipelines/$p/activate"; expect 200; done
for p in "${PIPES[@]}"; do wait_for 20 is_state pipelines "$p" running || fail "pipeline $p not running: $RESP"; done
# the persons first: a join pipeline whose first input completes keeps running unbounded while
# the others are still written
call POST "/v1/connections/$CP/activate"; expect 200
wait_for 20 is_state connections "$CP" completed || fail "person connection did not complete: $RESP"
call POST "/v1/connections/$CA/activate"; expect 200
call POST "/v1/connections/$CB/activate"; expect 200

# ---- SIGKILL the workers while the inputs are written -------------------------------------------
killed=0
restarts() { sql "SELECT restarts FROM tasks WHERE resource_id = '$1'"; }
restarted_since() { [ "$(restarts "$1")" -gt "$2" ] && [ "$(sql "SELECT state FROM tasks WHERE resource_id = '$1'")" = running ]; }
inputs_open() { [ "$(sql "SELECT count(*) FROM connections WHERE id IN ('$CA', '$CB') AND actual_state = 'completed'")" -lt 2 ]; }
round=0
# at most 4 rounds: the fifth SIGKILL of a worker within 300 s is a crash loop, and the task fails
while inputs_open && [ "$round" -lt 4 ]; do
  round=$((round + 1))
  sleep 0.8
  declare -A before=()
  for p in "${PIPES[@]}"; do # every pipeline's worker at once, each then restarted
    pid=$(sql "SELECT pid FROM tasks WHERE resource_id = '$p' AND state = 'running'")
    [ -n "$pid" ] || continue
    before[$p]=$(restarts "$p")
    kill -9 "$pid" && killed=$((killed + 1))
  done
  for p in "${!before[@]}"; do
    # restarted, or (the inputs having completed meanwhile) restarted bounded and completed
    wait_for 20 restarted_since "$p" "${before[$p]}" || is_state pipelines "$p" completed ||
      fail "pipeline $p not restarted after SIGKILL: $(sql "SELECT state, restarts, last_error FROM tasks WHERE resource_id = '$p'")"
  done
  echo "round $round: $killed workers killed so far"
done
[ "$killed" -ge 8 ] || fail "only $killed workers killed: the test proves little"
for c in "$CA" "$CB"; do wait_for 30 is_state connections "$c" completed || fail "connection $c did not complete: $RESP"; done
for p in "${PIPES[@]}"; do
  wait_for 60 is_state pipelines "$p" completed || fail "pipeline $p did not complete after its inputs did: $RESP"
done
call GET "/v1/pipelines/$P20/events?limit=100"
assert_contains "$(jq -r '[.items[].event] | join(",")' <<<"$RESP")" "rollover" "q20 rolled over to a bounded run"

# ---- the outputs against DuckDB over the records the inputs hold --------------------------------
cd "$TEST_TMP"
streams="$TEST_TMP/data/tenants/$TENANT_ID/streams"
for t in person auction bid; do "$logtool" cat "$streams/${SID[$t]}" >"$t.ndjson"; done
assert_eq "$(wc -l <person.ndjson) $(wc -l <auction.ndjson) $(wc -l <bid.ndjson)" \
  "$people $((people * 3)) $((people * 46))" "records of the inputs"
check() { # check NAME KEYS DUCKDB_SQL INPUTS...
  local n=$1 keys=$2 q=$3 args=(); shift 3
  for t in "$@"; do v="${t}_columns"; args+=("$t" "${!v}" "$t.ndjson"); done
  echo "$q" >"$n.duckdb"
  "$logtool" changelog "$streams/${SID[$n]}" >"$n.changelog"
  node "$oracle/final_table.mjs" "$keys" <"$n.changelog" >"$n.got" || fail "$n: reading the changelog"
  node "$oracle/duckdb_query.mjs" "${args[@]}" "$n.duckdb" >"$n.want" || fail "$n: DuckDB failed"
  [ -s "$n.want" ] || fail "$n: DuckDB gave no row"
  cmp -s "$n.want" "$n.got" || { diff "$n.want" "$n.got" | head -5; fail "$n: the output differs from DuckDB's"; }
  echo "$n: $(wc -l <"$n.got") rows from $(wc -l <"$n.changelog") changes, equal to DuckDB's"
}
check q3 - "$q3_duckdb" person auction
check q8 - "$q8_duckdb" person auction
check q20 - "$q20_duckdb" bid auction
check left auction_id,bidder,price,bid_time "$left_duckdb" auction bid
grep -q '^-' left.changelog || fail "the LEFT JOIN retracted no padded row: the test proves less than it says"

# ---- a preview over a join reads both inputs ----------------------------------------------------
call POST /v1/preview "$(jq -cn '{sql: "SELECT P.name, A.id FROM auction AS A JOIN person AS P ON A.seller = P.id", start: "earliest", limit: 5, timeout_ms: 3000}')"
expect 200
assert_eq "$(jq '.rows | length' <<<"$RESP")" 5 "rows of the preview over a join"
assert_eq "$(jq -r '.rows[0] | keys | join(",")' <<<"$RESP")" "id,name" "its columns"
echo ok
