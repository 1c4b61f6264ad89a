#!/usr/bin/env bash
# User-defined functions as tenant resources (/v1/functions) through the api, the controlplane
# and the real worker:
# - create, get, list, update and delete a Lua function; a bad source, return type or name is
#   refused with the field;
# - a pipeline calling the function (a scalar, and an aggregate in a window) runs bounded over a
#   datagen connection and writes what the function computes, checked against the same
#   computation done here with jq over the input records;
# - another tenant does not see the function (404, not listed) and cannot use it: its pipeline
#   create is a 422 naming the unknown function; the owner cannot delete a function in use;
# - the api plans from the facts (kind, merge) its sandboxed check stored, never loading tenant
#   Lua: a stored source made hostile behind its back changes nothing there; a legacy function
#   (kind NULL) is checked in a worker child on first use; CREATE FUNCTION in a pipeline's SQL is a
#   422 at its position.
. "$(dirname "$0")/api_lib.sh"
live_start fn fn-corp
cd "$TEST_TMP"
N=2000
bid_schema='{"fields":[{"name":"auction","type":"BIGINT"},{"name":"bidder","type":"BIGINT"},{"name":"price","type":"BIGINT"},{"name":"channel","type":"STRING"},{"name":"url","type":"STRING"},{"name":"dateTime","type":"TIMESTAMP(3)"},{"name":"extra","type":"STRING"}],"watermark":{"field":"dateTime","delay_ms":1000}}'

# ---- the resource ----
count_char='return function(s, c)
  if s == nil then return nil end
  local n = 0
  for i = 1, #s do if s:sub(i, i) == c then n = n + 1 end end
  return n
end'
F=$(create_id /v1/functions "$(jq -cn --arg s "$count_char" '{name: "count_char", returns: "BIGINT", source: $s}')")
call GET "/v1/functions/$F"; expect 200
assert_eq "$(jq -r '[.name, .language, .returns, (.source | length > 0)] | join(" ")' <<<"$RESP")" \
  "count_char lua BIGINT true" "the function as stored"
assert_eq "$(jq -c '[.kind, .merge]' <<<"$RESP")" '["scalar",null]' "what the sandboxed check found, stored"
call GET /v1/functions; expect 200
assert_eq "$(jq -r '[.items[].name] | join(",")' <<<"$RESP")" count_char "the tenant's functions"
call POST /v1/functions '{"name":"broken","source":"return function(x) return x +* 1 end"}'
expect 400 invalid_request
assert_eq "$(jq -r .error.details.field <<<"$RESP")" source "a Lua syntax error names the source"
assert_contains "$RESP" "unexpected symbol" "the Lua error"
call POST /v1/functions '{"name":"notfn","source":"return 42"}'; expect 400 invalid_request
assert_contains "$RESP" "must return a function" "a source that returns no function"
call POST /v1/functions '{"name":"f2","returns":"DECIMAL(5, 2)","source":"return function(x) return x end"}'
expect 400 invalid_request
assert_eq "$(jq -r .error.details.field <<<"$RESP")" returns "a type Lua cannot give"
call POST /v1/functions '{"name":"upper","source":"return function(x) return x end"}'; expect 400 invalid_request
assert_eq "$(jq -r .error.details.field <<<"$RESP")" name "a built-in's name"
call POST /v1/functions '{"name":"my-fn","source":"return function(x) return x end"}'; expect 400 invalid_request
call POST /v1/functions '{"name":"hog","source":"local t = {} while true do t[#t + 1] = {} end"}'
expect 400 invalid_request
assert_contains "$RESP" "budget exceeded" "a source that never finishes loading"
# the source is loaded (its top level runs) when it is stored: in the same sandboxed Lua state as
# a worker's, so a spin, the host's libraries and the module loader are refused there too
call POST /v1/functions '{"name":"spin","source":"while true do end"}'; expect 400 invalid_request
assert_contains "$RESP" "budget exceeded" "a source that spins while loading"
marker="$TEST_TMP/udf-escaped"
for src in "os.execute('touch $marker')" "io.open('$marker', 'w')" "require('os')" "dofile('/etc/passwd')"; do
  call POST /v1/functions "$(jq -nc --arg s "$src return function(x) return x end" '{name: "escape", source: $s}')"
  expect 400 invalid_request
  assert_contains "$RESP" "nil value" "$src at load: the library is not there"
