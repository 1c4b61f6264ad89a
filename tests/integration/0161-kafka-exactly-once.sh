#!/usr/bin/env bash
# test: alone (timing-sensitive kill rounds: scripts/test.sh runs it with no other test beside it)
# Exactly-once into Kafka ('sink.delivery-guarantee' = 'exactly-once') on the mock cluster: a
# `sluiced run` Kafka → SQL → Kafka is SIGKILLed at random points several times, each restart
# resuming from its checkpoint, and a read_committed consumer of the sink topic then sees each
# expected record exactly once (compared with jq's answer by key). A commit that fails after its
# checkpoint is durable (the mock's EndTxn made to fail) loses nothing and doubles nothing once
# the run is restarted. A bad guarantee is a clear error naming its line and column.
. "$(dirname "$0")/lib.sh"
skip_under_san "its kills land 100-699 ms into a run, which the ASan build has not started by"
cd "$TEST_TMP"
kmock="$TOOLS/kafka_mock"

bg "$kmock" serve bids out1 out2 out3 out4 ref fc >servers.txt
mock_pid=${T_PIDS[-1]}
wait_for 5 test -s servers.txt || fail "mock cluster did not start"
BS=$(cat servers.txt)

jq -nc 'range(0; 60000) | {auction: ., bidder: (. % 11), price: ((. * 37) % 1000)}' >bids.jsonl
"$kmock" produce "$BS" bids <bids.jsonl || fail "produce bids"
jq -c 'select(.price > 100) | {auction, cents: (.price * 100)}' bids.jsonl | sort >want.out

pipeline() { # pipeline TOPIC GUARANTEE
  cat <<SQL
CREATE TABLE bids (auction BIGINT, bidder BIGINT, price BIGINT) WITH ('connector' = 'kafka', 'topic' = 'bids',
  'properties.bootstrap.servers' = '$BS');
CREATE TABLE $1 (auction BIGINT, cents BIGINT) WITH ('connector' = 'kafka', 'topic' = '$1',
  'properties.bootstrap.servers' = '$BS', 'sink.delivery-guarantee' = '$2',
  'sink.transactional-id-prefix' = 'test-$1');
INSERT INTO $1 SELECT auction, price * 100 AS cents FROM bids WHERE price > 100;
SQL
}
pipeline ref exactly-once >ref.sql
pipeline fc exactly-once >fc.sql

# an uninterrupted run: the answer, and the spool beside the checkpoint
"$SLUICED" run ref.sql --data-dir ref --bounded --checkpoint-records 2000 2>ref.err || fail "ref run: $(cat ref.err)"
"$kmock" consume "$BS" ref | sort >ref.out
diff want.out ref.out >/dev/null || fail "uninterrupted exactly-once run differs from jq: $(diff want.out ref.out | head -3)"
ls -d ref/*.kafka/ref-0 >/dev/null 2>&1 || ls -d ref/*/*.kafka/ref-0 >/dev/null 2>&1 || fail "no spool beside the checkpoint: $(find ref -maxdepth 3)"

# the first transaction's commit fails after its checkpoint is durable: the run stops, and its
# restart produces what the topic lacks up to that checkpoint before going on
kill -USR1 "$mock_pid"
sleep 0.2
"$SLUICED" run fc.sql --data-dir fc --bounded --checkpoint-records 2000 2>fc.err && fail "a failed commit went unnoticed"
assert_contains "$(cat fc.err)" 'kafka topic "fc" (transactional id "test-fc-0"): cannot commit the transaction' "failed commit"
"$SLUICED" run fc.sql --data-dir fc --bounded --checkpoint-records 2000 2>>fc.err || fail "restart after a failed commit: $(tail -3 fc.err)"
"$kmock" consume "$BS" fc | sort >fc.out
diff want.out fc.out >/dev/null || fail "after a failed commit the topic differs from jq: $(diff want.out fc.out | head -3)"

# killed runs, in rounds of a fresh topic and data directory each: a kill counts when the topic
# had grown since the previous one (a transaction was committed) and the run had not completed
run() { exec "$SLUICED" run "out$round.sql" --data-dir "k$round" --bounded --checkpoint-records 1000 --checkpoint-ms 20; }
sink_records() { "$kmock" consume "$BS" "out$round" | wc -l; }
kills=0
for round in 1 2 3 4; do
  [ "$kills" -lt 6 ] || break
  pipeline "out$round" exactly-once >"out$round.sql"
  kill_runs 6 100 600
  (run) 2>>k.err || { tail -5 k.err; fail "the final restart failed"; }
  "$kmock" consume "$BS" "out$round" | sort >k.out
  dups=$(uniq -d k.out | wc -l)
  [ "$dups" -eq 0 ] || fail "$dups records twice after $kills kills: $(uniq -d k.out | head -2)"
  diff want.out k.out >/dev/null ||
    fail "after $kills kills the topic differs from jq ($(wc -l <k.out) vs $(wc -l <want.out) records): $(diff want.out k.out | head -3)"
done
[ "$kills" -ge 4 ] || fail "only $kills kills interrupted a run"
echo "exactly-once: $kills kills over $round rounds, each topic with every record once, as jq says"

# clear errors
pipeline out1 twice-ish >bad.sql
"$SLUICED" run bad.sql --data-dir bad --bounded 2>bad.err && fail "a bad guarantee was accepted"
# the option's place: line 4, after "  'properties.bootstrap.servers' = '$BS', "
assert_eq "$(cat bad.err)" "bad.sql: line 4, column $((40 + ${#BS})): stream \"out1\": kafka option \"sink.delivery-guarantee\" must be at-least-once | exactly-once, not \"twice-ish\"" "bad guarantee, with its place"
echo ok
