#!/usr/bin/env bash
# Malformed records (bad JSON, a wrong type) and evaluation errors (division by zero) under each
# error policy: fail stops with the offset, skip drops and counts, dead_letter also writes
# {"partition","offset","error","record"} to the dead-letter stream.
. "$(dirname "$0")/lib.sh"
cd "$TEST_TMP"
logtool="$TOOLS/logtool"
cat > p.sql <<'SQL'
CREATE TABLE src (a BIGINT, b BIGINT);
CREATE TABLE dst (a BIGINT, q BIGINT);
INSERT INTO dst SELECT a, a / b AS q FROM src;
SQL
input() {
  rm -rf d; mkdir -p d/streams
  printf '%s\n' '{"a":1,"b":0}' '{"a":6,"b":3}' 'not json' '{"a":"x","b":1}' '{"a":8,"b":2}' '{"a":9,"b":1,' \
    | "$logtool" append d/streams/src
}

input
"$SLUICED" run p.sql --data-dir d --bounded --error-policy fail 2> fail.err && fail "fail policy completed"
assert_contains "$(cat fail.err)" "record at partition 0 offset 0: division by zero" "fail names the record"
assert_eq "$("$logtool" end d/streams/dst)" 0 "nothing written before the failure"

# fail stops at the first bad record when it is malformed JSON or a wrongly typed field, too:
# the sink holds exactly the good records before it (none from after it)
fail_at() { # fail_at NAME EXPECTED_SINK EXPECTED_ERROR RECORD...
  local name=$1 want=$2 reason=$3; shift 3
  rm -rf d; mkdir -p d/streams
  printf '%s\n' "$@" | "$logtool" append d/streams/src
  "$SLUICED" run p.sql --data-dir d --bounded --error-policy fail 2> "$name.err" && fail "fail policy completed ($name)"
  assert_contains "$(cat "$name.err")" "$reason" "fail names the record and the reason ($name)"
  assert_eq "$("$logtool" cat d/streams/dst | tr '\n' ' ')" "$want" "only the records before the bad one ($name)"
}
fail_at json '{"a":4,"q":2} {"a":6,"q":2} ' \
  "record at partition 0 offset 2: invalid JSON at byte 0" \
  '{"a":4,"b":2}' '{"a":6,"b":3}' 'not json' '{"a":8,"b":2}'
fail_at type '{"a":4,"q":2} ' \
  'record at partition 0 offset 1: field "a": expected an integer' \
  '{"a":4,"b":2}' '{"a":"x","b":1}' '{"a":8,"b":2}' '{"a":9,"b":3}'

input
"$SLUICED" run p.sql --data-dir d --bounded --error-policy skip 2> skip.err || fail "skip failed: $(cat skip.err)"
assert_eq "$("$logtool" cat d/streams/dst | tr '\n' ' ')" '{"a":6,"q":2} {"a":8,"q":4} ' "skip keeps the good records"
assert_contains "$(cat skip.err)" "4 errors" "skip counts"
assert_contains "$(cat skip.err)" "skipped record at partition 0 offset 3: field \"a\": expected an integer" "skip logs"

input
"$SLUICED" run p.sql --data-dir d --bounded --error-policy dead_letter --dead-letter dlq 2> dl.err || fail "dead_letter failed"
assert_eq "$("$logtool" end d/streams/dst)" 2 "dead_letter keeps the good records"
"$logtool" cat d/streams/dlq > dlq.out
assert_eq "$(wc -l < dlq.out)" 4 "four dead letters"
assert_eq "$(jq -r '.offset' dlq.out | tr '\n' ' ')" "0 2 3 5 " "dead letters carry offsets"
assert_eq "$(jq -r 'select(.offset == 2) | .record' dlq.out)" "not json" "dead letters carry the record"
assert_contains "$(jq -r 'select(.offset == 5) | .error' dlq.out)" "invalid JSON" "dead letters carry the reason"
assert_eq "$(jq -r 'select(.offset == 0) | .error' dlq.out)" "division by zero" "evaluation errors too"

"$SLUICED" run p.sql --data-dir d --error-policy sometimes 2> e && fail "bad policy accepted"
assert_contains "$(cat e)" "fail, skip or dead_letter" "bad policy message"
echo ok