done
[ ! -e "$marker" ] || fail "a function's source reached the host's file system at create"
call POST /v1/functions '{"name":"count_char","source":"return function(x) return x end"}'; expect 409
call PATCH "/v1/functions/$F" '{"description":"occurrences of a character"}'; expect 200
call PATCH "/v1/functions/$F" '{"source":"return 1"}'; expect 400 invalid_request
# each create loads its source in a sandboxed worker child (never in the api): how long 20 take
# (each deleted after it, within the plan's quota; only the creates are timed)
ms=0
for i in $(seq 1 20); do
  t0=$(date +%s%N)
  id=$(create_id /v1/functions "{\"name\":\"timed_$i\",\"source\":\"return function(x) return x end\"}")
  ms=$(( ms + ($(date +%s%N) - t0) / 1000000 ))
  call DELETE "/v1/functions/$id"; expect 204
done
echo "20 function creates (each checked in a worker child): $ms ms"
call GET "/v1/functions/$F"
assert_eq "$(jq -r '.version' <<<"$RESP")" 2 "a refused update changes nothing"
total='return {
  init = function() return 0 end,
  accumulate = function(acc, v) return acc + v end,
  merge = function(a, b) return a + b end,
  result = function(acc) return acc end,
}'
T=$(create_id /v1/functions "$(jq -cn --arg s "$total" '{name: "lua_total", returns: "BIGINT", source: $s}')")
call GET "/v1/functions/$T"; expect 200
assert_eq "$(jq -c '[.kind, .merge]' <<<"$RESP")" '["aggregate",true]' "an aggregate with merge"
# kind and merge are found from the source: a client may send them only as they are
call PATCH "/v1/functions/$T" '{"kind":"scalar"}'; expect 400 invalid_request
assert_eq "$(jq -r .error.details.field <<<"$RESP")" kind "a kind the source does not have"
call PATCH "/v1/functions/$T" '{"kind":"aggregate","merge":false}'; expect 400 invalid_request
assert_eq "$(jq -r .error.details.field <<<"$RESP")" merge "a merge the source does not have"

# ---- pipelines calling them ----
stream() { ID=$(create_id /v1/streams "{\"name\":\"$1\",\"schema\":$2}"); }
stream bids "$bid_schema"; BIDS=$ID
stream counted '{"fields":[{"name":"auction","type":"BIGINT"},{"name":"extra","type":"STRING"},{"name":"n","type":"BIGINT"}]}'; OUT=$ID
stream sums '{"fields":[{"name":"total","type":"BIGINT"},{"name":"cnt","type":"BIGINT"}]}'; SUMS=$ID
pipeline() { ID=$(create_id /v1/pipelines "$(jq -cn --arg n "$1" --arg s "$2" '{name: $n, sql: $s}')"); }
pipeline count "INSERT INTO counted SELECT auction, extra, count_char(extra, 'a') AS n FROM bids"; P=$ID
pipeline sum "INSERT INTO sums SELECT lua_total(price) AS total, COUNT(*) AS cnt FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) GROUP BY window_start, window_end"; PS=$ID
C=$(create_id /v1/connections "{\"name\":\"gen\",\"connector\":\"datagen\",\"type\":\"source\",\"stream\":\"bids\",\"properties\":{\"kind\":\"bid\",\"events\":\"$N\",\"rate\":\"0\"}}")
call POST "/v1/connections/$C/activate"; expect 200
is_state() { call GET "/v1/$1/$2"; [ "$(jq -r .actual_state <<<"$RESP")" = "$3" ]; }
wait_for 60 is_state connections "$C" completed || fail "connection did not complete: $RESP"
for p in "$P" "$PS"; do call POST "/v1/pipelines/$p/activate"; expect 200; done
wait_for 60 is_state pipelines "$P" completed || fail "the pipeline calling count_char did not complete: $RESP"
wait_for 60 is_state pipelines "$PS" completed || fail "the pipeline calling lua_total did not complete: $RESP"
records() { # records STREAM_ID: every record's value, one JSON object a line
  local off=0
  while :; do
    call GET "/v1/streams/$1/records?offset=$off&limit=1000"; expect 200
    jq -c '.items[].value' <<<"$RESP"
    [ "$(jq -r '.items | length' <<<"$RESP")" -gt 0 ] || break
    off=$(jq -r '.items[-1].offset + 1' <<<"$RESP")
  done
}
records "$BIDS" > bids.ndjson
records "$OUT" > counted.ndjson
assert_eq "$(wc -l < bids.ndjson)" "$N" "bids written"
assert_eq "$(wc -l < counted.ndjson)" "$N" "one output row per bid"
# the reference: the same count done by jq over the input
jq -c '{auction, extra, n: (if .extra == null then null else ((.extra | length) - (.extra | gsub("a"; "") | length)) end)}' \
  bids.ndjson | sort > want.ndjson
