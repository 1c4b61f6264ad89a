#!/usr/bin/env bash
# test: alone (its kills or checks must land while its input is still being written: scripts/test.sh runs it with no other test beside it)
# task_count > 1 on a pipeline that reads several streams: the tasks split its rows by join key
# (each reads every partition of both inputs and processes the rows whose key hashes to it).
# A q3-like join of person and auction, fed by bounded datagen connections, runs through the
# api and the controlplane with the real worker as one task and as two; both tasks of the second
# are SIGKILLed at once while the inputs are written. The two tasks' outputs (one sink partition
# each, both non-empty) together equal the one task's: nothing lost, nothing duplicated. A join
# with no key on columns of its streams keeps the 422, saying why. A windowed aggregate over one
# stream splits the same way by its key column (seller), and its two tasks, SIGKILLed with the
# join's, write what one task writes; one keyed by an expression keeps the 422.
. "$(dirname "$0")/api_lib.sh"
logtool="$TOOLS/logtool"
live_start split split-corp --sync-ms 200 --backoff-initial-ms 100
people=100 # one person and three auctions per block
secs=6

wm='"watermark":{"field":"dateTime","delay_ms":4000}'
person_fields='[{"name":"id","type":"BIGINT"},{"name":"name","type":"STRING"},{"name":"emailAddress","type":"STRING"},{"name":"creditCard","type":"STRING"},{"name":"city","type":"STRING"},{"name":"state","type":"STRING"},{"name":"dateTime","type":"TIMESTAMP(3)"},{"name":"extra","type":"STRING"}]'
auction_fields='[{"name":"id","type":"BIGINT"},{"name":"itemName","type":"STRING"},{"name":"description","type":"STRING"},{"name":"initialBid","type":"BIGINT"},{"name":"reserve","type":"BIGINT"},{"name":"dateTime","type":"TIMESTAMP(3)"},{"name":"expires","type":"TIMESTAMP(3)"},{"name":"seller","type":"BIGINT"},{"name":"category","type":"BIGINT"},{"name":"extra","type":"STRING"}]'
out_fields='[{"name":"name","type":"STRING"},{"name":"city","type":"STRING"},{"name":"state","type":"STRING"},{"name":"id","type":"BIGINT"}]'

stream() { ID=$(create_id /v1/streams "$1"); }
pipeline() { ID=$(create_id /v1/pipelines "$(jq -cn --arg n "$1" --arg s "$2" --argjson t "$3" '{name: $n, sql: $s, task_count: $t}')"); }
connection() { # connection NAME KIND EVENTS
  ID=$(create_id /v1/connections "{\"name\":\"$1\",\"connector\":\"datagen\",\"type\":\"source\",\"stream\":\"$2\",\"properties\":{\"kind\":\"$2\",\"events\":\"$3\",\"rate\":\"$(($3 / secs))\"}}")
}
stream "{\"name\":\"person\",\"schema\":{\"fields\":$person_fields,$wm}}"
stream "{\"name\":\"auction\",\"schema\":{\"fields\":$auction_fields,$wm}}"
stream "{\"name\":\"q3_one\",\"schema\":{\"fields\":$out_fields}}"; ONE=$ID
stream "{\"name\":\"q3_two\",\"partitions\":2,\"schema\":{\"fields\":$out_fields}}"; TWO=$ID
win_fields='[{"name":"seller","type":"BIGINT"},{"name":"window_start","type":"TIMESTAMP(3)"},{"name":"n","type":"BIGINT"}]'
stream "{\"name\":\"win_one\",\"schema\":{\"fields\":$win_fields}}"; WONE=$ID
stream "{\"name\":\"win_two\",\"partitions\":2,\"schema\":{\"fields\":$win_fields}}"; WTWO=$ID

q3() { # q3 SINK: Nexmark q3 without its filters (more rows to lose or duplicate)
  printf 'INSERT INTO %s\nSELECT P.name, P.city, P.state, A.id\nFROM auction AS A INNER JOIN person AS P ON A.seller = P.id;' "$1"
}

# ---- what cannot be split keeps the 422, with the reason ----------------------------------------
call POST /v1/pipelines "$(jq -cn --arg s "$(q3 q3_two | sed 's/A.seller = P.id/A.seller + 0 = P.id/')" '{name: "nokey", sql: $s, task_count: 2}')"
expect 422 invalid_sql
assert_contains "$(jq -r .error.message <<<"$RESP")" \
  'task_count 2 splits the streams by join key, but Join(joinType=[InnerJoin], where=[<expression> = P.id]) has no equality key on columns of its streams' \
  "a join on an expression"

per_seller() { # per_seller SINK [KEY]: auctions per seller (or per KEY, an expression) in each 1-second window
  printf 'INSERT INTO %s\nSELECT %s AS seller, window_start, COUNT(*) AS n\nFROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(dateTime), INTERVAL %s)) GROUP BY %s, window_start, window_end;' \
    "$1" "${2:-seller}" "'1' SECOND" "${2:-seller}"
}
call POST /v1/pipelines "$(jq -cn --arg s "$(per_seller win_two 'MOD(seller, 7)')" '{name: "nokey_win", sql: $s, task_count: 2}')"
expect 422 invalid_sql
assert_contains "$(jq -r .error.message <<<"$RESP")" 'task_count 2 splits the stream by key, but' "a window aggregate keyed by an expression"
assert_contains "$(jq -r .error.message <<<"$RESP")" 'has no key column of the stream that keys every aggregate' "why"

