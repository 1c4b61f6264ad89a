#!/usr/bin/env bash
# Rollovers keep the position, with the real worker: a running pipeline whose SQL changes, then
# whose task count goes 1 → 2 → 1 → 2, resumes each time where it was. Every event POSTed to its
# two-partition source comes out exactly once, tagged by the query that was running, and the
# tasks of a changed count take their partitions over from the tasks that read them before.
. "$(dirname "$0")/api_lib.sh"
live_start roll roll-corp --sync-ms 200 --resync-ms 500 --backoff-initial-ms 100

call POST /v1/streams '{"name":"src","partitions":2,"schema":{"fields":[{"name":"id","type":"BIGINT"}]}}'; expect 201
DST=$(create_id /v1/streams '{"name":"dst","partitions":2,"schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"tag","type":"STRING"}]}}')
C=$(create_id /v1/connections '{"name":"in","connector":"http","type":"source","stream":"src"}')
call POST "/v1/connections/$C/activate"; expect 200
P=$(create_id /v1/pipelines '{"name":"tagger","sql":"INSERT INTO dst SELECT id, '"'a'"' AS tag FROM src"}')
call POST "/v1/pipelines/$P/activate"; expect 200

# send FROM TO: events with ids FROM..TO, ten requests (round robin over the partitions)
send() {
  local i
  for ((i = $1; i <= $2; i += 10)); do
    call POST "/v1/connections/$C/events" "$(jq -cn --argjson a "$i" --argjson b "$((i + 9 > $2 ? $2 : i + 9))" \
      '{events: [range($a; $b + 1) | {id: .}]}')"
    expect 200
  done
}
# out: every output record as "id tag", sorted by id (both partitions)
out() {
  local p
  for p in 0 1; do
    call GET "/v1/streams/$DST/records?partition=$p&offset=0&limit=1000"
    [ "$STATUS" = 200 ] && jq -r '.items[] | .value // . | "\(.id) \(.tag)"' <<<"$RESP"
  done | sort -n
}
out_count() { [ "$(out | wc -l)" -ge "$1" ]; }
# settled GEN: the pipeline runs at generation GEN (observed) with all its tasks
settled() {
  call GET "/v1/pipelines/$P"
  [ "$(jq -r '"\(.actual_state) \(.observed_generation)"' <<<"$RESP")" = "running $1" ]
}
generation() { call GET "/v1/pipelines/$P"; jq -r .generation <<<"$RESP"; }
version() { call GET "/v1/pipelines/$P"; jq -r .version <<<"$RESP"; }
patch() { # patch JSON: PATCH the pipeline (If-Match its version), wait until it runs the change
  call PATCH "/v1/pipelines/$P" "$1" -H "If-Match: \"$(version)\""
  expect 200
  local gen; gen=$(jq -r .generation <<<"$RESP")
  wait_for 15 settled "$gen" || fail "pipeline not running at generation $gen: $RESP $(cat "$TEST_TMP/cp.log" | tail -n 20)"
}
# check N TAGS: ids 1..N each once; TAGS is "tag:from-to ..." for what each query wrote
check() {
  wait_for 20 out_count "$1" || fail "only $(out | wc -l) of $1 records out: $(out | tail -n 3)"
  local got; got=$(out)
  assert_eq "$(wc -l <<<"$got")" "$1" "records out (none twice)"
  assert_eq "$(cut -d' ' -f1 <<<"$got" | tr '\n' ' ')" "$(seq 1 "$1" | tr '\n' ' ')" "each id once"
  local range tag from to
  for range in $2; do
    tag=${range%%:*} from=${range#*:} to=${from#*-} from=${from%-*}
    assert_eq "$(awk -v f="$from" -v t="$to" '$1 >= f && $1 <= t {print $2}' <<<"$got" | sort -u)" "$tag" \
      "ids $from-$to written by query $tag"
  done
}

wait_for 15 settled "$(generation)" || fail "pipeline not running: $RESP"
send 1 100
check 100 "a:1-100"

# the SQL changes: the new query resumes at the old one's offsets
patch '{"sql":"INSERT INTO dst SELECT id, '"'b'"' AS tag FROM src"}'
send 101 200
check 200 "a:1-100 b:101-200"

# 1 → 2 tasks: task 1 takes partition 1 over from task 0's checkpoint
patch '{"task_count":2}'
assert_eq "$(sql "SELECT count(*) FROM tasks WHERE resource_id = '$P' AND state = 'running'")" 2 "two tasks"
send 201 300
check 300 "a:1-100 b:101-300"

# 2 → 1: task 0 takes partition 1 back at task 1's offsets
patch '{"task_count":1}'
one_task() { [ "$(sql "SELECT count(*) FROM tasks WHERE resource_id = '$P'")" = 1 ]; }
wait_for 10 one_task || fail "task 1 not removed"
send 301 400
check 400 "a:1-100 b:101-400"

# 1 → 2 again, with a new query: task 1's old checkpoint is stale, task 0's entries are newer
patch '{"task_count":2,"sql":"INSERT INTO dst SELECT id, '"'c'"' AS tag FROM src"}'
send 401 500
check 500 "a:1-100 b:101-400 c:401-500"
assert_eq "$(sql "SELECT count(*) FROM tasks WHERE resource_id = '$P' AND (restarts > 0 OR state <> 'running')")" 0 \
  "no task crashed or failed along the way"