sort counted.ndjson > got.ndjson
cmp -s want.ndjson got.ndjson || { diff want.ndjson got.ndjson | head -5; fail "count_char's output differs from jq's"; }
[ "$(jq -s '[.[].n] | add' got.ndjson)" -gt 0 ] || fail "no extra field holds an 'a': count_char is not tested"
records "$SUMS" > sums.ndjson
assert_eq "$(jq -s '[.[].total] | add' sums.ndjson)" "$(jq -s '[.[].price] | add' bids.ndjson)" "lua_total over every window"
assert_eq "$(jq -s '[.[].cnt] | add' sums.ndjson)" "$N" "every bid in a window"
# a preview calls the tenant's functions too: the sandboxed preview worker loads their source
call POST /v1/preview "$(jq -cn '{sql: "SELECT auction, extra, count_char(extra, '"'a'"') AS n FROM bids", start: "earliest", limit: 20}')"
expect 200
assert_eq "$(jq -r '.rows | length' <<<"$RESP")" 20 "a preview calling count_char: its rows"
assert_eq "$(jq -c '[.rows[] | select(.n != (if .extra == null then null else ((.extra | length) - (.extra | gsub("a"; "") | length)) end))] | length' <<<"$RESP")" 0 \
  "each preview row's count_char as jq counts it"
# one that never returns ends by the preview's timeout (the instruction budget fails each call;
# the api kills the child at timeout_ms), and the api still answers
call POST /v1/functions '{"name":"forever","returns":"BIGINT","source":"return function(x) while true do end end"}'
expect 201
t0=$(date +%s%N)
call POST /v1/preview '{"sql":"SELECT forever(auction) AS n FROM bids","start":"earliest","timeout_ms":1500}'
expect 200
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "a preview whose function never returns: ${ms} ms, $(jq -c '{rows: (.rows | length), timed_out, skipped, first_error}' <<<"$RESP")"
assert_eq "$(jq -r '.rows | length' <<<"$RESP")" 0 "no row from a function that never returns"
jq -e '.timed_out or (.skipped > 0 and (.first_error | test("budget")))' <<<"$RESP" >/dev/null ||
  fail "the preview neither timed out nor skipped the rows: $RESP"
[ "$ms" -lt 6000 ] || fail "the preview took $ms ms, past its 1500 ms timeout"
call GET "/v1/functions/$F"; expect 200
call DELETE "/v1/functions/$F"; expect 409 conflict
assert_eq "$(jq -r .error.details.used_by <<<"$RESP")" 'pipeline "count"' "a function in use names its pipeline"

# ---- another tenant ----
signup other-corp
TOKEN=$KEY
call GET "/v1/functions/$F"; expect 404 not_found
call DELETE "/v1/functions/$T"; expect 404 not_found
call GET /v1/functions; expect 200
assert_eq "$(jq -r '.items | length' <<<"$RESP")" 0 "the other tenant lists no function"
stream bids "$bid_schema"
stream counted '{"fields":[{"name":"auction","type":"BIGINT"},{"name":"extra","type":"STRING"},{"name":"n","type":"BIGINT"}]}'
call POST /v1/pipelines '{"name":"steal","sql":"INSERT INTO counted SELECT auction, extra, count_char(extra, '"'"'a'"'"') AS n FROM bids"}'
expect 422 invalid_sql
assert_contains "$(jq -r .error.message <<<"$RESP")" 'unknown function "count_char"' "the other tenant's function is unknown"
assert_eq "$(jq -r .error.details.column <<<"$RESP")" 44 "the error points at the call"
call POST /v1/preview '{"sql":"SELECT count_char(extra, '"'"'a'"'"') AS n FROM bids"}'
expect 422 invalid_sql
assert_contains "$(jq -r .error.message <<<"$RESP")" 'unknown function "count_char"' "nor can its preview call it"
# its own function of the same name is its own
call POST /v1/functions '{"name":"count_char","returns":"BIGINT","source":"return function(s, c) return -1 end"}'
expect 201
call POST /v1/pipelines '{"name":"mine","sql":"INSERT INTO counted SELECT auction, extra, count_char(extra, '"'"'a'"'"') AS n FROM bids"}'
expect 201