pipeline one "$(q3 q3_one)" 1; P1=$ID
pipeline two "$(q3 q3_two)" 2; P2=$ID
pipeline win_one "$(per_seller win_one)" 1; W1=$ID
pipeline win_two "$(per_seller win_two)" 2; W2=$ID
connection gen_person person "$people"; CP=$ID
connection gen_auction auction "$((people * 3))"; CA=$ID
is_state() { call GET "/v1/$1/$2"; [ "$(jq -r .actual_state <<<"$RESP")" = "$3" ]; }
for p in "$P1" "$P2" "$W1" "$W2"; do call POST "/v1/pipelines/$p/activate"; expect 200; done
for p in "$P1" "$P2" "$W1" "$W2"; do wait_for 20 is_state pipelines "$p" running || fail "pipeline $p not running: $RESP"; done
assert_eq "$(sql "SELECT count(*) FROM tasks WHERE resource_id = '$P2' AND state = 'running'")" 2 "two tasks run the split join"
assert_eq "$(sql "SELECT count(*) FROM tasks WHERE resource_id = '$W2' AND state = 'running'")" 2 "two tasks run the split window aggregate"
for c in "$CP" "$CA"; do call POST "/v1/connections/$c/activate"; expect 200; done

# ---- SIGKILL each task of the split pipeline once while the inputs are written -------------------
sleep 2
declare -A before # restarts of a task before its SIGKILL, by pipeline id and task index
task_pid() { sql "SELECT pid FROM tasks WHERE resource_id = '$1' AND task_index = $2 AND state = 'running'"; }
for p in "$P2" "$W2"; do # every task of the split join and of the split window aggregate at once
  for i in 0 1; do
    live() { pid=$(task_pid "$p" "$i"); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
    wait_for 20 live || fail "task $i of $p is not running: $(sql "SELECT task_index, state, last_error FROM tasks WHERE resource_id = '$p'")"
    before[$p.$i]=$(sql "SELECT restarts FROM tasks WHERE resource_id = '$p' AND task_index = $i")
    kill -9 "$pid" 2>/dev/null || true # gone meanwhile: restarted all the same
  done
done
for p in "$P2" "$W2"; do
  for i in 0 1; do
    # restarted: counted, or (a restart that already completed) its last error is the kill
    wait_for 20 sql_is "SELECT restarts > ${before[$p.$i]} OR coalesce(last_error, '') LIKE '%SIGKILL%' FROM tasks
                        WHERE resource_id = '$p' AND task_index = $i" t ||
      fail "task $i of $p not restarted after SIGKILL: $(sql "SELECT task_index, state, restarts, last_error FROM tasks WHERE resource_id = '$p'")"
  done
done

for c in "$CP" "$CA"; do wait_for 30 is_state connections "$c" completed || fail "connection $c did not complete: $RESP"; done
for p in "$P1" "$P2" "$W1" "$W2"; do
  wait_for 60 is_state pipelines "$p" completed ||
    fail "pipeline $p did not complete: $RESP $(sql "SELECT task_index, state, last_error FROM tasks WHERE resource_id = '$p'")"
done

# ---- the outputs -------------------------------------------------------------------------------
streams="$TEST_TMP/data/tenants/$TENANT_ID/streams"
partition() { # partition STREAM_ID N: its rows, one a line (logtool reads a directory's partition 0)
  mkdir -p "$TEST_TMP/p-$1-$2"
  ln -sfn "$streams/$1/$2" "$TEST_TMP/p-$1-$2/0"
  "$logtool" cat "$TEST_TMP/p-$1-$2"
}
# split_equal NAME ONE TWO: the rows of TWO's two sink partitions (one a task, each non-empty)
# equal ONE's, the one task's; the sorted rows are left in $TEST_TMP/NAME.one
split_equal() {
  partition "$2" 0 | sort >"$TEST_TMP/$1.one"
  partition "$3" 0 >"$TEST_TMP/$1.two0"
  partition "$3" 1 >"$TEST_TMP/$1.two1"
  sort "$TEST_TMP/$1.two0" "$TEST_TMP/$1.two1" >"$TEST_TMP/$1.two"
  [ -s "$TEST_TMP/$1.two0" ] && [ -s "$TEST_TMP/$1.two1" ] || fail "a task of the split $1 wrote nothing: the keys were not split"
  cmp -s "$TEST_TMP/$1.one" "$TEST_TMP/$1.two" ||
    { diff "$TEST_TMP/$1.one" "$TEST_TMP/$1.two" | head -5; fail "two tasks of the $1 differ from one task"; }
  echo "$1: one task $(wc -l <"$TEST_TMP/$1.one") rows; two tasks: $(wc -l <"$TEST_TMP/$1.two0") + $(wc -l <"$TEST_TMP/$1.two1"), equal"
}
split_equal join "$ONE" "$TWO"
assert_eq "$(wc -l <"$TEST_TMP/join.one")" "$((people * 3))" "one task: a row per auction (each seller is a person)"
split_equal window "$WONE" "$WTWO"
assert_eq "$(jq -s 'map(.n) | add' "$TEST_TMP/window.one")" "$((people * 3))" "one task: every auction counted once"
echo ok
