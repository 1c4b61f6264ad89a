#!/usr/bin/env bash
# EXPLAIN through the api (POST /v1/pipelines/explain) and the CLI (sluice explain FILE|-):
# the plan of a pipeline's SQL over the caller's streams and functions, each operator with its
# changelog mode, state and key; bad SQL is a 422 with line and column; another tenant's stream
# is not found; an EXPLAIN is refused as a pipeline's SQL; and `sluiced run` prints the plan of
# an EXPLAIN statement in a pipeline file and exits 0 without running anything.
source "$(dirname "$0")/api_lib.sh" # api_start, create_id, signup
source "$(dirname "$0")/cli_lib.sh" # cli_env, run, expect_exit

cli_env
api_start --threads 2
signup acme
TOKEN=$KEY
ACME_KEY=$KEY
create_id /v1/streams '{"name":"bids","schema":{"fields":[{"name":"auction","type":"BIGINT"},
  {"name":"price","type":"BIGINT"},{"name":"category","type":"BIGINT"}]}}' >/dev/null
create_id /v1/streams '{"name":"auctions","schema":{"fields":[{"name":"id","type":"BIGINT"},
  {"name":"seller","type":"BIGINT"}]}}' >/dev/null
create_id /v1/streams '{"name":"totals","schema":{"fields":[{"name":"category","type":"BIGINT"},
  {"name":"n","type":"BIGINT"}],"primary_key":["category"]}}' >/dev/null
create_id /v1/streams '{"name":"flat","schema":{"fields":[{"name":"category","type":"BIGINT"},
  {"name":"n","type":"BIGINT"}]}}' >/dev/null
create_id /v1/functions '{"name":"twice","returns":"BIGINT","source":"return function(x) return x * 2 end"}' >/dev/null

call GET /v1/openapi.json
expect 200
assert_eq "$(jq -r '.paths["/v1/pipelines/explain"].post.requestBody.content["application/json"].schema.required[0]' <<<"$RESP")" \
  sql "openapi.json documents POST /v1/pipelines/explain"

# ---- a group aggregate into an upsert stream -----------------------------------------------------
call POST /v1/pipelines/explain '{"sql":"INSERT INTO totals SELECT category, COUNT(*) AS n FROM bids WHERE twice(price) > 10 GROUP BY category"}'
expect 200
assert_eq "$(jq -c '[.operators[] | [.name, .parent, .changelog, .stateful, .key]]' <<<"$RESP")" \
  '[["Sink(table=[totals])",null,"updating",false,null],["GroupAggregate(groupBy=[category])",0,"updating",true,"category"],["TableSourceScan(table=[bids])",1,"append-only",false,null]]' \
  "operators of a group aggregate"
assert_eq "$(jq -c '.operators[1].row_kinds' <<<"$RESP")" '["+I","-U","+U","-D"]' "an updating operator's row kinds"
assert_eq "$(jq -c '.operators[2].row_kinds' <<<"$RESP")" '["+I"]' "an append-only operator's row kinds"
assert_contains "$(jq -r .plan <<<"$RESP")" "+- GroupAggregate(groupBy=[category]), changelog=[updating: +I,-U,+U,-D], state=[keyed by category]" "plan text"

# ---- a join, as a bare SELECT (no sink), with EXPLAIN written out or not -------------------------
for sql in 'SELECT b.price, a.seller FROM bids b LEFT JOIN auctions a ON b.auction = a.id' \
           'EXPLAIN SELECT b.price, a.seller FROM bids b LEFT JOIN auctions a ON b.auction = a.id'; do
  call POST /v1/pipelines/explain "$(jq -cn --arg s "$sql" '{sql: $s}')"
  expect 200
  assert_eq "$(jq -c '[.operators[] | [.name, .depth, .changelog, .key]]' <<<"$RESP")" \
    '[["Calc(select=[price, seller])",0,"updating",null],["Join(joinType=[LeftOuterJoin], where=[b.auction = a.id])",1,"updating","b.auction = a.id"],["Calc(select=[auction, price, category])",2,"append-only",null],["TableSourceScan(table=[bids])",3,"append-only",null],["Calc(select=[id, seller])",2,"append-only",null],["TableSourceScan(table=[auctions])",3,"append-only",null]]' \
    "operators of a LEFT JOIN ($sql)"
done

# ---- errors: with line and column ----------------------------------------------------------------
call POST /v1/pipelines/explain '{"sql":"INSERT INTO totals\nSELECT category, COUNT(*) AS n\nFROM bids GROUP BY categori"}'
expect 422 invalid_sql
assert_eq "$(jq -c '[.error.details.line, .error.details.column]' <<<"$RESP")" '[3,20]' "position of a bad column"
assert_contains "$(jq -r .error.message <<<"$RESP")" 'column "categori" not found' "message of a bad column"
call POST /v1/pipelines/explain '{"sql":"SELECT price\nFROM nowhere"}'
expect 422 invalid_sql
assert_eq "$(jq -c '[.error.details.line, .error.details.column]' <<<"$RESP")" '[2,6]' "position of an unknown stream in a bare SELECT"
call POST /v1/pipelines/explain '{"sql":"INSERT INTO flat SELECT category, COUNT(*) AS n FROM bids GROUP BY category"}'
expect 422 invalid_sql
assert_contains "$(jq -r .error.message <<<"$RESP")" 'append-only stream "flat" doesn'"'"'t support consuming update changes produced by node GroupAggregate(groupBy=[category])' \
  "an append-only sink refuses an updating result, as at create"
