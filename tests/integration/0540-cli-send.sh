#!/usr/bin/env bash
# `sluice send CONNECTION [-f FILE]` against the real api: NDJSON from a file and from stdin in
# batches of 1000 lines, read back in order; -o json; the exit codes and messages of a bad line,
# an event the schema refuses (with its line number), an inactive or unknown connection; help
# and completion.
source "$(dirname "$0")/api_lib.sh" # api_start, call, create_id, signup
source "$(dirname "$0")/cli_lib.sh" # cli_env, run, expect_exit
api_start --threads 2 --data-root "$TEST_TMP/data"
signup sender
TOKEN=$KEY
SID=$(create_id /v1/streams '{"name":"events","schema":{"fields":[{"name":"n","type":"BIGINT"},{"name":"tag","type":"STRING"}]}}')
C=$(create_id /v1/connections '{"name":"feed","connector":"http","type":"source","stream":"events"}')
cli_env
export SLUICE_API_URL=$API SLUICE_API_KEY=$KEY SLUICE_CA_FILE=$CACERT
end_offset() { call GET "/v1/streams/$SID/records?limit=1"; jq -r .end_offset <<<"$RESP"; }

# Not active yet.
echo '{"n":1}' >"$TEST_TMP/one.ndjson"
run "$S" send feed -f "$TEST_TMP/one.ndjson"
expect_exit 1 "send to an inactive connection"
assert_contains "$err" "not active" "inactive message"
assert_contains "$err" "sluice activate connections" "inactive hint"
run "$S" activate connections feed
expect_exit 0 "activate"

# 2500 lines (and a blank one) from a file: three batches, in order.
{ seq 1 1200 | sed 's/.*/{"n":&,"tag":"file"}/'; echo; seq 1201 2500 | sed 's/.*/{"n":&,"tag":"file"}/'; } >"$TEST_TMP/many.ndjson"
run "$S" send feed -f "$TEST_TMP/many.ndjson"
expect_exit 0 "send a file"
assert_eq "$(grep -c '^lines ' <<<"$out")" 3 "three batches: $out"
assert_contains "$out" "lines 1-1000: accepted 1000 (partition 0 offsets 0-999)" "first batch"
assert_contains "$out" "lines 2002-2501: accepted 500" "last batch counts file lines"
assert_contains "$out" "accepted 2500 events into connection feed" "total"
assert_eq "$(end_offset)" 2500 "2500 records"
call GET "/v1/streams/$SID/records?offset=0&limit=1000"
assert_eq "$(jq '[.items[].value.n] == [range(1; 1001)]' <<<"$RESP")" true "records in file order"

# stdin, -o json.
run bash -c "printf '{\"n\":9001}\n{\"n\":9002,\"tag\":\"stdin\"}\n' | \"$S\" send feed -o json"
expect_exit 0 "send from stdin"
assert_eq "$(jq -c '[.accepted, .batches[0].offsets]' <<<"$out")" '[2,{"first":2500,"last":2501}]' "json summary"

# A line that is not JSON: exit 2 with its line number; batches before it stay written.
{ seq 1 1001 | sed 's/.*/{"n":&}/'; echo '{"n": oops}'; } >"$TEST_TMP/badline.ndjson"
run "$S" send feed -f "$TEST_TMP/badline.ndjson"
expect_exit 2 "a malformed line"
assert_contains "$err" "badline.ndjson:1002: invalid JSON" "malformed line named"
assert_contains "$err" "1000 events sent before this stay written" "earlier batches reported"
assert_eq "$(end_offset)" 3502 "the first batch of the bad file was written"

# An event the schema refuses: exit 1, the line and field named, nothing of that batch written.
printf '{"n":1}\n\n{"n":"two"}\n' >"$TEST_TMP/badtype.ndjson"
run "$S" send feed -f "$TEST_TMP/badtype.ndjson"
expect_exit 1 "an invalid event"
assert_contains "$err" "invalid_events" "error code"
assert_contains "$err" "badtype.ndjson:3: n: expected an integer" "line and field"
assert_eq "$(end_offset)" 3502 "nothing written"

# Unknown connection, missing file, missing argument.
run "$S" send nosuch -f "$TEST_TMP/one.ndjson"
expect_exit 3 "unknown connection"
run "$S" send feed -f "$TEST_TMP/missing.ndjson"
expect_exit 2 "missing file"
assert_contains "$err" "cannot open" "missing file message"
run "$S" send
expect_exit 2 "no connection"

# Help and completion.
run "$S" send --help
expect_exit 0 "send --help"
assert_contains "$out" "usage: sluice send CONNECTION [-f FILE]" "help text"
. "$SLUICE_ROOT/sdk/completions/sluice.bash"
PATH=$(dirname "$S"):$PATH
COMP_WORDS=(sluice sen); COMP_CWORD=1; _sluice
assert_eq "${COMPREPLY[*]}" "send" "complete send"
COMP_WORDS=(sluice send f); COMP_CWORD=2; _sluice
assert_eq "${COMPREPLY[*]}" "feed" "complete a connection name"
echo ok