# ---- tenant Lua never runs in the api ----
# The api plans pipelines from the facts stored at create (kind, merge), never loading the source:
# a stored source changed behind the api's back into one that spins, allocates without bound,
# calls os.exit or raises at load does not touch pipeline create or explain, which plan from the
# facts, and the api keeps answering. (Loading it in the api would leave the function out: "unknown
# function".) Only the sandboxed worker loads it.
H=$(create_id /v1/functions '{"name":"hostile","returns":"BIGINT","source":"return function(x) return x end"}')
uses_hostile="INSERT INTO counted SELECT auction, extra, hostile(auction) AS n FROM bids"
i=0
for src in 'while true do end' 'local t = {} while true do t[#t + 1] = {} end' 'os.exit(1)' \
  'error("tenant Lua ran in the api")'; do
  i=$((i + 1))
  sql "UPDATE functions SET source = \$\$$src\$\$ WHERE id = '$H'" >/dev/null
  call POST /v1/pipelines/explain "$(jq -cn --arg s "$uses_hostile" '{sql: $s}')"
  expect 200
  assert_contains "$(jq -r .plan <<<"$RESP")" "Sink(table=[counted])" "explain with a stored source that would not load ($src)"
  call POST /v1/pipelines "$(jq -cn --arg n "hostile_$i" --arg s "$uses_hostile" '{name: $n, sql: $s}')"
  expect 201
  call GET "/v1/functions/$H"; expect 200
done
# CREATE FUNCTION in a pipeline's SQL is refused at its position: functions are made under
# /v1/functions, where their source is checked in the sandbox
call POST /v1/pipelines "$(jq -cn --arg s "CREATE VIEW v AS SELECT * FROM bids;
CREATE TEMPORARY FUNCTION f AS 'return function(x) return x end' LANGUAGE LUA;
INSERT INTO counted SELECT auction, extra, f(auction) AS n FROM v" '{name: "inline", sql: $s}')"
expect 422 invalid_sql
assert_contains "$(jq -r .error.message <<<"$RESP")" "create the function with POST /v1/functions" "CREATE FUNCTION refused"
assert_eq "$(jq -c '[.error.details.line, .error.details.column]' <<<"$RESP")" '[2,1]' "at its CREATE"
# a function stored before its facts were (kind NULL: migration 0130) is checked in a worker
# child the first time a pipeline names it, and its facts stored; one that does not load there is
# left out (an unknown function), and the api still answers
sql "UPDATE functions SET kind = NULL, merge = NULL WHERE name = 'count_char' AND tenant_id = '$TENANT_ID'" >/dev/null
call POST /v1/pipelines/explain '{"sql":"INSERT INTO counted SELECT auction, extra, count_char(extra, '"'"'a'"'"') AS n FROM bids"}'
expect 200
assert_eq "$(sql "SELECT kind FROM functions WHERE name = 'count_char' AND tenant_id = '$TENANT_ID'")" scalar "a legacy function's kind, checked in a child"
sql "UPDATE functions SET kind = NULL, source = 'while true do end' WHERE id = '$H'" >/dev/null
call POST /v1/pipelines/explain "$(jq -cn --arg s "$uses_hostile" '{sql: $s}')"
expect 422 invalid_sql
assert_contains "$(jq -r .error.message <<<"$RESP")" 'unknown function "hostile"' "a legacy function that does not load"
assert_eq "$(sql "SELECT coalesce(kind, 'unchecked') FROM functions WHERE id = '$H'")" unchecked "its facts are not stored"
call GET /v1/functions; expect 200
echo ok