call POST /v1/pipelines/explain '{"sql":"   "}'
expect 422 invalid_sql
call POST /v1/pipelines/explain '{}'
expect 400
call POST /v1/pipelines/explain '{"sql":"SELECT 1 FROM bids","extra":1}'
expect 400

# ---- an EXPLAIN is not a pipeline ----------------------------------------------------------------
call POST /v1/pipelines '{"name":"p","sql":"EXPLAIN INSERT INTO flat SELECT category, price FROM bids"}'
expect 422 invalid_sql
assert_contains "$(jq -r .error.message <<<"$RESP")" "POST it to /v1/pipelines/explain" "create refuses EXPLAIN"
assert_eq "$(jq -c '[.error.details.line, .error.details.column]' <<<"$RESP")" '[1,1]' "position of EXPLAIN"

call POST /v1/preview '{"sql":"EXPLAIN SELECT price FROM bids","timeout_ms":200}'
expect 422 invalid_sql
assert_contains "$(jq -r .error.message <<<"$RESP")" "POST it to /v1/pipelines/explain" "a preview refuses EXPLAIN"

# ---- another tenant sees none of acme's streams or functions -------------------------------------
signup globex
TOKEN=$KEY
call POST /v1/pipelines/explain '{"sql":"SELECT price FROM bids"}'
expect 422 invalid_sql
assert_contains "$(jq -r .error.message <<<"$RESP")" 'stream "bids" not found' "another tenant's stream"
create_id /v1/streams '{"name":"bids","schema":{"fields":[{"name":"x","type":"BIGINT"}]}}' >/dev/null
call POST /v1/pipelines/explain '{"sql":"SELECT twice(x) AS y FROM bids"}'
expect 422 invalid_sql
assert_contains "$(jq -r .error.message <<<"$RESP")" 'twice' "another tenant's function"
call POST /v1/pipelines/explain '{"sql":"SELECT x FROM bids"}'
expect 200
assert_eq "$(jq -r '.operators[-1].name' <<<"$RESP")" "TableSourceScan(table=[bids])" "globex's own stream"
TOKEN=
call POST /v1/pipelines/explain '{"sql":"SELECT x FROM bids"}'
expect 401

# ---- the CLI ---------------------------------------------------------------------------------------
export SLUICE_API_URL=$API SLUICE_API_KEY=$ACME_KEY SLUICE_CA_FILE=$CACERT
printf 'INSERT INTO totals\nSELECT category, COUNT(*) AS n FROM bids GROUP BY category;\n' >"$TEST_TMP/q.sql"
run "$S" explain "$TEST_TMP/q.sql"
expect_exit 0 "sluice explain FILE"
assert_eq "$(sed -n 2p <<<"$out")" "+- GroupAggregate(groupBy=[category]), changelog=[updating: +I,-U,+U,-D], state=[keyed by category]" "the plan as text"
run "$S" explain - -o json <"$TEST_TMP/q.sql"
expect_exit 0 "sluice explain - -o json"
assert_eq "$(jq -r '.operators[0].name' <<<"$out")" "Sink(table=[totals])" "the answer as JSON"
printf 'SELECT nope FROM bids' >"$TEST_TMP/bad-q.sql"
run "$S" explain - <"$TEST_TMP/bad-q.sql"
[ "$rc" != 0 ] || fail "sluice explain of bad SQL exits non-zero"
assert_contains "$err" "line 1, column 8" "the CLI shows the position"
run "$S" explain "$TEST_TMP/missing.sql"
[ "$rc" != 0 ] || fail "sluice explain of a missing file exits non-zero"

# ---- sluiced run: EXPLAIN in a pipeline file -------------------------------------------------------
cat >"$TEST_TMP/p.sql" <<'SQL'
CREATE TABLE bid (auction BIGINT, price BIGINT) WITH ('connector' = 'datagen', 'rows' = '5');
CREATE TABLE out (auction BIGINT, n BIGINT, PRIMARY KEY (auction) NOT ENFORCED);
EXPLAIN INSERT INTO out SELECT auction, COUNT(*) AS n FROM bid GROUP BY auction;
SQL
run "$SLUICED" run --data-dir "$TEST_TMP/run" "$TEST_TMP/p.sql"
expect_exit 0 "sluiced run of an EXPLAIN"
assert_eq "$out" "== Plan of the statement at line 3 ==
Sink(table=[out]), changelog=[updating: +I,-U,+U,-D], state=[none]
+- GroupAggregate(groupBy=[auction]), changelog=[updating: +I,-U,+U,-D], state=[keyed by auction]
   +- TableSourceScan(table=[bid]), changelog=[append-only: +I], state=[none]" "sluiced run prints the plan"
[ ! -d "$TEST_TMP/run/streams/out" ] || fail "sluiced run of an EXPLAIN wrote to the sink"
printf 'CREATE TABLE bid (auction BIGINT);\nEXPLAIN SELECT\n  nope FROM bid;\n' >"$TEST_TMP/bad.sql"
run "$SLUICED" run --data-dir "$TEST_TMP/run" "$TEST_TMP/bad.sql"
expect_exit 1 "sluiced run of a bad EXPLAIN"
assert_contains "$err" "line 3, column 3: column \"nope\" not found" "the error points into the file"
echo "ok 0215-api-explain"
