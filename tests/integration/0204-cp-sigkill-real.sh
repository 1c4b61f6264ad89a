#!/usr/bin/env bash
# test: alone (its kills or checks must land while its input is still being written: scripts/test.sh runs it with no other test beside it)
# The real worker killed with SIGKILL mid-run is restarted and loses nothing: a bounded datagen
# connection writes exactly N bids (and completes), a pipeline copies them, its worker is
# SIGKILLed while copying (before the copy is complete), and the copy ends up with exactly the N
# source records, compared by content (embedded log to embedded log is exactly-once through the
# worker's checkpoint in its task directory).
. "$(dirname "$0")/api_lib.sh"
logtool="$TOOLS/logtool"
N=30000
live_start k1 kill-corp --sync-ms 200 --backoff-initial-ms 100
BIDS=$(create_id /v1/streams "{\"name\":\"bids\",\"schema\":{\"fields\":$BID_FIELDS}}")
COPY=$(create_id /v1/streams '{"name":"copy","schema":{"fields":[{"name":"auction","type":"BIGINT"},{"name":"bidder","type":"BIGINT"},{"name":"price","type":"BIGINT"}]}}')
C=$(create_id /v1/connections "{\"name\":\"gen\",\"connector\":\"datagen\",\"type\":\"source\",\"stream\":\"bids\",\"properties\":{\"kind\":\"bid\",\"events\":\"$N\",\"rate\":\"5000\"}}")
P=$(create_id /v1/pipelines '{"name":"copier","sql":"INSERT INTO copy SELECT auction, bidder, price FROM bids"}')
call POST "/v1/pipelines/$P/activate"; expect 200
call POST "/v1/connections/$C/activate"; expect 200

copied() { call GET "/v1/streams/$COPY/records?limit=1"; jq -r .end_offset <<<"$RESP"; }
some_copied() { [ "$(copied)" -gt 3000 ]; }
wait_for 10 some_copied || fail "nothing copied: $RESP"
pid=$(sql "SELECT pid FROM tasks WHERE resource_id = '$P' AND state = 'running'")
[ -n "$pid" ] || fail "no running pipeline task"
kill -9 "$pid"
at_kill=$(copied) # read after the kill: at least what the worker had copied when it died
echo "killed worker $pid after $at_kill of $N records"
[ "$at_kill" -lt "$N" ] || fail "the copy was complete ($at_kill of $N) when the worker was killed: the test proves nothing"
wait_restarted 10 "$P"
assert_contains "$(sql "SELECT last_error FROM tasks WHERE resource_id = '$P'")" "killed by SIGKILL" "reason"

completed() { call GET "/v1/connections/$C"; [ "$(jq -r .actual_state <<<"$RESP")" = completed ]; }
wait_for 15 completed || fail "bounded connection did not complete: $RESP"
all_copied() { [ "$(copied)" -ge "$N" ]; }
wait_for 15 all_copied || fail "copy stopped at $(copied) of $N"
sleep 0.5
assert_eq "$(copied)" "$N" "records in the copy (no loss, no duplicates)"
# by content: the copy holds each source record's projection exactly as often as the source does
"$logtool" cat "$TEST_TMP/data/tenants/$TENANT_ID/streams/$BIDS" | jq -c '{auction, bidder, price}' | LC_ALL=C sort >"$TEST_TMP/want.jsonl"
"$logtool" cat "$TEST_TMP/data/tenants/$TENANT_ID/streams/$COPY" | LC_ALL=C sort >"$TEST_TMP/got.jsonl"
assert_eq "$(wc -l <"$TEST_TMP/want.jsonl")" "$N" "records in the source stream"
cmp -s "$TEST_TMP/want.jsonl" "$TEST_TMP/got.jsonl" ||
  fail "the copy is not the source's records once each: $(diff "$TEST_TMP/want.jsonl" "$TEST_TMP/got.jsonl" | head -5)"
# its only input completed: the pipeline drains it and completes too (a bounded rollover)
pipeline_completed() { call GET "/v1/pipelines/$P"; [ "$(jq -r .actual_state <<<"$RESP")" = completed ]; }
wait_for 15 pipeline_completed || fail "the pipeline over a completed connection did not complete: $RESP"
assert_eq "$(copied)" "$N" "records in the copy after the pipeline completed"
echo ok
